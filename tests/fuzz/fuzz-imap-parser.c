/* libFuzzer target for IMAP command input: the framer fed in pieces of a
 * size the input chooses, literals accepted up to a bound, then the parser
 * on every complete command. Nothing may crash or read past the input. */
#include "lib-imap/imap-parser.h"
#include "lib/pool.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const struct imap_arg *args, size_t n, volatile size_t *sum)
{
	for (size_t i = 0; i < n; i++) {
		if (args[i].type == IMAP_ARG_LIST)
			walk(args[i].list, args[i].count, sum);
		else if (args[i].len > 0)
			*sum += (unsigned char)args[i].str[args[i].len - 1];
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t chunk = (size_t)(data[0] % 64) + 1;
	data++;
	size--;
	struct imap_framer f;
	imap_framer_init(&f, 1024);
	struct pool *pool = pool_new(1024);
	size_t pos = 0;
	while (pos < size) {
		size_t n = size - pos < chunk ? size - pos : chunk;
		size_t done = 0;
		while (done < n) {
			size_t used = 0;
			enum imap_frame_result r = imap_framer_feed(&f, (const char *)data + pos + done,
								    n - done, &used);
			done += used;
			if (r == IMAP_FRAME_LITERAL) {
				if (f.lit_size <= 4096)
					imap_framer_literal_accept(&f);
				else
					imap_framer_reset(&f);
			} else if (r == IMAP_FRAME_COMMAND) {
				struct imap_command cmd;
				const char *err;
				volatile size_t sum = 0;
				pool_clear(pool);
				if (imap_parse_command(f.buf.data, f.buf.len, pool, &cmd, &err) == 0)
					walk(cmd.args, cmd.nargs, &sum);
				imap_framer_reset(&f);
			} else if (r == IMAP_FRAME_MORE) {
				break;
			}
		}
		pos += n;
	}
	imap_framer_deinit(&f);
	pool_free(&pool);
	return 0;
}
