/* http.c: reason phrases, which statuses have content, the Date header's
 * time (http.h). */
#include "net/http.h"

#include <stdio.h>

static const struct {
	int status;
	const char *reason;
} reasons[] = {
	{100, "Continue"},
	{200, "OK"},
	{201, "Created"},
	{202, "Accepted"},
	{204, "No Content"},
	{301, "Moved Permanently"},
	{302, "Found"},
	{303, "See Other"},
	{304, "Not Modified"},
	{307, "Temporary Redirect"},
	{308, "Permanent Redirect"},
	{400, "Bad Request"},
	{401, "Unauthorized"},
	{403, "Forbidden"},
	{404, "Not Found"},
	{405, "Method Not Allowed"},
	{406, "Not Acceptable"},
	{408, "Request Timeout"},
	{409, "Conflict"},
	{410, "Gone"},
	{411, "Length Required"},
	{413, "Content Too Large"},
	{414, "URI Too Long"},
	{415, "Unsupported Media Type"},
	{421, "Misdirected Request"},
	{429, "Too Many Requests"},
	{431, "Request Header Fields Too Large"},
	{500, "Internal Server Error"},
	{501, "Not Implemented"},
	{502, "Bad Gateway"},
	{503, "Service Unavailable"},
	{504, "Gateway Timeout"},
	{505, "HTTP Version Not Supported"},
};

const char *net_http_reason(int status)
{
	static const char *const classes[] = {"Informational", "Success", "Redirection",
					      "Client Error"};

	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].reason;
	return status >= 100 && status < 500 ? classes[status / 100 - 1] : "Server Error";
}

bool net_http_status_has_body(int status)
{
	return status >= 200 && status != 204 && status != 304;
}

void net_http_date(char *out, size_t n, time_t t)
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_year < 0 || tm.tm_year > 9999 - 1900) {
		t = 0;
		gmtime_r(&t, &tm);
	}
	snprintf(out, n, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7],
		 tm.tm_mday % 100, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour % 100,
		 tm.tm_min % 100, tm.tm_sec % 100);
}

const char *net_http_date_now(void)
{
	static _Thread_local char text[NET_HTTP_DATE_MAX];
	static _Thread_local time_t last;
	time_t now = time(NULL);

	if (now != last || text[0] == '\0') {
		net_http_date(text, sizeof(text), now);
		last = now;
	}
	return text;
}
