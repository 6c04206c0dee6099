/* permit.h: name constraints given with `moat ca init --permit`.
 *
 * A permit is either a DNS subtree or an IP range:
 *   "home.example"    home.example and every name below it
 *   ".local"          every name below local, but not "local" itself
 *   "192.168.0.0/16"  an IPv4 CIDR range (host bits must be zero)
 *   "fd00::/8"        an IPv6 CIDR range
 *   "10.0.0.1"        a single address (= /32 or /128)
 * Matching follows RFC 5280 4.2.1.10 as OpenSSL, Go and Chrome apply it. */
#ifndef MOAT_CORE_PERMIT_H
#define MOAT_CORE_PERMIT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "core/names.h"

enum moat_permit_type { MOAT_PERMIT_DNS, MOAT_PERMIT_IP };

struct moat_permit {
	enum moat_permit_type type;
	char dns[MOAT_NAME_MAX + 2]; /* lower case, may start with '.' */
	unsigned char ip[16];        /* network address */
	unsigned char mask[16];      /* netmask bytes */
	size_t iplen;                /* 4 or 16 for IP permits */
	unsigned prefix;             /* prefix length for IP permits */
	char text[64 + MOAT_NAME_MAX]; /* canonical text: "home.example", "192.168.0.0/16" */
};

int moat_permit_parse(const char *in, struct moat_permit *out, struct moat_err *err);
/* Does this one permit cover the name? (DNS permits never cover IPs and
 * vice versa.)  A wildcard "*.a.b" is covered when "x.a.b" would be. */
bool moat_permit_match(const struct moat_permit *p, const struct moat_name *n);
/* RFC 5280 semantics for a set: a name is allowed when the set holds no
 * permit of its kind... unless `strict` is true, in which case a kind with
 * no permits is excluded altogether (this is what moat puts in certificates:
 * see pki_cert_build).  Returns true when allowed. */
bool moat_permits_allow(const struct moat_permit *p, size_t n, bool strict,
			const struct moat_name *name);

#endif
