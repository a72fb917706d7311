#include "agora/account-name.h"
#include "lib/bounds.h"
#include "lib/config.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* ACL identifiers that mean everyone or a class of users (RFC 4314); an
 * account of that name could never be given rights of its own. */
static const char *const reserved[] = { "anyone", "anonymous", "authenticated" };

static bool plain_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		c == '_' || c == '@' || c == '-';
}

static void describe_char(str_t *err, unsigned char c)
{
	if (c > ' ' && c < 0x7f)
		str_printf(err, "'%c'", c);
	else
		str_printf(err, "byte 0x%02x", c);
}

int account_name_check(const struct config *cfg, const char *kind, const char *name, str_t *err)
{
	size_t len = strlen(name);
	/* '.' is the internal hierarchy separator: "user.a.b" would be the
	 * folder b of user a. With unixhierarchysep clients see '/' and a dot
	 * in a user name is stored as '^' (as Cyrus does), so it is safe. */
	bool dots = config_bool(cfg, "unixhierarchysep");

	if (len == 0) {
		str_printf(err, "%s name is empty", kind);
		return -1;
	}
	if (len > USER_NAME_MAX) {
		str_printf(err, "%s name is longer than %d bytes", kind, USER_NAME_MAX);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (plain_char(c) || (c == '.' && dots))
			continue;
		str_printf(err, "%s name '%s' contains ", kind, name);
		describe_char(err, (unsigned char)c);
		if (c == '.')
			str_append(err, " (allowed only with unixhierarchysep: yes)");
		else
			str_printf(err, "; allowed are letters, digits and _ @ -%s", dots ? " ." : "");
		return -1;
	}
	if (name[0] == '.' || name[0] == '-') {
		str_printf(err, "%s name '%s' must not start with '%c'", kind, name, name[0]);
		return -1;
	}
	if (name[len - 1] == '.') {
		str_printf(err, "%s name '%s' must not end with '.'", kind, name);
		return -1;
	}
	if (strstr(name, "..") != NULL) {
		str_printf(err, "%s name '%s' must not contain '..'", kind, name);
		return -1;
	}
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		if (strcasecmp(name, reserved[i]) == 0) {
			str_printf(err, "%s name '%s' is reserved for ACLs", kind, name);
			return -1;
		}
	}
	return 0;
}
