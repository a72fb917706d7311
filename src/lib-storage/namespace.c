#include "lib-storage/namespace.h"
#include "lib/config.h"
#include "lib/xalloc.h"
#include "lib-imap/imap-quote.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void namespace_init(struct namespace *ns, const struct config *cfg, const char *user, bool admin)
{
	ns->user = xstrdup(user);
	ns->admin = admin;
	ns->alt = config_bool(cfg, "altnamespace");
	ns->sep = config_bool(cfg, "unixhierarchysep") ? '/' : '.';
	ns->userprefix = xstrdup(config_str(cfg, "userprefix"));
	ns->sharedprefix = xstrdup(config_str(cfg, "sharedprefix"));
}

void namespace_deinit(struct namespace *ns)
{
	free(ns->user);
	free(ns->userprefix);
	free(ns->sharedprefix);
	memset(ns, 0, sizeof(*ns));
}

/* Appends the client-separated `ext` to `out` in internal form: the
 * client's separator becomes '.', and with '/' as the separator a '.' in a
 * level becomes '^'. */
static int append_levels(const struct namespace *ns, const char *ext, str_t *out)
{
	if (*ext == '\0')
		return -1;
	char prev = ns->sep;
	for (const char *p = ext; *p != '\0'; p++) {
		char c = *p;
		if (c == ns->sep) {
			if (prev == ns->sep)
				return -1; /* empty level */
			str_append_c(out, '.');
		} else if (ns->sep == '/' && c == '.') {
			str_append_c(out, '^');
		} else if (c == '^') {
			return -1; /* '^' is how '.' is kept: it would come back as '.' */
		} else {
			str_append_c(out, c);
		}
		prev = c;
	}
	return prev == ns->sep ? -1 : 0;
}

static void append_external_levels(const struct namespace *ns, const char *internal, str_t *out)
{
	for (const char *p = internal; *p != '\0'; p++) {
		if (*p == '.')
			str_append_c(out, ns->sep);
		else if (*p == '^' && ns->sep == '/')
			str_append_c(out, '.');
		else
			str_append_c(out, *p);
	}
}

/* Whether ext starts with `prefix` followed by the separator; returns the
 * rest. */
static const char *strip_prefix(const struct namespace *ns, const char *ext, const char *prefix)
{
	size_t n = strlen(prefix);
	if (n > 0 && strncmp(ext, prefix, n) == 0 && ext[n] == ns->sep)
		return ext + n + 1;
	return NULL;
}

static bool is_inbox_word(const char *ext, char sep)
{
	return strncasecmp(ext, "INBOX", 5) == 0 && (ext[5] == '\0' || ext[5] == sep);
}

static int to_internal(const struct namespace *ns, const char *ext, str_t *out)
{
	const char *rest;
	str_clear(out);
	if (is_inbox_word(ext, ns->sep)) {
		str_append(out, "user.");
		str_append(out, ns->user);
		if (ext[5] == '\0')
			return 0;
		str_append_c(out, '.');
		return append_levels(ns, ext + 6, out);
	}
	if (ns->admin || !ns->alt)
		return append_levels(ns, ext, out);
	if ((rest = strip_prefix(ns, ext, ns->userprefix)) != NULL) {
		str_append(out, "user.");
		return append_levels(ns, rest, out);
	}
	if ((rest = strip_prefix(ns, ext, ns->sharedprefix)) != NULL) {
		if (strncmp(rest, "user", 4) == 0 && (rest[4] == '\0' || rest[4] == ns->sep))
			return -1; /* user.* is never a shared mailbox */
		return append_levels(ns, rest, out);
	}
	if (strcmp(ext, ns->userprefix) == 0 || strcmp(ext, ns->sharedprefix) == 0)
		return -1;
	str_append(out, "user.");
	str_append(out, ns->user);
	str_append_c(out, '.');
	return append_levels(ns, ext, out);
}

int namespace_to_internal(const struct namespace *ns, const char *ext, str_t *out)
{
	if (to_internal(ns, ext, out) < 0)
		return -1;
	/* "user" is the root of the users' hierarchy, never a mailbox: as a
	 * shared mailbox it would hold every user's INBOX. */
	if (strcmp(str_c(out), "user") == 0)
		return -1;
	return 0;
}

int namespace_to_external(const struct namespace *ns, const char *internal, str_t *out)
{
	str_clear(out);
	size_t ulen = strlen(ns->user);
	bool mine = strncmp(internal, "user.", 5) == 0 && strncmp(internal + 5, ns->user, ulen) == 0 &&
		(internal[5 + ulen] == '\0' || internal[5 + ulen] == '.');
	if (mine && !ns->admin) {
		const char *rest = internal + 5 + ulen;
		if (*rest == '\0') {
			str_append(out, "INBOX");
			return 0;
		}
		if (!ns->alt || ns->admin) {
			if (ns->admin) {
				append_external_levels(ns, internal, out);
				return 0;
			}
			str_append(out, "INBOX");
			append_external_levels(ns, rest, out);
			return 0;
		}
		append_external_levels(ns, rest + 1, out);
		return 0;
	}
	if (ns->admin || !ns->alt) {
		append_external_levels(ns, internal, out);
		return 0;
	}
	if (strncmp(internal, "user.", 5) == 0) {
		str_append(out, ns->userprefix);
		str_append_c(out, ns->sep);
		append_external_levels(ns, internal + 5, out);
		return 0;
	}
	str_append(out, ns->sharedprefix);
	str_append_c(out, ns->sep);
	append_external_levels(ns, internal, out);
	return 0;
}

bool namespace_is_inbox(const struct namespace *ns, const char *internal)
{
	return strncmp(internal, "user.", 5) == 0 && strcmp(internal + 5, ns->user) == 0;
}

static void ns_entry(str_t *out, const char *prefix, char sep)
{
	str_append(out, "((");
	imap_append_string(out, prefix, strlen(prefix));
	str_printf(out, " \"%s%c\"))", sep == '\\' ? "\\" : "", sep);
}

void namespace_response(const struct namespace *ns, str_t *out)
{
	str_t p = STR_INIT;
	if (ns->admin) {
		/* The internal namespace: personal INBOX, everything else top level. */
		str_append(&p, "INBOX");
		str_append_c(&p, ns->sep);
		ns_entry(out, str_c(&p), ns->sep);
		str_append(out, " NIL ");
		ns_entry(out, "", ns->sep);
	} else if (!ns->alt) {
		str_append(&p, "INBOX");
		str_append_c(&p, ns->sep);
		ns_entry(out, str_c(&p), ns->sep);
		str_clear(&p);
		str_printf(&p, "user%c", ns->sep);
		str_append_c(out, ' ');
		ns_entry(out, str_c(&p), ns->sep);
		str_append_c(out, ' ');
		ns_entry(out, "", ns->sep);
	} else {
		ns_entry(out, "", ns->sep);
		str_printf(&p, "%s%c", ns->userprefix, ns->sep);
		str_append_c(out, ' ');
		ns_entry(out, str_c(&p), ns->sep);
		str_clear(&p);
		str_printf(&p, "%s%c", ns->sharedprefix, ns->sep);
		str_append_c(out, ' ');
		ns_entry(out, str_c(&p), ns->sep);
	}
	str_free(&p);
}
