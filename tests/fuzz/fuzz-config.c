/* libFuzzer target for the configuration file parser (src/lib/config.c):
 * the input is a file image, read through fmemopen() as config_load reads
 * a file. A configuration that loads is then read through every getter,
 * as the server does at start. Invariants checked with abort(): a loaded
 * configuration has every key's value pass the key's own check (loading
 * it again key by key gives no error), sizes and durations are not
 * negative, and a refused file always says why. */
#include "lib/config.h"
#include "lib/str.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void partition_cb(const char *name, const char *dir, void *ctx)
{
	size_t *n = ctx;
	if (name[0] == '\0' || dir == NULL)
		abort();
	(*n)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* fmemopen wants at least one byte; an empty file is one NUL-free
	 * newline */
	char *copy = malloc(size + 1);
	memcpy(copy, data, size);
	copy[size] = '\n';
	FILE *f = fmemopen(copy, size + 1, "r");
	if (f == NULL) {
		free(copy);
		return 0;
	}
	str_t err = STR_INIT;
	struct config *cfg = config_read(f, "fuzz.conf", &err);
	fclose(f);
	if (cfg == NULL) {
		if (err.len == 0)
			abort();
		str_free(&err);
		free(copy);
		return 0;
	}
	if (err.len != 0)
		abort();
	unsigned count;
	const struct config_key_info *keys = config_known_keys(&count);
	struct config *again = config_defaults();
	for (unsigned i = 0; i < count; i++) {
		const char *v = config_str(cfg, keys[i].name);
		if (v != NULL && v != keys[i].def && config_set(again, keys[i].name, v, &err) < 0)
			abort();
		if (strcmp(keys[i].type, "boolean") == 0) {
			(void)config_bool(cfg, keys[i].name);
		} else if (strcmp(keys[i].type, "size") == 0) {
			if (config_int(cfg, keys[i].name) < 0)
				abort();
		} else if (strcmp(keys[i].type, "integer") == 0) {
			(void)config_int(cfg, keys[i].name);
		} else if (strncmp(keys[i].type, "duration", 8) == 0) {
			if (config_seconds(cfg, keys[i].name) < 0)
				abort();
		}
		(void)config_list_has(cfg, keys[i].name, "anyone");
		(void)config_list_has(cfg, keys[i].name, "bob");
	}
	size_t nparts = 0;
	config_foreach_partition(cfg, partition_cb, &nparts);
	(void)config_partition(cfg, "default");
	config_free(&again);
	config_free(&cfg);
	str_free(&err);
	free(copy);
	return 0;
}
