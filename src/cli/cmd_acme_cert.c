/* cmd_acme_cert.c: moat acme issue|renew|revoke|list -- the certificate
 * side of the ACME client. */
#include "cli/cli.h"

#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acme/acme.h"
#include "acme/obtain.h"
#include "acme/store.h"
#include "core/file.h"
#include "core/proc.h"
#include "pki/pki.h"

/* Values that go into renewal/NAME.conf may not span lines. */
static int one_line(const char *cmd, const char *opt, const char *v, char *dst, size_t n)
{
	if (strpbrk(v, "\r\n") != NULL || strlen(v) >= n)
		return cli_usage_error(cmd, "%s: one line of at most %zu characters", opt, n - 1);
	memcpy(dst, v, strlen(v) + 1);
	return CLI_OK;
}

/* The deploy hook, with the lineage's files in its environment (certbot's
 * RENEWED_LINEAGE and RENEWED_DOMAINS too, so certbot hooks work). */
static int run_deploy_hook(const struct acme_renewal *rn, const struct acme_obtained *ob,
			   struct moat_err *err)
{
	char e[8][4600], domains[4096];
	const char *env[8];

	if (rn->deploy_hook[0] == '\0')
		return 0;
	snprintf(domains, sizeof(domains), "%s", rn->names);
	for (char *p = domains; *p != '\0'; p++)
		if (*p == ',')
			*p = ' ';
	snprintf(e[0], sizeof(e[0]), "MOAT_LINEAGE=%s", ob->lineage);
	snprintf(e[1], sizeof(e[1]), "MOAT_DOMAINS=%s", domains);
	snprintf(e[2], sizeof(e[2]), "MOAT_CERT=%.4400s/cert.pem", ob->live);
	snprintf(e[3], sizeof(e[3]), "MOAT_KEY=%.4400s/privkey.pem", ob->live);
	snprintf(e[4], sizeof(e[4]), "MOAT_CHAIN=%.4400s/chain.pem", ob->live);
	snprintf(e[5], sizeof(e[5]), "MOAT_FULLCHAIN=%.4400s/fullchain.pem", ob->live);
	snprintf(e[6], sizeof(e[6]), "RENEWED_LINEAGE=%.4400s", ob->live);
	snprintf(e[7], sizeof(e[7]), "RENEWED_DOMAINS=%s", domains);
	for (size_t i = 0; i < 8; i++)
		env[i] = e[i];
	return moat_run_hook("deploy hook", rn->deploy_hook, NULL, 0, env, 8, err);
}

static int parse_port(const char *s, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 1 || v > 65535)
		return -1;
	*out = (int)v;
	return 0;
}

int cli_acme_issue(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"server", required_argument, NULL, 's'},
		{"ca-bundle", required_argument, NULL, 'b'},
		{"challenge", required_argument, NULL, 'c'},
		{"standalone", no_argument, NULL, 'S'},
		{"webroot", required_argument, NULL, 'w'},
		{"http-port", required_argument, NULL, 'p'},
		{"http-address", required_argument, NULL, 'A'},
		{"tls-port", required_argument, NULL, 'T'},
		{"key-type", required_argument, NULL, 'k'},
		{"profile", required_argument, NULL, 'P'},
		{"preferred-chain", required_argument, NULL, 'C'},
		{"deploy-hook", required_argument, NULL, 'd'},
		{"dns-hook", required_argument, NULL, 'D'},
		{"dns-resolver", required_argument, NULL, 'R'},
		{"dns-wait", required_argument, NULL, 'W'},
		{"manual", no_argument, NULL, 'M'},
		{"manual-hook", required_argument, NULL, 'H'},
		{"timeout", required_argument, NULL, 't'},
		{"force", no_argument, NULL, 'f'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	struct acme_renewal rn;
	bool manual = false;
	struct acme_obtain_opts oo = {.timeout_s = 300, .progress = cli_acme_progress};
	struct acme_obtained ob;
	struct moat_name *names = NULL;
	size_t nnames = 0;
	enum pki_key_type kt = PKI_KEY_EC_P256;
	const char *server = NULL, *bundle = NULL;
	bool standalone = false, json = false;
	char home[PATH_MAX];
	struct moat_err err;
	int ch, ret = CLI_FAIL;

	moat_err_clear(&err);
	memset(&rn, 0, sizeof(rn));
	snprintf(rn.challenge, sizeof(rn.challenge), "http-01");
	rn.http_port = 80;
	if (cli_dash_name(argc, argv, &err))
		return cli_fail(&err);
	optind = 0;
	while ((ch = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
		int r = CLI_OK;
		switch (ch) {
		case 's': server = optarg; break;
		case 'b': bundle = optarg; break;
		case 'c': r = one_line("acme issue", "--challenge", optarg, rn.challenge, sizeof(rn.challenge)); break;
		case 'S': standalone = true; break;
		case 'w': r = one_line("acme issue", "--webroot", optarg, rn.webroot, sizeof(rn.webroot)); break;
		case 'p':
			if (parse_port(optarg, &rn.http_port) != 0)
				return cli_usage_error("acme issue", "--http-port takes a port (1-65535)");
			break;
		case 'T':
			if (parse_port(optarg, &rn.tls_port) != 0)
				return cli_usage_error("acme issue", "--tls-port takes a port (1-65535)");
			break;
		case 'A': r = one_line("acme issue", "--http-address", optarg, rn.http_address, sizeof(rn.http_address)); break;
		case 'k':
			if (pki_key_type_parse(optarg, &kt, &err) != 0)
				return cli_fail(&err);
			break;
		case 'P': r = one_line("acme issue", "--profile", optarg, rn.profile, sizeof(rn.profile)); break;
		case 'C': r = one_line("acme issue", "--preferred-chain", optarg, rn.preferred_chain, sizeof(rn.preferred_chain)); break;
		case 'd': r = one_line("acme issue", "--deploy-hook", optarg, rn.deploy_hook, sizeof(rn.deploy_hook)); break;
		case 'D': r = one_line("acme issue", "--dns-hook", optarg, rn.dns_hook, sizeof(rn.dns_hook)); break;
		case 'R': r = one_line("acme issue", "--dns-resolver", optarg, rn.dns_resolver, sizeof(rn.dns_resolver)); break;
		case 'W':
			rn.dns_wait = atoi(optarg);
			if (rn.dns_wait < 1 || rn.dns_wait > 3600)
				return cli_usage_error("acme issue", "--dns-wait takes 1 to 3600 seconds");
			break;
		case 'M': manual = true; break;
		case 'H':
			manual = true;
			r = one_line("acme issue", "--manual-hook", optarg, rn.manual_hook, sizeof(rn.manual_hook));
			break;
		case 't':
			oo.timeout_s = atoi(optarg);
			if (oo.timeout_s < 5 || oo.timeout_s > 3600)
				return cli_usage_error("acme issue", "--timeout takes 5 to 3600 seconds");
			break;
		case 'f': oo.force = true; break;
		case 'j': json = true; break;
		default: return cli_bad_option("acme issue", ch, argv);
		}
		if (r != CLI_OK)
			return r;
	}
	if (optind >= argc)
		return cli_usage_error("acme issue", "which names? e.g. moat acme issue example.com");
	if (strcmp(rn.challenge, "dns-01") == 0) {
		if (rn.manual_hook[0] != '\0')
			return cli_usage_error("acme issue", "--manual-hook is for http-01; dns-01 takes "
							     "--dns-hook CMD");
		if (manual == (rn.dns_hook[0] != '\0'))
			return cli_usage_error("acme issue", "dns-01 needs --dns-hook CMD or --manual");
		if (standalone || rn.webroot[0] != '\0')
			return cli_usage_error("acme issue", "--standalone and --webroot are for http-01");
	} else if (strcmp(rn.challenge, "http-01") == 0) {
		if ((int)standalone + (rn.webroot[0] != '\0') + (int)manual != 1)
			return cli_usage_error("acme issue", "http-01 needs one of --standalone, "
							     "--webroot DIR, --manual");
		rn.manual = manual;
	} else if (strcmp(rn.challenge, "tls-alpn-01") == 0) {
		if (!standalone || manual || rn.webroot[0] != '\0')
			return cli_usage_error("acme issue", "tls-alpn-01 needs --standalone "
							     "(moat answers on --tls-port, default 443)");
	} else {
		return cli_usage_error("acme issue",
				       "--challenge %.20s is not supported (http-01, dns-01, "
				       "tls-alpn-01 are)",
				       rn.challenge);
	}
	if (rn.tls_port != 0 && strcmp(rn.challenge, "tls-alpn-01") != 0)
		return cli_usage_error("acme issue", "--tls-port is for --challenge tls-alpn-01");
	if (strcmp(rn.challenge, "tls-alpn-01") == 0 && rn.tls_port == 0)
		rn.tls_port = 443;
	if (moat_names_parse((const char *const *)argv + optind, (size_t)(argc - optind), &names,
			     &nnames, &err) != 0)
		goto out;
	if (nnames > ACME_MAX_NAMES) {
		moat_err_set(&err, "at most %d names in one certificate", ACME_MAX_NAMES);
		goto out;
	}
	for (size_t i = 0; i < nnames; i++) {
		size_t used = strlen(rn.names);
		if (used + strlen(names[i].text) + 2 >= sizeof(rn.names)) {
			moat_err_set(&err, "too many names for one certificate");
			goto out;
		}
		snprintf(rn.names + used, sizeof(rn.names) - used, "%s%s", i ? "," : "", names[i].text);
	}
	if ((!standalone && !manual) || strcmp(rn.challenge, "tls-alpn-01") == 0)
		rn.http_port = 0;
	if (one_line("acme issue", "--server", cli_acme_server(server), rn.server, sizeof(rn.server)) != CLI_OK ||
	    (cli_acme_ca_bundle(bundle) != NULL &&
	     one_line("acme issue", "--ca-bundle", cli_acme_ca_bundle(bundle), rn.ca_bundle,
		      sizeof(rn.ca_bundle)) != CLI_OK))
		return CLI_USAGE;
	snprintf(rn.key_type, sizeof(rn.key_type), "%s", pki_key_type_name(kt));
	if (cli_home(home, sizeof(home)) != CLI_OK)
		return CLI_FAIL;
	if (acme_obtain(home, &rn, &oo, &ob, &err) != 0)
		goto out;
	if (run_deploy_hook(&rn, &ob, &err) != 0) {
		moat_err_prefix(&err, "the certificate is in %s, but", ob.live);
		goto out;
	}
	if (json) {
		json_t *jn = json_array();
		for (size_t i = 0; i < nnames; i++)
			json_array_append_new(jn, json_string(names[i].text));
		ret = cli_json_print(json_pack("{s:s, s:o, s:i, s:s, s:s}", "lineage", ob.lineage, "names",
					       jn, "version", ob.version, "live", ob.live, "server",
					       rn.server));
		goto out;
	}
	printf("Certificate for %s from %s\n  %s/fullchain.pem   certificate + chain: what your "
	       "server needs\n  %s/privkey.pem     its key (0600)\n",
	       names[0].text, rn.server, ob.live, ob.live);
	ret = CLI_OK;
out:
	free(names);
	return ret == CLI_OK ? CLI_OK : cli_fail(&err);
}

/* When a certificate is due: two thirds into its lifetime (Let's Encrypt's
 * advice, 30 days before the end of a 90-day certificate). */
static int due_time(const char *live, int64_t *nb, int64_t *na, int64_t *due, struct moat_err *err)
{
	char path[PATH_MAX + 16];
	struct moat_buf b = MOAT_BUF_INIT;
	struct pki_cert *c = NULL;
	struct pki_cert_info info;
	int ret = -1;

	memset(&info, 0, sizeof(info));
	snprintf(path, sizeof(path), "%s/cert.pem", live);
	if (moat_file_read(path, MOAT_MAX_PEM_FILE, &b, err) != 0 ||
	    (c = pki_cert_from_pem(b.data, b.len, err)) == NULL || pki_cert_info(c, &info, err) != 0)
		goto out;
	*nb = info.not_before;
	*na = info.not_after;
	*due = info.not_before + (info.not_after - info.not_before) * 2 / 3;
	ret = 0;
out:
	pki_cert_info_clear(&info);
	pki_cert_free(c);
	moat_buf_free(&b);
	return ret;
}

/* ARI (RFC 9773): when the CA offers renewal information, its window
 * decides; *replaces gets the certificate's ARI identifier for the new
 * order.  false when the CA has none or it cannot be read (then the
 * two-thirds rule stands). */
static bool ari_due(const struct acme_renewal *rn, const char *live, int64_t *start,
		    char *replaces, size_t n)
{
	char path[PATH_MAX + 400];
	struct moat_buf b = MOAT_BUF_INIT;
	struct pki_cert *cert = NULL;
	struct acme_client *c = NULL;
	int64_t end = 0;
	bool ok = false;

	if (snprintf(path, sizeof(path), "%s/cert.pem", live) >= (int)sizeof(path) ||
	    moat_file_read(path, MOAT_MAX_PEM_FILE, &b, NULL) != 0 ||
	    (cert = pki_cert_from_pem(b.data, b.len, NULL)) == NULL ||
	    (c = acme_client_new(rn->server, rn->ca_bundle[0] ? rn->ca_bundle : NULL, NULL)) == NULL ||
	    acme_client_directory(c)->renewal_info[0] == '\0')
		goto out;
	if (acme_renewal_info(c, cert, start, &end, NULL) == 0 &&
	    pki_cert_ari_id(cert, replaces, n, NULL) == 0)
		ok = true;
out:
	acme_client_free(c);
	pki_cert_free(cert);
	moat_buf_free(&b);
	return ok;
}

int cli_acme_renew(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"all", no_argument, NULL, 'a'},
		{"force", no_argument, NULL, 'f'},
		{"dry-run", no_argument, NULL, 'n'},
		{"deploy-hook", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	bool all = false, force = false, dry = false, json = false;
	const char *hook = NULL;
	char home[PATH_MAX], **lineages = NULL;
	size_t n = 0;
	unsigned failed = 0;
	json_t *arr = NULL;
	struct moat_err err;
	int ch;

	moat_err_clear(&err);
	optind = 0;
	while ((ch = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
		switch (ch) {
		case 'a': all = true; break;
		case 'f': force = true; break;
		case 'n': dry = true; break;
		case 'd': hook = optarg; break;
		case 'j': json = true; break;
		default: return cli_bad_option("acme renew", ch, argv);
		}
	}
	if (all == (optind < argc))
		return cli_usage_error("acme renew", "give --all or the names of certificates to renew");
	if (hook != NULL && strpbrk(hook, "\r\n") != NULL)
		return cli_usage_error("acme renew", "--deploy-hook: one line");
	if (cli_home(home, sizeof(home)) != CLI_OK)
		return CLI_FAIL;
	if (all) {
		if (acme_store_renewal_list(home, &lineages, &n, &err) != 0)
			return cli_fail(&err);
	} else {
		n = (size_t)(argc - optind);
		if ((lineages = calloc(n, sizeof(*lineages))) == NULL)
			return cli_fail(&err);
		for (size_t i = 0; i < n; i++)
			lineages[i] = strdup(argv[optind + (int)i]);
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++) {
		struct acme_renewal rn;
		struct acme_obtain_opts oo = {.timeout_s = 300, .dry_run = dry,
					      .progress = cli_acme_progress};
		struct acme_obtained ob;
		char live[PATH_MAX + 320], when[16];
		int64_t nb = 0, na = 0, due = 0;
		const char *status;
		bool ari = false;

		moat_err_clear(&err);
		if (lineages[i] == NULL)
			continue;
		snprintf(live, sizeof(live), "%s/live/%s", home, lineages[i]);
		if (acme_store_renewal_load(home, lineages[i], &rn, &err) != 0 ||
		    due_time(live, &nb, &na, &due, &err) != 0) {
			status = "failed";
		} else if ((ari = ari_due(&rn, live, &due, oo.replaces, sizeof(oo.replaces))),
			   !force && time(NULL) < due) {
			status = "not due";
		} else {
			if (hook != NULL)
				snprintf(rn.deploy_hook, sizeof(rn.deploy_hook), "%s", hook);
			if (acme_obtain(home, &rn, &oo, &ob, &err) != 0 ||
			    (!dry && run_deploy_hook(&rn, &ob, &err) != 0))
				status = "failed";
			else
				status = dry ? "dry run ok" : "renewed";
		}
		if (strcmp(status, "failed") == 0)
			failed++;
		cli_date(due, when, sizeof(when));
		if (json) {
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:b, s:s}", "lineage",
							     lineages[i], "status", status, "due", when,
							     "ari", ari, "error", err.msg));
		} else if (strcmp(status, "failed") == 0) {
			fprintf(stderr, "moat: error: %s: %s\n", lineages[i], err.msg);
			if (err.hint[0] != '\0')
				fprintf(stderr, "hint: %s\n", err.hint);
		} else if (strcmp(status, "not due") == 0) {
			printf("%s: not due (renews from %s%s, %ld days left)\n", lineages[i], when,
			       ari ? " by the CA's renewal window" : "", cli_days_left(na));
		} else {
			printf("%s: %s\n", lineages[i], status);
		}
	}
	if (json)
		(void)cli_json_print(json_pack("{s:o}", "certificates", arr));
	else
		json_decref(arr);
	if (!json && n == 0)
		printf("no ACME certificates to renew in %s\n", home);
	for (size_t i = 0; i < n; i++)
		free(lineages[i]);
	free(lineages);
	return failed > 0 ? CLI_FAIL : CLI_OK;
}

int cli_acme_revoke(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"reason", required_argument, NULL, 'r'},
		{"server", required_argument, NULL, 's'},
		{"ca-bundle", required_argument, NULL, 'b'},
		{NULL, 0, NULL, 0},
	};
	enum pki_reason reason = PKI_REASON_UNSPECIFIED;
	const char *server = NULL, *bundle = NULL, *what;
	struct acme_renewal rn;
	struct acme_stored_account sa;
	struct acme_client *c = NULL;
	struct pki_key *akey = NULL;
	struct pki_cert *cert = NULL;
	struct moat_buf b = MOAT_BUF_INIT;
	char home[PATH_MAX], path[PATH_MAX + 320], dir[PATH_MAX];
	struct moat_err err;
	int ch, ret = CLI_FAIL;

	moat_err_clear(&err);
	memset(&rn, 0, sizeof(rn));
	optind = 0;
	while ((ch = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			if (pki_reason_parse(optarg, &reason, &err) != 0)
				return cli_fail(&err);
			break;
		case 's': server = optarg; break;
		case 'b': bundle = optarg; break;
		default: return cli_bad_option("acme revoke", ch, argv);
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("acme revoke", "revoke what? moat acme revoke NAME|CERTFILE");
	what = argv[optind];
	if (cli_home(home, sizeof(home)) != CLI_OK)
		return CLI_FAIL;
	/* A lineage name, or a certificate file. */
	if (strchr(what, '/') == NULL && acme_store_renewal_load(home, what, &rn, NULL) == 0) {
		snprintf(path, sizeof(path), "%s/live/%s/cert.pem", home, what);
	} else {
		snprintf(path, sizeof(path), "%s", what);
	}
	if (server != NULL || rn.server[0] == '\0')
		snprintf(rn.server, sizeof(rn.server), "%s", cli_acme_server(server));
	if (bundle != NULL || rn.ca_bundle[0] == '\0')
		snprintf(rn.ca_bundle, sizeof(rn.ca_bundle), "%s",
			 cli_acme_ca_bundle(bundle) ? cli_acme_ca_bundle(bundle) : "");
	if (moat_file_read(path, MOAT_MAX_PEM_FILE, &b, &err) != 0 ||
	    (cert = pki_cert_from_pem(b.data, b.len, &err)) == NULL)
		goto out;
	if (acme_store_account_dir(home, rn.server, dir, sizeof(dir), &err) != 0 ||
	    (akey = acme_store_account_load(dir, &sa, &err)) == NULL ||
	    (c = acme_client_new(rn.server, rn.ca_bundle[0] ? rn.ca_bundle : NULL, &err)) == NULL ||
	    acme_client_set_account(c, akey, sa.url, &err) != 0 ||
	    acme_revoke(c, cert, reason == PKI_REASON_UNSPECIFIED ? -1 : (int)reason, &err) != 0)
		goto out;
	printf("Revoked %s at %s (reason %s)\n", path, rn.server, pki_reason_name(reason));
	ret = CLI_OK;
out:
	acme_client_free(c);
	pki_key_free(akey);
	pki_cert_free(cert);
	moat_buf_free(&b);
	return ret == CLI_OK ? CLI_OK : cli_fail(&err);
}

int cli_acme_list(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
	char home[PATH_MAX], **lineages = NULL;
	size_t n = 0;
	bool json = false;
	json_t *arr = json_array();
	struct moat_err err;
	int ch;

	moat_err_clear(&err);
	optind = 0;
	while ((ch = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
		if (ch != 'j') {
			json_decref(arr);
			return cli_bad_option("acme list", ch, argv);
		}
		json = true;
	}
	if (cli_home(home, sizeof(home)) != CLI_OK || acme_store_renewal_list(home, &lineages, &n, &err) != 0) {
		json_decref(arr);
		return err.msg[0] ? cli_fail(&err) : CLI_FAIL;
	}
	if (!json && n > 0)
		printf("%-30s %-10s %-9s %s\n", "LINEAGE", "EXPIRES", "DAYS LEFT", "NAMES");
	for (size_t i = 0; i < n; i++) {
		struct acme_renewal rn;
		char live[PATH_MAX + 320], exp[16] = "?", due_s[16] = "?";
		int64_t nb = 0, na = 0, due = 0;
		bool ok = acme_store_renewal_load(home, lineages[i], &rn, NULL) == 0;

		snprintf(live, sizeof(live), "%s/live/%s", home, lineages[i]);
		if (ok && due_time(live, &nb, &na, &due, NULL) == 0) {
			cli_date(na, exp, sizeof(exp));
			cli_date(due, due_s, sizeof(due_s));
		}
		if (json)
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "lineage",
							     lineages[i], "names", ok ? rn.names : "",
							     "server", ok ? rn.server : "", "expires", exp,
							     "renew_from", due_s, "days_left",
							     (json_int_t)(na ? cli_days_left(na) : 0)));
		else
			printf("%-30s %-10s %9ld %s\n", lineages[i], exp, na ? cli_days_left(na) : 0L,
			       ok ? rn.names : "(renewal configuration unreadable)");
		free(lineages[i]);
	}
	free(lineages);
	if (json)
		return cli_json_print(json_pack("{s:o}", "certificates", arr));
	json_decref(arr);
	if (n == 0)
		printf("no ACME certificates in %s\n", home);
	return CLI_OK;
}
