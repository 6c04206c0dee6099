/* tls_conn_mem.c: how much memory OpenSSL itself keeps per server-side
 * TLS connection once the handshake is over -- the floor under any
 * OpenSSL-based proxy's "memory per idle connection" (bench/serve.sh).
 *
 *   cc -O2 bench/tls_conn_mem.c -o /tmp/tls_conn_mem -lssl -lcrypto
 *   /tmp/tls_conn_mem FULLCHAIN.pem PRIVKEY.pem [CONNECTIONS [TICKETS]]
 *
 * Server and client run in memory (BIO_s_mem, no sockets).  The server is
 * set up as moat serve and nginx set theirs up for this measurement:
 * TLS 1.3, SSL_MODE_RELEASE_BUFFERS, no session cache, TICKETS tickets (1,
 * as moat; nginx sends OpenSSL's default 2).  Each connection completes
 * the handshake and one request is read; the client is freed, the server
 * SSL is kept, with its BIOs taken away (a proxy's own transport is not
 * OpenSSL's).  OpenSSL's allocations are counted through
 * CRYPTO_set_mem_functions; the output is the bytes still allocated per
 * kept connection and, for the last one, where they were allocated.  Not
 * counted: malloc's own overhead per block (8-16 bytes) and fragmentation,
 * which RSS includes. */
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SITES 256

static long live;
static int tracking;
static struct site {
	const char *file;
	int line;
	long bytes;
	void *p;
} blocks[4096];
static size_t nblocks;

struct hdr {
	size_t n;
	size_t slot; /* in blocks[], + 1; 0: not tracked */
};

static void *m_alloc(size_t n, const char *file, int line)
{
	struct hdr *h = malloc(sizeof(*h) + n);

	if (h == NULL)
		return NULL;
	h->n = n;
	h->slot = 0;
	live += (long)n;
	if (tracking && nblocks < sizeof(blocks) / sizeof(blocks[0])) {
		blocks[nblocks] = (struct site){file, line, (long)n, h + 1};
		h->slot = ++nblocks;
	}
	return h + 1;
}

static void m_free(void *p, const char *file, int line)
{
	struct hdr *h;

	(void)file;
	(void)line;
	if (p == NULL)
		return;
	h = (struct hdr *)p - 1;
	live -= (long)h->n;
	if (h->slot != 0)
		blocks[h->slot - 1].p = NULL;
	free(h);
}

static void *m_realloc(void *p, size_t n, const char *file, int line)
{
	void *q;

	if (p == NULL)
		return m_alloc(n, file, line);
	if ((q = m_alloc(n, file, line)) == NULL)
		return NULL;
	{
		struct hdr *h = (struct hdr *)p - 1;

		memcpy(q, p, h->n < n ? h->n : n);
	}
	m_free(p, file, line);
	return q;
}

/* Move what one side wrote to the other side's input. */
static void pump(BIO *from, BIO *to)
{
	char buf[16384];
	int n;

	while ((n = BIO_read(from, buf, sizeof(buf))) > 0)
		BIO_write(to, buf, n);
}

static int by_bytes(const void *a, const void *b)
{
	const struct site *x = a, *y = b;

	return (y->bytes > x->bytes) - (y->bytes < x->bytes);
}

int main(int argc, char **argv)
{
	int n = argc > 3 ? atoi(argv[3]) : 1000, tickets = argc > 4 ? atoi(argv[4]) : 1;
	SSL_CTX *sc, *cc;
	SSL **kept;
	long before = 0;
	char buf[64];

	if (argc < 3 || n < 2) {
		fprintf(stderr, "usage: %s FULLCHAIN.pem PRIVKEY.pem [CONNECTIONS [TICKETS]]\n",
			argv[0]);
		return 2;
	}
	if (CRYPTO_set_mem_functions(m_alloc, m_realloc, m_free) != 1)
		return 1;
	sc = SSL_CTX_new(TLS_server_method());
	cc = SSL_CTX_new(TLS_client_method());
	kept = calloc((size_t)n, sizeof(*kept));
	if (sc == NULL || cc == NULL || kept == NULL ||
	    SSL_CTX_use_certificate_chain_file(sc, argv[1]) != 1 ||
	    SSL_CTX_use_PrivateKey_file(sc, argv[2], SSL_FILETYPE_PEM) != 1) {
		ERR_print_errors_fp(stderr);
		return 1;
	}
	SSL_CTX_set_min_proto_version(sc, TLS1_3_VERSION);
	SSL_CTX_set_mode(sc, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(sc, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(sc, (size_t)tickets);
	SSL_CTX_set_verify(cc, SSL_VERIFY_NONE, NULL);
	for (int i = 0; i < n; i++) {
		SSL *s, *c;
		BIO *sr, *sw, *cr, *cw;
		int done = 0;

		tracking = i == n - 1;
		s = SSL_new(sc);
		c = SSL_new(cc);
		sr = BIO_new(BIO_s_mem());
		sw = BIO_new(BIO_s_mem());
		cr = BIO_new(BIO_s_mem());
		cw = BIO_new(BIO_s_mem());
		if (s == NULL || c == NULL || sr == NULL || sw == NULL || cr == NULL || cw == NULL)
			return 1;
		SSL_set_bio(s, sr, sw);
		SSL_set_bio(c, cr, cw);
		SSL_set_accept_state(s);
		SSL_set_connect_state(c);
		for (int k = 0; k < 10 && done != 2; k++) {
			done = SSL_do_handshake(c) == 1;
			pump(cw, sr);
			done += SSL_do_handshake(s) == 1;
			pump(sw, cr);
		}
		/* The client takes the tickets in (a read finding no data), then
		 * sends the start of a request. */
		if (done != 2) {
			fprintf(stderr, "connection %d: the handshake did not complete\n", i);
			ERR_print_errors_fp(stderr);
			return 1;
		}
		(void)SSL_read(c, buf, sizeof(buf));
		ERR_clear_error();
		if (SSL_write(c, "GET / ", 6) != 6) {
			fprintf(stderr, "connection %d: the client cannot write\n", i);
			ERR_print_errors_fp(stderr);
			return 1;
		}
		pump(cw, sr);
		if (SSL_read(s, buf, sizeof(buf)) != 6) {
			fprintf(stderr, "connection %d: no request after the handshake\n", i);
			ERR_print_errors_fp(stderr);
			return 1;
		}
		SSL_free(c);
		SSL_set_bio(s, NULL, NULL);
		kept[i] = s;
		if (i == 0)
			before = live;
	}
	tracking = 0;
	printf("OpenSSL keeps %.0f bytes per idle TLS 1.3 connection (%d connections, %d ticket(s))\n",
	       (double)(live - before) / (n - 1), n, tickets);
	/* Where, for the last connection: one line per allocation site. */
	{
		struct site sites[SITES];
		size_t ns = 0;

		for (size_t i = 0; i < nblocks; i++) {
			size_t k;

			if (blocks[i].p == NULL)
				continue;
			for (k = 0; k < ns; k++)
				if (sites[k].line == blocks[i].line &&
				    strcmp(sites[k].file, blocks[i].file) == 0)
					break;
			if (k == ns) {
				if (ns == SITES)
					continue;
				sites[ns++] = (struct site){blocks[i].file, blocks[i].line, 0, NULL};
			}
			sites[k].bytes += blocks[i].bytes;
		}
		qsort(sites, ns, sizeof(sites[0]), by_bytes);
		for (size_t k = 0; k < ns; k++)
			printf("  %6ld  %s:%d\n", sites[k].bytes, sites[k].file, sites[k].line);
	}
	for (int i = 0; i < n; i++)
		SSL_free(kept[i]);
	free(kept);
	SSL_CTX_free(sc);
	SSL_CTX_free(cc);
	return 0;
}
