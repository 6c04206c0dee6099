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

int moat_run_hook(const char *what, const char *cmd, const char *const *env, size_t n,
		  struct moat_err *err)
{
	pid_t pid;
	int status;

	if ((pid = fork()) < 0) {
		moat_err_errno(err, errno, "cannot run the %s", what);
		return -1;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (devnull >= 0)
			(void)dup2(devnull, STDIN_FILENO);
		for (size_t i = 0; i < n; i++)
			(void)putenv((char *)env[i]);
		signal(SIGPIPE, SIG_DFL);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
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
