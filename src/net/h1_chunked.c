/* h1_chunked.c: the chunked-body reader of h1.h (RFC 9112 section 7.1), a
 * state machine over the bytes outside chunk data; a run of chunk data is
 * skipped or handed out whole, never looked at. */
#include "net/h1.h"

#include <string.h>

#define CHUNK_DIGITS_MAX 15               /* 15 hex digits cannot overflow */
#define CHUNK_EXT_MAX 4096                /* bytes of extensions per chunk line */
#define TRAILER_MAX 8192                  /* bytes of trailer fields in all */

enum {
	C_SIZE0,    /* the first digit of a chunk size */
	C_SIZE,     /* more digits, ";" or CR */
	C_EXT,      /* chunk extensions, up to CR */
	C_SIZE_LF,  /* the LF of a chunk-size line */
	C_DATA,     /* chunk data (remaining bytes) */
	C_DATA_CR,  /* the CR after the data */
	C_DATA_LF,  /* ... and its LF */
	C_TRAILER,  /* the start of a trailer field line, or the final CR */
	C_TNAME,    /* trailer field name */
	C_TVALUE,   /* trailer field value, up to CR */
	C_TLF,      /* the LF of a trailer field line */
	C_END_LF,   /* the final LF */
	C_DONE,
	C_ERROR,
};

void net_h1_chunked_init(struct net_h1_chunked *c)
{
	memset(c, 0, sizeof(*c));
	c->state = C_SIZE0;
}

/* One byte of the body outside chunk data: false if invalid. */
static bool chunk_byte(struct net_h1_chunked *c, unsigned char b)
{
	switch (c->state) {
	case C_SIZE0:
	case C_SIZE:
		if (net_h1_class[b] & NET_H1_HEX) {
			if (c->line == CHUNK_DIGITS_MAX)
				return false;
			c->line++;
			c->remaining = c->remaining << 4 |
				       (unsigned)(b <= '9' ? b - '0' : (b | 0x20) - 'a' + 10);
			c->state = C_SIZE;
		} else if (c->state == C_SIZE0) {
			return false;
		} else if (b == ';') {
			c->count = 1;
			c->state = C_EXT;
		} else if (b == '\r') {
			c->state = C_SIZE_LF;
		} else {
			return false;
		}
		return true;
	case C_EXT:
		/* The extensions are passed on, not interpreted: bounded and
		 * free of controls is all that matters here. */
		if (b == '\r') {
			c->state = C_SIZE_LF;
			return true;
		}
		return (net_h1_class[b] & NET_H1_VALUE) && ++c->count <= CHUNK_EXT_MAX;
	case C_SIZE_LF:
		if (b != '\n')
			return false;
		c->line = 0;
		c->count = 0;
		c->state = c->remaining == 0 ? C_TRAILER : C_DATA;
		return true;
	case C_DATA_CR:
		c->state = C_DATA_LF;
		return b == '\r';
	case C_DATA_LF:
		c->state = C_SIZE0;
		return b == '\n';
	case C_TRAILER:
		if (b == '\r') {
			c->state = C_END_LF;
			return true;
		}
		/* A field line: name (no leading white space: no obs-fold),
		 * colon, value. */
		c->state = C_TNAME;
		return (net_h1_class[b] & NET_H1_TCHAR) && ++c->count <= TRAILER_MAX;
	case C_TNAME:
		if (b == ':')
			c->state = C_TVALUE;
		else if (!(net_h1_class[b] & NET_H1_TCHAR))
			return false;
		return ++c->count <= TRAILER_MAX;
	case C_TVALUE:
		if (b == '\r')
			c->state = C_TLF;
		else if (!(net_h1_class[b] & NET_H1_VALUE))
			return false;
		return ++c->count <= TRAILER_MAX;
	case C_TLF:
		c->state = C_TRAILER;
		return b == '\n' && ++c->count <= TRAILER_MAX;
	default: /* C_END_LF */
		if (b != '\n')
			return false;
		c->state = C_DONE;
		return true;
	}
}

enum net_h1_chunk_result net_h1_chunked_next(struct net_h1_chunked *c, const char *in,
					     size_t len, size_t *used, size_t *data_off,
					     size_t *data_len)
{
	size_t i = 0;

	*used = 0;
	*data_off = 0;
	*data_len = 0;
	if (c->state == C_DONE)
		return NET_H1_CHUNK_DONE;
	while (i < len && c->state != C_ERROR) {
		if (c->state == C_DATA) {
			size_t n = len - i;

			if (c->remaining < n)
				n = (size_t)c->remaining;
			*data_off = i;
			*data_len = n;
			i += n;
			c->remaining -= n;
			if (c->remaining == 0)
				c->state = C_DATA_CR;
			*used = i;
			return NET_H1_CHUNK_MORE;
		}
		if (!chunk_byte(c, (unsigned char)in[i]))
			c->state = C_ERROR;
		i++;
		if (c->state == C_DONE) {
			*used = i;
			return NET_H1_CHUNK_DONE;
		}
	}
	if (c->state == C_ERROR)
		return NET_H1_CHUNK_ERROR;
	*used = len;
	return NET_H1_CHUNK_MORE;
}

enum net_h1_chunk_result net_h1_chunked_scan(struct net_h1_chunked *c, const char *in,
					     size_t len, size_t *used)
{
	size_t off = 0;

	for (;;) {
		size_t u, d, dl;
		enum net_h1_chunk_result r =
			net_h1_chunked_next(c, in + off, len - off, &u, &d, &dl);

		off += u;
		if (r != NET_H1_CHUNK_MORE || off == len) {
			*used = off;
			return r;
		}
	}
}
