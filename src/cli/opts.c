/* opts.c: option values shared by several commands. */
#include "cli/cli.h"

#include <getopt.h>
#include <string.h>

#include "core/names.h"
#include "core/parse.h"

int cli_parse_days(const char *cmd, const char *s, int *out)
{
	int64_t v;

	if (moat_parse_number(s, 1, 100000, &v, NULL) != 0)
		return cli_usage_error(cmd, "--days wants a whole number of days, not \"%.40s\"", s);
	*out = (int)v;
	return CLI_OK;
}

/* CLI_OK when a parser returned rc 0, else CLI_USAGE after "moat: error:
 * --timeout: "0" is not a duration from 1s to 5m". */
static int checked(const char *cmd, const char *opt, int rc, const struct moat_err *err)
{
	return rc == 0 ? CLI_OK : cli_usage_error(cmd, "%s: %s", opt, err->msg);
}

int cli_opt_number(const char *cmd, const char *opt, const char *s, int64_t lo, int64_t hi,
		   int64_t *out)
{
	struct moat_err err;

	return checked(cmd, opt, moat_parse_number(s, lo, hi, out, &err), &err);
}

int cli_opt_duration_ms(const char *cmd, const char *opt, const char *s, int64_t lo_ms,
			int64_t hi_ms, int64_t *ms)
{
	struct moat_err err;

	return checked(cmd, opt, moat_parse_duration_ms(s, lo_ms, hi_ms, ms, &err), &err);
}

int cli_opt_seconds(const char *cmd, const char *opt, const char *s, int lo_s, int hi_s,
		    int *seconds)
{
	int64_t ms;

	if (cli_opt_duration_ms(cmd, opt, s, lo_s * 1000LL, hi_s * 1000LL, &ms) != CLI_OK)
		return CLI_USAGE;
	*seconds = (int)((ms + 999) / 1000);
	return CLI_OK;
}

int cli_opt_port(const char *cmd, const char *opt, const char *s, bool zero_ok, uint16_t *port)
{
	struct moat_err err;

	return checked(cmd, opt, moat_parse_port(s, zero_ok, port, &err), &err);
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

int cli_opts_json_only(const char *cmd, int argc, char **argv, bool *json)
{
	static const struct option lopts[] = {{"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
		if (c != 'j')
			return cli_bad_option(cmd, c, argv);
		*json = true;
	}
	if (optind != argc)
		return cli_usage_error(cmd, "unexpected argument \"%.40s\"", argv[optind]);
	return CLI_OK;
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

int cli_opt_hostport(const char *cmd, const char *opt, const char *s, unsigned flags,
		     struct moat_hostport *hp)
{
	struct moat_err err;

	return checked(cmd, opt, moat_parse_hostport(s, flags, hp, &err), &err);
}
