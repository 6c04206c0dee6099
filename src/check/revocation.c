/* revocation.c: is the certificate revoked?  Asked three ways, as
 * clients do: the OCSP response the server staples, the CA's OCSP
 * responder (RFC 6960, with a nonce), and the CA's CRL (Let's Encrypt
 * publishes only CRLs since 2025).  Every answer is verified: signature,
 * the responder's authority, the time window. */
#include "check/internal.h"

#include <stdio.h>
#include <string.h>

#include "core/parse.h"

#define FIX_REVOKED "get a new certificate (moat acme issue NAME, or moat issue NAME --force) " \
		    "and install it"

/* 0 is "not given". */
static void date(int64_t t, char *out, size_t n)
{
	if (t > 0)
		moat_date(t, out, n);
	else
		snprintf(out, n, "?");
}

static const char *ocsp_reason(int r)
{
	return r >= 0 ? pki_reason_name((enum pki_reason)r) : "no reason given";
}

/* A response that says good but fails a check is not trusted. */
static const char *ocsp_problem(const struct pki_ocsp_result *o)
{
	if (o->response_status != 0)
		return o->problem[0] ? o->problem : "the responder did not answer successfully";
	if (!o->matched)
		return o->problem[0] ? o->problem : "it is about another certificate";
	if (!o->signature_ok)
		return "its signature does not verify";
	if (!o->responder_authorized)
		return "it is signed by a key the CA did not authorize";
	if (!o->time_ok)
		return "it is outside its validity window";
	if (o->nonce_sent && o->nonce_present && !o->nonce_ok)
		return "it answers another request (nonce mismatch)";
	return NULL;
}

static void stapled(struct check_ctx *c, const struct pki_cert *leaf, const struct pki_cert *issuer,
		    bool has_ocsp_url)
{
	struct pki_ocsp_result o;
	struct moat_err e;
	const char *bad;
	char d[32];

	if (c->staple == NULL) {
		if (has_ocsp_url && !c->files) /* files: no server to staple */
			check_add(c->r, CHECK_INFO, "no-ocsp-staple",
				  "nginx: ssl_stapling on; ssl_stapling_verify on; (Apache: "
				  "SSLUseStapling on)",
				  "the server does not staple an OCSP response (clients ask the CA "
				  "themselves, or do not check)");
		return;
	}
	memset(&o, 0, sizeof(o));
	moat_err_clear(&e);
	if (pki_ocsp_check(NULL, leaf, issuer, c->staple, c->staple_len, c->now, &o, &e) != 0) {
		check_add(c->r, CHECK_WARNING, "ocsp-staple-bad", "check the server's stapling setup",
			  "the stapled OCSP response cannot be read: %s", e.msg);
		return;
	}
	if ((bad = ocsp_problem(&o)) != NULL) {
		check_add(c->r, CHECK_WARNING, "ocsp-staple-bad",
			  "check the server's stapling setup (clients may reject the handshake)",
			  "the stapled OCSP response is not valid: %s", bad);
		return;
	}
	if (o.status == PKI_OCSP_REVOKED) {
		date(o.revoked_at, d, sizeof(d));
		check_add(c->r, CHECK_ERROR, "revoked", FIX_REVOKED,
			  "the certificate was revoked on %s (%s), says the stapled OCSP response",
			  d, ocsp_reason(o.reason));
		return;
	}
	date(o.next_update, d, sizeof(d));
	check_add(c->r, o.status == PKI_OCSP_GOOD ? CHECK_INFO : CHECK_WARNING,
		  o.status == PKI_OCSP_GOOD ? "ocsp-stapled" : "ocsp-staple-unknown", NULL,
		  "the server staples a valid OCSP response: %s%s%s",
		  o.status == PKI_OCSP_GOOD ? "good" : "unknown certificate",
		  o.next_update > 0 ? ", until " : "", o.next_update > 0 ? d : "");
}

static void responder(struct check_ctx *c, const struct pki_cert *leaf,
		      const struct pki_cert *issuer, const char *url)
{
	struct pki_ocsp_req *req = NULL;
	struct pki_ocsp_result o;
	struct fetch_resp resp;
	struct moat_buf der = MOAT_BUF_INIT;
	struct moat_err e;
	const char *bad;
	char d[32];

	memset(&resp, 0, sizeof(resp));
	memset(&o, 0, sizeof(o));
	moat_err_clear(&e);
	check_progress(c, "asking the OCSP responder");
	if ((req = pki_ocsp_req_new(leaf, issuer, true, &e)) == NULL ||
	    pki_ocsp_req_der(req, &der, &e) != 0) {
		check_add(c->r, CHECK_WARNING, "ocsp-failed", NULL, "cannot build an OCSP request: %s",
			  e.msg);
		goto out;
	}
	if (check_http(url, "application/ocsp-request", der.data, der.len, true, NULL, c->timeout_ms,
		       CHECK_MAX_OCSP, &resp, &e) != 0 || resp.status != 200) {
		if (resp.status != 0)
			check_add(c->r, CHECK_WARNING, "ocsp-unreachable",
				  "clients that check OCSP may refuse the certificate; tell the CA",
				  "the OCSP responder %s answered HTTP %ld", url, resp.status);
		else
			check_add(c->r, CHECK_WARNING, "ocsp-unreachable",
				  "clients that check OCSP may refuse the certificate; tell the CA",
				  "the OCSP responder cannot be reached: %s", e.msg);
		goto out;
	}
	if (pki_ocsp_check(req, leaf, issuer, resp.body.data, resp.body.len, c->now, &o, &e) != 0) {
		check_add(c->r, CHECK_WARNING, "ocsp-bad-response", NULL,
			  "the OCSP responder %s sent something that is not an OCSP response: %s", url,
			  e.msg);
		goto out;
	}
	if ((bad = ocsp_problem(&o)) != NULL) {
		check_add(c->r, CHECK_WARNING, "ocsp-bad-response", NULL,
			  "the answer of the OCSP responder %s is not valid: %s", url, bad);
		goto out;
	}
	if (o.status == PKI_OCSP_REVOKED) {
		date(o.revoked_at, d, sizeof(d));
		if (!check_has(c->r, "revoked"))
			check_add(c->r, CHECK_ERROR, "revoked", FIX_REVOKED,
				  "the certificate was revoked on %s (%s), says the OCSP responder %s",
				  d, ocsp_reason(o.reason), url);
	} else if (o.status == PKI_OCSP_UNKNOWN) {
		check_add(c->r, CHECK_WARNING, "ocsp-unknown",
			  "is the certificate really from this CA?",
			  "the OCSP responder %s does not know the certificate", url);
	} else {
		check_add(c->r, CHECK_INFO, "ocsp-good", NULL,
			  "not revoked, says the OCSP responder %s (signed response%s)", url,
			  o.nonce_present ? ", nonce echoed" : "");
	}
out:
	fetch_resp_clear(&resp);
	moat_buf_free(&der);
	pki_ocsp_req_free(req);
}

static void crl(struct check_ctx *c, const struct pki_cert *leaf, const struct pki_cert *issuer,
		const char *url)
{
	struct fetch_resp resp;
	struct pki_crl *list = NULL;
	struct pki_crl_check k;
	struct moat_err e;
	char d[32];

	memset(&resp, 0, sizeof(resp));
	memset(&k, 0, sizeof(k));
	moat_err_clear(&e);
	check_progress(c, "fetching the CRL");
	if (check_http(url, NULL, NULL, 0, true, NULL, c->timeout_ms, CHECK_MAX_CRL, &resp, &e) != 0 ||
	    resp.status != 200) {
		if (resp.status != 0)
			check_add(c->r, CHECK_WARNING, "crl-unreachable", NULL,
				  "the CRL %s answered HTTP %ld", url, resp.status);
		else
			check_add(c->r, CHECK_WARNING, "crl-unreachable", NULL,
				  "the CRL cannot be fetched: %s", e.msg);
		goto out;
	}
	if ((list = pki_crl_from_any(resp.body.data, resp.body.len, &e)) == NULL ||
	    pki_crl_check(list, leaf, issuer, c->now, &k, &e) != 0) {
		check_add(c->r, CHECK_WARNING, "crl-bad", NULL, "the CRL from %s cannot be read: %s",
			  url, e.msg);
		goto out;
	}
	if (!k.signature_ok || !k.issuer_match || !k.time_ok || !k.scope_ok) {
		check_add(c->r, CHECK_WARNING, "crl-bad", NULL, "the CRL from %s is not valid: %s",
			  url, k.problem[0] ? k.problem
					    : (!k.signature_ok ? "its signature does not verify"
							       : (!k.issuer_match ? "another CA issued it"
								  : (!k.time_ok ? "it is out of date"
										: "it does not cover this certificate"))));
		goto out;
	}
	if (k.revoked) {
		date(k.revoked_at, d, sizeof(d));
		if (!check_has(c->r, "revoked"))
			check_add(c->r, CHECK_ERROR, "revoked", FIX_REVOKED,
				  "the certificate was revoked on %s (%s), says the CRL %s", d,
				  ocsp_reason(k.reason), url);
		goto out;
	}
	date(k.this_update, d, sizeof(d));
	check_add(c->r, CHECK_INFO, "crl-good", NULL, "not revoked, says the CRL %s (issued %s)", url,
		  d);
out:
	fetch_resp_clear(&resp);
	pki_crl_free(list);
}

void check_revocation(struct check_ctx *c)
{
	const struct pki_cert *leaf = c->sent[0];
	const struct pki_cert *issuer = check_leaf_issuer(c);
	struct pki_cert_urls u;

	memset(&u, 0, sizeof(u));
	if (issuer == NULL || check_has(c->r, "self-signed"))
		return;
	if (pki_cert_urls(leaf, &u, NULL) != 0)
		return;
	if (c->ocsp_url != NULL)
		snprintf(u.ocsp, sizeof(u.ocsp), "%s", c->ocsp_url);
	else
		stapled(c, leaf, issuer, u.ocsp[0] != '\0');
	if (c->o->no_revocation)
		return;
	if (u.ocsp[0] != '\0')
		responder(c, leaf, issuer, u.ocsp);
	if (u.crl[0] != '\0')
		crl(c, leaf, issuer, u.crl);
	if (u.ocsp[0] == '\0' && u.crl[0] == '\0')
		check_add(c->r, CHECK_INFO, "no-revocation-info", NULL,
			  "the certificate names no OCSP responder and no CRL: it cannot be revoked "
			  "in a way clients see (usual for private CAs and short-lived certificates)");
}
