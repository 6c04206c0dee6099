/* proc.c: hooks run through the shell, as certbot and uacme run theirs. */
#include "core/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

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
