#include "core/b64.h"

#include <stdbool.h>

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Append one output character, wrapping lines as asked. */
static int put(struct moat_buf *out, char c, size_t line_len, size_t *col)
{
	if (line_len > 0 && *col == line_len) {
		if (moat_buf_append(out, "\n", 1) != 0)
			return -1;
		*col = 0;
	}
	(*col)++;
	return moat_buf_append(out, &c, 1);
}

int moat_b64_encode(struct moat_buf *out, const void *data, size_t len, size_t line_len)
{
	const unsigned char *p = data;
	size_t orig = out->len, col = 0;
	int ret = -1;

	/* Append at least "" so that out->data is a valid string. */
	if (moat_buf_append(out, "", 0) != 0)
		goto out;
	for (size_t i = 0; i < len; i += 3) {
		size_t left = len - i;
		unsigned v = (unsigned)p[i] << 16;
		char q[4];

		if (left > 1)
			v |= (unsigned)p[i + 1] << 8;
		if (left > 2)
			v |= p[i + 2];
		q[0] = alphabet[(v >> 18) & 63];
		q[1] = alphabet[(v >> 12) & 63];
		q[2] = left > 1 ? alphabet[(v >> 6) & 63] : '=';
		q[3] = left > 2 ? alphabet[v & 63] : '=';
		for (int k = 0; k < 4; k++)
			if (put(out, q[k], line_len, &col) != 0)
				goto out;
	}
	ret = 0;
out:
	if (ret != 0 && out->data != NULL) {
		out->len = orig;
		out->data[orig] = '\0';
	}
	return ret;
}

static int value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int moat_b64_decode(struct moat_buf *out, const char *in, size_t len)
{
	size_t orig = out->len;
	unsigned char q[4];
	int nq = 0, pad = 0;
	int ret = -1;

	if (moat_buf_append(out, "", 0) != 0)
		goto out;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		int v;

		if (is_space(c))
			continue;
		if (pad > 0 && nq == 0)
			goto out; /* data after the padded final quantum */
		if (c == '=') {
			if (nq < 2)
				goto out; /* "=" in the first two positions */
			pad++;
			q[nq++] = 0;
		} else {
			v = value(c);
			if (v < 0 || pad > 0)
				goto out;
			q[nq++] = (unsigned char)v;
		}
		if (nq == 4) {
			unsigned char b[3];
			unsigned w = (unsigned)q[0] << 18 | (unsigned)q[1] << 12 |
				     (unsigned)q[2] << 6 | q[3];

			b[0] = (unsigned char)(w >> 16);
			b[1] = (unsigned char)(w >> 8);
			b[2] = (unsigned char)w;
			/* Bits that padding leaves over must be zero (canonical form). */
			if ((pad == 1 && b[2] != 0) || (pad == 2 && b[1] != 0))
				goto out;
			if (moat_buf_append(out, b, (size_t)(3 - pad)) != 0)
				goto out;
			nq = 0;
		}
	}
	if (nq != 0)
		goto out; /* missing padding */
	ret = 0;
out:
	if (ret != 0 && out->data != NULL) {
		out->len = orig;
		out->data[orig] = '\0';
	}
	return ret;
}

int moat_b64url_encode(struct moat_buf *out, const void *data, size_t len)
{
	size_t start = out->len;

	if (moat_b64_encode(out, data, len, 0) != 0)
		return -1;
	for (size_t i = start; i < out->len; i++) {
		if (out->data[i] == '+')
			out->data[i] = '-';
		else if (out->data[i] == '/')
			out->data[i] = '_';
	}
	while (out->len > start && out->data[out->len - 1] == '=')
		out->len--;
	out->data[out->len] = '\0';
	return 0;
}

int moat_b64url_decode(struct moat_buf *out, const char *in, size_t len)
{
	struct moat_buf t = MOAT_BUF_INIT;
	int ret = -1;

	if (len % 4 == 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		if (c == '+' || c == '/' || c == '=' || is_space((unsigned char)c))
			goto out; /* not base64url, or padded, or spaced */
		c = c == '-' ? '+' : c == '_' ? '/' : c;
		if (moat_buf_append(&t, &c, 1) != 0)
			goto out;
	}
	while (t.len % 4 != 0)
		if (moat_buf_append(&t, "=", 1) != 0)
			goto out;
	ret = moat_b64_decode(out, t.data != NULL ? (const char *)t.data : "", t.len);
out:
	moat_buf_wipe(&t);
	return ret;
}
