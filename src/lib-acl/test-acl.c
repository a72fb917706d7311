#include "lib-acl/acl.h"
#include "lib/test.h"

#include <stdlib.h>

TEST_DEFINE_COUNTERS;

static const char *fmt(acl_rights_t r, bool obs)
{
	static str_t s = STR_INIT;
	str_clear(&s);
	acl_rights_format(r, obs, &s);
	return str_c(&s);
}

int main(void)
{
	acl_rights_t r;
	char bad = 0;
	CHECK_INT(acl_rights_parse("lrswipkxtea", &r, &bad), 0);
	CHECK_INT(r, ACL_ALL);
	CHECK_INT(acl_rights_parse("lrz", &r, &bad), -1);
	CHECK_INT(bad, 'z');
	CHECK_INT(acl_rights_parse("c", &r, &bad), 0);
	CHECK_STR(fmt(r, false), "kx");
	CHECK_INT(acl_rights_parse("d", &r, &bad), 0);
	CHECK_STR(fmt(r, false), "te");
	CHECK_STR(fmt(ACL_ALL, true), "lrswipkxteacd");
	CHECK_STR(fmt(ACL_L | ACL_R | ACL_S, true), "lrs");

	str_t acl = STR_INIT, tmp = STR_INIT;
	acl_entry_set("", "anyone", ACL_L | ACL_R | ACL_S, false, &acl);
	CHECK_STR(str_c(&acl), "anyone\tlrs\t");
	acl_entry_set(str_c(&acl), "bob", ACL_ALL, false, &tmp);
	CHECK_STR(str_c(&tmp), "anyone\tlrs\tbob\tlrswipkxtea\t");
	str_clear(&acl);
	acl_entry_set(str_c(&tmp), "-group:interns", ACL_R, false, &acl);

	const char *groups[] = { "interns", NULL };
	struct acl_subject intern = { "carol", groups, true };
	struct acl_subject bob = { "bob", NULL, true };
	struct acl_subject anon = { "anonymous", NULL, false };
	CHECK_STR(fmt(acl_rights_eval(str_c(&acl), &intern), false), "ls");
	CHECK_STR(fmt(acl_rights_eval(str_c(&acl), &bob), false), "lrswipkxtea");
	CHECK_STR(fmt(acl_rights_eval(str_c(&acl), &anon), false), "lrs");

	bool found;
	CHECK_INT(acl_entry_get(str_c(&acl), "bob", &found), ACL_ALL);
	CHECK(found);
	str_clear(&tmp);
	acl_entry_set(str_c(&acl), "bob", 0, true, &tmp);
	CHECK_STR(str_c(&tmp), "anyone\tlrs\t-group:interns\tr\t");
	acl_entry_get(str_c(&tmp), "bob", &found);
	CHECK(!found);

	/* authenticated matches logged-in users only */
	struct acl_subject dave = { "dave", NULL, true };
	CHECK_INT(acl_rights_eval("authenticated\tlr\t", &dave), ACL_L | ACL_R);
	CHECK_INT(acl_rights_eval("authenticated\tlr\t", &anon), 0);
	CHECK_INT(acl_rights_eval("$staff\tlr\t", &intern), 0);
	const char *staff[] = { "staff", NULL };
	struct acl_subject eve = { "eve", staff, true };
	CHECK_INT(acl_rights_eval("$staff\tlr\t", &eve), ACL_L | ACL_R);

	/* Union of every matching positive entry minus every matching
	 * negative one, through either spelling of a group. */
	const char *two[] = { "staff", "interns", NULL };
	struct acl_subject both = { "frank", two, true };
	const char *mixed = "anyone\tl\tgroup:staff\trsw\tfrank\ti\t-$interns\tw\t";
	CHECK_STR(fmt(acl_rights_eval(mixed, &both), false), "lrsi");
	CHECK_STR(fmt(acl_rights_eval(mixed, &eve), false), "lrsw");
	CHECK_STR(fmt(acl_rights_eval("anyone\tlrs\t-group:staff\tl\t", &eve), false), "rs");
	CHECK_INT(acl_rights_eval("frank\tlrs\t-anyone\tlrs\t", &both), 0);
	/* A negative entry for a group the user is not in takes nothing. */
	CHECK_STR(fmt(acl_rights_eval("anyone\tlr\t-group:interns\tr\t", &eve), false), "lr");
	/* Negative rights given as obsolete letters expand like positive ones. */
	CHECK_STR(fmt(acl_rights_eval("anyone\tlrswipkxtea\t-frank\tcd\t", &both), false), "lrswipa");
	/* authenticated and anonymous split the world in two. */
	CHECK_STR(fmt(acl_rights_eval("anonymous\tl\tauthenticated\tr\t", &dave), false), "r");
	CHECK_STR(fmt(acl_rights_eval("anonymous\tl\tauthenticated\tr\t", &anon), false), "l");
	CHECK_STR(fmt(acl_rights_eval("anyone\tlr\t-anonymous\tr\t", &anon), false), "l");
	CHECK_STR(fmt(acl_rights_eval("anyone\tlr\t-anonymous\tr\t", &dave), false), "lr");
	CHECK_STR(fmt(acl_rights_eval("anyone\tlr\t-authenticated\tr\t", &dave), false), "l");
	/* A user named like a group's member list is not the group. */
	CHECK_INT(acl_rights_eval("staff\tlr\t", &eve), 0);

	/* c and d: parsed to kx and te, shown only when both halves are there. */
	CHECK_INT(acl_rights_parse("lc", &r, &bad), 0);
	CHECK_STR(fmt(r, true), "lkxc");
	CHECK_STR(fmt(ACL_K, true), "k");
	CHECK_STR(fmt(ACL_T | ACL_E, true), "ted");
	CHECK_STR(fmt(ACL_L | ACL_R | ACL_S | ACL_W | ACL_I | ACL_P | ACL_K | ACL_X | ACL_T | ACL_E, true),
		  "lrswipkxtecd");
	CHECK_STR(fmt(0, true), "");
	CHECK_INT(acl_rights_parse("", &r, &bad), 0);
	CHECK_INT(r, 0);
	CHECK_INT(acl_rights_parse("lrsX", &r, &bad), -1);
	CHECK_INT(bad, 'X');
	/* Stored entries hold modern letters only. */
	str_clear(&tmp);
	acl_rights_parse("lrcd", &r, &bad);
	acl_entry_set("", "bob", r, false, &tmp);
	CHECK_STR(str_c(&tmp), "bob\tlrkxte\t");
	/* Setting no rights removes the entry. */
	str_clear(&acl);
	acl_entry_set(str_c(&tmp), "bob", 0, false, &acl);
	CHECK_STR(str_c(&acl), "");

	/* Identifiers: one leading '-' is negative; "$NAME" is "group:NAME". */
	struct acl_identifier id;
	acl_identifier_parse("-$staff", &id);
	CHECK(id.negative);
	CHECK_INT(id.kind, ACL_ID_GROUP);
	CHECK_STR(id.name, "staff");
	str_clear(&tmp);
	acl_identifier_format(&id, &tmp);
	CHECK_STR(str_c(&tmp), "-group:staff");
	acl_identifier_parse("--bob", &id);
	CHECK(id.negative);
	CHECK_INT(id.kind, ACL_ID_USER);
	CHECK_STR(id.name, "-bob");
	CHECK(acl_identifier_name_valid(&id));
	acl_identifier_parse("authenticated", &id);
	CHECK_INT(id.kind, ACL_ID_AUTHENTICATED);
	CHECK(!id.negative);
	CHECK(acl_identifier_name_valid(&id));
	acl_identifier_parse("group:", &id);
	CHECK_INT(id.kind, ACL_ID_GROUP);
	CHECK(!acl_identifier_name_valid(&id));
	acl_identifier_parse("bob smith", &id);
	CHECK(!acl_identifier_name_valid(&id));
	acl_identifier_parse("bob@example.com", &id);
	CHECK(acl_identifier_name_valid(&id));

	str_free(&acl);
	str_free(&tmp);
	return test_summary("acl");
}
