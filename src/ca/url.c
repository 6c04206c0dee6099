/* url.c: the CA's base URL (meta "url" in ca.db) and the revocation URLs
 * every certificate it issues carries: URL/crl (cRLDistributionPoints),
 * URL/ocsp (AIA OCSP), URL/ca/intermediate.der (AIA caIssuers).  http://
 * only: RFC 5280 4.2.1.13 and RFC 6960 clients fetch these over plain HTTP
 * (a TLS URL would need revocation checking to check revocation). */
#include "ca/internal.h"
#include "core/parse.h"

#include <stdio.h>
#include <string.h>

#define URL_META "url"

static bool path_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~' || c == '/';
}

static int bad_url(struct moat_err *err, const char *url, const char *why)
{
	char shown[96];

	moat_escape(shown, sizeof(shown), url, strlen(url));
	moat_err_set(err, "invalid CA URL \"%s\": %s", shown, why);
	moat_err_hint(err, "give http://HOST[:PORT], the address of `moat ca serve --http-port`, "
			   "e.g. http://ca.lan:9080");
	return -1;
}

int ca_url_check(const char *url, char *out, size_t n, struct moat_err *err)
{
	struct moat_hostport hp;
	struct moat_err herr;
	char host[sizeof(hp.host) + 16], text[CA_URL_MAX + 1];
	const char *p, *slash;
	size_t hl, pl;

	moat_err_clear(&herr);
	if (strlen(url) > CA_URL_MAX)
		return bad_url(err, url, "too long");
	if (strncmp(url, "http://", 7) != 0)
		return bad_url(err, url, strncmp(url, "https://", 8) == 0
						  ? "CRL and OCSP URLs must be http:// (RFC 5280, RFC 6960)"
						  : "it must start with http://");
	p = url + 7;
	slash = strchr(p, '/');
	hl = slash ? (size_t)(slash - p) : strlen(p);
	if (hl == 0 || hl >= sizeof(host))
		return bad_url(err, url, "no host");
	memcpy(host, p, hl);
	host[hl] = '\0';
	if (moat_parse_hostport(host, MOAT_HOSTPORT_NAME | MOAT_HOSTPORT_NO_PORT, &hp, &herr) != 0)
		return bad_url(err, url, herr.msg);
	if (hp.host[0] == '*')
		return bad_url(err, url, "a wildcard is not a host");
	pl = slash ? strlen(slash) : 0;
	for (size_t i = 0; i < pl; i++)
		if (!path_char((unsigned char)slash[i]) || (i > 0 && slash[i] == '/' && slash[i - 1] == '/'))
			return bad_url(err, url, "the path may hold only letters, digits, - . _ ~ and "
						 "single slashes (no query, no fragment)");
	while (pl > 0 && slash[pl - 1] == '/')
		pl--; /* "http://h/" is "http://h" */
	if (moat_hostport_text(&hp, host, sizeof(host)) != 0 ||
	    (size_t)snprintf(text, sizeof(text), "http://%s%.*s", host, (int)pl, slash ? slash : "") >=
		    sizeof(text) ||
	    strlen(text) >= n)
		return bad_url(err, url, "too long");
	memcpy(out, text, strlen(text) + 1);
	return 0;
}

/* Derive the three URLs of the certificates from ca->url. */
static void derive(struct ca *ca)
{
	bool on = ca->url[0] != '\0';

	snprintf(ca->url_crl, sizeof(ca->url_crl), "%s%s", ca->url, on ? "/crl" : "");
	snprintf(ca->url_ocsp, sizeof(ca->url_ocsp), "%s%s", ca->url, on ? "/ocsp" : "");
	snprintf(ca->url_issuers, sizeof(ca->url_issuers), "%s%s", ca->url,
		 on ? "/ca/intermediate.der" : "");
}

int ca_url_load(struct ca *ca, struct moat_err *err)
{
	char v[CA_URL_MAX + 2];

	if (ca_db_meta_get(ca->db, URL_META, v, sizeof(v), err) != 0)
		return -1;
	if (v[0] != '\0' && ca_url_check(v, ca->url, sizeof(ca->url), err) != 0) {
		moat_err_prefix(err, "the CA database holds a bad URL");
		moat_err_hint(err, "set it again with `moat ca url URL` or remove it with "
				   "`moat ca url --clear`");
		return -1;
	}
	if (v[0] == '\0')
		ca->url[0] = '\0';
	derive(ca);
	return 0;
}

const char *ca_url(const struct ca *ca)
{
	return ca->url;
}

int ca_set_url(struct ca *ca, const char *url, struct moat_err *err)
{
	char norm[CA_URL_MAX + 1] = "";

	if (url != NULL && url[0] != '\0' && ca_url_check(url, norm, sizeof(norm), err) != 0)
		return -1;
	if (ca_db_meta_set(ca->db, URL_META, norm, err) != 0)
		return -1;
	memcpy(ca->url, norm, sizeof(norm));
	derive(ca);
	return 0;
}

void ca_urls_of(const struct ca *ca, struct ca_urls *u)
{
	bool on = ca->url[0] != '\0';

	u->crl = on ? ca->url_crl : NULL;
	u->ocsp = on ? ca->url_ocsp : NULL;
	u->ca_issuers = on ? ca->url_issuers : NULL;
}
