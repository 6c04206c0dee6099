/* Unit tests for src/net: the request-head parser, the response head, and
 * a real server on 127.0.0.1 talked to with plain sockets (and with curl
 * when it is installed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/http.h"
#include "net/net.h"

#include "unit_skip.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the words of HTTP ----------------------------------------------------------- */

static void test_reply_words(void **state)
{
	char date[32];

	(void)state;
	net_http_date(date, sizeof(date), 784111777);
	assert_string_equal(date, "Sun, 06 Nov 1994 08:49:37 GMT");
	net_http_date(date, sizeof(date), 0);
	assert_string_equal(date, "Thu, 01 Jan 1970 00:00:00 GMT");
	assert_string_equal(net_http_reason(431), "Request Header Fields Too Large");
	assert_string_equal(net_http_reason(204), "No Content");
	assert_string_equal(net_http_reason(499), "Client Error");
}

/* The words src/serve writes from net/http.h: every status it answers
 * itself has its phrase, and the per-second Date is the current time. */
static void test_http_words(void **state)
{
	static const struct {
		int status;
		const char *reason;
	} serve[] = {{200, "OK"},
		     {308, "Permanent Redirect"},
		     {400, "Bad Request"},
		     {404, "Not Found"},
		     {405, "Method Not Allowed"},
		     {408, "Request Timeout"},
		     {413, "Content Too Large"},
		     {414, "URI Too Long"},
		     {421, "Misdirected Request"},
		     {431, "Request Header Fields Too Large"},
		     {501, "Not Implemented"},
		     {502, "Bad Gateway"},
		     {503, "Service Unavailable"},
		     {504, "Gateway Timeout"},
		     {505, "HTTP Version Not Supported"}};
	char want[NET_HTTP_DATE_MAX];
	const char *now = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(serve) / sizeof(serve[0]); i++)
		assert_string_equal(net_http_reason(serve[i].status), serve[i].reason);
	assert_string_equal(net_http_reason(199), "Informational");
	assert_string_equal(net_http_reason(299), "Success");
	assert_string_equal(net_http_reason(399), "Redirection");
	assert_string_equal(net_http_reason(599), "Server Error");
	/* the longest date fits NET_HTTP_DATE_MAX */
	net_http_date(want, sizeof(want), 253402300799); /* 9999-12-31T23:59:59Z */
	assert_string_equal(want, "Fri, 31 Dec 9999 23:59:59 GMT");
	/* a second may tick between the two: try again then */
	for (int i = 0; i < 3; i++) {
		time_t t = time(NULL);

		now = net_http_date_now();
		net_http_date(want, sizeof(want), t);
		if (time(NULL) == t)
			break;
	}
	assert_string_equal(now, want);
	assert_ptr_equal(net_http_date_now(), now); /* the same buffer, no copy */
}

/* ---- a real server ------------------------------------------------------------- */

#define KEYAUTH "tok.thumbprint"
#define BIG 16384

static char big[BIG];

struct ctx {
	struct net_server *s;
	char last_peer[64];
	char last_host[64];
	int calls;
};

static void handler(void *arg, const struct net_http_request *req, struct net_http_reply *reply)
{
	struct ctx *x = arg;

	x->calls++;
	snprintf(x->last_peer, sizeof(x->last_peer), "%s", req->peer);
	snprintf(x->last_host, sizeof(x->last_host), "%s", req->host);
	if (strcmp(req->target, "/.well-known/acme-challenge/tok") == 0) {
		reply->status = 200;
		reply->content_type = "application/octet-stream";
		reply->body = KEYAUTH;
		reply->len = strlen(KEYAUTH);
	} else if (strcmp(req->target, "/dyn") == 0) {
		char *b = malloc(32);

		if (b == NULL)
			return;
		reply->len = (size_t)snprintf(b, 32, "%s %d", req->method, req->version_minor);
		reply->status = 200;
		reply->body = b;
		reply->free_body = true;
	} else if (strcmp(req->target, "/empty-type") == 0) {
		reply->status = 200;
		reply->content_type = "";
	} else if (strcmp(req->target, "/status-99") == 0) {
		reply->status = 99;
	} else if (strcmp(req->target, "/no-content") == 0) {
		reply->status = 204;
		reply->content_type = "x/y";
		reply->body = "ignored";
		reply->len = 7;
	} else if (strcmp(req->target, "/badtype") == 0) {
		reply->status = 200;
		reply->content_type = "text/plain\r\nX-Evil: 1";
		reply->body = "x";
		reply->len = 1;
	} else if (strcmp(req->target, "/big") == 0) {
		for (size_t i = 0; i < BIG; i++)
			big[i] = (char)('a' + i % 26);
		reply->status = 200;
		reply->body = big;
		reply->len = BIG;
	} else if (strcmp(req->target, "/stop") == 0) {
		reply->status = 200;
		reply->body = "bye";
		reply->len = 3;
		net_server_stop(x->s);
	}
	/* else: the engine's 404 */
}

static int connect_to(int family, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	struct timeval tv = {5, 0};
	int fd;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		a->sin6_addr = in6addr_loopback;
		sl = sizeof(*a);
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&ss, sl) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void send_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);

		assert_true(w > 0);
		s += w;
		n -= (size_t)w;
	}
}

#define SEND(fd, s) send_all(fd, s, strlen(s))

struct client {
	int fd;
	size_t len;
	char buf[65536];
};

struct response {
	int status;
	char head[4096];
	char body[BIG + 1];
	size_t body_len;
};

/* Read one response; head_only for the answer to HEAD.  0, or -1 at EOF. */
static int read_response(struct client *c, bool head_only, struct response *r)
{
	char *end;
	const char *cl;
	size_t hl, bl = 0;

	memset(r, 0, sizeof(*r));
	while ((end = memmem(c->buf, c->len, "\r\n\r\n", 4)) == NULL) {
		ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);

		if (n <= 0)
			return -1;
		c->len += (size_t)n;
	}
	hl = (size_t)(end - c->buf) + 4;
	assert_true(hl < sizeof(r->head));
	memcpy(r->head, c->buf, hl);
	assert_int_equal(sscanf(r->head, "HTTP/1.1 %d ", &r->status), 1);
	cl = strstr(r->head, "\r\nContent-Length: ");
	if (cl != NULL && !head_only)
		bl = strtoul(cl + 18, NULL, 10);
	assert_true(hl + bl <= sizeof(c->buf));
	assert_true(bl < sizeof(r->body));
	while (c->len < hl + bl) {
		ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);

		if (n <= 0)
			return -1;
		c->len += (size_t)n;
	}
	memcpy(r->body, c->buf + hl, bl);
	r->body_len = bl;
	c->len -= hl + bl;
	memmove(c->buf, c->buf + hl + bl, c->len);
	return 0;
}

static bool has_header(const struct response *r, const char *line)
{
	char want[256];

	snprintf(want, sizeof(want), "\r\n%s\r\n", line);
	return strstr(r->head, want) != NULL;
}

/* The peer has closed: recv gives EOF (not a timeout). */
static void assert_closed(struct client *c)
{
	char b[256];
	ssize_t n;

	assert_int_equal(c->len, 0);
	do
		n = recv(c->fd, b, sizeof(b), 0);
	while (n > 0);
	assert_int_equal(n, 0);
}

struct fixture {
	struct ctx ctx;
	uint16_t port;
	struct client c;
};

static int server_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct moat_err err;

	if (f == NULL)
		return -1;
	moat_err_clear(&err);
	f->ctx.s = net_server_new(&err);
	if (f->ctx.s == NULL ||
	    net_server_listen_http(f->ctx.s, "127.0.0.1", 0, handler, &f->ctx, &err) != 0 ||
	    net_server_start(f->ctx.s, &err) != 0) {
		fprintf(stderr, "server: %s\n", err.msg);
		net_server_free(f->ctx.s);
		free(f);
		return -1;
	}
	f->port = net_server_port(f->ctx.s);
	f->c.fd = -1;
	*state = f;
	return 0;
}

static int server_teardown(void **state)
{
	struct fixture *f = *state;

	if (f->c.fd >= 0)
		close(f->c.fd);
	net_server_free(f->ctx.s);
	free(f);
	return 0;
}

static void client_open(struct fixture *f)
{
	if (f->c.fd >= 0)
		close(f->c.fd);
	f->c.len = 0;
	f->c.fd = connect_to(AF_INET, f->port);
	assert_true(f->c.fd >= 0);
}

static void test_server_keepalive(void **state)
{
	struct fixture *f = *state;
	struct response r;

	assert_true(f->port != 0);
	client_open(f);
	SEND(f->c.fd, "GET /.well-known/acme-challenge/tok HTTP/1.1\r\nHost: example.org\r\n\r\n");
	assert_int_equal(read_response(&f->c, false, &r), 0);
	assert_int_equal(r.status, 200);
	assert_true(strncmp(r.head, "HTTP/1.1 200 OK\r\n", 17) == 0);
	assert_true(has_header(&r, "Server: moat"));
	assert_true(has_header(&r, "Content-Type: application/octet-stream"));
	assert_true(has_header(&r, "Content-Length: 14"));
	/* (HTTP/1.1 keeps the connection unless a response says close) */
	assert_false(has_header(&r, "Connection: close"));
	assert_non_null(strstr(r.head, "\r\nDate: "));
	assert_non_null(strstr(r.head, " GMT\r\n"));
	assert_int_equal(r.body_len, strlen(KEYAUTH));
	assert_memory_equal(r.body, KEYAUTH, strlen(KEYAUTH));
	assert_string_equal(f->ctx.last_peer, "127.0.0.1");
	assert_string_equal(f->ctx.last_host, "example.org");

	/* Same connection: HEAD (no body), then the default 404, then close. */
	SEND(f->c.fd, "HEAD /.well-known/acme-challenge/tok HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(read_response(&f->c, true, &r), 0);
	assert_int_equal(r.status, 200);
	assert_true(has_header(&r, "Content-Length: 14"));
	SEND(f->c.fd, "GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	assert_int_equal(read_response(&f->c, false, &r), 0);
	assert_int_equal(r.status, 404);
	assert_true(strncmp(r.head, "HTTP/1.1 404 Not Found\r\n", 24) == 0);
	assert_true(has_header(&r, "Connection: close"));
	assert_true(has_header(&r, "Content-Type: text/plain; charset=utf-8"));
	assert_int_equal(r.body_len, strlen("404 Not Found\n"));
	assert_memory_equal(r.body, "404 Not Found\n", r.body_len);
	assert_closed(&f->c);
	assert_int_equal(f->ctx.calls, 3);
}

static void test_server_pipelined(void **state)
{
	struct fixture *f = *state;
	struct response r;
	const char *targets[] = {"/dyn", "/.well-known/acme-challenge/tok", "/x", "/dyn"};

	client_open(f);
	/* Four requests in one write, and a split fifth. */
	SEND(f->c.fd, "GET /dyn HTTP/1.1\r\nHost: x\r\n\r\n"
		      "GET /.well-known/acme-challenge/tok HTTP/1.1\r\nHost: x\r\n\r\n"
		      "HEAD /x HTTP/1.1\r\nHost: x\r\n\r\n"
		      "HEAD /dyn HTTP/1.1\r\nHost: x\r\n\r\nGET /d");
	for (size_t i = 0; i < N(targets); i++) {
		bool head = i >= 2;

		assert_int_equal(read_response(&f->c, head, &r), 0);
		if (i == 0)
			assert_memory_equal(r.body, "GET 1", r.body_len);
		if (i == 1)
			assert_memory_equal(r.body, KEYAUTH, r.body_len);
		if (i == 2)
			assert_int_equal(r.status, 404);
		if (i == 3)
			assert_true(has_header(&r, "Content-Length: 6")); /* "HEAD 1" */
	}
	usleep(50 * 1000);
	SEND(f->c.fd, "yn HTTP/1.0\r\n\r\n");
	assert_int_equal(read_response(&f->c, false, &r), 0);
	assert_int_equal(r.body_len, 5);
	assert_memory_equal(r.body, "GET 0", 5);
	assert_true(has_header(&r, "Connection: close"));
	assert_closed(&f->c);
}

static void test_server_errors(void **state)
{
	static const struct {
		const char *req;
		int status;
	} cases[] = {
		{"GET / HTTP/2.0\r\n\r\n", 505},
		{"GET / HTTP/1.1\nHost: x\n\n", 400},
		{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 413},
		{"GET /badtype HTTP/1.1\r\nHost: x\r\n\r\n", 500},
		{"GET /empty-type HTTP/1.1\r\nHost: x\r\n\r\n", 500},
		{"GET /status-99 HTTP/1.1\r\nHost: x\r\n\r\n", 500},
		{"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 400},
	};
	struct fixture *f = *state;
	struct response r;

	for (size_t i = 0; i < N(cases); i++) {
		client_open(f);
		send_all(f->c.fd, cases[i].req, strlen(cases[i].req));
		assert_int_equal(read_response(&f->c, false, &r), 0);
		if (r.status != cases[i].status)
			fail_msg("case %zu: got %d, want %d", i, r.status, cases[i].status);
		if (cases[i].status == 500) { /* the handler's problem: keep-alive */
			assert_false(has_header(&r, "Connection: close"));
			assert_null(strstr(r.head, "X-Evil"));
			continue;
		}
		assert_true(has_header(&r, "Connection: close"));
		assert_closed(&f->c);
	}

	/* 204: no content, so no Content-Type, no Content-Length, no body. */
	client_open(f);
	SEND(f->c.fd, "GET /no-content HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	assert_int_equal(read_response(&f->c, false, &r), 0);
	assert_int_equal(r.status, 204);
	assert_true(strncmp(r.head, "HTTP/1.1 204 No Content\r\n", 25) == 0);
	assert_null(strstr(r.head, "Content-Type"));
	assert_null(strstr(r.head, "Content-Length"));
	assert_true(has_header(&r, "Server: moat"));
	assert_true(has_header(&r, "Connection: close"));
	assert_closed(&f->c);

	/* A head over the limit, sent in pieces: 431, then closed. */
	client_open(f);
	SEND(f->c.fd, "GET / HTTP/1.1\r\nHost: x\r\n");
	for (int i = 0; i < 100; i++) {
		char line[128];

		snprintf(line, sizeof(line), "X-Filler-%03d: %0100d\r\n", i, 0);
		if (send(f->c.fd, line, strlen(line), MSG_NOSIGNAL) <= 0)
			break;
	}
	assert_int_equal(read_response(&f->c, false, &r), 0);
	assert_int_equal(r.status, 431);
	assert_true(has_header(&r, "Connection: close"));
}

/* Request heads the server must refuse, sent whole on a connection each
 * (the request parser is net/h1.c, tested on its own in test_net_h1.c;
 * these were the small servers' own parser's cases): the status, and the
 * close.  HTTP/1.1 needs Host here as in moat serve (RFC 9112 3.2). */
static void test_server_heads(void **state)
{
	static const char *const bad[] = {
		"GET  / HTTP/1.1\r\n\r\n",
		"GET /  HTTP/1.1\r\n\r\n",
		" GET / HTTP/1.1\r\n\r\n",
		"GET /\r\n\r\n",
		"GET\r\n\r\n",
		"GET / HTTP/1.1 x\r\n\r\n",
		"GET / http/1.1\r\n\r\n",
		"GET / HTTP/1.10\r\n\r\n",
		"GET / HTTP/1\r\n\r\n",
		"G(T / HTTP/1.1\r\n\r\n",
		"GET /a\x7f HTTP/1.1\r\n\r\n",
		"GET /\xc3\xa9 HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
		"GET / HTTP/1.1\r\n: x\r\n\r\n",
		"GET / HTTP/1.1\r\nNoColon\r\n\r\n",
		"GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
		/* not an authority (the same check as the proxy's parser) */
		"GET / HTTP/1.1\r\nHost: localhost:80:90\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: ]\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: %\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: u@h\r\n\r\n",
		"GET / HTTP/1.1\r\nX: a\x01z\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: 0, 0\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length:\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n",
		"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n",
		/* LF-only and stray CR line endings */
		"GET / HTTP/1.1\nHost: x\n\n",
		"GET / HTTP/1.1\r\nHost: x\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n\n",
		"GET / HTTP/1.1\rHost: x\r\n\r\n",
		"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
	};
	static const struct {
		const char *req;
		size_t len;
		int status;
	} more[] = {
#define C(s, st) {s, sizeof(s) - 1, st}
		C("GET / HTTP/1.1\r\n\r\n", 400), /* no Host */
		C("GET / HTTP/1.1\n", 400),
		C("GET / HTTP/1.1\rX", 400),
		C("GET /\0 HTTP/1.1\r\n\r\n", 400),
		C("GET / HTTP/1.1\r\nX: \0", 400),
		C("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400),
		C("ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJ", 400),
		C("GET / HTTP/2.0\r\n\r\n", 505),
		C("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
		C("GET / HTTP/0.9\r\n\r\n", 505),
		C("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 413),
		C("POST / HTTP/1.0\r\nContent-Length: 1\r\n\r\n", 413),
		C("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999999\r\n\r\n",
		  400),
#undef C
	};
	struct fixture *f = *state;
	struct response r;

	for (size_t i = 0; i < N(bad) + N(more); i++) {
		const char *req = i < N(bad) ? bad[i] : more[i - N(bad)].req;
		size_t len = i < N(bad) ? strlen(req) : more[i - N(bad)].len;
		int want = i < N(bad) ? 400 : more[i - N(bad)].status;

		client_open(f);
		send_all(f->c.fd, req, len);
		assert_int_equal(read_response(&f->c, false, &r), 0);
		if (r.status != want)
			fail_msg("case %zu: got %d, want %d", i, r.status, want);
		assert_true(has_header(&r, "Connection: close"));
		assert_closed(&f->c);
	}
	assert_int_equal(f->ctx.calls, 0);
}

/* A client that sends many requests and reads nothing for a while: the
 * server stops reading while too many reply bytes wait, and resumes. */
static void test_server_backpressure(void **state)
{
	enum { REQS = 1000 };
	struct fixture *f = *state;
	struct response *r = malloc(sizeof(*r));
	char *reqs = malloc(REQS * 32), *p;

	assert_non_null(r);
	assert_non_null(reqs);
	p = reqs;
	for (int i = 0; i < REQS; i++)
		p += sprintf(p, "GET /big HTTP/1.1\r\nHost: x\r\n%s\r\n", i == REQS - 1 ? "Connection: close\r\n" : "");
	client_open(f);
	send_all(f->c.fd, reqs, (size_t)(p - reqs));
	usleep(300 * 1000);
	for (int i = 0; i < REQS; i++) {
		assert_int_equal(read_response(&f->c, false, r), 0);
		assert_int_equal(r->status, 200);
		assert_int_equal(r->body_len, BIG);
		assert_memory_equal(r->body, big, BIG);
	}
	assert_true(has_header(r, "Connection: close"));
	assert_closed(&f->c);
	free(reqs);
	free(r);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Beyond NET_HTTP_MAX_CONNS connections: accepted and closed at once. */
static void test_server_limit(void **state)
{
	struct fixture *f = *state;
	struct rlimit rl;
	struct response *r = malloc(sizeof(*r));
	int *fds = calloc(NET_HTTP_MAX_CONNS, sizeof(int));
	static const char req[] = "GET /dyn HTTP/1.1\r\nHost: x\r\n\r\n";
	int extra, got;
	double t0;
	char b[16];

	assert_non_null(r);
	assert_non_null(fds);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < 2 * NET_HTTP_MAX_CONNS + 64 && rl.rlim_max >= 2 * NET_HTTP_MAX_CONNS + 64) {
		rl.rlim_cur = 2 * NET_HTTP_MAX_CONNS + 64;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	if (rl.rlim_cur < 2 * NET_HTTP_MAX_CONNS + 64) {
		free(fds);
		free(r);
		UNIT_SKIP("RLIMIT_NOFILE is too low for NET_HTTP_MAX_CONNS connections");
	}
	for (int i = 0; i < NET_HTTP_MAX_CONNS; i++) {
		fds[i] = connect_to(AF_INET, f->port);
		assert_true(fds[i] >= 0);
		SEND(fds[i], "GET /dyn HTTP/1.1\r\nHost: x\r\n\r\n");
	}
	for (int i = 0; i < NET_HTTP_MAX_CONNS; i++) {
		f->c.fd = fds[i];
		f->c.len = 0;
		assert_int_equal(read_response(&f->c, false, r), 0);
		assert_int_equal(r->status, 200);
	}
	f->c.fd = -1;
	extra = connect_to(AF_INET, f->port);
	assert_true(extra >= 0);
	assert_int_equal(recv(extra, b, sizeof(b), 0), 0);
	close(extra);
	/* One closes: there is room again, once the server has seen the close.
	 * Until then a new connection is still closed at once: try again (a
	 * bounded poll, not a guess at how long that takes; well within the
	 * idle timeout, which would make room too). */
	close(fds[0]);
	t0 = now_ms();
	do {
		if (f->c.fd >= 0) {
			close(f->c.fd);
			usleep(10 * 1000); /* poll interval */
		}
		f->c.fd = connect_to(AF_INET, f->port);
		f->c.len = 0;
		assert_true(f->c.fd >= 0);
		got = -1;
		if (send(f->c.fd, req, sizeof(req) - 1, MSG_NOSIGNAL) == (ssize_t)sizeof(req) - 1)
			got = read_response(&f->c, false, r);
	} while (got != 0 && now_ms() - t0 < NET_IDLE_TIMEOUT_MS / 2);
	if (got != 0)
		fail_msg("no room for a new connection %d ms after one of %d closed",
			 NET_IDLE_TIMEOUT_MS / 2, NET_HTTP_MAX_CONNS);
	assert_int_equal(r->status, 200);
	/* ... made by that close: the others are all still open (the idle
	 * timeout did not let them go in the meantime). */
	for (int i = 1; i < NET_HTTP_MAX_CONNS; i++) {
		ssize_t n = recv(fds[i], b, sizeof(b), MSG_DONTWAIT | MSG_PEEK);

		if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			fail_msg("connection %d of %d was closed by the server", i, NET_HTTP_MAX_CONNS);
	}
	for (int i = 1; i < NET_HTTP_MAX_CONNS; i++)
		close(fds[i]);
	free(fds);
	free(r);
}

/* An idle connection, and one sending its head a byte at a time, are both
 * closed after NET_IDLE_TIMEOUT_MS. */
static void test_server_idle(void **state)
{
	static const char slow_head[] = "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ";
	struct fixture *f = *state;
	int fd[2];
	double t0 = now_ms(), closed[2] = {0, 0};
	size_t sent = 0;

	fd[0] = connect_to(AF_INET, f->port);
	fd[1] = connect_to(AF_INET, f->port);
	assert_true(fd[0] >= 0 && fd[1] >= 0);
	while ((closed[0] == 0 || closed[1] == 0) && now_ms() - t0 < NET_IDLE_TIMEOUT_MS + 5000) {
		struct pollfd pf[2] = {{fd[0], POLLIN, 0}, {fd[1], POLLIN, 0}};

		if (closed[1] == 0) {
			char ch = sent < sizeof(slow_head) - 1 ? slow_head[sent] : 'a';

			if (send(fd[1], &ch, 1, MSG_NOSIGNAL) == 1)
				sent++;
		}
		(void)poll(pf, 2, 250);
		for (int i = 0; i < 2; i++) {
			char b[64];

			if (closed[i] == 0 && (pf[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0 &&
			    recv(fd[i], b, sizeof(b), MSG_DONTWAIT) <= 0)
				closed[i] = now_ms() - t0;
		}
	}
	close(fd[0]);
	close(fd[1]);
	for (int i = 0; i < 2; i++) {
		if (closed[i] < NET_IDLE_TIMEOUT_MS - 500 || closed[i] > NET_IDLE_TIMEOUT_MS + 3000)
			fail_msg("connection %d closed after %.0f ms", i, closed[i]);
	}
	assert_true(sent > 20);
}

/* net_server_run on this thread, a client thread that asks the handler to
 * stop the server. */
static void *stop_client(void *arg)
{
	uint16_t port = *(uint16_t *)arg;
	struct client *c = calloc(1, sizeof(*c));
	struct response r;
	intptr_t ok = 0;

	if (c == NULL)
		return NULL;
	c->fd = connect_to(AF_INET, port);
	if (c->fd >= 0) {
		SEND(c->fd, "GET /stop HTTP/1.1\r\nHost: x\r\n\r\n");
		ok = read_response(c, false, &r) == 0 && r.status == 200;
		close(c->fd);
	}
	free(c);
	return (void *)ok;
}

static void test_server_run(void **state)
{
	struct ctx x = {0};
	struct moat_err err;
	pthread_t t;
	void *ok;
	uint16_t port;

	(void)state;
	moat_err_clear(&err);
	x.s = net_server_new(&err);
	assert_non_null(x.s);
	assert_int_equal(net_server_listen_http(x.s, "127.0.0.1", 0, handler, &x, &err), 0);
	port = net_server_port(x.s);
	assert_int_equal(pthread_create(&t, NULL, stop_client, &port), 0);
	assert_int_equal(net_server_run(x.s, &err), 0);
	assert_int_equal(pthread_join(t, &ok), 0);
	assert_true(ok != NULL);
	/* It ran once; it does not run again, nor listen. */
	assert_int_equal(net_server_run(x.s, &err), -1);
	assert_int_equal(net_server_listen_http(x.s, "127.0.0.1", 0, handler, &x, &err), -1);
	net_server_free(x.s);

	/* Stopped before it runs: run returns at once.  Freed unstarted. */
	x.s = net_server_new(&err);
	assert_non_null(x.s);
	assert_int_equal(net_server_listen_http(x.s, "127.0.0.1", 0, handler, &x, &err), 0);
	net_server_stop(x.s);
	net_server_stop(x.s);
	assert_int_equal(net_server_run(x.s, &err), 0);
	net_server_free(x.s);
	x.s = net_server_new(&err);
	assert_non_null(x.s);
	assert_int_equal(net_server_listen_http(x.s, "127.0.0.1", 0, handler, &x, &err), 0);
	net_server_free(x.s);
	net_server_free(NULL);
}

static void test_server_listen_errors(void **state)
{
	struct fixture *f = *state;
	struct net_server *s;
	struct moat_err err;
	char want[128];

	moat_err_clear(&err);
	s = net_server_new(&err);
	assert_non_null(s);
	assert_int_equal(net_server_listen_http(s, "127.0.0.1", f->port, handler, NULL, &err), -1);
	snprintf(want, sizeof(want), "port %u on 127.0.0.1 is already in use", f->port);
	assert_string_equal(err.msg, want);
	assert_non_null(strstr(err.hint, "--http-port"));
	assert_int_equal(net_server_listen_http(s, "localhost\n", 0, handler, NULL, &err), -1);
	assert_string_equal(err.msg, "invalid listen address \"localhost\\x0a\"");
	assert_int_equal(net_server_listen_http(s, "192.0.2.1", 0, handler, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "192.0.2.1"));
	net_server_free(s);
}

/* NULL address: IPv4 and, where the system has it, IPv6 on one port. */
static void test_server_dual_stack(void **state)
{
	struct ctx x = {0};
	struct moat_err err;
	struct client *c = calloc(1, sizeof(*c));
	struct response r;
	uint16_t port;

	(void)state;
	assert_non_null(c);
	moat_err_clear(&err);
	x.s = net_server_new(&err);
	assert_non_null(x.s);
	assert_int_equal(net_server_listen_http(x.s, NULL, 0, handler, &x, &err), 0);
	port = net_server_port(x.s);
	assert_true(port != 0);
	assert_int_equal(net_server_start(x.s, &err), 0);
	assert_int_equal(net_server_start(x.s, &err), -1);

	c->fd = connect_to(AF_INET, port);
	assert_true(c->fd >= 0);
	SEND(c->fd, "GET /dyn HTTP/1.0\r\n\r\n");
	assert_int_equal(read_response(c, false, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(x.last_peer, "127.0.0.1"); /* not ::ffff:127.0.0.1 */
	close(c->fd);

	c->len = 0;
	c->fd = connect_to(AF_INET6, port);
	if (c->fd >= 0) {
		SEND(c->fd, "GET /dyn HTTP/1.0\r\n\r\n");
		assert_int_equal(read_response(c, false, &r), 0);
		assert_int_equal(r.status, 200);
		assert_string_equal(x.last_peer, "::1");
		close(c->fd);
	} else {
		print_message("no IPv6 loopback: IPv4 only\n");
	}
	/* Free while a connection is still open on the server. */
	c->fd = connect_to(AF_INET, port);
	assert_true(c->fd >= 0);
	SEND(c->fd, "GET /dyn HTTP/1.1\r\nHost: x\r\n"); /* partial */
	usleep(20 * 1000);
	net_server_free(x.s);
	close(c->fd);
	free(c);
}

/* A fresh network namespace with its loopback up: there the low ports are
 * privileged again (net.ipv4.ip_unprivileged_port_start is per namespace and
 * starts at 1024), whatever the container set.  Needs root; 0 on success. */
static int fresh_netns(void)
{
	struct ifreq ifr;
	int fd, r;

	if (unshare(CLONE_NEWNET) != 0)
		return -1;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	r = ioctl(fd, SIOCGIFFLAGS, &ifr);
	if (r == 0) {
		ifr.ifr_flags |= IFF_UP;
		r = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return r;
}

/* Ports below 1024 without the privilege: the hint.  In a child that
 * drops root if it has it (in a network namespace of its own if it can make
 * one, so that a container's ip_unprivileged_port_start=0 does not matter). */
static void test_server_eacces(void **state)
{
	pid_t pid;
	int st;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct moat_err err;
		struct net_server *s;
		int r;

		if (geteuid() == 0) {
			(void)fresh_netns(); /* else: the inherited namespace */
			if (setgid(65534) != 0 || setuid(65534) != 0)
				_exit(2);
		}
		moat_err_clear(&err);
		s = net_server_new(&err);
		if (s == NULL)
			_exit(3);
		r = net_server_listen_http(s, "127.0.0.1", 1, handler, NULL, &err);
		net_server_free(s);
		if (r == 0)
			_exit(77); /* net.ipv4.ip_unprivileged_port_start allows it */
		if (strcmp(err.msg, "cannot listen on port 1 on 127.0.0.1: permission denied") != 0)
			_exit(4);
		if (strstr(err.hint, "CAP_NET_BIND_SERVICE") == NULL ||
		    strstr(err.hint, "sudo setcap cap_net_bind_service=+ep") == NULL)
			_exit(5);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 77) {
		UNIT_SKIP("net.ipv4.ip_unprivileged_port_start lets anyone listen on port 1");
	}
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* Software we did not write: curl. */
static int run_curl(const char *args, char *out, size_t n)
{
	char cmd[512];
	FILE *p;
	size_t got;

	snprintf(cmd, sizeof(cmd), "curl -sS --max-time 10 %s 2>&1", args);
	p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	got = fread(out, 1, n - 1, p);
	out[got] = '\0';
	return pclose(p);
}

static void test_server_curl(void **state)
{
	struct fixture *f = *state;
	char args[256], out[4096];

	if (system("command -v curl >/dev/null 2>&1") != 0) {
		UNIT_SKIP("curl is not installed");
	}
	snprintf(args, sizeof(args), "-i http://127.0.0.1:%u/.well-known/acme-challenge/tok",
		 f->port);
	assert_int_equal(run_curl(args, out, sizeof(out)), 0);
	assert_true(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0);
	assert_non_null(strstr(out, "\r\nServer: moat\r\n"));
	assert_non_null(strstr(out, "\r\nContent-Length: 14\r\n"));
	assert_non_null(strstr(out, "\r\n\r\n" KEYAUTH));
	assert_true(strcmp(out + strlen(out) - strlen(KEYAUTH), KEYAUTH) == 0);

	/* HEAD, and two URLs on one connection (curl reuses it). */
	snprintf(args, sizeof(args), "-I http://127.0.0.1:%u/.well-known/acme-challenge/tok",
		 f->port);
	assert_int_equal(run_curl(args, out, sizeof(out)), 0);
	assert_true(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0);
	assert_non_null(strstr(out, "\r\nContent-Length: 14\r\n"));
	snprintf(args, sizeof(args),
		 "-w '[%%{num_connects}]' http://127.0.0.1:%u/dyn http://127.0.0.1:%u/dyn",
		 f->port, f->port);
	assert_int_equal(run_curl(args, out, sizeof(out)), 0);
	assert_string_equal(out, "GET 1[1]GET 1[0]");
	snprintf(args, sizeof(args), "-o /dev/null -w '%%{http_code}' http://127.0.0.1:%u/missing",
		 f->port);
	assert_int_equal(run_curl(args, out, sizeof(out)), 0);
	assert_string_equal(out, "404");
}

/* A handler that takes bodies: /echo answers with what came. */
#define MAX_BODY 1000

static void body_handler(void *arg, const struct net_http_request *req,
			 struct net_http_reply *reply)
{
	char n[32];
	char *b;

	(void)arg;
	if (strcmp(req->target, "/echo") != 0)
		return;
	snprintf(n, sizeof(n), "%zu", req->body_len);
	assert_int_equal(net_http_reply_field(reply, "X-Body-Length", n), 0);
	assert_int_equal(net_http_reply_field(reply, "X-Type", req->content_type), 0);
	/* what a handler cannot smuggle into the head */
	assert_int_equal(net_http_reply_field(reply, "X-Evil", "a\r\nInjected: 1"), -1);
	assert_int_equal(net_http_reply_field(reply, "Bad Name", "x"), -1);
	assert_int_equal(net_http_reply_field(reply, "", "x"), -1);
	if ((b = malloc(req->body_len + 1)) == NULL)
		return;
	if (req->body_len > 0)
		memcpy(b, req->body, req->body_len);
	reply->status = 200;
	reply->body = b;
	reply->len = req->body_len;
	reply->free_body = true;
}

static void test_server_bodies(void **state)
{
	struct net_http_listen_opts o = {.max_body = MAX_BODY};
	struct moat_err err;
	struct net_server *s;
	struct client *c = calloc(1, sizeof(*c));
	struct response *r = calloc(1, sizeof(*r));
	char big_req[4096];

	(void)state;
	assert_non_null(c);
	assert_non_null(r);
	moat_err_clear(&err);
	s = net_server_new(&err);
	assert_non_null(s);
	assert_int_equal(net_server_listen_http_opts(s, "127.0.0.1", 0, &o, body_handler, NULL, &err), 0);
	assert_int_equal(net_server_start(s, &err), 0);

	c->fd = connect_to(AF_INET, net_server_port(s));
	assert_true(c->fd >= 0);
	/* a Content-Length body, then a chunked one on the same connection */
	SEND(c->fd, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/jose+json\r\n"
		    "Content-Length: 5\r\n\r\nhello");
	assert_int_equal(read_response(c, false, r), 0);
	assert_int_equal(r->status, 200);
	assert_true(has_header(r, "X-Body-Length: 5"));
	assert_true(has_header(r, "X-Type: application/jose+json"));
	assert_false(strstr(r->head, "Injected") != NULL);
	assert_int_equal(r->body_len, 5);
	assert_memory_equal(r->body, "hello", 5);
	SEND(c->fd, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n");
	assert_int_equal(read_response(c, false, r), 0);
	assert_int_equal(r->status, 200);
	assert_true(has_header(r, "X-Body-Length: 7"));
	assert_true(has_header(r, "X-Type: "));
	assert_memory_equal(r->body, "abcdefg", 7);
	/* a GET still works, with an empty body */
	SEND(c->fd, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(read_response(c, false, r), 0);
	assert_int_equal(r->status, 200);
	assert_true(has_header(r, "X-Body-Length: 0"));
	close(c->fd);

	/* a declared length over the cap: 413 at once, and the connection closes */
	c->len = 0;
	c->fd = connect_to(AF_INET, net_server_port(s));
	assert_true(c->fd >= 0);
	snprintf(big_req, sizeof(big_req),
		 "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", MAX_BODY + 1);
	SEND(c->fd, big_req);
	assert_int_equal(read_response(c, false, r), 0);
	assert_int_equal(r->status, 413);
	assert_closed(c);
	close(c->fd);

	/* chunks adding up past the cap: 413, closed; the handler never ran */
	c->len = 0;
	c->fd = connect_to(AF_INET, net_server_port(s));
	assert_true(c->fd >= 0);
	SEND(c->fd, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
	memset(big_req, 'z', sizeof(big_req));
	for (int i = 0; i < 3; i++) {
		SEND(c->fd, "1f4\r\n"); /* 500 bytes */
		send_all(c->fd, big_req, 500);
		SEND(c->fd, "\r\n");
	}
	assert_int_equal(read_response(c, false, r), 0);
	assert_int_equal(r->status, 413);
	assert_false(strstr(r->head, "X-Body-Length") != NULL);
	close(c->fd);

	/* a broken chunked body: 400 */
	c->len = 0;
	c->fd = connect_to(AF_INET, net_server_port(s));
	assert_true(c->fd >= 0);
	SEND(c->fd, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
	assert_int_equal(read_response(c, false, r), 0);
	assert_int_equal(r->status, 400);
	close(c->fd);

	net_server_free(s);
	free(c);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_words),
		cmocka_unit_test(test_http_words),
		cmocka_unit_test_setup_teardown(test_server_keepalive, server_setup, server_teardown),
		cmocka_unit_test_setup_teardown(test_server_pipelined, server_setup, server_teardown),
		cmocka_unit_test_setup_teardown(test_server_errors, server_setup, server_teardown),
		cmocka_unit_test_setup_teardown(test_server_heads, server_setup, server_teardown),
		cmocka_unit_test_setup_teardown(test_server_backpressure, server_setup,
						server_teardown),
		cmocka_unit_test_setup_teardown(test_server_limit, server_setup, server_teardown),
		cmocka_unit_test_setup_teardown(test_server_idle, server_setup, server_teardown),
		cmocka_unit_test(test_server_run),
		cmocka_unit_test(test_server_bodies),
		cmocka_unit_test_setup_teardown(test_server_listen_errors, server_setup,
						server_teardown),
		cmocka_unit_test(test_server_dual_stack),
		cmocka_unit_test(test_server_eacces),
		cmocka_unit_test_setup_teardown(test_server_curl, server_setup, server_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
