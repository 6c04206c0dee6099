/* fetch.c: one HTTP request through libcurl (loaded by curl_load.c): the
 * caller's policy in struct fetch_req turned into libcurl options, the
 * body capped as it arrives, the header lines handed to resp.c, and a
 * failure named for the user. */
#include "fetch/fetch.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetch/curl_load.h"

struct fetch {
	CURL *c; /* NULL until the first request */
};

/* What the callbacks of one transfer see. */
struct xfer {
	const struct fetch_req *q;
	struct fetch_resp *r;
	size_t max;
	bool too_big;
	bool no_memory;
};

/* Options are set one after the other; the first one libcurl refuses is
 * remembered and fails the request (an option this libcurl does not know
 * must not silently weaken it: a scheme allowed, a CA not used). */
struct opts {
	const struct fetch_curl *fn;
	CURL *c;
	CURLcode rc;
	CURLoption failed;
};

static void took(struct opts *o, CURLoption opt, CURLcode rc)
{
	if (rc != CURLE_OK) {
		o->rc = rc;
		o->failed = opt;
	}
}

/* One setter per type libcurl expects, so that the compiler checks the
 * value's type (libcurl's setopt is variadic). */
static void opt_long(struct opts *o, CURLoption opt, long v)
{
	if (o->rc == CURLE_OK)
		took(o, opt, o->fn->easy_setopt(o->c, opt, v));
}

static void opt_ptr(struct opts *o, CURLoption opt, const void *v)
{
	if (o->rc == CURLE_OK)
		took(o, opt, o->fn->easy_setopt(o->c, opt, v));
}

static void opt_off(struct opts *o, CURLoption opt, curl_off_t v)
{
	if (o->rc == CURLE_OK)
		took(o, opt, o->fn->easy_setopt(o->c, opt, v));
}

static void opt_fn(struct opts *o, CURLoption opt, curl_write_callback v)
{
	if (o->rc == CURLE_OK)
		took(o, opt, o->fn->easy_setopt(o->c, opt, v));
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;

	if (len > x->max - x->r->body.len) {
		x->too_big = true;
		return 0; /* libcurl ends the transfer with CURLE_WRITE_ERROR */
	}
	if (moat_buf_append(&x->r->body, p, len) != 0) {
		x->no_memory = true;
		return 0;
	}
	return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;

	fetch_resp_header_line(x->q, x->r, p, size * n);
	return size * n;
}

/* Request header lines: the caller's, and Content-Type for a POST.  0, or
 * -1 when out of memory. */
static int header_list(const struct fetch_curl *fn, const struct fetch_req *q,
		       struct curl_slist **out)
{
	struct curl_slist *l = NULL, *n;
	char ctype[160];

	for (const char *const *h = q->headers; h != NULL && *h != NULL; h++) {
		if ((n = fn->slist_append(l, *h)) == NULL)
			goto out;
		l = n;
	}
	if (q->method == FETCH_POST && q->content_type != NULL) {
		snprintf(ctype, sizeof(ctype), "Content-Type: %s", q->content_type);
		if ((n = fn->slist_append(l, ctype)) == NULL)
			goto out;
		l = n;
	}
	*out = l;
	return 0;
out:
	fn->slist_free_all(l);
	return -1;
}

static void set_options(struct opts *o, const struct fetch_req *q, struct xfer *x, char *errbuf,
			struct curl_slist *hdrs, struct curl_slist *connect_to)
{
	const char *schemes = q->https_only ? "https" : "http,https";
	long timeout = q->timeout_ms > 0 ? q->timeout_ms : FETCH_DEFAULT_TIMEOUT_MS;

	opt_ptr(o, CURLOPT_URL, q->url);
	opt_ptr(o, CURLOPT_PROTOCOLS_STR, schemes);
	opt_ptr(o, CURLOPT_REDIR_PROTOCOLS_STR, schemes);
	opt_long(o, CURLOPT_FOLLOWLOCATION, q->max_redirects > 0 ? 1L : 0L);
	if (q->max_redirects > 0)
		opt_long(o, CURLOPT_MAXREDIRS, q->max_redirects);
	opt_ptr(o, CURLOPT_USERAGENT, q->user_agent != NULL ? q->user_agent : "moat");
	opt_ptr(o, CURLOPT_ERRORBUFFER, errbuf);
	opt_long(o, CURLOPT_CONNECTTIMEOUT_MS, q->connect_timeout_ms > 0 ? q->connect_timeout_ms : timeout);
	opt_long(o, CURLOPT_TIMEOUT_MS, timeout);
	opt_long(o, CURLOPT_NOSIGNAL, 1L);
	opt_fn(o, CURLOPT_WRITEFUNCTION, on_body);
	opt_ptr(o, CURLOPT_WRITEDATA, x);
	opt_fn(o, CURLOPT_HEADERFUNCTION, on_header);
	opt_ptr(o, CURLOPT_HEADERDATA, x);
	if (q->method != FETCH_HEAD)
		opt_off(o, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->max);
	if (q->decompress)
		opt_ptr(o, CURLOPT_ACCEPT_ENCODING, "");
	if (q->no_proxy)
		opt_ptr(o, CURLOPT_NOPROXY, "*");
	if (q->insecure) {
		opt_long(o, CURLOPT_SSL_VERIFYPEER, 0L);
		opt_long(o, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (q->ca_bundle != NULL) {
		opt_ptr(o, CURLOPT_CAINFO, q->ca_bundle);
		opt_ptr(o, CURLOPT_CAPATH, NULL);
	}
	if (connect_to != NULL)
		opt_ptr(o, CURLOPT_CONNECT_TO, connect_to);
	if (hdrs != NULL)
		opt_ptr(o, CURLOPT_HTTPHEADER, hdrs);
	if (q->method == FETCH_POST) {
		opt_ptr(o, CURLOPT_POSTFIELDS, q->body != NULL ? q->body : "");
		opt_off(o, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
	} else if (q->method == FETCH_HEAD) {
		opt_long(o, CURLOPT_NOBODY, 1L);
	}
}

static enum fetch_fail classify(CURLcode rc, const struct xfer *x)
{
	if (x->too_big || rc == CURLE_FILESIZE_EXCEEDED)
		return FETCH_FAIL_TOO_BIG;
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return FETCH_FAIL_RESOLVE;
	case CURLE_COULDNT_CONNECT:
		return FETCH_FAIL_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return FETCH_FAIL_TIMEOUT;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
		return FETCH_FAIL_VERIFY;
	case CURLE_UNSUPPORTED_PROTOCOL:
		return FETCH_FAIL_SCHEME;
	default:
		return FETCH_FAIL_OTHER;
	}
}

static const char *const HINTS[] = {
	[FETCH_FAIL_RESOLVE] = "check the name in the URL and your DNS",
	[FETCH_FAIL_CONNECT] = "is the server up, and not blocked by a firewall or proxy?",
	[FETCH_FAIL_TIMEOUT] = "is the server up, and not blocked by a firewall or proxy?",
	[FETCH_FAIL_VERIFY] = "the server's certificate is not trusted by this system",
};

/* r->fail, r->reason and err for a transfer that failed with rc.  Nothing
 * of a failed request is kept but why it failed. */
static void failed(const struct fetch_curl *fn, const struct xfer *x, CURLcode rc,
		   const char *errbuf, struct moat_err *err)
{
	struct fetch_resp *r = x->r;
	const char *why = errbuf[0] != '\0' ? errbuf : fn->easy_strerror(rc);
	size_t n = strlen(why);
	char show[200];

	moat_escape(show, sizeof(show), x->q->url, strlen(x->q->url));
	while (n > 0 && (why[n - 1] == '\n' || why[n - 1] == '\r'))
		n--;
	fetch_resp_clear(r);
	r->fail = classify(rc, x);
	if (x->no_memory)
		snprintf(r->reason, sizeof(r->reason), "out of memory");
	else if (r->fail == FETCH_FAIL_TOO_BIG)
		snprintf(r->reason, sizeof(r->reason), "sent more than %zu bytes", x->max);
	else
		moat_escape(r->reason, sizeof(r->reason), why, n);
	if (r->fail == FETCH_FAIL_TOO_BIG) {
		moat_err_set(err, "%s %s", show, r->reason);
		return;
	}
	moat_err_set(err, "cannot fetch %s: %s", show, r->reason);
	if ((size_t)r->fail < sizeof(HINTS) / sizeof(HINTS[0]) && HINTS[r->fail] != NULL)
		moat_err_hint(err, "%s", HINTS[r->fail]);
}

/* Fail r with a reason of our own (nothing of it kept but the reason). */
static void refuse(struct fetch_resp *r, enum fetch_fail why, struct moat_err *err,
		   const char *fmt, ...) MOAT_PRINTF(4, 5);
static void refuse(struct fetch_resp *r, enum fetch_fail why, struct moat_err *err,
		   const char *fmt, ...)
{
	va_list ap;

	fetch_resp_clear(r);
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
	r->fail = why;
	moat_err_set(err, "%s", r->reason);
}

static int transfer(const struct fetch_curl *fn, CURL *c, const struct fetch_req *q,
		    struct fetch_resp *r, struct moat_err *err)
{
	struct xfer x = {q, r, q->max_body > 0 ? q->max_body : FETCH_DEFAULT_MAX_BODY, false, false};
	struct opts o = {fn, c, CURLE_OK, 0};
	struct curl_slist *hdrs = NULL, *connect_to = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode rc;
	int ret = -1;

	if (header_list(fn, q, &hdrs) != 0 ||
	    (q->connect_to != NULL && (connect_to = fn->slist_append(NULL, q->connect_to)) == NULL)) {
		refuse(r, FETCH_FAIL_OTHER, err, "out of memory");
		goto out;
	}
	set_options(&o, q, &x, errbuf, hdrs, connect_to);
	if (o.rc != CURLE_OK) {
		refuse(r, FETCH_FAIL_OTHER, err, "libcurl refused option %d: %s", (int)o.failed,
		       fn->easy_strerror(o.rc));
		moat_err_hint(err, "moat needs libcurl %s or later", FETCH_CURL_MIN_TEXT);
		goto out;
	}
	if ((rc = fn->easy_perform(c)) != CURLE_OK) {
		failed(fn, &x, rc, errbuf, err);
		goto out;
	}
	if (fn->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status) != CURLE_OK ||
	    moat_buf_append(&r->body, "", 0) != 0) {
		refuse(r, FETCH_FAIL_OTHER, err, "out of memory");
		goto out;
	}
	r->fail = FETCH_OK;
	ret = 0;
out:
	/* The handle is reused: none of these pointers may stay in it.  (A
	 * reset keeps the open connections, the DNS and TLS session caches.) */
	fn->easy_reset(c);
	fn->slist_free_all(hdrs);
	fn->slist_free_all(connect_to);
	return ret;
}

struct fetch *fetch_new(struct moat_err *err)
{
	struct fetch *f = calloc(1, sizeof(*f));

	if (f == NULL)
		moat_err_set(err, "out of memory");
	return f;
}

/* Close f's connections (a handle exists only once libcurl was loaded). */
static void close_handle(struct fetch *f)
{
	const struct fetch_curl *fn;

	if (f->c != NULL && (fn = fetch_curl(NULL)) != NULL)
		fn->easy_cleanup(f->c);
	f->c = NULL;
}

void fetch_free(struct fetch *f)
{
	if (f == NULL)
		return;
	close_handle(f);
	free(f);
}

int fetch_request(struct fetch *f, const struct fetch_req *q, struct fetch_resp *r,
		  struct moat_err *err)
{
	const struct fetch_curl *fn;
	struct moat_err e;

	memset(r, 0, sizeof(*r));
	moat_err_clear(&e);
	if (q->url == NULL) {
		refuse(r, FETCH_FAIL_OTHER, err, "no URL to fetch");
		return -1;
	}
	if ((fn = fetch_curl(&e)) == NULL) {
		moat_escape(r->reason, sizeof(r->reason), e.msg, strlen(e.msg));
		r->fail = FETCH_FAIL_LOAD;
		if (err != NULL)
			*err = e;
		return -1;
	}
	if (f->c == NULL && (f->c = fn->easy_init()) == NULL) {
		refuse(r, FETCH_FAIL_OTHER, err, "cannot start an HTTP request: out of memory");
		return -1;
	}
	return transfer(fn, f->c, q, r, err);
}

int fetch_once(const struct fetch_req *q, struct fetch_resp *r, struct moat_err *err)
{
	struct fetch f = {NULL};
	int ret = fetch_request(&f, q, r, err);

	close_handle(&f);
	return ret;
}

int64_t fetch_http_date(const char *s)
{
	const struct fetch_curl *fn = fetch_curl(NULL);
	time_t t;

	if (fn == NULL || s == NULL)
		return -1;
	t = fn->getdate(s, NULL);
	return t < 0 ? -1 : (int64_t)t;
}
