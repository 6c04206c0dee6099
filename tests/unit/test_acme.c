/* acme/: header parsing, directory and problem documents, and the JWK
 * thumbprint, without a server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "acme/acme.h"
#include "core/b64.h"

/* Header lines as libcurl hands them over, kept by src/fetch and read
 * into r (which starts empty). */
static void feed(struct acme_resp *r, const char *const *lines)
{
	const struct fetch_req q = {.want = acme_http_headers};
	struct fetch_resp f;

	memset(&f, 0, sizeof(f));
	memset(r, 0, sizeof(*r));
	r->retry_after = -1;
	for (; *lines != NULL; lines++)
		fetch_resp_header_line(&q, &f, *lines, strlen(*lines));
	acme_resp_headers(r, &f);
	fetch_resp_clear(&f);
}

static void feed1(struct acme_resp *r, const char *line)
{
	const char *lines[] = {line, NULL};

	feed(r, lines);
}

static void test_headers(void **state)
{
	static const char *const created[] = {
		"HTTP/1.1 201 Created\r\n",
		"replay-nonce: oFvnlFP1wIhRlYS2jTaXbA\r\n",
		"Location:   https://ca.example/acct/1  \r\n",
		"Content-Type: Application/JSON; charset=utf-8\r\n",
		"Retry-After: 30\r\n",
		"Link: <https://ca.example/dir>;rel=\"index\", "
		"<https://ca.example/cert/alt/1>; rel=\"alternate\"\r\n",
		"Link: <https://ca.example/cert/alt/2>;title=\"x\";rel=alternate\r\n",
		NULL,
	};
	static const char *const continued[] = {
		"HTTP/1.1 100 Continue\r\n",
		"Location: https://ca.example/old\r\n",
		"Link: <https://ca.example/old>;rel=up\r\n",
		"HTTP/1.1 200 OK\r\n",
		"Replay-Nonce: after\r\n",
		NULL,
	};
	struct acme_resp r;
	char long_nonce[400];

	(void)state;
	feed(&r, created);
	assert_string_equal(r.nonce, "oFvnlFP1wIhRlYS2jTaXbA");
	assert_string_equal(r.location, "https://ca.example/acct/1");
	assert_string_equal(r.content_type, "application/json");
	assert_int_equal(r.retry_after, 30);
	assert_int_equal(r.nlinks, 3);
	assert_string_equal(acme_resp_link(&r, "index"), "https://ca.example/dir");
	assert_string_equal(acme_resp_link(&r, "alternate"), "https://ca.example/cert/alt/1");
	assert_string_equal(r.links[2].url, "https://ca.example/cert/alt/2");
	assert_null(acme_resp_link(&r, "up"));

	/* An HTTP-date in the past means "now"; garbage means "not given". */
	feed1(&r, "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n");
	assert_int_equal(r.retry_after, 0);
	feed1(&r, "Retry-After: soon\r\n");
	assert_int_equal(r.retry_after, -1);

	/* A nonce too long to keep is dropped, not cut. */
	memset(long_nonce, 'A', sizeof(long_nonce));
	memcpy(long_nonce, "Replay-Nonce: ", 14);
	long_nonce[sizeof(long_nonce) - 1] = '\0';
	feed1(&r, long_nonce);
	assert_string_equal(r.nonce, "");

	/* A new status line (after 100 Continue) forgets what came before. */
	feed(&r, continued);
	assert_string_equal(r.location, "");
	assert_int_equal(r.nlinks, 0);
	assert_string_equal(r.nonce, "after");
}

static json_t *parse(const char *text)
{
	struct moat_buf b = MOAT_BUF_INIT;
	struct moat_err err;
	json_t *j;

	assert_int_equal(moat_buf_puts(&b, text), 0);
	j = acme_json_object(&b, "test input", &err);
	moat_buf_free(&b);
	return j;
}

static void test_directory(void **state)
{
	struct acme_directory d;
	json_t *j;

	(void)state;
	memset(&d, 0, sizeof(d));
	j = parse("{\"newNonce\":\"https://ca/n\",\"newAccount\":\"https://ca/a\","
		  "\"newOrder\":\"https://ca/o\",\"renewalInfo\":\"https://ca/ari\","
		  "\"meta\":{\"termsOfService\":\"data:text/plain,Do what thou wilt\","
		  "\"externalAccountRequired\":true,\"profiles\":{\"classic\":\"c\"}}}");
	assert_non_null(j);
	assert_int_equal(acme_directory_parse(j, &d), 0);
	assert_string_equal(d.new_order, "https://ca/o");
	assert_string_equal(d.renewal_info, "https://ca/ari");
	assert_string_equal(d.revoke_cert, "");
	assert_true(d.eab_required);
	assert_non_null(json_object_get(d.profiles, "classic"));
	assert_string_equal(d.terms, "data:text/plain,Do what thou wilt");
	json_decref(d.profiles);
	json_decref(j);

	/* http:// URLs and missing members are refused. */
	memset(&d, 0, sizeof(d));
	j = parse("{\"newNonce\":\"http://ca/n\",\"newAccount\":\"https://ca/a\","
		  "\"newOrder\":\"https://ca/o\"}");
	assert_int_equal(acme_directory_parse(j, &d), -1);
	json_decref(j);
	j = parse("{\"newNonce\":\"https://ca/n\"}");
	assert_int_equal(acme_directory_parse(j, &d), -1);
	json_decref(j);

	/* Not JSON, not an object, duplicate keys. */
	assert_null(parse("<html>"));
	assert_null(parse("[1,2]"));
	assert_null(parse("{\"a\":1,\"a\":2}"));
}

static void test_problem(void **state)
{
	struct acme_problem p;
	struct moat_err err;
	json_t *j;

	(void)state;
	j = parse("{\"type\":\"urn:ietf:params:acme:error:rejectedIdentifier\","
		  "\"detail\":\"Some identifiers were rejected\",\"subproblems\":["
		  "{\"type\":\"urn:ietf:params:acme:error:malformed\",\"detail\":"
		  "\"Invalid underscore in DNS name \\\"_example.org\\\"\",\"identifier\":"
		  "{\"type\":\"dns\",\"value\":\"_example.org\"}}]}");
	acme_problem_parse(j, 400, -1, &p);
	json_decref(j);
	assert_string_equal(p.type, "rejectedIdentifier");
	assert_int_equal(p.nsub, 1);
	acme_problem_to_err(&p, "cannot create the order", &err);
	assert_non_null(strstr(err.msg, "cannot create the order: Some identifiers were rejected "
					"(rejectedIdentifier)"));
	assert_non_null(strstr(err.msg, "_example.org: Invalid underscore"));
	assert_non_null(strstr(err.msg, "(malformed)"));
	assert_non_null(strstr(err.hint, "will not issue"));

	/* rateLimited says when to come back. */
	j = parse("{\"type\":\"urn:ietf:params:acme:error:rateLimited\",\"detail\":\"too many\"}");
	acme_problem_parse(j, 429, 3600, &p);
	json_decref(j);
	acme_problem_to_err(&p, "cannot create the order", &err);
	assert_string_equal(err.hint, "rate limited: try again in 60 minutes");

	/* Control characters from the server never reach the terminal raw. */
	j = parse("{\"type\":\"x\",\"detail\":\"evil\\u001b[31mred\\nline\"}");
	acme_problem_parse(j, 400, -1, &p);
	json_decref(j);
	acme_problem_to_err(&p, "doing", &err);
	assert_null(strchr(err.msg, '\033'));
	assert_null(strchr(err.msg, '\n'));

	/* No document at all. */
	acme_problem_parse(NULL, 503, -1, &p);
	acme_problem_to_err(&p, "cannot register the account", &err);
	assert_string_equal(err.msg, "cannot register the account: the ACME server answered HTTP 503");
}

/* A CA's detail is shown as the CA wrote it: ordinary quotes and
 * backslashes kept (not "\x22"), only control and non-ASCII bytes escaped. */
static void test_problem_quotes(void **state)
{
	struct acme_problem p;
	struct moat_err err;
	json_t *j;

	(void)state;
	j = parse("{\"type\":\"urn:ietf:params:acme:error:connection\",\"detail\":"
		  "\"127.0.0.1: Fetching http://a.test/x: Get \\\"http://a.test/x\\\": dial tcp: "
		  "refused C:\\\\dir caf\\u00e9 \\u001b[0m\",\"subproblems\":[{\"type\":"
		  "\"urn:ietf:params:acme:error:dns\",\"detail\":\"no \\\"A\\\" record\",\"identifier\":"
		  "{\"type\":\"dns\",\"value\":\"a.test\"}}]}");
	assert_non_null(j);
	acme_problem_parse(j, 400, -1, &p);
	json_decref(j);
	acme_problem_to_err(&p, "the CA could not validate a.test", &err);
	assert_non_null(strstr(err.msg, "Get \"http://a.test/x\": dial tcp"));
	assert_non_null(strstr(err.msg, "refused C:\\dir caf\\xc3\\xa9 \\x1b[0m"));
	assert_non_null(strstr(err.msg, "a.test: no \"A\" record (dns)"));
	assert_null(strstr(err.msg, "\\x22"));
	assert_null(strchr(err.msg, '\033'));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_directory),
		cmocka_unit_test(test_problem),
		cmocka_unit_test(test_problem_quotes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
