/* acme.h: moat's ACME client (RFC 8555).
 *
 * The protocol layer: directory, nonces, JWS-signed requests, accounts,
 * orders, challenges and certificate download.  HTTP goes through
 * acme/http.h (on src/fetch), JSON through jansson, keys and signatures through
 * pki/.  Everything the server sends is untrusted: sizes are capped, JSON
 * is checked for the fields we use, and text is escaped before it can
 * reach a terminal. */
#ifndef MOAT_ACME_ACME_H
#define MOAT_ACME_ACME_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acme/http.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/names.h"
#include "pki/pki.h"

/* ---- problem documents (problem.c) ------------------------------------ */

#define ACME_MAX_SUBPROBLEMS 8

struct acme_problem {
	long status;
	char type[64];   /* short form: "badNonce", "rateLimited", ... (escaped) */
	char detail[512]; /* control and non-ASCII bytes as \xNN; quotes kept */
	long retry_after; /* seconds, -1 if not given */
	char sub[ACME_MAX_SUBPROBLEMS][256];
	size_t nsub;
};

void acme_problem_parse(const json_t *doc, long status, long retry_after, struct acme_problem *p);
/* "<doing>: <detail> (<type>) -- <subproblems>" plus a hint. */
void acme_problem_to_err(const struct acme_problem *p, const char *doing, struct moat_err *err);

/* ---- JSON from the network (json.c) ----------------------------------- */

/* Parse an object from a response body (size already capped by http.c);
 * what names it in errors ("the directory"). */
json_t *acme_json_object(const struct moat_buf *body, const char *what, struct moat_err *err);
/* A string member, or NULL when missing or not a string. */
const char *acme_json_str(const json_t *obj, const char *key);

/* ---- JWS (jws.c) ------------------------------------------------------ */

/* The signing input "b64url(protected).b64url(payload)". */
int acme_jws_input(const json_t *prot, const char *payload, struct moat_buf *input);
/* The flattened JWS JSON object for a signing input and its signature. */
json_t *acme_jws_flat(const struct moat_buf *input, const void *sig, size_t siglen);

/* ---- the client (client.c) -------------------------------------------- */

struct acme_directory {
	char new_nonce[ACME_HTTP_MAX_URL];
	char new_account[ACME_HTTP_MAX_URL];
	char new_order[ACME_HTTP_MAX_URL];
	char revoke_cert[ACME_HTTP_MAX_URL];
	char key_change[ACME_HTTP_MAX_URL];
	char renewal_info[ACME_HTTP_MAX_URL]; /* "" unless the server offers ARI */
	char terms[ACME_HTTP_MAX_URL];        /* meta.termsOfService, "" if none */
	bool eab_required;                     /* meta.externalAccountRequired */
	json_t *profiles;                      /* meta.profiles object, or NULL */
};

/* Read a directory object (exposed for fuzzing); -1 when it lacks the
 * required https URLs.  dir must be zeroed or previously parsed. */
int acme_directory_parse(const json_t *d, struct acme_directory *dir);

struct acme_client;

struct acme_client *acme_client_new(const char *directory_url, const char *ca_bundle,
				    struct moat_err *err);
void acme_client_free(struct acme_client *c);
const struct acme_directory *acme_client_directory(const struct acme_client *c);
/* The account key (borrowed: must outlive the client) and, once known,
 * the account URL ("kid").  Without kid, requests carry the JWK. */
int acme_client_set_account(struct acme_client *c, const struct pki_key *key, const char *kid,
			    struct moat_err *err);
const char *acme_client_kid(const struct acme_client *c);
const struct pki_key *acme_client_key(const struct acme_client *c);
/* The account key as a JWK object (required members only; new reference). */
json_t *acme_client_jwk(const struct acme_client *c);

/* POST a JWS to url: payload NULL means POST-as-GET (empty payload).
 * badNonce is retried a few times with a fresh nonce.  On success (2xx)
 * resp holds the answer and *json (if json != NULL) the parsed body when
 * it is JSON.  Otherwise -1 with err made from the problem document and
 * "doing" ("cannot create the order"). */
int acme_post(struct acme_client *c, const char *url, json_t *payload, const char *doing,
	      struct acme_resp *resp, json_t **json, struct moat_err *err);

/* A public key's JWK with only the required members, as RFC 7638 hashes
 * them (new reference; NULL when out of memory). */
json_t *acme_jwk_object(const struct pki_jwk *j);
/* The RFC 7638 thumbprint (SHA-256, base64url) of j into out; -1 when it
 * does not fit or memory runs out. */
#define ACME_THUMBPRINT_LEN 43
int acme_jwk_thumbprint(const struct pki_jwk *j, char *out, size_t n);
/* token "." thumbprint (RFC 8555 section 8.1). */
int acme_key_authorization(const struct acme_client *c, const char *token, char *out, size_t n,
			   struct moat_err *err);

/* ---- accounts (account.c) --------------------------------------------- */

struct acme_account_opts {
	const char *const *contacts; /* "mailto:..." */
	size_t ncontacts;
	bool agree_tos;
	bool only_existing;          /* look up, never create */
	const char *eab_kid;         /* external account binding, or NULL */
	const char *eab_hmac_key;    /* base64url, as CAs hand it out */
};

/* newAccount; on success the client's kid is set and *account (if not
 * NULL) holds the account object.  created tells whether it was new. */
int acme_account_register(struct acme_client *c, const struct acme_account_opts *o,
			  bool *created, json_t **account, struct moat_err *err);

/* ---- an existing account (account_manage.c) --------------------------- */

/* The account object (POST-as-GET the account URL). */
int acme_account_fetch(struct acme_client *c, json_t **account, struct moat_err *err);
/* Replace the contacts ("mailto:..."; n may be 0 to remove them all). */
int acme_account_update(struct acme_client *c, const char *const *contacts, size_t n,
			json_t **account, struct moat_err *err);
/* keyChange to new_key (borrowed; must outlive the client); on success the
 * client signs with it. */
int acme_account_rollover(struct acme_client *c, const struct pki_key *new_key,
			  struct moat_err *err);
/* For good: the CA will refuse the account afterwards. */
int acme_account_deactivate(struct acme_client *c, struct moat_err *err);

/* ---- orders (order.c) ------------------------------------------------- */

/* A way to answer challenges of one type. */
struct acme_solver {
	const char *type; /* "http-01", "dns-01", "tls-alpn-01" */
	/* Make the response available; identifier is the name being proven. */
	int (*present)(void *arg, const struct moat_name *id, const char *token,
		       const char *key_authorization, struct moat_err *err);
	void (*cleanup)(void *arg, const struct moat_name *id, const char *token);
	void *arg;
};

struct acme_order_opts {
	const struct moat_name *names;
	size_t nnames;
	const struct acme_solver *solver;
	const struct pki_csr *csr;       /* for finalize */
	const char *profile;             /* NULL: the server's default */
	const char *preferred_chain;     /* issuer CN of the chain's top, or NULL */
	const char *replaces;            /* ARI id of the certificate this renews, or NULL */
	int timeout_s;                   /* whole order, polling included */
	void (*progress)(void *arg, const char *msg); /* one line, no newline */
	void *progress_arg;
};

/* Run an order to its end: authorizations, challenges, finalize, download.
 * chain_pem gets the PEM chain (leaf first), the preferred one if asked. */
int acme_order_run(struct acme_client *c, const struct acme_order_opts *o,
		   struct moat_buf *chain_pem, struct moat_err *err);
/* Sleep ms milliseconds, all of them even when a signal comes (polling). */
void acme_sleep_ms(long ms);

/* ---- revocation (revoke.c) -------------------------------------------- */

/* reason: an RFC 5280 CRLReason code, or -1 to leave it out. */
int acme_revoke(struct acme_client *c, const struct pki_cert *cert, int reason,
		struct moat_err *err);

/* ---- renewal information (ari.c, RFC 9773) ---------------------------- */

/* GET url (no JWS), for the few resources that are public. */
int acme_client_get(struct acme_client *c, const char *url, struct acme_resp *resp,
		    struct moat_err *err);
/* The CA's suggested renewal window for cert (Unix times). */
int acme_renewal_info(struct acme_client *c, const struct pki_cert *cert, int64_t *start,
		      int64_t *end, struct moat_err *err);

#endif
