/* caserve: the nonces (single use, a window, unforgeable, the chaos option
 * sparing retries), the rate limits, and the object store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "caserve/internal.h"

static void test_nonce_single_use(void **state)
{
	struct caserve_nonces *n = caserve_nonces_new(0);
	char a[CASERVE_NONCE_LEN + 1], b[CASERVE_NONCE_LEN + 1];

	(void)state;
	assert_non_null(n);
	caserve_nonce_new(n, a, false);
	caserve_nonce_new(n, b, false);
	assert_int_equal(strlen(a), CASERVE_NONCE_LEN);
	assert_string_not_equal(a, b);
	assert_true(caserve_nonce_take(n, b));
	assert_false(caserve_nonce_take(n, b)); /* used */
	assert_true(caserve_nonce_take(n, a));	/* order does not matter */
	assert_false(caserve_nonce_take(n, a));
	assert_false(caserve_nonce_take(n, NULL));
	assert_false(caserve_nonce_take(n, ""));
	assert_false(caserve_nonce_take(n, "not a nonce"));
	caserve_nonces_free(n);
}

static void test_nonce_forged(void **state)
{
	struct caserve_nonces *n = caserve_nonces_new(0), *other = caserve_nonces_new(0);
	char a[CASERVE_NONCE_LEN + 1], f[CASERVE_NONCE_LEN + 1];

	(void)state;
	assert_non_null(n);
	assert_non_null(other);
	caserve_nonce_new(n, a, false);
	/* every single character changed: refused */
	for (size_t i = 0; i < CASERVE_NONCE_LEN; i++) {
		memcpy(f, a, sizeof(f));
		f[i] = f[i] == 'A' ? 'B' : 'A';
		assert_false(caserve_nonce_take(n, f));
	}
	/* another server's (a restart's) nonce: refused */
	caserve_nonce_new(other, f, false);
	assert_false(caserve_nonce_take(n, f));
	assert_true(caserve_nonce_take(n, a));
	caserve_nonces_free(n);
	caserve_nonces_free(other);
}

static void test_nonce_window(void **state)
{
	struct caserve_nonces *n = caserve_nonces_new(0);
	char first[CASERVE_NONCE_LEN + 1], x[CASERVE_NONCE_LEN + 1];

	(void)state;
	assert_non_null(n);
	caserve_nonce_new(n, first, false);
	for (int i = 0; i < CASERVE_NONCE_WINDOW; i++)
		caserve_nonce_new(n, x, false);
	assert_false(caserve_nonce_take(n, first)); /* fell out of the window */
	assert_true(caserve_nonce_take(n, x));
	caserve_nonces_free(n);
}

static void test_nonce_chaos(void **state)
{
	struct caserve_nonces *n = caserve_nonces_new(50);
	char x[CASERVE_NONCE_LEN + 1];
	int refused = 0;

	(void)state;
	assert_non_null(n);
	for (int i = 0; i < 1000; i++) {
		caserve_nonce_new(n, x, false);
		if (!caserve_nonce_take(n, x))
			refused++;
	}
	assert_in_range(refused, 350, 650); /* about half */
	for (int i = 0; i < 1000; i++) { /* a spare one (newNonce, badNonce) never */
		caserve_nonce_new(n, x, true);
		assert_true(caserve_nonce_take(n, x));
	}
	caserve_nonces_free(n);
}

static void test_limits(void **state)
{
	struct caserve_limits *l = caserve_limits_new();
	char key[32];

	(void)state;
	assert_non_null(l);
	for (int i = 0; i < 3; i++)
		assert_int_equal(caserve_limit_take(l, "acct 10.0.0.1", 3), 0);
	assert_in_range(caserve_limit_take(l, "acct 10.0.0.1", 3), 1, 3600);
	assert_int_equal(caserve_limit_take(l, "acct 10.0.0.2", 3), 0); /* another key */
	assert_int_equal(caserve_limit_take(l, "acct 10.0.0.1", 0), 0); /* no limit */
	/* many keys: the table keeps working (old windows are taken over) */
	for (int i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(caserve_limit_take(l, key, 1), 0);
	}
	caserve_limits_free(l);
}

static void test_store(void **state)
{
	char dir[] = "/tmp/test-caserve-XXXXXX", path[64];
	struct caserve_store *st;
	struct moat_err err;
	json_t *doc, *got;
	int64_t id = 0, id2 = 0, parent = 0, account = 0, *ids = NULL;
	size_t n = 0;
	bool taken = false;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/acme.db", dir);
	moat_err_clear(&err);
	st = caserve_store_open(path, &err);
	assert_non_null(st);
	doc = json_pack("{s:s}", "status", "valid");
	assert_int_equal(caserve_store_add(st, "account", 0, 0, "tp1", doc, &id, &err), 0);
	assert_int_equal(caserve_store_add(st, "order", 0, id, NULL, doc, &id2, &err), 0);
	assert_int_equal(caserve_store_add(st, "authz", id2, id, NULL, doc, &id2, &err), 0);
	got = caserve_store_get(st, "account", id, &parent, &account, &err);
	assert_non_null(got);
	assert_string_equal(json_string_value(json_object_get(got, "status")), "valid");
	json_decref(got);
	/* the wrong kind, or nothing: NULL with err clear */
	assert_null(caserve_store_get(st, "order", id, NULL, NULL, &err));
	assert_string_equal(err.msg, "");
	assert_null(caserve_store_find(st, "account", "nope", &id2, NULL, &err));
	got = caserve_store_find(st, "account", "tp1", &id2, NULL, &err);
	assert_non_null(got);
	assert_int_equal(id2, id);
	json_decref(got);
	/* a key is unique */
	assert_int_equal(caserve_store_add(st, "account", 0, 0, "tp1", doc, &id2, &err), -1);
	assert_int_equal(caserve_store_add(st, "account", 0, 0, "tp2", doc, &id2, &err), 0);
	assert_int_equal(caserve_store_rekey(st, id2, "tp1", &taken, &err), -1);
	assert_true(taken);
	/* lists by account and by parent */
	assert_int_equal(caserve_store_list(st, "order", id, true, 10, &ids, &n, &err), 0);
	assert_int_equal(n, 1);
	free(ids);
	json_decref(doc);
	caserve_store_free(st);
	unlink(path);
	snprintf(path, sizeof(path), "%s/acme.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/acme.db-shm", dir);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nonce_single_use), cmocka_unit_test(test_nonce_forged),
		cmocka_unit_test(test_nonce_window),	 cmocka_unit_test(test_nonce_chaos),
		cmocka_unit_test(test_limits),		 cmocka_unit_test(test_store),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
