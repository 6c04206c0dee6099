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
uint16_t acme_http01_port(const struct acme_http01 *h);
void acme_http01_free(struct acme_http01 *h);
void acme_http01_solver(struct acme_http01 *h, struct acme_solver *s);

#endif
