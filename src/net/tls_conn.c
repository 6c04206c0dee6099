/* tls_conn.c: one TLS connection of moat's reverse proxy (see
 * tls_server.h; the contexts it is made from are in tls_server.c): the
 * custom BIO and net_tls_conn_*.
 *
 * The caller's event loop drives the connection through memory, with no
 * BIO_s_mem in between.  Output is appended by the BIO to a buffer the
 * caller takes whole (net_tls_conn_take_output).  Input is borrowed:
 * net_tls_conn_input only records the caller's pointer; the BIO reads from
 * it while the caller drives the connection, and what is left when a call
 * returns "need more" (or the handshake returns) is copied (a partial
 * record, usually).  So the caller's bytes must stay valid until read
 * returns <= 0, as the header asks anyway; net_tls_conn_keep_input ends
 * the borrow early. */
#include "net/tls_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#define TLS_MAX_KEPT (256 * 1024) /* ciphertext kept between calls */
#define TLS_OUT_FIRST 4096        /* first size of the output buffer */

/* ---- the BIO: input borrowed from the caller, output appended ------------------- */

static int bio_read(BIO *b, char *buf, size_t n, size_t *got)
{
	struct net_tls_conn *t = BIO_get_data(b);
	size_t k = 0, m;

	BIO_clear_retry_flags(b);
	if (t->kept != NULL) {
		m = t->kept_len - t->kept_off < n ? t->kept_len - t->kept_off : n;
		memcpy(buf, t->kept + t->kept_off, m);
		t->kept_off += m;
		k = m;
		if (t->kept_off == t->kept_len) { /* used up */
			free(t->kept);
			t->kept = NULL;
			t->kept_off = t->kept_len = 0;
		}
	}
	if (k < n && t->in_len > 0) {
		m = t->in_len < n - k ? t->in_len : n - k;
		memcpy(buf + k, t->in, m);
		t->in += m;
		t->in_len -= m;
		k += m;
	}
	*got = k;
	if (k == 0) {
		BIO_set_retry_read(b); /* "no more for now", not the end */
		return 0;
	}
	return 1;
}

static int bio_write(BIO *b, const char *data, size_t n, size_t *done)
{
	struct net_tls_conn *t = BIO_get_data(b);

	BIO_clear_retry_flags(b);
	*done = 0;
	if (n > t->out_cap - t->out_len) {
		size_t cap = t->out_cap > 0 ? t->out_cap : TLS_OUT_FIRST;
		unsigned char *p;

		while (cap - t->out_len < n) {
			if (cap > SIZE_MAX / 2)
				return 0;
			cap *= 2;
		}
		if ((p = realloc(t->out, cap)) == NULL)
			return 0;
		t->out = p;
		t->out_cap = cap;
	}
	if (n > 0)
		memcpy(t->out + t->out_len, data, n);
	t->out_len += n;
	*done = n;
	return 1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct net_tls_conn *t = BIO_get_data(b);

	(void)num;
	(void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_CTRL_PENDING:
		return (long)(t->kept_len - t->kept_off + t->in_len);
	case BIO_CTRL_WPENDING:
		return (long)t->out_len;
	default:
		return 0;
	}
}

/* End the borrow: copy what is left of the caller's input. */
int net_tls_conn_keep_input(struct net_tls_conn *t)
{
	size_t old = t->kept_len - t->kept_off, n;
	unsigned char *p;

	if (t->in_len == 0)
		return 0;
	n = old + t->in_len;
	if (n > TLS_MAX_KEPT || (p = malloc(n)) == NULL) {
		t->err = n > TLS_MAX_KEPT ? "too much input not consumed" : "out of memory";
		t->in = NULL;
		t->in_len = 0;
		return -1;
	}
	if (old > 0)
		memcpy(p, t->kept + t->kept_off, old);
	memcpy(p + old, t->in, t->in_len);
	free(t->kept);
	t->kept = p;
	t->kept_off = 0;
	t->kept_len = n;
	t->in = NULL;
	t->in_len = 0;
	return 0;
}

BIO_METHOD *net_tls_bio_method_new(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_TYPE_SOURCE_SINK, "moat tls");

	if (m == NULL || BIO_meth_set_read_ex(m, bio_read) != 1 ||
	    BIO_meth_set_write_ex(m, bio_write) != 1 || BIO_meth_set_ctrl(m, bio_ctrl) != 1) {
		BIO_meth_free(m);
		return NULL;
	}
	return m;
}

/* ---- connections ---------------------------------------------------------------- */

struct net_tls_conn *net_tls_conn_new(struct net_tls_ctx *c)
{
	struct net_tls_conn *t;
	BIO *b = NULL;

	if (c == NULL || (t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->c = c;
	ERR_clear_error();
	if ((t->ssl = SSL_new(c->base)) == NULL || (b = BIO_new(c->bio)) == NULL) {
		SSL_free(t->ssl);
		free(t);
		ERR_clear_error();
		return NULL;
	}
	BIO_set_data(b, t);
	BIO_set_init(b, 1);
	SSL_set_bio(t->ssl, b, b); /* one reference, owned by ssl */
	SSL_set_app_data(t->ssl, t);
	SSL_set_accept_state(t->ssl);
	return t;
}

void net_tls_conn_free(struct net_tls_conn *t)
{
	if (t == NULL)
		return;
	SSL_free(t->ssl);
	free(t->kept);
	free(t->out);
	free(t);
}

int net_tls_conn_input(struct net_tls_conn *t, const void *data, size_t len)
{
	if (net_tls_conn_keep_input(t) != 0) /* the last input was not drained */
		return -1;
	t->in = data;
	t->in_len = data != NULL ? len : 0;
	return 0;
}

/* SSL_get_error needs an empty queue; ssl_fail leaves it so, and clearing
 * all of it before every record costs more than looking. */
static void clear_errors(void)
{
	if (ERR_peek_error() != 0)
		ERR_clear_error();
}

/* After an SSL call that did not succeed: 0, NET_TLS_EOF or -1 (t->err
 * set, the error queue emptied either way). */
static int ssl_fail(struct net_tls_conn *t, int r)
{
	int e = SSL_get_error(t->ssl, r);
	unsigned long code;

	if (e == SSL_ERROR_WANT_READ) {
		clear_errors();
		return 0;
	}
	if (e == SSL_ERROR_ZERO_RETURN) {
		clear_errors();
		return NET_TLS_EOF;
	}
	code = ERR_peek_error();
	if (t->cb_err != NULL)
		t->err = t->cb_err;
	else if (code != 0 && ERR_reason_error_string(code) != NULL)
		t->err = ERR_reason_error_string(code); /* static text, no peer bytes */
	else if (e == SSL_ERROR_WANT_WRITE)
		t->err = "out of memory";
	else
		t->err = "TLS failure";
	t->cb_err = NULL;
	ERR_clear_error();
	return -1;
}

int net_tls_conn_handshake(struct net_tls_conn *t)
{
	int r, ret;

	ERR_clear_error();
	r = SSL_do_handshake(t->ssl);
	if (r == 1) {
		ret = 1;
	} else if ((ret = ssl_fail(t, r)) == NET_TLS_EOF) {
		t->err = "the peer closed the connection during the handshake";
		ret = -1;
	}
	if (net_tls_conn_keep_input(t) != 0)
		return -1;
	return ret;
}

ssize_t net_tls_conn_read(struct net_tls_conn *t, void *buf, size_t n)
{
	size_t got = 0;
	int ret;

	clear_errors();
	if (n > 0 && SSL_read_ex(t->ssl, buf, n, &got) == 1)
		return (ssize_t)got; /* the caller calls again: the borrow goes on */
	ret = n > 0 ? ssl_fail(t, 0) : 0;
	if (net_tls_conn_keep_input(t) != 0)
		return -1;
	return ret;
}

int net_tls_conn_write(struct net_tls_conn *t, const void *data, size_t len)
{
	size_t done = 0;

	if (len == 0)
		return 0;
	clear_errors();
	if (SSL_write_ex(t->ssl, data, len, &done) == 1 && done == len)
		return 0;
	if (ssl_fail(t, 0) != -1)
		t->err = "the handshake is not finished";
	return -1;
}

void net_tls_conn_shutdown(struct net_tls_conn *t)
{
	ERR_clear_error();
	(void)SSL_shutdown(t->ssl);
	ERR_clear_error();
}

void *net_tls_conn_take_output(struct net_tls_conn *t, size_t *len)
{
	void *p = t->out;

	if (t->out_len == 0) {
		*len = 0;
		return NULL;
	}
	*len = t->out_len;
	t->out = NULL;
	t->out_len = t->out_cap = 0;
	return p;
}

const char *net_tls_conn_sni(const struct net_tls_conn *t)
{
	const char *s = SSL_get_servername(t->ssl, TLSEXT_NAMETYPE_host_name);

	return s != NULL ? s : "";
}

const char *net_tls_conn_version(const struct net_tls_conn *t)
{
	return SSL_get_version(t->ssl);
}

const char *net_tls_conn_site(const struct net_tls_conn *t)
{
	struct net_tls_info *i = net_tls_info_get(SSL_get_SSL_CTX(t->ssl));

	return i != NULL ? i->id : "";
}

bool net_tls_conn_resumed(const struct net_tls_conn *t)
{
	return SSL_session_reused(t->ssl) == 1;
}

bool net_tls_conn_handshake_only(const struct net_tls_conn *t)
{
	return t->sole;
}

const char *net_tls_conn_error(const struct net_tls_conn *t)
{
	return t->err != NULL ? t->err : "";
}
