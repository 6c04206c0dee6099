/* proc.h: running user-supplied hook commands. */
#ifndef MOAT_CORE_PROC_H
#define MOAT_CORE_PROC_H

#include <stddef.h>

#include "core/err.h"

/* Run cmd with /bin/sh -c, followed by the arguments args (nargs of them,
 * passed as "$@", never re-parsed by the shell), its stdin from /dev/null,
 * stdout and stderr shared with moat, and the environment extended by env
 * ("NAME=value" strings, nenv of them).  Waits for it.  0 when it exited
 * 0; otherwise -1 with err saying how it ended (exit status or signal). */
int moat_run_hook(const char *what, const char *cmd, const char *const *args, size_t nargs,
		  const char *const *env, size_t nenv, struct moat_err *err);

#endif
