#include "agora/cmd.h"
#include "agora/adm.h"
#include "lib/config.h"
#include "lib-storage/secrets.h"
#include "lib-storage/store.h"

#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const struct cmd_family *const families[] = {
	&cmd_user_family,
	&cmd_group_family,
	&cmd_quota_family,
	&cmd_deliver_family,
	&cmd_reconstruct_family,
	&cmd_check_family,
	&cmd_import_family,
	&cmd_export_family,
	&cmd_backup_family,
	&cmd_restore_family,
};
#define N_FAMILIES (sizeof(families) / sizeof(families[0]))

static void print_entry(FILE *f, const struct cmd_family *fam, const struct cmd_entry *e)
{
	char left[80];
	snprintf(left, sizeof(left), "%s%s%s%s%s", fam->name, e->name[0] != '\0' ? " " : "", e->name,
		 e->args_usage[0] != '\0' ? " " : "", e->args_usage);
	fprintf(f, "  %-28s %s", left, e->summary);
	if (e->alias != NULL)
		fprintf(f, " (alias: %s)", e->alias);
	fputc('\n', f);
}

static void print_family(FILE *f, const struct cmd_family *fam)
{
	for (const struct cmd_entry *e = fam->entries; e->name != NULL; e++)
		print_entry(f, fam, e);
}

static void print_usage(FILE *f)
{
	fprintf(f, "usage: agora [-C FILE] COMMAND SUBCOMMAND [ARGS...]\n"
		   "  -C FILE  configuration file (default " AGORA_DEFAULT_CONFIG ")\n"
		   "commands:\n");
	for (size_t i = 0; i < N_FAMILIES; i++)
		print_family(f, families[i]);
	fprintf(f, "  %-28s %s\n", "adm [OPTIONS] [FILE]",
		"cyradm commands over IMAP (agora adm --help)");
	fprintf(f, "  %-28s %s\n", "help [COMMAND]", "show this help");
	fprintf(f, "Passwords are read from the first line of standard input.\n");
}

static const struct cmd_family *find_family(const char *name)
{
	for (size_t i = 0; i < N_FAMILIES; i++)
		if (strcmp(families[i]->name, name) == 0)
			return families[i];
	return NULL;
}

static const struct cmd_entry *find_entry(const struct cmd_family *fam, const char *name)
{
	for (const struct cmd_entry *e = fam->entries; e->name != NULL; e++)
		if (strcmp(e->name, name) == 0 || (e->alias != NULL && strcmp(e->alias, name) == 0))
			return e;
	return NULL;
}

static int cmd_help(int argc, char **argv)
{
	if (argc == 0) {
		print_usage(stdout);
		return CMD_OK;
	}
	const struct cmd_family *fam = find_family(argv[0]);
	if (fam == NULL || argc > 1) {
		cmd_bad_input("help: unknown command '%s'", argv[argc > 1 ? 1 : 0]);
		print_usage(stderr);
		return CMD_BAD_INPUT;
	}
	print_family(stdout, fam);
	return CMD_OK;
}

/* Loads the configuration and opens the store, runs the command, and
 * closes both again. */
static int run(const char *config_path, const struct cmd_family *fam, const struct cmd_entry *e,
	       int argc, char **argv)
{
	str_t err = STR_INIT;
	struct cmd_ctx ctx = { NULL, NULL };
	int status;

	ctx.cfg = config_load(config_path, &err);
	if (ctx.cfg == NULL) {
		status = cmd_bad_input("%s", str_c(&err));
		if (fam->setup_failure_status != 0)
			status = fam->setup_failure_status;
		goto out;
	}
	ctx.store = store_open(ctx.cfg, &err);
	if (ctx.store == NULL) {
		/* A start-up error, like a bad configuration (see log_fatal). */
		status = cmd_bad_input("%s", str_c(&err));
		if (fam->setup_failure_status != 0)
			status = fam->setup_failure_status;
		goto out;
	}
	/* A store from before secrets.db: its password hashes move out of
	 * agora.db now, when this process may write secrets.db (else agorad,
	 * started as root, does it). */
	unsigned moved = 0;
	int eacces = 0;
	if (secrets_migrate(ctx.cfg, &moved, &eacces, &err) < 0 && !eacces)
		fprintf(stderr, "agora: warning: %s\n", str_c(&err));
	str_clear(&err);
	status = e->exec(&ctx, argc, argv);
out:
	store_close(&ctx.store);
	if (ctx.cfg != NULL) {
		/* The server runs as `user`: files created here as root are
		 * handed over. */
		str_t owner_err = STR_INIT;
		if (store_give_to_user(ctx.cfg, &owner_err) < 0)
			fprintf(stderr, "agora: %s\n", str_c(&owner_err));
		str_free(&owner_err);
	}
	if (ctx.cfg != NULL)
		config_free(&ctx.cfg);
	str_free(&err);
	return status;
}

int cmd_dispatch(const char *config_path, int argc, char **argv)
{
	if (argc == 0) {
		print_usage(stderr);
		return CMD_BAD_INPUT;
	}
	if (strcmp(argv[0], "help") == 0)
		return cmd_help(argc - 1, argv + 1);
	/* adm talks IMAP to the server rather than opening the store. */
	if (strcmp(argv[0], "adm") == 0)
		return adm_main(config_path, argc - 1, argv + 1);

	const struct cmd_family *fam = find_family(argv[0]);
	if (fam == NULL) {
		cmd_bad_input("unknown command '%s'", argv[0]);
		print_usage(stderr);
		return CMD_BAD_INPUT;
	}
	if (fam->entries[0].name[0] == '\0' && (argc < 2 || find_entry(fam, argv[1]) == NULL))
		return run(config_path, fam, &fam->entries[0], argc - 1, argv + 1);
	if (argc < 2) {
		cmd_bad_input("%s: missing subcommand", fam->name);
		print_family(stderr, fam);
		return CMD_BAD_INPUT;
	}
	const struct cmd_entry *e = find_entry(fam, argv[1]);
	if (e == NULL) {
		cmd_bad_input("%s: unknown subcommand '%s'", fam->name, argv[1]);
		print_family(stderr, fam);
		return CMD_BAD_INPUT;
	}
	int nargs = argc - 2;
	if (nargs < e->args_min || (e->args_max >= 0 && nargs > e->args_max)) {
		fprintf(stderr, "usage: agora [-C FILE] %s %s%s%s\n", fam->name, e->name,
			e->args_usage[0] != '\0' ? " " : "", e->args_usage);
		return CMD_BAD_INPUT;
	}
	return run(config_path, fam, e, nargs, argv + 2);
}

enum cmd_status cmd_bad_input(const char *fmt, ...)
{
	va_list ap;
	fputs("agora: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CMD_BAD_INPUT;
}

enum cmd_status cmd_store_failed(struct store *st)
{
	int code = st->be->errcode(st);
	fprintf(stderr, "agora: %s\n", st->be->error(st));
	return code == STORE_ERR_NOTFOUND || code == STORE_ERR_EXISTS ? CMD_BAD_INPUT : CMD_FAILED;
}

const char *cmd_actor(void)
{
	static char name[64];
	if (name[0] == '\0') {
		struct passwd *pw = getpwuid(getuid());
		if (pw != NULL)
			snprintf(name, sizeof(name), "%s", pw->pw_name);
		else
			snprintf(name, sizeof(name), "uid%u", (unsigned)getuid());
	}
	return name;
}
