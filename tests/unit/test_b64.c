/* Unit tests for src/core/b64.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/b64.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* RFC 4648 section 10. */
static const struct {
	const char *plain;
	const char *b64;
} rfc[] = {
	{"", ""},
	{"f", "Zg=="},
	{"fo", "Zm8="},
	{"foo", "Zm9v"},
	{"foob", "Zm9vYg=="},
	{"fooba", "Zm9vYmE="},
	{"foobar", "Zm9vYmFy"},
};

static void test_rfc4648_encode(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(rfc); i++) {
		struct moat_buf b = MOAT_BUF_INIT;

		assert_int_equal(moat_b64_encode(&b, rfc[i].plain, strlen(rfc[i].plain), 0), 0);
		assert_non_null(b.data);
		assert_int_equal(b.len, strlen(rfc[i].b64));
		assert_string_equal((char *)b.data, rfc[i].b64);
		moat_buf_free(&b);
	}
}

static void test_rfc4648_decode(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(rfc); i++) {
		struct moat_buf b = MOAT_BUF_INIT;

		assert_int_equal(moat_b64_decode(&b, rfc[i].b64, strlen(rfc[i].b64)), 0);
		assert_int_equal(b.len, strlen(rfc[i].plain));
		if (b.len > 0)
			assert_memory_equal(b.data, rfc[i].plain, b.len);
		moat_buf_free(&b);
	}
}

static void test_alphabet(void **state)
{
	static const unsigned char bin[] = {0xfb, 0xff, 0xbf, 0x00, 0x10, 0x83};
	struct moat_buf b = MOAT_BUF_INIT;

	(void)state;
	/* '+' and '/' (not the URL-safe '-' and '_'). */
	assert_int_equal(moat_b64_encode(&b, bin, sizeof(bin), 0), 0);
	assert_string_equal((char *)b.data, "+/+/ABCD");
	moat_buf_free(&b);
	assert_int_equal(moat_b64_decode(&b, "+/+/ABCD", 8), 0);
	assert_int_equal(b.len, sizeof(bin));
	assert_memory_equal(b.data, bin, sizeof(bin));
	moat_buf_free(&b);
}

/* Encoding appends to what the buffer holds. */
static void test_append(void **state)
{
	struct moat_buf b = MOAT_BUF_INIT;

	(void)state;
	assert_int_equal(moat_buf_puts(&b, "<data>"), 0);
	assert_int_equal(moat_b64_encode(&b, "foobar", 6, 0), 0);
	assert_string_equal((char *)b.data, "<data>Zm9vYmFy");
	assert_int_equal(moat_b64_decode(&b, "Zm8=", 4), 0);
	assert_int_equal(b.len, 16);
	assert_string_equal((char *)b.data, "<data>Zm9vYmFyfo");
	moat_buf_free(&b);
}

static void test_wrap(void **state)
{
	unsigned char data[100];
	struct moat_buf b = MOAT_BUF_INIT;
	const char *p;

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7 + 3);

	/* 39 bytes -> 52 characters: exactly one line, no newline. */
	assert_int_equal(moat_b64_encode(&b, data, 39, 52), 0);
	assert_int_equal(b.len, 52);
	assert_null(strchr((char *)b.data, '\n'));
	moat_buf_free(&b);

	/* 60 bytes -> 80 characters: 52 + "\n" + 28, no trailing newline. */
	assert_int_equal(moat_b64_encode(&b, data, 60, 52), 0);
	assert_int_equal(b.len, 81);
	assert_int_equal(b.data[52], '\n');
	assert_int_not_equal(b.data[80], '\n');
	assert_null(strchr((char *)b.data + 53, '\n'));
	moat_buf_free(&b);

	/* 100 bytes -> 136 characters in lines of 64: 64 \n 64 \n 8. */
	assert_int_equal(moat_b64_encode(&b, data, 100, 64), 0);
	assert_int_equal(b.len, 138);
	p = (char *)b.data;
	assert_int_equal(strchr(p, '\n') - p, 64);
	assert_int_equal(strchr(p + 65, '\n') - p, 129);
	assert_null(strchr(p + 130, '\n'));
	/* And it decodes back. */
	{
		struct moat_buf d = MOAT_BUF_INIT;
		assert_int_equal(moat_b64_decode(&d, p, b.len), 0);
		assert_int_equal(d.len, 100);
		assert_memory_equal(d.data, data, 100);
		moat_buf_free(&d);
	}
	moat_buf_free(&b);

	/* Odd line lengths work too. */
	assert_int_equal(moat_b64_encode(&b, "foobar", 6, 3), 0);
	assert_string_equal((char *)b.data, "Zm9\nvYm\nFy");
	moat_buf_free(&b);
	assert_int_equal(moat_b64_encode(&b, "foobar", 6, 1), 0);
	assert_string_equal((char *)b.data, "Z\nm\n9\nv\nY\nm\nF\ny");
	moat_buf_free(&b);
}

static void test_roundtrip(void **state)
{
	static const size_t wraps[] = {0, 1, 4, 52, 64, 76};
	unsigned char data[300];

	(void)state;
	srand(1234);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(rand() & 0xff);
	for (size_t w = 0; w < N(wraps); w++) {
		for (size_t len = 0; len <= sizeof(data); len++) {
			struct moat_buf e = MOAT_BUF_INIT, d = MOAT_BUF_INIT;

			assert_int_equal(moat_b64_encode(&e, data, len, wraps[w]), 0);
			assert_int_equal(moat_b64_decode(&d, (char *)e.data, e.len), 0);
			assert_int_equal(d.len, len);
			if (len > 0)
				assert_memory_equal(d.data, data, len);
			moat_buf_free(&e);
			moat_buf_free(&d);
		}
	}
	/* Every byte value. */
	{
		unsigned char all[256];
		struct moat_buf e = MOAT_BUF_INIT, d = MOAT_BUF_INIT;

		for (int i = 0; i < 256; i++)
			all[i] = (unsigned char)i;
		assert_int_equal(moat_b64_encode(&e, all, sizeof(all), 0), 0);
		assert_int_equal(e.len, 344);
		assert_int_equal(moat_b64_decode(&d, (char *)e.data, e.len), 0);
		assert_int_equal(d.len, 256);
		assert_memory_equal(d.data, all, 256);
		moat_buf_free(&e);
		moat_buf_free(&d);
	}
}

static void test_whitespace(void **state)
{
	static const char *const ok[] = {
		"Zm9v\nYmFy", "Zm9v\r\nYmFy\r\n", " Zm9vYmFy ", "\tZm 9v Ym Fy\n", "Z\nm\n9\nv\nY\nm\nF\ny",
		"Zm9vYmFy\n\n\n", "\v\fZm9vYmFy",
	};
	(void)state;
	for (size_t i = 0; i < N(ok); i++) {
		struct moat_buf b = MOAT_BUF_INIT;

		if (moat_b64_decode(&b, ok[i], strlen(ok[i])) != 0)
			fail_msg("refused with whitespace: case %zu", i);
		assert_int_equal(b.len, 6);
		assert_memory_equal(b.data, "foobar", 6);
		moat_buf_free(&b);
	}
	/* Whitespace inside the padding. */
	{
		struct moat_buf b = MOAT_BUF_INIT;
		assert_int_equal(moat_b64_decode(&b, "Zg =\n=", 6), 0);
		assert_int_equal(b.len, 1);
		assert_int_equal(b.data[0], 'f');
		moat_buf_free(&b);
	}
	/* Only whitespace decodes to nothing. */
	{
		struct moat_buf b = MOAT_BUF_INIT;
		assert_int_equal(moat_b64_decode(&b, " \n\t", 3), 0);
		assert_int_equal(b.len, 0);
		moat_buf_free(&b);
	}
}

static void test_invalid(void **state)
{
	static const char *const bad[] = {
		"Zg",        /* missing padding */
		"Zg=",       /* short padding */
		"Zm9",       /* missing padding */
		"Z",         /* one character */
		"Z===",      /* too much padding */
		"====",      /* padding only */
		"=Zg=",      /* padding first */
		"Zg==Zg==",  /* data after padding */
		"Zg==x",     /* data after padding */
		"Zg==\n=",   /* extra padding */
		"Zm=v",      /* padding in the middle of a quantum */
		"Zm9v!",     /* invalid character */
		"Zm-v",      /* URL-safe alphabet */
		"Zm_v",      /* URL-safe alphabet */
		"Zm9v\x80",  /* non-ASCII */
		"Zh==",      /* non-zero bits under padding */
		"Zm9=",      /* non-zero bits under padding */
		"Zm9vYmF",   /* truncated */
	};
	(void)state;
	for (size_t i = 0; i < N(bad); i++) {
		struct moat_buf b = MOAT_BUF_INIT;

		assert_int_equal(moat_buf_puts(&b, "keep"), 0);
		if (moat_b64_decode(&b, bad[i], strlen(bad[i])) == 0)
			fail_msg("\"%s\" accepted", bad[i]);
		/* What the buffer held before is left as it was. */
		assert_int_equal(b.len, 4);
		assert_string_equal((char *)b.data, "keep");
		moat_buf_free(&b);
	}
	/* An embedded NUL is an invalid character, not the end. */
	{
		struct moat_buf b = MOAT_BUF_INIT;
		assert_int_equal(moat_b64_decode(&b, "Zm9v\0Zm9v", 9), -1);
		moat_buf_free(&b);
	}
}

/* RFC 7515 appendix C and RFC 4648 section 10 values, base64url. */
static void test_url(void **state)
{
	static const unsigned char jws_c[] = {3, 236, 255, 224, 193};
	struct moat_buf b = MOAT_BUF_INIT;

	(void)state;
	assert_int_equal(moat_b64url_encode(&b, jws_c, sizeof(jws_c)), 0);
	assert_string_equal((char *)b.data, "A-z_4ME");
	moat_buf_free(&b);
	assert_int_equal(moat_b64url_encode(&b, "f", 1), 0);
	assert_string_equal((char *)b.data, "Zg");
	moat_buf_free(&b);
	assert_int_equal(moat_b64url_encode(&b, "", 0), 0);
	assert_string_equal((char *)b.data, "");
	moat_buf_free(&b);

	assert_int_equal(moat_b64url_decode(&b, "A-z_4ME", 7), 0);
	assert_int_equal(b.len, sizeof(jws_c));
	assert_memory_equal(b.data, jws_c, sizeof(jws_c));
	moat_buf_free(&b);
	assert_int_equal(moat_b64url_decode(&b, "Zm9vYg", 6), 0);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.data, "foob", 4);
	moat_buf_free(&b);
	/* Not base64url: padding, standard alphabet, whitespace, bad length,
	 * non-canonical trailing bits. */
	assert_int_equal(moat_b64url_decode(&b, "Zg==", 4), -1);
	assert_int_equal(moat_b64url_decode(&b, "A+z/4ME", 7), -1);
	assert_int_equal(moat_b64url_decode(&b, "Zm9v Yg", 7), -1);
	assert_int_equal(moat_b64url_decode(&b, "Zm9vY", 5), -1);
	assert_int_equal(moat_b64url_decode(&b, "Zh", 2), -1);
	moat_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648_encode), cmocka_unit_test(test_rfc4648_decode),
		cmocka_unit_test(test_alphabet),       cmocka_unit_test(test_append),
		cmocka_unit_test(test_wrap),           cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_whitespace),     cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_url),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
