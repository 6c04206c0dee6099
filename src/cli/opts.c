/* opts.c: option values shared by several commands. */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "core/names.h"

int cli_parse_days(const char *cmd, const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > 100000)
		return cli_usage_error(cmd, "--days wants a whole number of days, not \"%.40s\"", s);
	*out = (int)v;
	return CLI_OK;
}

bool cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return false;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return true;
	}
	return false;
}

int cli_bad_option(const char *cmd, int c, char **argv)
{
	const char *opt = argv[optind - 1];

	if (c == ':')
		return cli_usage_error(cmd, "option %.40s needs a value", opt);
	return cli_usage_error(cmd, "unknown option %.40s", opt);
}

bool cli_dash_name(int argc, char **argv, struct moat_err *err)
{
	struct moat_name n;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0)
			return false;
		/* "-foo.com" is a (bad) name, not a cluster of short options */
		if (a[0] == '-' && a[1] != '-' && a[1] != '\0' && strchr(a, '.') != NULL) {
			if (moat_name_parse(a, &n, err) != 0)
				return true;
		}
	}
	return false;
}
