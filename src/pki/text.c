/* text.c: text for people from X.509 pieces (names, SAN entries, hex,
 * times) and the readings of certificates and CSRs built from them
 * (pki_cert_info, pki_csr_info).  Everything that comes from a peer or
 * from the object is escaped with moat_escape. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>

#include "pki/internal.h"

/* ---- a bounded string builder ----------------------------------------- */

/* A bounded string builder over a caller's buffer: what does not fit is
 * dropped and the text ends with "...". */
struct sb {
	char *p;
	size_t n;
	size_t len;
	bool full;
};

static void sb_init(struct sb *s, char *p, size_t n)
{
	s->p = p;
	s->n = n;
	s->len = 0;
	s->full = n == 0;
	if (n > 0)
		p[0] = '\0';
}

static void sb_add(struct sb *s, const char *t)
{
	size_t tl = strlen(t);

	if (s->full)
		return;
	if (s->len + tl + 1 <= s->n) {
		memcpy(s->p + s->len, t, tl + 1);
		s->len += tl;
		return;
	}
	s->full = true;
	if (s->n >= 4) {
		size_t at = s->len + 4 <= s->n ? s->len : s->n - 4;

		memcpy(s->p + at, "...", 4);
		s->len = at + 3;
	}
}

/* Peer bytes, escaped with moat_escape; with dn, ',' and '+' become \x2c
 * and \x2b too (they separate RDNs). */
static void sb_add_peer(struct sb *s, const void *data, size_t len, bool dn)
{
	char esc[512];

	moat_escape(esc, sizeof(esc), data, len);
	for (const char *c = esc; *c != '\0' && !s->full; c++) {
		char t[5];

		if (dn && (*c == ',' || *c == '+')) {
			snprintf(t, sizeof(t), "\\x%02x", (unsigned char)*c);
		} else {
			t[0] = *c;
			t[1] = '\0';
		}
		sb_add(s, t);
	}
}

/* ---- small helpers ---------------------------------------------------- */

void pki_hex_colons(const unsigned char *p, size_t len, char *out, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	if (n == 0)
		return;
	for (size_t i = 0; i < len && o + 3 <= n; i++) {
		if (i > 0) {
			if (o + 4 > n)
				break;
			out[o++] = ':';
		}
		out[o++] = hex[p[i] >> 4];
		out[o++] = hex[p[i] & 15];
	}
	out[o] = '\0';
}

int pki_time_get(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
		ERR_clear_error();
		return -1;
	}
	*out = (int64_t)timegm(&tm);
	return 0;
}

void pki_problem(char *problem, size_t n, const char *fmt, ...)
{
	va_list ap;

	if (problem[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(problem, n, fmt, ap);
	va_end(ap);
}

bool pki_update_window(const ASN1_TIME *thisupd, const ASN1_TIME *nextupd, int64_t at,
		       const char *what, int64_t *tu, int64_t *nu, char *problem, size_t n)
{
	*tu = *nu = 0;
	if (pki_time_get(thisupd, tu) != 0)
		pki_problem(problem, n, "the %s's thisUpdate is malformed", what);
	if (nextupd != NULL && pki_time_get(nextupd, nu) != 0)
		pki_problem(problem, n, "the %s's nextUpdate is malformed", what);
	if (*tu > at + PKI_TIME_SKEW)
		pki_problem(problem, n, "the %s is not valid yet (thisUpdate is in the future)", what);
	else if (*nu != 0 && at > *nu + PKI_TIME_SKEW)
		pki_problem(problem, n, "the %s has expired (nextUpdate has passed)", what);
	return *tu != 0 && *tu <= at + PKI_TIME_SKEW && (*nu == 0 || at <= *nu + PKI_TIME_SKEW);
}

static void strings_free(char **s, size_t n)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(s[i]);
	free(s);
}

void pki_obj_text(const ASN1_OBJECT *o, bool numeric, char *out, size_t n)
{
	if (o == NULL || OBJ_obj2txt(out, (int)n, o, numeric ? 1 : 0) <= 0)
		snprintf(out, n, "unknown");
	ERR_clear_error();
}

/* ---- names -------------------------------------------------------------- */

static void entry_value(struct sb *s, const X509_NAME_ENTRY *e)
{
	const ASN1_STRING *v = X509_NAME_ENTRY_get_data(e);
	unsigned char *utf8 = NULL;
	int len = v != NULL ? ASN1_STRING_to_UTF8(&utf8, v) : -1;

	if (len >= 0)
		sb_add_peer(s, utf8, (size_t)len, true);
	else
		sb_add(s, "(unreadable)");
	OPENSSL_free(utf8);
	ERR_clear_error();
}

void pki_name_oneline(const X509_NAME *name, char *out, size_t n)
{
	struct sb s;
	int count = name != NULL ? X509_NAME_entry_count(name) : 0;
	int prev_set = -1;

	sb_init(&s, out, n);
	/* RFC 2253: last RDN first. */
	for (int i = count - 1; i >= 0 && !s.full; i--) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
		const ASN1_OBJECT *o = X509_NAME_ENTRY_get_object(e);
		int nid = OBJ_obj2nid(o), set = X509_NAME_ENTRY_set(e);
		char key[80];

		if (i != count - 1)
			sb_add(&s, set == prev_set ? "+" : ",");
		prev_set = set;
		if (nid != NID_undef && OBJ_nid2sn(nid) != NULL)
			snprintf(key, sizeof(key), "%s", OBJ_nid2sn(nid));
		else
			pki_obj_text(o, true, key, sizeof(key));
		sb_add(&s, key);
		sb_add(&s, "=");
		entry_value(&s, e);
	}
}

void pki_name_cn(const X509_NAME *name, char *out, size_t n)
{
	unsigned char *utf8 = NULL;
	int i, len;

	if (n == 0)
		return;
	out[0] = '\0';
	i = name != NULL ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
	if (i < 0)
		return;
	len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
	if (len >= 0)
		moat_escape(out, n, (const char *)utf8, (size_t)len);
	else
		snprintf(out, n, "(unreadable)");
	OPENSSL_free(utf8);
	ERR_clear_error();
}

static void ip_text(const unsigned char *ip, size_t len, char *out, size_t n)
{
	char a[INET6_ADDRSTRLEN];

	if ((len == 4 && inet_ntop(AF_INET, ip, a, sizeof(a)) != NULL) ||
	    (len == 16 && inet_ntop(AF_INET6, ip, a, sizeof(a)) != NULL))
		snprintf(out, n, "%s", a);
	else
		snprintf(out, n, "(invalid, %zu bytes)", len);
}

/* An iPAddress of a name constraint: address and mask, 8 or 32 bytes. */
static void ip_range_text(const unsigned char *p, size_t len, char *out, size_t n)
{
	size_t half = len / 2;
	unsigned prefix = 0;
	bool contiguous = true, ended = false;
	char addr[INET6_ADDRSTRLEN + 20], mask[INET6_ADDRSTRLEN + 20];

	if (len != 8 && len != 32) {
		snprintf(out, n, "(invalid, %zu bytes)", len);
		return;
	}
	for (size_t i = 0; i < half; i++) {
		for (int b = 7; b >= 0; b--) {
			bool one = (p[half + i] >> b) & 1;

			if (one && ended)
				contiguous = false;
			else if (one)
				prefix++;
			else
				ended = true;
		}
	}
	ip_text(p, half, addr, sizeof(addr));
	if (contiguous) {
		snprintf(out, n, "%s/%u", addr, prefix);
	} else {
		ip_text(p + half, half, mask, sizeof(mask));
		snprintf(out, n, "%s/%s", addr, mask);
	}
}

/* One GeneralName as "DNS:x", "IP:1.2.3.4", "email:..", ... (escaped).
 * constraint: a nameConstraints base ("IP:10.0.0.0/8", "DNS:(any)"). */
static void general_name_text(const GENERAL_NAME *gn, bool constraint, char *out, size_t n)
{
	struct sb s;
	char tmp[INET6_ADDRSTRLEN * 2 + 40];
	int type = -1;
	const void *v = gn != NULL ? GENERAL_NAME_get0_value(gn, &type) : NULL;
	const ASN1_STRING *str = v;

	sb_init(&s, out, n);
	if (v == NULL)
		type = -1;
	switch (type) {
	case GEN_DNS:
	case GEN_EMAIL:
	case GEN_URI:
		sb_add(&s, type == GEN_DNS ? "DNS:" : type == GEN_EMAIL ? "email:" : "URI:");
		if (constraint && ASN1_STRING_length(str) == 0)
			sb_add(&s, "(any)");
		else
			sb_add_peer(&s, ASN1_STRING_get0_data(str), (size_t)ASN1_STRING_length(str),
				    false);
		break;
	case GEN_IPADD:
		if (constraint)
			ip_range_text(ASN1_STRING_get0_data(str), (size_t)ASN1_STRING_length(str), tmp,
				      sizeof(tmp));
		else
			ip_text(ASN1_STRING_get0_data(str), (size_t)ASN1_STRING_length(str), tmp,
				sizeof(tmp));
		sb_add(&s, "IP:");
		sb_add(&s, tmp);
		break;
	case GEN_DIRNAME: {
		char dn[512];

		pki_name_oneline(v, dn, sizeof(dn));
		sb_add(&s, "DirName:");
		sb_add(&s, dn);
		break;
	}
	case GEN_RID:
		pki_obj_text(v, true, tmp, sizeof(tmp));
		sb_add(&s, "RID:");
		sb_add(&s, tmp);
		break;
	case GEN_OTHERNAME: {
		ASN1_OBJECT *oid = NULL;

		GENERAL_NAME_get0_otherName(gn, &oid, NULL);
		pki_obj_text(oid, true, tmp, sizeof(tmp));
		sb_add(&s, "othername:");
		sb_add(&s, tmp);
		break;
	}
	case GEN_X400:
		sb_add(&s, "X400Name");
		break;
	case GEN_EDIPARTY:
		sb_add(&s, "EdiPartyName");
		break;
	default:
		sb_add(&s, "(unknown name type)");
		break;
	}
}

/* Strings for every entry of gens (at most PKI_MAX_SAN, else an error);
 * *out is a malloc()ed array of malloc()ed strings, NULL when empty. */
static int general_names_list(const GENERAL_NAMES *gens, char ***out, size_t *nout,
			      struct moat_err *err)
{
	int count = gens != NULL ? sk_GENERAL_NAME_num(gens) : 0;
	char **list = NULL;
	size_t n = 0;
	int rc = -1;

	*out = NULL;
	*nout = 0;
	if (count <= 0)
		return 0;
	if (count > PKI_MAX_SAN) {
		moat_err_set(err, "too many subjectAltName entries (%d; at most %d)", count,
			     PKI_MAX_SAN);
		goto out;
	}
	list = calloc((size_t)count, sizeof(*list));
	for (int i = 0; list != NULL && i < count; i++) {
		char text[600];

		general_name_text(sk_GENERAL_NAME_value(gens, i), false, text, sizeof(text));
		list[n] = strdup(text);
		if (list[n] == NULL)
			break;
		n++;
	}
	if (list == NULL || n != (size_t)count) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	*out = list;
	*nout = n;
	list = NULL;
	n = 0;
	rc = 0;
out:
	strings_free(list, n);
	return rc;
}

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
	struct sb s;
	bool first = true;

	sb_init(&s, out, n);
	if ((X509_get_extension_flags(x) & EXFLAG_KUSAGE) == 0)
		return;
	for (size_t i = 0; i < sizeof(ku) / sizeof(ku[0]); i++) {
		if ((v & ku[i].bit) == 0)
			continue;
		if (!first)
			sb_add(&s, ", ");
		sb_add(&s, ku[i].name);
		first = false;
	}
}

static void ext_key_usage_text(X509 *x, char *out, size_t n)
{
	int crit = -1;
	EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, &crit, NULL);
	struct sb s;

	sb_init(&s, out, n);
	if (eku == NULL) {
		if (crit != -1)
			sb_add(&s, "(malformed)");
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
			sb_add(&s, ", ");
		sb_add(&s, t);
	}
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
}

static void subtrees_text(struct sb *s, const STACK_OF(GENERAL_SUBTREE) *sk)
{
	for (int i = 0; i < sk_GENERAL_SUBTREE_num(sk) && !s->full; i++) {
		const GENERAL_SUBTREE *st = sk_GENERAL_SUBTREE_value(sk, i);
		char t[600];

		general_name_text(st->base, true, t, sizeof(t));
		if (i > 0)
			sb_add(s, ", ");
		sb_add(s, t);
	}
}

static void name_constraints_text(X509 *x, char *out, size_t n)
{
	int crit = -1;
	NAME_CONSTRAINTS *nc = X509_get_ext_d2i(x, NID_name_constraints, &crit, NULL);
	struct sb s;

	sb_init(&s, out, n);
	if (nc == NULL) {
		if (crit != -1)
			sb_add(&s, "(malformed)");
		ERR_clear_error();
		return;
	}
	if (sk_GENERAL_SUBTREE_num(nc->permittedSubtrees) > 0) {
		sb_add(&s, "permitted: ");
		subtrees_text(&s, nc->permittedSubtrees);
	}
	if (sk_GENERAL_SUBTREE_num(nc->excludedSubtrees) > 0) {
		if (s.len > 0)
			sb_add(&s, "; ");
		sb_add(&s, "excluded: ");
		subtrees_text(&s, nc->excludedSubtrees);
	}
	NAME_CONSTRAINTS_free(nc);
}

/* Without an id, out stays as pki_cert_info zeroed it: "". */
static void key_id_text(const ASN1_OCTET_STRING *id, char *out, size_t n)
{
	if (id != NULL)
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
	rc = general_names_list(gens, &out->san, &out->nsan, err);
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
	pki_time_get(X509_get0_notBefore(x), &out->not_before);
	pki_time_get(X509_get0_notAfter(x), &out->not_after);
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
	strings_free(i->san, i->nsan);
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
	if (general_names_list(gens, &out->san, &out->nsan, err) != 0)
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
	strings_free(i->san, i->nsan);
	i->san = NULL;
	i->nsan = 0;
}
