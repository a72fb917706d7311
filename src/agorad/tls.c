#include "agorad/server.h"
#include "lib/config.h"
#include "lib/log.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

static void log_ssl_errors(const char *what)
{
	unsigned long e;
	char buf[256];
	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		log_error("%s: %s", what, buf);
	}
}

int tls_init(struct server *srv)
{
	const char *cert = config_str(srv->cfg, "tls_server_cert");
	const char *key = config_str(srv->cfg, "tls_server_key");
	if (cert == NULL && key == NULL)
		return 0;
	if (cert == NULL || key == NULL) {
		log_error("%s: tls_server_cert and tls_server_key go together", config_path(srv->cfg));
		return -1;
	}
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		log_ssl_errors("TLS");
		return -1;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		log_ssl_errors(cert);
		SSL_CTX_free(ctx);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		log_ssl_errors(key);
		SSL_CTX_free(ctx);
		return -1;
	}
	srv->ssl_ctx = ctx;
	return 0;
}
