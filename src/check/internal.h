/* internal.h: what the files of src/check share. */
#ifndef MOAT_CHECK_INTERNAL_H
#define MOAT_CHECK_INTERNAL_H

#include "check/check.h"
#include "core/buf.h"
#include "fetch/fetch.h"
#include "pki/pki.h"

#define CHECK_DEFAULT_WARN_DAYS 21
#define CHECK_DEFAULT_TIMEOUT_MS 5000
#define CHECK_MAX_AIA (64u << 10)     /* bytes of a certificate from caIssuers */
#define CHECK_MAX_OCSP PKI_MAX_OCSP_INPUT
#define CHECK_MAX_CRL PKI_MAX_CRL_INPUT /* bytes of a CRL (big CAs publish big ones) */
#define CHECK_MAX_ANCHORS 1024

struct check_ctx {
	const struct check_opts *o;
	struct check_report *r;
	int64_t now;
	int timeout_ms;
	const char *host;                 /* the name the certificate must cover */
	struct pki_cert **anchors;        /* owned */
	size_t nanchors;
	struct pki_cert *const *sent;     /* as sent, leaf first (borrowed) */
	size_t nsent;
	struct pki_cert *fetched;         /* an intermediate fetched via AIA (owned) */
	struct pki_path_result path;      /* the verified (or partial) path */
	const unsigned char *staple;      /* stapled OCSP response, or NULL */
	size_t staple_len;
	const char *ocsp_url;             /* instead of the certificate's (moat ocsp --url) */
	bool files;                       /* certificate files, not a server: no "sends" */
};

/* anchors.c: the trust anchors -- --ca FILE, SSL_CERT_FILE, or the system bundle. */
int check_load_anchors(struct check_ctx *c, struct moat_err *err);
void check_ctx_clear(struct check_ctx *c);

/* http.c: HTTP through src/fetch, bounded. */
/* GET (body NULL) or POST; verify=false for looking at a server whose
 * certificate is judged elsewhere.  connect_to: "HOST:PORT:ADDR:PORT"
 * (curl's CONNECT_TO) or NULL.  No redirect is followed; of the headers,
 * Location and Strict-Transport-Security are kept.  0 with out filled
 * (any status); -1 err, out empty.  The caller clears out with
 * fetch_resp_clear either way. */
int check_http(const char *url, const char *post_type, const void *post, size_t post_len,
	       bool verify, const char *connect_to, int timeout_ms, size_t max,
	       struct fetch_resp *out, struct moat_err *err);
/* Header name of r into out, escaped (it comes from the peer); "" if absent. */
void check_http_header(const struct fetch_resp *r, const char *name, char *out, size_t n);

/* chain.c: what was sent, the path, names, dates, keys. */
int check_chain(struct check_ctx *c, struct moat_err *err);
/* The leaf's issuer (from the path, what was sent or fetched), or NULL. */
const struct pki_cert *check_leaf_issuer(const struct check_ctx *c);
/* revocation.c: OCSP (stapled and asked), CRL. */
void check_revocation(struct check_ctx *c);

/* chain.c: the issuer of x via its caIssuers URL, or NULL with why. */
struct pki_cert *check_fetch_issuer(struct check_ctx *c, const struct pki_cert *x, char *url,
				    size_t urln, char *why, size_t whyn);

/* Who holds the certificates, for messages: "the server", or "the file(s)"
 * in files mode. */
const char *check_holder(const struct check_ctx *c);
/* The verb that goes with check_holder: its form for one file, for
 * several files, for a server ("holds", "hold", "sends"). */
const char *check_verb(const struct check_ctx *c, const char *file, const char *files,
		       const char *server);
void check_progress(const struct check_ctx *c, const char *msg);
/* snprintf for messages, where cutting a long text short is fine. */
void check_say(char *out, size_t n, const char *fmt, ...) MOAT_PRINTF(3, 4);

#endif
