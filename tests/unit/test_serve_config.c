/* test_serve_config.c: the configuration of `moat serve` -- the full
 * example of docs/serve.md with every value, each kind of error with its
 * FILE:LINE, the hint for a misspelt directive, command-line sites, the
 * checks on the whole configuration, durations and sizes, and which site
 * serves a host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"
#include "fixture.h"
#include "serve/config.h"

static char dir[64];
static char conf[128];

static void put(const char *name, const char *text)
{
	char p[192];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fx_write_file(p, text, strlen(text));
}

static int load(struct serve_config *c, const char *text, struct moat_err *err)
{
	serve_config_init(c);
	moat_err_clear(err);
	fx_write_file(conf, text, strlen(text));
	return serve_config_load(c, conf, err);
}

static void load_ok(struct serve_config *c, const char *text)
{
	struct moat_err err;

	if (load(c, text, &err) != 0)
		fail_msg("load: %s (hint: %s)\n%s", err.msg, err.hint, text);
}

/* The file fails at line with a message that contains msg (and a hint
 * that contains hint, unless NULL). */
static void load_fails(const char *text, int line, const char *msg, const char *hint)
{
	struct serve_config c;
	struct moat_err err;
	char at[192];

	if (load(&c, text, &err) == 0)
		fail_msg("loaded, but should fail at line %d with \"%s\":\n%s", line, msg, text);
	snprintf(at, sizeof(at), "%s:%d: ", conf, line);
	if (strncmp(err.msg, at, strlen(at)) != 0 || strstr(err.msg, msg) == NULL)
		fail_msg("\"%s\" is not \"%s...%s...\"", err.msg, at, msg);
	if (hint != NULL && strstr(err.hint, hint) == NULL)
		fail_msg("hint \"%s\" for \"%s\" does not say \"%s\"", err.hint, err.msg, hint);
	serve_config_free(&c);
}

#define SITE "site a.test {\n\tupstream http://127.0.0.1:3000\n}\n"

static const char example[] =
	"# global\n"
	"listen 0.0.0.0                 # address for the http and https listeners\n"
	"http-port 80                   # 0 = no port-80 listener\n"
	"https-port 443\n"
	"admin 127.0.0.1:9090           # /metrics (Prometheus) and /health\n"
	"workers auto                   # or N (1..256)\n"
	"user moat                      # drop privileges after binding\n"
	"cert local                     # default certificate source for sites\n"
	"acme-server https://acme-v02.api.letsencrypt.org/directory\n"
	"acme-email ops@example.com\n"
	"acme-ca-bundle /path/ca.pem\n"
	"acme-challenge http-01         # or tls-alpn-01\n"
	"acme-challenge-port 80\n"
	"acme-tls-port 443\n"
	"renew-before-days 30\n"
	"redirect on                    # port 80 -> https (308), except ACME challenges\n"
	"hsts off                       # or SECONDS [subdomains]\n"
	"max-header-size 16k\n"
	"header-timeout 10s\n"
	"idle-timeout 75s\n"
	"upstream-connect-timeout 5s\n"
	"upstream-timeout 60s\n"
	"send-timeout 45s\n"
	"max-connections 20000\n"
	"max-body-size 0                # 0 = unlimited\n"
	"access-log /var/log/moat/access.log json    # FILE|-|off [combined|json]\n"
	"error-log /var/log/moat/error.log           # FILE|- (default stderr)\n"
	"\n"
	"site chat.example.com www.chat.example.com {\n"
	"\tupstream http://127.0.0.1:3000 http://127.0.0.1:3001   # round robin, failover\n"
	"\tcert acme                  # acme | local | files CERT.pem KEY.pem\n"
	"\tredirect off\n"
	"\thsts 31536000 subdomains\n"
	"\theader X-Frame-Options DENY\n"
	"\theader Content-Security-Policy \"default-src 'self'\"\n"
	"}\n";

static void test_example(void **state)
{
	struct serve_config c;
	struct moat_err err;
	const struct serve_site *s;

	(void)state;
	load_ok(&c, example);
	assert_string_equal(c.file, conf);
	assert_string_equal(c.listen_addr, "0.0.0.0");
	assert_int_equal(c.http_port, 80);
	assert_int_equal(c.https_port, 443);
	assert_string_equal(c.admin, "127.0.0.1:9090");
	assert_int_equal(c.workers, 0);
	assert_string_equal(c.user, "moat");
	assert_int_equal(c.cert, SERVE_CERT_LOCAL);
	assert_string_equal(c.acme_server, "https://acme-v02.api.letsencrypt.org/directory");
	assert_string_equal(c.acme_email, "ops@example.com");
	assert_string_equal(c.acme_ca_bundle, "/path/ca.pem");
	assert_string_equal(c.acme_challenge, "http-01");
	assert_int_equal(c.acme_challenge_port, 80);
	assert_int_equal(c.acme_tls_port, 443);
	assert_int_equal(c.renew_before_days, 30);
	assert_true(c.redirect);
	assert_int_equal(c.hsts_max_age, 0);
	assert_false(c.hsts_subdomains);
	assert_int_equal(c.max_header_size, 16384);
	assert_int_equal(c.header_timeout_ms, 10000);
	assert_int_equal(c.idle_timeout_ms, 75000);
	assert_int_equal(c.upstream_connect_timeout_ms, 5000);
	assert_int_equal(c.upstream_timeout_ms, 60000);
	assert_int_equal(c.send_timeout_ms, 45000);
	assert_int_equal(c.max_connections, 20000);
	assert_int_equal(c.max_body_size, 0);
	assert_string_equal(c.access_log, "/var/log/moat/access.log");
	assert_int_equal(c.access_log_format, SERVE_LOG_JSON);
	assert_string_equal(c.error_log, "/var/log/moat/error.log");

	assert_int_equal(c.nsites, 1);
	s = &c.sites[0];
	assert_int_equal(s->line, 29);
	assert_int_equal(s->nnames, 2);
	assert_string_equal(s->names[0], "chat.example.com");
	assert_string_equal(s->names[1], "www.chat.example.com");
	assert_int_equal(s->nupstreams, 2);
	assert_string_equal(s->upstreams[0].host, "127.0.0.1");
	assert_int_equal(s->upstreams[0].port, 3000);
	assert_string_equal(s->upstreams[0].url, "http://127.0.0.1:3000");
	assert_string_equal(s->upstreams[1].host, "127.0.0.1");
	assert_int_equal(s->upstreams[1].port, 3001);
	assert_int_equal(s->cert, SERVE_CERT_ACME);
	assert_int_equal(s->redirect, 0);
	assert_int_equal(s->hsts_max_age, 31536000);
	assert_true(s->hsts_subdomains);
	assert_int_equal(s->nheaders, 2);
	assert_string_equal(s->headers[0].name, "X-Frame-Options");
	assert_string_equal(s->headers[0].value, "DENY");
	assert_string_equal(s->headers[1].name, "Content-Security-Policy");
	assert_string_equal(s->headers[1].value, "default-src 'self'");

	moat_err_clear(&err);
	if (serve_config_check(&c, &err) != 0)
		fail_msg("check: %s", err.msg);
	serve_config_free(&c);
	serve_config_free(&c); /* twice is fine */
}

static void test_defaults_and_resolve(void **state)
{
	struct serve_config c;
	struct moat_err err;
	struct serve_site *s;

	(void)state;
	serve_config_init(&c);
	assert_string_equal(c.listen_addr, "");
	assert_int_equal(c.http_port, 80);
	assert_int_equal(c.https_port, 443);
	assert_string_equal(c.admin, "");
	assert_int_equal(c.workers, 0);
	assert_int_equal(c.cert, SERVE_CERT_LOCAL);
	assert_string_equal(c.acme_server, "");
	assert_string_equal(c.acme_challenge, "http-01");
	assert_int_equal(c.acme_challenge_port, 0);
	assert_int_equal(c.renew_before_days, 0);
	assert_true(c.redirect);
	assert_int_equal(c.hsts_max_age, 0);
	assert_int_equal(c.max_header_size, 16384);
	assert_int_equal(c.header_timeout_ms, 10000);
	assert_int_equal(c.idle_timeout_ms, 75000);
	assert_int_equal(c.upstream_connect_timeout_ms, 5000);
	assert_int_equal(c.upstream_timeout_ms, 60000);
	assert_int_equal(c.send_timeout_ms, 60000);
	assert_int_equal(c.max_connections, 20000);
	assert_int_equal(c.max_body_size, 0);
	assert_string_equal(c.access_log, "");
	assert_int_equal(c.access_log_format, SERVE_LOG_COMBINED);
	assert_string_equal(c.error_log, "");
	assert_null(c.sites);

	load_ok(&c, "http-port 8080\nhttps-port 8443\nhsts 600 subdomains\nredirect off\n"
		    "cert acme\nworkers 4\naccess-log -\nerror-log -\nmax-body-size 10m\n"
		    "site a.test {\n\tupstream http://app\n}\n"
		    "site b.test {\n\tupstream http://[::1]:8080/\n\tcert local\n\tredirect on\n"
		    "\thsts off\n}\n");
	assert_int_equal(c.workers, 4);
	assert_string_equal(c.access_log, "-");
	assert_int_equal(c.access_log_format, SERVE_LOG_COMBINED);
	assert_string_equal(c.error_log, "");
	assert_int_equal(c.max_body_size, 10 * 1024 * 1024);
	s = &c.sites[0];
	assert_int_equal(s->cert, SERVE_CERT_DEFAULT);
	assert_int_equal(s->redirect, -1);
	assert_int_equal(s->hsts_max_age, -1);
	assert_string_equal(s->upstreams[0].host, "app");
	assert_int_equal(s->upstreams[0].port, 80);
	assert_string_equal(c.sites[1].upstreams[0].host, "::1");
	assert_int_equal(c.sites[1].upstreams[0].port, 8080);
	moat_err_clear(&err);
	if (serve_config_check(&c, &err) != 0)
		fail_msg("check: %s", err.msg);

	serve_config_resolve(&c);
	assert_int_equal(c.acme_challenge_port, 8080);
	assert_int_equal(c.acme_tls_port, 8443);
	assert_int_equal(s->cert, SERVE_CERT_ACME);
	assert_int_equal(s->redirect, 0);
	assert_int_equal(s->hsts_max_age, 600);
	assert_true(s->hsts_subdomains);
	s = &c.sites[1];
	assert_int_equal(s->cert, SERVE_CERT_LOCAL);
	assert_int_equal(s->redirect, 1);
	assert_int_equal(s->hsts_max_age, 0);
	assert_false(s->hsts_subdomains);
	assert_int_equal(serve_config_check(&c, &err), 0);
	serve_config_free(&c);
}

static void test_syntax(void **state)
{
	struct serve_config c;

	(void)state;
	/* quotes, escapes, '#' in quotes, CRLF, a byte order mark, blank lines */
	load_ok(&c, "\xef\xbb\xbf# moat serve\r\n\r\n"
		    "site \"a.test\" {\r\n"
		    "  upstream \"http://127.0.0.1:3000\"\t# comment\r\n"
		    "  header X-Note \"say \\\"hi\\\" # not a comment \\\\o/\"\r\n"
		    "  header X-Empty \"\"\r\n"
		    "}\r\n");
	assert_string_equal(c.sites[0].headers[0].value, "say \"hi\" # not a comment \\o/");
	assert_string_equal(c.sites[0].headers[1].value, "");
	serve_config_free(&c);

	load_fails("site a.test {\n\theader X \"open\n}\n", 2, "quoted string is not closed", NULL);
	load_fails("site a.test {\n\theader X \"a\\nb\"\n}\n", 2, "backslash", NULL);
	load_fails("site a.test {\n\theader X \"a\"b\n}\n", 2, "right after a closing quote",
		   "space");
	load_fails("site a.test {\n\theader X a\"b\"\n}\n", 2, "quote in the middle", NULL);
	load_fails("http-port 80\nhttps-port\x01 443\n", 2, "control character \\x01", NULL);
	{ /* a NUL byte */
		struct serve_config c2;
		struct moat_err err;

		serve_config_init(&c2);
		fx_write_file(conf, "http-port 80\nhttps-port 443\0\n", 29);
		assert_int_equal(serve_config_load(&c2, conf, &err), -1);
		assert_non_null(strstr(err.msg, ":2: control character \\x00"));
		serve_config_free(&c2);
	}
	/* blocks */
	load_fails("site a.test {\n\tupstream http://127.0.0.1:3000\n", 1, "not closed", "}");
	load_fails(SITE "}\n", 4, "} without a site block", NULL);
	load_fails("site a.test {\n\tupstream http://127.0.0.1:3000 }\n", 2, "alone on its line",
		   NULL);
	load_fails("site a.test {\n\tupstream http://127.0.0.1:3000\n} x\n", 3, "alone on its line",
		   NULL);
	load_fails("site a.test\n{\n", 1, "must end with {", "site chat.example.com {");
	load_fails("site a.test{\n", 1, "must end with {", "space before");
	load_fails("site a.test { upstream http://127.0.0.1:3000\n", 1, "{ only ends a site line",
		   NULL);
	load_fails("http-port 80\n{\n", 2, "{ only ends a site line", NULL);
	load_fails("site {\n", 1, "at least one name", NULL);
	load_fails("site a.test {\n\tupstream http://127.0.0.1:3000\n\tsite b.test {\n", 3,
		   "cannot be nested (the site on line 1 is still open)", NULL);
	load_fails("\n\nsite a.test {\n\tcert local\n}\n", 3, "site a.test has no upstream",
		   "upstream http://");
	/* scope, duplicates, counts */
	load_fails("upstream http://127.0.0.1:3000\n", 1, "upstream belongs in a site block", NULL);
	load_fails("header X-A b\n", 1, "header belongs in a site block", NULL);
	load_fails("site a.test {\n\tupstream http://127.0.0.1:3000\n\tlisten ::\n}\n", 3,
		   "listen is global", "above the site blocks");
	load_fails("http-port 80\n\nhttp-port 81\n", 3, "http-port is given twice (first on line 1)",
		   NULL);
	load_fails("site a.test {\n\tupstream http://h1\n\tupstream http://h2\n}\n", 3,
		   "upstream is given twice (first on line 2)", "one line");
	load_fails("hsts off\n" SITE "hsts 5\n", 5, "hsts is given twice (first on line 1)", NULL);
	load_fails("http-port\n", 1, "http-port takes 1 argument (got 0)", "http-port PORT");
	load_fails("http-port 80 81\n", 1, "takes 1 argument (got 2)", NULL);
	load_fails("hsts 1 subdomains x\n", 1, "hsts takes 1 to 2 arguments (got 3)", NULL);
	load_fails("site a.test {\n\theader X-A\n}\n", 2, "header takes 2 arguments (got 1)",
		   "header NAME VALUE");
	load_fails("site a.test {\n\tupstream http://h1 http://h2 http://h3 http://h4 http://h5 "
		   "http://h6 http://h7 http://h8 http://h9 http://h10 http://h11 http://h12 "
		   "http://h13 http://h14 http://h15 http://h16 http://h17\n}\n",
		   2, "upstream takes 1 to 16 arguments (got 17)", NULL);
	/* the same directive in each site is fine */
	load_ok(&c, "redirect off\nsite a.test {\n\tupstream http://h\n\tredirect on\n}\n"
		    "site b.test {\n\tupstream http://h\n\tredirect on\n}\n");
	assert_int_equal(c.nsites, 2);
	serve_config_free(&c);
}

static void test_unknown_hint(void **state)
{
	(void)state;
	load_fails("upstrem http://127.0.0.1:3000\n", 1, "unknown directive \"upstrem\"",
		   "did you mean \"upstream\"?");
	load_fails("http_port 80\n", 1, "unknown directive", "did you mean \"http-port\"?");
	load_fails("\nlisten 0.0.0.0\nlsiten ::\n", 3, "unknown directive \"lsiten\"",
		   "did you mean \"listen\"?");
	load_fails("upstream-timout 5s\n", 1, "unknown", "did you mean \"upstream-timeout\"?");
	load_fails("acme-emial a@b.test\n", 1, "unknown", "did you mean \"acme-email\"?");
	load_fails("site a.test {\n\tupstream http://h\n\theadr X-A b\n}\n", 3,
		   "unknown directive \"headr\"", "did you mean \"header\"?");
	load_fails("sites a.test {\n", 1, "unknown", "did you mean \"site\"?");
	load_fails("server_name a.test\n", 1, "unknown", "did you mean \"site\"?");
	load_fails("proxy_pass http://h\n", 1, "unknown", "did you mean \"upstream\"?");
	load_fails("frobnicate yes\n", 1, "unknown directive \"frobnicate\"", "docs/serve.md");
	load_fails("\"site\" a.test {\n", 1, "unknown directive \"site\"", NULL);
	load_fails("\"listen\" ::\n", 1, "unknown directive \"listen\"", NULL);
}

static void test_values(void **state)
{
	struct serve_config c;

	(void)state;
	load_fails("http-port 65536\n", 1, "http-port: \"65536\" is not a port number (0-65535)",
		   NULL);
	load_fails("https-port 0\n", 1, "https-port: \"0\" is not a port number (1-65535)", NULL);
	load_fails("https-port -1\n", 1, "is not a port number", NULL);
	load_fails("acme-challenge-port 0\n", 1, "is not a port number (1-65535)", NULL);
	load_fails("acme-tls-port 65536\n", 1, "acme-tls-port: \"65536\" is not a port number",
		   NULL);
	load_fails("listen localhost\n", 1, "listen: \"localhost\" is not an IP address", NULL);
	load_fails("admin 9090\n", 1, "admin: \"9090\" is not ADDRESS:PORT: it has no :PORT",
		   "127.0.0.1:9090");
	load_fails("admin 9090\n", 1, "is not ADDRESS:PORT", "| off");
	load_fails("admin localhost:9090\n", 1, "\"localhost\" is not an IP address", NULL);
	load_fails("admin ::1:9090\n", 1, "is not ADDRESS:PORT: an IPv6 address goes in brackets",
		   NULL);
	load_fails("admin 127.0.0.1:0\n", 1, "is not ADDRESS:PORT", NULL);
	load_fails("workers 0\n", 1, "workers: \"0\" is not a number from 1 to 256", "auto");
	load_fails("workers 257\n", 1, "from 1 to 256", NULL);
	load_fails("user ../root\n", 1, "is not a user name", NULL);
	load_fails("cert files a.pem b.pem\n", 1, "certificate files are named per site",
		   "inside the site");
	load_fails("cert magic\n", 1, "cert: \"magic\" is not acme, local", NULL);
	load_fails("site a.test {\n\tupstream http://h\n\tcert files a.pem\n}\n", 3,
		   "cert files takes two files (got 1)", NULL);
	load_fails("site a.test {\n\tupstream http://h\n\tcert acme x\n}\n", 3,
		   "cert acme takes no file names", NULL);
	load_fails("acme-server http://acme.test/dir\n", 1, "is not an https:// URL", NULL);
	load_fails("acme-email nobody\n", 1, "is not an e-mail address", NULL);
	load_fails("acme-challenge dns-01\n", 1, "is not http-01 or tls-alpn-01", "dns-01");
	load_fails("renew-before-days 400\n", 1, "from 0 to 365", NULL);
	load_fails("redirect yes\n", 1, "redirect: \"yes\" is not on or off", NULL);
	load_fails("hsts forever\n", 1, "hsts: \"forever\" is not off or a number", NULL);
	load_fails("hsts 100 everything\n", 1, "is not \"subdomains\"", NULL);
	load_fails("hsts off subdomains\n", 1, "needs a max-age", NULL);
	load_fails("max-header-size 16q\n", 1, "max-header-size: \"16q\" is not a size", "16k");
	load_fails("max-header-size 100\n", 1, "from 1024 to 65536", NULL);
	load_fails("header-timeout 0s\n", 1, "header-timeout: \"0s\" is not a duration", NULL);
	load_fails("idle-timeout 5x\n", 1, "is not a duration", "75s");
	load_fails("upstream-timeout 25h\n", 1, "is not a duration from 1ms to 24h", NULL);
	load_fails("max-connections 0\n", 1, "is not a number", NULL);
	load_fails("max-body-size -1\n", 1, "is not a size", NULL);
	load_fails("access-log off json\n", 1, "with off", NULL);
	load_fails("access-log - xml\n", 1, "is not combined or json", NULL);
	load_fails("error-log off\n", 1, "cannot be off", NULL);
	/* upstreams */
	load_fails("site a.test {\n\tupstream https://127.0.0.1:3443\n}\n", 2,
		   "https upstreams are not supported yet", "plain HTTP");
	load_fails("site a.test {\n\tupstream http://127.0.0.1:3000/chat\n}\n", 2,
		   "has a path: only http://HOST[:PORT] is allowed", NULL);
	load_fails("site a.test {\n\tupstream http://127.0.0.1:3000/?x\n}\n", 2, "has a path",
		   NULL);
	load_fails("site a.test {\n\tupstream http://127.0.0.1:3000?x\n}\n", 2, "has a query", NULL);
	load_fails("site a.test {\n\tupstream 127.0.0.1:3000\n}\n", 2, "is not an http:// URL",
		   "http://127.0.0.1:3000");
	load_fails("site a.test {\n\tupstream http://127.0.0.1:70000\n}\n", 2, "bad port", NULL);
	load_fails("site a.test {\n\tupstream http://127.0.0.1:\n}\n", 2, "bad port", NULL);
	load_fails("site a.test {\n\tupstream http://:3000\n}\n", 2, "has no host", NULL);
	load_fails("site a.test {\n\tupstream http://u:p@h:3000\n}\n", 2, "user name", NULL);
	load_fails("site a.test {\n\tupstream http://[::1:3000\n}\n", 2, "no ']'", NULL);
	load_fails("site a.test {\n\tupstream http://ex_ample:3000\n}\n", 2,
		   "upstream: invalid name", NULL);
	/* headers go into responses as they are */
	load_fails("site a.test {\n\tupstream http://h\n\theader \"X A\" b\n}\n", 3,
		   "is not a header name", NULL);
	load_fails("site a.test {\n\tupstream http://h\n\theader X:A b\n}\n", 3,
		   "is not a header name", NULL);
	load_fails("site a.test {\n\tupstream http://h\n\theader X-A \"a\tb\xc3\xa9\"\n}\n", 3,
		   "non-ASCII", NULL);
	load_fails("site a.test {\n\tupstream http://h\n\theader X-A \" b\"\n}\n", 3,
		   "starts with a space", NULL);
	load_fails("site a.test {\n\tupstream http://h\n\theader Content-Length 5\n}\n", 3,
		   "is set by moat", NULL);
	load_fails("site a.test {\n\tupstream http://h\n\theader Strict-Transport-Security x\n}\n",
		   3, "hsts directive", "hsts 31536000");
	/* names */
	load_fails("site a.test exa_mple.com {\n", 1, "invalid name \"exa_mple.com\"", NULL);
	load_fails("site *.com {\n", 1, "wildcard needs at least two labels", NULL);
	load_fails("site a.test:443 {\n", 1, "invalid name", NULL);

	load_ok(&c, "site Chat.Example.COM. 192.168.1.10 [FE80::1] *.apps.example.com "
		    "printer.local localhost chat.example.com {\n\tupstream http://Rocket.Chat:3000/\n"
		    "\theader X-A \"tab\there\"\n}\n");
	assert_int_equal(c.sites[0].nnames, 6); /* the duplicate is dropped */
	assert_string_equal(c.sites[0].names[0], "chat.example.com");
	assert_string_equal(c.sites[0].names[1], "192.168.1.10");
	assert_string_equal(c.sites[0].names[2], "fe80::1");
	assert_string_equal(c.sites[0].names[3], "*.apps.example.com");
	assert_string_equal(c.sites[0].names[4], "printer.local");
	assert_string_equal(c.sites[0].names[5], "localhost");
	assert_string_equal(c.sites[0].upstreams[0].host, "rocket.chat");
	assert_string_equal(c.sites[0].upstreams[0].url, "http://Rocket.Chat:3000/");
	serve_config_free(&c);

	load_ok(&c, "listen [::]\nadmin [::1]:9090\nacme-server letsencrypt-staging\n"
		    "acme-challenge tls-alpn-01\nhsts 63072000\naccess-log off\n" SITE);
	assert_string_equal(c.listen_addr, "::");
	assert_string_equal(c.admin, "[::1]:9090");
	assert_non_null(strstr(c.acme_server, "acme-staging"));
	assert_string_equal(c.acme_challenge, "tls-alpn-01");
	assert_int_equal(c.hsts_max_age, 63072000);
	assert_string_equal(c.access_log, "");
	serve_config_free(&c);
	load_ok(&c, "admin off\n" SITE);
	assert_string_equal(c.admin, "");
	serve_config_free(&c);
	load_fails("admin 127.0.0.1:9090\nadmin off\n", 2, "admin is given twice", NULL);
}

static void test_limits_and_paths(void **state)
{
	struct serve_config c;
	struct moat_err err;
	char *big;
	size_t off = 0;

	(void)state;
	big = malloc(SERVE_MAX_CONFIG + 100);
	assert_non_null(big);
	/* a line that is too long */
	memset(big, 'x', 5000);
	memcpy(big, "\nuser ", 6);
	big[5000] = '\0';
	load_fails(big, 2, "longer than 4096 bytes", NULL);
	/* too many words */
	off = (size_t)sprintf(big, "site");
	for (int i = 0; i < 130; i++)
		off += (size_t)sprintf(big + off, " n%d.test", i);
	sprintf(big + off, " {\n");
	load_fails(big, 1, "too many words on one line (at most 128)", NULL);
	/* too many names */
	off = (size_t)sprintf(big, "site");
	for (int i = 0; i < 101; i++)
		off += (size_t)sprintf(big + off, " n%d.test", i);
	sprintf(big + off, " {\n");
	load_fails(big, 1, "at most 100 names", NULL);
	/* too many headers */
	off = (size_t)sprintf(big, "site a.test {\n\tupstream http://h\n");
	for (int i = 0; i < 33; i++)
		off += (size_t)sprintf(big + off, "\theader X-H%d v\n", i);
	load_fails(big, 35, "too many headers in one site (at most 32)", NULL);
	/* too many sites */
	off = 0;
	for (int i = 0; i < 257; i++)
		off += (size_t)sprintf(big + off, "site s%d.test {\nupstream http://h\n}\n", i);
	load_fails(big, 257 * 3 - 2, "too many sites (at most 256)", NULL);
	/* too large a file */
	memset(big, '#', SERVE_MAX_CONFIG + 1);
	big[SERVE_MAX_CONFIG + 1] = '\0';
	assert_int_equal(load(&c, big, &err), -1);
	assert_non_null(strstr(err.msg, "too large"));
	serve_config_free(&c);
	free(big);
	/* a missing file */
	serve_config_init(&c);
	assert_int_equal(serve_config_load(&c, "/nonexistent/moat.conf", &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent/moat.conf"));

	/* relative paths are taken from the file's directory */
	load_ok(&c, "acme-ca-bundle ca.pem\naccess-log logs/access.log combined\n"
		    "error-log /abs/error.log\n"
		    "site a.test {\n\tupstream http://h\n\tcert files cert.pem \"my key.pem\"\n}\n");
	{
		char want[256];

		snprintf(want, sizeof(want), "%s/ca.pem", dir);
		assert_string_equal(c.acme_ca_bundle, want);
		snprintf(want, sizeof(want), "%s/logs/access.log", dir);
		assert_string_equal(c.access_log, want);
		assert_string_equal(c.error_log, "/abs/error.log");
		snprintf(want, sizeof(want), "%s/cert.pem", dir);
		assert_string_equal(c.sites[0].cert_file, want);
		snprintf(want, sizeof(want), "%s/my key.pem", dir);
		assert_string_equal(c.sites[0].key_file, want);
		assert_int_equal(c.sites[0].cert, SERVE_CERT_FILES);
	}
	serve_config_free(&c);
}

static void add_ok(struct serve_config *c, const char *arg)
{
	struct moat_err err;

	moat_err_clear(&err);
	if (serve_config_add_arg(c, arg, &err) != 0)
		fail_msg("%s: %s", arg, err.msg);
}

static void add_fails(const char *arg, const char *msg)
{
	struct serve_config c;
	struct moat_err err;

	serve_config_init(&c);
	moat_err_clear(&err);
	assert_int_equal(serve_config_add_arg(&c, arg, &err), -1);
	if (strncmp(err.msg, "invalid site \"", 14) != 0 || strstr(err.msg, msg) == NULL)
		fail_msg("%s: \"%s\" does not say \"%s\"", arg, err.msg, msg);
	assert_int_equal(c.nsites, 0);
	serve_config_free(&c);
}

static void test_add_arg(void **state)
{
	struct serve_config c;
	struct moat_err err;

	(void)state;
	serve_config_init(&c);
	add_ok(&c, "chat.example.com=http://127.0.0.1:3000");
	add_ok(&c, "a.test,B.test=http://[::1]:8080");
	add_ok(&c, "localhost=http://127.0.0.1:3000/");
	assert_int_equal(c.nsites, 3);
	assert_string_equal(c.sites[0].names[0], "chat.example.com");
	assert_int_equal(c.sites[0].line, 0);
	assert_int_equal(c.sites[0].cert, SERVE_CERT_DEFAULT);
	assert_int_equal(c.sites[0].redirect, -1);
	assert_int_equal(c.sites[0].hsts_max_age, -1);
	assert_int_equal(c.sites[0].upstreams[0].port, 3000);
	assert_int_equal(c.sites[1].nnames, 2);
	assert_string_equal(c.sites[1].names[1], "b.test");
	assert_string_equal(c.sites[1].upstreams[0].host, "::1");
	assert_int_equal(c.sites[1].upstreams[0].port, 8080);
	assert_string_equal(c.sites[2].names[0], "localhost");
	moat_err_clear(&err);
	assert_int_equal(serve_config_check(&c, &err), 0);
	serve_config_free(&c);

	add_fails("chat.example.com", "no '='");
	add_fails("=http://127.0.0.1:3000", "no name");
	add_fails("a.test,,b.test=http://h", "empty name");
	add_fails("a.test,=http://h", "empty name");
	add_fails("exa mple=http://h", "invalid site \"exa mple=http://h\": invalid name");
	add_fails("a.test=https://127.0.0.1:3443", "https upstreams are not supported yet");
	add_fails("a.test=http://127.0.0.1:3000/app", "has a path");
	add_fails("a.test=127.0.0.1:3000", "not an http:// URL");
	add_fails("a\x01.test=http://h", "invalid site \"a\\x01.test=http://h\"");
}

static void check_fails(const struct serve_config *c, const char *msg, const char *hint)
{
	struct moat_err err;

	moat_err_clear(&err);
	assert_int_equal(serve_config_check(c, &err), -1);
	if (strstr(err.msg, msg) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", err.msg, msg);
	if (hint != NULL && strstr(err.hint, hint) == NULL)
		fail_msg("hint \"%s\" does not say \"%s\"", err.hint, hint);
}

static void test_check(void **state)
{
	struct serve_config c;
	char want[256];

	(void)state;
	serve_config_init(&c);
	check_fails(&c, "no sites", "NAME=http://HOST:PORT or a config file");

	load_ok(&c, SITE "\nsite b.test A.TEST {\n\tupstream http://h\n}\n");
	snprintf(want, sizeof(want), "%s:5: a.test is already served by the site on line 1", conf);
	check_fails(&c, want, "one site");
	serve_config_free(&c);
	serve_config_init(&c);
	add_ok(&c, "a.test=http://h");
	add_ok(&c, "b.test,a.test=http://h");
	check_fails(&c, "site b.test: a.test is already served by the site a.test", NULL);
	serve_config_free(&c);

	/* certificate files: readable, reported at the site's line */
	put("cert.pem", "x");
	put("key.pem", "x");
	load_ok(&c, "\n" "site a.test {\n\tupstream http://h\n\tcert files cert.pem key.pem\n}\n");
	assert_int_equal(serve_config_check(&c, NULL), 0);
	serve_config_free(&c);
	load_ok(&c, "\n" "site a.test {\n\tupstream http://h\n\tcert files missing.pem key.pem\n}\n");
	snprintf(want, sizeof(want), "%s:2: cannot read the certificate file %s/missing.pem: No such",
		 conf, dir);
	check_fails(&c, want, NULL);
	serve_config_free(&c);
	load_ok(&c, "site a.test {\n\tupstream http://h\n\tcert files cert.pem nokey.pem\n}\n");
	check_fails(&c, "cannot read the key file", NULL);
	serve_config_free(&c);
	load_ok(&c, "site a.test {\n\tupstream http://h\n\tcert files cert.pem .\n}\n");
	check_fails(&c, "is a directory", NULL);
	serve_config_free(&c);

	/* ports */
	load_ok(&c, "http-port 443\n" SITE);
	check_fails(&c, "http-port and https-port are both port 443", NULL);
	serve_config_free(&c);
	load_ok(&c, "admin 127.0.0.1:80\n" SITE);
	check_fails(&c, "http-port and admin are both port 80", NULL);
	serve_config_free(&c);
	load_ok(&c, "http-port 0\nadmin 127.0.0.1:80\n" SITE);
	assert_int_equal(serve_config_check(&c, NULL), 0);
	serve_config_free(&c);
	load_ok(&c, "http-port 0\ncert acme\nsite a.example {\nupstream http://h\n}\n");
	check_fails(&c, "http-01 needs a port-80 listener", "tls-alpn-01");
	serve_config_free(&c);
	load_ok(&c, "http-port 0\ncert acme\nacme-challenge tls-alpn-01\n"
		    "site a.example {\nupstream http://h\n}\n");
	assert_int_equal(serve_config_check(&c, NULL), 0);
	c.acme_tls_port = 9090;
	snprintf(c.admin, sizeof(c.admin), "127.0.0.1:9090");
	check_fails(&c, "admin and acme-tls-port are both port 9090", NULL);
	snprintf(c.acme_challenge, sizeof(c.acme_challenge), "dns-01");
	check_fails(&c, "acme-challenge \"dns-01\" is not", NULL);
	serve_config_free(&c);

	/* the extra listener for an ACME challenge port apart from the others */
	{
		bool tls = true;

		load_ok(&c, "acme-challenge-port 8080\n" SITE);
		assert_false(serve_config_uses_acme(&c));
		serve_config_free(&c);
		load_ok(&c, "cert acme\nacme-challenge-port 8080\nsite a.example {\nupstream http://h\n}\n");
		assert_true(serve_config_uses_acme(&c));
		assert_int_equal(serve_config_acme_port(&c, &tls), 8080);
		assert_false(tls);
		serve_config_resolve(&c);
		assert_int_equal(serve_config_acme_port(&c, &tls), 8080);
		serve_config_free(&c);
		load_ok(&c, "cert acme\nacme-challenge-port 80\nsite a.example {\nupstream http://h\n}\n");
		assert_int_equal(serve_config_acme_port(&c, &tls), 0); /* it is http-port */
		serve_config_free(&c);
		load_ok(&c, "cert acme\nacme-challenge tls-alpn-01\nacme-tls-port 8443\n"
			    "acme-challenge-port 8080\nsite a.example {\nupstream http://h\n}\n");
		assert_int_equal(serve_config_acme_port(&c, &tls), 8443);
		assert_true(tls);
		serve_config_resolve(&c);
		assert_int_equal(serve_config_acme_port(&c, &tls), 8443);
		c.acme_tls_port = c.https_port;
		assert_int_equal(serve_config_acme_port(&c, &tls), 0);
		serve_config_free(&c);
		/* a site of its own with cert acme is enough */
		load_ok(&c, "site a.example {\nupstream http://h\ncert acme\n}\n"
			    "site b.localhost {\nupstream http://h\n}\n");
		assert_true(serve_config_uses_acme(&c));
		serve_config_free(&c);
	}

	/* ACME: only names a public CA can validate */
	static const char *const no_acme[] = {"192.168.1.10", "[::1]", "printer.local",
					      "localhost", "chat.localhost", "*.apps.example.com"};
	for (size_t i = 0; i < sizeof(no_acme) / sizeof(no_acme[0]); i++) {
		char text[256];

		snprintf(text, sizeof(text),
			 "cert acme\nsite chat.example.com %s {\n\tupstream http://h\n}\n", no_acme[i]);
		load_ok(&c, text);
		snprintf(want, sizeof(want), "%s:2: no ACME certificate for ", conf);
		check_fails(&c, want, "cert local");
		check_fails(&c, c.sites[0].names[1], "--local");
		/* the same site with a local certificate is fine */
		c.sites[0].cert = SERVE_CERT_LOCAL;
		assert_int_equal(serve_config_check(&c, NULL), 0);
		serve_config_free(&c);
	}
	serve_config_init(&c);
	c.cert = SERVE_CERT_ACME;
	add_ok(&c, "chat.localhost=http://127.0.0.1:3000");
	check_fails(&c, "site chat.localhost: no ACME certificate for chat.localhost", "--local");
	serve_config_free(&c);
}

static void load_value(struct serve_config *c, const char *directive, const char *value)
{
	char text[128];

	snprintf(text, sizeof(text), "%s \"%s\"\n", directive, value);
	load_ok(c, text);
}

/* `DIRECTIVE "VALUE"` fails with `DIRECTIVE: "VALUE" is not WHAT...`. */
static void value_fails(const char *directive, const char *value, const char *what,
			const char *hint)
{
	char text[128], msg[192];

	snprintf(text, sizeof(text), "%s \"%s\"\n", directive, value);
	snprintf(msg, sizeof(msg), "%s: \"%s\" is not %s", directive, value, what);
	load_fails(text, 1, msg, hint);
}

/* Durations and sizes are read by core/parse.h (test_parse.c has every
 * form); here, that the directives use it, with their ranges. */
static void test_durations_sizes(void **state)
{
	static const struct {
		const char *s;
		int ms;
	} d[] = {{"1.5s", 1500}, {"250ms", 250}, {"2m", 120000}, {"90", 90000}, {"1h", 3600000},
		 {"0.25", 250}, {"10s", 10000}, {"1h30m", 5400000}, {"1d", 86400000},
		 {"24h", 86400000}, {"1ms", 1}};
	/* the parser's refusals, and values out of the directives' 1ms-24h */
	static const char *const bad_d[] = {"", "s", "-1s", "1.s", ".5s", "1 s", "1sec", "1h30",
					    "0", "0s", "2d", "596h", "597h", "99999999999",
					    "1e3", "+1", NULL};
	static const struct {
		const char *s;
		int64_t n;
	} z[] = {{"512", 512}, {"16k", 16384}, {"16K", 16384}, {"1m", 1048576}, {"2g", 2147483648LL},
		 {"0", 0}};
	static const char *const bad_z[] = {"", "k", "-1", "1.5m", "16kb", "1t", "99999999999999999999",
					    "9223372036854775807k", NULL};
	struct serve_config c;

	(void)state;
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		load_value(&c, "idle-timeout", d[i].s);
		assert_int_equal(c.idle_timeout_ms, d[i].ms);
		serve_config_free(&c);
	}
	for (size_t i = 0; bad_d[i] != NULL; i++)
		value_fails("idle-timeout", bad_d[i], "a duration", "75s");
	value_fails("send-timeout", "25h", "a duration from 1ms to 24h", NULL);
	value_fails("send-timeout", "5x", "a duration: \"x\" is not a unit (ms, s, m, h or d)",
		    NULL);
	for (size_t i = 0; i < sizeof(z) / sizeof(z[0]); i++) {
		load_value(&c, "max-body-size", z[i].s);
		assert_int_equal(c.max_body_size, z[i].n);
		serve_config_free(&c);
	}
	for (size_t i = 0; bad_z[i] != NULL; i++)
		value_fails("max-body-size", bad_z[i], "a size", NULL);
}

static void test_site_for(void **state)
{
	struct serve_config c;
	const struct serve_site *a, *w, *ip, *v6;

	(void)state;
	load_ok(&c, "site chat.example.com {\nupstream http://h\n}\n"
		    "site *.example.com {\nupstream http://h\n}\n"
		    "site 192.168.1.10 {\nupstream http://h\n}\n"
		    "site 2001:db8::1 printer.local {\nupstream http://h\n}\n");
	a = &c.sites[0];
	w = &c.sites[1];
	ip = &c.sites[2];
	v6 = &c.sites[3];
	assert_ptr_equal(serve_config_site_for(&c, "chat.example.com"), a);
	assert_ptr_equal(serve_config_site_for(&c, "CHAT.Example.com"), a);
	assert_ptr_equal(serve_config_site_for(&c, "chat.example.com."), a);
	assert_ptr_equal(serve_config_site_for(&c, "chat.example.com:443"), a);
	assert_ptr_equal(serve_config_site_for(&c, "chat.example.com.:8443"), a);
	assert_ptr_equal(serve_config_site_for(&c, "www.example.com"), w);
	assert_ptr_equal(serve_config_site_for(&c, "WWW.example.com:443"), w);
	assert_null(serve_config_site_for(&c, "a.b.example.com")); /* one label only */
	assert_null(serve_config_site_for(&c, "example.com"));
	assert_null(serve_config_site_for(&c, ".example.com"));
	assert_null(serve_config_site_for(&c, "other.test"));
	assert_ptr_equal(serve_config_site_for(&c, "192.168.1.10"), ip);
	assert_ptr_equal(serve_config_site_for(&c, "192.168.1.10:443"), ip);
	assert_ptr_equal(serve_config_site_for(&c, "[2001:db8::1]:443"), v6);
	assert_ptr_equal(serve_config_site_for(&c, "[2001:DB8:0::1]"), v6);
	assert_ptr_equal(serve_config_site_for(&c, "2001:db8::1"), v6);
	assert_ptr_equal(serve_config_site_for(&c, "Printer.Local"), v6);
	assert_null(serve_config_site_for(&c, "[2001:db8::1"));
	assert_null(serve_config_site_for(&c, "[2001:db8::1]x"));
	assert_null(serve_config_site_for(&c, "[example.com]"));
	assert_null(serve_config_site_for(&c, ""));
	assert_null(serve_config_site_for(&c, ":443"));
	assert_null(serve_config_site_for(&c, NULL));
	serve_config_free(&c);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/moat-serve-config-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(conf, sizeof(conf), "%s/moat.conf", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	moat_dir_remove_flat(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_defaults_and_resolve),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_unknown_hint),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_limits_and_paths),
		cmocka_unit_test(test_add_arg),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_durations_sizes),
		cmocka_unit_test(test_site_for),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
