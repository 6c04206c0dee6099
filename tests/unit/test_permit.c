/* Unit tests for src/core/permit.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/permit.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct moat_permit permit(const char *in)
{
	struct moat_permit p;
	struct moat_err err;

	moat_err_clear(&err);
	if (moat_permit_parse(in, &p, &err) != 0)
		fail_msg("permit \"%s\" refused: %s", in, err.msg);
	return p;
}

static struct moat_name name(const char *in)
{
	struct moat_name n;
	struct moat_err err;

	moat_err_clear(&err);
	if (moat_name_parse(in, &n, &err) != 0)
		fail_msg("name \"%s\" refused: %s", in, err.msg);
	return n;
}

/* ---- parsing ---------------------------------------------------------------- */

struct good {
	const char *in;
	enum moat_permit_type type;
	const char *text;
	unsigned prefix;
	size_t iplen;
	unsigned char mask[4]; /* first bytes of the mask, IP only */
};

static const struct good goods[] = {
	{"home.example", MOAT_PERMIT_DNS, "home.example", 0, 0, {0}},
	{"HOME.Example.", MOAT_PERMIT_DNS, "home.example", 0, 0, {0}},
	{".local", MOAT_PERMIT_DNS, ".local", 0, 0, {0}},
	{".Home.Example", MOAT_PERMIT_DNS, ".home.example", 0, 0, {0}},
	{"local", MOAT_PERMIT_DNS, "local", 0, 0, {0}},
	{"xn--bcher-kva.example", MOAT_PERMIT_DNS, "xn--bcher-kva.example", 0, 0, {0}},
	{"192.168.0.0/16", MOAT_PERMIT_IP, "192.168.0.0/16", 16, 4, {0xff, 0xff, 0, 0}},
	{"172.16.0.0/12", MOAT_PERMIT_IP, "172.16.0.0/12", 12, 4, {0xff, 0xf0, 0, 0}},
	{"10.0.0.0/8", MOAT_PERMIT_IP, "10.0.0.0/8", 8, 4, {0xff, 0, 0, 0}},
	{"10.0.0.1", MOAT_PERMIT_IP, "10.0.0.1/32", 32, 4, {0xff, 0xff, 0xff, 0xff}},
	{"10.0.0.1/32", MOAT_PERMIT_IP, "10.0.0.1/32", 32, 4, {0xff, 0xff, 0xff, 0xff}},
	{"10.0.0.0/31", MOAT_PERMIT_IP, "10.0.0.0/31", 31, 4, {0xff, 0xff, 0xff, 0xfe}},
	{"0.0.0.0/0", MOAT_PERMIT_IP, "0.0.0.0/0", 0, 4, {0, 0, 0, 0}},
	{"128.0.0.0/1", MOAT_PERMIT_IP, "128.0.0.0/1", 1, 4, {0x80, 0, 0, 0}},
	{"fd00::/8", MOAT_PERMIT_IP, "fd00::/8", 8, 16, {0xff, 0, 0, 0}},
	{"FD00:0::/16", MOAT_PERMIT_IP, "fd00::/16", 16, 16, {0xff, 0xff, 0, 0}},
	{"2001:db8::/32", MOAT_PERMIT_IP, "2001:db8::/32", 32, 16, {0xff, 0xff, 0xff, 0xff}},
	{"::1", MOAT_PERMIT_IP, "::1/128", 128, 16, {0xff, 0xff, 0xff, 0xff}},
	{"[fd00::]/8", MOAT_PERMIT_IP, "fd00::/8", 8, 16, {0xff, 0, 0, 0}},
	{"::/0", MOAT_PERMIT_IP, "::/0", 0, 16, {0, 0, 0, 0}},
};

static void test_parse_good(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(goods); i++) {
		struct moat_permit p = permit(goods[i].in), again;

		assert_int_equal(p.type, goods[i].type);
		assert_string_equal(p.text, goods[i].text);
		if (p.type == MOAT_PERMIT_DNS) {
			assert_string_equal(p.dns, goods[i].text);
			assert_int_equal(p.iplen, 0);
		} else {
			assert_int_equal(p.iplen, goods[i].iplen);
			assert_int_equal(p.prefix, goods[i].prefix);
			assert_memory_equal(p.mask, goods[i].mask, 4);
			assert_string_equal(p.dns, "");
		}
		/* The text form parses back to the same permit (the CA stores it). */
		again = permit(p.text);
		assert_string_equal(again.text, p.text);
		assert_int_equal(again.prefix, p.prefix);
		assert_memory_equal(again.ip, p.ip, sizeof(p.ip));
		assert_memory_equal(again.mask, p.mask, sizeof(p.mask));
	}
}

static void test_parse_masks_v6(void **state)
{
	struct moat_permit p;
	static const unsigned char m65[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x80};
	static const unsigned char full[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

	(void)state;
	p = permit("2001:db8:1:2:8000::/65");
	assert_memory_equal(p.mask, m65, 16);
	p = permit("2001:db8::1");
	assert_memory_equal(p.mask, full, 16);
	assert_int_equal(p.prefix, 128);
}

struct bad {
	const char *in;
	const char *part;
	const char *hint; /* or NULL */
};

static const struct bad bads[] = {
	{"192.168.1.0/16", "host bits are set; did you mean 192.168.0.0/16?", "192.168.0.0/16"},
	{"10.0.0.1/8", "did you mean 10.0.0.0/8?", NULL},
	{"10.0.0.1/31", "did you mean 10.0.0.0/31?", NULL},
	{"fd00::1/8", "host bits are set; did you mean fd00::/8?", NULL},
	{"2001:db8::/28", "did you mean 2001:db0::/28?", NULL},
	{"10.0.0.0/33", "prefix length 33 is out of range for IPv4 (0-32)", NULL},
	{"fd00::/129", "prefix length 129 is out of range for IPv6 (0-128)", NULL},
	{"10.0.0.0/", "prefix length after '/' is missing", NULL},
	{"10.0.0.0/abc", "\"abc\" is not a number", NULL},
	{"10.0.0.0/-1", "\"-1\" is not a number", NULL},
	{"10.0.0.0/08", "\"08\" is not a number", NULL},
	{"10.0.0.0/1234", "\"1234\" is not a number", NULL},
	{"10.0.0.0/8/8", "not a number", NULL},
	{"/8", "address before '/' is missing", NULL},
	{"10.0.0.256/24", "octet \"256\" is greater than 255", NULL},
	{"10.0.0.01", "leading zero", NULL},
	{"1.2.3.4.5", "not an IPv4 address (5 parts)", NULL},
	{"fe80::1%eth0/64", "zone ids", NULL},
	{"example.com/24", "\"example.com\" before '/' is not an IP address", NULL},
	{"*.example.com", "a wildcard cannot be a constraint", "\"home.example\" allows"},
	{"*.com", "a wildcard cannot be a constraint", NULL},
	{"*", "a wildcard cannot be a constraint", NULL},
	{"https://home.example", "looks like a URL", NULL},
	{".*.example.com", "wildcard", NULL},
	{"exa mple.com", "invalid permit \"exa mple.com\": ' ' is not allowed in a DNS name", NULL},
	{"under_score.example", "'_' is not allowed", "underscore"},
	{"-foo.example", "label \"-foo\" starts with a hyphen", NULL},
	{"foo..example", "empty label", NULL},
	{"..local", "empty label", NULL},
	{".", "a domain is needed after '.'", NULL},
	{".1.2.3.4", "an IP address cannot follow '.'", NULL},
	{"b\xc3\xbc"
	 "cher.example",
	 "invalid permit \"b\\xc3\\xbccher.example\": non-ASCII", "xn--"},
	{"", "invalid permit \"\": empty", NULL},
	{"example.com:443", "port number", NULL},
};

static void test_parse_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(bads); i++) {
		struct moat_permit p;
		struct moat_err err;

		moat_err_clear(&err);
		if (moat_permit_parse(bads[i].in, &p, &err) == 0)
			fail_msg("permit \"%s\" accepted as \"%s\"", bads[i].in, p.text);
		assert_non_null(strstr(err.msg, "invalid permit \""));
		assert_null(strstr(err.msg, "invalid name"));
		if (strstr(err.msg, bads[i].part) == NULL)
			fail_msg("\"%s\": message \"%s\" lacks \"%s\"", bads[i].in, err.msg,
				 bads[i].part);
		if (bads[i].hint != NULL && strstr(err.hint, bads[i].hint) == NULL)
			fail_msg("\"%s\": hint \"%s\" lacks \"%s\"", bads[i].in, err.hint,
				 bads[i].hint);
		assert_int_equal(moat_permit_parse(bads[i].in, &p, NULL), -1);
	}
}

/* ---- matching ------------------------------------------------------------------ */

struct match {
	const char *permit;
	const char *name;
	bool match;
};

static const struct match matches[] = {
	/* DNS subtree: the name itself and everything below, on label boundaries. */
	{"home.example", "home.example", true},
	{"home.example", "a.home.example", true},
	{"home.example", "a.b.home.example", true},
	{"home.example", "HOME.EXAMPLE", true},
	{"home.example", "*.home.example", true},
	{"home.example", "*.a.home.example", true},
	{"home.example", "xhome.example", false},
	{"home.example", "example", false},
	{"home.example", "home.example.com", false},
	{"home.example", "ome.example", false},
	{"HOME.example", "a.home.example", true},
	/* Leading dot: strictly below. */
	{".local", "a.local", true},
	{".local", "a.b.local", true},
	{".local", "printer.local", true},
	{".local", "*.printer.local", true},
	{".local", "local", false},
	{".local", "xlocal", false},
	{".local", "local.example", false},
	{".home.example", "home.example", false},
	{".home.example", "a.home.example", true},
	/* A wildcard is covered only when a name it stands for would be. */
	{"a.home.example", "*.home.example", false},
	{"home.example", "*.b.example", false},
	{"local", "local", true},
	{"local", "printer.local", true},
	/* DNS permits never cover IPs. */
	{"home.example", "192.168.1.1", false},
	{"home.example", "::1", false},
	/* IPv4 ranges, edges included. */
	{"192.168.0.0/16", "192.168.0.0", true},
	{"192.168.0.0/16", "192.168.1.10", true},
	{"192.168.0.0/16", "192.168.255.255", true},
	{"192.168.0.0/16", "192.169.0.0", false},
	{"192.168.0.0/16", "192.167.255.255", false},
	{"192.168.0.0/16", "::ffff:192.168.1.1", false},
	{"192.168.0.0/16", "home.example", false},
	{"172.16.0.0/12", "172.16.0.0", true},
	{"172.16.0.0/12", "172.31.255.255", true},
	{"172.16.0.0/12", "172.32.0.0", false},
	{"172.16.0.0/12", "172.15.255.255", false},
	{"10.0.0.0/31", "10.0.0.0", true},
	{"10.0.0.0/31", "10.0.0.1", true},
	{"10.0.0.0/31", "10.0.0.2", false},
	{"10.0.0.1", "10.0.0.1", true},
	{"10.0.0.1", "10.0.0.2", false},
	{"10.0.0.1", "10.0.0.0", false},
	{"0.0.0.0/0", "1.2.3.4", true},
	{"0.0.0.0/0", "255.255.255.255", true},
	{"0.0.0.0/0", "::1", false},
	{"128.0.0.0/1", "127.255.255.255", false},
	{"128.0.0.0/1", "128.0.0.0", true},
	/* IPv6 ranges. */
	{"fd00::/8", "fd00::1", true},
	{"fd00::/8", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true},
	{"fd00::/8", "fe00::1", false},
	{"fd00::/8", "fc00::1", false},
	{"fd00::/8", "10.0.0.1", false},
	{"2001:db8::/32", "2001:db8:ffff::1", true},
	{"2001:db8::/32", "2001:db9::", false},
	{"2001:db8::/127", "2001:db8::1", true},
	{"2001:db8::/127", "2001:db8::2", false},
	{"2001:db8:1:2:8000::/65", "2001:db8:1:2:ffff::1", true},
	{"2001:db8:1:2:8000::/65", "2001:db8:1:2:7fff::1", false},
	{"::1", "::1", true},
	{"::1", "::2", false},
	{"::/0", "fe80::1", true},
	{"::/0", "0.0.0.0", false},
};

static void test_match(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(matches); i++) {
		struct moat_permit p = permit(matches[i].permit);
		struct moat_name n = name(matches[i].name);

		if (moat_permit_match(&p, &n) != matches[i].match)
			fail_msg("permit \"%s\" %s \"%s\"", matches[i].permit,
				 matches[i].match ? "should cover" : "should not cover",
				 matches[i].name);
	}
}

/* Structures built by hand (e.g. from a certificate) match case-insensitively. */
static void test_match_case(void **state)
{
	struct moat_permit p;
	struct moat_name n = name("a.home.example");

	(void)state;
	memset(&p, 0, sizeof(p));
	p.type = MOAT_PERMIT_DNS;
	strcpy(p.dns, "Home.EXAMPLE");
	assert_true(moat_permit_match(&p, &n));
	strcpy(p.dns, ".HOME.example");
	assert_true(moat_permit_match(&p, &n));
	strcpy(p.dns, "A.Home.Example");
	assert_true(moat_permit_match(&p, &n));
	strcpy(p.dns, ".A.Home.Example");
	assert_false(moat_permit_match(&p, &n));
}

/* ---- sets -------------------------------------------------------------------------- */

struct allow {
	const char *name;
	bool strict;
	bool loose;
};

static void check_set(const char *const *perm, size_t np, const struct allow *t, size_t nt)
{
	struct moat_permit p[8];

	for (size_t i = 0; i < np; i++)
		p[i] = permit(perm[i]);
	for (size_t i = 0; i < nt; i++) {
		struct moat_name n = name(t[i].name);

		if (moat_permits_allow(p, np, true, &n) != t[i].strict)
			fail_msg("strict: \"%s\" should be %s (set of %zu, first \"%s\")", t[i].name,
				 t[i].strict ? "allowed" : "refused", np, np ? perm[0] : "");
		if (moat_permits_allow(p, np, false, &n) != t[i].loose)
			fail_msg("non-strict: \"%s\" should be %s (set of %zu, first \"%s\")",
				 t[i].name, t[i].loose ? "allowed" : "refused", np,
				 np ? perm[0] : "");
	}
}

static void test_allow_empty_set(void **state)
{
	static const struct allow t[] = {
		{"example.com", true, true},
		{"*.example.com", true, true},
		{"10.0.0.1", true, true},
		{"::1", true, true},
	};

	(void)state;
	check_set(NULL, 0, t, N(t));
}

static void test_allow_dns_only(void **state)
{
	static const char *const perm[] = {".local", "home.example"};
	static const struct allow t[] = {
		{"printer.local", true, true},
		{"a.b.local", true, true},
		{"local", false, false},
		{"home.example", true, true},
		{"nas.home.example", true, true},
		{"*.home.example", true, true},
		{"example.com", false, false},
		{"xhome.example", false, false},
		/* No IP permit: excluded when strict, allowed otherwise. */
		{"192.168.1.1", false, true},
		{"::1", false, true},
	};

	(void)state;
	check_set(perm, N(perm), t, N(t));
}

static void test_allow_ip_only(void **state)
{
	static const char *const perm[] = {"192.168.0.0/16"};
	static const struct allow t[] = {
		{"192.168.1.1", true, true},
		{"10.0.0.1", false, false},
		/* IPv6 is the same kind (iPAddress) as IPv4: not covered, refused. */
		{"::1", false, false},
		{"a.local", false, true},
		{"*.example.com", false, true},
	};

	(void)state;
	check_set(perm, N(perm), t, N(t));
}

static void test_allow_mixed(void **state)
{
	static const char *const perm[] = {".local", "10.0.0.0/8", "fd00::/8", "home.example"};
	static const struct allow t[] = {
		{"10.1.1.1", true, true},     {"11.0.0.1", false, false},
		{"fd12::1", true, true},      {"fe80::1", false, false},
		{"a.local", true, true},      {"b.example", false, false},
		{"home.example", true, true}, {"local", false, false},
	};

	(void)state;
	check_set(perm, N(perm), t, N(t));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_masks_v6),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_match_case),
		cmocka_unit_test(test_allow_empty_set),
		cmocka_unit_test(test_allow_dns_only),
		cmocka_unit_test(test_allow_ip_only),
		cmocka_unit_test(test_allow_mixed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
