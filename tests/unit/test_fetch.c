/* fetch/: moat's HTTP client against a small HTTP/1.1 server forked by the
 * test on 127.0.0.1 (a port the kernel picks): libcurl loaded only by the
 * first request, status and body, the size cap, the timeout, the headers
 * kept, a POST's body, redirects, schemes, a reused client. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fetch/fetch.h"

#define BIG 5000 /* bytes /big and /stream send */
#define CAP 1000 /* the cap the tests set */

static pid_t server_pid = -1;
static int server_port;
static char base[64]; /* http://127.0.0.1:PORT */

/* ---- the server ------------------------------------------------------------------- */

static void send_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w <= 0)
			return;
		c += w;
		n -= (size_t)w;
	}
}

static void reply(int fd, const char *status, const char *headers, const void *body, size_t n)
{
	char head[1024];

	snprintf(head, sizeof(head),
		 "HTTP/1.1 %s\r\n%sContent-Length: %zu\r\nConnection: close\r\n\r\n", status,
		 headers, n);
	send_all(fd, head, strlen(head));
	send_all(fd, body, n);
}

/* The value of request header name in head (a copy in out), or "". */
static void request_header(const char *head, const char *name, char *out, size_t n)
{
	size_t nl = strlen(name);

	out[0] = '\0';
	for (const char *l = strstr(head, "\r\n"); l != NULL; l = strstr(l + 2, "\r\n")) {
		const char *v = l + 2;
		if (strncasecmp(v, name, nl) == 0 && v[nl] == ':') {
			size_t len;
			v += nl + 1;
			while (*v == ' ')
				v++;
			len = strcspn(v, "\r\n");
			snprintf(out, n, "%.*s", (int)len, v);
			return;
		}
	}
}

/* One connection: read one request, answer it by its path, close. */
static void serve_connection(int fd)
{
	static char req[16384], out[20000];
	char method[16] = "", path[256] = "", ctype[128], clen[32], xtest[64];
	size_t got = 0, head_len, body_len;
	char *end = NULL, big[BIG];

	while (got < sizeof(req) - 1 && (end = strstr(req, "\r\n\r\n")) == NULL) {
		ssize_t r = read(fd, req + got, sizeof(req) - 1 - got);
		if (r <= 0)
			return;
		got += (size_t)r;
		req[got] = '\0';
	}
	if (end == NULL || sscanf(req, "%15s %255s", method, path) != 2)
		return;
	head_len = (size_t)(end + 4 - req);
	*end = '\0';
	request_header(req, "Content-Type", ctype, sizeof(ctype));
	request_header(req, "Content-Length", clen, sizeof(clen));
	request_header(req, "X-Test", xtest, sizeof(xtest));
	body_len = (size_t)strtoul(clen, NULL, 10);
	while (got < head_len + body_len && got < sizeof(req)) {
		ssize_t r = read(fd, req + got, sizeof(req) - got);
		if (r <= 0)
			return;
		got += (size_t)r;
	}
	memset(big, 'x', sizeof(big));
	if (strcmp(path, "/status/404") == 0) {
		reply(fd, "404 Not Found", "", "not found", 9);
	} else if (strcmp(path, "/big") == 0) {
		reply(fd, "200 OK", "", big, BIG);
	} else if (strcmp(path, "/exact") == 0) {
		reply(fd, "200 OK", "", big, CAP);
	} else if (strcmp(path, "/stream") == 0) {
		/* No Content-Length: the body runs to the close. */
		const char *h = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";
		send_all(fd, h, strlen(h));
		send_all(fd, big, BIG);
	} else if (strcmp(path, "/slow") == 0) {
		sleep(20);
	} else if (strcmp(path, "/headers") == 0) {
		char h[FETCH_MAX_VALUE + 512];
		char long_value[FETCH_MAX_VALUE + 10];
		memset(long_value, 'v', sizeof(long_value) - 1);
		long_value[sizeof(long_value) - 1] = '\0';
		snprintf(h, sizeof(h),
			 "Replay-Nonce: n1\r\nX-Junk: j\r\nLink: <https://a/>;rel=up\r\n"
			 "location:   /x  \r\nLink: <https://b/>;rel=alternate\r\nX-Long: %s\r\n",
			 long_value);
		reply(fd, "200 OK", h, "ok", 2);
	} else if (strcmp(path, "/echo") == 0) {
		int n = snprintf(out, sizeof(out), "%s %s %s\n", method, ctype, xtest);
		memcpy(out + n, req + head_len, got - head_len);
		reply(fd, "200 OK", "", out, (size_t)n + (got - head_len));
	} else if (strcmp(path, "/redirect") == 0) {
		reply(fd, "302 Found", "Location: /status/404\r\n", "", 0);
	} else {
		reply(fd, "500 Internal Server Error", "", "?", 1);
	}
}

static int server_setup(void **state)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int lfd;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(lfd, 16) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen) != 0)
		return -1;
	server_port = ntohs(a.sin_port);
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", server_port);
	if ((server_pid = fork()) < 0)
		return -1;
	if (server_pid == 0) {
		/* One process per connection, so that /slow holds up no one;
		 * the group is killed whole by the teardown. */
		setpgid(0, 0);
		signal(SIGCHLD, SIG_IGN);
		for (;;) {
			int fd = accept(lfd, NULL, NULL);
			if (fd < 0)
				continue;
			if (fork() == 0) {
				close(lfd);
				serve_connection(fd);
				close(fd);
				_exit(0);
			}
			close(fd);
		}
	}
	setpgid(server_pid, server_pid);
	close(lfd);
	return 0;
}

static int server_teardown(void **state)
{
	(void)state;
	if (server_pid > 0) {
		kill(-server_pid, SIGKILL);
		kill(server_pid, SIGKILL);
		waitpid(server_pid, NULL, 0);
	}
	return 0;
}

/* ---- the tests ---------------------------------------------------------------------- */

static bool curl_mapped(void)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, "libcurl") != NULL)
			found = true;
	fclose(f);
	return found;
}

static const char *url(const char *path)
{
	static char u[128];

	snprintf(u, sizeof(u), "%s%s", base, path);
	return u;
}

/* Runs first: nothing before a request loads libcurl; the request does. */
static void test_lazy_load(void **state)
{
	struct fetch_req q = {.url = url("/status/404"), .timeout_ms = 5000};
	struct fetch_resp r;
	struct moat_err err;
	struct fetch *f;

	(void)state;
	assert_false(curl_mapped());
	f = fetch_new(&err);
	assert_non_null(f);
	fetch_free(f);
	fetch_free(NULL);
	fetch_resp_clear(NULL);
	assert_false(curl_mapped());
	assert_int_equal(fetch_once(&q, &r, &err), 0);
	assert_true(curl_mapped());
	fetch_resp_clear(&r);
}

static void test_status_body(void **state)
{
	struct fetch_req q = {.url = url("/status/404"), .timeout_ms = 5000};
	struct fetch_resp r;
	struct moat_err err;

	(void)state;
	assert_int_equal(fetch_once(&q, &r, &err), 0);
	assert_int_equal(r.status, 404);
	assert_int_equal(r.fail, FETCH_OK);
	assert_int_equal(r.body.len, 9);
	assert_string_equal((const char *)r.body.data, "not found");
	fetch_resp_clear(&r);

	/* Exactly the cap is fine. */
	q.url = url("/exact");
	q.max_body = CAP;
	assert_int_equal(fetch_once(&q, &r, &err), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, CAP);
	assert_int_equal(r.body.data[CAP], '\0');
	fetch_resp_clear(&r);
}

static void test_size_cap(void **state)
{
	static const char *const paths[] = {"/big", "/stream"}; /* Content-Length or none */
	struct fetch_req q = {.timeout_ms = 5000, .max_body = CAP};
	struct fetch_resp r;
	struct moat_err err;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		q.url = url(paths[i]);
		moat_err_clear(&err);
		assert_int_equal(fetch_once(&q, &r, &err), -1);
		assert_int_equal(r.fail, FETCH_FAIL_TOO_BIG);
		assert_int_equal(r.status, 0);
		assert_int_equal(r.body.len, 0);
		assert_null(r.body.data);
		assert_non_null(strstr(err.msg, "sent more than 1000 bytes"));
		assert_non_null(strstr(err.msg, paths[i]));
		fetch_resp_clear(&r);
	}
	/* A HEAD has no body: the Content-Length of 5000 is no reason to fail. */
	q.url = url("/big");
	q.method = FETCH_HEAD;
	assert_int_equal(fetch_once(&q, &r, &err), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 0);
	fetch_resp_clear(&r);
}

static void test_timeout(void **state)
{
	struct fetch_req q = {.url = url("/slow"), .timeout_ms = 300};
	struct fetch_resp r;
	struct moat_err err;
	struct timespec t0, t1;
	double s;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(fetch_once(&q, &r, &err), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_int_equal(r.fail, FETCH_FAIL_TIMEOUT);
	assert_true(s >= 0.25 && s < 5.0);
	assert_non_null(strstr(err.msg, "cannot fetch http://127.0.0.1:"));
	assert_string_not_equal(err.hint, "");
	fetch_resp_clear(&r);
}

static void test_headers_kept(void **state)
{
	static const char *const want[] = {"Replay-Nonce", "Location", "Link", "X-Long", NULL};
	struct fetch_req q = {.url = url("/headers"), .want = want, .timeout_ms = 5000};
	struct fetch_resp r;
	struct moat_err err;

	(void)state;
	assert_int_equal(fetch_once(&q, &r, &err), 0);
	assert_int_equal(r.status, 200);
	/* In the order sent, named as asked, values trimmed; X-Junk was not
	 * asked for, X-Long is longer than FETCH_MAX_VALUE. */
	assert_int_equal(r.nfields, 4);
	assert_string_equal(r.fields[0].name, "Replay-Nonce");
	assert_string_equal(r.fields[0].value, "n1");
	assert_string_equal(r.fields[1].name, "Link");
	assert_string_equal(r.fields[1].value, "<https://a/>;rel=up");
	assert_string_equal(r.fields[2].name, "Location");
	assert_string_equal(r.fields[2].value, "/x");
	assert_string_equal(r.fields[3].value, "<https://b/>;rel=alternate");
	assert_string_equal(fetch_resp_header(&r, "link"), "<https://b/>;rel=alternate");
	assert_null(fetch_resp_header(&r, "X-Junk"));
	assert_null(fetch_resp_header(&r, "X-Long"));
	fetch_resp_clear(&r);
	assert_int_equal(r.nfields, 0);

	/* Without a want list, nothing is kept. */
	q.want = NULL;
	assert_int_equal(fetch_once(&q, &r, &err), 0);
	assert_int_equal(r.nfields, 0);
	fetch_resp_clear(&r);
}

static void test_header_lines(void **state)
{
	static const char *const want[] = {"A", NULL};
	const struct fetch_req q = {.want = want};
	struct fetch_resp r;
	char line[32];

	(void)state;
	memset(&r, 0, sizeof(r));
	fetch_resp_header_line(&q, &r, "a: 1\r\n", 6);
	fetch_resp_header_line(&q, &r, ": no name\r\n", 11);
	fetch_resp_header_line(&q, &r, "no colon\r\n", 10);
	fetch_resp_header_line(&q, &r, "A:\r\n", 4);
	assert_int_equal(r.nfields, 2);
	assert_string_equal(r.fields[1].value, "");
	/* At most FETCH_MAX_FIELDS lines are kept. */
	for (int i = 0; i < FETCH_MAX_FIELDS + 5; i++) {
		int n = snprintf(line, sizeof(line), "A: %d\r\n", i);
		fetch_resp_header_line(&q, &r, line, (size_t)n);
	}
	assert_int_equal(r.nfields, FETCH_MAX_FIELDS);
	/* A status line starts a new response. */
	fetch_resp_header_line(&q, &r, "HTTP/2 200\r\n", 12);
	assert_int_equal(r.nfields, 0);
	assert_null(fetch_resp_header(&r, "A"));
	fetch_resp_clear(&r);
}

static void test_post_body(void **state)
{
	static const char *const extra[] = {"X-Test: yes", NULL};
	static const char body[] = {'o', 'c', 's', 'p', '\0', 0x30, (char)0x82};
	struct fetch_req q = {
		.url = url("/echo"),
		.method = FETCH_POST,
		.body = body,
		.body_len = sizeof(body),
		.content_type = "application/ocsp-request",
		.headers = extra,
		.timeout_ms = 5000,
	};
	const char *want = "POST application/ocsp-request yes\n";
	struct fetch_resp r;
	struct moat_err err;

	(void)state;
	assert_int_equal(fetch_once(&q, &r, &err), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, strlen(want) + sizeof(body));
	assert_memory_equal(r.body.data, want, strlen(want));
	assert_memory_equal(r.body.data + strlen(want), body, sizeof(body));
	fetch_resp_clear(&r);

	/* A GET sends no body and no Content-Type. */
	q.method = FETCH_GET;
	assert_int_equal(fetch_once(&q, &r, &err), 0);
	assert_string_equal((const char *)r.body.data, "GET  yes\n");
	fetch_resp_clear(&r);
}

static void test_redirects(void **state)
{
	static const char *const want[] = {"Location", NULL};
	struct fetch_req q = {.url = url("/redirect"), .want = want, .timeout_ms = 5000};
	struct fetch_resp r;
	struct moat_err err;

	(void)state;
	/* Not followed: the 302 is the answer. */
	assert_int_equal(fetch_once(&q, &r, &err), 0);
	assert_int_equal(r.status, 302);
	assert_string_equal(fetch_resp_header(&r, "Location"), "/status/404");
	fetch_resp_clear(&r);
	/* Followed: the last answer, with its own headers only. */
	q.max_redirects = 3;
	assert_int_equal(fetch_once(&q, &r, &err), 0);
	assert_int_equal(r.status, 404);
	assert_null(fetch_resp_header(&r, "Location"));
	assert_string_equal((const char *)r.body.data, "not found");
	fetch_resp_clear(&r);
}

static void test_schemes_and_errors(void **state)
{
	struct fetch_req q = {.url = url("/status/404"), .https_only = true, .timeout_ms = 5000};
	struct fetch_resp r;
	struct moat_err err;
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	char closed[64];
	int fd;

	(void)state;
	assert_int_equal(fetch_once(&q, &r, &err), -1);
	assert_int_equal(r.fail, FETCH_FAIL_SCHEME);
	assert_string_not_equal(r.reason, "");
	fetch_resp_clear(&r);

	q.https_only = false;
	q.url = "ftp://127.0.0.1/";
	assert_int_equal(fetch_once(&q, &r, &err), -1);
	assert_int_equal(r.fail, FETCH_FAIL_SCHEME);
	fetch_resp_clear(&r);

	/* A port nothing listens on (bound, then closed). */
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	close(fd);
	snprintf(closed, sizeof(closed), "http://127.0.0.1:%d/", ntohs(a.sin_port));
	q.url = closed;
	assert_int_equal(fetch_once(&q, &r, &err), -1);
	assert_int_equal(r.fail, FETCH_FAIL_CONNECT);
	assert_non_null(strstr(err.msg, closed));
	fetch_resp_clear(&r);

	/* connect_to sends a request for another name to this server. */
	snprintf(closed, sizeof(closed), "example.invalid:80:127.0.0.1:%d", server_port);
	q.url = "http://example.invalid/status/404";
	q.connect_to = closed;
	assert_int_equal(fetch_once(&q, &r, &err), 0);
	assert_int_equal(r.status, 404);
	fetch_resp_clear(&r);
}

static void test_reused_client(void **state)
{
	struct fetch_req q = {.timeout_ms = 5000};
	struct fetch_resp r;
	struct moat_err err;
	struct fetch *f = fetch_new(&err);

	(void)state;
	assert_non_null(f);
	for (int i = 0; i < 3; i++) {
		q.url = url(i == 1 ? "/exact" : "/status/404");
		assert_int_equal(fetch_request(f, &q, &r, &err), 0);
		assert_int_equal(r.status, i == 1 ? 200 : 404);
		fetch_resp_clear(&r);
	}
	fetch_free(f);
}

static void test_http_date(void **state)
{
	(void)state;
	assert_int_equal(fetch_http_date("Wed, 21 Oct 2015 07:28:00 GMT"), 1445412480);
	assert_int_equal(fetch_http_date("soon"), -1);
	assert_int_equal(fetch_http_date(NULL), -1);
	assert_int_equal(fetch_load(NULL), 0);
}

int main(void)
{
	static const char *const proxies[] = {"http_proxy", "https_proxy", "HTTPS_PROXY",
					      "all_proxy", "ALL_PROXY"};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lazy_load), /* first: nothing loaded yet */
		cmocka_unit_test(test_status_body),
		cmocka_unit_test(test_size_cap),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_headers_kept),
		cmocka_unit_test(test_header_lines),
		cmocka_unit_test(test_post_body),
		cmocka_unit_test(test_redirects),
		cmocka_unit_test(test_schemes_and_errors),
		cmocka_unit_test(test_reused_client),
		cmocka_unit_test(test_http_date),
	};

	/* The server is on 127.0.0.1: no proxy of the caller's in between. */
	for (size_t i = 0; i < sizeof(proxies) / sizeof(proxies[0]); i++)
		unsetenv(proxies[i]);
	return cmocka_run_group_tests(tests, server_setup, server_teardown);
}
