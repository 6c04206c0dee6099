/* target.c: what the user names to check: a URL or host[:port]. */
#include "check/check.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/names.h"
#include "core/parse.h"

static int bad(struct moat_err *err, const char *s, const char *why)
{
	char e[128];

	moat_escape(e, sizeof(e), s, strlen(s));
	moat_err_set(err, "cannot check \"%s\": %s", e, why);
	moat_err_hint(err, "give https://HOST[:PORT][/PATH] or HOST[:PORT]");
	return -1;
}

/* The len bytes at p as a port, 1-65535. */
static bool parse_port(const char *p, size_t len, uint16_t *out)
{
	char digits[8];

	if (len >= sizeof(digits))
		return false;
	memcpy(digits, p, len);
	digits[len] = '\0';
	return moat_parse_port(digits, false, out, NULL) == 0;
}

int check_target_parse(const char *s, struct check_target *out, struct moat_err *err)
{
	const char *p = s, *hend, *slash;
	struct check_target t;
	unsigned char ipbuf[16];
	size_t hlen;

	memset(&t, 0, sizeof(t));
	if (strlen(s) >= CHECK_PATH_MAX)
		return bad(err, s, "too long");
	if (strncasecmp(p, "https://", 8) == 0) {
		t.scheme = CHECK_SCHEME_HTTPS;
		p += 8;
	} else if (strncasecmp(p, "http://", 7) == 0) {
		t.scheme = CHECK_SCHEME_HTTP;
		p += 7;
	} else if (strstr(p, "://") != NULL) {
		return bad(err, s, "only https:// and http:// URLs can be checked");
	}
	slash = p + strcspn(p, "/?#");
	if (*slash == '/')
		snprintf(t.path, sizeof(t.path), "%.*s", (int)strcspn(slash, "#"), slash);
	else if (*slash == '?')
		snprintf(t.path, sizeof(t.path), "/%.*s", (int)strcspn(slash, "#"), slash);
	else
		snprintf(t.path, sizeof(t.path), "/");
	if (memchr(p, '@', (size_t)(slash - p)) != NULL)
		return bad(err, s, "user names in URLs are not supported");
	if (*p == '[') {
		/* [v6]:port */
		const char *close = memchr(p, ']', (size_t)(slash - p));
		if (close == NULL)
			return bad(err, s, "missing ']' after the IPv6 address");
		hlen = (size_t)(close - p - 1);
		if (hlen >= sizeof(t.host))
			return bad(err, s, "host name too long");
		memcpy(t.host, p + 1, hlen);
		t.host[hlen] = '\0';
		hend = close + 1;
		if (inet_pton(AF_INET6, t.host, ipbuf) != 1)
			return bad(err, s, "not an IPv6 address in brackets");
	} else {
		const char *colon = memchr(p, ':', (size_t)(slash - p));
		/* a bare IPv6 address (two colons or more) has no port */
		if (colon != NULL && memchr(colon + 1, ':', (size_t)(slash - colon - 1)) != NULL)
			colon = NULL;
		hend = colon != NULL ? colon : slash;
		hlen = (size_t)(hend - p);
		if (hlen == 0)
			return bad(err, s, "no host");
		if (hlen >= sizeof(t.host))
			return bad(err, s, "host name too long");
		memcpy(t.host, p, hlen);
		t.host[hlen] = '\0';
	}
	if (*hend == ':') {
		if (!parse_port(hend + 1, (size_t)(slash - hend - 1), &t.port))
			return bad(err, s, "the port must be a number from 1 to 65535");
		t.port_given = true;
	} else if (hend != slash) {
		return bad(err, s, "unexpected text after the host");
	} else {
		t.port = t.scheme == CHECK_SCHEME_HTTP ? 80 : 443;
	}
	t.host_is_ip = inet_pton(AF_INET, t.host, ipbuf) == 1 ||
		       inet_pton(AF_INET6, t.host, ipbuf) == 1;
	if (!t.host_is_ip) {
		struct moat_name n;
		/* a trailing dot is fine in DNS; names are compared without it */
		size_t l = strlen(t.host);
		if (l > 1 && t.host[l - 1] == '.')
			t.host[l - 1] = '\0';
		for (char *c = t.host; *c != '\0'; c++)
			*c = (char)tolower((unsigned char)*c);
		if (moat_name_parse(t.host, &n, NULL) != 0 || n.type != MOAT_NAME_DNS)
			return bad(err, s, "not a valid host name or IP address");
	}
	*out = t;
	return 0;
}
