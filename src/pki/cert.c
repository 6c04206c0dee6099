/* cert.c: certificates in and out, their public key and issuer. */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "pki/internal.h"

static bool is_cert_block(const char *name)
{
	return strcmp(name, "CERTIFICATE") == 0 || strcmp(name, "X509 CERTIFICATE") == 0;
}

void pki_cert_free(struct pki_cert *c)
{
	if (c == NULL)
		return;
	X509_free(c->x);
	free(c);
}

void pki_certs_free(struct pki_cert **c, size_t n)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		pki_cert_free(c[i]);
	free(c);
}

/* Certificates from PEM blocks into certs[*n..max-1]; refuses more than
 * max when max > 1 (rather than silently dropping what follows). */
static int read_pem_certs(const void *data, size_t len, size_t max, struct pki_cert **certs,
			  size_t *n, struct moat_err *err)
{
	struct pki_pem_block b = {0};
	BIO *bio = NULL;
	int r = 0, rc = -1;

	bio = pki_mem_bio(data, len, err);
	if (bio == NULL)
		goto out;
	while ((max == 1 ? *n < 1 : true) && (r = pki_pem_next(bio, &b, err)) == 1) {
		if (is_cert_block(b.name)) {
			X509 *x;

			if (*n == max) {
				pki_err_set(err, "too many certificates in the input (at most %zu)",
					    max);
				goto out;
			}
			x = pki_der_cert(b.der, (size_t)b.len);
			if (x == NULL) {
				pki_err_drain(err, "certificate %zu in the input is malformed",
					      *n + 1);
				goto out;
			}
			certs[*n] = pki_cert_wrap(x, err);
			if (certs[*n] == NULL)
				goto out;
			(*n)++;
		}
		pki_pem_block_free(&b);
	}
	if (r < 0)
		goto out;
	if (*n == 0) {
		pki_err_set(err, "no CERTIFICATE block in the input");
		goto out;
	}
	rc = 0;
out:
	pki_pem_block_free(&b);
	BIO_free(bio);
	return rc;
}

int pki_pem_each_cert(const void *data, size_t len,
		      int (*fn)(const struct pki_cert *c, void *arg), void *arg,
		      struct moat_err *err)
{
	struct pki_pem_block b = {0};
	BIO *bio = pki_mem_bio(data, len, err);
	size_t n = 0;
	int r = -1, rc = -1;

	if (bio == NULL)
		return -1;
	while ((r = pki_pem_next(bio, &b, err)) == 1) {
		if (is_cert_block(b.name)) {
			X509 *x = pki_der_cert(b.der, (size_t)b.len);
			struct pki_cert *c;
			int stop;

			if (x == NULL) {
				pki_err_drain(err, "certificate %zu in the bundle is malformed", n + 1);
				goto out;
			}
			if ((c = pki_cert_wrap(x, err)) == NULL)
				goto out;
			n++;
			stop = fn(c, arg);
			pki_cert_free(c);
			if (stop != 0) {
				r = 0;
				break;
			}
		}
		pki_pem_block_free(&b);
	}
	if (r == 0)
		rc = 0;
out:
	pki_pem_block_free(&b);
	BIO_free(bio);
	ERR_clear_error();
	return rc;
}

/* Read up to max certificates (max >= 1) from PEM blocks, or one DER. */
static int read_certs(const void *data, size_t len, size_t max, struct pki_cert ***out,
		      size_t *nout, struct moat_err *err)
{
	struct pki_cert **certs = NULL;
	size_t n = 0;
	X509 *x;
	int rc = -1;

	ERR_clear_error();
	if (pki_input_check(data, len, "certificate", err) != 0)
		goto out;
	certs = calloc(max, sizeof(*certs));
	if (certs == NULL) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	if (pki_looks_pem(data, len)) {
		if (read_pem_certs(data, len, max, certs, &n, err) != 0)
			goto out;
	} else {
		x = pki_der_cert(data, len);
		if (x == NULL) {
			pki_err_set(err, "not a certificate: no PEM block and not DER");
			goto out;
		}
		certs[0] = pki_cert_wrap(x, err);
		if (certs[0] == NULL)
			goto out;
		n = 1;
	}
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

struct pki_cert *pki_cert_from_pem(const void *data, size_t len, struct moat_err *err)
{
	struct pki_cert **certs = NULL;
	struct pki_cert *c;
	size_t n = 0;

	if (read_certs(data, len, 1, &certs, &n, err) != 0)
		return NULL;
	c = certs[0];
	certs[0] = NULL;
	pki_certs_free(certs, n);
	return c;
}

int pki_certs_from_pem(const void *data, size_t len, struct pki_cert ***out, size_t *n,
		       struct moat_err *err)
{
	return read_certs(data, len, PKI_MAX_OBJECTS, out, n, err);
}

struct pki_cert *pki_cert_dup(const struct pki_cert *c)
{
	return c != NULL ? pki_cert_from_x509(c->x, NULL) : NULL;
}

int pki_cert_to_pem(const struct pki_cert *c, struct moat_buf *out, struct moat_err *err)
{
	return pki_encoded_out(ASN1_ITEM_rptr(X509), c != NULL ? c->x : NULL, "CERTIFICATE",
			       "certificate", out, err);
}

int pki_cert_to_der(const struct pki_cert *c, struct moat_buf *out, struct moat_err *err)
{
	return pki_encoded_out(ASN1_ITEM_rptr(X509), c != NULL ? c->x : NULL, NULL, "certificate",
			       out, err);
}

struct pki_key *pki_cert_pubkey(const struct pki_cert *c, struct moat_err *err)
{
	EVP_PKEY *pub;

	ERR_clear_error();
	if (c == NULL) {
		moat_err_set(err, "no certificate");
		return NULL;
	}
	pub = X509_get_pubkey(c->x);
	if (pub == NULL) {
		pki_err_drain(err, "cannot read the certificate's public key");
		return NULL;
	}
	return pki_key_wrap(pub, false, err);
}

bool pki_cert_issued_by(const struct pki_cert *c, const struct pki_cert *issuer)
{
	bool ok;

	if (c == NULL || issuer == NULL)
		return false;
	ok = X509_check_issued(issuer->x, c->x) == X509_V_OK;
	ERR_clear_error();
	return ok;
}

bool pki_cert_signed_by(const struct pki_cert *c, const struct pki_cert *issuer)
{
	EVP_PKEY *pub;
	bool ok = false;

	if (c == NULL || issuer == NULL)
		return false;
	pub = X509_get0_pubkey(issuer->x);
	if (pub != NULL &&
	    X509_NAME_cmp(X509_get_issuer_name(c->x), X509_get_subject_name(issuer->x)) == 0)
		ok = X509_verify(c->x, pub) == 1;
	ERR_clear_error();
	return ok;
}

ASN1_OCTET_STRING *pki_pubkey_keyid(X509_PUBKEY *xpk)
{
	const unsigned char *pk = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int pklen = 0;
	ASN1_OCTET_STRING *id;

	if (xpk == NULL || X509_PUBKEY_get0_param(NULL, &pk, &pklen, NULL, xpk) != 1 ||
	    pk == NULL || pklen <= 0 ||
	    EVP_Digest(pk, (size_t)pklen, md, &mdlen, EVP_sha1(), NULL) != 1)
		return NULL;
	id = ASN1_OCTET_STRING_new();
	if (id != NULL && ASN1_OCTET_STRING_set(id, md, (int)mdlen) != 1) {
		ASN1_OCTET_STRING_free(id);
		id = NULL;
	}
	return id;
}

ASN1_OCTET_STRING *pki_cert_keyid(X509 *x)
{
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(x);

	if (ski != NULL)
		return ASN1_OCTET_STRING_dup(ski);
	return pki_pubkey_keyid(X509_get_X509_PUBKEY(x));
}
