/* test_trust_store.c: the trust-store logic without the real stores:
 * store names, names given to the root, the Debian/Fedora/Arch layouts on
 * a tree (state present/pending/foreign/absent, install all-or-nothing,
 * uninstall leaves foreign certificates alone), and running tools. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/file.h"
#include "core/proc.h"
#include "fixture.h"
#include "trust/trust.h"

struct fx {
	char dir[256];
	struct pki_key *key;
	struct pki_cert *root;
	struct pki_cert *other; /* a different root */
};

static struct pki_cert *make_root(struct pki_key *k, const char *cn)
{
	struct pki_cert_spec spec;
	struct moat_err err;
	struct pki_cert *c;

	memset(&spec, 0, sizeof(spec));
	spec.profile = PKI_PROFILE_ROOT;
	spec.common_name = cn;
	spec.not_before = time(NULL) - 60;
	spec.not_after = time(NULL) + 86400;
	moat_err_clear(&err);
	c = pki_cert_build(&spec, k, NULL, k, &err);
	assert_non_null(c);
	return c;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/moat-unit-trust-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->key = fx_key(PKI_KEY_EC_P256);
	f->root = make_root(f->key, "Unit Root");
	f->other = make_root(f->key, "Unit Root");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	pki_cert_free(f->root);
	pki_cert_free(f->other);
	pki_key_free(f->key);
	free(f);
	return 0;
}

static void mkdirs(const char *base, const char *rel)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/%s'", base, rel);
	assert_int_equal(system(cmd), 0);
}

static void write_pem(const char *path, const struct pki_cert *c)
{
	struct moat_buf b = MOAT_BUF_INIT;
	struct moat_err err;
	moat_err_clear(&err);
	assert_int_equal(pki_cert_to_pem(c, &b, &err), 0);
	fx_write_file(path, b.data, b.len);
	moat_buf_free(&b);
}

static void test_store_parse(void **state)
{
	struct moat_err err;
	unsigned s = 0;

	(void)state;
	moat_err_clear(&err);
	assert_int_equal(trust_store_parse("system", &s, &err), 0);
	assert_int_equal(s, TRUST_STORE_SYSTEM);
	s = 0;
	assert_int_equal(trust_store_parse("nss,java", &s, &err), 0);
	assert_int_equal(s, TRUST_STORE_NSS | TRUST_STORE_JAVA);
	s = 0;
	assert_int_equal(trust_store_parse("all", &s, &err), 0);
	assert_int_equal(s, TRUST_STORE_ALL);
	assert_int_equal(trust_store_parse("nss,firefox", &s, &err), -1);
	assert_non_null(strstr(err.msg, "firefox"));
	assert_int_equal(trust_store_parse("systemd", &s, &err), -1);
	assert_string_equal(trust_state_name(TRUST_PENDING), "pending");
	assert_string_equal(trust_outcome_name(TRUST_UNDONE), "undone");
}

static struct trust_set *scan(struct fx *f, const char *sysroot, const char *ca_name,
			      bool replace)
{
	static struct trust_opts o;
	struct moat_err err;
	struct trust_set *s;

	memset(&o, 0, sizeof(o));
	o.stores = TRUST_STORE_SYSTEM;
	o.strict = o.named = true;
	o.replace = replace;
	o.sysroot = sysroot;
	moat_err_clear(&err);
	s = trust_set_scan(&o, f->root, ca_name, &err);
	if (s == NULL)
		fail_msg("scan: %s", err.msg);
	return s;
}

/* File names and NSS nicknames derived from the CA name. */
static void test_names(void **state)
{
	struct fx *f = *state;
	struct trust_set *s;
	char root[300];

	snprintf(root, sizeof(root), "%s/fedora", f->dir);
	mkdirs(root, "etc/pki/ca-trust/source/anchors");
	s = scan(f, root, "Ex:ample <CA>\n", false);
	assert_int_equal(trust_set_count(s), 1);
	assert_string_equal(trust_set_nickname(s), "Ex-ample <CA>-");
	assert_non_null(strstr(trust_set_place(s, 0)->path, "/anchors/moat-ex-ample-ca.pem"));
	assert_string_equal(trust_set_place(s, 0)->kind, "fedora");
	trust_set_free(s);
	s = scan(f, root, "moat alice@laptop", false);
	assert_non_null(strstr(trust_set_place(s, 0)->path, "/anchors/moat-alice-laptop.pem"));
	trust_set_free(s);
	s = scan(f, root, "!!!", false);
	assert_non_null(strstr(trust_set_place(s, 0)->path, "/anchors/moat.pem"));
	trust_set_free(s);
}

/* Fedora under --sysroot: the anchor is placed, the bundle is rebuilt
 * later inside the image (pending); a foreign anchor stops install and
 * survives uninstall; --replace replaces it. */
static void test_fedora_tree(void **state)
{
	struct fx *f = *state;
	struct trust_set *s;
	struct moat_err err;
	char root[300], anchor[600], bundle[600];

	snprintf(root, sizeof(root), "%s/fed", f->dir);
	mkdirs(root, "etc/pki/ca-trust/source/anchors");
	mkdirs(root, "etc/pki/ca-trust/extracted/pem");
	snprintf(anchor, sizeof(anchor), "%s/etc/pki/ca-trust/source/anchors/moat-unit.pem", root);
	snprintf(bundle, sizeof(bundle), "%s/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
		 root);
	moat_err_clear(&err);

	s = scan(f, root, "unit", false);
	assert_int_equal(trust_set_place(s, 0)->state, TRUST_ABSENT);
	assert_false(trust_set_trusted(s));
	assert_int_equal(trust_set_install(s, &err), 0);
	assert_int_equal(trust_set_place(s, 0)->outcome, TRUST_ADDED);
	assert_int_equal(trust_set_place(s, 0)->state, TRUST_PENDING);
	assert_non_null(strstr(trust_set_place(s, 0)->detail, "update-ca-trust"));
	assert_true(moat_file_exists(anchor));
	trust_set_free(s);

	/* the image's tool ran: the bundle holds the root -> present */
	write_pem(bundle, f->root);
	s = scan(f, root, "unit", false);
	assert_int_equal(trust_set_place(s, 0)->state, TRUST_PRESENT);
	assert_true(trust_set_trusted(s));
	assert_int_equal(trust_set_install(s, &err), 0);
	assert_int_equal(trust_set_place(s, 0)->outcome, TRUST_ALREADY);
	trust_set_free(s);

	/* someone else's certificate under our name */
	write_pem(anchor, f->other);
	s = scan(f, root, "unit", false);
	assert_int_equal(trust_set_place(s, 0)->state, TRUST_FOREIGN);
	assert_int_equal(trust_set_install(s, &err), -1);
	assert_int_equal(trust_set_place(s, 0)->outcome, TRUST_FAILED);
	assert_non_null(strstr(trust_set_place(s, 0)->hint, "--replace"));
	moat_err_clear(&err);
	assert_int_equal(trust_set_uninstall(s, &err), 0);
	assert_int_equal(trust_set_place(s, 0)->outcome, TRUST_SKIPPED);
	assert_true(moat_file_exists(anchor));
	trust_set_free(s);

	s = scan(f, root, "unit", true);
	assert_int_equal(trust_set_install(s, &err), 0);
	assert_int_equal(trust_set_place(s, 0)->outcome, TRUST_ADDED);
	assert_int_equal(trust_set_place(s, 0)->state, TRUST_PRESENT);
	assert_int_equal(trust_set_uninstall(s, &err), 0);
	assert_int_equal(trust_set_place(s, 0)->outcome, TRUST_REMOVED);
	assert_false(moat_file_exists(anchor));
	trust_set_free(s);
}

/* A tree without any known layout: unavailable; named, install fails
 * and says why. */
static void test_no_layout(void **state)
{
	struct fx *f = *state;
	struct trust_set *s;
	struct moat_err err;
	char root[300];

	snprintf(root, sizeof(root), "%s/empty", f->dir);
	mkdirs(root, "etc");
	s = scan(f, root, "unit", false);
	assert_int_equal(trust_set_place(s, 0)->state, TRUST_UNAVAILABLE);
	assert_false(trust_set_trusted(s));
	moat_err_clear(&err);
	assert_int_equal(trust_set_install(s, &err), -1);
	assert_int_equal(trust_set_place(s, 0)->outcome, TRUST_FAILED);
	assert_non_null(strstr(trust_set_place(s, 0)->why, "no known system trust store"));
	trust_set_free(s);
}

static void test_missing_sysroot(void **state)
{
	struct fx *f = *state;
	struct trust_opts o;
	struct moat_err err;
	char root[300];

	memset(&o, 0, sizeof(o));
	snprintf(root, sizeof(root), "%s/nope", f->dir);
	o.stores = TRUST_STORE_SYSTEM;
	o.sysroot = root;
	moat_err_clear(&err);
	assert_null(trust_set_scan(&o, f->root, "unit", &err));
	assert_non_null(strstr(err.msg, "not a directory"));
}

static void test_run_capture(void **state)
{
	const char *ok[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
	const char *big[] = {"sh", "-c", "yes | head -c 100000", NULL};
	const char *slow[] = {"sleep", "5", NULL};
	const char *none[] = {"moat-no-such-program-here", NULL};
	struct moat_buf o = MOAT_BUF_INIT, e = MOAT_BUF_INIT;
	struct moat_err err;
	char path[4096];
	int status = -1;

	(void)state;
	moat_err_clear(&err);
	assert_int_equal(moat_run_capture(ok, &o, &e, 1024, 10000, &status, &err), 0);
	assert_int_equal(status, 3);
	assert_string_equal((char *)o.data, "out\n");
	assert_string_equal((char *)e.data, "err\n");
	moat_buf_free(&o);
	moat_buf_free(&e);
	/* output beyond the cap is read and dropped */
	assert_int_equal(moat_run_capture(big, &o, NULL, 1000, 10000, &status, &err), 0);
	assert_int_equal(status, 0);
	assert_int_equal(o.len, 1000);
	moat_buf_free(&o);
	/* killed after the timeout */
	assert_int_equal(moat_run_capture(slow, NULL, NULL, 10, 200, &status, &err), -1);
	assert_non_null(strstr(err.msg, "did not finish"));
	moat_err_clear(&err);
	assert_int_equal(moat_run_capture(none, NULL, NULL, 10, 1000, &status, &err), -1);
	assert_non_null(strstr(err.msg, "not found"));
	assert_true(moat_which("sh", NULL, path, sizeof(path)));
	assert_int_equal(path[0], '/');
	assert_false(moat_which("moat-no-such-program-here", NULL, path, sizeof(path)));
	assert_false(moat_which("sh", "/nonexistent-dir", path, sizeof(path)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_parse),
		cmocka_unit_test(test_run_capture),
		cmocka_unit_test_setup_teardown(test_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fedora_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_sysroot, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
