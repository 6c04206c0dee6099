/* order.c: one order from newOrder to the downloaded chain (RFC 8555
 * section 7.4): authorizations, challenges, finalize, polling with
 * Retry-After and bounded backoff, alternate chains. */
#include "acme/acme.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/b64.h"

#define MAX_AUTHZ 100
/* Without Retry-After: 50 ms, doubling to 8 s.  Validation by a nearby CA
 * takes tens of milliseconds; a far or busy one is polled ever less often. */
#define POLL_FIRST_MS 50
#define POLL_MAX_MS 8000

struct presented {
	struct moat_name id;
	char token[256];
};

struct run {
	struct acme_client *c;
	const struct acme_order_opts *o;
	time_t deadline;
	struct presented done[MAX_AUTHZ];
	size_t ndone;
};

static void say(const struct run *r, const char *fmt, ...) MOAT_PRINTF(2, 3);

static void say(const struct run *r, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (r->o->progress == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->o->progress(r->o->progress_arg, msg);
}

void acme_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Wait before the next poll: the server's Retry-After if it gave one,
 * else our backoff; never past the deadline.  -1 when time is up. */
static int wait_next(const struct run *r, long retry_after, long *backoff_ms, const char *what,
		     struct moat_err *err)
{
	long ms = retry_after >= 0 ? retry_after * 1000 : *backoff_ms;
	time_t left = r->deadline - time(NULL);

	if (left <= 0) {
		moat_err_set(err, "gave up waiting for %s after %d seconds", what, r->o->timeout_s);
		moat_err_hint(err, "the CA may be slow or stuck; try again later, or raise --timeout");
		return -1;
	}
	if (ms > left * 1000)
		ms = left * 1000;
	if (ms < 50)
		ms = 50;
	acme_sleep_ms(ms);
	if (*backoff_ms < POLL_MAX_MS)
		*backoff_ms *= 2;
	return 0;
}

static json_t *identifier(const struct moat_name *n)
{
	bool ip = n->type == MOAT_NAME_IPV4 || n->type == MOAT_NAME_IPV6;

	return json_pack("{s:s, s:s}", "type", ip ? "ip" : "dns", "value", n->text);
}

/* The challenge error of a failed authorization, as err. */
static void authz_failed(const json_t *authz, const char *name, struct moat_err *err)
{
	json_t *chs = json_object_get(authz, "challenges"), *ch, *e = NULL;
	size_t i;
	struct acme_problem p;
	char doing[300];

	json_array_foreach(chs, i, ch) {
		if ((e = json_object_get(ch, "error")) != NULL)
			break;
	}
	snprintf(doing, sizeof(doing), "the CA could not validate %s", name);
	if (e == NULL) {
		moat_err_set(err, "%s (no reason given)", doing);
		return;
	}
	acme_problem_parse(e, 0, -1, &p);
	acme_problem_to_err(&p, doing, err);
}

/* Poll url (POST-as-GET) until its status leaves the "waiting" states;
 * *obj gets the last object. */
static int poll_status(struct run *r, const char *url, const char *what, json_t **obj,
		       struct moat_err *err)
{
	long backoff = POLL_FIRST_MS;

	for (;;) {
		struct acme_resp resp = {0};
		const char *st;
		int rc = acme_post(r->c, url, NULL, what, &resp, obj, err);
		long ra = resp.retry_after;

		acme_resp_clear(&resp);
		if (rc != 0)
			return -1;
		if (*obj == NULL || (st = acme_json_str(*obj, "status")) == NULL) {
			moat_err_set(err, "%s: the CA's answer has no status", what);
			return -1;
		}
		if (strcmp(st, "pending") != 0 && strcmp(st, "processing") != 0)
			return 0;
		json_decref(*obj);
		*obj = NULL;
		if (wait_next(r, ra, &backoff, what, err) != 0)
			return -1;
	}
}

static const json_t *find_challenge(const json_t *authz, const char *type)
{
	json_t *chs = json_object_get(authz, "challenges"), *ch;
	size_t i;

	json_array_foreach(chs, i, ch) {
		const char *t = acme_json_str(ch, "type");
		if (t != NULL && strcmp(t, type) == 0)
			return ch;
	}
	return NULL;
}

static void offered(const json_t *authz, char *out, size_t n)
{
	json_t *chs = json_object_get(authz, "challenges"), *ch;
	size_t i;

	out[0] = '\0';
	json_array_foreach(chs, i, ch) {
		const char *t = acme_json_str(ch, "type");
		char show[32];
		size_t used = strlen(out);
		if (t == NULL)
			continue;
		moat_escape(show, sizeof(show), t, strlen(t));
		snprintf(out + used, n - used, "%s%s", used ? ", " : "", show);
	}
}

static int do_authz(struct run *r, const char *url, struct moat_err *err)
{
	json_t *authz = NULL, *idj, *empty = NULL;
	struct acme_resp resp = {0};
	const json_t *ch;
	const char *st, *idv, *token, *ch_url;
	struct moat_name id;
	char name[300], ka[512];
	int ret = -1;

	if (acme_post(r->c, url, NULL, "cannot read an authorization", &resp, &authz, err) != 0)
		goto out;
	idj = json_object_get(authz, "identifier");
	if (authz == NULL || (st = acme_json_str(authz, "status")) == NULL ||
	    (idv = acme_json_str(idj, "value")) == NULL) {
		moat_err_set(err, "an authorization from the CA is malformed");
		goto out;
	}
	snprintf(name, sizeof(name), "%s%s", json_is_true(json_object_get(authz, "wildcard")) ? "*." : "",
		 idv);
	if (moat_name_parse(name, &id, err) != 0) {
		moat_err_prefix(err, "the CA sent an authorization for a name moat cannot read");
		goto out;
	}
	if (strcmp(st, "valid") == 0) {
		say(r, "%s: already authorized", id.text);
		ret = 0;
		goto out;
	}
	if (strcmp(st, "pending") != 0) {
		authz_failed(authz, id.text, err);
		goto out;
	}
	if ((ch = find_challenge(authz, r->o->solver->type)) == NULL) {
		char offer[200];
		offered(authz, offer, sizeof(offer));
		moat_err_set(err, "the CA offers no %s challenge for %s (it offers: %s)",
			     r->o->solver->type, id.text, offer[0] ? offer : "none");
		moat_err_hint(err, "choose one of those with --challenge");
		goto out;
	}
	token = acme_json_str(ch, "token");
	ch_url = acme_json_str(ch, "url");
	if (token == NULL || ch_url == NULL || strlen(token) >= sizeof(r->done[0].token) ||
	    strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
		    strlen(token)) {
		moat_err_set(err, "the CA's %s challenge for %s has a malformed token",
			     r->o->solver->type, id.text);
		goto out;
	}
	if (acme_key_authorization(r->c, token, ka, sizeof(ka), err) != 0)
		goto out;
	if (r->o->solver->present(r->o->solver->arg, &id, token, ka, err) != 0)
		goto out;
	if (r->ndone < MAX_AUTHZ) {
		r->done[r->ndone].id = id;
		snprintf(r->done[r->ndone].token, sizeof(r->done[0].token), "%s", token);
		r->ndone++;
	}
	say(r, "%s: asking the CA to validate", id.text);
	acme_resp_clear(&resp);
	if ((empty = json_object()) == NULL ||
	    acme_post(r->c, ch_url, empty, "cannot start the challenge", &resp, NULL, err) != 0)
		goto out;
	json_decref(authz);
	authz = NULL;
	if (poll_status(r, url, "the authorization", &authz, err) != 0)
		goto out;
	if (strcmp(acme_json_str(authz, "status"), "valid") != 0) {
		authz_failed(authz, id.text, err);
		goto out;
	}
	say(r, "%s: validated", id.text);
	ret = 0;
out:
	acme_resp_clear(&resp);
	json_decref(authz);
	json_decref(empty);
	return ret;
}

/* The issuer CN of the last certificate of a PEM chain, for
 * --preferred-chain. */
static bool chain_top_is(const struct moat_buf *pem, const char *cn)
{
	struct pki_cert **certs = NULL;
	struct pki_cert_info info;
	size_t n = 0;
	bool match = false;
	char want[300];

	if (pki_certs_from_pem(pem->data, pem->len, &certs, &n, NULL) != 0 || n == 0)
		return false;
	memset(&info, 0, sizeof(info));
	snprintf(want, sizeof(want), "CN=%s", cn);
	if (pki_cert_info(certs[n - 1], &info, NULL) == 0) {
		/* issuer is "CN=x,O=y": compare the CN part */
		match = strncmp(info.issuer, want, strlen(want)) == 0 &&
			(info.issuer[strlen(want)] == '\0' || info.issuer[strlen(want)] == ',');
		pki_cert_info_clear(&info);
	}
	pki_certs_free(certs, n);
	return match;
}

static int download(struct run *r, const char *url, struct moat_buf *chain, struct moat_err *err)
{
	struct acme_resp resp = {0};
	struct pki_cert **certs = NULL;
	size_t n = 0;
	int ret = -1;

	if (acme_post(r->c, url, NULL, "cannot download the certificate", &resp, NULL, err) != 0)
		goto out;
	if (pki_certs_from_pem(resp.body.data, resp.body.len, &certs, &n, err) != 0) {
		moat_err_prefix(err, "the certificate the CA sent is unreadable");
		goto out;
	}
	if (r->o->preferred_chain != NULL && !chain_top_is(&resp.body, r->o->preferred_chain)) {
		for (size_t i = 0; i < resp.nlinks; i++) {
			struct acme_resp alt = {0};
			if (strcmp(resp.links[i].rel, "alternate") != 0)
				continue;
			if (acme_post(r->c, resp.links[i].url, NULL, "cannot download an alternate chain",
				      &alt, NULL, err) == 0 &&
			    chain_top_is(&alt.body, r->o->preferred_chain)) {
				moat_buf_free(&resp.body);
				resp.body = alt.body;
				alt.body = (struct moat_buf)MOAT_BUF_INIT;
				say(r, "using the alternate chain from %s", r->o->preferred_chain);
			}
			acme_resp_clear(&alt);
			moat_err_clear(err);
		}
	}
	moat_buf_free(chain);
	*chain = resp.body;
	resp.body = (struct moat_buf)MOAT_BUF_INIT;
	ret = 0;
out:
	pki_certs_free(certs, n);
	acme_resp_clear(&resp);
	return ret;
}

static int finalize(struct run *r, const char *order_url, json_t **order, struct moat_buf *chain,
		    struct moat_err *err)
{
	struct moat_buf der = MOAT_BUF_INIT, b64 = MOAT_BUF_INIT;
	struct acme_resp resp = {0};
	json_t *payload = NULL, *after = NULL;
	const char *fin = acme_json_str(*order, "finalize"), *st, *cert;
	int ret = -1;

	if (fin == NULL) {
		moat_err_set(err, "the order has no finalize URL");
		goto out;
	}
	if (pki_csr_to_der(r->o->csr, &der, err) != 0 ||
	    moat_b64url_encode(&b64, der.data, der.len) != 0 ||
	    (payload = json_pack("{s:s}", "csr", (const char *)b64.data)) == NULL) {
		if (!moat_err_isset(err))
			moat_err_set(err, "out of memory");
		goto out;
	}
	say(r, "%s", "finalizing the order");
	if (acme_post(r->c, fin, payload, "cannot finalize the order", &resp, &after, err) != 0)
		goto out;
	json_decref(after);
	after = NULL;
	if (poll_status(r, order_url, "the certificate", &after, err) != 0)
		goto out;
	st = acme_json_str(after, "status");
	if (strcmp(st, "valid") != 0 || (cert = acme_json_str(after, "certificate")) == NULL) {
		struct acme_problem p;
		acme_problem_parse(json_object_get(after, "error"), 0, -1, &p);
		acme_problem_to_err(&p, "the CA did not issue the certificate", err);
		goto out;
	}
	say(r, "%s", "downloading the certificate");
	if (download(r, cert, chain, err) != 0)
		goto out;
	json_decref(*order);
	*order = after;
	after = NULL;
	ret = 0;
out:
	acme_resp_clear(&resp);
	moat_buf_free(&der);
	moat_buf_free(&b64);
	json_decref(payload);
	json_decref(after);
	return ret;
}

int acme_order_run(struct acme_client *c, const struct acme_order_opts *o,
		   struct moat_buf *chain_pem, struct moat_err *err)
{
	const struct acme_directory *d = acme_client_directory(c);
	struct run *r = calloc(1, sizeof(*r));
	json_t *payload = NULL, *ids = NULL, *order = NULL, *authzs, *a;
	struct acme_resp resp = {0};
	char order_url[ACME_HTTP_MAX_URL];
	size_t i;
	int ret = -1;

	if (r == NULL) {
		moat_err_set(err, "out of memory");
		return -1;
	}
	r->c = c;
	r->o = o;
	r->deadline = time(NULL) + (o->timeout_s > 0 ? o->timeout_s : 300);
	if ((ids = json_array()) == NULL) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	for (i = 0; i < o->nnames; i++)
		json_array_append_new(ids, identifier(&o->names[i]));
	payload = json_pack("{s:O}", "identifiers", ids);
	if (payload != NULL && o->profile != NULL)
		json_object_set_new(payload, "profile", json_string(o->profile));
	/* RFC 9773 section 5: tell the CA which certificate this one replaces */
	if (payload != NULL && o->replaces != NULL && d->renewal_info[0] != '\0')
		json_object_set_new(payload, "replaces", json_string(o->replaces));
	if (payload == NULL) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	if (o->profile != NULL && (d->profiles == NULL || json_object_get(d->profiles, o->profile) == NULL)) {
		char offered_s[300] = "";
		const char *k;
		json_t *v;
		json_object_foreach(d->profiles, k, v) {
			size_t used = strlen(offered_s);
			char show[40];
			moat_escape(show, sizeof(show), k, strlen(k));
			snprintf(offered_s + used, sizeof(offered_s) - used, "%s%s", used ? ", " : "", show);
		}
		if (d->profiles == NULL)
			moat_err_set(err, "this CA offers no certificate profiles (--profile %.40s)", o->profile);
		else
			moat_err_set(err, "this CA has no profile \"%.40s\" (it offers: %s)", o->profile,
				     offered_s);
		goto out;
	}
	say(r, "%s", "creating the order");
	if (acme_post(c, d->new_order, payload, "cannot create the order", &resp, &order, err) != 0)
		goto out;
	if (order == NULL || resp.location[0] == '\0' ||
	    strlen(resp.location) >= sizeof(order_url)) {
		moat_err_set(err, "the CA's answer to newOrder has no order URL");
		goto out;
	}
	snprintf(order_url, sizeof(order_url), "%s", resp.location);
	authzs = json_object_get(order, "authorizations");
	if (!json_is_array(authzs) || json_array_size(authzs) == 0 ||
	    json_array_size(authzs) > MAX_AUTHZ) {
		moat_err_set(err, "the order has no usable list of authorizations");
		goto out;
	}
	json_array_foreach(authzs, i, a) {
		if (!json_is_string(a)) {
			moat_err_set(err, "the order lists a malformed authorization");
			goto out;
		}
		if (do_authz(r, json_string_value(a), err) != 0)
			goto out;
	}
	json_decref(order);
	order = NULL;
	if (poll_status(r, order_url, "the order", &order, err) != 0)
		goto out;
	if (strcmp(acme_json_str(order, "status"), "ready") != 0 &&
	    strcmp(acme_json_str(order, "status"), "valid") != 0) {
		struct acme_problem p;
		acme_problem_parse(json_object_get(order, "error"), 0, -1, &p);
		acme_problem_to_err(&p, "the order failed", err);
		goto out;
	}
	if (finalize(r, order_url, &order, chain_pem, err) != 0)
		goto out;
	ret = 0;
out:
	for (i = 0; i < r->ndone; i++)
		if (o->solver->cleanup != NULL)
			o->solver->cleanup(o->solver->arg, &r->done[i].id, r->done[i].token);
	acme_resp_clear(&resp);
	json_decref(ids);
	json_decref(payload);
	json_decref(order);
	free(r);
	return ret;
}
