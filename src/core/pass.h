/* pass.h: passphrases, from a file, the environment or a no-echo prompt. */
#ifndef MOAT_CORE_PASS_H
#define MOAT_CORE_PASS_H

#include <stdbool.h>

#include "core/buf.h"
#include "core/err.h"

#define MOAT_PASS_MIN 8    /* for new passphrases */
#define MOAT_PASS_MAX 1024

/* Fill out with a passphrase taken from, in order: the first line of file
 * (when file != NULL), the environment variable envname (when set), or a
 * prompt on /dev/tty with echo off (asked twice when confirm is true).
 * New passphrases (confirm true) must be at least MOAT_PASS_MIN bytes.
 * Fails with a hint when there is no terminal to ask on. */
int moat_pass_get(const char *file, const char *envname, const char *prompt, bool confirm,
		  struct moat_buf *out, struct moat_err *err);

#endif
