/* http_reply.h: formatting HTTP/1.1 responses.  Internal to src/net/; the
 * reason phrases and dates in them are http.h's, public. */
#ifndef MOAT_NET_HTTP_REPLY_H
#define MOAT_NET_HTTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "net/http.h"

/* Room for the head net_http_reply_head writes (a Content-Type of up to
 * NET_HTTP_CTYPE_MAX bytes fits). */
#define NET_HTTP_REPLY_HEAD_MAX 512
#define NET_HTTP_CTYPE_MAX 200

/* The status line and header fields of a response, blank line included:
 * Server, Date, Content-Type (NULL: text/plain; charset=utf-8) and
 * Content-Length (both left out when the status has no content) and
 * Connection.  Returns the length written to dst (NUL-terminated), or 0 if
 * status is not a 3-digit code, content_type is not a plain printable
 * value of at most NET_HTTP_CTYPE_MAX bytes, or dst is too small. */
size_t net_http_reply_head(char *dst, size_t n, int status, const char *content_type,
			   size_t body_len, bool keep_alive, time_t now);

#endif
