/* object.c: whatever an input holds (for `moat inspect` and fuzzing):
 * certificates, CSRs, CRLs and private keys, in PEM or DER. */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "pki/internal.h"

enum block_kind {
	BLOCK_UNKNOWN,
	BLOCK_CERT,
	BLOCK_CSR,
	BLOCK_CRL,
	BLOCK_KEY,
	BLOCK_ENC_KEY,      /* PKCS#8 EncryptedPrivateKeyInfo */
	BLOCK_TRAD_ENC_KEY, /* "Proc-Type: 4,ENCRYPTED" RSA/EC key */
};

static enum block_kind block_kind(const struct pki_pem_block *b)
{
	const char *n = b->name;

	if (strcmp(n, "CERTIFICATE") == 0 || strcmp(n, "X509 CERTIFICATE") == 0)
		return BLOCK_CERT;
	if (strcmp(n, "CERTIFICATE REQUEST") == 0 || strcmp(n, "NEW CERTIFICATE REQUEST") == 0)
		return BLOCK_CSR;
	if (strcmp(n, "X509 CRL") == 0)
		return BLOCK_CRL;
	if (strcmp(n, "ENCRYPTED PRIVATE KEY") == 0)
		return BLOCK_ENC_KEY;
	if (strcmp(n, "PRIVATE KEY") == 0 || strcmp(n, "RSA PRIVATE KEY") == 0 ||
	    strcmp(n, "EC PRIVATE KEY") == 0) {
		if (b->header != NULL && strstr(b->header, "ENCRYPTED") != NULL)
			return BLOCK_TRAD_ENC_KEY;
		return BLOCK_KEY;
	}
	return BLOCK_UNKNOWN;
}

static const char *kind_text(enum block_kind k)
{
	switch (k) {
	case BLOCK_CERT:
		return "certificate";
	case BLOCK_CSR:
		return "CSR";
	case BLOCK_CRL:
		return "CRL";
	default:
		return "private key";
	}
}

/* Decode one object of a known kind into o; -1 when malformed (the OpenSSL
 * queue is left for the caller). */
static int decode(enum block_kind k, const unsigned char *der, size_t len,
		  struct pki_object *o)
{
	X509 *x;
	X509_REQ *req;
	X509_CRL *crl;
	EVP_PKEY *pkey;

	memset(o, 0, sizeof(*o));
	switch (k) {
	case BLOCK_CERT:
		o->kind = PKI_OBJ_CERT;
		if ((x = pki_der_cert(der, len)) == NULL)
			return -1;
		o->cert = pki_cert_wrap(x, NULL);
		return o->cert != NULL ? 0 : -1;
	case BLOCK_CSR:
		o->kind = PKI_OBJ_CSR;
		if ((req = pki_der_csr(der, len)) == NULL)
			return -1;
		o->csr = pki_csr_wrap(req, NULL);
		return o->csr != NULL ? 0 : -1;
	case BLOCK_CRL:
		o->kind = PKI_OBJ_CRL;
		if ((crl = pki_der_crl(der, len)) == NULL)
			return -1;
		o->crl = pki_crl_wrap(crl, NULL);
		return o->crl != NULL ? 0 : -1;
	case BLOCK_KEY:
		o->kind = PKI_OBJ_KEY;
		if ((pkey = pki_der_private_key(der, len)) == NULL)
			return -1;
		o->key = pki_key_wrap(pkey, true, NULL);
		return o->key != NULL ? 0 : -1;
	case BLOCK_ENC_KEY:
		o->kind = PKI_OBJ_KEY;
		o->encrypted = true;
		return pki_der_is_encrypted_key(der, len) ? 0 : -1;
	case BLOCK_TRAD_ENC_KEY: /* not decrypted: its body is opaque */
		o->kind = PKI_OBJ_KEY;
		o->encrypted = true;
		return len > 0 ? 0 : -1;
	default:
		return -1;
	}
}

static int parse_pem(const void *data, size_t len, struct pki_object *objs, size_t *n,
		     char *skipped, size_t skippedlen, struct moat_err *err)
{
	struct pki_pem_block b = {0};
	BIO *bio;
	int r, rc = -1;

	bio = pki_mem_bio(data, len, err);
	if (bio == NULL)
		return -1;
	while ((r = pki_pem_next(bio, &b, err)) == 1) {
		enum block_kind k = block_kind(&b);

		if (k == BLOCK_UNKNOWN) {
			if (skipped[0] == '\0')
				moat_escape(skipped, skippedlen, b.name, strlen(b.name));
			pki_pem_block_free(&b);
			continue;
		}
		if (*n >= PKI_MAX_FILE_OBJECTS) {
			pki_err_set(err, "too many objects in the input (at most %d)",
				    PKI_MAX_FILE_OBJECTS);
			goto out;
		}
		if (decode(k, b.der, (size_t)b.len, &objs[*n]) != 0) {
			pki_err_drain(err, "object %zu in the input (a %s) is malformed", *n + 1,
				      kind_text(k));
			goto out;
		}
		(*n)++;
		pki_pem_block_free(&b);
	}
	if (r < 0) {
		moat_err_prefix(err, "object %zu in the input", *n + 1);
		goto out;
	}
	rc = 0;
out:
	pki_pem_block_free(&b);
	BIO_free(bio);
	return rc;
}

static int parse_der(const unsigned char *der, size_t len, struct pki_object *o)
{
	static const enum block_kind order[] = {BLOCK_CERT, BLOCK_CSR, BLOCK_CRL, BLOCK_KEY,
						BLOCK_ENC_KEY};

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (decode(order[i], der, len, o) == 0)
			return 0;
		ERR_clear_error();
	}
	memset(o, 0, sizeof(*o));
	return -1;
}

int pki_objects_parse(const void *data, size_t len, struct pki_object **out, size_t *n,
		      struct moat_err *err)
{
	struct pki_object *objs = NULL;
	size_t count = 0;
	char skipped[64] = "";
	int rc = -1;

	*out = NULL;
	*n = 0;
	ERR_clear_error();
	if (data == NULL || len == 0) {
		moat_err_set(err, "the input is empty");
		goto out;
	}
	if (len > PKI_MAX_INPUT) {
		moat_err_set(err, "the input is too large (%zu bytes; at most %d)", len,
			     PKI_MAX_INPUT);
		goto out;
	}
	objs = calloc(PKI_MAX_FILE_OBJECTS, sizeof(*objs));
	if (objs == NULL) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	if (pki_looks_pem(data, len)) {
		if (parse_pem(data, len, objs, &count, skipped, sizeof(skipped), err) != 0)
			goto out;
	} else {
		if (parse_der(data, len, &objs[0]) != 0) {
			pki_err_set(err, "not a certificate, CSR, CRL or private key: no PEM block and "
					 "not DER");
			goto out;
		}
		count = 1;
	}
	if (count == 0) {
		if (skipped[0] != '\0')
			pki_err_set(err, "no certificate, CSR, CRL or private key in the input (only %s)",
				    skipped);
		else
			pki_err_set(err, "no certificate, CSR, CRL or private key in the input");
		goto out;
	}
	*out = objs;
	*n = count;
	objs = NULL;
	count = 0;
	rc = 0;
out:
	pki_objects_free(objs, count);
	ERR_clear_error();
	return rc;
}

void pki_objects_free(struct pki_object *o, size_t n)
{
	if (o == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		pki_cert_free(o[i].cert);
		pki_csr_free(o[i].csr);
		pki_key_free(o[i].key);
		pki_crl_free(o[i].crl);
	}
	free(o);
}
