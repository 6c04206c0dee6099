/* crl.c: certificate revocation lists: reasons, building, reading. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "pki/internal.h"

#define SERIAL_HEX_MAX 40 /* 20 octets (RFC 5280 4.1.2.2) */

static const struct {
	enum pki_reason reason;
	const char *name;
} reasons[] = {
	{PKI_REASON_UNSPECIFIED, "unspecified"},
	{PKI_REASON_KEY_COMPROMISE, "keyCompromise"},
	{PKI_REASON_CA_COMPROMISE, "cACompromise"},
	{PKI_REASON_AFFILIATION_CHANGED, "affiliationChanged"},
	{PKI_REASON_SUPERSEDED, "superseded"},
	{PKI_REASON_CESSATION_OF_OPERATION, "cessationOfOperation"},
	{PKI_REASON_PRIVILEGE_WITHDRAWN, "privilegeWithdrawn"},
};

#define NREASONS (sizeof(reasons) / sizeof(reasons[0]))

/* Lower case without '-' and '_': "Key-Compromise" -> "keycompromise". */
static bool fold(const char *in, char *out, size_t n)
{
	size_t o = 0;

	for (; *in != '\0'; in++) {
		if (*in == '-' || *in == '_')
			continue;
		if (o + 1 >= n)
			return false;
		out[o++] = (char)tolower((unsigned char)*in);
	}
	out[o] = '\0';
	return true;
}

int pki_reason_parse(const char *s, enum pki_reason *out, struct moat_err *err)
{
	char want[40], have[40], shown[64];

	if (s != NULL && fold(s, want, sizeof(want))) {
		for (size_t i = 0; i < NREASONS; i++) {
			fold(reasons[i].name, have, sizeof(have));
			if (strcmp(want, have) == 0) {
				*out = reasons[i].reason;
				return 0;
			}
		}
	}
	moat_escape(shown, sizeof(shown), s != NULL ? s : "", s != NULL ? strlen(s) : 0);
	moat_err_set(err,
		     "unknown revocation reason \"%s\": use unspecified, key-compromise, "
		     "ca-compromise, affiliation-changed, superseded, cessation-of-operation or "
		     "privilege-withdrawn",
		     shown);
	return -1;
}

const char *pki_reason_name(enum pki_reason r)
{
	for (size_t i = 0; i < NREASONS; i++)
		if (reasons[i].reason == r)
			return reasons[i].name;
	return "unknown";
}

/* ---- building ------------------------------------------------------------ */

/* "0A1B..." (colons allowed) to a positive INTEGER. */
static ASN1_INTEGER *serial_from_hex(const char *hex, struct moat_err *err)
{
	char clean[SERIAL_HEX_MAX + 1], shown[64];
	size_t o = 0;
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai = NULL;

	for (const char *p = hex; p != NULL && *p != '\0'; p++) {
		if (*p == ':')
			continue;
		if (!isxdigit((unsigned char)*p) || o >= SERIAL_HEX_MAX) {
			o = 0;
			break;
		}
		clean[o++] = *p;
	}
	clean[o] = '\0';
	if (o == 0 || BN_hex2bn(&bn, clean) != (int)o) {
		moat_escape(shown, sizeof(shown), hex != NULL ? hex : "", hex != NULL ? strlen(hex) : 0);
		pki_err_set(err, "invalid serial number \"%s\": expected up to %d hex digits", shown,
			    SERIAL_HEX_MAX);
		goto out;
	}
	ai = BN_to_ASN1_INTEGER(bn, NULL);
	if (ai == NULL)
		pki_err_drain(err, "out of memory");
out:
	BN_free(bn);
	return ai;
}

static ASN1_TIME *time_from(int64_t t, struct moat_err *err)
{
	ASN1_TIME *at = NULL;

	if ((int64_t)(time_t)t != t || (at = ASN1_TIME_set(NULL, (time_t)t)) == NULL)
		pki_err_drain(err, "the time %lld cannot be encoded", (long long)t);
	return at;
}

static int add_revoked(X509_CRL *crl, const struct pki_revoked *rv, struct moat_err *err)
{
	X509_REVOKED *r = X509_REVOKED_new();
	ASN1_INTEGER *serial = NULL;
	ASN1_TIME *when = NULL;
	ASN1_ENUMERATED *code = NULL;
	int rc = -1;

	if (r == NULL) {
		pki_err_drain(err, "out of memory");
		goto out;
	}
	serial = serial_from_hex(rv->serial_hex, err);
	if (serial == NULL || (when = time_from(rv->revoked_at, err)) == NULL)
		goto out;
	if (X509_REVOKED_set_serialNumber(r, serial) != 1 ||
	    X509_REVOKED_set_revocationDate(r, when) != 1) {
		pki_err_drain(err, "cannot add a revoked certificate to the CRL");
		goto out;
	}
	if (rv->reason != PKI_REASON_UNSPECIFIED) {
		if (strcmp(pki_reason_name(rv->reason), "unknown") == 0) {
			moat_err_set(err, "unknown revocation reason %d", (int)rv->reason);
			goto out;
		}
		code = ASN1_ENUMERATED_new();
		if (code == NULL || ASN1_ENUMERATED_set(code, (long)rv->reason) != 1 ||
		    X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, code, 0, X509V3_ADD_DEFAULT) != 1) {
			pki_err_drain(err, "cannot set the revocation reason");
			goto out;
		}
	}
	if (X509_CRL_add0_revoked(crl, r) != 1) {
		pki_err_drain(err, "cannot add a revoked certificate to the CRL");
		goto out;
	}
	r = NULL;
	rc = 0;
out:
	ASN1_ENUMERATED_free(code);
	ASN1_TIME_free(when);
	ASN1_INTEGER_free(serial);
	X509_REVOKED_free(r);
	return rc;
}

static int add_crl_exts(X509_CRL *crl, X509 *issuer, uint64_t number, struct moat_err *err)
{
	AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	int rc = -1;

	if (akid == NULL || num == NULL || (akid->keyid = pki_cert_keyid(issuer)) == NULL ||
	    X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid, 0, X509V3_ADD_DEFAULT) != 1 ||
	    ASN1_INTEGER_set_uint64(num, number) != 1 ||
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, X509V3_ADD_DEFAULT) != 1) {
		pki_err_drain(err, "cannot add the CRL extensions");
		goto out;
	}
	rc = 0;
out:
	ASN1_INTEGER_free(num);
	AUTHORITY_KEYID_free(akid);
	return rc;
}

static int check_issuer(const struct pki_cert *issuer, const struct pki_key *issuer_key,
			struct moat_err *err)
{
	if (issuer == NULL || issuer_key == NULL) {
		moat_err_set(err, "pki_crl_build: missing issuer");
		return -1;
	}
	if (!issuer_key->priv) {
		moat_err_set(err, "the issuer key is a public key: a private key is needed to sign");
		return -1;
	}
	if (!pki_key_matches_cert(issuer_key, issuer)) {
		moat_err_set(err, "the issuer key does not match the issuer certificate");
		return -1;
	}
	if ((X509_get_extension_flags(issuer->x) & EXFLAG_KUSAGE) != 0 &&
	    (X509_get_key_usage(issuer->x) & KU_CRL_SIGN) == 0) {
		moat_err_set(err, "the issuer certificate may not sign CRLs (no cRLSign key usage)");
		return -1;
	}
	return pki_pkey_check_signer(issuer_key->pkey, err);
}

struct pki_crl *pki_crl_build(const struct pki_cert *issuer, const struct pki_key *issuer_key,
			      const struct pki_revoked *revoked, size_t n, uint64_t number,
			      int64_t this_update, int64_t next_update, struct moat_err *err)
{
	X509_CRL *crl = NULL, *fresh = NULL;
	ASN1_TIME *last = NULL, *next = NULL;
	struct pki_crl *c = NULL;
	unsigned char *der = NULL;
	int len;

	ERR_clear_error();
	if (check_issuer(issuer, issuer_key, err) != 0)
		goto out;
	if (n > 0 && revoked == NULL) {
		moat_err_set(err, "pki_crl_build: missing revoked entries");
		goto out;
	}
	if (next_update != 0 && next_update <= this_update) {
		moat_err_set(err, "the CRL's next update must come after this update");
		goto out;
	}
	crl = X509_CRL_new();
	if (crl == NULL || X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer->x)) != 1) {
		pki_err_drain(err, "out of memory");
		goto out;
	}
	if ((last = time_from(this_update, err)) == NULL ||
	    (next_update != 0 && (next = time_from(next_update, err)) == NULL))
		goto out;
	if (X509_CRL_set1_lastUpdate(crl, last) != 1 ||
	    (next != NULL && X509_CRL_set1_nextUpdate(crl, next) != 1)) {
		pki_err_drain(err, "cannot set the CRL's update times");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (add_revoked(crl, &revoked[i], err) != 0)
			goto out;
	if (X509_CRL_sort(crl) != 1 || add_crl_exts(crl, issuer->x, number, err) != 0)
		goto out;
	if (X509_CRL_sign(crl, issuer_key->pkey, pki_sign_md(issuer_key->pkey)) <= 0) {
		pki_err_drain(err, "cannot sign the CRL");
		goto out;
	}
	/* Read back from the encoding: the fields OpenSSL caches when it
	 * decodes a CRL (AKI, IDP, ...) are then set. */
	if ((len = i2d_X509_CRL(crl, &der)) <= 0 || (fresh = pki_der_crl(der, (size_t)len)) == NULL) {
		pki_err_drain(err, "cannot encode the CRL");
		goto out;
	}
	c = pki_crl_wrap(fresh, err);
out:
	OPENSSL_free(der);
	ASN1_TIME_free(last);
	ASN1_TIME_free(next);
	X509_CRL_free(crl);
	if (c == NULL && !moat_err_isset(err))
		pki_err_drain(err, "cannot build the CRL");
	return c;
}

/* ---- I/O ---------------------------------------------------------------- */

void pki_crl_free(struct pki_crl *c)
{
	if (c == NULL)
		return;
	X509_CRL_free(c->crl);
	free(c);
}

int pki_crl_to_pem(const struct pki_crl *c, struct moat_buf *out, struct moat_err *err)
{
	return pki_encoded_out(ASN1_ITEM_rptr(X509_CRL), c != NULL ? c->crl : NULL, "X509 CRL",
			       "CRL", out, err);
}

int pki_crl_info(const struct pki_crl *c, struct pki_crl_info *out, struct moat_err *err)
{
	ASN1_INTEGER *num = NULL;
	BIGNUM *bn = NULL;
	char *dec = NULL;
	int crit = -1, nrev;

	memset(out, 0, sizeof(*out));
	ERR_clear_error();
	if (c == NULL) {
		moat_err_set(err, "no CRL");
		return -1;
	}
	pki_name_oneline(X509_CRL_get_issuer(c->crl), out->issuer, sizeof(out->issuer));
	pki_time_get(X509_CRL_get0_lastUpdate(c->crl), &out->this_update);
	pki_time_get(X509_CRL_get0_nextUpdate(c->crl), &out->next_update);
	num = X509_CRL_get_ext_d2i(c->crl, NID_crl_number, &crit, NULL);
	if (num != NULL && (bn = ASN1_INTEGER_to_BN(num, NULL)) != NULL &&
	    (dec = BN_bn2dec(bn)) != NULL) {
		if (strlen(dec) < sizeof(out->number))
			snprintf(out->number, sizeof(out->number), "%s", dec);
		else
			snprintf(out->number, sizeof(out->number), "(too long)");
	}
	nrev = sk_X509_REVOKED_num(X509_CRL_get_REVOKED(c->crl));
	out->nrevoked = nrev > 0 ? (size_t)nrev : 0;
	OPENSSL_free(dec);
	BN_free(bn);
	ASN1_INTEGER_free(num);
	ERR_clear_error();
	return 0;
}
