/* cmd_revoke.c: moat revoke WHAT, moat crl */
#include "cli/cli.h"

#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca.h"

int cli_cmd_revoke(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"reason", required_argument, NULL, 'r'},
		{"passphrase-file", required_argument, NULL, 'P'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	enum pki_reason reason = PKI_REASON_UNSPECIFIED;
	struct ca_record *recs = NULL;
	struct moat_err err;
	struct ca *ca = NULL;
	const char *pass_file = NULL;
	bool json = false;
	size_t n = 0;
	char crl[PATH_MAX];
	int c, ret = CLI_FAIL;

	moat_err_clear(&err);
	optind = 0;
	while ((c = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (pki_reason_parse(optarg, &reason, &err) != 0)
				return cli_fail(&err);
			break;
		case 'P': pass_file = optarg; break;
		case 'j': json = true; break;
		default: return cli_bad_option("revoke", c, argv);
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("revoke", "give one name, serial number or certificate file");
	if (cli_ca_open(true, pass_file, &ca, &err) != 0 ||
	    ca_revoke(ca, argv[optind], reason, &recs, &n, &err) != 0 ||
	    ca_path(ca, "crl.pem", crl, sizeof(crl), &err) != 0)
		goto out;
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, json_pack("{s:s, s:s}", "serial", recs[i].serial,
							     "names", recs[i].names));
		ret = cli_json_print(json_pack("{s:o, s:s, s:s}", "revoked", arr, "reason",
					       pki_reason_name(reason), "crl", crl));
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		printf("Revoked %s (%s), reason %s\n", recs[i].serial, recs[i].names,
		       pki_reason_name(reason));
	printf("Updated the CRL: %s\nServe or copy it to wherever your clients fetch it.\n", crl);
	ret = CLI_OK;
out:
	free(recs);
	ca_free(ca);
	return ret == CLI_OK ? CLI_OK : (err.msg[0] ? cli_fail(&err) : ret);
}

int cli_cmd_crl(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"out", required_argument, NULL, 'o'},
		{"passphrase-file", required_argument, NULL, 'P'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	struct pki_crl_info info;
	struct moat_err err;
	struct ca *ca = NULL;
	const char *pass_file = NULL, *out_file = NULL;
	bool json = false;
	char crl[PATH_MAX], tu[32], nu[32];
	int c, ret = CLI_FAIL;

	moat_err_clear(&err);
	memset(&info, 0, sizeof(info));
	optind = 0;
	while ((c = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
		switch (c) {
		case 'o': out_file = optarg; break;
		case 'P': pass_file = optarg; break;
		case 'j': json = true; break;
		default: return cli_bad_option("crl", c, argv);
		}
	}
	if (optind != argc)
		return cli_usage_error("crl", "unexpected argument \"%.40s\"", argv[optind]);
	if (cli_ca_open(true, pass_file, &ca, &err) != 0 ||
	    ca_write_crl(ca, out_file, &info, &err) != 0 ||
	    ca_path(ca, "crl.pem", crl, sizeof(crl), &err) != 0)
		goto out;
	moat_time_iso(info.this_update, tu, sizeof(tu));
	moat_time_iso(info.next_update, nu, sizeof(nu));
	if (json) {
		ret = cli_json_print(json_pack("{s:s, s:s?, s:s, s:s, s:s, s:I}", "crl", crl, "out",
					       out_file, "number", info.number, "this_update", tu,
					       "next_update", nu, "revoked", (json_int_t)info.nrevoked));
		goto out;
	}
	printf("Wrote CRL number %s (%zu revoked, next update due %s)\n  %s\n", info.number,
	       info.nrevoked, nu, crl);
	if (out_file != NULL)
		printf("  %s\n", out_file);
	ret = CLI_OK;
out:
	ca_free(ca);
	return ret == CLI_OK ? CLI_OK : (err.msg[0] ? cli_fail(&err) : ret);
}
