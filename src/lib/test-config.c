#include "lib/config.h"
#include "lib/bounds.h"
#include "lib/test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TEST_DEFINE_COUNTERS;

static struct config *load_text(const char *text, str_t *err)
{
	char path[] = "/tmp/agora-test-config-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	if (write(fd, text, strlen(text)) < 0)
		return NULL;
	close(fd);
	struct config *cfg = config_load(path, err);
	unlink(path);
	return cfg;
}

int main(void)
{
	str_t err = STR_INIT;
	/* Every default in the key table must itself be a valid value. */
	unsigned n;
	const struct config_key_info *keys = config_known_keys(&n);
	struct config *cfg = config_defaults();
	for (unsigned i = 0; i < n; i++) {
		if (keys[i].def == NULL)
			continue;
		str_clear(&err);
		int r = config_set(cfg, keys[i].name, keys[i].def, &err);
		if (r != 0)
			fprintf(stderr, "default of %s: %s\n", keys[i].name, str_c(&err));
		CHECK_INT(r, 0);
	}
	config_free(&cfg);
	cfg = config_defaults();
	CHECK_INT(config_int(cfg, "maxmessagesize"), MAX_MESSAGE_SIZE_DEFAULT);
	CHECK_INT(config_seconds(cfg, "timeout"), 30 * 60);
	CHECK_INT(config_seconds(cfg, "login_timeout"), 60);
	CHECK(config_bool(cfg, "altnamespace"));
	config_free(&cfg);

	str_clear(&err);
	cfg = load_text("# comment\nmaxmessagesize: 10M\ntimeout: 45s\nadmins: a b,c\npartition-default: /x\n", &err);
	CHECK(cfg != NULL);
	if (cfg != NULL) {
		CHECK_INT(config_int(cfg, "maxmessagesize"), 10 * 1024 * 1024);
		CHECK_INT(config_seconds(cfg, "timeout"), 45);
		CHECK(config_list_has(cfg, "admins", "b"));
		CHECK(config_list_has(cfg, "admins", "c"));
		CHECK(!config_list_has(cfg, "admins", "ab"));
		CHECK_STR(config_partition(cfg, "default"), "/x");
		config_free(&cfg);
	}
	str_clear(&err);
	cfg = load_text("imap_listen: 127.0.0.1:143\nbogus: 1\n", &err);
	CHECK(cfg == NULL);
	CHECK(strstr(str_c(&err), ":2: bogus: unknown configuration key") != NULL);
	str_clear(&err);
	cfg = load_text("altnamespace: perhaps\n", &err);
	CHECK(cfg == NULL);
	CHECK(strstr(str_c(&err), ":1: altnamespace: 'perhaps' is not a boolean") != NULL);
	str_clear(&err);
	cfg = load_text("imap_listen: 127.0.0.1\n", &err);
	CHECK(cfg == NULL);
	CHECK(strstr(str_c(&err), "imap_listen") != NULL);
	str_clear(&err);
	cfg = load_text("no colon here\n", &err);
	CHECK(cfg == NULL);
	str_free(&err);
	return test_summary("config");
}
