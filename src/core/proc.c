/* proc.c: hooks run through the shell, as certbot and uacme run theirs. */
#include "core/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_ARGS 16

int moat_run_hook(const char *what, const char *cmd, const char *const *args, size_t nargs,
		  const char *const *env, size_t nenv, struct moat_err *err)
{
	const char *argv[MAX_ARGS + 5];
	char *script = NULL;
	size_t k = 0;
	pid_t pid;
	int status;

	if (nargs > MAX_ARGS || (script = malloc(strlen(cmd) + 8)) == NULL) {
		moat_err_set(err, "cannot run the %s", what);
		free(script);
		return -1;
	}
	/* The arguments follow the command as "$@": quoted by the shell. */
	strcpy(script, cmd);
	if (nargs > 0)
		strcat(script, " \"$@\"");
	argv[k++] = "sh";
	argv[k++] = "-c";
	argv[k++] = script;
	argv[k++] = "moat-hook";
	for (size_t i = 0; i < nargs; i++)
		argv[k++] = args[i];
	argv[k] = NULL;

	if ((pid = fork()) < 0) {
		moat_err_errno(err, errno, "cannot run the %s", what);
		free(script);
		return -1;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (devnull >= 0)
			(void)dup2(devnull, STDIN_FILENO);
		for (size_t i = 0; i < nenv; i++)
			(void)putenv((char *)env[i]);
		signal(SIGPIPE, SIG_DFL);
		execv("/bin/sh", (char *const *)argv);
		_exit(127);
	}
	free(script);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			moat_err_errno(err, errno, "cannot wait for the %s", what);
			return -1;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		moat_err_set(err, "the %s failed (exit status %d)", what, WEXITSTATUS(status));
	else
		moat_err_set(err, "the %s was killed by signal %d", what,
			     WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	moat_err_hint(err, "run the command by hand to see why; moat passes MOAT_LINEAGE, "
			   "MOAT_DOMAINS and the file paths in the environment");
	return -1;
}

bool moat_which(const char *name, const char *dirs, char *out, size_t n)
{
	const char *p;

	if (strchr(name, '/') != NULL)
		return access(name, X_OK) == 0 && (size_t)snprintf(out, n, "%s", name) < n;
	if (dirs == NULL && (dirs = getenv("PATH")) == NULL)
		dirs = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
	for (p = dirs; *p != '\0';) {
		const char *end = strchr(p, ':');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
		int w;

		if (len == 0)
			w = snprintf(out, n, "./%s", name);
		else
			w = snprintf(out, n, "%.*s/%s", (int)len, p, name);
		if (w > 0 && (size_t)w < n && access(out, X_OK) == 0) {
			struct stat st;
			if (stat(out, &st) == 0 && S_ISREG(st.st_mode))
				return true;
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	return false;
}

/* Keep what fits under cap, drop the rest. */
static void capture(struct moat_buf *b, const char *data, size_t len, size_t cap)
{
	if (b == NULL || b->len >= cap)
		return;
	if (len > cap - b->len)
		len = cap - b->len;
	(void)moat_buf_append(b, data, len);
}

int moat_run_capture(const char *const *argv, struct moat_buf *out, struct moat_buf *errout,
		     size_t cap, int timeout_ms, int *status, struct moat_err *err)
{
	posix_spawn_file_actions_t fa;
	int po[2] = {-1, -1}, pe[2] = {-1, -1};
	struct moat_buf o = MOAT_BUF_INIT, e = MOAT_BUF_INIT;
	bool fa_init = false, killed = false;
	pid_t pid = -1;
	int rc, st, ret = -1;
	struct timespec start, now;

	if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0) {
		moat_err_errno(err, errno, "cannot run %s", argv[0]);
		goto out;
	}
	if (posix_spawn_file_actions_init(&fa) != 0) {
		moat_err_set(err, "cannot run %s", argv[0]);
		goto out;
	}
	fa_init = true;
	if (posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, po[1], STDOUT_FILENO) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, pe[1], STDERR_FILENO) != 0) {
		moat_err_set(err, "cannot run %s", argv[0]);
		goto out;
	}
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	if (rc != 0) {
		pid = -1;
		if (rc == ENOENT)
			moat_err_set(err, "%s: not found", argv[0]);
		else
			moat_err_errno(err, rc, "cannot run %s", argv[0]);
		goto out;
	}
	close(po[1]);
	close(pe[1]);
	po[1] = pe[1] = -1;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (po[0] >= 0 || pe[0] >= 0) {
		struct pollfd pfd[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
		long left;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = timeout_ms - ((now.tv_sec - start.tv_sec) * 1000L +
				     (now.tv_nsec - start.tv_nsec) / 1000000L);
		if (left <= 0) {
			kill(pid, SIGKILL);
			killed = true;
			break;
		}
		if (poll(pfd, 2, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			char chunk[4096];
			ssize_t r;
			int *fd = i == 0 ? &po[0] : &pe[0];

			if (*fd < 0 || (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0)
				continue;
			r = read(*fd, chunk, sizeof(chunk));
			if (r > 0)
				capture(i == 0 ? &o : &e, chunk, (size_t)r, cap);
			else if (r == 0 || errno != EINTR) {
				close(*fd);
				*fd = -1;
			}
		}
	}
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			moat_err_errno(err, errno, "cannot wait for %s", argv[0]);
			pid = -1;
			goto out;
		}
	}
	pid = -1;
	if (killed) {
		moat_err_set(err, "%s did not finish within %d s", argv[0], timeout_ms / 1000);
		goto out;
	}
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	/* NUL-terminate what was captured (not counted in len). */
	if (moat_buf_append(&o, "", 1) != 0 || moat_buf_append(&e, "", 1) != 0) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	o.len--;
	e.len--;
	if (out != NULL) {
		*out = o;
		o = (struct moat_buf)MOAT_BUF_INIT;
	}
	if (errout != NULL) {
		*errout = e;
		e = (struct moat_buf)MOAT_BUF_INIT;
	}
	ret = 0;
out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	if (fa_init)
		posix_spawn_file_actions_destroy(&fa);
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
	}
	moat_buf_free(&o);
	moat_buf_free(&e);
	return ret;
}
