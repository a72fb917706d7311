/* Every limit on what a client can make Agora hold or do, in one place.
 * Each has one name here, one place that enforces it, a test under
 * tests/proto/ (or a unit test for the pure parsers), and a response that
 * tells the client what went wrong. Limits that administrators tune are
 * configuration keys; the value here is then the default. */
#ifndef AGORA_BOUNDS_H
#define AGORA_BOUNDS_H

/* IMAP command line (one line, without its literals) once logged in. */
#define IMAP_MAX_LINE            (64 * 1024)
/* ... and before login: a client that has not proven who it is gets
 * little room. */
#define IMAP_MAX_LINE_PREAUTH    (8 * 1024)
/* Largest literal before login (AUTHENTICATE data, LOGIN arguments). */
#define IMAP_MAX_LITERAL_PREAUTH (8 * 1024)
/* Sum of all literals in one command other than APPEND's message, after
 * login (search strings, mailbox names, ...). */
#define IMAP_MAX_COMMAND_LITERALS (1024 * 1024)
/* Default for `maxmessagesize`: the largest message APPEND or delivery takes. */
#define MAX_MESSAGE_SIZE_DEFAULT 67108864 /* 64 MiB; a plain number: config.c uses it as text */
/* Nesting of parenthesised lists in one IMAP command. */
#define IMAP_MAX_LIST_DEPTH      16
/* Number of arguments (atoms, strings, lists) in one IMAP command. */
#define IMAP_MAX_ARGS            10000
/* Nesting of MIME multiparts and message/rfc822 parts the parser follows;
 * deeper parts are treated as opaque bodies. */
#define MIME_MAX_DEPTH           32
/* Number of MIME parts the parser records in one message. */
#define MIME_MAX_PARTS           5000
/* Nesting of SEARCH keys (parentheses, NOT, OR). */
#define SEARCH_MAX_DEPTH         32
/* Consecutive bad commands after which the server says BYE. */
#define IMAP_MAX_BAD_COMMANDS    20
/* Default for `maxlogins_per_user`: concurrent IMAP sessions of one user
 * over all workers (the auth process counts them). */
#define MAX_LOGINS_PER_USER_DEFAULT 50
/* Autologout timers (RFC 3501 5.4): at least 30 minutes after login;
 * one minute before it. Configurable as `timeout` and `login_timeout`. */
#define IMAP_TIMEOUT_DEFAULT_SEC        (30 * 60)
#define IMAP_LOGIN_TIMEOUT_DEFAULT_SEC  60
/* Mailbox names: bytes of the internal name, and hierarchy levels. */
#define MAILBOX_NAME_MAX         490
#define MAILBOX_MAX_DEPTH        64
/* Keywords per mailbox, and length of one keyword. */
#define MAILBOX_MAX_KEYWORDS     128
#define KEYWORD_MAX_LEN          100
/* Seconds of delay before answering a failed login (`failedloginpause`). */
#define FAILED_LOGIN_PAUSE_DEFAULT_SEC 3
/* The cap of the growing delay (`failedloginpause_max`). */
#define FAILED_LOGIN_PAUSE_MAX_DEFAULT_SEC 30
/* Failures of an address or user are forgotten after this long without one. */
#define FAILED_LOGIN_FORGET_SEC (15 * 60)
/* Mailbox metadata (RFC 5464): size of one value, entries per mailbox
 * (shared and private together), length of an entry name. */
#define METADATA_MAX_SIZE        (64 * 1024)
#define METADATA_MAX_ENTRIES     100
#define METADATA_MAX_NAME        256
/* User and group names. */
#define USER_NAME_MAX            128
/* A mailbox's journal (mailbox.journal, for `agora reconstruct`) is
 * compacted to the mailbox's current state once it is this many times the
 * size of its last compacted state, and at least this many bytes. */
#define JOURNAL_COMPACT_FACTOR   4
#define JOURNAL_COMPACT_MIN_BYTES (64 * 1024)

#endif
