/* Settings that keep a crafted database from running code in a process
 * that reads it (see sqlite-guard.h). */
#include "lib-storage/sqlite-guard.h"

#include <stddef.h>

int sqlite_guard(sqlite3 *db)
{
	static const int off[] = {
		SQLITE_DBCONFIG_ENABLE_TRIGGER,
		SQLITE_DBCONFIG_ENABLE_VIEW,
		SQLITE_DBCONFIG_TRUSTED_SCHEMA,
		SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER,
		SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION,
	};
	for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
		int now = -1;
		if (sqlite3_db_config(db, off[i], 0, &now) != SQLITE_OK || now != 0)
			return -1;
	}
	int on = 0;
	if (sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, &on) != SQLITE_OK || on != 1)
		return -1;
	return 0;
}
