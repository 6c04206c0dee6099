/* tls_server.h: the TLS side of moat's reverse proxy (OpenSSL lives in
 * src/net/tls_server.c and tls_conn.c; nothing outside src/net and src/pki sees it).
 *
 * Two objects:
 *
 *   net_tls_ctx   the server's TLS configuration, shared by every worker
 *                 thread: TLS 1.2 and 1.3 only, modern AEAD suites
 *                 (ECDHE + AES-GCM / ChaCha20-Poly1305), groups X25519,
 *                 P-256, P-384; one prepared SSL_CTX per certificate,
 *                 chosen by SNI in the ClientHello callback; session
 *                 tickets encrypted with keys that rotate (the previous
 *                 key still decrypts), one ticket per TLS 1.3 handshake;
 *                 OCSP staples handed over by the caller;
 *                 handshake-only certificates chosen by ALPN and SNI
 *                 (tls-alpn-01, RFC 8737).  Certificates,
 *                 staples and challenge certificates can be replaced at
 *                 any time from any thread: handshakes already under way
 *                 keep the SSL_CTX they started with (reference-counted),
 *                 new ones get the new one.  No connection is dropped.
 *
 *   net_tls_conn  one connection's TLS state, driven by the caller's event
 *                 loop through memory: the caller hands in the ciphertext
 *                 it read and takes out the ciphertext to write.  A custom
 *                 BIO (no copy into a BIO_s_mem); SSL_MODE_RELEASE_BUFFERS
 *                 so an idle connection holds no record buffers.  Not
 *                 thread-safe: one connection belongs to one loop.
 *
 * Conventions as everywhere in moat: 0 / -1 with err filled; constructors
 * return NULL; free accepts NULL. */
#ifndef MOAT_NET_TLS_SERVER_H
#define MOAT_NET_TLS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"

struct pki_cert;
struct pki_key;
struct net_tls_ctx;
struct net_tls_conn;

struct net_tls_opts {
	int ticket_rotate_s; /* new ticket key this often (0: 12 hours); a
			      * ticket stays valid for two periods */
	bool tls13_only;     /* refuse TLS 1.2 (default: 1.2 and 1.3) */
};

struct net_tls_ctx *net_tls_ctx_new(const struct net_tls_opts *o, struct moat_err *err);
/* After every net_tls_conn made from it has been freed. */
void net_tls_ctx_free(struct net_tls_ctx *c);

/* Serve leaf (+ chain: intermediates, leaf's issuer first; never the
 * root) with key for the names (exact DNS names, IP addresses as text, or
 * "*.example.com" which matches one label) under the handle id (a site
 * name; setting the same id again replaces its certificate, names and
 * staple).  The key must match the leaf (else -1: "the private key does
 * not belong to the certificate").  The first id set is also the default,
 * used for ClientHellos without SNI or with a name nobody serves. */
int net_tls_ctx_set_cert(struct net_tls_ctx *c, const char *id, const char *const *names,
			 size_t nnames, const struct pki_cert *leaf,
			 struct pki_cert *const *chain, size_t nchain, const struct pki_key *key,
			 struct moat_err *err);
/* The OCSP response (DER) to staple for id's certificate; len 0 removes
 * it.  Only stapled when the client asks (status_request). */
int net_tls_ctx_set_staple(struct net_tls_ctx *c, const char *id, const void *der, size_t len,
			   struct moat_err *err);
/* A handshake-only certificate: a ClientHello that offers the ALPN
 * protocol alpn and names sni_name by SNI is answered with cert (and that
 * protocol), and with nothing else -- no ticket, no application data: the
 * connection ends after the handshake (net_tls_conn_handshake_only).  A
 * ClientHello that offers alpn for a name with no such certificate fails
 * (alert no_application_protocol); other handshakes are unaffected.  This
 * is how a tls-alpn-01 validation (RFC 8737) is answered, on moat serve's
 * listeners and on the certificate client's own.  Setting the same alpn and
 * name again replaces it.  Any thread. */
int net_tls_ctx_sole_set(struct net_tls_ctx *c, const char *alpn, const char *sni_name,
			 const struct pki_cert *cert, const struct pki_key *key,
			 struct moat_err *err);
void net_tls_ctx_sole_remove(struct net_tls_ctx *c, const char *alpn, const char *sni_name);
/* Rotate the ticket key now (tests; also called by the ctx's own timer
 * logic, which checks the time on each new ticket). */
void net_tls_ctx_rotate_tickets(struct net_tls_ctx *c);

/* ---- one connection ------------------------------------------------------ */

#define NET_TLS_EOF (-2) /* the peer sent close_notify */

struct net_tls_conn *net_tls_conn_new(struct net_tls_ctx *c);
void net_tls_conn_free(struct net_tls_conn *t);

/* Ciphertext read from the socket.  The engine keeps (copies) only what
 * the next calls do not consume (a partial record), and frees that copy
 * as soon as it is used up.  So data is read in place: it must stay valid
 * until net_tls_conn_handshake has returned, or net_tls_conn_read has
 * returned <= 0, after this call (the rest is copied then).  -1 when more
 * than 256 KiB would have to be kept (input given again and again without
 * reading it). */
int net_tls_conn_input(struct net_tls_conn *t, const void *data, size_t len);
/* Drive the handshake: 1 done, 0 needs more input (after the caller has
 * sent net_tls_conn_output), -1 failed (the alert to send, if any, is in
 * the output). */
int net_tls_conn_handshake(struct net_tls_conn *t);
/* Plaintext: > 0 bytes read, 0 needs more input, NET_TLS_EOF, -1 error.
 * Call until it returns <= 0 after each input. */
ssize_t net_tls_conn_read(struct net_tls_conn *t, void *buf, size_t n);
/* Stop borrowing the last input now: whatever of it the engine has not
 * consumed is copied.  For a caller that stops reading before
 * net_tls_conn_read returned <= 0 (its own buffer is full) and is about to
 * reuse the memory it passed to net_tls_conn_input.  0 or -1 (too much
 * kept, or out of memory). */
int net_tls_conn_keep_input(struct net_tls_conn *t);
/* Encrypt all of data into the output; 0 or -1 (also before the
 * handshake is done). */
int net_tls_conn_write(struct net_tls_conn *t, const void *data, size_t len);
/* Queue close_notify. */
void net_tls_conn_shutdown(struct net_tls_conn *t);
/* Hand over the ciphertext to send: a malloc'd buffer the caller frees
 * (after uv_write completes), or NULL with *len = 0 when there is none. */
void *net_tls_conn_take_output(struct net_tls_conn *t, size_t *len);

/* After the handshake. */
const char *net_tls_conn_sni(const struct net_tls_conn *t);     /* "" when none */
const char *net_tls_conn_version(const struct net_tls_conn *t); /* "TLSv1.3" */
const char *net_tls_conn_site(const struct net_tls_conn *t);    /* id of the cert served, "" */
bool net_tls_conn_resumed(const struct net_tls_conn *t);
/* The handshake served a handshake-only certificate: close after it. */
bool net_tls_conn_handshake_only(const struct net_tls_conn *t);
/* Why the last call failed (for the error log; no peer bytes in it). */
const char *net_tls_conn_error(const struct net_tls_conn *t);

#endif
