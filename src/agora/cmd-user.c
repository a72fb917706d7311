/* agora user add|passwd|del|list: accounts, not mailboxes. The INBOX of a
 * new user comes from an admin's CREATE user.NAME or from autocreate.
 *
 * An account is a row in agora.db (what mailboxes, ACLs and delivery look
 * at); its password hash and SCRAM keys are in secrets.db under the
 * account's secret id (lib-storage/secrets.h). add writes the secrets
 * first and then the account; del removes the account and then the
 * secrets: a failure in between leaves at most a secret no account
 * names, never an account whose password is somewhere agorad's workers
 * can read. */
#include "agora/cmd.h"
#include "agora/account-name.h"
#include "agora/password-input.h"
#include "lib/log.h"
#include "lib-auth/password.h"
#include "lib-auth/scram.h"
#include "lib-storage/secrets.h"
#include "lib-storage/store.h"

#include <stdio.h>
#include <string.h>

/* Reads the password from stdin and hashes it into `hash`, and makes its
 * SCRAM secrets (SHA-1, SHA-256) into scram[]. */
static enum cmd_status read_new_hash(str_t *hash, str_t scram[2])
{
	str_t pw = STR_INIT, err = STR_INIT;
	enum cmd_status status = CMD_OK;
	if (password_input_read(&pw, &err) < 0)
		status = cmd_bad_input("%s", str_c(&err));
	else if (password_hash(str_c(&pw), hash) < 0) {
		fprintf(stderr, "agora: cannot hash the password (libcrypt failed)\n");
		status = CMD_FAILED;
	} else if (scram_secret_make(SCRAM_SHA1, str_c(&pw), SCRAM_DEFAULT_ITERATIONS, &scram[0]) < 0 ||
		   scram_secret_make(SCRAM_SHA256, str_c(&pw), SCRAM_DEFAULT_ITERATIONS, &scram[1]) < 0) {
		fprintf(stderr, "agora: cannot make the SCRAM keys (OpenSSL failed)\n");
		status = CMD_FAILED;
	}
	password_input_free(&pw);
	str_free(&err);
	return status;
}

static struct secrets *open_secrets(struct cmd_ctx *ctx, enum cmd_status *status_r)
{
	str_t err = STR_INIT;
	int eacces = 0;
	struct secrets *sec = secrets_open(ctx->cfg, &eacces, &err);
	if (sec == NULL) {
		fprintf(stderr, "agora: %s%s\n", str_c(&err),
			eacces ? " (passwords are kept where only root, or the owner of secrets.db, can read them)" : "");
		*status_r = CMD_FAILED;
	}
	str_free(&err);
	return sec;
}

/* Writes the hash and SCRAM keys as the secrets of `id`. */
static int store_secrets(struct secrets *sec, const char *id, const str_t *hash, str_t scram[2])
{
	const char *schemes[] = { SECRET_PASSWORD, scram_hash_name(SCRAM_SHA1), scram_hash_name(SCRAM_SHA256) };
	const char *values[] = { str_c(hash), str_c(&scram[0]), str_c(&scram[1]) };
	if (secrets_set(sec, id, schemes, values, 3) < 0) {
		fprintf(stderr, "agora: %s\n", secrets_error(sec));
		return -1;
	}
	return 0;
}

static void scram_free(str_t scram[2])
{
	for (int i = 0; i < 2; i++) {
		if (scram[i].data != NULL)
			explicit_bzero(scram[i].data, scram[i].len);
		str_free(&scram[i]);
	}
}

/* Three-way like user_get, with the store's failure already reported. */
static int user_exists(struct store *st, const char *name, enum cmd_status *status_r)
{
	int ret = st->be->user_get(st, name, NULL);
	if (ret < 0)
		*status_r = cmd_store_failed(st);
	return ret;
}

static enum cmd_status cmd_user_add(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct store *st = ctx->store;
	const char *name = argv[0];
	enum cmd_status status = CMD_OK;
	str_t err = STR_INIT, hash = STR_INIT;
	str_t scram[2] = { STR_INIT, STR_INIT };
	struct secrets *sec = NULL;

	if (account_name_check(ctx->cfg, "user", name, &err) < 0) {
		status = cmd_bad_input("%s", str_c(&err));
		goto out;
	}
	/* Checked before reading the password so that the answer does not
	 * depend on what is on stdin; user_add still catches a race. */
	int exists = user_exists(st, name, &status);
	if (exists < 0)
		goto out;
	if (exists > 0) {
		status = cmd_bad_input("user %s already exists", name);
		goto out;
	}
	if ((sec = open_secrets(ctx, &status)) == NULL)
		goto out;
	if ((status = read_new_hash(&hash, scram)) != CMD_OK)
		goto out;
	char id[SECRET_ID_LEN + 1];
	secrets_new_id(id);
	if (store_secrets(sec, id, &hash, scram) < 0) {
		status = CMD_FAILED;
		goto out;
	}
	if (st->be->user_add(st, name, id) < 0) {
		status = cmd_store_failed(st);
		(void)secrets_del(sec, id);
		goto out;
	}
	log_info("account: user=%s added %s", cmd_actor(), name);
	printf("user %s added\n", name);
out:
	secrets_close(&sec);
	str_free(&err);
	str_free(&hash);
	scram_free(scram);
	return status;
}

static enum cmd_status cmd_user_passwd(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct store *st = ctx->store;
	const char *name = argv[0];
	enum cmd_status status = CMD_OK;
	str_t hash = STR_INIT, id = STR_INIT;
	str_t scram[2] = { STR_INIT, STR_INIT };
	struct secrets *sec = NULL;

	int exists = st->be->user_get(st, name, &id);
	if (exists < 0) {
		status = cmd_store_failed(st);
		goto out;
	}
	if (exists == 0) {
		status = cmd_bad_input("no user %s", name);
		goto out;
	}
	if ((sec = open_secrets(ctx, &status)) == NULL)
		goto out;
	if ((status = read_new_hash(&hash, scram)) != CMD_OK)
		goto out;
	if (id.len != SECRET_ID_LEN) {
		/* cannot happen after secrets_migrate; refuse rather than guess */
		fprintf(stderr, "agora: user %s has no secret id; run agora as root once to move the old secrets\n",
			name);
		status = CMD_FAILED;
		goto out;
	}
	if (store_secrets(sec, str_c(&id), &hash, scram) < 0) {
		status = CMD_FAILED;
		goto out;
	}
	log_info("account: user=%s changed the password of %s", cmd_actor(), name);
	printf("password of user %s changed\n", name);
out:
	secrets_close(&sec);
	str_free(&id);
	str_free(&hash);
	scram_free(scram);
	return status;
}

/* user del [--purge] NAME: without --purge the account goes and the mail
 * stays (an administrator may still read or move it); with it every trace
 * of the user goes, in one transaction, and what went is printed. */
static enum cmd_status cmd_user_del(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct store *st = ctx->store;
	bool purge = false;
	const char *name = NULL;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--purge") == 0)
			purge = true;
		else if (argv[i][0] == '-' || name != NULL)
			return cmd_bad_input("user del: usage: agora user del [--purge] NAME");
		else
			name = argv[i];
	}
	if (name == NULL)
		return cmd_bad_input("user del: usage: agora user del [--purge] NAME");
	enum cmd_status status = CMD_OK;
	str_t id = STR_INIT;
	struct secrets *sec = NULL;
	int exists = st->be->user_get(st, name, &id);
	if (exists < 0) {
		status = cmd_store_failed(st);
		goto out;
	}
	/* Without an account there is no secret to remove (purge still
	 * removes what the name left behind). */
	if (exists > 0 && (sec = open_secrets(ctx, &status)) == NULL)
		goto out;
	if (purge) {
		str_t report = STR_INIT;
		if (st->be->user_purge(st, name, &report) < 0) {
			str_free(&report);
			status = cmd_store_failed(st);
			goto out;
		}
		fputs(str_c(&report), stdout);
		str_free(&report);
	} else if (st->be->user_del(st, name) < 0) {
		status = cmd_store_failed(st);
		goto out;
	}
	if (sec != NULL && secrets_del(sec, str_c(&id)) < 0) {
		/* the account is gone; its secret can no longer be reached */
		fprintf(stderr, "agora: warning: %s\n", secrets_error(sec));
	}
	if (purge) {
		log_info("account: user=%s purged %s", cmd_actor(), name);
		printf("user %s purged\n", name);
	} else {
		log_info("account: user=%s deleted %s", cmd_actor(), name);
		printf("user %s deleted\n", name);
	}
out:
	secrets_close(&sec);
	str_free(&id);
	return status;
}

static void print_name(const char *name, void *ctx)
{
	puts(name);
}

static enum cmd_status cmd_user_list(struct cmd_ctx *ctx, int argc, char **argv)
{
	/* The store lists in name order (bytewise), so output is sorted. */
	if (ctx->store->be->user_list(ctx->store, print_name, NULL) < 0)
		return cmd_store_failed(ctx->store);
	return CMD_OK;
}

static const struct cmd_entry user_entries[] = {
	{ "add", NULL, "NAME", "create an account (password on stdin)", 1, 1, cmd_user_add },
	{ "passwd", "password", "NAME", "set a new password (on stdin)", 1, 1, cmd_user_passwd },
	{ "del", "delete", "[--purge] NAME", "delete an account (--purge: and its mailboxes, subscriptions, \\Seen and ACL entries)", 1, 2, cmd_user_del },
	{ "list", "ls", "", "list accounts, one per line", 0, 0, cmd_user_list },
	{ NULL, NULL, NULL, NULL, 0, 0, NULL },
};

const struct cmd_family cmd_user_family = { .name = "user", .entries = user_entries };
