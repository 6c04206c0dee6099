/* The CA side of moat ca serve: ca_sign (recorded before it returns, names
 * outside the permits refused), the CA URL in what it issues, and the
 * revocation services of src/caserve/revocation.c -- called as the engine
 * calls a handler, and once through a net_server of its own over a socket.
 * Another process's `moat revoke` is a second ca_open of the same CA: its
 * own SQLite connection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "fixture.h"
#include "unit_skip.h"

#include "ca/ca.h"
#include "caserve/revocation.h"
#include "core/b64.h"

static char home[64];
static struct ca *ca;

static int setup(void **state)
{
	struct moat_err err = {0};
	struct ca_init_result res;
	struct moat_permit permits[2];
	struct ca_init_opts o = {.key_type = PKI_KEY_EC_P256, .permits = permits, .npermits = 2,
				 .url = "http://127.0.0.1:9080"};

	snprintf(home, sizeof(home), "/tmp/moat-rev-XXXXXX");
	assert_non_null(mkdtemp(home));
	assert_int_equal(moat_permit_parse(".test", &permits[0], &err), 0);
	assert_int_equal(moat_permit_parse("127.0.0.0/8", &permits[1], &err), 0);
	if (ca_init(home, &o, &res, &err) != 0)
		fail_msg("ca_init: %s", err.msg);
	ca_init_result_clear(&res);
	ca = ca_open(home, &err);
	assert_non_null(ca);
	assert_int_equal(ca_unlock(ca, NULL, 0, &err), 0);
	(void)state;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	ca_free(ca);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", home);
	(void)system(cmd);
	(void)state;
	return 0;
}

/* A certificate signed with ca_sign for name; its serial into serial. */
static struct pki_cert *sign_one(const char *name, char *serial, size_t n)
{
	struct moat_err err = {0};
	struct moat_name nm = fx_name(name);
	struct pki_key *k = fx_key(PKI_KEY_EC_P256);
	struct ca_sign_opts o = {.names = &nm, .nnames = 1, .key = k, .days = 30,
				 .lineage = "acme:1"};
	struct ca_signed s;
	struct pki_cert *c;

	if (ca_sign(ca, &o, &s, &err) != 0)
		fail_msg("ca_sign %s: %s", name, err.msg);
	c = pki_cert_from_pem(s.cert_pem.data, s.cert_pem.len, &err);
	assert_non_null(c);
	snprintf(serial, n, "%s", s.serial);
	ca_signed_clear(&s);
	pki_key_free(k);
	return c;
}

static void test_ca_sign(void **state)
{
	struct moat_err err = {0};
	struct moat_name nm;
	struct pki_key *k = fx_key(PKI_KEY_EC_P256);
	struct ca_sign_opts o = {.names = &nm, .nnames = 1, .key = NULL, .lineage = "acme:7"};
	struct ca_signed s;
	struct ca_record *recs = NULL;
	struct ca_cert_status cs;
	struct pki_cert_urls u;
	struct pki_cert *c;
	struct ca *other;
	size_t n = 0;
	bool found = false;

	nm = fx_name("www.test");
	assert_int_equal(ca_sign(ca, &o, &s, &err), -1); /* no key */
	o.key = k;
	assert_int_equal(ca_sign(ca, &o, &s, &err), 0);
	assert_true(s.cert_pem.len > 0 && s.chain_pem.len > 0);
	assert_true(s.not_after > s.not_before);
	/* Recorded and committed: a second connection (another process) sees it. */
	other = ca_open(home, &err);
	assert_non_null(other);
	assert_int_equal(ca_list(other, &recs, &n, &err), 0);
	for (size_t i = 0; i < n; i++)
		if (strcmp(recs[i].serial, s.serial) == 0) {
			found = true;
			assert_string_equal(recs[i].lineage, "acme:7");
			assert_string_equal(recs[i].names, "www.test");
		}
	assert_true(found);
	free(recs);
	assert_int_equal(ca_cert_status(other, s.serial, &cs, &err), 0);
	assert_int_equal(cs.status, PKI_OCSP_GOOD);
	assert_int_equal(ca_cert_status(other, "0BADBAD0", &cs, &err), 0);
	assert_int_equal(cs.status, PKI_OCSP_UNKNOWN);
	ca_free(other);
	/* It carries the CA's URLs and chains to the root. */
	c = pki_cert_from_pem(s.cert_pem.data, s.cert_pem.len, &err);
	assert_non_null(c);
	assert_int_equal(pki_cert_urls(c, &u, &err), 0);
	assert_string_equal(u.crl, "http://127.0.0.1:9080/crl");
	assert_string_equal(u.ocsp, "http://127.0.0.1:9080/ocsp");
	assert_string_equal(u.ca_issuers, "http://127.0.0.1:9080/ca/intermediate.der");
	assert_true(pki_key_matches_cert(k, c));
	pki_cert_free(c);
	ca_signed_clear(&s);

	/* Outside the permits: refused, nothing recorded. */
	assert_int_equal(ca_list(ca, &recs, &n, &err), 0);
	free(recs);
	size_t before = n;
	nm = fx_name("evil.example");
	assert_int_equal(ca_sign(ca, &o, &s, &err), -1);
	assert_non_null(strstr(err.msg, "outside this CA's name constraints"));
	assert_int_equal(s.cert_pem.len, 0);
	o.days = CA_MAX_DAYS + 1;
	nm = fx_name("www.test");
	assert_int_equal(ca_sign(ca, &o, &s, &err), -1);
	assert_int_equal(ca_list(ca, &recs, &n, &err), 0);
	free(recs);
	assert_int_equal(n, before);
	pki_key_free(k);
	(void)state;
}

static void test_ca_url(void **state)
{
	struct moat_err err = {0};
	char out[CA_URL_MAX + 1];
	const char *bad[] = {"https://ca.test", "ftp://x", "http://", "http://a b",
			     "http://h/x?y", "http://h//x", "http://*.test", "http://h:0",
			     "http://h:70000", "http://h/\x01"};

	assert_int_equal(ca_url_check("http://CA.Test:9080/", out, sizeof(out), &err), 0);
	assert_string_equal(out, "http://ca.test:9080");
	assert_int_equal(ca_url_check("http://[::1]:80/moat", out, sizeof(out), &err), 0);
	assert_string_equal(out, "http://[::1]:80/moat");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (ca_url_check(bad[i], out, sizeof(out), &err) == 0)
			fail_msg("accepted %s", bad[i]);
		assert_null(strchr(err.msg, '\x01'));
	}
	assert_string_equal(ca_url(ca), "http://127.0.0.1:9080");
	(void)state;
}

/* ---- the handler ---------------------------------------------------------- */

struct answer {
	int status;
	char type[64];
	struct moat_buf body;
	char cache[128];
};

static void call(struct caserve_revocation *r, const char *method, const char *target,
		 const char *ctype, const void *body, size_t len, struct answer *a)
{
	struct net_http_request req = {.method = method, .target = target, .host = "",
				       .peer = "127.0.0.1", .version_minor = 1,
				       .content_type = ctype ? ctype : "", .body = body,
				       .body_len = len};
	struct net_http_reply *rep = calloc(1, sizeof(*rep));

	assert_non_null(rep);
	rep->status = 404;
	caserve_revocation_handle(r, &req, rep);
	memset(a, 0, sizeof(*a));
	a->status = rep->status;
	snprintf(a->type, sizeof(a->type), "%s", rep->content_type ? rep->content_type : "");
	if (rep->body != NULL)
		assert_int_equal(moat_buf_append(&a->body, rep->body, rep->len), 0);
	for (size_t i = 0; i < rep->nfields; i++)
		if (strcmp(rep->fields[i].name, "Cache-Control") == 0)
			snprintf(a->cache, sizeof(a->cache), "%s", rep->fields[i].value);
	if (rep->free_body)
		free((void *)rep->body);
	free(rep);
}

/* Ask about cert (POST, or GET), check the answer with moat's client side. */
static void ask(struct caserve_revocation *r, const struct pki_cert *cert, bool nonce, bool get,
		struct pki_ocsp_result *res, struct answer *a)
{
	struct moat_err err = {0};
	struct pki_ocsp_req *req = pki_ocsp_req_new(cert, ca_intermediate(ca), nonce, &err);
	struct moat_buf der = MOAT_BUF_INIT, b64 = MOAT_BUF_INIT, target = MOAT_BUF_INIT;

	assert_non_null(req);
	assert_int_equal(pki_ocsp_req_der(req, &der, &err), 0);
	if (get) {
		assert_int_equal(moat_b64_encode(&b64, der.data, der.len, 0), 0);
		assert_int_equal(moat_buf_printf(&target, "/ocsp/"), 0);
		for (size_t i = 0; i < b64.len; i++) {
			char c = (char)b64.data[i];
			assert_int_equal(c == '+' || c == '/' || c == '='
						 ? moat_buf_printf(&target, "%%%02X", (unsigned)c)
						 : moat_buf_append(&target, &c, 1),
					 0);
		}
		assert_int_equal(moat_buf_append(&target, "", 0), 0);
		call(r, "GET", (const char *)target.data, NULL, NULL, 0, a);
	} else {
		call(r, "POST", "/ocsp", "application/ocsp-request", der.data, der.len, a);
	}
	assert_int_equal(a->status, 200);
	assert_string_equal(a->type, "application/ocsp-response");
	assert_int_equal(pki_ocsp_check(req, cert, ca_intermediate(ca), a->body.data, a->body.len, 0,
					res, &err), 0);
	pki_ocsp_req_free(req);
	moat_buf_free(&der);
	moat_buf_free(&b64);
	moat_buf_free(&target);
}

static void test_ocsp(void **state)
{
	struct moat_err err = {0};
	struct caserve_revocation *r = caserve_revocation_new(ca, &err);
	struct caserve_revocation_stats st;
	struct pki_ocsp_result res;
	struct answer a, b;
	struct ca_record *hit = NULL;
	struct ca *other;
	char serial[80];
	size_t n;
	struct pki_cert *c = sign_one("ocsp.test", serial, sizeof(serial));

	if (r == NULL)
		fail_msg("caserve_revocation_new: %s", err.msg);
	/* Good, signed by the delegate, nonce echoed. */
	ask(r, c, true, false, &res, &a);
	assert_int_equal(res.response_status, 0);
	assert_int_equal(res.status, PKI_OCSP_GOOD);
	assert_true(res.signature_ok && res.responder_authorized && res.nonce_ok && res.time_ok);
	assert_true(res.nonce_present);
	assert_string_equal(a.cache, "no-store");
	moat_buf_free(&a.body);
	/* Without a nonce: the second answer is the cached bytes. */
	ask(r, c, false, false, &res, &a);
	assert_int_equal(res.status, PKI_OCSP_GOOD);
	caserve_revocation_stats(r, &st);
	uint64_t signed_before = st.ocsp_signed;
	ask(r, c, false, false, &res, &b);
	caserve_revocation_stats(r, &st);
	assert_int_equal(st.ocsp_signed, signed_before);
	assert_int_equal(st.ocsp_cached, 1);
	assert_int_equal(a.body.len, b.body.len);
	assert_memory_equal(a.body.data, b.body.data, a.body.len);
	moat_buf_free(&a.body);
	moat_buf_free(&b.body);
	/* GET: the same, with RFC 5019 caching. */
	ask(r, c, false, true, &res, &a);
	assert_int_equal(res.status, PKI_OCSP_GOOD);
	assert_non_null(strstr(a.cache, "max-age=3600"));
	assert_non_null(strstr(a.cache, "public"));
	moat_buf_free(&a.body);

	/* Another process revokes: seen on the next request, cache or not. */
	other = ca_open(home, &err);
	assert_non_null(other);
	assert_int_equal(ca_unlock(other, NULL, 0, &err), 0);
	assert_int_equal(ca_revoke(other, serial, PKI_REASON_KEY_COMPROMISE, &hit, &n, &err), 0);
	free(hit);
	ca_free(other);
	ask(r, c, false, false, &res, &a);
	assert_int_equal(res.status, PKI_OCSP_REVOKED);
	assert_int_equal(res.reason, PKI_REASON_KEY_COMPROMISE);
	assert_true(res.signature_ok && res.responder_authorized);
	moat_buf_free(&a.body);
	caserve_revocation_stats(r, &st);
	assert_true(st.flushes >= 1);

	/* The CRL lists it. */
	call(r, "GET", "/crl", NULL, NULL, 0, &a);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.type, "application/pkix-crl");
	struct pki_crl *crl = pki_crl_from_any(a.body.data, a.body.len, &err);
	struct pki_crl_check cc;
	assert_non_null(crl);
	assert_int_equal(pki_crl_check(crl, c, ca_intermediate(ca), 0, &cc, &err), 0);
	assert_true(cc.signature_ok && cc.revoked);
	assert_int_equal(cc.reason, PKI_REASON_KEY_COMPROMISE);
	pki_crl_free(crl);
	moat_buf_free(&a.body);
	pki_cert_free(c);

	/* Issued after the cache was filled, then the process's own change. */
	c = sign_one("later.test", serial, sizeof(serial));
	caserve_revocation_changed(r);
	ask(r, c, false, false, &res, &a);
	assert_int_equal(res.status, PKI_OCSP_GOOD);
	moat_buf_free(&a.body);
	pki_cert_free(c);
	caserve_revocation_free(r);
	(void)state;
}

static void test_ocsp_refusals(void **state)
{
	struct moat_err err = {0};
	struct caserve_revocation *r = caserve_revocation_new(ca, &err);
	struct pki_ocsp_result res;
	struct answer a;
	struct pki_key *k = fx_key(PKI_KEY_EC_P256);
	struct moat_name nm = fx_name("stranger.test");
	struct pki_cert_spec spec = {.profile = PKI_PROFILE_ROOT, .common_name = "Stranger",
				     .not_before = time(NULL) - 60, .not_after = time(NULL) + 3600};
	struct pki_cert_spec lspec = {.profile = PKI_PROFILE_LEAF, .names = &nm, .nnames = 1,
				      .common_name = "stranger.test",
				      .not_before = time(NULL) - 60, .not_after = time(NULL) + 3600};
	struct pki_cert *root, *leaf;
	struct pki_ocsp_req *req;
	struct moat_buf der = MOAT_BUF_INIT;
	char big[CASERVE_OCSP_MAX_REQUEST + 1];

	assert_non_null(r);
	/* Another issuer: unauthorized. */
	root = pki_cert_build(&spec, k, NULL, k, &err);
	assert_non_null(root);
	leaf = pki_cert_build(&lspec, k, root, k, &err);
	assert_non_null(leaf);
	req = pki_ocsp_req_new(leaf, root, false, &err);
	assert_int_equal(pki_ocsp_req_der(req, &der, &err), 0);
	call(r, "POST", "/ocsp", "application/ocsp-request", der.data, der.len, &a);
	assert_int_equal(a.status, 200);
	assert_int_equal(pki_ocsp_check(req, leaf, root, a.body.data, a.body.len, 0, &res, &err), 0);
	assert_int_equal(res.response_status, 6);
	moat_buf_free(&a.body);
	pki_ocsp_req_free(req);
	/* Our issuer, a serial we never issued: unknown (signed). */
	pki_cert_free(leaf);
	struct pki_key *ik = NULL;
	{
		char path[128];
		struct moat_buf pem = MOAT_BUF_INIT;
		snprintf(path, sizeof(path), "%s/ca/intermediate-key.pem", home);
		FILE *fp = fopen(path, "rb");
		char chunk[4096];
		size_t got;
		assert_non_null(fp);
		while ((got = fread(chunk, 1, sizeof(chunk), fp)) > 0)
			assert_int_equal(moat_buf_append(&pem, chunk, got), 0);
		fclose(fp);
		ik = pki_key_from_pem(pem.data, pem.len, NULL, 0, &err);
		assert_non_null(ik);
		moat_buf_free(&pem);
	}
	leaf = pki_cert_build(&lspec, k, ca_intermediate(ca), ik, &err);
	assert_non_null(leaf);
	ask(r, leaf, true, false, &res, &a);
	assert_int_equal(res.response_status, 0);
	assert_int_equal(res.status, PKI_OCSP_UNKNOWN);
	assert_true(res.signature_ok && res.responder_authorized);
	moat_buf_free(&a.body);
	pki_cert_free(leaf);
	pki_key_free(ik);

	/* Malformed (POST and GET): malformedRequest, HTTP 200. */
	call(r, "POST", "/ocsp", "application/ocsp-request", "\x30\x00", 2, &a);
	assert_int_equal(a.status, 200);
	assert_int_equal(pki_ocsp_check(NULL, root, root, a.body.data, a.body.len, 0, &res, &err), 0);
	assert_int_equal(res.response_status, 1);
	moat_buf_free(&a.body);
	call(r, "GET", "/ocsp/%zz", NULL, NULL, 0, &a);
	assert_int_equal(pki_ocsp_check(NULL, root, root, a.body.data, a.body.len, 0, &res, &err), 0);
	assert_int_equal(res.response_status, 1);
	moat_buf_free(&a.body);
	call(r, "GET", "/ocsp/MAA=", NULL, NULL, 0, &a);
	assert_int_equal(pki_ocsp_check(NULL, root, root, a.body.data, a.body.len, 0, &res, &err), 0);
	assert_int_equal(res.response_status, 1);
	moat_buf_free(&a.body);
	/* HTTP-level refusals. */
	call(r, "POST", "/ocsp", "text/plain", der.data, der.len, &a);
	assert_int_equal(a.status, 415);
	memset(big, 0x30, sizeof(big));
	call(r, "POST", "/ocsp", "application/ocsp-request", big, sizeof(big), &a);
	assert_int_equal(a.status, 413);
	call(r, "GET", "/ocsp", NULL, NULL, 0, &a);
	assert_int_equal(a.status, 405);
	call(r, "POST", "/crl", "application/ocsp-request", der.data, der.len, &a);
	assert_int_equal(a.status, 405);
	call(r, "GET", "/nothing", NULL, NULL, 0, &a);
	assert_int_equal(a.status, 404);
	/* The CA certificates. */
	call(r, "GET", "/ca/intermediate.der", NULL, NULL, 0, &a);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.type, "application/pkix-cert");
	struct pki_cert *got = pki_cert_from_any(a.body.data, a.body.len, &err);
	assert_non_null(got);
	assert_true(pki_cert_signed_by(ca_intermediate(ca), got) == false);
	assert_true(pki_cert_signed_by(got, ca_root(ca)));
	pki_cert_free(got);
	moat_buf_free(&a.body);
	call(r, "HEAD", "/ca/root.der", NULL, NULL, 0, &a);
	assert_int_equal(a.status, 200);
	got = pki_cert_from_any(a.body.data, a.body.len, &err);
	assert_non_null(got);
	assert_true(pki_cert_signed_by(got, got));
	pki_cert_free(got);
	moat_buf_free(&a.body);

	moat_buf_free(&der);
	pki_cert_free(root);
	pki_key_free(k);
	caserve_revocation_free(r);
	(void)state;
}

/* Through the engine: a net_server with the handler, a POST over a socket;
 * a body over CASERVE_OCSP_MAX_REQUEST gets 413 from the engine. */
static void test_on_server(void **state)
{
	struct moat_err err = {0};
	struct caserve_revocation *r = caserve_revocation_new(ca, &err);
	struct net_server *s = net_server_new(&err);
	struct net_http_listen_opts lo = {.max_body = CASERVE_OCSP_MAX_REQUEST};
	struct sockaddr_in sa = {.sin_family = AF_INET};
	char buf[16384], head[256], serial[80];
	struct pki_cert *c = sign_one("wire.test", serial, sizeof(serial));
	struct pki_ocsp_req *req = pki_ocsp_req_new(c, ca_intermediate(ca), true, &err);
	struct moat_buf der = MOAT_BUF_INIT;
	struct pki_ocsp_result res;
	size_t got = 0;
	ssize_t k;
	int fd;

	assert_non_null(r);
	assert_non_null(s);
	assert_int_equal(net_server_listen_http_opts(s, "127.0.0.1", 0, &lo,
						     caserve_revocation_handle, r, &err), 0);
	assert_int_equal(net_server_start(s, &err), 0);
	sa.sin_port = htons(net_server_port(s));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(pki_ocsp_req_der(req, &der, &err), 0);

	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	snprintf(head, sizeof(head),
		 "POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Type: application/ocsp-request\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n", der.len);
	assert_int_equal(write(fd, head, strlen(head)), (ssize_t)strlen(head));
	assert_int_equal(write(fd, der.data, der.len), (ssize_t)der.len);
	while (got < sizeof(buf) - 1 && (k = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)k;
	close(fd);
	buf[got] = '\0';
	assert_true(strncmp(buf, "HTTP/1.1 200", 12) == 0);
	assert_non_null(strstr(buf, "Content-Type: application/ocsp-response"));
	char *body = strstr(buf, "\r\n\r\n");
	assert_non_null(body);
	body += 4;
	assert_int_equal(pki_ocsp_check(req, c, ca_intermediate(ca), body, got - (size_t)(body - buf),
					0, &res, &err), 0);
	assert_int_equal(res.status, PKI_OCSP_GOOD);
	assert_true(res.nonce_ok && res.nonce_present && res.responder_authorized);

	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	snprintf(head, sizeof(head),
		 "POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Type: application/ocsp-request\r\n"
		 "Content-Length: 20000\r\n\r\n");
	assert_int_equal(write(fd, head, strlen(head)), (ssize_t)strlen(head));
	got = 0;
	while (got < sizeof(buf) - 1 && (k = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)k;
	close(fd);
	buf[got] = '\0';
	assert_true(strncmp(buf, "HTTP/1.1 413", 12) == 0);

	net_server_free(s);
	caserve_revocation_free(r);
	pki_ocsp_req_free(req);
	pki_cert_free(c);
	moat_buf_free(&der);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ca_sign),
		cmocka_unit_test(test_ca_url),
		cmocka_unit_test(test_ocsp),
		cmocka_unit_test(test_ocsp_refusals),
		cmocka_unit_test(test_on_server),
	};
	struct moat_err err = {0};

	if (pki_init(&err) != 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
