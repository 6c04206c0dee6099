/* tls_alpn.c: the tls-alpn-01 responder (RFC 8737; RFC 8738 section 6 for
 * IP addresses): a TLS listener that completes a handshake only for a
 * client offering ALPN "acme-tls/1" and naming, by SNI, a name in the
 * server's table, with that name's validation certificate -- and then
 * closes.  No application data.
 *
 * OpenSSL runs over two memory BIOs: what the socket reads goes into rbio,
 * what OpenSSL writes to wbio is sent with uv_write.  A connection's life:
 * reading and handshaking; then (done, or failed) its last bytes (the
 * final flight, or an alert) are written and it is closed.  One timer per
 * connection bounds the whole of it to NET_IDLE_TIMEOUT_MS.
 *
 * The table is shared with other threads (the ACME order adds and removes
 * names while the loop runs): a mutex guards it; the SNI callback copies
 * the references it needs under the lock (SSL_use_certificate and
 * SSL_use_PrivateKey take their own). */
#include "net/internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "pki/ossl.h"
#include "pki/pki.h"

#define ALPN_ACME "acme-tls/1"
#define ALPN_ACME_LEN 10
#define TLS_MAX_NAMES 256
#define TLS_IN_MAX (64 * 1024) /* bytes a peer may send before we give up */
#define TLS_READ_BUF 16384

struct tls_entry {
	char name[MOAT_NAME_MAX + 3];
	X509 *x;
	EVP_PKEY *pkey;
};

struct tls_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	struct net_acme_tls *t;
	struct tls_conn *prev, *next;
	SSL *ssl;
	BIO *rbio, *wbio; /* owned by ssl */
	int handles;      /* handles not yet closed */
	size_t writes;    /* writes queued and not yet done */
	size_t in;        /* bytes read so far */
	bool finishing;   /* handshake over: write what is left, then close */
	bool closed;
	char buf[TLS_READ_BUF];
};

struct net_acme_tls {
	struct net_server *s;
	SSL_CTX *ctx;
	pthread_mutex_t mu;
	struct tls_entry e[TLS_MAX_NAMES];
	size_t n;
	struct tls_conn *conns;
	size_t nconns;
};

struct wreq {
	uv_write_t req;
	char data[];
};

/* ---- the table ---------------------------------------------------------------- */

static struct tls_entry *find(struct net_acme_tls *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcasecmp(t->e[i].name, name) == 0)
			return &t->e[i];
	return NULL;
}

static void entry_clear(struct tls_entry *e)
{
	X509_free(e->x);
	EVP_PKEY_free(e->pkey);
	e->x = NULL;
	e->pkey = NULL;
}

int net_server_acme_tls_set(struct net_server *s, const char *sni_name,
			    const struct pki_cert *cert, const struct pki_key *key,
			    struct moat_err *err)
{
	struct net_acme_tls *t = s->acme_tls;
	struct tls_entry *e;
	int ret = -1;

	if (t == NULL) {
		moat_err_set(err, "no tls-alpn-01 listener");
		return -1;
	}
	if (sni_name == NULL || cert == NULL || key == NULL || !pki_key_is_private(key) ||
	    strlen(sni_name) >= sizeof(t->e[0].name)) {
		moat_err_set(err, "tls-alpn-01: a name, a certificate and its private key are needed");
		return -1;
	}
	pthread_mutex_lock(&t->mu);
	e = find(t, sni_name);
	if (e == NULL) {
		if (t->n == TLS_MAX_NAMES) {
			moat_err_set(err, "tls-alpn-01: too many names at once (at most %d)",
				     TLS_MAX_NAMES);
			goto out;
		}
		e = &t->e[t->n++];
		memcpy(e->name, sni_name, strlen(sni_name) + 1);
	} else {
		entry_clear(e);
	}
	/* The entry keeps references of its own (pki/ossl.h). */
	if (X509_up_ref(pki_cert_x509(cert)) == 1)
		e->x = pki_cert_x509(cert);
	if (EVP_PKEY_up_ref(pki_key_evp(key)) == 1)
		e->pkey = pki_key_evp(key);
	if (e->x == NULL || e->pkey == NULL) {
		entry_clear(e);
		*e = t->e[--t->n];
		moat_err_set(err, "out of memory");
		goto out;
	}
	ret = 0;
out:
	pthread_mutex_unlock(&t->mu);
	return ret;
}

void net_server_acme_tls_remove(struct net_server *s, const char *sni_name)
{
	struct net_acme_tls *t = s->acme_tls;
	struct tls_entry *e;

	if (t == NULL || sni_name == NULL)
		return;
	pthread_mutex_lock(&t->mu);
	e = find(t, sni_name);
	if (e != NULL) {
		entry_clear(e);
		*e = t->e[--t->n];
	}
	pthread_mutex_unlock(&t->mu);
}

/* ---- OpenSSL callbacks ---------------------------------------------------------- */

/* Does the wire-format protocol list hold "acme-tls/1"?  *at: where. */
static bool alpn_has_acme(const unsigned char *p, size_t len, const unsigned char **at)
{
	size_t i = 0;

	while (i < len) {
		size_t l = p[i];

		if (l == 0 || i + 1 + l > len)
			return false;
		if (l == ALPN_ACME_LEN && memcmp(p + i + 1, ALPN_ACME, ALPN_ACME_LEN) == 0) {
			*at = p + i + 1;
			return true;
		}
		i += 1 + l;
	}
	return false;
}

/* Before anything else: the client must offer acme-tls/1 (without the
 * extension the ALPN callback would not even be called). */
static int on_client_hello(SSL *ssl, int *al, void *arg)
{
	const unsigned char *p, *at;
	size_t len;

	(void)arg;
	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &p,
				      &len) != 1 ||
	    len < 2 || (size_t)((p[0] << 8) | p[1]) != len - 2 || !alpn_has_acme(p + 2, len - 2, &at)) {
		*al = SSL_AD_NO_APPLICATION_PROTOCOL;
		return SSL_CLIENT_HELLO_ERROR;
	}
	return SSL_CLIENT_HELLO_SUCCESS;
}

static int on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		   const unsigned char *in, unsigned int inlen, void *arg)
{
	const unsigned char *at;

	(void)ssl;
	(void)arg;
	if (!alpn_has_acme(in, inlen, &at))
		return SSL_TLSEXT_ERR_ALERT_FATAL; /* no_application_protocol */
	*out = at;
	*outlen = ALPN_ACME_LEN;
	return SSL_TLSEXT_ERR_OK;
}

static int on_servername(SSL *ssl, int *al, void *arg)
{
	struct net_acme_tls *t = arg;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	struct tls_entry *e;
	int ok = 0;

	if (name == NULL) {
		*al = SSL_AD_UNRECOGNIZED_NAME;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	pthread_mutex_lock(&t->mu);
	e = find(t, name);
	if (e != NULL)
		ok = SSL_use_certificate(ssl, e->x) == 1 && SSL_use_PrivateKey(ssl, e->pkey) == 1;
	pthread_mutex_unlock(&t->mu);
	if (!ok) {
		*al = SSL_AD_UNRECOGNIZED_NAME;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	return SSL_TLSEXT_ERR_OK;
}

/* ---- connections ---------------------------------------------------------------- */

static void on_closed(uv_handle_t *h)
{
	struct tls_conn *c = h->data;
	struct net_acme_tls *t = c->t;

	if (--c->handles > 0)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		t->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	t->nconns--;
	SSL_free(c->ssl);
	free(c);
}

static void conn_close(struct tls_conn *c)
{
	if (c->closed)
		return;
	c->closed = true;
	uv_close((uv_handle_t *)&c->tcp, on_closed);
	uv_close((uv_handle_t *)&c->timer, on_closed);
}

static void on_timeout(uv_timer_t *tm)
{
	conn_close(tm->data);
}

static void on_write(uv_write_t *req, int status)
{
	struct tls_conn *c = req->handle->data;

	free(req); /* the struct wreq it begins */
	c->writes--;
	if (c->closed)
		return;
	if (status < 0 || (c->finishing && c->writes == 0))
		conn_close(c);
}

/* Send what OpenSSL has written; -1 when the connection was closed. */
static int conn_flush(struct tls_conn *c)
{
	size_t pending = BIO_ctrl_pending(c->wbio);
	struct wreq *w;
	uv_buf_t b;
	int n;

	if (pending == 0)
		return 0;
	w = malloc(sizeof(*w) + pending);
	if (w == NULL || (n = BIO_read(c->wbio, w->data, (int)pending)) <= 0) {
		free(w);
		conn_close(c);
		return -1;
	}
	b = uv_buf_init(w->data, (unsigned int)n);
	if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
		free(w);
		conn_close(c);
		return -1;
	}
	c->writes++;
	return 0;
}

/* The handshake is over (done or failed): send the rest, then close. */
static void conn_finish(struct tls_conn *c)
{
	c->finishing = true;
	(void)uv_read_stop((uv_stream_t *)&c->tcp);
	if (conn_flush(c) == 0 && c->writes == 0)
		conn_close(c);
}

static void conn_step(struct tls_conn *c)
{
	int r;

	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r != 1 && SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_READ) {
		(void)conn_flush(c);
		return;
	}
	/* Done or failed: either way no more is read.  Done, the last
	 * flight goes out with a close_notify (a clean end for the peer);
	 * failed, wbio holds the alert. */
	if (r == 1)
		(void)SSL_shutdown(c->ssl);
	ERR_clear_error();
	conn_finish(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct tls_conn *c = h->data;

	(void)suggested;
	*buf = uv_buf_init(c->buf, sizeof(c->buf));
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
	struct tls_conn *c = st->data;

	if (n == 0 || c->closed || c->finishing)
		return;
	if (n < 0) {
		conn_close(c);
		return;
	}
	c->in += (size_t)n;
	if (c->in > TLS_IN_MAX || BIO_write(c->rbio, buf->base, (int)n) != (int)n) {
		conn_close(c);
		return;
	}
	conn_step(c);
}

static void on_rejected_closed(uv_handle_t *h)
{
	free(h);
}

static void reject(uv_stream_t *ls)
{
	uv_tcp_t *tcp = malloc(sizeof(*tcp));

	if (tcp == NULL)
		return;
	if (uv_tcp_init(ls->loop, tcp) != 0) {
		free(tcp);
		return;
	}
	(void)uv_accept(ls, (uv_stream_t *)tcp);
	uv_close((uv_handle_t *)tcp, on_rejected_closed);
}

static void on_accept(uv_stream_t *ls, int status)
{
	struct net_listener *l = ls->data;
	struct net_acme_tls *t = l->s->acme_tls;
	struct tls_conn *c;

	if (status < 0)
		return;
	if (t->nconns >= NET_TLS_MAX_CONNS) {
		reject(ls);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->ssl = SSL_new(t->ctx)) == NULL ||
	    (c->rbio = BIO_new(BIO_s_mem())) == NULL || (c->wbio = BIO_new(BIO_s_mem())) == NULL ||
	    uv_tcp_init(ls->loop, &c->tcp) != 0) {
		if (c != NULL) {
			BIO_free(c->rbio);
			BIO_free(c->wbio);
			SSL_free(c->ssl);
		}
		free(c);
		ERR_clear_error();
		reject(ls);
		return;
	}
	SSL_set_bio(c->ssl, c->rbio, c->wbio); /* ssl owns both */
	BIO_set_mem_eof_return(c->rbio, -1);   /* empty: "retry", not EOF */
	SSL_set_accept_state(c->ssl);
	(void)uv_timer_init(ls->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->t = t;
	c->handles = 2;
	c->next = t->conns;
	if (t->conns != NULL)
		t->conns->prev = c;
	t->conns = c;
	t->nconns++;
	if (uv_accept(ls, (uv_stream_t *)&c->tcp) != 0) {
		conn_close(c);
		return;
	}
	(void)uv_tcp_nodelay(&c->tcp, 1);
	(void)uv_timer_start(&c->timer, on_timeout, NET_IDLE_TIMEOUT_MS, 0);
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
		conn_close(c);
}

void net_acme_tls_close_all(struct net_server *s)
{
	if (s->acme_tls == NULL)
		return;
	for (struct tls_conn *c = s->acme_tls->conns; c != NULL; c = c->next)
		conn_close(c);
}

/* ---- the listener ------------------------------------------------------------- */

static struct net_acme_tls *acme_tls_new(struct net_server *s, struct moat_err *err)
{
	struct net_acme_tls *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		moat_err_set(err, "out of memory");
		return NULL;
	}
	t->s = s;
	if (pthread_mutex_init(&t->mu, NULL) != 0) {
		free(t);
		moat_err_set(err, "out of memory");
		return NULL;
	}
	ERR_clear_error();
	t->ctx = SSL_CTX_new(TLS_server_method());
	if (t->ctx == NULL || SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION) != 1) {
		SSL_CTX_free(t->ctx);
		pthread_mutex_destroy(&t->mu);
		free(t);
		ERR_clear_error();
		moat_err_set(err, "cannot set up TLS for tls-alpn-01");
		return NULL;
	}
	/* One handshake per connection: no session tickets or cache. */
	SSL_CTX_set_options(t->ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
	(void)SSL_CTX_set_num_tickets(t->ctx, 0);
	SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_client_hello_cb(t->ctx, on_client_hello, t);
	SSL_CTX_set_tlsext_servername_callback(t->ctx, on_servername);
	SSL_CTX_set_tlsext_servername_arg(t->ctx, t);
	SSL_CTX_set_alpn_select_cb(t->ctx, on_alpn, t);
	return t;
}

int net_server_listen_acme_tls(struct net_server *s, const char *addr, uint16_t port,
			       struct moat_err *err)
{
	struct net_listener *l;

	if (s->acme_tls != NULL) {
		moat_err_set(err, "cannot listen: the server already has a tls-alpn-01 listener");
		return -1;
	}
	if (s->state != NET_SERVER_NEW) {
		moat_err_set(err, "cannot listen: the server is already running");
		return -1;
	}
	if ((s->acme_tls = acme_tls_new(s, err)) == NULL)
		return -1;
	if (net_server_listen(s, addr, port, on_accept, &l, err) != 0) {
		net_acme_tls_free(s);
		return -1;
	}
	return 0;
}

void net_acme_tls_free(struct net_server *s)
{
	struct net_acme_tls *t = s->acme_tls;

	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++)
		entry_clear(&t->e[i]);
	SSL_CTX_free(t->ctx);
	pthread_mutex_destroy(&t->mu);
	free(t);
	s->acme_tls = NULL;
}
