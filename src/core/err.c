#include "core/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void moat_err_clear(struct moat_err *e)
{
	if (e == NULL)
		return;
	e->msg[0] = '\0';
	e->hint[0] = '\0';
}

bool moat_err_isset(const struct moat_err *e)
{
	return e != NULL && e->msg[0] != '\0';
}

void moat_err_set(struct moat_err *e, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	e->hint[0] = '\0';
}

static const char *errno_hint(int errnum)
{
	switch (errnum) {
	case EACCES:
	case EPERM:
		return "check the permissions of the directory, or choose another with --out or MOAT_HOME";
	case EROFS:
		return "the file system is read-only; choose another directory";
	case ENOSPC:
	case EDQUOT:
		return "the disk is full; free some space and try again";
	case ENOENT:
		return "check that the path exists";
	default:
		return NULL;
	}
}

void moat_err_errno(struct moat_err *e, int errnum, const char *fmt, ...)
{
	va_list ap;
	char what[MOAT_ERR_MSG];
	const char *h;

	if (e == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(e->msg, sizeof(e->msg), "%.400s: %s", what, strerror(errnum));
	h = errno_hint(errnum);
	snprintf(e->hint, sizeof(e->hint), "%s", h != NULL ? h : "");
}

void moat_err_hint(struct moat_err *e, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(e->hint, sizeof(e->hint), fmt, ap);
	va_end(ap);
}

void moat_err_invalid(struct moat_err *e, const char *what, const char *in, const char *fmt,
		      va_list ap)
{
	char show[96];
	char why[MOAT_ERR_MSG];

	if (e == NULL)
		return;
	moat_escape(show, sizeof(show), in, strlen(in));
	vsnprintf(why, sizeof(why), fmt, ap);
	moat_err_set(e, "invalid %s \"%s\": %.400s", what, show, why);
}

void moat_err_prefix(struct moat_err *e, const char *fmt, ...)
{
	va_list ap;
	char ctx[MOAT_ERR_MSG];
	char old[MOAT_ERR_MSG];

	if (e == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	if (old[0] == '\0')
		snprintf(e->msg, sizeof(e->msg), "%s", ctx);
	else
		snprintf(e->msg, sizeof(e->msg), "%.200s: %.300s", ctx, old);
}

void moat_escape(char *dst, size_t n, const char *src, size_t srclen)
{
	size_t o = 0;

	if (n == 0)
		return;
	for (size_t i = 0; i < srclen; i++) {
		unsigned char c = (unsigned char)src[i];
		char tmp[5];
		size_t tl;

		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
			tmp[0] = (char)c;
			tl = 1;
		} else {
			snprintf(tmp, sizeof(tmp), "\\x%02x", c);
			tl = 4;
		}
		if (o + tl + 4 > n) { /* keep room for "..." and NUL */
			if (o + 3 < n) {
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		memcpy(dst + o, tmp, tl);
		o += tl;
	}
	dst[o] = '\0';
}
