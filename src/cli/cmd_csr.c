/* cmd_csr.c: moat csr NAME... — a key and a CSR for a third-party CA. */
#include "cli/cli.h"

#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "pki/pki.h"

int cli_cmd_csr(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"key-type", required_argument, NULL, 'k'},
		{"out", required_argument, NULL, 'o'},
		{"force", no_argument, NULL, 'f'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	enum pki_key_type kt = PKI_KEY_EC_P256;
	struct moat_name *names = NULL;
	struct moat_err err;
	struct pki_key *key = NULL;
	struct pki_csr *csr = NULL;
	struct moat_buf kpem = MOAT_BUF_INIT, cpem = MOAT_BUF_INIT;
	struct moat_fileset *fs = NULL;
	const char *dir = ".";
	bool json = false, force = false;
	size_t nnames = 0;
	char lineage[MOAT_NAME_MAX + 16], kpath[PATH_MAX], cpath[PATH_MAX], fname[MOAT_NAME_MAX + 32];
	int c, ret = CLI_FAIL;

	moat_err_clear(&err);
	if (cli_dash_name(argc, argv, &err))
		return cli_fail(&err);
	optind = 0;
	while ((c = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
		switch (c) {
		case 'k':
			if (pki_key_type_parse(optarg, &kt, &err) != 0)
				return cli_fail(&err);
			break;
		case 'o': dir = optarg; break;
		case 'f': force = true; break;
		case 'j': json = true; break;
		default: return cli_bad_option("csr", c, argv);
		}
	}
	if (optind >= argc)
		return cli_usage_error("csr", "which names? e.g. moat csr example.com www.example.com");
	if (moat_names_parse((const char *const *)argv + optind, (size_t)(argc - optind), &names,
			     &nnames, &err) != 0)
		goto out;
	moat_name_lineage(&names[0], lineage, sizeof(lineage));
	snprintf(fname, sizeof(fname), "%s.key", lineage);
	if (moat_path_join(kpath, sizeof(kpath), dir, fname, &err) != 0)
		goto out;
	snprintf(fname, sizeof(fname), "%s.csr", lineage);
	if (moat_path_join(cpath, sizeof(cpath), dir, fname, &err) != 0)
		goto out;
	if ((key = pki_key_generate(kt, &err)) == NULL ||
	    (csr = pki_csr_build(key, names, nnames, &err)) == NULL ||
	    pki_key_to_pem(key, NULL, 0, &kpem, &err) != 0 || pki_csr_to_pem(csr, &cpem, &err) != 0)
		goto out;
	if ((fs = moat_fileset_new()) == NULL) {
		moat_err_set(&err, "out of memory");
		goto out;
	}
	if (moat_fileset_mkdir(fs, dir, 0755, &err) != 0 ||
	    moat_fileset_add(fs, kpath, kpem.data, kpem.len, 0600, force, &err) != 0 ||
	    moat_fileset_add(fs, cpath, cpem.data, cpem.len, 0644, force, &err) != 0 ||
	    moat_fileset_commit(fs, &err) != 0)
		goto out;
	if (json) {
		json_t *jn = json_array();
		for (size_t i = 0; i < nnames; i++)
			json_array_append_new(jn, json_string(names[i].text));
		ret = cli_json_print(json_pack("{s:o, s:s, s:s, s:s}", "names", jn, "key_type",
					       pki_key_type_name(kt), "key", kpath, "csr", cpath));
		goto out;
	}
	printf("Wrote a %s key and a CSR for", pki_key_type_name(kt));
	for (size_t i = 0; i < nnames; i++)
		printf("%s %s", i ? "," : "", names[i].text);
	printf("\n  %s  the CSR: give it to your CA\n  %s  the private key: keep it here (0600)\n",
	       cpath, kpath);
	ret = CLI_OK;
out:
	moat_fileset_free(fs);
	moat_buf_wipe(&kpem);
	moat_buf_free(&cpem);
	pki_csr_free(csr);
	pki_key_free(key);
	free(names);
	return ret == CLI_OK ? CLI_OK : (err.msg[0] ? cli_fail(&err) : ret);
}
