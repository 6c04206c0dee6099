/* fixture.c: see fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"

struct pki_key *fx_key(enum pki_key_type t)
{
	struct moat_err err = {0};
	struct pki_key *k = pki_key_generate(t, &err);

	if (k == NULL)
		fail_msg("generate %s: %s", pki_key_type_name(t), err.msg);
	return k;
}

struct moat_name fx_name(const char *s)
{
	struct moat_err err = {0};
	struct moat_name n;

	memset(&n, 0, sizeof(n));
	if (moat_name_parse(s, &n, &err) != 0)
		fail_msg("name %s: %s", s, err.msg);
	return n;
}

bool fx_have_openssl(void)
{
	return system("openssl version >/dev/null 2>&1") == 0;
}

void fx_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

size_t fx_unbase64(const char *pem, unsigned char *out, size_t n)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = strstr(pem, "-----\n") + 6;
	const char *end = strstr(p, "-----END");
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	for (; p < end; p++) {
		const char *c = strchr(tbl, *p);

		if (*p == '=' || *p == '\n' || c == NULL)
			continue;
		acc = (acc << 6) | (uint32_t)(c - tbl);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			assert_true(o < n);
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	return o;
}
