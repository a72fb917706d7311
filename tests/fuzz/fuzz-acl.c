/* libFuzzer target for the ACL strings (src/lib-acl): rights letters,
 * identifiers and the stored ACL text ("ID\tRIGHTS\t" pairs). The whole
 * input (up to a NUL) is tried as each of them. Round trips are checked
 * with abort():
 *   rights:     parse(format(r)) == r, with and without c and d;
 *   identifier: parse(format(parse(x))) == parse(x), and format(parse(x))
 *               is x itself except that "$NAME" is spelled "group:NAME";
 *   ACL text:   the entries of serialize(entries(x)) are entries(x), and
 *               serializing them again gives the same text; after
 *               acl_entry_set() an entry reads back as set, and after a
 *               removal it is gone; evaluation never gives a right that
 *               no positive entry holds. */
#include "lib-acl/acl.h"
#include "lib/str.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ENTRIES 64

struct entry {
	str_t id;
	acl_rights_t rights;
};

static void check_rights(const char *s)
{
	acl_rights_t r = 0;
	char bad = 0;
	if (acl_rights_parse(s, &r, &bad) < 0) {
		if (strchr(s, bad) == NULL || strchr(ACL_LETTERS "cd", bad) != NULL)
			abort();
		return;
	}
	if ((r & ~(acl_rights_t)ACL_ALL) != 0)
		abort();
	for (int obs = 0; obs < 2; obs++) {
		str_t f = STR_INIT;
		acl_rights_t back = 0;
		acl_rights_format(r, obs != 0, &f);
		if (acl_rights_parse(str_c(&f), &back, &bad) < 0 || back != r)
			abort();
		str_free(&f);
	}
}

static void check_identifier(const char *s)
{
	struct acl_identifier id, back;
	acl_identifier_parse(s, &id);
	str_t f = STR_INIT;
	acl_identifier_format(&id, &f);
	acl_identifier_parse(str_c(&f), &back);
	if (back.kind != id.kind || back.negative != id.negative || strcmp(back.name, id.name) != 0)
		abort();
	const char *bare = s[0] == '-' ? s + 1 : s;
	if (bare[0] == '$') {
		if (id.kind != ACL_ID_GROUP || strncmp(str_c(&f) + id.negative, "group:", 6) != 0 ||
		    strcmp(str_c(&f) + id.negative + 6, bare + 1) != 0)
			abort();
	} else if (strcmp(str_c(&f), s) != 0) {
		abort();
	}
	if (acl_identifier_name_valid(&id) && (id.kind == ACL_ID_USER || id.kind == ACL_ID_GROUP)) {
		if (id.name[0] == '\0' || strpbrk(id.name, " \t\r\n:$,") != NULL)
			abort();
	}
	str_free(&f);
}

static size_t entries_of(const char *acl, struct entry *e)
{
	size_t n = 0, at = 0;
	str_t id = STR_INIT;
	acl_rights_t r;
	while (n < MAX_ENTRIES && acl_next_entry(acl, &at, &id, &r)) {
		if (strchr(str_c(&id), '\t') != NULL || (r & ~(acl_rights_t)ACL_ALL) != 0)
			abort();
		str_init(&e[n].id);
		str_append(&e[n].id, str_c(&id));
		e[n].rights = r;
		n++;
	}
	str_free(&id);
	return n;
}

static void serialize(const struct entry *e, size_t n, str_t *out)
{
	for (size_t i = 0; i < n; i++) {
		str_append(out, str_c(&e[i].id));
		str_append_c(out, '\t');
		acl_rights_format(e[i].rights, false, out);
		str_append_c(out, '\t');
	}
}

static void free_entries(struct entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		str_free(&e[i].id);
}

static void check_acl(const char *acl, bool authenticated)
{
	static struct entry a[MAX_ENTRIES], b[MAX_ENTRIES];
	size_t na = entries_of(acl, a);
	str_t text = STR_INIT, text2 = STR_INIT;
	serialize(a, na, &text);
	size_t nb = entries_of(str_c(&text), b);
	if (na < MAX_ENTRIES) {
		if (nb != na)
			abort();
		for (size_t i = 0; i < na; i++) {
			if (a[i].rights != b[i].rights || strcmp(str_c(&a[i].id), str_c(&b[i].id)) != 0)
				abort();
		}
		serialize(b, nb, &text2);
		if (strcmp(str_c(&text), str_c(&text2)) != 0)
			abort();
	}

	/* every identifier of the ACL as the subject, and a fixed one */
	static const char *const groups[] = { "staff", "interns", NULL };
	acl_rights_t positive_any = 0;
	for (size_t i = 0; i < na; i++) {
		if (str_c(&a[i].id)[0] != '-')
			positive_any |= a[i].rights;
	}
	for (size_t i = 0; i <= na && na < MAX_ENTRIES; i++) {
		struct acl_subject who = { i < na ? str_c(&a[i].id) : "bob", groups, authenticated };
		acl_rights_t r = acl_rights_eval(acl, &who);
		if ((r & ~positive_any) != 0)
			abort();
	}

	/* set, change and remove each identifier */
	for (size_t i = 0; i < na && i < 8; i++) {
		const char *id = str_c(&a[i].id);
		acl_rights_t want = (a[i].rights ^ 0x5a5) & ACL_ALL;
		if (want == 0)
			want = ACL_L;
		str_t set = STR_INIT, removed = STR_INIT;
		bool found = false;
		acl_entry_set(acl, id, want, false, &set);
		if (acl_entry_get(str_c(&set), id, &found) != want || !found)
			abort();
		acl_entry_set(str_c(&set), id, 0, true, &removed);
		(void)acl_entry_get(str_c(&removed), id, &found);
		if (found)
			abort();
		str_free(&set);
		str_free(&removed);
	}
	free_entries(a, na);
	free_entries(b, nb);
	str_free(&text);
	str_free(&text2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	check_rights(s);
	check_identifier(s);
	check_acl(s, (data[0] & 1) != 0);
	free(s);
	return 0;
}
