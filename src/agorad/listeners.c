#include "agorad/server.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int open_unix(const char *path)
{
	struct sockaddr_un sun;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_error("%s: socket path too long", path);
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 512) < 0) {
		log_error("%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	chmod(path, 0666);
	return fd;
}

static int open_tcp(const char *spec)
{
	char host[256];
	const char *port;
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		snprintf(host, sizeof(host), "%.*s", (int)(close - spec - 1), spec + 1);
		port = close + 2;
	} else {
		const char *colon = strrchr(spec, ':');
		snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
		port = colon + 1;
	}
	struct addrinfo hints, *res;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	int rc = getaddrinfo(host[0] != '\0' && strcmp(host, "*") != 0 ? host : NULL, port, &hints, &res);
	if (rc != 0) {
		log_error("%s: %s", spec, gai_strerror(rc));
		return -1;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		freeaddrinfo(res);
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (res->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 1024) < 0) {
		log_error("cannot listen on %s: %s", spec, strerror(errno));
		close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int open_kind(struct server *srv, const char *key, enum listener_kind kind)
{
	char *copy = xstrdup(config_str(srv->cfg, key));
	char *save = NULL;
	int ret = 0;
	for (char *tok = strtok_r(copy, " \t,", &save); tok != NULL; tok = strtok_r(NULL, " \t,", &save)) {
		int fd = tok[0] == '/' ? open_unix(tok) : open_tcp(tok);
		if (fd < 0) {
			ret = -1;
			break;
		}
		srv->listeners = xrealloc(srv->listeners, (srv->nlisteners + 1) * sizeof(*srv->listeners));
		srv->listeners[srv->nlisteners].kind = kind;
		srv->listeners[srv->nlisteners].fd = fd;
		srv->listeners[srv->nlisteners].name = xstrdup(tok);
		srv->nlisteners++;
		log_info("listening for %s on %s", kind == LISTEN_IMAP ? "IMAP" : kind == LISTEN_IMAPS ?
			 "IMAPS" : "LMTP", tok);
	}
	free(copy);
	return ret;
}

int listeners_open(struct server *srv)
{
	if (open_kind(srv, "imap_listen", LISTEN_IMAP) < 0 ||
	    open_kind(srv, "imaps_listen", LISTEN_IMAPS) < 0 ||
	    open_kind(srv, "lmtp_listen", LISTEN_LMTP) < 0)
		return -1;
	if (srv->nlisteners == 0) {
		log_error("%s: nothing to listen on: set imap_listen, imaps_listen or lmtp_listen",
			  config_path(srv->cfg));
		return -1;
	}
	return 0;
}
