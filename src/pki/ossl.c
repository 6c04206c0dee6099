/* ossl.c: the accessors of pki/ossl.h, for the TLS code outside src/pki
 * that hands pki's objects to OpenSSL. */
#include "pki/internal.h"

X509 *pki_cert_x509(const struct pki_cert *c)
{
	return c->x;
}

EVP_PKEY *pki_key_evp(const struct pki_key *k)
{
	return k->pkey;
}

struct pki_cert *pki_cert_from_x509(X509 *x, struct moat_err *err)
{
	if (x == NULL) {
		pki_err_set(err, "no certificate");
		return NULL;
	}
	if (X509_up_ref(x) != 1) {
		pki_err_drain(err, "cannot keep the certificate");
		return NULL;
	}
	return pki_cert_wrap(x, err); /* drops that reference on failure */
}
