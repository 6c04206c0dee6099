/* internal.h: what the files of the pki module share.  Not for use outside
 * src/pki/ (the unit tests of pki's internals aside): code elsewhere that
 * must hand pki's objects to OpenSSL uses pki/ossl.h. */
#ifndef MOAT_PKI_INTERNAL_H
#define MOAT_PKI_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/names.h"
#include "pki/ossl.h"
#include "pki/pki.h"

struct pki_key {
	EVP_PKEY *pkey;
	bool priv; /* holds the private part */
};

struct pki_cert {
	X509 *x;
};

struct pki_csr {
	X509_REQ *req;
};

struct pki_crl {
	X509_CRL *crl;
};

/* ---- errors (drain.c) ------------------------------------------------- */

/* pki_err_drain: in pki/ossl.h (the TLS code outside src/pki uses it). */
/* Set err to the message alone; the OpenSSL error queue is cleared. */
void pki_err_set(struct moat_err *err, const char *fmt, ...) MOAT_PRINTF(2, 3);

/* ---- verification (verify.c) ------------------------------------------ */

/* What every verification shares: n (at most PKI_MAX_OBJECTS) and at
 * checked, the untrusted certificates into chain, ctx set up with store
 * and leaf, flags, purpose sslserver, and the time (at != 0).  The
 * certificates stay the caller's. */
int pki_verify_setup(X509_STORE_CTX *ctx, X509_STORE *store, STACK_OF(X509) *chain,
		     const struct pki_cert *leaf, struct pki_cert *const *untrusted, size_t n,
		     unsigned long flags, int64_t at, struct moat_err *err);

/* ---- wrappers (drain.c) ----------------------------------------------- */

/* Each takes ownership of its argument (freed on failure too). */
struct pki_key *pki_key_wrap(EVP_PKEY *pkey, bool priv, struct moat_err *err);
struct pki_cert *pki_cert_wrap(X509 *x, struct moat_err *err);
struct pki_csr *pki_csr_wrap(X509_REQ *req, struct moat_err *err);
struct pki_crl *pki_crl_wrap(X509_CRL *crl, struct moat_err *err);

/* ---- PEM and DER input (pem.c) ---------------------------------------- */

struct pki_pem_block {
	char *name;         /* "CERTIFICATE", ... */
	char *header;       /* "" or "Proc-Type: 4,ENCRYPTED\n..." */
	unsigned char *der; /* decoded body */
	long len;
};

/* Check the size of an untrusted input; fills err when it is empty or
 * larger than PKI_MAX_INPUT.  what: "certificate", "CSR", ... */
int pki_input_check(const void *data, size_t len, const char *what, struct moat_err *err);
/* Does the input contain a "-----BEGIN " line? */
bool pki_looks_pem(const void *data, size_t len);
/* A read-only memory BIO over data (not copied; keep data alive). */
BIO *pki_mem_bio(const void *data, size_t len, struct moat_err *err);
/* Next PEM block from bio: 1 with *b filled, 0 at the end, -1 on a
 * malformed block (err filled).  Free with pki_pem_block_free. */
int pki_pem_next(BIO *bio, struct pki_pem_block *b, struct moat_err *err);
void pki_pem_block_free(struct pki_pem_block *b);
/* The first PEM block in data whose label is one of labels (NULL-terminated;
 * labels[0] names the kind in the "not found" message): 1 with b filled, or
 * -1 with err filled when there is none or the input is malformed.  No cap
 * of its own (a CRL's PEM may be far above PKI_MAX_INPUT): the caller's. */
int pki_pem_find(const void *data, size_t len, const char *const *labels,
		 struct pki_pem_block *b, struct moat_err *err);

/* ec.c: EC keys on named curves encoded without OSSL_ENCODER.  Both return
 * 1 when done, 0 when the key is not such a key (use the general path), -1
 * on error.  pki_ec_set_x509_pubkey leaves x without a cached EVP_PKEY:
 * re-read the certificate from its encoding after signing. */
int pki_ec_set_x509_pubkey(X509 *x, EVP_PKEY *pkey);
/* Unencrypted PKCS#8 PrivateKeyInfo DER; free *der with OPENSSL_clear_free. */
int pki_ec_pkcs8_der(EVP_PKEY *pkey, unsigned char **der, int *derlen);
/* The key in an unencrypted PKCS#8 PrivateKeyInfo DER when it is a P-256,
 * P-384 or P-521 key exactly as pki_ec_pkcs8_der writes it (and OpenSSL
 * does), with its point on the curve; NULL for anything else, which the
 * caller hands to the general decoder.  The caller frees the key. */
EVP_PKEY *pki_ec_from_pkcs8(const unsigned char *der, size_t len);

/* DER decoders that insist on one whole object: NULL when the bytes are not
 * exactly one object of the kind (of it; or more than max bytes).  They
 * leave the OpenSSL error queue for the caller to drain. */
void *pki_der_whole(const ASN1_ITEM *it, const unsigned char *der, size_t len, size_t max);
/* pki_pem_find, then the block as pki_der_whole(it, max): NULL with err
 * filled also when the block is not one whole object ("the <what> is
 * malformed"). */
void *pki_pem_find_der(const void *data, size_t len, const char *const *labels,
		       const ASN1_ITEM *it, size_t max, const char *what, struct moat_err *err);
X509 *pki_der_cert(const unsigned char *der, size_t len);
X509_REQ *pki_der_csr(const unsigned char *der, size_t len);
X509_CRL *pki_der_crl(const unsigned char *der, size_t len);
/* PKCS#8 PrivateKeyInfo or a traditional RSA/EC key, unencrypted. */
EVP_PKEY *pki_der_private_key(const unsigned char *der, size_t len);
/* Is this exactly one EncryptedPrivateKeyInfo? */
bool pki_der_is_encrypted_key(const unsigned char *der, size_t len);

/* Append the contents of a memory BIO to out (out unchanged on failure). */
int pki_bio_to_buf(BIO *bio, struct moat_buf *out, struct moat_err *err);
/* Append the DER encoding of obj (of item it) to out as DER (label NULL)
 * or as a PEM block with label.  what names the object in errors
 * ("certificate"); obj NULL fails with "no <what>". */
int pki_encoded_out(const ASN1_ITEM *it, const void *obj, const char *label, const char *what,
		    struct moat_buf *out, struct moat_err *err);

/* ---- keys (key.c) ----------------------------------------------------- */

/* Does the EVP_PKEY hold a private key? */
bool pki_pkey_has_private(const EVP_PKEY *pkey);
/* "P-256", "P-384" or "P-521" for an EC key on that curve, else NULL. */
const char *pki_pkey_nist(const EVP_PKEY *pkey);
/* The digest to sign with this key (NULL for Ed25519/Ed448). */
const EVP_MD *pki_sign_md(const EVP_PKEY *pkey);
void pki_pkey_describe(const EVP_PKEY *pkey, char *out, size_t n);
/* Is the key of a type moat can sign with (EC P-256/384/521, RSA >= 2048,
 * Ed25519)?  Fills err when not. */
int pki_pkey_check_signer(const EVP_PKEY *pkey, struct moat_err *err);

/* ---- certificates (cert.c) ---------------------------------------------- */

/* A key identifier by RFC 5280 4.2.1.2 method (1): SHA-1 of the
 * subjectPublicKey BIT STRING.  NULL on failure. */
ASN1_OCTET_STRING *pki_pubkey_keyid(X509_PUBKEY *xpk);
/* The key identifier of a finished certificate: its subjectKeyIdentifier
 * when it has one, else pki_pubkey_keyid.  (Not for a certificate being
 * built: reading it caches its extensions.)  NULL on failure. */
ASN1_OCTET_STRING *pki_cert_keyid(X509 *x);

/* ---- text (text.c) ----------------------------------------------------- */

/* "CN=x,O=y": RFC 2253 order, values escaped, ',' and '+' as \x2c and \x2b. */
void pki_name_oneline(const X509_NAME *name, char *out, size_t n);
/* The first CN of the name, escaped; "" if none. */
void pki_name_cn(const X509_NAME *name, char *out, size_t n);
/* The OID's short name or dotted form (numeric), or its long name. */
void pki_obj_text(const ASN1_OBJECT *o, bool numeric, char *out, size_t n);
/* "AB:CD:..." upper-case hex with colons, truncated to fit n. */
void pki_hex_colons(const unsigned char *p, size_t len, char *out, size_t n);
/* ASN1_TIME to Unix seconds; -1 on a malformed or absent (NULL) time,
 * *out then untouched (the result structs start zeroed: 0 stays). */
int pki_time_get(const ASN1_TIME *t, int64_t *out);
/* The first thing wrong with a CRL or an OCSP response: fmt into
 * problem[n] unless it already holds one. */
void pki_problem(char *problem, size_t n, const char *fmt, ...) MOAT_PRINTF(3, 4);
/* thisUpdate and nextUpdate (NULL: absent) of a CRL or an OCSP response
 * (what: "CRL", "response") into *tu and *nu (0 when malformed or absent),
 * checked at `at` with PKI_TIME_SKEW either side: true when current;
 * otherwise the first thing wrong goes to problem as pki_problem does. */
bool pki_update_window(const ASN1_TIME *thisupd, const ASN1_TIME *nextupd, int64_t at,
		       const char *what, int64_t *tu, int64_t *nu, char *problem, size_t n);

/* ---- CSRs (csr.c) ------------------------------------------------------- */

/* The subjectAltName the CSR requests: *out NULL (and 0 returned) when it
 * requests none; -1 when the request is malformed. */
int pki_csr_san(X509_REQ *req, GENERAL_NAMES **out, struct moat_err *err);

/* ---- building (build.c) ----------------------------------------------- */

/* GENERAL_NAMES with one dNSName/iPAddress entry per name. */
GENERAL_NAMES *pki_san_from_names(const struct moat_name *names, size_t n, struct moat_err *err);

#endif
