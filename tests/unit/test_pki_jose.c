/* pki/jose.c: JWK members, JWS signatures and HMAC, against the RFCs'
 * own test vectors where the algorithm is deterministic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/b64.h"
#include "pki/pki.h"

/* RFC 8037 appendix A.1: the Ed25519 private key d, as PKCS#8 DER. */
static const unsigned char ed_pkcs8[] = {
	0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
	0x04, 0x20, 0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4,
	0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b,
	0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};

static void test_ed25519_rfc8037(void **state)
{
	static const char input[] = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
	static const char want_sig[] = "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylG"
				       "jg5BhVsPt9g7sVvpAr_MuM0KAg";
	struct moat_err err;
	struct pki_key *k = pki_key_from_pem(ed_pkcs8, sizeof(ed_pkcs8), NULL, 0, &err);
	struct pki_jwk j;
	struct moat_buf sig = MOAT_BUF_INIT, enc = MOAT_BUF_INIT;

	(void)state;
	assert_non_null(k);
	assert_int_equal(pki_key_jwk(k, &j, &err), 0);
	assert_string_equal(j.kty, "OKP");
	assert_string_equal(j.crv, "Ed25519");
	assert_string_equal(j.alg, "EdDSA");
	assert_string_equal((char *)j.x.data, "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
	assert_null(j.y.data);
	assert_int_equal(pki_jws_sign(k, input, strlen(input), &sig, &err), 0);
	assert_int_equal(moat_b64url_encode(&enc, sig.data, sig.len), 0);
	assert_string_equal((char *)enc.data, want_sig);
	assert_true(pki_jws_verify(k, input, strlen(input), sig.data, sig.len));
	sig.data[0] ^= 1;
	assert_false(pki_jws_verify(k, input, strlen(input), sig.data, sig.len));
	moat_buf_free(&sig);
	moat_buf_free(&enc);
	pki_jwk_clear(&j);
	pki_key_free(k);
}

static void roundtrip(enum pki_key_type t, const char *kty, const char *crv, const char *alg,
		      size_t siglen, size_t coord_b64)
{
	static const char msg[] = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UifQ";
	struct moat_err err;
	struct pki_key *k = pki_key_generate(t, &err);
	struct pki_jwk j;
	struct moat_buf sig = MOAT_BUF_INIT;

	assert_non_null(k);
	assert_int_equal(pki_key_jwk(k, &j, &err), 0);
	assert_string_equal(j.kty, kty);
	if (crv != NULL)
		assert_string_equal(j.crv, crv);
	else
		assert_null(j.crv);
	assert_string_equal(j.alg, alg);
	if (coord_b64 > 0) { /* EC coordinates are padded to the field size */
		assert_int_equal(j.x.len, coord_b64);
		assert_int_equal(j.y.len, coord_b64);
	} else {
		assert_string_equal((char *)j.e.data, "AQAB"); /* 65537 */
		assert_true(j.n.len > 300);
		assert_true(j.n.data[0] != 'A'); /* no leading zero byte */
	}
	/* Signatures are fresh each time, all verify, and a flipped bit does not. */
	for (int i = 0; i < 20; i++) {
		moat_buf_free(&sig);
		assert_int_equal(pki_jws_sign(k, msg, strlen(msg), &sig, &err), 0);
		assert_int_equal(sig.len, siglen);
		assert_true(pki_jws_verify(k, msg, strlen(msg), sig.data, sig.len));
	}
	/* The JWK read back is the same public key, and verifies what k signs. */
	{
		struct pki_key *pub = pki_key_from_jwk(j.kty, j.crv, (char *)j.x.data,
						       (char *)j.y.data, (char *)j.n.data,
						       (char *)j.e.data, &err);

		assert_non_null(pub);
		assert_false(pki_key_is_private(pub));
		assert_true(pki_key_matches_key(pub, k));
		assert_true(pki_jws_verify(pub, msg, strlen(msg), sig.data, sig.len));
		pki_key_free(pub);
	}
	sig.data[sig.len - 1] ^= 0x80;
	assert_false(pki_jws_verify(k, msg, strlen(msg), sig.data, sig.len));
	assert_false(pki_jws_verify(k, msg, strlen(msg), sig.data, sig.len - 1));
	moat_buf_free(&sig);
	pki_jwk_clear(&j);
	pki_key_free(k);
}

static void test_es256(void **state)
{
	(void)state;
	roundtrip(PKI_KEY_EC_P256, "EC", "P-256", "ES256", 64, 43);
}

static void test_es384(void **state)
{
	(void)state;
	roundtrip(PKI_KEY_EC_P384, "EC", "P-384", "ES384", 96, 64);
}

static void test_rs256(void **state)
{
	(void)state;
	roundtrip(PKI_KEY_RSA_2048, "RSA", NULL, "RS256", 256, 0);
}

static void test_jwk_refused(void **state)
{
	struct moat_err err;
	struct pki_key *k = pki_key_generate(PKI_KEY_EC_P256, &err);
	struct pki_jwk j;
	char x[64], y[64];

	(void)state;
	assert_non_null(k);
	assert_int_equal(pki_key_jwk(k, &j, &err), 0);
	snprintf(x, sizeof(x), "%s", (char *)j.x.data);
	snprintf(y, sizeof(y), "%s", (char *)j.y.data);
	/* the right curve name only */
	assert_null(pki_key_from_jwk("EC", "P-384", x, y, NULL, NULL, &err));
	assert_null(pki_key_from_jwk("EC", "P-521", x, y, NULL, NULL, &err));
	assert_null(pki_key_from_jwk("EC", NULL, x, y, NULL, NULL, &err));
	assert_null(pki_key_from_jwk("ec", "P-256", x, y, NULL, NULL, &err));
	assert_null(pki_key_from_jwk(NULL, "P-256", x, y, NULL, NULL, &err));
	/* a coordinate missing, short, or with padding characters */
	assert_null(pki_key_from_jwk("EC", "P-256", x, NULL, NULL, NULL, &err));
	assert_null(pki_key_from_jwk("EC", "P-256", x + 2, y, NULL, NULL, &err));
	assert_null(pki_key_from_jwk("EC", "P-256", "", y, NULL, NULL, &err));
	/* a point off the curve */
	y[10] = y[10] == 'A' ? 'B' : 'A';
	assert_null(pki_key_from_jwk("EC", "P-256", x, y, NULL, NULL, &err));
	assert_non_null(strstr(err.msg, "JWK"));
	/* RSA below 2048 bits, an even exponent, a leading zero byte */
	{
		struct moat_buf n = MOAT_BUF_INIT, e = MOAT_BUF_INIT;
		unsigned char raw[257];

		memset(raw, 0xab, sizeof(raw));
		assert_int_equal(moat_b64url_encode(&n, raw + 1, 128), 0);
		assert_int_equal(moat_b64url_encode(&e, (const unsigned char *)"\x01\x00\x01", 3), 0);
		assert_null(pki_key_from_jwk("RSA", NULL, NULL, NULL, (char *)n.data, (char *)e.data,
					     &err));
		moat_buf_free(&n);
		raw[0] = 0;
		assert_int_equal(moat_b64url_encode(&n, raw, sizeof(raw)), 0);
		assert_null(pki_key_from_jwk("RSA", NULL, NULL, NULL, (char *)n.data, (char *)e.data,
					     &err));
		moat_buf_free(&n);
		moat_buf_free(&e);
		assert_int_equal(moat_b64url_encode(&n, raw + 1, 256), 0);
		assert_int_equal(moat_b64url_encode(&e, (const unsigned char *)"\x01\x00\x02", 3), 0);
		assert_null(pki_key_from_jwk("RSA", NULL, NULL, NULL, (char *)n.data, (char *)e.data,
					     &err));
		moat_buf_free(&n);
		moat_buf_free(&e);
	}
	pki_jwk_clear(&j);
	pki_key_free(k);
}

/* The acmeIdentifier of a tls-alpn-01 certificate reads back; a leaf has none. */
static void test_acme_identifier(void **state)
{
	struct moat_err err;
	struct pki_key *k = pki_key_generate(PKI_KEY_EC_P256, &err);
	struct moat_name n;
	unsigned char d[32], got[32];
	struct pki_cert_spec spec = {.profile = PKI_PROFILE_ACME_TLS_ALPN, .acme_digest = d,
				     .not_before = 1700000000, .not_after = 1800000000};
	struct pki_cert *c;

	(void)state;
	assert_non_null(k);
	for (size_t i = 0; i < sizeof(d); i++)
		d[i] = (unsigned char)(i * 7 + 1);
	assert_int_equal(moat_name_parse("a.example", &n, &err), 0);
	spec.names = &n;
	spec.nnames = 1;
	c = pki_cert_build(&spec, k, NULL, k, &err);
	assert_non_null(c);
	assert_int_equal(pki_cert_acme_identifier(c, got), 0);
	assert_memory_equal(got, d, sizeof(d));
	pki_cert_free(c);
	spec.profile = PKI_PROFILE_LEAF;
	spec.acme_digest = NULL;
	c = pki_cert_build(&spec, k, NULL, k, &err);
	assert_non_null(c);
	assert_int_equal(pki_cert_acme_identifier(c, got), -1);
	pki_cert_free(c);
	pki_key_free(k);
}

/* RFC 4231 test case 2. */
static void test_hmac(void **state)
{
	static const unsigned char want[32] = {
		0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24,
		0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27,
		0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};
	static const char data[] = "what do ya want for nothing?";
	unsigned char out[32];
	struct moat_err err;

	(void)state;
	assert_int_equal(pki_hmac_sha256("Jefe", 4, data, strlen(data), out, &err), 0);
	assert_memory_equal(out, want, 32);
}

static void test_sha256(void **state)
{
	static const unsigned char want_abc[32] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
		0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
		0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
	unsigned char out[32];

	(void)state;
	assert_int_equal(pki_sha256("abc", 3, out), 0);
	assert_memory_equal(out, want_abc, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ed25519_rfc8037), cmocka_unit_test(test_es256),
		cmocka_unit_test(test_es384),           cmocka_unit_test(test_rs256),
		cmocka_unit_test(test_hmac),            cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_jwk_refused),
		cmocka_unit_test(test_acme_identifier),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
