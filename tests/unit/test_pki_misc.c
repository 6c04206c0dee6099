/* CRLs, PKCS#12 and pki_objects_parse. */
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

#include "pki/pki.h"

#define DAY 86400

static int64_t now;

struct fixture {
	struct pki_key *root_key, *int_key, *leaf_key;
	struct pki_cert *root, *inter, *leaf;
};

static struct pki_cert *build(enum pki_profile profile, const char *cn, const struct moat_name *n,
			      size_t nn, const struct pki_key *key, const struct pki_cert *issuer,
			      const struct pki_key *issuer_key)
{
	struct moat_err err = {0};
	struct pki_cert_spec spec = {.profile = profile, .common_name = cn, .names = n,
				     .nnames = nn, .not_before = now - 3600,
				     .not_after = now + 30 * DAY};
	struct pki_cert *c = pki_cert_build(&spec, key, issuer, issuer_key, &err);

	if (c == NULL)
		fail_msg("build %s: %s", cn, err.msg);
	return c;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct moat_err err = {0};
	struct moat_name n;

	if (f == NULL || moat_name_parse("www.example", &n, &err) != 0)
		return -1;
	f->root_key = fx_key(PKI_KEY_EC_P256);
	f->int_key = fx_key(PKI_KEY_EC_P256);
	f->leaf_key = fx_key(PKI_KEY_EC_P256);
	f->root = build(PKI_PROFILE_ROOT, "Misc Root", NULL, 0, f->root_key, NULL, f->root_key);
	f->inter = build(PKI_PROFILE_INTERMEDIATE, "Misc Intermediate", NULL, 0, f->int_key, f->root,
			 f->root_key);
	f->leaf = build(PKI_PROFILE_LEAF, "www.example", &n, 1, f->leaf_key, f->inter, f->int_key);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pki_cert_free(f->leaf);
	pki_cert_free(f->inter);
	pki_cert_free(f->root);
	pki_key_free(f->leaf_key);
	pki_key_free(f->int_key);
	pki_key_free(f->root_key);
	free(f);
	return 0;
}

/* ---- reasons ------------------------------------------------------------- */

static void test_reasons(void **state)
{
	struct moat_err err = {0};
	enum pki_reason r;

	(void)state;
	assert_int_equal(pki_reason_parse("keyCompromise", &r, &err), 0);
	assert_int_equal(r, PKI_REASON_KEY_COMPROMISE);
	assert_int_equal(pki_reason_parse("key-compromise", &r, &err), 0);
	assert_int_equal(r, PKI_REASON_KEY_COMPROMISE);
	assert_int_equal(pki_reason_parse("SUPERSEDED", &r, &err), 0);
	assert_int_equal(r, PKI_REASON_SUPERSEDED);
	assert_int_equal(pki_reason_parse("cessation-of-operation", &r, &err), 0);
	assert_int_equal(r, PKI_REASON_CESSATION_OF_OPERATION);
	assert_int_equal(pki_reason_parse("ca-compromise", &r, &err), 0);
	assert_int_equal(r, PKI_REASON_CA_COMPROMISE);
	assert_int_equal(pki_reason_parse("privilegeWithdrawn", &r, &err), 0);
	assert_int_equal(r, PKI_REASON_PRIVILEGE_WITHDRAWN);
	assert_int_equal(pki_reason_parse("because", &r, &err), -1);
	assert_non_null(strstr(err.msg, "because"));
	assert_non_null(strstr(err.msg, "key-compromise"));
	assert_string_equal(pki_reason_name(PKI_REASON_KEY_COMPROMISE), "keyCompromise");
	assert_string_equal(pki_reason_name(PKI_REASON_AFFILIATION_CHANGED), "affiliationChanged");
	assert_string_equal(pki_reason_name(PKI_REASON_UNSPECIFIED), "unspecified");
}

/* ---- CRLs ---------------------------------------------------------------- */

static void test_crl_revokes(void **state)
{
	struct fixture *f = *state;
	struct moat_err err = {0};
	struct pki_cert_info li;
	struct pki_revoked rv[2];
	struct pki_crl *crl, *empty, *back;
	struct pki_crl_info ci;
	struct moat_buf pem = MOAT_BUF_INIT;
	struct pki_cert *const inter[] = {f->inter};

	assert_int_equal(pki_cert_info(f->leaf, &li, &err), 0);
	rv[0] = (struct pki_revoked){.serial_hex = "0A1B2C", .revoked_at = now - 60,
				     .reason = PKI_REASON_SUPERSEDED};
	rv[1] = (struct pki_revoked){.serial_hex = li.serial_hex, .revoked_at = now - 60,
				     .reason = PKI_REASON_KEY_COMPROMISE};
	crl = pki_crl_build(f->inter, f->int_key, rv, 2, 7, now - 60, now + 7 * DAY, &err);
	if (crl == NULL)
		fail_msg("crl: %s", err.msg);
	empty = pki_crl_build(f->inter, f->int_key, rv, 1, 8, now - 60, now + 7 * DAY, &err);
	assert_non_null(empty);

	assert_int_equal(pki_verify_chain(f->leaf, inter, 1, f->root, NULL, 0, &err), 0);
	assert_int_equal(pki_verify_chain(f->leaf, inter, 1, f->root, empty, 0, &err), 0);
	assert_int_equal(pki_verify_chain(f->leaf, inter, 1, f->root, crl, 0, &err), -1);
	assert_non_null(strstr(err.msg, "certificate revoked"));
	assert_non_null(strstr(err.msg, "CN=www.example"));

	assert_int_equal(pki_crl_info(crl, &ci, &err), 0);
	assert_string_equal(ci.issuer, "CN=Misc Intermediate");
	assert_int_equal(ci.this_update, now - 60);
	assert_int_equal(ci.next_update, now + 7 * DAY);
	assert_string_equal(ci.number, "7");
	assert_int_equal(ci.nrevoked, 2);

	/* PEM round trip */
	assert_int_equal(pki_crl_to_pem(crl, &pem, &err), 0);
	assert_non_null(strstr((char *)pem.data, "-----BEGIN X509 CRL-----"));
	back = pki_crl_from_any(pem.data, pem.len, &err);
	assert_non_null(back);
	assert_int_equal(pki_crl_info(back, &ci, &err), 0);
	assert_int_equal(ci.nrevoked, 2);
	assert_int_equal(pki_verify_chain(f->leaf, inter, 1, f->root, back, 0, &err), -1);
	pki_crl_free(back);

	if (fx_have_openssl()) {
		char dir[] = "/tmp/moat-test-crl-XXXXXX", path[128], cmd[512];

		assert_non_null(mkdtemp(dir));
		snprintf(path, sizeof(path), "%s/crl.pem", dir);
		fx_write_file(path, pem.data, pem.len);
		snprintf(cmd, sizeof(cmd),
			 "openssl crl -in %s -noout -text | grep -q 'Key Compromise' && "
			 "openssl crl -in %s -noout -text | grep -q 'X509v3 CRL Number: *$'",
			 path, path);
		assert_int_equal(system(cmd), 0);
		unlink(path);
		rmdir(dir);
	}

	moat_buf_free(&pem);
	pki_crl_free(crl);
	pki_crl_free(empty);
	pki_cert_info_clear(&li);
}

static void test_crl_errors(void **state)
{
	struct fixture *f = *state;
	struct moat_err err = {0};
	struct pki_revoked bad = {.serial_hex = "xyz", .revoked_at = now};
	struct pki_crl *crl;
	struct pki_crl_info ci;

	/* a leaf may not sign CRLs; a key must match */
	assert_null(pki_crl_build(f->leaf, f->leaf_key, NULL, 0, 1, now, now + DAY, &err));
	assert_non_null(strstr(err.msg, "cRLSign"));
	assert_null(pki_crl_build(f->inter, f->root_key, NULL, 0, 1, now, now + DAY, &err));
	assert_non_null(strstr(err.msg, "does not match"));
	assert_null(pki_crl_build(f->inter, f->int_key, &bad, 1, 1, now, now + DAY, &err));
	assert_non_null(strstr(err.msg, "xyz"));
	assert_null(pki_crl_build(f->inter, f->int_key, NULL, 0, 1, now, now - DAY, &err));
	assert_true(moat_err_isset(&err));
	/* no next update */
	crl = pki_crl_build(f->root, f->root_key, NULL, 0, UINT64_MAX, now, 0, &err);
	assert_non_null(crl);
	assert_int_equal(pki_crl_info(crl, &ci, &err), 0);
	assert_int_equal(ci.next_update, 0);
	assert_string_equal(ci.number, "18446744073709551615");
	assert_int_equal(ci.nrevoked, 0);
	pki_crl_free(crl);
	assert_null(pki_crl_from_any("nope", 4, &err));
	assert_non_null(strstr(err.msg, "not a CRL"));
	pki_crl_free(NULL);
}

/* ---- PKCS#12 --------------------------------------------------------------- */

static void test_p12(void **state)
{
	struct fixture *f = *state;
	struct moat_err err = {0};
	struct moat_buf der = MOAT_BUF_INIT;
	struct pki_cert *chain[] = {f->inter, f->root};

	assert_int_equal(pki_p12_build(f->leaf_key, f->leaf, chain, 2, "www.example", "pw12", 4,
				       &der, &err),
			 0);
	assert_true(der.len > 500);
	assert_int_equal(der.data[0], 0x30);
	if (fx_have_openssl()) {
		char dir[] = "/tmp/moat-test-p12-XXXXXX", path[128], cmd[512];

		assert_non_null(mkdtemp(dir));
		snprintf(path, sizeof(path), "%s/b.p12", dir);
		fx_write_file(path, der.data, der.len);
		snprintf(cmd, sizeof(cmd),
			 "openssl pkcs12 -in %s -info -nokeys -passin pass:pw12 2>&1 | "
			 "grep -q 'MAC: sha256'",
			 path);
		assert_int_equal(system(cmd), 0);
		snprintf(cmd, sizeof(cmd),
			 "test $(openssl pkcs12 -in %s -nokeys -passin pass:pw12 2>/dev/null | "
			 "grep -c 'BEGIN CERTIFICATE') = 3",
			 path);
		assert_int_equal(system(cmd), 0);
		snprintf(cmd, sizeof(cmd),
			 "openssl pkcs12 -in %s -info -nocerts -nodes -passin pass:pw12 2>&1 | "
			 "grep -q 'friendlyName: www.example'",
			 path);
		assert_int_equal(system(cmd), 0);
		snprintf(cmd, sizeof(cmd),
			 "openssl pkcs12 -in %s -info -nokeys -passin pass:wrong >/dev/null 2>&1", path);
		assert_int_not_equal(system(cmd), 0);
		unlink(path);
		rmdir(dir);
	}
	moat_buf_free(&der);

	/* wrong key, no passphrase */
	assert_int_equal(pki_p12_build(f->int_key, f->leaf, NULL, 0, NULL, "pw", 2, &der, &err), -1);
	assert_non_null(strstr(err.msg, "does not match"));
	assert_int_equal(pki_p12_build(f->leaf_key, f->leaf, NULL, 0, NULL, NULL, 0, &der, &err), -1);
	assert_non_null(strstr(err.msg, "passphrase"));
	assert_int_equal(der.len, 0);
}

/* ---- pki_objects_parse ------------------------------------------------------ */

static void test_objects_bundle(void **state)
{
	struct fixture *f = *state;
	struct moat_err err = {0};
	struct moat_buf in = MOAT_BUF_INIT;
	struct moat_name n;
	struct pki_csr *csr;
	struct pki_crl *crl;
	struct pki_object *o = NULL;
	size_t count = 0;
	struct pki_cert_info ci;

	assert_int_equal(moat_name_parse("csr.example", &n, &err), 0);
	csr = pki_csr_build(f->leaf_key, &n, 1, &err);
	assert_non_null(csr);
	crl = pki_crl_build(f->inter, f->int_key, NULL, 0, 1, now, now + DAY, &err);
	assert_non_null(crl);

	moat_buf_puts(&in, "Bundle made by a test.\n\n");
	assert_int_equal(pki_cert_to_pem(f->leaf, &in, &err), 0);
	moat_buf_puts(&in, "some text between blocks\n");
	assert_int_equal(pki_key_to_pem(f->leaf_key, NULL, 0, &in, &err), 0);
	moat_buf_puts(&in, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
	assert_int_equal(pki_csr_to_pem(csr, &in, &err), 0);
	assert_int_equal(pki_crl_to_pem(crl, &in, &err), 0);
	assert_int_equal(pki_key_to_pem(f->int_key, "pw", 2, &in, &err), 0);
	moat_buf_puts(&in, "trailing text");

	assert_int_equal(pki_objects_parse(in.data, in.len, &o, &count, &err), 0);
	assert_int_equal(count, 5);
	assert_int_equal(o[0].kind, PKI_OBJ_CERT);
	assert_non_null(o[0].cert);
	assert_int_equal(pki_cert_info(o[0].cert, &ci, &err), 0);
	assert_string_equal(ci.common_name, "www.example");
	pki_cert_info_clear(&ci);
	assert_int_equal(o[1].kind, PKI_OBJ_KEY);
	assert_non_null(o[1].key);
	assert_false(o[1].encrypted);
	assert_true(pki_key_matches_cert(o[1].key, f->leaf));
	assert_int_equal(o[2].kind, PKI_OBJ_CSR);
	assert_int_equal(pki_csr_verify(o[2].csr, &err), 0);
	assert_int_equal(o[3].kind, PKI_OBJ_CRL);
	assert_non_null(o[3].crl);
	assert_int_equal(o[4].kind, PKI_OBJ_KEY);
	assert_null(o[4].key);
	assert_true(o[4].encrypted);
	pki_objects_free(o, count);

	moat_buf_free(&in);
	pki_csr_free(csr);
	pki_crl_free(crl);
}

static void test_objects_der_and_errors(void **state)
{
	struct fixture *f = *state;
	struct moat_err err = {0};
	struct moat_buf der = MOAT_BUF_INIT, many = MOAT_BUF_INIT;
	struct pki_object *o = NULL;
	size_t count = 0;
	unsigned char garbage[512];
	char *big;
	static const char unknown[] = "-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n";
	static const char broken[] = "-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----\n";

	assert_int_equal(pki_cert_to_der(f->inter, &der, &err), 0);
	assert_int_equal(pki_objects_parse(der.data, der.len, &o, &count, &err), 0);
	assert_int_equal(count, 1);
	assert_int_equal(o[0].kind, PKI_OBJ_CERT);
	assert_true(pki_cert_signed_by(o[0].cert, f->root));
	pki_objects_free(o, count);

	for (size_t i = 0; i < sizeof(garbage); i++)
		garbage[i] = (unsigned char)(i * 37 + 11);
	assert_int_equal(pki_objects_parse(garbage, sizeof(garbage), &o, &count, &err), -1);
	assert_non_null(strstr(err.msg, "no PEM block and not DER"));
	assert_null(o);
	assert_int_equal(count, 0);

	/* a truncated DER certificate */
	assert_int_equal(pki_objects_parse(der.data, der.len - 10, &o, &count, &err), -1);
	assert_true(moat_err_isset(&err));

	assert_int_equal(pki_objects_parse(unknown, strlen(unknown), &o, &count, &err), -1);
	assert_non_null(strstr(err.msg, "FOO"));
	assert_int_equal(pki_objects_parse(broken, strlen(broken), &o, &count, &err), -1);
	assert_non_null(strstr(err.msg, "malformed"));
	assert_int_equal(pki_objects_parse("", 0, &o, &count, &err), -1);
	assert_true(moat_err_isset(&err));

	big = malloc(PKI_MAX_INPUT + 1);
	assert_non_null(big);
	memset(big, '-', PKI_MAX_INPUT + 1);
	assert_int_equal(pki_objects_parse(big, PKI_MAX_INPUT + 1, &o, &count, &err), -1);
	assert_non_null(strstr(err.msg, "too large"));
	free(big);

	for (int i = 0; i <= PKI_MAX_FILE_OBJECTS; i++)
		assert_int_equal(pki_cert_to_pem(f->root, &many, &err), 0);
	assert_int_equal(pki_objects_parse(many.data, many.len, &o, &count, &err), -1);
	assert_non_null(strstr(err.msg, "too many"));

	moat_buf_free(&many);
	moat_buf_free(&der);
	pki_objects_free(NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_crl_revokes),
		cmocka_unit_test(test_crl_errors),
		cmocka_unit_test(test_p12),
		cmocka_unit_test(test_objects_bundle),
		cmocka_unit_test(test_objects_der_and_errors),
	};

	now = (int64_t)time(NULL);
	return cmocka_run_group_tests(tests, setup, teardown);
}
