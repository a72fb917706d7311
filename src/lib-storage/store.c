#include "lib-storage/store.h"
#include "lib/xalloc.h"

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
