/* http.c: the HTTP requests of a check (AIA caIssuers, OCSP, CRL, the
 * redirect and HSTS checks), through src/fetch: bounded in size and time. */
#include "check/internal.h"

#include <string.h>

#include "fetch/fetch.h"

/* Keep a header's value, escaped: it comes from the peer. */
static void keep(const struct fetch_resp *f, const char *name, char *out, size_t n)
{
	const char *v = fetch_resp_header(f, name);

	if (v != NULL)
		moat_escape(out, n, v, strlen(v));
}

int check_http(const char *url, const char *post_type, const void *post, size_t post_len,
	       bool verify, const char *connect_to, int timeout_ms, size_t max,
	       struct check_http_resp *out, struct moat_err *err)
{
	static const char *const want[] = {"Location", "Strict-Transport-Security", "Content-Type",
					   NULL};
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
	struct fetch_resp f;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (fetch_once(&q, &f, err) != 0)
		goto out;
	out->status = f.status;
	keep(&f, "Location", out->location, sizeof(out->location));
	keep(&f, "Strict-Transport-Security", out->hsts, sizeof(out->hsts));
	keep(&f, "Content-Type", out->content_type, sizeof(out->content_type));
	out->body = f.body; /* NUL-terminated */
	memset(&f.body, 0, sizeof(f.body));
	ret = 0;
out:
	fetch_resp_clear(&f);
	return ret;
}

void check_http_resp_clear(struct check_http_resp *r)
{
	if (r == NULL)
		return;
	moat_buf_free(&r->body);
	memset(r, 0, sizeof(*r));
}
