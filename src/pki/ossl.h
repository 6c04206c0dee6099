/* ossl.h: the one door through which code outside src/pki reaches the
 * OpenSSL objects inside pki's types -- for the TLS code that must hand a
 * certificate or a key to libssl itself (src/net/tls_server.c and
 * tls_alpn.c build SSL_CTXs and SSLs from them) or keep what libssl gave it
 * (src/check/tls_probe.c keeps the chain a server sent).  Everything else
 * uses pki/pki.h, which names no OpenSSL type.  src/pki/internal.h is for
 * src/pki alone.
 *
 * Ownership: the accessors return borrowed pointers, valid as long as the
 * pki object they came from lives (until pki_cert_free / pki_key_free).
 * The caller must not free them and must not change the object through
 * them (pki_cert_dup shares one X509 among copies).  A caller that needs
 * the object for longer takes its own reference (X509_up_ref,
 * EVP_PKEY_up_ref) and drops it when done (X509_free, EVP_PKEY_free); the
 * OpenSSL calls that keep a reference of their own (SSL_CTX_use_certificate,
 * SSL_CTX_add1_chain_cert, SSL_CTX_use_PrivateKey, SSL_use_certificate,
 * SSL_use_PrivateKey) may be given the borrowed pointer as it is. */
#ifndef MOAT_PKI_OSSL_H
#define MOAT_PKI_OSSL_H

#include <openssl/types.h>

#include "core/err.h"
#include "pki/pki.h"

/* The certificate's X509 (c not NULL), borrowed as above. */
X509 *pki_cert_x509(const struct pki_cert *c);

/* The key's EVP_PKEY (k not NULL), borrowed as above.  It holds the private
 * part only when pki_key_is_private(k). */
EVP_PKEY *pki_key_evp(const struct pki_key *k);

/* A pki_cert for an X509 that OpenSSL handed the caller (a peer's chain):
 * x is borrowed for the call; the new pki_cert takes a reference of its
 * own, so the caller's reference (or libssl's) is left as it was.  The
 * caller frees the result with pki_cert_free.  NULL with err filled on
 * failure (x NULL, or out of memory). */
struct pki_cert *pki_cert_from_x509(X509 *x, struct moat_err *err);

/* Set err to the message, followed by ": <reason>" with the reason OpenSSL
 * recorded first when its error queue holds one; the queue is cleared
 * (always, err NULL too).  For failures of OpenSSL calls made outside
 * src/pki, so that they read like pki's own. */
void pki_err_drain(struct moat_err *err, const char *fmt, ...) MOAT_PRINTF(2, 3);

#endif
