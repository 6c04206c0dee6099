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

/* Append piece to dst[*o..] if it fits with room left for "..." and the
 * NUL; else append "..." (if that fits) and return false. */
static bool put_piece(char *dst, size_t n, size_t *o, const char *piece, size_t len)
{
	if (*o + len + 4 > n) {
		if (*o + 3 < n) {
			memcpy(dst + *o, "...", 3);
			*o += 3;
		}
		return false;
	}
	memcpy(dst + *o, piece, len);
	*o += len;
	return true;
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
		if (!put_piece(dst, n, &o, tmp, tl))
			break;
	}
	dst[o] = '\0';
}

/* The length of the valid UTF-8 sequence at p (at most n bytes), 0 if
 * the bytes there are not one (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

void moat_utf8_escape(char *dst, size_t n, const char *src, size_t srclen)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0;

	if (n == 0)
		return;
	for (size_t i = 0; i < srclen;) {
		size_t l = utf8_len(s + i, srclen - i);
		char tmp[5];
		const char *piece = (const char *)s + i;
		size_t pl = l;

		if (l == 0) {
			snprintf(tmp, sizeof(tmp), "\\x%02x", s[i]);
			piece = tmp;
			pl = 4;
			l = 1;
		}
		if (!put_piece(dst, n, &o, piece, pl))
			break;
		i += l;
	}
	dst[o] = '\0';
}
