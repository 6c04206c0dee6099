/* cmd_fetch.c: moat fetch TARGET -- save the certificate chain exactly as
 * a server sends it, as PEM (what the RingCentral page asks users to get
 * from Firefox's certificate viewer). */
#include "cli/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check/check.h"
#include "check/tls_probe.h"
#include "core/file.h"
#include "pki/pki.h"

static json_t *cert_json(const struct pki_cert_info *i, const struct moat_buf *pem)
{
	char nb[32], na[32];

	moat_time_iso(i->not_before, nb, sizeof(nb));
	moat_time_iso(i->not_after, na, sizeof(na));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s#}", "subject", i->subject, "issuer",
			 i->issuer, "serial", i->serial_hex, "not_before", nb, "not_after", na,
			 "sha256", i->sha256, "pem", (const char *)pem->data, (int)pem->len);
}

int cli_cmd_fetch(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"out", required_argument, NULL, 'o'},
		{"servername", required_argument, NULL, 'S'},
		{"connect-to", required_argument, NULL, 'C'},
		{"timeout", required_argument, NULL, 't'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	struct check_tls_probe_opts po;
	struct check_tls_probe pr;
	struct check_target tgt;
	struct moat_buf all = MOAT_BUF_INIT;
	struct moat_err err;
	const char *out_file = NULL;
	json_t *chain = NULL;
	bool json = false;
	int c, ret = CLI_FAIL;

	memset(&po, 0, sizeof(po));
	memset(&pr, 0, sizeof(pr));
	moat_err_clear(&err);
	optind = 0;
	while ((c = getopt_long(argc, argv, ":o:", lopts, NULL)) != -1) {
		switch (c) {
		case 'o': out_file = optarg; break;
		case 'S': po.servername = optarg; break;
		case 'C': po.connect_to = optarg; break;
		case 't': {
			int64_t ms;

			if (cli_opt_duration_ms("fetch", "--timeout", optarg, 1000, CLI_MAX_STEP_MS,
						&ms) != CLI_OK)
				return CLI_USAGE;
			po.timeout_ms = (int)ms;
			break;
		}
		case 'j': json = true; break;
		default: return cli_bad_option("fetch", c, argv);
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("fetch", optind == argc ? "which server? moat fetch HOST[:PORT]"
							      : "one target at a time");
	if (check_target_parse(argv[optind], &tgt, &err) != 0) {
		cli_fail(&err);
		return CLI_USAGE;
	}
	if (tgt.scheme == CHECK_SCHEME_HTTP) {
		moat_err_set(&err, "http:// has no certificates to fetch");
		moat_err_hint(&err, "use https://%s/", tgt.host);
		goto out;
	}
	po.host = tgt.host;
	po.port = tgt.port;
	if (check_tls_probe(&po, &pr, &err) != 0) {
		if (pr.stage == CHECK_PROBE_RESOLVE || pr.stage == CHECK_PROBE_CONNECT)
			ret = CLI_UNREACHABLE;
		goto out;
	}
	if (pr.nchain == 0) {
		moat_err_set(&err, "%s port %u sent no certificate", tgt.host, tgt.port);
		goto out;
	}
	if (json && (chain = json_array()) == NULL) {
		moat_err_set(&err, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < pr.nchain; i++) {
		struct moat_buf pem = MOAT_BUF_INIT;
		struct pki_cert_info info;
		int r;

		memset(&info, 0, sizeof(info));
		r = pki_cert_to_pem(pr.chain[i], &pem, &err) != 0 ||
		    pki_cert_info(pr.chain[i], &info, &err) != 0 ||
		    moat_buf_append(&all, pem.data, pem.len) != 0;
		if (r == 0 && chain != NULL) {
			json_t *o = cert_json(&info, &pem);
			r = o == NULL || json_array_append_new(chain, o) != 0;
		}
		if (r == 0 && !json) {
			char na[32];
			moat_date(info.not_after, na, sizeof(na));
			fprintf(stderr, "  %zu  %s\n     issuer %s, until %s\n", i, info.subject,
				info.issuer, na);
		}
		pki_cert_info_clear(&info);
		moat_buf_free(&pem);
		if (r != 0) {
			if (!moat_err_isset(&err))
				moat_err_set(&err, "out of memory");
			goto out;
		}
	}
	if (out_file != NULL && strcmp(out_file, "-") != 0) {
		if (moat_file_write_atomic(out_file, all.data, all.len, 0644, &err) != 0)
			goto out;
	} else if (!json) {
		if (fwrite(all.data, 1, all.len, stdout) != all.len || fflush(stdout) != 0) {
			moat_err_set(&err, "cannot write to standard output");
			goto out;
		}
	}
	if (json) {
		ret = cli_json_print(json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:b, s:o}", "host",
					       tgt.host, "port", (int)tgt.port, "address", pr.address,
					       "version", pr.version, "cipher", pr.cipher, "group",
					       pr.group, "stapled_ocsp", pr.staple != NULL, "chain",
					       chain));
		chain = NULL;
		goto out;
	}
	fprintf(stderr, "%s port %u (%s) sent %zu certificate%s%s over %s%s%s\n", tgt.host, tgt.port,
		pr.address, pr.nchain, pr.nchain == 1 ? "" : "s",
		pr.chain_truncated ? " (and more, not kept)" : "", pr.version,
		out_file != NULL && strcmp(out_file, "-") != 0 ? "; saved to " : "",
		out_file != NULL && strcmp(out_file, "-") != 0 ? out_file : "");
	ret = CLI_OK;
out:
	json_decref(chain);
	moat_buf_free(&all);
	check_tls_probe_clear(&pr);
	if (ret == CLI_OK)
		return CLI_OK;
	if (err.msg[0])
		cli_fail(&err);
	return ret;
}
