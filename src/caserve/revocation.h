/* revocation.h: the HTTP port of `moat ca serve` -- the OCSP responder
 * (RFC 6960 with the RFC 5019 profile: POST and GET), the CRL and the CA
 * certificates (DER, for AIA caIssuers).  An application for
 * net_server_listen_http_opts (net/net.h) with max_body
 * CASERVE_OCSP_MAX_REQUEST.
 *
 * Answers are signed by the CA's delegated OCSP signer (ca_ocsp_signer)
 * and kept per serial: a cached answer is a buffer looked up by CertID
 * hash and serial, re-signed when half its validity has passed, and
 * dropped at once when the CA database changes (another process's
 * `moat revoke`, seen through ca_db_version on every request) or when the
 * process itself revoked (caserve_revocation_changed).  Requests with a
 * nonce, or with several CertIDs, are signed fresh.  Unknown serials are
 * answered "unknown" and not cached. */
#ifndef MOAT_CASERVE_REVOCATION_H
#define MOAT_CASERVE_REVOCATION_H

#include "ca/ca.h"
#include "core/err.h"
#include "net/net.h"

#define CASERVE_OCSP_MAX_REQUEST 8192

#define CASERVE_OCSP_VALIDITY (12 * 3600) /* seconds from thisUpdate to nextUpdate */
#define CASERVE_OCSP_MAX_AGE 3600         /* Cache-Control max-age cap for GET answers */

struct caserve_revocation;
/* ca is borrowed (opened and unlocked; it outlives r); one thread uses r (the server's loop).
 * Makes the OCSP signer if needed and a first CRL. */
struct caserve_revocation *caserve_revocation_new(struct ca *ca, struct moat_err *err);
void caserve_revocation_free(struct caserve_revocation *r);
/* A net_http_handler (net/net.h) for the HTTP port: POST /ocsp (Content-Type
 * application/ocsp-request), GET /ocsp/<base64>, GET /crl, GET /ca/root.der, GET /ca/intermediate.der. */
void caserve_revocation_handle(void *r, const struct net_http_request *req, struct net_http_reply *reply);
/* A certificate was revoked (by the ACME server or another process): drop cached responses, make a new CRL. */
void caserve_revocation_changed(struct caserve_revocation *r);

/* Counters, for /metrics and tests. */
struct caserve_revocation_stats {
	uint64_t ocsp_requests, ocsp_cached, ocsp_signed, ocsp_malformed, ocsp_unauthorized;
	uint64_t crl_built, flushes;
};
void caserve_revocation_stats(const struct caserve_revocation *r,
			      struct caserve_revocation_stats *out);

#endif
