/* jws.c: the signed requests of ACME (RFC 8555 section 6.2, RFC 7515).
 *
 * Only the flattened JSON serialization, one signature, no unprotected
 * header, no "crit" or "b64" (the unencoded payload option), algorithms
 * ES256, ES384, RS256 and EdDSA -- never "none" or an HMAC. */
#include "caserve/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme/acme.h"
#include "ca/ca.h"
#include "core/b64.h"

static const char *const algs[] = {"ES256", "ES384", "RS256", "EdDSA"};


/* base64url text to bytes; -1 if it is not base64url. */
static int unb64(const char *s, struct moat_buf *out)
{
	return s != NULL && moat_b64url_decode(out, s, strlen(s)) == 0 ? 0 : -1;
}

static void bad_alg(struct caserve *s, struct net_http_reply *r, const char *alg)
{
	json_t *doc = json_object(), *list = json_array();
	char shown[40], detail[96];

	moat_escape(shown, sizeof(shown), alg != NULL ? alg : "", alg != NULL ? strlen(alg) : 0);
	snprintf(detail, sizeof(detail), "the JWS algorithm \"%s\" is not accepted", shown);
	for (size_t i = 0; list != NULL && i < sizeof(algs) / sizeof(algs[0]); i++)
		json_array_append_new(list, json_string(algs[i]));
	if (doc == NULL || list == NULL ||
	    json_object_set_new(doc, "type",
				json_string("urn:ietf:params:acme:error:badSignatureAlgorithm")) ||
	    json_object_set_new(doc, "detail", json_string(detail)) ||
	    json_object_set_new(doc, "status", json_integer(400)) ||
	    json_object_set(doc, "algorithms", list)) {
		json_decref(doc);
		json_decref(list);
		caserve_problem(s, r, 400, "badSignatureAlgorithm", detail);
		return;
	}
	json_decref(list);
	caserve_json(s, r, 400, doc, NULL);
	r->content_type = "application/problem+json";
}

/* Does alg belong to key's type (key_alg, the key's JWS algorithm)? */
static bool alg_fits(const char *alg, const char *key_alg)
{
	return key_alg != NULL && strcmp(alg, key_alg) == 0;
}

#define KEY_CACHE 256

struct cached_key {
	int64_t id;      /* 0: free */
	char *jwk_text;  /* the stored JWK, compact */
	json_t *doc;     /* the account as stored */
	struct pki_key *key;
	const char *alg; /* static (pki_key_jwk's) */
	char tp[64];
};

struct caserve_key_cache {
	struct cached_key e[KEY_CACHE];
};

struct caserve_key_cache *caserve_key_cache_new(void)
{
	return calloc(1, sizeof(struct caserve_key_cache));
}

static void cached_clear(struct cached_key *k)
{
	free(k->jwk_text);
	json_decref(k->doc);
	pki_key_free(k->key);
	memset(k, 0, sizeof(*k));
}

void caserve_key_cache_free(struct caserve_key_cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < KEY_CACHE; i++)
		cached_clear(&c->e[i]);
	free(c);
}

void caserve_key_cache_drop(struct caserve_key_cache *c, int64_t id)
{
	struct cached_key *k = &c->e[(uint64_t)id % KEY_CACHE];

	if (k->id == id)
		cached_clear(k);
}

/* Account id as cached, or NULL. */
static struct cached_key *cached_account(struct caserve_key_cache *c, int64_t id)
{
	struct cached_key *k = &c->e[(uint64_t)id % KEY_CACHE];

	return k->id == id ? k : NULL;
}

/* Account id (doc, as stored; borrowed) with its key parsed, kept in the
 * cache.  Borrowed: valid until the next call. */
static struct cached_key *account_key(struct caserve_key_cache *c, int64_t id, json_t *doc,
				      struct moat_err *err)
{
	struct cached_key *k = &c->e[(uint64_t)id % KEY_CACHE];
	const json_t *jwk = json_object_get(doc, "key");
	char *text = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);
	struct pki_jwk canon;

	if (text == NULL) {
		moat_err_set(err, "out of memory");
		return NULL;
	}
	cached_clear(k);
	memset(&canon, 0, sizeof(canon));
	if ((k->key = caserve_jwk_key(jwk, &canon, k->tp, sizeof(k->tp), err)) == NULL) {
		free(text);
		return NULL;
	}
	k->alg = canon.alg;
	pki_jwk_clear(&canon);
	k->id = id;
	k->jwk_text = text;
	k->doc = json_incref(doc);
	return k;
}

struct pki_key *caserve_jwk_key(const json_t *jwk, struct pki_jwk *canon, char *tp, size_t tpn,
				struct moat_err *err)
{
	struct pki_key *k;

	if (!json_is_object(jwk)) {
		moat_err_set(err, "the jwk is not a JSON object");
		return NULL;
	}
	k = pki_key_from_jwk(caserve_str(jwk, "kty"), caserve_str(jwk, "crv"), caserve_str(jwk, "x"), caserve_str(jwk, "y"),
			     caserve_str(jwk, "n"), caserve_str(jwk, "e"), err);
	if (k == NULL)
		return NULL;
	if (pki_key_jwk(k, canon, err) != 0 || acme_jwk_thumbprint(canon, tp, tpn) != 0) {
		moat_err_set(err, "the jwk cannot be used for ACME");
		pki_key_free(k);
		return NULL;
	}
	return k;
}

/* The parts of a flattened JWS; -1 with detail when it is not one. */
struct jws {
	const char *protected_b64, *payload_b64, *sig_b64;
	json_t *hdr;         /* decoded protected header */
	struct moat_buf sig;
};

static int jws_parse(const json_t *body, struct jws *j, const char **detail)
{
	struct moat_buf h = MOAT_BUF_INIT;
	const char *k;
	json_t *v;

	memset(j, 0, sizeof(*j));
	if (!json_is_object(body)) {
		*detail = "the request is not a JWS in flattened JSON serialization";
		return -1;
	}
	json_object_foreach((json_t *)body, k, v) {
		if (strcmp(k, "protected") != 0 && strcmp(k, "payload") != 0 &&
		    strcmp(k, "signature") != 0) {
			*detail = strcmp(k, "signatures") == 0
					  ? "the JWS must be in flattened JSON serialization, with one signature"
					  : "the JWS has a member other than protected, payload and signature";
			return -1;
		}
	}
	j->protected_b64 = caserve_str(body, "protected");
	j->payload_b64 = caserve_str(body, "payload");
	j->sig_b64 = caserve_str(body, "signature");
	if (j->protected_b64 == NULL || j->payload_b64 == NULL || j->sig_b64 == NULL) {
		*detail = "the JWS needs protected, payload and signature strings";
		return -1;
	}
	if (unb64(j->protected_b64, &h) != 0 ||
	    (j->hdr = json_loadb((const char *)h.data, h.len, JSON_REJECT_DUPLICATES, NULL)) ==
		    NULL ||
	    !json_is_object(j->hdr)) {
		moat_buf_free(&h);
		*detail = "the JWS protected header is not base64url JSON";
		return -1;
	}
	moat_buf_free(&h);
	if (unb64(j->sig_b64, &j->sig) != 0) {
		*detail = "the JWS signature is not base64url";
		return -1;
	}
	if (json_object_get(j->hdr, "crit") != NULL || json_object_get(j->hdr, "b64") != NULL) {
		*detail = "the JWS protected header has crit or b64, which ACME does not allow";
		return -1;
	}
	return 0;
}

static void jws_clear(struct jws *j)
{
	json_decref(j->hdr);
	moat_buf_free(&j->sig);
	memset(j, 0, sizeof(*j));
}

static bool alg_known(const char *alg)
{
	for (size_t i = 0; alg != NULL && i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcmp(alg, algs[i]) == 0)
			return true;
	return false;
}

/* Does the signature over protected "." payload verify with key? */
static bool sig_ok(const struct jws *j, const struct pki_key *key)
{
	size_t pl = strlen(j->protected_b64), yl = strlen(j->payload_b64);
	char *input = malloc(pl + 1 + yl);
	bool ok;

	if (input == NULL)
		return false;
	memcpy(input, j->protected_b64, pl);
	input[pl] = '.';
	memcpy(input + pl + 1, j->payload_b64, yl);
	ok = pki_jws_verify(key, input, pl + 1 + yl, j->sig.data, j->sig.len);
	free(input);
	return ok;
}

/* The payload: NULL for "" (POST-as-GET), else a JSON value. */
static int payload(const struct jws *j, json_t **out)
{
	struct moat_buf p = MOAT_BUF_INIT;

	*out = NULL;
	if (j->payload_b64[0] == '\0')
		return 0;
	if (unb64(j->payload_b64, &p) != 0 ||
	    (*out = json_loadb((const char *)p.data, p.len, JSON_REJECT_DUPLICATES, NULL)) == NULL) {
		moat_buf_free(&p);
		return -1;
	}
	moat_buf_free(&p);
	return 0;
}

int caserve_jws_check(struct caserve *s, struct caserve_req *q, enum caserve_signer need)
{
	const struct net_http_request *h = q->http;
	struct net_http_reply *r = q->reply;
	struct jws j;
	json_t *body = NULL;
	const char *detail = NULL, *alg, *kid, *url;
	const json_t *jwk;
	char want[sizeof(s->base) + NET_HTTP_MAX_HEAD];
	struct moat_err err;
	int ret = -1;

	memset(&j, 0, sizeof(j));
	if (strcmp(h->content_type, "application/jose+json") != 0) {
		caserve_problem(s, r, 415, "malformed",
				"the Content-Type of an ACME request must be application/jose+json");
		return -1;
	}
	if (h->body == NULL ||
	    (body = json_loadb(h->body, h->body_len, JSON_REJECT_DUPLICATES, NULL)) == NULL) {
		caserve_problem(s, r, 400, "malformed", "the request body is not JSON");
		return -1;
	}
	if (jws_parse(body, &j, &detail) != 0) {
		caserve_problem(s, r, 400, "malformed", detail);
		goto out;
	}
	alg = caserve_str(j.hdr, "alg");
	if (!alg_known(alg)) {
		bad_alg(s, r, alg);
		goto out;
	}
	if (!caserve_nonce_take(s->nonces, caserve_str(j.hdr, "nonce"))) {
		caserve_problem(s, r, 400, "badNonce", "the nonce is unknown, used or too old");
		goto out;
	}
	url = caserve_str(j.hdr, "url");
	snprintf(want, sizeof(want), "%s%s", s->base, h->target);
	if (url == NULL || strcmp(url, want) != 0) {
		caserve_problem(s, r, 401, "unauthorized",
				"the JWS url is not the URL of this request");
		goto out;
	}
	jwk = json_object_get(j.hdr, "jwk");
	kid = caserve_str(j.hdr, "kid");
	if ((jwk != NULL) == (json_object_get(j.hdr, "kid") != NULL)) {
		caserve_problem(s, r, 400, "malformed",
				"the JWS must have exactly one of jwk and kid");
		goto out;
	}
	if (jwk != NULL && need == CASERVE_BY_KID) {
		caserve_problem(s, r, 400, "malformed",
				"this resource takes requests signed by an account (kid), not jwk");
		goto out;
	}
	if (jwk == NULL && need == CASERVE_BY_JWK) {
		caserve_problem(s, r, 400, "malformed", "newAccount takes a jwk, not a kid");
		goto out;
	}
	moat_err_clear(&err);
	if (jwk != NULL) {
		if ((q->key = caserve_jwk_key(jwk, &q->jwk, q->thumbprint, sizeof(q->thumbprint), &err)) ==
		    NULL) {
			caserve_problem(s, r, 400, "badPublicKey", err.msg);
			goto out;
		}
		q->key_alg = q->jwk.alg;
	} else {
		char prefix[sizeof(s->base) + 16];
		size_t pl = (size_t)snprintf(prefix, sizeof(prefix), "%s/acme/acct/", s->base);
		char *end = NULL;
		long long id = 0;
		struct cached_key *ck;

		if (kid == NULL || strncmp(kid, prefix, pl) != 0 ||
		    (id = strtoll(kid + pl, &end, 10)) <= 0 || *end != '\0') {
			caserve_problem(s, r, 400, "accountDoesNotExist",
					"the kid is not an account URL of this server");
			goto out;
		}
		if ((ck = cached_account(s->keys, id)) == NULL) {
			json_t *doc = caserve_store_get(s->db, "account", id, NULL, NULL, &err);

			if (doc == NULL) {
				if (err.msg[0] != '\0')
					caserve_problem(s, r, 500, "serverInternal", err.msg);
				else
					caserve_problem(s, r, 400, "accountDoesNotExist",
							"no account has this kid");
				goto out;
			}
			ck = account_key(s->keys, id, doc, &err);
			json_decref(doc);
			if (ck == NULL) {
				caserve_problem(s, r, 500, "serverInternal",
						"a stored account key is unusable");
				goto out;
			}
		}
		/* a copy: the resource may change it before storing it */
		if ((q->account_doc = json_deep_copy(ck->doc)) == NULL) {
			caserve_problem(s, r, 500, "serverInternal", "out of memory");
			goto out;
		}
		q->account = id;
		q->key = ck->key;
		q->key_borrowed = true;
		q->key_alg = ck->alg;
		snprintf(q->thumbprint, sizeof(q->thumbprint), "%s", ck->tp);
	}
	if (!alg_fits(alg, q->key_alg)) {
		caserve_problem(s, r, 400, "malformed", "the JWS alg does not fit the key");
		goto out;
	}
	if (!sig_ok(&j, q->key)) {
		caserve_problem(s, r, 400, "malformed", "the JWS signature does not verify");
		goto out;
	}
	if (q->account_doc != NULL &&
	    strcmp(json_string_value(json_object_get(q->account_doc, "status")), "valid") != 0) {
		caserve_problem(s, r, 401, "unauthorized", "the account is deactivated");
		goto out;
	}
	if (payload(&j, &q->payload) != 0) {
		caserve_problem(s, r, 400, "malformed", "the JWS payload is not base64url JSON");
		goto out;
	}
	q->protected_hdr = json_incref(j.hdr);
	ret = 0;
out:
	jws_clear(&j);
	json_decref(body);
	return ret;
}

int caserve_jws_inner(struct caserve *s, struct caserve_req *q, const json_t *inner,
		      struct pki_key **key, json_t **out)
{
	struct jws j;
	const char *detail = NULL, *alg;
	struct pki_jwk canon;
	char tp[64];
	struct moat_err err;
	int ret = -1;

	*key = NULL;
	*out = NULL;
	memset(&canon, 0, sizeof(canon));
	if (jws_parse(inner, &j, &detail) != 0) {
		caserve_problem(s, q->reply, 400, "malformed", detail);
		goto out;
	}
	alg = caserve_str(j.hdr, "alg");
	if (!alg_known(alg)) {
		bad_alg(s, q->reply, alg);
		goto out;
	}
	if (json_object_get(j.hdr, "nonce") != NULL || json_object_get(j.hdr, "kid") != NULL ||
	    !json_equal(json_object_get(j.hdr, "url"), json_object_get(q->protected_hdr, "url"))) {
		caserve_problem(s, q->reply, 400, "malformed",
				"the inner JWS must have the same url, a jwk, and no nonce or kid");
		goto out;
	}
	moat_err_clear(&err);
	if ((*key = caserve_jwk_key(json_object_get(j.hdr, "jwk"), &canon, tp, sizeof(tp), &err)) == NULL) {
		caserve_problem(s, q->reply, 400, "badPublicKey", err.msg);
		goto out;
	}
	if (!alg_fits(alg, canon.alg) || !sig_ok(&j, *key) || payload(&j, out) != 0 || *out == NULL) {
		caserve_problem(s, q->reply, 400, "malformed", "the inner JWS does not verify");
		goto out;
	}
	ret = 0;
out:
	if (ret != 0) {
		pki_key_free(*key);
		*key = NULL;
		json_decref(*out);
		*out = NULL;
	}
	pki_jwk_clear(&canon);
	jws_clear(&j);
	return ret;
}

void caserve_req_clear(struct caserve_req *q)
{
	if (!q->key_borrowed)
		pki_key_free(q->key);
	pki_jwk_clear(&q->jwk);
	json_decref(q->account_doc);
	json_decref(q->payload);
	json_decref(q->protected_hdr);
	q->key = NULL;
	q->account_doc = q->payload = q->protected_hdr = NULL;
}
