#include "agorad/imap/imap-selected.h"
#include "agorad/imap/imap-client.h"
#include "agorad/imap/imap-flags.h"
#include "agorad/worker.h"
#include "lib/xalloc.h"
#include "lib-imap/seqset.h"

#include <stdlib.h>
#include <string.h>

static void sel_free(struct imap_selected *sel)
{
	mailbox_info_free(&sel->info);
	msg_rec_free_array(sel->msgs, sel->count);
	free(sel->expunged);
	seqset_free(&sel->recent);
	free(sel);
}

static void sel_push(struct imap_selected *sel, struct msg_rec *rec)
{
	if (sel->count == sel->alloc) {
		sel->alloc = sel->alloc == 0 ? 64 : sel->alloc * 2;
		sel->msgs = xrealloc(sel->msgs, sel->alloc * sizeof(*sel->msgs));
		sel->expunged = xrealloc(sel->expunged, sel->alloc * sizeof(bool));
	}
	sel->msgs[sel->count] = *rec;
	sel->expunged[sel->count] = false;
	sel->count++;
}

static int mailbox_reload(struct imap_client *c, struct imap_selected *sel)
{
	struct store *st = worker->store;
	struct mailbox_info fresh;
	int r = st->be->mailbox_get(st, sel->info.name, &fresh);
	if (r <= 0 || fresh.id != sel->info.id) {
		if (r == 1)
			mailbox_info_free(&fresh);
		return -1;
	}
	mailbox_info_free(&sel->info);
	sel->info = fresh;
	(void)c;
	return 0;
}

void imap_selected_send_flags(struct imap_client *c)
{
	struct imap_selected *sel = c->sel;
	str_t kw = STR_INIT;
	/* Keywords in use in this mailbox. */
	for (size_t i = 0; i < sel->count; i++) {
		const char *k = sel->msgs[i].keywords;
		if (k == NULL)
			continue;
		const char *p = k, *s;
		size_t n;
		while (imap_keywords_next(&p, &s, &n)) {
			if (n > 0 && !imap_keyword_in_list(str_c(&kw), s, n)) {
				str_append_c(&kw, ' ');
				str_append_n(&kw, s, n);
			}
		}
	}
	client_send(c, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft%s)", str_c(&kw));
	acl_rights_t r = sel->rights;
	if (sel->readonly) {
		client_send(c, "* OK [PERMANENTFLAGS ()] No permanent flags permitted");
	} else {
		str_t pf = STR_INIT;
		if (r & ACL_W)
			str_append(&pf, " \\Answered \\Flagged \\Draft");
		if (r & ACL_T)
			str_append(&pf, " \\Deleted");
		if (r & ACL_S)
			str_append(&pf, " \\Seen");
		if (r & ACL_W) {
			str_append(&pf, str_c(&kw));
			str_append(&pf, " \\*");
		}
		client_send(c, "* OK [PERMANENTFLAGS (%s)] Flags permitted", pf.len > 0 ? pf.data + 1 : "");
		str_free(&pf);
	}
	str_free(&kw);
}

int imap_selected_open(struct imap_client *c, const struct mailbox_info *info, bool readonly)
{
	struct store *st = worker->store;
	struct imap_selected *sel = xcalloc(1, sizeof(*sel));
	sel->info = *info;
	sel->info.name = xstrdup(info->name);
	sel->info.uniqueid = xstrdup(info->uniqueid);
	sel->info.partition = xstrdup(info->partition);
	sel->info.acl = xstrdup(info->acl);
	sel->info.specialuse = info->specialuse ? xstrdup(info->specialuse) : NULL;
	sel->rights = client_rights(c, info);
	sel->readonly = readonly;
	/* Claiming \Recent is a write: only when something arrived since the
	 * last session claimed. */
	if (!readonly && info->recentuid + 1 < info->uidnext) {
		uint32_t old, new;
		if (st->be->mailbox_claim_recent(st, info->id, &old, &new) < 0) {
			sel_free(sel);
			return -1;
		}
		if (new > old)
			seqset_add_range(&sel->recent, old + 1, new);
	}
	if (mailbox_reload(c, sel) < 0) {
		sel_free(sel);
		return -1;
	}
	struct msg_rec *recs;
	size_t n;
	if (st->be->msg_list(st, &sel->info, c->user, 0, &recs, &n) < 0) {
		sel_free(sel);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		sel_push(sel, &recs[i]);
	free(recs);
	sel->modseq = sel->info.highestmodseq;
	sel->exists_sent = (uint32_t)sel->count;
	c->sel = sel;
	c->state = IMAP_SELECTED;
	return 0;
}

void imap_selected_close(struct imap_client *c)
{
	if (c->sel == NULL)
		return;
	sel_free(c->sel);
	c->sel = NULL;
	if (c->state == IMAP_SELECTED)
		c->state = IMAP_AUTH;
}

long imap_selected_find_uid(const struct imap_selected *sel, uint32_t uid)
{
	size_t lo = 0, hi = sel->count;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (sel->msgs[mid].uid < uid)
			lo = mid + 1;
		else if (sel->msgs[mid].uid > uid)
			hi = mid;
		else
			return (long)mid;
	}
	return -1;
}

static void append_flag_names(uint32_t flags, const char *keywords, str_t *out)
{
	size_t start = out->len;
	if (flags & MSG_ANSWERED) str_append(out, " \\Answered");
	if (flags & MSG_FLAGGED) str_append(out, " \\Flagged");
	if (flags & MSG_DELETED) str_append(out, " \\Deleted");
	if (flags & MSG_SEEN) str_append(out, " \\Seen");
	if (flags & MSG_DRAFT) str_append(out, " \\Draft");
	if (flags & MSG_RECENT) str_append(out, " \\Recent");
	if (keywords != NULL && keywords[0] != '\0') {
		str_append_c(out, ' ');
		str_append(out, keywords);
	}
	if (out->len > start) {
		/* drop the leading space */
		memmove(out->data + start, out->data + start + 1, out->len - start - 1);
		str_truncate(out, out->len - 1);
	}
}

bool imap_selected_is_recent(const struct imap_selected *sel, size_t idx)
{
	return seqset_contains(&sel->recent, sel->msgs[idx].uid);
}

void imap_selected_flags(const struct imap_selected *sel, size_t idx, str_t *out)
{
	uint32_t f = sel->msgs[idx].flags;
	if (imap_selected_is_recent(sel, idx))
		f |= MSG_RECENT;
	append_flag_names(f, sel->msgs[idx].keywords, out);
}

void imap_selected_update(struct imap_selected *sel, const struct msg_rec *rec)
{
	long i = imap_selected_find_uid(sel, rec->uid);
	if (i < 0)
		return;
	struct msg_rec *m = &sel->msgs[i];
	m->flags = rec->flags;
	free(m->keywords);
	m->keywords = rec->keywords != NULL ? xstrdup(rec->keywords) : NULL;
	m->modseq = rec->modseq;
}

static void send_fetch_flags(struct imap_client *c, size_t idx)
{
	str_t f = STR_INIT;
	imap_selected_flags(c->sel, idx, &f);
	if (c->condstore)
		client_send(c, "* %zu FETCH (UID %u FLAGS (%s) MODSEQ (%llu))", idx + 1, c->sel->msgs[idx].uid,
			    str_c(&f), (unsigned long long)c->sel->msgs[idx].modseq);
	else
		client_send(c, "* %zu FETCH (UID %u FLAGS (%s))", idx + 1, c->sel->msgs[idx].uid, str_c(&f));
	str_free(&f);
}

static void announce_expunges(struct imap_client *c)
{
	struct imap_selected *sel = c->sel;
	size_t out = 0;
	for (size_t i = 0; i < sel->count; i++) {
		if (sel->expunged[i]) {
			/* Sequence numbers shift down with every EXPUNGE sent. */
			client_send(c, "* %zu EXPUNGE", out + 1);
			free(sel->msgs[i].keywords);
			continue;
		}
		sel->msgs[out] = sel->msgs[i];
		sel->expunged[out] = false;
		out++;
	}
	sel->count = out;
	sel->pending_expunges = 0;
	sel->exists_sent = (uint32_t)out;
}

void imap_selected_sync(struct imap_client *c, bool allow_expunge)
{
	struct imap_selected *sel = c->sel;
	struct store *st = worker->store;
	if (sel == NULL)
		return;
	uint64_t before = sel->info.highestmodseq;
	(void)before;
	if (mailbox_reload(c, sel) < 0) {
		client_close(c, "The selected mailbox was deleted or renamed");
		return;
	}
	if (sel->info.highestmodseq > sel->modseq) {
		uint64_t since = sel->modseq;
		uint32_t *gone = NULL;
		size_t ngone = 0;
		struct msg_rec *recs = NULL;
		size_t n = 0;
		if (st->be->msg_expunged_since(st, sel->info.id, since, &gone, &ngone) < 0 ||
		    st->be->msg_list(st, &sel->info, c->user, since, &recs, &n) < 0) {
			free(gone);
			return;
		}
		for (size_t i = 0; i < ngone; i++) {
			long idx = imap_selected_find_uid(sel, gone[i]);
			if (idx >= 0 && !sel->expunged[idx]) {
				sel->expunged[idx] = true;
				sel->pending_expunges++;
			}
		}
		free(gone);
		uint32_t last_uid = sel->count > 0 ? sel->msgs[sel->count - 1].uid : 0;
		bool new_msgs = false;
		for (size_t i = 0; i < n; i++) {
			long idx = imap_selected_find_uid(sel, recs[i].uid);
			if (idx >= 0) {
				struct msg_rec *m = &sel->msgs[idx];
				bool changed = m->flags != recs[i].flags ||
					(m->keywords == NULL) != (recs[i].keywords == NULL) ||
					(m->keywords != NULL && strcmp(m->keywords, recs[i].keywords) != 0);
				imap_selected_update(sel, &recs[i]);
				if (changed && !sel->expunged[idx])
					send_fetch_flags(c, (size_t)idx);
			} else if (recs[i].uid > last_uid) {
				sel_push(sel, &recs[i]);
				recs[i].keywords = NULL; /* now owned by the view */
				last_uid = recs[i].uid;
				new_msgs = true;
			}
		}
		msg_rec_free_array(recs, n);
		if (new_msgs && !sel->readonly) {
			uint32_t old, new;
			if (st->be->mailbox_claim_recent(st, sel->info.id, &old, &new) == 0 && new > old)
				seqset_add_range(&sel->recent, old + 1, new);
		}
		sel->modseq = sel->info.highestmodseq;
	}
	if (allow_expunge && sel->pending_expunges > 0)
		announce_expunges(c);
	if (sel->count != sel->exists_sent && sel->count > sel->exists_sent) {
		client_send(c, "* %zu EXISTS", sel->count);
		uint32_t recent = 0;
		for (size_t i = 0; i < sel->count; i++) {
			if (imap_selected_is_recent(sel, i))
				recent++;
		}
		client_send(c, "* %u RECENT", recent);
		sel->exists_sent = (uint32_t)sel->count;
	}
}

int imap_selected_resolve(const struct imap_selected *sel, const char *set, bool uid,
			  uint32_t **idx_r, size_t *count_r)
{
	struct seqset ss = SEQSET_INIT;
	uint32_t star = uid ? (sel->count > 0 ? sel->msgs[sel->count - 1].uid : 0) : (uint32_t)sel->count;
	if (seqset_parse(set, star, &ss) < 0)
		return -1;
	uint32_t *idx = NULL;
	size_t n = 0, alloc = 0;
	if (uid) {
		for (size_t i = 0; i < sel->count; i++) {
			if (seqset_contains(&ss, sel->msgs[i].uid)) {
				if (n == alloc) {
					alloc = alloc == 0 ? 64 : alloc * 2;
					idx = xrealloc(idx, alloc * sizeof(*idx));
				}
				idx[n++] = (uint32_t)i;
			}
		}
	} else {
		for (size_t r = 0; r < ss.count; r++) {
			if (ss.ranges[r].hi > sel->count || sel->count == 0) {
				/* RFC 3501: a sequence number beyond the mailbox is an error */
				seqset_free(&ss);
				free(idx);
				return -2;
			}
			for (uint64_t s = ss.ranges[r].lo; s <= ss.ranges[r].hi; s++) {
				if (n == alloc) {
					alloc = alloc == 0 ? 64 : alloc * 2;
					idx = xrealloc(idx, alloc * sizeof(*idx));
				}
				idx[n++] = (uint32_t)(s - 1);
			}
		}
	}
	seqset_free(&ss);
	*idx_r = idx;
	*count_r = n;
	return 0;
}
