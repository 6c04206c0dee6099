/* err.h: errors that carry a message for the user.
 *
 * A function that fails fills the struct moat_err it was given, where the
 * failure is known, and returns -1 (or NULL).  Callers higher up may add
 * context with moat_err_prefix().  Only the CLI prints.  Passing NULL is
 * allowed and discards the message. */
#ifndef MOAT_CORE_ERR_H
#define MOAT_CORE_ERR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#define MOAT_ERR_MSG 512
#define MOAT_ERR_HINT 384

struct moat_err {
	char msg[MOAT_ERR_MSG];   /* one line, no trailing newline */
	char hint[MOAT_ERR_HINT]; /* optional; "" when there is none */
};

#define MOAT_PRINTF(a, b) __attribute__((format(printf, a, b)))

void moat_err_clear(struct moat_err *e);
bool moat_err_isset(const struct moat_err *e);
/* Replace the message (and clear the hint). */
void moat_err_set(struct moat_err *e, const char *fmt, ...) MOAT_PRINTF(2, 3);
/* Set the message from errno: "<what>: <strerror(errnum)>" plus a hint for
 * common cases (EACCES, ENOSPC, ENOENT...). */
void moat_err_errno(struct moat_err *e, int errnum, const char *fmt, ...) MOAT_PRINTF(3, 4);
void moat_err_hint(struct moat_err *e, const char *fmt, ...) MOAT_PRINTF(2, 3);
/* "<context>: <old message>"; keeps the hint. */
void moat_err_prefix(struct moat_err *e, const char *fmt, ...) MOAT_PRINTF(2, 3);

/* "invalid <what> "<escaped input>": <reason>" -- for rejecting user or
 * peer input; the input is escaped and shortened before it is shown. */
void moat_err_invalid(struct moat_err *e, const char *what, const char *in, const char *fmt,
		      va_list ap) MOAT_PRINTF(4, 0);

/* Copy text from an untrusted source into dst (size n), replacing control
 * characters, quotes, backslashes and non-ASCII bytes with \xNN escapes and
 * truncating with "..." so the result is always printable on one line. */
void moat_escape(char *dst, size_t n, const char *src, size_t srclen);

/* Copy untrusted text into dst (size n) as valid UTF-8, for JSON: valid
 * UTF-8 sequences as they are, every other byte as the four characters
 * \xNN; truncated (with "...") only between characters, never inside
 * one. */
void moat_utf8_escape(char *dst, size_t n, const char *src, size_t srclen);

#endif
