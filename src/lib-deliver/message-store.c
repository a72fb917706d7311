#include "lib-deliver/message-store.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "lib-mail/message-header.h"
#include "lib-mail/message-imap.h"
#include "lib-mail/message-parser.h"
#include "lib-mail/message-search.h"
#include "lib-storage/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void message_prepare(struct message_prepared *p, const char *data, size_t len)
{
	memset(p, 0, sizeof(*p));
	p->data = data;
	p->len = len;
	struct message_part *root = message_parse(data, len);
	message_imap_envelope(&p->envelope, data, root);
	message_imap_bodystructure(&p->bodystructure, data, root, true);
	message_imap_bodystructure(&p->body, data, root, false);
	message_search_fields(&p->search, data, root);
	int tz;
	p->has_sentdate = message_date_r(data, root, &p->sentdate, &tz) == 0;
	if (root != NULL)
		p->header_len = root->header_start + root->header_len;
	if (root != NULL) {
		char *id = message_header_get(data + root->header_start, root->header_len, "Message-ID");
		if (id != NULL) {
			/* Compare Message-IDs without surrounding blanks. */
			char *s = id;
			while (*s == ' ' || *s == '\t')
				s++;
			size_t n = strlen(s);
			while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
				n--;
			if (n > 0)
				p->message_id = xstrndup(s, n);
			free(id);
		}
	}
	message_part_free(&root);
}

void message_prepared_free(struct message_prepared *p)
{
	str_free(&p->envelope);
	str_free(&p->bodystructure);
	str_free(&p->body);
	str_free(&p->search);
	free(p->message_id);
	memset(p, 0, sizeof(*p));
}

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

/* A partition move can remove the mailbox's directory between its making
 * (msgfile_create) and the file's creation: it is made again, three times
 * at most. (A file a move takes away later is written again by the store,
 * from the bytes in new_msg.data.) */
#define MOVED_ATTEMPTS 3

int message_file_write(struct store *st, const struct mailbox_info *mbox, const char *data, size_t len,
		       str_t *path_r)
{
	int ret = -1, e = 0;
	for (int attempt = 1; attempt <= MOVED_ATTEMPTS && ret < 0; attempt++) {
		str_clear(path_r);
		if (st->be->msgfile_create(st, mbox, path_r) < 0)
			return -1;
		int fd = open(str_c(path_r), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
		ret = fd >= 0 && write_all(fd, data, len) == 0 && fsync(fd) == 0 ? 0 : -1;
		e = errno;
		if (fd >= 0 && close(fd) < 0 && ret == 0) {
			ret = -1;
			e = errno;
		}
		if (ret < 0 && fd >= 0)
			unlink(str_c(path_r));
		if (ret < 0 && (fd >= 0 || e != ENOENT))
			break; /* not a directory gone before the open */
	}
	if (ret < 0) {
		if (e == ENOENT)
			log_error("storing a message in %s: its directory went away %d times meanwhile "
				  "(partition moves?)", mbox->name, MOVED_ATTEMPTS);
		else
			log_error("%s: %s", str_c(path_r), strerror(e));
		errno = e;
	}
	return ret;
}

int message_store_file(struct store *st, const struct mailbox_info *mbox, const char *user,
		       const char *tmp_path, const struct message_prepared *p, time_t internaldate,
		       int tz, uint32_t flags, const char *keywords, bool dedup, uint32_t *uid_r)
{
	struct new_msg m = {
		.tmp_path = tmp_path, .data = p->data, .size = p->len, .internaldate = internaldate,
		.internaldate_tz = tz, .sentdate = p->has_sentdate ? p->sentdate : internaldate,
		.flags = flags, .keywords = keywords, .envelope = str_c(&p->envelope),
		.bodystructure = str_c(&p->bodystructure), .body = str_c(&p->body),
		.header = p->data, .header_len = p->header_len,
		.search = str_c(&p->search), .search_len = p->search.len,
		.dedup_id = dedup ? p->message_id : NULL,
	};
	uint64_t modseq;
	return st->be->msg_append(st, mbox, user, &m, uid_r, &modseq);
}

int message_store_prepared(struct store *st, const struct mailbox_info *mbox, const char *user,
			   const struct message_prepared *p, time_t internaldate, int tz, uint32_t flags,
			   const char *keywords, bool dedup, uint32_t *uid_r, int *errcode_r)
{
	str_t path = STR_INIT;
	*errcode_r = STORE_ERR_INTERNAL;
	int ret = message_file_write(st, mbox, p->data, p->len, &path);
	if (ret == 0) {
		ret = message_store_file(st, mbox, user, str_c(&path), p, internaldate, tz, flags, keywords,
					 dedup, uid_r);
		if (ret < 0)
			*errcode_r = st->be->errcode(st);
	}
	str_free(&path);
	return ret;
}

int message_store_append(struct store *st, const struct mailbox_info *mbox, const char *user,
			 const char *data, size_t len, time_t internaldate, int tz, uint32_t flags,
			 const char *keywords, uint32_t *uid_r, int *errcode_r)
{
	struct message_prepared p;
	message_prepare(&p, data, len);
	int ret = message_store_prepared(st, mbox, user, &p, internaldate, tz, flags, keywords, false, uid_r,
					 errcode_r);
	message_prepared_free(&p);
	return ret;
}
