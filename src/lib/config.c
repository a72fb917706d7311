#include "lib/config.h"
#include "lib/xalloc.h"
#include "lib/bounds.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum key_type { K_STR, K_BOOL, K_INT, K_SIZE, K_DURATION_S, K_DURATION_M, K_LISTEN, K_PATH };

struct key_def {
	const char *name;
	enum key_type type;
	const char *def;
	const char *doc;
};

#define STR_(x) #x
#define STR(x) STR_(x)

/* Cyrus's names keep Cyrus's meanings; the listener keys and a few
 * others are Agora's own. Keep docs/configuration.md in step (it is checked
 * by a test against this table). */
static const struct key_def keys[] = {
	{ "configdirectory", K_PATH, "/var/lib/agora", "Directory of the metadata database (agora.db) and other state." },
	{ "partition-default", K_PATH, NULL, "Directory holding the message files of the partition named `default`. Any `partition-NAME` key defines partition NAME." },
	{ "defaultpartition", K_STR, "default", "Partition for new mailboxes when none is named." },
	{ "allowusermoves", K_BOOL, "no", "Let administrators rename users (`RENAME user.bob user.robert`, cyradm `renm`): their folders, subscriptions, per-user \\Seen and the ACL entries naming them follow." },
	{ "admins", K_STR, "", "Space-separated users who administer the server (they have the `l` and `a` rights everywhere and work in the internal namespace)." },
	{ "altnamespace", K_BOOL, "yes", "Alternate namespace: personal folders beside INBOX, other users under `userprefix`, shared mailboxes under `sharedprefix`." },
	{ "unixhierarchysep", K_BOOL, "yes", "Use `/` as the hierarchy separator that clients see instead of `.`." },
	{ "userprefix", K_STR, "Other Users", "Prefix of other users' folders in the alternate namespace." },
	{ "sharedprefix", K_STR, "Shared Folders", "Prefix of shared mailboxes in the alternate namespace." },
	{ "user", K_STR, NULL, "Unprivileged system user the server runs as after binding its listeners when started as root." },
	{ "workers", K_INT, "0", "Number of worker processes serving connections; 0 means one per CPU core." },
	{ "imap_listen", K_LISTEN, "", "Space-separated `HOST:PORT` (`[::1]:PORT` for IPv6) addresses for IMAP." },
	{ "imaps_listen", K_LISTEN, "", "Addresses for IMAP over implicit TLS (needs `tls_server_cert` and `tls_server_key`)." },
	{ "lmtp_listen", K_LISTEN, "", "Addresses for LMTP: `HOST:PORT` or an absolute unix socket path." },
	{ "tls_server_cert", K_PATH, NULL, "PEM certificate chain for STARTTLS and implicit TLS." },
	{ "tls_server_key", K_PATH, NULL, "PEM private key of `tls_server_cert`." },
	{ "allowanonymouslogin", K_BOOL, "no", "Allow LOGIN as `anonymous` (any password) and AUTHENTICATE ANONYMOUS; such sessions get only the rights ACLs give `anyone` and `anonymous`." },
	{ "tls_ciphers", K_STR, NULL, "OpenSSL cipher list for TLS 1.2 (`openssl ciphers` syntax); unset: OpenSSL's default. TLS 1.3 suites are OpenSSL's default." },
	{ "tls_prefer_server_ciphers", K_BOOL, "no", "Choose the cipher by the server's order of `tls_ciphers` rather than the client's." },
	{ "tls_versions", K_STR, "tls1_2 tls1_3", "TLS versions offered: `tls1_2`, `tls1_3` (older ones are refused as below the floor)." },
	{ "allowplaintext", K_BOOL, "no", "With TLS configured, allow LOGIN and PLAIN on connections that are not encrypted. Without TLS configured plaintext logins are always allowed (and a warning is logged at start)." },
	{ "maxmessagesize", K_SIZE, STR(MAX_MESSAGE_SIZE_DEFAULT), "Largest message accepted by APPEND or delivery, in bytes (K, M, G suffixes allowed)." },
	{ "maxlogins_per_user", K_INT, STR(MAX_LOGINS_PER_USER_DEFAULT), "Concurrent IMAP sessions one user may have (over all workers); 0 means no limit." },
	{ "timeout", K_DURATION_M, "30", "Autologout timer after login, in minutes (RFC 3501 asks for at least 30); `s` suffix for seconds." },
	{ "login_timeout", K_DURATION_S, STR(IMAP_LOGIN_TIMEOUT_DEFAULT_SEC), "Autologout timer before login, in seconds." },
	{ "proxyservers", K_STR, "", "Space-separated users who may log in as any other user by giving that user as the authorization identity of AUTHENTICATE PLAIN (as admins may)." },
	{ "auth_master_user_separator", K_STR, "", "Dovecot's master-user login form: with `*`, logging in as `bob*admin` with admin's password gives a session as bob, when admin is in `admins` or `proxyservers`. Empty (the default) turns the form off." },
	{ "failedloginpause", K_DURATION_S, STR(FAILED_LOGIN_PAUSE_DEFAULT_SEC), "Delay before answering a failed login, in seconds. It doubles with each further failure from the same client address or for the same user (counted across all workers, forgotten after 15 minutes without failures), up to `failedloginpause_max`." },
	{ "failedloginpause_max", K_DURATION_S, STR(FAILED_LOGIN_PAUSE_MAX_DEFAULT_SEC), "Longest delay before answering a failed login, in seconds." },
	{ "maxconnections_per_ip", K_INT, "0", "IMAP connections one client address may have open at once (over all workers); more are answered `* BYE Too many connections from your address`. 0 means no limit." },
	{ "imap_max_bad_commands", K_INT, STR(IMAP_MAX_BAD_COMMANDS), "Bad commands in a row after which the server says BYE and closes the connection." },
	{ "autocreate_quota", K_INT, "-1", "When 0 or more, a user's INBOX is created on first login; the value is its storage quota in KiB (0: no limit). -1 turns autocreation off." },
	{ "autocreate_post", K_BOOL, "no", "Also create a user's INBOX when the first message for them is delivered (LMTP or agora deliver)." },
	{ "autocreate_inbox_folders", K_STR, NULL, "Folders created under a new INBOX, separated by `|` (`Sent | Drafts | Trash | Junk`); the usual names get their SPECIAL-USE attribute." },
	{ "autocreate_subscribe_folders", K_STR, NULL, "Which of autocreate_inbox_folders (and INBOX) the user is subscribed to, separated by `|`." },
	{ "autocreate_subscribe_sharedfolders", K_STR, NULL, "Shared mailboxes (internal names, separated by `|`) a new user is subscribed to when they may see them." },
	{ "autocreate_subscribe_sharedfolders_all", K_BOOL, "no", "Subscribe a new user to every shared mailbox they may see (overrides autocreate_subscribe_sharedfolders)." },
	{ "autocreate_users", K_STR, "anyone", "Who gets an INBOX autocreated: `anyone`, or users and `group:NAME` entries." },
	{ "autocreate_quota_messages", K_INT, "0", "MESSAGE quota of a user's INBOX created by autocreate; 0: no limit." },
	{ "quotawarn", K_INT, "90", "Percentage of a quota past which a session selecting or appending to the mailbox gets an [ALERT]." },
	{ "duplicatesuppression", K_BOOL, "yes", "A message delivered again to the same mailbox with the same Message-ID (within three days) is accepted and not stored twice." },
	{ "lmtp_over_quota_perm_failure", K_BOOL, "no", "Over quota, LMTP answers 552 5.2.2 (permanent) instead of 452 4.2.2 (the sender's MTA retries)." },
	{ "defaultacl", K_STR, "anyone lrs", "ACL of a new top-level shared mailbox: identifier and rights pairs." },
	{ "postuser", K_STR, NULL, "Local part that addresses shared mailboxes over LMTP: `postuser+shared.box@domain`." },
};

struct entry {
	char *key;
	char *value;
};

struct config {
	char *path;
	struct entry *entries;
	size_t count;
};

const struct config_key_info *config_known_keys(unsigned *count_r)
{
	static struct config_key_info info[sizeof(keys) / sizeof(keys[0])];
	static const char *type_names[] = {
		[K_STR] = "string", [K_BOOL] = "boolean", [K_INT] = "integer",
		[K_SIZE] = "size", [K_DURATION_S] = "duration (seconds)",
		[K_DURATION_M] = "duration (minutes)", [K_LISTEN] = "listen list",
		[K_PATH] = "path",
	};
	for (unsigned i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		info[i].name = keys[i].name;
		info[i].type = type_names[keys[i].type];
		info[i].def = keys[i].def;
		info[i].doc = keys[i].doc;
	}
	*count_r = sizeof(keys) / sizeof(keys[0]);
	return info;
}

static const struct key_def *key_find(const char *name)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	}
	return NULL;
}

static bool is_partition_key(const char *name)
{
	if (strncmp(name, "partition-", 10) != 0 || name[10] == '\0')
		return false;
	for (const char *p = name + 10; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
			return false;
	}
	return true;
}

static int parse_bool(const char *v, bool *b)
{
	static const char *yes[] = { "yes", "true", "on", "1", "t", "y" };
	static const char *no[] = { "no", "false", "off", "0", "f", "n" };
	for (size_t i = 0; i < 6; i++) {
		if (strcasecmp(v, yes[i]) == 0) { *b = true; return 0; }
		if (strcasecmp(v, no[i]) == 0) { *b = false; return 0; }
	}
	return -1;
}

/* Integer with an optional unit suffix from `units` ("KMG" multiplies by
 * 1024s, "smhd" by seconds); `unit0` is the multiplier of a bare number. */
static int parse_number(const char *v, bool allow_negative, const char *kind,
			long long unit0, long long *out)
{
	char *end;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (end == v || errno != 0 || (n < 0 && !allow_negative))
		return -1;
	long long mult = unit0;
	if (*end != '\0') {
		char u = (char)tolower((unsigned char)*end);
		if (end[1] != '\0')
			return -1;
		if (strcmp(kind, "size") == 0) {
			if (u == 'k') mult = 1024LL;
			else if (u == 'm') mult = 1024LL * 1024;
			else if (u == 'g') mult = 1024LL * 1024 * 1024;
			else return -1;
		} else if (strcmp(kind, "duration") == 0) {
			if (u == 's') mult = 1;
			else if (u == 'm') mult = 60;
			else if (u == 'h') mult = 3600;
			else if (u == 'd') mult = 86400;
			else return -1;
		} else {
			return -1;
		}
	}
	if (n > 0 && n > (1LL << 50) / mult)
		return -1;
	*out = n * mult;
	return 0;
}

static int check_listen(const char *v, str_t *why)
{
	char *copy = xstrdup(v);
	char *save = NULL;
	int ret = 0;
	for (char *tok = strtok_r(copy, " \t,", &save); tok != NULL;
	     tok = strtok_r(NULL, " \t,", &save)) {
		if (tok[0] == '/')
			continue; /* unix socket; only lmtp_listen accepts it (checked by caller) */
		const char *port;
		if (tok[0] == '[') {
			char *close = strchr(tok, ']');
			if (close == NULL || close[1] != ':') {
				str_printf(why, "'%s' is not [ADDRESS]:PORT", tok);
				ret = -1;
				break;
			}
			port = close + 2;
		} else {
			char *colon = strrchr(tok, ':');
			if (colon == NULL) {
				str_printf(why, "'%s' is not HOST:PORT", tok);
				ret = -1;
				break;
			}
			port = colon + 1;
		}
		char *end;
		long p = strtol(port, &end, 10);
		if (*port == '\0' || *end != '\0' || p < 0 || p > 65535) {
			str_printf(why, "'%s' has no valid port", tok);
			ret = -1;
			break;
		}
	}
	free(copy);
	return ret;
}

static int check_value(const char *key, enum key_type type, const char *v, str_t *why)
{
	bool b;
	long long n;
	switch (type) {
	case K_STR:
		return 0;
	case K_PATH:
		if (v[0] == '\0') {
			str_append(why, "a path is required");
			return -1;
		}
		return 0;
	case K_BOOL:
		if (parse_bool(v, &b) < 0) {
			str_printf(why, "'%s' is not a boolean (yes or no)", v);
			return -1;
		}
		return 0;
	case K_INT:
		if (parse_number(v, strcmp(key, "autocreate_quota") == 0, "int", 1, &n) < 0) {
			str_printf(why, "'%s' is not a valid integer", v);
			return -1;
		}
		return 0;
	case K_SIZE:
		if (parse_number(v, false, "size", 1, &n) < 0) {
			str_printf(why, "'%s' is not a size (a number of bytes, K/M/G suffix allowed)", v);
			return -1;
		}
		return 0;
	case K_DURATION_S:
	case K_DURATION_M:
		if (parse_number(v, false, "duration", type == K_DURATION_M ? 60 : 1, &n) < 0) {
			str_printf(why, "'%s' is not a duration (a number, s/m/h/d suffix allowed)", v);
			return -1;
		}
		return 0;
	case K_LISTEN:
		if (check_listen(v, why) < 0)
			return -1;
		if (strcmp(key, "lmtp_listen") != 0 && strchr(v, '/') != NULL && v[0] == '/') {
			str_append(why, "only lmtp_listen accepts a unix socket path");
			return -1;
		}
		return 0;
	}
	return 0;
}

static struct entry *entry_find(const struct config *cfg, const char *key)
{
	for (size_t i = 0; i < cfg->count; i++) {
		if (strcmp(cfg->entries[i].key, key) == 0)
			return &cfg->entries[i];
	}
	return NULL;
}

int config_set(struct config *cfg, const char *key, const char *value, str_t *err)
{
	const struct key_def *def = key_find(key);
	str_t why = STR_INIT;
	if (def == NULL && !is_partition_key(key)) {
		str_printf(err, "%s: unknown configuration key", key);
		return -1;
	}
	if (check_value(key, def != NULL ? def->type : K_PATH, value, &why) < 0) {
		str_printf(err, "%s: %s", key, str_c(&why));
		str_free(&why);
		return -1;
	}
	str_free(&why);
	struct entry *e = entry_find(cfg, key);
	if (e != NULL) {
		free(e->value);
		e->value = xstrdup(value);
		return 0;
	}
	cfg->entries = xrealloc(cfg->entries, (cfg->count + 1) * sizeof(*cfg->entries));
	cfg->entries[cfg->count].key = xstrdup(key);
	cfg->entries[cfg->count].value = xstrdup(value);
	cfg->count++;
	return 0;
}

struct config *config_defaults(void)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	cfg->path = xstrdup("(defaults)");
	return cfg;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

struct config *config_load(const char *path, str_t *err)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		str_printf(err, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	struct config *cfg = config_read(f, path, err);
	fclose(f);
	return cfg;
}

struct config *config_read(FILE *f, const char *path, str_t *err)
{
	struct config *cfg = config_defaults();
	free(cfg->path);
	cfg->path = xstrdup(path);
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	while (getline(&line, &cap, f) >= 0) {
		lineno++;
		char *s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		char *colon = strchr(s, ':');
		if (colon == NULL) {
			str_printf(err, "%s:%u: %s: expected 'key: value'", path, lineno, s);
			goto fail;
		}
		*colon = '\0';
		char *key = trim(s);
		char *value = trim(colon + 1);
		str_t why = STR_INIT;
		if (config_set(cfg, key, value, &why) < 0) {
			str_printf(err, "%s:%u: %s", path, lineno, str_c(&why));
			str_free(&why);
			goto fail;
		}
		str_free(&why);
	}
	free(line);
	return cfg;
fail:
	free(line);
	config_free(&cfg);
	return NULL;
}

void config_free(struct config **cfgp)
{
	struct config *cfg = *cfgp;
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->count; i++) {
		free(cfg->entries[i].key);
		free(cfg->entries[i].value);
	}
	free(cfg->entries);
	free(cfg->path);
	free(cfg);
	*cfgp = NULL;
}

const char *config_path(const struct config *cfg)
{
	return cfg->path;
}

const char *config_str(const struct config *cfg, const char *key)
{
	struct entry *e = entry_find(cfg, key);
	if (e != NULL)
		return e->value;
	const struct key_def *def = key_find(key);
	return def != NULL ? def->def : NULL;
}

bool config_bool(const struct config *cfg, const char *key)
{
	const char *v = config_str(cfg, key);
	bool b = false;
	if (v != NULL)
		(void)parse_bool(v, &b);
	return b;
}

long long config_int(const struct config *cfg, const char *key)
{
	const char *v = config_str(cfg, key);
	long long n = 0;
	if (v != NULL)
		(void)parse_number(v, true, "size", 1, &n);
	return n;
}

long long config_seconds(const struct config *cfg, const char *key)
{
	const struct key_def *def = key_find(key);
	const char *v = config_str(cfg, key);
	long long n = 0;
	if (v != NULL && def != NULL)
		(void)parse_number(v, false, "duration", def->type == K_DURATION_M ? 60 : 1, &n);
	return n;
}

const char *config_partition(const struct config *cfg, const char *name)
{
	char key[128];
	snprintf(key, sizeof(key), "partition-%s", name);
	struct entry *e = entry_find(cfg, key);
	return e != NULL ? e->value : NULL;
}

void config_foreach_partition(const struct config *cfg,
			      void (*cb)(const char *name, const char *dir, void *ctx), void *ctx)
{
	for (size_t i = 0; i < cfg->count; i++) {
		if (is_partition_key(cfg->entries[i].key))
			cb(cfg->entries[i].key + 10, cfg->entries[i].value, ctx);
	}
}

bool config_list_has(const struct config *cfg, const char *key, const char *name)
{
	const char *v = config_str(cfg, key);
	if (v == NULL)
		return false;
	size_t n = strlen(name);
	const char *p = v;
	while (*p != '\0') {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		const char *start = p;
		while (*p != '\0' && *p != ' ' && *p != ',' && *p != '\t')
			p++;
		if ((size_t)(p - start) == n && n > 0 && memcmp(start, name, n) == 0)
			return true;
	}
	return false;
}
