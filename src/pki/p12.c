/* p12.c: PKCS#12 bundles that OpenSSL 3, browsers and OS key stores open:
 * PBES2 (PBKDF2-SHA256, AES-256-CBC) for key and certificates, HMAC-SHA256
 * MAC. */
#include <string.h>

#include <openssl/err.h>
#include <openssl/pkcs12.h>

#include "pki/internal.h"

#define PASS_MAX 1024

static int check_args(const struct pki_key *key, const struct pki_cert *cert,
		      struct pki_cert *const *chain, size_t nchain, const char *pass,
		      size_t passlen, struct moat_err *err)
{
	if (key == NULL || cert == NULL || (nchain > 0 && chain == NULL)) {
		moat_err_set(err, "pki_p12_build: missing key or certificate");
		return -1;
	}
	if (!key->priv) {
		moat_err_set(err, "a PKCS#12 bundle needs the private key, not only the public key");
		return -1;
	}
	if (!pki_key_matches_cert(key, cert)) {
		moat_err_set(err, "the key does not match the certificate");
		return -1;
	}
	if (nchain > PKI_MAX_OBJECTS) {
		moat_err_set(err, "the chain is too long (%zu certificates; at most %d)", nchain,
			     PKI_MAX_OBJECTS);
		return -1;
	}
	if (pass == NULL || passlen == 0) {
		moat_err_set(err, "a PKCS#12 bundle needs a passphrase");
		return -1;
	}
	if (passlen > PASS_MAX || memchr(pass, '\0', passlen) != NULL) {
		moat_err_set(err, "the passphrase must be at most %d bytes without NUL characters",
			     PASS_MAX);
		return -1;
	}
	return 0;
}

int pki_p12_build(const struct pki_key *key, const struct pki_cert *cert,
		  struct pki_cert *const *chain, size_t nchain, const char *friendly,
		  const char *pass, size_t passlen, struct moat_buf *out, struct moat_err *err)
{
	char pw[PASS_MAX + 1];
	STACK_OF(X509) *ca = NULL;
	PKCS12 *p12 = NULL;
	int rc = -1;

	ERR_clear_error();
	if (check_args(key, cert, chain, nchain, pass, passlen, err) != 0)
		return -1;
	memcpy(pw, pass, passlen);
	pw[passlen] = '\0';
	ca = sk_X509_new_null();
	if (ca == NULL) {
		pki_err_drain(err, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nchain; i++) {
		if (chain[i] == NULL || !sk_X509_push(ca, chain[i]->x)) {
			pki_err_drain(err, "cannot add chain certificate %zu", i + 1);
			goto out;
		}
	}
	/* mac_iter -1: no MAC here; an HMAC-SHA256 one is set below. */
	p12 = PKCS12_create_ex(pw, friendly, key->pkey, cert->x, ca, NID_aes_256_cbc,
			       NID_aes_256_cbc, PKCS12_DEFAULT_ITER, -1, 0, NULL, NULL);
	if (p12 == NULL) {
		pki_err_drain(err, "cannot build the PKCS#12 bundle");
		goto out;
	}
	if (PKCS12_set_mac(p12, pw, (int)passlen, NULL, 0, PKCS12_DEFAULT_ITER, EVP_sha256()) != 1) {
		pki_err_drain(err, "cannot add the PKCS#12 MAC");
		goto out;
	}
	rc = pki_encoded_out(ASN1_ITEM_rptr(PKCS12), p12, NULL, "PKCS#12 bundle", out, err);
out:
	OPENSSL_cleanse(pw, sizeof(pw));
	PKCS12_free(p12);
	sk_X509_free(ca); /* the certificates belong to the caller */
	ERR_clear_error();
	return rc;
}
