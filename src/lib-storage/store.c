#include "lib-storage/store.h"
#include "lib/config.h"
#include "lib/xalloc.h"

#include <errno.h>
#include <pwd.h>
#include <unistd.h>

#include <stdlib.h>
#include <string.h>

struct store *store_open(const struct config *cfg, str_t *err)
{
	/* One backend today; the choice will come from the configuration when
	 * a second one exists. */
	return store_sqlite_backend.open(cfg, err);
}

void store_close(struct store **st)
{
	if (*st != NULL)
		(*st)->be->close(*st);
	*st = NULL;
}

void mailbox_info_free(struct mailbox_info *info)
{
	free(info->name);
	free(info->uniqueid);
	free(info->partition);
	free(info->acl);
	free(info->specialuse);
	memset(info, 0, sizeof(*info));
}

void msg_rec_free_array(struct msg_rec *recs, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(recs[i].keywords);
	free(recs);
}

void msg_detail_free(struct msg_detail *d)
{
	free(d->guid);
	free(d->envelope);
	free(d->bodystructure);
	free(d->body);
	free(d->header);
	free(d->path);
	memset(d, 0, sizeof(*d));
}

void store_strv_free(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p != NULL; p++)
		free(*p);
	free(v);
}

char *mailbox_owner(const char *name)
{
	if (strncmp(name, "user.", 5) != 0 || name[5] == '\0')
		return NULL;
	const char *start = name + 5;
	const char *dot = strchr(start, '.');
	return dot != NULL ? xstrndup(start, (size_t)(dot - start)) : xstrdup(start);
}

struct owner_ctx {
	uid_t uid;
	gid_t gid;
	int ret;
};

static void chown_partition(const char *name, const char *dir, void *p)
{
	struct owner_ctx *o = p;
	(void)name;
	if (chown(dir, o->uid, o->gid) < 0 && errno != ENOENT)
		o->ret = -1;
}

int store_give_to_user(const struct config *cfg, str_t *err)
{
	const char *user = config_str(cfg, "user");
	if (getuid() != 0 || user == NULL)
		return 0;
	struct passwd *pw = getpwnam(user);
	if (pw == NULL) {
		str_printf(err, "%s: user: no such system user '%s'", config_path(cfg), user);
		return -1;
	}
	struct owner_ctx o = { pw->pw_uid, pw->pw_gid, 0 };
	const char *dir = config_str(cfg, "configdirectory");
	static const char *const files[] = { "", "/agora.db", "/agora.db-wal", "/agora.db-shm", "/agorad.lock" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		str_t path = STR_INIT;
		str_printf(&path, "%s%s", dir, files[i]);
		if (chown(str_c(&path), o.uid, o.gid) < 0 && errno != ENOENT)
			o.ret = -1;
		str_free(&path);
	}
	config_foreach_partition(cfg, chown_partition, &o);
	if (o.ret < 0)
		str_printf(err, "cannot give the store to %s: %s", user, strerror(errno));
	return o.ret;
}

void quota_info_free(struct quota_info *q)
{
	free(q->root);
	memset(q, 0, sizeof(*q));
}
