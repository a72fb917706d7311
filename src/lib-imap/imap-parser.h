/* IMAP command input in two steps.
 *
 * The framer (incremental) is fed whatever bytes have arrived and says
 * whether a whole command (its line and every literal) is there, whether
 * it needs more, or that a literal was announced and needs a decision.
 * A slow client therefore never blocks a worker, and every size is checked
 * before the bytes are kept.
 *
 * The parser then turns one complete command into a tree of arguments,
 * without copying literals. */
#ifndef AGORA_IMAP_PARSER_H
#define AGORA_IMAP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include "lib/str.h"

struct pool;

enum imap_frame_result {
	IMAP_FRAME_MORE,         /* everything consumed, command not complete */
	IMAP_FRAME_COMMAND,      /* a complete command is in framer->buf */
	IMAP_FRAME_LITERAL,      /* a literal was announced: call accept or reject */
	IMAP_FRAME_LINE_TOO_LONG,/* the line passed max_line; the rest of it is skipped */
};

struct imap_framer {
	str_t buf;               /* the command so far */
	size_t max_line;         /* for each line */
	size_t line_start;       /* offset of the line being read */
	size_t literal_left;     /* bytes of an accepted literal still expected */
	size_t lit_size;         /* with IMAP_FRAME_LITERAL: announced size */
	size_t literal_total;    /* sum of the accepted literals of this command */
	bool lit_sync;           /* ... and whether the client waits for "+" */
	bool discarding;         /* skipping the rest of an overlong line */
	bool pending_literal;    /* a LITERAL decision is outstanding */
};

void imap_framer_init(struct imap_framer *f, size_t max_line);
void imap_framer_deinit(struct imap_framer *f);
/* Consumes bytes from data; *used_r tells how many. Call again with the
 * rest after handling a result other than MORE. */
enum imap_frame_result imap_framer_feed(struct imap_framer *f, const char *data, size_t len,
					size_t *used_r);
void imap_framer_literal_accept(struct imap_framer *f);
/* Drops the command being framed (after a refused literal). The client of a
 * refused synchronizing literal sends no data; a refused non-synchronizing
 * literal's bytes are skipped by the caller closing the connection. */
void imap_framer_reset(struct imap_framer *f);
/* The tag of the command being framed, for errors before it is complete
 * ("*" when there is none yet). */
void imap_framer_tag(const struct imap_framer *f, str_t *out);
/* The command word of the command being framed, uppercased ("" if none). */
void imap_framer_command(const struct imap_framer *f, str_t *out);

enum imap_arg_type {
	IMAP_ARG_ATOM,     /* also NIL, numbers, flags, BODY[...]<...> */
	IMAP_ARG_STRING,   /* quoted */
	IMAP_ARG_LITERAL,  /* {n} or ~{n} (literal8) */
	IMAP_ARG_LIST,
};

struct imap_arg {
	enum imap_arg_type type;
	const char *str;         /* NUL-terminated copy for atoms and strings;
				    literals point into the command buffer and
				    are NUL-terminated too */
	size_t len;
	bool literal8;
	struct imap_arg *list;   /* for IMAP_ARG_LIST */
	size_t count;
};

struct imap_command {
	const char *tag;
	const char *name;        /* uppercased */
	struct imap_arg *args;   /* the arguments after the name */
	size_t nargs;
};

/* Parses a complete framed command. Returns 0, or -1 with a message for the
 * client in *error_r (a static string). Allocations come from pool. The
 * command buffer must stay alive while cmd is used (literals point into
 * it). */
int imap_parse_command(char *buf, size_t len, struct pool *pool, struct imap_command *cmd,
		       const char **error_r);

/* Helpers for command code. */
bool imap_arg_is_string(const struct imap_arg *a);  /* atom, quoted or literal */
bool imap_arg_is_atom(const struct imap_arg *a, const char *word); /* case-insensitive */
bool imap_arg_is_nil(const struct imap_arg *a);

#endif
