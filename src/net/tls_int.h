/* tls_int.h: what the two halves of the TLS layer share (see
 * tls_server.h for the API): tls_server.c holds the contexts (the prepared
 * SSL_CTXs, the ClientHello callback, ALPN, staples, handshake-only
 * certificates), tls_ticket.c the session tickets,
 * tls_conn.c one connection (the custom BIO and net_tls_conn_*).  The
 * ClientHello and ticket callbacks read the connection; a connection is
 * made from the context's base SSL_CTX and BIO method.  Not for use outside
 * src/net/. */
#ifndef MOAT_NET_TLS_INT_H
#define MOAT_NET_TLS_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "net/tls_server.h"

#define NET_TLS_MAX_SOLE 256 /* handshake-only certificates at once */

/* What each prepared SSL_CTX carries (ex_data, freed with the SSL_CTX:
 * a handshake that still holds a replaced SSL_CTX keeps its staple). */
struct net_tls_info {
	unsigned char *staple; /* under net_tls_ctx.lock */
	size_t staple_len;
	char id[]; /* "" for the base; the ALPN protocol of a handshake-only one */
};

/* tls_server.c: a site, a slot of the name table, a handshake-only
 * certificate. */
struct net_tls_site;
struct net_tls_slot;
struct net_tls_sole;

struct net_tls_ticket_key {
	unsigned char name[16], aes[32], hmac[32];
	int64_t born;
	bool set;
};

struct net_tls_ctx {
	SSL_CTX *base;
	BIO_METHOD *bio;
	EVP_CIPHER *aes;
	bool tls13_only;
	int64_t rotate_s;
	pthread_rwlock_t lock;
	pthread_mutex_t wmu;
	struct net_tls_site **sites; /* sites[0] is the default */
	size_t nsites;
	struct net_tls_slot *table;
	size_t tcap; /* a power of two */
	struct net_tls_sole *sole[NET_TLS_MAX_SOLE];
	size_t nsole;
	/* every protocol a handshake-only certificate was set for, kept when
	 * the certificates go: offered, it is never served otherwise */
	char sole_proto[4][256];
	size_t nsole_proto;
	pthread_mutex_t tk_mu;
	struct net_tls_ticket_key tk[2]; /* current, previous */
};

/* tls_ticket.c: OpenSSL's ticket key callback (the base SSL_CTX's;
 * SSL_CTX_set_tlsext_ticket_key_evp_cb says what it returns). */
int net_tls_ticket_cb(SSL *ssl, unsigned char *key_name, unsigned char *iv, EVP_CIPHER_CTX *cctx,
		      EVP_MAC_CTX *hctx, int enc);

struct net_tls_conn {
	SSL *ssl;
	struct net_tls_ctx *c;
	const unsigned char *in; /* the caller's input, borrowed */
	size_t in_len;
	unsigned char *kept; /* what was left of earlier input */
	size_t kept_off, kept_len;
	unsigned char *out;
	size_t out_len, out_cap;
	const char *err;    /* static text */
	const char *cb_err; /* set by a callback that failed the handshake */
	bool sole;          /* a handshake-only certificate was served */
};

/* tls_server.c: the net_tls_info of a prepared SSL_CTX; NULL for NULL. */
struct net_tls_info *net_tls_info_get(const SSL_CTX *x);

/* tls_conn.c: the BIO method of a net_tls_conn (the BIO's data is the
 * connection).  NULL when out of memory (the reason in OpenSSL's queue). */
BIO_METHOD *net_tls_bio_method_new(void);

#endif
