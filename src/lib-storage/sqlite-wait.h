#ifndef AGORA_SQLITE_WAIT_H
#define AGORA_SQLITE_WAIT_H

#include <sqlite3.h>
#include <time.h>

/* Waiting for the database's write lock.
 *
 * Only one connection writes at a time. SQLite's own busy timeout makes a
 * connection that finds the lock taken sleep 1 ms, then 2, then 5 and so
 * on, while a delivery holds the lock for a fraction of a millisecond: with
 * several pool threads delivering at once, a quarter of all messages
 * stored slept a whole millisecond or more for a lock free long before.
 * sqlite_wait_install() replaces that: every commit made in this process
 * wakes the connections of this process that wait, at once; a lock held by
 * another process is tried again every 100 us at first, then every
 * millisecond, until `timeout_ms` has passed (then SQLITE_BUSY, as before).
 * It also runs the WAL checkpoint SQLite would have run after a commit
 * (the same passive checkpoint at the same WAL size). */
struct sqlite_wait {
	struct timespec since;  /* when this connection began to wait */
	int timeout_ms;
};

void sqlite_wait_install(sqlite3 *db, struct sqlite_wait *w, int timeout_ms);

#endif
