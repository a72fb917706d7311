/* STARTTLS, LOGIN, AUTHENTICATE PLAIN (with SASL-IR). */
#include "agorad/imap/imap-commands.h"
#include "agorad/imap/imap-client.h"
#include "agorad/server.h"
#include "agorad/worker.h"
#include "lib/bounds.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "lib-auth/password.h"
#include "lib-storage/store.h"

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

int imap_client_start_tls(struct imap_client *c);
void imap_client_process_input(struct imap_client *c);

int cmd_starttls(struct imap_client *c, const struct imap_command *cmd,
		 const struct imap_arg *args, size_t nargs, bool uid)
{
	if (nargs != 0)
		return -1;
	if (server.ssl_ctx == NULL) {
		client_tagged(c, cmd->tag, "NO", "TLS is not configured");
		return 0;
	}
	if (c->tls) {
		client_tagged(c, cmd->tag, "BAD", "TLS is already active");
		return 1;
	}
	client_tagged(c, cmd->tag, "OK", "Begin TLS negotiation now");
	if (imap_client_start_tls(c) < 0)
		client_close(c, "TLS negotiation failed");
	return 0;
}

static bool plaintext_allowed(struct imap_client *c)
{
	return c->tls || server.plaintext_ok_without_tls;
}

static void finish_delay(evutil_socket_t fd, short what, void *arg)
{
	struct imap_client *c = arg;
	(void)fd; (void)what;
	client_tagged(c, c->wait_tag, "NO", "[AUTHENTICATIONFAILED] Authentication failed");
	free(c->wait_tag);
	c->wait_tag = NULL;
	c->wait = WAIT_NONE;
	bufferevent_enable(c->bev, EV_READ);
	imap_client_process_input(c);
}

/* A failed login is answered only after `failedloginpause`, and the
 * connection reads nothing meanwhile, so guessing is slow. */
static void login_failed(struct imap_client *c, const char *tag, const char *user)
{
	log_info("login failed user=%s addr=%s", user != NULL ? user : "?", c->addr);
	long long pause = config_seconds(server.cfg, "failedloginpause");
	if (++c->bad_commands >= (unsigned)config_int(server.cfg, "imap_max_bad_commands")) {
		client_tagged(c, tag, "NO", "[AUTHENTICATIONFAILED] Authentication failed");
		client_close(c, "Too many failed logins");
		return;
	}
	if (pause <= 0) {
		client_tagged(c, tag, "NO", "[AUTHENTICATIONFAILED] Authentication failed");
		return;
	}
	free(c->wait_tag);
	c->wait_tag = xstrdup(tag);
	c->wait = WAIT_DELAY;
	bufferevent_disable(c->bev, EV_READ);
	if (c->delay_ev == NULL)
		c->delay_ev = evtimer_new(worker->base, finish_delay, c);
	struct timeval tv = { (time_t)pause, 0 };
	event_add(c->delay_ev, &tv);
}

/* Returns 1 when user/password are right. */
static int check_password(const char *user, const char *password)
{
	struct store *st = worker->store;
	str_t hash = STR_INIT;
	int r = st->be->user_get(st, user, &hash);
	int ok = 0;
	if (r == 1)
		ok = password_verify(password, str_c(&hash)) == 1;
	else
		/* Spend the same time for an unknown user. */
		(void)password_verify(password, "$y$j9T$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	str_free(&hash);
	return ok;
}

static void do_login(struct imap_client *c, const char *tag, const char *user, const char *password)
{
	if (strlen(user) == 0 || strlen(user) > USER_NAME_MAX || check_password(user, password) != 1) {
		login_failed(c, tag, user);
		return;
	}
	if (client_login_done(c, user) < 0) {
		client_tagged(c, tag, "NO", "[LIMIT] Too many sessions for this user");
		return;
	}
	c->bad_commands = 0;
	str_t caps = STR_INIT;
	client_capability(c, &caps);
	client_tagged(c, tag, "OK", "[CAPABILITY %s] Logged in", str_c(&caps));
	str_free(&caps);
}

int cmd_login(struct imap_client *c, const struct imap_command *cmd,
	      const struct imap_arg *args, size_t nargs, bool uid)
{
	if (nargs != 2)
		return -1;
	const char *user = arg_string(&args[0]), *pass = arg_string(&args[1]);
	if (user == NULL || pass == NULL)
		return -1;
	if (!plaintext_allowed(c)) {
		client_tagged(c, cmd->tag, "NO", "[PRIVACYREQUIRED] Use STARTTLS first");
		return 0;
	}
	if (anonymous_login(c, cmd->tag, user, pass))
		return 0;
	free(c->auth_mech);
	c->auth_mech = xstrdup("LOGIN");
	do_login(c, cmd->tag, user, pass);
	return 0;
}

/* PLAIN (RFC 4616): [authzid] NUL authcid NUL passwd. */
static void auth_plain(struct imap_client *c, const char *tag, const char *b64)
{
	size_t len = strlen(b64);
	if (strcmp(b64, "=") == 0)
		len = 0;
	unsigned char *buf = xmalloc(len + 4);
	int n = 0;
	if (len > 0) {
		if (len % 4 != 0) {
			free(buf);
			client_tagged(c, tag, "BAD", "Invalid base64 data");
			return;
		}
		n = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)len);
		if (n < 0) {
			free(buf);
			client_tagged(c, tag, "BAD", "Invalid base64 data");
			return;
		}
		if (len >= 1 && b64[len - 1] == '=')
			n--;
		if (len >= 2 && b64[len - 2] == '=')
			n--;
	}
	const char *authz = (const char *)buf;
	const char *nul1 = memchr(buf, '\0', (size_t)n);
	const char *nul2 = nul1 != NULL ? memchr(nul1 + 1, '\0', (size_t)n - (size_t)(nul1 + 1 - (char *)buf)) : NULL;
	if (nul1 == NULL || nul2 == NULL) {
		free(buf);
		client_tagged(c, tag, "BAD", "Malformed PLAIN data");
		return;
	}
	char *user = xstrndup(nul1 + 1, (size_t)(nul2 - nul1 - 1));
	char *pass = xstrndup(nul2 + 1, (size_t)((char *)buf + n - nul2 - 1));
	if (nul1 != authz && strcmp(authz, user) != 0) {
		/* Logging in as someone else is for master users (not here yet). */
		login_failed(c, tag, user);
	} else {
		do_login(c, tag, user, pass);
	}
	explicit_bzero(buf, len + 4);
	explicit_bzero(pass, strlen(pass));
	free(buf);
	free(user);
	free(pass);
}

int cmd_authenticate(struct imap_client *c, const struct imap_command *cmd,
		     const struct imap_arg *args, size_t nargs, bool uid)
{
	if (nargs < 1 || nargs > 2 || args[0].type != IMAP_ARG_ATOM)
		return -1;
	if (imap_arg_is_atom(&args[0], "ANONYMOUS"))
		return cmd_authenticate_anonymous(c, cmd, args, nargs);
	if (!imap_arg_is_atom(&args[0], "PLAIN")) {
		client_tagged(c, cmd->tag, "NO", "Unsupported authentication mechanism");
		return 0;
	}
	if (!plaintext_allowed(c)) {
		client_tagged(c, cmd->tag, "NO", "[PRIVACYREQUIRED] Use STARTTLS first");
		return 0;
	}
	free(c->auth_mech);
	c->auth_mech = xstrdup("PLAIN");
	if (nargs == 2) {
		const char *ir = arg_string(&args[1]);
		if (ir == NULL)
			return -1;
		auth_plain(c, cmd->tag, ir);
		return 0;
	}
	free(c->wait_tag);
	c->wait_tag = xstrdup(cmd->tag);
	c->wait = WAIT_AUTH_DATA;
	client_send(c, "+ ");
	return 0;
}

void cmd_authenticate_continue(struct imap_client *c, const char *line)
{
	char *tag = c->wait_tag;
	c->wait_tag = NULL;
	c->wait = WAIT_NONE;
	if (c->auth_mech != NULL && strcmp(c->auth_mech, "ANONYMOUS") == 0)
		anonymous_continue(c, tag, line);
	else if (strcmp(line, "*") == 0)
		client_tagged(c, tag, "BAD", "Authentication cancelled");
	else
		auth_plain(c, tag, line);
	free(tag);
}
