/* names.h: the names a certificate can be issued for, validated strictly.
 *
 * Accepted forms:
 *   DNS name       "example.com", "printer.local", "localhost"  (LDH labels,
 *                  1-63 octets each, at most 253 in all, final label not
 *                  all-numeric); upper case is folded, one trailing dot is
 *                  dropped.
 *   wildcard       "*.example.com": "*" is the whole leftmost label and at
 *                  least two labels follow it.
 *   IPv4 address   "192.168.1.10" (four decimal octets, no leading zeros)
 *   IPv6 address   "::1", "[fe80::1]" (brackets dropped; zone ids refused);
 *                  stored in the canonical RFC 5952 text form.
 * Everything else is refused with a message that says what is wrong, e.g.
 *   invalid name "exa mple.com": ' ' is not allowed in a DNS name ... */
#ifndef MOAT_CORE_NAMES_H
#define MOAT_CORE_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

#define MOAT_NAME_MAX 253

enum moat_name_type {
	MOAT_NAME_DNS,
	MOAT_NAME_WILDCARD, /* text keeps the "*." prefix */
	MOAT_NAME_IPV4,
	MOAT_NAME_IPV6,
};

struct moat_name {
	enum moat_name_type type;
	char text[MOAT_NAME_MAX + 3]; /* normalised text form */
	unsigned char ip[16];         /* network order; 4 or 16 bytes used */
	size_t iplen;                 /* 0 for DNS and wildcard names */
};

int moat_name_parse(const char *in, struct moat_name *out, struct moat_err *err);
/* Build a name from the raw bytes of an iPAddress SAN (4 or 16 bytes). */
int moat_name_from_ip(const unsigned char *ip, size_t len, struct moat_name *out,
		      struct moat_err *err);
bool moat_name_is_ip(const struct moat_name *n);
/* True for DNS/wildcard names under .local (mDNS / Bonjour). */
bool moat_name_is_mdns(const struct moat_name *n);
/* A file-system-safe lineage directory name for this name: the text, with
 * "*." replaced by "_wildcard." and ':' (IPv6) kept as is. */
void moat_name_lineage(const struct moat_name *n, char *out, size_t outlen);
/* Parse a list; duplicates (after normalisation) are dropped. */
int moat_names_parse(const char *const *in, size_t n, struct moat_name **out, size_t *nout,
		     struct moat_err *err);

#endif
