/* The configuration file: imapd.conf style, "key: value" lines and '#'
 * comments. Every key Agora knows is in the table in config.c with its
 * type and default; anything else is an error that names the file, the line
 * and the key. Values are checked when the file is loaded, so code that reads
 * them afterwards never sees a malformed value. */
#ifndef AGORA_CONFIG_H
#define AGORA_CONFIG_H

#include <stdbool.h>
#include <stdio.h>
#include "lib/str.h"

struct config;

/* Returns NULL and sets err to "FILE:LINE: key: problem" on error. */
struct config *config_load(const char *path, str_t *err);
/* The same from an open stream (a file image in memory: fmemopen()); path
 * names it in errors and config_path(). The stream is not closed. */
struct config *config_read(FILE *f, const char *path, str_t *err);
/* A configuration with only defaults (used by tests of other modules). */
struct config *config_defaults(void);
/* Sets one key as if read from a file; -1 with err on a bad key/value. */
int config_set(struct config *cfg, const char *key, const char *value, str_t *err);
void config_free(struct config **cfg);

const char *config_path(const struct config *cfg);
/* The value, or the default; NULL when neither (optional keys). */
const char *config_str(const struct config *cfg, const char *key);
bool config_bool(const struct config *cfg, const char *key);
long long config_int(const struct config *cfg, const char *key);
/* Durations are returned in seconds whatever unit the file used. */
long long config_seconds(const struct config *cfg, const char *key);
/* Directory of partition NAME ("partition-NAME"), NULL when not defined. */
const char *config_partition(const struct config *cfg, const char *name);
/* Calls cb for every partition defined. */
void config_foreach_partition(const struct config *cfg,
			      void (*cb)(const char *name, const char *dir, void *ctx), void *ctx);
/* Whether `name` appears in the space/comma separated list of `key`. */
bool config_list_has(const struct config *cfg, const char *key, const char *name);

/* For docs/configuration.md: iterate the known keys. */
struct config_key_info {
	const char *name;
	const char *type;
	const char *def;
	const char *doc;
};
const struct config_key_info *config_known_keys(unsigned *count_r);

#endif
