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
 *   PASS authzid authcid password clientaddr
 *       -> OK user authcid        (user: the identity the session gets)
 *       -> FAIL delay-ms reason   (wrong user or password; answer after
 *                                  the delay, which grows per address/user)
 *       -> NOAUTHZ                (right password, authzid not allowed)
 *       -> ERR                    (internal failure)
 *   SCRAM1 mech cbtypes client-first clientaddr
 *       -> CONT sid server-first cbname   (cbname: the type the client chose)
 *       -> BAD reason             (malformed; the exchange is over)
 *   SCRAM2 sid client-final cbdata-base64
 *       -> OK user authcid server-final | FAIL delay-ms reason | BAD reason | NOAUTHZ
 *   SCRAMX sid                    (forget an aborted exchange) -> OK
 *
 * Sessions, counted over all workers for maxlogins_per_user (the auth
 * process handles these at once, in the order each worker sent them; sid
 * is the worker's decimal number for the session, never reused by it):
 *
 *   SESS sid user   a login succeeded -> OK (counted) | LIMIT (not counted)
 *   HOLD sid user   a session of the worker from before the auth process
 *                   restarted (sent on reconnecting) -> OK, counted always
 *   END sid         the session is over (or its SESS was given up) -> OK
 *
 * A worker's sessions end with its connection to the auth socket, so a
 * worker that dies frees every slot it held.
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
