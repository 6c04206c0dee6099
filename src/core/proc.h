/* proc.h: running user-supplied hook commands and system tools. */
#ifndef MOAT_CORE_PROC_H
#define MOAT_CORE_PROC_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

#include "core/err.h"

/* Run cmd with /bin/sh -c, followed by the arguments args (nargs of them,
 * passed as "$@", never re-parsed by the shell), its stdin from /dev/null,
 * stdout and stderr shared with moat, and the environment extended by env
 * ("NAME=value" strings, nenv of them).  Waits for it.  0 when it exited
 * 0; otherwise -1 with err saying how it ended (exit status or signal). */
int moat_run_hook(const char *what, const char *cmd, const char *const *args, size_t nargs,
		  const char *const *env, size_t nenv, struct moat_err *err);

/* Run a program directly (no shell): argv[0] is looked up in PATH unless
 * it holds a '/'.  stdin is /dev/null; stdout and stderr are captured
 * separately into out and errout (either may be NULL: dropped), each
 * capped at cap bytes (the rest is read and dropped).  Gives up and kills
 * it after timeout_ms.  0 when it ran, with *status its exit status (or
 * 128 + the signal that killed it); -1 when it could not be started (err
 * says why: "certutil: not found" for a missing program). */
int moat_run_capture(const char *const *argv, struct moat_buf *out, struct moat_buf *errout,
		     size_t cap, int timeout_ms, int *status, struct moat_err *err);
/* The full path of program name in PATH (or in dirs, a ':'-separated
 * list, when not NULL); false when it is not there or not executable. */
bool moat_which(const char *name, const char *dirs, char *out, size_t n);

#endif
