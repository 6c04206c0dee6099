/* http.h: HTTP for moat's ACME code, on src/fetch (moat's HTTP client).
 *
 * One connection is kept open and reused for every request to the same
 * server.  Responses are capped in size; the headers ACME needs are kept
 * and read into struct acme_resp.  The server's certificate is checked
 * against the system store, or against a given CA bundle for a private
 * ACME server. */
#ifndef MOAT_ACME_HTTP_H
#define MOAT_ACME_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"
#include "fetch/fetch.h"

#define ACME_HTTP_MAX_BODY (1024 * 1024) /* bytes of one response */
#define ACME_HTTP_MAX_LINKS 8
#define ACME_HTTP_MAX_URL 2048

struct acme_http;

struct acme_link {
	char rel[32];              /* "up", "alternate", "index", "terms-of-service" */
	char url[ACME_HTTP_MAX_URL];
};

struct acme_resp {
	long status;
	struct moat_buf body;      /* NUL-terminated */
	char content_type[128];    /* media type only, lower case, no parameters */
	char location[ACME_HTTP_MAX_URL];
	char nonce[256];           /* Replay-Nonce, "" if none */
	long retry_after;          /* seconds; -1 when absent or unreadable */
	struct acme_link links[ACME_HTTP_MAX_LINKS];
	size_t nlinks;
};

/* A client for one ACME server; ca_bundle (copied; NULL: the system
 * store) is what its certificate is verified against.  Caller frees with
 * acme_http_free (NULL is fine).  libcurl is loaded by the first request. */
struct acme_http *acme_http_new(const char *ca_bundle, struct moat_err *err);
void acme_http_free(struct acme_http *h);
/* GET (body == NULL, head false), HEAD (head true) or POST body with
 * Content-Type application/jose+json.  A non-2xx status is not an error
 * here: the caller reads the problem document.  Transport failures are
 * errors with a hint (DNS, refused, TLS verification...). */
int acme_http_request(struct acme_http *h, const char *url, const char *body, bool head,
		      struct acme_resp *resp, struct moat_err *err);
void acme_resp_clear(struct acme_resp *r);
/* The response headers ACME reads (fetch_req.want), NULL-ended. */
extern const char *const acme_http_headers[];
/* Read the header fields kept in f (Replay-Nonce, Location, Retry-After,
 * Link, Content-Type) into r, whose other members stay as they are; what
 * acme_http_request does (exposed for the tests and fuzzing).  A value too
 * long for its member is dropped, never cut. */
void acme_resp_headers(struct acme_resp *r, const struct fetch_resp *f);
/* The URL of the first link with relation rel, or NULL. */
const char *acme_resp_link(const struct acme_resp *r, const char *rel);

#endif
