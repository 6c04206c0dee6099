/* fuzz_parse: the values people type (src/core/parse.c) -- durations,
 * sizes, whole numbers, ports and HOST:PORT with every combination of
 * flags.  The first byte picks the parser and the flags, the rest is the
 * text.  Besides crashes: a value accepted is within its range and reads
 * back the same from the text moat writes for it (moat_duration_text,
 * moat_hostport_text); a value refused gets a message, on one printable
 * line, that starts with the quoted value -- or, for a bad host name,
 * moat_name_parse's "invalid name". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void message_ok(const struct moat_err *err)
{
	if (err->msg[0] != '"' && strncmp(err->msg, "invalid name \"", 14) != 0)
		abort();
	for (const char *p = err->msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			abort();
}

static void duration(const char *s, unsigned sel)
{
	/* a caller's range, or the whole one */
	static const int64_t lo[] = {0, 1, 1000, 5000};
	static const int64_t hi[] = {MOAT_DURATION_MAX_MS, 24LL * 3600 * 1000, 300000, 3600000};
	struct moat_err err;
	char text[MOAT_DURATION_TEXT_MAX];
	int64_t ms = -1, again = -1;

	moat_err_clear(&err);
	if (moat_parse_duration_ms(s, lo[sel & 3], hi[sel & 3], &ms, &err) != 0) {
		message_ok(&err);
		return;
	}
	if (ms < lo[sel & 3] || ms > hi[sel & 3])
		abort();
	moat_duration_text(ms, text, sizeof(text));
	if (moat_parse_duration_ms(text, 0, MOAT_DURATION_MAX_MS, &again, NULL) != 0 || again != ms)
		abort();
}

static void size_or_number(const char *s, unsigned sel)
{
	struct moat_err err;
	int64_t v = -1;
	char text[32];
	int64_t hi = sel & 1 ? INT64_MAX : 65536;

	moat_err_clear(&err);
	if (sel & 2) {
		if (moat_parse_size(s, 0, hi, &v, &err) != 0) {
			message_ok(&err);
			return;
		}
	} else {
		if (moat_parse_number(s, 0, hi, &v, &err) != 0) {
			message_ok(&err);
			return;
		}
		/* a number reads back from its decimal text */
		snprintf(text, sizeof(text), "%lld", (long long)v);
		if (moat_parse_number(text, 0, hi, &v, NULL) != 0)
			abort();
	}
	if (v < 0 || v > hi)
		abort();
}

static void port(const char *s, unsigned sel)
{
	struct moat_err err;
	uint16_t p;

	moat_err_clear(&err);
	if (moat_parse_port(s, sel & 1, &p, &err) != 0) {
		message_ok(&err);
		return;
	}
	if (p == 0 && !(sel & 1))
		abort();
}

static void hostport(const char *s, unsigned flags)
{
	struct moat_hostport hp, again;
	struct moat_err err;
	char text[MOAT_NAME_MAX + 16];

	moat_err_clear(&err);
	if (moat_parse_hostport(s, flags, &hp, &err) != 0) {
		message_ok(&err);
		return;
	}
	if ((hp.host[0] == '\0' && !(flags & MOAT_HOSTPORT_NO_HOST)) ||
	    (!hp.has_port && !(flags & MOAT_HOSTPORT_NO_PORT)) || (!hp.has_port && hp.port != 0) ||
	    (hp.has_port && hp.port == 0 && !(flags & MOAT_HOSTPORT_PORT_ZERO)) ||
	    strpbrk(hp.host, "[]/@ %") != NULL || (hp.ipv6 != (strchr(hp.host, ':') != NULL)))
		abort();
	/* normalised: its text reads back to the same */
	if (moat_hostport_text(&hp, text, sizeof(text)) != 0 ||
	    moat_parse_hostport(text, flags, &again, NULL) != 0 || strcmp(again.host, hp.host) != 0 ||
	    again.port != hp.port || again.has_port != hp.has_port || again.ipv6 != hp.ipv6)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned sel;
	char *s;

	if (size == 0)
		return 0;
	sel = data[0];
	if ((s = malloc(size)) == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (sel >> 5) {
	case 0: case 1: case 2: duration(s, sel); break;
	case 3: size_or_number(s, sel); break;
	case 4: port(s, sel); break;
	default: hostport(s, sel & 31); break;
	}
	free(s);
	return 0;
}
