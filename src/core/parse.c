/* parse.c: whole numbers, durations, sizes, ports and HOST:PORT as people
 * type them (parse.h). */
#include "core/parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* A value in an error message: escaped, shortened. */
#define SHOW_MAX 64

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_lower(int c)
{
	return c >= 'a' && c <= 'z';
}

/* `"<in>" is not <what>[: <why>]`; returns -1. */
static int refuse(struct moat_err *err, const char *in, const char *what, const char *why, ...)
	MOAT_PRINTF(4, 5);

static int refuse(struct moat_err *err, const char *in, const char *what, const char *why, ...)
{
	char show[SHOW_MAX], reason[256] = "";
	va_list ap;

	if (err == NULL)
		return -1;
	moat_escape(show, sizeof(show), in, strlen(in));
	if (why != NULL) {
		va_start(ap, why);
		vsnprintf(reason, sizeof(reason), why, ap);
		va_end(ap);
	}
	moat_err_set(err, "\"%s\" is not %s%s%s", show, what, reason[0] ? ": " : "", reason);
	return -1;
}

/* A piece of the value for the reason, escaped as the value is. */
static const char *shown(char *buf, size_t n, const char *p, size_t len)
{
	moat_escape(buf, n, p, len);
	return buf;
}

/* Decimal digits at *p, advanced past them; a value above cap (0 <= cap <
 * INT64_MAX) is cap + 1, however long.  false when there is none. */
static bool digits(const char **p, int64_t cap, int64_t *v)
{
	const char *s = *p;

	*v = 0;
	if (!is_digit((unsigned char)*s))
		return false;
	for (; is_digit((unsigned char)*s); s++) {
		int d = *s - '0';

		*v = *v > (cap - d) / 10 ? cap + 1 : *v * 10 + d;
	}
	*p = s;
	return true;
}

int moat_parse_number(const char *s, int64_t lo, int64_t hi, int64_t *out, struct moat_err *err)
{
	const int64_t cap = hi < INT64_MAX ? hi : INT64_MAX - 1;
	const char *p = s;
	int64_t v;
	char what[96];

	if (!digits(&p, cap, &v) || *p != '\0' || v < lo || v > cap) {
		snprintf(what, sizeof(what), "a number from %lld to %lld", (long long)lo,
			 (long long)hi);
		return refuse(err, s, what, NULL);
	}
	*out = v;
	return 0;
}

int moat_parse_port(const char *s, bool zero_ok, uint16_t *port, struct moat_err *err)
{
	const char *p = s;
	int64_t v;

	if (!digits(&p, 65535, &v) || *p != '\0' || v > 65535 || (v == 0 && !zero_ok))
		return refuse(err, s, zero_ok ? "a port number (0-65535)" : "a port number (1-65535)",
			      NULL);
	*port = (uint16_t)v;
	return 0;
}

/* ---- durations ---------------------------------------------------------------- */

static const struct {
	const char *name;
	int64_t ms;
} units[] = {
	{"d", 24LL * 3600 * 1000}, {"h", 3600 * 1000}, {"m", 60 * 1000}, {"s", 1000}, {"ms", 1},
};

#define NUNITS (sizeof(units) / sizeof(units[0]))
#define UNIT_S 3 /* a number alone */

static int unit_index(const char *u, size_t len)
{
	for (size_t i = 0; i < NUNITS; i++)
		if (strlen(units[i].name) == len && strncmp(units[i].name, u, len) == 0)
			return (int)i;
	return -1;
}

/* The range in the message: "a duration from 1ms to 24h", or "a duration"
 * with the parser's own limit in the reason. */
static int refuse_range(struct moat_err *err, const char *s, int64_t lo, int64_t hi)
{
	char a[MOAT_DURATION_TEXT_MAX], b[MOAT_DURATION_TEXT_MAX], what[80];

	if (lo <= 0 && hi >= MOAT_DURATION_MAX_MS) {
		moat_duration_text(MOAT_DURATION_MAX_MS, b, sizeof(b));
		return refuse(err, s, "a duration", "at most %s", b);
	}
	moat_duration_text(lo, a, sizeof(a));
	moat_duration_text(hi, b, sizeof(b));
	snprintf(what, sizeof(what), "a duration from %s to %s", a, b);
	return refuse(err, s, what, NULL);
}

int moat_parse_duration_ms(const char *s, int64_t lo_ms, int64_t hi_ms, int64_t *ms,
			   struct moat_err *err)
{
	const int64_t max = MOAT_DURATION_MAX_MS;
	const char *p = s;
	int64_t total = 0;
	int prev = -1;
	bool fraction = false;
	char bit[24];

	if (*s == '\0')
		return refuse(err, s, "a duration", "it is empty");
	while (*p != '\0') {
		int64_t v, frac = 0, scale = 1, part;
		const char *num = p, *u;
		int k;

		if (fraction)
			return refuse(err, s, "a duration",
				      "only the last part may have a fraction (as in 1h7.5m)");
		if (!digits(&p, max, &v))
			return refuse(err, s, "a duration", p == s ? "it does not start with a number"
								    : "unexpected \"%s\"",
				      shown(bit, sizeof(bit), p, strlen(p)));
		if (*p == '.') {
			if (!is_digit((unsigned char)*++p))
				return refuse(err, s, "a duration",
					      "a digit must follow the decimal point");
			for (; is_digit((unsigned char)*p); p++) {
				if (scale < 1000000000) { /* more digits are below a nanosecond */
					frac = frac * 10 + (*p - '0');
					scale *= 10;
				}
			}
			fraction = true;
		}
		for (u = p; is_lower((unsigned char)*p); p++)
			;
		if (p == u && *p != '\0')
			return refuse(err, s, "a duration", "unexpected \"%s\"",
				      shown(bit, sizeof(bit), p, strlen(p)));
		if (p == u && prev >= 0)
			return refuse(err, s, "a duration",
				      "\"%s\" has no unit (a number means seconds only when it "
				      "stands alone)",
				      shown(bit, sizeof(bit), num, (size_t)(p - num)));
		k = p == u ? UNIT_S : unit_index(u, (size_t)(p - u));
		if (k < 0)
			return refuse(err, s, "a duration", "\"%s\" is not a unit (ms, s, m, h or d)",
				      shown(bit, sizeof(bit), u, (size_t)(p - u)));
		if (k <= prev)
			return refuse(err, s, "a duration",
				      "the units go from the largest to the smallest, each once "
				      "(as in 1h30m)");
		prev = k;
		/* v <= max + 1 and frac < scale <= 1e9: no overflow below. */
		if (v > max / units[k].ms) {
			total = max + 1;
			continue;
		}
		part = v * units[k].ms + frac * units[k].ms / scale;
		total = total + part > max ? max + 1 : total + part;
	}
	if (total > max || total < lo_ms || total > hi_ms)
		return refuse_range(err, s, lo_ms, hi_ms);
	*ms = total;
	return 0;
}

void moat_duration_text(int64_t ms, char *out, size_t n)
{
	size_t used = 0;

	if (n == 0)
		return;
	out[0] = '\0';
	if (ms <= 0) {
		snprintf(out, n, "0s");
		return;
	}
	for (size_t i = 0; i < NUNITS && ms > 0; i++) {
		int64_t q = ms / units[i].ms;
		int r;

		if (q == 0 || (i == 0 && q < 2)) /* "24h", not "1d" */
			continue;
		r = snprintf(out + used, n - used, "%lld%s", (long long)q, units[i].name);
		if (r < 0 || (size_t)r >= n - used) {
			out[used] = '\0'; /* whole parts only */
			return;
		}
		used += (size_t)r;
		ms -= q * units[i].ms;
	}
}

/* ---- sizes -------------------------------------------------------------------- */

int moat_parse_size(const char *s, int64_t lo, int64_t hi, int64_t *bytes, struct moat_err *err)
{
	const char *p = s;
	int64_t v, mult = 1;
	char what[96], bit[24];

	snprintf(what, sizeof(what), "a size from %lld to %lld bytes", (long long)lo,
		 (long long)hi);
	if (!digits(&p, INT64_MAX - 1, &v))
		return refuse(err, s, "a size", *s == '\0' ? "it is empty"
							    : "it does not start with a number");
	switch (*p) {
	case '\0': break;
	case 'k': case 'K': mult = 1024; break;
	case 'm': case 'M': mult = 1024 * 1024; break;
	case 'g': case 'G': mult = 1024 * 1024 * 1024; break;
	default: mult = 0; break;
	}
	if (mult == 0 || (*p != '\0' && p[1] != '\0'))
		return refuse(err, s, "a size",
			      is_lower((unsigned char)(*p | 0x20)) ? "\"%s\" is not a unit (k, m or g)"
							       : "unexpected \"%s\"",
			      shown(bit, sizeof(bit), p, strlen(p)));
	if (v > INT64_MAX - 1 || v > INT64_MAX / mult || v * mult < lo || v * mult > hi)
		return refuse(err, s, what, NULL);
	*bytes = v * mult;
	return 0;
}

/* ---- HOST:PORT ---------------------------------------------------------------- */

int moat_parse_hostport(const char *s, unsigned flags, struct moat_hostport *out,
			struct moat_err *err)
{
	const char *kind = flags & MOAT_HOSTPORT_NAME ? "HOST:PORT" : "ADDRESS:PORT";
	const char *host = s, *port = NULL, *colon;
	struct moat_hostport hp;
	struct moat_name n;
	char text[MOAT_NAME_MAX + 3];
	size_t hl;
	bool brackets = s[0] == '[';

	memset(&hp, 0, sizeof(hp));
	if (s[0] == '\0')
		return refuse(err, s, kind, "it is empty");
	if (brackets) {
		const char *close = strchr(s, ']');

		if (close == NULL)
			return refuse(err, s, kind, "it has no ']' after the IPv6 address");
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0')
			return refuse(err, s, kind, "unexpected text after ']'");
		host = s + 1;
		hl = (size_t)(close - host);
	} else if ((colon = strchr(s, ':')) != NULL) {
		if (strchr(colon + 1, ':') != NULL)
			return refuse(err, s, kind, "an IPv6 address goes in brackets, as in "
						    "[2001:db8::1]:443");
		port = colon + 1;
		hl = (size_t)(colon - s);
	} else if ((flags & MOAT_HOSTPORT_PORT_ALONE) && strspn(s, "0123456789") == strlen(s)) {
		port = s;
		hl = 0;
	} else {
		hl = strlen(s);
	}

	if (port == NULL && !(flags & MOAT_HOSTPORT_NO_PORT))
		return refuse(err, s, kind, "it has no :PORT");
	if (hl == 0 && (brackets || !(flags & MOAT_HOSTPORT_NO_HOST)))
		return refuse(err, s, kind, "it has no %s",
			      flags & MOAT_HOSTPORT_NAME ? "host" : "address");
	if (hl >= sizeof(text))
		return refuse(err, s, kind, "the host is too long");
	if (hl > 0) {
		memcpy(text, host, hl);
		text[hl] = '\0';
		if (moat_name_parse(text, &n, err) != 0) {
			if (err != NULL)
				err->hint[0] = '\0';
			return -1;
		}
		if (brackets && n.type != MOAT_NAME_IPV6)
			return refuse(err, s, kind, "brackets are only for an IPv6 address");
		if (n.type == MOAT_NAME_WILDCARD)
			return refuse(err, s, kind, "a wildcard is not a host");
		if (!(flags & MOAT_HOSTPORT_NAME) && !moat_name_is_ip(&n))
			return refuse(err, s, kind, "\"%.80s\" is not an IP address", n.text);
		snprintf(hp.host, sizeof(hp.host), "%s", n.text);
		hp.ipv6 = n.type == MOAT_NAME_IPV6;
	}
	if (port != NULL) {
		if (moat_parse_port(port, (flags & MOAT_HOSTPORT_PORT_ZERO) != 0, &hp.port, NULL) != 0)
			return refuse(err, s, kind, "it has a bad port (%d-65535)",
				      flags & MOAT_HOSTPORT_PORT_ZERO ? 0 : 1);
		hp.has_port = true;
	}
	*out = hp;
	return 0;
}

int moat_hostport_text(const struct moat_hostport *hp, char *out, size_t n)
{
	int r;

	if (hp->has_port)
		r = snprintf(out, n, hp->ipv6 ? "[%s]:%u" : "%s:%u", hp->host, (unsigned)hp->port);
	else
		r = snprintf(out, n, hp->ipv6 ? "[%s]" : "%s", hp->host);
	return r < 0 || (size_t)r >= n ? -1 : 0;
}

/* iso: "2026-12-07T19:30:00Z", else "2026-12-07" (literal formats, for
 * -Wformat=2). */
static void utc_text(int64_t t, bool iso, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	size_t k = 0;

	if (gmtime_r(&tt, &tm) != NULL)
		k = iso ? strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm) : strftime(out, n, "%Y-%m-%d", &tm);
	if (k == 0)
		snprintf(out, n, "?");
}

void moat_date(int64_t t, char *out, size_t n)
{
	utc_text(t, false, out, n);
}

void moat_time_iso(int64_t t, char *out, size_t n)
{
	utc_text(t, true, out, n);
}
