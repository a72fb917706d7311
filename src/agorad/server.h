/* The agorad process model.
 *
 * The master binds every listener and forks the auth process and
 * `workers` worker processes. Started as root with the `user` option, the
 * workers become that account at once; the master (which only forks,
 * waits and passes signals on) and the auth process (which alone reads
 * secrets.db) stay root. Each worker runs one libevent loop that accepts on the
 * shared listening sockets and serves many connections. The master restarts
 * a worker that dies (its connections are lost, nothing else: every change
 * is committed to the store before it is acknowledged) and on SIGTERM or
 * SIGINT asks every worker to say BYE and exit. */
#ifndef AGORA_SERVER_H
#define AGORA_SERVER_H

#include <stdbool.h>
#include <sys/types.h>
#include <openssl/ssl.h>

struct config;
struct store;
struct event_base;

enum listener_kind { LISTEN_IMAP, LISTEN_IMAPS, LISTEN_LMTP };

struct listener {
	enum listener_kind kind;
	int fd;
	char *name;          /* "127.0.0.1:143" or a socket path */
};

struct server {
	const struct config *cfg;
	struct listener *listeners;
	unsigned nlisteners;
	SSL_CTX *ssl_ctx;    /* NULL when TLS is not configured */
	bool plaintext_ok_without_tls; /* allowplaintext or no TLS configured */
	/* IMAP connections per client address, one row of CONN_BUCKETS per
	 * worker (each writes only its own; a restarted worker zeroes it), in
	 * memory shared by all: maxconnections_per_ip counts over all workers. */
	volatile unsigned *conn_counts;
	unsigned nworkers;
	/* Started as root with `user`: the workers become run_uid/run_gid. */
	bool drop;
	uid_t run_uid;
	gid_t run_gid;
	int auth_listen_fd;  /* the auth socket, bound by the master */
	char *auth_path;     /* its path */
};

#define CONN_BUCKETS 4096

extern struct server server;

/* listeners.c */
int listeners_open(struct server *srv);
/* tls.c */
int tls_init(struct server *srv);
/* SIGHUP: reads certificate, key and settings again into a new context for
 * new connections; on failure keeps the old one (-1, logged). */
int tls_reload(struct server *srv);
/* After STARTTLS a connection's bufferevent is a filter over the socket's:
 * its output may be empty while the socket's (`under`) still holds the last
 * reply or a TLS alert, and freeing both then would lose it. Starts waiting
 * for that: `timeout_ev` fires once the socket's output has left, or after
 * `secs` seconds, whichever comes first. */
struct bufferevent;
struct event;
struct event_base;
void tls_wait_for_underlying(struct bufferevent *under, struct event *timeout_ev, int secs);
/* STARTTLS: a server-side TLS filter over `under` (freed with it) using
 * `ssl`; NULL, with ssl freed, when it cannot be made. */
struct bufferevent *tls_filter_new(struct event_base *base, struct bufferevent *under, SSL *ssl);
/* worker.c */
void worker_run(unsigned index) __attribute__((noreturn));
/* main.c: fork() for the master's children (workers, the auth process):
 * SIGTERM and SIGINT are held back across it, and the child's SIGTERM,
 * SIGINT and SIGCHLD are back to their defaults before they arrive. */
pid_t master_fork(void);
/* main.c: in a new worker, before it opens the store: become `user`. */
void worker_drop_privileges(void);

#endif
