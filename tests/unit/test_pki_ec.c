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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_p256),
		cmocka_unit_test(test_p384),
		cmocka_unit_test(test_p521),
		cmocka_unit_test(test_other_keys_use_general_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
