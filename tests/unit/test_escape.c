/* Unit tests for the escapes of untrusted text in src/core/err.c:
 * moat_escape (printable ASCII) and moat_utf8_escape (valid UTF-8, for
 * JSON logs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/err.h"

static void test_escape_ascii(void **state)
{
	char out[64];

	(void)state;
	moat_escape(out, sizeof(out), "a\"b\\c\xff\n", 7);
	assert_string_equal(out, "a\\x22b\\x5cc\\xff\\x0a");
}

/* Valid UTF-8 stays as it is; every byte that is not part of a valid
 * sequence becomes \xNN (overlong forms, surrogates, code points above
 * U+10FFFF, lone continuation bytes, a sequence cut short). */
static void test_utf8_escape(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"attacker\xff", "attacker\\xff"},
		{"caf\xc3\xa9", "caf\xc3\xa9"},
		{"\xe2\x82\xac 1", "\xe2\x82\xac 1"},
		{"\xf0\x9f\x94\x92", "\xf0\x9f\x94\x92"},
		{"\xc0\xaf", "\\xc0\\xaf"},             /* overlong "/" */
		{"\xe0\x80\xaf", "\\xe0\\x80\\xaf"},    /* overlong, 3 bytes */
		{"\xed\xa0\x80", "\\xed\\xa0\\x80"},    /* a surrogate */
		{"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"}, /* above U+10FFFF */
		{"\x80x", "\\x80x"},
		{"a\xc3", "a\\xc3"},                    /* cut short */
		{"a\\xff", "a\\xff"},                   /* the text itself, as it is */
		{"", ""},
	};
	char out[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		moat_utf8_escape(out, sizeof(out), cases[i].in, strlen(cases[i].in));
		if (strcmp(out, cases[i].out) != 0)
			fail_msg("case %zu: \"%s\"", i, out);
	}
}

/* Cut to fit, between characters, never inside one or inside an escape. */
static void test_utf8_escape_cut(void **state)
{
	char in[64], out[12];

	(void)state;
	for (size_t i = 0; i < 20; i++)
		memcpy(in + 2 * i, "\xc3\xa9", 2); /* e acute, 2 bytes each */
	moat_utf8_escape(out, sizeof(out), in, 40);
	assert_string_equal(out, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9...");
	memset(in, 0xff, 10);
	moat_utf8_escape(out, sizeof(out), in, 10);
	assert_string_equal(out, "\\xff\\xff...");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_ascii),
		cmocka_unit_test(test_utf8_escape),
		cmocka_unit_test(test_utf8_escape_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
