#include "core/names.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LABEL_MAX 63
#define SHOW_MAX 96 /* room for an escaped piece of the input */

/* "invalid name "<in>": <reason>" */
static int fail(struct moat_err *err, const char *in, const char *fmt, ...) MOAT_PRINTF(3, 4);

static int fail(struct moat_err *err, const char *in, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	moat_err_invalid(err, "name", in, fmt, ap);
	va_end(ap);
	return -1;
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_ldh(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-';
}

static bool is_hex(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool all_digits(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_digit((unsigned char)s[i]))
			return false;
	return true;
}

/* A label that URL parsers read as a number: decimal, or 0x hex. */
static bool numeric_label(const char *s, size_t len)
{
	if (all_digits(s, len))
		return true;
	if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		for (size_t i = 2; i < len; i++)
			if (!is_hex((unsigned char)s[i]))
				return false;
		return true;
	}
	return false;
}

static void set_ip(struct moat_name *out, const unsigned char *ip, size_t len)
{
	memset(out->ip, 0, sizeof(out->ip));
	memcpy(out->ip, ip, len);
	out->iplen = len;
	out->type = len == 4 ? MOAT_NAME_IPV4 : MOAT_NAME_IPV6;
	inet_ntop(len == 4 ? AF_INET : AF_INET6, ip, out->text, sizeof(out->text));
}

/* s is the text between brackets, or the whole input; it contains ':'. */
static int parse_ipv6(const char *in, const char *s, size_t len, struct moat_name *out,
		      struct moat_err *err)
{
	char buf[INET6_ADDRSTRLEN];
	unsigned char ip[16];
	const char *pct = memchr(s, '%', len);
	const char *colon = memchr(s, ':', len);
	char show[SHOW_MAX];

	if (pct != NULL) {
		moat_escape(show, sizeof(show), pct, len - (size_t)(pct - s));
		fail(err, in, "IPv6 zone ids (\"%s\") cannot be part of a certificate name", show);
		moat_err_hint(err, "leave out the %%zone part: the address alone is what goes into "
				   "the certificate");
		return -1;
	}
	if ((size_t)(colon - s) + 3 <= len && memcmp(colon, "://", 3) == 0) {
		fail(err, in, "this looks like a URL, not a name");
		moat_err_hint(err, "give the host name only, e.g. \"example.com\"");
		return -1;
	}
	if (len < sizeof(buf)) {
		memcpy(buf, s, len);
		buf[len] = '\0';
		if (inet_pton(AF_INET6, buf, ip) == 1) {
			set_ip(out, ip, 16);
			return 0;
		}
	}
	if (colon != NULL && memchr(colon + 1, ':', len - (size_t)(colon - s) - 1) == NULL &&
	    all_digits(colon + 1, len - (size_t)(colon - s) - 1)) {
		fail(err, in, "a port number cannot be part of a certificate name");
		moat_err_hint(err, "leave out the \":port\" part");
		return -1;
	}
	return fail(err, in, "not a valid IPv6 address");
}

/* Four decimal octets 0-255 without leading zeros. */
static int parse_ipv4(const char *in, const char *s, size_t len, struct moat_name *out,
		      struct moat_err *err)
{
	unsigned char ip[4];
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		size_t start = i;
		unsigned v = 0;

		while (i < len && s[i] != '.')
			i++;
		if (i == start)
			return fail(err, in, "not a valid IPv4 address (part %d is empty)", part + 1);
		if (i - start > 1 && s[start] == '0') {
			fail(err, in, "IPv4 octet \"%.*s\" has a leading zero", (int)(i - start),
			     s + start);
			moat_err_hint(err, "leading zeros are read as octal by some software; write "
					   "each part without them");
			return -1;
		}
		if (i - start > 3)
			return fail(err, in, "IPv4 octet \"%.*s\" is greater than 255",
				    (int)(i - start), s + start);
		for (size_t k = start; k < i; k++)
			v = v * 10 + (unsigned)(s[k] - '0');
		if (v > 255)
			return fail(err, in, "IPv4 octet \"%.*s\" is greater than 255",
				    (int)(i - start), s + start);
		ip[part] = (unsigned char)v;
		i++; /* the dot */
	}
	set_ip(out, ip, 4);
	return 0;
}

/* Check one character of a would-be DNS name; pos is its offset in s. */
static int check_char(const char *in, const char *s, size_t pos, struct moat_err *err)
{
	unsigned char c = (unsigned char)s[pos];
	char show[8];

	if (is_ldh(c) || c == '.')
		return 0;
	if (c >= 0x80) {
		fail(err, in, "non-ASCII characters are not allowed in a DNS name");
		moat_err_hint(err, "use the punycode (xn--) form of an internationalised name, "
				   "e.g. \"xn--bcher-kva.example\"");
		return -1;
	}
	if (c == '*') {
		fail(err, in, "'*' is only allowed as the whole leftmost label of a wildcard, "
			      "as in \"*.example.com\"");
		return -1;
	}
	if (c == '_') {
		fail(err, in, "'_' is not allowed in a host name (letters, digits, '-' and '.' only)");
		moat_err_hint(err, "underscores appear in some DNS records, but browsers and TLS "
				   "libraries reject them in certificate names");
		return -1;
	}
	if (c == '/') {
		fail(err, in, "'/' is not allowed in a DNS name (letters, digits, '-' and '.' only)");
		moat_err_hint(err, "give a host name or an address, not a URL or a network range");
		return -1;
	}
	moat_escape(show, sizeof(show), (const char *)&c, 1);
	return fail(err, in, "'%s' is not allowed in a DNS name (letters, digits, '-' and '.' only)",
		    show);
}

/* Validate s (len bytes, trailing dot already removed) as a DNS name and
 * write it in lower case to dst (size >= len + 1).  Numbers-only names are
 * treated as (possibly broken) IPv4 addresses by the caller. */
static int check_dns(const char *in, const char *s, size_t len, char *dst, struct moat_err *err)
{
	size_t start = 0;
	const char *last;
	size_t lastlen;

	if (len == 0)
		return fail(err, in, "empty name");
	for (size_t i = 0; i < len; i++) {
		if (check_char(in, s, i, err) != 0)
			return -1;
	}
	for (size_t i = 0; i <= len; i++) {
		size_t ll;

		if (i < len && s[i] != '.')
			continue;
		ll = i - start;
		if (ll == 0)
			return fail(err, in, "empty label");
		if (ll > LABEL_MAX)
			return fail(err, in, "label \"%.20s...\" is %zu characters long (at most %d)",
				    s + start, ll, LABEL_MAX);
		if (s[start] == '-')
			return fail(err, in, "label \"%.*s\" starts with a hyphen", (int)ll, s + start);
		if (s[i - 1] == '-')
			return fail(err, in, "label \"%.*s\" ends with a hyphen", (int)ll, s + start);
		start = i + 1;
	}
	last = memrchr(s, '.', len);
	last = last == NULL ? s : last + 1;
	lastlen = len - (size_t)(last - s);
	if (numeric_label(last, lastlen))
		return fail(err, in, "a DNS name cannot end in a numeric label (\"%.*s\")",
			    (int)lastlen, last);
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		dst[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	dst[len] = '\0';
	return 0;
}

static bool digits_and_dots(const char *s, size_t len)
{
	bool digit = false;

	for (size_t i = 0; i < len; i++) {
		if (is_digit((unsigned char)s[i]))
			digit = true;
		else if (s[i] != '.')
			return false;
	}
	return digit;
}

int moat_name_parse(const char *in, struct moat_name *out, struct moat_err *err)
{
	struct moat_name n;
	size_t len, dots = 0;
	const char *s;
	int ret = -1;

	memset(&n, 0, sizeof(n));
	if (in == NULL || in[0] == '\0') {
		fail(err, "", "empty name");
		goto out;
	}
	len = strlen(in);
	s = in;
	if (in[0] == '[') {
		const char *close = strchr(in, ']');

		if (close != NULL && close[1] == ':' && all_digits(close + 2, strlen(close + 2))) {
			fail(err, in, "a port number cannot be part of a certificate name");
			moat_err_hint(err, "leave out the \":port\" part");
			goto out;
		}
		if (len < 3 || in[len - 1] != ']' || memchr(in + 1, ':', len - 2) == NULL) {
			fail(err, in, "brackets are only used around IPv6 addresses, as in \"[::1]\"");
			goto out;
		}
		ret = parse_ipv6(in, in + 1, len - 2, &n, err);
		goto out;
	}
	if (strchr(in, ':') != NULL) {
		ret = parse_ipv6(in, in, len, &n, err);
		goto out;
	}
	if (len > 1 && in[len - 1] == '.')
		len--;
	if (len > MOAT_NAME_MAX) {
		fail(err, in, "the name is %zu characters long (at most %d)", len, MOAT_NAME_MAX);
		goto out;
	}
	if (digits_and_dots(s, len)) {
		for (size_t i = 0; i < len; i++)
			dots += s[i] == '.';
		if (dots == 3) {
			ret = parse_ipv4(in, s, len, &n, err);
		} else {
			fail(err, in,
			     "not an IPv4 address (%zu part%s) and a DNS name cannot end in a "
			     "numeric label",
			     dots + 1, dots == 0 ? "" : "s");
		}
		goto out;
	}
	if (s[0] == '*' && (len == 1 || s[1] == '.')) {
		const char *rest = s + 2;
		size_t rlen = len > 2 ? len - 2 : 0;

		if (rlen == 0 || memchr(rest, '.', rlen) == NULL) {
			/* Still report bad characters first. */
			for (size_t i = 0; i < rlen; i++)
				if (check_char(in, rest, i, err) != 0)
					goto out;
			fail(err, in, "a wildcard needs at least two labels after \"*\"");
			moat_err_hint(err, "browsers reject wildcards directly under a top-level "
					   "domain; use e.g. \"*.home.example\", or list the names");
			goto out;
		}
		n.text[0] = '*';
		n.text[1] = '.';
		if (check_dns(in, rest, rlen, n.text + 2, err) != 0)
			goto out;
		n.type = MOAT_NAME_WILDCARD;
		ret = 0;
		goto out;
	}
	if (check_dns(in, s, len, n.text, err) != 0)
		goto out;
	n.type = MOAT_NAME_DNS;
	ret = 0;
out:
	if (ret == 0 && out != NULL)
		*out = n;
	return ret;
}

int moat_name_from_ip(const unsigned char *ip, size_t len, struct moat_name *out,
		      struct moat_err *err)
{
	if (ip == NULL || (len != 4 && len != 16)) {
		moat_err_set(err, "invalid IP address: %zu bytes (an address has 4 or 16)", len);
		return -1;
	}
	memset(out, 0, sizeof(*out));
	set_ip(out, ip, len);
	return 0;
}

bool moat_name_is_ip(const struct moat_name *n)
{
	return n->type == MOAT_NAME_IPV4 || n->type == MOAT_NAME_IPV6;
}

bool moat_name_is_mdns(const struct moat_name *n)
{
	static const char suffix[] = ".local";
	size_t len, sl = sizeof(suffix) - 1;

	if (moat_name_is_ip(n))
		return false;
	len = strnlen(n->text, sizeof(n->text));
	return len > sl && strcasecmp(n->text + len - sl, suffix) == 0;
}

void moat_name_lineage(const struct moat_name *n, char *out, size_t outlen)
{
	if (outlen == 0)
		return;
	if (n->type == MOAT_NAME_WILDCARD && strncmp(n->text, "*.", 2) == 0)
		snprintf(out, outlen, "_wildcard.%s", n->text + 2);
	else
		snprintf(out, outlen, "%s", n->text);
}

static bool same_name(const struct moat_name *a, const struct moat_name *b)
{
	return a->type == b->type && strcmp(a->text, b->text) == 0;
}

int moat_names_parse(const char *const *in, size_t n, struct moat_name **out, size_t *nout,
		     struct moat_err *err)
{
	struct moat_name *names = NULL;
	size_t count = 0;
	int ret = -1;

	*out = NULL;
	*nout = 0;
	if (n == 0) {
		moat_err_set(err, "no names given");
		moat_err_hint(err, "give at least one DNS name or IP address, e.g. \"localhost\"");
		goto out;
	}
	names = calloc(n, sizeof(*names));
	if (names == NULL) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		bool dup = false;

		if (moat_name_parse(in[i], &names[count], err) != 0)
			goto out;
		for (size_t k = 0; k < count && !dup; k++)
			dup = same_name(&names[k], &names[count]);
		if (!dup)
			count++;
	}
	*out = names;
	*nout = count;
	names = NULL;
	ret = 0;
out:
	free(names);
	return ret;
}
