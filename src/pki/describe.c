/* describe.c: readings of certificates and CSRs for people (pki_cert_info,
 * pki_csr_info).  Everything that comes from the object is escaped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "pki/internal.h"

/* ---- certificate info --------------------------------------------------- */

static void serial_text(const ASN1_INTEGER *serial, char *out, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = ASN1_STRING_get0_data(serial);
	int len = ASN1_STRING_length(serial);
	size_t o = 0;

	if (n < 8)
		return;
	if (ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER)
		out[o++] = '-';
	if (p == NULL || len <= 0) {
		snprintf(out + o, n - o, "00");
		return;
	}
	for (int i = 0; i < len; i++) {
		if (o + 2 + 4 > n) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		out[o++] = hex[p[i] >> 4];
		out[o++] = hex[p[i] & 15];
	}
	out[o] = '\0';
}

static void sig_alg_text(const X509_ALGOR *alg, char *out, size_t n)
{
	const ASN1_OBJECT *oid = NULL;

	X509_ALGOR_get0(&oid, NULL, NULL, alg);
	pki_obj_text(oid, false, out, n);
}

static void key_usage_text(X509 *x, char *out, size_t n)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} ku[] = {
		{KU_DIGITAL_SIGNATURE, "digitalSignature"}, {KU_NON_REPUDIATION, "nonRepudiation"},
		{KU_KEY_ENCIPHERMENT, "keyEncipherment"},   {KU_DATA_ENCIPHERMENT, "dataEncipherment"},
		{KU_KEY_AGREEMENT, "keyAgreement"},         {KU_KEY_CERT_SIGN, "keyCertSign"},
		{KU_CRL_SIGN, "cRLSign"},                   {KU_ENCIPHER_ONLY, "encipherOnly"},
		{KU_DECIPHER_ONLY, "decipherOnly"},
	};
	uint32_t v = X509_get_key_usage(x);
	struct pki_sb s;
	bool first = true;

	pki_sb_init(&s, out, n);
	if ((X509_get_extension_flags(x) & EXFLAG_KUSAGE) == 0)
		return;
	for (size_t i = 0; i < sizeof(ku) / sizeof(ku[0]); i++) {
		if ((v & ku[i].bit) == 0)
			continue;
		if (!first)
			pki_sb_add(&s, ", ");
		pki_sb_add(&s, ku[i].name);
		first = false;
	}
}

static void ext_key_usage_text(X509 *x, char *out, size_t n)
{
	int crit = -1;
	EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, &crit, NULL);
	struct pki_sb s;

	pki_sb_init(&s, out, n);
	if (eku == NULL) {
		if (crit != -1)
			pki_sb_add(&s, "(malformed)");
		ERR_clear_error();
		return;
	}
	for (int i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
		const ASN1_OBJECT *o = sk_ASN1_OBJECT_value(eku, i);
		int nid = OBJ_obj2nid(o);
		char t[80];

		if (nid != NID_undef && OBJ_nid2sn(nid) != NULL)
			snprintf(t, sizeof(t), "%s", OBJ_nid2sn(nid));
		else
			pki_obj_text(o, true, t, sizeof(t));
		if (i > 0)
			pki_sb_add(&s, ", ");
		pki_sb_add(&s, t);
	}
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
}

static void subtrees_text(struct pki_sb *s, const STACK_OF(GENERAL_SUBTREE) *sk)
{
	for (int i = 0; i < sk_GENERAL_SUBTREE_num(sk) && !s->full; i++) {
		const GENERAL_SUBTREE *st = sk_GENERAL_SUBTREE_value(sk, i);
		char t[600];

		pki_general_name_text(st->base, true, t, sizeof(t));
		if (i > 0)
			pki_sb_add(s, ", ");
		pki_sb_add(s, t);
	}
}

static void name_constraints_text(X509 *x, char *out, size_t n)
{
	int crit = -1;
	NAME_CONSTRAINTS *nc = X509_get_ext_d2i(x, NID_name_constraints, &crit, NULL);
	struct pki_sb s;

	pki_sb_init(&s, out, n);
	if (nc == NULL) {
		if (crit != -1)
			pki_sb_add(&s, "(malformed)");
		ERR_clear_error();
		return;
	}
	if (sk_GENERAL_SUBTREE_num(nc->permittedSubtrees) > 0) {
		pki_sb_add(&s, "permitted: ");
		subtrees_text(&s, nc->permittedSubtrees);
	}
	if (sk_GENERAL_SUBTREE_num(nc->excludedSubtrees) > 0) {
		if (s.len > 0)
			pki_sb_add(&s, "; ");
		pki_sb_add(&s, "excluded: ");
		subtrees_text(&s, nc->excludedSubtrees);
	}
	NAME_CONSTRAINTS_free(nc);
}

static void key_id_text(const ASN1_OCTET_STRING *id, char *out, size_t n)
{
	if (id == NULL) {
		out[0] = '\0';
		return;
	}
	pki_hex_colons(ASN1_STRING_get0_data(id), (size_t)ASN1_STRING_length(id), out, n);
}

static int cert_san(X509 *x, struct pki_cert_info *out, struct moat_err *err)
{
	int crit = -1;
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	int rc;

	if (gens == NULL) {
		ERR_clear_error();
		if (crit == -1)
			return 0;
		moat_err_set(err, crit == -2 ? "the certificate has more than one subjectAltName "
					       "extension"
					     : "the certificate's subjectAltName extension is malformed");
		return -1;
	}
	rc = pki_general_names_list(gens, &out->san, &out->nsan, err);
	GENERAL_NAMES_free(gens);
	return rc;
}

int pki_cert_info(const struct pki_cert *c, struct pki_cert_info *out, struct moat_err *err)
{
	const X509_ALGOR *alg = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	X509 *x;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->pathlen = -1;
	ERR_clear_error();
	if (c == NULL) {
		moat_err_set(err, "no certificate");
		goto out;
	}
	x = c->x;
	pki_name_oneline(X509_get_subject_name(x), out->subject, sizeof(out->subject));
	pki_name_oneline(X509_get_issuer_name(x), out->issuer, sizeof(out->issuer));
	pki_name_cn(X509_get_subject_name(x), out->common_name, sizeof(out->common_name));
	serial_text(X509_get0_serialNumber(x), out->serial_hex, sizeof(out->serial_hex));
	if (pki_time_get(X509_get0_notBefore(x), &out->not_before) != 0)
		out->not_before = 0;
	if (pki_time_get(X509_get0_notAfter(x), &out->not_after) != 0)
		out->not_after = 0;
	pki_pkey_describe(X509_get0_pubkey(x), out->key_desc, sizeof(out->key_desc));
	X509_get0_signature(NULL, &alg, x);
	sig_alg_text(alg, out->sig_alg, sizeof(out->sig_alg));
	out->is_ca = (X509_get_extension_flags(x) & EXFLAG_CA) != 0;
	out->pathlen = out->is_ca ? (int)X509_get_pathlen(x) : -1;
	if (out->pathlen < -1)
		out->pathlen = -1;
	out->self_signed = X509_self_signed(x, 1) == 1;
	ERR_clear_error();
	key_usage_text(x, out->key_usage, sizeof(out->key_usage));
	ext_key_usage_text(x, out->ext_key_usage, sizeof(out->ext_key_usage));
	name_constraints_text(x, out->name_constraints, sizeof(out->name_constraints));
	if (X509_digest(x, EVP_sha256(), md, &mdlen) != 1) {
		pki_err_drain(err, "cannot compute the certificate fingerprint");
		goto out;
	}
	pki_hex_colons(md, mdlen, out->sha256, sizeof(out->sha256));
	key_id_text(X509_get0_subject_key_id(x), out->ski, sizeof(out->ski));
	key_id_text(X509_get0_authority_key_id(x), out->aki, sizeof(out->aki));
	if (cert_san(x, out, err) != 0)
		goto out;
	rc = 0;
out:
	ERR_clear_error();
	if (rc != 0)
		pki_cert_info_clear(out);
	return rc;
}

void pki_cert_info_clear(struct pki_cert_info *i)
{
	if (i == NULL)
		return;
	pki_strings_free(i->san, i->nsan);
	i->san = NULL;
	i->nsan = 0;
}

/* ---- CSR info ----------------------------------------------------------- */

int pki_csr_info(const struct pki_csr *r, struct pki_csr_info *out, struct moat_err *err)
{
	const X509_ALGOR *alg = NULL;
	GENERAL_NAMES *gens = NULL;
	EVP_PKEY *pub;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	ERR_clear_error();
	if (r == NULL) {
		moat_err_set(err, "no CSR");
		goto out;
	}
	pki_name_oneline(X509_REQ_get_subject_name(r->req), out->subject, sizeof(out->subject));
	pub = X509_REQ_get0_pubkey(r->req);
	pki_pkey_describe(pub, out->key_desc, sizeof(out->key_desc));
	X509_REQ_get0_signature(r->req, NULL, &alg);
	sig_alg_text(alg, out->sig_alg, sizeof(out->sig_alg));
	out->signature_ok = pub != NULL && X509_REQ_verify(r->req, pub) == 1;
	ERR_clear_error();
	if (pki_csr_san(r->req, &gens, err) != 0)
		goto out;
	if (pki_general_names_list(gens, &out->san, &out->nsan, err) != 0)
		goto out;
	rc = 0;
out:
	GENERAL_NAMES_free(gens);
	ERR_clear_error();
	if (rc != 0)
		pki_csr_info_clear(out);
	return rc;
}

void pki_csr_info_clear(struct pki_csr_info *i)
{
	if (i == NULL)
		return;
	pki_strings_free(i->san, i->nsan);
	i->san = NULL;
	i->nsan = 0;
}
