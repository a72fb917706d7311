/* The adm shell: options, connection and login, reading commands (libedit
 * on a terminal, else lines from a file or stdin), splitting them into
 * words and dispatching them through the command tables. */
#include "agora/adm.h"
#include "agora/cmd.h"
#include "agora/password-input.h"
#include "lib/config.h"
#include "lib/str.h"
#include "lib/xalloc.h"
#include "lib-imapc/imapc.h"

#include <editline/readline.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Longest command line accepted in batch mode. */
#define ADM_MAX_LINE (64 * 1024)

static enum adm_result cmd_help(struct adm_ctx *ctx, const struct adm_cmd *cmd, int argc, char **argv);
static enum adm_result cmd_exit(struct adm_ctx *ctx, const struct adm_cmd *cmd, int argc, char **argv);

static const struct adm_cmd shell_cmds[] = {
	{ "help", { "?", NULL }, "[command]", "show commands", NULL, 0, -1, cmd_help },
	{ "exit", { "quit", NULL }, "[number]", "exit cyradm", NULL, 0, 1, cmd_exit },
	{ NULL, { NULL }, NULL, NULL, NULL, 0, 0, NULL },
};

static const struct adm_cmd *const tables[] = {
	adm_mailbox_cmds, adm_acl_cmds, adm_quota_cmds, adm_metadata_cmds, shell_cmds,
};
#define N_TABLES (sizeof(tables) / sizeof(tables[0]))

/* 1: found by its name, 2: by an alias, 0: unknown. */
static int find_cmd(const char *word, const struct adm_cmd **cmd_r)
{
	for (size_t t = 0; t < N_TABLES; t++) {
		for (const struct adm_cmd *c = tables[t]; c->name != NULL; c++) {
			if (strcmp(c->name, word) == 0) {
				*cmd_r = c;
				return 1;
			}
			for (size_t a = 0; c->aliases[a] != NULL; a++) {
				if (strcmp(c->aliases[a], word) == 0) {
					*cmd_r = c;
					return 2;
				}
			}
		}
	}
	return 0;
}

enum adm_result adm_error(const struct adm_cmd *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return ADM_FAILED;
}

enum adm_result adm_check(struct adm_ctx *ctx, int r, const char *prefix)
{
	if (r == IMAPC_OK)
		return ADM_OK;
	if (r == IMAPC_DISCONNECTED) {
		fprintf(stderr, "%s: %s\n", prefix, imapc_last_text(ctx->conn));
		return ADM_LOST;
	}
	fprintf(stderr, "%s: %s\n", prefix, imapc_last_text(ctx->conn));
	return ADM_FAILED;
}

enum adm_result adm_simple(struct adm_ctx *ctx, const char *prefix, const char *command)
{
	return adm_check(ctx, imapc_command(ctx->conn, NULL, NULL, command), prefix);
}

static void print_usage_line(FILE *f, const struct adm_cmd *c)
{
	fprintf(f, "usage: %s%s%s\n", c->name, c->usage[0] != '\0' ? " " : "", c->usage);
}

/* "help": every command with its aliases and summary, in cyradm's layout;
 * "help NAME": its usage ("ALIAS, alias for NAME USAGE" for an alias). */
static enum adm_result cmd_help(struct adm_ctx *ctx, const struct adm_cmd *cmd, int argc, char **argv)
{
	if (argc > 0) {
		enum adm_result r = ADM_OK;
		for (int i = 0; i < argc; i++) {
			const struct adm_cmd *c;
			int how = find_cmd(argv[i], &c);
			if (how == 0) {
				printf("unknown command: %s\n", argv[i]);
				r = ADM_FAILED;
				continue;
			}
			if (how == 2)
				printf("%s, alias for ", argv[i]);
			printf("%s%s%s\n\t%s\n", c->name, c->usage[0] != '\0' ? " " : "", c->usage, c->summary);
		}
		return r;
	}
	/* Sorted by name, names and aliases in a column as wide as the widest. */
	const struct adm_cmd *all[64];
	size_t n = 0, width = 0;
	for (size_t t = 0; t < N_TABLES; t++) {
		for (const struct adm_cmd *c = tables[t]; c->name != NULL && n < 64; c++) {
			all[n++] = c;
			size_t w = strlen(c->name);
			for (size_t a = 0; c->aliases[a] != NULL; a++)
				w += 2 + strlen(c->aliases[a]);
			if (w > width)
				width = w;
		}
	}
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(all[j - 1]->name, all[j]->name) > 0; j--) {
			const struct adm_cmd *tmp = all[j];
			all[j] = all[j - 1];
			all[j - 1] = tmp;
		}
	for (size_t i = 0; i < n; i++) {
		str_t names = STR_INIT;
		str_append(&names, all[i]->name);
		for (size_t a = 0; all[i]->aliases[a] != NULL; a++)
			str_printf(&names, ", %s", all[i]->aliases[a]);
		printf("%-*s  %s\n", (int)width, str_c(&names), all[i]->summary);
		str_free(&names);
	}
	return ADM_OK;
}

static enum adm_result cmd_exit(struct adm_ctx *ctx, const struct adm_cmd *cmd, int argc, char **argv)
{
	if (argc == 1) {
		char *end;
		long v = strtol(argv[0], &end, 10);
		if (*end != '\0' || end == argv[0] || v < 0 || v > 255) {
			print_usage_line(stderr, cmd);
			return ADM_FAILED;
		}
		ctx->exit_status = (int)v;
	}
	ctx->quit = true;
	return ADM_OK;
}

/* Splits a line into words as cyradm does: blanks separate, '...' and
 * "..." quote, a backslash escapes the next character, and '#' at the start
 * of a word begins a comment. -1 on an unterminated quote. */
static int split_words(const char *line, char ***words_r, int *n_r)
{
	char **words = NULL;
	int n = 0;
	const char *p = line;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p == '\0' || *p == '#')
			break;
		str_t w = STR_INIT;
		str_append(&w, "");
		char quote = 0;
		while (*p != '\0') {
			if (quote != 0) {
				if (*p == quote) {
					quote = 0;
					p++;
				} else if (*p == '\\' && quote == '"' && (p[1] == '"' || p[1] == '\\')) {
					str_append_c(&w, p[1]);
					p += 2;
				} else {
					str_append_c(&w, *p++);
				}
				continue;
			}
			if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
				break;
			if (*p == '\'' || *p == '"') {
				quote = *p++;
			} else if (*p == '\\' && p[1] != '\0') {
				str_append_c(&w, p[1]);
				p += 2;
			} else {
				str_append_c(&w, *p++);
			}
		}
		if (quote != 0) {
			str_free(&w);
			for (int i = 0; i < n; i++)
				free(words[i]);
			free(words);
			return -1;
		}
		words = xrealloc(words, (size_t)(n + 2) * sizeof(char *));
		words[n++] = str_steal(&w);
		words[n] = NULL;
	}
	*words_r = words;
	*n_r = n;
	return 0;
}

/* Leading options of a command; returns the index of the first argument,
 * or -1 after printing usage. */
static int parse_options(struct adm_ctx *ctx, const struct adm_cmd *c, int argc, char **argv)
{
	memset(ctx->opt, 0, sizeof(ctx->opt));
	int i = 0;
	while (i < argc) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0)
			return i + 1;
		if (a[0] != '-' || a[1] == '\0')
			return i;
		const char *name = a + 1;
		bool dashdash = a[1] == '-';
		if (dashdash)
			name = a + 2;
		int found = -1;
		for (int k = 0; c->options != NULL && c->options[k].name != NULL; k++) {
			const char *o = c->options[k].name;
			/* "--name" exactly, or "-" and a prefix of the name. */
			if (dashdash ? strcmp(name, o) == 0 : (name[0] != '\0' && strncmp(o, name, strlen(name)) == 0)) {
				found = k;
				break;
			}
		}
		if (found < 0) {
			print_usage_line(stderr, c);
			return -1;
		}
		if (c->options[found].takes_value) {
			if (i + 1 >= argc) {
				print_usage_line(stderr, c);
				return -1;
			}
			ctx->opt[found] = argv[i + 1];
			i += 2;
		} else {
			ctx->opt[found] = "";
			i++;
		}
	}
	return i;
}

/* Runs one line; ADM_OK for an empty line or a comment. */
static enum adm_result run_line(struct adm_ctx *ctx, const char *line)
{
	char **words;
	int n;
	if (split_words(line, &words, &n) < 0) {
		fprintf(stderr, "syntax error: unterminated quote\n");
		return ADM_FAILED;
	}
	enum adm_result r = ADM_OK;
	if (n > 0) {
		const struct adm_cmd *c;
		if (find_cmd(words[0], &c) == 0) {
			fprintf(stderr, "%s: unknown command (try help)\n", words[0]);
			r = ADM_FAILED;
		} else {
			int first = parse_options(ctx, c, n - 1, words + 1);
			int nargs = n - 1 - first;
			if (first < 0) {
				r = ADM_FAILED;
			} else if (nargs < c->args_min || (c->args_max >= 0 && nargs > c->args_max)) {
				print_usage_line(stderr, c);
				r = ADM_FAILED;
			} else {
				r = c->exec(ctx, c, nargs, words + 1 + first);
			}
		}
		fflush(stdout);
	}
	for (int i = 0; i < n; i++)
		free(words[i]);
	free(words);
	return r;
}

/* Batch: each line of f. Returns the exit status. */
static int run_batch(struct adm_ctx *ctx, FILE *f, const char *name)
{
	bool failed = false;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned lineno = 0;
	while (!ctx->quit && (len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (len > ADM_MAX_LINE || memchr(line, '\0', (size_t)len) != NULL) {
			fprintf(stderr, "%s:%u: line too long or not text\n", name, lineno);
			failed = true;
			continue;
		}
		enum adm_result r = run_line(ctx, line);
		if (r == ADM_LOST) {
			free(line);
			return CMD_BAD_INPUT;
		}
		if (r == ADM_FAILED)
			failed = true;
	}
	free(line);
	if (ctx->quit)
		return ctx->exit_status != 0 ? ctx->exit_status : failed ? CMD_FAILED : CMD_OK;
	return failed ? CMD_FAILED : CMD_OK;
}

static int run_interactive(struct adm_ctx *ctx, const char *server_name)
{
	bool failed = false;
	str_t prompt = STR_INIT;
	str_printf(&prompt, "%s> ", server_name);
	using_history();
	char *line;
	while (!ctx->quit && (line = readline(str_c(&prompt))) != NULL) {
		if (line[strspn(line, " \t")] != '\0')
			add_history(line);
		enum adm_result r = run_line(ctx, line);
		free(line);
		if (r == ADM_LOST) {
			str_free(&prompt);
			return CMD_BAD_INPUT;
		}
		if (r == ADM_FAILED)
			failed = true;
	}
	if (!ctx->quit)
		fputc('\n', stdout);
	str_free(&prompt);
	if (ctx->quit && ctx->exit_status != 0)
		return ctx->exit_status;
	return failed ? CMD_FAILED : CMD_OK;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: agora [-C FILE] adm [--server HOST] [--port PORT] [--user NAME]\n"
		   "           [--password PW | --password-file F] [--auth PLAIN|LOGIN] [--notls] [FILE]\n"
		   "Commands come from FILE, else from standard input (line editing on a terminal);\n"
		   "'help' lists them. Exit status: 0 all commands succeeded, 1 one failed,\n"
		   "2 bad usage, no connection or login refused.\n");
}

/* The first imap_listen address as host and port, a wildcard address
 * replaced by loopback. */
static int listen_address(const char *listen, str_t *host, str_t *port)
{
	size_t len = strcspn(listen, " \t,");
	if (len == 0)
		return -1;
	const char *colon;
	if (listen[0] == '[') {
		const char *close = memchr(listen, ']', len);
		if (close == NULL || close[1] != ':')
			return -1;
		str_append_n(host, listen + 1, (size_t)(close - listen - 1));
		colon = close + 1;
	} else {
		colon = memrchr(listen, ':', len);
		if (colon == NULL)
			return -1;
		str_append_n(host, listen, (size_t)(colon - listen));
	}
	str_append_n(port, colon + 1, (size_t)(listen + len - colon - 1));
	if (strcmp(str_c(host), "") == 0 || strcmp(str_c(host), "*") == 0 || strcmp(str_c(host), "0.0.0.0") == 0) {
		str_clear(host);
		str_append(host, "127.0.0.1");
	} else if (strcmp(str_c(host), "::") == 0) {
		str_clear(host);
		str_append(host, "::1");
	}
	return 0;
}

static int read_password_file(const char *path, str_t *out)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "agora adm: %s: %s\n", path, strerror(errno));
		return -1;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t len = getline(&line, &cap, f);
	fclose(f);
	if (len <= 0) {
		fprintf(stderr, "agora adm: %s: no password on the first line\n", path);
		free(line);
		return -1;
	}
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	str_append_n(out, line, (size_t)len);
	memset(line, 0, cap);
	free(line);
	return 0;
}

int adm_main(const char *config_path, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "user", required_argument, NULL, 'u' },
		{ "password", required_argument, NULL, 'w' },
		{ "password-file", required_argument, NULL, 'W' },
		{ "auth", required_argument, NULL, 'a' },
		{ "notls", no_argument, NULL, 'n' },
		{ "norc", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *server_opt = NULL, *port_opt = NULL, *user_opt = NULL, *pw_opt = NULL,
		   *pw_file = NULL, *mech = "PLAIN";
	int opt;
	/* adm's own options follow "adm" on the command line. */
	optind = 1;
	char **av = xcalloc((size_t)argc + 2, sizeof(char *));
	av[0] = "adm";
	for (int i = 0; i < argc; i++)
		av[i + 1] = argv[i];
	int ac = argc + 1;
	while ((opt = getopt_long(ac, av, "s:p:u:w:a:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': server_opt = optarg; break;
		case 'p': port_opt = optarg; break;
		case 'u': user_opt = optarg; break;
		case 'w': pw_opt = optarg; break;
		case 'W': pw_file = optarg; break;
		case 'a': mech = optarg; break;
		case 'n': case 'r': break;  /* no TLS is done yet; no rc files are read */
		case 'h': usage(stdout); free(av); return CMD_OK;
		default: usage(stderr); free(av); return CMD_BAD_INPUT;
		}
	}
	const char *file = optind < ac ? av[optind] : NULL;
	if (optind + 1 < ac || (pw_opt != NULL && pw_file != NULL)) {
		usage(stderr);
		free(av);
		return CMD_BAD_INPUT;
	}
	free(av);
	if (strcasecmp(mech, "PLAIN") != 0 && strcasecmp(mech, "LOGIN") != 0) {
		fprintf(stderr, "agora adm: --auth %s: PLAIN or LOGIN\n", mech);
		return CMD_BAD_INPUT;
	}

	/* The configuration gives the defaults: the first imap_listen address
	 * and the first of `admins`. It may be absent when both are given. */
	str_t err = STR_INIT, host = STR_INIT, port = STR_INIT, user = STR_INIT, pw = STR_INIT;
	int status = CMD_BAD_INPUT;
	struct config *cfg = NULL;
	struct imapc *conn = NULL;
	FILE *in = NULL;
	if (server_opt == NULL || port_opt == NULL || user_opt == NULL) {
		cfg = config_load(config_path, &err);
		if (cfg == NULL) {
			fprintf(stderr, "agora adm: %s (or give --server, --port and --user)\n", str_c(&err));
			goto out;
		}
	}
	if (cfg != NULL) {
		const char *listen = config_str(cfg, "imap_listen");
		if (listen == NULL || listen_address(listen, &host, &port) < 0) {
			if (server_opt == NULL || port_opt == NULL) {
				fprintf(stderr, "agora adm: %s has no usable imap_listen; give --server and --port\n",
					config_path);
				goto out;
			}
		}
		const char *admins = config_str(cfg, "admins");
		if (admins != NULL)
			str_append_n(&user, admins + strspn(admins, " \t,"), strcspn(admins + strspn(admins, " \t,"), " \t,"));
	}
	if (server_opt != NULL) {
		str_clear(&host);
		str_append(&host, server_opt);
	}
	if (port_opt != NULL) {
		str_clear(&port);
		str_append(&port, port_opt);
	}
	if (str_c(&port)[0] == '\0') {
		str_clear(&port);
		str_append(&port, "143");
	}
	if (user_opt != NULL) {
		str_clear(&user);
		str_append(&user, user_opt);
	}
	if (user.len == 0) {
		fprintf(stderr, "agora adm: no user: give --user (the configuration names no admins)\n");
		goto out;
	}
	if (file != NULL && strcmp(file, "-") != 0) {
		in = fopen(file, "r");
		if (in == NULL) {
			fprintf(stderr, "agora adm: %s: %s\n", file, strerror(errno));
			goto out;
		}
	}
	if (pw_opt != NULL) {
		str_append(&pw, pw_opt);
	} else if (pw_file != NULL) {
		if (read_password_file(pw_file, &pw) < 0)
			goto out;
	} else if (in != NULL || isatty(STDIN_FILENO)) {
		/* stdin is free for the password (a terminal prompts). */
		str_clear(&err);
		if (password_input_read(&pw, &err) < 0) {
			fprintf(stderr, "agora adm: %s\n", str_c(&err));
			goto out;
		}
	} else {
		fprintf(stderr, "agora adm: commands come from standard input: "
				"give the password with --password or --password-file\n");
		goto out;
	}

	str_clear(&err);
	conn = imapc_connect(str_c(&host), str_c(&port), &err);
	if (conn == NULL) {
		fprintf(stderr, "agora adm: %s\n", str_c(&err));
		goto out;
	}
	int r = imapc_login(conn, mech, str_c(&user), str_c(&pw));
	if (r != IMAPC_OK) {
		fprintf(stderr, "agora adm: cannot authenticate to %s as %s with %s: %s\n", str_c(&host),
			str_c(&user), mech, imapc_last_text(conn));
		goto out;
	}
	if (imapc_refresh_capabilities(conn) == IMAPC_DISCONNECTED) {
		fprintf(stderr, "agora adm: %s\n", imapc_last_text(conn));
		goto out;
	}

	struct adm_ctx ctx;
	memset(&ctx, 0, sizeof(ctx));
	ctx.conn = conn;
	if (in != NULL)
		status = run_batch(&ctx, in, file);
	else if (isatty(STDIN_FILENO) && file == NULL)
		status = run_interactive(&ctx, str_c(&host));
	else
		status = run_batch(&ctx, stdin, "stdin");
	if (status != CMD_BAD_INPUT)
		(void)imapc_command(conn, NULL, NULL, "LOGOUT");
out:
	if (in != NULL)
		fclose(in);
	imapc_close(&conn);
	if (cfg != NULL)
		config_free(&cfg);
	if (pw.data != NULL)
		memset(pw.data, 0, pw.len);
	str_free(&pw);
	str_free(&err);
	str_free(&host);
	str_free(&port);
	str_free(&user);
	return status;
}
