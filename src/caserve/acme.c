/* acme.c: the HTTPS port -- routing, the directory, nonces, accounts and
 * the answers every resource shares (problem documents, JSON, URLs).
 *
 * Every answer carries a fresh Replay-Nonce and a Link to the directory;
 * every client error is a 4xx with an RFC 7807 problem document
 * (application/problem+json, urn:ietf:params:acme:error:*). */
#include "caserve/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acme/acme.h"

#define MAX_CONTACTS 8
#define MAX_CONTACT_LEN 256

void caserve_log(struct caserve *s, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (s->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s->log(s->log_arg, line);
}

void caserve_time(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "1970-01-01T00:00:00Z");
}

void caserve_url(const struct caserve *s, char *out, size_t n, const char *what, int64_t id)
{
	snprintf(out, n, "%s/acme/%s/%lld", s->base, what, (long long)id);
}

/* The fields every ACME answer has. */
static void common_fields(struct caserve *s, struct net_http_reply *r, bool spare)
{
	char nonce[CASERVE_NONCE_LEN + 1], link[sizeof(s->directory) + 32];

	caserve_nonce_new(s->nonces, nonce, spare);
	(void)net_http_reply_field(r, "Replay-Nonce", nonce);
	snprintf(link, sizeof(link), "<%s>;rel=\"index\"", s->directory);
	(void)net_http_reply_field(r, "Link", link);
}

/* doc as the reply's body (steals doc). */
static void body_json(struct net_http_reply *r, json_t *doc)
{
	char *text = doc != NULL ? json_dumps(doc, JSON_INDENT(2)) : NULL;

	json_decref(doc);
	if (text == NULL) {
		r->status = 500;
		r->body = NULL;
		return;
	}
	r->body = text;
	r->len = strlen(text);
	r->free_body = true;
}

static void json_answer(struct caserve *s, struct net_http_reply *r, int status, json_t *doc,
			const char *location, bool spare)
{
	common_fields(s, r, spare);
	if (location != NULL)
		(void)net_http_reply_field(r, "Location", location);
	r->status = status;
	r->content_type = "application/json";
	body_json(r, doc);
}

void caserve_json(struct caserve *s, struct net_http_reply *r, int status, json_t *doc,
		  const char *location)
{
	json_answer(s, r, status, doc, location, false);
}

void caserve_problem(struct caserve *s, struct net_http_reply *r, int status, const char *type,
		     const char *detail)
{
	char full[96];

	snprintf(full, sizeof(full), "urn:ietf:params:acme:error:%s", type);
	caserve_count(s->counters, CASERVE_C_ERRORS);
	if (strcmp(type, "badNonce") == 0)
		caserve_count(s->counters, CASERVE_C_BAD_NONCE);
	else if (strcmp(type, "rateLimited") == 0)
		caserve_count(s->counters, CASERVE_C_RATE_LIMITED);
	json_answer(s, r, status,
		    json_pack("{s:s, s:s, s:i}", "type", full, "detail", detail, "status", status),
		    NULL, strcmp(type, "badNonce") == 0);
	r->content_type = "application/problem+json";
}

bool caserve_rate_ok(struct caserve *s, struct net_http_reply *r, const char *key, unsigned max)
{
	int wait = caserve_limit_take(s->limits, key, max);
	char ra[16];

	if (wait == 0)
		return true;
	caserve_problem(s, r, 429, "rateLimited", "too many requests of this kind this hour");
	snprintf(ra, sizeof(ra), "%d", wait);
	(void)net_http_reply_field(r, "Retry-After", ra);
	return false;
}

/* ---- the directory and nonces ----------------------------------------------------- */

const struct caserve_profile caserve_profiles[] = {
	{"default", 90, "a server certificate valid for 90 days"},
	{"shortlived", 7, "a server certificate valid for 7 days"},
};
const size_t caserve_nprofiles = sizeof(caserve_profiles) / sizeof(caserve_profiles[0]);

static void directory(struct caserve *s, struct net_http_reply *r)
{
	char u[6][sizeof(s->base) + 32];
	static const char *const paths[6] = {"new-nonce", "new-account", "new-order",
					     "revoke-cert", "key-change", "renewal-info"};
	json_t *doc;

	for (int i = 0; i < 6; i++)
		snprintf(u[i], sizeof(u[i]), "%s/acme/%s", s->base, paths[i]);
	doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:b}}", "newNonce", u[0], "newAccount",
			u[1], "newOrder", u[2], "revokeCert", u[3], "keyChange", u[4],
			"renewalInfo", u[5], "meta", "externalAccountRequired",
			s->o.require_eab);
	if (doc != NULL) {
		json_t *profiles = json_object();

		for (size_t i = 0; profiles != NULL && i < caserve_nprofiles; i++)
			json_object_set_new(profiles, caserve_profiles[i].name,
					    json_string(caserve_profiles[i].description));
		json_object_set_new(json_object_get(doc, "meta"), "profiles", profiles);
	}
	caserve_json(s, r, 200, doc, NULL);
}

static void new_nonce(struct caserve *s, const struct net_http_request *h,
		      struct net_http_reply *r)
{
	common_fields(s, r, true); /* a client's retry after badNonce may come from here */
	(void)net_http_reply_field(r, "Cache-Control", "no-store");
	r->status = strcmp(h->method, "GET") == 0 ? 204 : 200;
	r->body = "";
	r->len = 0;
}

/* ---- accounts ------------------------------------------------------------------- */

/* The account resource as a client sees it. */
static json_t *account_view(struct caserve *s, int64_t id, const json_t *doc)
{
	char orders[sizeof(s->base) + 48];
	json_t *v = json_deep_copy(doc);

	snprintf(orders, sizeof(orders), "%s/acme/acct/%lld/orders", s->base, (long long)id);
	if (v != NULL)
		json_object_set_new(v, "orders", json_string(orders));
	return v;
}

/* payload's contact list, checked: at most MAX_CONTACTS "mailto:" URLs of
 * printable ASCII.  A new reference (an empty array when absent); NULL with
 * detail set when it is not acceptable. */
static json_t *contacts(const json_t *payload, const char **detail)
{
	const json_t *c = json_object_get(payload, "contact");
	size_t i;
	json_t *v;

	if (c == NULL)
		return json_array();
	if (!json_is_array(c) || json_array_size(c) > MAX_CONTACTS) {
		*detail = "contact must be a list of at most 8 mailto: URLs";
		return NULL;
	}
	json_array_foreach(c, i, v) {
		const char *t = json_string_value(v);

		if (t == NULL || strncmp(t, "mailto:", 7) != 0 || strlen(t) > MAX_CONTACT_LEN ||
		    strlen(t) < 8) {
			*detail = "a contact must be a mailto: URL";
			return NULL;
		}
		for (const char *p = t; *p != '\0'; p++)
			if ((unsigned char)*p <= 0x20 || (unsigned char)*p > 0x7e || *p == ',') {
				*detail = "a contact must be a mailto: URL of one address";
				return NULL;
			}
	}
	return json_deep_copy(c);
}

static void new_account(struct caserve *s, struct caserve_req *q)
{
	struct net_http_reply *r = q->reply;
	json_t *existing, *doc = NULL, *c = NULL, *key = NULL, *eab = NULL;
	int64_t eab_id = 0;
	const char *detail = NULL;
	char url[sizeof(s->base) + 48];
	struct moat_err err;
	int64_t id = 0;

	moat_err_clear(&err);
	existing = caserve_store_find(s->db, "account", q->thumbprint, &id, NULL, &err);
	if (existing == NULL && err.msg[0] != '\0') {
		caserve_problem(s, r, 500, "serverInternal", err.msg);
		return;
	}
	if (existing != NULL) { /* RFC 8555 7.3.1: 200 with the account's URL */
		caserve_url(s, url, sizeof(url), "acct", id);
		caserve_json(s, r, 200, account_view(s, id, existing), url);
		json_decref(existing);
		return;
	}
	if (json_is_true(json_object_get(q->payload, "onlyReturnExisting"))) {
		caserve_problem(s, r, 400, "accountDoesNotExist", "no account has this key");
		return;
	}
	{
		char rk[80];

		snprintf(rk, sizeof(rk), "acct %s", q->http->peer);
		if (!caserve_rate_ok(s, r, rk, s->o.rate_accounts))
			return;
	}
	if (s->o.require_eab && json_object_get(q->payload, "externalAccountBinding") == NULL) {
		caserve_problem(s, r, 400, "externalAccountRequired",
				"this server needs an external account binding (moat ca eab add)");
		return;
	}
	if (json_object_get(q->payload, "externalAccountBinding") != NULL &&
	    caserve_eab_check(s, q, json_object_get(q->payload, "externalAccountBinding"), &eab_id,
			      &eab) != 0)
		return;
	if (q->payload != NULL && !json_is_object(q->payload)) {
		caserve_problem(s, r, 400, "malformed", "the newAccount payload must be an object");
		return;
	}
	if ((c = contacts(q->payload, &detail)) == NULL) {
		caserve_problem(s, r, 400, "invalidContact", detail);
		json_decref(eab);
		return;
	}
	key = acme_jwk_object(&q->jwk);
	doc = json_pack("{s:s, s:o, s:o}", "status", "valid", "contact", c, "key", key);
	c = key = NULL;
	if (doc != NULL && eab != NULL)
		json_object_set(doc, "externalAccountBinding",
				json_object_get(q->payload, "externalAccountBinding"));
	if (doc == NULL || caserve_store_begin(s->db, &err) != 0) {
		caserve_problem(s, r, 500, "serverInternal",
				err.msg[0] != '\0' ? err.msg : "out of memory");
		json_decref(doc);
		json_decref(eab);
		return;
	}
	if (caserve_store_add(s->db, "account", 0, 0, q->thumbprint, doc, &id, &err) != 0 ||
	    (eab != NULL && (json_object_set_new(eab, "account", json_integer(id)) != 0 ||
			     caserve_store_put(s->db, eab_id, eab, &err) != 0)) ||
	    caserve_store_commit(s->db, &err) != 0) {
		caserve_store_rollback(s->db);
		caserve_problem(s, r, 500, "serverInternal",
				err.msg[0] != '\0' ? err.msg : "out of memory");
		json_decref(doc);
		json_decref(eab);
		return;
	}
	json_decref(eab);
	caserve_url(s, url, sizeof(url), "acct", id);
	caserve_log(s, "account %lld created from %s", (long long)id, q->http->peer);
	caserve_count(s->counters, CASERVE_C_ACCOUNTS);
	caserve_json(s, r, 201, account_view(s, id, doc), url);
	json_decref(doc);
}

/* POST to /acme/acct/<id>: read, update the contact, or deactivate. */
static void account(struct caserve *s, struct caserve_req *q, int64_t id)
{
	struct net_http_reply *r = q->reply;
	const char *status = json_string_value(json_object_get(q->payload, "status"));
	const char *detail = NULL;
	char url[sizeof(s->base) + 48];
	struct moat_err err;
	json_t *c;

	if (id != q->account) { /* never act on the signer's account instead */
		caserve_problem(s, r, 401, "unauthorized", "this is not the signer's account");
		return;
	}
	caserve_url(s, url, sizeof(url), "acct", id);
	moat_err_clear(&err);
	if (q->payload != NULL && json_object_get(q->payload, "contact") != NULL) {
		if ((c = contacts(q->payload, &detail)) == NULL) {
			caserve_problem(s, r, 400, "invalidContact", detail);
			return;
		}
		json_object_set_new(q->account_doc, "contact", c);
	}
	if (status != NULL) {
		if (strcmp(status, "deactivated") != 0) {
			caserve_problem(s, r, 400, "malformed",
					"an account's status can only be set to deactivated");
			return;
		}
		json_object_set_new(q->account_doc, "status", json_string("deactivated"));
		caserve_log(s, "account %lld deactivated", (long long)id);
	}
	if (q->payload != NULL && caserve_store_put(s->db, id, q->account_doc, &err) != 0) {
		caserve_problem(s, r, 500, "serverInternal", err.msg);
		return;
	}
	caserve_json(s, r, 200, account_view(s, id, q->account_doc), url);
}

/* keyChange (RFC 8555 7.3.5). */
static void key_change(struct caserve *s, struct caserve_req *q)
{
	struct net_http_reply *r = q->reply;
	struct pki_key *newkey = NULL;
	json_t *inner = NULL;
	struct pki_jwk canon;
	char tp[64], url[sizeof(s->base) + 48];
	struct moat_err err;
	bool taken = false;

	memset(&canon, 0, sizeof(canon));
	moat_err_clear(&err);
	caserve_url(s, url, sizeof(url), "acct", q->account);
	if (caserve_jws_inner(s, q, q->payload, &newkey, &inner) != 0)
		return;
	if (json_string_value(json_object_get(inner, "account")) == NULL ||
	    strcmp(json_string_value(json_object_get(inner, "account")), url) != 0 ||
	    !json_is_object(json_object_get(inner, "oldKey"))) {
		caserve_problem(s, r, 400, "malformed",
				"the keyChange payload must name this account and its old key");
		goto out;
	}
	if (pki_key_jwk(newkey, &canon, &err) != 0 || acme_jwk_thumbprint(&canon, tp, sizeof(tp)) != 0)
		goto internal;
	{
		struct pki_jwk oc;
		char otp[64];
		struct pki_key *old = caserve_jwk_key(json_object_get(inner, "oldKey"), &oc, otp,
						      sizeof(otp), &err);
		bool same = old != NULL && pki_key_matches_key(old, q->key);

		if (old != NULL)
			pki_jwk_clear(&oc);
		pki_key_free(old);
		if (!same) {
			caserve_problem(s, r, 400, "malformed", "oldKey is not the account's key");
			goto out;
		}
	}
	json_object_set_new(q->account_doc, "key", acme_jwk_object(&canon));
	if (caserve_store_begin(s->db, &err) != 0)
		goto internal;
	if (caserve_store_rekey(s->db, q->account, tp, &taken, &err) != 0 ||
	    caserve_store_put(s->db, q->account, q->account_doc, &err) != 0 ||
	    caserve_store_commit(s->db, &err) != 0) {
		caserve_store_rollback(s->db);
		if (taken) {
			char other[sizeof(s->base) + 48];
			int64_t oid = 0;
			json_t *o = caserve_store_find(s->db, "account", tp, &oid, NULL, &err);

			json_decref(o);
			caserve_url(s, other, sizeof(other), "acct", oid);
			caserve_json(s, r, 409,
				     json_pack("{s:s, s:s, s:i}", "type",
					       "urn:ietf:params:acme:error:malformed", "detail",
					       "another account has the new key", "status", 409),
				     other);
			r->content_type = "application/problem+json";
			goto out;
		}
		goto internal;
	}
	caserve_log(s, "account %lld changed its key", (long long)q->account);
	caserve_json(s, r, 200, account_view(s, q->account, q->account_doc), url);
	goto out;
internal:
	caserve_problem(s, r, 500, "serverInternal",
			err.msg[0] != '\0' ? err.msg : "cannot change the key");
out:
	pki_jwk_clear(&canon);
	pki_key_free(newkey);
	json_decref(inner);
}

/* ---- routing ----------------------------------------------------------------------- */

/* "<what>/<id>[/<rest>]" after "/acme/": the id (> 0) and rest ("" or
 * what follows the slash); 0 when it does not match. */
static int64_t path_id(const char *path, const char *what, const char **rest)
{
	size_t wl = strlen(what);
	char *end = NULL;
	long long id;

	if (strncmp(path, what, wl) != 0 || path[wl] != '/' || path[wl + 1] < '1' ||
	    path[wl + 1] > '9')
		return 0;
	id = strtoll(path + wl + 1, &end, 10);
	if (id <= 0 || (*end != '\0' && *end != '/'))
		return 0;
	*rest = *end == '/' ? end + 1 : end;
	return id;
}

static void post(struct caserve *s, struct caserve_req *q)
{
	const char *p = q->path, *rest = "";
	enum caserve_signer need = CASERVE_BY_KID;
	int64_t id;

	if (strcmp(p, "new-account") == 0)
		need = CASERVE_BY_JWK;
	else if (strcmp(p, "revoke-cert") == 0)
		need = CASERVE_BY_ANY;
	if (caserve_jws_check(s, q, need) != 0)
		return;
	if (strcmp(p, "new-account") == 0)
		new_account(s, q);
	else if (strcmp(p, "new-order") == 0)
		caserve_new_order(s, q);
	else if (strcmp(p, "revoke-cert") == 0)
		caserve_revoke(s, q);
	else if (strcmp(p, "key-change") == 0)
		key_change(s, q);
	else if ((id = path_id(p, "acct", &rest)) > 0 && rest[0] == '\0')
		account(s, q, id);
	else if (id > 0 && strcmp(rest, "orders") == 0)
		caserve_orders(s, q, id);
	else if ((id = path_id(p, "order", &rest)) > 0 && rest[0] == '\0')
		caserve_order(s, q, id);
	else if (id > 0 && strcmp(rest, "finalize") == 0)
		caserve_finalize(s, q, id);
	else if ((id = path_id(p, "authz", &rest)) > 0 && rest[0] == '\0')
		caserve_authz(s, q, id);
	else if ((id = path_id(p, "chall", &rest)) > 0 && rest[0] >= '0' && rest[0] <= '9' &&
		 rest[1] == '\0')
		caserve_challenge(s, q, id, rest[0] - '0');
	else if ((id = path_id(p, "cert", &rest)) > 0 && rest[0] == '\0')
		caserve_cert(s, q, id);
	else
		caserve_problem(s, q->reply, 404, "malformed", "no such ACME resource");
}

void caserve_acme_handle(void *arg, const struct net_http_request *h, struct net_http_reply *r)
{
	struct caserve *s = arg;
	struct caserve_req q;

	memset(&q, 0, sizeof(q));
	q.http = h;
	q.reply = r;
	caserve_count(s->counters, CASERVE_C_REQUESTS);
	if (strncmp(h->target, "/acme/", 6) != 0) {
		caserve_problem(s, r, 404, "malformed", "no such resource (ACME is under /acme/)");
		return;
	}
	q.path = h->target + 6;
	if (strcmp(q.path, "directory") == 0 &&
	    (strcmp(h->method, "GET") == 0 || strcmp(h->method, "HEAD") == 0)) {
		directory(s, r);
	} else if (strcmp(q.path, "new-nonce") == 0 &&
		   (strcmp(h->method, "GET") == 0 || strcmp(h->method, "HEAD") == 0)) {
		new_nonce(s, h, r);
	} else if (strncmp(q.path, "renewal-info/", 13) == 0 &&
		   (strcmp(h->method, "GET") == 0 || strcmp(h->method, "HEAD") == 0)) {
		caserve_renewal_info(s, q.path + 13, r);
	} else if (strcmp(h->method, "POST") == 0) {
		post(s, &q);
	} else {
		caserve_problem(s, r, 405, "malformed",
				"ACME resources take POST (GET for the directory and new-nonce)");
		(void)net_http_reply_field(r, "Allow", "POST");
	}
	caserve_req_clear(&q);
}
