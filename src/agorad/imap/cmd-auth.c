/* STARTTLS, LOGIN, AUTHENTICATE PLAIN and LOGIN (with SASL-IR). The
 * credentials go to the auth process (auth-client.c); the session waits
 * for its answer without holding up the worker. */
#include "agorad/imap/imap-commands.h"
#include "agorad/imap/imap-client.h"
#include "agorad/server.h"
#include "agorad/auth-proc.h"
#include "agorad/worker.h"
#include "lib/bounds.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "lib-auth/password.h"

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

static void resume_input(struct imap_client *c)
{
	if (c->wait == WAIT_NONE && !c->closing) {
		bufferevent_enable(c->bev, EV_READ);
		imap_client_process_input(c);
	}
}

static void finish_delay(evutil_socket_t fd, short what, void *arg)
{
	struct imap_client *c = arg;
	(void)fd; (void)what;
	client_tagged(c, c->wait_tag, "NO", "[AUTHENTICATIONFAILED] Authentication failed");
	free(c->wait_tag);
	c->wait_tag = NULL;
	c->wait = WAIT_NONE;
	resume_input(c);
}

/* A failed login is answered only after `failedloginpause`, and the
 * connection reads nothing meanwhile, so guessing is slow. */
static void login_failed(struct imap_client *c, const char *tag, const char *user)
{
	log_info("login failed user=%s addr=%s mech=%s", user != NULL ? user : "?", c->addr,
		 c->auth_mech != NULL ? c->auth_mech : "?");
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

/* The credentials were right: `user` is who the session is, `authuser`
 * who proved it (different for a master user or proxy). */
static void login_succeeded(struct imap_client *c, const char *tag, const char *user, const char *authuser)
{
	if (strcmp(user, authuser) != 0)
		log_info("proxy login user=%s authuser=%s addr=%s", user, authuser, c->addr);
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

static void on_pass_reply(void *ctx, const char *const *f, size_t n)
{
	struct imap_client *c = ctx;
	char *tag = c->wait_tag;
	c->wait_tag = NULL;
	c->wait = WAIT_NONE;
	c->auth_handle = 0;
	if (n == 0 || strcmp(f[0], "ERR") == 0) {
		log_error("login user=%s addr=%s: the auth process is unavailable", c->login_user, c->addr);
		client_tagged(c, tag, "NO", "[UNAVAILABLE] Authentication is not available now; try again later");
	} else if (strcmp(f[0], "OK") == 0 && n == 3) {
		login_succeeded(c, tag, f[1], f[2]);
	} else if (strcmp(f[0], "NOAUTHZ") == 0) {
		log_info("login failed user=%s addr=%s mech=%s: not authorized to log in as another user",
			 c->login_user, c->addr, c->auth_mech != NULL ? c->auth_mech : "?");
		client_tagged(c, tag, "NO", "[AUTHORIZATIONFAILED] Not authorized to log in as that user");
		c->bad_commands++;
	} else {
		login_failed(c, tag, c->login_user);
	}
	free(tag);
	resume_input(c);
}

/* Hands the credentials to the auth process; the session reads no more
 * commands until the answer. */
static void check_credentials(struct imap_client *c, const char *tag, const char *authzid,
			      const char *authcid, const char *password)
{
	free(c->login_user);
	c->login_user = xstrdup(authcid);
	if (strlen(authcid) == 0 || strlen(authcid) > USER_NAME_MAX || strlen(authzid) > USER_NAME_MAX ||
	    strlen(password) > PASSWORD_MAX) {
		login_failed(c, tag, authcid);
		return;
	}
	free(c->wait_tag);
	c->wait_tag = xstrdup(tag);
	c->wait = WAIT_AUTH;
	bufferevent_disable(c->bev, EV_READ);
	const char *f[] = { "PASS", authzid, authcid, password };
	c->auth_handle = auth_request(f, 4, on_pass_reply, c);
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
	free(c->auth_mech);
	c->auth_mech = xstrdup("LOGIN");
	check_credentials(c, cmd->tag, "", user, pass);
	return 0;
}

/* Decodes base64 SASL data ("=" is empty); NULL when it is not base64. The
 * result is NUL-terminated; its length goes to len_r. */
static unsigned char *sasl_decode(const char *b64, size_t *len_r)
{
	size_t len = strlen(b64);
	if (strcmp(b64, "=") == 0)
		len = 0;
	unsigned char *buf = xmalloc(len + 4);
	int n = 0;
	if (len > 0) {
		if (len % 4 != 0 || strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != len) {
			free(buf);
			return NULL;
		}
		n = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)len);
		if (n < 0) {
			free(buf);
			return NULL;
		}
		if (len >= 1 && b64[len - 1] == '=')
			n--;
		if (len >= 2 && b64[len - 2] == '=')
			n--;
	}
	buf[n] = '\0';
	*len_r = (size_t)n;
	return buf;
}

static void sasl_free(unsigned char *buf, size_t len)
{
	if (buf != NULL) {
		explicit_bzero(buf, len);
		free(buf);
	}
}

/* PLAIN (RFC 4616): [authzid] NUL authcid NUL passwd. */
static void auth_plain(struct imap_client *c, const char *tag, const char *b64)
{
	size_t n;
	unsigned char *buf = sasl_decode(b64, &n);
	if (buf == NULL) {
		client_tagged(c, tag, "BAD", "Invalid base64 data");
		return;
	}
	const char *authz = (const char *)buf;
	const char *nul1 = memchr(buf, '\0', n);
	const char *nul2 = nul1 != NULL ? memchr(nul1 + 1, '\0', n - (size_t)(nul1 + 1 - (char *)buf)) : NULL;
	if (nul1 == NULL || nul2 == NULL) {
		sasl_free(buf, n);
		client_tagged(c, tag, "BAD", "Malformed PLAIN data");
		return;
	}
	/* nul2 + 1 up to buf[n] (a NUL) is the password; a NUL inside it
	 * cuts it, and no stored password contains one. */
	check_credentials(c, tag, authz, nul1 + 1, nul2 + 1);
	sasl_free(buf, n);
}

/* The LOGIN mechanism (draft-murchison-sasl-login): the user name, then
 * the password, each asked for with a continuation. */
static void auth_login_step(struct imap_client *c, const char *tag, const char *b64)
{
	size_t n;
	unsigned char *buf = sasl_decode(b64, &n);
	if (buf == NULL || memchr(buf, '\0', n) != NULL) {
		sasl_free(buf, n);
		free(c->login_user);
		c->login_user = NULL;
		client_tagged(c, tag, "BAD", "Invalid base64 data");
		return;
	}
	if (c->login_user == NULL) {
		c->login_user = (char *)buf;
		free(c->wait_tag);
		c->wait_tag = xstrdup(tag);
		c->wait = WAIT_AUTH_DATA;
		client_send(c, "+ UGFzc3dvcmQ6");   /* "Password:" */
		return;
	}
	char *user = c->login_user;
	c->login_user = NULL;
	check_credentials(c, tag, "", user, (const char *)buf);
	free(user);
	sasl_free(buf, n);
}

int cmd_authenticate(struct imap_client *c, const struct imap_command *cmd,
		     const struct imap_arg *args, size_t nargs, bool uid)
{
	if (nargs < 1 || nargs > 2 || args[0].type != IMAP_ARG_ATOM)
		return -1;
	const char *mech;
	if (imap_arg_is_atom(&args[0], "PLAIN"))
		mech = "PLAIN";
	else if (imap_arg_is_atom(&args[0], "LOGIN"))
		mech = "LOGIN";
	else {
		client_tagged(c, cmd->tag, "NO", "Unsupported authentication mechanism");
		return 0;
	}
	if (!plaintext_allowed(c)) {
		client_tagged(c, cmd->tag, "NO", "[PRIVACYREQUIRED] Use STARTTLS first");
		return 0;
	}
	free(c->auth_mech);
	c->auth_mech = xstrdup(mech);
	free(c->login_user);
	c->login_user = NULL;
	const char *ir = NULL;
	if (nargs == 2) {
		ir = arg_string(&args[1]);
		if (ir == NULL)
			return -1;
	}
	if (strcmp(mech, "PLAIN") == 0 && ir != NULL) {
		auth_plain(c, cmd->tag, ir);
		return 0;
	}
	if (strcmp(mech, "LOGIN") == 0 && ir != NULL) {
		auth_login_step(c, cmd->tag, ir);
		return 0;
	}
	free(c->wait_tag);
	c->wait_tag = xstrdup(cmd->tag);
	c->wait = WAIT_AUTH_DATA;
	client_send(c, strcmp(mech, "LOGIN") == 0 ? "+ VXNlcm5hbWU6" : "+ ");   /* "Username:" */
	return 0;
}

void cmd_authenticate_continue(struct imap_client *c, const char *line)
{
	char *tag = c->wait_tag;
	c->wait_tag = NULL;
	c->wait = WAIT_NONE;
	if (strcmp(line, "*") == 0) {
		free(c->login_user);
		c->login_user = NULL;
		client_tagged(c, tag, "BAD", "Authentication cancelled");
	} else if (c->auth_mech != NULL && strcmp(c->auth_mech, "LOGIN") == 0) {
		auth_login_step(c, tag, line);
	} else {
		auth_plain(c, tag, line);
	}
	free(tag);
}
