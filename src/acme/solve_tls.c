/* solve_tls.c: tls-alpn-01 (RFC 8737; RFC 8738 section 6 for IP
 * addresses) answered by moat's own TLS listener: for each challenge a
 * fresh P-256 key and a self-signed validation certificate carrying the
 * key authorization's digest, a handshake-only certificate of the
 * listener's TLS context (net/tls_server.h) for handshakes that name the
 * identifier by SNI and offer ALPN "acme-tls/1".  The context has no
 * other certificate: every other handshake fails. */
#include "acme/solve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/http_app.h"
#include "net/net.h"
#include "net/tls_server.h"
#include "pki/pki.h"

#define VALID_BEFORE (60 * 60)        /* notBefore: an hour ago (clock skew) */
#define VALID_AFTER (7 * 24 * 60 * 60) /* notAfter: a week ahead */

struct acme_tlsalpn01 {
	struct net_server *srv;
	struct net_tls_ctx *tls;
};

/* No request ever comes: a handshake that served a challenge certificate
 * ends the connection, and no other handshake succeeds. */
static void no_request(void *arg, struct net_hx *x, const struct net_request *r)
{
	(void)arg;
	(void)r;
	net_hx_abort(x);
}

static const struct net_app_ops no_app = {
	.request = no_request,
};

int acme_tlsalpn01_sni(const struct moat_name *id, char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t len = 0;

	if (id->type == MOAT_NAME_IPV4 && id->iplen == 4) {
		len = (size_t)snprintf(out, n, "%u.%u.%u.%u.in-addr.arpa", id->ip[3], id->ip[2],
				       id->ip[1], id->ip[0]);
	} else if (id->type == MOAT_NAME_IPV6 && id->iplen == 16) {
		if (n < 16 * 4 + sizeof("ip6.arpa"))
			return -1;
		for (size_t i = 16; i-- > 0;) {
			out[len++] = hex[id->ip[i] & 0xf];
			out[len++] = '.';
			out[len++] = hex[id->ip[i] >> 4];
			out[len++] = '.';
		}
		memcpy(out + len, "ip6.arpa", sizeof("ip6.arpa"));
		return 0;
	} else if (id->type == MOAT_NAME_DNS) {
		len = (size_t)snprintf(out, n, "%s", id->text);
	} else {
		return -1;
	}
	return len < n ? 0 : -1;
}

struct acme_tlsalpn01 *acme_tlsalpn01_standalone(const char *addr, uint16_t port,
						 struct moat_err *err)
{
	struct acme_tlsalpn01 *t = calloc(1, sizeof(*t));
	const struct net_tls_opts o = {0};

	if (t == NULL) {
		moat_err_set(err, "out of memory");
		return NULL;
	}
	if ((t->tls = net_tls_ctx_new(&o, err)) == NULL || (t->srv = net_server_new(err)) == NULL)
		goto fail;
	net_server_set_listen_option(t->srv, "--tls-port");
	if (net_server_listen_app(t->srv, addr, port, t->tls, &no_app, t, err) != 0 ||
	    net_server_start(t->srv, err) != 0)
		goto fail;
	return t;
fail:
	moat_err_prefix(err, "cannot answer tls-alpn-01 challenges");
	acme_tlsalpn01_free(t);
	return NULL;
}

uint16_t acme_tlsalpn01_port(const struct acme_tlsalpn01 *t)
{
	return net_server_port(t->srv);
}

void acme_tlsalpn01_free(struct acme_tlsalpn01 *t)
{
	if (t == NULL)
		return;
	net_server_free(t->srv); /* (its connections hold the context) */
	net_tls_ctx_free(t->tls);
	free(t);
}

int acme_tlsalpn01_cert(const struct moat_name *id, const char *ka, struct pki_cert **cert,
			struct pki_key **key, struct moat_err *err)
{
	unsigned char digest[32];
	int64_t now = (int64_t)time(NULL);
	struct pki_cert_spec spec = {
		.profile = PKI_PROFILE_ACME_TLS_ALPN,
		.names = id,
		.nnames = 1,
		.acme_digest = digest,
		.not_before = now - VALID_BEFORE,
		.not_after = now + VALID_AFTER,
	};
	struct pki_key *k = NULL;
	struct pki_cert *c = NULL;

	if (pki_sha256(ka, strlen(ka), digest) != 0) {
		moat_err_set(err, "cannot hash the key authorization");
		return -1;
	}
	if ((k = pki_key_generate(PKI_KEY_EC_P256, err)) == NULL ||
	    (c = pki_cert_build(&spec, k, NULL, k, err)) == NULL) {
		moat_err_prefix(err, "tls-alpn-01 certificate for %s", id->text);
		pki_key_free(k);
		return -1;
	}
	*cert = c;
	*key = k;
	return 0;
}

static int present(void *arg, const struct moat_name *id, const char *token, const char *ka,
		   struct moat_err *err)
{
	struct acme_tlsalpn01 *t = arg;
	char sni[MOAT_NAME_MAX + 3];
	struct pki_key *key = NULL;
	struct pki_cert *cert = NULL;
	int ret = -1;

	(void)token;
	if (acme_tlsalpn01_sni(id, sni, sizeof(sni)) != 0) {
		moat_err_set(err, "%s: tls-alpn-01 cannot prove this name", id->text);
		return -1;
	}
	if (acme_tlsalpn01_cert(id, ka, &cert, &key, err) != 0)
		goto out;
	if (net_tls_ctx_sole_set(t->tls, ACME_TLS_ALPN, sni, cert, key, err) != 0) {
		moat_err_prefix(err, "tls-alpn-01 certificate for %s", id->text);
		goto out;
	}
	ret = 0;
out:
	pki_cert_free(cert);
	pki_key_free(key);
	return ret;
}

static void cleanup(void *arg, const struct moat_name *id, const char *token)
{
	struct acme_tlsalpn01 *t = arg;
	char sni[MOAT_NAME_MAX + 3];

	(void)token;
	if (acme_tlsalpn01_sni(id, sni, sizeof(sni)) == 0)
		net_tls_ctx_sole_remove(t->tls, ACME_TLS_ALPN, sni);
}

void acme_tlsalpn01_solver(struct acme_tlsalpn01 *t, struct acme_solver *s)
{
	s->type = "tls-alpn-01";
	s->present = present;
	s->cleanup = cleanup;
	s->arg = t;
}
