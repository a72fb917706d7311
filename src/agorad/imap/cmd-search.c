/* SEARCH and UID SEARCH: every RFC 3501 key, CHARSET UTF-8 (and US-ASCII),
 * MODSEQ (CONDSTORE) and ESEARCH's RETURN options MIN MAX COUNT ALL. */
#include "agorad/imap/imap-commands.h"
#include "agorad/imap/imap-client.h"
#include "agorad/imap/imap-flags.h"
#include "agorad/imap/imap-selected.h"
#include "agorad/worker.h"
#include "lib/bounds.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "lib-imap/imap-date.h"
#include "lib-imap/mutf7.h"
#include "lib-imap/seqset.h"
#include "lib-mail/message-parser.h"
#include "lib-mail/message-search.h"
#include "lib-mail/utf8-fold.h"
#include "lib-storage/msgfile-read.h"
#include "lib-storage/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define ST (worker->store)

enum key_kind {
	K_ALL, K_AND, K_OR, K_NOT, K_FLAG, K_NOFLAG, K_KEYWORD, K_UNKEYWORD, K_NEW, K_OLD, K_RECENT,
	K_SEQ, K_UID, K_LARGER, K_SMALLER, K_BEFORE, K_ON, K_SINCE, K_SENTBEFORE, K_SENTON, K_SENTSINCE,
	K_HEADER, K_BODY, K_TEXT, K_MODSEQ,
};

struct key {
	enum key_kind kind;
	uint32_t flag;
	const char *str, *field;
	uint64_t num;
	time_t date;
	struct seqset set;
	struct key *a, *b;   /* children: AND list (a = first, b = next sibling), OR, NOT */
	char code;           /* K_HEADER on a field the search fields keep, else 0 */
	str_t folded;        /* its needle, folded */
	struct key *next;
};

struct sparser {
	const struct imap_arg *args;
	size_t n, i;
	const char *error;
	struct imap_selected *sel;
	bool uid;
	bool need_file, need_detail, need_header;
	bool need_fields;    /* header keys the stored search fields answer */
};

static struct key *key_new(enum key_kind k)
{
	struct key *key = xcalloc(1, sizeof(*key));
	key->kind = k;
	return key;
}

static void key_free(struct key *k)
{
	while (k != NULL) {
		struct key *next = k->next;
		key_free(k->a);
		key_free(k->b);
		seqset_free(&k->set);
		str_free(&k->folded);
		free(k);
		k = next;
	}
}

static const char *take_string(struct sparser *p)
{
	if (p->i >= p->n || p->args[p->i].type == IMAP_ARG_LIST) {
		p->error = "Missing argument";
		return NULL;
	}
	const struct imap_arg *a = &p->args[p->i++];
	if (memchr(a->str, '\0', a->len) != NULL || !utf8_is_valid(a->str, a->len)) {
		p->error = "Invalid UTF-8 in search string";
		return NULL;
	}
	return a->str;
}

static int take_number(struct sparser *p, uint64_t *n)
{
	const char *s = take_string(p);
	char *end;
	if (s == NULL)
		return -1;
	errno = 0;
	*n = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0) {
		p->error = "Invalid number";
		return -1;
	}
	return 0;
}

static int take_date(struct sparser *p, time_t *t)
{
	const char *s = take_string(p);
	if (s == NULL)
		return -1;
	if (imap_parse_date(s, t) < 0) {
		p->error = "Invalid date";
		return -1;
	}
	return 0;
}

static struct key *parse_key(struct sparser *p, int depth);

/* A header key is answered from the stored search fields when they keep
 * its field; otherwise (and for messages stored before they were kept)
 * from the header, which the metadata holds too. */
static void header_key(struct sparser *p, struct key *k)
{
	k->code = message_search_field_code(k->field);
	if (k->code != 0) {
		utf8_fold_case(&k->folded, k->str, strlen(k->str));
		p->need_fields = true;
	} else {
		p->need_detail = p->need_header = true;
	}
}

static struct key *parse_list(struct sparser *p, const struct imap_arg *args, size_t n, int depth)
{
	struct sparser sub = *p;
	sub.args = args;
	sub.n = n;
	sub.i = 0;
	struct key *and = key_new(K_AND), **tail = &and->a;
	while (sub.i < sub.n) {
		struct key *k = parse_key(&sub, depth);
		if (k == NULL) {
			p->error = sub.error;
			key_free(and);
			return NULL;
		}
		*tail = k;
		tail = &k->next;
	}
	p->need_file |= sub.need_file;
	p->need_detail |= sub.need_detail;
	p->need_header |= sub.need_header;
	p->need_fields |= sub.need_fields;
	if (and->a == NULL) {
		p->error = "Empty search key list";
		key_free(and);
		return NULL;
	}
	return and;
}

static struct key *parse_key(struct sparser *p, int depth)
{
	static const struct { const char *name; enum key_kind kind; uint32_t flag; } simple[] = {
		{ "ALL", K_ALL, 0 }, { "ANSWERED", K_FLAG, MSG_ANSWERED }, { "DELETED", K_FLAG, MSG_DELETED },
		{ "DRAFT", K_FLAG, MSG_DRAFT }, { "FLAGGED", K_FLAG, MSG_FLAGGED }, { "SEEN", K_FLAG, MSG_SEEN },
		{ "UNANSWERED", K_NOFLAG, MSG_ANSWERED }, { "UNDELETED", K_NOFLAG, MSG_DELETED },
		{ "UNDRAFT", K_NOFLAG, MSG_DRAFT }, { "UNFLAGGED", K_NOFLAG, MSG_FLAGGED },
		{ "UNSEEN", K_NOFLAG, MSG_SEEN }, { "NEW", K_NEW, 0 }, { "OLD", K_OLD, 0 }, { "RECENT", K_RECENT, 0 },
	};
	if (depth > SEARCH_MAX_DEPTH) {
		p->error = "Search keys nested too deeply";
		return NULL;
	}
	if (p->i >= p->n) {
		p->error = "Missing search key";
		return NULL;
	}
	const struct imap_arg *a = &p->args[p->i++];
	if (a->type == IMAP_ARG_LIST)
		return parse_list(p, a->list, a->count, depth + 1);
	if (a->type != IMAP_ARG_ATOM) {
		p->error = "Invalid search key";
		return NULL;
	}
	const char *w = a->str;
	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
		if (strcasecmp(w, simple[i].name) == 0) {
			struct key *k = key_new(simple[i].kind);
			k->flag = simple[i].flag;
			return k;
		}
	}
	struct key *k = NULL;
	if (strcasecmp(w, "NOT") == 0) {
		k = key_new(K_NOT);
		if ((k->a = parse_key(p, depth + 1)) == NULL)
			goto fail;
	} else if (strcasecmp(w, "OR") == 0) {
		k = key_new(K_OR);
		if ((k->a = parse_key(p, depth + 1)) == NULL || (k->b = parse_key(p, depth + 1)) == NULL)
			goto fail;
	} else if (strcasecmp(w, "KEYWORD") == 0 || strcasecmp(w, "UNKEYWORD") == 0) {
		k = key_new(strcasecmp(w, "KEYWORD") == 0 ? K_KEYWORD : K_UNKEYWORD);
		if ((k->str = take_string(p)) == NULL)
			goto fail;
	} else if (strcasecmp(w, "LARGER") == 0 || strcasecmp(w, "SMALLER") == 0) {
		k = key_new(strcasecmp(w, "LARGER") == 0 ? K_LARGER : K_SMALLER);
		p->need_detail = true;
		if (take_number(p, &k->num) < 0)
			goto fail;
	} else if (strcasecmp(w, "BEFORE") == 0 || strcasecmp(w, "ON") == 0 || strcasecmp(w, "SINCE") == 0 ||
		   strcasecmp(w, "SENTBEFORE") == 0 || strcasecmp(w, "SENTON") == 0 ||
		   strcasecmp(w, "SENTSINCE") == 0) {
		enum key_kind kind = strcasecmp(w, "BEFORE") == 0 ? K_BEFORE : strcasecmp(w, "ON") == 0 ? K_ON :
			strcasecmp(w, "SINCE") == 0 ? K_SINCE : strcasecmp(w, "SENTBEFORE") == 0 ? K_SENTBEFORE :
			strcasecmp(w, "SENTON") == 0 ? K_SENTON : K_SENTSINCE;
		k = key_new(kind);
		p->need_detail = true;
		/* SENT* compare the Date: header's own calendar day, and the
		 * store keeps only the instant (sentdate): read the header. */
		if (kind == K_SENTBEFORE || kind == K_SENTON || kind == K_SENTSINCE)
			p->need_file = true;
		if (take_date(p, &k->date) < 0)
			goto fail;
	} else if (strcasecmp(w, "FROM") == 0 || strcasecmp(w, "TO") == 0 || strcasecmp(w, "CC") == 0 ||
		   strcasecmp(w, "BCC") == 0 || strcasecmp(w, "SUBJECT") == 0) {
		k = key_new(K_HEADER);
		k->field = strcasecmp(w, "FROM") == 0 ? "From" : strcasecmp(w, "TO") == 0 ? "To" :
			strcasecmp(w, "CC") == 0 ? "Cc" : strcasecmp(w, "BCC") == 0 ? "Bcc" : "Subject";
		if ((k->str = take_string(p)) == NULL)
			goto fail;
		header_key(p, k);
	} else if (strcasecmp(w, "HEADER") == 0) {
		k = key_new(K_HEADER);
		if ((k->field = take_string(p)) == NULL || (k->str = take_string(p)) == NULL)
			goto fail;
		header_key(p, k);
	} else if (strcasecmp(w, "BODY") == 0 || strcasecmp(w, "TEXT") == 0) {
		k = key_new(strcasecmp(w, "BODY") == 0 ? K_BODY : K_TEXT);
		p->need_file = p->need_detail = true;
		if ((k->str = take_string(p)) == NULL)
			goto fail;
	} else if (strcasecmp(w, "UID") == 0) {
		k = key_new(K_UID);
		const char *s = take_string(p);
		uint32_t star = p->sel->count > 0 ? p->sel->msgs[p->sel->count - 1].uid : 0;
		if (s == NULL || seqset_parse(s, star, &k->set) < 0) {
			p->error = "Invalid UID set";
			goto fail;
		}
	} else if (strcasecmp(w, "MODSEQ") == 0) {
		k = key_new(K_MODSEQ);
		/* MODSEQ [entry-name entry-type] modseq */
		if (p->i + 2 < p->n + 0 && p->args[p->i].type == IMAP_ARG_STRING)
			p->i += 2;
		if (take_number(p, &k->num) < 0)
			goto fail;
	} else if (seqset_is_valid(w)) {
		k = key_new(K_SEQ);
		if (seqset_parse(w, (uint32_t)p->sel->count, &k->set) < 0) {
			p->error = "Invalid sequence set";
			goto fail;
		}
	} else {
		p->error = "Unknown search key";
		return NULL;
	}
	return k;
fail:
	if (p->error == NULL)
		p->error = "Invalid search arguments";
	key_free(k);
	return NULL;
}

static time_t day_of(time_t t, int tz_min)
{
	t += (time_t)tz_min * 60;
	return t - (t % 86400 + 86400) % 86400;
}

struct stored_fields {
	char *data;
	size_t len;
	bool have;
};

struct msgctx {
	struct imap_selected *sel;
	size_t idx;
	struct msg_detail *d;
	const char *file;
	size_t flen;
	struct message_part *root;
	struct message_part *hroot;  /* of the cached header alone */
	const struct stored_fields *sf;  /* the message's search fields, or NULL */
	time_t sent_day;     /* day of the Date: header in its own zone; 0 not yet */
};

/* RFC 3501 6.4.4: SENT* disregard the time and the timezone of Date:, so
 * "00:30 +0200" on the 23rd is sent on the 23rd even though it is the 22nd
 * in UTC. Without a usable Date: the internal date stands in. */
static time_t sent_day(struct msgctx *m)
{
	if (m->sent_day != 0)
		return m->sent_day;
	time_t t;
	int tz;
	if (m->root != NULL && message_date_r(m->file, m->root, &t, &tz) == 0)
		m->sent_day = day_of(t, tz);
	else
		m->sent_day = day_of(m->d->internaldate, m->d->internaldate_tz);
	return m->sent_day;
}

static bool has_keyword(const char *list, const char *kw)
{
	return imap_keyword_in_list(list, kw, strlen(kw));
}

static bool eval(const struct key *k, struct msgctx *m)
{
	const struct msg_rec *r = &m->sel->msgs[m->idx];
	bool recent = imap_selected_is_recent(m->sel, m->idx);
	switch (k->kind) {
	case K_ALL: return true;
	case K_AND:
		for (const struct key *c = k->a; c != NULL; c = c->next) {
			if (!eval(c, m))
				return false;
		}
		return true;
	case K_OR: return eval(k->a, m) || eval(k->b, m);
	case K_NOT: return !eval(k->a, m);
	case K_FLAG: return (r->flags & k->flag) != 0;
	case K_NOFLAG: return (r->flags & k->flag) == 0;
	case K_KEYWORD: return has_keyword(r->keywords, k->str);
	case K_UNKEYWORD: return !has_keyword(r->keywords, k->str);
	case K_NEW: return recent && !(r->flags & MSG_SEEN);
	case K_OLD: return !recent;
	case K_RECENT: return recent;
	case K_SEQ: return seqset_contains(&k->set, (uint32_t)m->idx + 1);
	case K_UID: return seqset_contains(&k->set, r->uid);
	case K_MODSEQ: return r->modseq >= k->num;
	case K_LARGER: return m->d->size > k->num;
	case K_SMALLER: return m->d->size < k->num;
	/* Dates compare by day, in the message's own zone (RFC 3501 6.4.4). */
	case K_BEFORE: return day_of(m->d->internaldate, m->d->internaldate_tz) < k->date;
	case K_ON: return day_of(m->d->internaldate, m->d->internaldate_tz) == k->date;
	case K_SINCE: return day_of(m->d->internaldate, m->d->internaldate_tz) >= k->date;
	case K_SENTBEFORE: return sent_day(m) < k->date;
	case K_SENTON: return sent_day(m) == k->date;
	case K_SENTSINCE: return sent_day(m) >= k->date;
	case K_HEADER:
		if (k->code != 0 && m->sf != NULL)
			return message_search_fields_match(m->sf->data, m->sf->len, k->code, k->folded.data,
							   k->folded.len);
		if (m->hroot == NULL)
			m->hroot = message_parse(m->d->header, m->d->header_len);
		return m->hroot != NULL && message_search_header(m->d->header, m->d->header_len, m->hroot,
								 k->field, k->str);
	case K_BODY: return m->root != NULL && message_search_body(m->file, m->flen, m->root, k->str);
	case K_TEXT: return m->root != NULL && message_search_text(m->file, m->flen, m->root, k->str);
	}
	return false;
}

struct fields_load {
	struct imap_selected *sel;
	struct stored_fields *out;
	size_t pos;
};

/* Rows come in ascending UID, as the session's messages are: one walk. */
static int fields_row(void *ctx, uint32_t uid, const char *data, size_t len)
{
	struct fields_load *l = ctx;
	while (l->pos < l->sel->count && l->sel->msgs[l->pos].uid < uid)
		l->pos++;
	if (l->pos < l->sel->count && l->sel->msgs[l->pos].uid == uid) {
		struct stored_fields *f = &l->out[l->pos++];
		f->data = xmemdup(data, len + 1);
		f->len = len;
		f->have = true;
	}
	return l->pos < l->sel->count ? 0 : 1;
}

int cmd_search(struct imap_client *c, const struct imap_command *cmd,
	       const struct imap_arg *args, size_t nargs, bool uid)
{
	struct sparser p = { args, nargs, 0, NULL, c->sel, uid, false, false, false, false };
	bool esearch = false, r_min = false, r_max = false, r_count = false, r_all = false;
	if (p.i + 1 < p.n && imap_arg_is_atom(&args[p.i], "RETURN") && args[p.i + 1].type == IMAP_ARG_LIST) {
		esearch = true;
		for (size_t k = 0; k < args[p.i + 1].count; k++) {
			const struct imap_arg *o = &args[p.i + 1].list[k];
			if (imap_arg_is_atom(o, "MIN")) r_min = true;
			else if (imap_arg_is_atom(o, "MAX")) r_max = true;
			else if (imap_arg_is_atom(o, "COUNT")) r_count = true;
			else if (imap_arg_is_atom(o, "ALL")) r_all = true;
			else return -1;
		}
		if (!r_min && !r_max && !r_count)
			r_all = true;
		p.i += 2;
	}
	if (p.i + 1 < p.n && imap_arg_is_atom(&args[p.i], "CHARSET")) {
		const char *cs = arg_string(&args[p.i + 1]);
		if (cs == NULL || (strcasecmp(cs, "UTF-8") != 0 && strcasecmp(cs, "US-ASCII") != 0)) {
			client_tagged(c, cmd->tag, "NO", "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
			return 0;
		}
		p.i += 2;
	}
	struct key *root = parse_list(&p, args + p.i, nargs - p.i, 0);
	if (root == NULL) {
		client_tagged(c, cmd->tag, "BAD", "%s", p.error != NULL ? p.error : "Invalid search");
		return 1;
	}
	struct imap_selected *sel = c->sel;
	struct seqset hits = SEQSET_INIT;
	str_t res = STR_INIT, file = STR_INIT;
	uint64_t maxmodseq = 0;
	uint32_t count = 0;
	bool uses_modseq = false;
	for (struct key *k = root->a; k != NULL; k = k->next)
		uses_modseq |= k->kind == K_MODSEQ;
	int err = 0;
	bool snapshot = (p.need_detail || p.need_fields) && ST->be->read_begin(ST) == 0;
	struct stored_fields *fields = NULL;
	if (p.need_fields && sel->count > 0) {
		fields = xcalloc(sel->count, sizeof(*fields));
		struct fields_load load = { sel, fields, 0 };
		err = ST->be->msg_search_fields(ST, &sel->info, fields_row, &load);
	}
	for (size_t i = 0; i < sel->count && err == 0; i++) {
		if (sel->expunged[i])
			continue;
		struct msgctx m = { sel, i, NULL, NULL, 0, NULL, NULL, NULL, 0 };
		struct msg_detail d;
		bool need_header = p.need_header;
		if (fields != NULL && fields[i].have)
			m.sf = &fields[i];
		else if (p.need_fields)
			need_header = true;
		if (p.need_detail || need_header) {
			/* without the file, the header and dates in the metadata do */
			int dr = p.need_file ? ST->be->msg_detail(ST, &sel->info, sel->msgs[i].uid, &d) :
				ST->be->msg_fields(ST, &sel->info, sel->msgs[i].uid,
						   need_header ? MSG_F_HEADER : 0, &d);
			if (dr < 0) {
				err = -1;
				break;
			}
			if (dr == 0)
				continue;
			m.d = &d;
			if (p.need_file) {
				if (!store_msgfile_read(ST, &sel->info, &d, &snapshot, &file)) {
					log_error("message file %s: %s", d.path, strerror(errno));
					msg_detail_free(&d);
					err = -1;
					break;
				}
				m.file = file.data;
				m.flen = file.len;
				m.root = message_parse(file.data, file.len);
			}
		}
		if (eval(root, &m)) {
			uint32_t v = uid ? sel->msgs[i].uid : (uint32_t)i + 1;
			count++;
			if (esearch)
				seqset_add(&hits, v);
			else
				str_printf(&res, " %u", v);
			if (sel->msgs[i].modseq > maxmodseq)
				maxmodseq = sel->msgs[i].modseq;
		}
		message_part_free(&m.root);
		message_part_free(&m.hroot);
		if (m.d != NULL)
			msg_detail_free(&d);
	}
	if (snapshot)
		ST->be->read_end(ST);
	if (fields != NULL) {
		for (size_t i = 0; i < sel->count; i++)
			free(fields[i].data);
		free(fields);
	}
	if (err < 0) {
		client_store_error(c, cmd->tag);
	} else if (esearch) {
		str_t line = STR_INIT;
		str_printf(&line, "* ESEARCH (TAG \"%s\")%s", cmd->tag, uid ? " UID" : "");
		if (r_min && hits.count > 0)
			str_printf(&line, " MIN %u", hits.ranges[0].lo);
		if (r_max && hits.count > 0)
			str_printf(&line, " MAX %u", hits.ranges[hits.count - 1].hi);
		if (r_count)
			str_printf(&line, " COUNT %u", count);
		if (r_all && hits.count > 0) {
			str_append(&line, " ALL ");
			seqset_format(&hits, &line);
		}
		if (uses_modseq && count > 0)
			str_printf(&line, " MODSEQ %llu", (unsigned long long)maxmodseq);
		client_send(c, "%s", str_c(&line));
		str_free(&line);
		imap_command_ok(c, cmd->tag, uid, "%sSEARCH completed", uid ? "UID " : "");
	} else {
		if (uses_modseq && count > 0)
			client_send(c, "* SEARCH%s (MODSEQ %llu)", str_c(&res), (unsigned long long)maxmodseq);
		else
			client_send(c, "* SEARCH%s", str_c(&res));
		imap_command_ok(c, cmd->tag, uid, "%sSEARCH completed", uid ? "UID " : "");
	}
	seqset_free(&hits);
	str_free(&res);
	str_free(&file);
	key_free(root);
	return 0;
}
