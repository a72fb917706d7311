/* Waiting for the write lock (sqlite-wait.c): writers of one process that
 * meet each other all get through; a lock held past the timeout gives
 * SQLITE_BUSY, not before the timeout and not forever; a lock released in
 * time lets the waiter in; the WAL is still checkpointed after commits. */
#include "lib-storage/sqlite-wait.h"
#include "lib/test.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

TEST_DEFINE_COUNTERS;

static char path[256];

struct conn {
	sqlite3 *db;
	struct sqlite_wait wait;
};

static void conn_open(struct conn *c, int timeout_ms)
{
	CHECK_INT(sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
				  NULL), SQLITE_OK);
	sqlite_wait_install(c->db, &c->wait, timeout_ms);
	CHECK_INT(sqlite3_exec(c->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL), SQLITE_OK);
}

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1000 + (double)t.tv_nsec / 1e6;
}

#define WRITERS 6
#define COMMITS 300

static void *writer(void *arg)
{
	long id = (long)arg;
	struct conn c;
	conn_open(&c, 30000);
	long ok = 0;
	for (int i = 0; i < COMMITS; i++) {
		char sql[128];
		snprintf(sql, sizeof(sql), "BEGIN IMMEDIATE; INSERT INTO t(w, i) VALUES(%ld, %d); COMMIT", id, i);
		if (sqlite3_exec(c.db, sql, NULL, NULL, NULL) == SQLITE_OK)
			ok++;
		else
			sqlite3_exec(c.db, "ROLLBACK", NULL, NULL, NULL);
	}
	sqlite3_close(c.db);
	return (void *)ok;
}

static void test_many_writers(void)
{
	struct conn c;
	conn_open(&c, 30000);
	CHECK_INT(sqlite3_exec(c.db, "CREATE TABLE t(w INTEGER, i INTEGER)", NULL, NULL, NULL), SQLITE_OK);
	pthread_t t[WRITERS];
	for (long i = 0; i < WRITERS; i++)
		pthread_create(&t[i], NULL, writer, (void *)i);
	long total = 0;
	for (int i = 0; i < WRITERS; i++) {
		void *r;
		pthread_join(t[i], &r);
		total += (long)r;
	}
	CHECK_INT(total, WRITERS * COMMITS);
	sqlite3_stmt *q;
	sqlite3_prepare_v2(c.db, "SELECT count(*) FROM t", -1, &q, NULL);
	CHECK_INT(sqlite3_step(q), SQLITE_ROW);
	CHECK_INT(sqlite3_column_int(q, 0), WRITERS * COMMITS);
	sqlite3_finalize(q);
	sqlite3_close(c.db);
}

struct holder {
	int hold_ms;
	bool locked;
	pthread_mutex_t m;
	pthread_cond_t c;
};

static void *hold_lock(void *arg)
{
	struct holder *h = arg;
	struct conn c;
	conn_open(&c, 30000);
	CHECK_INT(sqlite3_exec(c.db, "BEGIN IMMEDIATE; INSERT INTO t(w, i) VALUES(-1, -1)", NULL, NULL, NULL),
		  SQLITE_OK);
	pthread_mutex_lock(&h->m);
	h->locked = true;
	pthread_cond_signal(&h->c);
	pthread_mutex_unlock(&h->m);
	usleep((useconds_t)h->hold_ms * 1000);
	CHECK_INT(sqlite3_exec(c.db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(c.db);
	return NULL;
}

/* Another connection holds the lock for hold_ms; this one, with timeout_ms,
 * tries to write. Returns the result and the time it took. */
static int write_against(int hold_ms, int timeout_ms, double *took_ms)
{
	struct holder h = { .hold_ms = hold_ms, .m = PTHREAD_MUTEX_INITIALIZER, .c = PTHREAD_COND_INITIALIZER };
	pthread_t t;
	pthread_create(&t, NULL, hold_lock, &h);
	pthread_mutex_lock(&h.m);
	while (!h.locked)
		pthread_cond_wait(&h.c, &h.m);
	pthread_mutex_unlock(&h.m);
	struct conn c;
	conn_open(&c, timeout_ms);
	double t0 = now_ms();
	int rc = sqlite3_exec(c.db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	*took_ms = now_ms() - t0;
	sqlite3_exec(c.db, rc == SQLITE_OK ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(c.db);
	pthread_join(t, NULL);
	return rc;
}

static void test_timeout(void)
{
	double took;
	/* held longer than the waiter will wait: busy, after its timeout */
	CHECK_INT(write_against(1500, 300, &took), SQLITE_BUSY);
	CHECK(took >= 300);
	CHECK(took < 1500);
	/* released within the timeout: the waiter gets the lock */
	CHECK_INT(write_against(300, 10000, &took), SQLITE_OK);
	CHECK(took >= 250);
	CHECK(took < 10000);
}

/* Commits keep the WAL checkpointed as SQLite's own automatic checkpoint
 * would: without it the log would hold every one of these commits. */
static void test_checkpoint(void)
{
	struct conn c;
	conn_open(&c, 30000);
	CHECK_INT(sqlite3_exec(c.db, "CREATE TABLE big(b BLOB)", NULL, NULL, NULL), SQLITE_OK);
	int page = 0;
	sqlite3_stmt *q;
	sqlite3_prepare_v2(c.db, "PRAGMA page_size", -1, &q, NULL);
	if (sqlite3_step(q) == SQLITE_ROW)
		page = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	CHECK(page > 0);
	for (int i = 0; i < 3000; i++)
		CHECK_INT(sqlite3_exec(c.db, "INSERT INTO big(b) VALUES(zeroblob(100))", NULL, NULL, NULL), SQLITE_OK);
	char wal[300];
	snprintf(wal, sizeof(wal), "%s-wal", path);
	struct stat st;
	CHECK_INT(stat(wal, &st), 0);
	long frames = (long)(st.st_size / (page + 24));
	CHECK(frames >= 1000);
	CHECK(frames < 1500);
	sqlite3_close(c.db);
}

int main(void)
{
	char dir[] = "/tmp/agora-test-wait-XXXXXX";
	if (mkdtemp(dir) == NULL)
		return 2;
	snprintf(path, sizeof(path), "%s/t.db", dir);
	test_many_writers();
	test_timeout();
	test_checkpoint();
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return test_summary("sqlite-wait");
}
