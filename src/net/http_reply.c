/* http_reply.c: the response heads src/net writes (the words in them:
 * http.c). */
#include "net/http_reply.h"

#include <stdio.h>
#include <string.h>

/* A header value we are willing to send: printable ASCII, no CR or LF (no
 * header injection), no white space at either end. */
static bool value_ok(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > NET_HTTP_CTYPE_MAX || v[0] == ' ' || v[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
			return false;
	return true;
}

size_t net_http_reply_head(char *dst, size_t n, int status, const char *content_type,
			   size_t body_len, bool keep_alive, time_t now)
{
	char date[32];
	const char *conn = keep_alive ? "keep-alive" : "close";
	int r;

	if (content_type == NULL)
		content_type = "text/plain; charset=utf-8";
	if (status < 100 || status > 999 || !value_ok(content_type) || n == 0)
		return 0;
	net_http_date(date, sizeof(date), now);
	if (net_http_status_has_body(status))
		r = snprintf(dst, n,
			     "HTTP/1.1 %d %s\r\nServer: moat\r\nDate: %s\r\nContent-Type: %s\r\n"
			     "Content-Length: %zu\r\nConnection: %s\r\n\r\n",
			     status, net_http_reason(status), date, content_type, body_len, conn);
	else
		r = snprintf(dst, n,
			     "HTTP/1.1 %d %s\r\nServer: moat\r\nDate: %s\r\nConnection: %s\r\n\r\n",
			     status, net_http_reason(status), date, conn);
	if (r < 0 || (size_t)r >= n)
		return 0;
	return (size_t)r;
}
