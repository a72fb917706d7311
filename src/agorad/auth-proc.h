/* The auth process (master side) and its client in the workers. */
#ifndef AGORA_AUTH_PROC_H
#define AGORA_AUTH_PROC_H

#include <stddef.h>
#include <sys/types.h>
#include "lib/str.h"

struct config;

/* Master: binds the auth socket in configdirectory (mode 0600); its path
 * goes to path_r. Returns the listening fd or -1 (logged). */
int auth_socket_open(const struct config *cfg, str_t *path_r);
/* Master: forks the auth process serving `listen_fd`. */
pid_t auth_process_start(int listen_fd);

/* Worker: sends a request (fields, without the ID) and calls `cb` with the
 * reply's fields after the ID (status first), or with n == 0 when the auth
 * process is unavailable (not running, died, no answer in time). `cb` is
 * never called from inside auth_request; it may be NULL (no answer
 * wanted). Returns a handle for
 * auth_request_cancel. */
typedef void auth_reply_cb(void *ctx, const char *const *fields, size_t n);
unsigned auth_request(const char *const *fields, size_t n, auth_reply_cb *cb, void *ctx);
/* The requester went away: its callback is not called. */
void auth_request_cancel(unsigned handle);
/* Worker start: where the auth socket is, and what to call each time a
 * connection to the auth process is made (it may send requests: HOLD of
 * the sessions the worker has). The worker reconnects by itself soon
 * after losing the auth process. */
void auth_client_init(const char *socket_path, void (*on_connect)(void));

#endif
