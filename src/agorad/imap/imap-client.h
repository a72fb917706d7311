/* One IMAP connection: its state machine, input framing and output. */
#ifndef AGORA_IMAP_CLIENT_H
#define AGORA_IMAP_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/str.h"
#include "lib-imap/imap-parser.h"
#include "lib-storage/namespace.h"
#include "lib-acl/acl.h"

struct bufferevent;
struct event;
struct pool;
struct imap_selected;
struct mailbox_info;

enum imap_state { IMAP_NOAUTH, IMAP_AUTH, IMAP_SELECTED, IMAP_LOGOUT };

/* What a client is waiting for while a command is not finished. */
enum imap_wait {
	WAIT_NONE,
	WAIT_AUTH_DATA,    /* AUTHENTICATE continuation line */
	WAIT_IDLE_DONE,    /* IDLE until DONE */
	WAIT_DELAY,        /* failed-login pause */
	WAIT_AUTH,         /* the auth process checks credentials */
	WAIT_STORE,        /* a store pool thread does the command's work */
	WAIT_OUTPUT,       /* a long answer goes on once its output has left */
};

/* While a command waits for the auth process, a pause, the store pool or
 * its own output to leave, the client's further input stays unread. */
#define CLIENT_INPUT_HELD(c) \
	((c)->wait == WAIT_DELAY || (c)->wait == WAIT_AUTH || (c)->wait == WAIT_STORE || \
	 (c)->wait == WAIT_OUTPUT)

/* Past this much unsent output, a client's commands are not read, and a
 * long answer (FETCH) waits, until the client reads what it asked for. */
#define IMAP_OUTPUT_HIGH_WATER (1024 * 1024)

struct imap_client {
	struct imap_client *prev, *next;
	int fd;
	struct bufferevent *bev;
	bool tls;
	char addr[64];
	enum imap_state state;
	enum imap_wait wait;
	struct imap_framer framer;
	struct pool *cmd_pool;
	struct event *timeout_ev;
	struct event *delay_ev;
	char *wait_tag;             /* tag of the command that waits */
	char *auth_mech;
	char *login_user;           /* the name a login in progress tries */
	unsigned auth_handle;       /* the request to the auth process, while WAIT_AUTH */
	struct imap_store_job *store_job;  /* while WAIT_STORE */
	unsigned sasl_step;         /* SCRAM: 1 client-first, 2 client-final, 3 empty line */
	char *scram_sid;            /* the auth process's exchange */
	char *scram_cbname;         /* channel binding type the client chose */
	char *sasl_user, *sasl_authuser;  /* proven, sent server-final, awaiting the empty line */
	unsigned bad_commands;      /* in a row */
	bool closing;               /* flush output, then close */
	bool flushing;              /* closed; waiting for the socket under TLS to send the rest */
	bool flush_done;            /* sent, or gave up waiting */
	bool reading_paused;
	bool condstore;             /* CONDSTORE enabled (by ENABLE or use) */

	unsigned ip_bucket;         /* counted in server.conn_counts: bucket + 1 */
	/* The session's number in the auth process's count of every user's
	 * sessions (maxlogins_per_user over all workers); 0: not counted. */
	unsigned long long session_id;
	char *pending_user;         /* proven; waiting for the auth process's SESS answer */
	uint64_t bytes_in, bytes_out;   /* of the IMAP stream (inside TLS) */
	uint64_t close_bytes_out;       /* bytes_out when closing last checked */

	/* once authenticated */
	char *user;
	char *authuser;             /* who proved it, when not `user` (master/proxy login) */
	bool admin;
	bool anonymous;             /* logged in as anonymous: only anyone/anonymous rights */
	char **groups;
	struct namespace ns;

	struct imap_selected *sel;

	/* WAIT_OUTPUT: goes on with the answer; returns true when done. */
	bool (*cont)(struct imap_client *c);
	void (*cont_free)(void *ctx);
	void *cont_ctx;
};

void imap_client_create(int fd, bool implicit_tls);
/* Tells every IDLE (and, at its next command, every other) selected session
 * of this worker about changes in the store. */
void imap_clients_notify_changes(void);
void imap_clients_shutdown(const char *reason);

/* Output. Every line written ends with CRLF, added here. */
void client_send(struct imap_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void client_send_str(struct imap_client *c, const str_t *s);   /* raw, no CRLF added */
void client_tagged(struct imap_client *c, const char *tag, const char *status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The store failed: logs, and answers NO [SERVERBUG] or the fitting code. */
void client_store_error(struct imap_client *c, const char *tag);
/* The same answer for an error a store pool job recorded. */
void client_store_error_code(struct imap_client *c, const char *tag, int code, const char *text);
/* Reads and runs what the client sent while its command waited. */
void imap_client_resume(struct imap_client *c);
/* cmd-append.c: the client goes away while its APPEND is being stored; the
 * message is stored all the same, and nobody is answered. */
void imap_store_job_detach(struct imap_client *c);

void client_close(struct imap_client *c, const char *bye);
/* The rights of the logged-in user on a mailbox (one function, used by
 * every command). */
acl_rights_t client_rights(struct imap_client *c, const struct mailbox_info *mbox);
/* Looks a client name up: 1 found and visible, 0 "does not exist" (also
 * for a bad name, and when the user may not look it up), -1 the store
 * failed. */
int client_mailbox_lookup(struct imap_client *c, const char *extname, struct mailbox_info *info,
			  str_t *internal);
/* client_mailbox_lookup for a command that needs the mailbox: 1 found
 * (*info is the caller's to free), 0 when the command has been answered:
 * NO [NONEXISTENT] (or [TRYCREATE] with trycreate, for the target of APPEND,
 * COPY and MOVE) when it does not exist or is invisible, the store's error
 * when that failed. */
int client_mailbox_require(struct imap_client *c, const char *tag, const char *extname,
			   struct mailbox_info *info, str_t *internal, bool trycreate);
void client_capability(struct imap_client *c, str_t *out);
/* The identifiers whose shares this user sees: the user, "group:NAME" for
 * each group, "anyone", "authenticated". NULL-terminated, malloc'd. */
char **client_share_idents(struct imap_client *c);
/* After login (the session counted already): sets user, namespace,
 * groups; autocreate. */
void client_login_done(struct imap_client *c, const char *user);
/* Worker: the auth process (re)connected; tells it every counted session. */
void imap_clients_hold_sessions(void);
/* An anonymous session: user "anonymous", no groups, never authenticated. */
void client_login_anonymous(struct imap_client *c);

#endif
