/* The auth process: the only process of agorad that reads and checks
 * password hashes. The master forks it (and restarts it when it dies);
 * workers send it credentials over the auth socket (auth-proto.h).
 *
 * The hashes and SCRAM keys are in secrets.db (lib-storage/secrets.h),
 * which only this process opens. Started as root, agorad leaves this
 * process root (the workers become the `user` account, which cannot open
 * secrets.db); it has no listener but the auth socket and touches no
 * mail.
 *
 * One thread accepts and reads requests; a small pool of threads, each
 * with its own store and secrets connections, checks them, so that slow
 * hashes (yescrypt: tens of milliseconds) of different logins run in
 * parallel. The reading thread also keeps the count of every user's
 * sessions over all workers (SESS, HOLD, END), so that
 * maxlogins_per_user holds for the whole server. */
#include "agorad/auth-proc.h"
#include "agorad/auth-proto.h"
#include "agorad/server.h"
#include "lib/bounds.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xalloc.h"
#include "lib-auth/password.h"
#include "lib-auth/scram.h"
#include "lib-storage/secrets.h"
#include "lib-storage/store.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <time.h>
#include <unistd.h>

#define AUTH_MAX_CONNS 256
#define AUTH_MAX_THREADS 8
/* Requests queued beyond this are answered ERR at once (a flood). */
#define AUTH_MAX_QUEUE 4096

/* A yescrypt hash of nothing anyone knows: an unknown user costs as much
 * time as a known one. */
#define DUMMY_HASH "$y$j9T$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

struct session;

struct conn {
	int fd;
	unsigned refs;       /* the reader's one, plus one per queued job */
	/* the worker's logged-in sessions (only the reading thread) */
	struct session *sessions;
	size_t nsessions, sessions_alloc;
};

/* What a thread of the pool works with. */
struct auth_ctx {
	struct store *st;
	struct secrets *sec;
};

struct job {
	struct job *next;
	struct conn *conn;
	size_t len;
	char msg[];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static struct job *queue_head, *queue_tail;
static unsigned queue_len;

static void conn_unref_locked(struct conn *c)
{
	if (--c->refs == 0) {
		close(c->fd);
		free(c);
	}
}

int auth_socket_open(const struct config *cfg, str_t *path_r)
{
	str_printf(path_r, "%s/%s", config_str(cfg, "configdirectory"), AUTH_SOCKET_NAME);
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (path_r->len >= sizeof(sun.sun_path)) {
		log_error("%s: path too long for a unix socket", str_c(path_r));
		return -1;
	}
	memcpy(sun.sun_path, path_r->data, path_r->len);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_error("auth socket: %s", strerror(errno));
		return -1;
	}
	unlink(sun.sun_path);
	mode_t old = umask(077);
	int r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r < 0 || chmod(sun.sun_path, 0600) < 0 || listen(fd, 128) < 0) {
		log_error("%s: %s", sun.sun_path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Splits a message into NUL-ended fields; -1 when it is not one. */
static int split_fields(char *msg, size_t len, const char **fields, size_t max)
{
	size_t n = 0, start = 0;
	if (len == 0 || msg[len - 1] != '\0')
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (msg[i] == '\0') {
			if (n == max)
				return -1;
			fields[n++] = msg + start;
			start = i + 1;
		}
	}
	return (int)n;
}

static void reply(struct conn *c, const char *id, const char *const *fields, size_t n)
{
	str_t out = STR_INIT;
	str_append_n(&out, id, strlen(id) + 1);
	for (size_t i = 0; i < n; i++)
		str_append_n(&out, fields[i], strlen(fields[i]) + 1);
	/* A worker that went away makes this fail; nothing to do then. */
	(void)send(c->fd, out.data, out.len, MSG_NOSIGNAL);
	if (out.data != NULL)
		explicit_bzero(out.data, out.len);
	str_free(&out);
}

static bool may_authorize(const char *authcid, const char *authzid)
{
	return config_list_has(server.cfg, "admins", authcid) ||
	       config_list_has(server.cfg, "proxyservers", authcid);
}

/* Failed logins per client address and per user, over all workers: each
 * failure doubles the delay before its answer, up to failedloginpause_max.
 * A fixed table; when full, the entry failed longest ago makes room. */
#define FAIL_SLOTS 8192
struct fail_slot {
	char key[USER_NAME_MAX + 8];   /* "a:ADDR" or "u:USER" */
	unsigned count;
	time_t last;
};
static struct fail_slot fails[FAIL_SLOTS];

static struct fail_slot *fail_find(const char *kind, const char *name, bool create, time_t now)
{
	char key[sizeof(fails[0].key)];
	snprintf(key, sizeof(key), "%s:%s", kind, name);
	unsigned h = 5381;
	for (const char *p = key; *p != '\0'; p++)
		h = h * 33 + (unsigned char)*p;
	struct fail_slot *oldest = NULL;
	for (unsigned i = 0; i < 16; i++) {
		struct fail_slot *f = &fails[(h + i) % FAIL_SLOTS];
		if (f->key[0] != '\0' && now - f->last > FAILED_LOGIN_FORGET_SEC)
			f->key[0] = '\0';
		if (strcmp(f->key, key) == 0)
			return f;
		if (oldest == NULL || f->key[0] == '\0' || (oldest->key[0] != '\0' && f->last < oldest->last))
			oldest = f;
	}
	if (!create)
		return NULL;
	snprintf(oldest->key, sizeof(oldest->key), "%s", key);
	oldest->count = 0;
	oldest->last = now;
	return oldest;
}

/* Counts a failure; returns the delay before its answer, in ms. */
static long long login_failure(const char *addr, const char *user)
{
	time_t now = time(NULL);
	long long base = config_seconds(server.cfg, "failedloginpause") * 1000;
	long long max = config_seconds(server.cfg, "failedloginpause_max") * 1000;
	pthread_mutex_lock(&lock);
	struct fail_slot *a = fail_find("a", addr, true, now);
	struct fail_slot *u = fail_find("u", user, true, now);
	a->count++;
	a->last = now;
	u->count++;
	u->last = now;
	unsigned n = a->count > u->count ? a->count : u->count;
	pthread_mutex_unlock(&lock);
	long long delay = base;
	for (unsigned i = 1; i < n && delay < max; i++)
		delay *= 2;
	return delay > max ? max : delay;
}

static void login_success(const char *user)
{
	pthread_mutex_lock(&lock);
	struct fail_slot *u = fail_find("u", user, false, time(NULL));
	if (u != NULL)
		u->key[0] = '\0';
	pthread_mutex_unlock(&lock);
}

static void reply_fail(struct conn *c, const char *id, const char *addr, const char *user, const char *why)
{
	char ms[32];
	snprintf(ms, sizeof(ms), "%lld", login_failure(addr, user));
	const char *r[] = { "FAIL", ms, why };
	reply(c, id, r, 3);
}

/* 1 right, 0 wrong, -1 internal failure. */
/* The secret of `scheme` of the account `user`: three-way. */
static int get_secret(struct auth_ctx *a, const char *user, const char *scheme, str_t *value)
{
	str_t id = STR_INIT;
	int r = strlen(user) == 0 || strlen(user) > USER_NAME_MAX ? 0 : a->st->be->user_get(a->st, user, &id);
	if (r == 1) {
		r = secrets_get(a->sec, str_c(&id), scheme, value);
		if (r < 0)
			log_error("%s", secrets_error(a->sec));
	}
	str_free(&id);
	return r;
}

static int check_password(struct auth_ctx *a, const char *user, const char *password)
{
	str_t hash = STR_INIT;
	int ok = 0;
	int r = get_secret(a, user, SECRET_PASSWORD, &hash);
	if (r < 0) {
		ok = -1;
	} else if (r == 1) {
		ok = password_verify(password, str_c(&hash));
	} else {
		/* Spend the same time for an unknown user. */
		(void)password_verify(password, DUMMY_HASH);
	}
	if (hash.data != NULL)
		explicit_bzero(hash.data, hash.len);
	str_free(&hash);
	return ok;
}

/* Dovecot's master-user form: with separator "*", "bob*admin" logs in as
 * bob with admin's credentials. Only when no authzid was given. Returns
 * the target (malloc'd) and points *authcid at the master's name, or
 * NULL. */
static char *split_master(const char *authzid, const char **authcid)
{
	const char *sep = config_str(server.cfg, "auth_master_user_separator");
	if (sep == NULL || sep[0] == '\0' || authzid[0] != '\0')
		return NULL;
	const char *p = strstr(*authcid, sep);
	if (p == NULL || p == *authcid || p[strlen(sep)] == '\0')
		return NULL;
	char *target = xstrndup(*authcid, (size_t)(p - *authcid));
	*authcid = p + strlen(sep);
	return target;
}

static void op_pass(struct auth_ctx *a, struct conn *c, const char **f, size_t n)
{
	struct store *st = a->st;
	const char *id = f[0];
	if (n != 6) {
		const char *r[] = { "ERR" };
		reply(c, id, r, 1);
		return;
	}
	const char *authzid = f[2], *authcid = f[3], *password = f[4], *addr = f[5];
	char *target = split_master(authzid, &authcid);
	if (target != NULL)
		authzid = target;
	int ok = check_password(a, authcid, password);
	if (ok < 0) {
		const char *r[] = { "ERR" };
		reply(c, id, r, 1);
		goto out;
	}
	if (ok == 0) {
		reply_fail(c, id, addr, authcid, "invalid credentials");
		goto out;
	}
	const char *user = authcid;
	if (authzid[0] != '\0' && strcmp(authzid, authcid) != 0) {
		if (!may_authorize(authcid, authzid) || strlen(authzid) > USER_NAME_MAX ||
		    st->be->user_get(st, authzid, NULL) != 1) {
			log_info("authorization refused user=%s authuser=%s", authzid, authcid);
			const char *r[] = { "NOAUTHZ" };
			reply(c, id, r, 1);
			goto out;
		}
		user = authzid;
	}
	login_success(authcid);
	const char *r[] = { "OK", user, authcid };
	reply(c, id, r, 3);
out:
	free(target);
}

/* SCRAM exchanges in progress: the keys never leave this process. */
#define SCRAM_MAX_SESSIONS 4096
#define SCRAM_SESSION_SECS 120

struct scram_sess {
	unsigned long long sid;
	struct conn *conn;      /* only the worker that began it may go on */
	time_t started;
	char addr[64];
	bool fake;              /* unknown user: the exchange always fails */
	struct scram_server s;
};

static struct scram_sess *sessions[SCRAM_MAX_SESSIONS];
static unsigned char fake_key[32];

static void sess_free(struct scram_sess *x)
{
	scram_server_free(&x->s);
	free(x);
}

/* Takes the session out of the table (the caller owns it then). */
static struct scram_sess *sess_take(struct conn *c, const char *sid_text)
{
	unsigned long long sid = strtoull(sid_text, NULL, 16);
	struct scram_sess *found = NULL;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < SCRAM_MAX_SESSIONS; i++) {
		if (sessions[i] != NULL && sessions[i]->sid == sid && sessions[i]->conn == c) {
			found = sessions[i];
			sessions[i] = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&lock);
	return found;
}

static int sess_put(struct scram_sess *x)
{
	time_t now = time(NULL);
	int ret = -1;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < SCRAM_MAX_SESSIONS; i++) {
		if (sessions[i] != NULL && now - sessions[i]->started > SCRAM_SESSION_SECS) {
			sess_free(sessions[i]);
			sessions[i] = NULL;
		}
		if (sessions[i] == NULL && ret < 0) {
			sessions[i] = x;
			ret = 0;
		}
	}
	pthread_mutex_unlock(&lock);
	return ret;
}

static void reply1(struct conn *c, const char *id, const char *status)
{
	const char *r[] = { status };
	reply(c, id, r, 1);
}

static void reply2(struct conn *c, const char *id, const char *status, const char *why)
{
	const char *r[] = { status, why };
	reply(c, id, r, 2);
}

/* SCRAM1 mech cbtypes client-first -> CONT sid server-first cbname */
static void op_scram1(struct auth_ctx *a, struct conn *c, const char **f, size_t n)
{
	enum scram_hash h;
	bool plus;
	if (n != 6 || scram_mech_parse(f[2], &h, &plus) < 0) {
		reply1(c, f[0], "ERR");
		return;
	}
	const char *cbtypes = f[3], *err = NULL;
	struct scram_sess *x = xcalloc(1, sizeof(*x));
	if (scram_server_client_first(&x->s, h, plus, cbtypes[0] != '\0', f[4], &err) < 0) {
		reply2(c, f[0], "BAD", err);
		sess_free(x);
		return;
	}
	const char *mu = x->s.user;
	char *target = split_master(x->s.authzid, &mu);
	if (target != NULL) {
		char *master = xstrdup(mu);
		free(x->s.user);
		free(x->s.authzid);
		x->s.user = master;
		x->s.authzid = target;
	}
	if (x->s.cbflag == 'p') {
		/* the type must be one the worker can give data for */
		size_t l = strlen(x->s.cbname);
		const char *p = cbtypes;
		bool ok = false;
		while ((p = strstr(p, x->s.cbname)) != NULL) {
			if ((p == cbtypes || p[-1] == ' ') && (p[l] == ' ' || p[l] == '\0'))
				ok = true;
			p += l;
		}
		if (!ok) {
			reply2(c, f[0], "BAD", "unsupported channel binding type");
			sess_free(x);
			return;
		}
	}
	struct scram_secret secret;
	str_t text = STR_INIT;
	int r = get_secret(a, x->s.user, scram_hash_name(h), &text);
	if (r < 0) {
		reply1(c, f[0], "ERR");
		sess_free(x);
		str_free(&text);
		return;
	}
	if (r == 0 || scram_secret_parse(h, str_c(&text), &secret) < 0) {
		/* An unknown user (or one without SCRAM keys) gets a salt that
		 * stays the same across attempts, so the answer does not tell
		 * whether the user exists; the proof can never match. */
		unsigned char mac[32];
		unsigned maclen = 0;
		HMAC(EVP_sha256(), fake_key, sizeof(fake_key), (const unsigned char *)x->s.user,
		     strlen(x->s.user), mac, &maclen);
		memset(&secret, 0, sizeof(secret));
		secret.iterations = SCRAM_DEFAULT_ITERATIONS;
		memcpy(secret.salt, mac, SCRAM_SALT_LEN);
		secret.salt_len = SCRAM_SALT_LEN;
		RAND_bytes(secret.stored_key, sizeof(secret.stored_key));
		x->fake = true;
	}
	if (text.data != NULL)
		explicit_bzero(text.data, text.len);
	str_free(&text);
	unsigned char rnd[18];
	str_t snonce = STR_INIT;
	RAND_bytes(rnd, sizeof(rnd));
	scram_b64_encode(rnd, sizeof(rnd), &snonce);
	scram_server_first(&x->s, &secret, str_c(&snonce));
	str_free(&snonce);
	RAND_bytes((unsigned char *)&x->sid, sizeof(x->sid));
	x->conn = c;
	x->started = time(NULL);
	snprintf(x->addr, sizeof(x->addr), "%s", f[5]);
	char sid[32];
	snprintf(sid, sizeof(sid), "%llx", x->sid);
	/* once in the table another thread may free it: copy what goes out */
	char *server_first = xstrdup(x->s.server_first);
	char *cbname = xstrdup(x->s.cbflag == 'p' ? x->s.cbname : "");
	if (sess_put(x) < 0) {
		reply1(c, f[0], "ERR");
		sess_free(x);
	} else {
		const char *r3[] = { "CONT", sid, server_first, cbname };
		reply(c, f[0], r3, 4);
	}
	free(server_first);
	free(cbname);
}

/* SCRAM2 sid client-final cbdata-base64 -> OK user authcid server-final */
static void op_scram2(struct auth_ctx *a, struct conn *c, const char **f, size_t n)
{
	struct store *st = a->st;
	if (n != 5) {
		reply1(c, f[0], "ERR");
		return;
	}
	struct scram_sess *x = sess_take(c, f[2]);
	if (x == NULL) {
		reply2(c, f[0], "BAD", "no such exchange");
		return;
	}
	str_t cb = STR_INIT, fin = STR_INIT;
	const char *err = NULL;
	int r = scram_b64_decode(f[4], strlen(f[4]), &cb);
	if (r == 0)
		r = scram_server_client_final(&x->s, f[3], (const unsigned char *)cb.data, cb.len, &fin, &err);
	else
		err = "bad channel binding data";
	if (r < 0) {
		reply2(c, f[0], "BAD", err);
	} else if (r == 0 || x->fake) {
		reply_fail(c, f[0], x->addr, x->s.user, err != NULL ? err : "invalid proof");
	} else {
		const char *authcid = x->s.user, *authzid = x->s.authzid, *user = authcid;
		if (authzid[0] != '\0' && strcmp(authzid, authcid) != 0) {
			if (!may_authorize(authcid, authzid) || strlen(authzid) > USER_NAME_MAX ||
			    st->be->user_get(st, authzid, NULL) != 1) {
				log_info("authorization refused user=%s authuser=%s", authzid, authcid);
				reply1(c, f[0], "NOAUTHZ");
				goto out;
			}
			user = authzid;
		}
		login_success(authcid);
		const char *rr[] = { "OK", user, authcid, str_c(&fin) };
		reply(c, f[0], rr, 4);
	}
out:
	str_free(&cb);
	str_free(&fin);
	sess_free(x);
}

static void handle(struct auth_ctx *a, struct job *j)
{
	const char *f[AUTH_MAX_FIELDS];
	int n = split_fields(j->msg, j->len, f, AUTH_MAX_FIELDS);
	if (n < 2) {
		log_warn("malformed request from a worker");
		return;
	}
	if (strcmp(f[1], "PASS") == 0) {
		op_pass(a, j->conn, f, (size_t)n);
	} else if (strcmp(f[1], "SCRAM1") == 0) {
		op_scram1(a, j->conn, f, (size_t)n);
	} else if (strcmp(f[1], "SCRAM2") == 0) {
		op_scram2(a, j->conn, f, (size_t)n);
	} else if (strcmp(f[1], "SCRAMX") == 0 && n == 3) {
		struct scram_sess *x = sess_take(j->conn, f[2]);
		if (x != NULL)
			sess_free(x);
		reply1(j->conn, f[0], "OK");
	} else {
		const char *r[] = { "ERR" };
		reply(j->conn, f[0], r, 1);
	}
}

static void *thread_main(void *arg)
{
	(void)arg;
	str_t err = STR_INIT;
	struct auth_ctx a;
	a.st = store_open(server.cfg, &err);
	if (a.st == NULL) {
		log_error("auth: store: %s", str_c(&err));
		exit(1);
	}
	a.sec = secrets_open(server.cfg, NULL, &err);
	if (a.sec == NULL) {
		log_error("auth: %s", str_c(&err));
		exit(1);
	}
	str_free(&err);
	for (;;) {
		pthread_mutex_lock(&lock);
		while (queue_head == NULL)
			pthread_cond_wait(&cond, &lock);
		struct job *j = queue_head;
		queue_head = j->next;
		if (queue_head == NULL)
			queue_tail = NULL;
		queue_len--;
		pthread_mutex_unlock(&lock);

		handle(&a, j);

		explicit_bzero(j->msg, j->len);
		pthread_mutex_lock(&lock);
		conn_unref_locked(j->conn);
		pthread_mutex_unlock(&lock);
		free(j);
	}
	return NULL;
}

static void enqueue(struct conn *c, const char *msg, size_t len)
{
	struct job *j = xmalloc(sizeof(*j) + len);
	j->next = NULL;
	j->conn = c;
	j->len = len;
	memcpy(j->msg, msg, len);
	pthread_mutex_lock(&lock);
	if (queue_len >= AUTH_MAX_QUEUE) {
		pthread_mutex_unlock(&lock);
		if (len > 0 && msg[len - 1] == '\0') {
			const char *r[] = { "ERR" };
			reply(c, msg, r, 1);
		}
		explicit_bzero(j->msg, len);
		free(j);
		return;
	}
	c->refs++;
	if (queue_tail != NULL)
		queue_tail->next = j;
	else
		queue_head = j;
	queue_tail = j;
	queue_len++;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
}

/* Sessions over all workers (only the reading thread touches these).
 * Each worker names its sessions with its own numbers; a session is
 * (connection of its worker, number). A worker that goes away (exits or
 * dies) takes its sessions with it. */
#define USER_BUCKETS 4096

struct user_count {
	struct user_count *next;
	unsigned n;
	char name[];
};

struct session {
	unsigned long long sid;
	struct user_count *user;
};

static struct user_count *user_counts[USER_BUCKETS];

static struct user_count **user_slot(const char *name)
{
	unsigned h = 5381;
	for (const char *p = name; *p != '\0'; p++)
		h = h * 33 + (unsigned char)*p;
	struct user_count **u = &user_counts[h % USER_BUCKETS];
	while (*u != NULL && strcmp((*u)->name, name) != 0)
		u = &(*u)->next;
	return u;
}

static void session_release(struct session *x)
{
	struct user_count **u = user_slot(x->user->name);
	if (--x->user->n == 0) {
		struct user_count *dead = *u;
		*u = dead->next;
		free(dead);
	}
}

/* SESS sid user -> OK | LIMIT (a new login: counted when under the limit)
 * HOLD sid user -> OK         (a session from before the auth process
 *                              restarted: counted whatever the limit)
 * END sid       -> OK         (the session is over; unknown sids are fine) */
static void op_session(struct conn *c, const char **f, size_t n)
{
	const char *id = f[0];
	bool hold = strcmp(f[1], "HOLD") == 0;
	if (strcmp(f[1], "END") == 0 && n == 3) {
		unsigned long long sid = strtoull(f[2], NULL, 10);
		for (size_t i = 0; i < c->nsessions; i++) {
			if (c->sessions[i].sid == sid) {
				session_release(&c->sessions[i]);
				c->sessions[i] = c->sessions[--c->nsessions];
				break;
			}
		}
		reply1(c, id, "OK");
		return;
	}
	if (n != 4 || f[3][0] == '\0' || strlen(f[3]) > USER_NAME_MAX) {
		reply1(c, id, "ERR");
		return;
	}
	struct user_count **u = user_slot(f[3]);
	unsigned max = (unsigned)config_int(server.cfg, "maxlogins_per_user");
	if (!hold && max > 0 && *u != NULL && (*u)->n >= max) {
		reply1(c, id, "LIMIT");
		return;
	}
	if (*u == NULL) {
		size_t len = strlen(f[3]);
		*u = xcalloc(1, sizeof(**u) + len + 1);
		memcpy((*u)->name, f[3], len + 1);
	}
	(*u)->n++;
	if (c->nsessions == c->sessions_alloc) {
		c->sessions_alloc = c->sessions_alloc ? c->sessions_alloc * 2 : 16;
		c->sessions = xrealloc(c->sessions, c->sessions_alloc * sizeof(*c->sessions));
	}
	c->sessions[c->nsessions].sid = strtoull(f[2], NULL, 10);
	c->sessions[c->nsessions].user = *u;
	c->nsessions++;
	reply1(c, id, "OK");
}

/* A session message, handled at once by the reading thread, in the order
 * the worker sent them: 1. Anything else: 0. */
static int session_message(struct conn *c, char *msg, size_t len)
{
	const char *f[AUTH_MAX_FIELDS];
	int n = split_fields(msg, len, f, AUTH_MAX_FIELDS);
	if (n < 3 || (strcmp(f[1], "SESS") != 0 && strcmp(f[1], "HOLD") != 0 && strcmp(f[1], "END") != 0))
		return 0;
	op_session(c, f, (size_t)n);
	return 1;
}

static void sessions_release_all(struct conn *c)
{
	for (size_t i = 0; i < c->nsessions; i++)
		session_release(&c->sessions[i]);
	free(c->sessions);
	c->sessions = NULL;
	c->nsessions = c->sessions_alloc = 0;
}

static void auth_run(int listen_fd)
{
	log_set_role("auth");
	prctl(PR_SET_NAME, "agorad-auth", 0, 0, 0);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);    /* no core dumps full of passwords */
	for (unsigned i = 0; i < server.nlisteners; i++)
		close(server.listeners[i].fd);
	RAND_bytes(fake_key, sizeof(fake_key));
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned nthreads = ncpu < 2 ? 2 : ncpu > AUTH_MAX_THREADS ? AUTH_MAX_THREADS : (unsigned)ncpu;
	for (unsigned i = 0; i < nthreads; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, thread_main, NULL) != 0) {
			log_error("auth: cannot start threads");
			exit(1);
		}
		pthread_detach(t);
	}
	struct pollfd pfd[AUTH_MAX_CONNS + 1];
	struct conn *conns[AUTH_MAX_CONNS + 1];
	size_t nconns = 0;
	char *buf = xmalloc(AUTH_MSG_MAX);
	for (;;) {
		pfd[0].fd = listen_fd;
		pfd[0].events = nconns < AUTH_MAX_CONNS ? POLLIN : 0;
		for (size_t i = 0; i < nconns; i++) {
			pfd[i + 1].fd = conns[i]->fd;
			pfd[i + 1].events = POLLIN;
		}
		if (poll(pfd, nconns + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("auth: poll: %s", strerror(errno));
			exit(1);
		}
		for (size_t i = nconns; i > 0; i--) {
			if (pfd[i].revents == 0)
				continue;
			struct conn *c = conns[i - 1];
			ssize_t r = recv(c->fd, buf, AUTH_MSG_MAX, MSG_DONTWAIT | MSG_TRUNC);
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r <= 0) {
				/* the worker went away, and its sessions with it */
				sessions_release_all(c);
				pthread_mutex_lock(&lock);
				shutdown(c->fd, SHUT_RDWR);
				conn_unref_locked(c);
				pthread_mutex_unlock(&lock);
				conns[i - 1] = conns[--nconns];
				continue;
			}
			if (r > AUTH_MSG_MAX) {
				log_warn("auth: request of %zd bytes dropped", r);
				continue;
			}
			if (session_message(c, buf, (size_t)r))
				continue;
			enqueue(c, buf, (size_t)r);
		}
		if (pfd[0].revents & POLLIN) {
			int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0) {
				struct conn *c = xcalloc(1, sizeof(*c));
				c->fd = fd;
				c->refs = 1;
				conns[nconns++] = c;
			}
		}
	}
}

pid_t auth_process_start(int listen_fd)
{
	pid_t pid = master_fork();
	if (pid == 0) {
		signal(SIGPIPE, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		auth_run(listen_fd);
		_exit(1);
	}
	return pid;
}
