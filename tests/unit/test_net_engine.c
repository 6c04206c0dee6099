/* Unit tests for the net engine's layers above the socket: the HTTP/1.1
 * server protocol (net/h1_server.h) with streamed request bodies and framed
 * responses, through the application interface (net/http_app.h), on a real
 * net_server on 127.0.0.1 talked to with plain blocking sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/http_app.h"
#include "net/net.h"

#define BIG (10u * 1024 * 1024) /* a 10 MB upload */

/* ---- the application under test ---------------------------------------------------- */

/* What it does with a request, by path:
 *   /count    takes the body as it comes, answers its length and a checksum
 *   /stream   answers a body of unknown length (3 pieces)
 *   /early    answers 200 at once, without reading the body
 *   /info     a 103 first, then 204 */
struct xs {
	struct net_hx *x;
	char path[32];
	uint64_t bytes;
	uint64_t sum;
	size_t calls;
	size_t max_call;
};

static size_t peak_call; /* the largest piece any body call got */

static void reply_text(struct net_hx *x, int status, const char *text, enum net_body body)
{
	static const struct net_hfield f[] = {{"Content-Type", 12, "text/plain", 10}};

	assert_int_equal(net_hx_head(x, status, NULL, 0, f, 1, body, strlen(text), 0), 0);
	net_hx_body(x, text, strlen(text));
	net_hx_end(x);
}

static void app_request(void *arg, struct net_hx *x, const struct net_request *r)
{
	struct xs *s = calloc(1, sizeof(*s));
	size_t tl = r->m->target_len;

	(void)arg;
	assert_non_null(s);
	s->x = x;
	net_hx_set_arg(x, s);
	if (tl >= sizeof(s->path))
		tl = sizeof(s->path) - 1;
	memcpy(s->path, r->buf + r->m->target, tl);
	if (strcmp(s->path, "/count") == 0) {
		net_hx_resume(x);
		if (net_hx_body_complete(x))
			reply_text(x, 200, "0 0\n", NET_BODY_LENGTH);
	} else if (strcmp(s->path, "/stream") == 0) {
		assert_int_equal(net_hx_head(x, 200, NULL, 0, NULL, 0, NET_BODY_STREAM, 0, 0), 0);
		net_hx_body(x, "one,", 4);
		net_hx_body(x, "two,", 4);
		net_hx_body(x, "three", 5);
		net_hx_end(x);
	} else if (strcmp(s->path, "/early") == 0) {
		reply_text(x, 200, "early\n", NET_BODY_LENGTH);
	} else if (strcmp(s->path, "/info") == 0) {
		static const struct net_hfield link[] = {{"Link", 4, "</a>", 4}};

		assert_int_equal(net_hx_head(x, 103, NULL, 0, link, 1, NET_BODY_NONE, 0, 0), 0);
		assert_int_equal(net_hx_resp_state(x), NET_HX_NONE);
		assert_int_equal(net_hx_head(x, 204, NULL, 0, NULL, 0, NET_BODY_NONE, 0, 0), 0);
		net_hx_end(x);
	} else {
		reply_text(x, 404, "no\n", NET_BODY_LENGTH);
	}
}

static size_t app_body(void *arg, const char *p, size_t n)
{
	struct xs *s = arg;

	for (size_t i = 0; i < n; i++)
		s->sum = s->sum * 31 + (unsigned char)p[i];
	s->bytes += n;
	s->calls++;
	if (n > peak_call)
		peak_call = n;
	return n;
}

static void app_body_end(void *arg)
{
	struct xs *s = arg;
	char text[64];

	snprintf(text, sizeof(text), "%llu %llu\n", (unsigned long long)s->bytes,
		 (unsigned long long)s->sum);
	reply_text(s->x, 200, text, NET_BODY_LENGTH);
}

static void app_done(void *arg)
{
	free(arg);
}

static const struct net_app_ops app = {
	.request = app_request,
	.body = app_body,
	.body_end = app_body_end,
	.done = app_done,
};

/* ---- a client ---------------------------------------------------------------------- */

static int dial(uint16_t port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t k = send(fd, c, n, MSG_NOSIGNAL);

		assert_true(k > 0);
		c += k;
		n -= (size_t)k;
	}
}

static void send_str(int fd, const char *s)
{
	send_all(fd, s, strlen(s));
}

/* Read until the peer closes, or until want bytes have come (0: until the
 * close), at most 10 s. */
static size_t recv_some(int fd, char *buf, size_t cap, size_t want)
{
	size_t got = 0;

	while (got < cap - 1 && (want == 0 || got < want)) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t k;

		if (poll(&p, 1, 10000) <= 0)
			break;
		k = recv(fd, buf + got, cap - 1 - got, 0);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	buf[got] = '\0';
	return got;
}

/* Read until buf holds needle (or the peer closes, or 10 s pass). */
static void recv_until(int fd, char *buf, size_t cap, const char *needle)
{
	size_t have = 0;

	buf[0] = '\0';
	while (strstr(buf, needle) == NULL && have < cap - 1) {
		size_t k = recv_some(fd, buf + have, cap - have, 1);

		if (k == 0)
			break;
		have += k;
	}
}

/* n bytes of the test pattern, from offset off of it. */
static void pattern(char *p, size_t n, size_t off)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (char)('a' + (off + i) % 26);
}

/* The checksum app_body computes over n bytes of the pattern. */
static unsigned long long pattern_sum(size_t n)
{
	unsigned long long s = 0;

	for (size_t i = 0; i < n; i++)
		s = s * 31 + (unsigned char)('a' + i % 26);
	return s;
}

struct fixture {
	struct net_server *srv;
	uint16_t port;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct moat_err err;

	moat_err_clear(&err);
	assert_non_null(f);
	f->srv = net_server_new(&err);
	assert_non_null(f->srv);
	assert_int_equal(net_server_listen_app(f->srv, "127.0.0.1", 0, NULL, &app, NULL, &err), 0);
	f->port = net_server_port(f->srv);
	assert_int_equal(net_server_start(f->srv, &err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	net_server_free(f->srv);
	free(f);
	return 0;
}

/* ---- the tests ---------------------------------------------------------------------- */

/* A 10 MB POST with Content-Length is streamed to the application (never
 * held whole: no call gets more than the input buffer), then one with
 * chunked framing on the same connection. */
static void test_big_upload(void **state)
{
	struct fixture *f = *state;
	char head[256], want[64], resp[4096];
	char *chunk = malloc(65536);
	int fd = dial(f->port);
	size_t sent;

	assert_non_null(chunk);
	snprintf(want, sizeof(want), "%u %llu\n", BIG, pattern_sum(BIG));
	snprintf(head, sizeof(head),
		 "POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: %u\r\n\r\n", BIG);
	send_all(fd, head, strlen(head));
	for (sent = 0; sent < BIG; sent += 65536) {
		pattern(chunk, 65536, sent);
		send_all(fd, chunk, 65536);
	}
	recv_until(fd, resp, sizeof(resp), want);
	assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(resp, want));
	assert_true(peak_call <= 128 * 1024);

	/* chunked, in chunks of 65536 bytes and a last odd one */
	snprintf(head, sizeof(head),
		 "POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
	send_all(fd, head, strlen(head));
	for (sent = 0; sent < BIG; sent += 65536) {
		char size[32];

		snprintf(size, sizeof(size), "%x\r\n", 65536);
		send_all(fd, size, strlen(size));
		pattern(chunk, 65536, sent);
		send_all(fd, chunk, 65536);
		send_str(fd, "\r\n");
	}
	send_str(fd, "0\r\n\r\n");
	recv_until(fd, resp, sizeof(resp), want);
	assert_non_null(strstr(resp, want));
	close(fd);
	free(chunk);
}

/* Responses framed by the protocol: chunked to HTTP/1.1, until close to
 * HTTP/1.0, nothing after HEAD; a 103 before the final 204. */
static void test_framing(void **state)
{
	struct fixture *f = *state;
	char resp[4096];
	int fd = dial(f->port);

	send_str(fd, "GET /stream HTTP/1.1\r\nHost: t\r\n\r\n");
	recv_until(fd, resp, sizeof(resp), "0\r\n\r\n");
	assert_non_null(strstr(resp, "Transfer-Encoding: chunked\r\n"));
	assert_non_null(strstr(resp, "\r\n\r\n4\r\none,\r\n4\r\ntwo,\r\n5\r\nthree\r\n0\r\n\r\n"));
	assert_null(strstr(resp, "Connection: close"));
	close(fd);

	fd = dial(f->port);
	send_str(fd, "GET /stream HTTP/1.0\r\n\r\n");
	recv_some(fd, resp, sizeof(resp), 0);
	assert_null(strstr(resp, "Transfer-Encoding"));
	assert_non_null(strstr(resp, "Connection: close\r\n"));
	assert_non_null(strstr(resp, "\r\n\r\none,two,three"));
	close(fd);

	fd = dial(f->port);
	send_str(fd, "HEAD /early HTTP/1.1\r\nHost: t\r\n\r\n"
		     "GET /info HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
	recv_some(fd, resp, sizeof(resp), 0);
	close(fd);
	fd = -1;
	assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(resp, "Content-Length: 6\r\n"));
	assert_null(strstr(resp, "early\n"));
	assert_non_null(strstr(resp, "HTTP/1.1 103 "));
	assert_non_null(strstr(resp, "Link: </a>\r\n"));
	assert_non_null(strstr(resp, "HTTP/1.1 204 "));
}

/* An answer given before the body is read: a small body is read and
 * dropped (the next request on the connection is answered, the body never
 * parsed as one); a large one closes the connection. */
static void test_unread_body(void **state)
{
	struct fixture *f = *state;
	static const char smuggle[] = "GET /count HTTP/1.1\r\nHost: t\r\n\r\n";
	char req[512], resp[4096];
	int fd = dial(f->port);

	snprintf(req, sizeof(req),
		 "POST /early HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n%sGET /nothing "
		 "HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
		 sizeof(smuggle) - 1, smuggle);
	send_all(fd, req, strlen(req));
	recv_some(fd, resp, sizeof(resp), 0);
	close(fd);
	assert_non_null(strstr(resp, "early\n"));
	assert_non_null(strstr(resp, "HTTP/1.1 404 "));
	assert_null(strstr(resp, "0 0\n")); /* the body was not a request */

	fd = dial(f->port);
	send_str(fd, "POST /early HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n");
	recv_some(fd, resp, sizeof(resp), 0);
	close(fd);
	assert_non_null(strstr(resp, "early\n"));
	assert_non_null(strstr(resp, "Connection: close\r\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_big_upload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_framing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unread_body, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
