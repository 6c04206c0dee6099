/* test_parse.c: src/core/parse.c (numbers, durations, sizes, ports,
 * HOST:PORT as people type them) and src/core/addr.c (socket addresses as
 * text): every accepted form with its value, every refused form with the
 * message it gets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/addr.h"
#include "core/parse.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define DAY_MS (24LL * 3600 * 1000)

/* err.msg contains want (and no hint was set). */
static void says(const struct moat_err *err, const char *in, const char *want)
{
	if (strstr(err->msg, want) == NULL)
		fail_msg("\"%s\": message \"%s\" does not say \"%s\"", in, err->msg, want);
	if (err->hint[0] != '\0')
		fail_msg("\"%s\": a hint was set (\"%s\"): the caller's job", in, err->hint);
}

/* ---- numbers and ports ------------------------------------------------------- */

static void test_numbers(void **state)
{
	static const struct {
		const char *s;
		int64_t v;
	} ok[] = {{"0", 0}, {"7", 7}, {"256", 256}, {"0080", 80}};
	static const char *const bad[] = {"", "-1", "+1", " 1", "1 ", "1x", "0x10", "257",
					  "99999999999999999999999", "1.5"};
	struct moat_err err;
	int64_t v;

	(void)state;
	for (size_t i = 0; i < N(ok); i++) {
		v = -1;
		if (moat_parse_number(ok[i].s, 0, 256, &v, NULL) != 0)
			fail_msg("number \"%s\" refused", ok[i].s);
		assert_int_equal(v, ok[i].v);
	}
	for (size_t i = 0; i < N(bad); i++) {
		v = -7;
		moat_err_clear(&err);
		if (moat_parse_number(bad[i], 0, 256, &v, &err) == 0)
			fail_msg("number \"%s\" accepted", bad[i]);
		assert_int_equal(v, -7); /* untouched */
		says(&err, bad[i], "is not a number from 0 to 256");
	}
	moat_parse_number("0", 1, 256, &v, &err);
	assert_string_equal(err.msg, "\"0\" is not a number from 1 to 256");
	/* the whole int64 range, and one more */
	assert_int_equal(moat_parse_number("9223372036854775806", 0, INT64_MAX, &v, NULL), 0);
	assert_true(v == INT64_MAX - 1);
	assert_int_equal(moat_parse_number("92233720368547758070", 0, INT64_MAX, &v, NULL), -1);
}

static void test_ports(void **state)
{
	static const char *const bad[] = {"", "65536", "+80", " 80", "80 ", "-1", "8o",
					  "99999999999999999999", "0x50", "80.0"};
	struct moat_err err;
	uint16_t p = 7;

	(void)state;
	assert_int_equal(moat_parse_port("65535", false, &p, NULL), 0);
	assert_int_equal(p, 65535);
	assert_int_equal(moat_parse_port("1", false, &p, NULL), 0);
	assert_int_equal(p, 1);
	assert_int_equal(moat_parse_port("0443", false, &p, NULL), 0);
	assert_int_equal(p, 443);
	assert_int_equal(moat_parse_port("0", true, &p, NULL), 0);
	assert_int_equal(p, 0);
	p = 7;
	assert_int_equal(moat_parse_port("0", false, &p, &err), -1);
	assert_int_equal(p, 7);
	assert_string_equal(err.msg, "\"0\" is not a port number (1-65535)");
	for (size_t i = 0; i < N(bad); i++) {
		if (moat_parse_port(bad[i], true, &p, &err) == 0)
			fail_msg("port \"%s\" accepted", bad[i]);
		says(&err, bad[i], "is not a port number (0-65535)");
	}
}

/* ---- durations ------------------------------------------------------------------ */

static void test_durations(void **state)
{
	static const struct {
		const char *s;
		int64_t ms;
	} ok[] = {
		{"90", 90000},
		{"90s", 90000},
		{"1.5s", 1500},
		{"1.5", 1500},
		{"0.25", 250},
		{"500ms", 500},
		{"2m", 120000},
		{"1h", 3600000},
		{"1h30m", 5400000},
		{"2d", 2 * DAY_MS},
		{"1d", DAY_MS},
		{"1d2h3m4s5ms", DAY_MS + 2 * 3600000 + 3 * 60000 + 4000 + 5},
		{"1h7.5m", 3600000 + 450000},
		{"0", 0},
		{"0s", 0},
		{"007s", 7000},
		{"1.0005s", 1000},       /* below a millisecond: dropped */
		{"0.0001s", 0},
		{"1.123456789123s", 1123}, /* many digits */
		{"596h", 2145600000LL},
		{"597h", 2149200000LL},
		{"365d", MOAT_DURATION_MAX_MS},
		{"8760h", MOAT_DURATION_MAX_MS},
		{"31536000", MOAT_DURATION_MAX_MS},
		{"31536000000ms", MOAT_DURATION_MAX_MS},
	};
	static const struct {
		const char *s;
		const char *why;
	} bad[] = {
		{"", "it is empty"},
		{"-1", "it does not start with a number"},
		{"+1", "it does not start with a number"},
		{"s", "it does not start with a number"},
		{".5s", "it does not start with a number"},
		{" 1s", "it does not start with a number"},
		{"1x", "\"x\" is not a unit (ms, s, m, h or d)"},
		{"1sec", "\"sec\" is not a unit"},
		{"1S", "unexpected \"S\""},
		{"1 s", "unexpected \" s\""},
		{"1s ", "unexpected \" \""},
		{"1.5.5s", "unexpected \".5s\""},
		{"1.s", "a digit must follow the decimal point"},
		{"1e3", "\"e\" is not a unit"},
		{"1h30", "\"30\" has no unit (a number means seconds only when it stands alone)"},
		{"1h0.5", "\"0.5\" has no unit"},
		{"30m1h", "the units go from the largest to the smallest, each once"},
		{"1s1s", "the units go from the largest to the smallest, each once"},
		{"1m1m", "the units go from the largest to the smallest, each once"},
		{"1.5h30m", "only the last part may have a fraction (as in 1h7.5m)"},
		{"1h-30m", "unexpected \"-30m\""},
		{"1h+30m", "unexpected \"+30m\""},
		{"366d", "at most 365d"},
		{"365d1ms", "at most 365d"},
		{"8761h", "at most 365d"},
		{"99999999999", "at most 365d"},
		{"99999999999999999999999999d", "at most 365d"},
		{"9223372036854775807ms", "at most 365d"},
		{"9223372036854775808", "at most 365d"},
		{"1d99999999999999999999h", "at most 365d"},
	};
	struct moat_err err;
	int64_t ms;

	(void)state;
	for (size_t i = 0; i < N(ok); i++) {
		ms = -1;
		moat_err_clear(&err);
		if (moat_parse_duration_ms(ok[i].s, 0, MOAT_DURATION_MAX_MS, &ms, &err) != 0)
			fail_msg("duration \"%s\" refused: %s", ok[i].s, err.msg);
		if (ms != ok[i].ms)
			fail_msg("duration \"%s\" is %lld ms, not %lld", ok[i].s, (long long)ms,
				 (long long)ok[i].ms);
	}
	for (size_t i = 0; i < N(bad); i++) {
		char want[160];

		ms = -7;
		moat_err_clear(&err);
		if (moat_parse_duration_ms(bad[i].s, 0, MOAT_DURATION_MAX_MS, &ms, &err) == 0)
			fail_msg("duration \"%s\" accepted (%lld ms)", bad[i].s, (long long)ms);
		assert_int_equal(ms, -7);
		snprintf(want, sizeof(want), "\" is not a duration: %s", bad[i].why);
		says(&err, bad[i].s, want);
		assert_int_equal(err.msg[0], '"');
	}
	/* the caller's range: both ends in, one step out of each */
	assert_int_equal(moat_parse_duration_ms("1ms", 1, DAY_MS, &ms, NULL), 0);
	assert_int_equal(moat_parse_duration_ms("24h", 1, DAY_MS, &ms, NULL), 0);
	assert_int_equal(ms, DAY_MS);
	assert_int_equal(moat_parse_duration_ms("0s", 1, DAY_MS, &ms, &err), -1);
	assert_string_equal(err.msg, "\"0s\" is not a duration from 1ms to 24h");
	assert_int_equal(moat_parse_duration_ms("24h1ms", 1, DAY_MS, &ms, &err), -1);
	assert_string_equal(err.msg, "\"24h1ms\" is not a duration from 1ms to 24h");
	assert_int_equal(moat_parse_duration_ms("2d", 1, DAY_MS, &ms, &err), -1);
	says(&err, "2d", "from 1ms to 24h");
	assert_int_equal(moat_parse_duration_ms("4.5s", 5000, 3600000, &ms, &err), -1);
	assert_string_equal(err.msg, "\"4.5s\" is not a duration from 5s to 1h");
	assert_int_equal(moat_parse_duration_ms("9999d", 1000, 300000, &ms, &err), -1);
	assert_string_equal(err.msg, "\"9999d\" is not a duration from 1s to 5m");
	/* the value is escaped and shortened in the message */
	assert_int_equal(moat_parse_duration_ms("1\n\"x", 0, DAY_MS, &ms, &err), -1);
	assert_null(strchr(err.msg, '\n'));
	says(&err, "1\\n\"x", "\"1\\x0a\\x22x\" is not a duration");
	/* NULL err is allowed */
	assert_int_equal(moat_parse_duration_ms("x", 0, DAY_MS, &ms, NULL), -1);
}

static void test_dates(void **state)
{
	char b[32], small[8];

	(void)state;
	moat_date(1829728800, b, sizeof(b));
	assert_string_equal(b, "2027-12-25");
	moat_time_iso(1829728800 + 59, b, sizeof(b));
	assert_string_equal(b, "2027-12-25T10:00:59Z");
	moat_time_iso(0, b, sizeof(b));
	assert_string_equal(b, "1970-01-01T00:00:00Z");
	moat_date(1829728800, small, sizeof(small)); /* does not fit */
	assert_string_equal(small, "?");
}

static void test_duration_text(void **state)
{
	static const struct {
		int64_t ms;
		const char *text;
	} t[] = {
		{0, "0s"},	   {1, "1ms"},	       {999, "999ms"},	    {1000, "1s"},
		{1500, "1s500ms"}, {60000, "1m"},      {300000, "5m"},	    {3600000, "1h"},
		{5400000, "1h30m"}, {DAY_MS, "24h"},   {DAY_MS + 1, "24h1ms"}, {36 * 3600000LL, "36h"},
		{2 * DAY_MS, "2d"}, {30 * DAY_MS, "30d"}, {MOAT_DURATION_MAX_MS, "365d"},
		{MOAT_DURATION_MAX_MS - 1, "364d23h59m59s999ms"},
	};
	char out[MOAT_DURATION_TEXT_MAX], small[4];
	int64_t ms;

	(void)state;
	for (size_t i = 0; i < N(t); i++) {
		moat_duration_text(t[i].ms, out, sizeof(out));
		assert_string_equal(out, t[i].text);
		/* and it reads back */
		assert_int_equal(moat_parse_duration_ms(out, 0, MOAT_DURATION_MAX_MS, &ms, NULL), 0);
		assert_true(ms == t[i].ms);
	}
	moat_duration_text(5400000, small, sizeof(small));
	assert_string_equal(small, "1h"); /* cut short, still terminated */
}

/* ---- sizes ---------------------------------------------------------------------- */

static void test_sizes(void **state)
{
	static const struct {
		const char *s;
		int64_t n;
	} ok[] = {{"512", 512},	      {"0", 0},	       {"16k", 16384},	     {"16K", 16384},
		  {"1m", 1048576},    {"1M", 1048576}, {"1g", 1073741824LL}, {"2G", 2147483648LL},
		  {"0k", 0},	      {"8589934591g", 8589934591LL * 1073741824LL}};
	static const struct {
		const char *s;
		const char *why;
	} bad[] = {
		{"", "it is empty"},
		{"k", "it does not start with a number"},
		{"-1", "it does not start with a number"},
		{"+1", "it does not start with a number"},
		{"1.5m", "unexpected \".5m\""},
		{"16kb", "\"kb\" is not a unit (k, m or g)"},
		{"1t", "\"t\" is not a unit"},
		{"16 k", "unexpected \" k\""},
		{"99999999999999999999", "is not a size from 0 to"},
		{"9223372036854775807", "is not a size from 0 to"},
		{"9223372036854775807k", "is not a size from 0 to"},
		{"8589934592g", "is not a size from 0 to"},
	};
	struct moat_err err;
	int64_t n;

	(void)state;
	for (size_t i = 0; i < N(ok); i++) {
		if (moat_parse_size(ok[i].s, 0, INT64_MAX, &n, NULL) != 0)
			fail_msg("size \"%s\" refused", ok[i].s);
		assert_true(n == ok[i].n);
	}
	for (size_t i = 0; i < N(bad); i++) {
		n = -7;
		if (moat_parse_size(bad[i].s, 0, INT64_MAX, &n, &err) == 0)
			fail_msg("size \"%s\" accepted", bad[i].s);
		assert_int_equal(n, -7);
		says(&err, bad[i].s, bad[i].why);
		says(&err, bad[i].s, "\" is not a size");
	}
	assert_int_equal(moat_parse_size("100", 1024, 65536, &n, &err), -1);
	assert_string_equal(err.msg, "\"100\" is not a size from 1024 to 65536 bytes");
	assert_int_equal(moat_parse_size("64k", 1024, 65536, &n, &err), 0);
	assert_int_equal(n, 65536);
	assert_int_equal(moat_parse_size("65k", 1024, 65536, &n, &err), -1);
}

/* ---- HOST:PORT ------------------------------------------------------------------ */

static void test_hostport(void **state)
{
	enum {
		NAME = MOAT_HOSTPORT_NAME,
		NOHOST = MOAT_HOSTPORT_NO_HOST,
		NOPORT = MOAT_HOSTPORT_NO_PORT,
		ALONE = MOAT_HOSTPORT_PORT_ALONE,
		ZERO = MOAT_HOSTPORT_PORT_ZERO,
		LISTEN = NOHOST | NOPORT | ALONE | ZERO, /* moat trust share --listen */
	};
	static const struct {
		const char *s;
		unsigned flags;
		const char *host;
		int port; /* -1: none */
		const char *text;
	} ok[] = {
		{"127.0.0.1:80", 0, "127.0.0.1", 80, "127.0.0.1:80"},
		{"[::1]:443", 0, "::1", 443, "[::1]:443"},
		{"[2001:DB8:0::1]:9090", 0, "2001:db8::1", 9090, "[2001:db8::1]:9090"},
		{"0.0.0.0:65535", 0, "0.0.0.0", 65535, "0.0.0.0:65535"},
		{"Example.COM:8080", NAME, "example.com", 8080, "example.com:8080"},
		{"example.com.:80", NAME, "example.com", 80, "example.com:80"},
		{"localhost", NAME | NOPORT, "localhost", -1, "localhost"},
		{"[::1]", NOPORT, "::1", -1, "[::1]"},
		{"192.0.2.1", NOPORT, "192.0.2.1", -1, "192.0.2.1"},
		{":8080", NOHOST, "", 8080, ":8080"},
		{":0", NOHOST | ZERO, "", 0, ":0"},
		{"8080", LISTEN, "", 8080, ":8080"},
		{"0", LISTEN, "", 0, ":0"},
		{"192.168.1.5:8080", LISTEN, "192.168.1.5", 8080, "192.168.1.5:8080"},
		{"[::]:8080", LISTEN, "::", 8080, "[::]:8080"},
		{"[::]", LISTEN, "::", -1, "[::]"},
		{"10.0.0.1", LISTEN, "10.0.0.1", -1, "10.0.0.1"},
		{"127.0.0.1:0", ZERO, "127.0.0.1", 0, "127.0.0.1:0"},
	};
	static const struct {
		const char *s;
		unsigned flags;
		const char *why;
	} bad[] = {
		{"", 0, "\"\" is not ADDRESS:PORT: it is empty"},
		{"", LISTEN | NAME, "\"\" is not HOST:PORT: it is empty"},
		{"::1:80", 0, "an IPv6 address goes in brackets"},
		{"::1:80", LISTEN | NAME, "an IPv6 address goes in brackets"},
		{"::1", LISTEN, "an IPv6 address goes in brackets"},
		{"[::1", 0, "it has no ']' after the IPv6 address"},
		{"[::1]80", 0, "unexpected text after ']'"},
		{"[::1]:", 0, "it has a bad port (1-65535)"},
		{"host:", NAME, "it has a bad port (1-65535)"},
		{"127.0.0.1:", 0, "it has a bad port"},
		{"127.0.0.1:0", 0, "it has a bad port (1-65535)"},
		{"127.0.0.1:65536", ZERO, "it has a bad port (0-65535)"},
		{"127.0.0.1:+80", 0, "it has a bad port"},
		{"127.0.0.1: 80", 0, "it has a bad port"},
		{"127.0.0.1:80x", 0, "it has a bad port"},
		{"127.0.0.1:80/", 0, "it has a bad port"},
		{"127.0.0.1", 0, "\"127.0.0.1\" is not ADDRESS:PORT: it has no :PORT"},
		{"9090", 0, "it has no :PORT"},
		{"9090", NOHOST, "it has no :PORT"}, /* digits alone only with PORT_ALONE */
		{":80", 0, "it has no address"},
		{":80", NAME, "it has no host"},
		{"[]:80", NOHOST, "it has no address"},
		{"localhost:80", 0, "\"localhost\" is not an IP address"},
		{"[example.com]:80", NAME, "brackets are only for an IPv6 address"},
		{"[127.0.0.1]:80", 0, "brackets are only for an IPv6 address"},
		{"*.example.com:80", NAME, "a wildcard is not a host"},
		{"ex_ample:80", NAME, "invalid name \"ex_ample\""},
		{"1.2.3:80", 0, "invalid name \"1.2.3\""},
		{"[fe80::1%eth0]:80", 0, "invalid name"},
		{" 127.0.0.1:80", 0, "invalid name"},
	};
	struct moat_hostport hp;
	struct moat_err err;
	char text[80];

	(void)state;
	for (size_t i = 0; i < N(ok); i++) {
		moat_err_clear(&err);
		if (moat_parse_hostport(ok[i].s, ok[i].flags, &hp, &err) != 0)
			fail_msg("\"%s\" (flags %u) refused: %s", ok[i].s, ok[i].flags, err.msg);
		assert_string_equal(hp.host, ok[i].host);
		assert_int_equal(hp.has_port, ok[i].port >= 0);
		assert_int_equal(hp.port, ok[i].port >= 0 ? ok[i].port : 0);
		assert_int_equal(hp.ipv6, strchr(ok[i].host, ':') != NULL);
		assert_int_equal(moat_hostport_text(&hp, text, sizeof(text)), 0);
		assert_string_equal(text, ok[i].text);
	}
	for (size_t i = 0; i < N(bad); i++) {
		memset(&hp, 0x5a, sizeof(hp));
		moat_err_clear(&err);
		if (moat_parse_hostport(bad[i].s, bad[i].flags, &hp, &err) == 0)
			fail_msg("\"%s\" (flags %u) accepted: %s %d", bad[i].s, bad[i].flags,
				 hp.host, hp.port);
		assert_int_equal(hp.port, 0x5a5a); /* untouched */
		says(&err, bad[i].s, bad[i].why);
	}
	/* a name too long for the host, and a text too long for out */
	{
		char longname[400];

		memset(longname, 'a', sizeof(longname));
		memcpy(longname + sizeof(longname) - 4, ":80", 4);
		assert_int_equal(moat_parse_hostport(longname, NAME, &hp, &err), -1);
		says(&err, "long", "the host is too long");
	}
	assert_int_equal(moat_parse_hostport("[::1]:443", 0, &hp, NULL), 0);
	assert_int_equal(moat_hostport_text(&hp, text, 9), -1);
	assert_int_equal(moat_hostport_text(&hp, text, 10), 0);
}

/* ---- socket addresses as text ---------------------------------------------------- */

static void test_addr_text(void **state)
{
	struct sockaddr_in a4;
	struct sockaddr_in6 a6;
	struct sockaddr_storage other;
	char out[MOAT_ADDR_TEXT_MAX], small[8];

	(void)state;
	memset(&a4, 0, sizeof(a4));
	a4.sin_family = AF_INET;
	a4.sin_port = htons(8080);
	inet_pton(AF_INET, "192.0.2.1", &a4.sin_addr);
	assert_int_equal(moat_addr_text((struct sockaddr *)&a4, out, sizeof(out), false), 0);
	assert_string_equal(out, "192.0.2.1");
	assert_int_equal(moat_addr_text((struct sockaddr *)&a4, out, sizeof(out), true), 0);
	assert_string_equal(out, "192.0.2.1:8080");

	memset(&a6, 0, sizeof(a6));
	a6.sin6_family = AF_INET6;
	a6.sin6_port = htons(443);
	inet_pton(AF_INET6, "2001:db8::1", &a6.sin6_addr);
	assert_int_equal(moat_addr_text((struct sockaddr *)&a6, out, sizeof(out), false), 0);
	assert_string_equal(out, "2001:db8::1");
	assert_int_equal(moat_addr_text((struct sockaddr *)&a6, out, sizeof(out), true), 0);
	assert_string_equal(out, "[2001:db8::1]:443");

	/* an IPv4 peer of a dual-stack socket is shown as IPv4 */
	inet_pton(AF_INET6, "::ffff:198.51.100.7", &a6.sin6_addr);
	assert_int_equal(moat_addr_text((struct sockaddr *)&a6, out, sizeof(out), false), 0);
	assert_string_equal(out, "198.51.100.7");
	assert_int_equal(moat_addr_text((struct sockaddr *)&a6, out, sizeof(out), true), 0);
	assert_string_equal(out, "198.51.100.7:443");

	/* the longest text fits MOAT_ADDR_TEXT_MAX */
	inet_pton(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", &a6.sin6_addr);
	a6.sin6_port = htons(65535);
	assert_int_equal(moat_addr_text((struct sockaddr *)&a6, out, sizeof(out), true), 0);
	assert_true(strlen(out) < MOAT_ADDR_TEXT_MAX);

	/* too small, another family: -1 and "" */
	assert_int_equal(moat_addr_text((struct sockaddr *)&a4, small, sizeof(small), false), -1);
	assert_string_equal(small, "");
	memset(&other, 0, sizeof(other));
	other.ss_family = AF_UNIX;
	strcpy(out, "x");
	assert_int_equal(moat_addr_text((struct sockaddr *)&other, out, sizeof(out), false), -1);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers),	      cmocka_unit_test(test_ports),
		cmocka_unit_test(test_durations),     cmocka_unit_test(test_duration_text),
		cmocka_unit_test(test_sizes),	      cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_addr_text),     cmocka_unit_test(test_dates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
