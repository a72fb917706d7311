#include "agorad/imap/imap-client.h"
#include "agorad/imap/imap-commands.h"
#include "agorad/imap/imap-selected.h"
#include "agorad/server.h"
#include "agorad/auth-proc.h"
#include "agorad/worker.h"
#include "lib-deliver/autocreate.h"
#include "lib/bounds.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/pool.h"
#include "lib/xalloc.h"
#include "lib-storage/store.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void imap_client_process_input(struct imap_client *c);
static void on_read(struct bufferevent *bev, void *arg);
static void on_write(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);

static void client_free(struct imap_client *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		worker->clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (c->wait == WAIT_AUTH)
		auth_request_cancel(c->auth_handle);
	if (c->wait == WAIT_STORE)
		imap_store_job_detach(c);
	if (c->session_id != 0) {
		/* also when its SESS is unanswered: END after SESS frees the slot
		 * if it was taken, and is nothing if not */
		char sid[32];
		snprintf(sid, sizeof(sid), "%llu", c->session_id);
		const char *f[] = { "END", sid };
		(void)auth_request(f, 2, NULL, NULL);
	}
	free(c->pending_user);
	if (c->ip_bucket > 0)
		server.conn_counts[worker->index * CONN_BUCKETS + c->ip_bucket - 1]--;
	if (c->cont_ctx != NULL)
		c->cont_free(c->cont_ctx);
	if (c->sel != NULL)
		imap_selected_close(c);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (c->timeout_ev != NULL)
		event_free(c->timeout_ev);
	if (c->delay_ev != NULL)
		event_free(c->delay_ev);
	imap_framer_deinit(&c->framer);
	pool_free(&c->cmd_pool);
	if (c->user != NULL) {
		log_info("logout user=%s addr=%s in=%llu out=%llu", c->user, c->addr,
			 (unsigned long long)c->bytes_in, (unsigned long long)c->bytes_out);
		namespace_deinit(&c->ns);
	}
	free(c->user);
	free(c->authuser);
	store_strv_free(c->groups);
	free(c->wait_tag);
	free(c->auth_mech);
	free(c->login_user);
	free(c->scram_sid);
	free(c->scram_cbname);
	free(c->sasl_user);
	free(c->sasl_authuser);
	free(c);
}

static void close_now(struct imap_client *c);

static void arm_timeout(struct imap_client *c)
{
	long long secs = c->state == IMAP_NOAUTH ? config_seconds(server.cfg, "login_timeout")
						 : config_seconds(server.cfg, "timeout");
	struct timeval tv = { (time_t)secs, 0 };
	event_add(c->timeout_ev, &tv);
}

/* How long a closing connection may take to send its last bytes, and how
 * long it may go without any of them leaving. */
#define CLOSE_FLUSH_SECS 5

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct imap_client *c = arg;
	(void)fd; (void)what;
	if (c->flushing) {
		c->flush_done = true;
		close_now(c);
		return;
	}
	if (c->closing) {
		/* Closed with output still waiting: a client that reads it,
		 * however slowly, gets all of it; one that stopped reading is
		 * let go instead of holding the connection for ever. */
		if (c->bytes_out != c->close_bytes_out) {
			c->close_bytes_out = c->bytes_out;
			struct timeval tv = { CLOSE_FLUSH_SECS, 0 };
			event_add(c->timeout_ev, &tv);
			return;
		}
		c->flush_done = true;
		client_free(c);
		return;
	}
	client_close(c, "Autologout; idle for too long");
}

void client_send(struct imap_client *c, const char *fmt, ...)
{
	va_list ap;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

void client_send_str(struct imap_client *c, const str_t *s)
{
	evbuffer_add(bufferevent_get_output(c->bev), s->data, s->len);
}

void client_tagged(struct imap_client *c, const char *tag, const char *status, const char *fmt, ...)
{
	va_list ap;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	evbuffer_add_printf(out, "%s %s ", tag, status);
	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

void client_store_error(struct imap_client *c, const char *tag)
{
	struct store *st = worker->store;
	client_store_error_code(c, tag, st->be->errcode(st), st->be->error(st));
}

void client_store_error_code(struct imap_client *c, const char *tag, int code, const char *text)
{
	switch (code) {
	case STORE_ERR_EXISTS:
		client_tagged(c, tag, "NO", "[ALREADYEXISTS] Mailbox already exists");
		break;
	case STORE_ERR_NOTFOUND:
		client_tagged(c, tag, "NO", "[NONEXISTENT] Mailbox does not exist");
		break;
	case STORE_ERR_OVERQUOTA:
		client_tagged(c, tag, "NO", "[OVERQUOTA] Quota exceeded");
		break;
	case STORE_ERR_LIMIT:
		client_tagged(c, tag, "NO", "[LIMIT] %s", text);
		break;
	default:
		client_tagged(c, tag, "NO", "[SERVERBUG] Internal error; the operation was not done");
		break;
	}
}

void imap_client_resume(struct imap_client *c)
{
	if (!CLIENT_INPUT_HELD(c) && !c->closing) {
		bufferevent_enable(c->bev, EV_READ);
		imap_client_process_input(c);
	}
}

/* After STARTTLS the TLS bufferevent is a filter over the socket's: when
 * the filter's output is empty its bytes may still wait in the socket's
 * output (the tagged OK of LOGOUT, a BYE, a TLS alert), and freeing both
 * now would lose them. Wait for them to leave, for a bounded time. */
static void close_now(struct imap_client *c)
{
	struct bufferevent *under = c->bev != NULL ? bufferevent_get_underlying(c->bev) : NULL;
	if (under != NULL && !c->flush_done && evbuffer_get_length(bufferevent_get_output(under)) > 0) {
		if (!c->flushing) {
			c->flushing = true;
			bufferevent_disable(c->bev, EV_READ);
			tls_wait_for_underlying(under, c->timeout_ev, CLOSE_FLUSH_SECS);
		}
		return;
	}
	client_free(c);
}

void client_close(struct imap_client *c, const char *bye)
{
	if (c->closing)
		return;
	if (bye != NULL)
		client_send(c, "* BYE %s", bye);
	c->closing = true;
	c->state = IMAP_LOGOUT;
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		close_now(c);
		return;
	}
	/* otherwise on_write closes once the output has left, or
	 * on_timeout when it stops leaving */
	c->close_bytes_out = c->bytes_out;
	struct timeval tv = { CLOSE_FLUSH_SECS, 0 };
	event_add(c->timeout_ev, &tv);
}

void client_capability(struct imap_client *c, str_t *out)
{
	str_append(out, "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UNSELECT UIDPLUS MOVE "
		   "CHILDREN SPECIAL-USE CREATE-SPECIAL-USE LIST-EXTENDED LIST-STATUS CONDSTORE BINARY ESEARCH "
		   "ACL RIGHTS=kxten METADATA QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE QUOTASET");
	if (c->state == IMAP_NOAUTH) {
		bool plain_ok = c->tls || server.plaintext_ok_without_tls;
		if (server.ssl_ctx != NULL && !c->tls)
			str_append(out, " STARTTLS");
		if (plain_ok)
			str_append(out, " AUTH=PLAIN AUTH=LOGIN");
		str_append(out, " AUTH=SCRAM-SHA-1 AUTH=SCRAM-SHA-256");
		if (c->tls)
			str_append(out, " AUTH=SCRAM-SHA-1-PLUS AUTH=SCRAM-SHA-256-PLUS");
		if (!plain_ok)
			str_append(out, " LOGINDISABLED");
		if (anonymous_allowed())
			str_append(out, " AUTH=ANONYMOUS");
	}
}

char **client_share_idents(struct imap_client *c)
{
	size_t ng = 0;
	while (c->groups != NULL && c->groups[ng] != NULL)
		ng++;
	char **v = xcalloc(ng + 4, sizeof(char *));
	size_t n = 0;
	v[n++] = xstrdup(c->user);
	for (size_t i = 0; i < ng; i++) {
		str_t g = STR_INIT;
		str_printf(&g, "group:%s", c->groups[i]);
		v[n++] = str_steal(&g);
	}
	v[n++] = xstrdup("anyone");
	if (!c->anonymous)
		v[n++] = xstrdup("authenticated");
	return v;
}

acl_rights_t client_rights(struct imap_client *c, const struct mailbox_info *mbox)
{
	struct acl_subject who = { c->user, (const char *const *)c->groups, !c->anonymous };
	acl_rights_t r = acl_rights_eval(mbox->acl, &who);
	char *owner = mailbox_owner(mbox->name);
	/* An owner can always see and administer their own mailboxes, an admin
	 * every mailbox (RFC 4314 2.1's implicit rights). */
	if (owner != NULL && strcmp(owner, c->user) == 0)
		r |= ACL_L | ACL_A;
	free(owner);
	if (c->admin)
		r |= ACL_L | ACL_A;
	/* Anonymous sessions share one name: nothing of theirs persists, so
	 * not \Seen either. */
	if (c->anonymous)
		r &= ~(acl_rights_t)(ACL_S | ACL_A);
	return r;
}

int client_mailbox_lookup(struct imap_client *c, const char *extname, struct mailbox_info *info,
			  str_t *internal)
{
	str_t tmp = STR_INIT;
	str_t *name = internal != NULL ? internal : &tmp;
	int ret;
	if (namespace_to_internal(&c->ns, extname, name) < 0) {
		ret = 0;
		goto out;
	}
	ret = worker->store->be->mailbox_get(worker->store, str_c(name), info);
	if (ret == 1 && (client_rights(c, info) & ACL_L) == 0) {
		mailbox_info_free(info);
		ret = 0;
	}
out:
	str_free(&tmp);
	return ret;
}

int client_mailbox_require(struct imap_client *c, const char *tag, const char *extname,
			   struct mailbox_info *info, str_t *internal, bool trycreate)
{
	int r = client_mailbox_lookup(c, extname, info, internal);
	if (r < 0)
		client_store_error(c, tag);
	else if (r == 0)
		client_tagged(c, tag, "NO", "[%s] Mailbox does not exist", trycreate ? "TRYCREATE" : "NONEXISTENT");
	return r > 0;
}

void imap_clients_hold_sessions(void)
{
	for (struct imap_client *c = worker->clients; c != NULL; c = c->next) {
		if (c->session_id == 0 || c->user == NULL)
			continue;
		char sid[32];
		snprintf(sid, sizeof(sid), "%llu", c->session_id);
		const char *f[] = { "HOLD", sid, c->user };
		(void)auth_request(f, 3, NULL, NULL);
	}
}

void client_login_done(struct imap_client *c, const char *user)
{
	c->user = xstrdup(user);
	c->admin = config_list_has(server.cfg, "admins", user);
	if (worker->store->be->user_groups(worker->store, user, &c->groups) < 0)
		c->groups = NULL;
	namespace_init(&c->ns, server.cfg, user, c->admin);
	c->state = IMAP_AUTH;
	imap_framer_deinit(&c->framer);
	imap_framer_init(&c->framer, IMAP_MAX_LINE);
	autocreate_inbox(worker->store, server.cfg, user, "login");
	SSL *ssl = c->tls ? bufferevent_openssl_get_ssl(c->bev) : NULL;
	log_info("login user=%s%s%s addr=%s mech=%s tls=%s%s%s", user,
		 c->authuser != NULL ? " authuser=" : "", c->authuser != NULL ? c->authuser : "", c->addr,
		 c->auth_mech != NULL ? c->auth_mech : "LOGIN", c->tls ? "yes" : "no",
		 ssl != NULL ? " tls_version=" : "", ssl != NULL ? SSL_get_version(ssl) : "");
	arm_timeout(c);
}

void client_login_anonymous(struct imap_client *c)
{
	c->user = xstrdup("anonymous");
	c->anonymous = true;
	c->admin = false;
	c->groups = NULL;
	namespace_init(&c->ns, server.cfg, c->user, false);
	c->state = IMAP_AUTH;
	imap_framer_deinit(&c->framer);
	imap_framer_init(&c->framer, IMAP_MAX_LINE);
	arm_timeout(c);
}

static void pause_reading(struct imap_client *c, bool pause)
{
	if (pause == c->reading_paused)
		return;
	c->reading_paused = pause;
	if (pause)
		bufferevent_disable(c->bev, EV_READ);
	else
		bufferevent_enable(c->bev, EV_READ);
}

/* Decides on a literal the client announced. */
static bool literal_allowed(struct imap_client *c, str_t *why)
{
	size_t size = c->framer.lit_size;
	size_t max;
	bool sum_bounded = false;
	str_t cmd = STR_INIT;
	imap_framer_command(&c->framer, &cmd);
	if (c->state == IMAP_NOAUTH)
		max = IMAP_MAX_LITERAL_PREAUTH;
	else if (strcmp(str_c(&cmd), "APPEND") == 0)
		max = (size_t)config_int(server.cfg, "maxmessagesize");
	else {
		/* bounds.h: the sum of all literals of such a command */
		max = IMAP_MAX_COMMAND_LITERALS;
		sum_bounded = true;
	}
	str_free(&cmd);
	if (size > max) {
		str_printf(why, "[TOOBIG] Literal of %zu bytes is larger than the limit of %zu", size, max);
		return false;
	}
	if (sum_bounded && c->framer.literal_total > max - size) {
		str_printf(why, "[TOOBIG] The literals of this command are larger than the limit of %zu in all",
			   max);
		return false;
	}
	/* Everything in one command together is bounded as well. */
	if (c->framer.buf.len + size > max + IMAP_MAX_COMMAND_LITERALS) {
		str_printf(why, "[TOOBIG] Command larger than the limit of %zu",
			   max + IMAP_MAX_COMMAND_LITERALS);
		return false;
	}
	return true;
}

static void bad_command(struct imap_client *c, const char *tag, const char *msg)
{
	client_tagged(c, tag, "BAD", "%s", msg);
	if (++c->bad_commands >= (unsigned)config_int(server.cfg, "imap_max_bad_commands"))
		client_close(c, "Too many invalid commands");
}

static void run_framed_command(struct imap_client *c)
{
	struct imap_command cmd;
	const char *error = NULL;
	pool_clear(c->cmd_pool);
	if (imap_parse_command(c->framer.buf.data, c->framer.buf.len, c->cmd_pool, &cmd, &error) < 0) {
		str_t tag = STR_INIT;
		imap_framer_tag(&c->framer, &tag);
		bad_command(c, str_c(&tag), error);
		str_free(&tag);
		return;
	}
	unsigned bad_before = c->bad_commands;
	int r = imap_command_run(c, &cmd);
	if (r < 0) {
		if (!c->closing)
			bad_command(c, cmd.tag, error != NULL ? error : "Invalid arguments");
	} else if (r > 0) {
		/* a BAD already sent by the command */
		if (++c->bad_commands >= (unsigned)config_int(server.cfg, "imap_max_bad_commands"))
			client_close(c, "Too many invalid commands");
	} else if (c->bad_commands == bad_before && c->wait != WAIT_AUTH) {
		/* A good command ends a run of bad ones, but a failed login
		 * (which counted itself) does not. */
		c->bad_commands = 0;
	}
}

/* The line read while a command waits (AUTHENTICATE data, IDLE's DONE). */
static void run_wait_line(struct imap_client *c)
{
	str_t line = STR_INIT;
	str_append_n(&line, c->framer.buf.data, c->framer.buf.len);
	while (line.len > 0 && (line.data[line.len - 1] == '\n' || line.data[line.len - 1] == '\r'))
		str_truncate(&line, line.len - 1);
	imap_command_continue(c, str_c(&line));
	str_free(&line);
}

void imap_client_process_input(struct imap_client *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	while (!c->closing && !CLIENT_INPUT_HELD(c) && evbuffer_get_length(in) > 0) {
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) > IMAP_OUTPUT_HIGH_WATER) {
			pause_reading(c, true);
			return;
		}
		struct evbuffer_iovec vec;
		if (evbuffer_peek(in, -1, NULL, &vec, 1) < 1)
			break;
		size_t used = 0;
		enum imap_frame_result r = imap_framer_feed(&c->framer, vec.iov_base, vec.iov_len, &used);
		evbuffer_drain(in, used);
		str_t tag = STR_INIT, why = STR_INIT;
		switch (r) {
		case IMAP_FRAME_MORE:
			break;
		case IMAP_FRAME_LINE_TOO_LONG:
			imap_framer_tag(&c->framer, &tag);
			if (c->wait != WAIT_NONE) {
				client_close(c, "Line too long");
				break;
			}
			bad_command(c, str_c(&tag), c->state == IMAP_NOAUTH ?
				    "[TOOBIG] Command line too long (limit before login)" :
				    "[TOOBIG] Command line too long");
			break;
		case IMAP_FRAME_LITERAL:
			imap_framer_tag(&c->framer, &tag);
			if (c->wait != WAIT_NONE) {
				/* AUTHENTICATE data and DONE are single lines */
				imap_framer_reset(&c->framer);
				imap_command_continue(c, "*");
				break;
			}
			if (!literal_allowed(c, &why)) {
				if (!c->framer.lit_sync) {
					/* The client sends the bytes regardless; stop here. */
					client_tagged(c, str_c(&tag), "BAD", "%s", str_c(&why));
					client_close(c, "Non-synchronizing literal too large");
				} else {
					imap_framer_reset(&c->framer);
					bad_command(c, str_c(&tag), str_c(&why));
				}
				break;
			}
			imap_framer_literal_accept(&c->framer);
			if (c->framer.lit_sync)
				client_send(c, "+ Ready for literal data");
			break;
		case IMAP_FRAME_COMMAND:
			arm_timeout(c);
			if (c->wait != WAIT_NONE)
				run_wait_line(c);
			else
				run_framed_command(c);
			if (!c->closing)
				imap_framer_reset(&c->framer);
			break;
		}
		str_free(&tag);
		str_free(&why);
	}
}

static void on_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	imap_client_process_input(arg);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct imap_client *c = arg;
	(void)bev;
	if (c->closing) {
		close_now(c);
		return;
	}
	if (c->wait == WAIT_OUTPUT) {
		/* The client read what was sent so far: that is activity. */
		arm_timeout(c);
		if (!c->cont(c))
			return;
		c->cont_free(c->cont_ctx);
		c->cont_ctx = NULL;
		c->cont = NULL;
		c->wait = WAIT_NONE;
		if (c->closing)
			return;
		pause_reading(c, false);
		imap_client_process_input(c);
		return;
	}
	if (c->reading_paused && !CLIENT_INPUT_HELD(c)) {
		pause_reading(c, false);
		imap_client_process_input(c);
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct imap_client *c = arg;
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		close_now(c);
}

static void count_in(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct imap_client *c = arg;
	(void)buf;
	c->bytes_in += info->n_added;
}

static void count_out(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct imap_client *c = arg;
	(void)buf;
	c->bytes_out += info->n_deleted;
}

static void client_setup_bev(struct imap_client *c)
{
	evbuffer_add_cb(bufferevent_get_input(c->bev), count_in, c);
	evbuffer_add_cb(bufferevent_get_output(c->bev), count_out, c);
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

int imap_client_start_tls(struct imap_client *c);

int imap_client_start_tls(struct imap_client *c)
{
	SSL *ssl = SSL_new(server.ssl_ctx);
	if (ssl == NULL)
		return -1;
	/* Anything the client sent after STARTTLS in plaintext is thrown away:
	 * it must not run as if it came over TLS. */
	evbuffer_drain(bufferevent_get_input(c->bev), evbuffer_get_length(bufferevent_get_input(c->bev)));
	imap_framer_reset(&c->framer);
	/* from now on the TLS filter's buffers carry the IMAP stream */
	evbuffer_remove_cb(bufferevent_get_input(c->bev), count_in, c);
	evbuffer_remove_cb(bufferevent_get_output(c->bev), count_out, c);
	struct bufferevent *tls = tls_filter_new(worker->base, c->bev, ssl);
	if (tls == NULL)
		return -1;
	c->bev = tls;
	c->tls = true;
	client_setup_bev(c);
	return 0;
}

/* maxconnections_per_ip: false when this address has its fill (the
 * connection was then answered and closed). */
static bool ip_admit(struct imap_client *c, int fd, bool implicit_tls)
{
	long long max = config_int(server.cfg, "maxconnections_per_ip");
	if (max <= 0)
		return true;
	unsigned h = 5381;
	for (const char *p = c->addr; *p != '\0'; p++)
		h = h * 33 + (unsigned char)*p;
	h %= CONN_BUCKETS;
	unsigned long long n = 0;
	for (unsigned w = 0; w < server.nworkers; w++)
		n += server.conn_counts[w * CONN_BUCKETS + h];
	if (n >= (unsigned long long)max) {
		log_info("connection refused addr=%s: %llu connections from this address", c->addr, n);
		if (!implicit_tls) {
			static const char bye[] = "* BYE Too many connections from your address\r\n";
			ssize_t r = write(fd, bye, sizeof(bye) - 1);
			(void)r;
		}
		close(fd);
		return false;
	}
	server.conn_counts[worker->index * CONN_BUCKETS + h]++;
	c->ip_bucket = h + 1;
	return true;
}

void imap_client_create(int fd, bool implicit_tls)
{
	struct imap_client *c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, c->addr, sizeof(c->addr));
		else if (ss.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, c->addr, sizeof(c->addr));
		else
			strcpy(c->addr, "local");
	}
	if (!ip_admit(c, fd, implicit_tls)) {
		free(c);
		return;
	}
	if (implicit_tls) {
		SSL *ssl = SSL_new(server.ssl_ctx);
		c->bev = bufferevent_openssl_socket_new(worker->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
							BEV_OPT_CLOSE_ON_FREE);
		c->tls = true;
	} else {
		c->bev = bufferevent_socket_new(worker->base, fd, BEV_OPT_CLOSE_ON_FREE);
	}
	if (c->bev == NULL) {
		if (c->ip_bucket > 0)
			server.conn_counts[worker->index * CONN_BUCKETS + c->ip_bucket - 1]--;
		close(fd);
		free(c);
		return;
	}
	c->state = IMAP_NOAUTH;
	imap_framer_init(&c->framer, IMAP_MAX_LINE_PREAUTH);
	c->cmd_pool = pool_new(4096);
	c->timeout_ev = evtimer_new(worker->base, on_timeout, c);
	c->next = worker->clients;
	if (c->next != NULL)
		c->next->prev = c;
	worker->clients = c;
	client_setup_bev(c);
	str_t caps = STR_INIT;
	client_capability(c, &caps);
	client_send(c, "* OK [CAPABILITY %s] Agora ready", str_c(&caps));
	str_free(&caps);
	arm_timeout(c);
}

/* One look at each mailbox per round, however many sessions idle in it:
 * only the sessions whose mailbox moved on do any more work. */
struct seen_mailbox {
	int64_t id;
	uint64_t highestmodseq;
	bool gone;
};

void imap_clients_notify_changes(void)
{
	struct imap_client *next;
	struct seen_mailbox *seen = NULL;
	size_t nseen = 0;
	struct store *st = worker->store;
	for (struct imap_client *c = worker->clients; c != NULL; c = next) {
		next = c->next;
		if (c->sel == NULL || c->wait != WAIT_IDLE_DONE || c->closing)
			continue;
		size_t i;
		for (i = 0; i < nseen && seen[i].id != c->sel->info.id; i++)
			;
		if (i == nseen) {
			struct mailbox_info info;
			int r = st->be->mailbox_get(st, c->sel->info.name, &info);
			seen = xrealloc(seen, (nseen + 1) * sizeof(*seen));
			seen[nseen].id = c->sel->info.id;
			seen[nseen].gone = r != 1 || info.id != c->sel->info.id;
			seen[nseen].highestmodseq = r == 1 ? info.highestmodseq : 0;
			if (r == 1)
				mailbox_info_free(&info);
			nseen++;
		}
		if (seen[i].gone || seen[i].highestmodseq != c->sel->modseq)
			imap_selected_sync(c, true);
	}
	free(seen);
}

void imap_clients_shutdown(const char *reason)
{
	struct imap_client *next;
	for (struct imap_client *c = worker->clients; c != NULL; c = next) {
		next = c->next;
		client_close(c, reason);
	}
}
