/* pem.c: reading untrusted PEM and DER input. */
#include <string.h>

#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>

#include "pki/internal.h"

int pki_input_check(const void *data, size_t len, const char *what, struct moat_err *err)
{
	if (data == NULL || len == 0) {
		pki_err_set(err, "the %s input is empty", what);
		return -1;
	}
	if (len > PKI_MAX_INPUT) {
		pki_err_set(err, "the %s input is too large (%zu bytes; at most %d)", what, len,
			    PKI_MAX_INPUT);
		return -1;
	}
	return 0;
}

bool pki_looks_pem(const void *data, size_t len)
{
	static const char tag[] = "-----BEGIN ";

	return data != NULL && memmem(data, len, tag, sizeof(tag) - 1) != NULL;
}

BIO *pki_mem_bio(const void *data, size_t len, struct moat_err *err)
{
	BIO *bio;

	if (len > PKI_MAX_INPUT) {
		pki_err_set(err, "the input is too large (%zu bytes; at most %d)", len,
			    PKI_MAX_INPUT);
		return NULL;
	}
	bio = BIO_new_mem_buf(data, (int)len);
	if (bio == NULL)
		pki_err_drain(err, "cannot read the input");
	return bio;
}

int pki_pem_next(BIO *bio, struct pki_pem_block *b, struct moat_err *err)
{
	unsigned long e;

	memset(b, 0, sizeof(*b));
	ERR_clear_error();
	if (PEM_read_bio(bio, &b->name, &b->header, &b->der, &b->len) == 1)
		return 1;
	e = ERR_peek_last_error();
	if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
		ERR_clear_error();
		return 0;
	}
	pki_err_drain(err, "malformed PEM block");
	return -1;
}

void pki_pem_block_free(struct pki_pem_block *b)
{
	if (b == NULL)
		return;
	if (b->der != NULL && b->len > 0)
		OPENSSL_cleanse(b->der, (size_t)b->len);
	OPENSSL_free(b->name);
	OPENSSL_free(b->header);
	OPENSSL_free(b->der);
	memset(b, 0, sizeof(*b));
}

int pki_pem_find(const void *data, size_t len, const char *const *labels,
		 struct pki_pem_block *b, struct moat_err *err)
{
	BIO *bio;
	int r;

	if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL) {
		pki_err_drain(err, "out of memory");
		return -1;
	}
	while ((r = pki_pem_next(bio, b, err)) == 1) {
		for (size_t i = 0; labels[i] != NULL; i++)
			if (strcmp(b->name, labels[i]) == 0)
				goto out;
		pki_pem_block_free(b);
	}
	if (r == 0) {
		pki_err_set(err, "no %s block in the input", labels[0]);
		r = -1;
	}
out:
	BIO_free(bio);
	return r;
}

void *pki_der_whole(const ASN1_ITEM *it, const unsigned char *der, size_t len, size_t max)
{
	const unsigned char *p = der;
	ASN1_VALUE *v;

	if (der == NULL || len == 0 || len > max)
		return NULL;
	v = ASN1_item_d2i(NULL, &p, (long)len, it);
	if (v != NULL && p != der + len) {
		ASN1_item_free(v, it);
		ERR_raise_data(ERR_LIB_ASN1, ASN1_R_TOO_LONG, "trailing data");
		return NULL;
	}
	return v;
}

void *pki_pem_find_der(const void *data, size_t len, const char *const *labels,
		       const ASN1_ITEM *it, size_t max, const char *what, struct moat_err *err)
{
	struct pki_pem_block b = {0};
	void *obj = NULL;

	if (pki_pem_find(data, len, labels, &b, err) == 1 &&
	    (obj = pki_der_whole(it, b.der, (size_t)b.len, max)) == NULL)
		pki_err_drain(err, "the %s is malformed", what);
	pki_pem_block_free(&b);
	return obj;
}

X509 *pki_der_cert(const unsigned char *der, size_t len)
{
	return pki_der_whole(ASN1_ITEM_rptr(X509), der, len, PKI_MAX_INPUT);
}

X509_REQ *pki_der_csr(const unsigned char *der, size_t len)
{
	return pki_der_whole(ASN1_ITEM_rptr(X509_REQ), der, len, PKI_MAX_INPUT);
}

X509_CRL *pki_der_crl(const unsigned char *der, size_t len)
{
	/* CAs with many revocations publish CRLs far above PKI_MAX_INPUT */
	return pki_der_whole(ASN1_ITEM_rptr(X509_CRL), der, len, PKI_MAX_CRL_INPUT);
}

/*
 * If der is an unencrypted PKCS#8 PrivateKeyInfo, the provider key type its
 * algorithm names.  Telling the decoder what to expect spares it trying
 * every decoder OpenSSL has (in OpenSSL 3.0 that search is most of the
 * time a key load takes).  NULL: unknown, let the decoder find out.
 */
static const char *pkcs8_key_type(const unsigned char *der, size_t len)
{
	PKCS8_PRIV_KEY_INFO *p8 =
		pki_der_whole(ASN1_ITEM_rptr(PKCS8_PRIV_KEY_INFO), der, len, PKI_MAX_INPUT);
	const X509_ALGOR *alg = NULL;
	const ASN1_OBJECT *oid = NULL;
	const char *type = NULL;

	if (p8 != NULL && PKCS8_pkey_get0(NULL, NULL, NULL, &alg, p8) == 1) {
		X509_ALGOR_get0(&oid, NULL, NULL, alg);
		switch (OBJ_obj2nid(oid)) {
		case NID_X9_62_id_ecPublicKey: type = "EC"; break;
		case NID_rsaEncryption: type = "RSA"; break;
		case NID_rsassaPss: type = "RSA-PSS"; break;
		case NID_ED25519: type = "ED25519"; break;
		case NID_ED448: type = "ED448"; break;
		default: break;
		}
	}
	PKCS8_PRIV_KEY_INFO_free(p8);
	ERR_clear_error();
	return type;
}

EVP_PKEY *pki_der_private_key(const unsigned char *der, size_t len)
{
	OSSL_DECODER_CTX *dctx = NULL;
	EVP_PKEY *pkey = NULL;
	const unsigned char *p = der;
	size_t left = len;
	const char *type;

	if (der == NULL || len == 0 || len > PKI_MAX_INPUT)
		return NULL;
	if ((pkey = pki_ec_from_pkcs8(der, len)) != NULL)
		return pkey;
	type = pkcs8_key_type(der, len);
	/* No passphrase is set: an encrypted key fails here. */
	dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "DER", type != NULL ? "PrivateKeyInfo" : NULL,
					     type, EVP_PKEY_KEYPAIR, NULL, NULL);
	if (dctx == NULL)
		goto out;
	if (OSSL_DECODER_from_data(dctx, &p, &left) != 1 || pkey == NULL) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
		goto out;
	}
	if (left != 0 || !pki_pkey_has_private(pkey)) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
		ERR_raise_data(ERR_LIB_ASN1, ASN1_R_DECODE_ERROR, "not a private key");
	}
out:
	OSSL_DECODER_CTX_free(dctx);
	return pkey;
}

bool pki_der_is_encrypted_key(const unsigned char *der, size_t len)
{
	X509_SIG *sig = pki_der_whole(ASN1_ITEM_rptr(X509_SIG), der, len, PKI_MAX_INPUT);
	const X509_ALGOR *alg = NULL;
	const ASN1_OBJECT *oid = NULL;
	bool ok = false;

	if (sig != NULL) {
		X509_SIG_get0(sig, &alg, NULL);
		X509_ALGOR_get0(&oid, NULL, NULL, alg);
		/* A password-based encryption scheme, not a DigestInfo. */
		ok = EVP_PBE_find(EVP_PBE_TYPE_OUTER, OBJ_obj2nid(oid), NULL, NULL, NULL) == 1;
	}
	X509_SIG_free(sig);
	ERR_clear_error();
	return ok;
}

int pki_bio_to_buf(BIO *bio, struct moat_buf *out, struct moat_err *err)
{
	char *p = NULL;
	long n = BIO_get_mem_data(bio, &p);

	if (n < 0 || (n > 0 && p == NULL)) {
		pki_err_drain(err, "cannot encode the output");
		return -1;
	}
	if (moat_buf_append(out, p, (size_t)n) != 0) {
		pki_err_set(err, "out of memory");
		return -1;
	}
	return 0;
}

int pki_encoded_out(const ASN1_ITEM *it, const void *obj, const char *label, const char *what,
		    struct moat_buf *out, struct moat_err *err)
{
	unsigned char *der = NULL;
	BIO *bio = NULL;
	int len, rc = -1;

	ERR_clear_error();
	if (obj == NULL) {
		moat_err_set(err, "no %s", what);
		return -1;
	}
	len = ASN1_item_i2d(obj, &der, it);
	if (der == NULL || len <= 0) {
		pki_err_drain(err, "cannot encode the %s", what);
		goto out;
	}
	if (label == NULL) {
		if (moat_buf_append(out, der, (size_t)len) != 0) {
			moat_err_set(err, "out of memory");
			goto out;
		}
		rc = 0;
		goto out;
	}
	if ((bio = BIO_new(BIO_s_mem())) == NULL || PEM_write_bio(bio, label, "", der, len) <= 0) {
		pki_err_drain(err, "cannot encode the %s as PEM", what);
		goto out;
	}
	rc = pki_bio_to_buf(bio, out, err);
out:
	BIO_free(bio);
	OPENSSL_free(der);
	return rc;
}
