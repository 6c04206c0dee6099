/* ocsp.c: OCSP staples for the sites' certificates (RFC 6960, stapled
 * per RFC 6066 section 8).  Fetched by the certificate thread -- never on
 * a handshake -- with a POST to the responder the certificate names, and
 * only handed to the TLS context when the answer is "good", signed by the
 * issuer or its delegated responder, and current.  A staple that could
 * not be renewed is dropped before it expires: a stale staple makes strict
 * clients fail, no staple only makes them ask themselves. */
#include "serve/certs_int.h"

#include <string.h>

#include "core/file.h"
#include "fetch/fetch.h"
#include "net/tls_server.h"
#include "pki/pki.h"

#define OCSP_MAX_RESPONSE (64 * 1024)
#define OCSP_TIMEOUT_MS 10000

/* POST the request to the responder; 0 with the answer (HTTP 200) in
 * *resp, the caller's, empty on entry. */
static int post(const char *url, const struct moat_buf *req, struct moat_buf *resp,
		struct moat_err *err)
{
	struct fetch_req q = {
		.url = url,
		.method = FETCH_POST,
		.body = req->data,
		.body_len = req->len,
		.content_type = "application/ocsp-request",
		.user_agent = "moat-serve",
		.timeout_ms = OCSP_TIMEOUT_MS,
		.max_body = OCSP_MAX_RESPONSE,
	};
	struct fetch_resp f;
	int ret = -1;

	if (fetch_once(&q, &f, err) != 0) {
		moat_err_set(err, "OCSP responder %s: %s", url,
			     f.fail == FETCH_FAIL_TOO_BIG ? "answer too large" : f.reason);
		goto out;
	}
	if (f.status != 200) {
		moat_err_set(err, "OCSP responder %s answered HTTP %ld", url, f.status);
		goto out;
	}
	*resp = f.body;
	memset(&f.body, 0, sizeof(f.body));
	ret = 0;
out:
	fetch_resp_clear(&f);
	return ret;
}

/* A verified "good" OCSP response for leaf from url: its DER into der (the
 * caller frees it), its Next Update (0: none given) into *next_update. */
static int ocsp_fetch(const char *url, const struct pki_cert *leaf, const struct pki_cert *issuer,
		      struct moat_buf *der, int64_t *next_update, struct moat_err *err)
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

/* ---- OCSP staples ------------------------------------------------------------------ */

/* Fetch (or refresh) the staple: when half of what is left of its validity
 * has passed (by the answer's Next Update, whatever its This Update: a
 * responder far away or a little ahead answers "from the future"), at the
 * latest 12 h after the last; a failure is retried in 5 minutes and the
 * old staple is removed once it would be stale before that, or is. */
void serve_certs_staple(struct serve_certs *m, struct serve_gen *g, struct serve_gen_site *gs,
			int64_t now)
{
	char chain[PATH_MAX], key[PATH_MAX];
	struct moat_buf b = MOAT_BUF_INIT, der = MOAT_BUF_INIT;
	struct pki_cert **certs = NULL;
	size_t n = 0;
	int64_t nu = 0;
	struct moat_err err;

	if (gs->ocsp_url[0] == '\0')
		return;
	if (gs->staple_until != 0 && now >= gs->staple_until) {
		net_tls_ctx_set_staple(g->tls, gs->site->names[0], NULL, 0, NULL);
		gs->staple_until = 0;
	}
	if (now < gs->staple_next)
		return;
	moat_err_clear(&err);
	serve_certs_paths(m, gs, chain, key, sizeof(chain));
	if (moat_file_read(chain, 1024 * 1024, &b, &err) != 0 ||
	    pki_certs_from_pem(b.data, b.len, &certs, &n, &err) != 0 || n < 2 ||
	    ocsp_fetch(gs->ocsp_url, certs[0], certs[1], &der, &nu, &err) != 0 ||
	    net_tls_ctx_set_staple(g->tls, gs->site->names[0], der.data, der.len, &err) != 0) {
		if (n < 2 && !moat_err_isset(&err))
			moat_err_set(&err, "no issuer certificate in %s", chain);
		serve_log_error(g->log, "OCSP staple for %s: %s (retrying in 5 minutes)",
				gs->site->names[0], err.msg);
		gs->staple_next = now + 300;
		if (gs->staple_until != 0 && now + 300 >= gs->staple_until) {
			net_tls_ctx_set_staple(g->tls, gs->site->names[0], NULL, 0, NULL);
			gs->staple_until = 0;
		}
		goto out;
	}
	gs->staple_until = nu;
	gs->staple_next = now + 12 * 3600;
	if (nu > now && now + (nu - now) / 2 < gs->staple_next)
		gs->staple_next = now + (nu - now) / 2;
	if (gs->staple_next < now + 60)
		gs->staple_next = now + 60;
out:
	pki_certs_free(certs, n);
	moat_buf_free(&b);
	moat_buf_free(&der);
}
