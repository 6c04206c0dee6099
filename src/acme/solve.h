/* solve.h: the ways moat answers ACME challenges. */
#ifndef MOAT_ACME_SOLVE_H
#define MOAT_ACME_SOLVE_H

#include <stdint.h>

#include "acme/acme.h"

/* ---- http-01 (solve_http.c) ------------------------------------------- */

struct acme_http01;

/* Answer on addr:port with moat's own HTTP server (NULL addr: all
 * addresses).  Port 80 unless the CA validates elsewhere (tests). */
struct acme_http01 *acme_http01_standalone(const char *addr, uint16_t port,
					   struct moat_err *err);
/* Write DIR/.well-known/acme-challenge/TOKEN for a running web server. */
struct acme_http01 *acme_http01_webroot(const char *dir, struct moat_err *err);
void acme_http01_free(struct acme_http01 *h);
void acme_http01_solver(struct acme_http01 *h, struct acme_solver *s);

/* ---- tls-alpn-01 (solve_tls.c) ------------------------------------ */

struct acme_tlsalpn01;

/* The ALPN protocol of tls-alpn-01 (RFC 8737): a TLS server answers it
 * with a handshake-only certificate (net_tls_ctx_sole_set). */
#define ACME_TLS_ALPN "acme-tls/1"

/* Answer on addr:port (NULL addr: all addresses; port 443 unless the CA
 * validates elsewhere) with a TLS listener of moat's own (net.h) whose
 * only certificates are the challenges'. */
struct acme_tlsalpn01 *acme_tlsalpn01_standalone(const char *addr, uint16_t port,
						 struct moat_err *err);
uint16_t acme_tlsalpn01_port(const struct acme_tlsalpn01 *t);
/* The self-signed certificate (and its new key) that answers the challenge
 * for id with key authorization ka (RFC 8737 section 3), for a TLS server
 * of the caller's own. */
int acme_tlsalpn01_cert(const struct moat_name *id, const char *ka, struct pki_cert **cert,
			struct pki_key **key, struct moat_err *err);
void acme_tlsalpn01_free(struct acme_tlsalpn01 *t);
void acme_tlsalpn01_solver(struct acme_tlsalpn01 *t, struct acme_solver *s);
/* The SNI name a validator sends for id: the DNS name itself; for an IP
 * address its reverse name (RFC 8738 section 6): "4.3.2.1.in-addr.arpa"
 * for 1.2.3.4, 32 nibbles then "ip6.arpa" for IPv6.  -1 for wildcards or
 * when out (n bytes) is too small. */
int acme_tlsalpn01_sni(const struct moat_name *id, char *out, size_t n);

/* ---- manual http-01 (solve_manual.c) --------------------------------- */

struct acme_manual_http;

/* hook: run as `CMD add|remove TOKEN CONTENT` (also MOAT_HTTP_TOKEN,
 * MOAT_HTTP_CONTENT, MOAT_HTTP_URL, MOAT_DOMAIN) to publish the file; NULL:
 * show it on the terminal and wait for Enter.  Either way moat fetches the
 * URL (on port, 80 for real CAs) and asks the CA only when it answers right. */
struct acme_manual_http *acme_manual_http_new(const char *hook, int port, struct moat_err *err);
void acme_manual_http_free(struct acme_manual_http *m);
void acme_manual_http_solver(struct acme_manual_http *m, struct acme_solver *s);

/* ---- dns-01 (solve_dns.c) -------------------------------------------- */

struct acme_dns01;

/* hook: a command run as `CMD add|remove NAME VALUE` (also MOAT_DNS_ACTION,
 * MOAT_DNS_NAME, MOAT_DNS_VALUE, MOAT_DOMAIN in its environment; exit 0 =
 * done); NULL for manual mode, which shows the record on the terminal and
 * waits for Enter.  Either way moat then waits (up to wait_s) until the
 * record is visible through resolver ("IPv4[:PORT]", NULL = the system's). */
struct acme_dns01 *acme_dns01_new(const char *hook, const char *resolver, int wait_s,
				  struct moat_err *err);
void acme_dns01_free(struct acme_dns01 *d);
void acme_dns01_solver(struct acme_dns01 *d, struct acme_solver *s);

#endif
