/* Unit tests for src/net/h1.c and h1_chunked.c: request and response
 * heads, their framing, and the chunked-body checker.  Every head is
 * parsed all at once, a byte at a time, and in two pieces split at every
 * position, and all must agree; every chunked body is scanned all at once,
 * a byte at a time and split at every position. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/h1.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The last head parsed, and its buffer (exactly its length, so that ASan
 * sees a read past the end). */
static struct net_h1_msg M;
static char *B;

/* The results of two parses of the same head must be the same. */
static void assert_same(const struct net_h1_msg *a, const struct net_h1_msg *b)
{
	assert_int_equal(a->head_len, b->head_len);
	assert_int_equal(a->version_minor, b->version_minor);
	assert_int_equal(a->method, b->method);
	assert_int_equal(a->method_len, b->method_len);
	assert_int_equal(a->target, b->target);
	assert_int_equal(a->target_len, b->target_len);
	assert_int_equal(a->target_form, b->target_form);
	assert_int_equal(a->host_field, b->host_field);
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->reason, b->reason);
	assert_int_equal(a->reason_len, b->reason_len);
	assert_int_equal(a->nfields, b->nfields);
	for (size_t i = 0; i < a->nfields; i++) {
		assert_int_equal(a->fields[i].name, b->fields[i].name);
		assert_int_equal(a->fields[i].name_len, b->fields[i].name_len);
		assert_int_equal(a->fields[i].value, b->fields[i].value);
		assert_int_equal(a->fields[i].value_len, b->fields[i].value_len);
		assert_int_equal(a->fields[i].hop, b->fields[i].hop);
	}
	assert_int_equal(a->framing, b->framing);
	assert_int_equal(a->content_length, b->content_length);
	assert_int_equal(a->keep_alive, b->keep_alive);
	assert_int_equal(a->upgrade, b->upgrade);
	assert_int_equal(a->upgrade_field, b->upgrade_field);
	assert_int_equal(a->expect_continue, b->expect_continue);
	assert_int_equal(a->body_declared, b->body_declared);
}

static enum net_h1_result parse1(size_t len, size_t max_head, const char *meth,
				 struct net_h1_msg *m)
{
	if (meth == NULL)
		return net_h1_parse_request(B, len, max_head, m);
	return net_h1_parse_response(B, len, max_head, meth, strlen(meth), m);
}

/* Parse s[0..n) as a request (meth NULL) or as the response to meth, into
 * M and B.  0 for done, -1 for more, else the error status. */
static int run(const char *s, size_t n, size_t max_head, const char *meth)
{
	struct net_h1_msg b;
	enum net_h1_result r, rb = NET_H1_MORE;

	free(B);
	B = malloc(n > 0 ? n : 1);
	assert_non_null(B);
	memcpy(B, s, n);
	net_h1_msg_reset(&M);
	r = parse1(n, max_head, meth, &M);

	/* In two pieces, split at every position (at every 997th in the
	 * largest heads, to stay quick). */
	for (size_t k = 0; k <= n; k += n <= 4096 ? 1 : 997) {
		net_h1_msg_reset(&b);
		rb = parse1(k, max_head, meth, &b);
		if (rb == NET_H1_MORE)
			rb = parse1(n, max_head, meth, &b);
		assert_int_equal(rb, r);
		if (r == NET_H1_ERROR)
			assert_int_equal(b.status, M.status);
		if (r == NET_H1_DONE)
			assert_same(&M, &b);
	}
	/* A byte at a time. */
	rb = NET_H1_MORE;
	net_h1_msg_reset(&b);
	for (size_t k = 0; k <= n && rb == NET_H1_MORE; k++)
		rb = parse1(k, max_head, meth, &b);
	assert_int_equal(rb, r);
	/* Once decided, it stays decided. */
	if (r != NET_H1_MORE)
		assert_int_equal(parse1(n, max_head, meth, &b), r);
	if (r == NET_H1_ERROR) {
		assert_int_equal(b.status, M.status);
		assert_false(M.keep_alive);
		return M.status;
	}
	if (r == NET_H1_MORE)
		return -1;
	assert_same(&M, &b);
	assert_true(M.head_len <= n);
	for (size_t i = 0; i < M.nfields; i++) {
		assert_true(M.fields[i].name + M.fields[i].name_len <= M.head_len);
		assert_true(M.fields[i].value + M.fields[i].value_len <= M.head_len);
	}
	return 0;
}

#define REQ(s) run(s, sizeof(s) - 1, NET_H1_MAX_HEAD, NULL)
#define RESP(meth, s) run(s, sizeof(s) - 1, NET_H1_MAX_HEAD, meth)

/* B[off .. off + len) is want. */
static bool span_is(uint32_t off, uint32_t len, const char *want)
{
	return len == strlen(want) && memcmp(B + off, want, len) == 0;
}

static bool field_is(size_t i, const char *name, const char *value)
{
	return i < M.nfields && span_is(M.fields[i].name, M.fields[i].name_len, name) &&
	       span_is(M.fields[i].value, M.fields[i].value_len, value);
}

static int group_teardown(void **state)
{
	(void)state;
	free(B);
	B = NULL;
	return 0;
}

/* ---- requests -------------------------------------------------------------- */

static void test_request_get(void **state)
{
	(void)state;
	assert_int_equal(REQ("GET /a/b?c=d HTTP/1.1\r\n"
			     "Host: example.com:8443\r\n"
			     "X-Empty:\r\n"
			     "X-Spaces: \t value with  inner space \t\r\n"
			     "X-Obs: caf\xc3\xa9\r\n"
			     "accept:*/*\r\n"
			     "\r\n"),
			 0);
	assert_true(span_is(M.method, M.method_len, "GET"));
	assert_true(span_is(M.target, M.target_len, "/a/b?c=d"));
	assert_int_equal(M.target_form, NET_H1_ORIGIN);
	assert_int_equal(M.version_minor, 1);
	assert_int_equal(M.nfields, 5);
	assert_true(field_is(0, "Host", "example.com:8443"));
	assert_true(field_is(1, "X-Empty", ""));
	assert_true(field_is(2, "X-Spaces", "value with  inner space"));
	assert_true(field_is(3, "X-Obs", "caf\xc3\xa9"));
	assert_true(field_is(4, "accept", "*/*"));
	assert_int_equal(M.host_field, 0);
	assert_int_equal(M.framing, NET_H1_NO_BODY);
	assert_true(M.keep_alive);
	assert_false(M.upgrade);
	assert_int_equal(M.upgrade_field, -1);
	assert_false(M.expect_continue);
	for (size_t i = 0; i < M.nfields; i++)
		assert_false(M.fields[i].hop);

	/* Lookup ignores case and starts where asked. */
	assert_int_equal(net_h1_find(&M, B, "HOST", 0), 0);
	assert_int_equal(net_h1_find(&M, B, "Accept", 0), 4);
	assert_int_equal(net_h1_find(&M, B, "accept", 5), -1);
	assert_int_equal(net_h1_find(&M, B, "x-spaces", 2), 2);
	assert_int_equal(net_h1_find(&M, B, "x-spaces", 3), -1);
	assert_int_equal(net_h1_find(&M, B, "x-space", 0), -1);
	assert_int_equal(net_h1_find(&M, B, "nope", 0), -1);
	assert_int_equal(net_h1_find(&M, B, "host", 99), -1);

	/* Repeated fields are all kept. */
	assert_int_equal(REQ("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\na: 2\r\n\r\n"), 0);
	assert_int_equal(net_h1_find(&M, B, "a", 0), 1);
	assert_int_equal(net_h1_find(&M, B, "a", 2), 2);

	/* Empty lines before the request line are skipped; 1.0 needs no
	 * Host; an empty Host is valid; 1.x past 1.1 is 1.1; a 32-byte
	 * method is still a method. */
	assert_int_equal(REQ("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
	assert_int_equal(M.start, 4);
	assert_true(span_is(M.method, M.method_len, "GET"));
	assert_int_equal(REQ("GET / HTTP/1.0\r\n\r\n"), 0);
	assert_int_equal(M.version_minor, 0);
	assert_int_equal(M.host_field, -1);
	assert_int_equal(REQ("GET / HTTP/1.1\r\nHost:\r\n\r\n"), 0);
	assert_int_equal(M.host_field, 0);
	assert_int_equal(REQ("GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n"), 0);
	assert_int_equal(REQ("GET / HTTP/1.9\r\nHost: a\r\n\r\n"), 0);
	assert_int_equal(M.version_minor, 1);
	assert_int_equal(REQ("ABCDEFGHIJKLMNOPQRSTUVWXYZ-_.!~1 / HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
	assert_int_equal(M.method_len, 32);
}

/* A browser's request and an upstream's answer as they come: run() also
 * parses them a byte at a time and split at every position. */
static void test_typical_heads(void **state)
{
	static const char *const names[] = {
		"Host", "Connection", "Cache-Control", "Upgrade-Insecure-Requests", "User-Agent",
		"Accept", "Sec-Fetch-Site", "Sec-Fetch-Mode", "Sec-Fetch-Dest", "Accept-Encoding",
		"Accept-Language", "Cookie",
	};

	(void)state;
	assert_int_equal(REQ("GET /docs/index.html?lang=en HTTP/1.1\r\n"
			     "Host: docs.example.org\r\n"
			     "Connection: keep-alive\r\n"
			     "Cache-Control: max-age=0\r\n"
			     "Upgrade-Insecure-Requests: 1\r\n"
			     "User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
			     "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n"
			     "Accept: text/html,application/xhtml+xml,*/*;q=0.8\r\n"
			     "Sec-Fetch-Site: none\r\n"
			     "Sec-Fetch-Mode: navigate\r\n"
			     "Sec-Fetch-Dest: document\r\n"
			     "Accept-Encoding: gzip, deflate, br\r\n"
			     "Accept-Language: de-DE,de;q=0.9\r\n"
			     "Cookie: sid=a81f; consent=1\r\n"
			     "\r\n"),
			 0);
	assert_true(span_is(M.target, M.target_len, "/docs/index.html?lang=en"));
	assert_int_equal(M.nfields, N(names));
	for (size_t i = 0; i < N(names); i++)
		assert_true(span_is(M.fields[i].name, M.fields[i].name_len, names[i]));
	assert_true(field_is(6, "Sec-Fetch-Site", "none"));
	assert_true(field_is(11, "Cookie", "sid=a81f; consent=1"));
	assert_int_equal(M.host_field, 0);
	assert_true(M.fields[1].hop);
	assert_true(M.keep_alive);
	assert_int_equal(M.framing, NET_H1_NO_BODY);

	assert_int_equal(RESP("GET", "HTTP/1.1 404 Not Found\r\n"
				     "Date: Tue, 08 Dec 2026 08:00:00 GMT\r\n"
				     "Content-Type: text/html\r\n"
				     "Transfer-Encoding: chunked\r\n"
				     "Connection: keep-alive\r\n"
				     "Vary: Accept-Encoding\r\n"
				     "X-Request-Id: 7d2c\r\n"
				     "Strict-Transport-Security: max-age=63072000\r\n"
				     "Server: upstream\r\n"
				     "\r\n"),
			 0);
	assert_int_equal(M.status, 404);
	assert_true(span_is(M.reason, M.reason_len, "Not Found"));
	assert_int_equal(M.nfields, 8);
	assert_true(field_is(2, "Transfer-Encoding", "chunked"));
	assert_true(field_is(7, "Server", "upstream"));
	assert_int_equal(M.framing, NET_H1_CHUNKED);
	assert_true(M.fields[2].hop && M.fields[3].hop && !M.fields[4].hop);
	assert_true(M.keep_alive);
}

static void test_request_targets(void **state)
{
	static const char *const bad[] = {
		"CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n",
		"CONNECT http://a:443/ HTTP/1.1\r\nHost: a\r\n\r\n",
		"CONNECT a HTTP/1.1\r\nHost: a\r\n\r\n",
		"CONNECT a: HTTP/1.1\r\nHost: a\r\n\r\n",
		"CONNECT :443 HTTP/1.1\r\nHost: a\r\n\r\n",
		"CONNECT a:4x3 HTTP/1.1\r\nHost: a\r\n\r\n",
		"CONNECT a:443443 HTTP/1.1\r\nHost: a\r\n\r\n",
		"CONNECT u@a:443 HTTP/1.1\r\nHost: a\r\n\r\n",
		"CONNECT * HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET a:443 HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET * HTTP/1.1\r\nHost: a\r\n\r\n",
		"OPTIONS ** HTTP/1.1\r\nHost: a\r\n\r\n",
		"options * HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET http:/a/ HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET http:///a HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET http:// HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET http://u:p@a/ HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET http://a<b/ HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET a/b HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET ?x HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /\ta HTTP/1.1\r\nHost: a\r\n\r\n",
	};

	(void)state;
	assert_int_equal(REQ("GET http://example.com:80/x?y HTTP/1.1\r\nHost: example.com\r\n\r\n"), 0);
	assert_int_equal(M.target_form, NET_H1_ABSOLUTE);
	assert_true(span_is(M.target, M.target_len, "http://example.com:80/x?y"));
	assert_int_equal(REQ("GET HTTPS://a HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
	assert_int_equal(M.target_form, NET_H1_ABSOLUTE);
	assert_int_equal(REQ("GET hTTp://a?q HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
	assert_int_equal(M.target_form, NET_H1_ABSOLUTE);
	assert_int_equal(REQ("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"), 0);
	assert_int_equal(M.target_form, NET_H1_AUTHORITY);
	assert_true(span_is(M.target, M.target_len, "example.com:443"));
	assert_int_equal(REQ("CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n"), 0);
	assert_int_equal(M.target_form, NET_H1_AUTHORITY);
	assert_int_equal(REQ("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
	assert_int_equal(M.target_form, NET_H1_ASTERISK);
	assert_int_equal(REQ("OPTIONS /x HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
	assert_int_equal(M.target_form, NET_H1_ORIGIN);
	assert_int_equal(REQ("GET //a/../b HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
	assert_int_equal(M.target_form, NET_H1_ORIGIN);

	for (size_t i = 0; i < N(bad); i++) {
		int st = run(bad[i], strlen(bad[i]), NET_H1_MAX_HEAD, NULL);

		if (st != 400)
			fail_msg("%s: %d, not 400", bad[i], st);
	}
}

struct bad_case {
	const char *head;
	int status;
};

/* Each error with its exact status. */
static void test_request_errors(void **state)
{
	static const struct bad_case bad[] = {
		/* the request line */
		{"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{" GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"GET /\r\n\r\n", 400},
		{"GET\r\n\r\n", 400},
		{"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400},
		{"GET / http/1.1\r\nHost: a\r\n\r\n", 400},
		{"GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400},
		{"GET / HTTP/1\r\nHost: a\r\n\r\n", 400},
		{"GET / HTTP/1.x\r\nHost: a\r\n\r\n", 400},
		{"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZ-_.!~12 / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
		{"GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505},
		/* bare CR and LF, controls */
		{"GET / HTTP/1.1\nHost: a\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: a\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: a\r\n\n", 400},
		{"GET / HTTP/1.1\rHost: a\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", 400},
		{"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01" "b\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: a\r\nX: \x1b[0m\r\n\r\n", 400},
		/* field lines */
		{"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n  folded\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\tfolded\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: a\r\nNo colon\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: a\r\nNocolon\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: a\r\nA(b): x\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: a\r\nA\xc3\xa9: x\r\n\r\n", 400},
		/* Host */
		{"GET / HTTP/1.1\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nX-Host: a\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400},
		{"GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: exa mple\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: a\tb\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: \xc3\xa9\r\n\r\n", 400},
		/* Content-Length */
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,5\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
		 400},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\n",
		 400},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4611686018427387905\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999999\r\n\r\n",
		 400},
		/* Transfer-Encoding */
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip ,\tchunked\r\n\r\n", 501},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n"
		 "Transfer-Encoding: chunked\r\n\r\n",
		 501},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
		 "Transfer-Encoding: chunked\r\n\r\n",
		 400},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
		 "Transfer-Encoding: gzip\r\n\r\n",
		 400},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked,\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,chunked\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \t \r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;x=1\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
		 "Content-Length: 5\r\n\r\n",
		 400},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
		 "Transfer-Encoding: chunked\r\n\r\n",
		 400},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n"
		 "Transfer-Encoding: gzip, chunked\r\n\r\n",
		 400},
		{"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		/* Connection options */
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: host\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: close, Content-Length\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: a b\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: \"close\"\r\n\r\n", 400},
		/* garbage */
		{"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400},
		{"\x00GET / HTTP/1.1\r\n\r\n", 400},
		{"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},
	};

	(void)state;
	for (size_t i = 0; i < N(bad); i++) {
		size_t n = strlen(bad[i].head);
		int st;

		if (n == 0) /* the one that starts with a NUL */
			n = 19;
		st = run(bad[i].head, n, NET_H1_MAX_HEAD, NULL);
		if (st != bad[i].status)
			fail_msg("case %zu %s: %d, not %d", i, bad[i].head, st, bad[i].status);
	}

	/* Garbage fails on the first byte, without waiting for more. */
	assert_int_equal(REQ("\x16"), 400);
	assert_int_equal(REQ("\x80"), 400);
	assert_int_equal(REQ("GET / HTTP/1.1\r\nX\x01"), 400);
	assert_int_equal(REQ("GET / HTTP/1.1\r\nX:\x01"), 400);
	assert_int_equal(REQ("GET / HTTP/1.1\r\n "), 400);
	assert_int_equal(REQ("GET / HTTX"), 400);
	assert_int_equal(REQ("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n"),
			 400);
	assert_int_equal(REQ("GET / HTTP/1.1\r\nHost: a\r\nConnection: host\r\n"), 400);
	/* ... and what could still become a head asks for more. */
	assert_int_equal(REQ("GET / HTTP/1.1\r\nHost: a\r\n"), -1);
	assert_int_equal(REQ("GET / HTTP/1.1\r\nHost: a\r\n\r"), -1);
	assert_int_equal(REQ("\r\n\r\n"), -1);
	assert_int_equal(REQ(""), -1);
}

static void test_request_lengths(void **state)
{
	(void)state;
	assert_int_equal(REQ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0005\r\n\r\n"), 0);
	assert_int_equal(M.framing, NET_H1_LENGTH);
	assert_int_equal(M.content_length, 5);
	assert_int_equal(REQ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"), 0);
	assert_int_equal(M.framing, NET_H1_LENGTH);
	assert_int_equal(M.content_length, 0);
	assert_int_equal(REQ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4611686018427387904\r\n\r\n"),
			 0);
	assert_int_equal(M.content_length, (uint64_t)1 << 62);
	assert_int_equal(REQ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \t 12 \r\n\r\n"), 0);
	assert_int_equal(M.content_length, 12);
	assert_int_equal(REQ("POST / HTTP/1.0\r\nContent-Length: 3\r\n\r\n"), 0);
	assert_int_equal(M.framing, NET_H1_LENGTH);

	assert_int_equal(REQ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"), 0);
	assert_int_equal(M.framing, NET_H1_CHUNKED);
	assert_true(M.fields[1].hop);
	assert_int_equal(REQ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:  Chunked \t\r\n\r\n"),
			 0);
	assert_int_equal(M.framing, NET_H1_CHUNKED);
	assert_int_equal(REQ("POST / HTTP/1.1\r\nHost: a\r\nTRANSFER-ENCODING: CHUNKED\r\n\r\n"), 0);
	assert_int_equal(M.framing, NET_H1_CHUNKED);
}

static void test_request_hop(void **state)
{
	(void)state;
	assert_int_equal(REQ("GET / HTTP/1.1\r\n"
			     "X-Before: 1\r\n"
			     "Connection: x-before, X-AFTER,, keep-alive\r\n"
			     "Host: a\r\n"
			     "Keep-Alive: timeout=5\r\n"
			     "Proxy-Connection: keep-alive\r\n"
			     "TE: trailers\r\n"
			     "Trailer: X-T\r\n"
			     "Upgrade: websocket\r\n"
			     "X-After: 2\r\n"
			     "x-after: 3\r\n"
			     "X-Other: 4\r\n"
			     "Connection: x-late\r\n"
			     "X-Late: 5\r\n"
			     "\r\n"),
			 0);
	assert_int_equal(M.nfields, 13);
	assert_true(M.fields[0].hop);   /* X-Before, named */
	assert_true(M.fields[1].hop);   /* Connection */
	assert_false(M.fields[2].hop);  /* Host */
	assert_true(M.fields[3].hop);   /* Keep-Alive */
	assert_true(M.fields[4].hop);   /* Proxy-Connection */
	assert_true(M.fields[5].hop);   /* TE */
	assert_true(M.fields[6].hop);   /* Trailer */
	assert_true(M.fields[7].hop);   /* Upgrade */
	assert_true(M.fields[8].hop);   /* X-After, named */
	assert_true(M.fields[9].hop);   /* x-after, named */
	assert_false(M.fields[10].hop); /* X-Other */
	assert_true(M.fields[11].hop);  /* Connection */
	assert_true(M.fields[12].hop);  /* X-Late, named by the second one */
	assert_false(M.upgrade);        /* no "upgrade" option */
	assert_int_equal(M.upgrade_field, 7);

	/* 32 options in all are fine, 33 are not, over several fields. */
	assert_int_equal(REQ("GET / HTTP/1.1\r\nHost: a\r\n"
			     "Connection: a1,a2,a3,a4,a5,a6,a7,a8,a9,a10,a11,a12,a13,a14,a15,a16\r\n"
			     "Connection: b1,b2,b3,b4,b5,b6,b7,b8,b9,b10,b11,b12,b13,b14,b15,b16\r\n"
			     "\r\n"),
			 0);
	assert_int_equal(REQ("GET / HTTP/1.1\r\nHost: a\r\n"
			     "Connection: a1,a2,a3,a4,a5,a6,a7,a8,a9,a10,a11,a12,a13,a14,a15,a16\r\n"
			     "Connection: b1,b2,b3,b4,b5,b6,b7,b8,b9,b10,b11,b12,b13,b14,b15,b16\r\n"
			     "Connection: c\r\n"
			     "\r\n"),
			 400);
	/* Empty elements do not count. */
	assert_int_equal(REQ("GET / HTTP/1.1\r\nHost: a\r\nConnection: ,,,,,,,,,,,,,,,,,,,,,,,,"
			     ",,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,, close\r\n\r\n"),
			 0);
	assert_false(M.keep_alive);
}

struct ka_case {
	const char *head;
	bool keep_alive;
};

static void test_request_keep_alive(void **state)
{
	static const struct ka_case cases[] = {
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", true},
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false},
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n", true},
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, CLOSE\r\n\r\n", false},
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: x\r\nConnection: close\r\n\r\n", false},
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n", true},
		{"GET / HTTP/1.0\r\n\r\n", false},
		{"GET / HTTP/1.0\r\nConnection: close\r\n\r\n", false},
		{"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
		{"GET / HTTP/1.0\r\nConnection: KEEP-ALIVE\r\n\r\n", true},
		{"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false},
		{"GET / HTTP/1.0\r\nKeep-Alive: timeout=1\r\n\r\n", false},
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		assert_int_equal(run(cases[i].head, strlen(cases[i].head), NET_H1_MAX_HEAD, NULL), 0);
		if (M.keep_alive != cases[i].keep_alive)
			fail_msg("case %zu: keep_alive %d", i, M.keep_alive);
	}
}

static void test_request_upgrade_expect(void **state)
{
	(void)state;
	assert_int_equal(REQ("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n"
			     "Upgrade: websocket\r\n\r\n"),
			 0);
	assert_true(M.upgrade);
	assert_int_equal(M.upgrade_field, 2);
	assert_true(M.keep_alive);
	assert_int_equal(REQ("GET /ws HTTP/1.1\r\nUpgrade: h2c\r\nHost: a\r\nUpgrade: websocket\r\n"
			     "Connection: keep-alive, upgrade\r\n\r\n"),
			 0);
	assert_true(M.upgrade);
	assert_int_equal(M.upgrade_field, 0);
	/* Either half alone is not an upgrade; nor is it in HTTP/1.0. */
	assert_int_equal(REQ("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n"), 0);
	assert_false(M.upgrade);
	assert_int_equal(M.upgrade_field, -1);
	assert_int_equal(REQ("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n"), 0);
	assert_false(M.upgrade);
	assert_int_equal(M.upgrade_field, 1);
	assert_int_equal(REQ("GET /ws HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"),
			 0);
	assert_false(M.upgrade);

	assert_int_equal(REQ("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
			     "Content-Length: 3\r\n\r\n"),
			 0);
	assert_true(M.expect_continue);
	assert_int_equal(REQ("PUT / HTTP/1.1\r\nHost: a\r\nexpect:  100-Continue \r\n\r\n"), 0);
	assert_true(M.expect_continue);
	assert_int_equal(REQ("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue-x\r\n\r\n"), 0);
	assert_false(M.expect_continue);
	assert_int_equal(REQ("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n"), 0);
	assert_false(M.expect_continue);
}

/* The second request and body bytes are left after head_len. */
static void test_request_pipelined(void **state)
{
	static const char two[] = "POST /one HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"
				  "hello"
				  "GET /two HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n"
				  "GET /thr";
	struct net_h1_msg m;
	size_t off, n = sizeof(two) - 1;

	(void)state;
	assert_int_equal(run(two, n, NET_H1_MAX_HEAD, NULL), 0);
	assert_int_equal(M.head_len, strlen("POST /one HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"));
	assert_int_equal(M.framing, NET_H1_LENGTH);
	assert_int_equal(M.content_length, 5);
	assert_memory_equal(B + M.head_len, "hello", 5);
	off = M.head_len + M.content_length;
	net_h1_msg_reset(&m);
	assert_int_equal(net_h1_parse_request(B + off, n - off, NET_H1_MAX_HEAD, &m), NET_H1_DONE);
	assert_true(span_is((uint32_t)off + m.target, m.target_len, "/two"));
	assert_false(m.keep_alive);
	off += m.head_len;
	net_h1_msg_reset(&m);
	assert_int_equal(net_h1_parse_request(B + off, n - off, NET_H1_MAX_HEAD, &m), NET_H1_MORE);
}

static void test_request_limits(void **state)
{
	static char big[NET_H1_MAX_HEAD + 200];
	size_t n;

	(void)state;

	/* 128 fields are fine, 129 are not. */
	n = (size_t)sprintf(big, "GET / HTTP/1.1\r\nHost: a\r\n");
	for (int i = 1; i < NET_H1_MAX_FIELDS; i++)
		n += (size_t)sprintf(big + n, "X-%d: %d\r\n", i, i);
	assert_int_equal(run(big, n, NET_H1_MAX_HEAD, NULL), -1);
	memcpy(big + n, "\r\n", 2);
	assert_int_equal(run(big, n + 2, NET_H1_MAX_HEAD, NULL), 0);
	assert_int_equal(M.nfields, NET_H1_MAX_FIELDS);
	n += (size_t)sprintf(big + n, "X-last: 1\r\n\r\n");
	assert_int_equal(run(big, n, NET_H1_MAX_HEAD, NULL), 431);

	/* A head of exactly max_head bytes is fine, one more is not. */
	n = (size_t)sprintf(big, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
	assert_int_equal(run(big, n, n, NULL), 0);
	assert_int_equal(run(big, n, n - 1, NULL), 431);
	/* The request line alone is too long: 414. */
	assert_int_equal(run(big, n, 10, NULL), 414);
	assert_int_equal(run(big, n, 15, NULL), 414);
	assert_int_equal(run(big, n, 16, NULL), 431);
	/* Empty lines up to the limit: 400; nothing past the limit is read. */
	assert_int_equal(run("\r\n\r\n\r\n", 6, 4, NULL), 400);
	assert_int_equal(run(big, n, 0, NULL), 400);
	/* A head larger than NET_H1_MAX_HEAD, whatever max_head says. */
	memcpy(big, "GET /", 5);
	memset(big + 5, 'a', NET_H1_MAX_HEAD + 100);
	assert_int_equal(run(big, NET_H1_MAX_HEAD + 100, SIZE_MAX, NULL), 414);
	n = (size_t)sprintf(big, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
	memset(big + n, 'a', NET_H1_MAX_HEAD + 100 - n);
	assert_int_equal(run(big, NET_H1_MAX_HEAD + 1, 2 * NET_H1_MAX_HEAD, NULL), 431);
	/* Below the limit, more is asked for. */
	assert_int_equal(run(big, NET_H1_MAX_HEAD - 1, 2 * NET_H1_MAX_HEAD, NULL), -1);

	/* A head of the largest size, a byte at a time (run() does both):
	 * linear, so this is quick. */
	n = (size_t)sprintf(big, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
	memset(big + n, 'b', NET_H1_MAX_HEAD - n - 4);
	memcpy(big + NET_H1_MAX_HEAD - 4, "\r\n\r\n", 4);
	assert_int_equal(run(big, NET_H1_MAX_HEAD, NET_H1_MAX_HEAD, NULL), 0);
	assert_int_equal(M.head_len, NET_H1_MAX_HEAD);
	assert_int_equal(M.fields[1].value_len, NET_H1_MAX_HEAD - n - 4);
}

/* Host values and absolute-form authorities: RFC 3986, strictly (a Host
 * is reflected into redirects and routes the request). */
static void test_request_host(void **state)
{
	static const char *const good[] = {
		"a", "chat.localhost", "chat.localhost:80", "CHAT.LOCALHOST", "127.0.0.1",
		"[::1]", "[::1]:8443", "[::ffff:127.0.0.1]", "a-b_c~d.e", "h:", "h:65535",
	};
	static const char *const bad[] = {
		"localhost:80:90", "]", "%", "a%zz", "a%41", "exa@mple", "u@h:80", "[::1",
		"::1", "host:123456", "a,b", "x'y", "a!b", "a;b", "[v1.x]", "[::1]x",
		"[::1%eth0]", "[]", ":80", "h:8a", "a b", "a(b)", "a*b", "a+b", "a=b", "a$b",
	};
	char req[300];

	(void)state;
	for (size_t i = 0; i < N(good); i++) {
		assert_true(net_h1_authority_valid(good[i], strlen(good[i])));
		snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", good[i]);
		if (run(req, strlen(req), NET_H1_MAX_HEAD, NULL) != 0)
			fail_msg("Host %s refused", good[i]);
		snprintf(req, sizeof(req), "GET http://%s/x HTTP/1.1\r\nHost: a\r\n\r\n", good[i]);
		if (run(req, strlen(req), NET_H1_MAX_HEAD, NULL) != 0)
			fail_msg("authority %s refused", good[i]);
	}
	for (size_t i = 0; i < N(bad); i++) {
		int st;

		if (net_h1_authority_valid(bad[i], strlen(bad[i])))
			fail_msg("%s taken as an authority", bad[i]);
		snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", bad[i]);
		st = run(req, strlen(req), NET_H1_MAX_HEAD, NULL);
		if (st != 400)
			fail_msg("Host %s: %d, not 400", bad[i], st);
		snprintf(req, sizeof(req), "GET http://%s/x HTTP/1.1\r\nHost: a\r\n\r\n", bad[i]);
		st = run(req, strlen(req), NET_H1_MAX_HEAD, NULL);
		if (st != 400)
			fail_msg("authority %s: %d, not 400", bad[i], st);
	}
	assert_false(net_h1_authority_valid("", 0));
	assert_int_equal(REQ("GET / HTTP/1.1\r\nHost:\r\n\r\n"), 0); /* empty is allowed */
}

/* ---- responses ------------------------------------------------------------- */

struct framing_case {
	const char *method;
	const char *head;
	enum net_h1_framing framing;
	bool keep_alive;
};

static void test_response_framing(void **state)
{
	static const struct framing_case cases[] = {
		{"GET", "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", NET_H1_LENGTH, true},
		{"GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", NET_H1_CHUNKED, true},
		{"GET", "HTTP/1.1 200 OK\r\n\r\n", NET_H1_TO_CLOSE, false},
		{"GET", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n",
		 NET_H1_LENGTH, false},
		{"GET", "HTTP/1.0 200 OK\r\n\r\n", NET_H1_TO_CLOSE, false},
		{"GET", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n", NET_H1_TO_CLOSE, false},
		{"GET", "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n", NET_H1_LENGTH, false},
		{"GET", "HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n",
		 NET_H1_LENGTH, true},
		{"HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", NET_H1_NO_BODY, true},
		{"HEAD", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", NET_H1_NO_BODY, true},
		{"HEAD", "HTTP/1.1 200 OK\r\n\r\n", NET_H1_NO_BODY, true},
		{"HEAD", "HTTP/1.1 404 Not Found\r\n\r\n", NET_H1_NO_BODY, true},
		{"GET", "HTTP/1.1 100 Continue\r\n\r\n", NET_H1_NO_BODY, true},
		{"GET", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", NET_H1_NO_BODY, true},
		{"GET", "HTTP/1.1 204 No Content\r\n\r\n", NET_H1_NO_BODY, true},
		{"GET", "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", NET_H1_NO_BODY, true},
		{"GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n", NET_H1_NO_BODY,
		 true},
		{"GET", "HTTP/1.1 205 Reset\r\nContent-Length: 0\r\n\r\n", NET_H1_LENGTH, true},
		{"CONNECT", "HTTP/1.1 200 Connection established\r\n\r\n", NET_H1_NO_BODY, true},
		{"CONNECT", "HTTP/1.1 407 Auth\r\nContent-Length: 2\r\n\r\n", NET_H1_LENGTH, true},
		{"POST", "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n", NET_H1_LENGTH, true},
		{"", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n", NET_H1_LENGTH, true},
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		int st = run(cases[i].head, strlen(cases[i].head), NET_H1_MAX_HEAD, cases[i].method);

		if (st != 0 || M.framing != cases[i].framing || M.keep_alive != cases[i].keep_alive)
			fail_msg("case %zu: %d framing %d keep_alive %d", i, st, M.framing,
				 M.keep_alive);
	}

	assert_int_equal(RESP("GET", "HTTP/1.1 200 OK\r\nContent-Length: 012\r\n\r\n"), 0);
	assert_int_equal(M.content_length, 12);
	/* Without a method (none known), framing by status and fields. */
	{
		struct net_h1_msg m;

		net_h1_msg_reset(&m);
		assert_int_equal(net_h1_parse_response("HTTP/1.1 200 OK\r\n\r\n", 19, 100, NULL, 0,
						       &m),
				 NET_H1_DONE);
		assert_int_equal(m.framing, NET_H1_TO_CLOSE);
	}

	/* 101 with Upgrade switches protocols. */
	assert_int_equal(RESP("GET", "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n"
				     "Upgrade: websocket\r\n\r\n"),
			 0);
	assert_true(M.upgrade);
	assert_int_equal(M.upgrade_field, 1);
	assert_int_equal(M.framing, NET_H1_NO_BODY);
	assert_true(M.fields[0].hop);
	assert_true(M.fields[1].hop);
	/* An Upgrade on another status is only an offer. */
	assert_int_equal(RESP("GET", "HTTP/1.1 200 OK\r\nConnection: upgrade\r\nUpgrade: h2c\r\n"
				     "Content-Length: 0\r\n\r\n"),
			 0);
	assert_false(M.upgrade);
}

/* A response without a body that announced one: the proxy must not reuse
 * the connection after it (late bytes would answer the next request). */
static void test_response_body_declared(void **state)
{
	(void)state;
	assert_int_equal(RESP("HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 38\r\n\r\n"), 0);
	assert_int_equal(M.framing, NET_H1_NO_BODY);
	assert_true(M.body_declared);
	assert_int_equal(RESP("HEAD", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), 0);
	assert_true(M.body_declared);
	assert_int_equal(RESP("GET", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"), 0);
	assert_true(M.body_declared);
	assert_int_equal(RESP("GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n"), 0);
	assert_true(M.body_declared);
	assert_int_equal(RESP("HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), 0);
	assert_false(M.body_declared);
	assert_int_equal(RESP("GET", "HTTP/1.1 204 No Content\r\n\r\n"), 0);
	assert_false(M.body_declared);
	assert_int_equal(RESP("HEAD", "HTTP/1.1 200 OK\r\n\r\n"), 0);
	assert_false(M.body_declared);
}

static void test_response_status_line(void **state)
{
	(void)state;
	assert_int_equal(RESP("GET", "HTTP/1.1 404 Not  Found \xc3\xa9\t\r\nContent-Length: 0\r\n\r\n"),
			 0);
	assert_int_equal(M.status, 404);
	assert_int_equal(M.version_minor, 1);
	assert_true(span_is(M.reason, M.reason_len, "Not  Found \xc3\xa9\t"));
	assert_int_equal(M.nfields, 1);
	assert_true(field_is(0, "Content-Length", "0"));
	/* An empty reason, with or without its SP. */
	assert_int_equal(RESP("GET", "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n"), 0);
	assert_int_equal(M.status, 200);
	assert_int_equal(M.reason_len, 0);
	assert_int_equal(RESP("GET", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"), 0);
	assert_int_equal(M.status, 200);
	assert_int_equal(M.reason, 12);
	assert_int_equal(M.reason_len, 0);
	assert_int_equal(RESP("GET", "HTTP/1.0 599 x\r\n\r\n"), 0);
	assert_int_equal(M.status, 599);
	assert_int_equal(M.version_minor, 0);
	assert_int_equal(RESP("GET", "HTTP/1.7 100 x\r\n\r\n"), 0);
	assert_int_equal(M.version_minor, 1);
}

static void test_response_errors(void **state)
{
	static const char *const bad[] = {
		"HTTP/1.1 099 Low\r\n\r\n",
		"HTTP/1.1 600 High\r\n\r\n",
		"HTTP/1.1 000 Zero\r\n\r\n",
		"HTTP/1.1 20 Short\r\n\r\n",
		"HTTP/1.1 2000 Long\r\n\r\n",
		"HTTP/1.1  200 OK\r\n\r\n",
		"HTTP/1.1 200x\r\n\r\n",
		"HTTP/1.1\r\n\r\n",
		"HTTP/2.0 200 OK\r\n\r\n",
		"HTTP/0.9 200 OK\r\n\r\n",
		"http/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\x01\r\n\r\n",
		"HTTP/1.1 200 OK\x7f\r\n\r\n",
		"\r\nHTTP/1.1 200 OK\r\n\r\n",
		" HTTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: 1\r\n folded\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX : 1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: \x00\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 4611686018427387905\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n\r\n",
		"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n\r\n",
		"HTTP/1.1 200 OK\r\nConnection: content-length\r\nContent-Length: 5\r\n\r\n",
		("HTTP/1.1 200 OK\r\nConnection: a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u,v,w,x,y,z,"
		 "A,B,C,D,E,F,G\r\n\r\n"),
		"\x16\x03\x01",
		"<html>",
		"HTTP/1.1 200 OK\r\n\rX",
	};
	static char big[NET_H1_MAX_HEAD + 100];
	size_t n;

	(void)state;
	for (size_t i = 0; i < N(bad); i++) {
		size_t len = strlen(bad[i]);
		int st;

		if (i == 20) /* the NUL */
			len = 25;
		st = run(bad[i], len, NET_H1_MAX_HEAD, "GET");
		if (st != 502)
			fail_msg("case %zu %s: %d, not 502", i, bad[i], st);
	}
	/* Not even a status line: the first byte is enough. */
	assert_int_equal(RESP("GET", "<"), 502);
	assert_int_equal(RESP("GET", "HTTP/1.1 2x"), 502);
	assert_int_equal(RESP("GET", "HTTP/1.1 20"), -1);
	assert_int_equal(RESP("GET", "HTTP/1.1 200 OK\r\n\r"), -1);

	/* Too long, too many fields. */
	n = (size_t)sprintf(big, "HTTP/1.1 200 OK\r\n");
	assert_int_equal(run(big, n, 10, "GET"), 502);
	for (int i = 0; i <= NET_H1_MAX_FIELDS; i++)
		n += (size_t)sprintf(big + n, "X-%d: %d\r\n", i, i);
	n += (size_t)sprintf(big + n, "\r\n");
	assert_int_equal(run(big, n, NET_H1_MAX_HEAD, "GET"), 502);
	assert_int_equal(run(big, n, 100, "GET"), 502);
}

/* ---- chunked bodies -------------------------------------------------------- */

/* Scan s[0..n) in pieces cut at the given offsets; the outcome, with the
 * offset of the body's end for DONE (-1 for MORE, -2 for ERROR). */
static long scan_cuts(const char *s, size_t n, const size_t *cuts, size_t ncuts)
{
	struct net_h1_chunked c;
	size_t from = 0, used;

	net_h1_chunked_init(&c);
	for (size_t k = 0; k <= ncuts; k++) {
		size_t to = k < ncuts ? cuts[k] : n;
		/* each piece in a buffer of its own size, for ASan */
		char *piece = malloc(to - from > 0 ? to - from : 1);
		enum net_h1_chunk_result r;

		assert_non_null(piece);
		memcpy(piece, s + from, to - from);
		r = net_h1_chunked_scan(&c, piece, to - from, &used);
		free(piece);
		if (r == NET_H1_CHUNK_ERROR)
			return -2;
		if (r == NET_H1_CHUNK_DONE) {
			assert_true(used <= to - from);
			return (long)(from + used);
		}
		assert_int_equal(used, to - from);
		from = to;
	}
	return -1;
}

/* The outcome of scanning s all at once, checked against every split in
 * two and a byte at a time. */
static long scan_all(const char *s, size_t n)
{
	long whole = scan_cuts(s, n, NULL, 0);
	size_t *cuts = malloc((n + 1) * sizeof(*cuts));

	assert_non_null(cuts);
	for (size_t i = 0; i <= n; i++) {
		cuts[0] = i;
		if (scan_cuts(s, n, cuts, 1) != whole)
			fail_msg("split at %zu differs", i);
	}
	for (size_t i = 0; i < n; i++)
		cuts[i] = i + 1;
	if (n > 0 && scan_cuts(s, n, cuts, n - 1) != whole)
		fail_msg("byte at a time differs");
	free(cuts);
	return whole;
}

#define SCAN(s) scan_all(s, sizeof(s) - 1)

static void test_chunked_valid(void **state)
{
	static const char body[] = "5\r\nhello\r\n"
				   "1A;name=value;flag\r\nabcdefghijklmnopqrstuvwxyz\r\n"
				   "00a; q=\"quoted \\\" ;\"\t\r\n0123456789\r\n"
				   "000000000000001\r\nx\r\n"
				   "0;last\r\n"
				   "Checksum: abc\r\n"
				   "X-Empty:\r\n"
				   "X-Obs: caf\xc3\xa9\r\n"
				   "\r\n";
	static const char next[] = "GET / HTTP/1.1\r\n";
	char both[sizeof(body) + sizeof(next)];

	(void)state;
	assert_int_equal(SCAN(body), (long)sizeof(body) - 1);
	/* What follows the body is left. */
	memcpy(both, body, sizeof(body) - 1);
	memcpy(both + sizeof(body) - 1, next, sizeof(next));
	assert_int_equal(scan_all(both, strlen(both)), (long)sizeof(body) - 1);

	assert_int_equal(SCAN("0\r\n\r\n"), 5);
	assert_int_equal(SCAN("0\r\n\r\nHTTP/1.1 200 OK\r\n"), 5);
	assert_int_equal(SCAN("000\r\n\r\nx"), 7);
	assert_int_equal(SCAN("3\r\nabc\r\n0\r\nA: 1\r\nb:2\r\n\r\n\r\n"), 24);
	/* Data may hold anything, CR LF included. */
	assert_int_equal(SCAN("4\r\n\r\n\n\0\r\n0\r\n\r\n"), 14);
	/* Incomplete bodies ask for more. */
	assert_int_equal(SCAN(""), -1);
	assert_int_equal(SCAN("5"), -1);
	assert_int_equal(SCAN("5\r\nhel"), -1);
	assert_int_equal(SCAN("5\r\nhello\r\n0\r\nX: y\r\n"), -1);
	/* 15 hex digits: the largest chunk; its data is skipped in O(1). */
	{
		struct net_h1_chunked c;
		static char junk[1 << 16];
		size_t used;

		net_h1_chunked_init(&c);
		assert_int_equal(net_h1_chunked_scan(&c, "fffffffffffffff\r\n", 17, &used),
				 NET_H1_CHUNK_MORE);
		assert_int_equal(used, 17);
		assert_int_equal(c.remaining, 0xfffffffffffffffULL);
		assert_int_equal(net_h1_chunked_scan(&c, junk, sizeof(junk), &used),
				 NET_H1_CHUNK_MORE);
		assert_int_equal(used, sizeof(junk));
		assert_int_equal(c.remaining, 0xfffffffffffffffULL - sizeof(junk));

		/* Done stays done. */
		net_h1_chunked_init(&c);
		assert_int_equal(net_h1_chunked_scan(&c, "0\r\n\r\nab", 7, &used),
				 NET_H1_CHUNK_DONE);
		assert_int_equal(used, 5);
		assert_int_equal(net_h1_chunked_scan(&c, "ab", 2, &used), NET_H1_CHUNK_DONE);
		assert_int_equal(used, 0);
		/* So does an error. */
		net_h1_chunked_init(&c);
		assert_int_equal(net_h1_chunked_scan(&c, "x", 1, &used), NET_H1_CHUNK_ERROR);
		assert_int_equal(net_h1_chunked_scan(&c, "0\r\n\r\n", 5, &used),
				 NET_H1_CHUNK_ERROR);
	}
}

static void test_chunked_errors(void **state)
{
	static const char *const bad[] = {
		"x\r\n",
		"\r\n",
		";ext\r\n",
		" 5\r\nhello\r\n0\r\n\r\n",
		"5 \r\nhello\r\n0\r\n\r\n",
		"+5\r\nhello\r\n0\r\n\r\n",
		"0x5\r\nhello\r\n0\r\n\r\n",
		"5g\r\nhello\r\n0\r\n\r\n",
		"0000000000000005\r\nhello\r\n0\r\n\r\n",
		"ffffffffffffffff\r\n",
		"5\r\nhelloX\r\n0\r\n\r\n",
		"5\r\nhello\n0\r\n\r\n",
		"5\r\nhello\r0\r\n\r\n",
		"5\r\nhello0\r\n\r\n",
		"5\nhello\r\n0\r\n\r\n",
		"5\rhello\r\n0\r\n\r\n",
		"5;a\nhello\r\n0\r\n\r\n",
		"5;a\x01\r\nhello\r\n0\r\n\r\n",
		"5;a\x7f\r\nhello\r\n0\r\n\r\n",
		"0\r\n\n",
		"0\r\n\rx",
		"0\r\nX: y\n\r\n",
		"0\r\nX: y\r\r\n",
		"0\r\nX: y\x01\r\n\r\n",
		"0\r\nX y\r\n\r\n",
		"0\r\nX : y\r\n\r\n",
		"0\r\n: y\r\n\r\n",
		"0\r\nX: y\r\n folded\r\n\r\n",
		"0\r\n\tX: y\r\n\r\n",
		"0\r\nXy\r\n\r\n",
	};
	static char big[2 * 8192 + 100];
	size_t n;

	(void)state;
	for (size_t i = 0; i < N(bad); i++)
		if (scan_all(bad[i], strlen(bad[i])) != -2)
			fail_msg("case %zu: %s not an error", i, bad[i]);

	/* Extensions: 4096 bytes per line, ";" included. */
	memcpy(big, "1;", 2);
	memset(big + 2, 'e', 4095);
	memcpy(big + 4097, "\r\nx\r\n0\r\n\r\n", 10);
	assert_int_equal(scan_all(big, 4107), 4107);
	memcpy(big, "1;", 2);
	memset(big + 2, 'e', 4096);
	memcpy(big + 4098, "\r\nx\r\n0\r\n\r\n", 10);
	assert_int_equal(scan_all(big, 4108), -2);
	/* Per line, not per body. */
	n = 0;
	for (int i = 0; i < 3; i++) {
		memcpy(big + n, "1;", 2);
		memset(big + n + 2, 'e', 4000);
		memcpy(big + n + 4002, "\r\nx\r\n", 5);
		n += 4007;
	}
	memcpy(big + n, "0\r\n\r\n", 5);
	assert_int_equal(scan_cuts(big, n + 5, NULL, 0), (long)n + 5);

	/* Trailers: 8192 bytes in all, CR LFs of the field lines included. */
	memcpy(big, "0\r\nX: ", 6);
	memset(big + 6, 't', 8192 - 5);
	memcpy(big + 8192 + 1, "\r\n\r\n", 4);
	assert_int_equal(scan_cuts(big, 8192 + 5, NULL, 0), 8192 + 5);
	memcpy(big, "0\r\nX: ", 6);
	memset(big + 6, 't', 8192 - 4);
	memcpy(big + 8192 + 2, "\r\n\r\n", 4);
	assert_int_equal(scan_cuts(big, 8192 + 6, NULL, 0), -2);
	/* ... over several fields. */
	n = 3;
	memcpy(big, "0\r\n", 3);
	for (int i = 0; i < 4; i++) {
		memcpy(big + n, "X: ", 3);
		memset(big + n + 3, 't', 2100);
		memcpy(big + n + 2103, "\r\n", 2);
		n += 2105;
	}
	memcpy(big + n, "\r\n", 2);
	assert_int_equal(scan_cuts(big, n + 2, NULL, 0), -2);
}

/* Decode with net_h1_chunked_next, step bytes at a time; the data into
 * out, returns the bytes of the body used (-1: more needed, -2: error). */
static long decode(const char *in, size_t len, size_t step, char *out, size_t cap,
		   size_t *outlen)
{
	struct net_h1_chunked c;
	size_t off = 0;

	*outlen = 0;
	net_h1_chunked_init(&c);
	while (off < len) {
		size_t n = len - off < step ? len - off : step, used, d, dl;
		enum net_h1_chunk_result r = net_h1_chunked_next(&c, in + off, n, &used, &d, &dl);

		if (r == NET_H1_CHUNK_ERROR)
			return -2;
		assert_true(used <= n);
		assert_true(d + dl <= used);
		assert_true(*outlen + dl <= cap);
		memcpy(out + *outlen, in + off + d, dl);
		*outlen += dl;
		off += used;
		if (r == NET_H1_CHUNK_DONE)
			return (long)off;
		assert_true(used > 0);
	}
	return -1;
}

static void test_chunked_decode(void **state)
{
	static const char body[] = "5\r\nhello\r\n"
				   "1A;name=value\r\nabcdefghijklmnopqrstuvwxyz\r\n"
				   "4\r\n\r\n\n\0\r\n"
				   "0\r\nChecksum: abc\r\n\r\nGET";
	static const char want[] = "helloabcdefghijklmnopqrstuvwxyz\r\n\n\0";
	char out[128];
	size_t outlen;

	(void)state;
	for (size_t step = 1; step <= sizeof(body); step++) {
		assert_int_equal(decode(body, sizeof(body) - 1, step, out, sizeof(out), &outlen),
				 (long)sizeof(body) - 4);
		assert_int_equal(outlen, sizeof(want) - 1);
		assert_memory_equal(out, want, outlen);
	}
	assert_int_equal(decode("5\r\nhel", 6, 3, out, sizeof(out), &outlen), -1);
	assert_int_equal(outlen, 3);
	assert_int_equal(decode("5\r\nhelloX", 9, 64, out, sizeof(out), &outlen), -2);
	assert_int_equal(decode("g\r\n", 3, 64, out, sizeof(out), &outlen), -2);
	assert_int_equal(outlen, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_get),
		cmocka_unit_test(test_typical_heads),
		cmocka_unit_test(test_request_targets),
		cmocka_unit_test(test_request_errors),
		cmocka_unit_test(test_request_lengths),
		cmocka_unit_test(test_request_hop),
		cmocka_unit_test(test_request_keep_alive),
		cmocka_unit_test(test_request_upgrade_expect),
		cmocka_unit_test(test_request_pipelined),
		cmocka_unit_test(test_request_limits),
		cmocka_unit_test(test_request_host),
		cmocka_unit_test(test_response_body_declared),
		cmocka_unit_test(test_response_framing),
		cmocka_unit_test(test_response_status_line),
		cmocka_unit_test(test_response_errors),
		cmocka_unit_test(test_chunked_valid),
		cmocka_unit_test(test_chunked_errors),
		cmocka_unit_test(test_chunked_decode),
	};

	return cmocka_run_group_tests(tests, NULL, group_teardown);
}
