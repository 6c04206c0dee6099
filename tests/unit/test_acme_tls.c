/* tls-alpn-01: the RFC 8737 validation certificate (pki), the SNI names of
 * IP identifiers (RFC 8738 section 6), and the net responder checked with
 * software we did not write (`openssl s_client`). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "fixture.h"
#include "unit_skip.h"

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme/solve.h"
#include "net/net.h"
#include "pki/pki.h"

static struct pki_cert *build(const char *name, const unsigned char *digest, struct pki_key **key)
{
	struct moat_err err = {0};
	struct moat_name n = fx_name(name);
	int64_t now = (int64_t)time(NULL);
	struct pki_cert_spec spec = {.profile = PKI_PROFILE_ACME_TLS_ALPN, .names = &n, .nnames = 1,
				     .acme_digest = digest, .not_before = now - 3600,
				     .not_after = now + 7 * 86400};
	struct pki_cert *c;

	*key = pki_key_generate(PKI_KEY_EC_P256, &err);
	assert_non_null(*key);
	c = pki_cert_build(&spec, *key, NULL, *key, &err);
	if (c == NULL)
		fail_msg("build: %s", err.msg);
	return c;
}

/* The certificate as OpenSSL reads it back from its DER. */
static X509 *as_x509(const struct pki_cert *c)
{
	struct moat_err err = {0};
	struct moat_buf der = MOAT_BUF_INIT;
	const unsigned char *p;
	X509 *x;

	assert_int_equal(pki_cert_to_der(c, &der, &err), 0);
	p = (const unsigned char *)der.data;
	x = d2i_X509(NULL, &p, (long)der.len);
	assert_non_null(x);
	moat_buf_free(&der);
	return x;
}

static void check_cert(const char *name, int gen_type)
{
	unsigned char digest[32];
	struct pki_key *key;
	struct pki_cert *c;
	X509 *x;
	ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
	X509_EXTENSION *ext;
	const ASN1_OCTET_STRING *val;
	GENERAL_NAMES *san;
	int idx, crit = -1;

	for (size_t i = 0; i < sizeof(digest); i++)
		digest[i] = (unsigned char)(i * 7 + 1);
	c = build(name, digest, &key);
	x = as_x509(c);
	idx = X509_get_ext_by_OBJ(x, oid, -1);
	assert_true(idx >= 0);
	assert_int_equal(X509_get_ext_by_OBJ(x, oid, idx), -1); /* only one */
	ext = X509_get_ext(x, idx);
	assert_int_equal(X509_EXTENSION_get_critical(ext), 1);
	val = X509_EXTENSION_get_data(ext);
	assert_int_equal(ASN1_STRING_length(val), 34);
	assert_int_equal(ASN1_STRING_get0_data(val)[0], 0x04);
	assert_int_equal(ASN1_STRING_get0_data(val)[1], 0x20);
	assert_memory_equal(ASN1_STRING_get0_data(val) + 2, digest, 32);
	/* exactly the identifier in subjectAltName */
	san = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	assert_non_null(san);
	assert_int_equal(sk_GENERAL_NAME_num(san), 1);
	assert_int_equal(sk_GENERAL_NAME_value(san, 0)->type, gen_type);
	if (gen_type == GEN_DNS) {
		const ASN1_IA5STRING *d = sk_GENERAL_NAME_value(san, 0)->d.dNSName;
		assert_int_equal(ASN1_STRING_length(d), (int)strlen(name));
		assert_memory_equal(ASN1_STRING_get0_data(d), name, strlen(name));
	} else {
		struct moat_name n = fx_name(name);
		const ASN1_OCTET_STRING *ip = sk_GENERAL_NAME_value(san, 0)->d.iPAddress;
		assert_int_equal(ASN1_STRING_length(ip), (int)n.iplen);
		assert_memory_equal(ASN1_STRING_get0_data(ip), n.ip, n.iplen);
	}
	/* self-signed with the given key */
	assert_true(pki_key_matches_cert(key, c));
	assert_true(pki_cert_signed_by(c, c));
	GENERAL_NAMES_free(san);
	ASN1_OBJECT_free(oid);
	X509_free(x);
	pki_cert_free(c);
	pki_key_free(key);
}

static void test_cert_dns(void **state)
{
	(void)state;
	check_cert("a.example.test", GEN_DNS);
}

static void test_cert_ip(void **state)
{
	(void)state;
	check_cert("192.0.2.7", GEN_IPADD);
	check_cert("2001:db8::1", GEN_IPADD);
}

static void test_cert_errors(void **state)
{
	struct moat_err err = {0};
	unsigned char digest[32] = {0};
	struct moat_name two[2] = {fx_name("a.example.test"), fx_name("b.example.test")};
	struct pki_key *key = pki_key_generate(PKI_KEY_EC_P256, &err);
	int64_t now = (int64_t)time(NULL);
	struct pki_cert_spec spec = {.profile = PKI_PROFILE_ACME_TLS_ALPN, .names = two,
				     .nnames = 2, .acme_digest = digest, .not_before = now,
				     .not_after = now + 86400};

	(void)state;
	assert_non_null(key);
	assert_null(pki_cert_build(&spec, key, NULL, key, &err)); /* two names */
	spec.nnames = 1;
	spec.acme_digest = NULL;
	assert_null(pki_cert_build(&spec, key, NULL, key, &err)); /* no digest */
	spec.acme_digest = digest;
	spec.profile = PKI_PROFILE_LEAF;
	assert_null(pki_cert_build(&spec, key, NULL, key, &err)); /* digest on a leaf */
	assert_non_null(strstr(err.msg, "acmeIdentifier"));
	pki_key_free(key);
}

static void test_sni_names(void **state)
{
	char out[300];
	struct moat_name n;

	(void)state;
	n = fx_name("1.2.3.4");
	assert_int_equal(acme_tlsalpn01_sni(&n, out, sizeof(out)), 0);
	assert_string_equal(out, "4.3.2.1.in-addr.arpa");
	n = fx_name("2001:db8::567:89ab");
	assert_int_equal(acme_tlsalpn01_sni(&n, out, sizeof(out)), 0);
	assert_string_equal(out, "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
				 "ip6.arpa");
	n = fx_name("A.Example.Test");
	assert_int_equal(acme_tlsalpn01_sni(&n, out, sizeof(out)), 0);
	assert_string_equal(out, "a.example.test");
	n = fx_name("*.example.test");
	assert_int_equal(acme_tlsalpn01_sni(&n, out, sizeof(out)), -1);
	n = fx_name("2001:db8::1");
	assert_int_equal(acme_tlsalpn01_sni(&n, out, 40), -1);
}

/* ---- the responder, seen by openssl s_client ---------------------------------- */

/* Run s_client against port with extra arguments; the peer certificate's
 * text (openssl x509 -text) into out, "" when there was none.  Returns
 * s_client's exit status. */
static int s_client(uint16_t port, const char *args, char *out, size_t n)
{
	char cmd[1024];
	FILE *p;
	size_t len;
	int rc;

	snprintf(cmd, sizeof(cmd),
		 "f=$(mktemp) || exit 99; "
		 "openssl s_client -connect 127.0.0.1:%u %s </dev/null >\"$f\" 2>/dev/null; "
		 "rc=$?; openssl x509 -noout -text <\"$f\" 2>/dev/null; "
		 "grep -h '^ALPN protocol' \"$f\"; rm -f \"$f\"; exit $rc",
		 port, args);
	p = popen(cmd, "r");
	assert_non_null(p);
	len = fread(out, 1, n - 1, p);
	out[len] = '\0';
	rc = pclose(p);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* s_client's exit status: 0 after a handshake, else not. */
#define ACCEPTED(args) assert_int_equal(s_client(port, args, out, sizeof(out)), 0)
#define REFUSED(args) assert_int_not_equal(s_client(port, args, out, sizeof(out)), 0)

static void test_responder(void **state)
{
	struct moat_err err = {0};
	struct acme_solver sv;
	struct moat_name a, ip, other;
	struct acme_tlsalpn01 *t;
	static char out[65536];
	uint16_t port;

	(void)state;
	if (system("openssl version >/dev/null 2>&1") != 0)
		UNIT_SKIP("the openssl command is not installed");
	assert_int_equal(moat_name_parse("a.example.test", &a, &err), 0);
	assert_int_equal(moat_name_parse("127.0.0.1", &ip, &err), 0);
	assert_int_equal(moat_name_parse("*.example.test", &other, &err), 0);
	t = acme_tlsalpn01_standalone("127.0.0.1", 0, &err);
	assert_non_null(t);
	port = acme_tlsalpn01_port(t);
	acme_tlsalpn01_solver(t, &sv);
	assert_string_equal(sv.type, "tls-alpn-01");
	assert_int_equal(sv.present(sv.arg, &a, "tok", "tok.thumb", &err), 0);
	assert_int_equal(sv.present(sv.arg, &ip, "tok", "tok.thumb", &err), 0);
	/* a wildcard has no tls-alpn-01 (RFC 8737 section 3) */
	assert_int_equal(sv.present(sv.arg, &other, "tok", "tok.thumb", &err), -1);

	/* TLS 1.3 and 1.2: the certificate for the name, ALPN acme-tls/1 */
	ACCEPTED("-alpn acme-tls/1 -servername a.example.test");
	assert_non_null(strstr(out, "DNS:a.example.test"));
	assert_non_null(strstr(out, "1.3.6.1.5.5.7.1.31: critical"));
	assert_non_null(strstr(out, "ALPN protocol: acme-tls/1"));
	ACCEPTED("-tls1_2 -alpn acme-tls/1 -servername A.EXAMPLE.TEST");
	assert_non_null(strstr(out, "DNS:a.example.test"));
	assert_non_null(strstr(out, "ALPN protocol: acme-tls/1"));
	ACCEPTED("-alpn http/1.1,acme-tls/1 -servername 1.0.0.127.in-addr.arpa");
	assert_non_null(strstr(out, "IP Address:127.0.0.1"));
	assert_non_null(strstr(out, "ALPN protocol: acme-tls/1"));

	/* everything else: no certificate */
	REFUSED("-servername a.example.test");
	assert_null(strstr(out, "Certificate:"));
	REFUSED("-alpn h2 -servername a.example.test");
	assert_null(strstr(out, "Certificate:"));
	REFUSED("-alpn acme-tls/1 -servername other.example.test");
	assert_null(strstr(out, "Certificate:"));
	REFUSED("-alpn acme-tls/1 -noservername");
	assert_null(strstr(out, "Certificate:"));
	REFUSED("-tls1_1 -alpn acme-tls/1 -servername a.example.test");
	assert_null(strstr(out, "Certificate:"));

	/* cleaned up: refused */
	sv.cleanup(sv.arg, &a, "tok");
	REFUSED("-alpn acme-tls/1 -servername a.example.test");
	assert_null(strstr(out, "Certificate:"));
	ACCEPTED("-alpn acme-tls/1 -servername 1.0.0.127.in-addr.arpa");
	assert_non_null(strstr(out, "IP Address:127.0.0.1"));

	acme_tlsalpn01_free(t); /* with a name still there */
}

/* A client that connects and sends nothing, and one that sends junk: the
 * responder still stops at once (its connections are closed with it). */
static void test_responder_stop(void **state)
{
	struct moat_err err = {0};
	struct acme_tlsalpn01 *t = acme_tlsalpn01_standalone("127.0.0.1", 0, &err);
	char cmd[256];

	(void)state;
	assert_non_null(t);
	/* the same port twice: the second cannot listen */
	assert_null(acme_tlsalpn01_standalone("127.0.0.1", acme_tlsalpn01_port(t), &err));
	assert_non_null(strstr(err.msg, "already in use"));
	snprintf(cmd, sizeof(cmd),
		 "python3 -c 'import socket,sys,time\n"
		 "a=socket.create_connection((\"127.0.0.1\",%u))\n"
		 "b=socket.create_connection((\"127.0.0.1\",%u)); b.send(b\"GET / HTTP/1.0\\r\\n\\r\\n\")\n"
		 "time.sleep(0.3)' 2>/dev/null",
		 acme_tlsalpn01_port(t), acme_tlsalpn01_port(t));
	(void)system(cmd);
	acme_tlsalpn01_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cert_dns),
		cmocka_unit_test(test_cert_ip),
		cmocka_unit_test(test_cert_errors),
		cmocka_unit_test(test_sni_names),
		cmocka_unit_test(test_responder),
		cmocka_unit_test(test_responder_stop),
	};
	struct moat_err err = {0};

	if (pki_init(&err) != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
