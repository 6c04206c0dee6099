/* tls_server.c: the TLS contexts (see tls_server.h): prepared SSL_CTXs, the
 * ClientHello callback (SNI, ALPN), staples, the tls-alpn-01 table and
 * net_tls_ctx_* (session tickets: tls_ticket.c).  Connections are in tls_conn.c, shared types in tls_int.h.
 *
 * Everything a handshake needs is prepared once: a "base" SSL_CTX that
 * every SSL is made from (session and ticket settings, the ClientHello
 * callback), and one finished SSL_CTX per certificate id and per
 * tls-alpn-01 name (certificate, chain, key, ALPN and status callbacks).
 * The ClientHello callback reads SNI and ALPN from the raw extensions,
 * picks the prepared SSL_CTX and switches the SSL to it with
 * SSL_set_SSL_CTX: no certificate is loaded per connection.  Ticket keys
 * and session settings stay on the base SSL_CTX (OpenSSL takes them from
 * the SSL's session_ctx, which SSL_set_SSL_CTX leaves alone).
 *
 * Locks: `lock` (a rwlock) guards what handshakes read -- the site list,
 * the name table, the handshake-only certificates and the staples -- and is
 * held only to look up and take a reference.  Writers (set_cert,
 * set_staple, sole_*) first take `wmu`, which orders them among themselves: they build
 * the new state with no lock held by readers, swap it in under the write
 * lock, and free the old state after.  Ticket keys have their own mutex. */
#include "net/tls_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "pki/ossl.h"
#include "pki/pki.h"

#define ALPN_HTTP1 "http/1.1"
#define ALPN_HTTP1_LEN 8
#define TLS12_CIPHERS                                                                   \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                    \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                    \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS_GROUPS "X25519:P-256:P-384"
#define TLS_ID_MAX 255
#define TLS_MAX_NAMES_PER_ID 1024
#define TLS_ROTATE_DEFAULT (12 * 3600)
#define TLS_TICKET_MAX_LIFE (7 * 86400) /* RFC 8446 4.6.1 */

struct net_tls_site {
	char *id;
	char **names; /* normalised (lower case) */
	size_t nnames;
	SSL_CTX *ctx;
};

struct net_tls_slot { /* the name table: open addressing, names borrowed from sites */
	const char *name;
	struct net_tls_site *site;
};

struct net_tls_sole {
	SSL_CTX *ctx;     /* its net_tls_info id is the ALPN protocol */
	char alpn[256];
	size_t alpn_len;
	char name[];
};

static int info_idx = -1;
static pthread_once_t info_once = PTHREAD_ONCE_INIT;

static void info_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
		      void *argp)
{
	struct net_tls_info *i = ptr;

	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (i != NULL) {
		free(i->staple);
		free(i);
	}
}

static void info_idx_init(void)
{
	info_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, info_free);
}

struct net_tls_info *net_tls_info_get(const SSL_CTX *x)
{
	return x != NULL ? SSL_CTX_get_ex_data(x, info_idx) : NULL;
}

static char lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

/* ---- ALPN and SNI, from the ClientHello --------------------------------------- */

/* Where the wire-format protocol list offers proto; NULL if it does not. */
static const unsigned char *alpn_find(const unsigned char *p, size_t len, const char *proto,
				      size_t plen)
{
	size_t i = 0;

	while (i < len) {
		size_t l = p[i];

		if (l == 0 || i + 1 + l > len)
			return NULL;
		if (l == plen && memcmp(p + i + 1, proto, plen) == 0)
			return p + i + 1;
		i += 1 + l;
	}
	return NULL;
}

/* The host name the ClientHello names, lower case, without a final dot;
 * "" when there is none or it is not one we could serve (OpenSSL rejects
 * the malformed ones itself later). */
static void sni_get(SSL *ssl, char *out, size_t n)
{
	const unsigned char *p;
	size_t len, l;

	out[0] = '\0';
	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &len) != 1 || len < 5 ||
	    (((size_t)p[0] << 8) | p[1]) != len - 2 || p[2] != TLSEXT_NAMETYPE_host_name)
		return;
	l = ((size_t)p[3] << 8) | p[4];
	if (l == 0 || l + 5 > len || l >= n)
		return;
	for (size_t i = 0; i < l; i++) {
		if (p[5 + i] == '\0') {
			out[0] = '\0';
			return;
		}
		out[i] = lower((char)p[5 + i]);
	}
	out[l] = '\0';
	if (out[l - 1] == '.')
		out[l - 1] = '\0';
}

/* The ALPN protocol list of the ClientHello (the wire form, after its
 * length), or NULL. */
static const unsigned char *hello_alpn(SSL *ssl, size_t *len)
{
	const unsigned char *p;
	size_t n;

	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation,
				      &p, &n) != 1 ||
	    n < 2 || (((size_t)p[0] << 8) | p[1]) != n - 2)
		return NULL;
	*len = n - 2;
	return p + 2;
}

/* ---- the name table (read under lock) ----------------------------------------- */

static size_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)h;
}

static struct net_tls_site *table_find(const struct net_tls_ctx *c, const char *name)
{
	size_t m = c->tcap - 1;

	for (size_t h = name_hash(name) & m; c->table[h].name != NULL; h = (h + 1) & m)
		if (strcmp(c->table[h].name, name) == 0)
			return c->table[h].site;
	return NULL;
}

/* The table for these sites; a name two ids claim stays with the first. */
static struct net_tls_slot *table_build(struct net_tls_site *const *sites, size_t n, size_t *cap)
{
	struct net_tls_slot *t;
	size_t total = 0, m;

	for (size_t i = 0; i < n; i++)
		total += sites[i]->nnames;
	*cap = 16;
	while (*cap < 2 * total)
		*cap *= 2;
	if ((t = calloc(*cap, sizeof(*t))) == NULL)
		return NULL;
	m = *cap - 1;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < sites[i]->nnames; j++) {
			const char *name = sites[i]->names[j];
			size_t h = name_hash(name) & m;

			while (t[h].name != NULL && strcmp(t[h].name, name) != 0)
				h = (h + 1) & m;
			if (t[h].name == NULL)
				t[h] = (struct net_tls_slot){name, sites[i]};
		}
	}
	return t;
}

/* Exact name, then "*.parent", then the default. */
static SSL_CTX *site_lookup(const struct net_tls_ctx *c, const char *name)
{
	struct net_tls_site *s = NULL;
	const char *dot = strchr(name, '.');

	if (name[0] != '\0' && (s = table_find(c, name)) == NULL && dot != NULL && dot != name &&
	    dot[1] != '\0') {
		char w[260];

		w[0] = '*';
		memcpy(w + 1, dot, strlen(dot) + 1);
		s = table_find(c, w);
	}
	if (s == NULL && c->nsites > 0)
		s = c->sites[0];
	return s != NULL ? s->ctx : NULL;
}

static struct net_tls_sole *sole_find(const struct net_tls_ctx *c, const char *alpn,
				      const char *name, size_t *at)
{
	for (size_t i = 0; i < c->nsole; i++) {
		if (strcmp(c->sole[i]->alpn, alpn) == 0 && strcmp(c->sole[i]->name, name) == 0) {
			if (at != NULL)
				*at = i;
			return c->sole[i];
		}
	}
	return NULL;
}

/* A handshake-only certificate for a protocol the ClientHello offers:
 * *offered when it offers one of their protocols (one that had such a
 * certificate once counts), the entry for name (NULL when there is none
 * for it). */
static struct net_tls_sole *sole_lookup(const struct net_tls_ctx *c, SSL *ssl, const char *name,
					bool *offered)
{
	const unsigned char *list;
	size_t len;

	*offered = false;
	if (c->nsole_proto == 0 || (list = hello_alpn(ssl, &len)) == NULL)
		return NULL;
	for (size_t i = 0; i < c->nsole_proto && !*offered; i++)
		*offered = alpn_find(list, len, c->sole_proto[i], strlen(c->sole_proto[i])) != NULL;
	for (size_t i = 0; i < c->nsole && *offered; i++)
		if (strcmp(c->sole[i]->name, name) == 0 &&
		    alpn_find(list, len, c->sole[i]->alpn, c->sole[i]->alpn_len) != NULL)
			return c->sole[i];
	return NULL;
}

/* ---- callbacks ------------------------------------------------------------------ */

/* Choose the SSL_CTX for this ClientHello (called again after a
 * HelloRetryRequest, before any certificate has been sent). */
static int on_client_hello(SSL *ssl, int *al, void *arg)
{
	struct net_tls_ctx *c = arg;
	struct net_tls_conn *t = SSL_get_app_data(ssl);
	bool sole = false;
	SSL_CTX *x = NULL;
	char name[256];
	bool ok;

	sni_get(ssl, name, sizeof(name));
	pthread_rwlock_rdlock(&c->lock);
	{
		struct net_tls_sole *a = sole_lookup(c, ssl, name, &sole);

		x = sole ? (a != NULL ? a->ctx : NULL) : site_lookup(c, name);
	}
	/* The reference keeps x alive when another thread replaces it now. */
	if (x != NULL && SSL_CTX_up_ref(x) != 1)
		x = NULL;
	pthread_rwlock_unlock(&c->lock);
	if (x == NULL) {
		/* (RFC 8737: the protocol offered for a name without its
		 * certificate) */
		t->cb_err = sole ? "a handshake-only protocol for a name without its certificate"
				 : "no certificate to serve";
		*al = sole ? SSL_AD_NO_APPLICATION_PROTOCOL : SSL_AD_INTERNAL_ERROR;
		return SSL_CLIENT_HELLO_ERROR;
	}
	ok = SSL_set_SSL_CTX(ssl, x) == x; /* takes its own reference */
	SSL_CTX_free(x);
	if (!ok) {
		t->cb_err = "out of memory";
		*al = SSL_AD_INTERNAL_ERROR;
		return SSL_CLIENT_HELLO_ERROR;
	}
	t->sole = sole;
	if (sole) { /* closed right after: no ticket */
		(void)SSL_set_num_tickets(ssl, 0);
		SSL_set_options(ssl, SSL_OP_NO_TICKET);
	}
	return SSL_CLIENT_HELLO_SUCCESS;
}

/* The name was handled in on_client_hello: accept it, which acks it and,
 * in TLS 1.2, keeps it in the session (a resumed one reports it too). */
static int on_servername(SSL *ssl, int *al, void *arg)
{
	(void)ssl;
	(void)al;
	(void)arg;
	return SSL_TLSEXT_ERR_OK;
}

/* http/1.1 when offered; anything else: no ALPN at all (not a failure). */
static int on_alpn_http(SSL *ssl, const unsigned char **out, unsigned char *outlen,
			const unsigned char *in, unsigned int inlen, void *arg)
{
	const unsigned char *at = alpn_find(in, inlen, ALPN_HTTP1, ALPN_HTTP1_LEN);

	(void)ssl;
	(void)arg;
	if (at == NULL)
		return SSL_TLSEXT_ERR_NOACK;
	*out = at;
	*outlen = ALPN_HTTP1_LEN;
	return SSL_TLSEXT_ERR_OK;
}

/* A handshake-only certificate's protocol (its SSL_CTX's id) or a fatal
 * no_application_protocol. */
static int on_alpn_sole(SSL *ssl, const unsigned char **out, unsigned char *outlen,
			const unsigned char *in, unsigned int inlen, void *arg)
{
	const struct net_tls_info *i = net_tls_info_get(SSL_get_SSL_CTX(ssl));
	size_t n = i != NULL ? strlen(i->id) : 0;
	const unsigned char *at = n > 0 ? alpn_find(in, inlen, i->id, n) : NULL;

	(void)arg;
	if (at == NULL)
		return SSL_TLSEXT_ERR_ALERT_FATAL; /* no_application_protocol */
	*out = at;
	*outlen = (unsigned char)n;
	return SSL_TLSEXT_ERR_OK;
}

/* Called only when the client sent status_request. */
static int on_status(SSL *ssl, void *arg)
{
	struct net_tls_ctx *c = arg;
	struct net_tls_info *i = net_tls_info_get(SSL_get_SSL_CTX(ssl));
	unsigned char *p = NULL;
	size_t len = 0;

	pthread_rwlock_rdlock(&c->lock);
	if (i != NULL && i->staple_len > 0 && (p = OPENSSL_malloc(i->staple_len)) != NULL) {
		memcpy(p, i->staple, i->staple_len);
		len = i->staple_len;
	}
	pthread_rwlock_unlock(&c->lock);
	if (p == NULL)
		return SSL_TLSEXT_ERR_NOACK;
	if (SSL_set_tlsext_status_ocsp_resp(ssl, p, (long)len) != 1) { /* takes p */
		OPENSSL_free(p);
		return SSL_TLSEXT_ERR_NOACK;
	}
	return SSL_TLSEXT_ERR_OK;
}

/* ---- preparing SSL_CTXs --------------------------------------------------------- */

/* An SSL_CTX with moat's protocol settings and its ctx_info (id copied). */
static SSL_CTX *ctx_prepare(struct net_tls_ctx *c, const char *id, const char *sid,
			    struct moat_err *err)
{
	SSL_CTX *x = SSL_CTX_new(TLS_server_method());
	int min = c->tls13_only ? TLS1_3_VERSION : TLS1_2_VERSION;
	size_t idlen = strlen(id);
	struct net_tls_info *i = NULL;
	unsigned char h[32];

	if (x == NULL || SSL_CTX_set_min_proto_version(x, min) != 1 ||
	    SSL_CTX_set_max_proto_version(x, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(x, TLS12_CIPHERS) != 1 ||
	    SSL_CTX_set1_groups_list(x, TLS_GROUPS) != 1)
		goto fail;
	SSL_CTX_set_options(x, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
				       SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(x, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_read_ahead(x, 0);
	SSL_CTX_set_session_cache_mode(x, SSL_SESS_CACHE_OFF); /* tickets only */
	(void)SSL_CTX_set_num_tickets(x, 1);
	/* One session context per site: a ticket from one site does not
	 * resume on another (SSL_set_SSL_CTX switches it, before the ticket
	 * is looked at). */
	if (pki_sha256(sid, strlen(sid), h) != 0 ||
	    SSL_CTX_set_session_id_context(x, h, sizeof(h)) != 1)
		goto fail;
	if ((i = calloc(1, sizeof(*i) + idlen + 1)) == NULL)
		goto fail;
	memcpy(i->id, id, idlen + 1);
	if (SSL_CTX_set_ex_data(x, info_idx, i) != 1)
		goto fail;
	return x;
fail:
	free(i);
	SSL_CTX_free(x);
	pki_err_drain(err, "cannot set up TLS");
	return NULL;
}

/* ctx_prepare, with the certificate, its chain and its key. */
static SSL_CTX *ctx_with_cert(struct net_tls_ctx *c, const char *id, const char *sid,
			      const struct pki_cert *leaf, struct pki_cert *const *chain,
			      size_t nchain, const struct pki_key *key, struct moat_err *err)
{
	SSL_CTX *x;

	if (!pki_key_is_private(key) || !pki_key_matches_cert(key, leaf)) {
		ERR_clear_error();
		moat_err_set(err, "the private key does not belong to the certificate");
		return NULL;
	}
	if ((x = ctx_prepare(c, id, sid, err)) == NULL)
		return NULL;
	if (SSL_CTX_use_certificate(x, pki_cert_x509(leaf)) != 1 || SSL_CTX_use_PrivateKey(x, pki_key_evp(key)) != 1 ||
	    SSL_CTX_check_private_key(x) != 1) {
		pki_err_drain(err, "cannot use the certificate");
		SSL_CTX_free(x);
		return NULL;
	}
	for (size_t i = 0; i < nchain; i++) {
		if (chain[i] == NULL || SSL_CTX_add1_chain_cert(x, pki_cert_x509(chain[i])) != 1) {
			pki_err_drain(err, "cannot use the certificate chain");
			SSL_CTX_free(x);
			return NULL;
		}
	}
	return x;
}

/* ---- the context ---------------------------------------------------------------- */

static void site_free(struct net_tls_site *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nnames; i++)
		free(s->names[i]);
	free(s->names);
	free(s->id);
	SSL_CTX_free(s->ctx); /* handshakes under way hold their own reference */
	free(s);
}

/* c's locks, all or none. */
static int locks_init(struct net_tls_ctx *c)
{
	if (pthread_rwlock_init(&c->lock, NULL) != 0)
		return -1;
	if (pthread_mutex_init(&c->wmu, NULL) != 0)
		goto out;
	if (pthread_mutex_init(&c->tk_mu, NULL) == 0)
		return 0;
	pthread_mutex_destroy(&c->wmu);
out:
	pthread_rwlock_destroy(&c->lock);
	return -1;
}

struct net_tls_ctx *net_tls_ctx_new(const struct net_tls_opts *o, struct moat_err *err)
{
	struct net_tls_ctx *c = calloc(1, sizeof(*c));

	if (c == NULL || locks_init(c) != 0) {
		free(c);
		moat_err_set(err, "out of memory");
		return NULL;
	}
	/* From here on net_tls_ctx_free undoes whatever was done. */
	c->tls13_only = o != NULL && o->tls13_only;
	c->rotate_s = o != NULL && o->ticket_rotate_s > 0 ? o->ticket_rotate_s : TLS_ROTATE_DEFAULT;
	if (pthread_once(&info_once, info_idx_init) != 0 || info_idx < 0 ||
	    (c->table = calloc(16, sizeof(*c->table))) == NULL) {
		moat_err_set(err, "out of memory");
		goto fail;
	}
	c->tcap = 16;
	ERR_clear_error();
	if ((c->base = ctx_prepare(c, "", "moat base", err)) == NULL)
		goto fail;
	SSL_CTX_set_client_hello_cb(c->base, on_client_hello, c);
	SSL_CTX_set_tlsext_servername_callback(c->base, on_servername);
	/* A ticket is good for at most two key periods. */
	SSL_CTX_set_timeout(c->base, (long)(2 * c->rotate_s < TLS_TICKET_MAX_LIFE
						    ? 2 * c->rotate_s : TLS_TICKET_MAX_LIFE));
	if (SSL_CTX_set_tlsext_ticket_key_evp_cb(c->base, net_tls_ticket_cb) != 1 ||
	    (c->aes = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL)) == NULL ||
	    (c->bio = net_tls_bio_method_new()) == NULL) {
		pki_err_drain(err, "cannot set up TLS");
		goto fail;
	}
	net_tls_ctx_rotate_tickets(c);
	if (!c->tk[0].set) {
		moat_err_set(err, "cannot make a session ticket key");
		goto fail;
	}
	return c;
fail:
	net_tls_ctx_free(c);
	return NULL;
}

void net_tls_ctx_free(struct net_tls_ctx *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nsites; i++)
		site_free(c->sites[i]);
	free(c->sites);
	free(c->table);
	for (size_t i = 0; i < c->nsole; i++) {
		SSL_CTX_free(c->sole[i]->ctx);
		free(c->sole[i]);
	}
	SSL_CTX_free(c->base);
	BIO_meth_free(c->bio);
	EVP_CIPHER_free(c->aes);
	OPENSSL_cleanse(c->tk, sizeof(c->tk));
	pthread_mutex_destroy(&c->tk_mu);
	pthread_mutex_destroy(&c->wmu);
	pthread_rwlock_destroy(&c->lock);
	free(c);
}

/* A site, ready to swap in. */
static struct net_tls_site *site_new(struct net_tls_ctx *c, const char *id,
				     const char *const *names, size_t nnames,
				     const struct pki_cert *leaf, struct pki_cert *const *chain,
				     size_t nchain, const struct pki_key *key,
				     struct moat_err *err)
{
	struct net_tls_site *s = calloc(1, sizeof(*s));
	char sid[TLS_ID_MAX + 8];

	if (s == NULL || (s->id = strdup(id)) == NULL ||
	    (nnames > 0 && (s->names = calloc(nnames, sizeof(*s->names))) == NULL)) {
		moat_err_set(err, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < nnames; i++) {
		struct moat_name n;

		if (names[i] == NULL) {
			moat_err_set(err, "a certificate's name is missing");
			goto fail;
		}
		if (moat_name_parse(names[i], &n, err) != 0)
			goto fail;
		if ((s->names[i] = strdup(n.text)) == NULL) {
			moat_err_set(err, "out of memory");
			goto fail;
		}
		s->nnames++;
	}
	snprintf(sid, sizeof(sid), "site %s", id);
	if ((s->ctx = ctx_with_cert(c, id, sid, leaf, chain, nchain, key, err)) == NULL)
		goto fail;
	SSL_CTX_set_tlsext_status_cb(s->ctx, on_status);
	SSL_CTX_set_tlsext_status_arg(s->ctx, c);
	SSL_CTX_set_alpn_select_cb(s->ctx, on_alpn_http, NULL);
	return s;
fail:
	site_free(s);
	return NULL;
}

int net_tls_ctx_set_cert(struct net_tls_ctx *c, const char *id, const char *const *names,
			 size_t nnames, const struct pki_cert *leaf,
			 struct pki_cert *const *chain, size_t nchain, const struct pki_key *key,
			 struct moat_err *err)
{
	struct net_tls_site *s, *old = NULL, **sites = NULL;
	struct net_tls_slot *table = NULL;
	size_t at, n, tcap;
	int ret = -1;

	if (c == NULL || id == NULL || id[0] == '\0' || strlen(id) > TLS_ID_MAX || leaf == NULL ||
	    key == NULL || (nnames > 0 && names == NULL) || (nchain > 0 && chain == NULL)) {
		moat_err_set(err, "a site needs an id, a certificate and its private key");
		return -1;
	}
	if (nnames > TLS_MAX_NAMES_PER_ID) {
		moat_err_set(err, "too many names for one certificate (at most %d)",
			     TLS_MAX_NAMES_PER_ID);
		return -1;
	}
	if ((s = site_new(c, id, names, nnames, leaf, chain, nchain, key, err)) == NULL)
		return -1;
	pthread_mutex_lock(&c->wmu);
	for (at = 0; at < c->nsites && strcmp(c->sites[at]->id, id) != 0; at++)
		;
	n = at == c->nsites ? c->nsites + 1 : c->nsites;
	if ((sites = malloc(n * sizeof(*sites))) == NULL) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	if (c->nsites > 0)
		memcpy(sites, c->sites, c->nsites * sizeof(*sites));
	old = at < c->nsites ? c->sites[at] : NULL;
	sites[at] = s;
	if ((table = table_build(sites, n, &tcap)) == NULL) {
		moat_err_set(err, "out of memory");
		old = NULL;
		goto out;
	}
	pthread_rwlock_wrlock(&c->lock);
	{
		struct net_tls_site **os = c->sites;
		struct net_tls_slot *ot = c->table;

		c->sites = sites;
		c->nsites = n;
		c->table = table;
		c->tcap = tcap;
		sites = os;
		table = ot;
	}
	pthread_rwlock_unlock(&c->lock);
	s = old; /* freed below */
	ret = 0;
out:
	pthread_mutex_unlock(&c->wmu);
	free(sites);
	free(table);
	site_free(s);
	return ret;
}

int net_tls_ctx_set_staple(struct net_tls_ctx *c, const char *id, const void *der, size_t len,
			   struct moat_err *err)
{
	unsigned char *p = NULL;
	struct net_tls_info *i = NULL;

	if (c == NULL || id == NULL || (len > 0 && der == NULL)) {
		moat_err_set(err, "a staple needs a site id");
		return -1;
	}
	if (len > PKI_MAX_OCSP_INPUT) {
		moat_err_set(err, "the OCSP response is too large (%zu bytes, at most %d)", len,
			     PKI_MAX_OCSP_INPUT);
		return -1;
	}
	if (len > 0 && (p = malloc(len)) == NULL) {
		moat_err_set(err, "out of memory");
		return -1;
	}
	if (len > 0)
		memcpy(p, der, len);
	pthread_mutex_lock(&c->wmu);
	for (size_t k = 0; k < c->nsites && i == NULL; k++)
		if (strcmp(c->sites[k]->id, id) == 0)
			i = net_tls_info_get(c->sites[k]->ctx);
	if (i != NULL) {
		unsigned char *o;

		pthread_rwlock_wrlock(&c->lock);
		o = i->staple;
		i->staple = p;
		i->staple_len = len;
		pthread_rwlock_unlock(&c->lock);
		p = o;
	}
	pthread_mutex_unlock(&c->wmu);
	free(p);
	if (i == NULL) {
		char shown[128];

		moat_escape(shown, sizeof(shown), id, strlen(id));
		moat_err_set(err, "no certificate for site \"%s\" to staple to", shown);
		return -1;
	}
	return 0;
}

int net_tls_ctx_sole_set(struct net_tls_ctx *c, const char *alpn, const char *sni_name,
			 const struct pki_cert *cert, const struct pki_key *key,
			 struct moat_err *err)
{
	struct net_tls_sole *a, *old;
	struct moat_name n;
	size_t len, at, k;
	int ret = -1;

	if (c == NULL || alpn == NULL || sni_name == NULL || cert == NULL || key == NULL) {
		moat_err_set(err, "a handshake-only certificate needs a protocol, a name, the "
				  "certificate and its private key");
		return -1;
	}
	if (alpn[0] == '\0' || strlen(alpn) > 255) {
		moat_err_set(err, "an ALPN protocol has 1 to 255 bytes");
		return -1;
	}
	if (moat_name_parse(sni_name, &n, err) != 0)
		return -1;
	len = strlen(n.text);
	if ((a = calloc(1, sizeof(*a) + len + 1)) == NULL) {
		moat_err_set(err, "out of memory");
		return -1;
	}
	memcpy(a->name, n.text, len + 1);
	a->alpn_len = strlen(alpn);
	memcpy(a->alpn, alpn, a->alpn_len + 1);
	if ((a->ctx = ctx_with_cert(c, alpn, alpn, cert, NULL, 0, key, err)) == NULL) {
		free(a);
		return -1;
	}
	SSL_CTX_set_alpn_select_cb(a->ctx, on_alpn_sole, NULL);
	pthread_mutex_lock(&c->wmu);
	old = sole_find(c, a->alpn, a->name, &at);
	for (k = 0; k < c->nsole_proto && strcmp(c->sole_proto[k], a->alpn) != 0; k++)
		;
	if ((old == NULL && c->nsole == NET_TLS_MAX_SOLE) ||
	    k == sizeof(c->sole_proto) / sizeof(c->sole_proto[0])) {
		moat_err_set(err, "too many handshake-only certificates or protocols at once (at "
				  "most %d, and %zu protocols)",
			     NET_TLS_MAX_SOLE, sizeof(c->sole_proto) / sizeof(c->sole_proto[0]));
		old = a; /* freed below */
		goto out;
	}
	pthread_rwlock_wrlock(&c->lock);
	if (old != NULL)
		c->sole[at] = a;
	else
		c->sole[c->nsole++] = a;
	if (k == c->nsole_proto)
		memcpy(c->sole_proto[c->nsole_proto++], a->alpn, a->alpn_len + 1);
	pthread_rwlock_unlock(&c->lock);
	ret = 0;
out:
	pthread_mutex_unlock(&c->wmu);
	if (old != NULL) {
		SSL_CTX_free(old->ctx);
		free(old);
	}
	return ret;
}

void net_tls_ctx_sole_remove(struct net_tls_ctx *c, const char *alpn, const char *sni_name)
{
	struct net_tls_sole *a;
	struct moat_name n;
	size_t at;

	if (c == NULL || alpn == NULL || sni_name == NULL ||
	    moat_name_parse(sni_name, &n, NULL) != 0)
		return;
	pthread_mutex_lock(&c->wmu);
	if ((a = sole_find(c, alpn, n.text, &at)) != NULL) {
		pthread_rwlock_wrlock(&c->lock);
		c->sole[at] = c->sole[--c->nsole];
		pthread_rwlock_unlock(&c->lock);
		SSL_CTX_free(a->ctx);
		free(a);
	}
	pthread_mutex_unlock(&c->wmu);
}
