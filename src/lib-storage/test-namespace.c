/* Name translation between what a client sees and internal names, both
 * ways, for every namespace configuration, and the NAMESPACE response. */
#include "lib-storage/namespace.h"
#include "lib/config.h"
#include "lib/test.h"

#include <stdlib.h>

TEST_DEFINE_COUNTERS;

struct view {
	struct config *cfg;
	struct namespace ns;
};

static void view_init(struct view *v, const char *user, bool admin, bool alt, bool unixsep)
{
	str_t err = STR_INIT;
	v->cfg = config_defaults();
	CHECK_INT(config_set(v->cfg, "altnamespace", alt ? "yes" : "no", &err), 0);
	CHECK_INT(config_set(v->cfg, "unixhierarchysep", unixsep ? "yes" : "no", &err), 0);
	str_free(&err);
	namespace_init(&v->ns, v->cfg, user, admin);
}

static void view_deinit(struct view *v)
{
	namespace_deinit(&v->ns);
	config_free(&v->cfg);
}

/* The internal name for ext, or "(invalid)". */
static const char *in(const struct view *v, const char *ext)
{
	static str_t s = STR_INIT;
	if (namespace_to_internal(&v->ns, ext, &s) < 0)
		return "(invalid)";
	return str_c(&s);
}

static const char *out(const struct view *v, const char *internal)
{
	static str_t s = STR_INIT;
	if (namespace_to_external(&v->ns, internal, &s) < 0)
		return "(none)";
	return str_c(&s);
}

static const char *ns_response(const struct view *v)
{
	static str_t s = STR_INIT;
	str_clear(&s);
	namespace_response(&v->ns, &s);
	return str_c(&s);
}

/* Every internal name maps to a client name that maps back to it. */
static void check_round_trip(const struct view *v, const char *internal)
{
	str_t ext = STR_INIT, back = STR_INIT;
	int r = namespace_to_external(&v->ns, internal, &ext);
	CHECK_INT(r, 0);
	if (r == 0) {
		CHECK_INT(namespace_to_internal(&v->ns, str_c(&ext), &back), 0);
		CHECK_STR(str_c(&back), internal);
	}
	str_free(&ext);
	str_free(&back);
}

static const char *const round_trip_names[] = {
	"user.bob", "user.bob.Sent", "user.bob.Sent.2024", "user.alice", "user.alice.Work",
	"user.bobby", "user.bobby.Sent", "shared", "shared.contact", "news.local", NULL,
};

static void test_standard(void)
{
	struct view v;
	view_init(&v, "bob", false, false, false);
	CHECK_STR(in(&v, "INBOX"), "user.bob");
	CHECK_STR(in(&v, "inbox"), "user.bob");
	CHECK_STR(in(&v, "InBoX"), "user.bob");
	CHECK_STR(in(&v, "INBOX.Sent"), "user.bob.Sent");
	CHECK_STR(in(&v, "inbox.Sent.2024"), "user.bob.Sent.2024");
	CHECK_STR(in(&v, "INBOXES"), "INBOXES");
	CHECK_STR(in(&v, "user.alice.Work"), "user.alice.Work");
	CHECK_STR(in(&v, "user.alice"), "user.alice");
	CHECK_STR(in(&v, "shared.contact"), "shared.contact");
	/* Only INBOX is case-insensitive. */
	CHECK_STR(in(&v, "inbox.sent"), "user.bob.sent");
	CHECK_STR(in(&v, "Shared.Contact"), "Shared.Contact");

	CHECK_STR(out(&v, "user.bob"), "INBOX");
	CHECK_STR(out(&v, "user.bob.Sent"), "INBOX.Sent");
	CHECK_STR(out(&v, "user.alice.Work"), "user.alice.Work");
	CHECK_STR(out(&v, "user.alice"), "user.alice");
	CHECK_STR(out(&v, "user.bobby"), "user.bobby"); /* not bob's */
	CHECK_STR(out(&v, "shared.contact"), "shared.contact");
	for (const char *const *n = round_trip_names; *n != NULL; n++)
		check_round_trip(&v, *n);

	/* Invalid: empty name or level, leading or trailing separator, the
	 * internal escape character, the bare other-users prefix. */
	CHECK_STR(in(&v, ""), "(invalid)");
	CHECK_STR(in(&v, "a..b"), "(invalid)");
	CHECK_STR(in(&v, ".a"), "(invalid)");
	CHECK_STR(in(&v, "a."), "(invalid)");
	CHECK_STR(in(&v, "INBOX."), "(invalid)");
	CHECK_STR(in(&v, "INBOX..x"), "(invalid)");
	CHECK_STR(in(&v, "a^b"), "(invalid)");
	CHECK_STR(in(&v, "user"), "(invalid)");
	CHECK_STR(in(&v, "user."), "(invalid)");

	CHECK(namespace_is_inbox(&v.ns, "user.bob"));
	CHECK(!namespace_is_inbox(&v.ns, "user.bob.Sent"));
	CHECK(!namespace_is_inbox(&v.ns, "user.bobby"));
	CHECK(!namespace_is_inbox(&v.ns, "user.alice"));
	CHECK_STR(ns_response(&v), "((\"INBOX.\" \".\")) ((\"user.\" \".\")) ((\"\" \".\"))");
	view_deinit(&v);
}

static void test_standard_unixsep(void)
{
	struct view v;
	view_init(&v, "bob", false, false, true);
	CHECK_STR(in(&v, "INBOX"), "user.bob");
	CHECK_STR(in(&v, "INBOX/Sent"), "user.bob.Sent");
	CHECK_STR(in(&v, "INBOX/a.b"), "user.bob.a^b");
	CHECK_STR(in(&v, "user/alice/Work.2024"), "user.alice.Work^2024");
	CHECK_STR(in(&v, "shared/contact"), "shared.contact");
	CHECK_STR(out(&v, "user.bob.a^b"), "INBOX/a.b");
	CHECK_STR(out(&v, "user.alice.Work"), "user/alice/Work");
	CHECK_STR(out(&v, "shared.contact"), "shared/contact");
	CHECK_STR(in(&v, "a//b"), "(invalid)");
	CHECK_STR(in(&v, "a/"), "(invalid)");
	CHECK_STR(in(&v, "/a"), "(invalid)");
	/* '^' stands for '.' inside a level; a client's own '^' would come
	 * back as '.', so it is refused. */
	CHECK_STR(in(&v, "INBOX/a^b"), "(invalid)");
	CHECK_STR(in(&v, "user"), "(invalid)");
	CHECK_STR(ns_response(&v), "((\"INBOX/\" \"/\")) ((\"user/\" \"/\")) ((\"\" \"/\"))");
	for (const char *const *n = round_trip_names; *n != NULL; n++)
		check_round_trip(&v, *n);
	check_round_trip(&v, "user.bob.a^b");
	check_round_trip(&v, "user.alice.v1^2.x");
	view_deinit(&v);
}

static void test_alt(void)
{
	struct view v;
	view_init(&v, "bob", false, true, false);
	CHECK_STR(in(&v, "INBOX"), "user.bob");
	CHECK_STR(in(&v, "Inbox"), "user.bob");
	CHECK_STR(in(&v, "Sent"), "user.bob.Sent");
	CHECK_STR(in(&v, "Sent.2024"), "user.bob.Sent.2024");
	CHECK_STR(in(&v, "Other Users.alice"), "user.alice");
	CHECK_STR(in(&v, "Other Users.alice.Work"), "user.alice.Work");
	CHECK_STR(in(&v, "Shared Folders.shared"), "shared");
	CHECK_STR(in(&v, "Shared Folders.shared.contact"), "shared.contact");
	CHECK_STR(in(&v, "shared.contact"), "user.bob.shared.contact"); /* a personal folder */
	CHECK_STR(out(&v, "user.bob"), "INBOX");
	CHECK_STR(out(&v, "user.bob.Sent"), "Sent");
	CHECK_STR(out(&v, "user.alice"), "Other Users.alice");
	CHECK_STR(out(&v, "user.alice.Work"), "Other Users.alice.Work");
	CHECK_STR(out(&v, "user.bobby.x"), "Other Users.bobby.x");
	CHECK_STR(out(&v, "shared.contact"), "Shared Folders.shared.contact");
	for (const char *const *n = round_trip_names; *n != NULL; n++)
		check_round_trip(&v, *n);
	/* Bare prefixes, empty levels, user.* disguised as shared. */
	CHECK_STR(in(&v, "Other Users"), "(invalid)");
	CHECK_STR(in(&v, "Shared Folders"), "(invalid)");
	CHECK_STR(in(&v, "Other Users."), "(invalid)");
	CHECK_STR(in(&v, "Shared Folders."), "(invalid)");
	CHECK_STR(in(&v, "Shared Folders.user"), "(invalid)");
	CHECK_STR(in(&v, "Shared Folders.user.alice"), "(invalid)");
	CHECK_STR(in(&v, ""), "(invalid)");
	CHECK_STR(in(&v, "Sent."), "(invalid)");
	CHECK_STR(in(&v, "a..b"), "(invalid)");
	CHECK_STR(ns_response(&v),
		  "((\"\" \".\")) ((\"Other Users.\" \".\")) ((\"Shared Folders.\" \".\"))");
	view_deinit(&v);
}

static void test_alt_unixsep(void)
{
	struct view v;
	view_init(&v, "bob", false, true, true);
	CHECK_STR(in(&v, "INBOX"), "user.bob");
	CHECK_STR(in(&v, "Project"), "user.bob.Project");
	CHECK_STR(in(&v, "Project/v1.2"), "user.bob.Project.v1^2");
	CHECK_STR(in(&v, "Other Users/alice/Project"), "user.alice.Project");
	CHECK_STR(in(&v, "Shared Folders/shared/contact"), "shared.contact");
	CHECK_STR(in(&v, "Shared Folders/shared/a.b"), "shared.a^b");
	CHECK_STR(out(&v, "user.alice.Project"), "Other Users/alice/Project");
	CHECK_STR(out(&v, "user.alice"), "Other Users/alice");
	CHECK_STR(out(&v, "shared.contact"), "Shared Folders/shared/contact");
	CHECK_STR(out(&v, "user.bob.Project.v1^2"), "Project/v1.2");
	CHECK_STR(in(&v, "Other Users"), "(invalid)");
	CHECK_STR(in(&v, "Other Users/"), "(invalid)");
	CHECK_STR(in(&v, "Shared Folders"), "(invalid)");
	CHECK_STR(in(&v, "Shared Folders/user/alice"), "(invalid)");
	CHECK_STR(in(&v, "Project//x"), "(invalid)");
	CHECK_STR(in(&v, "Project/"), "(invalid)");
	CHECK_STR(in(&v, "a^b"), "(invalid)");
	CHECK_STR(ns_response(&v),
		  "((\"\" \"/\")) ((\"Other Users/\" \"/\")) ((\"Shared Folders/\" \"/\"))");
	for (const char *const *n = round_trip_names; *n != NULL; n++)
		check_round_trip(&v, *n);
	check_round_trip(&v, "shared.a^b");
	view_deinit(&v);
}

/* Administrators see the internal namespace whatever altnamespace says. */
static void test_admin(void)
{
	for (int alt = 0; alt <= 1; alt++) {
		struct view v;
		view_init(&v, "admin", true, alt, false);
		CHECK_STR(in(&v, "user.bob"), "user.bob");
		CHECK_STR(in(&v, "user.bob.Sent"), "user.bob.Sent");
		CHECK_STR(in(&v, "shared.contact"), "shared.contact");
		CHECK_STR(in(&v, "INBOX"), "user.admin");
		CHECK_STR(out(&v, "user.bob.Sent"), "user.bob.Sent");
		CHECK_STR(out(&v, "shared.contact"), "shared.contact");
		CHECK_STR(out(&v, "user.admin"), "user.admin");
		CHECK_STR(out(&v, "user.admin.Trash"), "user.admin.Trash");
		CHECK_STR(in(&v, "user"), "(invalid)");
		CHECK_STR(in(&v, "user..bob"), "(invalid)");
		CHECK_STR(in(&v, "shared."), "(invalid)");
		for (const char *const *n = round_trip_names; *n != NULL; n++)
			check_round_trip(&v, *n);
		check_round_trip(&v, "user.admin.Trash");
		CHECK_STR(ns_response(&v), "((\"INBOX.\" \".\")) NIL ((\"\" \".\"))");
		view_deinit(&v);
	}
	struct view v;
	view_init(&v, "admin", true, true, true);
	CHECK_STR(in(&v, "user/bob/Sent"), "user.bob.Sent");
	CHECK_STR(in(&v, "shared/a.b"), "shared.a^b");
	CHECK_STR(out(&v, "user.bob.Sent"), "user/bob/Sent");
	CHECK_STR(out(&v, "shared.a^b"), "shared/a.b");
	CHECK_STR(ns_response(&v), "((\"INBOX/\" \"/\")) NIL ((\"\" \"/\"))");
	view_deinit(&v);
}

/* Configured prefixes, as Dovecot's "shared/" and "Public/". */
static void test_custom_prefixes(void)
{
	struct view v;
	str_t err = STR_INIT;
	v.cfg = config_defaults();
	CHECK_INT(config_set(v.cfg, "altnamespace", "yes", &err), 0);
	CHECK_INT(config_set(v.cfg, "unixhierarchysep", "yes", &err), 0);
	CHECK_INT(config_set(v.cfg, "userprefix", "shared", &err), 0);
	CHECK_INT(config_set(v.cfg, "sharedprefix", "Public", &err), 0);
	str_free(&err);
	namespace_init(&v.ns, v.cfg, "bob", false);
	CHECK_STR(in(&v, "shared/alice/Work"), "user.alice.Work");
	CHECK_STR(in(&v, "Public/news"), "news");
	CHECK_STR(out(&v, "user.alice.Work"), "shared/alice/Work");
	CHECK_STR(out(&v, "news"), "Public/news");
	CHECK_STR(in(&v, "Public"), "(invalid)");
	CHECK_STR(ns_response(&v), "((\"\" \"/\")) ((\"shared/\" \"/\")) ((\"Public/\" \"/\"))");
	view_deinit(&v);
}

int main(void)
{
	test_standard();
	test_standard_unixsep();
	test_alt();
	test_alt_unixsep();
	test_admin();
	test_custom_prefixes();
	return test_summary("namespace");
}
