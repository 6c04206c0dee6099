/* path.c: path building against many trust anchors as a strict TLS client
 * does it, and the key/signature strength of a certificate. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include "pki/internal.h"

#define SECURITY_LEVEL 2 /* 112 bits: what current distributions default to */

static enum pki_path_code classify(int e)
{
	switch (e) {
	case X509_V_OK:
		return PKI_PATH_OK;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		return PKI_PATH_NO_ISSUER;
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
		return PKI_PATH_SELF_SIGNED_LEAF;
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_CERT_REJECTED:
		return PKI_PATH_UNTRUSTED_ROOT;
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return PKI_PATH_EXPIRED;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return PKI_PATH_NOT_YET_VALID;
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
	case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
		return PKI_PATH_BAD_SIGNATURE;
	case X509_V_ERR_INVALID_CA:
	case X509_V_ERR_INVALID_PURPOSE:
	case X509_V_ERR_PATH_LENGTH_EXCEEDED:
	case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
	case X509_V_ERR_INVALID_NON_CA:
	case X509_V_ERR_PROXY_CERTIFICATES_NOT_ALLOWED:
		return PKI_PATH_NOT_CA;
	case X509_V_ERR_PERMITTED_VIOLATION:
	case X509_V_ERR_EXCLUDED_VIOLATION:
	case X509_V_ERR_SUBTREE_MINMAX:
	case X509_V_ERR_UNSUPPORTED_CONSTRAINT_TYPE:
	case X509_V_ERR_UNSUPPORTED_CONSTRAINT_SYNTAX:
	case X509_V_ERR_UNSUPPORTED_NAME_SYNTAX:
#ifdef X509_V_ERR_NAME_CONSTRAINTS_WITHOUT_SANS
	case X509_V_ERR_NAME_CONSTRAINTS_WITHOUT_SANS:
#endif
		return PKI_PATH_NAME_CONSTRAINTS;
	case X509_V_ERR_EE_KEY_TOO_SMALL:
	case X509_V_ERR_CA_KEY_TOO_SMALL:
	case X509_V_ERR_CA_MD_TOO_WEAK:
		return PKI_PATH_WEAK;
	default:
		return PKI_PATH_OTHER;
	}
}

void pki_path_result_clear(struct pki_path_result *res)
{
	if (res == NULL)
		return;
	for (size_t i = 0; i < res->npath && i < PKI_PATH_MAX; i++)
		pki_cert_free(res->path[i]);
	memset(res, 0, sizeof(*res));
}

/* The chain the context built (complete or not) into res->path. */
static int take_path(X509_STORE_CTX *ctx, struct pki_path_result *res, struct moat_err *err)
{
	STACK_OF(X509) *chain = X509_STORE_CTX_get1_chain(ctx);
	int n = chain != NULL ? sk_X509_num(chain) : 0;
	int rc = -1;

	for (int i = 0; i < n && res->npath < PKI_PATH_MAX; i++) {
		res->path[res->npath] = pki_cert_from_x509(sk_X509_value(chain, i), err);
		if (res->path[res->npath] == NULL)
			goto out;
		res->npath++;
	}
	rc = 0;
out:
	sk_X509_pop_free(chain, X509_free);
	return rc;
}

int pki_verify_path(const struct pki_cert *leaf, struct pki_cert *const *untrusted, size_t nu,
		    struct pki_cert *const *anchors, size_t na, int64_t at,
		    struct pki_path_result *res, struct moat_err *err)
{
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	STACK_OF(X509) *chain = NULL;
	X509_VERIFY_PARAM *param;
	int e, rc = -1;

	ERR_clear_error();
	memset(res, 0, sizeof(*res));
	if (leaf == NULL || (nu > 0 && untrusted == NULL) || (na > 0 && anchors == NULL)) {
		moat_err_set(err, "pki_verify_path: missing certificate");
		goto out;
	}
	if (at == 0)
		at = (int64_t)time(NULL);
	store = X509_STORE_new();
	ctx = X509_STORE_CTX_new();
	chain = sk_X509_new_null();
	if (store == NULL || ctx == NULL || chain == NULL) {
		pki_err_drain(err, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < na; i++) {
		/* A repeated anchor is not an error (OpenSSL 3 skips it). */
		if (anchors[i] == NULL || X509_STORE_add_cert(store, anchors[i]->x) != 1) {
			pki_err_drain(err, "cannot use trust anchor %zu", i + 1);
			goto out;
		}
	}
	if (pki_verify_setup(ctx, store, chain, leaf, untrusted, nu, X509_V_FLAG_X509_STRICT, at,
			     err) != 0)
		goto out;
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_clear_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
	X509_VERIFY_PARAM_set_auth_level(param, SECURITY_LEVEL);
	if (X509_verify_cert(ctx) == 1) {
		res->code = PKI_PATH_OK;
	} else {
		e = X509_STORE_CTX_get_error(ctx);
		if (e == X509_V_OK) {
			/* failed without a verdict: an internal error */
			pki_err_drain(err, "certificate verification could not run");
			goto out;
		}
		res->verify_error = e;
		res->code = classify(e);
		res->depth = X509_STORE_CTX_get_error_depth(ctx);
		snprintf(res->detail, sizeof(res->detail), "%s", X509_verify_cert_error_string(e));
	}
	if (take_path(ctx, res, err) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		pki_path_result_clear(res);
	X509_STORE_CTX_free(ctx);
	sk_X509_free(chain); /* the certificates belong to the caller */
	X509_STORE_free(store);
	ERR_clear_error();
	return rc;
}

/* ---- strength ------------------------------------------------------------ */

int pki_cert_key_bits(const struct pki_cert *c)
{
	EVP_PKEY *pk = c != NULL ? X509_get0_pubkey(c->x) : NULL;
	int bits = 0;

	if (pk == NULL) {
		ERR_clear_error();
		return 0;
	}
	if (EVP_PKEY_is_a(pk, "ED25519"))
		bits = 256;
	else if (EVP_PKEY_is_a(pk, "ED448"))
		bits = 456;
	else
		bits = EVP_PKEY_get_bits(pk);
	ERR_clear_error();
	return bits > 0 ? bits : 0;
}

bool pki_cert_sig_sha1(const struct pki_cert *c)
{
	int mdnid = NID_undef, pknid = NID_undef;
	bool weak;

	if (c == NULL)
		return false;
	if (X509_get_signature_info(c->x, &mdnid, &pknid, NULL, NULL) != 1) {
		/* Unknown to OpenSSL: look at the algorithm's digest directly. */
		if (!OBJ_find_sigid_algs(X509_get_signature_nid(c->x), &mdnid, &pknid))
			mdnid = NID_undef;
	}
	weak = mdnid == NID_sha1 || mdnid == NID_md5 || mdnid == NID_md4 || mdnid == NID_md2 ||
	       mdnid == NID_md5_sha1;
	ERR_clear_error();
	return weak;
}
