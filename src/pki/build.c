/* build.c: making and signing certificates (pki_cert_build): serials,
 * validity, subject, and the extensions of the three profiles. */
#include <limits.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/rand.h>

#include "pki/internal.h"

/* KeyUsage bit numbers (RFC 5280 4.2.1.3). */
#define KU_BIT_DIGITAL_SIGNATURE 0
#define KU_BIT_KEY_ENCIPHERMENT 2
#define KU_BIT_KEY_CERT_SIGN 5
#define KU_BIT_CRL_SIGN 6

#define MAX_PERMITS 256
#define SERIAL_LEN 16

/* ---- subjectAltName --------------------------------------------------- */

static bool printable_ascii(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

/* A dNSName or a URI (GEN_DNS, GEN_URI: IA5String) or an iPAddress
 * (GEN_IPADD: OCTET STRING). */
static GENERAL_NAME *gn_new(int type, const void *data, size_t len)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_STRING *s = type == GEN_DNS || type == GEN_URI ? ASN1_IA5STRING_new()
							    : ASN1_OCTET_STRING_new();

	if (gn == NULL || s == NULL || ASN1_STRING_set(s, data, (int)len) != 1) {
		GENERAL_NAME_free(gn);
		ASN1_STRING_free(s);
		return NULL;
	}
	GENERAL_NAME_set0_value(gn, type, s);
	return gn;
}

GENERAL_NAMES *pki_san_from_names(const struct moat_name *names, size_t n, struct moat_err *err)
{
	GENERAL_NAMES *gens = NULL, *ret = NULL;

	if (n > PKI_MAX_SAN) {
		moat_err_set(err, "too many names (%zu; at most %d)", n, PKI_MAX_SAN);
		goto out;
	}
	gens = GENERAL_NAMES_new();
	if (gens == NULL) {
		pki_err_drain(err, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct moat_name *nm = &names[i];
		size_t tl = strnlen(nm->text, sizeof(nm->text));
		GENERAL_NAME *gn = NULL;

		switch (nm->type) {
		case MOAT_NAME_DNS:
		case MOAT_NAME_WILDCARD:
			if (tl == 0 || tl > MOAT_NAME_MAX || !printable_ascii(nm->text, tl)) {
				moat_err_set(err, "name %zu is not a valid DNS name", i + 1);
				goto out;
			}
			gn = gn_new(GEN_DNS, nm->text, tl);
			break;
		case MOAT_NAME_IPV4:
		case MOAT_NAME_IPV6:
			if (nm->iplen != (nm->type == MOAT_NAME_IPV4 ? 4u : 16u)) {
				moat_err_set(err, "name %zu is not a valid IP address", i + 1);
				goto out;
			}
			gn = gn_new(GEN_IPADD, nm->ip, nm->iplen);
			break;
		default:
			moat_err_set(err, "name %zu has an unknown type", i + 1);
			goto out;
		}
		if (gn == NULL || !sk_GENERAL_NAME_push(gens, gn)) {
			GENERAL_NAME_free(gn);
			pki_err_drain(err, "out of memory");
			goto out;
		}
	}
	ret = gens;
	gens = NULL;
out:
	GENERAL_NAMES_free(gens);
	return ret;
}

/* ---- nameConstraints ---------------------------------------------------- */

static int push_subtree(STACK_OF(GENERAL_SUBTREE) **sk, GENERAL_NAME *gn)
{
	GENERAL_SUBTREE *st;

	if (gn == NULL)
		return -1;
	if (*sk == NULL && (*sk = sk_GENERAL_SUBTREE_new_null()) == NULL) {
		GENERAL_NAME_free(gn);
		return -1;
	}
	st = GENERAL_SUBTREE_new();
	if (st == NULL) {
		GENERAL_NAME_free(gn);
		return -1;
	}
	GENERAL_NAME_free(st->base); /* the empty one GENERAL_SUBTREE_new made */
	st->base = gn;
	if (!sk_GENERAL_SUBTREE_push(*sk, st)) {
		GENERAL_SUBTREE_free(st);
		return -1;
	}
	return 0;
}

/* An iPAddress constraint: address then mask, 8 or 32 bytes. */
static GENERAL_NAME *gn_ip_range(const unsigned char *ip, const unsigned char *mask, size_t len)
{
	unsigned char both[32];

	if (len != 4 && len != 16)
		return NULL;
	for (size_t i = 0; i < len; i++)
		both[i] = ip[i] & mask[i];
	memcpy(both + len, mask, len);
	return gn_new(GEN_IPADD, both, 2 * len);
}

/* The permitted subtree for one permit; NULL (err filled) when invalid. */
static GENERAL_NAME *permit_base(const struct moat_permit *p, size_t i, struct moat_err *err)
{
	size_t dl = strnlen(p->dns, sizeof(p->dns));
	GENERAL_NAME *gn = NULL;

	if (p->type == MOAT_PERMIT_DNS) {
		if (dl == 0 || dl > MOAT_NAME_MAX + 1 || !printable_ascii(p->dns, dl)) {
			moat_err_set(err, "permit %zu is not a valid DNS subtree", i + 1);
			return NULL;
		}
		gn = gn_new(GEN_DNS, p->dns, dl);
	} else if (p->type == MOAT_PERMIT_IP && (p->iplen == 4 || p->iplen == 16)) {
		gn = gn_ip_range(p->ip, p->mask, p->iplen);
	} else {
		moat_err_set(err, "permit %zu is not a valid DNS subtree or IP range", i + 1);
		return NULL;
	}
	if (gn == NULL)
		pki_err_drain(err, "out of memory building name constraints");
	return gn;
}

static NAME_CONSTRAINTS *name_constraints(const struct moat_permit *p, size_t n,
					  struct moat_err *err)
{
	static const unsigned char zero[16];
	NAME_CONSTRAINTS *nc = NULL, *ret = NULL;
	bool have_dns = false, have_ip = false;

	if (n > MAX_PERMITS) {
		moat_err_set(err, "too many name constraints (%zu; at most %d)", n, MAX_PERMITS);
		goto out;
	}
	nc = NAME_CONSTRAINTS_new();
	if (nc == NULL) {
		pki_err_drain(err, "out of memory building name constraints");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		GENERAL_NAME *gn = permit_base(&p[i], i, err);

		if (gn == NULL)
			goto out;
		if (push_subtree(&nc->permittedSubtrees, gn) != 0) {
			pki_err_drain(err, "out of memory building name constraints");
			goto out;
		}
		have_dns |= p[i].type == MOAT_PERMIT_DNS;
		have_ip |= p[i].type == MOAT_PERMIT_IP;
	}
	/* A kind with no permit is excluded whole. */
	if ((!have_dns && push_subtree(&nc->excludedSubtrees, gn_new(GEN_DNS, "", 0)) != 0) ||
	    (!have_ip && (push_subtree(&nc->excludedSubtrees, gn_ip_range(zero, zero, 4)) != 0 ||
			  push_subtree(&nc->excludedSubtrees, gn_ip_range(zero, zero, 16)) != 0))) {
		pki_err_drain(err, "out of memory building name constraints");
		goto out;
	}
	ret = nc;
	nc = NULL;
out:
	NAME_CONSTRAINTS_free(nc);
	return ret;
}

/* ---- other extensions --------------------------------------------------- */

static int add_ext(X509 *x, int nid, void *value, bool crit, struct moat_err *err)
{
	if (value == NULL || X509_add1_ext_i2d(x, nid, value, crit ? 1 : 0, X509V3_ADD_DEFAULT) != 1) {
		pki_err_drain(err, "cannot add the %s extension", OBJ_nid2ln(nid));
		return -1;
	}
	return 0;
}

static int add_basic_constraints(X509 *x, bool ca, int pathlen, struct moat_err *err)
{
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	int rc = -1;

	if (bc == NULL)
		goto out;
	bc->ca = ca ? 0xff : 0;
	if (pathlen >= 0) {
		bc->pathlen = ASN1_INTEGER_new();
		if (bc->pathlen == NULL || ASN1_INTEGER_set(bc->pathlen, pathlen) != 1)
			goto out;
	}
	rc = add_ext(x, NID_basic_constraints, bc, true, err);
out:
	if (rc != 0 && !moat_err_isset(err))
		pki_err_drain(err, "cannot add the basic constraints extension");
	BASIC_CONSTRAINTS_free(bc);
	return rc;
}

static int add_key_usage(X509 *x, const int *bits, size_t n, struct moat_err *err)
{
	ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
	int rc = -1;

	if (ku == NULL)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (ASN1_BIT_STRING_set_bit(ku, bits[i], 1) != 1)
			goto out;
	rc = add_ext(x, NID_key_usage, ku, true, err);
out:
	if (rc != 0 && !moat_err_isset(err))
		pki_err_drain(err, "cannot add the key usage extension");
	ASN1_BIT_STRING_free(ku);
	return rc;
}

/* EKU with the purposes nids[0..n). */
static int add_ext_key_usage(X509 *x, const int *nids, size_t n, struct moat_err *err)
{
	EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
	int rc = -1;

	if (eku == NULL)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (!sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(nids[i])))
			goto out;
	rc = add_ext(x, NID_ext_key_usage, eku, false, err);
out:
	if (rc != 0 && !moat_err_isset(err))
		pki_err_drain(err, "cannot add the extended key usage extension");
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	return rc;
}

/* SKI from the subject's key, AKI from the issuer's (itself when
 * self-signed). */
static int add_key_ids(X509 *x, X509 *issuer, struct moat_err *err)
{
	ASN1_OCTET_STRING *ski = pki_pubkey_keyid(X509_get_X509_PUBKEY(x));
	AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
	int rc = -1;

	if (ski == NULL || akid == NULL) {
		pki_err_drain(err, "cannot compute the subject key identifier");
		goto out;
	}
	akid->keyid = issuer == NULL ? ASN1_OCTET_STRING_dup(ski) : pki_cert_keyid(issuer);
	if (akid->keyid == NULL) {
		pki_err_drain(err, "cannot compute the authority key identifier");
		goto out;
	}
	if (add_ext(x, NID_subject_key_identifier, ski, false, err) != 0 ||
	    add_ext(x, NID_authority_key_identifier, akid, false, err) != 0)
		goto out;
	rc = 0;
out:
	ASN1_OCTET_STRING_free(ski);
	AUTHORITY_KEYID_free(akid);
	return rc;
}

/* RFC 8737 section 3: critical id-pe-acmeIdentifier whose extnValue is
 * the DER of Authorization ::= OCTET STRING (SIZE (32)). */
#define ACME_IDENTIFIER_OID "1.3.6.1.5.5.7.1.31"

/* An extension whose extnValue is der as given (obj borrowed). */
static int add_raw_ext(X509 *x, const ASN1_OBJECT *obj, bool crit, const unsigned char *der,
		       size_t len, const char *what, struct moat_err *err)
{
	ASN1_OCTET_STRING *val = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext = NULL;
	int rc = -1;

	if (obj == NULL || val == NULL || ASN1_OCTET_STRING_set(val, der, (int)len) != 1 ||
	    (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, crit ? 1 : 0, val)) == NULL ||
	    X509_add_ext(x, ext, -1) != 1) {
		pki_err_drain(err, "cannot add the %s extension", what);
		goto out;
	}
	rc = 0;
out:
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(val);
	return rc;
}

static int add_acme_identifier(X509 *x, const unsigned char *digest, struct moat_err *err)
{
	unsigned char der[2 + 32] = {0x04, 0x20};
	ASN1_OBJECT *obj = OBJ_txt2obj(ACME_IDENTIFIER_OID, 1);
	int rc;

	memcpy(der + 2, digest, 32);
	rc = add_raw_ext(x, obj, true, der, sizeof(der), "acmeIdentifier", err);
	ASN1_OBJECT_free(obj);
	return rc;
}

/* RFC 6960 4.2.2.2.1: id-pkix-ocsp-nocheck, extnValue the DER of NULL. */
static int add_ocsp_nocheck(X509 *x, struct moat_err *err)
{
	static const unsigned char null_der[] = {0x05, 0x00};

	return add_raw_ext(x, OBJ_nid2obj(NID_id_pkix_OCSP_noCheck), false, null_der,
			   sizeof(null_der), "OCSP no-check", err);
}

static GENERAL_NAME *uri_name(const char *url)
{
	return gn_new(GEN_URI, url, strlen(url));
}

/* One AccessDescription (method nid, a URI) pushed on aia. */
static int push_access(AUTHORITY_INFO_ACCESS *aia, int nid, const char *url)
{
	ACCESS_DESCRIPTION *ad = ACCESS_DESCRIPTION_new();
	GENERAL_NAME *gn = uri_name(url);

	if (ad == NULL || gn == NULL) {
		ACCESS_DESCRIPTION_free(ad);
		GENERAL_NAME_free(gn);
		return -1;
	}
	ASN1_OBJECT_free(ad->method);
	ad->method = OBJ_nid2obj(nid);
	GENERAL_NAME_free(ad->location);
	ad->location = gn;
	if (!sk_ACCESS_DESCRIPTION_push(aia, ad)) {
		ACCESS_DESCRIPTION_free(ad);
		return -1;
	}
	return 0;
}

/* cRLDistributionPoints (one point, fullName = the URI) and
 * authorityInfoAccess (OCSP, then caIssuers), as far as spec names them. */
static int add_urls(X509 *x, const struct pki_cert_spec *spec, struct moat_err *err)
{
	AUTHORITY_INFO_ACCESS *aia = NULL;
	CRL_DIST_POINTS *dps = NULL;
	DIST_POINT *dp = NULL;
	GENERAL_NAME *gn = NULL;
	int rc = -1;

	if (spec->crl_url != NULL) {
		if ((dps = sk_DIST_POINT_new_null()) == NULL || (dp = DIST_POINT_new()) == NULL ||
		    (dp->distpoint = DIST_POINT_NAME_new()) == NULL ||
		    (dp->distpoint->name.fullname = GENERAL_NAMES_new()) == NULL ||
		    (gn = uri_name(spec->crl_url)) == NULL ||
		    !sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn)) {
			pki_err_drain(err, "cannot build the CRL distribution point");
			goto out;
		}
		gn = NULL;
		dp->distpoint->type = 0; /* fullName */
		if (!sk_DIST_POINT_push(dps, dp)) {
			pki_err_drain(err, "out of memory");
			goto out;
		}
		dp = NULL;
		if (add_ext(x, NID_crl_distribution_points, dps, false, err) != 0)
			goto out;
	}
	if (spec->ocsp_url != NULL || spec->ca_issuers_url != NULL) {
		if ((aia = sk_ACCESS_DESCRIPTION_new_null()) == NULL ||
		    (spec->ocsp_url != NULL && push_access(aia, NID_ad_OCSP, spec->ocsp_url) != 0) ||
		    (spec->ca_issuers_url != NULL &&
		     push_access(aia, NID_ad_ca_issuers, spec->ca_issuers_url) != 0)) {
			pki_err_drain(err, "cannot build the authority information access");
			goto out;
		}
		if (add_ext(x, NID_info_access, aia, false, err) != 0)
			goto out;
	}
	rc = 0;
out:
	GENERAL_NAME_free(gn);
	DIST_POINT_free(dp);
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	sk_ACCESS_DESCRIPTION_pop_free(aia, ACCESS_DESCRIPTION_free);
	return rc;
}

static int add_extensions(X509 *x, X509 *issuer, const struct pki_cert_spec *spec,
			  const struct pki_key *subject_key, struct moat_err *err)
{
	static const int root_ku[] = {KU_BIT_KEY_CERT_SIGN, KU_BIT_CRL_SIGN};
	static const int inter_ku[] = {KU_BIT_DIGITAL_SIGNATURE, KU_BIT_KEY_CERT_SIGN,
				       KU_BIT_CRL_SIGN};
	static const int leaf_ku[] = {KU_BIT_DIGITAL_SIGNATURE, KU_BIT_KEY_ENCIPHERMENT};
	static const int server_client[] = {NID_server_auth, NID_client_auth};
	static const int ocsp_sign[] = {NID_OCSP_sign};
	NAME_CONSTRAINTS *nc = NULL;
	GENERAL_NAMES *san = NULL;
	int rc = -1;

	switch (spec->profile) {
	case PKI_PROFILE_ROOT:
		if (add_basic_constraints(x, true, -1, err) != 0 ||
		    add_key_usage(x, root_ku, 2, err) != 0)
			goto out;
		break;
	case PKI_PROFILE_INTERMEDIATE:
		if (add_basic_constraints(x, true, 0, err) != 0 ||
		    add_key_usage(x, inter_ku, 3, err) != 0 ||
		    add_ext_key_usage(x, server_client, 2, err) != 0)
			goto out;
		break;
	case PKI_PROFILE_LEAF:
		if (add_basic_constraints(x, false, -1, err) != 0 ||
		    add_key_usage(x, leaf_ku, pki_key_is_rsa(subject_key) ? 2 : 1, err) != 0 ||
		    add_ext_key_usage(x, server_client, spec->client_auth ? 2 : 1, err) != 0 ||
		    add_urls(x, spec, err) != 0)
			goto out;
		if (spec->nnames > 0) {
			san = pki_san_from_names(spec->names, spec->nnames, err);
			if (san == NULL ||
			    add_ext(x, NID_subject_alt_name, san, spec->common_name == NULL, err) != 0)
				goto out;
		}
		break;
	case PKI_PROFILE_OCSP_SIGNER:
		if (add_basic_constraints(x, false, -1, err) != 0 ||
		    add_key_usage(x, leaf_ku, 1, err) != 0 ||
		    add_ext_key_usage(x, ocsp_sign, 1, err) != 0 || add_ocsp_nocheck(x, err) != 0)
			goto out;
		break;
	case PKI_PROFILE_ACME_TLS_ALPN:
		san = pki_san_from_names(spec->names, 1, err);
		if (san == NULL ||
		    add_ext(x, NID_subject_alt_name, san, spec->common_name == NULL, err) != 0 ||
		    add_acme_identifier(x, spec->acme_digest, err) != 0)
			goto out;
		break;
	}
	if (add_key_ids(x, issuer, err) != 0)
		goto out;
	if (spec->profile != PKI_PROFILE_LEAF && spec->profile != PKI_PROFILE_ACME_TLS_ALPN &&
	    spec->npermits > 0) {
		nc = name_constraints(spec->permits, spec->npermits, err);
		if (nc == NULL || add_ext(x, NID_name_constraints, nc, true, err) != 0)
			goto out;
	}
	rc = 0;
out:
	GENERAL_NAMES_free(san);
	NAME_CONSTRAINTS_free(nc);
	return rc;
}

/* ---- the certificate ---------------------------------------------------- */

static int set_serial(X509 *x, struct moat_err *err)
{
	unsigned char rnd[SERIAL_LEN];
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial = NULL;
	int rc = -1;

	do {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
			pki_err_drain(err, "cannot get random bytes for the serial number");
			goto out;
		}
		BN_free(bn);
		bn = BN_bin2bn(rnd, sizeof(rnd), NULL);
	} while (bn != NULL && BN_is_zero(bn));
	if (bn == NULL || (serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    X509_set_serialNumber(x, serial) != 1) {
		pki_err_drain(err, "cannot set the serial number");
		goto out;
	}
	rc = 0;
out:
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	return rc;
}

static int set_time(X509 *x, int64_t t, bool after, struct moat_err *err)
{
	ASN1_TIME *at = NULL;
	int rc = -1;

	if ((int64_t)(time_t)t != t || (at = ASN1_TIME_set(NULL, (time_t)t)) == NULL) {
		pki_err_drain(err, "the %s time %lld cannot be encoded", after ? "notAfter" : "notBefore",
			      (long long)t);
		goto out;
	}
	if ((after ? X509_set1_notAfter(x, at) : X509_set1_notBefore(x, at)) != 1) {
		pki_err_drain(err, "cannot set the validity period");
		goto out;
	}
	rc = 0;
out:
	ASN1_TIME_free(at);
	return rc;
}

static int add_rdn(X509_NAME *name, int nid, const char *value, struct moat_err *err)
{
	char shown[80];

	if (X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8, (const unsigned char *)value, -1,
				       -1, 0) != 1) {
		moat_escape(shown, sizeof(shown), value, strlen(value));
		pki_err_drain(err, "the %s \"%s\" cannot be used (1 to 64 characters)",
			      nid == NID_commonName ? "common name" : "organization", shown);
		return -1;
	}
	return 0;
}

static int set_subject(X509 *x, const struct pki_cert_spec *spec, struct moat_err *err)
{
	X509_NAME *name = X509_NAME_new();
	int rc = -1;

	if (name == NULL) {
		pki_err_drain(err, "out of memory");
		goto out;
	}
	/* DER order O, CN: shown as "CN=..,O=.." in RFC 2253 order. */
	if (spec->organization != NULL && add_rdn(name, NID_organizationName, spec->organization, err) != 0)
		goto out;
	if (spec->common_name != NULL && add_rdn(name, NID_commonName, spec->common_name, err) != 0)
		goto out;
	if (X509_set_subject_name(x, name) != 1) {
		pki_err_drain(err, "cannot set the subject name");
		goto out;
	}
	rc = 0;
out:
	X509_NAME_free(name);
	return rc;
}

/* URLs go in leaf certificates only, as http:// or https:// printable ASCII. */
static int check_urls(const struct pki_cert_spec *spec, struct moat_err *err)
{
	const char *urls[] = {spec->crl_url, spec->ocsp_url, spec->ca_issuers_url};

	for (size_t i = 0; i < 3; i++) {
		if (urls[i] == NULL)
			continue;
		if (spec->profile != PKI_PROFILE_LEAF) {
			moat_err_set(err, "revocation URLs are for leaf certificates only");
			return -1;
		}
		size_t len = strlen(urls[i]);
		if (len > 1024 || !printable_ascii(urls[i], len) ||
		    (strncmp(urls[i], "http://", 7) != 0 && strncmp(urls[i], "https://", 8) != 0)) {
			moat_err_set(err, "a revocation URL must be an http:// URL of printable ASCII");
			return -1;
		}
	}
	return 0;
}

static int check_spec(const struct pki_cert_spec *spec, const struct pki_key *subject_key,
		      const struct pki_cert *issuer, const struct pki_key *issuer_key,
		      struct moat_err *err)
{
	if (spec == NULL || subject_key == NULL || issuer_key == NULL) {
		moat_err_set(err, "pki_cert_build: missing argument");
		return -1;
	}
	if (spec->profile != PKI_PROFILE_ROOT && spec->profile != PKI_PROFILE_INTERMEDIATE &&
	    spec->profile != PKI_PROFILE_LEAF && spec->profile != PKI_PROFILE_ACME_TLS_ALPN &&
	    spec->profile != PKI_PROFILE_OCSP_SIGNER) {
		moat_err_set(err, "unknown certificate profile %d", (int)spec->profile);
		return -1;
	}
	if (check_urls(spec, err) != 0)
		return -1;
	if (spec->profile == PKI_PROFILE_OCSP_SIGNER &&
	    (issuer == NULL || spec->nnames > 0 || spec->npermits > 0 || spec->common_name == NULL)) {
		moat_err_set(err, "an OCSP signing certificate is issued by a CA, with a common name "
				  "and no other names");
		return -1;
	}
	if (spec->profile == PKI_PROFILE_ACME_TLS_ALPN) {
		if (issuer != NULL || spec->nnames != 1 || spec->names == NULL ||
		    spec->acme_digest == NULL || spec->npermits > 0) {
			moat_err_set(err, "a tls-alpn-01 certificate is self-signed, for one name, "
					  "with the key authorization digest");
			return -1;
		}
	} else if (spec->acme_digest != NULL) {
		moat_err_set(err, "the acmeIdentifier extension is for tls-alpn-01 certificates only");
		return -1;
	}
	if (spec->profile == PKI_PROFILE_ROOT && issuer != NULL) {
		moat_err_set(err, "a root certificate is self-signed: it has no issuer");
		return -1;
	}
	if (spec->profile != PKI_PROFILE_LEAF && spec->profile != PKI_PROFILE_ACME_TLS_ALPN &&
	    spec->nnames > 0) {
		moat_err_set(err, "subjectAltName entries are for leaf certificates only");
		return -1;
	}
	if (spec->profile == PKI_PROFILE_LEAF && spec->npermits > 0) {
		moat_err_set(err, "name constraints are for CA certificates only");
		return -1;
	}
	if (spec->common_name == NULL && spec->nnames == 0) {
		moat_err_set(err, "the certificate needs a common name or at least one name");
		return -1;
	}
	if ((spec->nnames > 0 && spec->names == NULL) || (spec->npermits > 0 && spec->permits == NULL)) {
		moat_err_set(err, "pki_cert_build: missing names or permits");
		return -1;
	}
	if (spec->not_after <= spec->not_before) {
		moat_err_set(err, "the certificate would expire before it becomes valid");
		return -1;
	}
	if (!issuer_key->priv) {
		moat_err_set(err, "the issuer key is a public key: a private key is needed to sign");
		return -1;
	}
	if (pki_pkey_check_signer(issuer_key->pkey, err) != 0 ||
	    pki_pkey_check_signer(subject_key->pkey, err) != 0)
		return -1;
	if (issuer == NULL && !pki_key_matches_key(subject_key, issuer_key)) {
		moat_err_set(err, "a self-signed certificate must be signed with its own key");
		return -1;
	}
	if (issuer != NULL && !pki_key_matches_cert(issuer_key, issuer)) {
		moat_err_set(err, "the issuer key does not match the issuer certificate");
		return -1;
	}
	if (issuer != NULL && X509_check_ca(issuer->x) != 1) {
		ERR_clear_error();
		moat_err_set(err, "the issuer certificate is not a CA certificate");
		return -1;
	}
	return 0;
}

struct pki_cert *pki_cert_build(const struct pki_cert_spec *spec,
				const struct pki_key *subject_key,
				const struct pki_cert *issuer, const struct pki_key *issuer_key,
				struct moat_err *err)
{
	X509 *x = NULL, *fresh = NULL;
	struct pki_cert *c = NULL;
	unsigned char *der = NULL;
	int len, fast = 0;

	ERR_clear_error();
	if (check_spec(spec, subject_key, issuer, issuer_key, err) != 0)
		goto out;
	x = X509_new();
	if (x == NULL || X509_set_version(x, X509_VERSION_3) != 1) {
		pki_err_drain(err, "out of memory");
		goto out;
	}
	if (set_serial(x, err) != 0 || set_subject(x, spec, err) != 0 ||
	    set_time(x, spec->not_before, false, err) != 0 ||
	    set_time(x, spec->not_after, true, err) != 0)
		goto out;
	if (X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer->x)
						   : X509_get_subject_name(x)) != 1 ||
	    (fast = pki_ec_set_x509_pubkey(x, subject_key->pkey)) < 0 ||
	    (fast == 0 && X509_set_pubkey(x, subject_key->pkey) != 1)) {
		pki_err_drain(err, "cannot set the issuer or the public key");
		goto out;
	}
	if (add_extensions(x, issuer != NULL ? issuer->x : NULL, spec, subject_key, err) != 0)
		goto out;
	if (X509_sign(x, issuer_key->pkey, pki_sign_md(issuer_key->pkey)) <= 0) {
		pki_err_drain(err, "cannot sign the certificate");
		goto out;
	}
	if (fast) {
		/* x has its public key only as bits: read it back from its
		 * encoding so that it carries the decoded key like any other. */
		if ((len = i2d_X509(x, &der)) <= 0 || (fresh = pki_der_cert(der, (size_t)len)) == NULL) {
			pki_err_drain(err, "cannot encode the certificate");
			goto out;
		}
		X509_free(x);
		x = fresh;
	}
	/* Nothing has computed x's extension cache before signing (only the
	 * issuer's was looked at), so x reads the same as its encoding would. */
	c = pki_cert_wrap(x, err); /* takes x, also on failure */
	x = NULL;
out:
	OPENSSL_free(der);
	X509_free(x);
	return c;
}
