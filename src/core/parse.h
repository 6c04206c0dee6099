/* parse.h: the values people type -- whole numbers, durations, sizes, ports
 * and HOST:PORT -- read the same way wherever they are typed: a command-line
 * option or a `moat serve` directive.  docs/cli.md ("Values") describes the
 * forms for users; this is the one place that reads them.
 *
 * Every parser takes the whole string: no sign, no spaces, nothing after
 * the value.  It returns 0, or -1 with err filled with one line that quotes
 * the value (escaped) and says what is wrong, e.g.
 *     "25h" is not a duration from 1ms to 24h
 *     "1x" is not a duration: "x" is not a unit (ms, s, m, h or d)
 *     "::1:80" is not ADDRESS:PORT: an IPv6 address goes in brackets, ...
 * and no hint.  The caller puts its option or directive name in front
 * (moat_err_prefix: "--timeout: ..."; "idle-timeout: ...") and adds a hint
 * if it has one.  The output is written only on success; err may be NULL.
 *
 * Whole numbers: decimal digits only ("0080" is 80), lo to hi.
 *
 * Durations, in milliseconds:
 *     90          a number alone is seconds (and "1.5" is 1500 ms)
 *     90s  1.5s   seconds
 *     500ms       milliseconds
 *     2m 1h 2d    minutes, hours, days
 *     1h30m       several parts, units from the largest to the smallest,
 *                 each at most once; only the last part may have a
 *                 fraction ("1h7.5m"), and what it gives below a
 *                 millisecond is dropped
 * at most MOAT_DURATION_MAX_MS (365 days), and lo to hi.
 *
 * Sizes, in bytes: 512, 16k, 1m, 1g (binary: k = 1024; K, M, G as well),
 * whole numbers only, lo to hi.
 *
 * Ports: 1-65535, or 0-65535 where the caller gives 0 a meaning.
 *
 * HOST:PORT: "192.0.2.1:443", "[2001:db8::1]:443", "name.example:80" (with
 * MOAT_HOSTPORT_NAME); and, as the flags allow, ":443", "443", "192.0.2.1",
 * "[::1]".  An IPv6 address always goes in brackets: "::1:80" is refused
 * (is it [::1]:80 or [::1:80]?). */
#ifndef MOAT_CORE_PARSE_H
#define MOAT_CORE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/names.h"

#define MOAT_DURATION_MAX_MS (365LL * 24 * 3600 * 1000)
/* Room for any moat_duration_text: "365d23h59m59s999ms". */
#define MOAT_DURATION_TEXT_MAX 24

int moat_parse_number(const char *s, int64_t lo, int64_t hi, int64_t *out,
		      struct moat_err *err);
/* lo_ms and hi_ms within 0..MOAT_DURATION_MAX_MS. */
int moat_parse_duration_ms(const char *s, int64_t lo_ms, int64_t hi_ms, int64_t *ms,
			   struct moat_err *err);
int moat_parse_size(const char *s, int64_t lo, int64_t hi, int64_t *bytes, struct moat_err *err);
/* 1-65535; 0 too when zero_ok. */
int moat_parse_port(const char *s, bool zero_ok, uint16_t *port, struct moat_err *err);

/* ms (>= 0) the way moat_parse_duration_ms reads it: "1ms", "1s500ms",
 * "5m", "1h30m", "24h", "30d" -- days only from two days on (a timeout of a
 * day is "24h").  Always NUL-terminated; when n is too small, only the
 * parts that fit. */
void moat_duration_text(int64_t ms, char *out, size_t n);
/* t (seconds since the epoch) as a UTC date "2026-12-07", or as
 * "2026-12-07T19:30:00Z"; "?" when it cannot be written. */
void moat_date(int64_t t, char *out, size_t n);
void moat_time_iso(int64_t t, char *out, size_t n);

/* What moat_parse_hostport allows besides ADDRESS:PORT. */
enum {
	MOAT_HOSTPORT_NAME = 1,       /* the host may be a DNS name, not only an IP address */
	MOAT_HOSTPORT_NO_HOST = 2,    /* ":PORT" (host "") */
	MOAT_HOSTPORT_NO_PORT = 4,    /* "HOST" and "[IPv6]" (has_port false, port 0) */
	MOAT_HOSTPORT_PORT_ALONE = 8, /* digits alone are a port ("8080"), with NO_HOST */
	MOAT_HOSTPORT_PORT_ZERO = 16, /* port 0 is allowed */
};

struct moat_hostport {
	char host[MOAT_NAME_MAX + 3]; /* normalised as moat_name_parse does: lower case,
				       * IPv6 canonical and without brackets; "" for none */
	bool ipv6;                    /* host is an IPv6 address (brackets to print it) */
	bool has_port;
	uint16_t port;                /* 0 when !has_port */
};

/* s as HOST:PORT, as flags (MOAT_HOSTPORT_*) allow.  A bad host name keeps
 * moat_name_parse's message ("invalid name ..."). */
int moat_parse_hostport(const char *s, unsigned flags, struct moat_hostport *out,
			struct moat_err *err);
/* "192.0.2.1:443", "[::1]:443", "name:80"; without the port when
 * !has_port.  0, or -1 when it does not fit in n. */
int moat_hostport_text(const struct moat_hostport *hp, char *out, size_t n);

#endif
