/* caserve.h: `moat ca serve` -- the private CA as an ACME server (RFC 8555)
 * over HTTPS, with its revocation services over plain HTTP.
 *
 * One process on an existing CA (the intermediate signs; the root's key is
 * never loaded).  ACME at https://NAME:HTTPS_PORT/acme/directory, its TLS
 * certificate for NAME issued by the CA itself; OCSP, the CRL and the CA
 * certificates at http://NAME:HTTP_PORT/.  The ACME state (accounts,
 * orders, authorizations) is in ca/acme.db beside the CA database, so a
 * restart loses nothing but nonces.
 *
 * Conventions as everywhere in moat: 0 / -1 with err filled; constructors
 * return NULL; free accepts NULL. */
#ifndef MOAT_CASERVE_H
#define MOAT_CASERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define CASERVE_HTTPS_PORT 9443
#define CASERVE_HTTP_PORT 9080
#define CASERVE_RATE_ORDERS 300   /* default new orders per account per hour */
#define CASERVE_RATE_ACCOUNTS 50  /* default new accounts per address per hour */

struct ca;

struct caserve_opts {
	const char *home;         /* MOAT_HOME */
	const char *listen;       /* an IP address; NULL: every address */
	uint16_t https_port;      /* ACME */
	uint16_t http_port;       /* OCSP, CRL, CA certificates */
	const char *name;         /* the host name in every URL handed out */
	/* where validation connects (tests; as pebble's configuration does) */
	uint16_t http01_port;     /* 0: 80 */
	uint16_t tls_alpn_port;   /* 0: 443 */
	const char *dns_resolver; /* "IP[:PORT]" for A/AAAA and TXT; NULL: the system's */
	unsigned nonce_reject;    /* chaos: reject this percentage of good nonces */
	bool require_eab;
	unsigned rate_orders;     /* new orders per account per hour (0: no limit) */
	unsigned rate_accounts;   /* new accounts per client address per hour (0: no limit) */
};

/* One line per event (issuance, revocation, validation failure, start),
 * escaped, for the CLI to print; called on the server's threads. */
typedef void (*caserve_log_fn)(void *arg, const char *line);

struct caserve;

/* Open the server on ca (borrowed, opened and unlocked: it outlives s),
 * bind its ports; nothing is served until caserve_start. */
struct caserve *caserve_new(struct ca *ca, const struct caserve_opts *o, caserve_log_fn log,
			    void *log_arg, struct moat_err *err);
/* Serve on a thread of its own; returns once it accepts. */
int caserve_start(struct caserve *s, struct moat_err *err);
/* The ports bound (useful after port 0). */
uint16_t caserve_https_port(const struct caserve *s);
uint16_t caserve_http_port(const struct caserve *s);
/* "https://NAME:PORT/acme/directory" */
const char *caserve_directory_url(const struct caserve *s);
/* Stop serving (any thread; not signal-safe). */
void caserve_stop(struct caserve *s);
void caserve_free(struct caserve *s);

/* A new external account binding key for the CA in home (ca/acme.db),
 * named name for the operator: its key id into kid and its HMAC key
 * (base64url, as clients take it) into hmac. */
int caserve_eab_add(const char *home, const char *name, char *kid, size_t kn, char *hmac, size_t hn,
		    struct moat_err *err);

#endif
