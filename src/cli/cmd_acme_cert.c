/* cmd_acme_cert.c: moat acme issue|revoke|renew|list -- the certificate
 * side of the ACME client: getting a certificate; when one is due (two
 * thirds into its lifetime, or in the CA's renewal window, or at once when
 * `moat acme revoke` revoked it), renewing it, and rehearsing a renewal
 * against the CA (--dry-run, as certbot does). */
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
static int deploy_hook(const struct acme_renewal *rn, const struct acme_obtained *ob,
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
	struct cli_acme_target t;
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
		uint16_t port = 0;

		switch (ch) {
		case 's': server = optarg; break;
		case 'b': bundle = optarg; break;
		case 'c': r = one_line("acme issue", "--challenge", optarg, rn.challenge, sizeof(rn.challenge)); break;
		case 'S': standalone = true; break;
		case 'w': r = one_line("acme issue", "--webroot", optarg, rn.webroot, sizeof(rn.webroot)); break;
		case 'p':
			if ((r = cli_opt_port("acme issue", "--http-port", optarg, false, &port)) == CLI_OK)
				rn.http_port = port;
			break;
		case 'T':
			if ((r = cli_opt_port("acme issue", "--tls-port", optarg, false, &port)) == CLI_OK)
				rn.tls_port = port;
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
			r = cli_opt_seconds("acme issue", "--dns-wait", optarg, 1, 3600, &rn.dns_wait);
			break;
		case 'M': manual = true; break;
		case 'H':
			manual = true;
			r = one_line("acme issue", "--manual-hook", optarg, rn.manual_hook, sizeof(rn.manual_hook));
			break;
		case 't':
			r = cli_opt_seconds("acme issue", "--timeout", optarg, 5, 3600, &oo.timeout_s);
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
	snprintf(rn.key_type, sizeof(rn.key_type), "%s", pki_key_type_name(kt));
	if (cli_home(home, sizeof(home)) != CLI_OK) {
		ret = CLI_FAIL;
		goto out;
	}
	if ((ret = cli_acme_target("acme issue", home, server, bundle, &t)) != CLI_OK)
		goto out;
	ret = CLI_FAIL;
	memcpy(rn.server, t.server, sizeof(rn.server));
	memcpy(rn.ca_bundle, t.ca_bundle, sizeof(rn.ca_bundle));
	if (acme_obtain(home, &rn, &oo, &ob, &err) != 0)
		goto out;
	if (deploy_hook(&rn, &ob, &err) != 0) {
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
	if (ret == CLI_USAGE || (ret == CLI_FAIL && !moat_err_isset(&err)))
		return ret;
	return ret == CLI_OK ? CLI_OK : cli_fail(&err);
}

/* Remember in renewal/NAME.conf that the live certificate of each lineage
 * with this serial (lineage, or every one when NULL) is revoked: `acme
 * list` shows it, `acme renew` renews it at once. */
static void mark_revoked(const char *home, const char *lineage, const char *serial)
{
	char **names = NULL;
	size_t n = 0;

	if (lineage != NULL) {
		names = calloc(1, sizeof(*names));
		if (names == NULL || (names[0] = strdup(lineage)) == NULL) {
			free(names);
			return;
		}
		n = 1;
	} else if (acme_store_renewal_list(home, &names, &n, NULL) != 0) {
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct acme_renewal rn;
		struct acme_live live;

		if (acme_store_renewal_load(home, names[i], &rn, NULL) == 0 &&
		    acme_store_live_read(home, names[i], &live, NULL) == 0 &&
		    strcmp(live.serial, serial) == 0) {
			snprintf(rn.revoked_serial, sizeof(rn.revoked_serial), "%s", serial);
			rn.revoked_at = (int64_t)time(NULL);
			if (acme_store_renewal_save(home, names[i], &rn, NULL) != 0)
				cli_notice("%s: could not record the revocation in its renewal "
					   "configuration", names[i]);
		}
		free(names[i]);
	}
	free(names);
}

int cli_acme_revoke(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"reason", required_argument, NULL, 'r'},
		{"server", required_argument, NULL, 's'},
		{"ca-bundle", required_argument, NULL, 'b'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	enum pki_reason reason = PKI_REASON_UNSPECIFIED;
	const char *server = NULL, *bundle = NULL, *what, *lineage = NULL;
	struct acme_renewal rn;
	struct acme_stored_account sa;
	struct cli_acme_target t;
	struct acme_client *c = NULL;
	struct pki_key *akey = NULL;
	struct pki_cert *cert = NULL;
	struct pki_cert_info info;
	struct moat_buf b = MOAT_BUF_INIT;
	char home[PATH_MAX], path[PATH_MAX + 320], dir[PATH_MAX];
	struct moat_err err;
	bool json = false;
	int ch, ret = CLI_FAIL;

	moat_err_clear(&err);
	memset(&rn, 0, sizeof(rn));
	memset(&info, 0, sizeof(info));
	optind = 0;
	while ((ch = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			if (pki_reason_parse(optarg, &reason, &err) != 0)
				return cli_fail(&err);
			break;
		case 's': server = optarg; break;
		case 'b': bundle = optarg; break;
		case 'j': json = true; break;
		default: return cli_bad_option("acme revoke", ch, argv);
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("acme revoke", "revoke what? moat acme revoke NAME|CERTFILE");
	what = argv[optind];
	if (cli_home(home, sizeof(home)) != CLI_OK)
		return CLI_FAIL;
	/* A lineage name (its server unless --server says otherwise), or a
	 * certificate file (the default server). */
	if (strchr(what, '/') == NULL && acme_store_renewal_load(home, what, &rn, NULL) == 0) {
		lineage = what;
		snprintf(path, sizeof(path), "%s/live/%s/cert.pem", home, what);
		if (server == NULL)
			server = rn.server;
		if (bundle == NULL && server == rn.server && rn.ca_bundle[0] != '\0')
			bundle = rn.ca_bundle;
	} else {
		snprintf(path, sizeof(path), "%s", what);
	}
	if ((ret = cli_acme_target("acme revoke", home, server, bundle, &t)) != CLI_OK)
		return ret;
	ret = CLI_FAIL;
	if (moat_file_read(path, MOAT_MAX_PEM_FILE, &b, &err) != 0 ||
	    (cert = pki_cert_from_pem(b.data, b.len, &err)) == NULL ||
	    pki_cert_info(cert, &info, &err) != 0)
		goto out;
	if (acme_store_account_dir(home, t.server, dir, sizeof(dir), &err) != 0 ||
	    (akey = acme_store_account_load(dir, &sa, &err)) == NULL ||
	    (c = acme_client_new(t.server, t.ca_bundle[0] ? t.ca_bundle : NULL, &err)) == NULL ||
	    acme_client_set_account(c, akey, sa.url, &err) != 0 ||
	    acme_revoke(c, cert, reason == PKI_REASON_UNSPECIFIED ? -1 : (int)reason, &err) != 0)
		goto out;
	mark_revoked(home, lineage, info.serial_hex);
	if (json) {
		ret = cli_json_print(json_pack("{s:s, s:s?, s:s, s:s, s:s}", "certificate", path,
					       "lineage", lineage, "serial", info.serial_hex, "server",
					       t.server, "reason", pki_reason_name(reason)));
		goto out;
	}
	printf("Revoked %s at %s (reason %s)\n", path, t.server, pki_reason_name(reason));
	ret = CLI_OK;
out:
	pki_cert_info_clear(&info);
	acme_client_free(c);
	pki_key_free(akey);
	pki_cert_free(cert);
	moat_buf_free(&b);
	return ret == CLI_OK ? CLI_OK : cli_fail(&err);
}

/* ---- renew and list ------------------------------------------------------ */

/* Two thirds into the lifetime (Let's Encrypt's advice: 30 days before the
 * end of a 90-day certificate). */
static int64_t two_thirds(const struct acme_live *l)
{
	return l->not_before + (l->not_after - l->not_before) * 2 / 3;
}

/* The live certificate is the one `moat acme revoke` revoked. */
static bool is_revoked(const struct acme_renewal *rn, const struct acme_live *l)
{
	return rn->revoked_serial[0] != '\0' && strcmp(rn->revoked_serial, l->serial) == 0;
}

/* ARI (RFC 9773): when the CA offers renewal information, its window
 * decides; *replaces gets the certificate's ARI identifier for the new
 * order.  false when the CA has none or it cannot be read (then the
 * two-thirds rule stands). */
static bool ari_due(const struct acme_renewal *rn, const char *home, const char *lineage,
		    int64_t *start, char *replaces, size_t n)
{
	char path[PATH_MAX + 400];
	struct moat_buf b = MOAT_BUF_INIT;
	struct pki_cert *cert = NULL;
	struct acme_client *c = NULL;
	int64_t end = 0;
	bool ok = false;

	if (snprintf(path, sizeof(path), "%s/live/%s/cert.pem", home, lineage) >= (int)sizeof(path) ||
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

/* certbot's --dry-run: Let's Encrypt's production CA is rehearsed on its
 * staging CA (the same protocol and checks, without touching the real
 * rate limits), with an account registered there under the production
 * account's contacts when there is none yet (the same terms of service);
 * any other CA is rehearsed on itself. */
static int rehearsal_server(const char *home, struct acme_renewal *rn, struct moat_err *err)
{
	struct acme_stored_account prod, sa;
	struct acme_account_opts ao = {0};
	struct cli_acme_target t;
	struct pki_key *k = NULL;
	const char *contacts[CLI_ACME_MAX_CONTACTS];
	char dir[PATH_MAX], pdir[PATH_MAX], probe[PATH_MAX], mailto[CLI_ACME_MAX_CONTACTS][320];
	char *save = NULL;
	bool created = false;
	int ret = -1;

	if (strcmp(rn->server, CLI_LE_PROD) != 0)
		return 0;
	snprintf(rn->server, sizeof(rn->server), "%s", CLI_LE_STAGING);
	if (acme_store_account_dir(home, CLI_LE_STAGING, dir, sizeof(dir), err) != 0 ||
	    moat_path_join(probe, sizeof(probe), dir, "account.json", err) != 0)
		return -1;
	if (moat_file_exists(probe))
		return 0;
	if (acme_store_account_dir(home, CLI_LE_PROD, pdir, sizeof(pdir), err) != 0 ||
	    (k = acme_store_account_load(pdir, &prod, err)) == NULL)
		return -1;
	pki_key_free(k);
	for (char *c = strtok_r(prod.contact, ",", &save); c != NULL && ao.ncontacts < CLI_ACME_MAX_CONTACTS;
	     c = strtok_r(NULL, ",", &save)) {
		snprintf(mailto[ao.ncontacts], sizeof(mailto[0]), "mailto:%s", c);
		contacts[ao.ncontacts] = mailto[ao.ncontacts];
		ao.ncontacts++;
	}
	ao.contacts = contacts;
	ao.agree_tos = true;
	memset(&t, 0, sizeof(t));
	snprintf(t.server, sizeof(t.server), "%s", CLI_LE_STAGING);
	snprintf(t.ca_bundle, sizeof(t.ca_bundle), "%s", rn->ca_bundle);
	cli_notice("the rehearsal runs on Let's Encrypt's staging CA: registering an account "
		   "there (%s)", dir);
	if ((k = pki_key_generate(PKI_KEY_EC_P256, err)) == NULL ||
	    cli_acme_new_account(&t, dir, k, &ao, false, &created, &sa, err) != 0)
		goto out;
	ret = 0;
out:
	pki_key_free(k);
	return ret;
}

struct renew_opts {
	bool force, dry;
	const char *hook; /* --deploy-hook, or NULL */
};

struct renew_result {
	const char *status;   /* "not due", "renewed", "dry run ok", "failed" */
	char when[16];        /* renews from (date) */
	bool ari;             /* when says the CA's renewal window */
	bool revoked;         /* the live certificate was revoked */
	long days_left;
	char server[2048];    /* where the order went (a rehearsal: maybe staging) */
	struct moat_err err;
};

/* Renew one lineage if it is due (or forced, or revoked), or rehearse it. */
static void renew_one(const char *home, const char *lineage, const struct renew_opts *ro,
		      struct renew_result *res)
{
	struct acme_renewal rn;
	struct acme_live live;
	struct acme_obtain_opts oo = {.timeout_s = 300, .dry_run = ro->dry,
				      .progress = cli_acme_progress};
	struct acme_obtained ob;
	int64_t due;

	memset(res, 0, sizeof(*res));
	res->status = "failed";
	if (acme_store_renewal_load(home, lineage, &rn, &res->err) != 0 ||
	    acme_store_live_read(home, lineage, &live, &res->err) != 0)
		return;
	due = two_thirds(&live);
	res->revoked = is_revoked(&rn, &live);
	if (!res->revoked) /* a revoked certificate is due at once */
		res->ari = ari_due(&rn, home, lineage, &due, oo.replaces, sizeof(oo.replaces));
	moat_date(due, res->when, sizeof(res->when));
	res->days_left = cli_days_left(live.not_after);
	snprintf(res->server, sizeof(res->server), "%s", rn.server);
	if (!ro->force && !ro->dry && !res->revoked && time(NULL) < due) {
		res->status = "not due";
		return;
	}
	if (ro->dry) {
		oo.replaces[0] = '\0'; /* a rehearsal replaces nothing at the CA */
		if (rehearsal_server(home, &rn, &res->err) != 0)
			return;
		snprintf(res->server, sizeof(res->server), "%s", rn.server);
	}
	if (ro->hook != NULL)
		snprintf(rn.deploy_hook, sizeof(rn.deploy_hook), "%s", ro->hook);
	if (acme_obtain(home, &rn, &oo, &ob, &res->err) != 0 ||
	    (!ro->dry && deploy_hook(&rn, &ob, &res->err) != 0))
		return;
	res->status = ro->dry ? "dry run ok" : "renewed";
}

static void print_result(const char *lineage, const struct renew_result *r)
{
	const char *was = r->revoked ? " (it was revoked)" : "";

	if (strcmp(r->status, "failed") == 0) {
		fprintf(stderr, "moat: error: %s%s: %s\n", lineage, r->revoked ? " (revoked)" : "",
			r->err.msg);
		if (r->err.hint[0] != '\0')
			fprintf(stderr, "hint: %s\n", r->err.hint);
	} else if (strcmp(r->status, "not due") == 0) {
		printf("%s: not due (renews from %s%s, %ld days left)\n", lineage, r->when,
		       r->ari ? " by the CA's renewal window" : "", r->days_left);
	} else if (strcmp(r->status, "dry run ok") == 0) {
		printf("%s: dry run ok%s: a real order at %s, nothing written, no hook run\n",
		       lineage, was, r->server);
	} else {
		printf("%s: %s%s\n", lineage, r->status, was);
	}
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
	struct renew_opts ro = {0};
	bool all = false, json = false;
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
		case 'f': ro.force = true; break;
		case 'n': ro.dry = true; break;
		case 'd': ro.hook = optarg; break;
		case 'j': json = true; break;
		default: return cli_bad_option("acme renew", ch, argv);
		}
	}
	if (all == (optind < argc))
		return cli_usage_error("acme renew", "give --all or the names of certificates to renew");
	if (ro.hook != NULL && strpbrk(ro.hook, "\r\n") != NULL)
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
		struct renew_result r;

		if (lineages[i] == NULL)
			continue;
		renew_one(home, lineages[i], &ro, &r);
		failed += strcmp(r.status, "failed") == 0;
		if (json)
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:b, s:b, s:s, s:s}",
							     "lineage", lineages[i], "status", r.status,
							     "due", r.when, "ari", r.ari, "revoked",
							     r.revoked, "server", r.server, "error",
							     r.err.msg));
		else
			print_result(lineages[i], &r);
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

/* One row of `acme list`: text, or appended to arr. */
static void list_row(const char *home, const char *lineage, json_t *arr)
{
	struct acme_renewal rn;
	struct acme_live live;
	char exp[16] = "?", due[16] = "?";
	bool ok = acme_store_renewal_load(home, lineage, &rn, NULL) == 0;
	bool have = ok && acme_store_live_read(home, lineage, &live, NULL) == 0;
	bool revoked = have && is_revoked(&rn, &live);
	long left = have ? cli_days_left(live.not_after) : 0;

	if (have) {
		moat_date(live.not_after, exp, sizeof(exp));
		moat_date(two_thirds(&live), due, sizeof(due));
	}
	if (arr != NULL) {
		json_array_append_new(arr, json_pack("{s:s, s:o, s:s, s:s, s:s, s:I, s:b}", "lineage",
						     lineage, "names", cli_json_split(ok ? rn.names : ""),
						     "server", ok ? rn.server : "", "expires", exp,
						     "renew_from", due, "days_left", (json_int_t)left,
						     "revoked", revoked));
		return;
	}
	printf("%-30s %-10s %9ld %-10s %s\n", lineage, exp, left, revoked ? "revoked" : due,
	       ok ? rn.names : "(renewal configuration unreadable)");
}

int cli_acme_list(int argc, char **argv)
{
	char home[PATH_MAX], **lineages = NULL, server[2048], bundle[1024];
	size_t n = 0;
	bool json = false, remembered;
	json_t *arr;
	struct moat_err err;
	int ch;

	moat_err_clear(&err);
	if ((ch = cli_opts_json_only("acme list", argc, argv, &json)) != CLI_OK)
		return ch;
	if (cli_home(home, sizeof(home)) != CLI_OK)
		return CLI_FAIL;
	if (acme_store_renewal_list(home, &lineages, &n, &err) != 0)
		return cli_fail(&err);
	remembered = acme_store_default_load(home, server, sizeof(server), bundle,
					     sizeof(bundle)) == 0;
	arr = json ? json_array() : NULL;
	if (!json && n > 0)
		printf("%-30s %-10s %-9s %-10s %s\n", "LINEAGE", "EXPIRES", "DAYS LEFT", "RENEWS",
		       "NAMES");
	for (size_t i = 0; i < n; i++) {
		list_row(home, lineages[i], arr);
		free(lineages[i]);
	}
	free(lineages);
	if (json)
		return cli_json_print(json_pack("{s:o, s:s?}", "certificates", arr, "default_server",
						remembered ? server : NULL));
	if (n == 0)
		printf("no ACME certificates in %s\n", home);
	if (remembered)
		printf("(moat acme issue uses %s, remembered from `moat acme register`)\n", server);
	return CLI_OK;
}
