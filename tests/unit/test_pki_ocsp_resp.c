/* The OCSP responder's primitives (src/pki/ocsp_resp.c): requests read
 * with their caps, responses checked by moat's strict client side
 * (pki_ocsp_check: signature, delegation, nonce, times) and, when the
 * openssl tool is there, by `openssl ocsp -respin`.  Odd requests are made
 * with OpenSSL directly. */
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

#include <openssl/evp.h>
#include <openssl/ocsp.h>

#include "fixture.h"
#include "unit_skip.h"

#include "pki/ossl.h"
#include "pki/pki.h"

#define DAY 86400

static int64_t now;

struct fx {
	struct pki_key *root_key, *int_key, *leaf_key, *signer_key, *other_key;
	struct pki_cert *root, *inter, *leaf, *signer, *other;
	char leaf_serial[80];
};
static struct fx F;

static struct pki_cert *build(enum pki_profile p, const char *cn, const char *name,
			      const struct pki_key *key, const struct pki_cert *issuer,
			      const struct pki_key *issuer_key)
{
	struct moat_err err = {0};
	struct moat_name n;
	struct pki_cert_spec spec = {.profile = p, .common_name = cn, .not_before = now - 3600,
				     .not_after = now + 30 * DAY};
	struct pki_cert *c;

	if (name != NULL) {
		n = fx_name(name);
		spec.names = &n;
		spec.nnames = 1;
	}
	c = pki_cert_build(&spec, key, issuer, issuer_key, &err);
	if (c == NULL)
		fail_msg("build %s: %s", cn, err.msg);
	return c;
}

static int setup(void **state)
{
	struct pki_cert_info i;
	struct moat_err err = {0};

	F.root_key = fx_key(PKI_KEY_EC_P256);
	F.int_key = fx_key(PKI_KEY_EC_P256);
	F.leaf_key = fx_key(PKI_KEY_EC_P256);
	F.signer_key = fx_key(PKI_KEY_EC_P256);
	F.other_key = fx_key(PKI_KEY_EC_P256);
	F.root = build(PKI_PROFILE_ROOT, "Test Root", NULL, F.root_key, NULL, F.root_key);
	F.inter = build(PKI_PROFILE_INTERMEDIATE, "Test Int", NULL, F.int_key, F.root, F.root_key);
	F.leaf = build(PKI_PROFILE_LEAF, "leaf.test", "leaf.test", F.leaf_key, F.inter, F.int_key);
	F.signer = build(PKI_PROFILE_OCSP_SIGNER, "Test OCSP", NULL, F.signer_key, F.inter,
			 F.int_key);
	F.other = build(PKI_PROFILE_ROOT, "Other Root", NULL, F.other_key, NULL, F.other_key);
	assert_int_equal(pki_cert_info(F.leaf, &i, &err), 0);
	snprintf(F.leaf_serial, sizeof(F.leaf_serial), "%s", i.serial_hex);
	pki_cert_info_clear(&i);
	(void)state;
	return 0;
}

static int teardown(void **state)
{
	pki_cert_free(F.root);
	pki_cert_free(F.inter);
	pki_cert_free(F.leaf);
	pki_cert_free(F.signer);
	pki_cert_free(F.other);
	pki_key_free(F.root_key);
	pki_key_free(F.int_key);
	pki_key_free(F.leaf_key);
	pki_key_free(F.signer_key);
	pki_key_free(F.other_key);
	(void)state;
	return 0;
}

/* The DER request moat's client makes for cert (issuer issuer). */
static void client_request(const struct pki_cert *cert, const struct pki_cert *issuer, bool nonce,
			   struct pki_ocsp_req **req, struct moat_buf *der)
{
	struct moat_err err = {0};

	*req = pki_ocsp_req_new(cert, issuer, nonce, &err);
	assert_non_null(*req);
	assert_int_equal(pki_ocsp_req_der(*req, der, &err), 0);
}

/* An OCSPRequest made with OpenSSL: n CertIDs for the leaf with md, a nonce
 * of nonce_len bytes (0: none), twice when two_nonces. */
static void odd_request(int n, const EVP_MD *md, int nonce_len, bool two_nonces,
			struct moat_buf *der)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	unsigned char *p = NULL;
	int len;

	assert_non_null(req);
	for (int i = 0; i < n; i++) {
		OCSP_CERTID *id = OCSP_cert_to_id(md, pki_cert_x509(F.leaf), pki_cert_x509(F.inter));
		assert_non_null(id);
		assert_non_null(OCSP_request_add0_id(req, id));
	}
	if (nonce_len > 0 && !two_nonces)
		assert_int_equal(OCSP_request_add1_nonce(req, NULL, nonce_len), 1);
	for (int i = 0; two_nonces && i < 2; i++) { /* add1_nonce would replace the first */
		static const unsigned char v[] = {0x04, 0x02, 0xab, 0xcd};
		ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
		X509_EXTENSION *ext;
		assert_int_equal(ASN1_OCTET_STRING_set(os, v, sizeof(v)), 1);
		ext = X509_EXTENSION_create_by_NID(NULL, NID_id_pkix_OCSP_Nonce, 0, os);
		assert_non_null(ext);
		assert_int_equal(OCSP_REQUEST_add_ext(req, ext, -1), 1);
		X509_EXTENSION_free(ext);
		ASN1_OCTET_STRING_free(os);
	}
	len = i2d_OCSP_REQUEST(req, &p);
	assert_true(len > 0);
	assert_int_equal(moat_buf_append(der, p, (size_t)len), 0);
	OPENSSL_free(p);
	OCSP_REQUEST_free(req);
}

static void test_parse(void **state)
{
	struct moat_err err = {0};
	struct pki_ocsp_request q;
	struct pki_ocsp_req *req = NULL;
	struct moat_buf der = MOAT_BUF_INIT;

	client_request(F.leaf, F.inter, true, &req, &der);
	assert_int_equal(pki_ocsp_request_parse(der.data, der.len, &q, &err), 0);
	assert_int_equal(q.nids, 1);
	assert_int_equal(q.ids[0].hash, PKI_OCSP_SHA1);
	assert_string_equal(q.ids[0].serial_hex, F.leaf_serial);
	assert_true(q.nonce_len > 2 && q.nonce_len <= PKI_OCSP_NONCE_MAX);
	assert_true(pki_ocsp_certid_issuer_is(&q.ids[0], F.inter));
	assert_false(pki_ocsp_certid_issuer_is(&q.ids[0], F.root));
	assert_false(pki_ocsp_certid_issuer_is(&q.ids[0], F.other));

	/* Trailing bytes, truncation, too large, empty. */
	assert_int_equal(moat_buf_append(&der, "\0", 1), 0);
	assert_int_equal(pki_ocsp_request_parse(der.data, der.len, &q, &err), -1);
	assert_non_null(strstr(err.msg, "malformed"));
	assert_int_equal(pki_ocsp_request_parse(der.data, der.len - 2, &q, &err), -1);
	assert_int_equal(pki_ocsp_request_parse(der.data, PKI_OCSP_REQ_MAX + 1, &q, &err), -1);
	assert_non_null(strstr(err.msg, "too large"));
	assert_int_equal(pki_ocsp_request_parse("", 0, &q, &err), -1);
	assert_int_equal(pki_ocsp_request_parse("\x30\x03\x30\x01\x00", 5, &q, &err), -1);
	moat_buf_free(&der);
	pki_ocsp_req_free(req);

	/* SHA-256 CertIDs, up to the cap. */
	odd_request(PKI_OCSP_MAX_IDS, EVP_sha256(), 0, false, &der);
	assert_int_equal(pki_ocsp_request_parse(der.data, der.len, &q, &err), 0);
	assert_int_equal(q.nids, PKI_OCSP_MAX_IDS);
	assert_int_equal(q.ids[3].hash, PKI_OCSP_SHA256);
	assert_int_equal(q.nonce_len, 0);
	assert_true(pki_ocsp_certid_issuer_is(&q.ids[3], F.inter));
	der.len = 0;
	/* One CertID too many, another hash, nonces too long or twice. */
	odd_request(PKI_OCSP_MAX_IDS + 1, EVP_sha1(), 0, false, &der);
	assert_int_equal(pki_ocsp_request_parse(der.data, der.len, &q, &err), -1);
	assert_non_null(strstr(err.msg, "CertIDs"));
	der.len = 0;
	odd_request(1, EVP_sha384(), 0, false, &der);
	assert_int_equal(pki_ocsp_request_parse(der.data, der.len, &q, &err), -1);
	assert_non_null(strstr(err.msg, "SHA-1 or SHA-256"));
	der.len = 0;
	odd_request(1, EVP_sha1(), 32, false, &der);
	assert_int_equal(pki_ocsp_request_parse(der.data, der.len, &q, &err), 0);
	assert_int_equal(q.nonce_len, 34);
	der.len = 0;
	odd_request(1, EVP_sha1(), 33, false, &der);
	assert_int_equal(pki_ocsp_request_parse(der.data, der.len, &q, &err), -1);
	der.len = 0;
	odd_request(1, EVP_sha1(), 16, true, &der);
	assert_int_equal(pki_ocsp_request_parse(der.data, der.len, &q, &err), -1);
	assert_non_null(strstr(err.msg, "two nonces"));
	moat_buf_free(&der);
	(void)state;
}

/* Answer the leaf's request with status st, check it with pki_ocsp_check. */
static void answer_and_check(const struct pki_cert *signer, const struct pki_key *key,
			     enum pki_ocsp_status st, int reason, bool nonce,
			     struct pki_ocsp_result *res)
{
	struct moat_err err = {0};
	struct pki_ocsp_request q;
	struct pki_ocsp_req *req = NULL;
	struct moat_buf der = MOAT_BUF_INIT, resp = MOAT_BUF_INIT;
	struct pki_ocsp_answer a;

	client_request(F.leaf, F.inter, nonce, &req, &der);
	assert_int_equal(pki_ocsp_request_parse(der.data, der.len, &q, &err), 0);
	a = (struct pki_ocsp_answer){.id = &q.ids[0], .status = st, .revoked_at = now - 60,
				     .reason = reason};
	assert_int_equal(pki_ocsp_response_build(F.inter, signer, key, &a, 1, q.nonce, q.nonce_len,
						 now, now + DAY, &resp, &err),
			 0);
	assert_int_equal(pki_ocsp_check(req, F.leaf, F.inter, resp.data, resp.len, 0, res, &err), 0);
	moat_buf_free(&der);
	moat_buf_free(&resp);
	pki_ocsp_req_free(req);
}

static void test_response(void **state)
{
	struct pki_ocsp_result res;

	answer_and_check(F.signer, F.signer_key, PKI_OCSP_GOOD, -1, true, &res);
	assert_int_equal(res.response_status, 0);
	assert_true(res.matched);
	assert_int_equal(res.status, PKI_OCSP_GOOD);
	assert_true(res.signature_ok);
	assert_true(res.responder_authorized);
	assert_true(res.nonce_present);
	assert_true(res.nonce_ok);
	assert_true(res.time_ok);
	assert_int_equal(res.this_update, now);
	assert_int_equal(res.next_update, now + DAY);
	assert_string_equal(res.problem, "");

	answer_and_check(F.signer, F.signer_key, PKI_OCSP_REVOKED, PKI_REASON_KEY_COMPROMISE,
			 false, &res);
	assert_int_equal(res.status, PKI_OCSP_REVOKED);
	assert_int_equal(res.reason, PKI_REASON_KEY_COMPROMISE);
	assert_int_equal(res.revoked_at, now - 60);
	assert_false(res.nonce_present);
	assert_true(res.responder_authorized);

	/* Unspecified goes out without a reason. */
	answer_and_check(F.inter, F.int_key, PKI_OCSP_REVOKED, 0, false, &res);
	assert_int_equal(res.status, PKI_OCSP_REVOKED);
	assert_int_equal(res.reason, -1);
	assert_true(res.responder_authorized); /* the issuer itself */

	answer_and_check(F.signer, F.signer_key, PKI_OCSP_UNKNOWN, -1, false, &res);
	assert_int_equal(res.status, PKI_OCSP_UNKNOWN);
	assert_true(res.matched);

	/* A leaf certificate is no delegate: the client side says so. */
	answer_and_check(F.leaf, F.leaf_key, PKI_OCSP_GOOD, -1, false, &res);
	assert_true(res.signature_ok);
	assert_false(res.responder_authorized);
	(void)state;
}

static void test_response_args_and_errors(void **state)
{
	struct moat_err err = {0};
	struct moat_buf out = MOAT_BUF_INIT;
	struct pki_ocsp_result res;
	struct pki_ocsp_request q;
	struct pki_ocsp_answer a;
	struct pki_ocsp_req *req = NULL;
	struct pki_key *pub;

	memset(&q, 0, sizeof(q));
	a = (struct pki_ocsp_answer){.id = &q.ids[0], .status = PKI_OCSP_GOOD};
	assert_int_equal(pki_ocsp_response_build(F.inter, F.signer, F.signer_key, &a, 0, NULL, 0,
						 now, now + DAY, &out, &err), -1);
	assert_int_equal(pki_ocsp_response_build(F.inter, F.signer, F.signer_key, &a, 1, NULL, 0,
						 now, now, &out, &err), -1);
	pub = pki_cert_pubkey(F.signer, &err);
	assert_non_null(pub);
	assert_int_equal(pki_ocsp_response_build(F.inter, F.signer, pub, &a, 1, NULL, 0, now,
						 now + DAY, &out, &err), -1);
	pki_key_free(pub);
	assert_int_equal(out.len, 0);

	req = pki_ocsp_req_new(F.leaf, F.inter, false, &err);
	assert_non_null(req);
	for (int st = 1; st <= 6; st++) {
		out.len = 0;
		if (st == 4) {
			assert_int_equal(pki_ocsp_response_error(st, &out, &err), -1);
			continue;
		}
		assert_int_equal(pki_ocsp_response_error(st, &out, &err), 0);
		assert_int_equal(pki_ocsp_check(req, F.leaf, F.inter, out.data, out.len, 0, &res,
						&err), 0);
		assert_int_equal(res.response_status, st);
		assert_int_equal(res.status, PKI_OCSP_UNKNOWN);
	}
	assert_int_equal(pki_ocsp_response_error(0, &out, &err), -1);
	pki_ocsp_req_free(req);
	moat_buf_free(&out);
	(void)state;
}

/* The delegated signer's certificate, as openssl reads it. */
static void test_signer_profile(void **state)
{
	struct moat_err err = {0};
	struct pki_cert_info i;

	assert_int_equal(pki_cert_info(F.signer, &i, &err), 0);
	assert_false(i.is_ca);
	assert_string_equal(i.key_usage, "digitalSignature");
	assert_non_null(strstr(i.ext_key_usage, "OCSP"));
	assert_int_equal(i.nsan, 0);
	pki_cert_info_clear(&i);
	assert_int_equal(pki_verify_chain(F.signer, &F.inter, 1, F.root, NULL, 0, &err), -1);
	/* not a TLS server certificate: the strict TLS verifier refuses it */
	(void)state;
}

/* openssl ocsp reads what we sign (and checks it against the chain). */
static void test_openssl_reads(void **state)
{
	char dir[] = "/tmp/moat-ocsp-XXXXXX", path[128], cmd[1024];
	struct moat_err err = {0};
	struct moat_buf pem = MOAT_BUF_INIT, der = MOAT_BUF_INIT, resp = MOAT_BUF_INIT;
	struct pki_ocsp_request q;
	struct pki_ocsp_req *req = NULL;
	struct pki_ocsp_answer a;
	const struct {
		const char *name;
		const struct pki_cert *c;
	} files[] = {{"root.pem", F.root}, {"int.pem", F.inter}, {"leaf.pem", F.leaf}};

	if (!fx_have_openssl())
		UNIT_SKIP("the openssl tool is not installed");
	assert_non_null(mkdtemp(dir));
	for (size_t k = 0; k < 3; k++) {
		pem.len = 0;
		assert_int_equal(pki_cert_to_pem(files[k].c, &pem, &err), 0);
		snprintf(path, sizeof(path), "%s/%s", dir, files[k].name);
		fx_write_file(path, pem.data, pem.len);
	}
	client_request(F.leaf, F.inter, false, &req, &der);
	assert_int_equal(pki_ocsp_request_parse(der.data, der.len, &q, &err), 0);
	a = (struct pki_ocsp_answer){.id = &q.ids[0], .status = PKI_OCSP_REVOKED,
				     .revoked_at = now - 60, .reason = PKI_REASON_SUPERSEDED};
	assert_int_equal(pki_ocsp_response_build(F.inter, F.signer, F.signer_key, &a, 1, NULL, 0,
						 now, now + DAY, &resp, &err), 0);
	snprintf(path, sizeof(path), "%s/resp.der", dir);
	fx_write_file(path, resp.data, resp.len);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && openssl ocsp -respin resp.der -issuer int.pem -cert leaf.pem "
		 "-CAfile root.pem -verify_other int.pem > out.txt 2>&1 && "
		 "grep -q 'Response verify OK' out.txt && grep -q 'leaf.pem: revoked' out.txt && "
		 "grep -q 'Reason: superseded' out.txt",
		 dir);
	if (system(cmd) != 0) {
		snprintf(cmd, sizeof(cmd), "cat %s/out.txt", dir);
		(void)system(cmd);
		fail_msg("openssl ocsp does not read the response");
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)system(cmd);
	pki_ocsp_req_free(req);
	moat_buf_free(&pem);
	moat_buf_free(&der);
	moat_buf_free(&resp);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_response),
		cmocka_unit_test(test_response_args_and_errors),
		cmocka_unit_test(test_signer_profile),
		cmocka_unit_test(test_openssl_reads),
	};
	struct moat_err err = {0};

	if (pki_init(&err) != 0)
		return 1;
	now = (int64_t)time(NULL);
	return cmocka_run_group_tests(tests, setup, teardown);
}
