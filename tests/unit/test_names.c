/* Unit tests for src/core/names.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/names.h"

static char *repeat(char c, size_t n)
{
	static char buf[1024];

	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

/* ---- valid names ------------------------------------------------------- */

struct good {
	const char *in;
	enum moat_name_type type;
	const char *text;
};

static const struct good goods[] = {
	{"example.com", MOAT_NAME_DNS, "example.com"},
	{"EXAMPLE.Com", MOAT_NAME_DNS, "example.com"},
	{"example.com.", MOAT_NAME_DNS, "example.com"},
	{"localhost", MOAT_NAME_DNS, "localhost"},
	{"LocalHost.", MOAT_NAME_DNS, "localhost"},
	{"printer.local", MOAT_NAME_DNS, "printer.local"},
	{"rocketchat.home.example", MOAT_NAME_DNS, "rocketchat.home.example"},
	{"xn--bcher-kva.example", MOAT_NAME_DNS, "xn--bcher-kva.example"},
	{"a-b.c-d.example", MOAT_NAME_DNS, "a-b.c-d.example"},
	{"123.example.com", MOAT_NAME_DNS, "123.example.com"},
	{"1a.example", MOAT_NAME_DNS, "1a.example"},
	{"example.1a", MOAT_NAME_DNS, "example.1a"},
	{"a", MOAT_NAME_DNS, "a"},
	{"*.example.com", MOAT_NAME_WILDCARD, "*.example.com"},
	{"*.Home.Example.", MOAT_NAME_WILDCARD, "*.home.example"},
	{"*.a.b.c", MOAT_NAME_WILDCARD, "*.a.b.c"},
	{"192.168.1.10", MOAT_NAME_IPV4, "192.168.1.10"},
	{"0.0.0.0", MOAT_NAME_IPV4, "0.0.0.0"},
	{"255.255.255.255", MOAT_NAME_IPV4, "255.255.255.255"},
	{"10.0.0.1", MOAT_NAME_IPV4, "10.0.0.1"},
	{"::1", MOAT_NAME_IPV6, "::1"},
	{"[::1]", MOAT_NAME_IPV6, "::1"},
	{"[fe80::1]", MOAT_NAME_IPV6, "fe80::1"},
	{"fd00::10", MOAT_NAME_IPV6, "fd00::10"},
	{"FE80:0:0:0:0:0:0:1", MOAT_NAME_IPV6, "fe80::1"},
	{"2001:0db8:0000:0000:0000:0000:0000:0001", MOAT_NAME_IPV6, "2001:db8::1"},
	{"2001:db8:0:0:1:0:0:1", MOAT_NAME_IPV6, "2001:db8::1:0:0:1"},
	{"2001:db8::0:1", MOAT_NAME_IPV6, "2001:db8::1"},
	{"::", MOAT_NAME_IPV6, "::"},
	{"::ffff:192.0.2.1", MOAT_NAME_IPV6, "::ffff:192.0.2.1"},
	{"64:ff9b::192.0.2.33", MOAT_NAME_IPV6, "64:ff9b::c000:221"},
};

static void test_good_names(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
		struct moat_name n;
		struct moat_err err;

		moat_err_clear(&err);
		memset(&n, 0xa5, sizeof(n));
		if (moat_name_parse(goods[i].in, &n, &err) != 0)
			fail_msg("\"%s\" refused: %s", goods[i].in, err.msg);
		assert_false(moat_err_isset(&err));
		assert_int_equal(n.type, goods[i].type);
		assert_string_equal(n.text, goods[i].text);
		switch (n.type) {
		case MOAT_NAME_IPV4:
			assert_int_equal(n.iplen, 4);
			break;
		case MOAT_NAME_IPV6:
			assert_int_equal(n.iplen, 16);
			break;
		default:
			assert_int_equal(n.iplen, 0);
		}
		/* The normalised text parses to itself. */
		{
			struct moat_name again;
			assert_int_equal(moat_name_parse(n.text, &again, NULL), 0);
			assert_string_equal(again.text, n.text);
			assert_int_equal(again.type, n.type);
		}
	}
}

static void test_ip_bytes(void **state)
{
	struct moat_name n;
	static const unsigned char v4[4] = {192, 168, 1, 10};
	static const unsigned char v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
					     0,    0,    0,    0,    0, 0, 0, 1};

	(void)state;
	assert_int_equal(moat_name_parse("192.168.1.10", &n, NULL), 0);
	assert_memory_equal(n.ip, v4, 4);
	assert_int_equal(moat_name_parse("[2001:DB8::1]", &n, NULL), 0);
	assert_memory_equal(n.ip, v6, 16);
	assert_true(moat_name_is_ip(&n));
	assert_int_equal(moat_name_parse("example.com", &n, NULL), 0);
	assert_false(moat_name_is_ip(&n));
}

/* Join labels of the given lengths ('a', 'b', ... repeated) with dots. */
static void make_name(char *out, const char *prefix, const size_t *lens, size_t k)
{
	size_t o = strlen(prefix);

	memcpy(out, prefix, o);
	for (size_t i = 0; i < k; i++) {
		if (i > 0)
			out[o++] = '.';
		memset(out + o, 'a' + (int)i, lens[i]);
		o += lens[i];
	}
	out[o] = '\0';
}

static void test_length_limits(void **state)
{
	char name[600];
	struct moat_name n;
	struct moat_err err;
	static const size_t l63[] = {63, 7};
	static const size_t l253[] = {63, 63, 63, 61};
	static const size_t l254[] = {63, 63, 63, 62};
	static const size_t w253[] = {63, 63, 63, 59};

	(void)state;
	/* A 63-octet label is fine. */
	make_name(name, "", l63, 2);
	assert_int_equal(moat_name_parse(name, &n, NULL), 0);
	assert_string_equal(n.text, name);

	/* 253 octets in all. */
	make_name(name, "", l253, 4);
	assert_int_equal(strlen(name), 253);
	moat_err_clear(&err);
	if (moat_name_parse(name, &n, &err) != 0)
		fail_msg("%s", err.msg);
	/* ... and with a trailing dot it is still 253. */
	strcat(name, ".");
	assert_int_equal(moat_name_parse(name, &n, &err), 0);
	assert_int_equal(strlen(n.text), 253);

	/* 254 is too long. */
	make_name(name, "", l254, 4);
	assert_int_equal(strlen(name), 254);
	moat_err_clear(&err);
	assert_int_equal(moat_name_parse(name, &n, &err), -1);
	assert_non_null(strstr(err.msg, "is 254 characters long (at most 253)"));

	/* A wildcard counts its "*." too. */
	make_name(name, "*.", w253, 4);
	assert_int_equal(strlen(name), 253);
	assert_int_equal(moat_name_parse(name, &n, NULL), 0);
	assert_int_equal(n.type, MOAT_NAME_WILDCARD);
	assert_string_equal(n.text, name);
	strcat(name, "d");
	assert_int_equal(moat_name_parse(name, &n, NULL), -1);

	/* Very long input of every kind fails cleanly. */
	assert_int_equal(moat_name_parse(repeat('a', 1000), &n, &err), -1);
	assert_int_equal(moat_name_parse(repeat(':', 1000), &n, &err), -1);
	assert_int_equal(moat_name_parse(repeat('1', 1000), &n, &err), -1);
	assert_true(strlen(err.msg) < sizeof(err.msg));
}

/* ---- invalid names ------------------------------------------------------ */

struct bad {
	const char *in;
	const char *msg;  /* whole message, or NULL */
	const char *part; /* must appear in the message (the offending piece) */
	const char *hint; /* must appear in the hint, or NULL */
};

static const struct bad bads[] = {
	{"exa mple.com",
	 "invalid name \"exa mple.com\": ' ' is not allowed in a DNS name (letters, digits, '-' "
	 "and '.' only)",
	 "' '", NULL},
	{"-foo.com", "invalid name \"-foo.com\": label \"-foo\" starts with a hyphen", "\"-foo\"",
	 NULL},
	{"foo-.com", "invalid name \"foo-.com\": label \"foo-\" ends with a hyphen", "\"foo-\"",
	 NULL},
	{"a.-b.example", NULL, "label \"-b\" starts with a hyphen", NULL},
	{"foo..com", "invalid name \"foo..com\": empty label", "empty label", NULL},
	{".foo.com", NULL, "empty label", NULL},
	{".", NULL, "empty label", NULL},
	{"foo.com..", NULL, "empty label", NULL},
	{"1.2.3.4.5",
	 "invalid name \"1.2.3.4.5\": not an IPv4 address (5 parts) and a DNS name cannot end in "
	 "a numeric label",
	 "5 parts", NULL},
	{"1.2.3", NULL, "not an IPv4 address (3 parts)", NULL},
	{"1234", NULL, "not an IPv4 address (1 part)", NULL},
	{"foo.123", NULL, "cannot end in a numeric label (\"123\")", NULL},
	{"example.0x1f", NULL, "numeric label (\"0x1f\")", NULL},
	{"*.1.2.3", NULL, "numeric label (\"3\")", NULL},
	{"f*.example.com", NULL, "'*' is only allowed as the whole leftmost label", NULL},
	{"a.*.example.com", NULL, "'*' is only allowed as the whole leftmost label", NULL},
	{"*.*.example.com", NULL, "'*' is only allowed as the whole leftmost label", NULL},
	{"**.example.com", NULL, "'*' is only allowed", NULL},
	{"*.com", "invalid name \"*.com\": a wildcard needs at least two labels after \"*\"",
	 "two labels", "top-level domain"},
	{"*.local", NULL, "at least two labels after \"*\"", "top-level domain"},
	{"*", NULL, "at least two labels after \"*\"", "top-level domain"},
	{"*.", NULL, "at least two labels after \"*\"", NULL},
	{"fe80::1%eth0", NULL, "zone ids (\"%eth0\")", "%zone"},
	{"[fe80::1%eth0]", NULL, "zone ids (\"%eth0\")", NULL},
	{"192.168.01.1", NULL, "octet \"01\" has a leading zero", "leading zeros"},
	{"010.1.1.1", NULL, "octet \"010\" has a leading zero", NULL},
	{"256.1.1.1", NULL, "octet \"256\" is greater than 255", NULL},
	{"1.2.3.1000", NULL, "octet \"1000\" is greater than 255", NULL},
	{"1.2..3", NULL, "part 3 is empty", NULL},
	{"under_score.com",
	 "invalid name \"under_score.com\": '_' is not allowed in a host name (letters, digits, "
	 "'-' and '.' only)",
	 "'_'", "underscore"},
	{"_acme-challenge.example.com", NULL, "'_' is not allowed", NULL},
	{"b\xc3\xbc"
	 "cher.example",
	 NULL, "invalid name \"b\\xc3\\xbccher.example\": non-ASCII", "xn--"},
	{"", "invalid name \"\": empty name", "empty", NULL},
	{"example.com:443", NULL, "port number", ":port"},
	{"[::1]:443", NULL, "port number", NULL},
	{"1.2.3.4:80", NULL, "port number", NULL},
	{"https://example.com", NULL, "looks like a URL", "host name only"},
	{"[1.2.3.4]", NULL, "brackets are only used around IPv6", NULL},
	{"[::1", NULL, "brackets are only used around IPv6", NULL},
	{"[]", NULL, "brackets", NULL},
	{"1:2:3", NULL, "not a valid IPv6 address", NULL},
	{"1::2::3", NULL, "not a valid IPv6 address", NULL},
	{"::ffff:1.2.3.256", NULL, "not a valid IPv6 address", NULL},
	{"12345::1", NULL, "not a valid IPv6 address", NULL},
	{"exa\tmple.com", "invalid name \"exa\\x09mple.com\": '\\x09' is not allowed in a DNS name "
			  "(letters, digits, '-' and '.' only)",
	 "\\x09", NULL},
	{"a\"b.com", NULL, "invalid name \"a\\x22b.com\": '\\x22' is not allowed", NULL},
	{"example.com/path", NULL, "'/' is not allowed", NULL},
	{"exa!mple.com", NULL, "'!' is not allowed", NULL},
	{"user@example.com", NULL, "'@' is not allowed", NULL},
};

static void test_bad_names(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		struct moat_name n;
		struct moat_err err;

		memset(&n, 0, sizeof(n));
		strcpy(n.text, "untouched");
		moat_err_clear(&err);
		if (moat_name_parse(bads[i].in, &n, &err) == 0)
			fail_msg("\"%s\" accepted as \"%s\"", bads[i].in, n.text);
		assert_true(moat_err_isset(&err));
		assert_string_equal(n.text, "untouched"); /* out untouched on failure */
		assert_non_null(strstr(err.msg, "invalid name \""));
		assert_null(strchr(err.msg, '\n'));
		if (bads[i].msg != NULL)
			assert_string_equal(err.msg, bads[i].msg);
		if (strstr(err.msg, bads[i].part) == NULL)
			fail_msg("\"%s\": message \"%s\" lacks \"%s\"", bads[i].in, err.msg,
				 bads[i].part);
		if (bads[i].hint != NULL && strstr(err.hint, bads[i].hint) == NULL)
			fail_msg("\"%s\": hint \"%s\" lacks \"%s\"", bads[i].in, err.hint,
				 bads[i].hint);
		/* Discarding the error is allowed. */
		assert_int_equal(moat_name_parse(bads[i].in, &n, NULL), -1);
	}
}

static void test_bad_label_lengths(void **state)
{
	char name[256];
	struct moat_err err;
	struct moat_name n;

	(void)state;
	static const size_t l64[] = {64, 7};
	static const size_t l70[] = {1, 70};
	static const size_t w64[] = {64, 7, 3};

	make_name(name, "", l64, 2);
	moat_err_clear(&err);
	assert_int_equal(moat_name_parse(name, &n, &err), -1);
	assert_non_null(strstr(err.msg, "is 64 characters long (at most 63)"));
	assert_non_null(strstr(err.msg, "label \"aaaaaaaaaaaaaaaaaaaa..."));

	make_name(name, "", l70, 2);
	moat_err_clear(&err);
	assert_int_equal(moat_name_parse(name, &n, &err), -1);
	assert_non_null(strstr(err.msg, "is 70 characters long"));

	make_name(name, "*.", w64, 3);
	assert_int_equal(moat_name_parse(name, &n, NULL), -1);
}

/* The escaped input in the message is bounded however long the input. */
static void test_message_bounded(void **state)
{
	struct moat_err err;
	struct moat_name n;
	char name[400];

	(void)state;
	memcpy(name, repeat('a', 300), 301);
	moat_err_clear(&err);
	assert_int_equal(moat_name_parse(name, &n, &err), -1);
	assert_non_null(strstr(err.msg, "...\": "));
	assert_non_null(strstr(err.msg, "is 300 characters long"));
	assert_true(strlen(err.msg) < 200);
}

/* ---- from_ip, helpers ---------------------------------------------------- */

static void test_from_ip(void **state)
{
	static const unsigned char v4[4] = {10, 1, 2, 3};
	static const unsigned char v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
					     0,    0,    0,    0,    0, 0, 0, 1};
	static const unsigned char mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4};
	struct moat_name n;
	struct moat_err err;

	(void)state;
	assert_int_equal(moat_name_from_ip(v4, 4, &n, NULL), 0);
	assert_int_equal(n.type, MOAT_NAME_IPV4);
	assert_string_equal(n.text, "10.1.2.3");
	assert_int_equal(n.iplen, 4);
	assert_memory_equal(n.ip, v4, 4);

	assert_int_equal(moat_name_from_ip(v6, 16, &n, NULL), 0);
	assert_int_equal(n.type, MOAT_NAME_IPV6);
	assert_string_equal(n.text, "2001:db8::1");
	assert_int_equal(n.iplen, 16);

	assert_int_equal(moat_name_from_ip(mapped, 16, &n, NULL), 0);
	assert_string_equal(n.text, "::ffff:1.2.3.4");

	moat_err_clear(&err);
	assert_int_equal(moat_name_from_ip(v6, 5, &n, &err), -1);
	assert_non_null(strstr(err.msg, "5 bytes"));
	assert_int_equal(moat_name_from_ip(v6, 0, &n, NULL), -1);
	assert_int_equal(moat_name_from_ip(v6, 8, &n, NULL), -1);
}

static void test_is_mdns(void **state)
{
	static const struct {
		const char *in;
		bool mdns;
	} t[] = {
		{"printer.local", true}, {"a.b.local", true},    {"*.printer.local", true},
		{"PRINTER.LOCAL.", true}, {"local", false},      {"example.com", false},
		{"localhost", false},     {"xlocal", false},     {"local.example", false},
		{"1.2.3.4", false},       {"fe80::1", false},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct moat_name n;
		assert_int_equal(moat_name_parse(t[i].in, &n, NULL), 0);
		if (moat_name_is_mdns(&n) != t[i].mdns)
			fail_msg("is_mdns(\"%s\") != %d", t[i].in, t[i].mdns);
	}
}

static void test_lineage(void **state)
{
	static const struct {
		const char *in;
		const char *dir;
	} t[] = {
		{"*.example.com", "_wildcard.example.com"},
		{"*.Home.Example", "_wildcard.home.example"},
		{"Example.com.", "example.com"},
		{"localhost", "localhost"},
		{"192.168.1.10", "192.168.1.10"},
		{"[::1]", "::1"},
		{"fd00::10", "fd00::10"},
	};
	char out[300];
	struct moat_name n;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(moat_name_parse(t[i].in, &n, NULL), 0);
		moat_name_lineage(&n, out, sizeof(out));
		assert_string_equal(out, t[i].dir);
	}
	/* Truncates safely. */
	assert_int_equal(moat_name_parse("*.example.com", &n, NULL), 0);
	memset(out, 'X', sizeof(out));
	moat_name_lineage(&n, out, 5);
	assert_string_equal(out, "_wil");
	assert_int_equal(out[5], 'X');
	moat_name_lineage(&n, out, 0);
	assert_int_equal(out[0], '_');
}

/* ---- lists ------------------------------------------------------------------ */

static void test_names_parse_dedup(void **state)
{
	const char *in[] = {"Example.com", "example.com.", "::1",         "0:0::1", "[::1]",
			    "localhost",   "*.example.com", "*.EXAMPLE.com", "10.0.0.1", "10.0.0.1"};
	struct moat_name *names = (struct moat_name *)1;
	size_t n = 99;
	struct moat_err err;

	(void)state;
	moat_err_clear(&err);
	assert_int_equal(moat_names_parse(in, sizeof(in) / sizeof(in[0]), &names, &n, &err), 0);
	assert_non_null(names);
	assert_int_equal(n, 5);
	assert_string_equal(names[0].text, "example.com");
	assert_string_equal(names[1].text, "::1");
	assert_string_equal(names[2].text, "localhost");
	assert_string_equal(names[3].text, "*.example.com");
	assert_int_equal(names[3].type, MOAT_NAME_WILDCARD);
	assert_string_equal(names[4].text, "10.0.0.1");
	free(names);

	/* IPv4 and IPv4-mapped IPv6 are different SAN entries. */
	{
		const char *in2[] = {"1.2.3.4", "::ffff:1.2.3.4"};
		assert_int_equal(moat_names_parse(in2, 2, &names, &n, NULL), 0);
		assert_int_equal(n, 2);
		free(names);
	}
}

static void test_names_parse_errors(void **state)
{
	const char *in[] = {"good.example", "exa mple.com", "-foo.com"};
	struct moat_name *names = (struct moat_name *)1;
	size_t n = 99;
	struct moat_err err;

	(void)state;
	moat_err_clear(&err);
	assert_int_equal(moat_names_parse(in, 3, &names, &n, &err), -1);
	assert_null(names);
	assert_int_equal(n, 0);
	/* The first bad one is reported. */
	assert_non_null(strstr(err.msg, "\"exa mple.com\""));

	names = (struct moat_name *)1;
	moat_err_clear(&err);
	assert_int_equal(moat_names_parse(in, 0, &names, &n, &err), -1);
	assert_null(names);
	assert_string_equal(err.msg, "no names given");

	assert_int_equal(moat_names_parse(in, 0, &names, &n, NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_names),
		cmocka_unit_test(test_ip_bytes),
		cmocka_unit_test(test_length_limits),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_bad_label_lengths),
		cmocka_unit_test(test_message_bounded),
		cmocka_unit_test(test_from_ip),
		cmocka_unit_test(test_is_mdns),
		cmocka_unit_test(test_lineage),
		cmocka_unit_test(test_names_parse_dedup),
		cmocka_unit_test(test_names_parse_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
