#include "agorad/server.h"
#include "agorad/worker.h"
#include "agorad/store-pool.h"

#include <malloc.h>
#include "agorad/auth-proc.h"
#include "agorad/imap/imap-client.h"
#include "agorad/lmtp/lmtp-client.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib-storage/store.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

struct worker *worker;
static struct event *poll_ev;
static bool local_change;

void worker_changed(void)
{
	local_change = true;
	/* Run the refresh on the next loop iteration, after this command's
	 * reply, rather than inside it. */
	struct timeval now = { 0, 0 };
	event_add(poll_ev, &now);
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	uint64_t counter = worker->store->be->change_counter(worker->store);
	if (counter != worker->change_counter || local_change) {
		worker->change_counter = counter;
		local_change = false;
		imap_clients_notify_changes();
	}
	struct timeval tv = { 0, CHANGE_POLL_MS * 1000 };
	event_add(poll_ev, &tv);
}

static void on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;
	(void)what;
	for (int i = 0; i < 32; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED)
				log_warn("accept on %s: %s", l->name, strerror(errno));
			return;
		}
		if (worker->stopping) {
			close(cfd);
			continue;
		}
		/* Responses leave in as few writes as the event loop can make;
		 * Nagle's algorithm would hold the last segment of a long answer
		 * until the client's delayed ACK (some 40 ms per command). */
		int one = 1;
		(void)setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (l->kind == LISTEN_LMTP)
			lmtp_client_create(cfd);
		else
			imap_client_create(cfd, l->kind == LISTEN_IMAPS);
	}
}

static void on_hup(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	if (tls_reload(&server) == 0 && server.ssl_ctx != NULL)
		log_info("TLS certificate reloaded");
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	worker->stopping = true;
	imap_clients_shutdown("Server shutting down");
	lmtp_clients_shutdown();
	/* Give the BYEs a moment to leave, then stop. */
	struct timeval tv = { 0, 300000 };
	event_base_loopexit(worker->base, &tv);
}

void worker_run(unsigned index)
{
	static struct worker w;
	char role[32];
	snprintf(role, sizeof(role), "worker %u", index);
	log_set_role(role);
	worker_drop_privileges();
	/* Message files are read whole into buffers of up to a few MiB, one
	 * command after another: keep freed memory for the next one rather
	 * than returning it to the kernel (and faulting it in again) each
	 * time, which glibc does by default above 128 KiB. */
	mallopt(M_MMAP_THRESHOLD, WORKER_MALLOC_KEEP);
	mallopt(M_TRIM_THRESHOLD, 2 * WORKER_MALLOC_KEEP);
	worker = &w;
	w.index = index;
	w.base = event_base_new();
	if (w.base == NULL) {
		log_error("event_base_new failed");
		exit(1);
	}
	str_t err = STR_INIT;
	w.store = store_open(server.cfg, &err);
	if (w.store == NULL) {
		log_error("store: %s", str_c(&err));
		exit(1);
	}
	close(server.auth_listen_fd);
	for (unsigned i = 0; i < CONN_BUCKETS; i++)
		server.conn_counts[index * CONN_BUCKETS + i] = 0;
	auth_client_init(server.auth_path, imap_clients_hold_sessions);
	w.change_counter = w.store->be->change_counter(w.store);
	store_pool_init(w.base, server.cfg);
	for (unsigned i = 0; i < server.nlisteners; i++) {
		struct event *ev = event_new(w.base, server.listeners[i].fd, EV_READ | EV_PERSIST,
					     on_accept, &server.listeners[i]);
		event_add(ev, NULL);
	}
	struct event *sig_term = evsignal_new(w.base, SIGTERM, on_stop, NULL);
	struct event *sig_int = evsignal_new(w.base, SIGINT, on_stop, NULL);
	event_add(sig_term, NULL);
	event_add(sig_int, NULL);
	struct event *sig_hup = evsignal_new(w.base, SIGHUP, on_hup, NULL);
	event_add(sig_hup, NULL);
	signal(SIGPIPE, SIG_IGN);
	poll_ev = evtimer_new(w.base, on_poll, NULL);
	struct timeval tv = { 0, CHANGE_POLL_MS * 1000 };
	event_add(poll_ev, &tv);

	event_base_dispatch(w.base);
	/* messages being stored are finished before the process goes */
	store_pool_drain();
	store_close(&w.store);
	_exit(0);
}
