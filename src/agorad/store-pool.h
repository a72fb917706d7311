/* Store work that waits on the disk, run beside a worker's event loop.
 *
 * Storing a message waits for three syncs (the file, its directory, the
 * database's log). Done on the event loop, every other session of the
 * worker would wait for them too. A job runs on one of a few threads, each
 * with its own store connection, while the loop goes on serving; when the
 * job is finished its `done` callback runs on the loop, which answers the
 * client. */
#ifndef AGORA_STORE_POOL_H
#define AGORA_STORE_POOL_H

#include "lib/str.h"

struct event_base;
struct config;
struct store;

struct store_job {
	struct store_job *next;
	/* On a pool thread: the work itself, with the thread's store. Sets
	 * result (and, on failure, errcode/errtext from the store). */
	void (*work)(struct store *st, struct store_job *job);
	/* On the event loop, after work: answers and frees the job. */
	void (*done)(struct store_job *job);
	int result;
	int errcode;
	str_t errtext;
};

/* Threads serving one worker's jobs. */
#define STORE_POOL_THREADS 4

void store_pool_init(struct event_base *base, const struct config *cfg);
void store_pool_submit(struct store_job *job);
/* Records the store's error in the job (for work callbacks). */
void store_job_fail(struct store_job *job, struct store *st);
/* Waits until every submitted job has finished and run its done callback. */
void store_pool_drain(void);
/* Jobs submitted and not yet done. */
unsigned store_pool_pending(void);

#endif
