/* fuzz_target: what moat check and moat fetch are asked to connect to
 * (URLs and host[:port] from the command line and, later, from files).
 * Besides crashes, a parsed target must be usable: a host, a port, a path
 * that starts with '/'. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct check_target t;
	struct moat_err err;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	moat_err_clear(&err);
	if (check_target_parse(s, &t, &err) == 0) {
		if (t.host[0] == '\0' || t.port == 0 || t.path[0] != '/')
			abort();
		if (memchr(t.host, '/', strlen(t.host)) != NULL || strchr(t.host, '@') != NULL)
			abort();
	} else if (err.msg[0] == '\0') {
		abort();
	}
	free(s);
	return 0;
}
