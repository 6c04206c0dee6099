#include "core/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int reserve(struct moat_buf *b, size_t extra)
{
	size_t need, ncap;
	unsigned char *p;

	if (extra > ((size_t)-1) / 2 - b->len)
		return -1;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap *= 2;
	/* malloc + copy + wipe instead of realloc: buffers hold key material,
	 * and realloc would leave copies of it in freed memory. */
	p = malloc(ncap);
	if (p == NULL)
		return -1;
	if (b->data != NULL) {
		memcpy(p, b->data, b->len + 1);
		explicit_bzero(b->data, b->cap);
		free(b->data);
	}
	b->data = p;
	b->cap = ncap;
	return 0;
}

int moat_buf_reserve(struct moat_buf *b, size_t extra)
{
	return reserve(b, extra);
}

int moat_buf_append(struct moat_buf *b, const void *data, size_t len)
{
	if (reserve(b, len) != 0)
		return -1;
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int moat_buf_puts(struct moat_buf *b, const char *s)
{
	return moat_buf_append(b, s, strlen(s));
}

int moat_buf_printf(struct moat_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || reserve(b, (size_t)n) != 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void moat_buf_wipe(struct moat_buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->cap);
	moat_buf_free(b);
}

void moat_buf_free(struct moat_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

char *moat_buf_steal(struct moat_buf *b)
{
	char *s;

	if (b->data == NULL && reserve(b, 0) != 0)
		return NULL;
	s = (char *)b->data;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return s;
}
