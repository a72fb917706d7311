/* APPEND (with UIDPLUS's APPENDUID) */
#include "agorad/imap/imap-commands.h"
#include "agorad/imap/imap-client.h"
#include "agorad/imap/imap-flags.h"
#include "agorad/worker.h"
#include "agorad/server.h"
#include "agorad/store-pool.h"
#include "lib-deliver/message-store.h"
#include "lib-imap/imap-date.h"
#include "lib-storage/store.h"
#include "lib/xalloc.h"

#include <event2/bufferevent.h>
#include <event2/event.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ST (worker->store)

/* The message is written, synced and recorded on a store pool thread (see
 * store-pool.h) while the worker serves its other sessions; the client's
 * further commands wait, as they would for any command. */
struct imap_store_job {
	struct store_job job;           /* first: the pool hands this back */
	struct imap_client *client;     /* NULL once the client has gone */
	char *tag;
	struct mailbox_info info;
	char *user;
	char *data;
	size_t len;
	time_t date;
	int tz;
	uint32_t flags;
	char *keywords;
	uint32_t uid;
};

static void append_work(struct store *st, struct store_job *job)
{
	struct imap_store_job *a = (struct imap_store_job *)job;
	int code;
	if (message_store_append(st, &a->info, a->user, a->data, a->len, a->date, a->tz, a->flags,
				 a->keywords, &a->uid, &code) < 0) {
		store_job_fail(job, st);
		job->errcode = code;
	}
	/* the message is no longer needed: free it on this thread */
	free(a->data);
	a->data = NULL;
}

static void append_done(struct store_job *job)
{
	struct imap_store_job *a = (struct imap_store_job *)job;
	struct imap_client *c = a->client;
	if (job->result == 0)
		worker_changed();
	if (c != NULL) {
		c->wait = WAIT_NONE;
		c->store_job = NULL;
		if (job->result < 0) {
			client_store_error_code(c, a->tag, job->errcode, str_c(&job->errtext));
		} else {
			quota_warn(c, a->info.name);
			imap_command_ok(c, a->tag, true, "[APPENDUID %u %u] APPEND completed",
					a->info.uidvalidity, a->uid);
		}
		imap_client_resume(c);
	}
	mailbox_info_free(&a->info);
	free(a->tag);
	free(a->user);
	free(a->keywords);
	str_free(&job->errtext);
	free(a);
}

void imap_store_job_detach(struct imap_client *c)
{
	if (c->store_job != NULL)
		c->store_job->client = NULL;
	c->store_job = NULL;
}

int cmd_append(struct imap_client *c, const struct imap_command *cmd,
	       const struct imap_arg *args, size_t nargs, bool uid)
{
	if (nargs < 2 || nargs > 4)
		return -1;
	const char *name = arg_mailbox(&args[0]);
	if (name == NULL)
		return -1;
	const struct imap_arg *msg = &args[nargs - 1];
	if (msg->type != IMAP_ARG_LITERAL)
		return -1;
	uint32_t flags = 0;
	str_t kw = STR_INIT;
	time_t date = time(NULL);
	int tz = 0;
	size_t i = 1;
	const char *err = NULL;
	if (i < nargs - 1 && args[i].type == IMAP_ARG_LIST) {
		if (imap_flags_parse(args[i].list, args[i].count, &flags, &kw, &err) < 0) {
			client_tagged(c, cmd->tag, "BAD", "%s", err);
			str_free(&kw);
			return 1;
		}
		i++;
	}
	if (i < nargs - 1) {
		if (args[i].type != IMAP_ARG_STRING || imap_parse_datetime(args[i].str, &date, &tz) < 0) {
			client_tagged(c, cmd->tag, "BAD", "Invalid date-time");
			str_free(&kw);
			return 1;
		}
		i++;
	} else {
		struct tm tm;
		localtime_r(&date, &tm);
		tz = (int)(tm.tm_gmtoff / 60);
	}
	if (i != nargs - 1) {
		str_free(&kw);
		return -1;
	}
	struct mailbox_info info;
	if (!client_mailbox_require(c, cmd->tag, name, &info, NULL, true)) {
		str_free(&kw);
		return 0;
	}
	acl_rights_t rights = client_rights(c, &info);
	if (!(rights & ACL_I)) {
		client_tagged(c, cmd->tag, "NO", "[NOPERM] Permission denied");
		goto out;
	}
	/* Flags the user may not set are dropped, as RFC 4314 says. */
	if (!(rights & ACL_S))
		flags &= ~(uint32_t)MSG_SEEN;
	if (!(rights & ACL_T))
		flags &= ~(uint32_t)MSG_DELETED;
	if (!(rights & ACL_W)) {
		flags &= ~(uint32_t)(MSG_ANSWERED | MSG_FLAGGED | MSG_DRAFT);
		str_clear(&kw);
	}
	if (msg->len == 0) {
		client_tagged(c, cmd->tag, "NO", "[CANNOT] An empty message cannot be stored");
		goto out;
	}
	struct imap_store_job *a = xcalloc(1, sizeof(*a));
	a->job.work = append_work;
	a->job.done = append_done;
	a->client = c;
	a->tag = xstrdup(cmd->tag);
	a->info = info;                 /* the job owns the lookup now */
	memset(&info, 0, sizeof(info));
	a->user = xstrdup(c->user);
	a->data = xmemdup(msg->str, msg->len);
	a->len = msg->len;
	a->date = date;
	a->tz = tz;
	a->flags = flags;
	a->keywords = xstrdup(str_c(&kw));
	c->wait = WAIT_STORE;
	c->store_job = a;
	bufferevent_disable(c->bev, EV_READ);
	store_pool_submit(&a->job);
out:
	mailbox_info_free(&info);
	str_free(&kw);
	return 0;
}
