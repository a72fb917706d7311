#include "agorad/message-store.h"
#include "agorad/worker.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib-mail/message-parser.h"
#include "lib-mail/message-imap.h"
#include "lib-mail/message-search.h"
#include "lib-storage/store.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, data, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += w;
		len -= (size_t)w;
	}
	return 0;
}

int message_store_append(const struct mailbox_info *mbox, const char *user, const char *data, size_t len,
			 time_t internaldate, int tz, uint32_t flags, const char *keywords, uint32_t *uid_r)
{
	struct store *st = worker->store;
	str_t path = STR_INIT, env = STR_INIT, bs = STR_INIT, body = STR_INIT;
	int ret = -1;
	if (st->be->tmpfile_create(st, mbox->partition, &path) < 0)
		goto out;
	int fd = open(str_c(&path), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0) {
		log_error("%s: %s", str_c(&path), strerror(errno));
		goto out;
	}
	if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		log_error("%s: %s", str_c(&path), strerror(errno));
		close(fd);
		unlink(str_c(&path));
		goto out;
	}
	if (close(fd) < 0) {
		unlink(str_c(&path));
		goto out;
	}
	struct message_part *root = message_parse(data, len);
	message_imap_envelope(&env, data, root);
	message_imap_bodystructure(&bs, data, root, true);
	message_imap_bodystructure(&body, data, root, false);
	time_t sent;
	int sent_tz;
	if (message_date_r(data, root, &sent, &sent_tz) < 0)
		sent = internaldate;
	message_part_free(&root);
	struct new_msg m = {
		.tmp_path = str_c(&path), .size = len, .internaldate = internaldate,
		.internaldate_tz = tz, .sentdate = sent, .flags = flags, .keywords = keywords,
		.envelope = str_c(&env), .bodystructure = str_c(&bs), .body = str_c(&body),
	};
	uint64_t modseq;
	ret = st->be->msg_append(st, mbox, user, &m, uid_r, &modseq);
out:
	str_free(&path);
	str_free(&env);
	str_free(&bs);
	str_free(&body);
	return ret;
}
