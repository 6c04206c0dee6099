/* Keys: generation, PKCS#8 PEM (plain and scrypt-encrypted), reading,
 * description, fingerprints and comparison. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "unit_skip.h"

#include "pki/pki.h"

/* The same P-256 key, traditional PEM, plain and encrypted ("test"). */
static const char trad_ec[] = "-----BEGIN EC PRIVATE KEY-----\n"
			      "MHcCAQEEIJ0zHk9x6GPSlKqnFBZMLwqztuy3vl+QyPCJ3hExxIlpoAoGCCqGSM49\n"
			      "AwEHoUQDQgAEbJkIjnXnggYXOisceD7+L0JIl6PBNYRAccXYbODMrOoOc5e0tRlx\n"
			      "ZWmulEkyZbJMrwF3tH+h+4ZEQkvvs0E+BQ==\n"
			      "-----END EC PRIVATE KEY-----\n";
static const char trad_ec_enc[] =
	"-----BEGIN EC PRIVATE KEY-----\n"
	"Proc-Type: 4,ENCRYPTED\n"
	"DEK-Info: AES-256-CBC,E38527B33706196D3B6E8B4433E84025\n"
	"\n"
	"YSSDZ5DQi1npkkQqCc4MF1r4Yh+Z2vytENmr8kzWXVWVoahL7hKVkXU5Wy193mNJ\n"
	"t9PK4Vz7CFKMEFHqPLQ3NVnnCTNtWeu9nr1YppDOyRD1k3D/T++AjcfGYSNSJ+QV\n"
	"gyql+bmExzcTdrUgJQNEhB2VsinB8llSl0ypxv3P/nE=\n"
	"-----END EC PRIVATE KEY-----\n";

static void test_type_names(void **state)
{
	static const char *names[] = {"ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096",
				      "ed25519"};
	struct moat_err err = {0};
	enum pki_key_type t;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(pki_key_type_parse(names[i], &t, &err), 0);
		assert_string_equal(pki_key_type_name(t), names[i]);
	}
	assert_int_equal(pki_key_type_parse("EC-P256", &t, &err), 0);
	assert_int_equal(t, PKI_KEY_EC_P256);
	assert_int_equal(pki_key_type_parse("dsa-1024", &t, &err), -1);
	assert_non_null(strstr(err.msg, "dsa-1024"));
	assert_non_null(strstr(err.msg, "ed25519"));
	assert_non_null(strstr(err.msg, "rsa-4096"));
}

/* Everything one key type must do. */
static void round_trip(enum pki_key_type t, const char *desc, bool rsa)
{
	struct moat_err err = {0};
	struct moat_buf plain = MOAT_BUF_INIT, enc = MOAT_BUF_INIT;
	struct pki_key *k = fx_key(t), *other = fx_key(PKI_KEY_EC_P256), *back;
	char d[64], fp1[100], fp2[100];
	const char pass[] = "correct horse";

	pki_key_describe(k, d, sizeof(d));
	assert_string_equal(d, desc);
	assert_true(pki_key_is_rsa(k) == rsa);

	/* plain PKCS#8 */
	assert_int_equal(pki_key_to_pem(k, NULL, 0, &plain, &err), 0);
	assert_non_null(strstr((char *)plain.data, "-----BEGIN PRIVATE KEY-----"));
	assert_false(pki_key_pem_is_encrypted(plain.data, plain.len));
	back = pki_key_from_pem(plain.data, plain.len, NULL, 0, &err);
	assert_non_null(back);
	assert_true(pki_key_matches_key(k, back));
	assert_false(pki_key_matches_key(other, back));
	pki_key_free(back);

	/* encrypted PKCS#8 */
	assert_int_equal(pki_key_to_pem(k, pass, strlen(pass), &enc, &err), 0);
	assert_non_null(strstr((char *)enc.data, "-----BEGIN ENCRYPTED PRIVATE KEY-----"));
	assert_null(strstr((char *)enc.data, "-----BEGIN PRIVATE KEY-----"));
	assert_true(pki_key_pem_is_encrypted(enc.data, enc.len));

	assert_null(pki_key_from_pem(enc.data, enc.len, NULL, 0, &err));
	assert_non_null(strstr(err.msg, "encrypted"));
	assert_null(pki_key_from_pem(enc.data, enc.len, "wrong", 5, &err));
	assert_non_null(strstr(err.msg, "passphrase"));
	/* a prefix of the right passphrase is still wrong */
	assert_null(pki_key_from_pem(enc.data, enc.len, pass, strlen(pass) - 1, &err));
	assert_non_null(strstr(err.msg, "passphrase"));

	back = pki_key_from_pem(enc.data, enc.len, pass, strlen(pass), &err);
	if (back == NULL)
		fail_msg("decrypt: %s", err.msg);
	assert_true(pki_key_matches_key(k, back));
	assert_int_equal(pki_key_spki_sha256(k, fp1, sizeof(fp1), &err), 0);
	assert_int_equal(pki_key_spki_sha256(back, fp2, sizeof(fp2), &err), 0);
	assert_string_equal(fp1, fp2);
	assert_int_equal(strlen(fp1), 32 * 3 - 1);
	assert_int_equal(fp1[2], ':');
	pki_key_free(back);

	moat_buf_wipe(&plain);
	moat_buf_wipe(&enc);
	pki_key_free(other);
	pki_key_free(k);
}

static void test_ec_p256(void **state)
{
	(void)state;
	round_trip(PKI_KEY_EC_P256, "EC P-256", false);
}

static void test_ec_p384(void **state)
{
	(void)state;
	round_trip(PKI_KEY_EC_P384, "EC P-384", false);
}

static void test_rsa_2048(void **state)
{
	(void)state;
	round_trip(PKI_KEY_RSA_2048, "RSA 2048", true);
}

static void test_rsa_3072(void **state)
{
	(void)state;
	round_trip(PKI_KEY_RSA_3072, "RSA 3072", true);
}

static void test_rsa_4096(void **state)
{
	(void)state;
	round_trip(PKI_KEY_RSA_4096, "RSA 4096", true);
}

static void test_ed25519(void **state)
{
	(void)state;
	round_trip(PKI_KEY_ED25519, "Ed25519", false);
}

/* The encrypted PEM opens with the openssl tool and uses scrypt. */
static void test_openssl_reads_encrypted(void **state)
{
	struct moat_err err = {0};
	struct moat_buf enc = MOAT_BUF_INIT;
	struct pki_key *k;
	char dir[] = "/tmp/moat-test-key-XXXXXX", path[128], cmd[512];

	(void)state;
	if (!fx_have_openssl())
		UNIT_SKIP("the openssl command is not installed");
	k = fx_key(PKI_KEY_EC_P256);
	assert_int_equal(pki_key_to_pem(k, "s3cret", 6, &enc, &err), 0);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	fx_write_file(path, enc.data, enc.len);
	snprintf(cmd, sizeof(cmd), "openssl pkey -in %s -passin pass:s3cret -noout", path);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "openssl pkey -in %s -passin pass:wrong -noout 2>/dev/null",
		 path);
	assert_int_not_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd),
		 "openssl asn1parse -in %s | grep -q :scrypt && "
		 "openssl asn1parse -in %s | grep -q aes-256-cbc",
		 path, path);
	assert_int_equal(system(cmd), 0);
	unlink(path);
	rmdir(dir);
	moat_buf_wipe(&enc);
	pki_key_free(k);
}

static void test_traditional_pem(void **state)
{
	struct moat_err err = {0};
	struct pki_key *a, *b;
	char d[64];

	(void)state;
	a = pki_key_from_pem(trad_ec, strlen(trad_ec), NULL, 0, &err);
	assert_non_null(a);
	pki_key_describe(a, d, sizeof(d));
	assert_string_equal(d, "EC P-256");
	assert_false(pki_key_pem_is_encrypted(trad_ec, strlen(trad_ec)));
	assert_true(pki_key_pem_is_encrypted(trad_ec_enc, strlen(trad_ec_enc)));
	assert_null(pki_key_from_pem(trad_ec_enc, strlen(trad_ec_enc), NULL, 0, &err));
	assert_non_null(strstr(err.msg, "encrypted"));
	assert_null(pki_key_from_pem(trad_ec_enc, strlen(trad_ec_enc), "nope", 4, &err));
	assert_non_null(strstr(err.msg, "passphrase"));
	b = pki_key_from_pem(trad_ec_enc, strlen(trad_ec_enc), "test", 4, &err);
	assert_non_null(b);
	assert_true(pki_key_matches_key(a, b));
	pki_key_free(a);
	pki_key_free(b);
}

/* DER: the body of the PEM, decoded. */

static void test_der_and_garbage(void **state)
{
	struct moat_err err = {0};
	struct moat_buf pem = MOAT_BUF_INIT;
	struct pki_key *k = fx_key(PKI_KEY_ED25519), *back;
	static const char foo[] = "-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n";
	static const char broken[] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
	unsigned char der[4096];
	size_t len;
	char *big;

	(void)state;
	assert_int_equal(pki_key_to_pem(k, NULL, 0, &pem, &err), 0);
	len = fx_unbase64((char *)pem.data, der, sizeof(der));
	back = pki_key_from_pem(der, len, NULL, 0, &err);
	assert_non_null(back);
	assert_true(pki_key_matches_key(k, back));
	pki_key_free(back);
	/* truncated DER */
	assert_null(pki_key_from_pem(der, len - 1, NULL, 0, &err));
	assert_true(moat_err_isset(&err));

	assert_null(pki_key_from_pem("hello world", 11, NULL, 0, &err));
	assert_non_null(strstr(err.msg, "not a private key"));
	assert_null(pki_key_from_pem("", 0, NULL, 0, &err));
	assert_true(moat_err_isset(&err));
	big = calloc(1, PKI_MAX_INPUT + 1);
	assert_non_null(big);
	assert_null(pki_key_from_pem(big, PKI_MAX_INPUT + 1, NULL, 0, &err));
	assert_non_null(strstr(err.msg, "too large"));
	free(big);
	/* a PEM with no key block */
	assert_null(pki_key_from_pem(foo, strlen(foo), NULL, 0, &err));
	assert_non_null(strstr(err.msg, "no private key"));
	assert_non_null(strstr(err.msg, "FOO"));
	/* a key block with a broken body */
	assert_null(pki_key_from_pem(broken, strlen(broken), NULL, 0, &err));
	assert_true(moat_err_isset(&err));
	/* not NUL-terminated: only len bytes are read */
	memcpy(der, pem.data, pem.len);
	memset(der + pem.len, 'A', 64);
	back = pki_key_from_pem(der, pem.len, NULL, 0, &err);
	assert_non_null(back);
	pki_key_free(back);

	moat_buf_wipe(&pem);
	pki_key_free(k);
}

static void test_empty_passphrase_refused(void **state)
{
	struct moat_err err = {0};
	struct moat_buf out = MOAT_BUF_INIT;
	struct pki_key *k = fx_key(PKI_KEY_EC_P256);

	(void)state;
	assert_int_equal(pki_key_to_pem(k, "", 0, &out, &err), -1);
	assert_non_null(strstr(err.msg, "passphrase"));
	assert_int_equal(out.len, 0);
	moat_buf_free(&out);
	pki_key_free(k);
	pki_key_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_ec_p256),
		cmocka_unit_test(test_ec_p384),
		cmocka_unit_test(test_rsa_2048),
		cmocka_unit_test(test_rsa_3072),
		cmocka_unit_test(test_rsa_4096),
		cmocka_unit_test(test_ed25519),
		cmocka_unit_test(test_openssl_reads_encrypted),
		cmocka_unit_test(test_traditional_pem),
		cmocka_unit_test(test_der_and_garbage),
		cmocka_unit_test(test_empty_passphrase_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
