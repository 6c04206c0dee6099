/* http.c: HTTP for the ACME client, on src/fetch: one reused connection,
 * capped bodies, the ACME headers read from what fetch kept. */
#include "acme/http.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "moat_config.h"

#define CONNECT_TIMEOUT_MS 15000
#define TOTAL_TIMEOUT_MS 60000
/* The longest header value ACME reads (a Link with its URL and parameters). */
#define MAX_VALUE (ACME_HTTP_MAX_URL * 2)

struct acme_http {
	struct fetch *fetch;
	char *ca_bundle;
};

const char *const acme_http_headers[] = {"Replay-Nonce", "Location", "Retry-After", "Link",
					 "Content-Type", NULL};

struct acme_http *acme_http_new(const char *ca_bundle, struct moat_err *err)
{
	struct acme_http *h;

	/* (fetch_new only allocates: it fails only for lack of memory) */
	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (ca_bundle != NULL && (h->ca_bundle = strdup(ca_bundle)) == NULL) ||
	    (h->fetch = fetch_new(err)) == NULL) {
		moat_err_set(err, "out of memory");
		acme_http_free(h);
		return NULL;
	}
	return h;
}

void acme_http_free(struct acme_http *h)
{
	if (h == NULL)
		return;
	fetch_free(h->fetch);
	free(h->ca_bundle);
	free(h);
}

void acme_resp_clear(struct acme_resp *r)
{
	moat_buf_free(&r->body);
	memset(r, 0, sizeof(*r));
	r->retry_after = -1;
}

const char *acme_resp_link(const struct acme_resp *r, const char *rel)
{
	for (size_t i = 0; i < r->nlinks; i++)
		if (strcmp(r->links[i].rel, rel) == 0)
			return r->links[i].url;
	return NULL;
}

static long parse_retry_after(const char *v)
{
	char *end;
	long s;
	time_t t;

	if (isdigit((unsigned char)v[0])) {
		s = strtol(v, &end, 10);
		return *end == '\0' && s >= 0 && s < 86400 * 30 ? s : -1;
	}
	if ((t = (time_t)fetch_http_date(v)) < 0)
		return -1;
	s = (long)(t - time(NULL));
	return s < 0 ? 0 : s;
}

/* Link: <url>;rel="x", <url2>; rel=y; title="..." */
static void parse_links(const char *v, struct acme_resp *r)
{
	const char *p = v;

	while (*p != '\0' && r->nlinks < ACME_HTTP_MAX_LINKS) {
		struct acme_link l;
		const char *lt = strchr(p, '<'), *gt, *next;
		size_t ulen;

		if (lt == NULL || (gt = strchr(lt, '>')) == NULL)
			return;
		ulen = (size_t)(gt - lt - 1);
		next = strchr(gt, ',');
		memset(&l, 0, sizeof(l));
		if (ulen < sizeof(l.url)) {
			memcpy(l.url, lt + 1, ulen);
			/* parameters between '>' and the next ',' */
			for (const char *q = gt + 1; q != NULL && (next == NULL || q < next);) {
				const char *semi = strchr(q, ';');
				if (semi == NULL || (next != NULL && semi > next))
					break;
				q = semi + 1;
				while (*q == ' ' || *q == '\t')
					q++;
				if (strncasecmp(q, "rel=", 4) == 0) {
					const char *s = q + 4;
					size_t n = 0;
					if (*s == '"')
						s++;
					while (s[n] != '\0' && s[n] != '"' && s[n] != ';' && s[n] != ',' &&
					       s[n] != ' ' && n + 1 < sizeof(l.rel))
						n++;
					memcpy(l.rel, s, n);
					l.rel[n] = '\0';
				}
			}
			if (l.rel[0] != '\0')
				r->links[r->nlinks++] = l;
		}
		if (next == NULL)
			return;
		p = next + 1;
	}
}

/* A header value that does not fit is treated as absent, never cut. */
static void set_field(char *dst, size_t n, const char *v)
{
	size_t len = strlen(v);

	if (len < n)
		memcpy(dst, v, len + 1);
	else
		dst[0] = '\0';
}

/* One header field (name as acme_http_headers spells it, value trimmed). */
static void header(struct acme_resp *r, const char *name, const char *value)
{
	if (strlen(value) >= MAX_VALUE)
		return; /* too long to be anything we use: ignore */
	if (strcmp(name, "Replay-Nonce") == 0) {
		set_field(r->nonce, sizeof(r->nonce), value);
	} else if (strcmp(name, "Location") == 0) {
		set_field(r->location, sizeof(r->location), value);
	} else if (strcmp(name, "Retry-After") == 0) {
		r->retry_after = parse_retry_after(value);
	} else if (strcmp(name, "Link") == 0) {
		parse_links(value, r);
	} else if (strcmp(name, "Content-Type") == 0) {
		size_t i = 0;
		for (; value[i] != '\0' && value[i] != ';' && value[i] != ' ' &&
		       i + 1 < sizeof(r->content_type);
		     i++)
			r->content_type[i] = (char)tolower((unsigned char)value[i]);
		r->content_type[i] = '\0';
	}
}

void acme_resp_headers(struct acme_resp *r, const struct fetch_resp *f)
{
	for (size_t i = 0; i < f->nfields; i++)
		header(r, f->fields[i].name, f->fields[i].value);
}

/* err for a request that failed: the server named, a hint for ACME. */
static void transport_error(const struct fetch_resp *f, const char *url, struct moat_err *err)
{
	static const char *const hints[] = {
		[FETCH_FAIL_RESOLVE] = "check the server URL and your DNS",
		[FETCH_FAIL_CONNECT] = "is the server up, and not blocked by a firewall or proxy?",
		[FETCH_FAIL_TIMEOUT] = "is the server up, and not blocked by a firewall or proxy?",
		[FETCH_FAIL_VERIFY] = "for a private ACME server, pass its CA with --ca-bundle FILE "
				      "(or MOAT_CA_BUNDLE)",
		[FETCH_FAIL_SCHEME] = "ACME servers are reached over https://",
	};
	char show[160];

	if (f->fail == FETCH_FAIL_LOAD)
		return; /* fetch said it, with the hint */
	moat_escape(show, sizeof(show), url, strlen(url));
	if (f->fail == FETCH_FAIL_TOO_BIG) {
		moat_err_set(err, "the ACME server at %s sent more than %d bytes", show,
			     ACME_HTTP_MAX_BODY);
		return;
	}
	moat_err_set(err, "cannot reach the ACME server at %s: %s", show, f->reason);
	if ((size_t)f->fail < sizeof(hints) / sizeof(hints[0]) && hints[f->fail] != NULL)
		moat_err_hint(err, "%s", hints[f->fail]);
}

int acme_http_request(struct acme_http *h, const char *url, const char *body, bool head,
		      struct acme_resp *resp, struct moat_err *err)
{
	static const char *const accept_language[] = {"Accept-Language: en", NULL};
	struct fetch_req q = {
		.url = url,
		.method = body != NULL ? FETCH_POST : head ? FETCH_HEAD : FETCH_GET,
		.body = body,
		.body_len = body != NULL ? strlen(body) : 0,
		.content_type = "application/jose+json",
		.headers = accept_language,
		.want = acme_http_headers,
		.user_agent = "moat/" MOAT_VERSION,
		.ca_bundle = h->ca_bundle,
		.https_only = true,
		.decompress = true,
		.connect_timeout_ms = CONNECT_TIMEOUT_MS,
		.timeout_ms = TOTAL_TIMEOUT_MS,
		.max_body = ACME_HTTP_MAX_BODY,
	};
	struct fetch_resp f;
	int ret = -1;

	acme_resp_clear(resp);
	if (strncasecmp(url, "https://", 8) != 0) {
		char show[160];
		moat_escape(show, sizeof(show), url, strlen(url));
		moat_err_set(err, "not an https:// URL: %s", show);
		moat_err_hint(err, "ACME servers are reached over https://");
		return -1;
	}
	if (fetch_request(h->fetch, &q, &f, err) != 0) {
		transport_error(&f, url, err);
		goto out;
	}
	resp->status = f.status;
	acme_resp_headers(resp, &f);
	resp->body = f.body; /* NUL-terminated */
	memset(&f.body, 0, sizeof(f.body));
	ret = 0;
out:
	fetch_resp_clear(&f);
	return ret;
}
