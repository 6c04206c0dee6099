/* cmd_sign.c: moat sign CSR — certify a key we never saw. */
#include "cli/cli.h"

#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca.h"
#include "core/file.h"

/* Refuse public keys no client accepts. */
static int check_csr_key(const struct pki_key *k, struct moat_err *err)
{
	char desc[64];
	long bits;

	pki_key_describe(k, desc, sizeof(desc));
	if (strncmp(desc, "RSA ", 4) == 0) {
		bits = strtol(desc + 4, NULL, 10);
		if (bits < 2048) {
			moat_err_set(err, "the CSR's key is %s; clients refuse RSA keys shorter than 2048 bits",
				     desc);
			moat_err_hint(err, "make a new key and CSR, e.g. with `moat csr NAME`");
			return -1;
		}
	}
	return 0;
}

/* The CSR's SAN names, plus its CN when that is a name the SAN lacks. */
static int csr_names(const struct pki_csr *csr, struct moat_name **out, size_t *nout,
		     struct moat_err *err)
{
	struct moat_name *names = NULL, cn_name, *grown;
	size_t n = 0;
	char cn[256];
	int ret = -1;

	if (pki_csr_names(csr, &names, &n, cn, sizeof(cn), err) != 0)
		goto out;
	if (cn[0] != '\0') {
		bool present = false;
		if (moat_name_parse(cn, &cn_name, n == 0 ? err : NULL) != 0) {
			if (n == 0) {
				moat_err_prefix(err, "the CSR has no subjectAltName and its Common Name is not a name");
				goto out;
			}
			cli_notice("ignoring the CSR's Common Name \"%s\": not a DNS name or IP address", cn);
		} else {
			for (size_t i = 0; i < n; i++)
				present |= strcmp(names[i].text, cn_name.text) == 0;
			if (!present) {
				if ((grown = realloc(names, (n + 1) * sizeof(*names))) == NULL) {
					moat_err_set(err, "out of memory");
					goto out;
				}
				names = grown;
				memmove(names + 1, names, n * sizeof(*names));
				names[0] = cn_name;
				n++;
				cli_notice("the CSR %s; copied its Common Name \"%s\" into subjectAltName, "
					   "where browsers look for it",
					   n == 1 ? "has no subjectAltName" : "does not list its Common Name in subjectAltName",
					   cn_name.text);
			}
		}
	}
	if (n == 0) {
		moat_err_set(err, "the CSR names nothing: no subjectAltName and no Common Name");
		goto out;
	}
	*out = names;
	*nout = n;
	names = NULL;
	ret = 0;
out:
	free(names);
	return ret;
}

int cli_cmd_sign(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"days", required_argument, NULL, 'd'},
		{"client", no_argument, NULL, 'c'},
		{"out", required_argument, NULL, 'o'},
		{"passphrase-file", required_argument, NULL, 'P'},
		{"force", no_argument, NULL, 'f'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	struct ca_issue_opts o = {0};
	struct ca_issued res;
	struct moat_name *names = NULL;
	struct moat_buf in = MOAT_BUF_INIT;
	struct moat_err err;
	struct ca *ca = NULL;
	struct pki_csr *csr = NULL;
	struct pki_key *pub = NULL;
	const char *pass_file = NULL;
	bool json = false;
	size_t nnames = 0;
	int c, ret = CLI_FAIL;

	moat_err_clear(&err);
	optind = 0;
	while ((c = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (cli_parse_days("sign", optarg, &o.days) != CLI_OK)
				return CLI_USAGE;
			break;
		case 'c': o.client = true; break;
		case 'o': o.out_dir = optarg; break;
		case 'P': pass_file = optarg; break;
		case 'f': o.force = true; break;
		case 'j': json = true; break;
		default: return cli_bad_option("sign", c, argv);
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("sign", "give exactly one CSR file");
	if (moat_file_read(argv[optind], PKI_MAX_INPUT, &in, &err) != 0)
		goto out;
	if ((csr = pki_csr_from_pem(in.data, in.len, &err)) == NULL) {
		moat_err_prefix(&err, "%s", argv[optind]);
		goto out;
	}
	if (pki_csr_verify(csr, &err) != 0) {
		moat_err_prefix(&err, "%s", argv[optind]);
		moat_err_hint(&err, "the CSR was altered or damaged after it was made; make it again");
		goto out;
	}
	if ((pub = pki_csr_pubkey(csr, &err)) == NULL || check_csr_key(pub, &err) != 0 ||
	    csr_names(csr, &names, &nnames, &err) != 0)
		goto out;
	o.names = names;
	o.nnames = nnames;
	o.csr_key = pub;
	if (cli_ca_open(true, pass_file, &ca, &err) != 0 || ca_issue(ca, &o, &res, &err) != 0)
		goto out;
	ret = cli_print_issued(&res, names, nnames, o.out_dir, json);
out:
	moat_buf_free(&in);
	free(names);
	pki_key_free(pub);
	pki_csr_free(csr);
	ca_free(ca);
	return ret == CLI_OK ? CLI_OK : (err.msg[0] ? cli_fail(&err) : ret);
}
