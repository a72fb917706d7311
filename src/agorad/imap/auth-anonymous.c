/* Anonymous access (Cyrus's `allowanonymouslogin`, off by default): LOGIN
 * as "anonymous" with any password, or AUTHENTICATE ANONYMOUS (RFC 4505)
 * with a trace token. The session reaches only what the ACLs give
 * `anyone` and `anonymous`; it is never "authenticated". */
#include "agorad/imap/imap-commands.h"
#include "agorad/imap/imap-client.h"
#include "agorad/server.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool anonymous_allowed(void)
{
	return config_bool(server.cfg, "allowanonymouslogin");
}

static void finish(struct imap_client *c, const char *tag, const char *trace)
{
	/* The trace is for the log only (RFC 4505 section 3). */
	log_info("anonymous login addr=%s trace=%.64s", c->addr, trace);
	client_login_anonymous(c);
	str_t caps = STR_INIT;
	client_capability(c, &caps);
	client_tagged(c, tag, "OK", "[CAPABILITY %s] Logged in anonymously", str_c(&caps));
	str_free(&caps);
}

int anonymous_login(struct imap_client *c, const char *tag, const char *user, const char *password)
{
	if (!anonymous_allowed() || strcasecmp(user, "anonymous") != 0)
		return 0;
	free(c->auth_mech);
	c->auth_mech = xstrdup("ANONYMOUS");
	finish(c, tag, password);
	return 1;
}

int cmd_authenticate_anonymous(struct imap_client *c, const struct imap_command *cmd,
			       const struct imap_arg *args, size_t nargs)
{
	if (!anonymous_allowed()) {
		client_tagged(c, cmd->tag, "NO", "Unsupported authentication mechanism");
		return 0;
	}
	free(c->auth_mech);
	c->auth_mech = xstrdup("ANONYMOUS");
	if (nargs == 2) {
		const char *ir = arg_string(&args[1]);
		if (ir == NULL)
			return -1;
		finish(c, cmd->tag, ir);
		return 0;
	}
	free(c->wait_tag);
	c->wait_tag = xstrdup(cmd->tag);
	c->wait = WAIT_AUTH_DATA;
	client_send(c, "+ ");
	return 0;
}

void anonymous_continue(struct imap_client *c, const char *tag, const char *line)
{
	if (strcmp(line, "*") == 0)
		client_tagged(c, tag, "BAD", "Authentication cancelled");
	else
		finish(c, tag, line);
}
