/* A worker process: one event loop, one store connection, many clients. */
#ifndef AGORA_WORKER_H
#define AGORA_WORKER_H

#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct store;
struct imap_client;

struct worker {
	unsigned index;
	struct event_base *base;
	struct store *store;
	struct imap_client *clients;   /* every IMAP connection of this worker */
	uint64_t change_counter;       /* the store's, when last looked at */
	bool stopping;
};

extern struct worker *worker;

/* Something in the store changed through this worker: the other sessions
 * of this worker look at their mailboxes at once (other workers notice the
 * store's change counter within CHANGE_POLL_MS). */
void worker_changed(void);
#define CHANGE_POLL_MS 200

/* Allocations below this come from the heap and freed memory up to twice
 * this stays with the process (see worker_run). */
#define WORKER_MALLOC_KEEP (8 * 1024 * 1024)

#endif
