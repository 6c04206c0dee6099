/* text.c: text for people from X.509 pieces: names, SAN entries, hex,
 * times.  Everything that comes from a peer is escaped with moat_escape. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>

#include "pki/internal.h"

/* ---- a bounded string builder ----------------------------------------- */

void pki_sb_init(struct pki_sb *s, char *p, size_t n)
{
	s->p = p;
	s->n = n;
	s->len = 0;
	s->full = n == 0;
	if (n > 0)
		p[0] = '\0';
}

void pki_sb_add(struct pki_sb *s, const char *t)
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
static void sb_add_peer(struct pki_sb *s, const void *data, size_t len, bool dn)
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
		pki_sb_add(s, t);
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

void pki_strings_free(char **s, size_t n)
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

static void entry_value(struct pki_sb *s, const X509_NAME_ENTRY *e)
{
	const ASN1_STRING *v = X509_NAME_ENTRY_get_data(e);
	unsigned char *utf8 = NULL;
	int len = v != NULL ? ASN1_STRING_to_UTF8(&utf8, v) : -1;

	if (len >= 0)
		sb_add_peer(s, utf8, (size_t)len, true);
	else
		pki_sb_add(s, "(unreadable)");
	OPENSSL_free(utf8);
	ERR_clear_error();
}

void pki_name_oneline(const X509_NAME *name, char *out, size_t n)
{
	struct pki_sb s;
	int count = name != NULL ? X509_NAME_entry_count(name) : 0;
	int prev_set = -1;

	pki_sb_init(&s, out, n);
	/* RFC 2253: last RDN first. */
	for (int i = count - 1; i >= 0 && !s.full; i--) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
		const ASN1_OBJECT *o = X509_NAME_ENTRY_get_object(e);
		int nid = OBJ_obj2nid(o), set = X509_NAME_ENTRY_set(e);
		char key[80];

		if (i != count - 1)
			pki_sb_add(&s, set == prev_set ? "+" : ",");
		prev_set = set;
		if (nid != NID_undef && OBJ_nid2sn(nid) != NULL)
			snprintf(key, sizeof(key), "%s", OBJ_nid2sn(nid));
		else
			pki_obj_text(o, true, key, sizeof(key));
		pki_sb_add(&s, key);
		pki_sb_add(&s, "=");
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

void pki_general_name_text(const GENERAL_NAME *gn, bool constraint, char *out, size_t n)
{
	struct pki_sb s;
	char tmp[INET6_ADDRSTRLEN * 2 + 40];
	int type = -1;
	const void *v = gn != NULL ? GENERAL_NAME_get0_value(gn, &type) : NULL;
	const ASN1_STRING *str = v;

	pki_sb_init(&s, out, n);
	if (v == NULL)
		type = -1;
	switch (type) {
	case GEN_DNS:
	case GEN_EMAIL:
	case GEN_URI:
		pki_sb_add(&s, type == GEN_DNS ? "DNS:" : type == GEN_EMAIL ? "email:" : "URI:");
		if (constraint && ASN1_STRING_length(str) == 0)
			pki_sb_add(&s, "(any)");
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
		pki_sb_add(&s, "IP:");
		pki_sb_add(&s, tmp);
		break;
	case GEN_DIRNAME: {
		char dn[512];

		pki_name_oneline(v, dn, sizeof(dn));
		pki_sb_add(&s, "DirName:");
		pki_sb_add(&s, dn);
		break;
	}
	case GEN_RID:
		pki_obj_text(v, true, tmp, sizeof(tmp));
		pki_sb_add(&s, "RID:");
		pki_sb_add(&s, tmp);
		break;
	case GEN_OTHERNAME: {
		ASN1_OBJECT *oid = NULL;

		GENERAL_NAME_get0_otherName(gn, &oid, NULL);
		pki_obj_text(oid, true, tmp, sizeof(tmp));
		pki_sb_add(&s, "othername:");
		pki_sb_add(&s, tmp);
		break;
	}
	case GEN_X400:
		pki_sb_add(&s, "X400Name");
		break;
	case GEN_EDIPARTY:
		pki_sb_add(&s, "EdiPartyName");
		break;
	default:
		pki_sb_add(&s, "(unknown name type)");
		break;
	}
}

int pki_general_names_list(const GENERAL_NAMES *gens, char ***out, size_t *nout,
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

		pki_general_name_text(sk_GENERAL_NAME_value(gens, i), false, text, sizeof(text));
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
	pki_strings_free(list, n);
	return rc;
}
