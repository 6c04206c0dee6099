/* internal.h: the parts of `moat ca serve` (not for use outside src/caserve).
 *
 * Threads: the net_server's loop runs every request (acme.c, order.c, the
 * revocation handler) and owns s->db and s->nonces; the validation thread
 * (va.c) owns a database connection of its own and writes a challenge's
 * outcome there.  SQLite (WAL, busy timeout) is the only state they share. */
#ifndef MOAT_CASERVE_INTERNAL_H
#define MOAT_CASERVE_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caserve/caserve.h"
#include "core/buf.h"
#include "core/err.h"
#include "net/net.h"
#include "pki/pki.h"
#include "caserve/revocation.h"

#define CASERVE_MAX_REQUEST (64 * 1024) /* bytes of one JWS request body */
#define CASERVE_MAX_IDENTIFIERS 100     /* per order */
#define CASERVE_ORDER_LIFETIME (7 * 86400)
#define CASERVE_AUTHZ_LIFETIME (7 * 86400)
#define CASERVE_TOKEN_LEN 43            /* base64url of 32 random bytes */

/* Certificate profiles offered in the directory's meta.profiles and taken
 * by newOrder's "profile" (draft-ietf-acme-profiles): the first is the
 * default. */
struct caserve_profile {
	const char *name;
	int days;
	const char *description;
};
extern const struct caserve_profile caserve_profiles[];
extern const size_t caserve_nprofiles;

/* ---- nonces (nonce.c) --------------------------------------------------- */

/* Single-use nonces: a counter and its HMAC under a key made at start, so
 * a nonce cannot be guessed; a window of the last CASERVE_NONCE_WINDOW
 * issued, each usable once (a bitmap).  A restart makes every old nonce
 * bad (clients retry with the fresh one every answer carries). */
#define CASERVE_NONCE_WINDOW 65536
#define CASERVE_NONCE_LEN 32 /* base64url of 8 + 16 bytes */
struct caserve_nonces;
struct caserve_nonces *caserve_nonces_new(unsigned reject_percent);
void caserve_nonces_free(struct caserve_nonces *n);
/* A fresh nonce into out (CASERVE_NONCE_LEN + 1 bytes); spare: one from
 * newNonce or a badNonce answer, which the chaos option never refuses. */
void caserve_nonce_new(struct caserve_nonces *n, char out[CASERVE_NONCE_LEN + 1], bool spare);
/* Was s issued by us, inside the window, and not used yet?  Uses it. */
bool caserve_nonce_take(struct caserve_nonces *n, const char *s);

/* ---- rate limits (limits.c) ----------------------------------------------- */

/* At most max events per key in an hour (max 0: no limit).  0 when one
 * more is allowed (and counted); else the seconds until it is (for
 * Retry-After). */
struct caserve_limits;
struct caserve_limits *caserve_limits_new(void);
void caserve_limits_free(struct caserve_limits *l);
int caserve_limit_take(struct caserve_limits *l, const char *key, unsigned max);

/* ---- the database of ACME objects (store.c) ------------------------------ */

/* Every ACME object is a row: an id (in its URL), a kind ("account",
 * "order", "authz", "cert"), the id of its parent (an order's authz, a
 * cert's order) and its account, a unique lookup key or NULL (an account's
 * thumbprint, a certificate's serial), and its state as a JSON document. */
struct caserve_store;
struct caserve_store *caserve_store_open(const char *path, struct moat_err *err);
void caserve_store_free(struct caserve_store *st);
int caserve_store_begin(struct caserve_store *st, struct moat_err *err);
int caserve_store_commit(struct caserve_store *st, struct moat_err *err);
void caserve_store_rollback(struct caserve_store *st);
/* A new object; its id in *id.  doc is borrowed. */
int caserve_store_add(struct caserve_store *st, const char *kind, int64_t parent, int64_t account,
		      const char *key, const json_t *doc, int64_t *id, struct moat_err *err);
int caserve_store_put(struct caserve_store *st, int64_t id, const json_t *doc,
		      struct moat_err *err);
/* Change an object's lookup key (an account's new key). -1 with *taken set
 * when another object has it. */
int caserve_store_rekey(struct caserve_store *st, int64_t id, const char *key, bool *taken,
			struct moat_err *err);
/* The object (new reference) of kind with id; NULL when there is none (err
 * cleared) or on error (err set).  parent and account may be NULL. */
json_t *caserve_store_get(struct caserve_store *st, const char *kind, int64_t id, int64_t *parent,
			  int64_t *account, struct moat_err *err);
/* The same by lookup key; *id set. */
json_t *caserve_store_find(struct caserve_store *st, const char *kind, const char *key,
			   int64_t *id, int64_t *account, struct moat_err *err);
/* The ids of kind whose parent (or, with by_account, account) is id, in
 * order of creation, at most max; *ids is malloc'd. */
int caserve_store_list(struct caserve_store *st, const char *kind, int64_t id, bool by_account,
		       size_t max, int64_t **ids, size_t *n, struct moat_err *err);

/* Call fn for every challenge whose validation was under way (status
 * processing): a restart queues them again. */
int caserve_store_each_processing(struct caserve_store *st,
				  int (*fn)(void *arg, int64_t authz, int index), void *arg,
				  struct moat_err *err);

/* ---- validation (va.c) ---------------------------------------------------- */

struct caserve_va;
struct caserve_va_opts {
	const char *db_path;
	struct caserve_counters *counters;
	uint16_t http01_port, tls_alpn_port;
	const char *dns_resolver;
	caserve_log_fn log;
	void *log_arg;
};
struct caserve_va *caserve_va_new(const struct caserve_va_opts *o, struct moat_err *err);
/* Validate challenge index of authz (its state is in the database). */
int caserve_va_queue(struct caserve_va *va, int64_t authz, int index);
void caserve_va_free(struct caserve_va *va);
/* The outcome, written by the validation thread: the challenge valid or
 * invalid (with error, a problem document, borrowed) and the authorization
 * with it. */
int caserve_authz_settle(struct caserve_store *st, int64_t authz, int index, const json_t *error,
			 struct moat_err *err);

/* ---- counters for /metrics (server.c) ---------------------------------------- */

enum caserve_counter {
	CASERVE_C_REQUESTS,     /* ACME requests */
	CASERVE_C_BAD_NONCE,    /* badNonce answers */
	CASERVE_C_ERRORS,       /* problem documents sent (any type) */
	CASERVE_C_ACCOUNTS,     /* accounts created */
	CASERVE_C_ORDERS,       /* orders created */
	CASERVE_C_ISSUED,       /* certificates issued */
	CASERVE_C_REVOKED,      /* certificates revoked over ACME */
	CASERVE_C_VALID,        /* challenges validated */
	CASERVE_C_INVALID,      /* challenges that failed */
	CASERVE_C_RATE_LIMITED, /* rateLimited answers */
	CASERVE_NCOUNTERS
};
struct caserve_counters;
void caserve_count(struct caserve_counters *c, enum caserve_counter which);

/* ---- the server (server.c) and one request (acme.c, order.c) ------------- */

struct caserve {
	struct caserve_opts o;
	char home[4096];
	char name[256];
	char dns_resolver[64];
	struct ca *ca;
	struct net_server *net;
	struct net_tls_ctx *tls;
	struct caserve_store *db;
	struct caserve_nonces *nonces;
	struct caserve_va *va;
	struct caserve_revocation *rev;
	struct caserve_limits *limits;
	struct caserve_counters *counters; /* shared with the validation threads */
	struct caserve_key_cache *keys;    /* accounts' keys, parsed (jws.c) */
	caserve_log_fn log;
	void *log_arg;
	char base[320];     /* "https://NAME:PORT" */
	char directory[352];
	char db_path[4200];
	uint16_t https_port, http_port;
};

/* What a request is, once its JWS checks out. */
struct caserve_req {
	const struct net_http_request *http;
	struct net_http_reply *reply;
	const char *path;   /* the target after "/acme/" */
	struct pki_key *key; /* the signer's key (borrowed from the key cache for a kid) */
	bool key_borrowed;
	struct pki_jwk jwk;  /* a jwk request's key as a JWK (canonical); empty for a kid */
	const char *key_alg; /* the JWS algorithm of the key */
	char thumbprint[64];
	int64_t account;    /* the kid's account; 0 for a jwk request */
	json_t *account_doc;
	json_t *payload;    /* NULL: POST-as-GET */
	json_t *protected_hdr;
};

/* jws.c: who signed a POST.  Checks, in order, answering the problem
 * itself and returning -1 on the first that fails: Content-Type
 * application/jose+json (415 malformed), one flattened JWS (malformed),
 * alg (badSignatureAlgorithm, with "algorithms"), the nonce (badNonce),
 * url == this request's URL (unauthorized), exactly one of jwk and kid and
 * the one this resource takes (malformed), the kid's account exists and is
 * valid (accountDoesNotExist, unauthorized), alg fits the key and the
 * signature verifies (malformed), the payload is JSON or "" (malformed). */
enum caserve_signer {
	CASERVE_BY_KID, /* an account's key */
	CASERVE_BY_JWK, /* a key in the request (newAccount) */
	CASERVE_BY_ANY, /* either (revokeCert) */
};
int caserve_jws_check(struct caserve *s, struct caserve_req *q, enum caserve_signer need);
/* The inner JWS of a keyChange (RFC 8555 section 7.3.5): signed by its
 * own jwk, the same url, no nonce.  The new key in *key (caller frees). */
int caserve_jws_inner(struct caserve *s, struct caserve_req *q, const json_t *jws,
		      struct pki_key **key, json_t **payload);
void caserve_req_clear(struct caserve_req *q);
/* Parsed account keys by account id, so that a request signed by an
 * account does not parse its stored JWK again; an entry is used only while
 * the stored JWK is the same text (a keyChange replaces it). */
struct caserve_key_cache;
struct caserve_key_cache *caserve_key_cache_new(void);
void caserve_key_cache_free(struct caserve_key_cache *c);
/* The public key in a JWK object (a "jwk" member, a stored account key),
 * with its canonical JWK (caller clears) and RFC 7638 thumbprint. */
struct pki_key *caserve_jwk_key(const json_t *jwk, struct pki_jwk *canon, char *tp, size_t tpn,
				struct moat_err *err);

void caserve_log(struct caserve *s, const char *fmt, ...) MOAT_PRINTF(2, 3);
/* The net_http_handler of the HTTPS port. */
void caserve_acme_handle(void *arg, const struct net_http_request *req,
			 struct net_http_reply *reply);

/* Answers (acme.c).  type is the short name ("malformed"); detail escaped
 * by the caller when it holds peer bytes. */
void caserve_problem(struct caserve *s, struct net_http_reply *r, int status, const char *type,
		     const char *detail);
/* The rate limit of key (max per hour) allows one more?  Else the
 * rateLimited answer (with Retry-After) is sent and false returned. */
bool caserve_rate_ok(struct caserve *s, struct net_http_reply *r, const char *key, unsigned max);
/* doc as JSON with status (steals doc); location: a URL or NULL. */
void caserve_json(struct caserve *s, struct net_http_reply *r, int status, json_t *doc,
		  const char *location);
/* "BASE/acme/<what>/<id>" */
void caserve_url(const struct caserve *s, char *out, size_t n, const char *what, int64_t id);
/* RFC 3339 UTC */
void caserve_time(int64_t t, char out[32]);

/* eab.c: the externalAccountBinding of a newAccount (RFC 8555 7.3.4):
 * HS256 by a key id the operator made, over the account's own key, not
 * bound before.  0 with the key's object (*eab_doc, to bind) or -1 with
 * the problem sent. */
int caserve_eab_check(struct caserve *s, struct caserve_req *q, const json_t *eab, int64_t *eab_id,
		      json_t **eab_doc);

/* ari.c: renewal information (RFC 9773).  The certificate object (new
 * reference) a certID names, or NULL (err cleared when there is none). */
json_t *caserve_ari_find(struct caserve *s, const char *certid, int64_t *id, int64_t *account,
			 struct moat_err *err);
void caserve_renewal_info(struct caserve *s, const char *certid, struct net_http_reply *r);

/* order.c: the resources behind an account, and what cert.c shares of them */
const char *caserve_str(const json_t *o, const char *k); /* a string member, or NULL */
/* The 500 answer for a failure of ours (err, or "out of memory"). */
void caserve_internal(struct caserve *s, struct net_http_reply *r, const struct moat_err *err);
/* The object of kind id if it belongs to q's account (new reference);
 * else the answer is sent (404 none, 401 another account's) and NULL. */
json_t *caserve_owned(struct caserve *s, struct caserve_req *q, const char *kind, int64_t id,
		      int64_t *parent);
/* Bring a pending order up to date with its authorizations (stored when
 * it changed). */
int caserve_order_refresh(struct caserve *s, int64_t id, json_t *o, struct moat_err *err);
json_t *caserve_order_view(struct caserve *s, int64_t id, const json_t *o);
/* The lifetime of a profile in days, 0 when there is none (NULL: the default). */
int caserve_profile_days(const char *name);
void caserve_new_order(struct caserve *s, struct caserve_req *q);
void caserve_order(struct caserve *s, struct caserve_req *q, int64_t id);
void caserve_finalize(struct caserve *s, struct caserve_req *q, int64_t id);
void caserve_authz(struct caserve *s, struct caserve_req *q, int64_t id);
void caserve_challenge(struct caserve *s, struct caserve_req *q, int64_t authz, int index);
void caserve_cert(struct caserve *s, struct caserve_req *q, int64_t id);
void caserve_orders(struct caserve *s, struct caserve_req *q, int64_t account);
void caserve_revoke(struct caserve *s, struct caserve_req *q);

#endif
