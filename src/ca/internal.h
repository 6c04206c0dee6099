/* internal.h: what the files of src/ca/ share. */
#ifndef MOAT_CA_INTERNAL_H
#define MOAT_CA_INTERNAL_H

#include "ca/ca.h"
#include "core/buf.h"
#include "core/file.h"

#define CA_BACKDATE 300 /* seconds: tolerate clients whose clocks run a little slow */

struct ca {
	char home[PATH_MAX];
	char dir[PATH_MAX];
	char name[256];
	struct pki_cert *root;
	struct pki_cert *intermediate;
	struct pki_key *int_key;     /* after ca_unlock */
	struct moat_buf int_key_pem; /* intermediate-key.pem as read by ca_open */
	bool int_key_encrypted;
	struct moat_permit permits[CA_MAX_PERMITS];
	size_t npermits;
	struct ca_db *db;
	char url[CA_URL_MAX + 1];            /* "" when none (url.c) */
	char url_crl[CA_URL_MAX + 8];
	char url_ocsp[CA_URL_MAX + 8];
	char url_issuers[CA_URL_MAX + 24];
	struct pki_cert *ocsp_cert;          /* ocsp.c: the delegated OCSP signer, once loaded */
	struct pki_key *ocsp_key;
};

/* ---- URLs (url.c) -------------------------------------------------------- */

/* The URLs a new certificate carries; each NULL when the CA has none. */
struct ca_urls {
	const char *crl, *ocsp, *ca_issuers;
};
void ca_urls_of(const struct ca *ca, struct ca_urls *u);
/* Read meta "url" into ca (ca_open). */
int ca_url_load(struct ca *ca, struct moat_err *err);

/* ---- the database (db.c, SQLite) ----------------------------------------- */

struct ca_db;

struct ca_db *ca_db_open(const char *path, bool create, struct moat_err *err);
void ca_db_free(struct ca_db *db);
int ca_db_begin(struct ca_db *db, struct moat_err *err);
int ca_db_commit(struct ca_db *db, struct moat_err *err);
void ca_db_rollback(struct ca_db *db);
/* out = "" when the key is absent. */
int ca_db_meta_get(struct ca_db *db, const char *key, char *out, size_t n, struct moat_err *err);
int ca_db_meta_set(struct ca_db *db, const char *key, const char *value, struct moat_err *err);
int ca_db_add(struct ca_db *db, const struct ca_record *r, const char *cert_pem,
	      struct moat_err *err);
int ca_db_list(struct ca_db *db, struct ca_record **out, size_t *n, struct moat_err *err);
int ca_db_revoke(struct ca_db *db, const char *serial, int64_t at, int reason,
		 struct moat_err *err);
/* SQLite's PRAGMA data_version: changes when another connection (another
 * process: moat revoke, moat issue) commits.  A prepared statement kept
 * for the next call: cheap enough for every request. */
int ca_db_data_version(struct ca_db *db, int64_t *out, struct moat_err *err);
/* The row of serial (exactly as stored): *found false when there is none. */
int ca_db_status(struct ca_db *db, const char *serial, struct ca_record *r, bool *found,
		 struct moat_err *err);
/* Increment and return the CRL number. */
int ca_db_next_crl_number(struct ca_db *db, uint64_t *out, struct moat_err *err);

#endif
