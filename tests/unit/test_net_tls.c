/* The reverse proxy's TLS layer (net/tls_server.h), against OpenSSL as the
 * client: in-memory handshakes, the bytes shuttled by hand between a
 * client SSL on memory BIOs and a net_tls_conn. */
#include <malloc.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "net/tls_server.h"
#include "pki/pki.h"

/* Certificates made once: root -> intermediate -> leaves (EC P-256). */
static struct pki_key *root_key, *int_key, *leaf_key, *other_key, *acme_key;
static struct pki_cert *root, *inter, *leaf_a, *leaf_a2, *leaf_b, *leaf_w, *acme_cert;

static struct pki_cert *mk(enum pki_profile p, const char *cn, const char *const *names,
			   size_t n, const struct pki_key *key, const struct pki_cert *issuer,
			   const struct pki_key *issuer_key)
{
	struct moat_err err = {0};
	struct moat_name nm[4];
	int64_t now = (int64_t)time(NULL);
	unsigned char digest[32] = {1, 2, 3};
	struct pki_cert_spec spec = {.profile = p, .common_name = cn, .names = nm, .nnames = n,
				     .not_before = now - 3600, .not_after = now + 30 * 86400};
	struct pki_cert *c;

	for (size_t i = 0; i < n; i++)
		nm[i] = fx_name(names[i]);
	if (p == PKI_PROFILE_ACME_TLS_ALPN)
		spec.acme_digest = digest;
	c = pki_cert_build(&spec, key, issuer, issuer_key, &err);
	if (c == NULL)
		fail_msg("build %s: %s", cn != NULL ? cn : names[0], err.msg);
	return c;
}

static int setup(void **state)
{
	const char *a[] = {"a.test"}, *b[] = {"b.test"}, *w[] = {"*.wild.test"},
		   *ch[] = {"chal.test"};

	(void)state;
	root_key = fx_key(PKI_KEY_EC_P256);
	int_key = fx_key(PKI_KEY_EC_P256);
	leaf_key = fx_key(PKI_KEY_EC_P256);
	other_key = fx_key(PKI_KEY_EC_P256);
	acme_key = fx_key(PKI_KEY_EC_P256);
	root = mk(PKI_PROFILE_ROOT, "Tls Root", NULL, 0, root_key, NULL, root_key);
	inter = mk(PKI_PROFILE_INTERMEDIATE, "Tls Int", NULL, 0, int_key, root, root_key);
	leaf_a = mk(PKI_PROFILE_LEAF, NULL, a, 1, leaf_key, inter, int_key);
	leaf_a2 = mk(PKI_PROFILE_LEAF, NULL, a, 1, other_key, inter, int_key);
	leaf_b = mk(PKI_PROFILE_LEAF, NULL, b, 1, leaf_key, inter, int_key);
	leaf_w = mk(PKI_PROFILE_LEAF, NULL, w, 1, leaf_key, inter, int_key);
	acme_cert = mk(PKI_PROFILE_ACME_TLS_ALPN, NULL, ch, 1, acme_key, NULL, acme_key);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pki_cert_free(root);
	pki_cert_free(inter);
	pki_cert_free(leaf_a);
	pki_cert_free(leaf_a2);
	pki_cert_free(leaf_b);
	pki_cert_free(leaf_w);
	pki_cert_free(acme_cert);
	pki_key_free(root_key);
	pki_key_free(int_key);
	pki_key_free(leaf_key);
	pki_key_free(other_key);
	pki_key_free(acme_key);
	return 0;
}

/* A server with sites a (default; a.test, A2.Test), b (b.test) and
 * w (*.wild.test), each sent with the intermediate. */
static struct net_tls_ctx *server_opts(const struct net_tls_opts *o)
{
	struct moat_err err = {0};
	struct net_tls_ctx *c = net_tls_ctx_new(o, &err);
	const char *a[] = {"a.test", "A2.Test"}, *b[] = {"b.test"}, *w[] = {"*.wild.test"};
	struct pki_cert *chain[] = {inter};

	if (c == NULL)
		fail_msg("ctx: %s", err.msg);
	if (net_tls_ctx_set_cert(c, "a", a, 2, leaf_a, chain, 1, leaf_key, &err) != 0 ||
	    net_tls_ctx_set_cert(c, "b", b, 1, leaf_b, chain, 1, leaf_key, &err) != 0 ||
	    net_tls_ctx_set_cert(c, "w", w, 1, leaf_w, chain, 1, leaf_key, &err) != 0)
		fail_msg("set_cert: %s", err.msg);
	return c;
}

static struct net_tls_ctx *server(bool tls13_only)
{
	struct net_tls_opts o = {.tls13_only = tls13_only};

	return server_opts(&o);
}

#define ALPN(s) ((const unsigned char *)(s))

/* ---- the client side ---------------------------------------------------------- */

static SSL_CTX *client_ctx(int min, int max)
{
	SSL_CTX *x = SSL_CTX_new(TLS_client_method());

	assert_non_null(x);
	SSL_CTX_set_verify(x, SSL_VERIFY_NONE, NULL);
	if (min != 0 && min < TLS1_2_VERSION) {
		SSL_CTX_set_security_level(x, 0); /* TLS 1.1 needs SHA-1 */
		assert_int_equal(SSL_CTX_set_cipher_list(x, "DEFAULT:@SECLEVEL=0"), 1);
	}
	assert_int_equal(SSL_CTX_set_min_proto_version(x, min), 1);
	assert_int_equal(SSL_CTX_set_max_proto_version(x, max), 1);
	return x;
}

static SSL *client(SSL_CTX *x, const char *sni)
{
	SSL *s = SSL_new(x);
	BIO *r = BIO_new(BIO_s_mem()), *w = BIO_new(BIO_s_mem());

	assert_non_null(s);
	assert_non_null(r);
	assert_non_null(w);
	BIO_set_mem_eof_return(r, -1);
	SSL_set_bio(s, r, w);
	SSL_set_connect_state(s);
	if (sni != NULL)
		assert_int_equal(SSL_set_tlsext_host_name(s, sni), 1);
	return s;
}

/* What the client has written, taken out (malloc'd; *len may be 0). */
static unsigned char *client_out(SSL *cl, size_t *len)
{
	BIO *w = SSL_get_wbio(cl);
	size_t n = (size_t)BIO_ctrl_pending(w);
	unsigned char *p = malloc(n + 1);

	assert_non_null(p);
	if (n > 0)
		assert_int_equal(BIO_read(w, p, (int)n), (int)n);
	*len = n;
	return p;
}

/* What the server has written, into the client. */
static size_t to_client(struct net_tls_conn *t, SSL *cl)
{
	size_t len;
	void *p = net_tls_conn_take_output(t, &len);

	if (p != NULL)
		assert_int_equal(BIO_write(SSL_get_rbio(cl), p, (int)len), (int)len);
	else
		assert_int_equal(len, 0);
	free(p);
	return len;
}

/* Feed the client's bytes to the server in pieces, driving the handshake
 * after each; the last result. */
static int to_server_hs(SSL *cl, struct net_tls_conn *t, size_t piece)
{
	size_t len;
	unsigned char *p = client_out(cl, &len);
	int r = 0;

	for (size_t off = 0; off < len; off += piece) {
		size_t m = len - off < piece ? len - off : piece;

		assert_int_equal(net_tls_conn_input(t, p + off, m), 0);
		r = net_tls_conn_handshake(t);
		if (r < 0)
			break;
	}
	if (len == 0)
		r = net_tls_conn_handshake(t);
	free(p);
	return r;
}

/* Why the client failed, after handshake() returned -1 (its reason for
 * the alert it got). */
static char client_err[256];

/* Both sides to the end of the handshake: 1 done, -1 the server failed,
 * -2 the client failed.  half: stop after the server's first flight. */
static int handshake(SSL *cl, struct net_tls_conn *t, size_t piece, bool half)
{
	int srv = 0, cli = 0;

	for (int round = 0; round < 10; round++) {
		int r;

		ERR_clear_error();
		r = SSL_do_handshake(cl);
		if (r == 1)
			cli = 1;
		else if (SSL_get_error(cl, r) != SSL_ERROR_WANT_READ)
			cli = -1;
		if (cli == -1)
			return -2;
		if (srv != 1)
			srv = to_server_hs(cl, t, piece);
		(void)to_client(t, cl);
		if (srv == -1) {
			(void)SSL_do_handshake(cl); /* read the alert */
			snprintf(client_err, sizeof(client_err), "%s",
				 ERR_peek_error() != 0 && ERR_reason_error_string(ERR_peek_error())
					 ? ERR_reason_error_string(ERR_peek_error())
					 : "");
			ERR_clear_error();
			return -1;
		}
		if (half && round == 0)
			return 0;
		if (cli == 1 && srv == 1)
			return 1;
	}
	fail_msg("handshake does not end");
	return 0;
}

/* The client reads what the server sent after the handshake (the ticket). */
static void client_settle(SSL *cl)
{
	char b[16];
	size_t got;

	assert_int_equal(SSL_read_ex(cl, b, sizeof(b), &got), 0);
	assert_int_equal(SSL_get_error(cl, 0), SSL_ERROR_WANT_READ);
	ERR_clear_error();
}

static bool peer_is(SSL *cl, const struct pki_cert *c)
{
	struct moat_err err = {0};
	struct moat_buf der = MOAT_BUF_INIT;
	X509 *x = SSL_get0_peer_certificate(cl);
	unsigned char *p = NULL;
	int n;
	bool same;

	assert_non_null(x);
	assert_int_equal(pki_cert_to_der(c, &der, &err), 0);
	n = i2d_X509(x, &p);
	same = n > 0 && (size_t)n == der.len && memcmp(p, der.data, der.len) == 0;
	OPENSSL_free(p);
	moat_buf_free(&der);
	return same;
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_handshake_13(void **state)
{
	struct net_tls_ctx *c = server(false);
	SSL_CTX *cx = client_ctx(TLS1_2_VERSION, TLS1_3_VERSION);
	SSL *cl = client(cx, "a.test");
	struct net_tls_conn *t = net_tls_conn_new(c);
	const unsigned char *alpn;
	unsigned int alen;

	(void)state;
	assert_int_equal(SSL_set_alpn_protos(cl, ALPN("\x02h2\x08http/1.1"), 12), 0);
	assert_int_equal(handshake(cl, t, 100000, false), 1);
	assert_string_equal(net_tls_conn_version(t), "TLSv1.3");
	assert_string_equal(SSL_get_version(cl), "TLSv1.3");
	assert_string_equal(net_tls_conn_sni(t), "a.test");
	assert_string_equal(net_tls_conn_site(t), "a");
	assert_false(net_tls_conn_resumed(t));
	assert_false(net_tls_conn_handshake_only(t));
	assert_string_equal(net_tls_conn_error(t), "");
	assert_true(peer_is(cl, leaf_a));
	/* leaf + intermediate, never the root */
	assert_int_equal(sk_X509_num(SSL_get_peer_cert_chain(cl)), 2);
	SSL_get0_alpn_selected(cl, &alpn, &alen);
	assert_int_equal(alen, 8);
	assert_memory_equal(alpn, "http/1.1", 8);
	assert_string_equal(SSL_group_to_name(cl, SSL_get_negotiated_group(cl)), "x25519");
	/* input given twice before reading: the first is kept, then both read */
	{
		size_t len, done;
		unsigned char *p, buf[64];

		assert_int_equal(SSL_write_ex(cl, "hello", 5, &done), 1);
		p = client_out(cl, &len);
		assert_int_equal(net_tls_conn_input(t, p, 7), 0);
		assert_int_equal(net_tls_conn_input(t, p + 7, len - 7), 0);
		memset(p, 0, 7); /* the engine holds its own copy of the first part */
		assert_int_equal(net_tls_conn_read(t, buf, 3), 3);
		assert_int_equal(net_tls_conn_read(t, buf + 3, sizeof(buf) - 3), 2);
		assert_int_equal(net_tls_conn_read(t, buf, sizeof(buf)), 0);
		free(p);
		assert_memory_equal(buf, "hello", 5);
	}
	net_tls_conn_free(t);
	SSL_free(cl);
	/* a key share for a group we do not take (P-521): HelloRetryRequest,
	 * and the second ClientHello goes through the callback again */
	cl = client(cx, "b.test");
	t = net_tls_conn_new(c);
	assert_int_equal(SSL_set1_groups_list(cl, "P-521:P-384"), 1);
	assert_int_equal(handshake(cl, t, 100000, false), 1);
	assert_string_equal(SSL_group_to_name(cl, SSL_get_negotiated_group(cl)), "secp384r1");
	assert_string_equal(net_tls_conn_site(t), "b");
	assert_true(peer_is(cl, leaf_b));
	net_tls_conn_free(t);
	SSL_free(cl);
	SSL_CTX_free(cx);
	net_tls_ctx_free(c);
}

static void test_handshake_12(void **state)
{
	struct net_tls_ctx *c = server(false);
	SSL_CTX *cx = client_ctx(TLS1_2_VERSION, TLS1_2_VERSION);
	SSL *cl = client(cx, "b.test");
	struct net_tls_conn *t = net_tls_conn_new(c);
	const unsigned char *alpn;
	unsigned int alen;

	(void)state;
	/* only protocols we do not speak: no ALPN, no failure */
	assert_int_equal(SSL_set_alpn_protos(cl, ALPN("\x03" "foo"), 4), 0);
	assert_int_equal(handshake(cl, t, 100000, false), 1);
	assert_string_equal(net_tls_conn_version(t), "TLSv1.2");
	assert_string_equal(net_tls_conn_site(t), "b");
	assert_true(peer_is(cl, leaf_b));
	assert_int_equal(sk_X509_num(SSL_get_peer_cert_chain(cl)), 2);
	assert_string_equal(SSL_get_cipher_name(cl), "ECDHE-ECDSA-AES128-GCM-SHA256");
	SSL_get0_alpn_selected(cl, &alpn, &alen);
	assert_int_equal(alen, 0);
	net_tls_conn_free(t);
	SSL_free(cl);
	SSL_CTX_free(cx);
	net_tls_ctx_free(c);
}

static void test_old_versions_refused(void **state)
{
	struct net_tls_ctx *c = server(false), *c13 = server(true);
	SSL_CTX *cx11 = client_ctx(TLS1_1_VERSION, TLS1_1_VERSION);
	SSL_CTX *cx12 = client_ctx(TLS1_2_VERSION, TLS1_2_VERSION);
	SSL *cl = client(cx11, "a.test");
	struct net_tls_conn *t = net_tls_conn_new(c);

	(void)state;
	assert_int_equal(handshake(cl, t, 100000, false), -1);
	assert_non_null(strstr(net_tls_conn_error(t), "protocol"));
	net_tls_conn_free(t);
	SSL_free(cl);
	/* tls13_only: 1.2 refused, 1.3 fine */
	cl = client(cx12, "a.test");
	t = net_tls_conn_new(c13);
	assert_int_equal(handshake(cl, t, 100000, false), -1);
	assert_string_not_equal(net_tls_conn_error(t), "");
	net_tls_conn_free(t);
	SSL_free(cl);
	SSL_CTX_free(cx11);
	SSL_CTX_free(cx12);
	net_tls_ctx_free(c);
	net_tls_ctx_free(c13);
}

static void sni_case(struct net_tls_ctx *c, SSL_CTX *cx, const char *sni, const char *site,
		     const struct pki_cert *leaf)
{
	SSL *cl = client(cx, sni);
	struct net_tls_conn *t = net_tls_conn_new(c);

	assert_int_equal(handshake(cl, t, 100000, false), 1);
	assert_string_equal(net_tls_conn_site(t), site);
	assert_true(peer_is(cl, leaf));
	net_tls_conn_free(t);
	SSL_free(cl);
}

static void test_sni(void **state)
{
	struct net_tls_ctx *c = server(false);
	SSL_CTX *cx = client_ctx(TLS1_2_VERSION, TLS1_3_VERSION);
	SSL_CTX *cx12 = client_ctx(TLS1_2_VERSION, TLS1_2_VERSION);

	(void)state;
	sni_case(c, cx, "b.test", "b", leaf_b);
	sni_case(c, cx, "B.Test", "b", leaf_b);
	sni_case(c, cx, "a2.test", "a", leaf_a);
	sni_case(c, cx, "x.wild.test", "w", leaf_w);
	sni_case(c, cx12, "X.Wild.Test", "w", leaf_w);
	sni_case(c, cx, "y.x.wild.test", "a", leaf_a); /* one label only */
	sni_case(c, cx, "wild.test", "a", leaf_a);
	sni_case(c, cx, "nobody.test", "a", leaf_a);
	sni_case(c, cx, NULL, "a", leaf_a);
	sni_case(c, cx12, "b.test", "b", leaf_b);
	SSL_CTX_free(cx);
	SSL_CTX_free(cx12);
	net_tls_ctx_free(c);
}

/* The server reads all it can after each piece of the client's output. */
static size_t server_read_all(SSL *cl, struct net_tls_conn *t, size_t piece, unsigned char *buf,
			      size_t cap, ssize_t *last)
{
	size_t len, got = 0;
	unsigned char *p = client_out(cl, &len);

	*last = 0;
	for (size_t off = 0; off < len; off += piece) {
		size_t m = len - off < piece ? len - off : piece;
		ssize_t r;

		assert_int_equal(net_tls_conn_input(t, p + off, m), 0);
		while ((r = net_tls_conn_read(t, buf + got, cap - got)) > 0)
			got += (size_t)r;
		*last = r;
		if (r < 0)
			break;
	}
	free(p);
	return got;
}

static void data_both_ways(int maxv, size_t piece)
{
	struct net_tls_ctx *c = server(false);
	SSL_CTX *cx = client_ctx(TLS1_2_VERSION, maxv);
	SSL *cl = client(cx, "a.test");
	struct net_tls_conn *t = net_tls_conn_new(c);
	size_t big = piece == 1 ? 20000 : 1024 * 1024, len, got = 0, d;
	unsigned char *msg = malloc(big), *buf = malloc(big + 1);
	unsigned char *p;
	ssize_t last;

	assert_non_null(msg);
	assert_non_null(buf);
	for (size_t i = 0; i < big; i++)
		msg[i] = (unsigned char)(i * 31 + (i >> 11));
	assert_int_equal(handshake(cl, t, piece, false), 1);
	client_settle(cl);
	/* server -> client, fed in odd pieces */
	assert_int_equal(net_tls_conn_write(t, msg, big), 0);
	p = net_tls_conn_take_output(t, &len);
	assert_non_null(p);
	assert_true(len > big);
	assert_null(net_tls_conn_take_output(t, &d));
	assert_int_equal(d, 0);
	for (size_t off = 0; off < len; off += 7919) {
		size_t m = len - off < 7919 ? len - off : 7919, n;

		assert_int_equal(BIO_write(SSL_get_rbio(cl), p + off, (int)m), (int)m);
		while (SSL_read_ex(cl, buf + got, big - got, &n) == 1)
			got += n;
	}
	ERR_clear_error();
	free(p);
	assert_int_equal(got, big);
	assert_memory_equal(buf, msg, big);
	/* client -> server */
	assert_int_equal(SSL_write_ex(cl, msg, big, &d), 1);
	got = server_read_all(cl, t, piece == 1 ? 1 : 4099, buf, big + 1, &last);
	assert_int_equal(last, 0);
	assert_int_equal(got, big);
	assert_memory_equal(buf, msg, big);
	/* close_notify (0: sent, the server's not seen yet), then the server's own */
	assert_int_equal(SSL_shutdown(cl), 0);
	assert_int_equal(SSL_get_shutdown(cl), SSL_SENT_SHUTDOWN);
	assert_int_equal(server_read_all(cl, t, piece == 1 ? 1 : 4099, buf, big + 1, &last), 0);
	assert_int_equal(last, NET_TLS_EOF);
	net_tls_conn_shutdown(t);
	assert_true(to_client(t, cl) > 0);
	assert_int_equal(SSL_shutdown(cl), 1);
	net_tls_conn_free(t);
	SSL_free(cl);
	SSL_CTX_free(cx);
	free(msg);
	free(buf);
	net_tls_ctx_free(c);
}

static void test_data(void **state)
{
	(void)state;
	data_both_ways(TLS1_3_VERSION, 4099);
	data_both_ways(TLS1_2_VERSION, 4099);
}

static void test_one_byte_at_a_time(void **state)
{
	(void)state;
	data_both_ways(TLS1_3_VERSION, 1);
	data_both_ways(TLS1_2_VERSION, 1);
}

static void test_replace_midway(void **state)
{
	const char *a[] = {"a.test"};
	struct pki_cert *chain[] = {inter};
	struct moat_err err = {0};

	(void)state;
	for (int v = TLS1_2_VERSION; v <= TLS1_3_VERSION; v++) {
		struct net_tls_ctx *c = server(false);
		SSL_CTX *cx = client_ctx(TLS1_2_VERSION, v);
		SSL *cl = client(cx, "a.test"), *cl2;
		struct net_tls_conn *t = net_tls_conn_new(c), *t2;

		assert_int_equal(handshake(cl, t, 100000, true), 0);
		/* the certificate (and key) of a changes now */
		assert_int_equal(net_tls_ctx_set_cert(c, "a", a, 1, leaf_a2, chain, 1, other_key,
						      &err), 0);
		assert_int_equal(handshake(cl, t, 100000, false), 1);
		assert_true(peer_is(cl, leaf_a));
		cl2 = client(cx, "a.test");
		t2 = net_tls_conn_new(c);
		assert_int_equal(handshake(cl2, t2, 100000, false), 1);
		assert_true(peer_is(cl2, leaf_a2));
		assert_string_equal(net_tls_conn_site(t2), "a");
		/* the default is still a, and b unchanged */
		net_tls_conn_free(t2);
		SSL_free(cl2);
		sni_case(c, cx, "nobody.test", "a", leaf_a2);
		sni_case(c, cx, "b.test", "b", leaf_b);
		net_tls_conn_free(t);
		SSL_free(cl);
		SSL_CTX_free(cx);
		net_tls_ctx_free(c);
	}
}

/* The staple the client got; -1 when none. */
static long staple_of(struct net_tls_ctx *c, SSL_CTX *cx, bool ask, const char *sni,
		      unsigned char *out)
{
	SSL *cl = client(cx, sni);
	struct net_tls_conn *t = net_tls_conn_new(c);
	const unsigned char *p = NULL;
	long n;

	if (ask)
		assert_int_equal(SSL_set_tlsext_status_type(cl, TLSEXT_STATUSTYPE_ocsp), 1);
	assert_int_equal(handshake(cl, t, 100000, false), 1);
	n = SSL_get_tlsext_status_ocsp_resp(cl, &p);
	if (p == NULL)
		n = -1;
	else
		memcpy(out, p, (size_t)n);
	net_tls_conn_free(t);
	SSL_free(cl);
	return n;
}

static void test_staple(void **state)
{
	struct net_tls_ctx *c = server(false);
	static const unsigned char der[] = {0x30, 0x03, 0x0a, 0x01, 0x00}; /* any bytes do */
	const char *b[] = {"b.test"};
	struct pki_cert *chain[] = {inter};
	struct moat_err err = {0};
	unsigned char got[64];

	(void)state;
	assert_int_equal(net_tls_ctx_set_staple(c, "b", der, sizeof(der), &err), 0);
	assert_int_equal(net_tls_ctx_set_staple(c, "nope", der, sizeof(der), &err), -1);
	assert_non_null(strstr(err.msg, "nope"));
	for (int v = TLS1_2_VERSION; v <= TLS1_3_VERSION; v++) {
		SSL_CTX *cx = client_ctx(TLS1_2_VERSION, v);

		assert_int_equal(staple_of(c, cx, false, "b.test", got), -1);
		assert_int_equal(staple_of(c, cx, true, "b.test", got), (long)sizeof(der));
		assert_memory_equal(got, der, sizeof(der));
		assert_int_equal(staple_of(c, cx, true, "a.test", got), -1); /* a has none */
		SSL_CTX_free(cx);
	}
	{
		SSL_CTX *cx = client_ctx(TLS1_2_VERSION, TLS1_3_VERSION);

		assert_int_equal(net_tls_ctx_set_staple(c, "b", NULL, 0, &err), 0);
		assert_int_equal(staple_of(c, cx, true, "b.test", got), -1);
		/* a new certificate drops the old one's staple */
		assert_int_equal(net_tls_ctx_set_staple(c, "b", der, sizeof(der), &err), 0);
		assert_int_equal(
			net_tls_ctx_set_cert(c, "b", b, 1, leaf_b, chain, 1, leaf_key, &err), 0);
		assert_int_equal(staple_of(c, cx, true, "b.test", got), -1);
		SSL_CTX_free(cx);
	}
	net_tls_ctx_free(c);
}

/* A handshake offering sess; resumed or not.  *next: the new session. */
static bool resumed(struct net_tls_ctx *c, SSL_CTX *cx, const char *sni, SSL_SESSION *sess,
		    SSL_SESSION **next)
{
	SSL *cl = client(cx, sni);
	struct net_tls_conn *t = net_tls_conn_new(c);
	bool r;

	if (sess != NULL)
		assert_int_equal(SSL_set_session(cl, sess), 1);
	assert_int_equal(handshake(cl, t, 100000, false), 1);
	client_settle(cl);
	r = net_tls_conn_resumed(t);
	assert_int_equal(r, SSL_session_reused(cl) == 1);
	assert_string_equal(net_tls_conn_sni(t), sni);
	/* A clean close: OpenSSL marks a session not resumable otherwise. */
	(void)SSL_shutdown(cl);
	if (next != NULL) {
		*next = SSL_get1_session(cl);
		assert_non_null(*next);
		assert_true(SSL_SESSION_is_resumable(*next));
	}
	net_tls_conn_free(t);
	SSL_free(cl);
	return r;
}

static void test_resumption(void **state)
{
	(void)state;
	for (int v = TLS1_2_VERSION; v <= TLS1_3_VERSION; v++) {
		struct net_tls_ctx *c = server(false);
		SSL_CTX *cx = client_ctx(TLS1_2_VERSION, v);
		SSL_SESSION *s1, *s2;

		assert_false(resumed(c, cx, "a.test", NULL, &s1));
		assert_true(resumed(c, cx, "a.test", s1, NULL));
		/* Clients use a ticket once: each resumption brings a new one. */
		{
			SSL_SESSION *s3;
			const unsigned char *t1, *t3;
			size_t l1, l3;

			assert_true(resumed(c, cx, "a.test", s1, &s3));
			SSL_SESSION_get0_ticket(s1, &t1, &l1);
			SSL_SESSION_get0_ticket(s3, &t3, &l3);
			assert_true(l3 > 0);
			assert_true(l1 != l3 || memcmp(t1, t3, l1) != 0);
			assert_true(resumed(c, cx, "a.test", s3, NULL));
			SSL_SESSION_free(s3);
		}
		/* another site's ticket does not resume */
		assert_false(resumed(c, cx, "b.test", s1, NULL));
		/* one rotation: the previous key still decrypts */
		net_tls_ctx_rotate_tickets(c);
		assert_true(resumed(c, cx, "a.test", s1, &s2));
		/* two: the first key is gone, the renewed ticket is fine */
		net_tls_ctx_rotate_tickets(c);
		assert_false(resumed(c, cx, "a.test", s1, NULL));
		assert_true(resumed(c, cx, "a.test", s2, NULL));
		SSL_SESSION_free(s1);
		SSL_SESSION_free(s2);
		SSL_CTX_free(cx);
		net_tls_ctx_free(c);
	}
}

/* The key rotates by itself when a new ticket is made after the period. */
static void test_rotation_by_time(void **state)
{
	struct net_tls_opts o = {.ticket_rotate_s = 1};
	struct net_tls_ctx *c = server_opts(&o);
	SSL_CTX *cx = client_ctx(TLS1_2_VERSION, TLS1_3_VERSION);
	SSL_SESSION *s1;

	(void)state;
	assert_false(resumed(c, cx, "a.test", NULL, &s1));
	sleep(2);
	assert_false(resumed(c, cx, "a.test", NULL, NULL)); /* its ticket: a new key */
	net_tls_ctx_rotate_tickets(c);                      /* s1's key is gone now */
	assert_false(resumed(c, cx, "a.test", s1, NULL));
	SSL_SESSION_free(s1);
	SSL_CTX_free(cx);
	net_tls_ctx_free(c);
}

static void test_acme(void **state)
{
	struct net_tls_ctx *c = server(false);
	SSL_CTX *cx = client_ctx(TLS1_2_VERSION, TLS1_3_VERSION);
	struct moat_err err = {0};
	const unsigned char *alpn;
	unsigned int alen;
	SSL *cl;
	struct net_tls_conn *t;

	(void)state;
	assert_int_equal(net_tls_ctx_sole_set(c, "acme-tls/1", "Chal.Test", acme_cert, acme_key, &err), 0);
	assert_int_equal(net_tls_ctx_sole_set(c, "acme-tls/1", "chal.test", acme_cert, leaf_key, &err), -1);
	/* acme-tls/1 and a registered name: the challenge certificate */
	cl = client(cx, "chal.test");
	t = net_tls_conn_new(c);
	assert_int_equal(SSL_set_alpn_protos(cl, ALPN("\x0a" "acme-tls/1"), 11), 0);
	assert_int_equal(handshake(cl, t, 100000, false), 1);
	assert_true(net_tls_conn_handshake_only(t));
	assert_true(peer_is(cl, acme_cert));
	SSL_get0_alpn_selected(cl, &alpn, &alen);
	assert_int_equal(alen, 10);
	assert_memory_equal(alpn, "acme-tls/1", 10);
	net_tls_conn_free(t);
	SSL_free(cl);
	/* the same name without acme-tls/1: the default site */
	sni_case(c, cx, "chal.test", "a", leaf_a);
	/* acme-tls/1 for a name without a challenge: no_application_protocol */
	cl = client(cx, "a.test");
	t = net_tls_conn_new(c);
	assert_int_equal(SSL_set_alpn_protos(cl, ALPN("\x0a" "acme-tls/1"), 11), 0);
	assert_int_equal(handshake(cl, t, 100000, false), -1);
	assert_non_null(strstr(net_tls_conn_error(t), "handshake-only"));
	assert_false(net_tls_conn_handshake_only(t));
	assert_non_null(strstr(client_err, "no application protocol"));
	net_tls_conn_free(t);
	SSL_free(cl);
	/* removed: refused the same way */
	net_tls_ctx_sole_remove(c, "acme-tls/1", "chal.test");
	cl = client(cx, "chal.test");
	t = net_tls_conn_new(c);
	assert_int_equal(SSL_set_alpn_protos(cl, ALPN("\x0a" "acme-tls/1"), 11), 0);
	assert_int_equal(handshake(cl, t, 100000, false), -1);
	assert_non_null(strstr(net_tls_conn_error(t), "handshake-only"));
	assert_non_null(strstr(client_err, "no application protocol"));
	net_tls_conn_free(t);
	SSL_free(cl);
	SSL_CTX_free(cx);
	net_tls_ctx_free(c);
}

static void test_errors(void **state)
{
	struct net_tls_ctx *c = server(false);
	const char *a[] = {"a.test"}, *bad[] = {"not a name"};
	struct moat_err err = {0};
	static const char garbage[] = "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n";
	struct net_tls_conn *t;
	SSL_CTX *cx = client_ctx(TLS1_2_VERSION, TLS1_3_VERSION);
	struct net_tls_ctx *empty;

	(void)state;
	assert_int_equal(net_tls_ctx_set_cert(c, "x", a, 1, leaf_a, NULL, 0, other_key, &err), -1);
	assert_string_equal(err.msg, "the private key does not belong to the certificate");
	assert_int_equal(net_tls_ctx_set_cert(c, "x", bad, 1, leaf_a, NULL, 0, leaf_key, &err), -1);
	assert_non_null(strstr(err.msg, "not a name"));
	assert_int_equal(net_tls_ctx_set_cert(c, "", a, 1, leaf_a, NULL, 0, leaf_key, &err), -1);
	assert_string_equal(err.msg, "a site needs an id, a certificate and its private key");
	/* not TLS at all */
	t = net_tls_conn_new(c);
	assert_int_equal(net_tls_conn_input(t, garbage, sizeof(garbage) - 1), 0);
	assert_int_equal(net_tls_conn_handshake(t), -1);
	assert_string_not_equal(net_tls_conn_error(t), "");
	assert_int_equal(ERR_peek_error(), 0); /* nothing left for the next connection */
	net_tls_conn_free(t);
	/* a server with no certificate at all */
	empty = net_tls_ctx_new(NULL, &err);
	assert_non_null(empty);
	{
		SSL *cl = client(cx, "a.test");

		t = net_tls_conn_new(empty);
		assert_int_equal(handshake(cl, t, 100000, false), -1);
		assert_string_equal(net_tls_conn_error(t), "no certificate to serve");
		net_tls_conn_free(t);
		SSL_free(cl);
	}
	net_tls_ctx_free(empty);
	SSL_CTX_free(cx);
	net_tls_ctx_free(c);
	net_tls_ctx_free(NULL);
	net_tls_conn_free(NULL);
}

/* Certificates replaced from another thread while handshakes run. */
struct swapper {
	struct net_tls_ctx *c;
	int rounds;
};

static void *swap_certs(void *arg)
{
	struct swapper *s = arg;
	const char *a[] = {"a.test"};
	struct pki_cert *chain[] = {inter};
	struct moat_err err = {0};

	for (int i = 0; i < s->rounds; i++) {
		bool two = i % 2 == 0;

		if (net_tls_ctx_set_cert(s->c, "a", a, 1, two ? leaf_a2 : leaf_a, chain, 1,
					 two ? other_key : leaf_key, &err) != 0 ||
		    net_tls_ctx_set_staple(s->c, "a", "x", 1, &err) != 0 ||
		    net_tls_ctx_sole_set(s->c, "acme-tls/1", "chal.test", acme_cert, acme_key, &err) != 0)
			return "set failed";
		net_tls_ctx_sole_remove(s->c, "acme-tls/1", "chal.test");
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct net_tls_ctx *c = server(false);
	SSL_CTX *cx = client_ctx(TLS1_2_VERSION, TLS1_3_VERSION);
	struct swapper s = {c, 200};
	pthread_t th;
	void *res;

	(void)state;
	assert_int_equal(pthread_create(&th, NULL, swap_certs, &s), 0);
	for (int i = 0; i < 100; i++) {
		SSL *cl = client(cx, i % 3 == 0 ? "b.test" : "a.test");
		struct net_tls_conn *t = net_tls_conn_new(c);

		assert_int_equal(SSL_set_tlsext_status_type(cl, TLSEXT_STATUSTYPE_ocsp), 1);
		assert_int_equal(handshake(cl, t, 100000, i % 2 == 0), i % 2 == 0 ? 0 : 1);
		if (i % 2 == 0)
			assert_int_equal(handshake(cl, t, 100000, false), 1);
		assert_true(i % 3 == 0 ? peer_is(cl, leaf_b)
				       : peer_is(cl, leaf_a) || peer_is(cl, leaf_a2));
		net_tls_conn_free(t);
		SSL_free(cl);
	}
	assert_int_equal(pthread_join(th, &res), 0);
	assert_null(res);
	SSL_CTX_free(cx);
	net_tls_ctx_free(c);
}

/* Memory an idle connection holds after its handshake (mallinfo2; ASan
 * replaces malloc, so only reported without it). */
static void test_idle_memory(void **state)
{
	enum { N = 1000 };
	struct net_tls_ctx *c = server(false);
	SSL_CTX *cx = client_ctx(TLS1_2_VERSION, TLS1_3_VERSION);
	struct net_tls_conn **t = calloc(N, sizeof(*t));
	struct mallinfo2 m0, m1;

	(void)state;
	assert_non_null(t);
	for (int i = 0; i <= N; i++) {
		SSL *cl = client(cx, "a.test");
		struct net_tls_conn *x = net_tls_conn_new(c);

		assert_int_equal(handshake(cl, x, 100000, false), 1);
		client_settle(cl);
		SSL_free(cl);
		if (i == 0) { /* warm-up: OpenSSL's lazy set-up is not per connection */
			net_tls_conn_free(x);
			m0 = mallinfo2();
			continue;
		}
		t[i - 1] = x;
	}
	m1 = mallinfo2();
#if !defined(__SANITIZE_ADDRESS__)
	/* glibc's figures: N connections hold something, and not too much */
	assert_true(m0.uordblks > 0);
	assert_true(m1.uordblks > m0.uordblks);
	print_message("idle TLS connection after the handshake: %zu bytes\n",
		      (m1.uordblks - m0.uordblks) / N);
	assert_true((m1.uordblks - m0.uordblks) / N < 24 * 1024); /* a record buffer is 16 KiB */
#else
	(void)m0; /* ASan replaces malloc: no figures to judge */
	(void)m1;
#endif
	for (int i = 0; i < N; i++)
		net_tls_conn_free(t[i]);
	free(t);
	SSL_CTX_free(cx);
	net_tls_ctx_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_13),
		cmocka_unit_test(test_handshake_12),
		cmocka_unit_test(test_old_versions_refused),
		cmocka_unit_test(test_sni),
		cmocka_unit_test(test_data),
		cmocka_unit_test(test_one_byte_at_a_time),
		cmocka_unit_test(test_replace_midway),
		cmocka_unit_test(test_staple),
		cmocka_unit_test(test_resumption),
		cmocka_unit_test(test_rotation_by_time),
		cmocka_unit_test(test_acme),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_idle_memory),
	};
	struct moat_err err = {0};

	if (pki_init(&err) != 0) {
		fprintf(stderr, "pki_init: %s\n", err.msg);
		return 1;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
