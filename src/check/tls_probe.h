/* tls_probe.h: connect to a TLS server the way a client does and record
 * what it sends -- the certificate chain exactly as sent, the protocol
 * version, cipher and key exchange, a stapled OCSP response -- without
 * judging it (the handshake completes whatever the certificates are:
 * judging is moat check's job).  Blocking, with a deadline.  For moat
 * check (endpoint.c), moat fetch (src/cli/cmd_fetch.c) and the tls-alpn-01
 * validation of moat ca serve (src/caserve/va.c); tls_probe.c is
 * the one file of src/check that includes OpenSSL headers. */
#ifndef MOAT_CHECK_TLS_PROBE_H
#define MOAT_CHECK_TLS_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct pki_cert;

#define CHECK_PROBE_MAX_CHAIN 16           /* certificates kept from a peer */
#define CHECK_PROBE_MAX_STAPLE (64u << 10) /* bytes of a stapled OCSP response */

enum check_tls_version {
	CHECK_TLS_ANY = 0,
	CHECK_TLS_1_0 = 0x0301,
	CHECK_TLS_1_1 = 0x0302,
	CHECK_TLS_1_2 = 0x0303,
	CHECK_TLS_1_3 = 0x0304,
};

struct check_tls_probe_opts {
	const char *host;        /* DNS name or IP address to connect to */
	uint16_t port;
	const char *servername;  /* SNI; NULL: host when it is a DNS name */
	const char *connect_to;  /* NULL, or an address to connect to instead of host's */
	int timeout_ms;          /* whole probe; 0: 10 s */
	enum check_tls_version min_version; /* CHECK_TLS_ANY: OpenSSL's default */
	enum check_tls_version max_version;
	bool want_staple;        /* ask for a stapled OCSP response */
	const char *alpn;        /* the one ALPN protocol to offer; NULL: "http/1.1" */
};

enum check_probe_stage {
	CHECK_PROBE_OK,
	CHECK_PROBE_RESOLVE,   /* no address for the host */
	CHECK_PROBE_CONNECT,   /* refused, unreachable, timed out */
	CHECK_PROBE_NOT_TLS,   /* the peer answered, but not with TLS (plain HTTP?) */
	CHECK_PROBE_HANDSHAKE, /* TLS, but the handshake failed (e.g. no common version) */
};

struct check_tls_probe {
	enum check_probe_stage stage;
	struct pki_cert *chain[CHECK_PROBE_MAX_CHAIN]; /* as sent, leaf first */
	size_t nchain;
	bool chain_truncated;    /* the peer sent more than CHECK_PROBE_MAX_CHAIN */
	char address[64];        /* the address connected to, "127.0.0.1" */
	char version[16];        /* "TLSv1.3" */
	char cipher[64];         /* "TLS_AES_256_GCM_SHA384" */
	char group[32];          /* key exchange: "X25519", "secp256r1", "" if unknown */
	unsigned char *staple;   /* DER of a stapled OCSP response, NULL if none */
	size_t staple_len;
	bool plain_http;         /* CHECK_PROBE_NOT_TLS and the peer spoke HTTP */
	char alpn[32];           /* the protocol the server chose, "" if none */
};

/* 0 with out filled (stage CHECK_PROBE_OK); -1 with out->stage saying where
 * it failed and err saying why (with a hint). */
int check_tls_probe(const struct check_tls_probe_opts *o, struct check_tls_probe *out,
		    struct moat_err *err);
void check_tls_probe_clear(struct check_tls_probe *p);
/* The monotonic clock in microseconds (deadlines, a check's elapsed time). */
int64_t check_now_us(void);

#endif
