/* cmd_trust.c: moat trust export, and the dispatch of moat trust. */
#include "cli/cli.h"

#include <getopt.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "ca/ca.h"
#include "core/file.h"
#include "pki/pki.h"
#include "trust/trust.h"

static int trust_export_cmd(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"format", required_argument, NULL, 'F'},
		{"out", required_argument, NULL, 'o'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	enum trust_format fmt = TRUST_PEM;
	struct moat_buf b = MOAT_BUF_INIT;
	struct moat_err err;
	struct ca *ca = NULL;
	const char *out_file = NULL;
	struct pki_cert_info info;
	bool have_fmt = false, json = false;
	int c, ret = CLI_FAIL;

	moat_err_clear(&err);
	optind = 0;
	while ((c = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
		switch (c) {
		case 'F':
			if (trust_format_parse(optarg, &fmt, &err) != 0)
				return cli_fail(&err);
			have_fmt = true;
			break;
		case 'o': out_file = optarg; break;
		case 'j': json = true; break;
		default: return cli_bad_option("trust export", c, argv);
		}
	}
	if (optind != argc)
		return cli_usage_error("trust export", "unexpected argument \"%.40s\"", argv[optind]);
	if (!have_fmt || out_file == NULL)
		return cli_usage_error("trust export", "give --format pem|der|mobileconfig and --out FILE");
	if (json && strcmp(out_file, "-") == 0)
		return cli_usage_error("trust export", "--json reports on standard output: give "
						       "--out FILE");
	memset(&info, 0, sizeof(info));
	if (cli_ca_open(false, NULL, &ca, &err) != 0 ||
	    trust_export(ca_root(ca), ca_name(ca), fmt, &b, &err) != 0)
		goto out;
	if (strcmp(out_file, "-") == 0) {
		if (fmt == TRUST_DER && isatty(STDOUT_FILENO)) {
			moat_err_set(&err, "not writing binary DER to a terminal");
			moat_err_hint(&err, "use --out FILE");
			goto out;
		}
		if (fwrite(b.data, 1, b.len, stdout) != b.len || fflush(stdout) != 0) {
			moat_err_set(&err, "cannot write to standard output");
			goto out;
		}
	} else {
		if (moat_file_write_atomic(out_file, b.data, b.len, 0644, &err) != 0)
			goto out;
		if (json) {
			if (pki_cert_info(ca_root(ca), &info, &err) != 0)
				goto out;
			ret = cli_json_print(json_pack("{s:s, s:s, s:s, s:s, s:I}", "file", out_file,
						       "format",
						       fmt == TRUST_PEM   ? "pem"
						       : fmt == TRUST_DER ? "der"
									  : "mobileconfig",
						       "name", ca_name(ca),
						       "sha256", info.sha256, "bytes",
						       (json_int_t)b.len));
			goto out;
		}
		fprintf(stderr, "Wrote the root certificate of \"%s\" to %s\n", ca_name(ca), out_file);
	}
	ret = CLI_OK;
out:
	pki_cert_info_clear(&info);
	moat_buf_free(&b);
	ca_free(ca);
	return ret == CLI_OK ? CLI_OK : (err.msg[0] ? cli_fail(&err) : ret);
}

int cli_cmd_trust(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(int argc, char **argv);
	} subs[] = {
		{"export", trust_export_cmd},	{"install", cli_trust_store},
		{"uninstall", cli_trust_store}, {"status", cli_trust_store},
		{"share", cli_trust_share},
	};

	if (argc < 2)
		return cli_usage_error("trust", "which? moat trust install|uninstall|status|share|export");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return cli_help("trust", stdout);
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		char full[32];
		if (strcmp(argv[1], subs[i].name) != 0)
			continue;
		snprintf(full, sizeof(full), "trust %s", subs[i].name);
		if (cli_wants_help(argc - 1, argv + 1))
			return cli_help(full, stdout);
		return subs[i].run(argc - 1, argv + 1);
	}
	return cli_usage_error("trust", "unknown command \"trust %.40s\"", argv[1]);
}
