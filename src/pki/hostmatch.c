/* hostmatch.c: does a certificate cover a host name, as a browser checks
 * it (RFC 6125 as the CA/Browser Forum profile narrows it): SAN only. */
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>

#include "pki/internal.h"

#define HOST_MAX 253

/* A host normalised for comparison: DNS name lower case without the
 * trailing dot, or the bytes of an IP address. */
struct host {
	char name[HOST_MAX + 1];
	size_t len;
	unsigned char ip[16];
	size_t iplen; /* 0: a DNS name */
};

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool host_parse(const char *in, struct host *h)
{
	size_t len = strlen(in);
	char tmp[64];

	memset(h, 0, sizeof(*h));
	if (len == 0 || len > HOST_MAX + 1)
		return false;
	if (in[0] == '[' && in[len - 1] == ']' && len - 2 < sizeof(tmp)) {
		memcpy(tmp, in + 1, len - 2);
		tmp[len - 2] = '\0';
		if (inet_pton(AF_INET6, tmp, h->ip) != 1)
			return false;
		h->iplen = 16;
		return true;
	}
	if (inet_pton(AF_INET, in, h->ip) == 1) {
		h->iplen = 4;
		return true;
	}
	if (inet_pton(AF_INET6, in, h->ip) == 1) {
		h->iplen = 16;
		return true;
	}
	if (in[len - 1] == '.')
		len--;
	if (len == 0 || len > HOST_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = lower(in[i]);

		/* letters, digits, '-', '_' (seen in the wild), '.' between labels */
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      (c == '.' && i > 0 && in[i - 1] != '.')))
			return false;
		h->name[i] = c;
	}
	if (h->name[len - 1] == '.')
		return false;
	h->len = len;
	return true;
}

static bool label_chars_ok(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

/* A reference identity from a certificate (SAN dNSName or CN bytes)
 * against a DNS host. */
static bool dns_matches(const unsigned char *p, size_t n, const struct host *h)
{
	const unsigned char *rest;
	size_t restlen, labels = 1;
	const char *dot;

	if (h->iplen != 0 || n == 0)
		return false;
	if (p[n - 1] == '.')
		n--;
	if (n == 0)
		return false;
	if (p[0] != '*') {
		return label_chars_ok(p, n) && n == h->len &&
		       strncasecmp((const char *)p, h->name, n) == 0;
	}
	/* "*.rest": the star is the whole left-most label */
	if (n < 3 || p[1] != '.')
		return false;
	rest = p + 2;
	restlen = n - 2;
	if (!label_chars_ok(rest, restlen) || rest[0] == '.' || rest[restlen - 1] == '.')
		return false;
	for (size_t i = 0; i < restlen; i++) {
		if (rest[i] == '.') {
			if (rest[i + 1] == '.')
				return false;
			labels++;
		}
	}
	if (labels < 2)
		return false; /* "*.com" */
	/* host = one non-empty label + "." + rest */
	dot = memchr(h->name, '.', h->len);
	if (dot == NULL || dot == h->name)
		return false;
	if ((size_t)(h->name + h->len - (dot + 1)) != restlen)
		return false;
	/* No wildcard for an IDN A-label host label ("xn--"): browsers refuse. */
	if (dot - h->name >= 4 && memcmp(h->name, "xn--", 4) == 0)
		return false;
	return strncasecmp((const char *)rest, dot + 1, restlen) == 0;
}

/* Does any SAN entry match?  *any_dns_ip: the SAN holds a DNS or IP entry. */
static bool san_matches(X509 *x, const struct host *h, bool *any_dns_ip)
{
	GENERAL_NAMES *gens;
	int crit = -1, count;
	bool ok = false;

	*any_dns_ip = false;
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL) {
		/* crit >= 0 or -2: malformed or repeated: treat as present (no CN
		 * fallback hint) and matching nothing. */
		if (crit != -1)
			*any_dns_ip = true;
		ERR_clear_error();
		return false;
	}
	count = sk_GENERAL_NAME_num(gens);
	for (int i = 0; i < count && i < PKI_MAX_SAN * 4; i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, i);
		int type = -1;
		const ASN1_STRING *v = GENERAL_NAME_get0_value(gn, &type);
		const unsigned char *p;
		size_t n;

		if (v == NULL || (type != GEN_DNS && type != GEN_IPADD))
			continue;
		*any_dns_ip = true;
		p = ASN1_STRING_get0_data(v);
		n = (size_t)ASN1_STRING_length(v);
		if (type == GEN_DNS && dns_matches(p, n, h))
			ok = true;
		if (type == GEN_IPADD && h->iplen != 0 && n == h->iplen && memcmp(p, h->ip, n) == 0)
			ok = true;
	}
	GENERAL_NAMES_free(gens);
	return ok;
}

static bool cn_matches(X509 *x, const struct host *h)
{
	const X509_NAME *name = X509_get_subject_name(x);
	int i = -1;
	bool ok = false;

	while (!ok && (i = X509_NAME_get_index_by_NID(name, NID_commonName, i)) >= 0) {
		unsigned char *utf8 = NULL;
		int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(
							     X509_NAME_get_entry(name, i)));
		struct host cn;
		char text[HOST_MAX + 2];

		if (len > 0 && (size_t)len < sizeof(text) && memchr(utf8, '\0', (size_t)len) == NULL) {
			if (h->iplen != 0) {
				memcpy(text, utf8, (size_t)len);
				text[len] = '\0';
				ok = host_parse(text, &cn) && cn.iplen == h->iplen &&
				     memcmp(cn.ip, h->ip, h->iplen) == 0;
			} else {
				ok = dns_matches(utf8, (size_t)len, h);
			}
		}
		OPENSSL_free(utf8);
	}
	ERR_clear_error();
	return ok;
}

bool pki_cert_matches_host(const struct pki_cert *c, const char *host, bool *cn_only)
{
	struct host h;
	bool any = false, ok;

	if (cn_only != NULL)
		*cn_only = false;
	if (c == NULL || host == NULL || !host_parse(host, &h))
		return false;
	ok = san_matches(c->x, &h, &any);
	if (!ok && !any && cn_only != NULL)
		*cn_only = cn_matches(c->x, &h);
	ERR_clear_error();
	return ok;
}
