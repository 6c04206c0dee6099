/* Certificates: building root -> intermediate -> leaf for every key type,
 * strict verification (ours and the openssl tool's), name constraints, the
 * info reading, and I/O. */
#include <arpa/inet.h>
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

#include "fixture.h"

#include "pki/ossl.h"
#include "pki/pki.h"

#define DAY 86400

static int64_t now;

static struct moat_permit permit_dns(const char *dns)
{
	struct moat_permit p;

	memset(&p, 0, sizeof(p));
	p.type = MOAT_PERMIT_DNS;
	snprintf(p.dns, sizeof(p.dns), "%s", dns);
	snprintf(p.text, sizeof(p.text), "%s", dns);
	return p;
}

static struct moat_permit permit_ip(const char *addr, unsigned prefix)
{
	struct moat_permit p;

	memset(&p, 0, sizeof(p));
	p.type = MOAT_PERMIT_IP;
	if (inet_pton(AF_INET, addr, p.ip) == 1)
		p.iplen = 4;
	else if (inet_pton(AF_INET6, addr, p.ip) == 1)
		p.iplen = 16;
	else
		fail_msg("bad address %s", addr);
	p.prefix = prefix;
	for (unsigned i = 0; i < prefix; i++)
		p.mask[i / 8] |= (unsigned char)(0x80 >> (i % 8));
	snprintf(p.text, sizeof(p.text), "%s/%u", addr, prefix);
	return p;
}

struct chain {
	struct pki_key *root_key, *int_key, *leaf_key;
	struct pki_cert *root, *inter, *leaf;
};

static struct pki_cert *build(enum pki_profile profile, const char *cn, const struct moat_name *names,
			      size_t nnames, const struct moat_permit *permits, size_t npermits,
			      const struct pki_key *key, const struct pki_cert *issuer,
			      const struct pki_key *issuer_key, struct moat_err *err)
{
	struct pki_cert_spec spec = {
		.profile = profile,
		.common_name = cn,
		.organization = profile == PKI_PROFILE_LEAF ? NULL : "Moat Test",
		.names = names,
		.nnames = nnames,
		.client_auth = false,
		.permits = permits,
		.npermits = npermits,
		.not_before = now - 3600,
		.not_after = now + 30 * DAY,
	};

	return pki_cert_build(&spec, key, issuer, issuer_key, err);
}

static struct pki_cert *build_ok(enum pki_profile profile, const char *cn,
				 const struct moat_name *names, size_t nnames,
				 const struct moat_permit *permits, size_t npermits,
				 const struct pki_key *key, const struct pki_cert *issuer,
				 const struct pki_key *issuer_key)
{
	struct moat_err err = {0};
	struct pki_cert *c = build(profile, cn, names, nnames, permits, npermits, key, issuer,
				   issuer_key, &err);

	if (c == NULL)
		fail_msg("build %s: %s", cn != NULL ? cn : "(no CN)", err.msg);
	return c;
}

/* Root and intermediate with the given permits (on both). */
static void make_cas(struct chain *c, enum pki_key_type t, const struct moat_permit *permits,
		     size_t np)
{
	memset(c, 0, sizeof(*c));
	c->root_key = fx_key(t);
	c->int_key = fx_key(t);
	c->root = build_ok(PKI_PROFILE_ROOT, "Moat Root", NULL, 0, permits, np, c->root_key, NULL,
			   c->root_key);
	c->inter = build_ok(PKI_PROFILE_INTERMEDIATE, "Moat Intermediate", NULL, 0, permits, np,
			    c->int_key, c->root, c->root_key);
}

static void chain_free(struct chain *c)
{
	pki_cert_free(c->leaf);
	pki_cert_free(c->inter);
	pki_cert_free(c->root);
	pki_key_free(c->leaf_key);
	pki_key_free(c->int_key);
	pki_key_free(c->root_key);
}

static int verify(const struct chain *c, const struct pki_cert *leaf, struct moat_err *err)
{
	struct pki_cert *const inter[] = {c->inter};

	return pki_verify_chain(leaf, inter, 1, c->root, NULL, 0, err);
}

static void write_pem(const char *path, const struct pki_cert *c)
{
	struct moat_err err = {0};
	struct moat_buf b = MOAT_BUF_INIT;
	FILE *f;

	assert_int_equal(pki_cert_to_pem(c, &b, &err), 0);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(b.data, 1, b.len, f), b.len);
	assert_int_equal(fclose(f), 0);
	moat_buf_free(&b);
}

/* `openssl verify -x509_strict -purpose sslserver` accepts the chain. */
static void openssl_verify(const struct chain *c)
{
	char dir[] = "/tmp/moat-test-cert-XXXXXX", cmd[1024];
	char root[128], inter[128], leaf[128];
	int rc;

	if (!fx_have_openssl())
		return;
	assert_non_null(mkdtemp(dir));
	snprintf(root, sizeof(root), "%s/root.pem", dir);
	snprintf(inter, sizeof(inter), "%s/int.pem", dir);
	snprintf(leaf, sizeof(leaf), "%s/leaf.pem", dir);
	write_pem(root, c->root);
	write_pem(inter, c->inter);
	write_pem(leaf, c->leaf);
	snprintf(cmd, sizeof(cmd),
		 "openssl verify -x509_strict -purpose sslserver -CAfile %s -untrusted %s %s "
		 ">/dev/null",
		 root, inter, leaf);
	rc = system(cmd);
	unlink(root);
	unlink(inter);
	unlink(leaf);
	rmdir(dir);
	assert_int_equal(rc, 0);
}

static void full_chain(enum pki_key_type t, const char *key_desc, const char *sig_alg)
{
	struct moat_err err = {0};
	struct chain c;
	struct moat_name names[] = {fx_name("printer.local"), fx_name("*.printer.local"), fx_name("192.168.1.10"),
				    fx_name("fd00::10")};
	struct pki_cert_info li, ii, ri;
	bool rsa = t == PKI_KEY_RSA_2048;

	make_cas(&c, t, NULL, 0);
	c.leaf_key = fx_key(t);
	c.leaf = build_ok(PKI_PROFILE_LEAF, "printer.local", names, 4, NULL, 0, c.leaf_key, c.inter,
			  c.int_key);
	if (verify(&c, c.leaf, &err) != 0)
		fail_msg("verify: %s", err.msg);
	openssl_verify(&c);

	assert_int_equal(pki_cert_info(c.leaf, &li, &err), 0);
	assert_int_equal(pki_cert_info(c.inter, &ii, &err), 0);
	assert_int_equal(pki_cert_info(c.root, &ri, &err), 0);

	assert_string_equal(li.subject, "CN=printer.local");
	assert_string_equal(li.common_name, "printer.local");
	assert_string_equal(li.issuer, "CN=Moat Intermediate,O=Moat Test");
	assert_string_equal(ii.issuer, "CN=Moat Root,O=Moat Test");
	assert_string_equal(ri.issuer, ri.subject);
	assert_string_equal(li.key_desc, key_desc);
	assert_string_equal(li.sig_alg, sig_alg);
	assert_false(li.is_ca);
	assert_int_equal(li.pathlen, -1);
	assert_false(li.self_signed);
	assert_int_equal(li.nsan, 4);
	assert_string_equal(li.san[0], "DNS:printer.local");
	assert_string_equal(li.san[1], "DNS:*.printer.local");
	assert_string_equal(li.san[2], "IP:192.168.1.10");
	assert_string_equal(li.san[3], "IP:fd00::10");
	assert_string_equal(li.key_usage, rsa ? "digitalSignature, keyEncipherment" : "digitalSignature");
	assert_string_equal(li.ext_key_usage, "serverAuth");
	assert_string_equal(li.name_constraints, "");
	/* 128 random bits: upper-case hex, whole bytes, no leading zero byte */
	assert_true(strlen(li.serial_hex) >= 18 && strlen(li.serial_hex) <= 32);
	assert_true(strlen(li.serial_hex) % 2 == 0);
	assert_true(strspn(li.serial_hex, "0123456789ABCDEF") == strlen(li.serial_hex));
	assert_false(li.serial_hex[0] == '0' && li.serial_hex[1] == '0');
	assert_string_not_equal(li.serial_hex, ii.serial_hex);
	assert_int_equal(li.not_before, now - 3600);
	assert_int_equal(li.not_after, now + 30 * DAY);
	assert_int_equal(strlen(li.sha256), 95);
	assert_int_equal(strlen(li.ski), 59);
	assert_string_equal(li.aki, ii.ski);
	assert_string_equal(ii.aki, ri.ski);
	assert_string_equal(ri.aki, ri.ski);

	assert_true(ii.is_ca);
	assert_int_equal(ii.pathlen, 0);
	assert_false(ii.self_signed);
	assert_string_equal(ii.key_usage, "digitalSignature, keyCertSign, cRLSign");
	assert_string_equal(ii.ext_key_usage, "serverAuth, clientAuth");
	assert_int_equal(ii.nsan, 0);
	assert_null(ii.san);

	assert_true(ri.is_ca);
	assert_int_equal(ri.pathlen, -1);
	assert_true(ri.self_signed);
	assert_string_equal(ri.key_usage, "keyCertSign, cRLSign");
	assert_string_equal(ri.ext_key_usage, "");

	assert_true(pki_cert_signed_by(c.leaf, c.inter));
	assert_true(pki_cert_signed_by(c.inter, c.root));
	assert_true(pki_cert_signed_by(c.root, c.root));
	assert_false(pki_cert_signed_by(c.leaf, c.root));
	assert_true(pki_key_matches_cert(c.leaf_key, c.leaf));
	assert_false(pki_key_matches_cert(c.int_key, c.leaf));

	pki_cert_info_clear(&li);
	pki_cert_info_clear(&ii);
	pki_cert_info_clear(&ri);
	chain_free(&c);
}

static void test_chain_ec_p256(void **state)
{
	(void)state;
	full_chain(PKI_KEY_EC_P256, "EC P-256", "ecdsa-with-SHA256");
}

static void test_chain_ec_p384(void **state)
{
	(void)state;
	full_chain(PKI_KEY_EC_P384, "EC P-384", "ecdsa-with-SHA384");
}

static void test_chain_rsa(void **state)
{
	(void)state;
	full_chain(PKI_KEY_RSA_2048, "RSA 2048", "sha256WithRSAEncryption");
}

static void test_chain_ed25519(void **state)
{
	(void)state;
	full_chain(PKI_KEY_ED25519, "Ed25519", "ED25519");
}

/* Mixed types: an EC P-384 CA signing an RSA and an Ed25519 leaf. */
static void test_mixed_types(void **state)
{
	struct moat_err err = {0};
	struct chain c;
	struct moat_name n = fx_name("mixed.example");
	struct pki_cert_info li;

	(void)state;
	make_cas(&c, PKI_KEY_EC_P384, NULL, 0);
	c.leaf_key = fx_key(PKI_KEY_ED25519);
	c.leaf = build_ok(PKI_PROFILE_LEAF, NULL, &n, 1, NULL, 0, c.leaf_key, c.inter, c.int_key);
	assert_int_equal(verify(&c, c.leaf, &err), 0);
	openssl_verify(&c);
	assert_int_equal(pki_cert_info(c.leaf, &li, &err), 0);
	assert_string_equal(li.subject, "");
	assert_string_equal(li.common_name, "");
	assert_string_equal(li.sig_alg, "ecdsa-with-SHA384");
	assert_string_equal(li.key_desc, "Ed25519");
	pki_cert_info_clear(&li);
	chain_free(&c);
}

static void test_name_constraints(void **state)
{
	struct moat_err err = {0};
	struct chain c;
	struct moat_permit permits[] = {permit_dns(".local"), permit_dns("home.example"),
					permit_ip("192.168.0.0", 16)};
	struct moat_name good[] = {fx_name("printer.local"), fx_name("nas.home.example"), fx_name("home.example"),
				   fx_name("192.168.7.1")};
	struct moat_name bad_dns = fx_name("evil.example"), bad_ip = fx_name("10.0.0.1"), v6 = fx_name("fd00::1");
	struct moat_name bare_local = fx_name("local");
	struct pki_cert *leaf;
	struct pki_cert_info ri;

	(void)state;
	make_cas(&c, PKI_KEY_EC_P256, permits, 3);
	assert_int_equal(pki_cert_info(c.root, &ri, &err), 0);
	assert_string_equal(ri.name_constraints,
			    "permitted: DNS:.local, DNS:home.example, IP:192.168.0.0/16");
	pki_cert_info_clear(&ri);

	c.leaf_key = fx_key(PKI_KEY_EC_P256);
	c.leaf = build_ok(PKI_PROFILE_LEAF, "printer.local", good, 4, NULL, 0, c.leaf_key, c.inter,
			  c.int_key);
	if (verify(&c, c.leaf, &err) != 0)
		fail_msg("verify: %s", err.msg);
	openssl_verify(&c);

	/* a DNS name outside the permits */
	leaf = build_ok(PKI_PROFILE_LEAF, NULL, &bad_dns, 1, NULL, 0, c.leaf_key, c.inter, c.int_key);
	assert_int_equal(verify(&c, leaf, &err), -1);
	assert_non_null(strstr(err.msg, "certificate verification failed: "));
	assert_non_null(strstr(err.msg, "subtree violation"));
	assert_non_null(strstr(err.msg, "at depth 0"));
	pki_cert_free(leaf);

	/* ".local" does not cover "local" itself */
	leaf = build_ok(PKI_PROFILE_LEAF, NULL, &bare_local, 1, NULL, 0, c.leaf_key, c.inter,
			c.int_key);
	assert_int_equal(verify(&c, leaf, &err), -1);
	pki_cert_free(leaf);

	/* an IPv4 address outside the IP permit */
	leaf = build_ok(PKI_PROFILE_LEAF, NULL, &bad_ip, 1, NULL, 0, c.leaf_key, c.inter, c.int_key);
	assert_int_equal(verify(&c, leaf, &err), -1);
	assert_non_null(strstr(err.msg, "subtree violation"));
	pki_cert_free(leaf);

	/* IPv6 is outside an IPv4-only permit */
	leaf = build_ok(PKI_PROFILE_LEAF, NULL, &v6, 1, NULL, 0, c.leaf_key, c.inter, c.int_key);
	assert_int_equal(verify(&c, leaf, &err), -1);
	assert_non_null(strstr(err.msg, "subtree violation"));
	pki_cert_free(leaf);

	/* a CN outside the permits, with no DNS SAN, is checked as a DNS name */
	leaf = build_ok(PKI_PROFILE_LEAF, "evil.example", &good[3], 1, NULL, 0, c.leaf_key, c.inter,
			c.int_key);
	assert_int_equal(verify(&c, leaf, &err), -1);
	pki_cert_free(leaf);

	chain_free(&c);
}

static void test_only_dns_permits_exclude_ips(void **state)
{
	struct moat_err err = {0};
	struct chain c;
	struct moat_permit permits[] = {permit_dns("home.example")};
	struct moat_name dns = fx_name("a.home.example"), ip4 = fx_name("192.168.1.1"), ip6 = fx_name("::1");
	struct moat_name both[] = {fx_name("a.home.example"), fx_name("192.168.1.1")};
	struct pki_cert *leaf;
	struct pki_cert_info ri;

	(void)state;
	make_cas(&c, PKI_KEY_EC_P256, permits, 1);
	assert_int_equal(pki_cert_info(c.root, &ri, &err), 0);
	assert_string_equal(ri.name_constraints,
			    "permitted: DNS:home.example; excluded: IP:0.0.0.0/0, IP:::/0");
	pki_cert_info_clear(&ri);
	c.leaf_key = fx_key(PKI_KEY_EC_P256);

	leaf = build_ok(PKI_PROFILE_LEAF, NULL, &dns, 1, NULL, 0, c.leaf_key, c.inter, c.int_key);
	assert_int_equal(verify(&c, leaf, &err), 0);
	pki_cert_free(leaf);

	leaf = build_ok(PKI_PROFILE_LEAF, NULL, &ip4, 1, NULL, 0, c.leaf_key, c.inter, c.int_key);
	assert_int_equal(verify(&c, leaf, &err), -1);
	assert_non_null(strstr(err.msg, "excluded subtree violation"));
	pki_cert_free(leaf);

	leaf = build_ok(PKI_PROFILE_LEAF, NULL, &ip6, 1, NULL, 0, c.leaf_key, c.inter, c.int_key);
	assert_int_equal(verify(&c, leaf, &err), -1);
	pki_cert_free(leaf);

	leaf = build_ok(PKI_PROFILE_LEAF, "a.home.example", both, 2, NULL, 0, c.leaf_key, c.inter,
			c.int_key);
	assert_int_equal(verify(&c, leaf, &err), -1);
	pki_cert_free(leaf);

	chain_free(&c);
}

static void test_only_ip_permits_exclude_dns(void **state)
{
	struct moat_err err = {0};
	struct chain c;
	struct moat_permit permits[] = {permit_ip("10.1.0.0", 16), permit_ip("fd00::", 8)};
	struct moat_name ip4 = fx_name("10.1.2.3"), ip6 = fx_name("fd12::1"), dns = fx_name("host.lan");
	struct pki_cert *leaf;
	struct pki_cert_info ri;

	(void)state;
	make_cas(&c, PKI_KEY_EC_P256, permits, 2);
	assert_int_equal(pki_cert_info(c.root, &ri, &err), 0);
	assert_string_equal(ri.name_constraints,
			    "permitted: IP:10.1.0.0/16, IP:fd00::/8; excluded: DNS:(any)");
	pki_cert_info_clear(&ri);
	c.leaf_key = fx_key(PKI_KEY_EC_P256);

	/* IP-only leaves: no CN (an IP in the CN would be checked as a DNS name) */
	c.leaf = build_ok(PKI_PROFILE_LEAF, NULL, &ip4, 1, NULL, 0, c.leaf_key, c.inter, c.int_key);
	if (verify(&c, c.leaf, &err) != 0)
		fail_msg("verify: %s", err.msg);
	openssl_verify(&c);

	leaf = build_ok(PKI_PROFILE_LEAF, NULL, &ip6, 1, NULL, 0, c.leaf_key, c.inter, c.int_key);
	assert_int_equal(verify(&c, leaf, &err), 0);
	pki_cert_free(leaf);

	leaf = build_ok(PKI_PROFILE_LEAF, NULL, &dns, 1, NULL, 0, c.leaf_key, c.inter, c.int_key);
	assert_int_equal(verify(&c, leaf, &err), -1);
	assert_non_null(strstr(err.msg, "excluded subtree violation"));
	pki_cert_free(leaf);

	chain_free(&c);
}

/* The same with permits as `moat ca init --permit` parses them. */
static void test_parsed_permits(void **state)
{
	static const char *texts[] = {".local", "home.example", "192.168.0.0/16", "fd00::/8"};
	struct moat_err err = {0};
	struct moat_permit permits[4];
	struct chain c;
	struct moat_name ok[] = {fx_name("nas.local"), fx_name("home.example"), fx_name("192.168.3.4"),
				 fx_name("fd00::5")};
	struct moat_name bad[] = {fx_name("local"), fx_name("example"), fx_name("192.169.0.1"), fx_name("fe80::1")};
	struct pki_cert_info ri;

	(void)state;
	for (size_t i = 0; i < 4; i++)
		if (moat_permit_parse(texts[i], &permits[i], &err) != 0)
			fail_msg("permit %s: %s", texts[i], err.msg);
	make_cas(&c, PKI_KEY_EC_P256, permits, 4);
	assert_int_equal(pki_cert_info(c.root, &ri, &err), 0);
	assert_string_equal(ri.name_constraints, "permitted: DNS:.local, DNS:home.example, "
						 "IP:192.168.0.0/16, IP:fd00::/8");
	pki_cert_info_clear(&ri);
	c.leaf_key = fx_key(PKI_KEY_EC_P256);
	c.leaf = build_ok(PKI_PROFILE_LEAF, NULL, ok, 4, NULL, 0, c.leaf_key, c.inter, c.int_key);
	if (verify(&c, c.leaf, &err) != 0)
		fail_msg("verify: %s", err.msg);
	openssl_verify(&c);
	for (size_t i = 0; i < 4; i++) {
		struct pki_cert *leaf = build_ok(PKI_PROFILE_LEAF, NULL, &bad[i], 1, NULL, 0,
						 c.leaf_key, c.inter, c.int_key);

		assert_int_equal(verify(&c, leaf, &err), -1);
		/* moat's own check agrees with OpenSSL's */
		assert_false(moat_permits_allow(permits, 4, true, &bad[i]));
		pki_cert_free(leaf);
	}
	for (size_t i = 0; i < 4; i++)
		assert_true(moat_permits_allow(permits, 4, true, &ok[i]));
	chain_free(&c);
}

/* An IP address in the CN of a leaf without DNS names is checked against
 * the DNS constraints by OpenSSL: such leaves must have no CN. */
static void test_ip_common_name_pitfall(void **state)
{
	struct moat_err err = {0};
	struct chain c;
	struct moat_permit permits[] = {permit_ip("10.0.0.0", 8)};
	struct moat_name ip = fx_name("10.1.2.3");
	struct pki_cert *leaf;

	(void)state;
	make_cas(&c, PKI_KEY_EC_P256, permits, 1);
	c.leaf_key = fx_key(PKI_KEY_EC_P256);
	leaf = build_ok(PKI_PROFILE_LEAF, "10.1.2.3", &ip, 1, NULL, 0, c.leaf_key, c.inter,
			c.int_key);
	assert_int_equal(verify(&c, leaf, &err), -1);
	pki_cert_free(leaf);
	leaf = build_ok(PKI_PROFILE_LEAF, NULL, &ip, 1, NULL, 0, c.leaf_key, c.inter, c.int_key);
	assert_int_equal(verify(&c, leaf, &err), 0);
	pki_cert_free(leaf);
	chain_free(&c);
}

static void test_verify_failures(void **state)
{
	struct moat_err err = {0};
	struct chain c, other;
	struct moat_name n = fx_name("svc.example");

	(void)state;
	make_cas(&c, PKI_KEY_EC_P256, NULL, 0);
	make_cas(&other, PKI_KEY_EC_P256, NULL, 0);
	c.leaf_key = fx_key(PKI_KEY_EC_P256);
	c.leaf = build_ok(PKI_PROFILE_LEAF, "svc.example", &n, 1, NULL, 0, c.leaf_key, c.inter,
			  c.int_key);
	/* expired, not yet valid */
	assert_int_equal(pki_verify_chain(c.leaf, &c.inter, 1, c.root, NULL, now + 31 * DAY, &err),
			 -1);
	assert_non_null(strstr(err.msg, "expired"));
	assert_int_equal(pki_verify_chain(c.leaf, &c.inter, 1, c.root, NULL, now - DAY, &err), -1);
	assert_non_null(strstr(err.msg, "not yet valid"));
	assert_int_equal(pki_verify_chain(c.leaf, &c.inter, 1, c.root, NULL, now + DAY, &err), 0);
	/* missing intermediate */
	assert_int_equal(pki_verify_chain(c.leaf, NULL, 0, c.root, NULL, 0, &err), -1);
	assert_non_null(strstr(err.msg, "unable to get local issuer certificate"));
	assert_non_null(strstr(err.msg, "CN=svc.example"));
	/* the wrong root */
	assert_int_equal(pki_verify_chain(c.leaf, &c.inter, 1, other.root, NULL, 0, &err), -1);
	assert_true(moat_err_isset(&err));
	chain_free(&c);
	chain_free(&other);
}

static void test_build_errors(void **state)
{
	struct moat_err err = {0};
	struct chain c;
	struct moat_name n = fx_name("x.example");
	struct moat_permit p = permit_dns(".local");
	struct pki_key *k = fx_key(PKI_KEY_EC_P256);
	struct pki_cert *leaf;
	char long_cn[80];
	struct pki_cert_spec spec = {.profile = PKI_PROFILE_LEAF, .common_name = "x.example",
				     .names = &n, .nnames = 1, .not_before = 100, .not_after = 50};

	(void)state;
	make_cas(&c, PKI_KEY_EC_P256, NULL, 0);
	/* issuer key that does not match the issuer certificate */
	assert_null(build(PKI_PROFILE_LEAF, "x", &n, 1, NULL, 0, k, c.inter, c.root_key, &err));
	assert_non_null(strstr(err.msg, "does not match"));
	/* self-signed with a foreign key */
	assert_null(build(PKI_PROFILE_ROOT, "r", NULL, 0, NULL, 0, k, NULL, c.root_key, &err));
	assert_true(moat_err_isset(&err));
	/* a leaf cannot issue */
	leaf = build_ok(PKI_PROFILE_LEAF, "x.example", &n, 1, NULL, 0, k, c.inter, c.int_key);
	c.leaf_key = fx_key(PKI_KEY_EC_P256);
	assert_null(build(PKI_PROFILE_LEAF, "y", &n, 1, NULL, 0, c.leaf_key, leaf, k, &err));
	assert_non_null(strstr(err.msg, "not a CA"));
	/* no name at all */
	assert_null(build(PKI_PROFILE_LEAF, NULL, NULL, 0, NULL, 0, k, c.inter, c.int_key, &err));
	assert_true(moat_err_isset(&err));
	/* permits on a leaf */
	assert_null(build(PKI_PROFILE_LEAF, "x", &n, 1, &p, 1, k, c.inter, c.int_key, &err));
	assert_true(moat_err_isset(&err));
	/* bad validity */
	assert_null(pki_cert_build(&spec, k, c.inter, c.int_key, &err));
	assert_non_null(strstr(err.msg, "expire"));
	/* a CN longer than 64 characters */
	memset(long_cn, 'a', 70);
	long_cn[70] = '\0';
	assert_null(build(PKI_PROFILE_LEAF, long_cn, &n, 1, NULL, 0, k, c.inter, c.int_key, &err));
	assert_non_null(strstr(err.msg, "common name"));
	/* a public key cannot sign */
	{
		struct pki_key *pub = pki_cert_pubkey(c.inter, &err);

		assert_non_null(pub);
		assert_true(pki_key_matches_key(pub, c.int_key));
		assert_null(build(PKI_PROFILE_LEAF, "x", &n, 1, NULL, 0, k, c.inter, pub, &err));
		assert_non_null(strstr(err.msg, "private key"));
		pki_key_free(pub);
	}
	pki_cert_free(leaf);
	pki_key_free(k);
	chain_free(&c);
}

static void test_client_auth(void **state)
{
	struct moat_err err = {0};
	struct chain c;
	struct moat_name n = fx_name("client.example");
	struct pki_cert_spec spec = {.profile = PKI_PROFILE_LEAF, .common_name = "client.example",
				     .names = &n, .nnames = 1, .client_auth = true,
				     .not_before = 0, .not_after = 0};
	struct pki_cert_info li;

	(void)state;
	spec.not_before = now - 60;
	spec.not_after = now + DAY;
	make_cas(&c, PKI_KEY_EC_P256, NULL, 0);
	c.leaf_key = fx_key(PKI_KEY_RSA_2048);
	c.leaf = pki_cert_build(&spec, c.leaf_key, c.inter, c.int_key, &err);
	assert_non_null(c.leaf);
	assert_int_equal(pki_cert_info(c.leaf, &li, &err), 0);
	assert_string_equal(li.ext_key_usage, "serverAuth, clientAuth");
	assert_string_equal(li.key_usage, "digitalSignature, keyEncipherment");
	assert_int_equal(verify(&c, c.leaf, &err), 0);
	pki_cert_info_clear(&li);
	chain_free(&c);
}

static void test_io(void **state)
{
	struct moat_err err = {0};
	struct chain c;
	struct moat_name n = fx_name("io.example");
	struct moat_buf pem = MOAT_BUF_INIT, der = MOAT_BUF_INIT, bundle = MOAT_BUF_INIT;
	struct pki_cert *back, *dup, **all = NULL;
	struct pki_cert_info a, b;
	size_t count = 0;
	static const char foo[] = "-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n";

	(void)state;
	make_cas(&c, PKI_KEY_EC_P256, NULL, 0);
	c.leaf_key = fx_key(PKI_KEY_EC_P256);
	c.leaf = build_ok(PKI_PROFILE_LEAF, "io.example", &n, 1, NULL, 0, c.leaf_key, c.inter,
			  c.int_key);
	assert_int_equal(pki_cert_to_pem(c.leaf, &pem, &err), 0);
	assert_int_equal(strncmp((char *)pem.data, "-----BEGIN CERTIFICATE-----\n", 28), 0);
	assert_int_equal(pki_cert_to_der(c.leaf, &der, &err), 0);
	assert_int_equal(der.data[0], 0x30);

	assert_int_equal(pki_cert_info(c.leaf, &a, &err), 0);
	back = pki_cert_from_pem(pem.data, pem.len, &err);
	assert_non_null(back);
	assert_int_equal(pki_cert_info(back, &b, &err), 0);
	assert_string_equal(a.sha256, b.sha256);
	pki_cert_info_clear(&b);
	pki_cert_free(back);
	back = pki_cert_from_pem(der.data, der.len, &err);
	assert_non_null(back);
	assert_int_equal(pki_cert_info(back, &b, &err), 0);
	assert_string_equal(a.sha256, b.sha256);
	pki_cert_info_clear(&b);
	pki_cert_free(back);
	dup = pki_cert_dup(c.leaf);
	assert_non_null(dup);
	assert_true(pki_cert_signed_by(dup, c.inter));
	pki_cert_free(dup);

	/* bundle: text, leaf, an unknown block, intermediate, root */
	moat_buf_puts(&bundle, "leaf:\n");
	pki_cert_to_pem(c.leaf, &bundle, &err);
	moat_buf_puts(&bundle, foo);
	pki_cert_to_pem(c.inter, &bundle, &err);
	pki_cert_to_pem(c.root, &bundle, &err);
	assert_int_equal(pki_certs_from_pem(bundle.data, bundle.len, &all, &count, &err), 0);
	assert_int_equal(count, 3);
	assert_true(pki_cert_signed_by(all[0], all[1]));
	assert_true(pki_cert_signed_by(all[1], all[2]));
	pki_certs_free(all, count);
	/* _from_pem takes the first */
	back = pki_cert_from_pem(bundle.data, bundle.len, &err);
	assert_true(pki_cert_signed_by(back, c.inter));
	pki_cert_free(back);

	/* errors */
	assert_null(pki_cert_from_pem("garbage", 7, &err));
	assert_non_null(strstr(err.msg, "not a certificate"));
	assert_null(pki_cert_from_pem(der.data, der.len - 1, &err));
	assert_non_null(strstr(err.msg, "not a certificate"));
	assert_null(pki_cert_from_pem(foo, strlen(foo), &err));
	assert_non_null(strstr(err.msg, "no CERTIFICATE"));
	{
		static const char broken[] =
			"-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----\n";

		assert_null(pki_cert_from_pem(broken, strlen(broken), &err));
		assert_non_null(strstr(err.msg, "malformed"));
	}
	/* more than PKI_MAX_OBJECTS */
	{
		struct moat_buf many = MOAT_BUF_INIT;

		for (int i = 0; i <= PKI_MAX_OBJECTS; i++)
			pki_cert_to_pem(c.root, &many, &err);
		assert_int_equal(pki_certs_from_pem(many.data, many.len, &all, &count, &err), -1);
		assert_non_null(strstr(err.msg, "too many"));
		moat_buf_free(&many);
	}

	pki_cert_info_clear(&a);
	moat_buf_free(&pem);
	moat_buf_free(&der);
	moat_buf_free(&bundle);
	chain_free(&c);
	pki_cert_free(NULL);
	pki_certs_free(NULL, 0);
}

/* pki/ossl.h: the accessors lend the objects inside (the same ones, not
 * copies); pki_cert_from_x509 takes a reference of its own, so the new
 * certificate outlives the one it came from (ASan sees it if it does not);
 * pki_key_is_private tells a key from a public key alone. */
static void test_ossl_door(void **state)
{
	struct moat_err err = {0};
	struct chain c;
	struct moat_name n = fx_name("door.example");
	struct pki_cert *copy;
	struct pki_key *pub;
	struct pki_cert_info a, b;

	(void)state;
	make_cas(&c, PKI_KEY_EC_P256, NULL, 0);
	c.leaf_key = fx_key(PKI_KEY_EC_P256);
	c.leaf = build_ok(PKI_PROFILE_LEAF, "door.example", &n, 1, NULL, 0, c.leaf_key, c.inter,
			  c.int_key);
	assert_non_null(pki_cert_x509(c.leaf));
	assert_ptr_equal(pki_cert_x509(c.leaf), pki_cert_x509(c.leaf));
	assert_int_equal(pki_cert_info(c.leaf, &a, &err), 0);

	copy = pki_cert_from_x509(pki_cert_x509(c.leaf), &err);
	assert_non_null(copy);
	assert_ptr_equal(pki_cert_x509(copy), pki_cert_x509(c.leaf));
	pki_cert_free(c.leaf);
	c.leaf = NULL;
	assert_int_equal(pki_cert_info(copy, &b, &err), 0);
	assert_string_equal(a.sha256, b.sha256);
	assert_true(pki_cert_signed_by(copy, c.inter));
	pki_cert_info_clear(&b);
	pki_cert_info_clear(&a);

	assert_null(pki_cert_from_x509(NULL, &err));
	assert_non_null(strstr(err.msg, "no certificate"));

	pub = pki_cert_pubkey(copy, &err);
	assert_non_null(pub);
	assert_true(pki_key_is_private(c.leaf_key));
	assert_false(pki_key_is_private(pub));
	assert_false(pki_key_is_private(NULL));
	assert_non_null(pki_key_evp(c.leaf_key));
	assert_int_equal(EVP_PKEY_eq(pki_key_evp(c.leaf_key), pki_key_evp(pub)), 1);
	assert_true(pki_key_matches_cert(c.leaf_key, copy));
	pki_key_free(pub);
	pki_cert_free(copy);
	chain_free(&c);
}

static int count_cert(const struct pki_cert *c, void *arg)
{
	size_t *n = arg;

	assert_non_null(c);
	return ++*n == 150; /* stop at the 150th */
}

static int count_all(const struct pki_cert *c, void *arg)
{
	(void)c;
	++*(size_t *)arg;
	return 0;
}

/* A trusted bundle of any size, walked whole (pki_certs_from_pem stops at
 * PKI_MAX_OBJECTS); the callback can stop it; a malformed block fails. */
static void test_pem_each(void **state)
{
	struct moat_err err = {0};
	struct chain c;
	struct moat_buf bundle = MOAT_BUF_INIT;
	size_t n = 0;
	static const char bad[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";

	(void)state;
	make_cas(&c, PKI_KEY_EC_P256, NULL, 0);
	for (int i = 0; i < 200; i++) {
		assert_int_equal(pki_cert_to_pem(i % 2 ? c.root : c.inter, &bundle, &err), 0);
		if (i == 7)
			moat_buf_puts(&bundle, "-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n");
	}
	assert_int_equal(pki_pem_each_cert(bundle.data, bundle.len, count_all, &n, &err), 0);
	assert_int_equal(n, 200);
	n = 0;
	assert_int_equal(pki_pem_each_cert(bundle.data, bundle.len, count_cert, &n, &err), 0);
	assert_int_equal(n, 150);
	moat_buf_puts(&bundle, bad);
	n = 0;
	assert_int_equal(pki_pem_each_cert(bundle.data, bundle.len, count_all, &n, &err), -1);
	assert_int_equal(n, 200);
	assert_non_null(strstr(err.msg, "malformed"));
	n = 0;
	assert_int_equal(pki_pem_each_cert("no pem here", 11, count_all, &n, &err), 0);
	assert_int_equal(n, 0);
	moat_buf_free(&bundle);
	chain_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pem_each),
		cmocka_unit_test(test_chain_ec_p256),
		cmocka_unit_test(test_chain_ec_p384),
		cmocka_unit_test(test_chain_rsa),
		cmocka_unit_test(test_chain_ed25519),
		cmocka_unit_test(test_mixed_types),
		cmocka_unit_test(test_name_constraints),
		cmocka_unit_test(test_only_dns_permits_exclude_ips),
		cmocka_unit_test(test_only_ip_permits_exclude_dns),
		cmocka_unit_test(test_parsed_permits),
		cmocka_unit_test(test_ip_common_name_pitfall),
		cmocka_unit_test(test_verify_failures),
		cmocka_unit_test(test_build_errors),
		cmocka_unit_test(test_client_auth),
		cmocka_unit_test(test_io),
		cmocka_unit_test(test_ossl_door),
	};

	now = (int64_t)time(NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
