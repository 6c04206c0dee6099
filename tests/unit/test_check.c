/* test_check.c: the check module without a network: what a target names,
 * and the findings for certificate files (chains built with moat's own
 * builders: complete, leaf alone, out of order, unrelated, root sent,
 * expired, expiring, wrong name, CN only, self-signed, untrusted root,
 * key mismatch). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check/check.h"
#include "core/names.h"
#include "fixture.h"
#include "pki/pki.h"

static void ok(const char *in, enum check_scheme scheme, const char *host, unsigned port,
	       bool port_given, const char *path)
{
	struct check_target t;
	struct moat_err err;

	moat_err_clear(&err);
	if (check_target_parse(in, &t, &err) != 0)
		fail_msg("%s: %s", in, err.msg);
	assert_int_equal(t.scheme, scheme);
	assert_string_equal(t.host, host);
	assert_int_equal(t.port, port);
	assert_int_equal(t.port_given, port_given);
	assert_string_equal(t.path, path);
}

static void bad(const char *in, const char *why)
{
	struct check_target t;
	struct moat_err err;

	moat_err_clear(&err);
	assert_int_equal(check_target_parse(in, &t, &err), -1);
	if (strstr(err.msg, why) == NULL)
		fail_msg("%s: \"%s\" does not say \"%s\"", in, err.msg, why);
	assert_non_null(strstr(err.hint, "https://"));
}

static void test_targets(void **state)
{
	(void)state;
	ok("example.com", CHECK_SCHEME_NONE, "example.com", 443, false, "/");
	ok("Example.COM.", CHECK_SCHEME_NONE, "example.com", 443, false, "/");
	ok("example.com:8443", CHECK_SCHEME_NONE, "example.com", 8443, true, "/");
	ok("https://chat.example.com", CHECK_SCHEME_HTTPS, "chat.example.com", 443, false, "/");
	ok("HTTPS://chat.example.com:3443/hook?x=1#frag", CHECK_SCHEME_HTTPS, "chat.example.com",
	   3443, true, "/hook?x=1");
	ok("https://h.test?q", CHECK_SCHEME_HTTPS, "h.test", 443, false, "/?q");
	ok("http://h.test", CHECK_SCHEME_HTTP, "h.test", 80, false, "/");
	ok("127.0.0.1:4433", CHECK_SCHEME_NONE, "127.0.0.1", 4433, true, "/");
	ok("[::1]:4433", CHECK_SCHEME_NONE, "::1", 4433, true, "/");
	ok("https://[2001:db8::1]/x", CHECK_SCHEME_HTTPS, "2001:db8::1", 443, false, "/x");
	ok("::1", CHECK_SCHEME_NONE, "::1", 443, false, "/");
	ok("localhost", CHECK_SCHEME_NONE, "localhost", 443, false, "/");
}

static void test_bad_targets(void **state)
{
	(void)state;
	bad("ftp://example.com", "only https://");
	bad("https://", "no host");
	bad(":443", "no host");
	bad("example.com:0", "port");
	bad("example.com:65536", "port");
	bad("example.com:44a", "port");
	bad("example.com:", "port");
	bad("https://user@example.com/", "user names");
	bad("[::1", "missing ']'");
	bad("[example.com]:443", "IPv6");
	bad("[::1]x", "unexpected text");
	bad("exa mple.com", "not a valid host");
	bad("*.example.com", "not a valid host");
	bad("-bad.example.com", "not a valid host");
}

static void test_long_target(void **state)
{
	char buf[CHECK_PATH_MAX + 10];

	(void)state;
	memset(buf, 'a', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	bad(buf, "too long");
	/* a host longer than DNS allows */
	memset(buf, 'a', 300);
	buf[300] = '\0';
	bad(buf, "too long");
}

/* ---- findings for files ------------------------------------------------ */

static char dir[64];
static struct pki_key *root_key, *int_key, *leaf_key, *other_key;
static struct pki_cert *root, *inter, *other_root;

static struct pki_cert *build(enum pki_profile prof, const char *cn, const char *name,
			      struct pki_key *key, struct pki_cert *issuer, struct pki_key *ikey,
			      int64_t from, int64_t to)
{
	struct pki_cert_spec spec;
	struct moat_name n;
	struct moat_err err;
	struct pki_cert *c;

	memset(&spec, 0, sizeof(spec));
	moat_err_clear(&err);
	spec.profile = prof;
	spec.common_name = cn;
	if (name != NULL) {
		n = fx_name(name);
		spec.names = &n;
		spec.nnames = 1;
	}
	spec.not_before = from;
	spec.not_after = to;
	c = pki_cert_build(&spec, key, issuer, ikey, &err);
	if (c == NULL)
		fail_msg("build %s: %s", cn, err.msg);
	return c;
}

static void put(const char *file, struct pki_cert *const *certs, size_t n)
{
	struct moat_buf b = MOAT_BUF_INIT;
	struct moat_err err;
	char path[128];

	moat_err_clear(&err);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(pki_cert_to_pem(certs[i], &b, &err), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fx_write_file(path, b.data, b.len);
	moat_buf_free(&b);
}

static int files_setup(void **state)
{
	int64_t now = time(NULL);

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/moat-unit-check-XXXXXX");
	assert_non_null(mkdtemp(dir));
	root_key = fx_key(PKI_KEY_EC_P256);
	int_key = fx_key(PKI_KEY_EC_P256);
	leaf_key = fx_key(PKI_KEY_EC_P256);
	other_key = fx_key(PKI_KEY_EC_P256);
	root = build(PKI_PROFILE_ROOT, "Unit Root", NULL, root_key, NULL, root_key, now - 86400,
		     now + 3650L * 86400);
	inter = build(PKI_PROFILE_INTERMEDIATE, "Unit Int", NULL, int_key, root, root_key,
		      now - 86400, now + 1000L * 86400);
	other_root = build(PKI_PROFILE_ROOT, "Other Root", NULL, other_key, NULL, other_key,
			   now - 86400, now + 3650L * 86400);
	put("root.pem", &root, 1);
	put("other-root.pem", &other_root, 1);
	return 0;
}

static int files_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	pki_cert_free(root);
	pki_cert_free(inter);
	pki_cert_free(other_root);
	pki_key_free(root_key);
	pki_key_free(int_key);
	pki_key_free(leaf_key);
	pki_key_free(other_key);
	return 0;
}

/* Check files/<file> (with opts) and return the report's error and
 * warning codes, sorted by appearance, space-separated. */
static const char *run_files(const char *file, const char *servername, const char *key,
			     const char *ca, int warn_days, struct check_report *r)
{
	static char codes[512];
	struct check_opts o;
	struct moat_err err;
	char path[128], capath[128], keypath[128];

	memset(&o, 0, sizeof(o));
	moat_err_clear(&err);
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	snprintf(capath, sizeof(capath), "%s/%s", dir, ca != NULL ? ca : "root.pem");
	o.ca_file = capath;
	o.servername = servername;
	o.no_revocation = o.no_http = true;
	o.warn_days = warn_days;
	if (key != NULL) {
		snprintf(keypath, sizeof(keypath), "%s/%s", dir, key);
		o.key_file = keypath;
	}
	if (check_files(path, &o, r, &err) != 0)
		fail_msg("check_files %s: %s", file, err.msg);
	codes[0] = '\0';
	for (size_t i = 0; i < r->nfindings; i++)
		if (r->findings[i].sev != CHECK_INFO)
			snprintf(codes + strlen(codes), sizeof(codes) - strlen(codes), "%s%s",
				 codes[0] ? " " : "", r->findings[i].code);
	return codes;
}

static struct pki_cert *leaf_for(const char *name, int64_t from, int64_t to)
{
	return build(PKI_PROFILE_LEAF, name, name, leaf_key, inter, int_key, from, to);
}

static void test_files_chains(void **state)
{
	int64_t now = time(NULL);
	struct pki_cert *leaf = leaf_for("good.test", now - 3600, now + 90L * 86400);
	struct pki_cert *c[4];
	struct check_report *r = malloc(sizeof(*r));

	(void)state;
	assert_non_null(r);
	c[0] = leaf, c[1] = inter;
	put("full.pem", c, 2);
	assert_string_equal(run_files("full.pem", "good.test", NULL, NULL, 0, r), "");
	assert_true(check_has(r, "trusted"));
	assert_int_equal(r->nsent, 2);
	assert_false(r->chain_fixable);
	check_report_clear(r);

	put("leaf.pem", c, 1);
	assert_string_equal(run_files("leaf.pem", "good.test", NULL, NULL, 0, r), "chain-incomplete");
	assert_non_null(strstr(r->findings[0].message, "Unit Int"));
	assert_non_null(strstr(r->findings[0].fix, "fullchain"));
	check_report_clear(r);

	c[0] = leaf, c[1] = inter, c[2] = other_root;
	put("unrelated.pem", c, 3);
	assert_string_equal(run_files("unrelated.pem", "good.test", NULL, NULL, 0, r),
			    "chain-unrelated");
	assert_true(r->chain_fixable);
	assert_non_null(strstr((const char *)r->fixed_chain.data, "BEGIN CERTIFICATE"));
	check_report_clear(r);

	c[0] = leaf, c[1] = inter, c[2] = root;
	put("withroot.pem", c, 3);
	assert_string_equal(run_files("withroot.pem", "good.test", NULL, NULL, 0, r), "");
	assert_true(check_has(r, "chain-root-sent"));
	check_report_clear(r);

	/* the same complete chain, judged against another root */
	assert_string_equal(run_files("full.pem", "good.test", NULL, "other-root.pem", 0, r),
			    "untrusted-root");
	check_report_clear(r);
	pki_cert_free(leaf);
	free(r);
}

static void test_files_names_dates_keys(void **state)
{
	int64_t now = time(NULL);
	struct pki_cert *c[2] = {NULL, inter};
	struct check_report *r = malloc(sizeof(*r));
	struct moat_buf kb = MOAT_BUF_INIT;
	struct moat_err err;
	char path[128];

	(void)state;
	assert_non_null(r);
	moat_err_clear(&err);
	c[0] = leaf_for("good.test", now - 3600, now + 90L * 86400);
	put("good.pem", c, 2);
	assert_string_equal(run_files("good.pem", "wrong.test", NULL, NULL, 0, r),
			    "hostname-mismatch");
	assert_non_null(strstr(r->findings[0].message, "good.test"));
	check_report_clear(r);
	/* the key: right one, then another */
	assert_int_equal(pki_key_to_pem(leaf_key, NULL, 0, &kb, &err), 0);
	snprintf(path, sizeof(path), "%s/leaf.key", dir);
	fx_write_file(path, kb.data, kb.len);
	moat_buf_free(&kb);
	assert_string_equal(run_files("good.pem", "good.test", "leaf.key", NULL, 0, r), "");
	assert_true(check_has(r, "key-match"));
	check_report_clear(r);
	assert_int_equal(pki_key_to_pem(other_key, NULL, 0, &kb, &err), 0);
	snprintf(path, sizeof(path), "%s/other.key", dir);
	fx_write_file(path, kb.data, kb.len);
	moat_buf_free(&kb);
	assert_string_equal(run_files("good.pem", "good.test", "other.key", NULL, 0, r),
			    "key-mismatch");
	check_report_clear(r);
	pki_cert_free(c[0]);

	c[0] = leaf_for("old.test", now - 100L * 86400, now - 2L * 86400);
	put("expired.pem", c, 2);
	assert_string_equal(run_files("expired.pem", "old.test", NULL, NULL, 0, r), "expired");
	assert_non_null(strstr(r->findings[0].message, "2 days ago"));
	check_report_clear(r);
	pki_cert_free(c[0]);

	c[0] = leaf_for("soon.test", now - 3600, now + 5L * 86400 + 3600);
	put("soon.pem", c, 2);
	assert_string_equal(run_files("soon.pem", "soon.test", NULL, NULL, 0, r), "expiring");
	check_report_clear(r);
	assert_string_equal(run_files("soon.pem", "soon.test", NULL, NULL, 3, r), "");
	check_report_clear(r);
	pki_cert_free(c[0]);

	/* a self-signed end-entity certificate */
	c[0] = build(PKI_PROFILE_LEAF, "self.test", "self.test", leaf_key, NULL, leaf_key,
		     now - 3600, now + 90L * 86400);
	put("self.pem", c, 1);
	assert_string_equal(run_files("self.pem", "self.test", NULL, NULL, 0, r), "self-signed");
	check_report_clear(r);
	pki_cert_free(c[0]);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_bad_targets),
		cmocka_unit_test(test_long_target),
		cmocka_unit_test_setup_teardown(test_files_chains, files_setup, files_teardown),
		cmocka_unit_test_setup_teardown(test_files_names_dates_keys, files_setup,
						files_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
