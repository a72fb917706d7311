/* agora import [--user USER] [--mailbox MAILBOX] mbox FILE...
 * agora import [--user USER] maildir DIR
 * agora export [--user USER] maildir DIR [MAILBOX...]
 *
 * Migration between Agora and the two common file formats. Both work on the
 * store directly, as `agora deliver` does, so they may run while agorad runs:
 * every message goes through message_store_prepared, the path APPEND and
 * LMTP take (file durable before its row is committed).
 *
 * mbox is read as mboxrd: a line ">From ", ">>From " ... loses one '>'.
 * That is the only reading that undoes the writer's quoting exactly; for an
 * mboxo file it differs only on a body line that began with ">From " before
 * quoting (mboxo cannot tell those from quoted "From " lines at all).
 * Status:/X-Status: give the flags and are dropped from the stored message
 * (they are the mbox's copy of IMAP state, which now lives in the store).
 *
 * Import is idempotent: a message is skipped when its mailbox already holds
 * one of the same size with the same Message-ID, or of the same size and
 * byte-identical content (compared with the stored file, so no hash needs
 * to be kept in the store). */
#include "agora/cmd.h"
#include "lib/bounds.h"
#include "lib/config.h"
#include "lib/xalloc.h"
#include "lib-acl/acl.h"
#include "lib-deliver/message-store.h"
#include "lib-mail/message-header.h"
#include "lib-storage/msgfile-read.h"
#include "lib-storage/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ common */

static int read_whole(const char *path, str_t *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		str_append_n(out, buf, (size_t)n);
	int saved = errno;
	close(fd);
	errno = saved;
	return n < 0 ? -1 : 0;
}

/* Appends `line` (without its line end) and CRLF. */
static void append_line(str_t *out, const char *line, size_t len)
{
	if (len > 0 && line[len - 1] == '\r')
		len--;
	str_append_n(out, line, len);
	str_append(out, "\r\n");
}

/* Every line end becomes CRLF; a last line without one gets it. */
static void crlf_normalise(const char *data, size_t len, str_t *out)
{
	size_t start = 0;
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n') {
			append_line(out, data + start, i - start);
			start = i + 1;
		}
	}
	if (start < len)
		append_line(out, data + start, len - start);
}

static const char *default_user(void)
{
	const char *u = getenv("USER");
	if (u != NULL && u[0] != '\0')
		return u;
	struct passwd *pw = getpwuid(getuid());
	return pw != NULL ? pw->pw_name : NULL;
}

/* "INBOX", "INBOX.Sent", "Sent", "Lists/foo" -> the folder below the
 * user's INBOX ("" for INBOX itself), '.'-separated. */
static char *folder_of(const char *mailbox)
{
	if (strcasecmp(mailbox, "INBOX") == 0)
		return xstrdup("");
	if (strncasecmp(mailbox, "INBOX", 5) == 0 && (mailbox[5] == '.' || mailbox[5] == '/'))
		mailbox += 6;
	char *f = xstrdup(mailbox);
	for (char *p = f; *p != '\0'; p++)
		if (*p == '/')
			*p = '.';
	return f;
}

static void internal_name(const char *user, const char *folder, str_t *out)
{
	str_clear(out);
	str_printf(out, "user.%s%s%s", user, folder[0] != '\0' ? "." : "", folder);
}

/* ------------------------------------------------------------ import */

struct existing {
	uint64_t size;
	char *msgid;  /* NULL when the message has none */
	char *path;
};

struct dest {
	char *name;
	struct mailbox_info info;
	struct existing *ex;
	size_t nex;
	unsigned added, skipped, failed;
};

struct importer {
	struct store *st;
	const struct config *cfg;
	const char *user;
	struct dest **dests;
	size_t ndests;
	bool failed;
};

static void existing_add(struct dest *d, uint64_t size, const char *msgid, const char *path)
{
	d->ex = xrealloc(d->ex, (d->nex + 1) * sizeof(*d->ex));
	d->ex[d->nex].size = size;
	d->ex[d->nex].msgid = msgid != NULL ? xstrdup(msgid) : NULL;
	d->ex[d->nex].path = xstrdup(path);
	d->nex++;
}

static char *trimmed_msgid(const char *hdr, size_t len)
{
	char *id = message_header_get(hdr, len, "Message-ID");
	if (id == NULL)
		return NULL;
	char *s = id;
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	char *r = n > 0 ? xstrndup(s, n) : NULL;
	free(id);
	return r;
}

static int record_uid(struct importer *im, struct dest *d, uint32_t uid)
{
	struct msg_detail det;
	int r = im->st->be->msg_detail(im->st, &d->info, uid, &det);
	if (r != 1)
		return -1;
	char *id = trimmed_msgid(det.header, det.header_len);
	existing_add(d, det.size, id, det.path);
	free(id);
	msg_detail_free(&det);
	return 0;
}

static int load_existing(struct importer *im, struct dest *d)
{
	struct msg_rec *recs = NULL;
	size_t n = 0;
	if (im->st->be->msg_list(im->st, &d->info, im->user, 0, &recs, &n) < 0)
		return -1;
	int ret = 0;
	for (size_t i = 0; i < n && ret == 0; i++)
		ret = record_uid(im, d, recs[i].uid);
	msg_rec_free_array(recs, n);
	return ret;
}

/* Creates user.USER.A.B with its missing superior levels, each with the
 * owner's full rights, as autocreation makes an INBOX. */
static int create_with_parents(struct importer *im, const char *name)
{
	str_t acl = STR_INIT;
	acl_entry_set("", im->user, ACL_ALL, false, &acl);
	const char *partition = config_str(im->cfg, "defaultpartition");
	char *buf = xstrdup(name);
	int ret = 0;
	/* user.USER is the first level that may be made. */
	size_t first = 5 + strlen(im->user);
	for (size_t i = first; ret == 0; i++) {
		if (buf[i] != '.' && buf[i] != '\0')
			continue;
		char c = buf[i];
		buf[i] = '\0';
		int got = im->st->be->mailbox_get(im->st, buf, NULL);
		if (got < 0) {
			ret = -1;
		} else if (got == 0) {
			if (im->st->be->mailbox_create(im->st, buf, partition, str_c(&acl), NULL, NULL) < 0 &&
			    im->st->be->errcode(im->st) != STORE_ERR_EXISTS)
				ret = -1;
			else
				printf("%s: created\n", buf);
		}
		buf[i] = c;
		if (c == '\0')
			break;
	}
	free(buf);
	str_free(&acl);
	return ret;
}

static struct dest *dest_get(struct importer *im, const char *folder)
{
	str_t name = STR_INIT;
	internal_name(im->user, folder, &name);
	for (size_t i = 0; i < im->ndests; i++) {
		if (strcmp(im->dests[i]->name, str_c(&name)) == 0) {
			str_free(&name);
			return im->dests[i];
		}
	}
	struct dest *d = xcalloc(1, sizeof(*d));
	d->name = str_steal(&name);
	int got = im->st->be->mailbox_get(im->st, d->name, &d->info);
	if (got == 0 && create_with_parents(im, d->name) == 0)
		got = im->st->be->mailbox_get(im->st, d->name, &d->info);
	if (got != 1 || load_existing(im, d) < 0) {
		fprintf(stderr, "agora: import: %s: %s\n", d->name,
			got == 0 ? "cannot be created" : im->st->be->error(im->st));
		mailbox_info_free(&d->info);
		free(d->name);
		for (size_t i = 0; i < d->nex; i++) {
			free(d->ex[i].msgid);
			free(d->ex[i].path);
		}
		free(d->ex);
		free(d);
		im->failed = true;
		return NULL;
	}
	im->dests = xrealloc(im->dests, (im->ndests + 1) * sizeof(*im->dests));
	im->dests[im->ndests++] = d;
	return d;
}

static bool same_file_content(const char *path, const char *data, size_t len)
{
	str_t buf = STR_INIT;
	bool same = read_whole(path, &buf) == 0 && buf.len == len && memcmp(buf.data, data, len) == 0;
	str_free(&buf);
	return same;
}

static bool is_duplicate(const struct dest *d, const struct message_prepared *p)
{
	for (size_t i = 0; i < d->nex; i++) {
		const struct existing *e = &d->ex[i];
		if (e->size != p->len)
			continue;
		if (e->msgid != NULL && p->message_id != NULL && strcmp(e->msgid, p->message_id) == 0)
			return true;
		if (same_file_content(e->path, p->data, p->len))
			return true;
	}
	return false;
}

/* One message, already with CRLF line ends. */
static void import_one(struct importer *im, struct dest *d, const str_t *msg, time_t internaldate,
		       int tz, uint32_t flags, const char *keywords)
{
	struct message_prepared p;
	message_prepare(&p, msg->data, msg->len);
	if (is_duplicate(d, &p)) {
		d->skipped++;
		message_prepared_free(&p);
		return;
	}
	uint32_t uid;
	int code;
	if (message_store_prepared(im->st, &d->info, im->user, &p, internaldate, tz, flags,
				   keywords != NULL && keywords[0] != '\0' ? keywords : NULL, false, &uid, &code) < 0) {
		fprintf(stderr, "agora: import into %s: %s\n", d->name, im->st->be->error(im->st));
		d->failed++;
		im->failed = true;
	} else {
		d->added++;
		(void)record_uid(im, d, uid);
	}
	message_prepared_free(&p);
}

static int tz_of(time_t t)
{
	struct tm tm;
	localtime_r(&t, &tm);
	return (int)(tm.tm_gmtoff / 60);
}

/* ------------------------------------------------------------ mbox */

/* The date of a From_ line ("From addr Sat Jan  3 01:05:34 1996", maybe
 * with a zone), taken as UTC; -1 when there is none. */
static time_t from_line_date(const char *line, size_t len)
{
	char *copy = xstrndup(line, len);
	time_t t = -1;
	char *p = copy + 5;
	while (*p == ' ')
		p++;
	while (*p != '\0' && *p != ' ')
		p++;  /* the envelope sender */
	while (*p == ' ')
		p++;
	static const char *const formats[] = {
		"%a %b %d %H:%M:%S %Y", "%a %b %d %H:%M:%S %z %Y", "%a %b %d %H:%M:%S %Y %z",
		"%a %b %d %H:%M %Y",
	};
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]) && t < 0; i++) {
		struct tm tm;
		memset(&tm, 0, sizeof(tm));
		const char *end = strptime(p, formats[i], &tm);
		if (end != NULL)
			t = timegm(&tm) - tm.tm_gmtoff;
	}
	free(copy);
	return t;
}

static bool header_is(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);
	return len > n && strncasecmp(line, name, n) == 0 && line[n] == ':';
}

/* Adds keyword `kw` (len bytes) to the space-separated list `out` when it
 * is a valid IMAP flag keyword (an atom not starting with '\\') and not
 * there yet; others are skipped. */
static void keyword_add(str_t *out, const char *kw, size_t len)
{
	if (len == 0 || len > KEYWORD_MAX_LEN || kw[0] == '\\')
		return;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)kw[i];
		if (c <= ' ' || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return;
	}
	const char *list = str_c(out);
	for (const char *p = list; *p != '\0';) {
		const char *e = strchr(p, ' ');
		size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (n == len && strncasecmp(p, kw, len) == 0)
			return;
		p += n + (e != NULL ? 1 : 0);
	}
	if (out->len > 0)
		str_append_c(out, ' ');
	str_append_n(out, kw, len);
}

/* X-Keywords: words separated by spaces or commas (Dovecot writes spaces,
 * other writers ", "). */
static void x_keywords(str_t *out, const char *v, size_t len)
{
	size_t i = 0;
	while (i < len) {
		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t start = i;
		while (i < len && v[i] != ' ' && v[i] != '\t' && v[i] != ',')
			i++;
		keyword_add(out, v + start, i - start);
	}
}

static uint32_t status_flags(const char *v, size_t len, bool x_status)
{
	uint32_t f = 0;
	for (size_t i = 0; i < len; i++) {
		switch (v[i]) {
		case 'R': f |= x_status ? 0 : MSG_SEEN; break;
		case 'A': f |= x_status ? MSG_ANSWERED : 0; break;
		case 'F': f |= x_status ? MSG_FLAGGED : 0; break;
		case 'D': f |= x_status ? MSG_DELETED : 0; break;
		case 'T': f |= x_status ? MSG_DRAFT : 0; break;
		default: break;
		}
	}
	return f;
}

struct mbox_msg {
	str_t data;
	time_t date;
	uint32_t flags;
	str_t keywords;
	bool in_header, skipping, in_keywords;
	bool pending_blank;  /* an empty line held back: it may be the separator */
	bool prev_empty;     /* the last line read was empty */
};

static void mbox_line(struct mbox_msg *m, const char *line, size_t len)
{
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (m->pending_blank) {
		str_append(&m->data, "\r\n");
		m->pending_blank = false;
	}
	if (m->in_header) {
		bool was_keywords = m->in_keywords;
		m->in_keywords = false;
		if (len == 0) {
			m->in_header = false;
			m->skipping = false;
		} else if (was_keywords && (line[0] == ' ' || line[0] == '\t')) {
			x_keywords(&m->keywords, line, len);
			m->in_keywords = true;
			return;
		} else if (m->skipping && (line[0] == ' ' || line[0] == '\t')) {
			return;
		} else if (header_is(line, len, "Status") || header_is(line, len, "X-Status")) {
			bool x = line[0] == 'X' || line[0] == 'x';
			size_t skip = x ? 9 : 7;
			m->flags |= status_flags(line + skip, len - skip, x);
			m->skipping = true;
			return;
		} else if (header_is(line, len, "X-Keywords")) {
			/* like Status:, the mbox's copy of IMAP state (one line;
			 * a continuation is read as more keywords) */
			x_keywords(&m->keywords, line + 11, len - 11);
			m->skipping = false;
			m->in_keywords = true;
			return;
		} else {
			m->skipping = false;
		}
	} else if (len == 0) {
		m->pending_blank = true;
		return;
	}
	/* mboxrd: ">From ", ">>From " ... lose one '>'. */
	size_t q = 0;
	while (q < len && line[q] == '>')
		q++;
	if (q > 0 && len - q >= 5 && memcmp(line + q, "From ", 5) == 0) {
		line++;
		len--;
	}
	str_append_n(&m->data, line, len);
	str_append(&m->data, "\r\n");
}

static void mbox_flush(struct importer *im, struct dest *d, struct mbox_msg *m)
{
	/* The held-back empty line was the separator before the next From_. */
	if (m->data.len > 0) {
		time_t date = m->date;
		if (date < 0) {
			struct message_prepared p;
			message_prepare(&p, m->data.data, m->data.len);
			date = p.has_sentdate ? p.sentdate : time(NULL);
			message_prepared_free(&p);
		}
		import_one(im, d, &m->data, date, 0, m->flags, str_c(&m->keywords));
	}
	str_clear(&m->data);
	str_clear(&m->keywords);
	m->flags = 0;
	m->in_keywords = false;
	m->in_header = true;
	m->skipping = false;
	m->pending_blank = false;
}

static int import_mbox_file(struct importer *im, struct dest *d, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0) {
		fprintf(stderr, "agora: import: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (sb.st_size == 0) {
		close(fd);
		return 0;
	}
	size_t len = (size_t)sb.st_size;
	const char *data = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (data == MAP_FAILED) {
		fprintf(stderr, "agora: import: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (len < 5 || memcmp(data, "From ", 5) != 0) {
		fprintf(stderr, "agora: import: %s: not an mbox file (no From_ line first)\n", path);
		munmap((void *)data, len);
		return -1;
	}
	struct mbox_msg m = { .data = STR_INIT, .date = -1, .keywords = STR_INIT, .in_header = true };
	bool started = false;
	size_t start = 0;
	while (start < len) {
		const char *nl = memchr(data + start, '\n', len - start);
		size_t end = nl != NULL ? (size_t)(nl - data) : len;
		const char *line = data + start;
		size_t llen = end - start;
		/* A From_ line starts a message at the top of the file or after an
		 * empty line (the separator every writer puts there). */
		if (llen >= 5 && memcmp(line, "From ", 5) == 0 && (!started || m.prev_empty)) {
			if (started)
				mbox_flush(im, d, &m);
			started = true;
			m.date = from_line_date(line, llen);
		} else {
			mbox_line(&m, line, llen);
		}
		m.prev_empty = llen == 0 || (llen == 1 && line[0] == '\r');
		start = end + 1;
	}
	if (started)
		mbox_flush(im, d, &m);
	str_free(&m.data);
	str_free(&m.keywords);
	munmap((void *)data, len);
	return 0;
}

/* The folder an mbox file goes to without --mailbox: its name without
 * ".mbox"; "mbox" and "inbox" are the INBOX. */
static char *folder_of_file(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base != NULL ? base + 1 : path;
	char *f = xstrdup(base);
	size_t n = strlen(f);
	if (n > 5 && strcmp(f + n - 5, ".mbox") == 0)
		f[n - 5] = '\0';
	if (strcasecmp(f, "mbox") == 0 || strcasecmp(f, "inbox") == 0)
		f[0] = '\0';
	char *r = folder_of(f[0] != '\0' ? f : "INBOX");
	free(f);
	return r;
}

/* ------------------------------------------------------------ Maildir */

/* Keywords in Maildir, as Dovecot keeps them: a file `dovecot-keywords` in
 * each folder maps numbers to names, one "N NAME" line each, and the
 * letter 'a' + N in a file's info part (after the standard flags) gives
 * that keyword. 26 at most per folder. */
#define MAILDIR_KEYWORDS_FILE "dovecot-keywords"
#define MAILDIR_MAX_KEYWORDS 26

struct md_keywords {
	char *name[MAILDIR_MAX_KEYWORDS];
};

static void md_keywords_load(struct md_keywords *k, const char *dir)
{
	memset(k, 0, sizeof(*k));
	str_t path = STR_INIT, text = STR_INIT;
	str_printf(&path, "%s/%s", dir, MAILDIR_KEYWORDS_FILE);
	if (read_whole(str_c(&path), &text) == 0) {
		char *save = NULL;
		for (char *line = strtok_r(text.data, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
			char *end;
			long n = strtol(line, &end, 10);
			if (end == line || *end != ' ' || n < 0 || n >= MAILDIR_MAX_KEYWORDS)
				continue;
			size_t len = strcspn(end + 1, "\r");
			str_t one = STR_INIT;
			keyword_add(&one, end + 1, len);
			if (one.len > 0 && strchr(str_c(&one), ' ') == NULL) {
				free(k->name[n]);
				k->name[n] = str_steal(&one);
			}
			str_free(&one);
		}
	}
	str_free(&path);
	str_free(&text);
}

static void md_keywords_free(struct md_keywords *k)
{
	for (int i = 0; i < MAILDIR_MAX_KEYWORDS; i++)
		free(k->name[i]);
}

static uint32_t maildir_flags(const char *name, const struct md_keywords *k, str_t *keywords)
{
	const char *info = strstr(name, ":2,");
	uint32_t f = 0;
	if (info == NULL)
		return 0;
	for (const char *p = info + 3; *p != '\0'; p++) {
		switch (*p) {
		case 'D': f |= MSG_DRAFT; break;
		case 'F': f |= MSG_FLAGGED; break;
		case 'R': f |= MSG_ANSWERED; break;
		case 'S': f |= MSG_SEEN; break;
		case 'T': f |= MSG_DELETED; break;
		default:
			/* keyword letters; P (passed) has no IMAP flag */
			if (*p >= 'a' && *p <= 'z' && k->name[*p - 'a'] != NULL)
				keyword_add(keywords, k->name[*p - 'a'], strlen(k->name[*p - 'a']));
			break;
		}
	}
	return f;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_dir(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

struct mdfile {
	char *name;
	bool cur;
};

static int cmp_mdfile(const void *a, const void *b)
{
	return strcmp(((const struct mdfile *)a)->name, ((const struct mdfile *)b)->name);
}

static void list_sub(const char *dir, const char *sub, struct mdfile **files, size_t *n)
{
	str_t path = STR_INIT;
	str_printf(&path, "%s/%s", dir, sub);
	DIR *dh = opendir(str_c(&path));
	str_free(&path);
	if (dh == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(dh)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		*files = xrealloc(*files, (*n + 1) * sizeof(**files));
		(*files)[*n].name = xstrdup(de->d_name);
		(*files)[*n].cur = strcmp(sub, "cur") == 0;
		(*n)++;
	}
	closedir(dh);
}

/* The messages of cur/ and new/ together, in the order of their names
 * (which begin with the time of delivery in every Maildir writer). */
static void import_maildir_messages(struct importer *im, struct dest *d, const char *dir)
{
	struct mdfile *files = NULL;
	size_t n = 0;
	list_sub(dir, "cur", &files, &n);
	list_sub(dir, "new", &files, &n);
	if (n > 1)
		qsort(files, n, sizeof(*files), cmp_mdfile);
	struct md_keywords kw;
	md_keywords_load(&kw, dir);
	for (size_t i = 0; i < n; i++) {
		str_t file = STR_INIT, raw = STR_INIT, msg = STR_INIT, keywords = STR_INIT;
		str_printf(&file, "%s/%s/%s", dir, files[i].cur ? "cur" : "new", files[i].name);
		struct stat sb;
		if (stat(str_c(&file), &sb) < 0 || (S_ISREG(sb.st_mode) && read_whole(str_c(&file), &raw) < 0)) {
			fprintf(stderr, "agora: import: %s: %s\n", str_c(&file), strerror(errno));
			d->failed++;
			im->failed = true;
		} else if (S_ISREG(sb.st_mode) && raw.len > 0) {
			crlf_normalise(raw.data, raw.len, &msg);
			/* Flags only from cur/: new/ holds mail no one has seen. */
			uint32_t flags = files[i].cur ? maildir_flags(files[i].name, &kw, &keywords) : 0;
			import_one(im, d, &msg, sb.st_mtime, tz_of(sb.st_mtime), flags, str_c(&keywords));
		}
		str_free(&keywords);
		str_free(&file);
		str_free(&raw);
		str_free(&msg);
		free(files[i].name);
	}
	free(files);
	md_keywords_free(&kw);
}

static bool has_maildir(const char *dir)
{
	str_t p = STR_INIT;
	str_printf(&p, "%s/cur", dir);
	bool yes = is_dir(str_c(&p));
	str_clear(&p);
	str_printf(&p, "%s/new", dir);
	yes = yes || is_dir(str_c(&p));
	str_free(&p);
	return yes;
}

static void import_maildir_folder(struct importer *im, const char *dir, const char *folder)
{
	if (!has_maildir(dir))
		return;
	/* A top-level "INBOX" folder (mbsync's layout) is the INBOX. */
	struct dest *d = dest_get(im, strcasecmp(folder, "INBOX") == 0 ? "" : folder);
	if (d == NULL)
		return;
	import_maildir_messages(im, d, dir);
}

/* Walks the tree: DIR itself is the INBOX when it holds cur/ or new/;
 * ".A.B" directories are Maildir++ folders (A.B), other directories plain
 * subfolders whose path gives the hierarchy. */
static void import_maildir_tree(struct importer *im, const char *dir, const char *folder)
{
	import_maildir_folder(im, dir, folder);
	DIR *dh = opendir(dir);
	if (dh == NULL)
		return;
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(dh)) != NULL) {
		const char *nm = de->d_name;
		if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0 || strcmp(nm, "cur") == 0 ||
		    strcmp(nm, "new") == 0 || strcmp(nm, "tmp") == 0)
			continue;
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = xstrdup(nm);
	}
	closedir(dh);
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		str_t path = STR_INIT, sub = STR_INIT;
		str_printf(&path, "%s/%s", dir, names[i]);
		if (is_dir(str_c(&path))) {
			if (names[i][0] == '.') {
				if (names[i][1] != '\0' && folder[0] == '\0')
					import_maildir_folder(im, str_c(&path), names[i] + 1);
			} else {
				str_printf(&sub, "%s%s%s", folder, folder[0] != '\0' ? "." : "", names[i]);
				import_maildir_tree(im, str_c(&path), str_c(&sub));
			}
		}
		str_free(&path);
		str_free(&sub);
		free(names[i]);
	}
	free(names);
}

/* ------------------------------------------------------------ commands */

static const char import_usage[] =
	"usage: agora import [--user USER] [--mailbox MAILBOX] mbox FILE...\n"
	"       agora import [--user USER] maildir DIR\n";

static enum cmd_status cmd_import(struct cmd_ctx *ctx, int argc, char **argv)
{
	const char *user = NULL, *mailbox = NULL;
	int i = 0;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--user") == 0 && i + 1 < argc)
			user = argv[++i];
		else if (strcmp(argv[i], "--mailbox") == 0 && i + 1 < argc)
			mailbox = argv[++i];
		else
			return cmd_bad_input("import: unknown option %s\n%s", argv[i], import_usage);
	}
	if (argc - i < 2 || (strcmp(argv[i], "mbox") != 0 && strcmp(argv[i], "maildir") != 0))
		return cmd_bad_input("import: say mbox FILE... or maildir DIR\n%s", import_usage);
	bool mbox = strcmp(argv[i], "mbox") == 0;
	if (!mbox && (argc - i != 2 || mailbox != NULL))
		return cmd_bad_input("import: maildir takes one DIR and no --mailbox\n%s", import_usage);
	if (user == NULL)
		user = default_user();
	if (user == NULL)
		return cmd_bad_input("import: no --user and no login name");
	struct store *st = ctx->store;
	int got = st->be->user_get(st, user, NULL);
	if (got < 0)
		return cmd_store_failed(st);
	if (got == 0)
		return cmd_bad_input("import: no such user '%s'", user);

	struct importer im = { st, ctx->cfg, user, NULL, 0, false };
	if (mbox) {
		for (int k = i + 1; k < argc; k++) {
			char *folder = mailbox != NULL ? folder_of(mailbox) : folder_of_file(argv[k]);
			struct dest *d = dest_get(&im, folder);
			free(folder);
			if (d != NULL && import_mbox_file(&im, d, argv[k]) < 0)
				im.failed = true;
		}
	} else {
		if (!is_dir(argv[i + 1])) {
			free(im.dests);
			return cmd_bad_input("import: %s is not a directory", argv[i + 1]);
		}
		import_maildir_tree(&im, argv[i + 1], "");
	}
	for (size_t k = 0; k < im.ndests; k++) {
		struct dest *d = im.dests[k];
		printf("%s: %u imported, %u already present%s", d->name, d->added, d->skipped,
		       d->failed ? ", " : "\n");
		if (d->failed)
			printf("%u failed\n", d->failed);
		for (size_t j = 0; j < d->nex; j++) {
			free(d->ex[j].msgid);
			free(d->ex[j].path);
		}
		free(d->ex);
		free(d->name);
		mailbox_info_free(&d->info);
		free(d);
	}
	free(im.dests);
	return im.failed ? CMD_FAILED : CMD_OK;
}

/* ------------------------------------------------------------ export */

struct names {
	char **v;
	size_t n;
};

static void collect_name(const struct mailbox_info *info, void *ctx)
{
	struct names *nm = ctx;
	nm->v = xrealloc(nm->v, (nm->n + 1) * sizeof(char *));
	nm->v[nm->n++] = xstrdup(info->name);
}

static int mkdir_maildir(const char *dir, bool folder)
{
	static const char *const subs[] = { "", "/cur", "/new", "/tmp" };
	for (size_t i = 0; i < 4; i++) {
		str_t p = STR_INIT;
		str_printf(&p, "%s%s", dir, subs[i]);
		int r = mkdir(str_c(&p), 0700);
		int e = errno;
		str_free(&p);
		if (r < 0 && e != EEXIST) {
			errno = e;
			return -1;
		}
	}
	if (folder) {
		/* Maildir++ marks a folder with an empty maildirfolder file. */
		str_t p = STR_INIT;
		str_printf(&p, "%s/maildirfolder", dir);
		int fd = open(str_c(&p), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		str_free(&p);
		if (fd < 0)
			return -1;
		close(fd);
	}
	return 0;
}

static int write_file(const char *path, const char *data, size_t len, time_t mtime)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };
	if (futimens(fd, ts) < 0 || fsync(fd) < 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* Files already in DIR/cur by their name without the info part, so that an
 * export into the same directory replaces a message whose flags changed
 * rather than leaving it twice. */
struct old_file {
	char *base, *name;
};

static int cmp_old(const void *a, const void *b)
{
	return strcmp(((const struct old_file *)a)->base, ((const struct old_file *)b)->base);
}

static struct old_file *old_files(const char *dir, size_t *n_r)
{
	str_t path = STR_INIT;
	str_printf(&path, "%s/cur", dir);
	DIR *dh = opendir(str_c(&path));
	str_free(&path);
	struct old_file *v = NULL;
	size_t n = 0;
	struct dirent *de;
	while (dh != NULL && (de = readdir(dh)) != NULL) {
		const char *colon = strchr(de->d_name, ':');
		if (de->d_name[0] == '.' || colon == NULL)
			continue;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n].base = xstrndup(de->d_name, (size_t)(colon - de->d_name));
		v[n].name = xstrdup(de->d_name);
		n++;
	}
	if (dh != NULL)
		closedir(dh);
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_old);
	*n_r = n;
	return v;
}

/* Exports one mailbox; returns the number of messages or -1. */
static long export_mailbox(struct store *st, const char *user, const struct mailbox_info *info,
			   const char *dir)
{
	struct msg_rec *recs = NULL;
	size_t n = 0;
	if (st->be->msg_list(st, info, user, 0, &recs, &n) < 0)
		return -1;
	long done = 0;
	size_t nold = 0;
	struct old_file *old = old_files(dir, &nold);
	/* Keywords get letters: those an earlier export gave keep theirs. */
	struct md_keywords kw;
	md_keywords_load(&kw, dir);
	bool kw_changed = false, kw_full = false;
	for (size_t i = 0; i < n; i++) {
		const char *p = recs[i].keywords;
		while (p != NULL && *p != '\0') {
			size_t len = strcspn(p, " ");
			int slot = -1, free_slot = -1;
			for (int j = 0; j < MAILDIR_MAX_KEYWORDS; j++) {
				if (kw.name[j] == NULL) {
					if (free_slot < 0)
						free_slot = j;
				} else if (strlen(kw.name[j]) == len && strncasecmp(kw.name[j], p, len) == 0) {
					slot = j;
				}
			}
			if (slot < 0 && free_slot >= 0) {
				kw.name[free_slot] = xstrndup(p, len);
				kw_changed = true;
			} else if (slot < 0 && !kw_full) {
				fprintf(stderr, "agora: export: %s: more than %d keywords; %.*s and later ones not "
					"exported\n", info->name, MAILDIR_MAX_KEYWORDS, (int)len, p);
				kw_full = true;
			}
			p += len;
			while (*p == ' ')
				p++;
		}
	}
	if (kw_changed) {
		str_t text = STR_INIT, kpath = STR_INIT, ktmp = STR_INIT;
		for (int j = 0; j < MAILDIR_MAX_KEYWORDS; j++)
			if (kw.name[j] != NULL)
				str_printf(&text, "%d %s\n", j, kw.name[j]);
		str_printf(&kpath, "%s/%s", dir, MAILDIR_KEYWORDS_FILE);
		str_printf(&ktmp, "%s/tmp/%s", dir, MAILDIR_KEYWORDS_FILE);
		if (write_file(str_c(&ktmp), text.data, text.len, time(NULL)) < 0 ||
		    rename(str_c(&ktmp), str_c(&kpath)) < 0) {
			fprintf(stderr, "agora: export: %s: %s\n", str_c(&kpath), strerror(errno));
			unlink(str_c(&ktmp));
		}
		str_free(&text);
		str_free(&kpath);
		str_free(&ktmp);
	}
	for (size_t i = 0; i < n; i++) {
		struct msg_detail det;
		if (st->be->msg_detail(st, info, recs[i].uid, &det) != 1)
			continue;  /* expunged meanwhile */
		str_t data = STR_INIT, tmp = STR_INIT, final = STR_INIT, base = STR_INIT;
		str_printf(&base, "%lld.A%u_%u.agora", (long long)det.internaldate, info->uidvalidity, det.uid);
		str_printf(&tmp, "%s/tmp/%s", dir, str_c(&base));
		str_printf(&final, "%s/cur/%s:2,", dir, str_c(&base));
		uint32_t f = recs[i].flags;
		if (f & MSG_DRAFT)
			str_append_c(&final, 'D');
		if (f & MSG_FLAGGED)
			str_append_c(&final, 'F');
		if (f & MSG_ANSWERED)
			str_append_c(&final, 'R');
		if (f & MSG_SEEN)
			str_append_c(&final, 'S');
		if (f & MSG_DELETED)
			str_append_c(&final, 'T');
		/* then the keyword letters, in alphabetical order */
		for (int j = 0; j < MAILDIR_MAX_KEYWORDS; j++) {
			if (kw.name[j] == NULL || recs[i].keywords == NULL)
				continue;
			size_t klen = strlen(kw.name[j]);
			for (const char *p = recs[i].keywords; *p != '\0';) {
				size_t len = strcspn(p, " ");
				if (len == klen && strncasecmp(p, kw.name[j], len) == 0) {
					str_append_c(&final, (char)('a' + j));
					break;
				}
				p += len;
				while (*p == ' ')
					p++;
			}
		}
		int r = store_msgfile_read(st, info, &det, NULL, &data) ? 0 : -1;
		if (r == 0)
			r = write_file(str_c(&tmp), data.data, data.len, det.internaldate);
		if (r == 0)
			r = rename(str_c(&tmp), str_c(&final));
		if (r < 0) {
			fprintf(stderr, "agora: export: %s uid %u: %s\n", info->name, det.uid, strerror(errno));
			unlink(str_c(&tmp));
		} else {
			done++;
			struct old_file key = { (char *)str_c(&base), NULL };
			struct old_file *o = nold ? bsearch(&key, old, nold, sizeof(*old), cmp_old) : NULL;
			const char *now = strrchr(str_c(&final), '/') + 1;
			if (o != NULL && strcmp(o->name, now) != 0) {
				str_clear(&tmp);
				str_printf(&tmp, "%s/cur/%s", dir, o->name);
				unlink(str_c(&tmp));
			}
		}
		str_free(&data);
		str_free(&tmp);
		str_free(&final);
		str_free(&base);
		msg_detail_free(&det);
	}
	for (size_t i = 0; i < nold; i++) {
		free(old[i].base);
		free(old[i].name);
	}
	free(old);
	md_keywords_free(&kw);
	msg_rec_free_array(recs, n);
	return done;
}

static enum cmd_status cmd_export(struct cmd_ctx *ctx, int argc, char **argv)
{
	const char *user = NULL;
	int i = 0;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--user") == 0 && i + 1 < argc)
			user = argv[++i];
		else
			return cmd_bad_input("export: unknown option %s", argv[i]);
	}
	if (argc - i < 2 || strcmp(argv[i], "maildir") != 0)
		return cmd_bad_input("usage: agora export [--user USER] maildir DIR [MAILBOX...]");
	if (user == NULL)
		user = default_user();
	if (user == NULL)
		return cmd_bad_input("export: no --user and no login name");
	struct store *st = ctx->store;
	const char *root = argv[i + 1];
	str_t inbox = STR_INIT;
	str_printf(&inbox, "user.%s", user);
	struct names names = { NULL, 0 };
	if (argc - i > 2) {
		for (int k = i + 2; k < argc; k++) {
			char *folder = folder_of(argv[k]);
			str_t nm = STR_INIT;
			internal_name(user, folder, &nm);
			free(folder);
			names.v = xrealloc(names.v, (names.n + 1) * sizeof(char *));
			names.v[names.n++] = str_steal(&nm);
		}
	} else if (st->be->mailbox_list(st, str_c(&inbox), collect_name, &names) < 0) {
		str_free(&inbox);
		return cmd_store_failed(st);
	}
	enum cmd_status status = CMD_OK;
	if (mkdir_maildir(root, false) < 0) {
		fprintf(stderr, "agora: export: %s: %s\n", root, strerror(errno));
		status = CMD_FAILED;
		goto out;
	}
	for (size_t k = 0; k < names.n; k++) {
		struct mailbox_info info;
		int got = st->be->mailbox_get(st, names.v[k], &info);
		if (got != 1) {
			status = got == 0 ? cmd_bad_input("export: no mailbox %s", names.v[k]) : cmd_store_failed(st);
			continue;
		}
		str_t dir = STR_INIT;
		bool is_inbox = strcmp(names.v[k], str_c(&inbox)) == 0;
		if (is_inbox)
			str_append(&dir, root);
		else
			str_printf(&dir, "%s/.%s", root, names.v[k] + inbox.len + 1);
		long n = -1;
		if (mkdir_maildir(str_c(&dir), !is_inbox) < 0)
			fprintf(stderr, "agora: export: %s: %s\n", str_c(&dir), strerror(errno));
		else
			n = export_mailbox(st, user, &info, str_c(&dir));
		if (n < 0) {
			status = CMD_FAILED;
		} else {
			printf("%s: %ld exported to %s\n", names.v[k], n, str_c(&dir));
		}
		str_free(&dir);
		mailbox_info_free(&info);
	}
out:
	for (size_t k = 0; k < names.n; k++)
		free(names.v[k]);
	free(names.v);
	str_free(&inbox);
	return status;
}

static const struct cmd_entry import_entries[] = {
	{ "", NULL, "[--user U] [--mailbox M] mbox FILE... | maildir DIR",
	  "import messages from mbox files or a Maildir tree (skips those already present)",
	  2, -1, cmd_import },
	{ NULL, NULL, NULL, NULL, 0, 0, NULL },
};

static const struct cmd_entry export_entries[] = {
	{ "", NULL, "[--user USER] maildir DIR [MAILBOX...]",
	  "export a user's mailboxes to a Maildir++ tree with flags", 2, -1, cmd_export },
	{ NULL, NULL, NULL, NULL, 0, 0, NULL },
};

const struct cmd_family cmd_import_family = { .name = "import", .entries = import_entries };
const struct cmd_family cmd_export_family = { .name = "export", .entries = export_entries };
