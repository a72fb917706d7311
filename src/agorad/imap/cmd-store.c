/* STORE and UID STORE (with CONDSTORE's UNCHANGEDSINCE) */
#include "agorad/imap/imap-commands.h"
#include "agorad/imap/imap-client.h"
#include "agorad/imap/imap-flags.h"
#include "agorad/imap/imap-selected.h"
#include "agorad/worker.h"
#include "lib/xalloc.h"
#include "lib-imap/seqset.h"
#include "lib-storage/store.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ST (worker->store)

int cmd_store(struct imap_client *c, const struct imap_command *cmd,
	      const struct imap_arg *args, size_t nargs, bool uid)
{
	size_t i = 1;
	uint64_t unchangedsince = 0;
	if (nargs < 3 || args[0].type != IMAP_ARG_ATOM)
		return -1;
	if (args[1].type == IMAP_ARG_LIST) {
		const struct imap_arg *m = &args[1];
		char *end;
		if (m->count != 2 || !imap_arg_is_atom(&m->list[0], "UNCHANGEDSINCE") || m->list[1].type != IMAP_ARG_ATOM)
			return -1;
		unchangedsince = strtoull(m->list[1].str, &end, 10);
		if (*end != '\0' || m->list[1].str[0] == '\0')
			return -1;
		if (unchangedsince == 0)
			unchangedsince = 1; /* nothing has modseq 0: every message fails */
		c->condstore = true;
		i++;
	}
	if (nargs != i + 2 || args[i].type != IMAP_ARG_ATOM)
		return -1;
	const char *op = args[i].str;
	enum flag_op fop;
	bool silent = false;
	const char *base = op;
	if (*op == '+') { fop = FLAG_ADD; base++; }
	else if (*op == '-') { fop = FLAG_REMOVE; base++; }
	else fop = FLAG_SET;
	if (strcasecmp(base, "FLAGS.SILENT") == 0)
		silent = true;
	else if (strcasecmp(base, "FLAGS") != 0)
		return -1;
	uint32_t flags;
	str_t kw = STR_INIT;
	const char *err = NULL;
	const struct imap_arg *fl = &args[i + 1];
	int pr = fl->type == IMAP_ARG_LIST ? imap_flags_parse(fl->list, fl->count, &flags, &kw, &err)
					   : imap_flags_parse(fl, 1, &flags, &kw, &err);
	if (pr < 0) {
		client_tagged(c, cmd->tag, "BAD", "%s", err);
		str_free(&kw);
		return 1;
	}
	struct imap_selected *sel = c->sel;
	uint32_t *idx;
	size_t n;
	int rr = imap_selected_resolve(sel, args[0].str, uid, &idx, &n);
	if (rr < 0) {
		str_free(&kw);
		if (rr == -2) {
			client_tagged(c, cmd->tag, "BAD", "Invalid message sequence number");
			return 1;
		}
		return -1;
	}
	if (sel->readonly) {
		/* Read-only because the rights allow no change at all (lrp) is
		 * a refusal, as in Cyrus; after EXAMINE it is the mode. */
		if (!(sel->rights & (ACL_S | ACL_W | ACL_T | ACL_E | ACL_I)))
			client_tagged(c, cmd->tag, "NO", "[NOPERM] Permission denied");
		else
			client_tagged(c, cmd->tag, "NO", "[READ-ONLY] Mailbox is read-only");
		goto out;
	}
	/* Each kind of flag needs its own right (RFC 4314 4). */
	acl_rights_t need = 0;
	uint32_t touched = fop == FLAG_SET ? MSG_STORED_FLAGS : flags;
	if (touched & MSG_SEEN) need |= ACL_S;
	if (touched & MSG_DELETED) need |= ACL_T;
	if ((touched & (MSG_ANSWERED | MSG_FLAGGED | MSG_DRAFT)) || kw.len > 0 || fop == FLAG_SET)
		need |= ACL_W;
	if (fop == FLAG_SET) {
		/* Replacing all flags touches only those the user may change. */
		need = 0;
		if ((sel->rights & (ACL_S | ACL_T | ACL_W)) == 0)
			need = ACL_W;
	}
	if ((sel->rights & need) != need) {
		client_tagged(c, cmd->tag, "NO", "[NOPERM] Permission denied");
		goto out;
	}
	uint32_t *uids = xcalloc(n ? n : 1, sizeof(uint32_t));
	for (size_t k = 0; k < n; k++)
		uids[k] = sel->msgs[idx[k]].uid;
	struct msg_rec *recs = NULL;
	size_t nrecs = 0, nfailed = 0;
	uint32_t *failed = NULL;
	int r = n == 0 ? 0 : ST->be->msg_store_flags(ST, &sel->info, c->user, uids, n, fop, flags,
						   kw.len > 0 ? str_c(&kw) : (fop == FLAG_SET ? "" : NULL),
						   unchangedsince, &recs, &nrecs, &failed, &nfailed);
	free(uids);
	if (r < 0) {
		client_store_error(c, cmd->tag);
		goto out;
	}
	str_t f = STR_INIT;
	for (size_t k = 0; k < nrecs; k++) {
		imap_selected_update(sel, &recs[k]);
		long ix = imap_selected_find_uid(sel, recs[k].uid);
		if (ix < 0 || (silent && unchangedsince == 0))
			continue;
		str_clear(&f);
		if (silent) {
			client_send(c, "* %ld FETCH (%sMODSEQ (%llu))", ix + 1, "", (unsigned long long)recs[k].modseq);
			continue;
		}
		imap_selected_flags(sel, (size_t)ix, &f);
		str_t extra = STR_INIT;
		if (uid)
			str_printf(&extra, " UID %u", recs[k].uid);
		if (c->condstore)
			str_printf(&extra, " MODSEQ (%llu)", (unsigned long long)recs[k].modseq);
		client_send(c, "* %ld FETCH (FLAGS (%s)%s)", ix + 1, str_c(&f), str_c(&extra));
		str_free(&extra);
	}
	str_free(&f);
	msg_rec_free_array(recs, nrecs);
	if (nrecs > 0)
		worker_changed();
	if (nfailed > 0) {
		struct seqset mod = SEQSET_INIT;
		for (size_t k = 0; k < nfailed; k++) {
			long ix = imap_selected_find_uid(sel, failed[k]);
			if (ix >= 0)
				seqset_add(&mod, uid ? failed[k] : (uint32_t)ix + 1);
		}
		str_t s = STR_INIT;
		seqset_format(&mod, &s);
		imap_command_ok(c, cmd->tag, false, "[MODIFIED %s] Conditional STORE failed", str_c(&s));
		str_free(&s);
		seqset_free(&mod);
	} else {
		imap_command_ok(c, cmd->tag, uid, "%sSTORE completed", uid ? "UID " : "");
	}
	free(failed);
out:
	free(idx);
	str_free(&kw);
	return 0;
}
