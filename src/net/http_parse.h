/* http_parse.h: the HTTP/1.x request-head parser.  Internal to src/net/
 * (and the unit test and fuzz target, which exercise it directly).
 *
 * The parser reads the request line and the header fields of one request
 * from the front of a buffer that grows as bytes arrive.  It keeps a little
 * scan state between calls so that a head delivered a byte at a time is not
 * rescanned from the start on every read.  Nothing past the first
 * NET_HTTP_MAX_HEAD bytes of the buffer is ever looked at. */
#ifndef MOAT_NET_HTTP_PARSE_H
#define MOAT_NET_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>

enum net_http_parse {
	NET_HTTP_PARSE_DONE,  /* a complete head: see the results below */
	NET_HTTP_PARSE_MORE,  /* no error so far, but the head is not complete */
	NET_HTTP_PARSE_ERROR, /* answer status and close the connection */
};

struct net_http_head {
	/* Scan state, carried between calls for the same request. */
	size_t scanned;    /* bytes already checked */
	size_t line_start; /* offset of the line being scanned */
	size_t start;      /* offset of the request line (after empty lines) */
	size_t lines;      /* complete lines from the request line on */
	bool started;      /* the request line has begun */
	bool method_done;  /* the space after the method was seen */

	/* Results of NET_HTTP_PARSE_DONE.  The strings point into the buffer,
	 * which the parser has NUL-terminated in place. */
	const char *method;
	const char *target;
	const char *host; /* "" when there is no Host field */
	int version_minor; /* 0 or 1 */
	bool keep_alive;   /* HTTP/1.1 without "Connection: close" */
	size_t len;        /* bytes of the head, final empty line included */

	/* Result of NET_HTTP_PARSE_ERROR: 400, 413, 414, 431 or 505. */
	int status;
};

/* Ready h for a new request (the bytes before it have been consumed). */
void net_http_head_reset(struct net_http_head *h);

/* Parse the head at the front of buf[0..len).  Call again with the same h
 * and a longer buffer (same bytes at the front) after NET_HTTP_PARSE_MORE.
 * On NET_HTTP_PARSE_DONE the buffer has been modified (NULs written after
 * the method, the target and the Host value); the bytes from h->len on are
 * untouched and belong to the next request. */
enum net_http_parse net_http_parse_head(char *buf, size_t len, struct net_http_head *h);

#endif
