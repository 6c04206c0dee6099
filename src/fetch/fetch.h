/* fetch.h: moat's one HTTP client, for the ACME client (acme/http.c),
 * moat check (check/http.c) and moat serve's OCSP staples (serve/ocsp.c).
 *
 * libcurl does the work, but moat does not link it: the first request
 * loads libcurl.so.4 with dlopen (curl_load.c), so that the commands that
 * make no HTTP request (moat issue, moat ca, moat serve without ACME or
 * OCSP...) start without libcurl and the thirty libraries it pulls in.
 *
 * What comes back is untrusted and capped: the body at fetch_req.max_body
 * bytes (more is an error, never a cut body), and only the response
 * headers the caller names in fetch_req.want are kept, at most
 * FETCH_MAX_FIELDS lines of at most FETCH_MAX_VALUE bytes each.  Every
 * request is bounded in time.  Callers keep their own policy (which
 * scheme, redirects, which CA, which words for an error) in the request. */
#ifndef MOAT_FETCH_FETCH_H
#define MOAT_FETCH_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define FETCH_LIBCURL "libcurl.so.4"     /* the soname moat loads */
#define FETCH_MAX_FIELDS 16              /* response header lines kept */
#define FETCH_MAX_VALUE 8192             /* bytes of one kept value; longer ones are dropped */
#define FETCH_MAX_NAME 64                /* bytes of a header name, NUL included */
#define FETCH_DEFAULT_TIMEOUT_MS 30000   /* when fetch_req.timeout_ms is 0 */
#define FETCH_DEFAULT_MAX_BODY (1u << 20) /* when fetch_req.max_body is 0 */

enum fetch_method {
	FETCH_GET,
	FETCH_HEAD,
	FETCH_POST, /* body, body_len, content_type */
};

/* Why a request failed (fetch_resp.fail), for the caller's words and hints. */
enum fetch_fail {
	FETCH_OK,
	FETCH_FAIL_LOAD,    /* libcurl could not be loaded (err says why, with a hint) */
	FETCH_FAIL_RESOLVE, /* the name (or the proxy's) does not resolve */
	FETCH_FAIL_CONNECT, /* refused, unreachable */
	FETCH_FAIL_TIMEOUT, /* connect_timeout_ms or timeout_ms ran out */
	FETCH_FAIL_VERIFY,  /* the server's certificate is not trusted (or the CA file is unreadable) */
	FETCH_FAIL_TOO_BIG, /* the body is larger than max_body */
	FETCH_FAIL_SCHEME,  /* the URL's scheme, or a redirect's, is not allowed */
	FETCH_FAIL_OTHER,
};

/* One request.  Every pointer is borrowed for the call only. */
struct fetch_req {
	const char *url;
	enum fetch_method method;
	const void *body;               /* FETCH_POST: body_len bytes */
	size_t body_len;
	const char *content_type;       /* FETCH_POST: e.g. "application/ocsp-request" */
	const char *const *headers;     /* more request header lines ("Name: value"), NULL-ended; or NULL */
	const char *const *want;        /* response header names to keep (any case), NULL-ended; or NULL */
	const char *user_agent;         /* NULL: "moat" */
	const char *ca_bundle;          /* trust only this PEM file; NULL: the system store */
	bool insecure;                  /* do not verify the server's certificate at all */
	bool https_only;                /* refuse http:// (and redirects to it) */
	bool no_proxy;                  /* ignore http_proxy, https_proxy... */
	bool decompress;                /* offer every Content-Encoding libcurl knows (the cap
	                                 * counts decoded bytes) */
	int max_redirects;              /* 0: a 3xx is the answer; N: follow up to N */
	const char *connect_to;         /* "HOST:PORT:ADDR:PORT" (libcurl's CONNECT_TO) or NULL */
	int connect_timeout_ms;         /* 0: timeout_ms */
	int timeout_ms;                 /* the whole request; 0: FETCH_DEFAULT_TIMEOUT_MS */
	size_t max_body;                /* 0: FETCH_DEFAULT_MAX_BODY */
};

/* One kept response header line; a header sent twice is two fields, in
 * the order they came. */
struct fetch_field {
	char name[FETCH_MAX_NAME];      /* as fetch_req.want spells it */
	char *value;                    /* trimmed, NUL-terminated; owned by the response */
};

struct fetch_resp {
	long status;                    /* of the last response (after redirects followed) */
	struct moat_buf body;           /* NUL-terminated (data never NULL after success) */
	struct fetch_field fields[FETCH_MAX_FIELDS]; /* of the last response only */
	size_t nfields;
	enum fetch_fail fail;           /* after -1: why; FETCH_OK after 0 */
	char reason[256];               /* after -1: what went wrong, printable, without the URL */
};

/* A client that keeps its connections between requests (to one ACME
 * server, say).  fetch_new only allocates: libcurl is loaded by the first
 * request.  Not for two threads at once.  Caller frees with fetch_free
 * (NULL is fine). */
struct fetch *fetch_new(struct moat_err *err);
void fetch_free(struct fetch *f);

/* Make the request q; r is overwritten (call fetch_resp_clear on it
 * after, whatever the result; the caller owns what it holds).  Any HTTP
 * status is success: 0 with r->status, r->body and r->fields filled.  -1
 * when there is no answer to read, with r->fail and r->reason set and err
 * filled: "cannot fetch URL: REASON" (with a hint where one helps), "URL
 * sent more than N bytes", or for FETCH_FAIL_LOAD the loading error. */
int fetch_request(struct fetch *f, const struct fetch_req *q, struct fetch_resp *r,
		  struct moat_err *err);
/* The same on a connection of its own, closed after (thread-safe). */
int fetch_once(const struct fetch_req *q, struct fetch_resp *r, struct moat_err *err);

/* Free what r holds and zero it (NULL is fine). */
void fetch_resp_clear(struct fetch_resp *r);
/* The value of the last kept field named name (any case), or NULL;
 * borrowed from r. */
const char *fetch_resp_header(const struct fetch_resp *r, const char *name);
/* Take one raw header line as libcurl hands it over ("Name: value\r\n",
 * or a status line, which starts a new response and drops the fields
 * kept so far) into r, if q->want names it.  What a request does with
 * every line; exposed for the tests and fuzz/fuzz_acme.c. */
void fetch_resp_header_line(const struct fetch_req *q, struct fetch_resp *r, const char *line,
			    size_t len);

/* Load libcurl now, if it is not yet (thread-safe; once per process).
 * For a command that will need it to fail early with the reason and a
 * hint. */
int fetch_load(struct moat_err *err);
/* An HTTP-date (IMF-fixdate, RFC 850 or asctime) as seconds since the
 * epoch; -1 if unreadable (or if libcurl cannot be loaded). */
int64_t fetch_http_date(const char *s);

#endif
