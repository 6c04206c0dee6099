/* What moat check asks of the pki module: OCSP requests and responses
 * (responses made by `openssl ocsp`), CRL checks, the URLs a certificate
 * points to, caIssuers answers, host name matching and path building. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "unit_skip.h"

#include "pki/pki.h"

#define DAY 86400

static int64_t now;
static bool have_openssl;
static unsigned long serial;

struct fixture {
	char dir[64];
	struct pki_key *root_key, *int_key, *leaf_key, *other_key;
	struct pki_cert *root, *inter, *leaf, *other_root;
	char leaf_serial[80];
};

/* ---- helpers -------------------------------------------------------------- */

static struct pki_cert *build_spec(struct pki_cert_spec *spec, const struct pki_key *key,
				   const struct pki_cert *issuer, const struct pki_key *issuer_key)
{
	struct moat_err err = {0};
	struct pki_cert *c = pki_cert_build(spec, key, issuer, issuer_key, &err);

	if (c == NULL)
		fail_msg("build %s: %s", spec->common_name ? spec->common_name : "?", err.msg);
	return c;
}

static struct pki_cert *build(enum pki_profile profile, const char *cn, const struct moat_name *n,
			      size_t nn, const struct pki_key *key, const struct pki_cert *issuer,
			      const struct pki_key *issuer_key)
{
	struct pki_cert_spec spec = {.profile = profile, .common_name = cn, .names = n,
				     .nnames = nn, .not_before = now - 3600,
				     .not_after = now + 30 * DAY};

	return build_spec(&spec, key, issuer, issuer_key);
}

static int run(const char *fmt, ...) MOAT_PRINTF(1, 2);

static int run(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(cmd));
	return system(cmd);
}

static void path_in(const struct fixture *f, const char *name, char *out, size_t n)
{
	int r = snprintf(out, n, "%s/%s", f->dir, name);

	assert_true(r > 0 && (size_t)r < n);
}

static void read_all(const char *path, struct moat_buf *out)
{
	FILE *fp = fopen(path, "rb");
	char chunk[4096];
	size_t got;

	assert_non_null(fp);
	while ((got = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		assert_int_equal(moat_buf_append(out, chunk, got), 0);
	fclose(fp);
}

static void write_cert(const struct fixture *f, const char *name, const struct pki_cert *c)
{
	struct moat_err err = {0};
	struct moat_buf pem = MOAT_BUF_INIT;
	char path[160];

	path_in(f, name, path, sizeof(path));
	assert_int_equal(pki_cert_to_pem(c, &pem, &err), 0);
	fx_write_file(path, pem.data, pem.len);
	moat_buf_free(&pem);
}

static void write_key(const struct fixture *f, const char *name, const struct pki_key *k)
{
	struct moat_err err = {0};
	struct moat_buf pem = MOAT_BUF_INIT;
	char path[160];

	path_in(f, name, path, sizeof(path));
	assert_int_equal(pki_key_to_pem(k, NULL, 0, &pem, &err), 0);
	fx_write_file(path, pem.data, pem.len);
	moat_buf_free(&pem);
}

static struct pki_cert *read_cert(const struct fixture *f, const char *name)
{
	struct moat_err err = {0};
	struct moat_buf in = MOAT_BUF_INIT;
	struct pki_cert *c;
	char path[160];

	path_in(f, name, path, sizeof(path));
	read_all(path, &in);
	c = pki_cert_from_any(in.data, in.len, &err);
	if (c == NULL)
		fail_msg("read %s: %s", name, err.msg);
	moat_buf_free(&in);
	return c;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct moat_err err = {0};
	struct moat_name n = fx_name("www.example");
	struct pki_cert_info info;

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/moat-test-revoke-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	f->root_key = fx_key(PKI_KEY_EC_P256);
	f->int_key = fx_key(PKI_KEY_EC_P256);
	f->leaf_key = fx_key(PKI_KEY_EC_P256);
	f->other_key = fx_key(PKI_KEY_EC_P256);
	f->root = build(PKI_PROFILE_ROOT, "Revoke Root", NULL, 0, f->root_key, NULL, f->root_key);
	f->other_root = build(PKI_PROFILE_ROOT, "Other Root", NULL, 0, f->other_key, NULL,
			      f->other_key);
	f->inter = build(PKI_PROFILE_INTERMEDIATE, "Revoke Intermediate", NULL, 0, f->int_key,
			 f->root, f->root_key);
	f->leaf = build(PKI_PROFILE_LEAF, "www.example", &n, 1, f->leaf_key, f->inter, f->int_key);
	if (pki_cert_info(f->leaf, &info, &err) != 0)
		return -1;
	snprintf(f->leaf_serial, sizeof(f->leaf_serial), "%s", info.serial_hex);
	pki_cert_info_clear(&info);
	write_cert(f, "root.pem", f->root);
	write_key(f, "root.key", f->root_key);
	write_cert(f, "inter.pem", f->inter);
	write_key(f, "inter.key", f->int_key);
	write_cert(f, "leaf.pem", f->leaf);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	run("rm -rf '%s'", f->dir);
	pki_cert_free(f->leaf);
	pki_cert_free(f->inter);
	pki_cert_free(f->root);
	pki_cert_free(f->other_root);
	pki_key_free(f->leaf_key);
	pki_key_free(f->int_key);
	pki_key_free(f->root_key);
	pki_key_free(f->other_key);
	free(f);
	return 0;
}

/* An extension file and a certificate from the openssl tool:
 * `name`.pem/.key, issued by `ca` (a name in the fixture directory). */
static void openssl_cert(const struct fixture *f, const char *name, const char *subj,
			 const char *ca, const char *ext, const char *extra)
{
	char cnf[160], key[160], csr[160], pem[160];
	char line[1024];
	int r;

	path_in(f, "ext.cnf", cnf, sizeof(cnf));
	r = snprintf(line, sizeof(line), "[v3]\n%s\n", ext);
	assert_true(r > 0 && (size_t)r < sizeof(line));
	fx_write_file(cnf, line, strlen(line));
	r = snprintf(key, sizeof(key), "%s/%s.key", f->dir, name);
	assert_true(r > 0 && (size_t)r < sizeof(key));
	r = snprintf(csr, sizeof(csr), "%s/%s.csr", f->dir, name);
	assert_true(r > 0 && (size_t)r < sizeof(csr));
	r = snprintf(pem, sizeof(pem), "%s/%s.pem", f->dir, name);
	assert_true(r > 0 && (size_t)r < sizeof(pem));
	assert_non_null(ca);
	assert_int_equal(run("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
			     "-keyout %s -subj '%s' -out %s >/dev/null 2>&1 && "
			     "openssl x509 -req -in %s -CA %s/%s.pem -CAkey %s/%s.key "
			     "-set_serial 0x%lx -days 10 -extfile %s -extensions v3 %s -out %s "
			     ">/dev/null 2>&1",
			     key, subj, csr, csr, f->dir, ca, f->dir, ca,
			     (unsigned long)(now & 0xffffff) * 64 + ++serial, cnf,
			     extra, pem),
			 0);
}

/* ---- OCSP ----------------------------------------------------------------- */

static struct pki_ocsp_req *new_req(const struct fixture *f, bool nonce)
{
	struct moat_err err = {0};
	struct pki_ocsp_req *r = pki_ocsp_req_new(f->leaf, f->inter, nonce, &err);

	if (r == NULL)
		fail_msg("ocsp request: %s", err.msg);
	return r;
}

/* `openssl ocsp` answering req from an index with `index` (text), signed
 * by signer (a name in the fixture directory: signer.pem/.key). */
static void respond(const struct fixture *f, const struct pki_ocsp_req *req, const char *index,
		    const char *signer, const char *extra, struct moat_buf *resp)
{
	struct moat_err err = {0};
	struct moat_buf der = MOAT_BUF_INIT;
	char reqp[160], idx[160], out[160];

	path_in(f, "req.der", reqp, sizeof(reqp));
	path_in(f, "index.txt", idx, sizeof(idx));
	path_in(f, "resp.der", out, sizeof(out));
	assert_int_equal(pki_ocsp_req_der(req, &der, &err), 0);
	fx_write_file(reqp, der.data, der.len);
	fx_write_file(idx, index, strlen(index));
	unlink(out);
	assert_int_equal(run("openssl ocsp -index %s -rsigner %s/%s.pem -rkey %s/%s.key "
			     "-CA %s/inter.pem -reqin %s -respout %s %s >/dev/null 2>&1",
			     idx, f->dir, signer, f->dir, signer, f->dir, reqp, out, extra),
			 0);
	moat_buf_free(resp);
	read_all(out, resp);
	moat_buf_free(&der);
}

static void index_line(const struct fixture *f, const char *status, const char *rev, char *out,
		       size_t n)
{
	int r = snprintf(out, n, "%s\t391231235959Z\t%s\t%s\tunknown\t/CN=www.example\n", status,
			 rev, f->leaf_serial);

	assert_true(r > 0 && (size_t)r < n);
}

static void test_ocsp_request(void **state)
{
	struct fixture *f = *state;
	struct moat_err err = {0};
	struct moat_buf a = MOAT_BUF_INIT, b = MOAT_BUF_INIT;
	struct pki_ocsp_req *r1 = new_req(f, true), *r2 = new_req(f, true), *r3 = new_req(f, false);

	assert_int_equal(pki_ocsp_req_der(r1, &a, &err), 0);
	assert_int_equal(pki_ocsp_req_der(r2, &b, &err), 0);
	assert_int_equal(a.data[0], 0x30);
	assert_int_equal(a.len, b.len);
	assert_true(memcmp(a.data, b.data, a.len) != 0); /* the nonces differ */
	moat_buf_free(&b);
	assert_int_equal(pki_ocsp_req_der(r3, &b, &err), 0);
	assert_true(b.len < a.len);
	if (have_openssl) {
		char p[160];

		path_in(f, "r.der", p, sizeof(p));
		fx_write_file(p, a.data, a.len);
		assert_int_equal(run("openssl ocsp -reqin %s -req_text | grep -q 'Hash Algorithm: "
				     "sha1' && openssl ocsp -reqin %s -req_text | grep -q "
				     "'OCSP Nonce' && openssl ocsp -reqin %s -req_text | grep -qi "
				     "'Serial Number: %s'",
				     p, p, p, f->leaf_serial),
				 0);
	}
	assert_null(pki_ocsp_req_new(NULL, f->inter, true, &err));
	assert_true(moat_err_isset(&err));
	assert_int_equal(pki_ocsp_req_der(NULL, &b, &err), -1);
	pki_ocsp_req_free(NULL);
	pki_ocsp_req_free(r1);
	pki_ocsp_req_free(r2);
	pki_ocsp_req_free(r3);
	moat_buf_free(&a);
	moat_buf_free(&b);
}

static void test_ocsp_good_revoked_unknown(void **state)
{
	struct fixture *f = *state;
	struct moat_err err = {0};
	struct moat_buf resp = MOAT_BUF_INIT;
	struct pki_ocsp_result res;
	struct pki_ocsp_req *req;
	char line[512];

	if (!have_openssl)
		UNIT_SKIP("the openssl command is not installed");
	req = new_req(f, true);

	/* good, signed by the issuer itself */
	index_line(f, "V", "", line, sizeof(line));
	respond(f, req, line, "inter", "-ndays 2", &resp);
	assert_int_equal(pki_ocsp_check(req, f->leaf, f->inter, resp.data, resp.len, now, &res, &err),
			 0);
	assert_int_equal(res.response_status, 0);
	assert_true(res.matched);
	assert_int_equal(res.status, PKI_OCSP_GOOD);
	assert_true(res.signature_ok);
	assert_true(res.responder_authorized);
	assert_true(res.nonce_sent);
	assert_true(res.nonce_present);
	assert_true(res.nonce_ok);
	assert_true(res.time_ok);
	assert_int_equal(res.reason, -1);
	assert_true(res.this_update >= now - 300 && res.this_update <= now + 300);
	assert_true(res.next_update >= now + 2 * DAY - 300 && res.next_update <= now + 2 * DAY + 300);
	assert_true(res.produced_at >= now - 300);
	assert_string_equal(res.problem, "");

	/* the same response, stapled (no request): matched by CertID */
	assert_int_equal(pki_ocsp_check(NULL, f->leaf, f->inter, resp.data, resp.len, now, &res, &err),
			 0);
	assert_int_equal(res.status, PKI_OCSP_GOOD);
	assert_false(res.nonce_sent);
	assert_true(res.nonce_present);
	assert_true(res.nonce_ok);
	assert_string_equal(res.problem, "");

	/* expired: checked three days later */
	assert_int_equal(pki_ocsp_check(req, f->leaf, f->inter, resp.data, resp.len, now + 3 * DAY,
					&res, &err),
			 0);
	assert_int_equal(res.status, PKI_OCSP_GOOD);
	assert_false(res.time_ok);
	assert_non_null(strstr(res.problem, "expired"));
	/* within the skew: still fine; before thisUpdate: not valid yet */
	assert_int_equal(pki_ocsp_check(req, f->leaf, f->inter, resp.data, resp.len,
					res.next_update + 200, &res, &err),
			 0);
	assert_true(res.time_ok);
	assert_int_equal(pki_ocsp_check(req, f->leaf, f->inter, resp.data, resp.len, now - DAY, &res,
					&err),
			 0);
	assert_false(res.time_ok);
	assert_non_null(strstr(res.problem, "not valid yet"));

	/* about another certificate: not matched */
	assert_int_equal(pki_ocsp_check(NULL, f->inter, f->root, resp.data, resp.len, now, &res, &err),
			 0);
	assert_false(res.matched);
	assert_int_equal(res.status, PKI_OCSP_UNKNOWN);
	assert_non_null(strstr(res.problem, "not about this certificate"));

	/* revoked with a reason, and with the key hash as responder ID */
	index_line(f, "R", "240102030405Z,keyCompromise", line, sizeof(line));
	respond(f, req, line, "inter", "-resp_key_id", &resp);
	assert_int_equal(pki_ocsp_check(req, f->leaf, f->inter, resp.data, resp.len, now, &res, &err),
			 0);
	assert_int_equal(res.status, PKI_OCSP_REVOKED);
	assert_int_equal(res.reason, 1);
	assert_int_equal(res.revoked_at, 1704164645); /* 2024-01-02 03:04:05Z */
	assert_true(res.signature_ok);
	assert_true(res.responder_authorized);
	assert_int_equal(res.next_update, 0); /* no -ndays: absent */
	assert_true(res.time_ok);
	assert_string_equal(res.problem, "");

	/* revoked without a reason */
	index_line(f, "R", "240102030405Z", line, sizeof(line));
	respond(f, req, line, "inter", "", &resp);
	assert_int_equal(pki_ocsp_check(req, f->leaf, f->inter, resp.data, resp.len, now, &res, &err),
			 0);
	assert_int_equal(res.status, PKI_OCSP_REVOKED);
	assert_int_equal(res.reason, -1);

	/* unknown: not in the index */
	respond(f, req, "V\t391231235959Z\t\t0BADC0DE\tunknown\t/CN=other\n", "inter", "", &resp);
	assert_int_equal(pki_ocsp_check(req, f->leaf, f->inter, resp.data, resp.len, now, &res, &err),
			 0);
	assert_true(res.matched);
	assert_int_equal(res.status, PKI_OCSP_UNKNOWN);
	assert_true(res.signature_ok);

	/* a wrong issuer: the CertID does not match and the issuer did not sign */
	assert_int_equal(pki_ocsp_check(req, f->leaf, f->root, resp.data, resp.len, now, &res, &err),
			 0);
	assert_false(res.matched);
	assert_false(res.responder_authorized);

	pki_ocsp_req_free(req);
	moat_buf_free(&resp);
}

static void test_ocsp_delegates(void **state)
{
	struct fixture *f = *state;
	struct moat_err err = {0};
	struct moat_buf resp = MOAT_BUF_INIT;
	struct pki_ocsp_result res;
	struct pki_ocsp_req *req;
	char line[512];

	if (!have_openssl)
		UNIT_SKIP("the openssl command is not installed");
	req = new_req(f, true);
	index_line(f, "V", "", line, sizeof(line));

	/* a delegate issued by the issuer, with id-kp-OCSPSigning */
	openssl_cert(f, "delegate", "/CN=Delegated Responder", "inter",
		     "extendedKeyUsage=OCSPSigning\nkeyUsage=critical,digitalSignature", "");
	respond(f, req, line, "delegate", "-ndays 1", &resp);
	assert_int_equal(pki_ocsp_check(req, f->leaf, f->inter, resp.data, resp.len, now, &res, &err),
			 0);
	assert_int_equal(res.status, PKI_OCSP_GOOD);
	assert_true(res.signature_ok);
	assert_true(res.responder_authorized);
	assert_string_equal(res.problem, "");
	/* ... but not valid any more a month on (10 days) */
	assert_int_equal(pki_ocsp_check(NULL, f->leaf, f->inter, resp.data, resp.len, now + 20 * DAY,
					&res, &err),
			 0);
	assert_false(res.responder_authorized);
	assert_non_null(strstr(res.problem, "not valid now"));

	/* a delegate without the OCSPSigning EKU */
	openssl_cert(f, "noeku", "/CN=No EKU", "inter", "keyUsage=critical,digitalSignature", "");
	respond(f, req, line, "noeku", "-ndays 1", &resp);
	assert_int_equal(pki_ocsp_check(req, f->leaf, f->inter, resp.data, resp.len, now, &res, &err),
			 0);
	assert_true(res.signature_ok);
	assert_false(res.responder_authorized);
	assert_non_null(strstr(res.problem, "OCSPSigning"));

	/* OCSPSigning, but issued by the root, not by the leaf's issuer */
	openssl_cert(f, "unrelated", "/CN=Unrelated Responder", "root",
		     "extendedKeyUsage=OCSPSigning", "");
	respond(f, req, line, "unrelated", "-ndays 1", &resp);
	assert_int_equal(pki_ocsp_check(req, f->leaf, f->inter, resp.data, resp.len, now, &res, &err),
			 0);
	assert_int_equal(res.status, PKI_OCSP_GOOD);
	assert_true(res.signature_ok);
	assert_false(res.responder_authorized);
	assert_non_null(strstr(res.problem, "did not issue"));

	/* the signer's certificate left out: the signer cannot be found */
	respond(f, req, line, "unrelated", "-ndays 1 -resp_no_certs", &resp);
	assert_int_equal(pki_ocsp_check(req, f->leaf, f->inter, resp.data, resp.len, now, &res, &err),
			 0);
	assert_false(res.signature_ok);
	assert_false(res.responder_authorized);
	assert_non_null(strstr(res.problem, "signer"));

	/* a tampered signature */
	respond(f, req, line, "inter", "-ndays 1 -resp_no_certs", &resp);
	assert_int_equal(pki_ocsp_check(req, f->leaf, f->inter, resp.data, resp.len, now, &res, &err),
			 0);
	assert_true(res.signature_ok); /* the issuer found without the certificate */
	assert_true(res.responder_authorized);
	resp.data[resp.len - 1] ^= 0x01; /* the end of the signature */
	assert_int_equal(pki_ocsp_check(req, f->leaf, f->inter, resp.data, resp.len, now, &res, &err),
			 0);
	assert_false(res.signature_ok);
	assert_false(res.responder_authorized);
	assert_non_null(strstr(res.problem, "signature"));

	pki_ocsp_req_free(req);
	moat_buf_free(&resp);
}

static void test_ocsp_nonce(void **state)
{
	struct fixture *f = *state;
	struct moat_err err = {0};
	struct moat_buf resp = MOAT_BUF_INIT;
	struct pki_ocsp_result res;
	struct pki_ocsp_req *req, *plain, *other;
	char line[512];

	if (!have_openssl)
		UNIT_SKIP("the openssl command is not installed");
	req = new_req(f, true);
	plain = new_req(f, false);
	other = new_req(f, true);
	index_line(f, "V", "", line, sizeof(line));

	/* not echoed: the answer to a request without one */
	respond(f, plain, line, "inter", "-ndays 1", &resp);
	assert_int_equal(pki_ocsp_check(req, f->leaf, f->inter, resp.data, resp.len, now, &res, &err),
			 0);
	assert_true(res.nonce_sent);
	assert_false(res.nonce_present);
	assert_false(res.nonce_ok);
	assert_string_equal(res.problem, ""); /* common, not wrong */
	assert_int_equal(pki_ocsp_check(plain, f->leaf, f->inter, resp.data, resp.len, now, &res,
					&err),
			 0);
	assert_false(res.nonce_sent);
	assert_true(res.nonce_ok);

	/* wrong: the answer to another request */
	respond(f, other, line, "inter", "-ndays 1", &resp);
	assert_int_equal(pki_ocsp_check(req, f->leaf, f->inter, resp.data, resp.len, now, &res, &err),
			 0);
	assert_true(res.nonce_sent);
	assert_true(res.nonce_present);
	assert_false(res.nonce_ok);
	assert_non_null(strstr(res.problem, "nonce"));
	assert_int_equal(res.status, PKI_OCSP_GOOD);

	pki_ocsp_req_free(req);
	pki_ocsp_req_free(plain);
	pki_ocsp_req_free(other);
	moat_buf_free(&resp);
}

static void test_ocsp_errors(void **state)
{
	struct fixture *f = *state;
	struct moat_err err = {0};
	struct pki_ocsp_result res;
	static const unsigned char try_later[] = {0x30, 0x03, 0x0a, 0x01, 0x03};
	static const unsigned char unauthorized[] = {0x30, 0x03, 0x0a, 0x01, 0x06};
	static const unsigned char trailing[] = {0x30, 0x03, 0x0a, 0x01, 0x03, 0x00};
	/* successful, with a responseBytes of an unknown type */
	static const unsigned char odd[] = {0x30, 0x0f, 0x0a, 0x01, 0x00, 0xa0, 0x0a, 0x30, 0x08,
					    0x06, 0x02, 0x2a, 0x03, 0x04, 0x02, 0x05, 0x00};
	unsigned char garbage[300];
	unsigned char *big;

	assert_int_equal(pki_ocsp_check(NULL, f->leaf, f->inter, try_later, sizeof(try_later), now,
					&res, &err),
			 0);
	assert_int_equal(res.response_status, 3);
	assert_int_equal(res.status, PKI_OCSP_UNKNOWN);
	assert_false(res.signature_ok);
	assert_non_null(strstr(res.problem, "tryLater"));
	assert_int_equal(pki_ocsp_check(NULL, f->leaf, f->inter, unauthorized, sizeof(unauthorized),
					now, &res, &err),
			 0);
	assert_int_equal(res.response_status, 6);
	assert_non_null(strstr(res.problem, "unauthorized"));
	assert_int_equal(pki_ocsp_check(NULL, f->leaf, f->inter, odd, sizeof(odd), now, &res, &err),
			 0);
	assert_int_equal(res.response_status, 0);
	assert_non_null(strstr(res.problem, "not a basic"));

	for (size_t i = 0; i < sizeof(garbage); i++)
		garbage[i] = (unsigned char)(i * 37 + 11);
	assert_int_equal(pki_ocsp_check(NULL, f->leaf, f->inter, garbage, sizeof(garbage), now, &res,
					&err),
			 -1);
	assert_non_null(strstr(err.msg, "not an OCSP response"));
	assert_int_equal(pki_ocsp_check(NULL, f->leaf, f->inter, trailing, sizeof(trailing), now,
					&res, &err),
			 -1);
	assert_int_equal(pki_ocsp_check(NULL, f->leaf, f->inter, "", 0, now, &res, &err), -1);
	big = calloc(1, PKI_MAX_OCSP_INPUT + 1);
	assert_non_null(big);
	big[0] = 0x30;
	assert_int_equal(pki_ocsp_check(NULL, f->leaf, f->inter, big, PKI_MAX_OCSP_INPUT + 1, now,
					&res, &err),
			 -1);
	assert_non_null(strstr(err.msg, "too large"));
	free(big);
	assert_int_equal(pki_ocsp_check(NULL, NULL, f->inter, try_later, sizeof(try_later), now, &res,
					&err),
			 -1);
}

/* ---- CRLs ------------------------------------------------------------------- */

static struct pki_crl *crl_of(const struct pki_cert *issuer, const struct pki_key *key,
			      const struct pki_revoked *rv, size_t n, int64_t this_update,
			      int64_t next_update)
{
	struct moat_err err = {0};
	struct pki_crl *c = pki_crl_build(issuer, key, rv, n, 1, this_update, next_update, &err);

	if (c == NULL)
		fail_msg("crl: %s", err.msg);
	return c;
}

/* The DER of a CRL, by way of its PEM. */
static size_t crl_der(const struct pki_crl *c, unsigned char *out, size_t n)
{
	struct moat_err err = {0};
	struct moat_buf pem = MOAT_BUF_INIT;
	size_t len;

	assert_int_equal(pki_crl_to_pem(c, &pem, &err), 0);
	len = fx_unbase64((const char *)pem.data, out, n);
	moat_buf_free(&pem);
	return len;
}

static void test_crl_check(void **state)
{
	struct fixture *f = *state;
	struct moat_err err = {0};
	struct pki_revoked rv[2] = {
		{.serial_hex = "0A1B2C", .revoked_at = now - 60, .reason = PKI_REASON_SUPERSEDED},
		{.serial_hex = f->leaf_serial, .revoked_at = now - 120,
		 .reason = PKI_REASON_KEY_COMPROMISE},
	};
	struct pki_crl *crl, *back;
	struct pki_crl_check out;
	unsigned char der[4096];
	size_t len;

	/* revoked */
	crl = crl_of(f->inter, f->int_key, rv, 2, now - 60, now + 7 * DAY);
	assert_int_equal(pki_crl_check(crl, f->leaf, f->inter, now, &out, &err), 0);
	assert_true(out.signature_ok);
	assert_true(out.issuer_match);
	assert_true(out.scope_ok);
	assert_true(out.time_ok);
	assert_true(out.revoked);
	assert_int_equal(out.reason, PKI_REASON_KEY_COMPROMISE);
	assert_int_equal(out.revoked_at, now - 120);
	assert_int_equal(out.this_update, now - 60);
	assert_int_equal(out.next_update, now + 7 * DAY);
	assert_string_equal(out.problem, "");

	/* DER and PEM in */
	len = crl_der(crl, der, sizeof(der));
	back = pki_crl_from_any(der, len, &err);
	assert_non_null(back);
	assert_int_equal(pki_crl_check(back, f->leaf, f->inter, now, &out, &err), 0);
	assert_true(out.revoked);
	pki_crl_free(back);
	assert_null(pki_crl_from_any(der, len - 1, &err));
	assert_true(moat_err_isset(&err));
	pki_crl_free(crl);

	/* not revoked (the other entry only; reason unspecified: none given) */
	rv[1].serial_hex = "0FEEDBEEF0";
	rv[1].reason = PKI_REASON_UNSPECIFIED;
	crl = crl_of(f->inter, f->int_key, rv, 2, now - 60, now + 7 * DAY);
	assert_int_equal(pki_crl_check(crl, f->leaf, f->inter, now, &out, &err), 0);
	assert_false(out.revoked);
	assert_int_equal(out.reason, -1);
	assert_true(out.signature_ok && out.issuer_match && out.time_ok && out.scope_ok);

	/* expired, and not valid yet */
	assert_int_equal(pki_crl_check(crl, f->leaf, f->inter, now + 8 * DAY, &out, &err), 0);
	assert_false(out.time_ok);
	assert_non_null(strstr(out.problem, "expired"));
	assert_int_equal(pki_crl_check(crl, f->leaf, f->inter, now - 3600, &out, &err), 0);
	assert_false(out.time_ok);
	assert_non_null(strstr(out.problem, "not valid yet"));
	assert_int_equal(pki_crl_check(crl, f->leaf, f->inter, now - 200, &out, &err), 0);
	assert_true(out.time_ok); /* within the skew */
	pki_crl_free(crl);

	/* from another issuer: the root */
	crl = crl_of(f->root, f->root_key, NULL, 0, now - 60, now + DAY);
	assert_int_equal(pki_crl_check(crl, f->leaf, f->inter, now, &out, &err), 0);
	assert_false(out.issuer_match);
	assert_false(out.signature_ok);
	assert_non_null(strstr(out.problem, "another issuer"));
	pki_crl_free(crl);

	assert_int_equal(pki_crl_check(NULL, f->leaf, f->inter, now, &out, &err), -1);
	assert_null(pki_crl_from_any("junk", 4, &err));
	assert_non_null(strstr(err.msg, "not a CRL"));
	assert_null(pki_crl_from_any(NULL, 0, &err));
}

static void test_crl_wrong_key(void **state)
{
	struct fixture *f = *state;
	struct moat_err err = {0};
	struct pki_key *k = fx_key(PKI_KEY_EC_P256);
	/* the same name as the intermediate, another key */
	struct pki_cert *twin = build(PKI_PROFILE_INTERMEDIATE, "Revoke Intermediate", NULL, 0, k,
				      f->root, f->root_key);
	struct pki_revoked rv = {.serial_hex = f->leaf_serial, .revoked_at = now - 60};
	struct pki_crl *crl = crl_of(twin, k, &rv, 1, now - 60, now + DAY);
	struct pki_crl_check out;

	assert_int_equal(pki_crl_check(crl, f->leaf, f->inter, now, &out, &err), 0);
	assert_true(out.issuer_match);
	assert_false(out.signature_ok);
	assert_true(out.revoked);
	assert_int_equal(out.reason, -1);
	assert_non_null(strstr(out.problem, "signature"));
	pki_crl_free(crl);
	pki_cert_free(twin);
	pki_key_free(k);
}

/* Big CAs publish CRLs of several MiB: more than PKI_MAX_INPUT (made by
 * `openssl ca`: pki_crl_build reads its CRLs back within PKI_MAX_INPUT). */
static void test_crl_big(void **state)
{
	struct fixture *f = *state;
	struct moat_err err = {0};
	enum { N = 40000 };
	struct moat_buf idx = MOAT_BUF_INIT, pem = MOAT_BUF_INIT;
	unsigned char *der = malloc(4 * 1024 * 1024), *huge;
	struct pki_crl *crl;
	struct pki_crl_check out;
	char cnf[160], idxp[160], num[160], crlp[160], body[1024];
	size_t len;
	int r;

	assert_non_null(der);
	huge = calloc(1, (size_t)PKI_MAX_CRL_INPUT + 1);
	assert_non_null(huge);
	huge[0] = 0x30;
	assert_null(pki_crl_from_any(huge, (size_t)PKI_MAX_CRL_INPUT + 1, &err));
	assert_non_null(strstr(err.msg, "too large"));
	free(huge);
	if (!have_openssl) {
		free(der);
		UNIT_SKIP("the openssl command is not installed");
	}

	path_in(f, "big.cnf", cnf, sizeof(cnf));
	path_in(f, "big-index.txt", idxp, sizeof(idxp));
	path_in(f, "big-crlnumber", num, sizeof(num));
	path_in(f, "big.crl", crlp, sizeof(crlp));
	r = snprintf(body, sizeof(body),
		     "[ca]\ndefault_ca = d\n[d]\ndatabase = %s\ncrlnumber = %s\n"
		     "default_md = sha256\ndefault_crl_days = 7\n",
		     idxp, num);
	assert_true(r > 0 && (size_t)r < sizeof(body));
	fx_write_file(cnf, body, strlen(body));
	fx_write_file(num, "01\n", 3);
	for (size_t i = 0; i < N; i++) {
		if (i == N / 2)
			assert_int_equal(moat_buf_printf(&idx, "R\t391231235959Z\t240102030405Z,"
							 "superseded\t%s\tunknown\t/CN=x\n",
							 f->leaf_serial),
					 0);
		assert_int_equal(moat_buf_printf(&idx, "R\t391231235959Z\t240102030405Z,superseded"
						 "\t%016zX\tunknown\t/CN=x%zu\n",
						 i * 7919 + 1, i),
				 0);
	}
	fx_write_file(idxp, idx.data, idx.len);
	assert_int_equal(run("openssl ca -config %s -gencrl -keyfile %s/inter.key -cert "
			     "%s/inter.pem -out %s >/dev/null 2>&1",
			     cnf, f->dir, f->dir, crlp),
			 0);
	read_all(crlp, &pem);
	assert_true(pem.len > PKI_MAX_INPUT);
	len = fx_unbase64((const char *)pem.data, der, 4 * 1024 * 1024);
	assert_true(len > PKI_MAX_INPUT);

	crl = pki_crl_from_any(der, len, &err);
	if (crl == NULL)
		fail_msg("big DER CRL: %s", err.msg);
	assert_int_equal(pki_crl_check(crl, f->leaf, f->inter, now, &out, &err), 0);
	assert_true(out.revoked && out.signature_ok && out.time_ok && out.scope_ok);
	assert_int_equal(out.reason, PKI_REASON_SUPERSEDED);
	pki_crl_free(crl);
	crl = pki_crl_from_any(pem.data, pem.len, &err);
	if (crl == NULL)
		fail_msg("big PEM CRL: %s", err.msg);
	assert_int_equal(pki_crl_check(crl, f->leaf, f->inter, now, &out, &err), 0);
	assert_true(out.revoked);
	pki_crl_free(crl);

	moat_buf_free(&idx);
	moat_buf_free(&pem);
	free(der);
}

static void test_crl_openssl_ca(void **state)
{
	struct fixture *f = *state;
	struct moat_err err = {0};
	struct moat_buf in = MOAT_BUF_INIT;
	struct pki_crl *crl;
	struct pki_crl_check out;
	char cnf[160], idx[160], num[160], crlp[160], body[1024], line[512];
	int r;

	if (!have_openssl)
		UNIT_SKIP("the openssl command is not installed");
	path_in(f, "ca.cnf", cnf, sizeof(cnf));
	path_in(f, "ca-index.txt", idx, sizeof(idx));
	path_in(f, "crlnumber", num, sizeof(num));
	path_in(f, "ca.crl", crlp, sizeof(crlp));
	r = snprintf(body, sizeof(body),
		     "[ca]\ndefault_ca = d\n[d]\ndatabase = %s\ncrlnumber = %s\n"
		     "default_md = sha256\ndefault_crl_days = 7\n",
		     idx, num);
	assert_true(r > 0 && (size_t)r < sizeof(body));
	fx_write_file(cnf, body, strlen(body));
	fx_write_file(num, "01\n", 3);
	index_line(f, "R", "240102030405Z,cessationOfOperation", line, sizeof(line));
	fx_write_file(idx, line, strlen(line));
	assert_int_equal(run("openssl ca -config %s -gencrl -keyfile %s/inter.key -cert "
			     "%s/inter.pem -out %s >/dev/null 2>&1",
			     cnf, f->dir, f->dir, crlp),
			 0);
	read_all(crlp, &in);
	crl = pki_crl_from_any(in.data, in.len, &err);
	if (crl == NULL)
		fail_msg("openssl ca CRL: %s", err.msg);
	assert_int_equal(pki_crl_check(crl, f->leaf, f->inter, now, &out, &err), 0);
	assert_true(out.signature_ok && out.issuer_match && out.time_ok && out.scope_ok);
	assert_true(out.revoked);
	assert_int_equal(out.reason, PKI_REASON_CESSATION_OF_OPERATION);
	assert_int_equal(out.revoked_at, 1704164645);
	pki_crl_free(crl);

	/* a delta CRL is not a complete one */
	assert_int_equal(run("printf '[ca]\\ndefault_ca = d\\n[d]\\ndatabase = %s\\ncrlnumber = "
			     "%s\\ndefault_md = sha256\\ndefault_crl_days = 7\\ncrl_extensions = "
			     "x\\n[x]\\n2.5.29.27 = critical,DER:02:01:01\\n' > %s.delta && openssl ca -config "
			     "%s.delta -gencrl -keyfile %s/inter.key -cert %s/inter.pem -out %s "
			     ">/dev/null 2>&1",
			     idx, num, cnf, cnf, f->dir, f->dir, crlp),
			 0);
	moat_buf_free(&in);
	read_all(crlp, &in);
	crl = pki_crl_from_any(in.data, in.len, &err);
	assert_non_null(crl);
	assert_int_equal(pki_crl_check(crl, f->leaf, f->inter, now, &out, &err), 0);
	assert_false(out.scope_ok);
	assert_non_null(strstr(out.problem, "delta"));
	pki_crl_free(crl);
	moat_buf_free(&in);
}

/* ---- URLs and caIssuers answers ------------------------------------------------ */

static void test_cert_urls(void **state)
{
	struct fixture *f = *state;
	struct moat_err err = {0};
	struct pki_cert_urls u;
	struct pki_cert *c;

	/* none */
	assert_int_equal(pki_cert_urls(f->leaf, &u, &err), 0);
	assert_string_equal(u.ocsp, "");
	assert_string_equal(u.ca_issuers, "");
	assert_string_equal(u.crl, "");
	assert_int_equal(pki_cert_urls(NULL, &u, &err), -1);
	if (!have_openssl)
		UNIT_SKIP("the openssl command is not installed");

	openssl_cert(f, "aia", "/CN=aia.example", "inter",
		     "authorityInfoAccess=caIssuers;URI:ldap://ldap.example/cn=ca,"
		     "OCSP;URI:HTTP://ocsp.example/,caIssuers;URI:http://ca.example/i.der,"
		     "OCSP;URI:http://second.example/\n"
		     "crlDistributionPoints=URI:ldap://ldap.example/crl,"
		     "URI:https://crl.example/c.crl",
		     "");
	c = read_cert(f, "aia.pem");
	assert_int_equal(pki_cert_urls(c, &u, &err), 0);
	assert_string_equal(u.ocsp, "HTTP://ocsp.example/");
	assert_string_equal(u.ca_issuers, "http://ca.example/i.der");
	assert_string_equal(u.crl, "https://crl.example/c.crl");
	pki_cert_free(c);

	/* a URI with a quote or a space is skipped, the next one taken */
	openssl_cert(f, "aia2", "/CN=aia2.example", "inter",
		     "authorityInfoAccess=OCSP;URI:http://\xc3\xa9.example/,"
		     "OCSP;URI:http://ok.example/\n"
		     "crlDistributionPoints=URI:http://x.example/a b",
		     "");
	c = read_cert(f, "aia2.pem");
	assert_int_equal(pki_cert_urls(c, &u, &err), 0);
	assert_string_equal(u.ocsp, "http://ok.example/");
	assert_string_equal(u.ca_issuers, "");
	assert_string_equal(u.crl, "");
	pki_cert_free(c);
}

static void test_cert_from_any(void **state)
{
	struct fixture *f = *state;
	struct moat_err err = {0};
	struct moat_buf in = MOAT_BUF_INIT;
	struct pki_cert *c, **all = NULL;
	size_t n = 0;
	char p[160];

	/* DER and PEM */
	assert_int_equal(pki_cert_to_der(f->inter, &in, &err), 0);
	c = pki_cert_from_any(in.data, in.len, &err);
	assert_non_null(c);
	assert_true(pki_cert_signed_by(c, f->root));
	pki_cert_free(c);
	moat_buf_free(&in);
	assert_int_equal(pki_cert_to_pem(f->inter, &in, &err), 0);
	c = pki_cert_from_any(in.data, in.len, &err);
	assert_non_null(c);
	assert_true(pki_cert_signed_by(c, f->root));
	pki_cert_free(c);
	moat_buf_free(&in);
	assert_null(pki_cert_from_any("\x30\x03\x02\x01\x01", 5, &err));
	assert_true(moat_err_isset(&err));
	assert_null(pki_cert_from_any("hello", 5, &err));
	assert_non_null(strstr(err.msg, "not a certificate"));
	assert_null(pki_cert_from_any(NULL, 0, &err));
	if (!have_openssl)
		UNIT_SKIP("the openssl command is not installed");

	/* PKCS#7 certs-only, DER and PEM */
	path_in(f, "b.p7c", p, sizeof(p));
	assert_int_equal(run("openssl crl2pkcs7 -nocrl -certfile %s/inter.pem -certfile %s/root.pem "
			     "-outform DER -out %s",
			     f->dir, f->dir, p),
			 0);
	read_all(p, &in);
	c = pki_cert_from_any(in.data, in.len, &err);
	if (c == NULL)
		fail_msg("p7c: %s", err.msg);
	assert_true(pki_cert_signed_by(c, f->root));
	assert_false(pki_cert_signed_by(c, c));
	pki_cert_free(c);
	assert_int_equal(pki_certs_from_any(in.data, in.len, &all, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_true(pki_cert_signed_by(all[1], all[1]));
	pki_certs_free(all, n);
	moat_buf_free(&in);

	assert_int_equal(run("openssl crl2pkcs7 -nocrl -certfile %s/inter.pem -out %s", f->dir, p),
			 0);
	read_all(p, &in);
	assert_non_null(strstr((const char *)in.data, "BEGIN PKCS7"));
	c = pki_cert_from_any(in.data, in.len, &err);
	assert_non_null(c);
	assert_true(pki_cert_signed_by(c, f->root));
	pki_cert_free(c);
	moat_buf_free(&in);

	/* a PKCS#7 with no certificate */
	assert_int_equal(run("openssl crl2pkcs7 -nocrl -outform DER -out %s", p), 0);
	read_all(p, &in);
	assert_null(pki_cert_from_any(in.data, in.len, &err));
	assert_non_null(strstr(err.msg, "no certificate"));
	moat_buf_free(&in);
}

/* ---- host names ---------------------------------------------------------------- */

static void test_host_match(void **state)
{
	struct fixture *f = *state;
	struct moat_name names[] = {fx_name("www.example.com"), fx_name("*.wild.example.com"),
				    fx_name("192.168.1.10"), fx_name("::1")};
	struct pki_cert *c = build(PKI_PROFILE_LEAF, "cn.example.com", names, 4, f->leaf_key,
				   f->inter, f->int_key);
	bool cn_only = true;

	assert_true(pki_cert_matches_host(c, "www.example.com", &cn_only));
	assert_false(cn_only);
	assert_true(pki_cert_matches_host(c, "WWW.Example.COM", NULL));
	assert_true(pki_cert_matches_host(c, "www.example.com.", NULL));
	assert_false(pki_cert_matches_host(c, "www.example.com..", NULL));
	assert_false(pki_cert_matches_host(c, "example.com", NULL));
	assert_false(pki_cert_matches_host(c, "xwww.example.com", NULL));
	/* wildcard: exactly one label */
	assert_true(pki_cert_matches_host(c, "a.wild.example.com", NULL));
	assert_true(pki_cert_matches_host(c, "A-B.Wild.Example.Com.", NULL));
	assert_false(pki_cert_matches_host(c, "a.b.wild.example.com", NULL));
	assert_false(pki_cert_matches_host(c, "wild.example.com", NULL));
	assert_false(pki_cert_matches_host(c, ".wild.example.com", NULL));
	assert_false(pki_cert_matches_host(c, "*.wild.example.com", NULL));
	assert_false(pki_cert_matches_host(c, "xn--bcher-kva.wild.example.com", NULL));
	/* IP SANs for IP hosts */
	assert_true(pki_cert_matches_host(c, "192.168.1.10", NULL));
	assert_false(pki_cert_matches_host(c, "192.168.1.11", NULL));
	assert_true(pki_cert_matches_host(c, "::1", NULL));
	assert_true(pki_cert_matches_host(c, "[::1]", NULL));
	assert_true(pki_cert_matches_host(c, "0:0::1", NULL));
	assert_false(pki_cert_matches_host(c, "::2", NULL));
	/* the CN is never used, and is no CN-only finding when SANs exist */
	cn_only = true;
	assert_false(pki_cert_matches_host(c, "cn.example.com", &cn_only));
	assert_false(cn_only);
	assert_false(pki_cert_matches_host(c, "", NULL));
	assert_false(pki_cert_matches_host(c, NULL, NULL));
	assert_false(pki_cert_matches_host(NULL, "www.example.com", NULL));
	pki_cert_free(c);

	/* CN only (no SAN at all) */
	c = build(PKI_PROFILE_LEAF, "Legacy.Example.com", NULL, 0, f->leaf_key, f->inter, f->int_key);
	assert_false(pki_cert_matches_host(c, "legacy.example.com", &cn_only));
	assert_true(cn_only);
	assert_false(pki_cert_matches_host(c, "other.example.com", &cn_only));
	assert_false(cn_only);
	pki_cert_free(c);
	c = build(PKI_PROFILE_LEAF, "10.1.2.3", NULL, 0, f->leaf_key, f->inter, f->int_key);
	assert_false(pki_cert_matches_host(c, "10.1.2.3", &cn_only));
	assert_true(cn_only);
	pki_cert_free(c);

	if (!have_openssl)
		UNIT_SKIP("the openssl command is not installed");
	/* partial wildcards and wildcards over a public suffix never match;
	 * an IP written as a DNS SAN does not cover the IP */
	openssl_cert(f, "partial", "/CN=foo.example.com", "inter",
		     "subjectAltName=DNS:f*.example.com,DNS:*oo.example.com,DNS:*.com,"
		     "DNS:b*r.example.com,DNS:10.0.0.1,DNS:*.*.example.org,DNS:x.*.example.net,"
		     "email:a@example.com",
		     "");
	c = read_cert(f, "partial.pem");
	assert_false(pki_cert_matches_host(c, "foo.example.com", &cn_only));
	assert_false(cn_only);
	assert_false(pki_cert_matches_host(c, "bar.example.com", NULL));
	assert_false(pki_cert_matches_host(c, "x.com", NULL));
	assert_false(pki_cert_matches_host(c, "10.0.0.1", NULL));
	assert_false(pki_cert_matches_host(c, "a.b.example.org", NULL));
	assert_false(pki_cert_matches_host(c, "x.y.example.net", NULL));
	pki_cert_free(c);

	/* a SAN with only an email address: the CN-only finding still applies */
	openssl_cert(f, "mailonly", "/CN=mail.example.com", "inter",
		     "subjectAltName=email:a@example.com", "");
	c = read_cert(f, "mailonly.pem");
	assert_false(pki_cert_matches_host(c, "mail.example.com", &cn_only));
	assert_true(cn_only);
	pki_cert_free(c);

	/* a trailing dot in the SAN */
	openssl_cert(f, "dot", "/CN=dot", "inter", "subjectAltName=DNS:dot.example.com.", "");
	c = read_cert(f, "dot.pem");
	assert_true(pki_cert_matches_host(c, "dot.example.com", NULL));
	assert_true(pki_cert_matches_host(c, "DOT.example.com.", NULL));
	pki_cert_free(c);
}

/* ---- path building ------------------------------------------------------------------ */

static bool same_cert(const struct pki_cert *a, const struct pki_cert *b)
{
	struct moat_err err = {0};
	struct pki_cert_info ia, ib;
	bool same;

	assert_int_equal(pki_cert_info(a, &ia, &err), 0);
	assert_int_equal(pki_cert_info(b, &ib, &err), 0);
	same = strcmp(ia.sha256, ib.sha256) == 0;
	pki_cert_info_clear(&ia);
	pki_cert_info_clear(&ib);
	return same;
}

static void test_verify_path(void **state)
{
	struct fixture *f = *state;
	struct moat_err err = {0};
	struct pki_path_result res;
	struct pki_cert *anchors[] = {f->other_root, f->root};
	struct pki_cert *inter[] = {f->inter};
	struct pki_cert *sent_root[] = {f->inter, f->root};
	struct pki_cert *other[] = {f->other_root};
	struct moat_name n = fx_name("old.example");
	struct pki_cert_spec spec = {.profile = PKI_PROFILE_LEAF, .common_name = "old.example",
				     .names = &n, .nnames = 1, .not_before = now - 10 * DAY,
				     .not_after = now - DAY};
	struct pki_cert *old = build_spec(&spec, f->leaf_key, f->inter, f->int_key);
	unsigned char digest[32] = {1};
	struct pki_cert_spec self = {.profile = PKI_PROFILE_ACME_TLS_ALPN, .names = &n, .nnames = 1,
				     .acme_digest = digest, .not_before = now - 3600,
				     .not_after = now + DAY};
	struct pki_cert *selfsigned = build_spec(&self, f->leaf_key, NULL, f->leaf_key);

	/* OK with the intermediate sent; the path leaf -> anchor */
	assert_int_equal(pki_verify_path(f->leaf, inter, 1, anchors, 2, now, &res, &err), 0);
	assert_int_equal(res.code, PKI_PATH_OK);
	assert_string_equal(res.detail, "");
	assert_int_equal(res.npath, 3);
	assert_true(same_cert(res.path[0], f->leaf));
	assert_true(same_cert(res.path[1], f->inter));
	assert_true(same_cert(res.path[2], f->root));
	pki_path_result_clear(&res);
	assert_int_equal(res.npath, 0);
	/* at == 0: now */
	assert_int_equal(pki_verify_path(f->leaf, inter, 1, anchors, 2, 0, &res, &err), 0);
	assert_int_equal(res.code, PKI_PATH_OK);
	pki_path_result_clear(&res);

	/* the intermediate not sent */
	assert_int_equal(pki_verify_path(f->leaf, NULL, 0, anchors, 2, now, &res, &err), 0);
	assert_int_equal(res.code, PKI_PATH_NO_ISSUER);
	assert_int_equal(res.depth, 0);
	assert_int_equal(res.npath, 1);
	assert_non_null(strstr(res.detail, "issuer"));
	pki_path_result_clear(&res);

	/* the root sent, not trusted */
	assert_int_equal(pki_verify_path(f->leaf, sent_root, 2, other, 1, now, &res, &err), 0);
	assert_int_equal(res.code, PKI_PATH_UNTRUSTED_ROOT);
	assert_int_equal(res.depth, 2);
	assert_int_equal(res.npath, 3);
	pki_path_result_clear(&res);
	/* not sent, not trusted: no issuer (unknown root) */
	assert_int_equal(pki_verify_path(f->leaf, inter, 1, other, 1, now, &res, &err), 0);
	assert_int_equal(res.code, PKI_PATH_NO_ISSUER);
	assert_int_equal(res.depth, 1);
	pki_path_result_clear(&res);
	/* no anchors at all */
	assert_int_equal(pki_verify_path(f->leaf, inter, 1, NULL, 0, now, &res, &err), 0);
	assert_int_equal(res.code, PKI_PATH_NO_ISSUER);
	pki_path_result_clear(&res);

	/* self-signed leaf */
	assert_int_equal(pki_verify_path(selfsigned, NULL, 0, anchors, 2, now, &res, &err), 0);
	assert_int_equal(res.code, PKI_PATH_SELF_SIGNED_LEAF);
	assert_int_equal(res.depth, 0);
	pki_path_result_clear(&res);

	/* expired leaf; everything expired later on; not yet valid before */
	assert_int_equal(pki_verify_path(old, inter, 1, anchors, 2, now, &res, &err), 0);
	assert_int_equal(res.code, PKI_PATH_EXPIRED);
	assert_int_equal(res.depth, 0);
	assert_non_null(strstr(res.detail, "expired"));
	pki_path_result_clear(&res);
	assert_int_equal(pki_verify_path(f->leaf, inter, 1, anchors, 2, now + 60 * DAY, &res, &err),
			 0);
	assert_int_equal(res.code, PKI_PATH_EXPIRED);
	pki_path_result_clear(&res);
	assert_int_equal(pki_verify_path(f->leaf, inter, 1, anchors, 2, now - DAY, &res, &err), 0);
	assert_int_equal(res.code, PKI_PATH_NOT_YET_VALID);
	pki_path_result_clear(&res);

	/* bad arguments */
	assert_int_equal(pki_verify_path(NULL, inter, 1, anchors, 2, now, &res, &err), -1);
	assert_true(moat_err_isset(&err));
	pki_path_result_clear(NULL);

	/* strength */
	assert_int_equal(pki_cert_key_bits(f->leaf), 256);
	assert_false(pki_cert_sig_sha1(f->leaf));
	assert_int_equal(pki_cert_key_bits(NULL), 0);
	assert_false(pki_cert_sig_sha1(NULL));

	pki_cert_free(old);
	pki_cert_free(selfsigned);
}

static void test_verify_path_openssl(void **state)
{
	struct fixture *f = *state;
	struct moat_err err = {0};
	struct pki_path_result res;
	struct pki_cert *anchors[] = {f->root};
	struct pki_cert *inter[] = {f->inter};
	struct pki_cert *c, *ca;
	struct pki_cert *chain2[2];

	if (!have_openssl)
		UNIT_SKIP("the openssl command is not installed");
	/* SHA-1 signed leaf, RSA 1024 leaf: weak */
	openssl_cert(f, "sha1", "/CN=sha1.example", "inter",
		     "subjectAltName=DNS:sha1.example\nextendedKeyUsage=serverAuth\n"
		     "basicConstraints=critical,CA:FALSE\nauthorityKeyIdentifier=keyid\n"
		     "subjectKeyIdentifier=hash",
		     "-sha1");
	c = read_cert(f, "sha1.pem");
	assert_true(pki_cert_sig_sha1(c));
	assert_int_equal(pki_verify_path(c, inter, 1, anchors, 1, now, &res, &err), 0);
	assert_int_equal(res.code, PKI_PATH_WEAK);
	assert_int_equal(res.depth, 0);
	pki_path_result_clear(&res);
	pki_cert_free(c);

	assert_int_equal(run("openssl req -new -newkey rsa:1024 -nodes -keyout %s/rsa.key -subj "
			     "/CN=rsa.example -out %s/rsa.csr >/dev/null 2>&1 && openssl x509 -req "
			     "-in %s/rsa.csr -CA %s/inter.pem -CAkey %s/inter.key -set_serial 77 "
			     "-days 5 -extfile %s/ext.cnf -extensions v3 -out %s/rsa.pem "
			     ">/dev/null 2>&1",
			     f->dir, f->dir, f->dir, f->dir, f->dir, f->dir, f->dir),
			 0);
	c = read_cert(f, "rsa.pem");
	assert_int_equal(pki_cert_key_bits(c), 1024);
	assert_int_equal(pki_verify_path(c, inter, 1, anchors, 1, now, &res, &err), 0);
	assert_int_equal(res.code, PKI_PATH_WEAK);
	pki_path_result_clear(&res);
	pki_cert_free(c);

	/* issued by a leaf (CA:FALSE) */
	openssl_cert(f, "notca", "/CN=notca.example", "inter",
		     "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,"
		     "keyCertSign\nauthorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash",
		     "");
	openssl_cert(f, "under", "/CN=under.example", "notca",
		     "subjectAltName=DNS:under.example\nextendedKeyUsage=serverAuth\n"
		     "authorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash",
		     "");
	c = read_cert(f, "under.pem");
	ca = read_cert(f, "notca.pem");
	chain2[0] = ca;
	chain2[1] = f->inter;
	assert_int_equal(pki_verify_path(c, chain2, 2, anchors, 1, now, &res, &err), 0);
	assert_int_equal(res.code, PKI_PATH_NOT_CA);
	assert_int_equal(res.depth, 1);
	assert_int_equal(res.npath, 4);
	pki_path_result_clear(&res);
	pki_cert_free(c);
	pki_cert_free(ca);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ocsp_request),
		cmocka_unit_test(test_ocsp_good_revoked_unknown),
		cmocka_unit_test(test_ocsp_delegates),
		cmocka_unit_test(test_ocsp_nonce),
		cmocka_unit_test(test_ocsp_errors),
		cmocka_unit_test(test_crl_check),
		cmocka_unit_test(test_crl_wrong_key),
		cmocka_unit_test(test_crl_big),
		cmocka_unit_test(test_crl_openssl_ca),
		cmocka_unit_test(test_cert_urls),
		cmocka_unit_test(test_cert_from_any),
		cmocka_unit_test(test_host_match),
		cmocka_unit_test(test_verify_path),
		cmocka_unit_test(test_verify_path_openssl),
	};

	now = (int64_t)time(NULL);
	have_openssl = fx_have_openssl();
	return cmocka_run_group_tests(tests, setup, teardown);
}
