/* http.c: libcurl for the ACME client: one reused easy handle, capped
 * bodies, the ACME headers picked out as they arrive. */
#include "acme/http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "moat_config.h"

#define CONNECT_TIMEOUT_S 15L
#define TOTAL_TIMEOUT_S 60L

struct acme_http {
	CURL *curl;
	char *ca_bundle;
	char errbuf[CURL_ERROR_SIZE];
};

struct acme_http *acme_http_new(const char *ca_bundle, struct moat_err *err)
{
	static bool initialised;
	struct acme_http *h;

	if (!initialised) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			moat_err_set(err, "cannot initialise libcurl");
			return NULL;
		}
		initialised = true;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL || (h->curl = curl_easy_init()) == NULL ||
	    (ca_bundle != NULL && (h->ca_bundle = strdup(ca_bundle)) == NULL)) {
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
	if (h->curl != NULL)
		curl_easy_cleanup(h->curl);
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

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct acme_resp *r = arg;
	size_t n = size * nmemb;

	if (r->body.len + n > ACME_HTTP_MAX_BODY || moat_buf_append(&r->body, ptr, n) != 0)
		return 0; /* makes curl fail with CURLE_WRITE_ERROR */
	return n;
}

/* Copy the header value (trimmed) into out; false if it does not fit. */
static bool copy_value(const char *v, size_t len, char *out, size_t n)
{
	while (len > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t' || v[len - 1] == '\r' ||
			   v[len - 1] == '\n'))
		len--;
	if (len >= n)
		return false;
	memcpy(out, v, len);
	out[len] = '\0';
	return true;
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
	t = curl_getdate(v, NULL);
	if (t < 0)
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

static size_t on_header(char *buf, size_t size, size_t nmemb, void *arg)
{
	acme_resp_header(arg, buf, size * nmemb);
	return size * nmemb;
}

void acme_resp_header(struct acme_resp *r, const char *buf, size_t n)
{
	const char *colon = memchr(buf, ':', n);
	char name[32], value[ACME_HTTP_MAX_URL * 2];
	size_t nlen;

	if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		/* A new response (after 100 Continue): forget earlier headers. */
		r->content_type[0] = r->location[0] = r->nonce[0] = '\0';
		r->nlinks = 0;
		r->retry_after = -1;
		return;
	}
	if (colon == NULL || (nlen = (size_t)(colon - buf)) == 0 || nlen >= sizeof(name))
		return;
	memcpy(name, buf, nlen);
	name[nlen] = '\0';
	if (!copy_value(colon + 1, n - nlen - 1, value, sizeof(value)))
		return; /* too long to be anything we use: ignore */
	if (strcasecmp(name, "Replay-Nonce") == 0) {
		set_field(r->nonce, sizeof(r->nonce), value);
	} else if (strcasecmp(name, "Location") == 0) {
		set_field(r->location, sizeof(r->location), value);
	} else if (strcasecmp(name, "Retry-After") == 0) {
		r->retry_after = parse_retry_after(value);
	} else if (strcasecmp(name, "Link") == 0) {
		parse_links(value, r);
	} else if (strcasecmp(name, "Content-Type") == 0) {
		size_t i = 0;
		for (; value[i] != '\0' && value[i] != ';' && value[i] != ' ' &&
		       i + 1 < sizeof(r->content_type);
		     i++)
			r->content_type[i] = (char)tolower((unsigned char)value[i]);
		r->content_type[i] = '\0';
	}
}

static void transport_error(struct acme_http *h, CURLcode rc, const char *url,
			    struct moat_err *err)
{
	char show[160];

	moat_escape(show, sizeof(show), url, strlen(url));
	moat_err_set(err, "cannot reach the ACME server at %s: %s", show,
		     h->errbuf[0] != '\0' ? h->errbuf : curl_easy_strerror(rc));
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
		moat_err_hint(err, "check the server URL and your DNS");
		break;
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
		moat_err_hint(err, "is the server up, and not blocked by a firewall or proxy?");
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
		moat_err_hint(err, "for a private ACME server, pass its CA with --ca-bundle FILE "
				   "(or MOAT_CA_BUNDLE)");
		break;
	case CURLE_WRITE_ERROR:
		moat_err_set(err, "the ACME server at %s sent more than %d bytes", show,
			     ACME_HTTP_MAX_BODY);
		break;
	case CURLE_UNSUPPORTED_PROTOCOL:
		moat_err_hint(err, "ACME servers are reached over https://");
		break;
	default:
		break;
	}
}

int acme_http_request(struct acme_http *h, const char *url, const char *body, bool head,
		      struct acme_resp *resp, struct moat_err *err)
{
	struct curl_slist *hdrs = NULL;
	CURL *c = h->curl;
	CURLcode rc;
	int ret = -1;

	acme_resp_clear(resp);
	if (strncasecmp(url, "https://", 8) != 0) {
		char show[160];
		moat_escape(show, sizeof(show), url, strlen(url));
		moat_err_set(err, "not an https:// URL: %s", show);
		moat_err_hint(err, "ACME servers are reached over https://");
		return -1;
	}
	curl_easy_reset(c);
	h->errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "moat/" MOAT_VERSION);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, TOTAL_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	if (h->ca_bundle != NULL) {
		curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_bundle);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	}
	hdrs = curl_slist_append(hdrs, "Accept-Language: en");
	if (body != NULL) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/jose+json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	} else if (head) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	}
	if (hdrs == NULL) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if ((rc = curl_easy_perform(c)) != CURLE_OK) {
		transport_error(h, rc, url, err);
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	if (moat_buf_append(&resp->body, "", 0) != 0) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	ret = 0;
out:
	curl_slist_free_all(hdrs);
	if (ret != 0)
		acme_resp_clear(resp);
	return ret;
}

struct probe_sink {
	struct moat_buf *body;
	size_t max;
};

static size_t on_probe_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct probe_sink *p = arg;
	size_t n = size * nmemb;

	if (p->body->len + n > p->max || moat_buf_append(p->body, ptr, n) != 0)
		return 0;
	return n;
}

int acme_http_probe(const char *url, size_t max, long *status, struct moat_buf *body,
		    struct moat_err *err)
{
	struct probe_sink sink = {body, max};
	char errbuf[CURL_ERROR_SIZE] = "", show[200];
	CURL *c = curl_easy_init();
	CURLcode rc;
	int ret = -1;

	moat_escape(show, sizeof(show), url, strlen(url));
	if (c == NULL) {
		moat_err_set(err, "out of memory");
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "moat/" MOAT_VERSION " (challenge self-check)");
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	/* The CA does not check certificates on redirects to https either. */
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_probe_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	if ((rc = curl_easy_perform(c)) != CURLE_OK) {
		moat_err_set(err, "cannot fetch %s: %s", show,
			     errbuf[0] ? errbuf : curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	if (moat_buf_append(body, "", 0) != 0) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	ret = 0;
out:
	curl_easy_cleanup(c);
	return ret;
}
