/* test_check.c: the check module's pure parts: what a target names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "check/check.h"

static void ok(const char *in, enum check_scheme scheme, const char *host, unsigned port,
	       bool port_given, const char *path)
{
	struct check_target t;
	struct moat_err err;

	moat_err_clear(&err);
	if (check_target_parse(in, &t, &err) != 0)
		fail_msg("%s: %s", in, err.msg);
	assert_int_equal(t.scheme, scheme);
	assert_string_equal(t.host, host);
	assert_int_equal(t.port, port);
	assert_int_equal(t.port_given, port_given);
	assert_string_equal(t.path, path);
}

static void bad(const char *in, const char *why)
{
	struct check_target t;
	struct moat_err err;

	moat_err_clear(&err);
	assert_int_equal(check_target_parse(in, &t, &err), -1);
	if (strstr(err.msg, why) == NULL)
		fail_msg("%s: \"%s\" does not say \"%s\"", in, err.msg, why);
	assert_non_null(strstr(err.hint, "https://"));
}

static void test_targets(void **state)
{
	(void)state;
	ok("example.com", CHECK_SCHEME_NONE, "example.com", 443, false, "/");
	ok("Example.COM.", CHECK_SCHEME_NONE, "example.com", 443, false, "/");
	ok("example.com:8443", CHECK_SCHEME_NONE, "example.com", 8443, true, "/");
	ok("https://chat.example.com", CHECK_SCHEME_HTTPS, "chat.example.com", 443, false, "/");
	ok("HTTPS://chat.example.com:3443/hook?x=1#frag", CHECK_SCHEME_HTTPS, "chat.example.com",
	   3443, true, "/hook?x=1");
	ok("https://h.test?q", CHECK_SCHEME_HTTPS, "h.test", 443, false, "/?q");
	ok("http://h.test", CHECK_SCHEME_HTTP, "h.test", 80, false, "/");
	ok("127.0.0.1:4433", CHECK_SCHEME_NONE, "127.0.0.1", 4433, true, "/");
	ok("[::1]:4433", CHECK_SCHEME_NONE, "::1", 4433, true, "/");
	ok("https://[2001:db8::1]/x", CHECK_SCHEME_HTTPS, "2001:db8::1", 443, false, "/x");
	ok("::1", CHECK_SCHEME_NONE, "::1", 443, false, "/");
	ok("localhost", CHECK_SCHEME_NONE, "localhost", 443, false, "/");
}

static void test_bad_targets(void **state)
{
	(void)state;
	bad("ftp://example.com", "only https://");
	bad("https://", "no host");
	bad(":443", "no host");
	bad("example.com:0", "port");
	bad("example.com:65536", "port");
	bad("example.com:44a", "port");
	bad("example.com:", "port");
	bad("https://user@example.com/", "user names");
	bad("[::1", "missing ']'");
	bad("[example.com]:443", "IPv6");
	bad("[::1]x", "unexpected text");
	bad("exa mple.com", "not a valid host");
	bad("*.example.com", "not a valid host");
	bad("-bad.example.com", "not a valid host");
}

static void test_long_target(void **state)
{
	char buf[CHECK_PATH_MAX + 10];

	(void)state;
	memset(buf, 'a', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	bad(buf, "too long");
	/* a host longer than DNS allows */
	memset(buf, 'a', 300);
	buf[300] = '\0';
	bad(buf, "too long");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_bad_targets),
		cmocka_unit_test(test_long_target),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
