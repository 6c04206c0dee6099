/* ca.h: moat's private CA — a root kept offline-ish (encrypted key) and an
 * intermediate that signs day to day, with an SQLite record of everything
 * issued.  Layout under MOAT_HOME (see docs/files.md):
 *
 *   ca/root.pem  ca/root-key.pem  ca/intermediate.pem  ca/intermediate-key.pem
 *   ca/ca.db     ca/crl.pem
 *   live/<lineage>/{privkey,cert,chain,fullchain}.pem  [cert.p12]
 */
#ifndef MOAT_CA_H
#define MOAT_CA_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/names.h"
#include "core/permit.h"
#include "pki/pki.h"

#define CA_MAX_DAYS 825      /* Apple's limit for certificates from private CAs */
#define CA_DEFAULT_DAYS 397
#define CA_ROOT_DAYS 3650
#define CA_INTERMEDIATE_DAYS 1826
#define CA_CRL_DAYS 30
#define CA_MAX_PERMITS 32

struct ca;

struct ca_init_opts {
	const char *name;            /* NULL: "moat <user>@<host>" */
	enum pki_key_type key_type;
	const struct moat_permit *permits;
	size_t npermits;
	const char *root_pass;       /* NULL: root key unencrypted */
	size_t root_passlen;
	const char *int_pass;        /* NULL: intermediate key unencrypted */
	size_t int_passlen;
	bool force;                  /* replace an existing CA (kept as a backup) */
	const char *url;             /* NULL: none; else as ca_url_check wants */
};

struct ca_init_result {
	char dir[PATH_MAX];
	char backup[PATH_MAX];   /* "" unless --force replaced a CA */
	char name[256];
	struct pki_cert_info root;
	struct pki_cert_info intermediate;
};

int ca_init(const char *home, const struct ca_init_opts *o, struct ca_init_result *res,
	    struct moat_err *err);
void ca_init_result_clear(struct ca_init_result *r);

/* Open the CA in home (certificates, database; not the private key). */
struct ca *ca_open(const char *home, struct moat_err *err);
void ca_free(struct ca *ca);
/* The expensive consistency check ca_open leaves out: the root's own
 * signature and the intermediate's signature by the root. */
int ca_check(const struct ca *ca, struct moat_err *err);
const char *ca_name(const struct ca *ca);
const struct pki_cert *ca_root(const struct ca *ca);
const struct pki_cert *ca_intermediate(const struct ca *ca);
const struct moat_permit *ca_permits(const struct ca *ca, size_t *n);
/* Path of a file in the CA directory ("root.pem", "crl.pem", ...). */
int ca_path(const struct ca *ca, const char *file, char *out, size_t n, struct moat_err *err);

bool ca_signing_key_encrypted(const struct ca *ca);
/* Load the intermediate key (pass ignored when it is not encrypted). */
int ca_unlock(struct ca *ca, const char *pass, size_t passlen, struct moat_err *err);

/* Refuse names the CA's constraints do not cover, naming the constraint. */
int ca_check_names(const struct ca *ca, const struct moat_name *names, size_t n,
		   struct moat_err *err);

struct ca_issue_opts {
	const struct moat_name *names;
	size_t nnames;
	enum pki_key_type key_type;   /* for a generated key */
	int days;                     /* 0: CA_DEFAULT_DAYS */
	bool client;                  /* add clientAuth */
	bool force;                   /* replace an existing lineage / --out files */
	const char *out_dir;          /* NULL: only the lineage */
	const char *p12_pass;         /* NULL: no PKCS#12 */
	size_t p12_passlen;
	const struct pki_key *csr_key;/* NULL: generate a key; else sign this public key */
};

struct ca_issued {
	char serial[80];
	char lineage[MOAT_NAME_MAX + 16];
	char dir[PATH_MAX];
	int64_t not_before;
	int64_t not_after;
	bool has_key;
	bool has_p12;
};

/* Check, generate (or take the CSR's key), sign, self-verify with the
 * strict verifier, record in the database, then write the lineage (and
 * --out copies) all or nothing. */
int ca_issue(struct ca *ca, const struct ca_issue_opts *o, struct ca_issued *res,
	     struct moat_err *err);
/* ---- ca_sign: a leaf for a given public key (the ACME server's finalize) ---- */

struct ca_sign_opts {
	const struct moat_name *names; size_t nnames;
	const struct pki_key *key;   /* the subject's public key (e.g. from a CSR); borrowed */
	int days;                    /* 0: CA_DEFAULT_DAYS; checked with ca_check_days */
	bool client;                 /* add clientAuth */
	const char *lineage;         /* recorded in the database, e.g. "acme:12" */
};
struct ca_signed {
	char serial[80];             /* as pki_cert_info.serial_hex */
	int64_t not_before, not_after;
	struct moat_buf cert_pem;    /* the certificate */
	struct moat_buf chain_pem;   /* the intermediate (no root) */
};
/* Needs ca_unlock.  Checks names against the CA's permits (ca_check_names), signs, verifies the
 * result with the strict verifier, records it (fsync) and only then returns it.  The caller
 * frees out with ca_signed_clear.  Writes no file. */
int ca_sign(struct ca *ca, const struct ca_sign_opts *o, struct ca_signed *out, struct moat_err *err);
void ca_signed_clear(struct ca_signed *s);

/* Validate a validity in days against CA_MAX_DAYS and the intermediate. */
int ca_check_days(const struct ca *ca, int days, struct moat_err *err);

/* ---- URLs: where the CA's revocation services are (moat ca serve --http-port) ---- */

#define CA_URL_MAX 200
/* A base URL: "http://" HOST [":" PORT] [PATH], HOST a DNS name, an IPv4
 * address or a bracketed IPv6 address, PATH of letters, digits, "-._~" and
 * single slashes.  out (n bytes) receives it normalised (host lower case,
 * no trailing slash).  https:// is refused (RFC 5280 CRL and RFC 6960 OCSP
 * URLs are fetched over plain HTTP).  err shows the input escaped. */
int ca_url_check(const char *url, char *out, size_t n, struct moat_err *err);
/* The CA's base URL, "" when none.  Borrowed from ca. */
const char *ca_url(const struct ca *ca);
/* Store url (NULL or "": remove it).  From then on every certificate the
 * CA issues carries cRLDistributionPoints URL/crl and authorityInfoAccess
 * OCSP URL/ocsp and caIssuers URL/ca/intermediate.der. */
int ca_set_url(struct ca *ca, const char *url, struct moat_err *err);

/* ---- records --------------------------------------------------------- */

struct ca_record {
	char serial[80];
	char names[4096];     /* comma-separated */
	char lineage[MOAT_NAME_MAX + 16];
	int64_t not_before;
	int64_t not_after;
	int64_t issued_at;
	bool revoked;
	int64_t revoked_at;
	int reason;
};

int ca_list(struct ca *ca, struct ca_record **out, size_t *n, struct moat_err *err);

/* Revoke by serial (hex, colons allowed), lineage/name, or certificate
 * file: every valid certificate that matches (*out, caller frees).  Then
 * rewrites ca/crl.pem.  Needs ca_unlock first. */
int ca_revoke(struct ca *ca, const char *what, enum pki_reason reason, struct ca_record **out,
	      size_t *n, struct moat_err *err);
/* ---- OCSP and the CRL for moat ca serve (ocsp.c) ------------------------- */

#define CA_OCSP_SIGNER_DAYS 30
/* The delegated OCSP responder certificate and key (RFC 6960 4.2.2.2:
 * EKU id-kp-OCSPSigning, id-pkix-ocsp-nocheck, EC P-256, CA_OCSP_SIGNER_DAYS
 * days -- never past the intermediate -- signed by the intermediate), kept
 * in ca/ocsp-signer.pem and ca/ocsp-signer-key.pem (0600, unencrypted: it
 * can sign OCSP answers and nothing else).  Made, or made again when less
 * than a third of its life is left, when the files are missing or do not
 * match the intermediate.  Needs ca_unlock.  *cert and *key are borrowed
 * from ca: valid until the next call or ca_free. */
int ca_ocsp_signer(struct ca *ca, const struct pki_cert **cert, const struct pki_key **key,
		   struct moat_err *err);

struct ca_cert_status {
	enum pki_ocsp_status status; /* UNKNOWN: this CA has no record of the serial */
	int64_t revoked_at;          /* REVOKED */
	int reason;                  /* REVOKED: the CRL reason (0 unspecified) */
	int64_t not_after;           /* GOOD, REVOKED */
};
/* The status of serial (as pki_cert_info.serial_hex) in the database now. */
int ca_cert_status(struct ca *ca, const char *serial, struct ca_cert_status *out,
		   struct moat_err *err);
/* A number that changes whenever another process (moat revoke, moat issue)
 * commits to the CA database: compare it with the last one seen, on every
 * request if need be (one cheap SQLite call). */
int ca_db_version(struct ca *ca, int64_t *out, struct moat_err *err);
/* A fresh CRL (next CRL number, CA_CRL_DAYS), written to ca/crl.pem as
 * ca_write_crl does, and appended to der as DER.  Needs ca_unlock. */
int ca_crl_der(struct ca *ca, struct moat_buf *der, struct pki_crl_info *info,
	       struct moat_err *err);

/* Write a fresh CRL to ca/crl.pem (and extra_path when non-NULL). */
int ca_write_crl(struct ca *ca, const char *extra_path, struct pki_crl_info *info,
		 struct moat_err *err);

#endif
