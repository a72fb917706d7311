#include "lib-imapc/imapc.h"
#include "lib-imap/imap-quote.h"
#include "lib/pool.h"
#include "lib/xalloc.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* The longest answer line and literal accepted from a server: generous,
 * but a broken server cannot make the tool allocate without bound. */
#define IMAPC_MAX_LINE (1024 * 1024)
#define IMAPC_MAX_LITERAL (64 * 1024 * 1024)

struct imapc {
	int fd;
	unsigned tag_seq;
	struct imap_framer framer;
	char rbuf[16384];
	size_t rpos, rlen;
	str_t caps;        /* " CAP1 CAP2 ... " uppercased, for word search */
	str_t text;        /* last tagged answer's text */
	struct pool *pool;
};

/* conn->text = a followed by b. */
static void set_text(struct imapc *conn, const char *a, const char *b)
{
	str_clear(&conn->text);
	str_append(&conn->text, a);
	str_append(&conn->text, b);
}

struct imapc *imapc_connect(const char *host, const char *port, str_t *err)
{
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	int gai = getaddrinfo(host, port, &hints, &res);
	if (gai != 0) {
		str_printf(err, "%s: %s", host, gai_strerror(gai));
		return NULL;
	}
	int fd = -1, saved = 0;
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		str_printf(err, "cannot connect to %s port %s: %s", host, port, strerror(saved));
		return NULL;
	}
	struct imapc *conn = xcalloc(1, sizeof(*conn));
	conn->fd = fd;
	imap_framer_init(&conn->framer, IMAPC_MAX_LINE);
	conn->pool = pool_new(8192);
	/* The greeting: "* OK", maybe with [CAPABILITY ...]; "* BYE" refuses. */
	enum imapc_result r = imapc_command(conn, NULL, NULL, NULL);
	if (r != IMAPC_OK) {
		str_printf(err, "%s port %s: %s", host, port,
			   r == IMAPC_DISCONNECTED ? str_c(&conn->text) : "server refused the connection");
		imapc_close(&conn);
		return NULL;
	}
	return conn;
}

void imapc_close(struct imapc **connp)
{
	struct imapc *conn = *connp;
	if (conn == NULL)
		return;
	*connp = NULL;
	close(conn->fd);
	imap_framer_deinit(&conn->framer);
	str_free(&conn->caps);
	str_free(&conn->text);
	pool_free(&conn->pool);
	free(conn);
}

const char *imapc_last_text(const struct imapc *conn)
{
	return str_c(&conn->text);
}

bool imapc_has_capability(const struct imapc *conn, const char *cap)
{
	str_t word = STR_INIT;
	str_append_c(&word, ' ');
	for (const char *p = cap; *p != '\0'; p++)
		str_append_c(&word, (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p));
	str_append_c(&word, ' ');
	bool found = strstr(str_c(&conn->caps), str_c(&word)) != NULL;
	str_free(&word);
	return found;
}

/* Remembers the capability list from "CAP1 CAP2 ..." up to `end`. */
static void store_caps(struct imapc *conn, const char *p, const char *end)
{
	str_clear(&conn->caps);
	str_append_c(&conn->caps, ' ');
	for (; p < end; p++)
		str_append_c(&conn->caps, (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p));
	str_append_c(&conn->caps, ' ');
}

static void note_caps(struct imapc *conn, const char *line, size_t len)
{
	const char *end = line + len;
	if (len >= 13 && strncasecmp(line, "* CAPABILITY ", 13) == 0) {
		store_caps(conn, line + 13, end);
		return;
	}
	const char *code = memchr(line, '[', len);
	if (code != NULL && (size_t)(end - code) > 12 && strncasecmp(code, "[CAPABILITY ", 12) == 0) {
		const char *close = memchr(code, ']', (size_t)(end - code));
		if (close != NULL)
			store_caps(conn, code + 12, close);
	}
}

static int write_all(struct imapc *conn, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(conn->fd, data, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			set_text(conn, "connection lost: ", strerror(errno));
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads one complete response (line and literals) into conn->framer.buf,
 * without the final CRLF. -1 when the connection is gone or the server
 * broke a limit. */
static int read_response(struct imapc *conn, str_t *out)
{
	str_clear(out);
	for (;;) {
		if (conn->rpos == conn->rlen) {
			ssize_t n = recv(conn->fd, conn->rbuf, sizeof(conn->rbuf), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				set_text(conn, "", n == 0 ? "connection closed by server" : strerror(errno));
				return -1;
			}
			conn->rpos = 0;
			conn->rlen = (size_t)n;
		}
		size_t used;
		enum imap_frame_result fr = imap_framer_feed(&conn->framer, conn->rbuf + conn->rpos,
							     conn->rlen - conn->rpos, &used);
		conn->rpos += used;
		switch (fr) {
		case IMAP_FRAME_MORE:
			break;
		case IMAP_FRAME_LITERAL:
			if (conn->framer.lit_size > IMAPC_MAX_LITERAL) {
				set_text(conn, "", "server sent a literal over the limit");
				return -1;
			}
			imap_framer_literal_accept(&conn->framer);
			break;
		case IMAP_FRAME_LINE_TOO_LONG:
			set_text(conn, "", "server sent a line over the limit");
			return -1;
		case IMAP_FRAME_COMMAND:
			str_append_n(out, conn->framer.buf.data, conn->framer.buf.len);
			imap_framer_reset(&conn->framer);
			while (out->len > 0 && (out->data[out->len - 1] == '\n' || out->data[out->len - 1] == '\r'))
				str_truncate(out, out->len - 1);
			return 0;
		}
	}
}

/* Handles an untagged response: capabilities, then the caller's callback
 * with the parsed arguments (responses that do not parse as arguments,
 * such as free text with a stray quote, are only seen by note_caps). */
static void untagged(struct imapc *conn, str_t *resp, imapc_untagged_cb *cb, void *ctx)
{
	note_caps(conn, resp->data, resp->len);
	if (cb == NULL)
		return;
	/* The parser wants the CRLF that ends a command, and a tag it
	 * accepts in place of "*". */
	if (resp->len < 2 || resp->data[0] != '*' || resp->data[1] != ' ')
		return;
	resp->data[0] = 'U';
	str_append(resp, "\r\n");
	struct imap_command parsed;
	const char *error;
	pool_clear(conn->pool);
	if (imap_parse_command(resp->data, resp->len, conn->pool, &parsed, &error) == 0)
		cb(&parsed, ctx);
}

static enum imapc_result status_of(const char *word, size_t len)
{
	if (len == 2 && strncasecmp(word, "OK", 2) == 0)
		return IMAPC_OK;
	if (len == 2 && strncasecmp(word, "NO", 2) == 0)
		return IMAPC_NO;
	if (len == 3 && strncasecmp(word, "BAD", 3) == 0)
		return IMAPC_BAD;
	return IMAPC_DISCONNECTED;
}

/* Splits "TAG STATUS text" (or "* STATUS text"): the status and, in
 * conn->text, the text. */
static enum imapc_result tagged_status(struct imapc *conn, const char *line)
{
	const char *sp = strchr(line, ' ');
	if (sp == NULL)
		return IMAPC_DISCONNECTED;
	const char *word = sp + 1;
	size_t wlen = strcspn(word, " ");
	const char *text = word + wlen;
	if (*text == ' ')
		text++;
	str_clear(&conn->text);
	str_append(&conn->text, text);
	return status_of(word, wlen);
}

enum imapc_result imapc_command(struct imapc *conn, imapc_untagged_cb *cb, void *ctx,
				const char *command)
{
	char tag[16];
	str_t resp = STR_INIT;
	enum imapc_result result = IMAPC_DISCONNECTED;

	if (command == NULL) {
		/* The greeting. */
		if (read_response(conn, &resp) < 0)
			goto out;
		note_caps(conn, resp.data, resp.len);
		if (strncasecmp(str_c(&resp), "* OK", 4) == 0 || strncasecmp(str_c(&resp), "* PREAUTH", 9) == 0)
			result = IMAPC_OK;
		else
			result = tagged_status(conn, str_c(&resp)) == IMAPC_DISCONNECTED ? IMAPC_DISCONNECTED : IMAPC_NO;
		goto out;
	}
	snprintf(tag, sizeof(tag), "A%04u", ++conn->tag_seq);
	size_t taglen = strlen(tag);

	/* Every CRLF inside the command ends a line that waits for the
	 * server's "+": a synchronizing literal "{N}" (imap-quote never puts
	 * CR or LF in a quoted string), whose N bytes follow, or a SASL step. */
	str_t line = STR_INIT;
	str_printf(&line, "%s %s\r\n", tag, command);
	const char *p = line.data, *end = line.data + line.len;
	while (p < end) {
		const char *crlf = strstr(p, "\r\n");
		size_t n = (size_t)(crlf + 2 - p);
		if (write_all(conn, p, n) < 0) {
			str_free(&line);
			goto out;
		}
		p += n;
		if (p == end)
			break;
		size_t lit = 0;
		const char *q = crlf;
		if (q > line.data && q[-1] == '}') {
			const char *open = q - 1;
			while (open > line.data && open[-1] >= '0' && open[-1] <= '9')
				open--;
			if (open > line.data && open[-1] == '{')
				lit = strtoul(open, NULL, 10);
		}
		for (;;) {
			if (read_response(conn, &resp) < 0) {
				str_free(&line);
				goto out;
			}
			if (resp.len > 0 && resp.data[0] == '+')
				break;
			if (resp.len > taglen && strncmp(resp.data, tag, taglen) == 0 && resp.data[taglen] == ' ') {
				result = tagged_status(conn, str_c(&resp));
				str_free(&line);
				goto out;
			}
			untagged(conn, &resp, cb, ctx);
		}
		if (lit > (size_t)(end - p))
			lit = (size_t)(end - p);
		if (write_all(conn, p, lit) < 0) {
			str_free(&line);
			goto out;
		}
		p += lit;
	}
	str_free(&line);
	for (;;) {
		if (read_response(conn, &resp) < 0)
			goto out;
		if (resp.len > taglen && strncmp(resp.data, tag, taglen) == 0 && resp.data[taglen] == ' ') {
			result = tagged_status(conn, str_c(&resp));
			note_caps(conn, resp.data, resp.len);
			goto out;
		}
		if (resp.len > 0 && resp.data[0] == '*') {
			if (strncasecmp(str_c(&resp), "* BYE", 5) == 0)
				set_text(conn, "", str_c(&resp) + (resp.len > 6 ? 6 : 5));
			untagged(conn, &resp, cb, ctx);
		}
		/* A "+" we did not ask for is ignored. */
	}
out:
	if (result == IMAPC_DISCONNECTED && conn->text.len == 0)
		set_text(conn, "", "protocol error");
	str_free(&resp);
	return result;
}

enum imapc_result imapc_refresh_capabilities(struct imapc *conn)
{
	return imapc_command(conn, NULL, NULL, "CAPABILITY");
}

void imapc_base64(str_t *out, const void *data, size_t len)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *d = data;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)d[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)d[i + 1] << 8;
		if (i + 2 < len)
			v |= d[i + 2];
		str_append_c(out, tbl[(v >> 18) & 63]);
		str_append_c(out, tbl[(v >> 12) & 63]);
		str_append_c(out, i + 1 < len ? tbl[(v >> 6) & 63] : '=');
		str_append_c(out, i + 2 < len ? tbl[v & 63] : '=');
	}
}

enum imapc_result imapc_login(struct imapc *conn, const char *mech, const char *user,
			      const char *password)
{
	str_t cmd = STR_INIT;
	enum imapc_result r;
	if (strcasecmp(mech, "LOGIN") == 0) {
		str_append(&cmd, "LOGIN ");
		imap_append_astring(&cmd, user, strlen(user));
		str_append_c(&cmd, ' ');
		imap_append_astring(&cmd, password, strlen(password));
		r = imapc_command(conn, NULL, NULL, str_c(&cmd));
	} else if (strcasecmp(mech, "PLAIN") == 0) {
		/* authzid NUL authcid NUL password */
		str_t raw = STR_INIT;
		str_append_c(&raw, '\0');
		str_append(&raw, user);
		str_append_c(&raw, '\0');
		str_append(&raw, password);
		str_append(&cmd, "AUTHENTICATE PLAIN");
		if (imapc_has_capability(conn, "SASL-IR")) {
			str_append_c(&cmd, ' ');
			imapc_base64(&cmd, raw.data, raw.len);
		} else {
			/* No initial response: the response goes on its own
			 * line after the server's "+" (see imapc_command). */
			str_append(&cmd, "\r\n");
			imapc_base64(&cmd, raw.data, raw.len);
		}
		memset(raw.data, 0, raw.len);
		str_free(&raw);
		r = imapc_command(conn, NULL, NULL, str_c(&cmd));
	} else {
		set_text(conn, "unknown authentication mechanism (PLAIN or LOGIN): ", mech);
		return IMAPC_BAD;
	}
	if (cmd.data != NULL)
		memset(cmd.data, 0, cmd.len);
	str_free(&cmd);
	return r;
}
