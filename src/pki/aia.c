/* aia.c: where a certificate points (AIA OCSP and caIssuers, CRL
 * distribution points) and what a caIssuers URL serves. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>

#include "pki/internal.h"

/* ---- URLs ----------------------------------------------------------------- */

/* Copy an http(s) URI into out (size n) when it is one moat can both show
 * and fetch as written; false otherwise (out untouched). */
static bool take_uri(const GENERAL_NAME *gn, char *out, size_t n)
{
	int type = -1;
	const ASN1_STRING *v = gn != NULL ? GENERAL_NAME_get0_value(gn, &type) : NULL;
	const unsigned char *p;
	size_t len;

	if (v == NULL || type != GEN_URI)
		return false;
	p = ASN1_STRING_get0_data(v);
	len = (size_t)ASN1_STRING_length(v);
	if (len >= n || len < 8)
		return false;
	if (strncasecmp((const char *)p, "http://", 7) != 0 &&
	    (len < 9 || strncasecmp((const char *)p, "https://", 8) != 0))
		return false;
	for (size_t i = 0; i < len; i++)
		if (p[i] <= 0x20 || p[i] >= 0x7f || p[i] == '"' || p[i] == '\'' || p[i] == '\\')
			return false;
	memcpy(out, p, len);
	out[len] = '\0';
	return true;
}

static int aia_urls(X509 *x, struct pki_cert_urls *out, struct moat_err *err)
{
	int crit = -1;
	AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(x, NID_info_access, &crit, NULL);

	if (aia == NULL) {
		if (crit == -1)
			return 0;
		pki_err_set(err, "the certificate's authorityInfoAccess extension is %s",
			    crit == -2 ? "repeated" : "malformed");
		return -1;
	}
	for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(aia); i++) {
		const ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);
		int nid = OBJ_obj2nid(ad->method);

		if (nid == NID_ad_OCSP && out->ocsp[0] == '\0')
			take_uri(ad->location, out->ocsp, sizeof(out->ocsp));
		else if (nid == NID_ad_ca_issuers && out->ca_issuers[0] == '\0')
			take_uri(ad->location, out->ca_issuers, sizeof(out->ca_issuers));
	}
	AUTHORITY_INFO_ACCESS_free(aia);
	return 0;
}

static int crldp_url(X509 *x, struct pki_cert_urls *out, struct moat_err *err)
{
	int crit = -1;
	CRL_DIST_POINTS *dps = X509_get_ext_d2i(x, NID_crl_distribution_points, &crit, NULL);

	if (dps == NULL) {
		if (crit == -1)
			return 0;
		pki_err_set(err, "the certificate's cRLDistributionPoints extension is %s",
			    crit == -2 ? "repeated" : "malformed");
		return -1;
	}
	for (int i = 0; i < sk_DIST_POINT_num(dps) && out->crl[0] == '\0'; i++) {
		const DIST_POINT *dp = sk_DIST_POINT_value(dps, i);

		/* fullName only; a CRL partitioned by reasons does not tell
		 * about every revocation, and cRLIssuer means an indirect CRL */
		if (dp->distpoint == NULL || dp->distpoint->type != 0 || dp->reasons != NULL ||
		    dp->CRLissuer != NULL)
			continue;
		for (int j = 0; j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname); j++)
			if (take_uri(sk_GENERAL_NAME_value(dp->distpoint->name.fullname, j), out->crl,
				     sizeof(out->crl)))
				break;
	}
	CRL_DIST_POINTS_free(dps);
	return 0;
}

int pki_cert_urls(const struct pki_cert *c, struct pki_cert_urls *out, struct moat_err *err)
{
	struct moat_err e2 = {0};
	int rc = -1;

	ERR_clear_error();
	memset(out, 0, sizeof(*out));
	if (c == NULL) {
		moat_err_set(err, "no certificate");
		goto out;
	}
	rc = aia_urls(c->x, out, err);
	if (crldp_url(c->x, out, rc == 0 ? err : &e2) != 0)
		rc = -1;
out:
	ERR_clear_error();
	return rc;
}

/* ---- what a caIssuers URL serves ---------------------------------------- */

static int add_cert(X509 *x, struct pki_cert **certs, size_t *n, struct moat_err *err)
{
	int len = i2d_X509(x, NULL);

	if (len <= 0 || len > PKI_MAX_CERT_DER) {
		X509_free(x);
		pki_err_set(err, "certificate %zu is too large or malformed", *n + 1);
		return -1;
	}
	if (*n >= PKI_MAX_OBJECTS) {
		X509_free(x);
		pki_err_set(err, "too many certificates (at most %d)", PKI_MAX_OBJECTS);
		return -1;
	}
	certs[*n] = pki_cert_wrap(x, err);
	if (certs[*n] == NULL)
		return -1;
	(*n)++;
	return 0;
}

/* The certificates of a PKCS#7 SignedData (certs-only, usually). */
static int p7_certs(const unsigned char *der, size_t len, struct pki_cert **certs, size_t *n,
		    struct moat_err *err)
{
	PKCS7 *p7 = pki_der_whole(ASN1_ITEM_rptr(PKCS7), der, len, PKI_MAX_AIA_INPUT);
	STACK_OF(X509) *sk = NULL;
	int rc = -1;

	if (p7 == NULL) {
		pki_err_drain(err, "not a certificate or PKCS#7 bundle");
		goto out;
	}
	if (!PKCS7_type_is_signed(p7) || p7->d.sign == NULL) {
		pki_err_set(err, "the PKCS#7 bundle is not SignedData");
		goto out;
	}
	sk = p7->d.sign->cert;
	for (int i = 0; i < sk_X509_num(sk); i++) {
		X509 *x = sk_X509_value(sk, i);

		if (X509_up_ref(x) != 1) {
			pki_err_drain(err, "out of memory");
			goto out;
		}
		if (add_cert(x, certs, n, err) != 0)
			goto out;
	}
	if (*n == 0) {
		pki_err_set(err, "the PKCS#7 bundle holds no certificate");
		goto out;
	}
	rc = 0;
out:
	PKCS7_free(p7);
	return rc;
}

static int der_any(const unsigned char *der, size_t len, struct pki_cert **certs, size_t *n,
		   struct moat_err *err)
{
	X509 *x = pki_der_cert(der, len);

	if (x != NULL)
		return add_cert(x, certs, n, err);
	ERR_clear_error();
	return p7_certs(der, len, certs, n, err);
}

static int pem_any(const void *data, size_t len, struct pki_cert **certs, size_t *n,
		   struct moat_err *err)
{
	struct pki_pem_block b = {0};
	BIO *bio = pki_mem_bio(data, len, err);
	int r = 0, rc = -1;

	if (bio == NULL)
		goto out;
	while ((r = pki_pem_next(bio, &b, err)) == 1) {
		bool cert = strcmp(b.name, "CERTIFICATE") == 0 ||
			    strcmp(b.name, "X509 CERTIFICATE") == 0;
		bool p7 = strcmp(b.name, "PKCS7") == 0 || strcmp(b.name, "PKCS #7 SIGNED DATA") == 0 ||
			  strcmp(b.name, "CERTIFICATE CHAIN") == 0;

		if (cert) {
			X509 *x = pki_der_cert(b.der, (size_t)b.len);

			if (x == NULL) {
				pki_err_drain(err, "certificate %zu in the input is malformed", *n + 1);
				goto out;
			}
			if (add_cert(x, certs, n, err) != 0)
				goto out;
		} else if (p7) {
			if (p7_certs(b.der, (size_t)b.len, certs, n, err) != 0)
				goto out;
		}
		pki_pem_block_free(&b);
	}
	if (r < 0)
		goto out;
	if (*n == 0) {
		pki_err_set(err, "no CERTIFICATE or PKCS7 block in the input");
		goto out;
	}
	rc = 0;
out:
	pki_pem_block_free(&b);
	BIO_free(bio);
	return rc;
}

int pki_certs_from_any(const void *data, size_t len, struct pki_cert ***out, size_t *nout,
		       struct moat_err *err)
{
	struct pki_cert **certs = NULL;
	size_t n = 0;
	int rc = -1;

	ERR_clear_error();
	*out = NULL;
	*nout = 0;
	if (pki_input_check(data, len, "certificate", err) != 0)
		goto out;
	certs = calloc(PKI_MAX_OBJECTS, sizeof(*certs));
	if (certs == NULL) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	if (((const unsigned char *)data)[0] == 0x30 && der_any(data, len, certs, &n, err) == 0)
		goto done;
	if (!pki_looks_pem(data, len)) {
		if (((const unsigned char *)data)[0] != 0x30)
			pki_err_set(err, "not a certificate: no PEM block and not DER");
		goto out;
	}
	while (n > 0) { /* what the DER attempt added */
		pki_cert_free(certs[--n]);
		certs[n] = NULL;
	}
	moat_err_clear(err);
	if (pem_any(data, len, certs, &n, err) != 0)
		goto out;
done:
	*out = certs;
	*nout = n;
	certs = NULL;
	n = 0;
	rc = 0;
out:
	pki_certs_free(certs, n);
	ERR_clear_error();
	return rc;
}

struct pki_cert *pki_cert_from_any(const void *data, size_t len, struct moat_err *err)
{
	struct pki_cert **certs = NULL;
	struct pki_cert *c;
	size_t n = 0;

	if (pki_certs_from_any(data, len, &certs, &n, err) != 0)
		return NULL;
	c = certs[0];
	certs[0] = NULL;
	pki_certs_free(certs, n);
	return c;
}
