/* revoke_crl.c: CRLs fetched from a certificate's distribution point, and
 * what they say about a certificate. */
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "pki/internal.h"

/* PEM carries 4/3 of the DER plus line ends; allow some text around it. */
#define CRL_PEM_MAX ((size_t)PKI_MAX_CRL_INPUT / 3 * 4 + PKI_MAX_CRL_INPUT / 32 + 64 * 1024)

struct pki_crl *pki_crl_from_any(const void *data, size_t len, struct moat_err *err)
{
	static const char *const labels[] = {"X509 CRL", NULL};
	X509_CRL *crl = NULL;

	ERR_clear_error();
	if (data == NULL || len == 0) {
		pki_err_set(err, "the CRL input is empty");
		return NULL;
	}
	if (((const unsigned char *)data)[0] == 0x30 && len <= PKI_MAX_CRL_INPUT)
		crl = pki_der_crl(data, len);
	if (crl == NULL && pki_looks_pem(data, len)) {
		if (len > CRL_PEM_MAX) {
			pki_err_set(err, "the CRL is too large (%zu bytes of PEM; at most %zu)", len,
				    CRL_PEM_MAX);
			return NULL;
		}
		crl = pki_pem_find_der(data, len, labels, ASN1_ITEM_rptr(X509_CRL),
				       PKI_MAX_CRL_INPUT, "CRL", err);
	} else if (crl == NULL) {
		if (len > PKI_MAX_CRL_INPUT)
			pki_err_set(err, "the CRL is too large (%zu bytes; at most %d)", len,
				    PKI_MAX_CRL_INPUT);
		else
			pki_err_drain(err, "not a CRL: no PEM block and not DER");
	}
	if (crl == NULL)
		return NULL;
	ERR_clear_error();
	return pki_crl_wrap(crl, err);
}

/* ---- checking a certificate against a CRL ---------------------------------- */

#define problem(out, ...) pki_problem((out)->problem, sizeof((out)->problem), __VA_ARGS__)

/* Is the CRL a complete one for cert (RFC 5280 6.3.3 (b), (d), (e) as far
 * as moat takes CRLs: no delta, indirect or reason-partitioned CRLs)? */
static bool scope(X509_CRL *crl, X509 *cert, X509 *issuer, struct pki_crl_check *out)
{
	ISSUING_DIST_POINT *idp = NULL;
	int crit = -1, n = X509_CRL_get_ext_count(crl);
	bool ok = false;

	for (int i = 0; i < n; i++) {
		X509_EXTENSION *ext = X509_CRL_get_ext(crl, i);
		int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));

		if (nid == NID_delta_crl) {
			problem(out, "a delta CRL, not a complete one");
			goto out;
		}
		if (X509_EXTENSION_get_critical(ext) && nid != NID_issuing_distribution_point &&
		    nid != NID_crl_number && nid != NID_authority_key_identifier) {
			char oid[80];

			pki_obj_text(X509_EXTENSION_get_object(ext), true, oid, sizeof(oid));
			problem(out, "the CRL has an unknown critical extension (%s)", oid);
			goto out;
		}
	}
	idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &crit, NULL);
	if (idp == NULL && crit != -1) {
		problem(out, "the CRL's issuingDistributionPoint is malformed");
		goto out;
	}
	if (idp != NULL) {
		if (idp->indirectCRL > 0) {
			problem(out, "an indirect CRL (not supported)");
			goto out;
		}
		if (idp->onlysomereasons != NULL) {
			problem(out, "the CRL covers only some revocation reasons");
			goto out;
		}
		if (idp->onlyattr > 0) {
			problem(out, "the CRL covers attribute certificates only");
			goto out;
		}
		if (idp->onlyCA > 0 && !X509_check_ca(cert)) {
			problem(out, "the CRL covers CA certificates only");
			goto out;
		}
		if (idp->onlyuser > 0 && X509_check_ca(cert)) {
			problem(out, "the CRL covers end-entity certificates only");
			goto out;
		}
	}
	if ((X509_get_extension_flags(issuer) & EXFLAG_KUSAGE) != 0 &&
	    (X509_get_key_usage(issuer) & KU_CRL_SIGN) == 0) {
		problem(out, "the issuer may not sign CRLs (no cRLSign key usage)");
		goto out;
	}
	ok = true;
out:
	ISSUING_DIST_POINT_free(idp);
	ERR_clear_error();
	return ok;
}

static void entry(X509_REVOKED *rev, struct pki_crl_check *out)
{
	ASN1_ENUMERATED *code;
	int crit = -1;
	long r;

	out->revoked = true;
	pki_time_get(X509_REVOKED_get0_revocationDate(rev), &out->revoked_at);
	code = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, &crit, NULL);
	if (code != NULL) {
		r = ASN1_ENUMERATED_get(code);
		/* 0..10 but 7 (RFC 5280 5.3.1) */
		if (r >= 0 && r <= 10 && r != 7)
			out->reason = (int)r;
		ASN1_ENUMERATED_free(code);
	}
	ERR_clear_error();
}

int pki_crl_check(const struct pki_crl *crl, const struct pki_cert *cert,
		  const struct pki_cert *issuer, int64_t at, struct pki_crl_check *out,
		  struct moat_err *err)
{
	EVP_PKEY *ikey;
	X509_REVOKED *rev = NULL;
	int r, rc = -1;

	ERR_clear_error();
	memset(out, 0, sizeof(*out));
	out->reason = -1;
	if (crl == NULL || cert == NULL || issuer == NULL) {
		moat_err_set(err, "pki_crl_check: missing CRL or certificate");
		goto out;
	}
	if (at == 0)
		at = (int64_t)time(NULL);

	out->issuer_match = X509_NAME_cmp(X509_CRL_get_issuer(crl->crl),
					  X509_get_issuer_name(cert->x)) == 0;
	if (!out->issuer_match)
		problem(out, "the CRL is from another issuer than the certificate's");
	ikey = X509_get0_pubkey(issuer->x);
	out->signature_ok = ikey != NULL && X509_CRL_verify(crl->crl, ikey) == 1;
	ERR_clear_error();
	if (!out->signature_ok)
		problem(out, "the CRL's signature does not verify with the issuer's key");
	out->scope_ok = scope(crl->crl, cert->x, issuer->x, out);

	out->time_ok = pki_update_window(X509_CRL_get0_lastUpdate(crl->crl),
					 X509_CRL_get0_nextUpdate(crl->crl), at, "CRL",
					 &out->this_update, &out->next_update, out->problem,
					 sizeof(out->problem));

	/* 1: listed; 2: listed as removeFromCRL (delta CRLs only): not revoked. */
	r = X509_CRL_get0_by_serial(crl->crl, &rev, X509_get0_serialNumber(cert->x));
	if (r == 1 && rev != NULL)
		entry(rev, out);
	ERR_clear_error();
	rc = 0;
out:
	return rc;
}
