/* One LMTP connection (RFC 2033): a reply per recipient after DATA. */
#ifndef AGORA_LMTP_CLIENT_H
#define AGORA_LMTP_CLIENT_H

void lmtp_client_create(int fd);
void lmtp_clients_shutdown(void);

#endif
