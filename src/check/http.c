/* http.c: the HTTP requests of a check (AIA caIssuers, OCSP, CRL, the
 * redirect and HSTS checks), with libcurl: bounded in size and time. */
#include "check/internal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

struct sink {
	struct check_http_resp *r;
	size_t max;
	bool too_big;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n;

	if (s->r->body.len + len > s->max) {
		s->too_big = true;
		return 0; /* abort the transfer */
	}
	return moat_buf_append(&s->r->body, p, len) == 0 ? len : 0;
}

/* Keep a header's value (escaped: it comes from the peer). */
static void keep(const char *line, size_t len, const char *name, char *out, size_t n)
{
	size_t nl = strlen(name);
	const char *v;

	if (len <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return;
	v = line + nl + 1;
	len -= nl + 1;
	while (len > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)v[len - 1]))
		len--;
	moat_escape(out, n, v, len);
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n;

	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		/* a new response (after a 100 Continue): forget the old headers */
		s->r->location[0] = s->r->hsts[0] = s->r->content_type[0] = '\0';
		return len;
	}
	keep(p, len, "Location", s->r->location, sizeof(s->r->location));
	keep(p, len, "Strict-Transport-Security", s->r->hsts, sizeof(s->r->hsts));
	keep(p, len, "Content-Type", s->r->content_type, sizeof(s->r->content_type));
	return len;
}

int check_http(const char *url, const char *post_type, const void *post, size_t post_len,
	       bool verify, const char *connect_to, int timeout_ms, size_t max,
	       struct check_http_resp *out, struct moat_err *err)
{
	struct check_http_resp r;
	struct sink s = {&r, max, false};
	struct curl_slist *hdrs = NULL, *ct = NULL;
	char ctype[160], shown[160];
	CURL *h = NULL;
	CURLcode rc;
	int ret = -1;

	memset(&r, 0, sizeof(r));
	moat_escape(shown, sizeof(shown), url, strlen(url));
	if ((h = curl_easy_init()) == NULL) {
		moat_err_set(err, "cannot start an HTTP request");
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "moat-check");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &s);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
	if (!verify) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (connect_to != NULL && (ct = curl_slist_append(NULL, connect_to)) != NULL)
		curl_easy_setopt(h, CURLOPT_CONNECT_TO, ct);
	if (post != NULL) {
		snprintf(ctype, sizeof(ctype), "Content-Type: %s", post_type);
		if ((hdrs = curl_slist_append(NULL, ctype)) == NULL) {
			moat_err_set(err, "out of memory");
			goto out;
		}
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)post_len);
	}
	rc = curl_easy_perform(h);
	if (s.too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		moat_err_set(err, "%s sent more than %zu bytes", shown, max);
		goto out;
	}
	if (rc != CURLE_OK) {
		moat_err_set(err, "cannot fetch %s: %s", shown, curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
	if (moat_buf_append(&r.body, "", 1) != 0) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	r.body.len--;
	*out = r;
	memset(&r, 0, sizeof(r));
	ret = 0;
out:
	moat_buf_free(&r.body);
	curl_slist_free_all(hdrs);
	curl_slist_free_all(ct);
	if (h != NULL)
		curl_easy_cleanup(h);
	return ret;
}

void check_http_resp_clear(struct check_http_resp *r)
{
	if (r == NULL)
		return;
	moat_buf_free(&r->body);
	memset(r, 0, sizeof(*r));
}
