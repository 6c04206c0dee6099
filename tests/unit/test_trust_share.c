/* Unit tests for the trust page: the QR codes (matrix, terminal text, SVG),
 * URLs, the request handler called directly (routes, content types, 405,
 * HEAD, escaping of a hostile CA name) and a real server on 127.0.0.1
 * talked to with a plain socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"

#include "trust/qr.h"
#include "trust/share.h"
#include "trust/trust.h"

#define HOSTILE "<script>alert(1)</script> & \"Dev\" 'CA'"

/* ---- QR codes ------------------------------------------------------------------ */

static struct trust_qr *qr_of(const char *text)
{
	struct moat_err err = {0};
	struct trust_qr *qr = trust_qr_new(text, &err);

	if (qr == NULL)
		fail_msg("trust_qr_new(%s): %s", text, err.msg);
	return qr;
}

static void test_qr_sizes(void **state)
{
	/* Byte-mode capacities at level M: version 1 holds 14 bytes, 2: 26,
	 * 3: 42, 6: 106. */
	static const struct {
		size_t len;
		int version;
	} cases[] = {{1, 1}, {14, 1}, {15, 2}, {26, 2}, {27, 3}, {42, 3}, {100, 6}};
	struct trust_qr *qr;
	char text[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(text, 'a', cases[i].len);
		text[cases[i].len] = '\0';
		qr = qr_of(text);
		assert_int_equal(trust_qr_version(qr), cases[i].version);
		assert_int_equal(trust_qr_size(qr), 17 + 4 * cases[i].version);
		trust_qr_free(qr);
	}
	/* The page's URL as it usually is: 25 bytes, version 2. */
	qr = qr_of("http://192.168.1.20:8080/");
	assert_int_equal(trust_qr_size(qr), 25);
	trust_qr_free(qr);
	trust_qr_free(NULL);
}

static void test_qr_errors(void **state)
{
	struct moat_err err = {0};
	char *big = malloc(TRUST_QR_MAX_TEXT + 2);

	(void)state;
	assert_null(trust_qr_new("", &err));
	assert_non_null(strstr(err.msg, "QR code"));
	assert_null(trust_qr_new(NULL, &err));
	assert_non_null(big);
	memset(big, 'x', TRUST_QR_MAX_TEXT + 1);
	big[TRUST_QR_MAX_TEXT + 1] = '\0';
	moat_err_clear(&err);
	assert_null(trust_qr_new(big, &err));
	assert_true(moat_err_isset(&err));
	big[TRUST_QR_MAX_TEXT] = '\0'; /* exactly the limit: fits in version 40-M (2331) */
	trust_qr_free(qr_of(big));
	free(big);
}

/* A finder pattern with its top-left corner at (x0, y0): a dark 7x7 ring,
 * a light ring, a dark 3x3 core. */
static void check_finder(const struct trust_qr *qr, int x0, int y0)
{
	for (int y = 0; y < 7; y++) {
		for (int x = 0; x < 7; x++) {
			bool ring = x == 0 || y == 0 || x == 6 || y == 6;
			bool core = x >= 2 && x <= 4 && y >= 2 && y <= 4;
			if (trust_qr_dark(qr, x0 + x, y0 + y) != (ring || core))
				fail_msg("finder at (%d,%d): module (%d,%d) wrong", x0, y0, x, y);
		}
	}
}

static void test_qr_matrix(void **state)
{
	struct trust_qr *qr = qr_of("http://printer.local:8080/");
	int n = trust_qr_size(qr);

	(void)state;
	check_finder(qr, 0, 0);
	check_finder(qr, n - 7, 0);
	check_finder(qr, 0, n - 7);
	/* separators: light */
	for (int i = 0; i < 8; i++) {
		assert_false(trust_qr_dark(qr, 7, i));
		assert_false(trust_qr_dark(qr, i, 7));
		assert_false(trust_qr_dark(qr, n - 8, i));
		assert_false(trust_qr_dark(qr, i, n - 8));
	}
	/* timing patterns: alternate, dark on even coordinates */
	for (int i = 8; i < n - 8; i++) {
		assert_int_equal(trust_qr_dark(qr, i, 6), i % 2 == 0);
		assert_int_equal(trust_qr_dark(qr, 6, i), i % 2 == 0);
	}
	/* the dark module next to the bottom-left finder */
	assert_true(trust_qr_dark(qr, 8, n - 8));
	/* outside: light */
	assert_false(trust_qr_dark(qr, -1, 0));
	assert_false(trust_qr_dark(qr, 0, n));
	assert_false(trust_qr_dark(qr, n, n));
	trust_qr_free(qr);
}

/* Parse the half-block rendering back: light[y][x] for every drawn row. */
static void check_text(const struct trust_qr *qr, const char *text, bool ansi)
{
	const int q = TRUST_QR_TEXT_QUIET, total = trust_qr_size(qr) + 2 * q;
	const char *p = text;
	int lines = 0;

	while (*p != '\0') {
		int x = 0;

		if (ansi) {
			assert_memory_equal(p, "\x1b[97;40m", 8);
			p += 8;
		}
		while (*p != '\n' && *p != '\x1b' && *p != '\0') {
			bool top = false, bottom = false;

			if (*p == ' ') {
				top = bottom = false;
				p++;
			} else if (memcmp(p, "\xe2\x96\x88", 3) == 0) {
				top = bottom = true;
				p += 3;
			} else if (memcmp(p, "\xe2\x96\x80", 3) == 0) {
				top = true, bottom = false;
				p += 3;
			} else if (memcmp(p, "\xe2\x96\x84", 3) == 0) {
				top = false, bottom = true;
				p += 3;
			} else {
				fail_msg("unexpected byte 0x%02x in line %d", (unsigned char)*p, lines);
			}
			/* drawn = light */
			assert_int_equal(top, !trust_qr_dark(qr, x - q, 2 * lines - q));
			if (2 * lines + 1 < total)
				assert_int_equal(bottom, !trust_qr_dark(qr, x - q, 2 * lines + 1 - q));
			else
				assert_true(bottom); /* below the last row: more quiet zone */
			x++;
		}
		assert_int_equal(x, total);
		if (ansi) {
			assert_memory_equal(p, "\x1b[0m", 4);
			p += 4;
		}
		assert_int_equal(*p, '\n');
		p++;
		lines++;
	}
	assert_int_equal(lines, (total + 1) / 2);
}

static void test_qr_text(void **state)
{
	struct moat_err err = {0};
	struct moat_buf plain = MOAT_BUF_INIT, ansi = MOAT_BUF_INIT;
	struct trust_qr *qr = qr_of("http://[fd00::2]:8080/");

	(void)state;
	assert_int_equal(trust_qr_text(qr, false, &plain, &err), 0);
	assert_int_equal(trust_qr_text(qr, true, &ansi, &err), 0);
	check_text(qr, (const char *)plain.data, false);
	check_text(qr, (const char *)ansi.data, true);
	/* the quiet zone: the first line is all full blocks */
	assert_memory_equal(plain.data, "\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88", 9);
	assert_null(strchr((const char *)plain.data, '\x1b'));
	moat_buf_free(&plain);
	moat_buf_free(&ansi);
	trust_qr_free(qr);
}

static void test_qr_svg(void **state)
{
	struct moat_err err = {0};
	struct moat_buf b = MOAT_BUF_INIT;
	struct trust_qr *qr = qr_of("http://192.168.1.20:8080/");
	const int n = trust_qr_size(qr), q = TRUST_QR_SVG_QUIET, total = n + 2 * q;
	char want[128];
	unsigned char *seen = calloc((size_t)n * (size_t)n, 1);
	const char *p, *end;
	int dark = 0, drawn = 0;

	(void)state;
	assert_non_null(seen);
	assert_int_equal(trust_qr_svg(qr, 5, &b, &err), 0);
	p = (const char *)b.data;
	assert_true(strncmp(p, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) == 0);
	snprintf(want, sizeof(want), "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\"", total,
		 total, 5 * total, 5 * total);
	assert_non_null(strstr(p, want));
	assert_non_null(strstr(p, "shape-rendering=\"crispEdges\""));
	snprintf(want, sizeof(want), "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>", total, total);
	assert_non_null(strstr(p, want));
	assert_non_null(strstr(p, "<path"));
	assert_null(strstr(strstr(p, "<path") + 1, "<path")); /* exactly one */
	assert_string_equal(p + b.len - 9, "\"/></svg>");
	/* Every "Mx yhNv1h-Nz" run must cover dark modules only, once. */
	p = strstr(p, " d=\"") + 4;
	end = strchr(p, '"');
	while (p < end) {
		int x, y, run, run2, used;

		assert_int_equal(sscanf(p, "M%d %dh%dv1h-%dz%n", &x, &y, &run, &run2, &used), 4);
		assert_int_equal(run, run2);
		for (int i = 0; i < run; i++) {
			int mx = x - q + i, my = y - q;
			assert_true(trust_qr_dark(qr, mx, my));
			assert_int_equal(seen[my * n + mx], 0);
			seen[my * n + mx] = 1;
			drawn++;
		}
		p += used;
	}
	for (int y = 0; y < n; y++)
		for (int x = 0; x < n; x++)
			dark += trust_qr_dark(qr, x, y);
	assert_int_equal(drawn, dark);
	moat_buf_free(&b);
	free(seen);
	trust_qr_free(qr);
}

/* ---- URLs ------------------------------------------------------------------------ */

static void test_make_url(void **state)
{
	static const struct {
		const char *host;
		uint16_t port;
		const char *url; /* NULL: refused */
	} cases[] = {
		{"192.168.1.20", 8080, "http://192.168.1.20:8080/"},
		{"192.168.1.20", 80, "http://192.168.1.20/"},
		{"Laptop.Local", 8443, "http://laptop.local:8443/"},
		{"::1", 8080, "http://[::1]:8080/"},
		{"[fd00::2]", 1, "http://[fd00::2]:1/"},
		{"*.example.com", 8080, NULL},
		{"a b", 8080, NULL},
		{"\"><script>", 8080, NULL},
		{"host/path", 8080, NULL},
		{"", 8080, NULL},
	};
	char url[300];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct moat_err err = {0};
		int r = trust_share_make_url(cases[i].host, cases[i].port, url, sizeof(url), &err);

		if (cases[i].url == NULL) {
			assert_int_equal(r, -1);
			assert_true(moat_err_isset(&err));
		} else {
			assert_int_equal(r, 0);
			assert_string_equal(url, cases[i].url);
		}
	}
	assert_int_equal(trust_share_make_url("192.168.1.20", 8080, url, 10, NULL), -1);
}

static void test_lan_addrs(void **state)
{
	struct moat_err err = {0};
	char addrs[TRUST_SHARE_MAX_ADDRS][64];
	size_t n = 99;

	(void)state;
	assert_int_equal(trust_share_lan_addrs(addrs, TRUST_SHARE_MAX_ADDRS, &n, &err), 0);
	assert_true(n <= TRUST_SHARE_MAX_ADDRS);
	for (size_t i = 0; i < n; i++) {
		struct in_addr a;
		uint32_t h;

		assert_int_equal(inet_pton(AF_INET, addrs[i], &a), 1);
		h = ntohl(a.s_addr);
		assert_true(h >> 24 != 127);      /* no loopback */
		assert_true(h >> 16 != 0xa9fe);   /* no link-local */
		for (size_t k = 0; k < i; k++)
			assert_string_not_equal(addrs[i], addrs[k]);
	}
	assert_int_equal(trust_share_lan_addrs(addrs, 0, &n, &err), 0);
	assert_int_equal(n, 0);
}

/* ---- the server ------------------------------------------------------------------ */

struct fx {
	struct pki_key *key;
	struct pki_cert *root;
	struct trust_share *share;
	struct trust_share_event last;
	int events;
};

static void on_event(void *arg, const struct trust_share_event *ev)
{
	struct fx *f = arg;

	f->last = *ev;
	f->events++;
}

static struct pki_cert *make_root(struct pki_key *key, const char *cn)
{
	struct moat_err err = {0};
	int64_t now = (int64_t)time(NULL);
	struct pki_cert_spec spec = {
		.profile = PKI_PROFILE_ROOT,
		.common_name = cn,
		.organization = "Moat Test",
		.not_before = now - 3600,
		.not_after = now + 86400 * 30,
	};
	struct pki_cert *c = pki_cert_build(&spec, key, NULL, key, &err);

	if (c == NULL)
		fail_msg("root: %s", err.msg);
	return c;
}

static int setup(void **state)
{
	struct moat_err err = {0};
	struct fx *f = calloc(1, sizeof(*f));
	struct trust_share_opts o;

	assert_non_null(f);
	f->key = fx_key(PKI_KEY_EC_P256);
	f->root = make_root(f->key, HOSTILE);
	memset(&o, 0, sizeof(o));
	o.root = f->root;
	o.ca_name = HOSTILE;
	o.listen_addr = "127.0.0.1";
	o.port = 0;
	o.host = "127.0.0.1";
	o.log = on_event;
	o.log_arg = f;
	f->share = trust_share_new(&o, &err);
	if (f->share == NULL)
		fail_msg("trust_share_new: %s", err.msg);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	trust_share_free(f->share);
	pki_cert_free(f->root);
	pki_key_free(f->key);
	free(f);
	return 0;
}

static struct net_http_reply call(struct fx *f, const char *method, const char *target)
{
	struct net_http_request req = {.method = method, .target = target, .host = "",
				       .peer = "192.0.2.7", .version_minor = 1};
	struct net_http_reply r = {.status = 404};
	int before = f->events;

	trust_share_handle(f->share, &req, &r);
	assert_int_equal(f->events, before + 1);
	assert_int_equal(f->last.status, r.status);
	assert_string_equal(f->last.peer, "192.0.2.7");
	assert_string_equal(f->last.target, target);
	assert_false(r.free_body);
	return r;
}

static void expect_body(struct net_http_reply r, const char *ctype, const struct moat_buf *want)
{
	assert_int_equal(r.status, 200);
	assert_string_equal(r.content_type, ctype);
	assert_int_equal(r.len, want->len);
	assert_memory_equal(r.body, want->data, want->len);
}

static void test_routes(void **state)
{
	struct fx *f = *state;
	struct moat_err err = {0};
	struct moat_buf der = MOAT_BUF_INIT, pem = MOAT_BUF_INIT, mc = MOAT_BUF_INIT;
	struct net_http_reply r;
	const struct trust_share_file *files;
	size_t nfiles;

	assert_int_equal(trust_export(f->root, HOSTILE, TRUST_DER, &der, &err), 0);
	assert_int_equal(trust_export(f->root, HOSTILE, TRUST_PEM, &pem, &err), 0);
	assert_int_equal(trust_export(f->root, HOSTILE, TRUST_MOBILECONFIG, &mc, &err), 0);

	r = call(f, "GET", "/moat-root.crt");
	expect_body(r, "application/x-x509-ca-cert", &der);
	assert_non_null(f->last.file);
	assert_true(f->last.file->root);
	assert_string_equal(f->last.file->format, "der");
	expect_body(call(f, "GET", "/moat-root.pem"), "application/x-pem-file", &pem);
	expect_body(call(f, "GET", "/moat-root.mobileconfig"), "application/x-apple-aspen-config",
		    &mc);
	/* the query string does not matter; the absolute form works */
	expect_body(call(f, "GET", "/moat-root.crt?x=1&y=/moat-root.pem"),
		    "application/x-x509-ca-cert", &der);
	expect_body(call(f, "GET", "http://127.0.0.1:8080/moat-root.pem"), "application/x-pem-file",
		    &pem);
	/* HEAD: same answer (the engine drops the body) */
	expect_body(call(f, "HEAD", "/moat-root.crt"), "application/x-x509-ca-cert", &der);

	r = call(f, "GET", "/qr.svg");
	assert_int_equal(r.status, 200);
	assert_string_equal(r.content_type, "image/svg+xml");
	assert_true(strncmp(r.body, "<svg ", 5) == 0);
	assert_false(f->last.file->root);

	r = call(f, "GET", "/");
	assert_int_equal(r.status, 200);
	assert_string_equal(r.content_type, "text/html; charset=utf-8");
	assert_string_equal(f->last.file->format, "html");
	r = call(f, "GET", "/index.html?from=qr");
	assert_int_equal(r.status, 200);
	assert_string_equal(r.content_type, "text/html; charset=utf-8");
	r = call(f, "GET", "http://127.0.0.1");
	assert_int_equal(r.status, 200);

	/* the rest: 404, with a body saying where the page is */
	static const char *const missing[] = {"/favicon.ico", "/moat-root.crt/", "/MOAT-ROOT.CRT",
					      "/moat-root.key", "/../ca/root-key.pem", "//",
					      "*", "/ca/intermediate-key.pem"};
	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
		r = call(f, "GET", missing[i]);
		assert_int_equal(r.status, 404);
		assert_null(f->last.file);
		assert_non_null(r.body);
	}
	/* only GET and HEAD */
	static const char *const methods[] = {"POST", "PUT", "DELETE", "OPTIONS", "PATCH", "get"};
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		r = call(f, methods[i], "/moat-root.crt");
		assert_int_equal(r.status, 405);
		assert_null(f->last.file);
	}
	/* the CLI's list: the three root files with their types */
	files = trust_share_files(&nfiles);
	assert_int_equal(nfiles, 5);
	for (size_t i = 0; i < nfiles; i++) {
		r = call(f, "GET", files[i].path);
		assert_int_equal(r.status, 200);
		assert_string_equal(r.content_type, files[i].content_type);
	}
	moat_buf_free(&der);
	moat_buf_free(&pem);
	moat_buf_free(&mc);
}

static void test_page(void **state)
{
	struct fx *f = *state;
	struct net_http_reply r = call(f, "GET", "/");
	char *page = strndup(r.body, r.len);
	const char *fp = trust_share_fingerprint(f->share);
	char group[32];

	assert_non_null(page);
	assert_true(strncmp(trust_share_url(f->share), "http://127.0.0.1:", 17) == 0);
	assert_int_equal(atoi(trust_share_url(f->share) + 17), trust_share_port(f->share));
	/* the hostile name only ever escaped */
	assert_null(strstr(page, "<script"));
	assert_null(strstr(page, "alert(1)</"));
	assert_non_null(strstr(page, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Dev&quot; "
				     "&#39;CA&#39;"));
	/* a phone page: viewport, inline style, no scripts, nothing external */
	assert_non_null(strstr(page, "<meta name=\"viewport\" content=\"width=device-width"));
	assert_non_null(strstr(page, "<meta charset=\"utf-8\">"));
	assert_non_null(strstr(page, "<style>"));
	assert_null(strstr(page, "<script"));
	assert_null(strstr(page, "src="));
	assert_null(strstr(page, "https://"));
	assert_null(strstr(page, "PRIVATE KEY"));
	/* the links, the fingerprint (with colons, and grouped), the QR and the URL */
	assert_non_null(strstr(page, "href=\"/moat-root.mobileconfig\""));
	assert_non_null(strstr(page, "href=\"/moat-root.crt\""));
	assert_non_null(strstr(page, "href=\"/moat-root.pem\""));
	assert_int_equal(strlen(fp), 95);
	assert_non_null(strstr(page, fp));
	snprintf(group, sizeof(group), "%.2s %.2s %.2s", fp, fp + 3, fp + 6);
	assert_non_null(strstr(page, group));
	assert_non_null(strstr(page, "<svg xmlns="));
	assert_non_null(strstr(page, trust_share_url(f->share)));
	assert_non_null(strstr(page, "Certificate Trust Settings"));
	assert_non_null(strstr(page, "only serves the public root"));
	free(page);
}

/* One request over a real socket; returns the whole response. */
static char *fetch(uint16_t port, const char *request, size_t *len)
{
	struct sockaddr_in sa;
	struct moat_buf b = MOAT_BUF_INIT;
	char buf[4096];
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ssize_t n;

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		assert_int_equal(moat_buf_append(&b, buf, (size_t)n), 0);
	close(fd);
	*len = b.len;
	return moat_buf_steal(&b);
}

static void test_server(void **state)
{
	struct fx *f = *state;
	struct moat_err err = {0};
	struct moat_buf der = MOAT_BUF_INIT;
	uint16_t port = trust_share_port(f->share);
	char *resp, want[64];
	const char *body;
	size_t len;

	assert_true(port > 0);
	assert_int_equal(pki_cert_to_der(f->root, &der, &err), 0);
	assert_int_equal(trust_share_start(f->share, &err), 0);

	resp = fetch(port, "GET /moat-root.crt?dl=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		     &len);
	assert_true(strncmp(resp, "HTTP/1.1 200 OK\r\n", 17) == 0);
	assert_non_null(strstr(resp, "\r\nContent-Type: application/x-x509-ca-cert\r\n"));
	snprintf(want, sizeof(want), "\r\nContent-Length: %zu\r\n", der.len);
	assert_non_null(strstr(resp, want));
	body = strstr(resp, "\r\n\r\n");
	assert_non_null(body);
	body += 4;
	assert_int_equal(len - (size_t)(body - resp), der.len);
	assert_memory_equal(body, der.data, der.len);
	free(resp);

	resp = fetch(port, "HEAD /moat-root.crt HTTP/1.0\r\n\r\n", &len);
	assert_true(strncmp(resp, "HTTP/1.1 200 OK\r\n", 17) == 0);
	assert_non_null(strstr(resp, want));
	assert_string_equal(resp + len - 4, "\r\n\r\n"); /* no body */
	free(resp);

	resp = fetch(port, "POST / HTTP/1.0\r\n\r\n", &len);
	assert_true(strncmp(resp, "HTTP/1.1 405 ", 13) == 0);
	free(resp);
	resp = fetch(port, "GET /nothing HTTP/1.0\r\n\r\n", &len);
	assert_true(strncmp(resp, "HTTP/1.1 404 ", 13) == 0);
	free(resp);

	trust_share_stop(f->share);
	moat_buf_free(&der);
}

static void test_new_errors(void **state)
{
	struct fx *f = *state;
	struct moat_err err = {0};
	struct trust_share_opts o;
	struct trust_share *s;

	memset(&o, 0, sizeof(o));
	o.root = f->root;
	o.listen_addr = "127.0.0.1";
	o.host = "not a host";
	assert_null(trust_share_new(&o, &err));
	assert_non_null(strstr(err.msg, "invalid"));

	o.host = "127.0.0.1";
	o.port = trust_share_port(f->share); /* taken by the fixture */
	moat_err_clear(&err);
	assert_null(trust_share_new(&o, &err));
	assert_non_null(strstr(err.msg, "already in use"));
	assert_non_null(strstr(err.hint, "--listen"));

	o.root = NULL;
	assert_null(trust_share_new(&o, &err));
	assert_null(trust_share_new(NULL, &err));

	/* no CA name: the root's common name */
	o.root = f->root;
	o.port = 0;
	s = trust_share_new(&o, &err);
	assert_non_null(s);
	trust_share_free(s);
	trust_share_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qr_sizes),
		cmocka_unit_test(test_qr_errors),
		cmocka_unit_test(test_qr_matrix),
		cmocka_unit_test(test_qr_text),
		cmocka_unit_test(test_qr_svg),
		cmocka_unit_test(test_make_url),
		cmocka_unit_test(test_lan_addrs),
		cmocka_unit_test_setup_teardown(test_routes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_errors, setup, teardown),
	};
	struct moat_err err = {0};

	if (pki_init(&err) != 0) {
		fprintf(stderr, "pki_init: %s\n", err.msg);
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
