/* LIST (with LIST-EXTENDED, LIST-STATUS, SPECIAL-USE, CHILDREN) and LSUB */
#include "agorad/imap/imap-commands.h"
#include "agorad/imap/imap-client.h"
#include "agorad/worker.h"
#include "lib/xalloc.h"
#include "lib-imap/imap-quote.h"
#include "lib-storage/store.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ST (worker->store)

/* IMAP wildcard match: '*' matches anything, '%' anything but the
 * separator. INBOX matches case-insensitively. */
static bool wild_match(const char *pat, const char *name, char sep)
{
	while (*pat != '\0') {
		if (*pat == '*' || *pat == '%') {
			bool star = *pat == '*';
			pat++;
			for (const char *n = name;; n++) {
				if (wild_match(pat, n, sep))
					return true;
				if (*n == '\0' || (!star && *n == sep))
					return false;
			}
		}
		if (*name == '\0' || *pat != *name)
			return false;
		pat++;
		name++;
	}
	return *name == '\0';
}

static bool pattern_match(const char *pat, const char *name, char sep)
{
	/* INBOX is case-insensitive: compare with both canonicalised. */
	if (strncasecmp(name, "INBOX", 5) == 0 && (name[5] == '\0' || name[5] == sep) &&
	    strncasecmp(pat, "INBOX", 5) == 0) {
		str_t p = STR_INIT;
		str_append(&p, "INBOX");
		str_append(&p, pat + 5);
		bool r = wild_match(str_c(&p), name, sep);
		str_free(&p);
		return r;
	}
	return wild_match(pat, name, sep);
}

struct entry {
	char *ext;
	char *internal;
	char *specialuse;
	bool exists, children, subscribed;
	bool sub_below;      /* a subscribed mailbox lies below it (LSUB's % rule) */
	struct mailbox_info info;
};

struct list_ctx {
	struct imap_client *c;
	struct entry *v;
	size_t n;
	char **subs;
	size_t nsubs;
};

static struct entry *find_entry(struct list_ctx *lc, const char *ext)
{
	for (size_t i = 0; i < lc->n; i++) {
		if (strcmp(lc->v[i].ext, ext) == 0)
			return &lc->v[i];
	}
	return NULL;
}

static struct entry *add_entry(struct list_ctx *lc, const char *ext)
{
	struct entry *e = find_entry(lc, ext);
	if (e != NULL)
		return e;
	lc->v = xrealloc(lc->v, (lc->n + 1) * sizeof(*lc->v));
	e = &lc->v[lc->n++];
	memset(e, 0, sizeof(*e));
	e->ext = xstrdup(ext);
	return e;
}

static void collect(const struct mailbox_info *info, void *ctx)
{
	struct list_ctx *lc = ctx;
	struct imap_client *c = lc->c;
	if (!(client_rights(c, info) & ACL_L))
		return;
	str_t ext = STR_INIT;
	if (namespace_to_external(&c->ns, info->name, &ext) == 0) {
		struct entry *e = add_entry(lc, str_c(&ext));
		e->exists = true;
		free(e->internal);
		e->internal = xstrdup(info->name);
		free(e->specialuse);
		e->specialuse = info->specialuse ? xstrdup(info->specialuse) : NULL;
		mailbox_info_free(&e->info);
		e->info = *info;
		e->info.name = xstrdup(info->name);
		e->info.uniqueid = xstrdup(info->uniqueid);
		e->info.partition = xstrdup(info->partition);
		e->info.acl = xstrdup(info->acl);
		e->info.specialuse = info->specialuse ? xstrdup(info->specialuse) : NULL;
		/* Every level above it has children; missing levels appear as
		 * \NonExistent so a client can browse down to it. */
		for (size_t i = str_c(&ext)[0] != '\0' ? ext.len : 0; i > 0; i--) {
			if (ext.data[i - 1] != c->ns.sep)
				continue;
			char *parent = xstrndup(ext.data, i - 1);
			struct entry *p = add_entry(lc, parent);
			p->children = true;
			free(parent);
		}
	}
	str_free(&ext);
}

static void collect_sub(const char *name, void *ctx)
{
	struct list_ctx *lc = ctx;
	lc->subs = xrealloc(lc->subs, (lc->nsubs + 1) * sizeof(char *));
	lc->subs[lc->nsubs++] = xstrdup(name);
}

static bool any_pattern_matches(const char *ref, const struct imap_arg *pats, size_t npats,
				const char *name, char sep)
{
	for (size_t p = 0; p < npats; p++) {
		str_t full = STR_INIT;
		str_append(&full, ref);
		str_append(&full, pats[p].str);
		bool m = pattern_match(str_c(&full), name, sep);
		str_free(&full);
		if (m)
			return true;
	}
	return false;
}

/* Whether an existing mailbox below entry i matches too (entries are
 * sorted, so its descendants follow it). */
static bool descendant_matches(struct list_ctx *lc, size_t i, const char *ref,
			       const struct imap_arg *pats, size_t npats, char sep)
{
	size_t n = strlen(lc->v[i].ext);
	for (size_t k = i + 1; k < lc->n; k++) {
		const char *d = lc->v[k].ext;
		if (strncmp(d, lc->v[i].ext, n) != 0)
			break;
		if (d[n] != sep)
			continue;
		if (lc->v[k].exists && any_pattern_matches(ref, pats, npats, d, sep))
			return true;
	}
	return false;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->ext, ((const struct entry *)b)->ext);
}

static bool matches_any(const char *ref, const struct imap_arg *pats, size_t npats, const char *name, char sep)
{
	bool match = false;
	for (size_t p = 0; p < npats && !match; p++) {
		str_t full = STR_INIT;
		str_append(&full, ref);
		str_append(&full, pats[p].str);
		match = pattern_match(str_c(&full), name, sep);
		str_free(&full);
	}
	return match;
}

/* Whether a subscribed mailbox below `parent` is not matched itself. */
static bool subscribed_below_unmatched(struct list_ctx *lc, const char *parent, const char *ref,
				       const struct imap_arg *pats, size_t npats, char sep)
{
	size_t n = strlen(parent);
	for (size_t i = 0; i < lc->n; i++) {
		const struct entry *e = &lc->v[i];
		if (e->subscribed && strncmp(e->ext, parent, n) == 0 && e->ext[n] == sep &&
		    !matches_any(ref, pats, npats, e->ext, sep))
			return true;
	}
	return false;
}

static void list_run(struct imap_client *c, const char *tag, const char *ref,
		     const struct imap_arg *pats, size_t npats, bool lsub, bool sel_subscribed,
		     bool sel_specialuse, bool ret_subscribed, bool ret_children, bool ret_specialuse,
		     const struct imap_arg *status, size_t nstatus, bool extended)
{
	struct list_ctx lc = { c, NULL, 0, NULL, 0 };
	const char *cmdname = lsub ? "LSUB" : "LIST";
	char sep = c->ns.sep;
	/* What this user can see: everything for an admin; otherwise their
	 * own hierarchy and what the sharing index says is shared with them,
	 * their groups, or everyone. */
	if (c->admin) {
		ST->be->mailbox_list(ST, NULL, collect, &lc);
	} else {
		str_t own = STR_INIT;
		str_printf(&own, "user.%s", c->user);
		ST->be->mailbox_list(ST, str_c(&own), collect, &lc);
		str_free(&own);
		char **idents = client_share_idents(c);
		ST->be->mailbox_list_shared(ST, (const char *const *)idents, collect, &lc);
		store_strv_free(idents);
	}
	ST->be->subscriptions(ST, c->user, collect_sub, &lc);
	for (size_t i = 0; i < lc.nsubs; i++) {
		str_t ext = STR_INIT;
		if (namespace_to_external(&c->ns, lc.subs[i], &ext) == 0) {
			struct entry *e = find_entry(&lc, str_c(&ext));
			if (e == NULL && (lsub || sel_subscribed))
				e = add_entry(&lc, str_c(&ext));
			if (e != NULL)
				e->subscribed = true;
			if (lsub) {
				/* Remember the levels above for RFC 3501 6.3.9's %
				 * rule; the subscribed name itself is copied because
				 * add_entry may move the array. */
				char *name = xstrdup(str_c(&ext));
				for (char *p = strrchr(name, sep); p != NULL; p = strrchr(name, sep)) {
					*p = '\0';
					if (*name == '\0')
						break;
					add_entry(&lc, name)->sub_below = true;
				}
				free(name);
			}
		}
		str_free(&ext);
	}
	qsort(lc.v, lc.n, sizeof(*lc.v), cmp_entry);
	for (size_t i = 0; i < lc.n; i++) {
		struct entry *e = &lc.v[i];
		if (!matches_any(ref, pats, npats, e->ext, sep))
			continue;
		/* RFC 3501 6.3.9: LSUB with % lists a parent that is not
		 * subscribed itself, as \Noselect, when a subscribed mailbox
		 * below it is cut off by the %. */
		bool noselect_parent = false;
		if (lsub && !e->subscribed && e->sub_below)
			noselect_parent = subscribed_below_unmatched(&lc, e->ext, ref, pats, npats, sep);
		if ((lsub || sel_subscribed) && !e->subscribed && !noselect_parent)
			continue;
		if (sel_specialuse && e->specialuse == NULL)
			continue;
		if (!e->exists && !e->children && !e->subscribed && !noselect_parent)
			continue;
		if (!e->exists && !e->subscribed && descendant_matches(&lc, i, ref, pats, npats, sep))
			continue; /* the pattern reaches below it: no need to show the level */
		str_t attrs = STR_INIT;
		/* \NonExistent is RFC 5258's; a plain RFC 3501 LIST or LSUB
		 * client only knows \Noselect for a level that cannot be
		 * selected, and would try to SELECT it otherwise. */
		if (noselect_parent)
			str_append(&attrs, " \\Noselect");
		else if (!e->exists)
			str_append(&attrs, extended ? " \\NonExistent" : " \\Noselect");
		if (!lsub || ret_children) {
			if (e->children)
				str_append(&attrs, " \\HasChildren");
			else if (e->exists)
				str_append(&attrs, " \\HasNoChildren");
		}
		if ((ret_subscribed || sel_subscribed) && e->subscribed)
			str_append(&attrs, " \\Subscribed");
		if (e->specialuse != NULL && (!extended || ret_specialuse || sel_specialuse)) {
			str_append_c(&attrs, ' ');
			str_append(&attrs, e->specialuse);
		}
		str_t name = STR_INIT;
		imap_append_astring(&name, e->ext, strlen(e->ext));
		client_send(c, "* %s (%s) \"%c\" %s", cmdname, attrs.len ? attrs.data + 1 : "", sep, str_c(&name));
		if (nstatus > 0 && e->exists && (client_rights(c, &e->info) & ACL_R)) {
			str_t st = STR_INIT;
			if (status_items(c, &e->info, status, nstatus, &st) == 0)
				client_send(c, "* STATUS %s (%s)", str_c(&name), str_c(&st));
			str_free(&st);
		}
		str_free(&name);
		str_free(&attrs);
	}
	for (size_t i = 0; i < lc.n; i++) {
		free(lc.v[i].ext);
		free(lc.v[i].internal);
		free(lc.v[i].specialuse);
		mailbox_info_free(&lc.v[i].info);
	}
	free(lc.v);
	for (size_t i = 0; i < lc.nsubs; i++)
		free(lc.subs[i]);
	free(lc.subs);
	imap_command_ok(c, tag, true, "%s completed", cmdname);
}

int cmd_list(struct imap_client *c, const struct imap_command *cmd,
	     const struct imap_arg *args, size_t nargs, bool uid)
{
	size_t i = 0;
	bool sel_sub = false, sel_su = false, ret_sub = false, ret_children = false, ret_su = false;
	bool extended = false;
	const struct imap_arg *status = NULL;
	size_t nstatus = 0;
	if (nargs > 0 && args[0].type == IMAP_ARG_LIST) {
		extended = true;
		for (size_t k = 0; k < args[0].count; k++) {
			const struct imap_arg *o = &args[0].list[k];
			if (imap_arg_is_atom(o, "SUBSCRIBED"))
				sel_sub = true;
			else if (imap_arg_is_atom(o, "SPECIAL-USE"))
				sel_su = true;
			else if (imap_arg_is_atom(o, "REMOTE") || imap_arg_is_atom(o, "RECURSIVEMATCH"))
				continue;
			else
				return -1;
		}
		i = 1;
	}
	if (nargs < i + 2)
		return -1;
	const char *ref = arg_mailbox(&args[i]);
	if (ref == NULL)
		return -1;
	const struct imap_arg *pats;
	size_t npats;
	if (args[i + 1].type == IMAP_ARG_LIST) {
		extended = true;
		pats = args[i + 1].list;
		npats = args[i + 1].count;
		if (npats == 0)
			return -1;
	} else {
		pats = &args[i + 1];
		npats = 1;
	}
	for (size_t p = 0; p < npats; p++) {
		if (arg_string(&pats[p]) == NULL || pats[p].type == IMAP_ARG_LIST)
			return -1;
	}
	i += 2;
	if (i < nargs) {
		if (!imap_arg_is_atom(&args[i], "RETURN") || i + 2 != nargs || args[i + 1].type != IMAP_ARG_LIST)
			return -1;
		extended = true;
		const struct imap_arg *r = args[i + 1].list;
		for (size_t k = 0; k < args[i + 1].count; k++) {
			if (imap_arg_is_atom(&r[k], "SUBSCRIBED"))
				ret_sub = true;
			else if (imap_arg_is_atom(&r[k], "CHILDREN"))
				ret_children = true;
			else if (imap_arg_is_atom(&r[k], "SPECIAL-USE"))
				ret_su = true;
			else if (imap_arg_is_atom(&r[k], "STATUS") && k + 1 < args[i + 1].count &&
				 r[k + 1].type == IMAP_ARG_LIST) {
				status = r[k + 1].list;
				nstatus = r[k + 1].count;
				k++;
			} else
				return -1;
		}
	}
	if (npats == 1 && pats[0].str[0] == '\0' && !extended) {
		/* The hierarchy delimiter and root of the reference. */
		client_send(c, "* LIST (\\Noselect) \"%c\" \"\"", c->ns.sep);
		imap_command_ok(c, cmd->tag, true, "LIST completed");
		return 0;
	}
	list_run(c, cmd->tag, ref, pats, npats, false, sel_sub, sel_su, ret_sub, ret_children || true,
		 ret_su, status, nstatus, extended);
	return 0;
}

int cmd_lsub(struct imap_client *c, const struct imap_command *cmd,
	     const struct imap_arg *args, size_t nargs, bool uid)
{
	if (nargs != 2)
		return -1;
	const char *ref = arg_mailbox(&args[0]);
	if (ref == NULL || arg_string(&args[1]) == NULL)
		return -1;
	list_run(c, cmd->tag, ref, &args[1], 1, true, true, false, false, false, false, NULL, 0, false);
	return 0;
}
