/* agorad: the master process. */
#include "agorad/server.h"
#include "agorad/auth-proc.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib-storage/secrets.h"
#include "lib-storage/store.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct server server;

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;
static pid_t *worker_pids;
static unsigned nworkers;
static pid_t auth_pid = -1;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void on_hup(int sig)
{
	(void)sig;
	reload_requested = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: agorad -C CONFIGFILE\n");
	exit(2);
}

static void ensure_dir(const char *dir, uid_t uid, gid_t gid)
{
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		log_fatal("%s: %s", dir, strerror(errno));
	if (getuid() == 0 && chown(dir, uid, gid) < 0)
		log_fatal("%s: chown: %s", dir, strerror(errno));
}

struct dir_ctx { uid_t uid; gid_t gid; };

static void partition_dir_cb(const char *name, const char *dir, void *ctx)
{
	struct dir_ctx *d = ctx;
	(void)name;
	ensure_dir(dir, d->uid, d->gid);
}

/* Started as root with the `user` option: the workers become that account
 * (worker_drop_privileges) and the store belongs to it; the master stays
 * root only to restart the auth process, which keeps root to read
 * secrets.db. Here: look the account up and make the directories. */
static void prepare_privileges(const struct config *cfg)
{
	const char *user = config_str(cfg, "user");
	struct dir_ctx d = { getuid(), getgid() };
	if (getuid() == 0) {
		if (user == NULL) {
			log_warn("%s: running as root because the `user` option is not set; "
				 "set it to an unprivileged account", config_path(cfg));
		} else {
			struct passwd *pw = getpwnam(user);
			if (pw == NULL)
				log_fatal("%s: user: no such system user '%s'", config_path(cfg), user);
			if (pw->pw_uid == 0)
				log_fatal("%s: user: '%s' is root; name an unprivileged account", config_path(cfg), user);
			d.uid = pw->pw_uid;
			d.gid = pw->pw_gid;
			server.drop = true;
			server.run_uid = pw->pw_uid;
			server.run_gid = pw->pw_gid;
		}
	}
	ensure_dir(config_str(cfg, "configdirectory"), d.uid, d.gid);
	config_foreach_partition(cfg, partition_dir_cb, &d);
}

void worker_drop_privileges(void)
{
	if (!server.drop)
		return;
	if (setgroups(0, NULL) < 0 || setgid(server.run_gid) < 0 || setuid(server.run_uid) < 0)
		log_fatal("cannot become %s: %s", config_str(server.cfg, "user"), strerror(errno));
	if (setuid(0) == 0)
		log_fatal("privileges were not dropped");
}

/* secrets.db: made (mode 0600) and, when the workers run as another
 * account, owned by root; the secrets of an older store move out of
 * agora.db into it. */
static void prepare_secrets(const struct config *cfg)
{
	str_t err = STR_INIT;
	unsigned moved = 0;
	if (secrets_migrate(cfg, &moved, NULL, &err) < 0)
		log_fatal("%s", str_c(&err));
	struct secrets *sec = secrets_open(cfg, NULL, &err);
	if (sec == NULL)
		log_fatal("%s", str_c(&err));
	secrets_close(&sec);
	if (server.drop) {
		static const char *const files[] = { "", "-wal", "-shm" };
		for (size_t i = 0; i < 3; i++) {
			str_t path = STR_INIT;
			str_printf(&path, "%s/%s%s", config_str(cfg, "configdirectory"), SECRETS_DB, files[i]);
			if ((chown(str_c(&path), 0, 0) < 0 || chmod(str_c(&path), 0600) < 0) && errno != ENOENT)
				log_fatal("%s: %s", str_c(&path), strerror(errno));
			str_free(&path);
		}
	}
	str_free(&err);
}

pid_t master_fork(void)
{
	/* A SIGTERM between the fork and the child's signal() would only set
	 * the child's copy of stop_requested: held back until then. */
	sigset_t stop, old;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, &old);
	pid_t pid = fork();
	if (pid < 0)
		log_error("fork: %s", strerror(errno));
	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return pid;
}

static pid_t start_worker(unsigned index)
{
	pid_t pid = master_fork();
	if (pid == 0)
		worker_run(index);
	return pid;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "C:")) != -1) {
		if (opt == 'C')
			path = optarg;
		else
			usage();
	}
	if (path == NULL || optind != argc)
		usage();
	log_set_role("master");
	/* Before anything listens: a SIGTERM that arrives while starting up
	 * must still mean a clean stop with status 0. */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	str_t err = STR_INIT;
	struct config *cfg = config_load(path, &err);
	if (cfg == NULL)
		log_fatal("%s", str_c(&err));
	server.cfg = cfg;
	if (config_partition(cfg, config_str(cfg, "defaultpartition")) == NULL)
		log_fatal("%s: partition-%s: the default partition has no directory",
			  path, config_str(cfg, "defaultpartition"));
	if (tls_init(&server) < 0)
		exit(2);
	if (server.ssl_ctx == NULL && config_str(cfg, "imaps_listen")[0] != '\0')
		log_fatal("%s: imaps_listen: needs tls_server_cert and tls_server_key", path);
	server.plaintext_ok_without_tls = server.ssl_ctx == NULL || config_bool(cfg, "allowplaintext");
	if (server.ssl_ctx == NULL)
		log_warn("no TLS configured: passwords travel in plain text");
	if (listeners_open(&server) < 0)
		exit(2);
	prepare_privileges(cfg);

	/* Create the database once before the workers race to do it. */
	struct store *st = store_open(cfg, &err);
	if (st == NULL)
		log_fatal("store: %s", str_c(&err));
	store_close(&st);
	prepare_secrets(cfg);
	/* Held (shared) for the life of the server and its workers: `agora
	 * reconstruct` takes it exclusively and so never runs beside us. */
	str_t lock = STR_INIT;
	str_printf(&lock, "%s/agorad.lock", config_str(cfg, "configdirectory"));
	int lock_fd = open(str_c(&lock), O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
	if (lock_fd < 0 || flock(lock_fd, LOCK_SH | LOCK_NB) < 0)
		log_fatal("%s: %s", str_c(&lock), lock_fd < 0 ? strerror(errno) : "agora reconstruct is running");
	str_free(&lock);

	/* The auth process alone reads password hashes; its socket stays
	 * with the master so that workers reach a restarted one. */
	str_t auth_path = STR_INIT;
	server.auth_listen_fd = auth_socket_open(cfg, &auth_path);
	if (server.auth_listen_fd < 0)
		exit(2);
	server.auth_path = str_steal(&auth_path);
	if (server.drop) {
		/* the workers connect to it as `user` */
		if (chown(server.auth_path, server.run_uid, server.run_gid) < 0)
			log_fatal("%s: chown: %s", server.auth_path, strerror(errno));
		if (store_give_to_user(cfg, &err) < 0)
			log_fatal("%s", str_c(&err));
		log_info("workers run as %s; the master and the auth process stay root",
			 config_str(cfg, "user"));
	}

	nworkers = (unsigned)config_int(cfg, "workers");
	if (nworkers == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		nworkers = n > 0 ? (unsigned)n : 1;
	}
	worker_pids = calloc(nworkers, sizeof(pid_t));
	server.nworkers = nworkers;
	void *counts = mmap(NULL, (size_t)nworkers * CONN_BUCKETS * sizeof(unsigned), PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (counts == MAP_FAILED)
		log_fatal("mmap: %s", strerror(errno));
	server.conn_counts = counts;
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	auth_pid = auth_process_start(server.auth_listen_fd);
	for (unsigned i = 0; i < nworkers; i++)
		worker_pids[i] = start_worker(i);
	log_info("agorad ready with %u workers", nworkers);

	while (!stop_requested) {
		int status;
		if (reload_requested) {
			/* Check the new certificate here; only when it loads are the
			 * workers told to take it (each builds its own context, for
			 * new connections; existing ones keep theirs). */
			reload_requested = 0;
			log_info("SIGHUP: reloading the TLS certificate");
			if (server.ssl_ctx != NULL && tls_reload(&server) == 0) {
				for (unsigned i = 0; i < nworkers; i++) {
					if (worker_pids[i] > 0)
						kill(worker_pids[i], SIGHUP);
				}
			}
		}
		pid_t pid = waitpid(-1, &status, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			sleep(1);
			continue;
		}
		if (pid == auth_pid) {
			if (WIFSIGNALED(status))
				log_error("auth process (pid %d) died of signal %d; restarting", pid, WTERMSIG(status));
			else
				log_error("auth process (pid %d) exited with %d; restarting", pid, WEXITSTATUS(status));
			auth_pid = -1;
			if (!stop_requested) {
				usleep(100000);
				auth_pid = auth_process_start(server.auth_listen_fd);
			}
			continue;
		}
		for (unsigned i = 0; i < nworkers; i++) {
			if (worker_pids[i] != pid)
				continue;
			if (WIFSIGNALED(status))
				log_error("worker %u (pid %d) died of signal %d; restarting", i, pid, WTERMSIG(status));
			else
				log_error("worker %u (pid %d) exited with %d; restarting", i, pid, WEXITSTATUS(status));
			worker_pids[i] = -1;
			if (!stop_requested) {
				usleep(100000); /* a worker that dies at once must not spin */
				worker_pids[i] = start_worker(i);
			}
		}
	}
	log_info("stopping");
	for (unsigned i = 0; i < nworkers; i++) {
		if (worker_pids[i] > 0)
			kill(worker_pids[i], SIGTERM);
	}
	for (unsigned i = 0; i < nworkers; i++) {
		if (worker_pids[i] > 0)
			waitpid(worker_pids[i], NULL, 0);
	}
	if (auth_pid > 0) {
		kill(auth_pid, SIGTERM);
		waitpid(auth_pid, NULL, 0);
	}
	unlink(server.auth_path);
	free(server.auth_path);
	for (unsigned i = 0; i < server.nlisteners; i++) {
		if (server.listeners[i].kind == LISTEN_LMTP && server.listeners[i].name[0] == '/')
			unlink(server.listeners[i].name);
	}
	log_info("stopped");
	config_free(&cfg);
	str_free(&err);
	return 0;
}
