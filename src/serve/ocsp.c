/* ocsp.c: OCSP staples for the sites' certificates (RFC 6960, stapled
 * per RFC 6066 section 8).  Fetched by the certificate thread -- never on
 * a handshake -- with a POST to the responder the certificate names, and
 * only handed to the TLS context when the answer is "good", signed by the
 * issuer or its delegated responder, and current.  A staple that could
 * not be renewed is dropped before it expires: a stale staple makes strict
 * clients fail, no staple only makes them ask themselves. */
#include "serve/internal.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pki/pki.h"

#define OCSP_MAX_RESPONSE (64 * 1024)
#define OCSP_TIMEOUT_S 10L

struct sink {
	struct moat_buf *b;
	bool too_big;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n;

	if (s->b->len + len > OCSP_MAX_RESPONSE) {
		s->too_big = true;
		return 0;
	}
	return moat_buf_append(s->b, p, len) == 0 ? len : 0;
}

static int post(const char *url, const struct moat_buf *req, struct moat_buf *resp,
		struct moat_err *err)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdr = NULL;
	struct sink sink = {resp, false};
	long status = 0;
	CURLcode rc;
	int ret = -1;

	if (h == NULL) {
		moat_err_set(err, "out of memory");
		return -1;
	}
	hdr = curl_slist_append(hdr, "Content-Type: application/ocsp-request");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)req->data);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)req->len);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, OCSP_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "moat-serve");
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		moat_err_set(err, "OCSP responder %s: %s", url,
			     sink.too_big ? "answer too large" : curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		moat_err_set(err, "OCSP responder %s answered HTTP %ld", url, status);
		goto out;
	}
	ret = 0;
out:
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	return ret;
}

int serve_ocsp_fetch(const char *url, const struct pki_cert *leaf, const struct pki_cert *issuer,
		     struct moat_buf *der, int64_t *this_update, int64_t *next_update,
		     struct moat_err *err)
{
	struct pki_ocsp_req *req = NULL;
	struct moat_buf rb = MOAT_BUF_INIT, resp = MOAT_BUF_INIT;
	struct pki_ocsp_result res;
	int ret = -1;

	memset(&res, 0, sizeof(res));
	if ((req = pki_ocsp_req_new(leaf, issuer, false, err)) == NULL ||
	    pki_ocsp_req_der(req, &rb, err) != 0 || post(url, &rb, &resp, err) != 0)
		goto out;
	if (pki_ocsp_check(req, leaf, issuer, resp.data, resp.len, 0, &res, err) != 0) {
		moat_err_prefix(err, "OCSP responder %s", url);
		goto out;
	}
	if (res.response_status != 0 || !res.matched || !res.signature_ok ||
	    !res.responder_authorized || !res.time_ok || res.status != PKI_OCSP_GOOD) {
		moat_err_set(err, "OCSP responder %s: not stapled: %s", url,
			     res.problem[0] ? res.problem
			     : res.status == PKI_OCSP_REVOKED ? "the certificate is REVOKED"
							       : "status unknown");
		goto out;
	}
	*this_update = res.this_update;
	*next_update = res.next_update;
	*der = resp;
	memset(&resp, 0, sizeof(resp));
	ret = 0;
out:
	pki_ocsp_req_free(req);
	moat_buf_free(&rb);
	moat_buf_free(&resp);
	return ret;
}
