/* chain.c: the certificates a server sends, judged as a strict client
 * (curl, Java, Python, Go, a webhook sender) judges them -- not as a
 * browser that quietly fetches a missing intermediate or remembers one
 * from another site. */
#include "check/internal.h"

#include <stdio.h>
#include <string.h>

#define MAX_FETCH_DEPTH 3 /* intermediates fetched one after another via AIA */

#define FIX_FULLCHAIN                                                                  \
	"send the leaf followed by its intermediate(s): nginx ssl_certificate fullchain.pem, " \
	"Apache SSLCertificateFile fullchain.pem; moat check --fix-chain FILE writes one"

/* A one-line summary of a certificate's subject for messages: the CN or the subject. */
static void cert_name(const struct pki_cert *x, char *out, size_t n)
{
	struct pki_cert_info i;

	memset(&i, 0, sizeof(i));
	if (pki_cert_info(x, &i, NULL) != 0)
		snprintf(out, n, "?");
	else
		check_say(out, n, "%s", i.common_name[0] != '\0' ? i.common_name : i.subject);
	pki_cert_info_clear(&i);
}

static bool issues(const struct pki_cert *issuer, const struct pki_cert *child)
{
	return pki_cert_issued_by(child, issuer) && pki_cert_signed_by(child, issuer);
}

/* Self-signed: its own issuer (a root, or a self-signed end-entity
 * certificate, which may lack the key usage a CA has). */
static bool self_signed(const struct pki_cert *x)
{
	struct pki_cert_info i;
	bool ss;

	if (issues(x, x))
		return true;
	memset(&i, 0, sizeof(i));
	ss = pki_cert_info(x, &i, NULL) == 0 && i.self_signed && pki_cert_signed_by(x, x);
	pki_cert_info_clear(&i);
	return ss;
}

static const struct pki_cert *anchor_for(const struct check_ctx *c, const struct pki_cert *x)
{
	for (size_t i = 0; i < c->nanchors; i++)
		if (issues(c->anchors[i], x))
			return c->anchors[i];
	return NULL;
}

/* Fetch the issuer of x from its AIA caIssuers URL; NULL with why filled. */
struct pki_cert *check_fetch_issuer(struct check_ctx *c, const struct pki_cert *x, char *url,
				     size_t urln, char *why, size_t whyn)
{
	struct pki_cert_urls u;
	struct fetch_resp resp;
	struct pki_cert *got = NULL;
	struct moat_err e;

	memset(&resp, 0, sizeof(resp));
	moat_err_clear(&e);
	url[0] = '\0';
	if (pki_cert_urls(x, &u, &e) != 0 || u.ca_issuers[0] == '\0') {
		check_say(why, whyn, "the certificate names no caIssuers URL to fetch it from");
		return NULL;
	}
	snprintf(url, urln, "%s", u.ca_issuers);
	check_progress(c, "fetching the missing intermediate (AIA)");
	if (check_http(u.ca_issuers, NULL, NULL, 0, true, NULL, c->timeout_ms, CHECK_MAX_AIA, &resp,
		       &e) != 0) {
		check_say(why, whyn, "%s", e.msg);
		goto out;
	}
	if (resp.status != 200) {
		check_say(why, whyn, "%s answered HTTP %ld", url, resp.status);
		goto out;
	}
	if ((got = pki_cert_from_any(resp.body.data, resp.body.len, &e)) == NULL) {
		check_say(why, whyn, "%s did not serve a certificate: %s", url, e.msg);
		goto out;
	}
	if (!issues(got, x)) {
		check_say(why, whyn, "the certificate from %s did not issue it", url);
		pki_cert_free(got);
		got = NULL;
	}
out:
	fetch_resp_clear(&resp);
	return got;
}

static bool top_is_ca(const struct pki_cert *x)
{
	struct pki_cert_info i;
	bool ca;

	memset(&i, 0, sizeof(i));
	ca = pki_cert_info(x, &i, NULL) == 0 && i.is_ca;
	pki_cert_info_clear(&i);
	return ca;
}

/* Order, unrelated certificates, a root sent, a missing intermediate.
 * Fills walk (indices into sent, leaf first, in issuing order). */
static int structure(struct check_ctx *c, size_t *walk, size_t *nwalk, struct moat_err *err)
{
	bool used[CHECK_MAX_CHAIN] = {false};
	const struct pki_cert *top;
	char name[256], iname[256];
	size_t n = 1;

	walk[0] = 0;
	used[0] = true;
	for (;;) {
		const struct pki_cert *cur = c->sent[walk[n - 1]];
		size_t j;
		if (self_signed(cur))
			break;
		for (j = 0; j < c->nsent; j++)
			if (!used[j] && issues(c->sent[j], cur))
				break;
		if (j == c->nsent)
			break;
		used[j] = true;
		walk[n++] = j;
	}
	*nwalk = n;
	for (size_t i = 1; i < n; i++)
		if (walk[i] != i) {
			check_add(c->r, CHECK_WARNING, "chain-order", FIX_FULLCHAIN,
				  "the certificates %s out of order (each must be followed by "
				  "its issuer); strict clients may fail to build the chain",
				  c->files ? "are" : "are sent");
			break;
		}
	for (size_t j = 0; j < c->nsent; j++)
		if (!used[j]) {
			cert_name(c->sent[j], name, sizeof(name));
			check_add(c->r, CHECK_WARNING, "chain-unrelated", FIX_FULLCHAIN,
				  "%s also %s \"%s\", which is not part of the chain",
				  check_holder(c), check_verb(c, "holds", "hold", "sends"), name);
		}
	top = c->sent[walk[n - 1]];
	if (n > 1 && self_signed(top)) {
		cert_name(top, name, sizeof(name));
		check_add(c->r, CHECK_INFO, "chain-root-sent",
			  "leave the root out of the chain file to save bytes on every handshake",
			  "%s also %s the root \"%s\" (harmless: clients use their own copy)",
			  check_holder(c), check_verb(c, "holds", "hold", "sends"), name);
	}
	if (self_signed(top) || anchor_for(c, top) != NULL)
		return 0;

	/* The issuer of the top certificate is neither sent nor trusted.  When
	 * the top is a CA, its issuer is usually the root: an untrusted root
	 * (a private CA), not a missing intermediate -- unless its AIA says
	 * otherwise, which is looked at below. */
	if (top_is_ca(top)) {
		char url[512], why[512];
		struct pki_cert *next = check_fetch_issuer(c, top, url, sizeof(url), why, sizeof(why));
		if (next == NULL || self_signed(next)) {
			pki_cert_free(next);
			return 0;
		}
		c->fetched = next;
		cert_name(next, iname, sizeof(iname));
		cert_name(top, name, sizeof(name));
		check_add(c->r, CHECK_ERROR, "chain-incomplete", FIX_FULLCHAIN,
			  "%s %s the intermediate certificate \"%s\" that issued \"%s\"; strict "
			  "clients refuse the chain; found it at %s", check_holder(c),
			  check_verb(c, "does not hold", "do not hold", "does not send"), iname, name,
			  url);
		return 0;
	}
	{
		char url[512], why[512];
		const struct pki_cert *need = top;
		struct pki_cert *got = NULL;

		cert_name(need, name, sizeof(name));
		for (int depth = 0; depth < MAX_FETCH_DEPTH; depth++) {
			struct pki_cert *next = check_fetch_issuer(c, need, url, sizeof(url), why, sizeof(why));
			if (next == NULL)
				break;
			if (got == NULL) {
				got = next;
				c->fetched = got;
			} else {
				/* only one fetched certificate is kept for the path:
				 * deeper levels are rare (cross-signs) */
				pki_cert_free(next);
				break;
			}
			if (self_signed(got) || anchor_for(c, got) != NULL)
				break;
			need = got;
		}
		if (got != NULL) {
			cert_name(got, iname, sizeof(iname));
			check_add(c->r, CHECK_ERROR, "chain-incomplete", FIX_FULLCHAIN,
				  "%s %s the intermediate certificate \"%s\" that issued \"%s\"; "
				  "%s curl, Java, Python, apps and webhook senders%s (RingCentral: "
				  "\"SUB-524 HTTPS certificate is not valid\"); found it at %s",
				  check_holder(c),
				  check_verb(c, "does not hold", "do not hold", "does not send"), iname,
				  name, c->files ? "served as it is, it is refused by" : "browsers may "
				  "cope, but", c->files ? "" : " refuse it", url);
		} else {
			struct pki_cert_info i;
			memset(&i, 0, sizeof(i));
			if (pki_cert_info(need, &i, err) != 0)
				return -1;
			check_add(c->r, CHECK_ERROR, "chain-incomplete", FIX_FULLCHAIN,
				  "the issuer of \"%s\" (%s) is neither %s %s nor a trusted root, "
				  "and %s",
				  name, i.issuer, c->files ? "in" : "sent by", check_holder(c), why);
			pki_cert_info_clear(&i);
		}
	}
	return 0;
}

/* The certificates a client would use, leaf first: sent (in issuing
 * order) plus what was fetched. */
static int build_fixed(struct check_ctx *c, const size_t *walk, size_t nwalk,
		       struct moat_err *err)
{
	struct moat_buf *out = &c->r->fixed_chain;

	for (size_t i = 0; i < nwalk; i++) {
		const struct pki_cert *x = c->sent[walk[i]];
		if (i > 0 && self_signed(x))
			break;
		if (pki_cert_to_pem(x, out, err) != 0)
			return -1;
	}
	if (c->fetched != NULL && !self_signed(c->fetched) &&
	    pki_cert_to_pem(c->fetched, out, err) != 0)
		return -1;
	return 0;
}

/* What renews a leaf: `moat acme renew` needs --all or the certificate's
 * name (its lineage: the first name), `moat issue` the name. */
static void renew_fix(const struct pki_cert_info *i, const char *verb, char *out, size_t n)
{
	const char *name = i->common_name[0] ? i->common_name : "NAME";

	if (i->nsan > 0 && strchr(i->san[0], ':') != NULL)
		name = strchr(i->san[0], ':') + 1;
	check_say(out, n, "%s: moat acme renew %s --force (from an ACME CA; moat acme renew --all "
			  "renews every certificate that is due), or moat issue %s --force (from "
			  "moat's private CA)", verb, name, name);
}

static void dates(struct check_ctx *c, const struct pki_cert *x, bool leaf)
{
	struct pki_cert_info i;
	const char *what = leaf ? "the certificate" : "the intermediate";
	char fix[400];
	long days;

	memset(&i, 0, sizeof(i));
	if (pki_cert_info(x, &i, NULL) != 0)
		return;
	days = (long)((i.not_after - c->now) / 86400);
	renew_fix(&i, i.not_after < c->now ? "renew it" : "renew it now", fix, sizeof(fix));
	if (i.not_after < c->now)
		check_add(c->r, CHECK_ERROR, "expired",
			  leaf ? fix : "get the current intermediate from the CA and send it",
			  "%s \"%s\" expired %ld day%s ago", what,
			  i.common_name[0] ? i.common_name : i.subject, -days, -days == 1 ? "" : "s");
	else if (i.not_before > c->now)
		check_add(c->r, CHECK_ERROR, "not-yet-valid",
			  "check the clocks of the CA and of this machine",
			  "%s \"%s\" is not valid yet", what,
			  i.common_name[0] ? i.common_name : i.subject);
	else if (days < (c->o->warn_days < 0	 ? 0 /* --warn-days 0: never */
			 : c->o->warn_days > 0 ? c->o->warn_days
					       : CHECK_DEFAULT_WARN_DAYS))
		check_add(c->r, CHECK_WARNING, "expiring",
			  leaf ? fix
			       : "the CA must provide a new intermediate; send it with the next renewal",
			  "%s \"%s\" expires in %ld day%s", what,
			  i.common_name[0] ? i.common_name : i.subject, days, days == 1 ? "" : "s");
	pki_cert_info_clear(&i);
}

static void names(struct check_ctx *c, const struct pki_cert *leaf)
{
	struct pki_cert_info i;
	char list[400] = "";
	bool cn_only = false;

	if (c->host == NULL || pki_cert_matches_host(leaf, c->host, &cn_only))
		return;
	memset(&i, 0, sizeof(i));
	if (pki_cert_info(leaf, &i, NULL) != 0)
		return;
	if (cn_only) {
		check_add(c->r, CHECK_ERROR, "cn-only",
			  "reissue it with the name in subjectAltName: moat issue NAME",
			  "the certificate names \"%s\" only in its Common Name, without "
			  "subjectAltName; browsers, iOS, Android and Go have ignored the CN "
			  "for years", c->host);
	} else {
		for (size_t k = 0; k < i.nsan && strlen(list) < sizeof(list) - 80; k++) {
			const char *v = strchr(i.san[k], ':');
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				 list[0] ? ", " : "", v != NULL ? v + 1 : i.san[k]);
		}
		check_add(c->r, CHECK_ERROR, "hostname-mismatch",
			  "reissue it for this name (moat issue NAME / moat acme issue NAME), "
			  "or use a name it covers",
			  "the certificate is for %s, not for %s", list[0] ? list : "no name",
			  c->host);
	}
	pki_cert_info_clear(&i);
}

static void strength(struct check_ctx *c, const struct pki_cert *x, bool leaf)
{
	struct pki_cert_info i;
	int bits = pki_cert_key_bits(x);

	memset(&i, 0, sizeof(i));
	if (pki_cert_info(x, &i, NULL) != 0)
		return;
	if (bits > 0 && ((strncmp(i.key_desc, "RSA", 3) == 0 && bits < 2048) ||
			 (strncmp(i.key_desc, "EC", 2) == 0 && bits < 256)))
		check_add(c->r, CHECK_ERROR, "weak-key",
			  "use ECDSA P-256 or RSA 2048 or more: moat issue --key-type ec-p256",
			  "%s \"%s\" has a weak key (%s); clients refuse keys this small",
			  leaf ? "the certificate" : "the intermediate",
			  i.common_name[0] ? i.common_name : i.subject, i.key_desc);
	if (pki_cert_sig_sha1(x))
		check_add(c->r, CHECK_ERROR, "sha1-signature",
			  "reissue it with a SHA-256 signature",
			  "%s \"%s\" is signed with SHA-1 (%s), which clients no longer accept",
			  leaf ? "the certificate" : "the intermediate",
			  i.common_name[0] ? i.common_name : i.subject, i.sig_alg);
	pki_cert_info_clear(&i);
}

static void path_verdict(struct check_ctx *c)
{
	char name[256];
	const struct pki_path_result *p = &c->path;
	const struct pki_cert *top = p->npath > 0 ? p->path[p->npath - 1] : c->sent[0];

	cert_name(top, name, sizeof(name));
	switch (p->code) {
	case PKI_PATH_OK: {
		char line[600] = "";
		for (size_t k = 0; k < p->npath; k++) {
			char nm[128];
			cert_name(p->path[k], nm, sizeof(nm));
			snprintf(line + strlen(line), sizeof(line) - strlen(line), "%s\"%s\"",
				 k ? " <- " : "", nm);
		}
		check_add(c->r, CHECK_INFO, "trusted", NULL, "%s", line);
		break;
	}
	case PKI_PATH_NO_ISSUER:
	case PKI_PATH_UNTRUSTED_ROOT:
		/* without a missing intermediate: the chain is there, its root untrusted */
		if (p->code == PKI_PATH_NO_ISSUER && check_has(c->r, "chain-incomplete"))
			break;
		{
			struct pki_cert_info ti;
			memset(&ti, 0, sizeof(ti));
			if (pki_cert_info(top, &ti, NULL) == 0 && !ti.self_signed)
				check_add(c->r, CHECK_ERROR, "untrusted-root",
					  "a private CA? install its root where the clients look: "
					  "moat trust install, moat trust share (phones), or check "
					  "with --ca ROOT.pem",
					  "the chain ends at \"%s\", issued by \"%s\", which is not a "
					  "trusted root here", name, ti.issuer);
			else
				check_add(c->r, CHECK_ERROR, "untrusted-root",
					  "a private CA? install its root where the clients look: "
					  "moat trust install, moat trust share (phones), or check "
					  "with --ca ROOT.pem",
					  "the chain ends at the root \"%s\", which is not trusted here",
					  name);
			pki_cert_info_clear(&ti);
		}
		break;
	case PKI_PATH_SELF_SIGNED_LEAF:
		check_add(c->r, CHECK_ERROR, "self-signed",
			  "use a certificate from a CA: moat issue NAME (private CA, then moat trust "
			  "install) or moat acme issue NAME (Let's Encrypt)",
			  "the certificate is self-signed: no client trusts it without an exception");
		break;
	case PKI_PATH_EXPIRED:
	case PKI_PATH_NOT_YET_VALID:
		break; /* said by dates() for the certificate concerned */
	case PKI_PATH_WEAK:
		if (!check_has(c->r, "weak-key") && !check_has(c->r, "sha1-signature"))
			check_add(c->r, CHECK_ERROR, "weak", "reissue it with a modern key and SHA-256",
				  "the chain is too weak for this system's OpenSSL: %s", p->detail);
		break;
	case PKI_PATH_BAD_SIGNATURE:
		check_add(c->r, CHECK_ERROR, "bad-signature", FIX_FULLCHAIN,
			  "a signature in the chain does not verify (at depth %d): %s", p->depth,
			  p->detail);
		break;
	case PKI_PATH_NOT_CA:
		check_add(c->r, CHECK_ERROR, "not-ca", "send the CA's real intermediate",
			  "a certificate in the chain may not issue certificates (depth %d): %s",
			  p->depth, p->detail);
		break;
	case PKI_PATH_NAME_CONSTRAINTS:
		check_add(c->r, CHECK_ERROR, "name-constraints",
			  "the CA may not issue for this name: use a name it permits",
			  "the CA's name constraints exclude the certificate: %s", p->detail);
		break;
	case PKI_PATH_OTHER:
		check_add(c->r, CHECK_ERROR, "verify-failed", NULL,
			  "the chain does not verify (depth %d): %s", p->depth, p->detail);
		break;
	}
}

int check_chain(struct check_ctx *c, struct moat_err *err)
{
	size_t walk[CHECK_MAX_CHAIN], nwalk = 0;
	struct pki_cert *untrusted[CHECK_MAX_CHAIN + 1];
	size_t nu = 0;
	const struct pki_cert *leaf = c->sent[0];

	if (structure(c, walk, &nwalk, err) != 0)
		return -1;
	for (size_t i = 1; i < c->nsent; i++)
		untrusted[nu++] = (struct pki_cert *)c->sent[i];
	if (c->fetched != NULL)
		untrusted[nu++] = c->fetched;
	check_progress(c, "verifying the chain");
	if (pki_verify_path(leaf, untrusted, nu, c->anchors, c->nanchors, c->now, &c->path,
			    err) != 0)
		return -1;

	dates(c, leaf, true);
	for (size_t i = 1; i < nwalk; i++)
		if (!self_signed(c->sent[walk[i]]))
			dates(c, c->sent[walk[i]], false);
	if (c->fetched != NULL)
		dates(c, c->fetched, false);
	names(c, leaf);
	strength(c, leaf, true);
	for (size_t i = 1; i < nwalk; i++)
		if (!self_signed(c->sent[walk[i]]))
			strength(c, c->sent[walk[i]], false);
	path_verdict(c);

	/* A chain a client can use, when what was sent was not one. */
	if (check_has(c->r, "chain-incomplete") || check_has(c->r, "chain-order") ||
	    check_has(c->r, "chain-unrelated")) {
		if (build_fixed(c, walk, nwalk, err) != 0)
			return -1;
		c->r->chain_fixable = c->fetched != NULL || !check_has(c->r, "chain-incomplete");
	}
	return 0;
}

/* The issuer of the leaf, for revocation checks: from the verified path,
 * else what was sent or fetched. */
const struct pki_cert *check_leaf_issuer(const struct check_ctx *c)
{
	if (c->path.npath >= 2)
		return c->path.path[1];
	for (size_t i = 1; i < c->nsent; i++)
		if (issues(c->sent[i], c->sent[0]))
			return c->sent[i];
	if (c->fetched != NULL && issues(c->fetched, c->sent[0]))
		return c->fetched;
	return anchor_for(c, c->sent[0]);
}
