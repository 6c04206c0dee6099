/* http_reply.h: formatting HTTP/1.1 responses.  Internal to src/net/. */
#ifndef MOAT_NET_HTTP_REPLY_H
#define MOAT_NET_HTTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Room for the head net_http_reply_head writes (a Content-Type of up to
 * NET_HTTP_CTYPE_MAX bytes fits). */
#define NET_HTTP_REPLY_HEAD_MAX 512
#define NET_HTTP_CTYPE_MAX 200

/* The reason phrase of status ("OK", "Not Found"...); a generic one for
 * the class when the code is not known here. */
const char *net_http_reason(int status);

/* Whether a response with this status carries content (not 1xx, 204, 304). */
bool net_http_status_has_body(int status);

/* t as an IMF-fixdate (RFC 9110 section 5.6.7), "Sun, 06 Nov 1994 08:49:37
 * GMT", in English whatever the locale.  n >= 30. */
void net_http_date(char *out, size_t n, time_t t);

/* The status line and header fields of a response, blank line included:
 * Server, Date, Content-Type (NULL: text/plain; charset=utf-8) and
 * Content-Length (both left out when the status has no content) and
 * Connection.  Returns the length written to dst (NUL-terminated), or 0 if
 * status is not a 3-digit code, content_type is not a plain printable
 * value of at most NET_HTTP_CTYPE_MAX bytes, or dst is too small. */
size_t net_http_reply_head(char *dst, size_t n, int status, const char *content_type,
			   size_t body_len, bool keep_alive, time_t now);

#endif
