#include "core/permit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define SHOW_MAX 96


/* "invalid permit "<in>": <reason>" */
static int fail(struct moat_err *err, const char *in, const char *fmt, ...) MOAT_PRINTF(3, 4);

static int fail(struct moat_err *err, const char *in, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	moat_err_invalid(err, "permit", in, fmt, ap);
	va_end(ap);
	return -1;
}

/* Turn the error of moat_name_parse ("invalid name "...": reason") into
 * one about the permit, keeping the reason and the hint. */
static int fail_from_name(struct moat_err *err, const char *in, const struct moat_err *nerr)
{
	const char *why = nerr->msg;
	const char *sep;

	/* The escaped name never contains a '"', so the first '": ' ends it. */
	if (strncmp(why, "invalid name \"", 14) == 0 && (sep = strstr(why + 14, "\": ")) != NULL)
		why = sep + 3;
	fail(err, in, "%s", why);
	if (nerr->hint[0] != '\0')
		moat_err_hint(err, "%s", nerr->hint);
	return -1;
}

static void make_mask(unsigned char *mask, size_t len, unsigned prefix)
{
	for (size_t i = 0; i < len; i++) {
		if (prefix >= 8) {
			mask[i] = 0xff;
			prefix -= 8;
		} else {
			mask[i] = (unsigned char)(0xff00u >> prefix);
			prefix = 0;
		}
	}
}

static int parse_ip(const char *in, struct moat_permit *out, struct moat_err *err)
{
	char addr[64];
	const char *slash = strchr(in, '/');
	size_t alen = slash != NULL ? (size_t)(slash - in) : strlen(in);
	struct moat_name n;
	struct moat_err nerr;
	unsigned prefix, maxp;
	bool host_bits = false;
	char net[INET6_ADDRSTRLEN];

	if (alen == 0)
		return fail(err, in, "the address before '/' is missing");
	if (alen >= sizeof(addr))
		return fail(err, in, "not a valid IP address or DNS name");
	memcpy(addr, in, alen);
	addr[alen] = '\0';
	moat_err_clear(&nerr);
	if (moat_name_parse(addr, &n, &nerr) != 0)
		return fail_from_name(err, in, &nerr);
	if (!moat_name_is_ip(&n))
		return fail(err, in, "\"%s\" before '/' is not an IP address", n.text);
	maxp = n.iplen == 4 ? 32 : 128;
	if (slash == NULL) {
		prefix = maxp;
	} else {
		const char *p = slash + 1;
		size_t plen = strlen(p);
		char show[SHOW_MAX];

		prefix = 0;
		for (size_t i = 0; i < plen; i++) {
			if (p[i] < '0' || p[i] > '9' || plen > 3 || (i == 0 && p[i] == '0' && plen > 1)) {
				moat_escape(show, sizeof(show), p, plen);
				return fail(err, in, "the prefix length \"%s\" is not a number from 0 to %u",
					    show, maxp);
			}
			prefix = prefix * 10 + (unsigned)(p[i] - '0');
		}
		if (plen == 0)
			return fail(err, in, "the prefix length after '/' is missing");
		if (prefix > maxp)
			return fail(err, in, "prefix length %u is out of range for IPv%d (0-%u)", prefix,
				    n.iplen == 4 ? 4 : 6, maxp);
	}
	memset(out, 0, sizeof(*out));
	out->type = MOAT_PERMIT_IP;
	out->iplen = n.iplen;
	out->prefix = prefix;
	make_mask(out->mask, n.iplen, prefix);
	for (size_t i = 0; i < n.iplen; i++) {
		out->ip[i] = n.ip[i] & out->mask[i];
		if (out->ip[i] != n.ip[i])
			host_bits = true;
	}
	inet_ntop(n.iplen == 4 ? AF_INET : AF_INET6, out->ip, net, sizeof(net));
	if (host_bits) {
		fail(err, in, "host bits are set; did you mean %s/%u?", net, prefix);
		moat_err_hint(err, "a range is written with its first address, e.g. %s/%u", net,
			      prefix);
		return -1;
	}
	snprintf(out->text, sizeof(out->text), "%s/%u", net, prefix);
	return 0;
}

static int parse_dns(const char *in, struct moat_permit *out, struct moat_err *err)
{
	bool dot = in[0] == '.';
	const char *rest = dot ? in + 1 : in;
	struct moat_name n;
	struct moat_err nerr;
	size_t len;

	if (rest[0] == '\0')
		return fail(err, in, "a domain is needed after '.'");
	if (rest[0] == '.')
		return fail(err, in, "empty label");
	if (rest[0] == '*') {
		fail(err, in, "a wildcard cannot be a constraint");
		moat_err_hint(err, "a domain such as \"home.example\" allows that name and every name "
				   "below it");
		return -1;
	}
	moat_err_clear(&nerr);
	if (moat_name_parse(rest, &n, &nerr) != 0)
		return fail_from_name(err, in, &nerr);
	if (n.type != MOAT_NAME_DNS)
		return fail(err, in, "an IP address cannot follow '.'");
	len = strnlen(n.text, sizeof(n.text));
	if (len > MOAT_NAME_MAX)
		return fail(err, in, "the name is too long");
	memset(out, 0, sizeof(*out));
	out->type = MOAT_PERMIT_DNS;
	if (dot)
		out->dns[0] = '.';
	memcpy(out->dns + dot, n.text, len);
	memcpy(out->text, out->dns, len + dot);
	return 0;
}

static bool looks_ip(const char *in)
{
	bool digit = false;

	if (strstr(in, "://") != NULL)
		return false; /* a URL: let the name check explain */
	if (strchr(in, '/') != NULL || strchr(in, ':') != NULL)
		return true;
	for (const char *p = in; *p != '\0'; p++) {
		if (*p >= '0' && *p <= '9')
			digit = true;
		else if (*p != '.')
			return false;
	}
	return digit && in[0] != '.';
}

int moat_permit_parse(const char *in, struct moat_permit *out, struct moat_err *err)
{
	if (in == NULL || in[0] == '\0') {
		moat_err_set(err, "invalid permit \"\": empty");
		moat_err_hint(err, "give a domain (\"home.example\", \".local\") or an IP range "
				   "(\"192.168.0.0/16\")");
		return -1;
	}
	return looks_ip(in) ? parse_ip(in, out, err) : parse_dns(in, out, err);
}

/* Case-insensitive: does name end with suffix? */
static bool ends_with(const char *name, size_t nlen, const char *suffix, size_t slen)
{
	return nlen >= slen && strncasecmp(name + nlen - slen, suffix, slen) == 0;
}

static bool match_dns(const char *c, const char *name)
{
	size_t clen = strnlen(c, MOAT_NAME_MAX + 2);
	size_t nlen = strnlen(name, MOAT_NAME_MAX + 3);

	if (clen == 0)
		return true; /* an empty constraint covers every name */
	if (c[0] == '.')
		return nlen > clen && ends_with(name, nlen, c, clen);
	if (nlen == clen)
		return strcasecmp(name, c) == 0;
	return nlen > clen && ends_with(name, nlen, c, clen) && name[nlen - clen - 1] == '.';
}

bool moat_permit_match(const struct moat_permit *p, const struct moat_name *n)
{
	if (p->type == MOAT_PERMIT_DNS) {
		/* "*.a.b" is matched as "x.a.b": the suffix test is the same. */
		if (n->type != MOAT_NAME_DNS && n->type != MOAT_NAME_WILDCARD)
			return false;
		return match_dns(p->dns, n->text);
	}
	if (p->type != MOAT_PERMIT_IP || !moat_name_is_ip(n) || n->iplen != p->iplen ||
	    p->iplen > sizeof(p->ip))
		return false;
	for (size_t i = 0; i < p->iplen; i++)
		if ((n->ip[i] & p->mask[i]) != (p->ip[i] & p->mask[i]))
			return false;
	return true;
}

bool moat_permits_allow(const struct moat_permit *p, size_t n, bool strict,
			const struct moat_name *name)
{
	enum moat_permit_type kind = moat_name_is_ip(name) ? MOAT_PERMIT_IP : MOAT_PERMIT_DNS;
	bool have_kind = false;

	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++) {
		if (p[i].type != kind)
			continue;
		have_kind = true;
		if (moat_permit_match(&p[i], name))
			return true;
	}
	return have_kind ? false : !strict;
}
