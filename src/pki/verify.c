/* verify.c: chain verification as a strict TLS client does it. */
#include <stdio.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include "pki/internal.h"

static void failure(X509_STORE_CTX *ctx, struct moat_err *err)
{
	int code = X509_STORE_CTX_get_error(ctx);
	int depth = X509_STORE_CTX_get_error_depth(ctx);
	X509 *at = X509_STORE_CTX_get_current_cert(ctx);
	char subject[256];

	if (at != NULL)
		pki_name_oneline(X509_get_subject_name(at), subject, sizeof(subject));
	else
		snprintf(subject, sizeof(subject), "unknown certificate");
	if (code == X509_V_OK)
		pki_err_drain(err, "certificate verification failed (at depth %d: %s)", depth,
			      subject);
	else
		pki_err_set(err, "certificate verification failed: %s (at depth %d: %s)",
			    X509_verify_cert_error_string(code), depth, subject);
}

int pki_verify_setup(X509_STORE_CTX *ctx, X509_STORE *store, STACK_OF(X509) *chain,
		     const struct pki_cert *leaf, struct pki_cert *const *untrusted, size_t n,
		     unsigned long flags, int64_t at, struct moat_err *err)
{
	if (n > PKI_MAX_OBJECTS) {
		moat_err_set(err, "too many intermediate certificates (%zu; at most %d)", n,
			     PKI_MAX_OBJECTS);
		return -1;
	}
	if ((int64_t)(time_t)at != at) {
		moat_err_set(err, "the verification time is out of range");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (untrusted[i] == NULL || !sk_X509_push(chain, untrusted[i]->x)) {
			pki_err_drain(err, "cannot use intermediate certificate %zu", i + 1);
			return -1;
		}
	}
	if (X509_STORE_CTX_init(ctx, store, leaf->x, chain) != 1) {
		pki_err_drain(err, "cannot set up certificate verification");
		return -1;
	}
	X509_STORE_CTX_set_flags(ctx, flags);
	if (X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER) != 1) {
		pki_err_drain(err, "cannot set the verification purpose");
		return -1;
	}
	if (at != 0)
		X509_STORE_CTX_set_time(ctx, 0, (time_t)at); /* sets USE_CHECK_TIME */
	return 0;
}

int pki_verify_chain(const struct pki_cert *leaf, struct pki_cert *const *untrusted, size_t n,
		     const struct pki_cert *root, const struct pki_crl *crl, int64_t at,
		     struct moat_err *err)
{
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	STACK_OF(X509) *chain = NULL;
	unsigned long flags = X509_V_FLAG_X509_STRICT;
	int rc = -1;

	ERR_clear_error();
	if (leaf == NULL || root == NULL || (n > 0 && untrusted == NULL)) {
		moat_err_set(err, "pki_verify_chain: missing certificate");
		goto out;
	}
	store = X509_STORE_new();
	ctx = X509_STORE_CTX_new();
	chain = sk_X509_new_null();
	if (store == NULL || ctx == NULL || chain == NULL) {
		pki_err_drain(err, "out of memory");
		goto out;
	}
	if (X509_STORE_add_cert(store, root->x) != 1) {
		pki_err_drain(err, "cannot use the root certificate as a trust anchor");
		goto out;
	}
	if (crl != NULL) {
		if (X509_STORE_add_crl(store, crl->crl) != 1) {
			pki_err_drain(err, "cannot use the CRL");
			goto out;
		}
		flags |= X509_V_FLAG_CRL_CHECK;
	}
	if (pki_verify_setup(ctx, store, chain, leaf, untrusted, n, flags, at, err) != 0)
		goto out;
	if (X509_verify_cert(ctx) != 1) {
		failure(ctx, err);
		goto out;
	}
	rc = 0;
out:
	X509_STORE_CTX_free(ctx);
	sk_X509_free(chain); /* the certificates belong to the caller */
	X509_STORE_free(store);
	ERR_clear_error();
	return rc;
}
