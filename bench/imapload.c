/* imapload: the mixed IMAP load of bench.py, in C.
 *
 * The Python client costs about as much CPU per command as the servers do,
 * on the same two cores, so it hid most of the difference between them.
 * This client runs the same loop with the same choices (one thread per
 * client, blocking sockets) at a small fraction of that cost.
 *
 *   imapload PORT DURATION MESSAGE_FILE USER:PASSWORD...
 *
 * Client i logs in as the i-th USER argument (repeat users to have more
 * clients than users), runs one warm-up loop, waits for the others, then
 * loops for DURATION seconds: SELECT INBOX; FETCH a 50-message window
 * (FLAGS UID RFC822.SIZE ENVELOPE); FETCH n BODY.PEEK[]; UID STORE +FLAGS
 * and -FLAGS (\Seen) on a UID of the window; UID SEARCH UNSEEN; SEARCH
 * SUBJECT "x"; APPEND INBOX (LITERAL+) of MESSAGE_FILE; NOOP. Commands that
 * complete inside the window are counted. Prints one JSON object. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { C_SELECT, C_FETCH_WINDOW, C_FETCH_BODY, C_STORE_ADD, C_STORE_DEL, C_SEARCH_UNSEEN,
       C_SEARCH_SUBJECT, C_APPEND, C_NOOP, C_COUNT };
static const char *const cmd_names[C_COUNT] = {
	"SELECT", "FETCH-window", "FETCH-body", "STORE+", "STORE-", "SEARCH-UNSEEN",
	"SEARCH-SUBJECT", "APPEND", "NOOP",
};

static int port;
static double duration;
static char *message;
static size_t message_len;
static pthread_barrier_t ready;
static double t0, t1;

struct client {
	int idx;
	const char *user, *password;
	int fd;
	char buf[1 << 16];
	size_t start, end;
	unsigned tag;
	uint64_t rng;
	/* the response of the last command: untagged lines and literals */
	char *resp;
	size_t resp_len, resp_cap;
	uint32_t *uids;
	size_t nuids, uids_cap;
	unsigned long count[C_COUNT];
	double secs[C_COUNT];
	const char *error;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rnd(struct client *c)
{
	c->rng ^= c->rng << 13;
	c->rng ^= c->rng >> 7;
	c->rng ^= c->rng << 17;
	return c->rng;
}

/* uniform in [lo, hi] */
static long between(struct client *c, long lo, long hi)
{
	return hi <= lo ? lo : lo + (long)(rnd(c) % (uint64_t)(hi - lo + 1));
}

static void resp_add(struct client *c, const char *p, size_t n)
{
	if (c->resp_len + n + 1 > c->resp_cap) {
		c->resp_cap = (c->resp_len + n + 1) * 2;
		c->resp = realloc(c->resp, c->resp_cap);
		if (c->resp == NULL)
			abort();
	}
	memcpy(c->resp + c->resp_len, p, n);
	c->resp_len += n;
	c->resp[c->resp_len] = '\0';
}

static int fill(struct client *c)
{
	if (c->start > 0) {
		memmove(c->buf, c->buf + c->start, c->end - c->start);
		c->end -= c->start;
		c->start = 0;
	}
	if (c->end == sizeof(c->buf))
		return -1;
	ssize_t r = read(c->fd, c->buf + c->end, sizeof(c->buf) - c->end);
	if (r <= 0) {
		c->error = r == 0 ? "closed by server" : strerror(errno);
		return -1;
	}
	c->end += (size_t)r;
	return 0;
}

/* Reads n bytes of a literal into the response. */
static int read_bytes(struct client *c, size_t n)
{
	while (n > 0) {
		if (c->start == c->end && fill(c) < 0)
			return -1;
		size_t k = c->end - c->start < n ? c->end - c->start : n;
		resp_add(c, c->buf + c->start, k);
		c->start += k;
		n -= k;
	}
	return 0;
}

/* Reads one line (with its CRLF) into the response; returns its offset. */
static long read_line(struct client *c)
{
	size_t off = c->resp_len;
	for (;;) {
		char *nl = memchr(c->buf + c->start, '\n', c->end - c->start);
		if (nl != NULL) {
			size_t k = (size_t)(nl - (c->buf + c->start)) + 1;
			resp_add(c, c->buf + c->start, k);
			c->start += k;
			return (long)off;
		}
		resp_add(c, c->buf + c->start, c->end - c->start);
		c->start = c->end;
		if (fill(c) < 0)
			return -1;
	}
}

static int send_all(struct client *c, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(c->fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			c->error = strerror(errno);
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Sends one command (with an optional LITERAL+ literal) and reads the
 * response; 1 for OK, 0 for NO/BAD, -1 for a broken connection. */
static int command(struct client *c, const char *text, const char *lit, size_t lit_len)
{
	char head[512];
	char tag[16];
	int tl = snprintf(tag, sizeof(tag), "a%u ", ++c->tag);
	int hl;
	if (lit != NULL)
		hl = snprintf(head, sizeof(head), "%s%s {%zu+}\r\n", tag, text, lit_len);
	else
		hl = snprintf(head, sizeof(head), "%s%s\r\n", tag, text);
	if (send_all(c, head, (size_t)hl) < 0)
		return -1;
	if (lit != NULL && (send_all(c, lit, lit_len) < 0 || send_all(c, "\r\n", 2) < 0))
		return -1;
	c->resp_len = 0;
	for (;;) {
		long off = read_line(c);
		if (off < 0)
			return -1;
		/* a literal at the end of the line: its bytes, then the rest */
		for (;;) {
			size_t len = c->resp_len;
			if (len < 3 || c->resp[len - 3] != '}')
				break;
			char *open = c->resp + len - 3;
			while (open > c->resp + off && *open != '{')
				open--;
			if (*open != '{')
				break;
			size_t n = strtoul(open + 1, NULL, 10);
			if (read_bytes(c, n) < 0 || read_line(c) < 0)
				return -1;
		}
		if (strncmp(c->resp + off, tag, (size_t)tl) == 0)
			return strncmp(c->resp + off + tl, "OK", 2) == 0;
	}
}

/* Runs and times one command; the count only inside [t0, t1]. Returns
 * 0 to go on, -1 on error, 1 once the window is over. */
static int timed(struct client *c, int which, bool counting, const char *text, const char *lit,
		 size_t lit_len)
{
	double s = now();
	int r = command(c, text, lit, lit_len);
	double e = now();
	if (r <= 0) {
		if (c->error == NULL)
			c->error = cmd_names[which];
		return -1;
	}
	if (counting && s >= t0 && e <= t1) {
		c->count[which]++;
		c->secs[which] += e - s;
	}
	return counting && e >= t1 ? 1 : 0;
}

static void collect_uids(struct client *c)
{
	c->nuids = 0;
	for (char *p = c->resp; (p = strstr(p, "UID ")) != NULL; p += 4) {
		if (c->nuids == c->uids_cap) {
			c->uids_cap = c->uids_cap ? c->uids_cap * 2 : 64;
			c->uids = realloc(c->uids, c->uids_cap * sizeof(*c->uids));
			if (c->uids == NULL)
				abort();
		}
		c->uids[c->nuids++] = (uint32_t)strtoul(p + 4, NULL, 10);
	}
}

/* One iteration of the mixed loop: 0 to go on, 1 when the window is
 * over, -1 on error. */
static int mixed_loop(struct client *c, bool counting)
{
	char text[256];
	int r;
	if ((r = timed(c, C_SELECT, counting, "SELECT INBOX", NULL, 0)) != 0)
		return r;
	long exists = 0;
	for (char *p = c->resp; (p = strstr(p, "* ")) != NULL; p += 2) {
		char *end;
		long n = strtol(p + 2, &end, 10);
		if (end != p + 2 && strncmp(end, " EXISTS", 7) == 0)
			exists = n;
	}
	if (exists == 0) {
		c->error = "empty INBOX";
		return -1;
	}
	long lo = between(c, 1, exists - 49 > 1 ? exists - 49 : 1);
	long hi = lo + 49 < exists ? lo + 49 : exists;
	snprintf(text, sizeof(text), "FETCH %ld:%ld (FLAGS UID RFC822.SIZE ENVELOPE)", lo, hi);
	if ((r = timed(c, C_FETCH_WINDOW, counting, text, NULL, 0)) != 0)
		return r;
	collect_uids(c);
	snprintf(text, sizeof(text), "FETCH %ld BODY.PEEK[]", between(c, 1, exists));
	if ((r = timed(c, C_FETCH_BODY, counting, text, NULL, 0)) != 0)
		return r;
	uint32_t uid = c->nuids > 0 ? c->uids[between(c, 0, (long)c->nuids - 1)] : 1;
	snprintf(text, sizeof(text), "UID STORE %u +FLAGS (\\Seen)", uid);
	if ((r = timed(c, C_STORE_ADD, counting, text, NULL, 0)) != 0)
		return r;
	snprintf(text, sizeof(text), "UID STORE %u -FLAGS (\\Seen)", uid);
	if ((r = timed(c, C_STORE_DEL, counting, text, NULL, 0)) != 0)
		return r;
	if ((r = timed(c, C_SEARCH_UNSEEN, counting, "UID SEARCH UNSEEN", NULL, 0)) != 0)
		return r;
	if ((r = timed(c, C_SEARCH_SUBJECT, counting, "SEARCH SUBJECT \"x\"", NULL, 0)) != 0)
		return r;
	if ((r = timed(c, C_APPEND, counting, "APPEND INBOX", message, message_len)) != 0)
		return r;
	return timed(c, C_NOOP, counting, "NOOP", NULL, 0);
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	c->rng = 0x9E3779B97F4A7C15ull * (uint64_t)(c->idx + 1);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int one = 1;
	char text[256];
	bool ok = c->fd >= 0 && connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (ok) {
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->resp_len = 0;
		ok = read_line(c) >= 0;     /* the greeting */
	}
	if (ok) {
		snprintf(text, sizeof(text), "LOGIN %s %s", c->user, c->password);
		ok = command(c, text, NULL, 0) == 1;
		if (!ok && c->error == NULL)
			c->error = "LOGIN refused";
	}
	if (ok)
		ok = mixed_loop(c, false) == 0;     /* warm-up */
	if (!ok && c->error == NULL)
		c->error = "connect failed";
	pthread_barrier_wait(&ready);
	pthread_barrier_wait(&ready);          /* t0 and t1 are set */
	if (ok) {
		while (now() < t0)
			usleep(1000);
		while (mixed_loop(c, true) == 0)
			;
	}
	if (c->fd >= 0)
		close(c->fd);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: imapload PORT DURATION MESSAGE_FILE USER:PASSWORD...\n");
		return 2;
	}
	port = atoi(argv[1]);
	duration = atof(argv[2]);
	FILE *f = fopen(argv[3], "rb");
	if (f == NULL) {
		perror(argv[3]);
		return 2;
	}
	fseek(f, 0, SEEK_END);
	message_len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	message = malloc(message_len + 1);
	if (message == NULL || fread(message, 1, message_len, f) != message_len) {
		perror(argv[3]);
		return 2;
	}
	fclose(f);
	int n = argc - 4;
	struct client *cs = calloc((size_t)n, sizeof(*cs));
	pthread_t *ts = calloc((size_t)n, sizeof(*ts));
	pthread_barrier_init(&ready, NULL, (unsigned)n + 1);
	for (int i = 0; i < n; i++) {
		char *colon = strchr(argv[4 + i], ':');
		if (colon == NULL) {
			fprintf(stderr, "imapload: %s: USER:PASSWORD expected\n", argv[4 + i]);
			return 2;
		}
		*colon = '\0';
		cs[i].idx = i;
		cs[i].user = argv[4 + i];
		cs[i].password = colon + 1;
		cs[i].fd = -1;
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 256 * 1024);
		pthread_create(&ts[i], &attr, client_main, &cs[i]);
		pthread_attr_destroy(&attr);
	}
	pthread_barrier_wait(&ready);
	t0 = now() + 0.2;
	t1 = t0 + duration;
	pthread_barrier_wait(&ready);
	for (int i = 0; i < n; i++)
		pthread_join(ts[i], NULL);
	unsigned long total = 0, count[C_COUNT] = { 0 };
	double secs[C_COUNT] = { 0 };
	int errors = 0;
	const char *first_error = NULL;
	for (int i = 0; i < n; i++) {
		for (int k = 0; k < C_COUNT; k++) {
			count[k] += cs[i].count[k];
			secs[k] += cs[i].secs[k];
			total += cs[i].count[k];
		}
		/* a loop cut by the end of the window is not an error */
		if (cs[i].error != NULL) {
			errors++;
			if (first_error == NULL)
				first_error = cs[i].error;
		}
	}
	printf("{\"cmds_per_s\": %.1f, \"n_errors\": %d, \"errors\": [", (double)total / duration, errors);
	if (first_error != NULL)
		printf("\"%s\"", first_error);
	printf("], \"per_command\": {");
	for (int k = 0; k < C_COUNT; k++)
		printf("%s\"%s\": {\"count\": %lu, \"mean_ms\": %.3f}", k ? ", " : "", cmd_names[k], count[k],
		       count[k] ? 1000 * secs[k] / (double)count[k] : 0.0);
	printf("}, \"client\": \"imapload\"}\n");
	return 0;
}
