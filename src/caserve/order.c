/* order.c: what an account does -- orders (RFC 8555 7.4), authorizations
 * and challenges (7.5), the account's order list (7.1.2.1); finalize, the
 * certificate and revocation are cert.c's.
 *
 * States (RFC 8555 7.1.6), with the transitions this file makes:
 *   order:  pending -> ready (every authorization valid)
 *           pending -> invalid (an authorization invalid or expired)
 *           ready -> valid (finalize signs at once: "processing" is never
 *           seen, the certificate is recorded before the answer)
 *   authz:  pending -> valid | invalid (va.c, caserve_authz_settle);
 *           pending -> expired (its expiry passes)
 *   challenge: pending -> processing (the client's POST) -> valid | invalid */
#include "caserve/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ca/ca.h"
#include "core/b64.h"
#include "core/names.h"

#define URL_MAX 400
#define RETRY_AFTER "1" /* seconds, while a challenge is being validated */

/* Is one of the authorization's challenges being validated? */
static bool validating(const json_t *a)
{
	size_t i;
	json_t *c;

	json_array_foreach(json_object_get(a, "challenges"), i, c) {
		const char *st = json_string_value(json_object_get(c, "status"));

		if (st != NULL && strcmp(st, "processing") == 0)
			return true;
	}
	return false;
}

const char *caserve_str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

void caserve_internal(struct caserve *s, struct net_http_reply *r, const struct moat_err *err)
{
	caserve_problem(s, r, 500, "serverInternal",
			err != NULL && err->msg[0] != '\0' ? err->msg : "out of memory");
}

/* The object of kind id if it belongs to q's account; else the answer is
 * sent (404 when there is none, 401 when it is another account's). */
json_t *caserve_owned(struct caserve *s, struct caserve_req *q, const char *kind, int64_t id,
		      int64_t *parent)
{
	struct moat_err err;
	int64_t account = 0;
	json_t *doc;

	moat_err_clear(&err);
	doc = caserve_store_get(s->db, kind, id, parent, &account, &err);
	if (doc == NULL) {
		if (err.msg[0] != '\0')
			caserve_internal(s, q->reply, &err);
		else
			caserve_problem(s, q->reply, 404, "malformed", "no such object");
		return NULL;
	}
	if (account != q->account) {
		json_decref(doc);
		caserve_problem(s, q->reply, 401, "unauthorized",
				"this object belongs to another account");
		return NULL;
	}
	return doc;
}

/* ---- authorizations ------------------------------------------------------- */

/* The authorization's status now (an expired pending one is "expired"). */
static const char *authz_status(const json_t *a)
{
	const char *st = caserve_str(a, "status");

	if (st == NULL)
		return "invalid";
	if (strcmp(st, "pending") == 0 &&
	    json_integer_value(json_object_get(a, "_expires")) < (json_int_t)time(NULL))
		return "expired";
	return st;
}

static json_t *chall_view(struct caserve *s, int64_t authz, int index, const json_t *c)
{
	char url[URL_MAX];
	json_t *v = json_pack("{s:s, s:s, s:s}", "type", caserve_str(c, "type"), "status", caserve_str(c, "status"),
			      "token", caserve_str(c, "token"));

	snprintf(url, sizeof(url), "%s/acme/chall/%lld/%d", s->base, (long long)authz, index);
	if (v == NULL)
		return NULL;
	json_object_set_new(v, "url", json_string(url));
	if (json_object_get(c, "validated") != NULL)
		json_object_set(v, "validated", json_object_get(c, "validated"));
	if (json_object_get(c, "error") != NULL)
		json_object_set(v, "error", json_object_get(c, "error"));
	return v;
}

static json_t *authz_view(struct caserve *s, int64_t id, const json_t *a)
{
	char expires[32];
	json_t *v, *list = json_array(), *c;
	size_t i;

	caserve_time(json_integer_value(json_object_get(a, "_expires")), expires);
	v = json_pack("{s:O, s:s, s:s}", "identifier", json_object_get(a, "identifier"), "status",
		      authz_status(a), "expires", expires);
	if (v == NULL || list == NULL) {
		json_decref(v);
		json_decref(list);
		return NULL;
	}
	json_array_foreach(json_object_get(a, "challenges"), i, c)
		json_array_append_new(list, chall_view(s, id, (int)i, c));
	json_object_set_new(v, "challenges", list);
	if (json_is_true(json_object_get(a, "wildcard")))
		json_object_set_new(v, "wildcard", json_true());
	return v;
}

void caserve_authz(struct caserve *s, struct caserve_req *q, int64_t id)
{
	json_t *a = caserve_owned(s, q, "authz", id, NULL);
	const char *want = caserve_str(q->payload, "status");
	struct moat_err err;
	char url[URL_MAX];

	if (a == NULL)
		return;
	moat_err_clear(&err);
	if (want != NULL) { /* deactivation (RFC 8555 7.5.2) */
		if (strcmp(want, "deactivated") != 0 ||
		    (strcmp(authz_status(a), "valid") != 0 && strcmp(authz_status(a), "pending") != 0)) {
			caserve_problem(s, q->reply, 400, "malformed",
					"only a pending or valid authorization can be deactivated");
			json_decref(a);
			return;
		}
		json_object_set_new(a, "status", json_string("deactivated"));
		if (caserve_store_put(s->db, id, a, &err) != 0) {
			caserve_internal(s, q->reply, &err);
			json_decref(a);
			return;
		}
	}
	caserve_url(s, url, sizeof(url), "authz", id);
	caserve_json(s, q->reply, 200, authz_view(s, id, a), NULL);
	if (validating(a))
		(void)net_http_reply_field(q->reply, "Retry-After", RETRY_AFTER);
	json_decref(a);
}

/* Which challenges an identifier gets: dns-01 alone for a wildcard,
 * http-01 and tls-alpn-01 for an IP address (RFC 8738), all three for a
 * DNS name. */
static json_t *challenges_for(const struct moat_name *n)
{
	static const char *const all[] = {"http-01", "dns-01", "tls-alpn-01"};
	json_t *list = json_array();

	for (size_t i = 0; list != NULL && i < 3; i++) {
		unsigned char raw[32];
		struct moat_buf tok = MOAT_BUF_INIT;

		if ((n->type == MOAT_NAME_WILDCARD && strcmp(all[i], "dns-01") != 0) ||
		    (moat_name_is_ip(n) && strcmp(all[i], "dns-01") == 0))
			continue;
		if (pki_random(raw, sizeof(raw)) != 0 ||
		    moat_b64url_encode(&tok, raw, sizeof(raw)) != 0) {
			json_decref(list);
			return NULL;
		}
		json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "type", all[i], "status",
						      "pending", "token", (const char *)tok.data));
		moat_buf_free(&tok);
	}
	return list;
}

void caserve_challenge(struct caserve *s, struct caserve_req *q, int64_t authz, int index)
{
	json_t *a = caserve_owned(s, q, "authz", authz, NULL), *c;
	struct moat_err err;
	char up[URL_MAX], link[URL_MAX + 16];

	if (a == NULL)
		return;
	moat_err_clear(&err);
	c = json_array_get(json_object_get(a, "challenges"), (size_t)index);
	if (c == NULL) {
		caserve_problem(s, q->reply, 404, "malformed", "no such challenge");
		goto out;
	}
	/* A POST with a payload ({}) asks for validation; POST-as-GET reads. */
	if (q->payload != NULL && strcmp(caserve_str(c, "status"), "pending") == 0) {
		if (strcmp(authz_status(a), "pending") != 0) {
			caserve_problem(s, q->reply, 403, "malformed",
					"the authorization is no longer pending");
			goto out;
		}
		json_object_set_new(c, "status", json_string("processing"));
		if (caserve_store_put(s->db, authz, a, &err) != 0) {
			caserve_internal(s, q->reply, &err);
			goto out;
		}
		if (caserve_va_queue(s->va, authz, index) != 0) {
			caserve_problem(s, q->reply, 503, "serverInternal",
					"too many validations at once; retry later");
			goto out;
		}
	}
	caserve_url(s, up, sizeof(up), "authz", authz);
	snprintf(link, sizeof(link), "<%s>;rel=\"up\"", up);
	caserve_json(s, q->reply, 200, chall_view(s, authz, index, c), NULL);
	(void)net_http_reply_field(q->reply, "Link", link);
	if (strcmp(caserve_str(c, "status"), "processing") == 0)
		(void)net_http_reply_field(q->reply, "Retry-After", RETRY_AFTER);
out:
	json_decref(a);
}

/* ---- orders -------------------------------------------------------------------- */

/* Bring a pending order's status up to date with its authorizations;
 * stores it when it changed. */
int caserve_order_refresh(struct caserve *s, int64_t id, json_t *o, struct moat_err *err)
{
	const char *st = caserve_str(o, "status");
	bool all_valid = true, failed = false;
	size_t i;
	json_t *v;

	if (st == NULL || strcmp(st, "pending") != 0)
		return 0;
	json_array_foreach(json_object_get(o, "_authz"), i, v) {
		json_t *a = caserve_store_get(s->db, "authz", json_integer_value(v), NULL, NULL, err);
		const char *as;

		if (a == NULL)
			return -1;
		as = authz_status(a);
		if (strcmp(as, "valid") != 0)
			all_valid = false;
		if (strcmp(as, "pending") != 0 && strcmp(as, "valid") != 0) {
			failed = true;
			if (json_object_get(o, "error") == NULL) {
				json_t *ch;
				size_t k;

				json_array_foreach(json_object_get(a, "challenges"), k, ch)
					if (json_object_get(ch, "error") != NULL)
						json_object_set(o, "error", json_object_get(ch, "error"));
			}
		}
		json_decref(a);
	}
	if (json_integer_value(json_object_get(o, "_expires")) < (json_int_t)time(NULL))
		failed = true;
	if (!failed && !all_valid)
		return 0;
	json_object_set_new(o, "status", json_string(failed ? "invalid" : "ready"));
	return caserve_store_put(s->db, id, o, err);
}

json_t *caserve_order_view(struct caserve *s, int64_t id, const json_t *o)
{
	char expires[32], url[URL_MAX];
	json_t *v, *list = json_array(), *a;
	size_t i;

	caserve_time(json_integer_value(json_object_get(o, "_expires")), expires);
	v = json_pack("{s:s, s:s, s:O}", "status", caserve_str(o, "status"), "expires", expires,
		      "identifiers", json_object_get(o, "identifiers"));
	if (v == NULL || list == NULL) {
		json_decref(v);
		json_decref(list);
		return NULL;
	}
	json_array_foreach(json_object_get(o, "_authz"), i, a) {
		caserve_url(s, url, sizeof(url), "authz", json_integer_value(a));
		json_array_append_new(list, json_string(url));
	}
	json_object_set_new(v, "authorizations", list);
	snprintf(url, sizeof(url), "%s/acme/order/%lld/finalize", s->base, (long long)id);
	json_object_set_new(v, "finalize", json_string(url));
	if (json_object_get(o, "_cert") != NULL) {
		caserve_url(s, url, sizeof(url), "cert",
			    json_integer_value(json_object_get(o, "_cert")));
		json_object_set_new(v, "certificate", json_string(url));
	}
	if (json_object_get(o, "error") != NULL)
		json_object_set(v, "error", json_object_get(o, "error"));
	if (json_object_get(o, "profile") != NULL)
		json_object_set(v, "profile", json_object_get(o, "profile"));
	if (json_object_get(o, "replaces") != NULL)
		json_object_set(v, "replaces", json_object_get(o, "replaces"));
	return v;
}

/* Is names[k] one of names[0..k)? */
static bool twice(const struct moat_name *names, size_t k)
{
	for (size_t i = 0; i < k; i++)
		if (strcmp(names[i].text, names[k].text) == 0)
			return true;
	return false;
}

/* The order's identifiers as names, checked (RFC 8555 7.1.4, RFC 8738);
 * -1 with the problem sent. */
static int identifiers(struct caserve *s, struct caserve_req *q, const json_t *ids,
		       struct moat_name **out, size_t *n)
{
	struct moat_name *names = NULL;
	json_t *subs = NULL, *v;
	struct moat_err err;
	size_t i, k = 0;

	*out = NULL;
	*n = 0;
	if (!json_is_array(ids) || json_array_size(ids) == 0 ||
	    json_array_size(ids) > CASERVE_MAX_IDENTIFIERS) {
		caserve_problem(s, q->reply, 400, "malformed",
				"identifiers must be a list of 1 to 100 identifiers");
		return -1;
	}
	if ((names = calloc(json_array_size(ids), sizeof(*names))) == NULL ||
	    (subs = json_array()) == NULL) {
		free(names);
		caserve_internal(s, q->reply, NULL);
		return -1;
	}
	json_array_foreach(ids, i, v) {
		const char *type = caserve_str(v, "type"), *value = caserve_str(v, "value");
		char shown[300], detail[400];
		bool ip = type != NULL && strcmp(type, "ip") == 0;

		moat_err_clear(&err);
		moat_escape(shown, sizeof(shown), value != NULL ? value : "",
			    value != NULL ? strlen(value) : 0);
		if (type == NULL || value == NULL || (strcmp(type, "dns") != 0 && !ip)) {
			snprintf(detail, sizeof(detail), "identifier type must be dns or ip");
			json_array_append_new(subs, json_pack("{s:s, s:s, s:{s:s, s:s}}", "type",
					      "urn:ietf:params:acme:error:unsupportedIdentifier",
					      "detail", detail, "identifier", "type",
					      type != NULL ? type : "", "value", shown));
			continue;
		}
		if (moat_name_parse(value, &names[k], &err) == 0 && twice(names, k)) {
			json_array_append_new(subs, json_pack("{s:s, s:s, s:{s:s, s:s}}", "type",
					      "urn:ietf:params:acme:error:malformed", "detail",
					      "the identifier is in the order twice", "identifier",
					      "type", type, "value", shown));
			continue;
		}
		if (moat_name_parse(value, &names[k], &err) != 0 || moat_name_is_ip(&names[k]) != ip ||
		    (ip && strchr(value, '[') != NULL) ||
		    (ca_check_names(s->ca, &names[k], 1, &err) != 0)) {
			snprintf(detail, sizeof(detail), "%.390s", err.msg[0] != '\0' ? err.msg
						: "the value does not fit the identifier type");
			json_array_append_new(subs, json_pack("{s:s, s:s, s:{s:s, s:s}}", "type",
					      "urn:ietf:params:acme:error:rejectedIdentifier",
					      "detail", detail, "identifier", "type", type,
					      "value", shown));
			continue;
		}
		k++;
	}
	if (json_array_size(subs) > 0) {
		const char *type = caserve_str(json_array_get(subs, 0), "type") + 27;
		json_t *doc = json_pack("{s:s, s:s, s:i, s:O}", "type",
					caserve_str(json_array_get(subs, 0), "type"), "detail",
					json_array_size(subs) == 1
						? caserve_str(json_array_get(subs, 0), "detail")
						: "some identifiers cannot be issued for",
					"status", 400, "subproblems", subs);

		(void)type;
		caserve_json(s, q->reply, 400, doc, NULL);
		q->reply->content_type = "application/problem+json";
		json_decref(subs);
		free(names);
		return -1;
	}
	json_decref(subs);
	*out = names;
	*n = k;
	return 0;
}

/* The lifetime of a profile, 0 when there is no such profile (NULL: the
 * default). */
int caserve_profile_days(const char *name)
{
	if (name == NULL)
		return caserve_profiles[0].days;
	for (size_t i = 0; i < caserve_nprofiles; i++)
		if (strcmp(name, caserve_profiles[i].name) == 0)
			return caserve_profiles[i].days;
	return 0;
}

void caserve_new_order(struct caserve *s, struct caserve_req *q)
{
	const char *profile, *replaces;
	struct moat_name *names = NULL;
	json_t *o = NULL, *idl = NULL, *authz_ids = NULL;
	struct moat_err err;
	int64_t now = time(NULL), oid = 0;
	char url[URL_MAX];
	size_t n = 0;

	moat_err_clear(&err);
	if (!json_is_object(q->payload)) {
		caserve_problem(s, q->reply, 400, "malformed", "newOrder takes an object");
		return;
	}
	if (json_object_get(q->payload, "notBefore") != NULL ||
	    json_object_get(q->payload, "notAfter") != NULL) {
		caserve_problem(s, q->reply, 400, "malformed",
				"notBefore and notAfter are not supported: the CA sets the lifetime");
		return;
	}
	profile = json_string_value(json_object_get(q->payload, "profile"));
	if (json_object_get(q->payload, "profile") != NULL && caserve_profile_days(profile) == 0) {
		caserve_problem(s, q->reply, 400, "invalidProfile",
				"no such profile (see the directory's meta.profiles)");
		return;
	}
	replaces = json_string_value(json_object_get(q->payload, "replaces"));
	if (json_object_get(q->payload, "replaces") != NULL) {
		int64_t cid = 0, owner = 0;
		json_t *old = replaces != NULL ? caserve_ari_find(s, replaces, &cid, &owner, &err)
					       : NULL;

		if (old == NULL || owner != q->account) {
			json_decref(old);
			if (err.msg[0] != '\0')
				caserve_internal(s, q->reply, &err);
			else
				caserve_problem(s, q->reply, 400, "malformed",
						"replaces does not name a certificate of this account");
			return;
		}
		if (json_object_get(old, "replaced_by") != NULL) {
			json_decref(old);
			caserve_problem(s, q->reply, 409, "alreadyReplaced",
					"another order has replaced this certificate");
			return;
		}
		json_decref(old);
	}
	if (identifiers(s, q, json_object_get(q->payload, "identifiers"), &names, &n) != 0)
		return;
	{
		char key[40];

		snprintf(key, sizeof(key), "order %lld", (long long)q->account);
		if (!caserve_rate_ok(s, q->reply, key, s->o.rate_orders)) {
			free(names);
			return;
		}
	}
	if ((idl = json_array()) == NULL || (authz_ids = json_array()) == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++)
		json_array_append_new(idl, json_pack("{s:s, s:s}", "type",
						     moat_name_is_ip(&names[i]) ? "ip" : "dns",
						     "value", names[i].text));
	if (caserve_store_begin(s->db, &err) != 0)
		goto fail;
	o = json_pack("{s:s, s:I, s:O}", "status", "pending", "_expires",
		      (json_int_t)(now + CASERVE_ORDER_LIFETIME), "identifiers", idl);
	if (o != NULL && profile != NULL)
		json_object_set_new(o, "profile", json_string(profile));
	if (o != NULL && replaces != NULL)
		json_object_set_new(o, "replaces", json_string(replaces));
	if (o == NULL || caserve_store_add(s->db, "order", 0, q->account, NULL, o, &oid, &err) != 0)
		goto rollback;
	for (size_t i = 0; i < n; i++) {
		const char *value = names[i].type == MOAT_NAME_WILDCARD ? names[i].text + 2
									 : names[i].text;
		json_t *a = json_pack("{s:{s:s, s:s}, s:s, s:I, s:o}", "identifier", "type",
				      moat_name_is_ip(&names[i]) ? "ip" : "dns", "value", value,
				      "status", "pending", "_expires",
				      (json_int_t)(now + CASERVE_AUTHZ_LIFETIME), "challenges",
				      challenges_for(&names[i]));
		int64_t aid = 0;

		if (a != NULL && names[i].type == MOAT_NAME_WILDCARD)
			json_object_set_new(a, "wildcard", json_true());
		if (a == NULL ||
		    caserve_store_add(s->db, "authz", oid, q->account, NULL, a, &aid, &err) != 0) {
			json_decref(a);
			goto rollback;
		}
		json_decref(a);
		json_array_append_new(authz_ids, json_integer(aid));
	}
	json_object_set(o, "_authz", authz_ids);
	if (caserve_store_put(s->db, oid, o, &err) != 0 || caserve_store_commit(s->db, &err) != 0)
		goto rollback;
	caserve_url(s, url, sizeof(url), "order", oid);
	caserve_count(s->counters, CASERVE_C_ORDERS);
	caserve_log(s, "order %lld by account %lld for %zu identifier(s), first %s", (long long)oid,
		    (long long)q->account, n, names[0].text);
	caserve_json(s, q->reply, 201, caserve_order_view(s, oid, o), url);
	goto out;
rollback:
	caserve_store_rollback(s->db);
fail:
	caserve_internal(s, q->reply, &err);
out:
	json_decref(o);
	json_decref(idl);
	json_decref(authz_ids);
	free(names);
}

void caserve_order(struct caserve *s, struct caserve_req *q, int64_t id)
{
	json_t *o = caserve_owned(s, q, "order", id, NULL);
	struct moat_err err;
	char url[URL_MAX];

	if (o == NULL)
		return;
	moat_err_clear(&err);
	if (caserve_order_refresh(s, id, o, &err) != 0) {
		caserve_internal(s, q->reply, &err);
	} else {
		caserve_url(s, url, sizeof(url), "order", id);
		caserve_json(s, q->reply, 200, caserve_order_view(s, id, o), url);
		if (strcmp(caserve_str(o, "status"), "processing") == 0)
			(void)net_http_reply_field(q->reply, "Retry-After", RETRY_AFTER);
	}
	json_decref(o);
}

void caserve_orders(struct caserve *s, struct caserve_req *q, int64_t account)
{
	int64_t *ids = NULL;
	size_t n = 0;
	struct moat_err err;
	json_t *list;
	char url[URL_MAX];

	if (account != q->account) {
		caserve_problem(s, q->reply, 401, "unauthorized", "this is not the signer's account");
		return;
	}
	moat_err_clear(&err);
	if (caserve_store_list(s->db, "order", account, true, 1000, &ids, &n, &err) != 0 ||
	    (list = json_array()) == NULL) {
		caserve_internal(s, q->reply, &err);
		free(ids);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		caserve_url(s, url, sizeof(url), "order", ids[i]);
		json_array_append_new(list, json_string(url));
	}
	free(ids);
	caserve_json(s, q->reply, 200, json_pack("{s:o}", "orders", list), NULL);
}

