/* unit_skip.h: a unit test that cannot run on this machine (include after
 * <cmocka.h>).
 *
 * cmocka's skip() alone reports the test as passed to meson, so a CI run
 * without, say, the openssl tool would stay green with the cross-checks never
 * made.  UNIT_SKIP(why) skips only outside CI: when CI=true (which .ci/run
 * always sets) it fails the test instead, unless MOAT_TESTS_LENIENT=1 (the
 * same rule as tests/integration/skips.sh). */
#ifndef MOAT_TEST_UNIT_SKIP_H
#define MOAT_TEST_UNIT_SKIP_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Is a skip a failure here (CI=true and not MOAT_TESTS_LENIENT=1)? */
static inline bool unit_strict(void)
{
	const char *ci = getenv("CI"), *lenient = getenv("MOAT_TESTS_LENIENT");

	return ci != NULL && strcmp(ci, "true") == 0 &&
	       (lenient == NULL || strcmp(lenient, "1") != 0);
}

#define UNIT_SKIP(why)                                                                   \
	do {                                                                             \
		if (unit_strict())                                                       \
			fail_msg("skipped in CI (CI=true): %s", (why));                  \
		print_message("skipped: %s\n", (why));                                   \
		skip();                                                                  \
	} while (0)

#endif
