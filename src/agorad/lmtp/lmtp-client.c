#include "agorad/lmtp/lmtp-client.h"
#include "lib-deliver/recipient.h"
#include "lib-deliver/message-store.h"
#include "lib-lmtp/lmtp-parse.h"
#include "agorad/server.h"
#include "agorad/worker.h"
#include "agorad/store-pool.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "lib-storage/store.h"

#include <stdint.h>
#include <openssl/ssl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* An SMTP command line (RFC 5321 4.5.3.1.4 says 512; leave room for
 * parameters). */
#define LMTP_MAX_LINE 2048
#define LMTP_MAX_RECIPIENTS 1000
#define LMTP_TIMEOUT_SEC 600
/* How long a closing TLS connection may take to send its last bytes. */
#define LMTP_CLOSE_FLUSH_SEC 5
/* Past this much unsent output, stop reading commands until the client
 * reads its replies (a client that pipelines without reading would
 * otherwise make the server buffer replies without limit). */
#define LMTP_OUTPUT_HIGH_WATER (64 * 1024)

struct rcpt {
	char *address;
	char *mailbox;
	char *user;
};

struct lmtp_client {
	struct lmtp_client *next, *prev;
	struct bufferevent *bev;
	struct event *timeout_ev;
	bool lhlo, have_from, in_data, closing, data_too_big, tls, flushing, reading_paused;
	/* CHUNKING (RFC 3030): bytes of the current BDAT chunk still to
	 * read, whether it is the LAST one, and the refusal to send once it
	 * is read (NULL: accepted). */
	size_t bdat_remaining;
	bool bdat_last, bdat_used;
	const char *bdat_refusal;
	char *from;
	struct rcpt *rcpts;
	size_t nrcpts;
	str_t data;
	size_t max_size;    /* maxmessagesize, read once per transaction */
	struct lmtp_delivery *delivering;   /* the transaction being stored */
};

static struct lmtp_client *clients;

static void reply(struct lmtp_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void reply(struct lmtp_client *c, const char *fmt, ...)
{
	va_list ap;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

static void delivery_detach(struct lmtp_delivery *d);

static void reset_transaction(struct lmtp_client *c)
{
	free(c->from);
	c->from = NULL;
	c->have_from = false;
	for (size_t i = 0; i < c->nrcpts; i++) {
		free(c->rcpts[i].address);
		free(c->rcpts[i].mailbox);
		free(c->rcpts[i].user);
	}
	free(c->rcpts);
	c->rcpts = NULL;
	c->nrcpts = 0;
	str_free(&c->data);
	c->in_data = false;
	c->data_too_big = false;
	c->bdat_used = false;
}

static void client_free(struct lmtp_client *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (c->delivering != NULL)
		delivery_detach(c->delivering);
	reset_transaction(c);
	bufferevent_free(c->bev);
	event_free(c->timeout_ev);
	free(c);
}

/* After STARTTLS the last reply (221, 421) may still wait under the TLS
 * filter (tls_wait_for_underlying). */
static void free_when_sent(struct lmtp_client *c)
{
	struct bufferevent *under = bufferevent_get_underlying(c->bev);
	if (under != NULL && evbuffer_get_length(bufferevent_get_output(under)) > 0) {
		if (!c->flushing) {
			c->flushing = true;
			tls_wait_for_underlying(under, c->timeout_ev, LMTP_CLOSE_FLUSH_SEC);
		}
		return;
	}
	client_free(c);
}

static void close_after_output(struct lmtp_client *c)
{
	if (c->closing)
		return;
	c->closing = true;
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		free_when_sent(c);
		return;
	}
	/* on_write frees it once the replies have left; a client that does
	 * not read them is let go after a while (on_timeout). */
	struct timeval tv = { LMTP_CLOSE_FLUSH_SEC, 0 };
	event_add(c->timeout_ev, &tv);
}

/* The outcome of delivering to one recipient. */
enum rcpt_code {
	RC_DELIVERED, RC_DUPLICATE, RC_UNKNOWN, RC_TEMPFAIL, RC_OVERQUOTA, RC_OVERQUOTA_PERM, RC_STOREFAIL,
};

static void reply_code_again(struct lmtp_client *c, enum rcpt_code code, const char *address)
{
	switch (code) {
	case RC_DELIVERED:
		reply(c, "250 2.1.5 <%s> Delivered", address);
		break;
	case RC_DUPLICATE:
		reply(c, "250 2.1.5 <%s> Delivered (duplicate suppressed)", address);
		break;
	case RC_UNKNOWN:
		reply(c, "550 5.1.1 <%s> User unknown", address);
		break;
	case RC_TEMPFAIL:
		reply(c, "451 4.3.0 <%s> Temporary failure", address);
		break;
	case RC_OVERQUOTA:
		reply(c, "452 4.2.2 <%s> Over quota", address);
		break;
	case RC_OVERQUOTA_PERM:
		reply(c, "552 5.2.2 <%s> Over quota", address);
		break;
	case RC_STOREFAIL:
		reply(c, "451 4.3.0 <%s> Temporary failure storing the message", address);
		break;
	}
}

/* A finished transaction being delivered on a store pool thread (see
 * store-pool.h): it owns the envelope and the message; the client reads no
 * further commands until the replies are sent. */
struct lmtp_delivery {
	struct store_job job;           /* first: the pool hands this back */
	struct lmtp_client *client;     /* NULL once the client has gone */
	char *from;
	struct rcpt *rcpts;
	size_t nrcpts;
	str_t data;
	bool dedup, overquota_perm;
	enum rcpt_code *rcodes;
};

/* The message is written and fsynced once; every further recipient's
 * mailbox gets a hard link of that file (a copy only across partitions).
 * The last file to make is written in its mailbox's directory, under its
 * final name; one that others link to is kept under a temporary name too.
 * Return-Path is always added; Delivered-To only with a single recipient,
 * since one file serves them all. Runs on a pool thread: it decides each
 * recipient's outcome, and deliver_done answers. */
static void deliver_work(struct store *st, struct store_job *job)
{
	struct lmtp_delivery *d = (struct lmtp_delivery *)job;
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	int tz = (int)(tm.tm_gmtoff / 60);
	str_t msg = STR_INIT, first = STR_INIT;
	str_printf(&msg, "Return-Path: <%s>\r\n", d->from);
	if (d->nrcpts == 1)
		str_printf(&msg, "Delivered-To: %s\r\n", d->rcpts[0].address);
	str_append_n(&msg, d->data.data, d->data.len);
	str_free(&d->data);
	struct message_prepared prep;
	message_prepare(&prep, msg.data, msg.len);
	enum rcpt_code *rcodes = d->rcodes;
	for (size_t i = 0; i < d->nrcpts; i++) {
		struct rcpt *r = &d->rcpts[i];
		struct mailbox_info info;
		str_t tmp = STR_INIT;
		uint32_t uid;
		/* A mailbox named again in the same transaction (the same
		 * address, or another that leads to it) gets the message once;
		 * each of its recipients gets the first one's answer. */
		size_t j;
		for (j = 0; j < i; j++) {
			if (strcmp(d->rcpts[j].mailbox, r->mailbox) == 0 &&
			    (d->rcpts[j].user == NULL) == (r->user == NULL) &&
			    (r->user == NULL || strcmp(d->rcpts[j].user, r->user) == 0))
				break;
		}
		if (j < i) {
			rcodes[i] = rcodes[j];
			continue;
		}
		int got = st->be->mailbox_get(st, r->mailbox, &info);
		if (got != 1) {
			rcodes[i] = got == 0 ? RC_UNKNOWN : RC_TEMPFAIL;
			continue;
		}
		int ret = -1, code = STORE_ERR_INTERNAL;
		if (first.len == 0 && i + 1 == d->nrcpts) {
			/* the one file to make: written in the mailbox, in place */
			ret = message_store_prepared(st, &info, r->user, &prep, now, tz, 0, NULL, d->dedup, &uid,
						     &code);
		} else {
			if (first.len > 0 && st->be->tmpfile_create(st, info.partition, &tmp) == 0 &&
			    link(str_c(&first), str_c(&tmp)) == 0)
				ret = 0;
			else if (message_file_write(st, &info, msg.data, msg.len, &tmp) == 0)
				ret = 0;
			if (ret == 0 && first.len == 0) {
				/* Keep one link to make the other recipients'
				 * from (the store takes this name over). */
				str_t keep = STR_INIT;
				if (st->be->tmpfile_create(st, info.partition, &keep) == 0 &&
				    link(str_c(&tmp), str_c(&keep)) == 0)
					str_append(&first, str_c(&keep));
				str_free(&keep);
			}
			if (ret == 0) {
				ret = message_store_file(st, &info, r->user, str_c(&tmp), &prep, now, tz, 0, NULL,
							 d->dedup, &uid);
				if (ret < 0)
					code = st->be->errcode(st);
			}
		}
		if (ret == 0) {
			log_info("lmtp: delivered to %s (%s uid %u) size=%zu", r->address, r->mailbox, uid, msg.len);
			rcodes[i] = RC_DELIVERED;
		} else if (code == STORE_ERR_DUPLICATE) {
			log_info("lmtp: duplicate of %s to %s suppressed", prep.message_id, r->mailbox);
			rcodes[i] = RC_DUPLICATE;
		} else if (code == STORE_ERR_OVERQUOTA) {
			rcodes[i] = d->overquota_perm ? RC_OVERQUOTA_PERM : RC_OVERQUOTA;
		} else {
			rcodes[i] = RC_STOREFAIL;
		}
		mailbox_info_free(&info);
		str_free(&tmp);
	}
	if (first.len > 0)
		unlink(str_c(&first));
	message_prepared_free(&prep);
	str_free(&msg);
	str_free(&first);
}

/* The client went away while its message was being stored: it is stored
 * all the same, and nobody is told (the MTA retries; duplicate
 * suppression keeps the second copy out). */
static void delivery_detach(struct lmtp_delivery *d)
{
	d->client = NULL;
}

static void on_read(struct bufferevent *bev, void *arg);

static void deliver_done(struct store_job *job)
{
	struct lmtp_delivery *d = (struct lmtp_delivery *)job;
	struct lmtp_client *c = d->client;
	worker_changed();
	if (c != NULL) {
		c->delivering = NULL;
		for (size_t i = 0; i < d->nrcpts; i++)
			reply_code_again(c, d->rcodes[i], d->rcpts[i].address);
		if (!c->closing && !c->reading_paused) {
			bufferevent_enable(c->bev, EV_READ);
			on_read(c->bev, c);
		}
	}
	for (size_t i = 0; i < d->nrcpts; i++) {
		free(d->rcpts[i].address);
		free(d->rcpts[i].mailbox);
		free(d->rcpts[i].user);
	}
	free(d->rcpts);
	free(d->from);
	free(d->rcodes);
	str_free(&d->data);
	str_free(&job->errtext);
	free(d);
}

/* Hands the finished transaction to the store pool; reset_transaction then
 * finds it empty. */
static void deliver(struct lmtp_client *c)
{
	struct lmtp_delivery *d = xcalloc(1, sizeof(*d));
	d->job.work = deliver_work;
	d->job.done = deliver_done;
	d->client = c;
	d->from = c->from;
	c->from = NULL;
	d->rcpts = c->rcpts;
	d->nrcpts = c->nrcpts;
	c->rcpts = NULL;
	c->nrcpts = 0;
	d->data = c->data;
	memset(&c->data, 0, sizeof(c->data));
	d->dedup = config_bool(server.cfg, "duplicatesuppression");
	d->overquota_perm = config_bool(server.cfg, "lmtp_over_quota_perm_failure");
	d->rcodes = xcalloc(d->nrcpts ? d->nrcpts : 1, sizeof(*d->rcodes));
	c->delivering = d;
	bufferevent_disable(c->bev, EV_READ);
	store_pool_submit(&d->job);
}

static void handle_data_line(struct lmtp_client *c, const char *line, size_t len)
{
	if (lmtp_data_line(&line, &len)) {
		if (c->data_too_big) {
			for (size_t i = 0; i < c->nrcpts; i++)
				reply(c, "552 5.3.4 <%s> Message too big", c->rcpts[i].address);
		} else {
			deliver(c);
		}
		reset_transaction(c);
		return;
	}
	if (c->data_too_big)
		return;
	if (c->data.len + len > c->max_size) {
		c->data_too_big = true;
		str_free(&c->data);
		return;
	}
	str_append_n(&c->data, line, len);
}

/* A chunk has been read whole: refuse it, acknowledge it, or (LAST)
 * deliver the message with one reply per recipient, as after DATA. */
static void bdat_chunk_done(struct lmtp_client *c)
{
	if (c->bdat_refusal != NULL) {
		reply(c, "%s", c->bdat_refusal);
		c->bdat_refusal = NULL;
		return;
	}
	if (!c->bdat_last) {
		reply(c, "250 2.0.0 %zu octets received", c->data.len);
		return;
	}
	if (c->data_too_big) {
		for (size_t i = 0; i < c->nrcpts; i++)
			reply(c, "552 5.3.4 <%s> Message too big", c->rcpts[i].address);
	} else {
		/* BDAT carries the message as it is: bare LFs become CRLF as
		 * they do after DATA, so IMAP clients see CRLF lines. */
		str_t fixed = STR_INIT;
		lmtp_crlf_normalise(c->data.data, c->data.len, &fixed);
		str_free(&c->data);
		c->data = fixed;
		deliver(c);
	}
	reset_transaction(c);
}

static void bdat_take(struct lmtp_client *c, struct evbuffer *in)
{
	size_t take = evbuffer_get_length(in);
	if (take > c->bdat_remaining)
		take = c->bdat_remaining;
	if (c->bdat_refusal == NULL && !c->data_too_big &&
	    c->data.len + take <= (size_t)config_int(server.cfg, "maxmessagesize")) {
		str_append_n(&c->data, evbuffer_pullup(in, (ssize_t)take), take);
	} else if (c->bdat_refusal == NULL && !c->data_too_big) {
		c->data_too_big = true;
		str_free(&c->data);
	}
	evbuffer_drain(in, take);
	c->bdat_remaining -= take;
	if (c->bdat_remaining == 0)
		bdat_chunk_done(c);
}

static void handle_bdat(struct lmtp_client *c, const char *arg)
{
	size_t n;
	bool last;
	if (lmtp_parse_bdat(arg, &n, &last) < 0) {
		/* The chunk's length is unknown: the stream cannot be followed. */
		reply(c, "501 5.5.4 Syntax: BDAT size [LAST]");
		close_after_output(c);
		return;
	}
	c->bdat_remaining = n;
	c->bdat_last = last;
	c->bdat_refusal = NULL;
	if (!c->have_from)
		c->bdat_refusal = "503 5.5.1 Send MAIL first";
	else if (c->nrcpts == 0)
		c->bdat_refusal = "503 5.5.1 No valid recipients";
	else
		c->bdat_used = true;
	if (n == 0)
		bdat_chunk_done(c);
}

static void on_read(struct bufferevent *bev, void *arg);
static void on_write(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);

/* RFC 3207: the session starts over (LHLO again), and whatever the client
 * pipelined after STARTTLS in plaintext is thrown away unread. */
static int start_tls(struct lmtp_client *c)
{
	SSL *ssl = SSL_new(server.ssl_ctx);
	if (ssl == NULL)
		return -1;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	evbuffer_drain(in, evbuffer_get_length(in));
	struct bufferevent *tls = tls_filter_new(worker->base, c->bev, ssl);
	if (tls == NULL)
		return -1;
	c->bev = tls;
	c->tls = true;
	c->lhlo = false;
	reset_transaction(c);
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	return 0;
}

static void handle_command(struct lmtp_client *c, char *line)
{
	char *arg = lmtp_command_split(line);
	if (strcasecmp(line, "LHLO") == 0) {
		if (*arg == '\0') {
			reply(c, "501 5.5.4 LHLO needs a host name");
			return;
		}
		reset_transaction(c);
		c->lhlo = true;
		reply(c, "250-%s", "agora");
		reply(c, "250-PIPELINING");
		reply(c, "250-ENHANCEDSTATUSCODES");
		reply(c, "250-8BITMIME");
		reply(c, "250-CHUNKING");
		if (server.ssl_ctx != NULL && !c->tls)
			reply(c, "250-STARTTLS");
		reply(c, "250 SIZE %lld", config_int(server.cfg, "maxmessagesize"));
	} else if (strcasecmp(line, "MAIL") == 0) {
		const char *params;
		char *from;
		if (!c->lhlo)
			reply(c, "503 5.5.1 Send LHLO first");
		else if (c->have_from)
			reply(c, "503 5.5.1 Nested MAIL command");
		else if (strncasecmp(arg, "FROM:", 5) != 0 || (from = lmtp_parse_path(arg + 5, &params)) == NULL)
			reply(c, "501 5.5.4 Syntax: MAIL FROM:<address>");
		else {
			/* SIZE=n lets the MTA learn of a refusal before sending. */
			struct lmtp_mail_params mp;
			lmtp_parse_mail_params(params, &mp);
			if (mp.size > config_int(server.cfg, "maxmessagesize")) {
				reply(c, "552 5.3.4 Message too big");
				free(from);
				return;
			}
			c->from = from;
			c->have_from = true;
			reply(c, "250 2.1.0 OK");
		}
	} else if (strcasecmp(line, "RCPT") == 0) {
		const char *params;
		char *to;
		if (!c->have_from) {
			reply(c, "503 5.5.1 Send MAIL first");
			return;
		}
		if (strncasecmp(arg, "TO:", 3) != 0 || (to = lmtp_parse_path(arg + 3, &params)) == NULL) {
			reply(c, "501 5.5.4 Syntax: RCPT TO:<address>");
			return;
		}
		if (c->nrcpts >= LMTP_MAX_RECIPIENTS) {
			reply(c, "452 4.5.3 Too many recipients");
			free(to);
			return;
		}
		str_t mbox = STR_INIT, user = STR_INIT;
		switch (recipient_resolve(worker->store, server.cfg, to, &mbox, &user)) {
		case RCPT_OK:
			c->rcpts = xrealloc(c->rcpts, (c->nrcpts + 1) * sizeof(*c->rcpts));
			c->rcpts[c->nrcpts].address = to;
			c->rcpts[c->nrcpts].mailbox = str_steal(&mbox);
			c->rcpts[c->nrcpts].user = user.len > 0 ? str_steal(&user) : NULL;
			c->nrcpts++;
			to = NULL;
			reply(c, "250 2.1.5 OK");
			break;
		case RCPT_UNKNOWN:
			reply(c, "550 5.1.1 User unknown");
			break;
		case RCPT_DENIED:
			reply(c, "550 5.7.1 Permission denied");
			break;
		case RCPT_BAD_ADDRESS:
			reply(c, "501 5.1.3 Bad recipient address syntax");
			break;
		case RCPT_TEMPFAIL:
			reply(c, "451 4.3.0 Temporary failure");
			break;
		}
		free(to);
		str_free(&mbox);
		str_free(&user);
	} else if (strcasecmp(line, "DATA") == 0) {
		if (c->bdat_used)
			reply(c, "503 5.5.1 DATA after BDAT");
		else if (!c->have_from)
			reply(c, "503 5.5.1 Send MAIL first");
		else if (c->nrcpts == 0)
			reply(c, "503 5.5.1 No valid recipients");
		else {
			c->in_data = true;
			c->max_size = (size_t)config_int(server.cfg, "maxmessagesize");
			reply(c, "354 Go ahead; end with <CRLF>.<CRLF>");
		}
	} else if (strcasecmp(line, "STARTTLS") == 0) {
		if (*arg != '\0')
			reply(c, "501 5.5.4 STARTTLS takes no parameters");
		else if (server.ssl_ctx == NULL)
			reply(c, "502 5.5.1 TLS is not configured");
		else if (c->tls)
			reply(c, "503 5.5.1 TLS is already active");
		else {
			reply(c, "220 2.0.0 Ready to start TLS");
			if (start_tls(c) < 0) {
				reply(c, "454 4.7.0 TLS not available");
				close_after_output(c);
			}
		}
	} else if (strcasecmp(line, "BDAT") == 0) {
		handle_bdat(c, arg);
	} else if (strcasecmp(line, "RSET") == 0) {
		reset_transaction(c);
		reply(c, "250 2.0.0 OK");
	} else if (strcasecmp(line, "NOOP") == 0) {
		reply(c, "250 2.0.0 OK");
	} else if (strcasecmp(line, "QUIT") == 0) {
		reply(c, "221 2.0.0 Bye");
		close_after_output(c);
	} else if (strcasecmp(line, "VRFY") == 0) {
		reply(c, "252 2.5.2 Cannot verify");
	} else {
		reply(c, "500 5.5.2 Unknown command");
	}
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct lmtp_client *c = arg;
	struct timeval tv = { LMTP_TIMEOUT_SEC, 0 };
	event_add(c->timeout_ev, &tv);
	while (!c->closing && c->bev == bev && c->delivering == NULL) {
		struct evbuffer *in = bufferevent_get_input(bev);
		size_t len;
		if (evbuffer_get_length(bufferevent_get_output(bev)) > LMTP_OUTPUT_HIGH_WATER) {
			/* on_write reads on once the replies have left */
			c->reading_paused = true;
			bufferevent_disable(bev, EV_READ);
			return;
		}
		if (c->bdat_remaining > 0) {
			if (evbuffer_get_length(in) == 0)
				return;
			bdat_take(c, in);
			continue;
		}
		char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
		if (line == NULL) {
			if (evbuffer_get_length(in) > (c->in_data ? 1000000u : LMTP_MAX_LINE)) {
				reply(c, "500 5.5.2 Line too long");
				close_after_output(c);
			}
			return;
		}
		if (c->in_data) {
			/* readln strips the LF (and not the CR): put back CRLF. */
			if (len > 0 && line[len - 1] == '\r')
				len--;
			line[len] = '\0';
			str_t l = STR_INIT;
			str_append_n(&l, line, len);
			str_append(&l, "\r\n");
			handle_data_line(c, l.data, l.len);
			str_free(&l);
		} else {
			if (len > 0 && line[len - 1] == '\r')
				line[--len] = '\0';
			if (len > LMTP_MAX_LINE)
				reply(c, "500 5.5.2 Line too long");
			else
				handle_command(c, line);
		}
		free(line);
	}
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct lmtp_client *c = arg;
	if (c->closing) {
		free_when_sent(c);
		return;
	}
	if (c->reading_paused) {
		c->reading_paused = false;
		if (c->delivering == NULL) {
			bufferevent_enable(bev, EV_READ);
			on_read(bev, c);
		}
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct lmtp_client *c = arg;
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		/* A transaction cut short stores nothing. A failed TLS
		 * handshake leaves its alert in the socket's output: let it
		 * leave (free_when_sent), so the client learns why. */
		c->closing = true;
		bufferevent_disable(c->bev, EV_READ);
		free_when_sent(c);
	}
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct lmtp_client *c = arg;
	(void)fd; (void)what;
	if (c->closing) {
		client_free(c); /* the last bytes left, or took too long */
		return;
	}
	reply(c, "421 4.4.2 Timeout");
	close_after_output(c);
}

void lmtp_client_create(int fd)
{
	struct lmtp_client *c = xcalloc(1, sizeof(*c));
	c->bev = bufferevent_socket_new(worker->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		close(fd);
		free(c);
		return;
	}
	c->timeout_ev = evtimer_new(worker->base, on_timeout, c);
	c->next = clients;
	if (clients != NULL)
		clients->prev = c;
	clients = c;
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	struct timeval tv = { LMTP_TIMEOUT_SEC, 0 };
	event_add(c->timeout_ev, &tv);
	reply(c, "220 agora LMTP ready");
}

void lmtp_clients_shutdown(void)
{
	struct lmtp_client *next;
	for (struct lmtp_client *c = clients; c != NULL; c = next) {
		next = c->next;
		reply(c, "421 4.3.2 Server shutting down");
		close_after_output(c);
	}
}
