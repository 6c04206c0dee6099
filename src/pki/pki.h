/* pki.h: everything moat does with keys, certificates, CSRs, CRLs and
 * PKCS#12.  This header names no OpenSSL type and the types below are
 * opaque outside src/pki; the TLS code that must hand them to OpenSSL
 * itself reaches their OpenSSL objects through pki/ossl.h alone.
 *
 * Conventions: int functions return 0 on success and -1 on error;
 * constructors return NULL on error; every failure fills the moat_err with
 * one line for the user (the OpenSSL error queue is drained into it and
 * cleared).  Free functions accept NULL.  Times are Unix seconds. */
#ifndef MOAT_PKI_H
#define MOAT_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/names.h"
#include "core/permit.h"

struct pki_key;  /* a private key, or a public key alone (from a CSR) */
struct pki_cert; /* an X.509 certificate */
struct pki_csr;  /* a PKCS#10 certificate signing request */
struct pki_crl;  /* an X.509 CRL */

/* Hard caps for untrusted input. */
#define PKI_MAX_INPUT (1024 * 1024) /* bytes of one PEM/DER input */
#define PKI_MAX_OBJECTS 64          /* objects in one input */
#define PKI_MAX_FILE_OBJECTS 1024   /* objects in one file pki_objects_parse reads
				     * (a system CA bundle has 150 and more) */
#define PKI_MAX_SAN 256             /* subjectAltName entries we accept */

/* Set up OpenSSL for the process (configuration, random generator); call
 * once, before anything else in this module. */
int pki_init(struct moat_err *err);

/* ---- keys ------------------------------------------------------------ */

enum pki_key_type {
	PKI_KEY_EC_P256, /* default */
	PKI_KEY_EC_P384,
	PKI_KEY_RSA_2048,
	PKI_KEY_RSA_3072,
	PKI_KEY_RSA_4096,
	PKI_KEY_ED25519,
};

/* "ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096", "ed25519".
 * Unknown: error naming the valid types. */
int pki_key_type_parse(const char *s, enum pki_key_type *out, struct moat_err *err);
const char *pki_key_type_name(enum pki_key_type t);

struct pki_key *pki_key_generate(enum pki_key_type t, struct moat_err *err);
void pki_key_free(struct pki_key *k);
/* PKCS#8 PEM.  pass == NULL: unencrypted "PRIVATE KEY".  Otherwise
 * "ENCRYPTED PRIVATE KEY": PBES2 with scrypt (N=16384, r=8, p=1, 16-byte
 * random salt) and AES-256-CBC; readable by `openssl pkey -passin`. */
int pki_key_to_pem(const struct pki_key *k, const char *pass, size_t passlen,
		   struct moat_buf *out, struct moat_err *err);
/* Read a private key (PKCS#8, encrypted PKCS#8, or traditional PEM; DER
 * too).  An encrypted key with pass == NULL fails with "the key is
 * encrypted"; a wrong pass fails with "wrong passphrase". */
struct pki_key *pki_key_from_pem(const void *data, size_t len, const char *pass, size_t passlen,
				 struct moat_err *err);
bool pki_key_pem_is_encrypted(const void *data, size_t len);
bool pki_key_is_rsa(const struct pki_key *k);
/* Does k hold a private key (not a public key alone, as from a CSR or a
 * certificate)?  false for NULL. */
bool pki_key_is_private(const struct pki_key *k);
/* "EC P-256", "EC P-384", "RSA 2048", "Ed25519", ... */
void pki_key_describe(const struct pki_key *k, char *out, size_t n);
/* SHA-256 of the SubjectPublicKeyInfo, hex with colons. */
int pki_key_spki_sha256(const struct pki_key *k, char *out, size_t n, struct moat_err *err);
/* Same public key? (works for private-vs-public and private-vs-private) */
bool pki_key_matches_key(const struct pki_key *a, const struct pki_key *b);
bool pki_key_matches_cert(const struct pki_key *k, const struct pki_cert *c);

/* ---- certificates ---------------------------------------------------- */

/* PEM ("CERTIFICATE" blocks) or DER.  _from_pem returns the first. */
struct pki_cert *pki_cert_from_pem(const void *data, size_t len, struct moat_err *err);
/* All certificates in order; at most PKI_MAX_OBJECTS.  *out is an array
 * the caller frees with pki_certs_free. */
int pki_certs_from_pem(const void *data, size_t len, struct pki_cert ***out, size_t *n,
		       struct moat_err *err);
/* Every CERTIFICATE block of a PEM bundle the system trusts (the system's
 * CA bundle, a tool's listing): unlike pki_certs_from_pem, no cap on how
 * many -- a real bundle has 150 and more; the caller caps the bytes.  fn
 * gets each certificate (borrowed for the call) and returns non-zero to
 * stop.  -1 with err on a malformed block. */
int pki_pem_each_cert(const void *data, size_t len,
		      int (*fn)(const struct pki_cert *c, void *arg), void *arg,
		      struct moat_err *err);
void pki_certs_free(struct pki_cert **c, size_t n);
void pki_cert_free(struct pki_cert *c);
struct pki_cert *pki_cert_dup(const struct pki_cert *c);
int pki_cert_to_pem(const struct pki_cert *c, struct moat_buf *out, struct moat_err *err);
int pki_cert_to_der(const struct pki_cert *c, struct moat_buf *out, struct moat_err *err);
/* Public key of the certificate (a public-only pki_key). */
struct pki_key *pki_cert_pubkey(const struct pki_cert *c, struct moat_err *err);
/* Does c name issuer as its issuer (issuer name, authority key identifier)
 * and may issuer sign certificates?  No signature check: cheap. */
bool pki_cert_issued_by(const struct pki_cert *c, const struct pki_cert *issuer);
/* Is c's signature made by issuer's key and c's issuer name issuer's subject? */
bool pki_cert_signed_by(const struct pki_cert *c, const struct pki_cert *issuer);

enum pki_profile {
	PKI_PROFILE_ROOT,         /* self-signed; CA:TRUE critical; KU keyCertSign,cRLSign
	                           * critical; SKI; AKI keyid; name constraints if any */
	PKI_PROFILE_INTERMEDIATE, /* CA:TRUE pathlen:0 critical; KU digitalSignature,
	                           * keyCertSign,cRLSign critical; EKU serverAuth,clientAuth;
	                           * SKI; AKI keyid; name constraints if any */
	PKI_PROFILE_LEAF,         /* CA:FALSE critical; KU digitalSignature (+keyEncipherment
	                           * for RSA keys) critical; EKU serverAuth (+clientAuth);
	                           * SAN with every name; SKI; AKI keyid */
	PKI_PROFILE_ACME_TLS_ALPN, /* the RFC 8737 tls-alpn-01 validation certificate:
	                            * self-signed; SAN with exactly one name (names[0],
	                            * DNS or IP); critical acmeIdentifier
	                            * (1.3.6.1.5.5.7.1.31) holding OCTET STRING
	                            * acme_digest; SKI; AKI keyid */
	PKI_PROFILE_OCSP_SIGNER,  /* a delegated OCSP responder (RFC 6960 4.2.2.2): CA:FALSE
	                           * critical; KU digitalSignature critical; EKU OCSPSigning;
	                           * id-pkix-ocsp-nocheck; subject CN only; SKI; AKI keyid */
};

struct pki_cert_spec {
	enum pki_profile profile;
	const char *common_name;  /* subject CN; NULL: no CN (then SAN is critical) */
	const char *organization; /* subject O; NULL: none */
	const struct moat_name *names; /* leaf: subjectAltName entries (DNS/IP) */
	size_t nnames;
	bool client_auth; /* leaf: add clientAuth to EKU */
	/* CA profiles: critical nameConstraints.  Every permit goes in
	 * permittedSubtrees; a kind (DNS or IP) with no permit is put in
	 * excludedSubtrees whole (DNS "" / IP 0.0.0.0/0 and ::/0), so that a
	 * CA limited to names cannot sign for arbitrary IPs and vice versa.
	 * npermits == 0: no nameConstraints extension. */
	const struct moat_permit *permits;
	size_t npermits;
	/* LEAF and OCSP_SIGNER: where relying parties find revocation and the
	 * issuer (http:// URLs, NULL: none): cRLDistributionPoints with one
	 * fullName URI, authorityInfoAccess with OCSP and caIssuers. */
	const char *crl_url, *ocsp_url, *ca_issuers_url;
	/* ACME_TLS_ALPN: the 32-byte SHA-256 of the key authorization. */
	const unsigned char *acme_digest;
	int64_t not_before;
	int64_t not_after;
};

/* Build and sign a certificate for subject_key's public key.  issuer ==
 * NULL makes a self-signed certificate (issuer_key must be the subject's
 * private key).  The serial is 128 random bits (positive, non-zero).
 * Signature: SHA-256 (SHA-384 when the issuer key is EC P-384; none for
 * Ed25519). */
struct pki_cert *pki_cert_build(const struct pki_cert_spec *spec,
				const struct pki_key *subject_key,
				const struct pki_cert *issuer, const struct pki_key *issuer_key,
				struct moat_err *err);

/* A reading of a certificate; every text is escaped (peer-supplied). */
struct pki_cert_info {
	char subject[512];    /* one line, RFC 2253 order: "CN=x,O=y" */
	char issuer[512];
	char common_name[256];  /* "" if none */
	char serial_hex[80];    /* upper-case hex, no colons, as `openssl x509 -serial` */
	int64_t not_before;
	int64_t not_after;
	char key_desc[64];      /* as pki_key_describe */
	char sig_alg[64];       /* "ecdsa-with-SHA256", "sha256WithRSAEncryption", "ED25519" */
	bool is_ca;
	int pathlen;            /* -1: none */
	bool self_signed;
	char **san;             /* "DNS:example.com", "IP:127.0.0.1", "email:..", "URI:.." */
	size_t nsan;
	char key_usage[160];    /* "digitalSignature, keyEncipherment", "" if absent */
	char ext_key_usage[160];/* "serverAuth, clientAuth", "" if absent */
	char name_constraints[512]; /* "permitted: DNS:.local, IP:192.168.0.0/16; excluded: ..." or "" */
	char sha256[100];       /* fingerprint of the DER, hex with colons, upper case */
	char ski[64];           /* hex with colons, "" if absent */
	char aki[64];
};
int pki_cert_info(const struct pki_cert *c, struct pki_cert_info *out, struct moat_err *err);
void pki_cert_info_clear(struct pki_cert_info *i); /* frees san */

/* Verify leaf as a strict TLS client would: X509_V_FLAG_X509_STRICT,
 * purpose sslserver, root as the only trust anchor, untrusted as
 * intermediates, name constraints; with a CRL, X509_V_FLAG_CRL_CHECK too.
 * at == 0 means now.  On failure err says why, in OpenSSL's words plus the
 * subject of the certificate at fault. */
int pki_verify_chain(const struct pki_cert *leaf, struct pki_cert *const *untrusted, size_t n,
		     const struct pki_cert *root, const struct pki_crl *crl, int64_t at,
		     struct moat_err *err);

/* ---- CSRs -------------------------------------------------------------- */

struct pki_csr *pki_csr_from_pem(const void *data, size_t len, struct moat_err *err);
void pki_csr_free(struct pki_csr *r);
int pki_csr_to_pem(const struct pki_csr *r, struct moat_buf *out, struct moat_err *err);
int pki_csr_to_der(const struct pki_csr *r, struct moat_buf *out, struct moat_err *err);
/* A CSR with CN = names[0].text (when it fits in 64 bytes) and every name
 * in a subjectAltName extension request, signed by key. */
struct pki_csr *pki_csr_build(const struct pki_key *key, const struct moat_name *names, size_t n,
			      struct moat_err *err);
/* Check the CSR's self-signature: -1 with "signature does not verify". */
int pki_csr_verify(const struct pki_csr *r, struct moat_err *err);
struct pki_key *pki_csr_pubkey(const struct pki_csr *r, struct moat_err *err);
/* The names the CSR asks for: SAN DNS/IP entries, validated with
 * moat_name_parse / moat_name_from_ip (any other SAN type, or an invalid
 * name, is an error).  cn receives the subject CN (escaped; "" if none). */
int pki_csr_names(const struct pki_csr *r, struct moat_name **names, size_t *n, char *cn,
		  size_t cnlen, struct moat_err *err);
struct pki_csr_info {
	char subject[512];
	char **san; /* as pki_cert_info */
	size_t nsan;
	char key_desc[64];
	char sig_alg[64];
	bool signature_ok;
};
int pki_csr_info(const struct pki_csr *r, struct pki_csr_info *out, struct moat_err *err);
void pki_csr_info_clear(struct pki_csr_info *i);

/* ---- CRLs -------------------------------------------------------------- */

enum pki_reason { /* RFC 5280 CRLReason values */
	PKI_REASON_UNSPECIFIED = 0,
	PKI_REASON_KEY_COMPROMISE = 1,
	PKI_REASON_CA_COMPROMISE = 2,
	PKI_REASON_AFFILIATION_CHANGED = 3,
	PKI_REASON_SUPERSEDED = 4,
	PKI_REASON_CESSATION_OF_OPERATION = 5,
	PKI_REASON_PRIVILEGE_WITHDRAWN = 9,
};
/* "unspecified", "keyCompromise"/"key-compromise", ... (case-insensitive) */
int pki_reason_parse(const char *s, enum pki_reason *out, struct moat_err *err);
const char *pki_reason_name(enum pki_reason r); /* "keyCompromise" ... */

struct pki_revoked {
	const char *serial_hex; /* as pki_cert_info.serial_hex */
	int64_t revoked_at;
	enum pki_reason reason; /* unspecified: no reasonCode extension */
};
/* A v2 CRL signed by issuer_key, with AKI and cRLNumber. */
struct pki_crl *pki_crl_build(const struct pki_cert *issuer, const struct pki_key *issuer_key,
			      const struct pki_revoked *revoked, size_t n, uint64_t number,
			      int64_t this_update, int64_t next_update, struct moat_err *err);
void pki_crl_free(struct pki_crl *c);
int pki_crl_to_pem(const struct pki_crl *c, struct moat_buf *out, struct moat_err *err);
struct pki_crl_info {
	char issuer[512];
	int64_t this_update;
	int64_t next_update; /* 0: absent */
	char number[64];     /* decimal, "" if absent */
	size_t nrevoked;
};
int pki_crl_info(const struct pki_crl *c, struct pki_crl_info *out, struct moat_err *err);

/* ---- PKCS#12 ----------------------------------------------------------- */

/* DER PKCS#12 with key, cert and chain; AES-256-CBC PBES2 (PBKDF2-SHA256)
 * for key and certificates, HMAC-SHA256 MAC; friendly name on the key bag.
 * Opens with `openssl pkcs12` (OpenSSL 3). */
int pki_p12_build(const struct pki_key *key, const struct pki_cert *cert,
		  struct pki_cert *const *chain, size_t nchain, const char *friendly,
		  const char *pass, size_t passlen, struct moat_buf *out, struct moat_err *err);

/* ---- JOSE, for ACME (RFC 7515, 7517, 7518, 8037) --------------------- */

/* A public key as JWK members, values base64url (no padding). */
struct pki_jwk {
	const char *kty;      /* "EC", "RSA", "OKP" */
	const char *crv;      /* "P-256", "P-384", "Ed25519"; NULL for RSA */
	const char *alg;      /* the JWS algorithm: "ES256", "ES384", "RS256", "EdDSA" */
	struct moat_buf x, y; /* EC: x and y (field size); OKP: x */
	struct moat_buf n, e; /* RSA */
};
/* Keys JOSE has no algorithm for (P-521 aside, RSA < 2048) fail with err. */
int pki_key_jwk(const struct pki_key *k, struct pki_jwk *out, struct moat_err *err);
void pki_jwk_clear(struct pki_jwk *j);
/* A public key from JWK members as a peer sent them (base64url text; crv,
 * x, y for EC and OKP, n and e for RSA; the others NULL).  Only what JWS
 * for ACME takes: EC P-256 or P-384 (x and y of the field's size, a point
 * on the curve), RSA of 2048 to 8192 bits (no leading zero, odd e),
 * Ed25519.  NULL with err otherwise; the caller frees the key. */
struct pki_key *pki_key_from_jwk(const char *kty, const char *crv, const char *x, const char *y,
				 const char *n, const char *e, struct moat_err *err);
/* The JWS signature of data with k, in JWS form (ECDSA: r || s). */
int pki_jws_sign(const struct pki_key *k, const void *data, size_t len, struct moat_buf *sig,
		 struct moat_err *err);
bool pki_jws_verify(const struct pki_key *k, const void *data, size_t len, const void *sig,
		    size_t siglen);
int pki_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
		    unsigned char out[32], struct moat_err *err);
int pki_sha256(const void *data, size_t len, unsigned char out[32]);
/* len bytes from the random generator moat draws keys from; -1 on failure. */
int pki_random(void *out, size_t len);
/* Equal, in a time that does not depend on where they differ. */
bool pki_mem_equal(const void *a, const void *b, size_t len);
/* The SHA-256 digest in a tls-alpn-01 certificate's critical
 * acmeIdentifier extension (RFC 8737 section 3): 0 with out filled; -1
 * when the extension is absent, not critical, repeated or not one 32-byte
 * OCTET STRING. */
int pki_cert_acme_identifier(const struct pki_cert *c, unsigned char out[32]);
/* RFC 9773 (ACME Renewal Information) certificate identifier:
 * base64url(authority key identifier) "." base64url(serial DER contents). */
int pki_cert_ari_id(const struct pki_cert *c, char *out, size_t n, struct moat_err *err);

/* ---- any input (inspect, fuzzing) ------------------------------------- */

enum pki_obj_kind { PKI_OBJ_CERT, PKI_OBJ_CSR, PKI_OBJ_KEY, PKI_OBJ_CRL };

struct pki_object {
	enum pki_obj_kind kind;
	struct pki_cert *cert;
	struct pki_csr *csr;
	struct pki_key *key; /* NULL when the key is encrypted */
	struct pki_crl *crl;
	bool encrypted;      /* an ENCRYPTED PRIVATE KEY we did not decrypt */
};
/* Every object in data: PEM blocks in order (unknown block types are
 * skipped; text around them is ignored), or, when there is no PEM, one DER
 * certificate, CSR, CRL or private key.  Fails when nothing is recognised,
 * when data is larger than PKI_MAX_INPUT or holds more than
 * PKI_MAX_FILE_OBJECTS objects. */
int pki_objects_parse(const void *data, size_t len, struct pki_object **out, size_t *n,
		      struct moat_err *err);
void pki_objects_free(struct pki_object *o, size_t n);

/* ---- revocation, paths and hosts (moat check) -------------------------- */

/* Caps for what a server, an AIA/CRL URL or an OCSP responder hands us.
 * Callers fetching these should stop reading at the same sizes. */
#define PKI_MAX_CRL_INPUT (16 * 1024 * 1024) /* bytes of one DER CRL (PEM: about 4/3 more) */
#define PKI_MAX_OCSP_INPUT (64 * 1024)       /* bytes of one OCSP response */
#define PKI_MAX_CERT_DER (64 * 1024)         /* bytes of one certificate (caIssuers) */
#define PKI_MAX_AIA_INPUT PKI_MAX_INPUT      /* bytes of a caIssuers answer (.p7c bundles) */
#define PKI_TIME_SKEW 300                    /* seconds of clock skew allowed */

/* What a certificate points to. */
struct pki_cert_urls {
	char ocsp[512];       /* first OCSP responder URL (AIA id-ad-ocsp), "" if none */
	char ca_issuers[512]; /* first caIssuers URL (AIA), "" if none */
	char crl[512];        /* first CRL distribution point fullName URI, "" if none */
};
/* Only http:// and https:// URIs are taken (scheme case-insensitive).  A
 * URI that does not fit, or holds a byte moat_escape would change (control,
 * space, quote, backslash, non-ASCII), is skipped: what is returned is safe
 * to print and is exactly the URL the certificate names.  -1 when the
 * authorityInfoAccess or cRLDistributionPoints extension is malformed or
 * repeated (out then holds what the other extension gave).  A distribution
 * point limited to some reasons or naming a cRLIssuer (indirect CRL) is
 * skipped. */
int pki_cert_urls(const struct pki_cert *c, struct pki_cert_urls *out, struct moat_err *err);

/* A certificate from what an AIA caIssuers URL serves: DER (usual), PEM,
 * or a PKCS#7 certs-only bundle (.p7c, DER or PEM) -- then the first cert.
 * At most PKI_MAX_AIA_INPUT bytes in, PKI_MAX_CERT_DER per certificate. */
struct pki_cert *pki_cert_from_any(const void *data, size_t len, struct moat_err *err);
/* The same, every certificate (a .p7c may hold several, in any order; at
 * most PKI_MAX_OBJECTS); free with pki_certs_free. */
int pki_certs_from_any(const void *data, size_t len, struct pki_cert ***out, size_t *n,
		       struct moat_err *err);

/* Does c cover host (DNS name or IP address; "[v6]" allowed) as a browser
 * checks it: SAN dNSName (a "*" alone as the left-most label matches one
 * label, with at least two labels after it; partial wildcards never
 * match; ASCII case-insensitive; one trailing dot ignored on either side)
 * or, for an IP address host, SAN iPAddress only; the CN is never used.
 * *cn_only (may be NULL) is set when c has no DNS/IP SAN at all but a CN
 * would have matched by the same rules (the "CN-only certificate"
 * finding), cleared otherwise. */
bool pki_cert_matches_host(const struct pki_cert *c, const char *host, bool *cn_only);

/* Path building and verification against many trust anchors (the system
 * bundle, or --ca), with the sent certificates as untrusted intermediates,
 * at time `at` (unix seconds; 0: now), X509_V_FLAG_X509_STRICT, partial
 * chains off (an anchor must be self-signed to be trusted), purpose
 * sslserver, security level 2 (RSA/DSA >= 2048, EC >= 224 bits, no SHA-1
 * or MD5 signature below the anchor).  Returns 0 when it ran (res says the
 * verdict), -1 when it could not run.  The host name is not checked here
 * (pki_cert_matches_host). */
enum pki_path_code {
	PKI_PATH_OK,
	PKI_PATH_NO_ISSUER,        /* unable to get (local) issuer: missing intermediate or unknown root */
	PKI_PATH_SELF_SIGNED_LEAF, /* depth-0 self-signed, not trusted */
	PKI_PATH_UNTRUSTED_ROOT,   /* self-signed root in the chain, not trusted */
	PKI_PATH_EXPIRED,
	PKI_PATH_NOT_YET_VALID,
	PKI_PATH_BAD_SIGNATURE,
	PKI_PATH_NOT_CA,           /* invalid CA / purpose / basic constraints / key usage / path length */
	PKI_PATH_NAME_CONSTRAINTS,
	PKI_PATH_WEAK,             /* key too small / signature algorithm too weak (security level) */
	PKI_PATH_OTHER,
};
#define PKI_PATH_MAX 16
struct pki_path_result {
	enum pki_path_code code;
	int depth;                         /* where the error is (0 = leaf); 0 on OK */
	int verify_error;                  /* OpenSSL's X509_V_ERR_* code (0 on OK) */
	char detail[256];                  /* OpenSSL's verify error text; "" on OK */
	struct pki_cert *path[PKI_PATH_MAX]; /* the path built, leaf first, anchor last (on OK;
	                                    * partial otherwise), owned */
	size_t npath;
};
int pki_verify_path(const struct pki_cert *leaf, struct pki_cert *const *untrusted, size_t nu,
		    struct pki_cert *const *anchors, size_t na, int64_t at,
		    struct pki_path_result *res, struct moat_err *err);
void pki_path_result_clear(struct pki_path_result *res); /* frees path[], zeroes res */
/* For weak-key and old-signature findings: */
int pki_cert_key_bits(const struct pki_cert *c); /* RSA/DSA modulus bits, EC curve bits, 0 unknown
                                                  * (Ed25519: 256, Ed448: 456) */
bool pki_cert_sig_sha1(const struct pki_cert *c); /* SHA-1 (or MD5, MD4, MD2) signature */

/* ---- OCSP (RFC 6960) ---- */

struct pki_ocsp_req; /* CertID (SHA-1, as responders expect) + nonce */
/* nonce: a 16-byte random nonce extension (RFC 8954). */
struct pki_ocsp_req *pki_ocsp_req_new(const struct pki_cert *cert, const struct pki_cert *issuer,
				      bool nonce, struct moat_err *err);
void pki_ocsp_req_free(struct pki_ocsp_req *r);
/* The DER OCSPRequest (for POST as application/ocsp-request; base64 and
 * URL-encode it for GET), appended to out. */
int pki_ocsp_req_der(const struct pki_ocsp_req *r, struct moat_buf *out, struct moat_err *err);

enum pki_ocsp_status { PKI_OCSP_GOOD, PKI_OCSP_REVOKED, PKI_OCSP_UNKNOWN };
struct pki_ocsp_result {
	int response_status;       /* 0 successful; 1 malformedRequest, 2 internalError,
	                            * 3 tryLater, 5 sigRequired, 6 unauthorized.  When not 0
	                            * nothing below is set but problem (status UNKNOWN). */
	enum pki_ocsp_status status; /* UNKNOWN too when no answer is about cert */
	bool matched;              /* the response holds an answer about cert (any CertID hash) */
	int reason;                /* CRL reason when revoked and given, else -1 */
	int64_t revoked_at;
	int64_t produced_at, this_update, next_update; /* next_update 0 when absent */
	bool signature_ok;         /* the response's signature verifies with the signer's key */
	bool responder_authorized; /* signer = issuer (same name and key: the copy a response
	                            * carries may be a cross-signed one), or a delegate issued
	                            * (and signed) by the issuer with id-kp-OCSPSigning, valid
	                            * at `at` (RFC 6960 4.2.2.2); only set when signature_ok */
	bool nonce_sent, nonce_present, nonce_ok; /* nonce_ok: present and equal (or not sent) */
	bool time_ok;              /* this_update <= at + 5 min skew, and at <= next_update +
	                            * 5 min (when given); false when not matched */
	char problem[256];         /* the first thing wrong with the response, in words; "" if
	                            * none.  A nonce sent and not echoed is not a problem (most
	                            * responders serve pre-signed answers); a wrong one is.
	                            * REVOKED / UNKNOWN status is the verdict, not a problem. */
};
/* Check a response (from a responder: req given; or a stapled one: req NULL,
 * matched by cert/issuer CertID) for cert issued by issuer, at time at
 * (0: now).  Whatever req, the answer is looked up by cert and issuer, with
 * the hash the response's CertID names (SHA-1, SHA-256, ...).
 * 0: parsed (res filled, even if bad); -1: not an OCSP response at all
 * (or larger than PKI_MAX_OCSP_INPUT, or bad arguments). */
int pki_ocsp_check(const struct pki_ocsp_req *req, const struct pki_cert *cert,
		   const struct pki_cert *issuer, const void *der, size_t len, int64_t at,
		   struct pki_ocsp_result *res, struct moat_err *err);

/* ---- CRL checks ---- */

/* DER or PEM ("X509 CRL" block); at most PKI_MAX_CRL_INPUT bytes of DER. */
struct pki_crl *pki_crl_from_any(const void *data, size_t len, struct moat_err *err);
struct pki_crl_check {
	bool signature_ok;  /* signed by issuer's key */
	bool issuer_match;  /* CRL issuer name == cert's issuer name */
	bool scope_ok;      /* a complete CRL that covers cert: not a delta CRL, not indirect or
	                     * partitioned by reasons, onlyContains* fits cert, no unknown
	                     * critical extension, and issuer may sign CRLs (key usage) */
	bool time_ok;       /* this_update <= at (+skew) and at <= next_update (+skew) */
	int64_t this_update, next_update; /* next_update 0 when absent */
	bool revoked;
	int reason;         /* -1 if none */
	int64_t revoked_at;
	char problem[256];  /* the first thing wrong with the CRL; "" if none */
};
/* Check cert against crl (issued by issuer) at time at (0: now): 0 when it
 * ran (out filled), -1 on bad arguments. */
int pki_crl_check(const struct pki_crl *crl, const struct pki_cert *cert,
		  const struct pki_cert *issuer, int64_t at, struct pki_crl_check *out,
		  struct moat_err *err);

/* ---- OCSP responder (ocsp_resp.c; RFC 6960, RFC 5019) -------------------- */

#define PKI_OCSP_REQ_MAX 8192 /* bytes of one DER OCSPRequest */
#define PKI_OCSP_MAX_IDS 4    /* CertIDs in one request (RFC 5019 clients send one) */
#define PKI_OCSP_NONCE_MAX 34 /* bytes of the nonce extension's value: RFC 8954's
			       * OCTET STRING of 1 to 32 bytes, with its tag and length */

enum pki_ocsp_hash { PKI_OCSP_SHA1, PKI_OCSP_SHA256 };

/* One CertID of a request. */
struct pki_ocsp_certid {
	enum pki_ocsp_hash hash;
	unsigned char name_hash[32]; /* 20 (SHA-1) or 32 (SHA-256) bytes */
	unsigned char key_hash[32];
	char serial_hex[80];         /* as pki_cert_info.serial_hex; "-" first when negative */
};
/* An OCSPRequest as a responder needs it.  The requestor's signature, if
 * any, and extensions other than the nonce are ignored. */
struct pki_ocsp_request {
	struct pki_ocsp_certid ids[PKI_OCSP_MAX_IDS];
	size_t nids;                 /* 1 .. PKI_OCSP_MAX_IDS */
	unsigned char nonce[PKI_OCSP_NONCE_MAX]; /* the nonce extension's extnValue as sent */
	size_t nonce_len;            /* 0: no nonce asked for */
};
/* Parse one whole DER OCSPRequest of at most PKI_OCSP_REQ_MAX bytes.  -1
 * (a client's malformedRequest) when it is not one, has trailing bytes, no
 * or more than PKI_OCSP_MAX_IDS CertIDs, a CertID hash other than SHA-1
 * or SHA-256 (or hashes of the wrong length), a serial above 32 bytes, or
 * a nonce that is repeated, empty or longer than PKI_OCSP_NONCE_MAX. */
int pki_ocsp_request_parse(const void *der, size_t len, struct pki_ocsp_request *out,
			   struct moat_err *err);
/* Does id name issuer (the hashes of its subject name and public key)? */
bool pki_ocsp_certid_issuer_is(const struct pki_ocsp_certid *id, const struct pki_cert *issuer);

/* The answer about one CertID. */
struct pki_ocsp_answer {
	const struct pki_ocsp_certid *id; /* issued by the issuer given to the builder */
	enum pki_ocsp_status status;
	int64_t revoked_at;         /* REVOKED */
	int reason;                 /* REVOKED: CRLReason, -1 none (unspecified is sent as none) */
};
/* A successful OCSPResponse (DER, appended to out): a BasicOCSPResponse
 * with one SingleResponse per answer (CertID rebuilt with its hash from
 * issuer, so it equals the request's), thisUpdate / nextUpdate, the nonce
 * extension echoed when nonce_len > 0, responderID byKey, producedAt now,
 * signed by key (signer's), signer's certificate included.  signer is the
 * issuer itself or a delegate it issued with id-kp-OCSPSigning. */
int pki_ocsp_response_build(const struct pki_cert *issuer, const struct pki_cert *signer,
			    const struct pki_key *key, const struct pki_ocsp_answer *a, size_t n,
			    const unsigned char *nonce, size_t nonce_len, int64_t this_update,
			    int64_t next_update, struct moat_buf *out, struct moat_err *err);
/* An unsuccessful OCSPResponse (status 1 malformedRequest, 2 internalError,
 * 3 tryLater, 5 sigRequired, 6 unauthorized), appended to out. */
int pki_ocsp_response_error(int status, struct moat_buf *out, struct moat_err *err);
/* The CRL as DER (for GET /crl), appended to out. */
int pki_crl_to_der(const struct pki_crl *c, struct moat_buf *out, struct moat_err *err);

#endif
