/* dns.h: asking DNS for TXT records (dns-01 propagation checks, in
 * solve_dns.c) and addresses (moat ca serve's validation, when told which
 * server to ask).  Not for use outside src/acme/ and src/caserve/. */
#ifndef MOAT_ACME_DNS_H
#define MOAT_ACME_DNS_H

#include <stddef.h>

#include "core/err.h"

#define ACME_DNS_MAX_TXT 16

struct acme_dns_txt {
	char values[ACME_DNS_MAX_TXT][256]; /* printable ASCII; others become '?' */
	size_t n;
};

/* The TXT records of name, from server ("IPv4[:PORT]") or, with NULL, the
 * system's resolvers.  No records (or no such name) is success with n 0;
 * -1 only for errors that are not answers. */
int acme_dns_txt(const char *name, const char *server, struct acme_dns_txt *out,
		 struct moat_err *err);

/* The first address (A, else AAAA) of name as text into out (n bytes),
 * from server or the system's resolvers; -1 with err when there is none. */
int acme_dns_addr(const char *name, const char *server, char *out, size_t n,
		  struct moat_err *err);

#endif
