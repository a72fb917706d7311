/* FETCH and UID FETCH (with BINARY and CONDSTORE's CHANGEDSINCE/MODSEQ) */
#include "agorad/imap/imap-commands.h"
#include "agorad/imap/imap-client.h"
#include "agorad/imap/imap-selected.h"
#include "agorad/server.h"
#include "agorad/worker.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "lib-imap/imap-date.h"
#include "lib-mail/message-imap.h"
#include "lib-mail/message-parser.h"
#include "lib-storage/msgfile-read.h"
#include "lib-storage/store.h"

#include <ctype.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define ST (worker->store)

enum fetch_kind {
	F_FLAGS, F_UID, F_INTERNALDATE, F_SIZE, F_ENVELOPE, F_BODYSTRUCTURE, F_BODY, F_MODSEQ,
	F_SECTION, F_BINARY_SIZE,
};

struct fetch_item {
	enum fetch_kind kind;
	char *section;        /* inside the brackets */
	const char *label;    /* RFC822, RFC822.HEADER, ... or NULL for BODY[..] */
	bool peek, binary, partial;
	uint64_t offset, length;
};

struct fetch_req {
	struct fetch_item *items;
	size_t n;
	bool need_detail, need_file, sets_seen;
	bool snapshot;   /* the command reads in one read transaction */
	uint64_t changedsince;
};

static void add_item(struct fetch_req *r, struct fetch_item it)
{
	r->items = xrealloc(r->items, (r->n + 1) * sizeof(*r->items));
	r->items[r->n++] = it;
}

static void add_simple(struct fetch_req *r, enum fetch_kind k)
{
	struct fetch_item it = { .kind = k };
	add_item(r, it);
	if (k != F_FLAGS && k != F_UID && k != F_MODSEQ)
		r->need_detail = true;
}

/* BODY[...]<o.n>, BODY.PEEK[...], BINARY[...], BINARY.PEEK, BINARY.SIZE */
static int parse_section_item(struct fetch_req *r, const char *s)
{
	struct fetch_item it = { .kind = F_SECTION };
	const char *open = strchr(s, '[');
	const char *close = open != NULL ? strrchr(s, ']') : NULL;
	if (open == NULL || close == NULL || close < open)
		return -1;
	size_t plen = (size_t)(open - s);
	if (plen == 4 && strncasecmp(s, "BODY", 4) == 0) {
	} else if (plen == 9 && strncasecmp(s, "BODY.PEEK", 9) == 0) {
		it.peek = true;
	} else if (plen == 6 && strncasecmp(s, "BINARY", 6) == 0) {
		it.binary = true;
	} else if (plen == 11 && strncasecmp(s, "BINARY.PEEK", 11) == 0) {
		it.binary = it.peek = true;
	} else if (plen == 11 && strncasecmp(s, "BINARY.SIZE", 11) == 0) {
		it.kind = F_BINARY_SIZE;
		it.binary = true;
	} else {
		return -1;
	}
	it.section = xstrndup(open + 1, (size_t)(close - open - 1));
	const char *p = close + 1;
	if (*p == '<') {
		if (it.kind == F_BINARY_SIZE)
			goto bad;
		char *end;
		errno = 0;
		if (!isdigit((unsigned char)p[1]))
			goto bad;
		it.offset = strtoull(p + 1, &end, 10);
		if (*end != '.' || !isdigit((unsigned char)end[1]) || errno != 0)
			goto bad;
		it.length = strtoull(end + 1, &end, 10);
		if (strcmp(end, ">") != 0 || errno != 0 || it.length == 0)
			goto bad;
		it.partial = true;
	} else if (*p != '\0') {
		goto bad;
	}
	/* Validate the section now so that a bad one is BAD, not NO later. */
	str_t tmp = STR_INIT;
	const char *probe = "Subject: x\r\n\r\nbody\r\n";
	struct message_part *root = message_parse(probe, strlen(probe));
	int v = message_imap_section(&tmp, probe, strlen(probe), root, it.section, it.binary);
	message_part_free(&root);
	str_free(&tmp);
	if (v == -1)
		goto bad;
	if (!it.peek && it.kind == F_SECTION)
		r->sets_seen = true;
	r->need_detail = r->need_file = true;
	add_item(r, it);
	return 0;
bad:
	free(it.section);
	return -1;
}

static int parse_atom_item(struct fetch_req *r, const char *s)
{
	if (strchr(s, '[') != NULL)
		return parse_section_item(r, s);
	if (strcasecmp(s, "FLAGS") == 0) add_simple(r, F_FLAGS);
	else if (strcasecmp(s, "UID") == 0) add_simple(r, F_UID);
	else if (strcasecmp(s, "INTERNALDATE") == 0) add_simple(r, F_INTERNALDATE);
	else if (strcasecmp(s, "RFC822.SIZE") == 0) add_simple(r, F_SIZE);
	else if (strcasecmp(s, "ENVELOPE") == 0) add_simple(r, F_ENVELOPE);
	else if (strcasecmp(s, "BODYSTRUCTURE") == 0) add_simple(r, F_BODYSTRUCTURE);
	else if (strcasecmp(s, "BODY") == 0) add_simple(r, F_BODY);
	else if (strcasecmp(s, "MODSEQ") == 0) add_simple(r, F_MODSEQ);
	else if (strcasecmp(s, "ALL") == 0) {
		add_simple(r, F_FLAGS); add_simple(r, F_INTERNALDATE); add_simple(r, F_SIZE); add_simple(r, F_ENVELOPE);
	} else if (strcasecmp(s, "FAST") == 0) {
		add_simple(r, F_FLAGS); add_simple(r, F_INTERNALDATE); add_simple(r, F_SIZE);
	} else if (strcasecmp(s, "FULL") == 0) {
		add_simple(r, F_FLAGS); add_simple(r, F_INTERNALDATE); add_simple(r, F_SIZE);
		add_simple(r, F_ENVELOPE); add_simple(r, F_BODY);
	} else if (strcasecmp(s, "RFC822") == 0 || strcasecmp(s, "RFC822.HEADER") == 0 ||
		   strcasecmp(s, "RFC822.TEXT") == 0) {
		struct fetch_item it = { .kind = F_SECTION };
		if (strcasecmp(s, "RFC822") == 0) {
			it.section = xstrdup("");
			it.label = "RFC822";
		} else if (strcasecmp(s, "RFC822.HEADER") == 0) {
			it.section = xstrdup("HEADER");
			it.label = "RFC822.HEADER";
			it.peek = true;
		} else {
			it.section = xstrdup("TEXT");
			it.label = "RFC822.TEXT";
		}
		if (!it.peek)
			r->sets_seen = true;
		r->need_detail = r->need_file = true;
		add_item(r, it);
	} else
		return -1;
	return 0;
}

static void req_free(struct fetch_req *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->items[i].section);
	free(r->items);
}

static void append_literal(str_t *out, const char *data, size_t len, bool binary)
{
	bool has_nul = binary && memchr(data, '\0', len) != NULL;
	str_printf(out, "%s{%zu}\r\n", has_nul ? "~" : "", len);
	str_append_n(out, data, len);
}

/* Where a section's bytes come from: the whole file, the file after the
 * header, the header kept in the metadata, or the parsed MIME tree. Only
 * the last needs a parse, and the header kind needs no file at all. */
enum section_source { SRC_WHOLE, SRC_TEXT, SRC_HEADER, SRC_PARTS };

static enum section_source section_source(const struct fetch_item *it)
{
	if (it->section[0] == '\0')
		return SRC_WHOLE;
	if (it->binary)
		return SRC_PARTS;
	if (strcasecmp(it->section, "TEXT") == 0)
		return SRC_TEXT;
	if (strncasecmp(it->section, "HEADER", 6) == 0)
		return SRC_HEADER;
	return SRC_PARTS;
}

struct fetch_msg {
	const struct mailbox_info *mbox;
	bool *snapshot;
	struct msg_detail d;
	str_t *file;
	bool file_loaded;
	struct message_part *root, *hroot;
};

static int load_file(struct fetch_msg *fm)
{
	if (fm->file_loaded)
		return 0;
	if (!store_msgfile_read(ST, fm->mbox, &fm->d, fm->snapshot, fm->file)) {
		log_error("message file %s: %s", fm->d.path, strerror(errno));
		return -1;
	}
	fm->file_loaded = true;
	return 0;
}

/* The bytes of a section: *data_r points into the file or into sec.
 * Returns 0, -1 (I/O), -2 (unknown transfer encoding). */
static int section_bytes(struct fetch_msg *fm, const struct fetch_item *it, str_t *sec,
			 const char **data_r, size_t *len_r)
{
	enum section_source src = section_source(it);
	if (src == SRC_HEADER) {
		if (fm->hroot == NULL)
			fm->hroot = message_parse(fm->d.header, fm->d.header_len);
		if (message_imap_section(sec, fm->d.header, fm->d.header_len, fm->hroot, it->section, false) == -2)
			return -2;
		*data_r = str_c(sec);
		*len_r = sec->len;
		return 0;
	}
	if (load_file(fm) < 0)
		return -1;
	if (src == SRC_WHOLE) {
		*data_r = str_c(fm->file);
		*len_r = fm->file->len;
		return 0;
	}
	if (src == SRC_TEXT) {
		size_t skip = fm->d.header_len < fm->file->len ? fm->d.header_len : fm->file->len;
		*data_r = str_c(fm->file) + skip;
		*len_r = fm->file->len - skip;
		return 0;
	}
	if (fm->root == NULL)
		fm->root = message_parse(fm->file->data, fm->file->len);
	if (message_imap_section(sec, fm->file->data, fm->file->len, fm->root, it->section, it->binary) == -2)
		return -2;
	*data_r = str_c(sec);
	*len_r = sec->len;
	return 0;
}

static void fetch_msg_free(struct fetch_msg *fm, bool have_detail)
{
	if (have_detail)
		msg_detail_free(&fm->d);
	message_part_free(&fm->root);
	message_part_free(&fm->hroot);
}

/* Which stored fields the items need besides size and dates. */
static unsigned detail_fields(const struct fetch_req *r)
{
	unsigned f = 0;
	for (size_t i = 0; i < r->n; i++) {
		const struct fetch_item *it = &r->items[i];
		switch (it->kind) {
		case F_ENVELOPE:
			f |= MSG_F_ENVELOPE;
			break;
		case F_BODYSTRUCTURE:
		case F_BODY:
			f |= MSG_F_STRUCTURE;
			break;
		case F_SECTION:
		case F_BINARY_SIZE:
			/* the whole message is the file; any other section
			 * may need the header block or its length */
			f |= MSG_F_PATH;
			if (it->section[0] != '\0' || it->binary)
				f |= MSG_F_HEADER;
			break;
		default:
			break;
		}
	}
	return f;
}

static int fetch_one(struct imap_client *c, struct fetch_req *r, size_t idx, bool uid_cmd,
		     str_t *out, str_t *file)
{
	struct imap_selected *sel = c->sel;
	struct msg_rec *m = &sel->msgs[idx];
	struct fetch_msg fm;
	memset(&fm, 0, sizeof(fm));
	fm.file = file;
	fm.mbox = &sel->info;
	fm.snapshot = &r->snapshot;
	struct msg_detail d;
	bool have_detail = false;
	if (r->need_detail) {
		int dr = ST->be->msg_fields(ST, &sel->info, m->uid, detail_fields(r), &fm.d);
		if (dr <= 0) {
			/* Expunged by someone else since: nothing to show (RFC 2180 4.1.2). */
			return dr < 0 ? -1 : 0;
		}
		have_detail = true;
	}
	d = fm.d;
	str_clear(out);
	str_printf(out, "* %zu FETCH (", idx + 1);
	bool first = true;
	bool has_uid = false, has_modseq = false, has_flags = false;
#define SEP() do { if (!first) str_append_c(out, ' '); first = false; } while (0)
	/* Items may repeat (BODY[] BODY[] ...): the answer for one message
	 * is bounded by twice the largest message there may be. */
	size_t cap = 2 * (size_t)config_int(server.cfg, "maxmessagesize") + 1024 * 1024;
	for (size_t i = 0; i < r->n; i++) {
		const struct fetch_item *it = &r->items[i];
		if (out->len > cap) {
			fetch_msg_free(&fm, have_detail);
			return -3;
		}
		switch (it->kind) {
		case F_FLAGS:
			if (has_flags)
				break;
			has_flags = true;
			SEP();
			str_append(out, "FLAGS (");
			imap_selected_flags(sel, idx, out);
			str_append_c(out, ')');
			break;
		case F_UID:
			if (has_uid)
				break;
			has_uid = true;
			SEP();
			str_printf(out, "UID %u", m->uid);
			break;
		case F_MODSEQ:
			if (has_modseq)
				break;
			has_modseq = true;
			SEP();
			str_printf(out, "MODSEQ (%llu)", (unsigned long long)m->modseq);
			break;
		case F_INTERNALDATE:
			SEP();
			str_append(out, "INTERNALDATE \"");
			imap_format_datetime(out, d.internaldate, d.internaldate_tz);
			str_append_c(out, '"');
			break;
		case F_SIZE:
			SEP();
			str_printf(out, "RFC822.SIZE %llu", (unsigned long long)d.size);
			break;
		case F_ENVELOPE:
			SEP();
			str_printf(out, "ENVELOPE %s", d.envelope != NULL ? d.envelope : "NIL");
			break;
		case F_BODYSTRUCTURE:
			SEP();
			str_printf(out, "BODYSTRUCTURE %s", d.bodystructure != NULL ? d.bodystructure : "NIL");
			break;
		case F_BODY:
			SEP();
			str_printf(out, "BODY %s", d.body != NULL ? d.body : "NIL");
			break;
		case F_SECTION:
		case F_BINARY_SIZE: {
			str_t sec = STR_INIT;
			const char *data = NULL;
			size_t len = 0;
			int sr = section_bytes(&fm, it, &sec, &data, &len);
			if (sr < 0) {
				str_free(&sec);
				fetch_msg_free(&fm, have_detail);
				return sr;
			}
			SEP();
			if (it->kind == F_BINARY_SIZE) {
				str_printf(out, "BINARY.SIZE[%s] %zu", it->section, len);
				str_free(&sec);
				break;
			}
			if (it->label != NULL)
				str_append(out, it->label);
			else
				str_printf(out, "%s[%s]", it->binary ? "BINARY" : "BODY", it->section);
			if (it->partial) {
				str_printf(out, "<%llu>", (unsigned long long)it->offset);
				if (it->offset >= len) {
					len = 0;
				} else {
					data += it->offset;
					len -= (size_t)it->offset;
					if (len > it->length)
						len = (size_t)it->length;
				}
			}
			str_append_c(out, ' ');
			append_literal(out, data, len, it->binary);
			str_free(&sec);
			break;
		}
		}
	}
	/* UID FETCH always says the UID; CONDSTORE sessions get MODSEQ. */
	if (uid_cmd && !has_uid) {
		SEP();
		str_printf(out, "UID %u", m->uid);
	}
	if ((c->condstore || r->changedsince) && !has_modseq) {
		SEP();
		str_printf(out, "MODSEQ (%llu)", (unsigned long long)m->modseq);
	}
#undef SEP
	str_append(out, ")\r\n");
	client_send_str(c, out);
	fetch_msg_free(&fm, have_detail);
	return 0;
}

/* A FETCH answer is made a message at a time, and waits (WAIT_OUTPUT)
 * whenever the client has not read the last IMAP_OUTPUT_HIGH_WATER bytes:
 * a client that asks for much and reads slowly, or not at all, makes the
 * server hold about that much, not the whole answer. */
struct fetch_cont {
	struct fetch_req r;
	uint32_t *idx;
	size_t n, k;
	bool uid;
	char *tag;
	str_t out, file;
};

static void fetch_cont_free(void *ctx)
{
	struct fetch_cont *fc = ctx;
	str_free(&fc->out);
	str_free(&fc->file);
	free(fc->idx);
	req_free(&fc->r);
	free(fc->tag);
	free(fc);
}

static bool fetch_continue(struct imap_client *c)
{
	struct fetch_cont *fc = c->cont_ctx;
	struct imap_selected *sel = c->sel;
	struct evbuffer *outbuf = bufferevent_get_output(c->bev);
	int err = 0;
	/* One read view for each run of messages, not a lock per message. */
	fc->r.snapshot = fc->r.need_detail && fc->n - fc->k > 1 && ST->be->read_begin(ST) == 0;
	while (fc->k < fc->n && err == 0 && evbuffer_get_length(outbuf) <= IMAP_OUTPUT_HIGH_WATER) {
		size_t i = fc->idx[fc->k++];
		if (fc->r.changedsince && sel->msgs[i].modseq <= fc->r.changedsince)
			continue;
		err = fetch_one(c, &fc->r, i, fc->uid, &fc->out, &fc->file);
	}
	if (fc->r.snapshot)
		ST->be->read_end(ST);
	fc->r.snapshot = false;
	if (err == 0 && fc->k < fc->n)
		return false;
	if (err == -2)
		client_tagged(c, fc->tag, "NO", "[UNKNOWN-CTE] Unknown content transfer encoding");
	else if (err == -3)
		client_tagged(c, fc->tag, "NO", "[LIMIT] The answer for one message would be too large");
	else if (err < 0)
		client_store_error(c, fc->tag);
	else
		imap_command_ok(c, fc->tag, fc->uid, "%sFETCH completed", fc->uid ? "UID " : "");
	return true;
}

int cmd_fetch(struct imap_client *c, const struct imap_command *cmd,
	      const struct imap_arg *args, size_t nargs, bool uid)
{
	if (nargs < 2 || nargs > 3 || args[0].type != IMAP_ARG_ATOM)
		return -1;
	struct fetch_req r = { 0 };
	if (args[1].type == IMAP_ARG_LIST) {
		if (args[1].count == 0)
			return -1;
		for (size_t i = 0; i < args[1].count; i++) {
			const struct imap_arg *a = &args[1].list[i];
			if (a->type != IMAP_ARG_ATOM || parse_atom_item(&r, a->str) < 0 ||
			    strcasecmp(a->str, "ALL") == 0 || strcasecmp(a->str, "FULL") == 0 ||
			    strcasecmp(a->str, "FAST") == 0) {
				req_free(&r);
				return -1;
			}
		}
	} else if (args[1].type != IMAP_ARG_ATOM || parse_atom_item(&r, args[1].str) < 0) {
		req_free(&r);
		return -1;
	}
	if (nargs == 3) {
		/* (CHANGEDSINCE modseq) */
		const struct imap_arg *m = &args[2];
		char *end;
		if (m->type != IMAP_ARG_LIST || m->count != 2 || !imap_arg_is_atom(&m->list[0], "CHANGEDSINCE") ||
		    m->list[1].type != IMAP_ARG_ATOM) {
			req_free(&r);
			return -1;
		}
		r.changedsince = strtoull(m->list[1].str, &end, 10);
		if (*end != '\0' || r.changedsince == 0) {
			req_free(&r);
			return -1;
		}
		c->condstore = true;
	}
	uint32_t *idx;
	size_t n;
	int rr = imap_selected_resolve(c->sel, args[0].str, uid, &idx, &n);
	if (rr < 0) {
		req_free(&r);
		if (rr == -2) {
			client_tagged(c, cmd->tag, "BAD", "Invalid message sequence number");
			return 1;
		}
		return -1;
	}
	struct imap_selected *sel = c->sel;
	bool set_seen = r.sets_seen && !sel->readonly && (sel->rights & ACL_S);
	if (set_seen) {
		uint32_t *uids = xcalloc(n ? n : 1, sizeof(uint32_t));
		size_t nu = 0;
		for (size_t k = 0; k < n; k++) {
			if (!(sel->msgs[idx[k]].flags & MSG_SEEN) &&
			    (r.changedsince == 0 || sel->msgs[idx[k]].modseq > r.changedsince))
				uids[nu++] = sel->msgs[idx[k]].uid;
		}
		struct msg_rec *recs = NULL;
		size_t nrecs = 0, nfailed = 0;
		uint32_t *failed = NULL;
		if (nu > 0 && ST->be->msg_store_flags(ST, &sel->info, c->user, uids, nu, FLAG_ADD, MSG_SEEN, NULL, 0,
						      &recs, &nrecs, &failed, &nfailed) == 0) {
			for (size_t k = 0; k < nrecs; k++)
				imap_selected_update(sel, &recs[k]);
			msg_rec_free_array(recs, nrecs);
			free(failed);
			worker_changed();
			/* The new \Seen is reported in the FETCH response. */
			bool has = false;
			for (size_t k = 0; k < r.n; k++)
				has |= r.items[k].kind == F_FLAGS;
			if (!has)
				add_simple(&r, F_FLAGS);
		}
		free(uids);
	}
	struct fetch_cont *fc = xcalloc(1, sizeof(*fc));
	fc->r = r;
	fc->idx = idx;
	fc->n = n;
	fc->uid = uid;
	fc->tag = xstrdup(cmd->tag);
	str_init(&fc->out);
	str_init(&fc->file);
	c->cont_ctx = fc;
	c->cont = fetch_continue;
	c->cont_free = fetch_cont_free;
	if (!fetch_continue(c)) {
		/* on_write goes on once the client has read this much */
		c->wait = WAIT_OUTPUT;
		return 0;
	}
	fetch_cont_free(fc);
	c->cont_ctx = NULL;
	c->cont = NULL;
	return 0;
}
