/* fuzz_acme_server: what any ACME client may send to `moat ca serve`.
 *
 * The first byte picks a resource (newAccount, newOrder, an order, an
 * authorization, a challenge, finalize, revokeCert, keyChange, an account,
 * the orders list, renewal information).  Odd first bytes send the rest
 * as the raw request body (the JWS parser, its base64url and JSON, the
 * algorithm, nonce and url checks); even ones wrap it as the payload of a
 * correctly signed JWS with a fresh nonce from an account made at start,
 * so that each resource's own reading of its payload -- identifiers,
 * contacts, CSRs, certificates, reasons, inner JWS, EAB -- is reached.
 * Besides crashes it checks the answer: a status from 200 to 599 and, for
 * every client error, a problem document. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acme/acme.h"
#include "ca/ca.h"
#include "caserve/internal.h"
#include "core/b64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct ca *ca;
static struct caserve *srv;
static struct pki_key *acct_key;
static char kid[400];

static const char *const paths[] = {
	"/acme/new-account", "/acme/new-order",	   "/acme/order/2",   "/acme/authz/3",
	"/acme/chall/3/0",   "/acme/order/2/finalize", "/acme/revoke-cert", "/acme/key-change",
	"/acme/acct/1",	     "/acme/acct/1/orders",	   "/acme/cert/9",    "/acme/renewal-info/x.y",
};

/* A flattened JWS of payload (n bytes) for target, signed by acct_key with
 * kid (or its jwk when use_jwk), as a malloc'd string. */
static char *jws(const char *target, const void *payload, size_t n, bool use_jwk)
{
	struct moat_buf p = MOAT_BUF_INIT, h = MOAT_BUF_INIT, sig = MOAT_BUF_INIT, in = MOAT_BUF_INIT,
			s64 = MOAT_BUF_INIT;
	struct moat_err err;
	struct pki_jwk j;
	char nonce[CASERVE_NONCE_LEN + 1], url[600];
	json_t *hdr, *doc;
	char *hs = NULL, *out = NULL;

	caserve_nonce_new(srv->nonces, nonce, false);
	snprintf(url, sizeof(url), "%s%s", srv->base, target);
	if (pki_key_jwk(acct_key, &j, &err) != 0)
		abort();
	hdr = use_jwk ? json_pack("{s:s, s:o, s:s, s:s}", "alg", "ES256", "jwk", acme_jwk_object(&j),
				  "nonce", nonce, "url", url)
		      : json_pack("{s:s, s:s, s:s, s:s}", "alg", "ES256", "kid", kid, "nonce", nonce,
				  "url", url);
	hs = json_dumps(hdr, JSON_COMPACT);
	if (hs == NULL || moat_b64url_encode(&h, hs, strlen(hs)) != 0 ||
	    (n > 0 && moat_b64url_encode(&p, payload, n) != 0) ||
	    moat_buf_printf(&in, "%s.%s", (char *)h.data, p.data ? (char *)p.data : "") != 0 ||
	    pki_jws_sign(acct_key, in.data, in.len, &sig, &err) != 0 ||
	    moat_b64url_encode(&s64, sig.data, sig.len) != 0)
		abort();
	doc = json_pack("{s:s, s:s, s:s}", "protected", (char *)h.data, "payload",
			p.data ? (char *)p.data : "", "signature", (char *)s64.data);
	out = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	json_decref(hdr);
	free(hs);
	pki_jwk_clear(&j);
	moat_buf_free(&p);
	moat_buf_free(&h);
	moat_buf_free(&sig);
	moat_buf_free(&in);
	moat_buf_free(&s64);
	return out;
}

/* One request to the ACME port's handler; checks the answer's shape. */
static void send(const char *target, const void *body, size_t len, int *status)
{
	struct net_http_request req = {.method = "POST", .target = target, .host = "127.0.0.1",
				       .peer = "127.0.0.1", .version_minor = 1,
				       .content_type = "application/jose+json", .body = body,
				       .body_len = len, .tls = true};
	struct net_http_reply *r = calloc(1, sizeof(*r));

	if (r == NULL)
		abort();
	r->status = 404;
	caserve_acme_handle(srv, &req, r);
	if (r->status < 200 || r->status > 599)
		abort();
	if (r->status >= 400 && r->status < 500 &&
	    (r->content_type == NULL || strcmp(r->content_type, "application/problem+json") != 0))
		abort();
	if (status != NULL)
		*status = r->status;
	if (r->free_body)
		free((void *)r->body);
	free(r);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char home[] = "/tmp/fuzz-acme-server-XXXXXX";
	struct ca_init_opts io = {.key_type = PKI_KEY_EC_P256, .name = "fuzz"};
	struct ca_init_result ir;
	struct caserve_opts o = {.listen = "127.0.0.1", .name = "127.0.0.1", .home = home};
	struct moat_err err;
	const char *reg = "{\"termsOfServiceAgreed\": true}";
	char *body;
	int status = 0;

	(void)argc;
	(void)argv;
	moat_err_clear(&err);
	if (mkdtemp(home) == NULL || pki_init(&err) != 0 ||
	    ca_init(home, &io, &ir, &err) != 0 || (ca = ca_open(home, &err)) == NULL ||
	    ca_unlock(ca, NULL, 0, &err) != 0 ||
	    (srv = caserve_new(ca, &o, NULL, NULL, &err)) == NULL ||
	    (acct_key = pki_key_generate(PKI_KEY_EC_P256, &err)) == NULL) {
		fprintf(stderr, "fuzz_acme_server: %s\n", err.msg);
		abort();
	}
	ca_init_result_clear(&ir);
	body = jws("/acme/new-account", reg, strlen(reg), true);
	send("/acme/new-account", body, strlen(body), &status);
	free(body);
	if (status != 201)
		abort();
	snprintf(kid, sizeof(kid), "%s/acme/acct/1", srv->base);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *target;
	char *body;

	if (size == 0)
		return 0;
	target = paths[(data[0] >> 1) % (sizeof(paths) / sizeof(paths[0]))];
	if (data[0] & 1) {
		send(target, data + 1, size - 1, NULL);
		return 0;
	}
	body = jws(target, data + 1, size - 1, strcmp(target, "/acme/revoke-cert") == 0 &&
						       (data[0] & 0x80));
	send(target, body, strlen(body), NULL);
	free(body);
	return 0;
}
