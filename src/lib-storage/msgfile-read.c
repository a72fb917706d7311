/* Reading a message's file (FETCH, SEARCH, export) across partition moves. */
#include "lib-storage/msgfile-read.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Each look after a vanished file finds the place a committed move put
 * the mailbox; a look costs one indexed query. Only moves following each
 * other faster than a file is opened take more than one. */
#define LOOKS_MAX 20

static bool read_path(const char *path, str_t *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	struct stat stt;
	if (fstat(fd, &stt) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return false;
	}
	str_clear(out);
	str_reserve(out, (size_t)stt.st_size + 1);
	ssize_t r;
	while ((r = read(fd, out->data + out->len, out->cap - out->len - 1)) > 0) {
		out->len += (size_t)r;
		if (out->cap - out->len - 1 == 0)
			str_reserve(out, 65536);
	}
	int e = errno;
	out->data[out->len] = '\0';
	close(fd);
	errno = e;
	return r == 0;
}

bool store_msgfile_read(struct store *st, const struct mailbox_info *mbox, struct msg_detail *d,
			bool *snapshot, str_t *out)
{
	bool ok = read_path(d->path, out);
	for (int looks = 0; !ok && errno == ENOENT && looks < LOOKS_MAX; looks++) {
		if (snapshot != NULL && *snapshot) {
			st->be->read_end(st);
			*snapshot = st->be->read_begin(st) == 0;
		}
		struct msg_detail again;
		if (st->be->msg_detail(st, mbox, d->uid, &again) != 1) {
			errno = ENOENT; /* expunged meanwhile, or the store failed */
			break;
		}
		free(d->path);
		d->path = again.path;
		again.path = NULL;
		msg_detail_free(&again);
		ok = read_path(d->path, out);
	}
	return ok;
}
