/* A small blocking IMAP client: one connection, one command at a time.
 * Used by `agora adm`, which sends a command, waits for its answer and
 * prints it; nothing here needs an event loop.
 *
 * Responses are framed with the server's own framer (lib-imap), so
 * literals in answers are read exactly, and every untagged response is
 * parsed into an argument tree that the caller's callback sees. */
#ifndef AGORA_IMAPC_H
#define AGORA_IMAPC_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/str.h"
#include "lib-imap/imap-parser.h"

struct imapc;

/* How a command ended. */
enum imapc_result {
	IMAPC_OK = 0,
	IMAPC_NO = 1,
	IMAPC_BAD = 2,
	IMAPC_DISCONNECTED = -1,  /* or a protocol error: the connection is unusable */
};

/* An untagged response: "* NAME ARGS..." (name uppercased; for "* 3 EXISTS"
 * the name is "3"). Arguments live until the callback returns. */
typedef void imapc_untagged_cb(const struct imap_command *resp, void *ctx);

/* Connects and reads the greeting. NULL with a message in err. */
struct imapc *imapc_connect(const char *host, const char *port, str_t *err);
void imapc_close(struct imapc **conn);

/* Whether the last CAPABILITY (asked for, or sent in a greeting or a
 * login answer) listed `cap` (case-insensitive). */
bool imapc_has_capability(const struct imapc *conn, const char *cap);
/* Asks CAPABILITY again (after login the list changes). */
enum imapc_result imapc_refresh_capabilities(struct imapc *conn);

/* mech: "PLAIN" (AUTHENTICATE PLAIN, SASL-IR when offered) or "LOGIN"
 * (the LOGIN command). The server's text is in imapc_last_text(). */
enum imapc_result imapc_login(struct imapc *conn, const char *mech, const char *user,
			      const char *password);

/* Sends one command (without tag and CRLF; build arguments with
 * lib-imap/imap-quote.h, literals included: they are sent one by one
 * after the server's "+") and reads until its tagged answer. cb (may be
 * NULL) sees every untagged response meanwhile. */
enum imapc_result imapc_command(struct imapc *conn, imapc_untagged_cb *cb, void *ctx,
				const char *command);

/* The text of the last tagged answer after "OK"/"NO"/"BAD", response code
 * included ("[NONEXISTENT] Mailbox does not exist"), or why the connection
 * failed. */
const char *imapc_last_text(const struct imapc *conn);

/* Writes the RFC 4648 base64 encoding of data[0..len) to out. */
void imapc_base64(str_t *out, const void *data, size_t len);

#endif
