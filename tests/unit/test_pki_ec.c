/* pki/ec.c: the encoder-free encodings of EC keys must be byte for byte
 * what OpenSSL's own encoders produce, and other keys must be left to the
 * general path.  (This test talks to OpenSSL directly, as pki/ does.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "pki/internal.h"

static EVP_PKEY *ec_key(const char *curve)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);

	assert_non_null(k);
	return k;
}

/* OpenSSL's PKCS#8 PrivateKeyInfo DER of k, through OSSL_ENCODER. */
static unsigned char *encoder_pkcs8(EVP_PKEY *k, size_t *len)
{
	OSSL_ENCODER_CTX *ctx =
		OSSL_ENCODER_CTX_new_for_pkey(k, EVP_PKEY_KEYPAIR, "DER", "PrivateKeyInfo", NULL);
	unsigned char *der = NULL;

	assert_non_null(ctx);
	assert_int_equal(OSSL_ENCODER_to_data(ctx, &der, len), 1);
	OSSL_ENCODER_CTX_free(ctx);
	return der;
}

static void check_curve(const char *curve)
{
	EVP_PKEY *k = ec_key(curve);
	unsigned char *fast = NULL, *ref, *spki_fast = NULL, *spki_ref = NULL;
	int fast_len = 0, n_fast, n_ref;
	size_t ref_len = 0;
	X509 *x = X509_new();

	/* PKCS#8 */
	assert_int_equal(pki_ec_pkcs8_der(k, &fast, &fast_len), 1);
	ref = encoder_pkcs8(k, &ref_len);
	assert_int_equal((size_t)fast_len, ref_len);
	assert_memory_equal(fast, ref, ref_len);

	/* SubjectPublicKeyInfo */
	assert_non_null(x);
	assert_int_equal(pki_ec_set_x509_pubkey(x, k), 1);
	n_fast = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki_fast);
	n_ref = i2d_PUBKEY(k, &spki_ref);
	assert_true(n_fast > 0);
	assert_int_equal(n_fast, n_ref);
	assert_memory_equal(spki_fast, spki_ref, (size_t)n_ref);

	OPENSSL_clear_free(fast, (size_t)fast_len);
	OPENSSL_clear_free(ref, ref_len);
	OPENSSL_free(spki_fast);
	OPENSSL_free(spki_ref);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void test_p256(void **state)
{
	(void)state;
	/* Several keys: the private scalar is sometimes shorter than the
	 * field and must be zero-padded like OpenSSL does. */
	for (int i = 0; i < 64; i++)
		check_curve("P-256");
}

static void test_p384(void **state)
{
	(void)state;
	for (int i = 0; i < 16; i++)
		check_curve("P-384");
}

static void test_p521(void **state)
{
	(void)state;
	/* Long-form DER lengths inside the ECPrivateKey. */
	for (int i = 0; i < 8; i++)
		check_curve("P-521");
}

static void test_other_keys_use_general_path(void **state)
{
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_PKEY *compressed = ec_key("P-256");
	unsigned char *der = NULL;
	int len = 0;
	X509 *x = X509_new();

	(void)state;
	assert_non_null(ed);
	assert_non_null(rsa);
	assert_non_null(x);
	assert_int_equal(pki_ec_pkcs8_der(ed, &der, &len), 0);
	assert_null(der);
	assert_int_equal(pki_ec_pkcs8_der(rsa, &der, &len), 0);
	assert_int_equal(pki_ec_set_x509_pubkey(x, ed), 0);
	assert_int_equal(pki_ec_set_x509_pubkey(x, rsa), 0);
	/* A key set to export its point compressed is not ours to encode. */
	assert_int_equal(EVP_PKEY_set_utf8_string_param(
				 compressed, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "compressed"),
			 1);
	assert_int_equal(pki_ec_set_x509_pubkey(x, compressed), 0);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(compressed);
	X509_free(x);
}

/* The private scalar of k as field-length big-endian bytes. */
static void priv_bytes(EVP_PKEY *k, unsigned char *out, int n)
{
	BIGNUM *d = NULL;

	assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &d), 1);
	assert_int_equal(BN_bn2binpad(d, out, n), n);
	BN_clear_free(d);
}

static void check_read_back(const char *curve, int field)
{
	EVP_PKEY *k = ec_key(curve), *back;
	size_t len = 0;
	unsigned char *der = encoder_pkcs8(k, &len);
	unsigned char a[66], b[66];

	back = pki_ec_from_pkcs8(der, len);
	assert_non_null(back);
	assert_int_equal(EVP_PKEY_eq(k, back), 1);
	priv_bytes(k, a, field);
	priv_bytes(back, b, field);
	assert_memory_equal(a, b, (size_t)field);
	/* and it writes back to the same bytes */
	{
		unsigned char *again = NULL;
		int again_len = 0;

		assert_int_equal(pki_ec_pkcs8_der(back, &again, &again_len), 1);
		assert_int_equal((size_t)again_len, len);
		assert_memory_equal(again, der, len);
		OPENSSL_clear_free(again, (size_t)again_len);
	}
	OPENSSL_clear_free(der, len);
	EVP_PKEY_free(back);
	EVP_PKEY_free(k);
}

static void test_read_back(void **state)
{
	(void)state;
	for (int i = 0; i < 32; i++)
		check_read_back("P-256", 32);
	for (int i = 0; i < 8; i++)
		check_read_back("P-384", 48);
	for (int i = 0; i < 4; i++)
		check_read_back("P-521", 66);
}

/* Where in der the n-byte run of needle starts (it must be there). */
static size_t find(const unsigned char *der, size_t len, const unsigned char *needle, size_t n)
{
	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(der + i, needle, n) == 0)
			return i;
	fail_msg("not found");
	return 0;
}

static void test_read_refuses(void **state)
{
	EVP_PKEY *k = ec_key("P-256");
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_PKEY *k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	unsigned char pt[65], *der, *tmp;
	size_t len = 0, plen = 0, at;

	(void)state;
	assert_non_null(ed);
	assert_non_null(rsa);
	assert_non_null(k1);
	/* Other key types and curves: left to the general decoder. */
	der = encoder_pkcs8(ed, &len);
	assert_null(pki_ec_from_pkcs8(der, len));
	OPENSSL_clear_free(der, len);
	der = encoder_pkcs8(rsa, &len);
	assert_null(pki_ec_from_pkcs8(der, len));
	OPENSSL_clear_free(der, len);
	der = encoder_pkcs8(k1, &len);
	assert_null(pki_ec_from_pkcs8(der, len));
	OPENSSL_clear_free(der, len);

	/* A point off the curve: refused. */
	der = encoder_pkcs8(k, &len);
	assert_int_equal(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt),
							 &plen), 1);
	tmp = OPENSSL_memdup(der, len);
	assert_non_null(tmp);
	at = find(tmp, len, pt, plen);
	tmp[at + plen - 1] ^= 1;
	assert_null(pki_ec_from_pkcs8(tmp, len));
	OPENSSL_clear_free(tmp, len);

	/* Truncated, or with a byte after the end: refused. */
	assert_null(pki_ec_from_pkcs8(der, len - 1));
	tmp = OPENSSL_zalloc(len + 1);
	assert_non_null(tmp);
	memcpy(tmp, der, len);
	assert_null(pki_ec_from_pkcs8(tmp, len + 1));
	OPENSSL_clear_free(tmp, len + 1);
	assert_null(pki_ec_from_pkcs8(NULL, 0));

	/* Every byte flipped in turn: never a key that differs from k. */
	tmp = OPENSSL_memdup(der, len);
	assert_non_null(tmp);
	for (size_t i = 0; i < len; i++) {
		EVP_PKEY *got;

		tmp[i] ^= 0x01;
		got = pki_ec_from_pkcs8(tmp, len);
		if (got != NULL)
			assert_int_equal(EVP_PKEY_eq(got, k), 1);
		EVP_PKEY_free(got);
		tmp[i] ^= 0x01;
	}
	OPENSSL_clear_free(tmp, len);
	OPENSSL_clear_free(der, len);
	EVP_PKEY_free(k);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(k1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_p256),
		cmocka_unit_test(test_p384),
		cmocka_unit_test(test_p521),
		cmocka_unit_test(test_other_keys_use_general_path),
		cmocka_unit_test(test_read_back),
		cmocka_unit_test(test_read_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
