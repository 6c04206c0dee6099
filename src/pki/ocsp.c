/* ocsp.c: OCSP requests and responses (RFC 6960), as a strict client
 * checks them: about this certificate, signed by its issuer or a delegate
 * the issuer authorised, fresh, with the nonce echoed when one is. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>

#include "pki/internal.h"

#define MAX_SINGLE 512 /* single responses looked at in one response */

struct pki_ocsp_req {
	OCSP_REQUEST *req;
	bool nonce;
};

/* ---- requests ------------------------------------------------------------- */

struct pki_ocsp_req *pki_ocsp_req_new(const struct pki_cert *cert, const struct pki_cert *issuer,
				      bool nonce, struct moat_err *err)
{
	struct pki_ocsp_req *r = NULL;
	OCSP_CERTID *id = NULL;

	ERR_clear_error();
	if (cert == NULL || issuer == NULL) {
		moat_err_set(err, "pki_ocsp_req_new: missing certificate");
		goto out;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL || (r->req = OCSP_REQUEST_new()) == NULL) {
		pki_err_drain(err, "out of memory");
		goto out;
	}
	id = OCSP_cert_to_id(EVP_sha1(), cert->x, issuer->x);
	if (id == NULL) {
		pki_err_drain(err, "cannot make the OCSP certificate ID");
		goto out;
	}
	if (OCSP_request_add0_id(r->req, id) == NULL) {
		pki_err_drain(err, "cannot make the OCSP request");
		goto out;
	}
	id = NULL;
	if (nonce && OCSP_request_add1_nonce(r->req, NULL, -1) != 1) {
		pki_err_drain(err, "cannot add a nonce to the OCSP request");
		goto out;
	}
	r->nonce = nonce;
	ERR_clear_error();
	return r;
out:
	OCSP_CERTID_free(id);
	pki_ocsp_req_free(r);
	return NULL;
}

void pki_ocsp_req_free(struct pki_ocsp_req *r)
{
	if (r == NULL)
		return;
	OCSP_REQUEST_free(r->req);
	free(r);
}

int pki_ocsp_req_der(const struct pki_ocsp_req *r, struct moat_buf *out, struct moat_err *err)
{
	return pki_encoded_out(ASN1_ITEM_rptr(OCSP_REQUEST), r != NULL ? r->req : NULL, NULL,
			       "OCSP request", out, err);
}

/* ---- responses ------------------------------------------------------------- */

#define problem(res, ...) pki_problem((res)->problem, sizeof((res)->problem), __VA_ARGS__)

static const char *status_words(int s)
{
	switch (s) {
	case OCSP_RESPONSE_STATUS_MALFORMEDREQUEST: return "malformedRequest";
	case OCSP_RESPONSE_STATUS_INTERNALERROR: return "internalError";
	case OCSP_RESPONSE_STATUS_TRYLATER: return "tryLater";
	case OCSP_RESPONSE_STATUS_SIGREQUIRED: return "sigRequired";
	case OCSP_RESPONSE_STATUS_UNAUTHORIZED: return "unauthorized";
	default: return "an unknown status";
	}
}

/* The single response about cert: CertIDs are compared with the hash
 * algorithm each names (SHA-1 usually, SHA-256 sometimes). */
static OCSP_SINGLERESP *find_single(OCSP_BASICRESP *bs, X509 *cert, X509 *issuer)
{
	int n = OCSP_resp_count(bs);

	for (int i = 0; i < n && i < MAX_SINGLE; i++) {
		OCSP_SINGLERESP *s = OCSP_resp_get0(bs, i);
		const OCSP_CERTID *cid = s != NULL ? OCSP_SINGLERESP_get0_id(s) : NULL;
		ASN1_OBJECT *md_oid = NULL;
		const EVP_MD *md;
		OCSP_CERTID *mine;
		bool same;

		if (cid == NULL ||
		    OCSP_id_get0_info(NULL, &md_oid, NULL, NULL, (OCSP_CERTID *)cid) != 1 ||
		    (md = EVP_get_digestbyobj(md_oid)) == NULL)
			continue;
		mine = OCSP_cert_to_id(md, cert, issuer);
		same = mine != NULL && OCSP_id_cmp(mine, cid) == 0;
		OCSP_CERTID_free(mine);
		if (same)
			return s;
	}
	return NULL;
}

/* Is signer allowed to answer for issuer's certificates at time at (RFC
 * 6960 4.2.2.2)?  why: the reason when not. */
static bool authorized(X509 *signer, X509 *issuer, int64_t at, const char **why)
{
	EVP_PKEY *ikey = X509_get0_pubkey(issuer);
	int64_t nb = 0, na = 0;

	/* The issuer itself: same name and key (the copy a response carries
	 * may be another certificate for the same CA, cross-signed say). */
	if (ikey != NULL &&
	    X509_NAME_cmp(X509_get_subject_name(signer), X509_get_subject_name(issuer)) == 0 &&
	    X509_get0_pubkey(signer) != NULL && EVP_PKEY_eq(X509_get0_pubkey(signer), ikey) == 1)
		return true;
	if (ikey == NULL ||
	    X509_NAME_cmp(X509_get_issuer_name(signer), X509_get_subject_name(issuer)) != 0 ||
	    X509_verify(signer, ikey) != 1) {
		*why = "the response is signed by a certificate the issuer did not issue";
		return false;
	}
	if ((X509_get_extension_flags(signer) & EXFLAG_XKUSAGE) == 0 ||
	    (X509_get_extended_key_usage(signer) & XKU_OCSP_SIGN) == 0) {
		*why = "the delegated responder's certificate lacks the OCSPSigning extended key usage";
		return false;
	}
	if (pki_time_get(X509_get0_notBefore(signer), &nb) != 0 ||
	    pki_time_get(X509_get0_notAfter(signer), &na) != 0 || at + PKI_TIME_SKEW < nb ||
	    at > na + PKI_TIME_SKEW) {
		*why = "the delegated responder's certificate is not valid now";
		return false;
	}
	return true;
}

/* Signature and signer: res->signature_ok, res->responder_authorized. */
static void check_signer(OCSP_BASICRESP *bs, X509 *issuer, int64_t at,
			 struct pki_ocsp_result *res)
{
	STACK_OF(X509) *extra = sk_X509_new_null();
	X509 *signer = NULL;
	const char *why = NULL;

	if (extra == NULL || !sk_X509_push(extra, issuer)) {
		problem(res, "out of memory");
		goto out;
	}
	/* Looks in the response's certificates, then in extra (the issuer),
	 * by the ResponderID (name or key hash). */
	if (OCSP_resp_get0_signer(bs, &signer, extra) != 1 || signer == NULL) {
		problem(res, "the response's signer is neither the issuer nor a certificate it "
			     "includes");
		goto out;
	}
	/* OCSP_NOVERIFY: the signature only, no chain to a store. */
	res->signature_ok = OCSP_basic_verify(bs, extra, NULL, OCSP_NOVERIFY) == 1;
	if (!res->signature_ok) {
		problem(res, "the response's signature does not verify");
		goto out;
	}
	res->responder_authorized = authorized(signer, issuer, at, &why);
	if (!res->responder_authorized)
		problem(res, "%s", why);
out:
	sk_X509_free(extra);
	ERR_clear_error();
}

static void check_nonce(const struct pki_ocsp_req *req, OCSP_BASICRESP *bs,
			struct pki_ocsp_result *res)
{
	int r;

	res->nonce_sent = req != NULL && req->nonce;
	res->nonce_present = OCSP_BASICRESP_get_ext_by_NID(bs, NID_id_pkix_OCSP_Nonce, -1) >= 0;
	if (!res->nonce_sent) {
		res->nonce_ok = true;
		goto out;
	}
	/* 1: equal; 0: different; -1: not echoed */
	r = OCSP_check_nonce(req->req, bs);
	res->nonce_ok = r == 1;
	if (r == 0)
		problem(res, "the response's nonce is not the one sent");
out:
	ERR_clear_error();
}

static void check_single(OCSP_SINGLERESP *s, int64_t at, struct pki_ocsp_result *res)
{
	ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
	int reason = -1;
	int st = OCSP_single_get0_status(s, &reason, &rev, &thisupd, &nextupd);

	switch (st) {
	case V_OCSP_CERTSTATUS_GOOD:
		res->status = PKI_OCSP_GOOD;
		break;
	case V_OCSP_CERTSTATUS_REVOKED:
		res->status = PKI_OCSP_REVOKED;
		pki_time_get(rev, &res->revoked_at);
		res->reason = reason >= 0 && reason <= 10 && reason != 7 ? reason : -1;
		break;
	default:
		res->status = PKI_OCSP_UNKNOWN;
		break;
	}
	res->time_ok = pki_update_window(thisupd, nextupd, at, "response", &res->this_update,
					 &res->next_update, res->problem, sizeof(res->problem));
	ERR_clear_error();
}

int pki_ocsp_check(const struct pki_ocsp_req *req, const struct pki_cert *cert,
		   const struct pki_cert *issuer, const void *der, size_t len, int64_t at,
		   struct pki_ocsp_result *res, struct moat_err *err)
{
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *bs = NULL;
	OCSP_SINGLERESP *single;
	int rc = -1;

	ERR_clear_error();
	memset(res, 0, sizeof(*res));
	res->status = PKI_OCSP_UNKNOWN;
	res->reason = -1;
	if (cert == NULL || issuer == NULL) {
		moat_err_set(err, "pki_ocsp_check: missing certificate");
		goto out;
	}
	if (der == NULL || len == 0) {
		pki_err_set(err, "the OCSP response is empty");
		goto out;
	}
	if (len > PKI_MAX_OCSP_INPUT) {
		pki_err_set(err, "the OCSP response is too large (%zu bytes; at most %d)", len,
			    PKI_MAX_OCSP_INPUT);
		goto out;
	}
	resp = pki_der_whole(ASN1_ITEM_rptr(OCSP_RESPONSE), der, len, PKI_MAX_OCSP_INPUT);
	if (resp == NULL) {
		pki_err_drain(err, "not an OCSP response");
		goto out;
	}
	if (at == 0)
		at = (int64_t)time(NULL);
	rc = 0;
	res->response_status = OCSP_response_status(resp);
	if (res->response_status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		problem(res, "the responder answered %s (%d)", status_words(res->response_status),
			res->response_status);
		goto out;
	}
	bs = OCSP_response_get1_basic(resp);
	if (bs == NULL) {
		problem(res, "the response is not a basic OCSP response");
		goto out;
	}
	pki_time_get(OCSP_resp_get0_produced_at(bs), &res->produced_at);
	single = find_single(bs, cert->x, issuer->x);
	res->matched = single != NULL;
	if (single == NULL)
		problem(res, "the response is not about this certificate");
	check_signer(bs, issuer->x, at, res);
	check_nonce(req, bs, res);
	if (single != NULL)
		check_single(single, at, res);
out:
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	ERR_clear_error();
	return rc;
}
