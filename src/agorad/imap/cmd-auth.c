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
#include "lib-auth/sasl.h"
#include "lib-auth/scram.h"

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/x509.h>
#include <event2/event.h>
#include <openssl/evp.h>
#include <ctype.h>
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
	if (c->wait != WAIT_AUTH && c->wait != WAIT_DELAY && !c->closing) {
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
static void login_failed(struct imap_client *c, const char *tag, const char *user, long long delay_ms)
{
	long long pause = delay_ms >= 0 ? delay_ms : config_seconds(server.cfg, "failedloginpause") * 1000;
	/* one line per failure, for fail2ban and the like */
	log_info("login failed user=%s addr=%s mech=%s delay=%lldms", user != NULL ? user : "?", c->addr,
		 c->auth_mech != NULL ? c->auth_mech : "?", pause);
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
	struct timeval tv = { (time_t)(pause / 1000), (suseconds_t)(pause % 1000) * 1000 };
	event_add(c->delay_ev, &tv);
}

/* A reply of the auth process arrived: the command it answers waits no
 * more. Returns that command's tag, the caller's to free. */
static char *auth_reply_tag(struct imap_client *c)
{
	char *tag = c->wait_tag;
	c->wait_tag = NULL;
	c->wait = WAIT_NONE;
	c->auth_handle = 0;
	return tag;
}

/* The auth process could not answer (it is restarting, or gone). */
static void auth_unavailable(struct imap_client *c, const char *tag)
{
	client_tagged(c, tag, "NO", "[UNAVAILABLE] Authentication is not available now; try again later");
}

static void on_sess_reply(void *ctx, const char *const *f, size_t n)
{
	struct imap_client *c = ctx;
	char *tag = auth_reply_tag(c), *user = c->pending_user;
	c->pending_user = NULL;
	if (n >= 1 && strcmp(f[0], "OK") == 0) {
		client_login_done(c, user);
		c->bad_commands = 0;
		str_t caps = STR_INIT;
		client_capability(c, &caps);
		client_tagged(c, tag, "OK", "[CAPABILITY %s] Logged in", str_c(&caps));
		str_free(&caps);
	} else if (n >= 1 && strcmp(f[0], "LIMIT") == 0) {
		c->session_id = 0;
		log_info("login refused user=%s addr=%s: maxlogins_per_user reached", user, c->addr);
		client_tagged(c, tag, "NO", "[LIMIT] Too many sessions for this user");
	} else {
		/* the auth process went away meanwhile: whether it counted the
		 * session died with it */
		c->session_id = 0;
		log_error("login user=%s addr=%s: the auth process is unavailable", user, c->addr);
		auth_unavailable(c, tag);
	}
	free(user);
	free(tag);
	resume_input(c);
}

/* The credentials were right: `user` is who the session is, `authuser`
 * who proved it (different for a master user or proxy). The session is
 * counted by the auth process (maxlogins_per_user over all workers)
 * before the OK. */
static void login_succeeded(struct imap_client *c, const char *tag, const char *user, const char *authuser)
{
	static unsigned long long next_session;
	if (strcmp(user, authuser) != 0) {
		log_info("proxy login user=%s authuser=%s addr=%s", user, authuser, c->addr);
		free(c->authuser);
		c->authuser = xstrdup(authuser);
	}
	c->session_id = ++next_session;
	char sid[32];
	snprintf(sid, sizeof(sid), "%llu", c->session_id);
	free(c->wait_tag);
	c->wait_tag = xstrdup(tag);
	free(c->pending_user);
	c->pending_user = xstrdup(user);
	c->wait = WAIT_AUTH;
	bufferevent_disable(c->bev, EV_READ);
	const char *f[] = { "SESS", sid, user };
	c->auth_handle = auth_request(f, 3, on_sess_reply, c);
}

static void on_pass_reply(void *ctx, const char *const *f, size_t n)
{
	struct imap_client *c = ctx;
	char *tag = auth_reply_tag(c);
	if (n == 0 || strcmp(f[0], "ERR") == 0) {
		log_error("login user=%s addr=%s: the auth process is unavailable", c->login_user, c->addr);
		auth_unavailable(c, tag);
	} else if (strcmp(f[0], "OK") == 0 && n == 3) {
		login_succeeded(c, tag, f[1], f[2]);
	} else if (strcmp(f[0], "NOAUTHZ") == 0) {
		log_info("login failed user=%s addr=%s mech=%s: not authorized to log in as another user",
			 c->login_user, c->addr, c->auth_mech != NULL ? c->auth_mech : "?");
		client_tagged(c, tag, "NO", "[AUTHORIZATIONFAILED] Not authorized to log in as that user");
		c->bad_commands++;
	} else {
		login_failed(c, tag, c->login_user, strcmp(f[0], "FAIL") == 0 && n >= 2 ? atoll(f[1]) : -1);
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
		login_failed(c, tag, authcid, -1);
		return;
	}
	free(c->wait_tag);
	c->wait_tag = xstrdup(tag);
	c->wait = WAIT_AUTH;
	bufferevent_disable(c->bev, EV_READ);
	const char *f[] = { "PASS", authzid, authcid, password, c->addr };
	c->auth_handle = auth_request(f, 5, on_pass_reply, c);
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
	check_credentials(c, cmd->tag, "", user, pass);
	return 0;
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
	const char *authz, *authc, *pass;
	if (sasl_plain_split(buf, n, &authz, &authc, &pass) < 0) {
		sasl_free(buf, n);
		client_tagged(c, tag, "BAD", "Malformed PLAIN data");
		return;
	}
	/* a NUL inside the password cuts it, and no stored password
	 * contains one */
	check_credentials(c, tag, authz, authc, pass);
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

/* SCRAM: the exchange itself runs in the auth process (SCRAM1/SCRAM2);
 * the worker frames it and gives the channel binding data of its TLS
 * connection. */

static void scram_reset(struct imap_client *c)
{
	if (c->scram_sid != NULL) {
		/* let the auth process forget it; the answer does not matter */
		const char *f[] = { "SCRAMX", c->scram_sid };
		(void)auth_request(f, 2, NULL, NULL);
	}
	free(c->scram_sid);
	c->scram_sid = NULL;
	free(c->scram_cbname);
	c->scram_cbname = NULL;
	free(c->sasl_user);
	c->sasl_user = NULL;
	free(c->sasl_authuser);
	c->sasl_authuser = NULL;
	c->sasl_step = 0;
}

/* Channel binding types this connection can give data for. */
static void cb_types(struct imap_client *c, str_t *out)
{
	SSL *ssl = c->tls ? bufferevent_openssl_get_ssl(c->bev) : NULL;
	if (ssl == NULL)
		return;
	/* RFC 9266: tls-exporter only where the exporter is unique to the
	 * connection (TLS 1.3, or 1.2 with extended master secret). */
	if (SSL_version(ssl) >= TLS1_3_VERSION || SSL_get_extms_support(ssl) == 1)
		str_append(out, "tls-exporter ");
	if (SSL_get_certificate(ssl) != NULL)
		str_append(out, "tls-server-end-point");
}

static int cb_data(struct imap_client *c, const char *name, str_t *out)
{
	SSL *ssl = c->tls ? bufferevent_openssl_get_ssl(c->bev) : NULL;
	unsigned char buf[EVP_MAX_MD_SIZE];
	if (ssl == NULL)
		return -1;
	if (strcmp(name, "tls-exporter") == 0) {
		if (SSL_export_keying_material(ssl, buf, 32, "EXPORTER-Channel-Binding", 24, NULL, 0, 0) != 1)
			return -1;
		scram_b64_encode(buf, 32, out);
		return 0;
	}
	if (strcmp(name, "tls-server-end-point") == 0) {
		/* RFC 5929 4.1: the certificate's signature hash, SHA-256 for MD5 and SHA-1 */
		X509 *cert = SSL_get_certificate(ssl);
		int md_nid = NID_undef;
		if (cert == NULL || !OBJ_find_sigid_algs(X509_get_signature_nid(cert), &md_nid, NULL))
			return -1;
		const EVP_MD *md = md_nid == NID_md5 || md_nid == NID_sha1 || md_nid == NID_undef ?
				   EVP_sha256() : EVP_get_digestbynid(md_nid);
		unsigned len = 0;
		if (md == NULL || X509_digest(cert, md, buf, &len) != 1)
			return -1;
		scram_b64_encode(buf, len, out);
		return 0;
	}
	return -1;
}

static void scram_bad(struct imap_client *c, const char *tag, const char *why)
{
	log_info("login failed user=%s addr=%s mech=%s: %s", c->login_user != NULL ? c->login_user : "?",
		 c->addr, c->auth_mech, why);
	scram_reset(c);
	client_tagged(c, tag, "BAD", "[AUTHENTICATIONFAILED] %s", why);
	c->bad_commands++;
}

static void wait_data(struct imap_client *c, const char *tag, const char *b64_or_null, const str_t *raw)
{
	free(c->wait_tag);
	c->wait_tag = xstrdup(tag);
	c->wait = WAIT_AUTH_DATA;
	if (raw != NULL) {
		str_t b = STR_INIT;
		scram_b64_encode((const unsigned char *)raw->data, raw->len, &b);
		client_send(c, "+ %s", str_c(&b));
		str_free(&b);
	} else {
		client_send(c, "+ %s", b64_or_null != NULL ? b64_or_null : "");
	}
}

static void on_scram_reply(void *ctx, const char *const *f, size_t n)
{
	struct imap_client *c = ctx;
	char *tag = auth_reply_tag(c);
	if (n == 0 || strcmp(f[0], "ERR") == 0) {
		log_error("login addr=%s: the auth process is unavailable", c->addr);
		scram_reset(c);
		auth_unavailable(c, tag);
	} else if (strcmp(f[0], "BAD") == 0 && n == 2) {
		free(c->scram_sid);
		c->scram_sid = NULL;   /* the auth process has forgotten it */
		scram_bad(c, tag, f[1]);
	} else if (strcmp(f[0], "CONT") == 0 && n == 4 && c->sasl_step == 1) {
		c->scram_sid = xstrdup(f[1]);
		c->scram_cbname = xstrdup(f[3]);
		c->sasl_step = 2;
		str_t sf = STR_INIT;
		str_append(&sf, f[2]);
		wait_data(c, tag, NULL, &sf);
		str_free(&sf);
	} else if (strcmp(f[0], "OK") == 0 && n == 4 && c->sasl_step == 2) {
		free(c->scram_sid);
		c->scram_sid = NULL;
		c->sasl_user = xstrdup(f[1]);
		c->sasl_authuser = xstrdup(f[2]);
		c->sasl_step = 3;
		str_t sf = STR_INIT;
		str_append(&sf, f[3]);
		wait_data(c, tag, NULL, &sf);
		str_free(&sf);
	} else if (strcmp(f[0], "NOAUTHZ") == 0) {
		free(c->scram_sid);
		c->scram_sid = NULL;
		scram_reset(c);
		log_info("login failed user=%s addr=%s mech=%s: not authorized to log in as another user",
			 c->login_user, c->addr, c->auth_mech);
		client_tagged(c, tag, "NO", "[AUTHORIZATIONFAILED] Not authorized to log in as that user");
		c->bad_commands++;
	} else {
		free(c->scram_sid);
		c->scram_sid = NULL;
		scram_reset(c);
		login_failed(c, tag, c->login_user, strcmp(f[0], "FAIL") == 0 && n >= 2 ? atoll(f[1]) : -1);
	}
	free(tag);
	resume_input(c);
}

static void scram_step(struct imap_client *c, const char *tag, const char *b64)
{
	size_t n;
	if (c->sasl_step == 3) {
		/* the client has checked server-final and says so with an empty line */
		if (strcmp(b64, "") != 0 && strcmp(b64, "=") != 0) {
			scram_bad(c, tag, "expected an empty response");
			return;
		}
		char *user = c->sasl_user, *authuser = c->sasl_authuser;
		c->sasl_user = c->sasl_authuser = NULL;
		scram_reset(c);
		login_succeeded(c, tag, user, authuser);
		free(user);
		free(authuser);
		return;
	}
	unsigned char *buf = sasl_decode(b64, &n);
	if (buf == NULL || memchr(buf, '\0', n) != NULL || n == 0) {
		sasl_free(buf, n);
		scram_bad(c, tag, buf == NULL ? "Invalid base64 data" : "Malformed SCRAM message");
		return;
	}
	free(c->wait_tag);
	c->wait_tag = xstrdup(tag);
	c->wait = WAIT_AUTH;
	bufferevent_disable(c->bev, EV_READ);
	if (c->sasl_step == 1) {
		/* remember the user for the log: "n=NAME," after the gs2 header */
		const char *u = strstr((const char *)buf, ",n=");
		free(c->login_user);
		c->login_user = u != NULL ? xstrndup(u + 3, strcspn(u + 3, ",")) : xstrdup("?");
		str_t types = STR_INIT;
		cb_types(c, &types);
		const char *f[] = { "SCRAM1", c->auth_mech, str_c(&types), (const char *)buf, c->addr };
		c->auth_handle = auth_request(f, 5, on_scram_reply, c);
		str_free(&types);
	} else {
		str_t cb = STR_INIT;
		if (c->scram_cbname != NULL && c->scram_cbname[0] != '\0' && cb_data(c, c->scram_cbname, &cb) < 0)
			str_clear(&cb);
		const char *f[] = { "SCRAM2", c->scram_sid, (const char *)buf, str_c(&cb) };
		c->auth_handle = auth_request(f, 4, on_scram_reply, c);
		str_free(&cb);
	}
	sasl_free(buf, n);
}

int cmd_authenticate(struct imap_client *c, const struct imap_command *cmd,
		     const struct imap_arg *args, size_t nargs, bool uid)
{
	if (nargs < 1 || nargs > 2 || args[0].type != IMAP_ARG_ATOM)
		return -1;
	if (imap_arg_is_atom(&args[0], "ANONYMOUS"))
		return cmd_authenticate_anonymous(c, cmd, args, nargs);
	const char *mech;
	enum scram_hash h;
	bool plus = false, scram = false;
	if (imap_arg_is_atom(&args[0], "PLAIN"))
		mech = "PLAIN";
	else if (imap_arg_is_atom(&args[0], "LOGIN"))
		mech = "LOGIN";
	else if (args[0].type == IMAP_ARG_ATOM && scram_mech_parse(arg_string(&args[0]), &h, &plus) == 0 &&
		 (!plus || c->tls)) {
		scram = true;
		mech = arg_string(&args[0]);
	} else {
		client_tagged(c, cmd->tag, "NO", "Unsupported authentication mechanism");
		return 0;
	}
	if (!scram && !plaintext_allowed(c)) {
		client_tagged(c, cmd->tag, "NO", "[PRIVACYREQUIRED] Use STARTTLS first");
		return 0;
	}
	free(c->auth_mech);
	c->auth_mech = xstrdup(mech);
	for (char *p = c->auth_mech; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
	free(c->login_user);
	c->login_user = NULL;
	scram_reset(c);
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
	if (scram) {
		c->sasl_step = 1;
		if (ir != NULL)
			scram_step(c, cmd->tag, ir);
		else
			wait_data(c, cmd->tag, "", NULL);
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
	if (c->auth_mech != NULL && strcmp(c->auth_mech, "ANONYMOUS") == 0) {
		anonymous_continue(c, tag, line);
		free(tag);
		return;
	}
	if (strcmp(line, "*") == 0) {
		free(c->login_user);
		c->login_user = NULL;
		scram_reset(c);
		client_tagged(c, tag, "BAD", "Authentication cancelled");
	} else if (c->sasl_step > 0) {
		scram_step(c, tag, line);
	} else if (c->auth_mech != NULL && strcmp(c->auth_mech, "LOGIN") == 0) {
		auth_login_step(c, tag, line);
	} else {
		auth_plain(c, tag, line);
	}
	free(tag);
}
