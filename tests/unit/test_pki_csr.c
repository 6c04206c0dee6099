/* CSRs: build -> PEM -> parse -> verify -> names, tampering, requests for
 * names moat does not issue for, and info. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"

#include "pki/pki.h"

/* openssl req: SAN DNS:mail.example, email:a@b.example */
static const char csr_email[] =
	"-----BEGIN CERTIFICATE REQUEST-----\n"
	"MIIBCTCBsAIBADAXMRUwEwYDVQQDDAxtYWlsLmV4YW1wbGUwWTATBgcqhkjOPQIB\n"
	"BggqhkjOPQMBBwNCAARsmQiOdeeCBhc6Kxx4Pv4vQkiXo8E1hEBxxdhs4Mys6g5z\n"
	"l7S1GXFlaa6USTJlskyvAXe0f6H7hkRCS++zQT4FoDcwNQYJKoZIhvcNAQkOMSgw\n"
	"JjAkBgNVHREEHTAbggxtYWlsLmV4YW1wbGWBC2FAYi5leGFtcGxlMAoGCCqGSM49\n"
	"BAMCA0gAMEUCIQCJ2e8HJXFdKlQccBoCSgPoyync8OQttepMyatUMNrTDQIgWh1/\n"
	"AtGFRJDRlm+ce8L4VqM7CmvQl3Y/NTGVNeky+q0=\n"
	"-----END CERTIFICATE REQUEST-----\n";
/* openssl req: SAN DNS:"exa mple.com" */
static const char csr_bad_dns[] =
	"-----BEGIN CERTIFICATE REQUEST-----\n"
	"MIHzMIGaAgEAMA4xDDAKBgNVBAMMA2JhZDBZMBMGByqGSM49AgEGCCqGSM49AwEH\n"
	"A0IABGyZCI5154IGFzorHHg+/i9CSJejwTWEQHHF2GzgzKzqDnOXtLUZcWVprpRJ\n"
	"MmWyTK8Bd7R/ofuGREJL77NBPgWgKjAoBgkqhkiG9w0BCQ4xGzAZMBcGA1UdEQQQ\n"
	"MA6CDGV4YSBtcGxlLmNvbTAKBggqhkjOPQQDAgNIADBFAiBNvfKDrbBZ+UXgNwKP\n"
	"MzpCMSvuWm9Er82BpiGCxzOKHAIhAMT2cVhVB/NHO2olHqYopX7haYsb3//k8X2q\n"
	"9qB8KBmG\n"
	"-----END CERTIFICATE REQUEST-----\n";
/* openssl req: CN=nosan.example and no extensions */
static const char csr_no_san[] =
	"-----BEGIN CERTIFICATE REQUEST-----\n"
	"MIHRMHoCAQAwGDEWMBQGA1UEAwwNbm9zYW4uZXhhbXBsZTBZMBMGByqGSM49AgEG\n"
	"CCqGSM49AwEHA0IABGyZCI5154IGFzorHHg+/i9CSJejwTWEQHHF2GzgzKzqDnOX\n"
	"tLUZcWVprpRJMmWyTK8Bd7R/ofuGREJL77NBPgWgADAKBggqhkjOPQQDAgNHADBE\n"
	"AiBlYmI8Sn5XTK8K2YAP8wpxw5ZnwRlRG/LpRh7Fsq1xtQIgRj7ofINfGYBsYDts\n"
	"m9Xl50JdNIMHKz5ZIXgBrIRTXwE=\n"
	"-----END CERTIFICATE REQUEST-----\n";

/* The DER inside a PEM text. */

static void round_trip(enum pki_key_type t)
{
	struct moat_err err = {0};
	struct moat_name in[] = {fx_name("printer.local"), fx_name("*.home.example"), fx_name("192.168.1.10"),
				 fx_name("fe80::1")};
	struct pki_key *k = fx_key(t), *pub;
	struct pki_csr *r, *back;
	struct moat_buf pem = MOAT_BUF_INIT;
	struct moat_name *out = NULL;
	size_t n = 0;
	char cn[128];

	r = pki_csr_build(k, in, 4, &err);
	if (r == NULL)
		fail_msg("build: %s", err.msg);
	assert_int_equal(pki_csr_verify(r, &err), 0);
	assert_int_equal(pki_csr_to_pem(r, &pem, &err), 0);
	assert_non_null(strstr((char *)pem.data, "-----BEGIN CERTIFICATE REQUEST-----"));

	back = pki_csr_from_pem(pem.data, pem.len, &err);
	assert_non_null(back);
	assert_int_equal(pki_csr_verify(back, &err), 0);
	assert_int_equal(pki_csr_names(back, &out, &n, cn, sizeof(cn), &err), 0);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(out[i].type, in[i].type);
		assert_string_equal(out[i].text, in[i].text);
		assert_int_equal(out[i].iplen, in[i].iplen);
		assert_memory_equal(out[i].ip, in[i].ip, in[i].iplen);
	}
	assert_string_equal(cn, "printer.local");
	pub = pki_csr_pubkey(back, &err);
	assert_non_null(pub);
	assert_true(pki_key_matches_key(pub, k));
	pki_key_free(pub);

	free(out);
	moat_buf_free(&pem);
	pki_csr_free(back);
	pki_csr_free(r);
	pki_key_free(k);
}

static void test_round_trip_ec(void **state)
{
	(void)state;
	round_trip(PKI_KEY_EC_P256);
	round_trip(PKI_KEY_EC_P384);
}

static void test_round_trip_rsa(void **state)
{
	(void)state;
	round_trip(PKI_KEY_RSA_2048);
}

static void test_round_trip_ed25519(void **state)
{
	(void)state;
	round_trip(PKI_KEY_ED25519);
}

static void tamper(enum pki_key_type t)
{
	struct moat_err err = {0};
	struct moat_name in = fx_name("tamper.example");
	struct pki_key *k = fx_key(t);
	struct pki_csr *r, *bad;
	struct moat_buf pem = MOAT_BUF_INIT;
	struct pki_csr_info info;
	unsigned char der[4096];
	size_t len;

	r = pki_csr_build(k, &in, 1, &err);
	assert_non_null(r);
	assert_int_equal(pki_csr_to_pem(r, &pem, &err), 0);
	len = fx_unbase64((char *)pem.data, der, sizeof(der));

	/* the untouched DER reads and verifies */
	bad = pki_csr_from_pem(der, len, &err);
	assert_non_null(bad);
	assert_int_equal(pki_csr_verify(bad, &err), 0);
	assert_int_equal(pki_csr_info(bad, &info, &err), 0);
	assert_true(info.signature_ok);
	pki_csr_info_clear(&info);
	pki_csr_free(bad);

	/* last byte: inside the signature */
	der[len - 1] ^= 0x01;
	bad = pki_csr_from_pem(der, len, &err);
	assert_non_null(bad);
	assert_int_equal(pki_csr_verify(bad, &err), -1);
	assert_non_null(strstr(err.msg, "signature does not verify"));
	assert_int_equal(pki_csr_info(bad, &info, &err), 0);
	assert_false(info.signature_ok);
	pki_csr_info_clear(&info);
	pki_csr_free(bad);
	der[len - 1] ^= 0x01;

	/* a byte of the requested name */
	{
		unsigned char *p = memmem(der, len, "tamper", 6);

		assert_non_null(p);
		*p = 'd';
		bad = pki_csr_from_pem(der, len, &err);
		assert_non_null(bad);
		assert_int_equal(pki_csr_verify(bad, &err), -1);
		assert_non_null(strstr(err.msg, "signature does not verify"));
		pki_csr_free(bad);
	}

	moat_buf_free(&pem);
	pki_csr_free(r);
	pki_key_free(k);
}

static void test_tampered_signature(void **state)
{
	(void)state;
	tamper(PKI_KEY_EC_P256);
	tamper(PKI_KEY_ED25519);
	tamper(PKI_KEY_RSA_2048);
}

static void test_refused_names(void **state)
{
	struct moat_err err = {0};
	struct pki_csr *r;
	struct moat_name *out = NULL;
	size_t n = 7;
	char cn[64];
	struct pki_csr_info info;

	(void)state;
	r = pki_csr_from_pem(csr_email, strlen(csr_email), &err);
	assert_non_null(r);
	assert_int_equal(pki_csr_verify(r, &err), 0);
	assert_int_equal(pki_csr_names(r, &out, &n, cn, sizeof(cn), &err), -1);
	assert_non_null(strstr(err.msg, "email"));
	assert_null(out);
	assert_int_equal(n, 0);
	/* info still shows what is asked for */
	assert_int_equal(pki_csr_info(r, &info, &err), 0);
	assert_int_equal(info.nsan, 2);
	assert_string_equal(info.san[0], "DNS:mail.example");
	assert_string_equal(info.san[1], "email:a@b.example");
	assert_string_equal(info.subject, "CN=mail.example");
	assert_string_equal(info.key_desc, "EC P-256");
	assert_string_equal(info.sig_alg, "ecdsa-with-SHA256");
	assert_true(info.signature_ok);
	pki_csr_info_clear(&info);
	pki_csr_free(r);

	r = pki_csr_from_pem(csr_bad_dns, strlen(csr_bad_dns), &err);
	assert_non_null(r);
	assert_int_equal(pki_csr_names(r, &out, &n, cn, sizeof(cn), &err), -1);
	assert_non_null(strstr(err.msg, "exa mple.com"));
	pki_csr_free(r);

	/* no SAN: no names, the CN is still reported */
	r = pki_csr_from_pem(csr_no_san, strlen(csr_no_san), &err);
	assert_non_null(r);
	assert_int_equal(pki_csr_names(r, &out, &n, cn, sizeof(cn), &err), 0);
	assert_int_equal(n, 0);
	assert_string_equal(cn, "nosan.example");
	free(out);
	pki_csr_free(r);
}

static void test_long_name_and_duplicates(void **state)
{
	struct moat_err err = {0};
	char long_name[200];
	struct moat_name in[3];
	struct pki_key *k = fx_key(PKI_KEY_EC_P256);
	struct pki_csr *r;
	struct moat_name *out = NULL;
	size_t n = 0;
	char cn[64];
	struct pki_csr_info info;

	(void)state;
	/* 3 labels of 60 characters: longer than a CN may be */
	snprintf(long_name, sizeof(long_name), "%.60s.%.60s.%.60s.example",
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
		 "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc");
	in[0] = fx_name(long_name);
	in[1] = fx_name("short.example");
	in[2] = fx_name("short.example");
	r = pki_csr_build(k, in, 3, &err);
	assert_non_null(r);
	assert_int_equal(pki_csr_verify(r, &err), 0);
	assert_int_equal(pki_csr_names(r, &out, &n, cn, sizeof(cn), &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(out[0].text, long_name);
	assert_string_equal(out[1].text, "short.example");
	assert_string_equal(cn, "");
	assert_int_equal(pki_csr_info(r, &info, &err), 0);
	assert_string_equal(info.subject, "");
	assert_int_equal(info.nsan, 3);
	pki_csr_info_clear(&info);
	free(out);
	pki_csr_free(r);
	pki_key_free(k);
}

static void test_errors(void **state)
{
	struct moat_err err = {0};
	struct pki_key *k = fx_key(PKI_KEY_EC_P256), *pub;
	struct moat_name in = fx_name("x.example");
	char *big;

	(void)state;
	assert_null(pki_csr_build(k, NULL, 0, &err));
	assert_non_null(strstr(err.msg, "name"));
	assert_null(pki_csr_from_pem("garbage", 7, &err));
	assert_non_null(strstr(err.msg, "not a CSR"));
	assert_null(pki_csr_from_pem(csr_email, 100, &err)); /* truncated PEM */
	assert_true(moat_err_isset(&err));
	big = malloc(PKI_MAX_INPUT + 10);
	assert_non_null(big);
	memset(big, 'A', PKI_MAX_INPUT + 10);
	assert_null(pki_csr_from_pem(big, PKI_MAX_INPUT + 10, &err));
	assert_non_null(strstr(err.msg, "too large"));
	free(big);
	/* a public key cannot sign a CSR */
	{
		struct pki_csr *r = pki_csr_build(k, &in, 1, &err);

		assert_non_null(r);
		pub = pki_csr_pubkey(r, &err);
		assert_non_null(pub);
		assert_null(pki_csr_build(pub, &in, 1, &err));
		assert_non_null(strstr(err.msg, "private key"));
		pki_key_free(pub);
		pki_csr_free(r);
	}
	pki_csr_free(NULL);
	pki_key_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_ec),
		cmocka_unit_test(test_round_trip_rsa),
		cmocka_unit_test(test_round_trip_ed25519),
		cmocka_unit_test(test_tampered_signature),
		cmocka_unit_test(test_refused_names),
		cmocka_unit_test(test_long_name_and_duplicates),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
