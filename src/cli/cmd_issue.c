/* cmd_issue.c: moat issue NAME... */
#include "cli/cli.h"

#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca.h"
#include "core/pass.h"

int cli_print_issued(const struct ca_issued *r, const struct moat_name *names, size_t n,
		     const char *out_dir, bool json)
{
	static const char *const files[] = {"privkey", "cert", "chain", "fullchain"};
	char na[32], path[PATH_MAX + 32];

	moat_time_iso(r->not_after, na, sizeof(na));
	if (json) {
		json_t *jn = json_array(), *jf = json_object();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(jn, json_string(names[i].text));
		for (size_t i = 0; i < 4; i++) {
			if (i == 0 && !r->has_key)
				continue;
			snprintf(path, sizeof(path), "%s/%s.pem", r->dir, files[i]);
			json_object_set_new(jf, files[i], json_string(path));
		}
		if (r->has_p12) {
			snprintf(path, sizeof(path), "%s/cert.p12", r->dir);
			json_object_set_new(jf, "p12", json_string(path));
		}
		return cli_json_print(json_pack("{s:o, s:s, s:s, s:I, s:s, s:s, s:o, s:s?}", "names", jn,
						"serial", r->serial, "not_after", na, "days_left",
						(json_int_t)cli_days_left(r->not_after), "lineage",
						r->lineage, "dir", r->dir, "files", jf, "out", out_dir));
	}
	moat_date(r->not_after, na, sizeof(na));
	printf("Issued a certificate for");
	for (size_t i = 0; i < n; i++)
		printf("%s %s", i ? "," : "", names[i].text);
	printf(" (valid until %s)\n", na);
	printf("  %s/fullchain.pem  certificate + intermediate: point your server here\n", r->dir);
	if (r->has_key)
		printf("  %s/privkey.pem    private key\n", r->dir);
	printf("  %s/cert.pem and chain.pem: the certificate and the intermediate alone\n", r->dir);
	if (r->has_p12)
		printf("  %s/cert.p12       PKCS#12 bundle of all of them\n", r->dir);
	if (out_dir != NULL)
		printf("Copies are in %s\n", out_dir);
	return CLI_OK;
}

int cli_cmd_issue(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"key-type", required_argument, NULL, 'k'},
		{"days", required_argument, NULL, 'd'},
		{"client", no_argument, NULL, 'c'},
		{"out", required_argument, NULL, 'o'},
		{"p12", no_argument, NULL, 'p'},
		{"p12-passphrase-file", required_argument, NULL, 'q'},
		{"passphrase-file", required_argument, NULL, 'P'},
		{"force", no_argument, NULL, 'f'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	struct ca_issue_opts o = {.key_type = PKI_KEY_EC_P256};
	struct ca_issued res;
	struct moat_name *names = NULL;
	struct moat_buf p12pass = MOAT_BUF_INIT;
	struct moat_err err;
	struct ca *ca = NULL;
	const char *pass_file = NULL, *p12_file = NULL;
	bool json = false, p12 = false;
	size_t nnames = 0;
	int c, ret = CLI_FAIL;

	moat_err_clear(&err);
	if (cli_dash_name(argc, argv, &err))
		return cli_fail(&err);
	optind = 0;
	while ((c = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
		switch (c) {
		case 'k':
			if (pki_key_type_parse(optarg, &o.key_type, &err) != 0)
				return cli_fail(&err);
			break;
		case 'd':
			if (cli_parse_days("issue", optarg, &o.days) != CLI_OK)
				return CLI_USAGE;
			break;
		case 'c': o.client = true; break;
		case 'o': o.out_dir = optarg; break;
		case 'p': p12 = true; break;
		case 'q': p12_file = optarg; p12 = true; break;
		case 'P': pass_file = optarg; break;
		case 'f': o.force = true; break;
		case 'j': json = true; break;
		default: return cli_bad_option("issue", c, argv);
		}
	}
	if (optind >= argc)
		return cli_usage_error("issue", "which names? e.g. moat issue myserver.local 192.168.1.10");
	if (moat_names_parse((const char *const *)argv + optind, (size_t)(argc - optind), &names,
			     &nnames, &err) != 0)
		goto out;
	o.names = names;
	o.nnames = nnames;
	if (cli_ca_open(true, pass_file, &ca, &err) != 0)
		goto out;
	/* Check what can be checked before asking for a PKCS#12 passphrase. */
	if (ca_check_names(ca, names, nnames, &err) != 0 ||
	    ca_check_days(ca, o.days ? o.days : CA_DEFAULT_DAYS, &err) != 0)
		goto out;
	if (p12) {
		if (moat_pass_get(p12_file, CLI_ENV_P12_PASS, "Passphrase for the PKCS#12 file: ", true,
				  &p12pass, &err) != 0) {
			/* core/pass.c's hint names the CA's --passphrase-file */
			if (strstr(err.hint, "--passphrase-file") != NULL)
				moat_err_hint(&err, "set %s or use --p12-passphrase-file F",
					      CLI_ENV_P12_PASS);
			goto out;
		}
		o.p12_pass = (const char *)p12pass.data;
		o.p12_passlen = p12pass.len;
	}
	if (o.key_type >= PKI_KEY_RSA_3072 && o.key_type <= PKI_KEY_RSA_4096)
		cli_progress("generating a %s key...", pki_key_type_name(o.key_type));
	if (ca_issue(ca, &o, &res, &err) != 0)
		goto out;
	ret = cli_print_issued(&res, names, nnames, o.out_dir, json);
out:
	moat_buf_wipe(&p12pass);
	free(names);
	ca_free(ca);
	return ret == CLI_OK ? CLI_OK : (err.msg[0] ? cli_fail(&err) : ret);
}
