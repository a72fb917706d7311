/* Waiting for the database's write lock; see sqlite-wait.h. */
#include "lib-storage/sqlite-wait.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>

/* SQLite's default: a passive checkpoint once the WAL holds this many
 * frames after a commit. */
#define CHECKPOINT_FRAMES 1000
/* Tries at the short interval before the long one. */
#define SHORT_TRIES 50
#define SHORT_US 100
#define LONG_US 1000

static pthread_mutex_t commit_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t commit_cond;
static pthread_once_t commit_once = PTHREAD_ONCE_INIT;
static uint64_t commits; /* under commit_lock */

static void commit_cond_init(void)
{
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&commit_cond, &a);
	pthread_condattr_destroy(&a);
}

static int64_t elapsed_us(const struct timespec *from, const struct timespec *to)
{
	return (int64_t)(to->tv_sec - from->tv_sec) * 1000000 + (to->tv_nsec - from->tv_nsec) / 1000;
}

static int on_busy(void *arg, int tries)
{
	struct sqlite_wait *w = arg;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (tries == 0)
		w->since = now;
	else if (elapsed_us(&w->since, &now) >= (int64_t)w->timeout_ms * 1000)
		return 0;
	struct timespec until = now;
	until.tv_nsec += (tries < SHORT_TRIES ? SHORT_US : LONG_US) * 1000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&commit_lock);
	uint64_t seen = commits;
	while (commits == seen) {
		if (pthread_cond_timedwait(&commit_cond, &commit_lock, &until) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&commit_lock);
	return 1;
}

/* Called by SQLite after a commit, once the write lock is released. */
static int on_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
	(void)arg;
	pthread_mutex_lock(&commit_lock);
	commits++;
	pthread_cond_broadcast(&commit_cond);
	pthread_mutex_unlock(&commit_lock);
	if (frames >= CHECKPOINT_FRAMES)
		sqlite3_wal_checkpoint(db, name);
	return SQLITE_OK;
}

void sqlite_wait_install(sqlite3 *db, struct sqlite_wait *w, int timeout_ms)
{
	pthread_once(&commit_once, commit_cond_init);
	w->timeout_ms = timeout_ms;
	sqlite3_busy_handler(db, on_busy, w);
	sqlite3_wal_hook(db, on_commit, NULL);
}
