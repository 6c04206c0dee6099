/* client.c: the ACME directory, nonces and JWS-signed requests
 * (RFC 8555 sections 6.2 to 7.2). */
#include "acme/acme.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/b64.h"

#define NONCE_POOL 8
/* A server may refuse any nonce (pebble's PEBBLE_WFE_NONCEREJECT=50 refuses
 * half of them): each retry takes the fresh nonce that came with the
 * refusal, so the cost is one round trip; 20 in a row at 50% is 1 in 2
 * million. */
#define BADNONCE_RETRIES 20

struct acme_client {
	struct acme_http *http;
	struct acme_directory dir;
	const struct pki_key *key;
	struct pki_jwk jwk;
	char kid[ACME_HTTP_MAX_URL];
	char nonces[NONCE_POOL][256];
	size_t nnonces;
};

/* Copy an https URL from the server into dst; false if missing, not https
 * or too long. */
static bool take_url(char *dst, size_t n, const char *src)
{
	if (src == NULL || strncasecmp(src, "https://", 8) != 0 || strlen(src) >= n)
		return false;
	memcpy(dst, src, strlen(src) + 1);
	return true;
}

int acme_directory_parse(const json_t *d, struct acme_directory *dir)
{
	json_t *meta, *prof;

	json_decref(dir->profiles);
	memset(dir, 0, sizeof(*dir));
	if (!take_url(dir->new_nonce, sizeof(dir->new_nonce), acme_json_str(d, "newNonce")) ||
	    !take_url(dir->new_account, sizeof(dir->new_account), acme_json_str(d, "newAccount")) ||
	    !take_url(dir->new_order, sizeof(dir->new_order), acme_json_str(d, "newOrder")))
		return -1;
	(void)take_url(dir->revoke_cert, sizeof(dir->revoke_cert), acme_json_str(d, "revokeCert"));
	(void)take_url(dir->key_change, sizeof(dir->key_change), acme_json_str(d, "keyChange"));
	(void)take_url(dir->renewal_info, sizeof(dir->renewal_info),
		       acme_json_str(d, "renewalInfo"));
	meta = json_object_get(d, "meta");
	if (json_is_object(meta)) {
		/* termsOfService may be any URI (pebble's is a data: URL) */
		const char *tos = acme_json_str(meta, "termsOfService");
		if (tos != NULL)
			moat_escape(dir->terms, sizeof(dir->terms), tos, strlen(tos));
		dir->eab_required = json_is_true(json_object_get(meta, "externalAccountRequired"));
		prof = json_object_get(meta, "profiles");
		if (json_is_object(prof))
			dir->profiles = json_incref(prof);
	}
	return 0;
}

static int load_directory(struct acme_client *c, const char *url, struct moat_err *err)
{
	struct acme_resp r = {0};
	json_t *d = NULL;
	char show[160];
	int ret = -1;

	moat_escape(show, sizeof(show), url, strlen(url));
	if (acme_http_request(c->http, url, NULL, false, &r, err) != 0)
		goto out;
	/* An answer that is not a directory: the URL given is not one. */
	if (r.status != 200) {
		moat_err_set(err, "%s answered HTTP %ld, not an ACME directory", show, r.status);
	} else if ((d = acme_json_object(&r.body, "the ACME directory", err)) == NULL) {
		moat_err_prefix(err, "%s", show);
	} else if (acme_directory_parse(d, &c->dir) != 0) {
		moat_err_set(err, "%s is not an ACME directory (newNonce, newAccount and newOrder "
				  "must be https URLs)",
			     show);
	} else {
		if (r.nonce[0] != '\0' && c->nnonces < NONCE_POOL)
			snprintf(c->nonces[c->nnonces++], sizeof(c->nonces[0]), "%s", r.nonce);
		ret = 0;
		goto out;
	}
	moat_err_hint(err, "--server takes the directory URL, e.g. "
			   "https://acme-v02.api.letsencrypt.org/directory");
out:
	json_decref(d);
	acme_resp_clear(&r);
	return ret;
}

struct acme_client *acme_client_new(const char *directory_url, const char *ca_bundle,
				    struct moat_err *err)
{
	struct acme_client *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		moat_err_set(err, "out of memory");
		return NULL;
	}
	if ((c->http = acme_http_new(ca_bundle, err)) == NULL ||
	    load_directory(c, directory_url, err) != 0) {
		acme_client_free(c);
		return NULL;
	}
	return c;
}

void acme_client_free(struct acme_client *c)
{
	if (c == NULL)
		return;
	acme_http_free(c->http);
	json_decref(c->dir.profiles);
	pki_jwk_clear(&c->jwk);
	free(c);
}

const struct acme_directory *acme_client_directory(const struct acme_client *c)
{
	return &c->dir;
}

const char *acme_client_kid(const struct acme_client *c) { return c->kid; }
const struct pki_key *acme_client_key(const struct acme_client *c) { return c->key; }

int acme_client_set_account(struct acme_client *c, const struct pki_key *key, const char *kid,
			    struct moat_err *err)
{
	struct pki_jwk j;

	if (kid != NULL && strlen(kid) >= sizeof(c->kid)) {
		moat_err_set(err, "the account URL is too long");
		return -1;
	}
	if (pki_key_jwk(key, &j, err) != 0)
		return -1;
	pki_jwk_clear(&c->jwk);
	c->jwk = j;
	c->key = key;
	snprintf(c->kid, sizeof(c->kid), "%s", kid != NULL ? kid : "");
	return 0;
}

/* The JWK object of the account key: only the required members, which is
 * also what the RFC 7638 thumbprint hashes. */
json_t *acme_jwk_object(const struct pki_jwk *j)
{
	if (strcmp(j->kty, "RSA") == 0)
		return json_pack("{s:s, s:s, s:s}", "e", (const char *)j->e.data, "kty", j->kty, "n",
				 (const char *)j->n.data);
	if (strcmp(j->kty, "OKP") == 0)
		return json_pack("{s:s, s:s, s:s}", "crv", j->crv, "kty", j->kty, "x",
				 (const char *)j->x.data);
	return json_pack("{s:s, s:s, s:s, s:s}", "crv", j->crv, "kty", j->kty, "x",
			 (const char *)j->x.data, "y", (const char *)j->y.data);
}

json_t *acme_client_jwk(const struct acme_client *c)
{
	return c->key != NULL ? acme_jwk_object(&c->jwk) : NULL;
}

int acme_jwk_thumbprint(const struct pki_jwk *j, char *out, size_t n)
{
	json_t *o = acme_jwk_object(j);
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	unsigned char md[32];
	struct moat_buf tp = MOAT_BUF_INIT;
	int ret = -1;

	if (s != NULL && pki_sha256(s, strlen(s), md) == 0 &&
	    moat_b64url_encode(&tp, md, sizeof(md)) == 0 && tp.len < n) {
		memcpy(out, tp.data, tp.len + 1);
		ret = 0;
	}
	moat_buf_free(&tp);
	free(s);
	json_decref(o);
	return ret;
}

int acme_key_authorization(const struct acme_client *c, const char *token, char *out, size_t n,
			   struct moat_err *err)
{
	char tp[ACME_THUMBPRINT_LEN + 1];

	/* tp: the RFC 7638 thumbprint of the account key, base64url */
	if (c->key == NULL || acme_jwk_thumbprint(&c->jwk, tp, sizeof(tp)) != 0) {
		moat_err_set(err, "cannot compute the account key's thumbprint");
		return -1;
	}
	if ((size_t)snprintf(out, n, "%s.%s", token, tp) >= n) {
		moat_err_set(err, "the challenge token is too long");
		return -1;
	}
	return 0;
}

static int get_nonce(struct acme_client *c, char *out, size_t n, struct moat_err *err)
{
	struct acme_resp r = {0};
	int ret = -1;

	if (c->nnonces > 0) {
		snprintf(out, n, "%s", c->nonces[--c->nnonces]);
		return 0;
	}
	if (acme_http_request(c->http, c->dir.new_nonce, NULL, true, &r, err) != 0)
		goto out;
	if (r.nonce[0] == '\0') {
		moat_err_set(err, "the ACME server gave no Replay-Nonce (HTTP %ld from newNonce)",
			     r.status);
		goto out;
	}
	snprintf(out, n, "%s", r.nonce);
	ret = 0;
out:
	acme_resp_clear(&r);
	return ret;
}

/* One signed request body: protected header with the nonce and URL, and
 * either the account URL (kid) or, before there is one, the JWK. */
static char *build_jws(struct acme_client *c, const char *url, const char *nonce,
		       const char *payload, struct moat_err *err)
{
	json_t *prot, *jws = NULL;
	char *out = NULL;
	struct moat_buf input = MOAT_BUF_INIT, sig = MOAT_BUF_INIT;

	if (c->kid[0] != '\0')
		prot = json_pack("{s:s, s:s, s:s, s:s}", "alg", c->jwk.alg, "nonce", nonce, "url",
				 url, "kid", c->kid);
	else
		prot = json_pack("{s:s, s:s, s:s, s:o*}", "alg", c->jwk.alg, "nonce", nonce, "url",
				 url, "jwk", acme_jwk_object(&c->jwk));
	if (prot == NULL || acme_jws_input(prot, payload, &input) != 0) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	if (pki_jws_sign(c->key, input.data, input.len, &sig, err) != 0)
		goto out;
	if ((jws = acme_jws_flat(&input, sig.data, sig.len)) == NULL ||
	    (out = json_dumps(jws, JSON_COMPACT)) == NULL)
		moat_err_set(err, "out of memory");
out:
	json_decref(prot);
	json_decref(jws);
	moat_buf_free(&input);
	moat_buf_free(&sig);
	return out;
}

static bool is_json_type(const char *ct)
{
	return strcmp(ct, "application/json") == 0 || strcmp(ct, "application/problem+json") == 0;
}

int acme_post(struct acme_client *c, const char *url, json_t *payload, const char *doing,
	      struct acme_resp *resp, json_t **json, struct moat_err *err)
{
	char nonce[256], *pl = NULL, *body = NULL;
	json_t *doc = NULL;
	struct acme_problem p;
	int ret = -1;

	if (json != NULL)
		*json = NULL;
	if (c->key == NULL) {
		moat_err_set(err, "%s: no account key", doing);
		return -1;
	}
	pl = payload != NULL ? json_dumps(payload, JSON_COMPACT) : strdup("");
	if (pl == NULL) {
		moat_err_set(err, "out of memory");
		return -1;
	}
	for (unsigned attempt = 0;; attempt++) {
		free(body);
		json_decref(doc);
		doc = NULL;
		if (get_nonce(c, nonce, sizeof(nonce), err) != 0 ||
		    (body = build_jws(c, url, nonce, pl, err)) == NULL ||
		    acme_http_request(c->http, url, body, false, resp, err) != 0) {
			moat_err_prefix(err, "%s", doing);
			goto out;
		}
		if (resp->nonce[0] != '\0' && c->nnonces < NONCE_POOL)
			snprintf(c->nonces[c->nnonces++], sizeof(c->nonces[0]), "%s", resp->nonce);
		if (is_json_type(resp->content_type))
			doc = acme_json_object(&resp->body, "the ACME server's answer", NULL);
		if (resp->status >= 200 && resp->status < 300)
			break;
		acme_problem_parse(doc, resp->status, resp->retry_after, &p);
		if (strcmp(p.type, "badNonce") == 0 && attempt < BADNONCE_RETRIES)
			continue;
		acme_problem_to_err(&p, doing, err);
		goto out;
	}
	if (json != NULL) {
		if (doc == NULL && is_json_type(resp->content_type)) {
			moat_err_set(err, "%s: the ACME server's answer is not a JSON object", doing);
			goto out;
		}
		*json = doc;
		doc = NULL;
	}
	ret = 0;
out:
	json_decref(doc);
	free(pl);
	free(body);
	return ret;
}

int acme_client_get(struct acme_client *c, const char *url, struct acme_resp *resp,
		    struct moat_err *err)
{
	return acme_http_request(c->http, url, NULL, false, resp, err);
}
