#include "agorad/server.h"
#include "lib/config.h"
#include "lib/log.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>

static void log_ssl_errors(const char *what)
{
	unsigned long e;
	char buf[256];
	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		log_error("%s: %s", what, buf);
	}
}

/* tls_versions (Cyrus's words): a space-separated set of tls1_2, tls1_3.
 * Older versions are below Agora's floor and refused. */
static int parse_versions(const struct config *cfg, int *min_r, int *max_r)
{
	const char *v = config_str(cfg, "tls_versions");
	int min = 0, max = 0;
	char *copy = strdup(v != NULL ? v : "");
	char *save = NULL;
	for (char *t = strtok_r(copy, " \t,", &save); t != NULL; t = strtok_r(NULL, " \t,", &save)) {
		int ver;
		if (strcmp(t, "tls1_2") == 0)
			ver = TLS1_2_VERSION;
		else if (strcmp(t, "tls1_3") == 0)
			ver = TLS1_3_VERSION;
		else if (strcmp(t, "ssl3") == 0 || strcmp(t, "tls1_0") == 0 || strcmp(t, "tls1_1") == 0) {
			log_error("%s: tls_versions: %s is below the floor of TLS 1.2", config_path(cfg), t);
			free(copy);
			return -1;
		} else {
			log_error("%s: tls_versions: unknown version '%s' (tls1_2, tls1_3)", config_path(cfg), t);
			free(copy);
			return -1;
		}
		if (min == 0 || ver < min)
			min = ver;
		if (ver > max)
			max = ver;
	}
	free(copy);
	if (min == 0) {
		log_error("%s: tls_versions: no version given", config_path(cfg));
		return -1;
	}
	*min_r = min;
	*max_r = max;
	return 0;
}

/* A new server context from the configuration's files and settings; NULL
 * (logged) when something is wrong. */
static SSL_CTX *tls_ctx_build(const struct config *cfg)
{
	const char *cert = config_str(cfg, "tls_server_cert");
	const char *key = config_str(cfg, "tls_server_key");
	const char *ciphers = config_str(cfg, "tls_ciphers");
	int min, max;
	if (parse_versions(cfg, &min, &max) < 0)
		return NULL;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		log_ssl_errors("TLS");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, min);
	SSL_CTX_set_max_proto_version(ctx, max);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	if (config_bool(cfg, "tls_prefer_server_ciphers"))
		SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (ciphers != NULL && ciphers[0] != '\0' && SSL_CTX_set_cipher_list(ctx, ciphers) != 1) {
		log_error("%s: tls_ciphers: no usable cipher in '%s'", config_path(cfg), ciphers);
		log_ssl_errors("tls_ciphers");
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		log_ssl_errors(cert);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		log_ssl_errors(key);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
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
	srv->ssl_ctx = tls_ctx_build(srv->cfg);
	return srv->ssl_ctx != NULL ? 0 : -1;
}

int tls_reload(struct server *srv)
{
	if (srv->ssl_ctx == NULL)
		return 0;
	SSL_CTX *ctx = tls_ctx_build(srv->cfg);
	if (ctx == NULL) {
		log_error("TLS: certificate reload failed; keeping the previous certificate");
		return -1;
	}
	/* connections that run hold their own reference to the old context */
	SSL_CTX_free(srv->ssl_ctx);
	srv->ssl_ctx = ctx;
	return 0;
}

static void under_drained(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct event *timeout_ev = arg;
	(void)info;
	if (evbuffer_get_length(buf) == 0) {
		/* Free from the loop, not from inside the socket's write. */
		struct timeval now = { 0, 0 };
		event_add(timeout_ev, &now);
	}
}

void tls_wait_for_underlying(struct bufferevent *under, struct event *timeout_ev, int secs)
{
	evbuffer_add_cb(bufferevent_get_output(under), under_drained, timeout_ev);
	struct timeval tv = { secs, 0 };
	event_add(timeout_ev, &tv);
}

struct bufferevent *tls_filter_new(struct event_base *base, struct bufferevent *under, SSL *ssl)
{
	struct bufferevent *tls = bufferevent_openssl_filter_new(base, under, ssl, BUFFEREVENT_SSL_ACCEPTING,
								 BEV_OPT_CLOSE_ON_FREE);
	if (tls == NULL)
		SSL_free(ssl);
	return tls;
}
