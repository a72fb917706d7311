/* The protocol between workers and the auth process.
 *
 * The auth process alone reads and checks password hashes. Workers talk to
 * it over a SOCK_SEQPACKET unix socket (`auth.sock` in configdirectory,
 * mode 0600, bound by the master and kept by it across restarts of the
 * auth process). One packet is one message: fields, each ended by a NUL.
 *
 *   request:  ID OP ARGS...
 *   reply:    ID STATUS RESULTS...
 *
 * ID is the worker's decimal request number, echoed back. Operations:
 *
 *   PASS authzid authcid password
 *       -> OK user authcid        (user: the identity the session gets)
 *       -> FAIL                   (wrong user or password)
 *       -> NOAUTHZ                (right password, authzid not allowed)
 *       -> ERR                    (internal failure)
 */
#ifndef AGORA_AUTH_PROTO_H
#define AGORA_AUTH_PROTO_H

#define AUTH_SOCKET_NAME "auth.sock"
/* Largest packet either way. */
#define AUTH_MSG_MAX 8192
/* Longest a worker waits for an answer before saying UNAVAILABLE. */
#define AUTH_REQUEST_TIMEOUT_SEC 20
/* Fields of one message at most. */
#define AUTH_MAX_FIELDS 16

#endif
