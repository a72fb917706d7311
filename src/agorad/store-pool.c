/* A small pool of threads for store work that waits on the disk; see
 * store-pool.h. Jobs queue under a mutex; finished jobs go to a second
 * queue and an eventfd wakes the loop, which runs their done callbacks in
 * order of completion. Each thread opens its own store connection the first
 * time it needs one (SQLite connections are not shared between threads). */
#include "agorad/store-pool.h"
#include "lib/log.h"
#include "lib-storage/store.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

static struct {
	const struct config *cfg;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct store_job *todo, **todo_tail;
	struct store_job *finished, **finished_tail;
	int efd;
	struct event *ev;
	unsigned pending;
	bool started;
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER, .efd = -1 };

void store_job_fail(struct store_job *job, struct store *st)
{
	job->result = -1;
	job->errcode = st != NULL ? st->be->errcode(st) : STORE_ERR_INTERNAL;
	str_clear(&job->errtext);
	str_append(&job->errtext, st != NULL ? st->be->error(st) : "no store connection");
}

static void *thread_main(void *arg)
{
	(void)arg;
	struct store *st = NULL;
	for (;;) {
		pthread_mutex_lock(&pool.lock);
		while (pool.todo == NULL)
			pthread_cond_wait(&pool.wake, &pool.lock);
		struct store_job *job = pool.todo;
		pool.todo = job->next;
		if (pool.todo == NULL)
			pool.todo_tail = &pool.todo;
		pthread_mutex_unlock(&pool.lock);

		if (st == NULL) {
			str_t err = STR_INIT;
			st = store_open(pool.cfg, &err);
			if (st == NULL)
				log_error("store (pool thread): %s", str_c(&err));
			str_free(&err);
		}
		if (st != NULL) {
			job->work(st, job);
		} else {
			store_job_fail(job, NULL);
		}

		job->next = NULL;
		pthread_mutex_lock(&pool.lock);
		*pool.finished_tail = job;
		pool.finished_tail = &job->next;
		pthread_mutex_unlock(&pool.lock);
		uint64_t one = 1;
		while (write(pool.efd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
	}
	return NULL;
}

/* Runs the done callbacks of finished jobs; returns how many ran. */
static unsigned run_finished(void)
{
	pthread_mutex_lock(&pool.lock);
	struct store_job *list = pool.finished;
	pool.finished = NULL;
	pool.finished_tail = &pool.finished;
	pthread_mutex_unlock(&pool.lock);
	unsigned n = 0;
	while (list != NULL) {
		struct store_job *job = list;
		list = job->next;
		pool.pending--;
		n++;
		job->done(job);
	}
	return n;
}

static void on_finished(evutil_socket_t fd, short what, void *arg)
{
	(void)what; (void)arg;
	uint64_t v;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_error("store pool: eventfd: %s", strerror(errno));
	run_finished();
}

void store_pool_init(struct event_base *base, const struct config *cfg)
{
	pool.cfg = cfg;
	pool.todo_tail = &pool.todo;
	pool.finished_tail = &pool.finished;
	pool.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (pool.efd < 0) {
		log_error("store pool: eventfd: %s", strerror(errno));
		exit(1);
	}
	pool.ev = event_new(base, pool.efd, EV_READ | EV_PERSIST, on_finished, NULL);
	event_add(pool.ev, NULL);
}

static void start_threads(void)
{
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	/* the work is store calls and MIME parsing: a modest stack will do */
	pthread_attr_setstacksize(&attr, 1024 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (unsigned i = 0; i < STORE_POOL_THREADS; i++) {
		pthread_t t;
		int e = pthread_create(&t, &attr, thread_main, NULL);
		if (e != 0) {
			log_error("store pool: pthread_create: %s", strerror(e));
			exit(1);
		}
	}
	pthread_attr_destroy(&attr);
	pool.started = true;
}

void store_pool_submit(struct store_job *job)
{
	/* Threads start with the first job: a worker that only holds idle
	 * sessions never pays for them. */
	if (!pool.started)
		start_threads();
	job->next = NULL;
	job->result = 0;
	job->errcode = 0;
	pool.pending++;
	pthread_mutex_lock(&pool.lock);
	*pool.todo_tail = job;
	pool.todo_tail = &job->next;
	pthread_cond_signal(&pool.wake);
	pthread_mutex_unlock(&pool.lock);
}

unsigned store_pool_pending(void)
{
	return pool.pending;
}

void store_pool_drain(void)
{
	while (pool.pending > 0) {
		if (run_finished() == 0) {
			uint64_t v;
			struct timespec ts = { 0, 2 * 1000 * 1000 };
			if (read(pool.efd, &v, sizeof(v)) < 0)
				nanosleep(&ts, NULL);
		}
	}
}
