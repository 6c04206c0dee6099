/* jose.c: the key and signature forms of JOSE that ACME needs: public keys
 * as JWK (RFC 7517, 7518 section 6, RFC 8037), JWS signatures in their raw
 * form (RFC 7518 section 3: ECDSA r || s of fixed size, not DER), and
 * HMAC-SHA256 for external account binding. */
#include <limits.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "core/b64.h"
#include "pki/internal.h"

#define FIELD_MAX 66 /* P-521 */

/* The JWS algorithm and EC field size for k; NULL when JOSE has none.  Its
 * digest is pki_sign_md's: none for EdDSA, SHA-384 for ES384, else SHA-256. */
static const char *alg_of(EVP_PKEY *pkey, const char **crv, size_t *field)
{
	const char *nist;

	*crv = NULL;
	*field = 0;
	if (EVP_PKEY_is_a(pkey, "ED25519")) {
		*crv = "Ed25519";
		return "EdDSA";
	}
	if (EVP_PKEY_is_a(pkey, "RSA"))
		return EVP_PKEY_get_bits(pkey) >= 2048 ? "RS256" : NULL;
	if ((nist = pki_pkey_nist(pkey)) == NULL || strcmp(nist, "P-521") == 0)
		return NULL;
	*crv = nist;
	*field = strcmp(nist, "P-256") == 0 ? 32 : 48;
	return *field == 32 ? "ES256" : "ES384";
}

/* Append the base64url of bn, left-padded with zeros to pad bytes (0: its
 * minimal length). */
static int put_bn(struct moat_buf *out, const BIGNUM *bn, size_t pad)
{
	unsigned char b[1024];
	int n = pad > 0 ? BN_bn2binpad(bn, b, (int)pad) : BN_bn2bin(bn, b);
	int rc;

	if (n <= 0 || (size_t)BN_num_bytes(bn) > sizeof(b))
		return -1;
	rc = moat_b64url_encode(out, b, (size_t)n);
	OPENSSL_cleanse(b, sizeof(b));
	return rc;
}

static int bn_member(EVP_PKEY *pkey, const char *param, size_t pad, struct moat_buf *out)
{
	BIGNUM *bn = NULL;
	int rc = -1;

	if (EVP_PKEY_get_bn_param(pkey, param, &bn) == 1)
		rc = put_bn(out, bn, pad);
	BN_free(bn);
	return rc;
}

int pki_key_jwk(const struct pki_key *k, struct pki_jwk *out, struct moat_err *err)
{
	struct pki_jwk j;
	size_t field;
	int rc = -1;

	memset(&j, 0, sizeof(j));
	memset(out, 0, sizeof(*out));
	ERR_clear_error();
	if ((j.alg = alg_of(k->pkey, &j.crv, &field)) == NULL) {
		moat_err_set(err, "ACME cannot use this key type (use ec-p256, ec-p384, rsa-2048 or "
				  "larger, or ed25519)");
		goto out;
	}
	if (strcmp(j.alg, "EdDSA") == 0) {
		unsigned char pub[32];
		size_t n = 0;
		j.kty = "OKP";
		if (EVP_PKEY_get_octet_string_param(k->pkey, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub),
						    &n) != 1 ||
		    n != sizeof(pub) || moat_b64url_encode(&j.x, pub, n) != 0)
			goto fail;
	} else if (strcmp(j.alg, "RS256") == 0) {
		j.kty = "RSA";
		if (bn_member(k->pkey, OSSL_PKEY_PARAM_RSA_N, 0, &j.n) != 0 ||
		    bn_member(k->pkey, OSSL_PKEY_PARAM_RSA_E, 0, &j.e) != 0)
			goto fail;
	} else {
		j.kty = "EC";
		if (bn_member(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, field, &j.x) != 0 ||
		    bn_member(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, field, &j.y) != 0)
			goto fail;
	}
	*out = j;
	memset(&j, 0, sizeof(j));
	rc = 0;
	goto out;
fail:
	pki_err_drain(err, "cannot read the public key for its JWK");
out:
	pki_jwk_clear(&j);
	return rc;
}

void pki_jwk_clear(struct pki_jwk *j)
{
	if (j == NULL)
		return;
	moat_buf_free(&j->x);
	moat_buf_free(&j->y);
	moat_buf_free(&j->n);
	moat_buf_free(&j->e);
	memset(j, 0, sizeof(*j));
}

/* Decode a base64url member into out (cleared first); its length must be
 * exactly want bytes (want 0: 1 to max bytes). */
static int member(const char *s, size_t want, size_t max, struct moat_buf *out)
{
	moat_buf_free(out);
	if (s == NULL || strlen(s) > 4 * (max + 2) / 3 + 4 ||
	    moat_b64url_decode(out, s, strlen(s)) != 0)
		return -1;
	return want > 0 ? (out->len == want ? 0 : -1) : (out->len >= 1 && out->len <= max ? 0 : -1);
}

struct pki_key *pki_key_from_jwk(const char *kty, const char *crv, const char *x, const char *y,
				 const char *n, const char *e, struct moat_err *err)
{
	struct moat_buf a = MOAT_BUF_INIT, b = MOAT_BUF_INIT;
	unsigned char point[1 + 2 * FIELD_MAX];
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	const char *type = NULL;
	struct pki_key *k = NULL;
	size_t field = 0;

	ERR_clear_error();
	if (bld == NULL || kty == NULL)
		goto bad;
	if (strcmp(kty, "EC") == 0 && crv != NULL &&
	    (field = strcmp(crv, "P-256") == 0 ? 32 : strcmp(crv, "P-384") == 0 ? 48 : 0) > 0) {
		if (member(x, field, field, &a) != 0 || member(y, field, field, &b) != 0)
			goto bad;
		point[0] = 0x04;
		memcpy(point + 1, a.data, field);
		memcpy(point + 1 + field, b.data, field);
		type = "EC";
		if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, crv, 0) != 1 ||
		    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point,
						     1 + 2 * field) != 1)
			goto bad;
	} else if (strcmp(kty, "OKP") == 0 && crv != NULL && strcmp(crv, "Ed25519") == 0) {
		if (member(x, 32, 32, &a) != 0)
			goto bad;
		type = "ED25519";
		if (OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, a.data, 32) != 1)
			goto bad;
	} else if (strcmp(kty, "RSA") == 0) {
		/* 2048 to 8192 bits, no leading zero byte (RFC 7518 6.3.1.1), e odd */
		if (member(n, 0, 1024, &a) != 0 || a.len < 256 || a.data[0] == 0 ||
		    member(e, 0, 8, &b) != 0 || b.data[0] == 0 || (b.data[b.len - 1] & 1) == 0 ||
		    (bn_n = BN_bin2bn(a.data, (int)a.len, NULL)) == NULL ||
		    (bn_e = BN_bin2bn(b.data, (int)b.len, NULL)) == NULL || BN_num_bits(bn_n) < 2048)
			goto bad;
		type = "RSA";
		if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) != 1 ||
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) != 1)
			goto bad;
	} else {
		goto bad;
	}
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto bad; /* an EC point off the curve fails here */
	k = pki_key_wrap(pkey, false, err);
	pkey = NULL;
	goto out;
bad:
	moat_err_set(err, "the JWK is not a public key moat accepts (EC P-256 or P-384, RSA of 2048 "
			  "bits or more, or Ed25519)");
out:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	moat_buf_free(&a);
	moat_buf_free(&b);
	ERR_clear_error();
	return k;
}

/* ECDSA's DER ECDSA-Sig-Value to JWS's r || s, each field bytes long. */
static int ecdsa_raw(const unsigned char *der, size_t len, size_t field, struct moat_buf *sig)
{
	const unsigned char *p = der;
	unsigned char raw[2 * FIELD_MAX];
	const BIGNUM *r, *s;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
	int rc = -1;

	if (es == NULL || field > FIELD_MAX)
		goto out;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, raw, (int)field) != (int)field ||
	    BN_bn2binpad(s, raw + field, (int)field) != (int)field)
		goto out;
	rc = moat_buf_append(sig, raw, 2 * field);
out:
	ECDSA_SIG_free(es);
	return rc;
}

int pki_jws_sign(const struct pki_key *k, const void *data, size_t len, struct moat_buf *sig,
		 struct moat_err *err)
{
	EVP_MD_CTX *ctx = NULL;
	unsigned char *buf = NULL;
	const char *alg, *crv;
	size_t field, n = 0;
	int rc = -1;

	ERR_clear_error();
	if (k == NULL || !k->priv || (alg = alg_of(k->pkey, &crv, &field)) == NULL) {
		moat_err_set(err, "this key cannot sign JWS messages");
		goto out;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, NULL, pki_sign_md(k->pkey), NULL, k->pkey) != 1 ||
	    EVP_DigestSign(ctx, NULL, &n, data, len) != 1 || (buf = OPENSSL_malloc(n)) == NULL ||
	    EVP_DigestSign(ctx, buf, &n, data, len) != 1)
		goto fail;
	if (field > 0 ? ecdsa_raw(buf, n, field, sig) != 0 : moat_buf_append(sig, buf, n) != 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	pki_err_drain(err, "cannot sign the ACME request");
out:
	OPENSSL_free(buf);
	EVP_MD_CTX_free(ctx);
	return rc;
}

bool pki_jws_verify(const struct pki_key *k, const void *data, size_t len, const void *sig,
		    size_t siglen)
{
	EVP_MD_CTX *ctx = NULL;
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	const unsigned char *vsig = sig;
	const char *alg, *crv;
	size_t field;
	int dlen;
	bool ok = false;

	if (k == NULL || (alg = alg_of(k->pkey, &crv, &field)) == NULL)
		goto out;
	if (field > 0) {
		if (siglen != 2 * field || (es = ECDSA_SIG_new()) == NULL ||
		    (r = BN_bin2bn(sig, (int)field, NULL)) == NULL ||
		    (s = BN_bin2bn((const unsigned char *)sig + field, (int)field, NULL)) == NULL ||
		    ECDSA_SIG_set0(es, r, s) != 1)
			goto out;
		r = s = NULL;
		if ((dlen = i2d_ECDSA_SIG(es, &der)) <= 0)
			goto out;
		vsig = der;
		siglen = (size_t)dlen;
	}
	ok = (ctx = EVP_MD_CTX_new()) != NULL &&
	     EVP_DigestVerifyInit(ctx, NULL, pki_sign_md(k->pkey), NULL, k->pkey) == 1 &&
	     EVP_DigestVerify(ctx, vsig, siglen, data, len) == 1;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	OPENSSL_free(der);
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

int pki_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
		    unsigned char out[32], struct moat_err *err)
{
	unsigned int n = 0;

	ERR_clear_error();
	if (HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &n) == NULL || n != 32) {
		pki_err_drain(err, "cannot compute HMAC-SHA256");
		return -1;
	}
	return 0;
}

int pki_sha256(const void *data, size_t len, unsigned char out[32])
{
	unsigned int n = 0;

	return EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) == 1 && n == 32 ? 0 : -1;
}

int pki_random(void *out, size_t len)
{
	return len <= INT_MAX && RAND_bytes(out, (int)len) == 1 ? 0 : -1;
}

bool pki_mem_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

int pki_cert_acme_identifier(const struct pki_cert *c, unsigned char out[32])
{
	ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
	const ASN1_OCTET_STRING *v;
	const unsigned char *p;
	ASN1_OCTET_STRING *inner = NULL;
	X509_EXTENSION *ext;
	int at, ret = -1;

	if (oid == NULL || (at = X509_get_ext_by_OBJ(c->x, oid, -1)) < 0 ||
	    X509_get_ext_by_OBJ(c->x, oid, at) >= 0 || (ext = X509_get_ext(c->x, at)) == NULL ||
	    X509_EXTENSION_get_critical(ext) != 1 || (v = X509_EXTENSION_get_data(ext)) == NULL)
		goto out;
	p = ASN1_STRING_get0_data(v);
	inner = d2i_ASN1_OCTET_STRING(NULL, &p, ASN1_STRING_length(v));
	if (inner == NULL || p != ASN1_STRING_get0_data(v) + ASN1_STRING_length(v) ||
	    ASN1_STRING_length(inner) != 32)
		goto out;
	memcpy(out, ASN1_STRING_get0_data(inner), 32);
	ret = 0;
out:
	ASN1_OCTET_STRING_free(inner);
	ASN1_OBJECT_free(oid);
	ERR_clear_error();
	return ret;
}

int pki_cert_ari_id(const struct pki_cert *c, char *out, size_t n, struct moat_err *err)
{
	const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(c->x);
	const ASN1_INTEGER *serial = X509_get0_serialNumber(c->x);
	unsigned char *der = NULL, *p;
	struct moat_buf b = MOAT_BUF_INIT;
	long len;
	int tag, xclass, dlen, ret = -1;

	ERR_clear_error();
	if (aki == NULL || serial == NULL) {
		moat_err_set(err, "the certificate has no authority key identifier (needed for ARI)");
		goto out;
	}
	/* The serial's DER contents octets: i2d, then skip tag and length. */
	if ((dlen = i2d_ASN1_INTEGER(serial, &der)) <= 0)
		goto fail;
	p = der;
	if (ASN1_get_object((const unsigned char **)&p, &len, &tag, &xclass, dlen) & 0x80)
		goto fail;
	if (moat_b64url_encode(&b, ASN1_STRING_get0_data(aki), (size_t)ASN1_STRING_length(aki)) != 0 ||
	    moat_buf_append(&b, ".", 1) != 0 || moat_b64url_encode(&b, p, (size_t)len) != 0)
		goto fail;
	if (b.len >= n) {
		moat_err_set(err, "the certificate's ARI identifier is too long");
		goto out;
	}
	memcpy(out, b.data, b.len + 1);
	ret = 0;
	goto out;
fail:
	pki_err_drain(err, "cannot compute the certificate's ARI identifier");
out:
	OPENSSL_free(der);
	moat_buf_free(&b);
	return ret;
}
