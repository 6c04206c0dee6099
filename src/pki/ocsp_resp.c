/* ocsp_resp.c: the responder's side of OCSP (RFC 6960, RFC 5019 profile):
 * reading a request with hard caps, answering it signed, and the
 * unsuccessful answers.  The checking side is ocsp.c. */
#include <string.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>

#include "pki/internal.h"

#define MAX_SERIAL_BYTES 32

/* ---- requests -------------------------------------------------------------- */

static int bad_request(struct moat_err *err, const char *why)
{
	pki_err_set(err, "malformed OCSP request: %s", why);
	return -1;
}

/* serial (any sign) as pki_cert_info.serial_hex writes it. */
static int serial_hex(const ASN1_INTEGER *serial, char *out, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = ASN1_STRING_get0_data(serial);
	int len = ASN1_STRING_length(serial);
	size_t o = 0;

	if (p == NULL || len <= 0 || len > MAX_SERIAL_BYTES || (size_t)len * 2 + 2 > n)
		return -1;
	if (ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER)
		out[o++] = '-';
	for (int i = 0; i < len; i++) {
		out[o++] = hex[p[i] >> 4];
		out[o++] = hex[p[i] & 15];
	}
	out[o] = '\0';
	return 0;
}

static int read_certid(OCSP_CERTID *cid, struct pki_ocsp_certid *id, struct moat_err *err)
{
	ASN1_OCTET_STRING *nh = NULL, *kh = NULL;
	ASN1_OBJECT *md = NULL;
	ASN1_INTEGER *serial = NULL;
	int want;

	if (OCSP_id_get0_info(&nh, &md, &kh, &serial, cid) != 1 || nh == NULL || kh == NULL ||
	    md == NULL || serial == NULL)
		return bad_request(err, "a CertID is incomplete");
	switch (OBJ_obj2nid(md)) {
	case NID_sha1: id->hash = PKI_OCSP_SHA1; want = 20; break;
	case NID_sha256: id->hash = PKI_OCSP_SHA256; want = 32; break;
	default: return bad_request(err, "a CertID hash other than SHA-1 or SHA-256");
	}
	if (ASN1_STRING_length(nh) != want || ASN1_STRING_length(kh) != want)
		return bad_request(err, "a CertID hash of the wrong length");
	memcpy(id->name_hash, ASN1_STRING_get0_data(nh), (size_t)want);
	memcpy(id->key_hash, ASN1_STRING_get0_data(kh), (size_t)want);
	if (serial_hex(serial, id->serial_hex, sizeof(id->serial_hex)) != 0)
		return bad_request(err, "a serial number that is empty or above 32 bytes");
	return 0;
}

static int read_nonce(OCSP_REQUEST *req, struct pki_ocsp_request *out, struct moat_err *err)
{
	int i = OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, -1);
	const ASN1_OCTET_STRING *v;
	int len;

	if (i < 0)
		return 0;
	if (OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, i) >= 0)
		return bad_request(err, "two nonces");
	v = X509_EXTENSION_get_data(OCSP_REQUEST_get_ext(req, i));
	len = v != NULL ? ASN1_STRING_length(v) : 0;
	if (len <= 0 || len > PKI_OCSP_NONCE_MAX)
		return bad_request(err, "an empty nonce or one longer than 32 bytes");
	memcpy(out->nonce, ASN1_STRING_get0_data(v), (size_t)len);
	out->nonce_len = (size_t)len;
	return 0;
}

int pki_ocsp_request_parse(const void *der, size_t len, struct pki_ocsp_request *out,
			   struct moat_err *err)
{
	OCSP_REQUEST *req = NULL;
	int n, ret = -1;

	memset(out, 0, sizeof(*out));
	ERR_clear_error();
	if (len > PKI_OCSP_REQ_MAX) {
		pki_err_set(err, "OCSP request too large (%zu bytes; at most %d)", len,
			    PKI_OCSP_REQ_MAX);
		goto out;
	}
	req = pki_der_whole(ASN1_ITEM_rptr(OCSP_REQUEST), der, len, PKI_OCSP_REQ_MAX);
	if (req == NULL) {
		bad_request(err, "not one DER OCSPRequest");
		goto out;
	}
	n = OCSP_request_onereq_count(req);
	if (n < 1 || n > PKI_OCSP_MAX_IDS) {
		pki_err_set(err, "malformed OCSP request: %d CertIDs (1 to %d taken)", n,
			    PKI_OCSP_MAX_IDS);
		goto out;
	}
	for (int i = 0; i < n; i++)
		if (read_certid(OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, i)), &out->ids[i],
				err) != 0)
			goto out;
	out->nids = (size_t)n;
	if (read_nonce(req, out, err) != 0)
		goto out;
	ret = 0;
out:
	if (ret != 0)
		memset(out, 0, sizeof(*out));
	OCSP_REQUEST_free(req);
	ERR_clear_error();
	return ret;
}

static const EVP_MD *hash_md(enum pki_ocsp_hash h)
{
	return h == PKI_OCSP_SHA256 ? EVP_sha256() : EVP_sha1();
}

bool pki_ocsp_certid_issuer_is(const struct pki_ocsp_certid *id, const struct pki_cert *issuer)
{
	const EVP_MD *md = hash_md(id->hash);
	const ASN1_BIT_STRING *key = X509_get0_pubkey_bitstr(issuer->x);
	unsigned char name[EVP_MAX_MD_SIZE], kh[EVP_MAX_MD_SIZE];
	unsigned int nl = 0, kl = 0;
	bool ok;

	ok = key != NULL && X509_NAME_digest(X509_get_subject_name(issuer->x), md, name, &nl) == 1 &&
	     EVP_Digest(ASN1_STRING_get0_data(key), (size_t)ASN1_STRING_length(key), kh, &kl, md,
			NULL) == 1 &&
	     nl == (unsigned)EVP_MD_get_size(md) && kl == nl &&
	     memcmp(name, id->name_hash, nl) == 0 && memcmp(kh, id->key_hash, kl) == 0;
	ERR_clear_error();
	return ok;
}

/* ---- responses -------------------------------------------------------------- */

/* The CertID of a, rebuilt from issuer (equal to the request's when a->id
 * names issuer). */
static OCSP_CERTID *certid_of(const struct pki_ocsp_answer *a, X509 *issuer)
{
	const char *hex = a->id->serial_hex;
	bool neg = hex[0] == '-';
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial = NULL;
	OCSP_CERTID *cid = NULL;

	if (BN_hex2bn(&bn, hex + neg) == 0)
		goto out;
	BN_set_negative(bn, neg);
	if ((serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL)
		goto out;
	cid = OCSP_cert_id_new(hash_md(a->id->hash), X509_get_subject_name(issuer),
			       X509_get0_pubkey_bitstr(issuer), serial);
out:
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	return cid;
}

static int add_single(OCSP_BASICRESP *bs, const struct pki_ocsp_answer *a, X509 *issuer,
		      ASN1_GENERALIZEDTIME *tu, ASN1_GENERALIZEDTIME *nu, struct moat_err *err)
{
	OCSP_CERTID *cid = certid_of(a, issuer);
	ASN1_GENERALIZEDTIME *rt = NULL;
	int status, reason = -1, ret = -1;

	switch (a->status) {
	case PKI_OCSP_GOOD: status = V_OCSP_CERTSTATUS_GOOD; break;
	case PKI_OCSP_REVOKED:
		status = V_OCSP_CERTSTATUS_REVOKED;
		reason = a->reason > 0 ? a->reason : -1;
		if ((rt = ASN1_GENERALIZEDTIME_set(NULL, (time_t)a->revoked_at)) == NULL)
			goto out;
		break;
	default: status = V_OCSP_CERTSTATUS_UNKNOWN; break;
	}
	if (cid == NULL || OCSP_basic_add1_status(bs, cid, status, reason, rt, tu, nu) == NULL)
		goto out;
	ret = 0;
out:
	if (ret != 0)
		pki_err_drain(err, "cannot add an OCSP answer");
	ASN1_GENERALIZEDTIME_free(rt);
	OCSP_CERTID_free(cid);
	return ret;
}

static int add_nonce(OCSP_BASICRESP *bs, const unsigned char *nonce, size_t len)
{
	ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext = NULL;
	int ret = -1;

	if (v != NULL && ASN1_OCTET_STRING_set(v, nonce, (int)len) == 1 &&
	    (ext = X509_EXTENSION_create_by_NID(NULL, NID_id_pkix_OCSP_Nonce, 0, v)) != NULL &&
	    OCSP_BASICRESP_add_ext(bs, ext, -1) == 1)
		ret = 0;
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(v);
	return ret;
}

int pki_ocsp_response_build(const struct pki_cert *issuer, const struct pki_cert *signer,
			    const struct pki_key *key, const struct pki_ocsp_answer *a, size_t n,
			    const unsigned char *nonce, size_t nonce_len, int64_t this_update,
			    int64_t next_update, struct moat_buf *out, struct moat_err *err)
{
	OCSP_BASICRESP *bs = NULL;
	OCSP_RESPONSE *resp = NULL;
	ASN1_GENERALIZEDTIME *tu = NULL, *nu = NULL;
	int ret = -1;

	ERR_clear_error();
	if (issuer == NULL || signer == NULL || key == NULL || !key->priv || n == 0 ||
	    n > PKI_OCSP_MAX_IDS || nonce_len > PKI_OCSP_NONCE_MAX || next_update <= this_update) {
		moat_err_set(err, "pki_ocsp_response_build: bad arguments");
		goto out;
	}
	if ((bs = OCSP_BASICRESP_new()) == NULL ||
	    (tu = ASN1_GENERALIZEDTIME_set(NULL, (time_t)this_update)) == NULL ||
	    (nu = ASN1_GENERALIZEDTIME_set(NULL, (time_t)next_update)) == NULL) {
		pki_err_drain(err, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (add_single(bs, &a[i], issuer->x, tu, nu, err) != 0)
			goto out;
	if (nonce_len > 0 && add_nonce(bs, nonce, nonce_len) != 0) {
		pki_err_drain(err, "cannot echo the nonce");
		goto out;
	}
	if (OCSP_basic_sign(bs, signer->x, key->pkey, pki_sign_md(key->pkey), NULL,
			    OCSP_RESPID_KEY) != 1) {
		pki_err_drain(err, "cannot sign the OCSP response");
		goto out;
	}
	if ((resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs)) == NULL) {
		pki_err_drain(err, "cannot make the OCSP response");
		goto out;
	}
	ret = pki_encoded_out(ASN1_ITEM_rptr(OCSP_RESPONSE), resp, NULL, "OCSP response", out, err);
out:
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(bs);
	ASN1_GENERALIZEDTIME_free(tu);
	ASN1_GENERALIZEDTIME_free(nu);
	return ret;
}

int pki_ocsp_response_error(int status, struct moat_buf *out, struct moat_err *err)
{
	OCSP_RESPONSE *resp = NULL;
	int ret = -1;

	ERR_clear_error();
	if (status < 1 || status > 6 || status == 4) {
		moat_err_set(err, "pki_ocsp_response_error: %d is not an unsuccessful status", status);
		return -1;
	}
	if ((resp = OCSP_response_create(status, NULL)) == NULL) {
		pki_err_drain(err, "cannot make the OCSP response");
		return -1;
	}
	ret = pki_encoded_out(ASN1_ITEM_rptr(OCSP_RESPONSE), resp, NULL, "OCSP response", out, err);
	OCSP_RESPONSE_free(resp);
	return ret;
}

int pki_crl_to_der(const struct pki_crl *c, struct moat_buf *out, struct moat_err *err)
{
	return pki_encoded_out(ASN1_ITEM_rptr(X509_CRL), c != NULL ? c->crl : NULL, NULL, "CRL",
			       out, err);
}
