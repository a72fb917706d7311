/* agora deliver [-m MAILBOX] [-f SENDER] USER...: one message from standard
 * input, delivered with the same rules as LMTP (user, user+MAILBOX, quota,
 * duplicate suppression), for an MTA that runs a program rather than
 * speaking LMTP. Exit statuses are the sysexits an MTA understands. */
#include "agora/cmd.h"
#include "lib/bounds.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib-deliver/message-store.h"
#include "lib-deliver/recipient.h"
#include "lib-storage/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* sysexits.h */
#define EX_USAGE 64
#define EX_DATAERR 65
#define EX_NOUSER 67
#define EX_SOFTWARE 70
#define EX_TEMPFAIL 75
#define EX_NOPERM 77

/* Reads stdin, making every line end in CRLF as IMAP clients expect. */
static int read_message(str_t *out, size_t max)
{
	char buf[65536];
	size_t n;
	char prev = '\0';
	while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0) {
		for (size_t i = 0; i < n; i++) {
			if (buf[i] == '\n' && prev != '\r')
				str_append_c(out, '\r');
			str_append_c(out, buf[i]);
			prev = buf[i];
		}
		if (out->len > max)
			return -2;
	}
	if (ferror(stdin))
		return -1;
	if (out->len > 0 && prev != '\n')
		str_append(out, "\r\n");
	return 0;
}

static int worse(int a, int b)
{
	/* A temporary failure wins: the MTA retries, and duplicate
	 * suppression keeps the recipients already served from a second copy. */
	static const int order[] = { EX_TEMPFAIL, EX_SOFTWARE, EX_NOUSER, EX_NOPERM, EX_DATAERR, 0 };
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (a == order[i] || b == order[i])
			return order[i];
	}
	return a;
}

static enum cmd_status cmd_deliver_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	const char *mailbox = NULL, *sender = NULL;
	int i = 0;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-m") == 0 && i + 1 < argc)
			mailbox = argv[++i];
		else if (strcmp(argv[i], "-f") == 0 && i + 1 < argc)
			sender = argv[++i];
		else {
			fprintf(stderr, "agora: deliver: unknown option %s\n"
				"usage: agora [-C FILE] deliver [-m MAILBOX] [-f SENDER] USER...\n", argv[i]);
			return EX_USAGE;
		}
	}
	if (i == argc) {
		fprintf(stderr, "usage: agora [-C FILE] deliver [-m MAILBOX] [-f SENDER] USER...\n");
		return EX_USAGE;
	}
	struct store *st = ctx->store;
	str_t data = STR_INIT, msg = STR_INIT;
	int r = read_message(&data, (size_t)config_int(ctx->cfg, "maxmessagesize"));
	if (r < 0 || data.len == 0) {
		fprintf(stderr, "agora: deliver: %s\n", r == -2 ? "message larger than maxmessagesize" :
			r == -1 ? "cannot read standard input" : "empty message");
		str_free(&data);
		return EX_DATAERR;
	}
	if (sender != NULL)
		str_printf(&msg, "Return-Path: <%s>\r\n", sender);
	if (argc - i == 1)
		str_printf(&msg, "Delivered-To: %s%s%s\r\n", argv[i], mailbox ? "+" : "", mailbox ? mailbox : "");
	str_append_n(&msg, data.data, data.len);
	str_free(&data);

	struct message_prepared prep;
	message_prepare(&prep, msg.data, msg.len);
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	int status = 0;
	for (; i < argc; i++) {
		str_t addr = STR_INIT, mbox = STR_INIT, user = STR_INIT;
		str_printf(&addr, "%s%s%s", argv[i], mailbox ? "+" : "", mailbox ? mailbox : "");
		int one = 0;
		switch (recipient_resolve(st, ctx->cfg, str_c(&addr), &mbox, &user)) {
		case RCPT_OK: {
			struct mailbox_info info;
			uint32_t uid;
			int got = st->be->mailbox_get(st, str_c(&mbox), &info);
			if (got != 1) {
				one = got == 0 ? EX_NOUSER : EX_TEMPFAIL;
				break;
			}
			int code;
			if (message_store_prepared(st, &info, user.len ? str_c(&user) : NULL, &prep, now,
						   (int)(tm.tm_gmtoff / 60), 0, NULL,
						   config_bool(ctx->cfg, "duplicatesuppression"), &uid, &code) < 0) {
				if (code == STORE_ERR_DUPLICATE) {
					one = 0;
				} else if (code == STORE_ERR_OVERQUOTA) {
					fprintf(stderr, "agora: deliver to %s: over quota\n", str_c(&addr));
					one = config_bool(ctx->cfg, "lmtp_over_quota_perm_failure") ? EX_NOPERM : EX_TEMPFAIL;
				} else {
					fprintf(stderr, "agora: deliver to %s: %s\n", str_c(&addr), st->be->error(st));
					one = EX_TEMPFAIL;
				}
			}
			mailbox_info_free(&info);
			break;
		}
		case RCPT_UNKNOWN:
			fprintf(stderr, "agora: deliver to %s: user unknown\n", str_c(&addr));
			one = EX_NOUSER;
			break;
		case RCPT_DENIED:
			fprintf(stderr, "agora: deliver to %s: permission denied\n", str_c(&addr));
			one = EX_NOPERM;
			break;
		case RCPT_BAD_ADDRESS:
			fprintf(stderr, "agora: deliver to %s: bad address\n", str_c(&addr));
			one = EX_NOUSER;
			break;
		case RCPT_TEMPFAIL:
			one = EX_TEMPFAIL;
			break;
		}
		status = worse(status, one);
		str_free(&addr);
		str_free(&mbox);
		str_free(&user);
	}
	message_prepared_free(&prep);
	str_free(&msg);
	return status;
}

static const struct cmd_entry deliver_entries[] = {
	{ "", NULL, "[-m MAILBOX] [-f SENDER] USER...",
	  "deliver the message on stdin (exit 0 delivered, 67 unknown user, 75 try again)",
	  1, -1, cmd_deliver_run },
	{ NULL, NULL, NULL, NULL, 0, 0, NULL },
};

const struct cmd_family cmd_deliver_family = { "deliver", deliver_entries, EX_TEMPFAIL };
