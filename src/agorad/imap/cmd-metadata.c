/* GETMETADATA and SETMETADATA (RFC 5464), with the Cyrus entries
 * administrators use through cyradm's mboxcfg and info:
 * /shared/vendor/cmu/cyrus-imapd/sharedseen switches a mailbox between
 * per-user \Seen (a bulletin board) and shared \Seen (a team inbox). */
#include "agorad/imap/imap-commands.h"
#include "agorad/imap/imap-client.h"
#include "agorad/worker.h"
#include "lib/bounds.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "lib-imap/imap-quote.h"
#include "lib-storage/store.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ST (worker->store)
#define CYRUS_PREFIX "/shared/vendor/cmu/cyrus-imapd/"

static bool entry_valid(const char *e, size_t len)
{
	if (len > METADATA_MAX_NAME || memchr(e, '\0', len) != NULL)
		return false;
	if (strncasecmp(e, "/shared/", 8) != 0 && strncasecmp(e, "/private/", 9) != 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)e[i];
		if (ch <= ' ' || ch >= 0x7f || ch == '*' || ch == '%')
			return false;
		if (ch == '/' && (i + 1 == len || e[i + 1] == '/'))
			return false;
	}
	return true;
}

/* "/private/comment" -> ("/comment" stored under the user), "/shared/x" ->
 * ("/x" under ""). Entry names are case-insensitive: kept lowercase. */
static const char *split_entry(struct imap_client *c, const char *e, const char **user_r, str_t *rest)
{
	bool priv = strncasecmp(e, "/private", 8) == 0;
	*user_r = priv ? c->user : "";
	str_clear(rest);
	for (const char *p = e + (priv ? 8 : 7); *p != '\0'; p++)
		str_append_c(rest, (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p));
	return str_c(rest);
}

struct get_ctx {
	str_t *out;
	const char *scope;     /* "/shared" or "/private" */
	size_t maxsize;
	size_t longest;        /* of the values left out for MAXSIZE */
	unsigned n;
};

static void add_value(struct get_ctx *g, const char *entry, const char *value, size_t len)
{
	if (g->maxsize != 0 && len > g->maxsize) {
		if (len > g->longest)
			g->longest = len;
		return;
	}
	str_append_c(g->out, g->n++ == 0 ? '(' : ' ');
	str_printf(g->out, "\"%s%s\" ", g->scope, entry);
	if (value == NULL)
		str_append(g->out, "NIL");
	else
		imap_append_string(g->out, value, len);
}

static void list_cb(const char *entry, const char *value, size_t len, void *ctx)
{
	add_value(ctx, entry, value, len);
}

/* The entries computed from the mailbox rather than stored. */
static void computed(struct get_ctx *g, const struct mailbox_info *info, const char *rest, int depth)
{
	static const char *names[] = { "/vendor/cmu/cyrus-imapd/sharedseen",
				       "/vendor/cmu/cyrus-imapd/partition",
				       "/vendor/cmu/cyrus-imapd/uniqueid" };
	if (info == NULL || strcmp(g->scope, "/shared") != 0)
		return;
	size_t rlen = strlen(rest);
	for (size_t i = 0; i < 3; i++) {
		const char *n = names[i];
		bool match = strcmp(n, rest) == 0;
		if (!match && strncmp(n, rest, rlen) == 0 && n[rlen] == '/') {
			int levels = 0;
			for (const char *p = n + rlen; *p != '\0'; p++)
				levels += *p == '/';
			match = depth < 0 || levels <= depth;
		}
		if (!match)
			continue;
		const char *v = i == 0 ? (info->sharedseen ? "true" : "false") : i == 1 ? info->partition : info->uniqueid;
		add_value(g, n, v, strlen(v));
	}
}

/* Resolves the mailbox argument: "" is the server. Returns 1 (info filled
 * or *server set), 0 when answered. */
static int metadata_mailbox(struct imap_client *c, const char *tag, const struct imap_arg *arg,
			    struct mailbox_info *info, bool *server)
{
	const char *name = arg_mailbox(arg);
	*server = name != NULL && name[0] == '\0';
	if (*server)
		return 1;
	return client_mailbox_require(c, tag, name, info, NULL, false);
}

int cmd_getmetadata(struct imap_client *c, const struct imap_command *cmd,
		    const struct imap_arg *args, size_t nargs, bool uid)
{
	size_t i = 0, maxsize = 0;
	int depth = 0;
	if (nargs > 0 && args[0].type == IMAP_ARG_LIST) {
		const struct imap_arg *o = args[0].list;
		for (size_t k = 0; k < args[0].count; k += 2) {
			if (k + 1 >= args[0].count || o[k + 1].type != IMAP_ARG_ATOM)
				return -1;
			char *end;
			if (imap_arg_is_atom(&o[k], "MAXSIZE")) {
				maxsize = strtoul(o[k + 1].str, &end, 10);
				if (*end != '\0' || maxsize == 0)
					return -1;
			} else if (imap_arg_is_atom(&o[k], "DEPTH")) {
				if (strcmp(o[k + 1].str, "0") == 0) depth = 0;
				else if (strcmp(o[k + 1].str, "1") == 0) depth = 1;
				else if (strcasecmp(o[k + 1].str, "infinity") == 0) depth = -1;
				else return -1;
			} else {
				return -1;
			}
		}
		i = 1;
	}
	if (nargs != i + 2 || arg_mailbox(&args[i]) == NULL)
		return -1;
	const struct imap_arg *entries = args[i + 1].type == IMAP_ARG_LIST ? args[i + 1].list : &args[i + 1];
	size_t nentries = args[i + 1].type == IMAP_ARG_LIST ? args[i + 1].count : 1;
	if (nentries == 0)
		return -1;
	for (size_t k = 0; k < nentries; k++) {
		if (entries[k].type == IMAP_ARG_LIST || arg_string(&entries[k]) == NULL)
			return -1;
		size_t len = entries[k].len;
		/* Cyrus asks for "/shared/" followed by a star: the whole subtree. */
		if (len >= 2 && strcmp(entries[k].str + len - 2, "/*") == 0)
			len -= 2;
		if (!entry_valid(entries[k].str, len) && strcasecmp(entries[k].str, "/shared/*") != 0 &&
		    strcasecmp(entries[k].str, "/private/*") != 0) {
			client_tagged(c, cmd->tag, "BAD", "Invalid metadata entry name");
			return 1;
		}
	}
	struct mailbox_info info;
	bool server;
	if (!metadata_mailbox(c, cmd->tag, &args[i], &info, &server))
		return 0;
	if (!server && !(client_rights(c, &info) & (ACL_R | ACL_A))) {
		client_tagged(c, cmd->tag, "NO", "[NOPERM] Permission denied");
		mailbox_info_free(&info);
		return 0;
	}
	str_t out = STR_INIT, rest = STR_INIT, e = STR_INIT;
	str_append(&out, "* METADATA ");
	imap_append_astring(&out, args[i].str, args[i].len);
	str_append_c(&out, ' ');
	struct get_ctx g = { &out, NULL, maxsize, 0, 0 };
	int err = 0;
	for (size_t k = 0; k < nentries && err == 0; k++) {
		str_clear(&e);
		str_append(&e, entries[k].str);
		int d = depth;
		if (e.len >= 2 && strcmp(e.data + e.len - 2, "/*") == 0) {
			str_truncate(&e, e.len - 2);
			d = -1;
		}
		const char *user;
		const char *r = split_entry(c, str_c(&e), &user, &rest);
		g.scope = user[0] != '\0' ? "/private" : "/shared";
		unsigned before = g.n;
		computed(&g, server ? NULL : &info, r[0] != '\0' ? r : "", d);
		err = ST->be->metadata_list(ST, server ? 0 : info.id, user, r, d, list_cb, &g);
		if (g.n == before && d == 0 && r[0] != '\0')
			add_value(&g, r, NULL, 0); /* asked for by name, not there */
	}
	if (err < 0) {
		client_store_error(c, cmd->tag);
	} else {
		if (g.n > 0) {
			str_append_c(&out, ')');
			client_send(c, "%s", str_c(&out));
		}
		if (g.longest > 0)
			imap_command_ok(c, cmd->tag, true, "[METADATA LONGENTRIES %zu] GETMETADATA completed", g.longest);
		else
			imap_command_ok(c, cmd->tag, true, "GETMETADATA completed");
	}
	str_free(&out);
	str_free(&rest);
	str_free(&e);
	if (!server)
		mailbox_info_free(&info);
	return 0;
}

int cmd_setmetadata(struct imap_client *c, const struct imap_command *cmd,
		    const struct imap_arg *args, size_t nargs, bool uid)
{
	if (nargs != 2 || arg_mailbox(&args[0]) == NULL || args[1].type != IMAP_ARG_LIST ||
	    args[1].count == 0 || args[1].count % 2 != 0)
		return -1;
	const struct imap_arg *l = args[1].list;
	for (size_t k = 0; k < args[1].count; k += 2) {
		if (l[k].type == IMAP_ARG_LIST || l[k + 1].type == IMAP_ARG_LIST || arg_string(&l[k]) == NULL)
			return -1;
		if (!entry_valid(l[k].str, l[k].len)) {
			client_tagged(c, cmd->tag, "BAD", "Invalid metadata entry name");
			return 1;
		}
		if (l[k + 1].len > METADATA_MAX_SIZE) {
			client_tagged(c, cmd->tag, "NO", "[METADATA MAXSIZE %d] Value too large", METADATA_MAX_SIZE);
			return 0;
		}
	}
	struct mailbox_info info;
	bool server;
	if (!metadata_mailbox(c, cmd->tag, &args[0], &info, &server))
		return 0;
	acl_rights_t rights = server ? (c->admin ? ACL_ALL : ACL_L) : client_rights(c, &info);
	str_t rest = STR_INIT;
	int ret = 0;
	unsigned count = 0;
	if (ST->be->metadata_count(ST, server ? 0 : info.id, &count) < 0) {
		client_store_error(c, cmd->tag);
		goto out;
	}
	/* Check everything first, then change: a refused entry changes nothing. */
	for (size_t k = 0; k < args[1].count; k += 2) {
		const char *user;
		const char *r = split_entry(c, l[k].str, &user, &rest);
		bool sharedseen = user[0] == '\0' && strcmp(r, "/vendor/cmu/cyrus-imapd/sharedseen") == 0;
		/* Private entries are the user's own; shared ones need w (or a,
		 * the mailbox's administrator); sharedseen changes how everyone
		 * reads the mailbox, so it needs a. */
		acl_rights_t need = user[0] != '\0' ? ACL_L : sharedseen || server ? ACL_A : ACL_W | ACL_A;
		if ((rights & need) == 0) {
			client_tagged(c, cmd->tag, "NO", "[NOPERM] Permission denied");
			goto out;
		}
		if (sharedseen && !imap_arg_is_nil(&l[k + 1]) && strcasecmp(l[k + 1].str, "true") != 0 &&
		    strcasecmp(l[k + 1].str, "false") != 0) {
			client_tagged(c, cmd->tag, "NO", "sharedseen takes true or false");
			goto out;
		}
		if (!sharedseen && strncmp(r, "/vendor/cmu/cyrus-imapd/", 24) == 0 &&
		    (strcmp(r + 24, "partition") == 0 || strcmp(r + 24, "uniqueid") == 0)) {
			client_tagged(c, cmd->tag, "NO", "[CANNOT] %s cannot be set", l[k].str);
			goto out;
		}
		if (!imap_arg_is_nil(&l[k + 1]) && ++count > METADATA_MAX_ENTRIES) {
			client_tagged(c, cmd->tag, "NO", "[METADATA TOOMANY] Too many metadata entries");
			goto out;
		}
	}
	for (size_t k = 0; k < args[1].count && ret == 0; k += 2) {
		const char *user;
		const char *r = split_entry(c, l[k].str, &user, &rest);
		const struct imap_arg *v = &l[k + 1];
		bool nil = v->type == IMAP_ARG_ATOM && imap_arg_is_nil(v);
		if (user[0] == '\0' && strcmp(r, "/vendor/cmu/cyrus-imapd/sharedseen") == 0) {
			bool on = !nil && strcasecmp(v->str, "true") == 0;
			ret = ST->be->mailbox_set_sharedseen(ST, info.id, on);
			if (ret == 0)
				log_info("mboxcfg: user=%s mailbox=%s sharedseen=%s", c->user, info.name, on ? "true" : "false");
			continue;
		}
		ret = ST->be->metadata_set(ST, server ? 0 : info.id, user, r, nil ? NULL : v->str, v->len);
	}
	if (ret < 0)
		client_store_error(c, cmd->tag);
	else {
		worker_changed();
		imap_command_ok(c, cmd->tag, true, "SETMETADATA completed");
	}
out:
	str_free(&rest);
	if (!server)
		mailbox_info_free(&info);
	return 0;
}
