/* The worker's side of the auth socket: requests go out without waiting,
 * replies come back through the worker's event loop, so a slow password
 * check never holds up the other sessions of the worker. */
#include "agorad/auth-proc.h"
#include "agorad/auth-proto.h"
#include "agorad/worker.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xalloc.h"

#include <errno.h>
#include <stdbool.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct pending {
	struct pending *prev, *next;
	unsigned id;
	auth_reply_cb *cb;
	void *ctx;
	struct event *timer;
};

static char *sock_path;
static int sock_fd = -1;
static struct event *sock_ev;
static struct pending *pendings;
static unsigned next_id = 1;
static void (*connect_hook)(void);
static struct event *reconnect_ev;
static bool in_hook;

static int connect_auth(void);

static void on_reconnect(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	if (connect_auth() < 0) {
		struct timeval tv = { 0, 500000 };
		event_add(reconnect_ev, &tv);
	}
}

static void pending_unlink(struct pending *p)
{
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		pendings = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	event_free(p->timer);
}

static struct pending *pending_find(unsigned id)
{
	for (struct pending *p = pendings; p != NULL; p = p->next) {
		if (p->id == id)
			return p;
	}
	return NULL;
}

static void finish(struct pending *p, const char *const *fields, size_t n)
{
	pending_unlink(p);
	auth_reply_cb *cb = p->cb;
	void *ctx = p->ctx;
	free(p);
	if (cb != NULL)
		cb(ctx, fields, n);
}

static void disconnect(void)
{
	if (sock_fd < 0)
		return;
	event_free(sock_ev);
	sock_ev = NULL;
	close(sock_fd);
	sock_fd = -1;
	/* Whatever was asked of the process that went away stays unanswered. */
	struct timeval now = { 0, 0 };
	for (struct pending *p = pendings; p != NULL; p = p->next)
		event_add(p->timer, &now);
	/* The master restarts the auth process: the sessions of this worker
	 * are told to the new one without waiting for a login to need it. */
	if (reconnect_ev != NULL) {
		struct timeval tv = { 0, 200000 };
		event_add(reconnect_ev, &tv);
	}
}

static void on_reply(evutil_socket_t fd, short what, void *arg)
{
	(void)what; (void)arg;
	char *buf = xmalloc(AUTH_MSG_MAX);
	for (;;) {
		ssize_t r = recv(fd, buf, AUTH_MSG_MAX, MSG_DONTWAIT | MSG_TRUNC);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (r <= 0 || r > AUTH_MSG_MAX || buf[r - 1] != '\0') {
			if (r != 0)
				log_warn("auth socket: %s", r < 0 ? strerror(errno) : "bad reply");
			else
				log_warn("auth process went away");
			disconnect();
			break;
		}
		const char *f[AUTH_MAX_FIELDS];
		size_t n = 0, start = 0;
		for (size_t i = 0; i < (size_t)r && n < AUTH_MAX_FIELDS; i++) {
			if (buf[i] == '\0') {
				f[n++] = buf + start;
				start = i + 1;
			}
		}
		struct pending *p = n >= 2 ? pending_find((unsigned)strtoul(f[0], NULL, 10)) : NULL;
		if (p != NULL)
			finish(p, f + 1, n - 1);
		explicit_bzero(buf, (size_t)r);
		if (sock_fd != fd)
			break;   /* a callback's request found the socket gone */
	}
	free(buf);
}

static int connect_auth(void)
{
	if (sock_fd >= 0)
		return 0;
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		log_warn("auth socket %s: %s", sock_path, strerror(errno));
		close(fd);
		return -1;
	}
	sock_fd = fd;
	sock_ev = event_new(worker->base, fd, EV_READ | EV_PERSIST, on_reply, NULL);
	event_add(sock_ev, NULL);
	if (reconnect_ev != NULL)
		event_del(reconnect_ev);
	if (connect_hook != NULL && !in_hook) {
		in_hook = true;
		connect_hook();
		in_hook = false;
	}
	return sock_fd >= 0 ? 0 : -1;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = arg;
	(void)fd; (void)what;
	finish(p, NULL, 0);
}

unsigned auth_request(const char *const *fields, size_t n, auth_reply_cb *cb, void *ctx)
{
	struct pending *p = xcalloc(1, sizeof(*p));
	p->id = next_id++;
	if (next_id == 0)
		next_id = 1;
	p->cb = cb;
	p->ctx = ctx;
	p->timer = evtimer_new(worker->base, on_timer, p);
	p->next = pendings;
	if (pendings != NULL)
		pendings->prev = p;
	pendings = p;

	str_t msg = STR_INIT;
	str_printf(&msg, "%u", p->id);
	str_append_n(&msg, "", 1);
	for (size_t i = 0; i < n; i++)
		str_append_n(&msg, fields[i], strlen(fields[i]) + 1);
	bool sent = false;
	for (int attempt = 0; attempt < 2 && !sent && msg.len <= AUTH_MSG_MAX; attempt++) {
		if (connect_auth() < 0)
			break;
		if (send(sock_fd, msg.data, msg.len, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)msg.len)
			sent = true;
		else if (errno == EAGAIN)
			break;
		else
			disconnect();   /* a stale connection: try a new one */
	}
	explicit_bzero(msg.data, msg.len);
	str_free(&msg);
	struct timeval tv = { sent ? AUTH_REQUEST_TIMEOUT_SEC : 0, 0 };
	event_add(p->timer, &tv);
	return p->id;
}

void auth_request_cancel(unsigned handle)
{
	struct pending *p = pending_find(handle);
	if (p != NULL) {
		pending_unlink(p);
		free(p);
	}
}

void auth_client_init(const char *socket_path, void (*on_connect)(void))
{
	sock_path = xstrdup(socket_path);
	connect_hook = on_connect;
	reconnect_ev = evtimer_new(worker->base, on_reconnect, NULL);
}
