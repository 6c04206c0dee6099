/* http.h: the words of HTTP that every server in moat writes the same way
 * -- reason phrases, which statuses carry content, the Date header's time.
 * One table and one date writer for every server's replies. */
#ifndef MOAT_NET_HTTP_H
#define MOAT_NET_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Room for an IMF-fixdate and its NUL. */
#define NET_HTTP_DATE_MAX 30

/* The reason phrase of status ("OK", "Not Found"...); a generic one for
 * the class when the code is not known here.  Static storage. */
const char *net_http_reason(int status);

/* Whether a response with this status carries content (not 1xx, 204, 304). */
bool net_http_status_has_body(int status);

/* t as an IMF-fixdate (RFC 9110 section 5.6.7), "Sun, 06 Nov 1994 08:49:37
 * GMT", in English whatever the locale.  n >= NET_HTTP_DATE_MAX. */
void net_http_date(char *out, size_t n, time_t t);

/* The current time as net_http_date writes it, formatted at most once a
 * second per thread (for the Date of every response of a busy server).
 * The calling thread's own buffer: valid until its next call. */
const char *net_http_date_now(void);

#endif
