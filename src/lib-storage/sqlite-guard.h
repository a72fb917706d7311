#ifndef AGORA_SQLITE_GUARD_H
#define AGORA_SQLITE_GUARD_H

#include <sqlite3.h>

/* Every database connection Agora opens reads files that a less trusted
 * process may have written: agora.db belongs to the `user` account that
 * the workers run as, and is read by the auth process and the `agora` tool
 * as root. sqlite_guard() makes a connection treat the schema it finds as
 * hostile: no views and no triggers (Agora's schema has neither, so an
 * object of either kind was put there by someone else), no function with
 * side effects from any schema object (trusted_schema off), and no SQL way
 * to corrupt the file (defensive mode). Returns 0, or -1 when SQLite
 * refuses a setting (then the connection must not be used). */
int sqlite_guard(sqlite3 *db);

#endif
