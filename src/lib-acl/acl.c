#include "lib-acl/acl.h"
#include "lib/bounds.h"

#include <ctype.h>
#include <string.h>

static acl_rights_t right_of(char c)
{
	const char *p = strchr(ACL_LETTERS, c);
	if (c != '\0' && p != NULL)
		return (acl_rights_t)1 << (p - ACL_LETTERS);
	if (c == 'c')
		return ACL_K | ACL_X;
	if (c == 'd')
		return ACL_T | ACL_E;
	return 0;
}

int acl_rights_parse(const char *s, acl_rights_t *rights_r, char *bad_r)
{
	acl_rights_t r = 0;
	for (; *s != '\0'; s++) {
		acl_rights_t one = right_of(*s);
		if (one == 0) {
			*bad_r = *s;
			return -1;
		}
		r |= one;
	}
	*rights_r = r;
	return 0;
}

void acl_rights_format(acl_rights_t rights, bool with_obsolete, str_t *out)
{
	for (unsigned i = 0; ACL_LETTERS[i] != '\0'; i++) {
		if (rights & (1u << i))
			str_append_c(out, ACL_LETTERS[i]);
	}
	if (with_obsolete) {
		if ((rights & (ACL_K | ACL_X)) == (ACL_K | ACL_X))
			str_append_c(out, 'c');
		if ((rights & (ACL_T | ACL_E)) == (ACL_T | ACL_E))
			str_append_c(out, 'd');
	}
}

bool acl_next_entry(const char *acl, size_t *pos, str_t *id, acl_rights_t *rights)
{
	const char *p = acl + *pos;
	if (*p == '\0')
		return false;
	const char *tab = strchr(p, '\t');
	if (tab == NULL)
		return false;
	const char *r = tab + 1;
	const char *end = strchr(r, '\t');
	size_t rlen = end != NULL ? (size_t)(end - r) : strlen(r);
	str_clear(id);
	str_append_n(id, p, (size_t)(tab - p));
	acl_rights_t v = 0;
	for (size_t i = 0; i < rlen; i++)
		v |= right_of(r[i]);
	*rights = v;
	*pos = (size_t)((end != NULL ? end + 1 : r + rlen) - acl);
	return true;
}

void acl_identifier_parse(const char *id, struct acl_identifier *out)
{
	out->negative = id[0] == '-';
	if (out->negative)
		id++;
	out->name = id;
	if (strcmp(id, "anyone") == 0)
		out->kind = ACL_ID_ANYONE;
	else if (strcmp(id, "authenticated") == 0)
		out->kind = ACL_ID_AUTHENTICATED;
	else if (strcmp(id, "anonymous") == 0)
		out->kind = ACL_ID_ANONYMOUS;
	else if (strncmp(id, "group:", 6) == 0) {
		out->kind = ACL_ID_GROUP;
		out->name = id + 6;
	} else if (id[0] == '$') {
		out->kind = ACL_ID_GROUP;
		out->name = id + 1;
	} else {
		out->kind = ACL_ID_USER;
	}
}

void acl_identifier_format(const struct acl_identifier *id, str_t *out)
{
	if (id->negative)
		str_append_c(out, '-');
	switch (id->kind) {
	case ACL_ID_ANYONE:
		str_append(out, "anyone");
		break;
	case ACL_ID_AUTHENTICATED:
		str_append(out, "authenticated");
		break;
	case ACL_ID_ANONYMOUS:
		str_append(out, "anonymous");
		break;
	case ACL_ID_GROUP:
		str_append(out, "group:");
		str_append(out, id->name);
		break;
	case ACL_ID_USER:
		str_append(out, id->name);
		break;
	}
}

bool acl_identifier_name_valid(const struct acl_identifier *id)
{
	if (id->kind != ACL_ID_GROUP && id->kind != ACL_ID_USER)
		return true;
	size_t len = strlen(id->name);
	if (len == 0 || len > USER_NAME_MAX)
		return false;
	for (const char *p = id->name; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-' && *p != '@')
			return false;
	}
	return true;
}

static bool id_matches(const struct acl_identifier *id, const struct acl_subject *who)
{
	switch (id->kind) {
	case ACL_ID_ANYONE:
		return true;
	case ACL_ID_AUTHENTICATED:
		return who->authenticated;
	case ACL_ID_ANONYMOUS:
		return !who->authenticated;
	case ACL_ID_GROUP:
		if (who->groups == NULL)
			return false;
		for (const char *const *g = who->groups; *g != NULL; g++) {
			if (strcmp(*g, id->name) == 0)
				return true;
		}
		return false;
	case ACL_ID_USER:
		break;
	}
	return who->user != NULL && strcmp(id->name, who->user) == 0;
}

acl_rights_t acl_rights_eval(const char *acl, const struct acl_subject *who)
{
	acl_rights_t pos = 0, neg = 0, r;
	size_t at = 0;
	str_t id = STR_INIT;
	while (acl_next_entry(acl, &at, &id, &r)) {
		struct acl_identifier ident;
		acl_identifier_parse(str_c(&id), &ident);
		if (id_matches(&ident, who)) {
			if (ident.negative)
				neg |= r;
			else
				pos |= r;
		}
	}
	str_free(&id);
	return pos & ~neg;
}

acl_rights_t acl_entry_get(const char *acl, const char *want, bool *found_r)
{
	acl_rights_t r;
	size_t at = 0;
	str_t id = STR_INIT;
	*found_r = false;
	while (acl_next_entry(acl, &at, &id, &r)) {
		if (strcmp(str_c(&id), want) == 0) {
			*found_r = true;
			str_free(&id);
			return r;
		}
	}
	str_free(&id);
	return 0;
}

void acl_entry_set(const char *acl, const char *want, acl_rights_t rights, bool remove, str_t *out)
{
	acl_rights_t r;
	size_t at = 0;
	bool done = false;
	str_t id = STR_INIT;
	while (acl_next_entry(acl, &at, &id, &r)) {
		if (strcmp(str_c(&id), want) == 0) {
			done = true;
			if (remove || rights == 0)
				continue;
			r = rights;
		}
		str_append(out, str_c(&id));
		str_append_c(out, '\t');
		acl_rights_format(r, false, out);
		str_append_c(out, '\t');
	}
	if (!done && !remove && rights != 0) {
		str_append(out, want);
		str_append_c(out, '\t');
		acl_rights_format(rights, false, out);
		str_append_c(out, '\t');
	}
	str_free(&id);
}
