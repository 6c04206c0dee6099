/* http.c: the HTTP requests of a check (AIA caIssuers, OCSP, CRL, the
 * redirect and HSTS checks), through src/fetch: bounded in size and time. */
#include "check/internal.h"

#include <string.h>

void check_http_header(const struct fetch_resp *r, const char *name, char *out, size_t n)
{
	const char *v = fetch_resp_header(r, name);

	moat_escape(out, n, v != NULL ? v : "", v != NULL ? strlen(v) : 0);
}

int check_http(const char *url, const char *post_type, const void *post, size_t post_len,
	       bool verify, const char *connect_to, int timeout_ms, size_t max,
	       struct fetch_resp *out, struct moat_err *err)
{
	static const char *const want[] = {"Location", "Strict-Transport-Security", NULL};
	struct fetch_req q = {
		.url = url,
		.method = post != NULL ? FETCH_POST : FETCH_GET,
		.body = post,
		.body_len = post_len,
		.content_type = post_type,
		.want = want,
		.user_agent = "moat-check",
		.insecure = !verify,
		.connect_to = connect_to,
		.connect_timeout_ms = timeout_ms,
		.timeout_ms = timeout_ms,
		.max_body = max,
	};

	return fetch_once(&q, out, err);
}
