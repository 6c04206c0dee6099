/* csr.c: PKCS#10 certificate signing requests: reading, building,
 * checking, and the names they ask for. */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "pki/internal.h"

#define CN_MAX 64 /* ub-common-name */

struct pki_csr *pki_csr_from_pem(const void *data, size_t len, struct moat_err *err)
{
	static const char *const labels[] = {"CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST", NULL};
	X509_REQ *req;

	ERR_clear_error();
	if (pki_input_check(data, len, "CSR", err) != 0)
		return NULL;
	if (pki_looks_pem(data, len)) {
		req = pki_pem_find_der(data, len, labels, ASN1_ITEM_rptr(X509_REQ), PKI_MAX_INPUT,
				       "CSR", err);
	} else {
		req = pki_der_csr(data, len);
		if (req == NULL)
			pki_err_set(err, "not a CSR: no PEM block and not DER");
	}
	if (req == NULL)
		return NULL;
	ERR_clear_error();
	return pki_csr_wrap(req, err);
}

void pki_csr_free(struct pki_csr *r)
{
	if (r == NULL)
		return;
	X509_REQ_free(r->req);
	free(r);
}

int pki_csr_to_der(const struct pki_csr *r, struct moat_buf *out, struct moat_err *err)
{
	return pki_encoded_out(ASN1_ITEM_rptr(X509_REQ), r != NULL ? r->req : NULL, NULL, "CSR", out,
			       err);
}

int pki_csr_to_pem(const struct pki_csr *r, struct moat_buf *out, struct moat_err *err)
{
	return pki_encoded_out(ASN1_ITEM_rptr(X509_REQ), r != NULL ? r->req : NULL,
			       "CERTIFICATE REQUEST", "CSR", out, err);
}

static int add_san_request(X509_REQ *req, const struct moat_name *names, size_t n, bool crit,
			   struct moat_err *err)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_EXTENSION *ext = NULL;
	GENERAL_NAMES *gens;
	int rc = -1;

	gens = pki_san_from_names(names, n, err);
	if (gens == NULL)
		goto out;
	ext = X509V3_EXT_i2d(NID_subject_alt_name, crit ? 1 : 0, gens);
	exts = sk_X509_EXTENSION_new_null();
	if (ext == NULL || exts == NULL || !sk_X509_EXTENSION_push(exts, ext)) {
		pki_err_drain(err, "cannot encode the subjectAltName request");
		goto out;
	}
	ext = NULL; /* owned by exts */
	if (X509_REQ_add_extensions(req, exts) != 1) {
		pki_err_drain(err, "cannot add the extension request to the CSR");
		goto out;
	}
	rc = 0;
out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_EXTENSION_free(ext);
	GENERAL_NAMES_free(gens);
	return rc;
}

struct pki_csr *pki_csr_build(const struct pki_key *key, const struct moat_name *names, size_t n,
			      struct moat_err *err)
{
	X509_REQ *req = NULL;
	X509_NAME *subject = NULL;
	struct pki_csr *r = NULL;
	bool with_cn;

	ERR_clear_error();
	if (key == NULL || !key->priv) {
		moat_err_set(err, "a private key is needed to sign the CSR");
		goto out;
	}
	if (names == NULL || n == 0) {
		moat_err_set(err, "the CSR needs at least one name");
		goto out;
	}
	if (pki_pkey_check_signer(key->pkey, err) != 0)
		goto out;
	with_cn = strnlen(names[0].text, sizeof(names[0].text)) <= CN_MAX;
	req = X509_REQ_new();
	subject = X509_NAME_new();
	if (req == NULL || subject == NULL || X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1) {
		pki_err_drain(err, "out of memory");
		goto out;
	}
	if (with_cn && X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_UTF8,
						  (const unsigned char *)names[0].text, -1, -1,
						  0) != 1) {
		pki_err_drain(err, "cannot set the CSR's common name");
		goto out;
	}
	if (X509_REQ_set_subject_name(req, subject) != 1 || X509_REQ_set_pubkey(req, key->pkey) != 1) {
		pki_err_drain(err, "cannot set the CSR's subject or key");
		goto out;
	}
	if (add_san_request(req, names, n, !with_cn, err) != 0)
		goto out;
	if (X509_REQ_sign(req, key->pkey, pki_sign_md(key->pkey)) <= 0) {
		pki_err_drain(err, "cannot sign the CSR");
		goto out;
	}
	r = pki_csr_wrap(req, err);
	req = NULL;
out:
	X509_NAME_free(subject);
	X509_REQ_free(req);
	return r;
}

int pki_csr_verify(const struct pki_csr *r, struct moat_err *err)
{
	EVP_PKEY *pub;

	ERR_clear_error();
	if (r == NULL) {
		moat_err_set(err, "no CSR");
		return -1;
	}
	pub = X509_REQ_get0_pubkey(r->req);
	if (pub == NULL) {
		pki_err_drain(err, "the CSR's public key cannot be read");
		return -1;
	}
	if (X509_REQ_verify(r->req, pub) != 1) {
		pki_err_set(err, "the CSR signature does not verify");
		return -1;
	}
	return 0;
}

struct pki_key *pki_csr_pubkey(const struct pki_csr *r, struct moat_err *err)
{
	EVP_PKEY *pub;

	ERR_clear_error();
	if (r == NULL) {
		moat_err_set(err, "no CSR");
		return NULL;
	}
	pub = X509_REQ_get_pubkey(r->req);
	if (pub == NULL) {
		pki_err_drain(err, "the CSR's public key cannot be read");
		return NULL;
	}
	return pki_key_wrap(pub, false, err);
}

int pki_csr_san(X509_REQ *req, GENERAL_NAMES **out, struct moat_err *err)
{
	STACK_OF(X509_EXTENSION) *exts;
	GENERAL_NAMES *gens;
	int crit = -1;

	*out = NULL;
	ERR_clear_error();
	exts = X509_REQ_get_extensions(req);
	if (exts == NULL) {
		if (ERR_peek_error() == 0)
			return 0;
		pki_err_drain(err, "the CSR's extension request is malformed");
		return -1;
	}
	gens = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	if (gens == NULL) {
		if (crit == -1) {
			ERR_clear_error();
			return 0;
		}
		pki_err_drain(err, crit == -2 ? "the CSR requests more than one subjectAltName"
					      : "the CSR's subjectAltName is malformed");
		return -1;
	}
	ERR_clear_error();
	*out = gens;
	return 0;
}

static const char *gn_kind(int type)
{
	switch (type) {
	case GEN_EMAIL:
		return "an email address";
	case GEN_URI:
		return "a URI";
	case GEN_DIRNAME:
		return "a directory name";
	case GEN_OTHERNAME:
		return "an otherName";
	case GEN_RID:
		return "a registered ID";
	default:
		return "an unsupported name";
	}
}

/* One SAN entry as a moat_name. */
static int gn_to_name(const GENERAL_NAME *gn, struct moat_name *nm, struct moat_err *err)
{
	int type = -1;
	const ASN1_STRING *s = GENERAL_NAME_get0_value(gn, &type);
	const unsigned char *p = s != NULL ? ASN1_STRING_get0_data(s) : NULL;
	int len = s != NULL ? ASN1_STRING_length(s) : 0;
	char text[MOAT_NAME_MAX + 2];
	char shown[80];

	if (type == GEN_IPADD) {
		if (p == NULL || len <= 0 || moat_name_from_ip(p, (size_t)len, nm, err) != 0) {
			moat_err_set(err, "the CSR asks for an invalid IP address (%d bytes)", len);
			return -1;
		}
		return 0;
	}
	if (type != GEN_DNS) {
		moat_err_set(err,
			     "the CSR asks for %s in subjectAltName: moat issues certificates "
			     "for DNS names and IP addresses only",
			     gn_kind(type));
		return -1;
	}
	if (p == NULL || len <= 0 || (size_t)len >= sizeof(text) || memchr(p, '\0', (size_t)len)) {
		moat_escape(shown, sizeof(shown), (const char *)p, p != NULL && len > 0 ? (size_t)len : 0);
		moat_err_set(err, "the CSR asks for an invalid DNS name \"%s\"", shown);
		return -1;
	}
	memcpy(text, p, (size_t)len);
	text[len] = '\0';
	if (moat_name_parse(text, nm, err) != 0) {
		moat_err_prefix(err, "the CSR asks for an invalid name");
		return -1;
	}
	return 0;
}

static bool same_name(const struct moat_name *a, const struct moat_name *b)
{
	return a->type == b->type && strcmp(a->text, b->text) == 0;
}

int pki_csr_names(const struct pki_csr *r, struct moat_name **names, size_t *n, char *cn,
		  size_t cnlen, struct moat_err *err)
{
	GENERAL_NAMES *gens = NULL;
	struct moat_name *list = NULL;
	size_t count = 0;
	int num, rc = -1;

	*names = NULL;
	*n = 0;
	if (cn != NULL && cnlen > 0)
		cn[0] = '\0';
	if (r == NULL) {
		moat_err_set(err, "no CSR");
		goto out;
	}
	if (pki_csr_san(r->req, &gens, err) != 0)
		goto out;
	num = gens != NULL ? sk_GENERAL_NAME_num(gens) : 0;
	if (num > PKI_MAX_SAN) {
		moat_err_set(err, "the CSR asks for too many names (%d; at most %d)", num, PKI_MAX_SAN);
		goto out;
	}
	if (num > 0 && (list = calloc((size_t)num, sizeof(*list))) == NULL) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	for (int i = 0; i < num; i++) {
		bool dup = false;

		if (gn_to_name(sk_GENERAL_NAME_value(gens, i), &list[count], err) != 0)
			goto out;
		for (size_t j = 0; j < count && !dup; j++)
			dup = same_name(&list[j], &list[count]);
		if (!dup)
			count++;
	}
	if (cn != NULL && cnlen > 0)
		pki_name_cn(X509_REQ_get_subject_name(r->req), cn, cnlen);
	*names = list;
	*n = count;
	list = NULL;
	rc = 0;
out:
	free(list);
	GENERAL_NAMES_free(gens);
	ERR_clear_error();
	return rc;
}
