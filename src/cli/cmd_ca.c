/* cmd_ca.c: moat ca init | show | list | url */
#include "cli/cli.h"

#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ca/ca.h"
#include "core/home.h"
#include "core/pass.h"

static json_t *cert_json(const struct pki_cert_info *i)
{
	char nb[32], na[32];

	moat_time_iso(i->not_before, nb, sizeof(nb));
	moat_time_iso(i->not_after, na, sizeof(na));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s}", "subject", i->subject,
			 "serial", i->serial_hex, "not_before", nb, "not_after", na, "key",
			 i->key_desc, "days_left", (json_int_t)cli_days_left(i->not_after),
			 "sha256", i->sha256, "name_constraints", i->name_constraints);
}

static int ca_init_cmd(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"name", required_argument, NULL, 'n'},
		{"key-type", required_argument, NULL, 'k'},
		{"permit", required_argument, NULL, 'p'},
		{"passphrase-file", required_argument, NULL, 'P'},
		{"no-passphrase", no_argument, NULL, 'N'},
		{"encrypt-intermediate", no_argument, NULL, 'E'},
		{"force", no_argument, NULL, 'f'},
		{"json", no_argument, NULL, 'j'},
		{"url", required_argument, NULL, 'u'},
		{NULL, 0, NULL, 0},
	};
	struct moat_permit permits[CA_MAX_PERMITS];
	struct ca_init_opts o = {.key_type = PKI_KEY_EC_P256};
	struct ca_init_result res;
	struct moat_buf pass = MOAT_BUF_INIT;
	struct moat_err err;
	const char *pass_file = NULL;
	bool no_pass = false, enc_int = false, json = false;
	char home[PATH_MAX], date_r[16], date_i[16], url[CA_URL_MAX + 1];
	int c, ret = CLI_FAIL;

	moat_err_clear(&err);
	memset(&res, 0, sizeof(res));
	optind = 0;
	while ((c = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
		switch (c) {
		case 'n': o.name = optarg; break;
		case 'k':
			if (pki_key_type_parse(optarg, &o.key_type, &err) != 0)
				return cli_fail(&err);
			break;
		case 'p':
			if (o.npermits >= CA_MAX_PERMITS)
				return cli_usage_error("ca init", "at most %d --permit", CA_MAX_PERMITS);
			if (moat_permit_parse(optarg, &permits[o.npermits], &err) != 0)
				return cli_fail(&err);
			o.npermits++;
			break;
		case 'P': pass_file = optarg; break;
		case 'N': no_pass = true; break;
		case 'E': enc_int = true; break;
		case 'f': o.force = true; break;
		case 'j': json = true; break;
		case 'u':
			if (ca_url_check(optarg, url, sizeof(url), &err) != 0)
				return cli_fail(&err);
			o.url = url;
			break;
		default: return cli_bad_option("ca init", c, argv);
		}
	}
	if (optind != argc)
		return cli_usage_error("ca init", "unexpected argument \"%.40s\"", argv[optind]);
	if (no_pass && (pass_file != NULL || enc_int))
		return cli_usage_error("ca init", "--no-passphrase cannot be combined with %s",
				       pass_file ? "--passphrase-file" : "--encrypt-intermediate");
	o.permits = permits;
	if (cli_home(home, sizeof(home)) != CLI_OK)
		return CLI_FAIL;
	if (!no_pass) {
		if (cli_ca_pass(pass_file, true, &pass, &err) != 0) {
			if (err.hint[0] == '\0')
				moat_err_hint(&err, "or use --no-passphrase to store the root key unencrypted");
			goto out;
		}
		o.root_pass = (const char *)pass.data;
		o.root_passlen = pass.len;
		if (enc_int) {
			o.int_pass = o.root_pass;
			o.int_passlen = o.root_passlen;
		}
	}
	if (o.key_type >= PKI_KEY_RSA_3072 && o.key_type <= PKI_KEY_RSA_4096)
		cli_progress("generating %s keys; this takes a few seconds...",
			     pki_key_type_name(o.key_type));
	if (ca_init(home, &o, &res, &err) != 0)
		goto out;
	if (json) {
		json_t *permit_list = json_array();
		for (size_t i = 0; i < o.npermits; i++)
			json_array_append_new(permit_list, json_string(permits[i].text));
		ret = cli_json_print(json_pack(
			"{s:s, s:s, s:s, s:o, s:o, s:o, s:b, s:b, s:s}", "dir", res.dir, "name",
			res.name, "backup", res.backup, "root", cert_json(&res.root), "intermediate",
			cert_json(&res.intermediate), "permitted", permit_list, "root_key_encrypted",
			!no_pass, "intermediate_key_encrypted", enc_int, "url", o.url ? o.url : ""));
		goto out;
	}
	moat_date(res.root.not_after, date_r, sizeof(date_r));
	moat_date(res.intermediate.not_after, date_i, sizeof(date_i));
	printf("Created the private CA \"%s\" in %s\n", res.name, res.dir);
	printf("  root          %s, valid until %s; key %s\n", res.root.key_desc, date_r,
	       no_pass ? "NOT encrypted" : "encrypted (scrypt + AES-256)");
	printf("  intermediate  %s, valid until %s; signs your certificates\n",
	       res.intermediate.key_desc, date_i);
	if (o.npermits > 0) {
		printf("  limited to   ");
		for (size_t i = 0; i < o.npermits; i++)
			printf(" %s", permits[i].text);
		printf("\n");
	}
	printf("  fingerprint   SHA-256 %s\n", res.root.sha256);
	if (o.url != NULL)
		printf("  URL           %s (CRL, OCSP and CA certificates in every certificate)\n",
		       o.url);
	if (res.backup[0] != '\0')
		printf("The previous CA was moved to %s\n"
		       "Certificates it issued (in %s/live) no longer verify against the new root:\n"
		       "reissue them with `moat issue NAME... --force`, and install the new root\n"
		       "wherever the old one was trusted.\n",
		       res.backup, home);
	printf("\nNext steps:\n"
	       "  moat issue myserver.local 192.168.1.10    a certificate for your server\n"
	       "  moat trust install                        trust the root here: system store,\n"
	       "                                            Firefox, Chromium, Java\n"
	       "  moat trust share                          phones and tablets: scan a QR code\n");
	ret = CLI_OK;
out:
	moat_buf_wipe(&pass);
	ca_init_result_clear(&res);
	return ret == CLI_OK ? CLI_OK : (err.msg[0] ? cli_fail(&err) : ret);
}

static int ca_show_cmd(int argc, char **argv)
{
	struct moat_err err;
	struct ca *ca = NULL;
	struct pki_cert_info ri, ii;
	struct ca_record *recs = NULL;
	size_t nrecs = 0, nperm, nvalid = 0, nrevoked = 0;
	const struct moat_permit *perm;
	bool json = false;
	char home[PATH_MAX], d1[16], d2[16];
	int c, ret = CLI_FAIL;

	moat_err_clear(&err);
	memset(&ri, 0, sizeof(ri));
	memset(&ii, 0, sizeof(ii));
	if ((c = cli_opts_json_only("ca show", argc, argv, &json)) != CLI_OK)
		return c;
	if (cli_home(home, sizeof(home)) != CLI_OK)
		return CLI_FAIL;
	if ((ca = ca_open(home, &err)) == NULL || ca_check(ca, &err) != 0 ||
	    pki_cert_info(ca_root(ca), &ri, &err) != 0 ||
	    pki_cert_info(ca_intermediate(ca), &ii, &err) != 0 ||
	    ca_list(ca, &recs, &nrecs, &err) != 0)
		goto out;
	for (size_t i = 0; i < nrecs; i++) {
		if (recs[i].revoked)
			nrevoked++;
		else if (cli_days_left(recs[i].not_after) >= 0)
			nvalid++;
	}
	perm = ca_permits(ca, &nperm);
	if (json) {
		json_t *pl = json_array();
		for (size_t i = 0; i < nperm; i++)
			json_array_append_new(pl, json_string(perm[i].text));
		ret = cli_json_print(json_pack(
			"{s:s, s:s, s:o, s:o, s:o, s:b, s:{s:I, s:I, s:I}}", "name", ca_name(ca),
			"home", home, "root", cert_json(&ri), "intermediate", cert_json(&ii),
			"permitted", pl, "intermediate_key_encrypted", ca_signing_key_encrypted(ca),
			"certificates", "issued", (json_int_t)nrecs, "valid", (json_int_t)nvalid,
			"revoked", (json_int_t)nrevoked));
		goto out;
	}
	moat_date(ri.not_after, d1, sizeof(d1));
	moat_date(ii.not_after, d2, sizeof(d2));
	printf("CA            %s (in %s/ca)\n", ca_name(ca), home);
	printf("root          %s\n              %s, until %s (%ld days left)\n"
	       "              SHA-256 %s\n",
	       ri.subject, ri.key_desc, d1, cli_days_left(ri.not_after), ri.sha256);
	printf("intermediate  %s\n              %s, until %s (%ld days left), key %s\n",
	       ii.subject, ii.key_desc, d2, cli_days_left(ii.not_after),
	       ca_signing_key_encrypted(ca) ? "encrypted" : "unencrypted");
	printf("constraints   ");
	if (nperm == 0)
		printf("none (the CA can certify any name)");
	for (size_t i = 0; i < nperm; i++)
		printf("%s%s", i ? ", " : "", perm[i].text);
	printf("\ncertificates  %zu issued, %zu valid, %zu revoked\n", nrecs, nvalid, nrevoked);
	ret = CLI_OK;
out:
	free(recs);
	pki_cert_info_clear(&ri);
	pki_cert_info_clear(&ii);
	ca_free(ca);
	return ret == CLI_OK ? CLI_OK : cli_fail(&err);
}

static const char *status_of(const struct ca_record *r)
{
	if (r->revoked)
		return "revoked";
	return cli_days_left(r->not_after) < 0 ? "expired" : "valid";
}

static int ca_list_cmd(int argc, char **argv)
{
	struct moat_err err;
	struct ca *ca = NULL;
	struct ca_record *recs = NULL;
	size_t n = 0;
	bool json = false;
	char home[PATH_MAX], na[32];
	int c, ret = CLI_FAIL;

	moat_err_clear(&err);
	if ((c = cli_opts_json_only("ca list", argc, argv, &json)) != CLI_OK)
		return c;
	if (cli_home(home, sizeof(home)) != CLI_OK)
		return CLI_FAIL;
	if ((ca = ca_open(home, &err)) == NULL || ca_list(ca, &recs, &n, &err) != 0)
		goto out;
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++) {
			moat_time_iso(recs[i].not_after, na, sizeof(na));
			json_array_append_new(
				arr, json_pack("{s:s, s:o, s:s, s:s, s:s, s:I}", "serial", recs[i].serial,
					       "names", cli_json_split(recs[i].names), "lineage",
					       recs[i].lineage, "not_after", na, "status",
					       status_of(&recs[i]), "days_left",
					       (json_int_t)cli_days_left(recs[i].not_after)));
		}
		ret = cli_json_print(json_pack("{s:o}", "certificates", arr));
		goto out;
	}
	if (n == 0) {
		printf("No certificates issued yet. Try: moat issue myserver.local\n");
		ret = CLI_OK;
		goto out;
	}
	printf("%-34s %-8s %9s  %s\n", "SERIAL", "STATUS", "DAYS LEFT", "NAMES");
	for (size_t i = 0; i < n; i++)
		printf("%-34s %-8s %9ld  %s\n", recs[i].serial, status_of(&recs[i]),
		       cli_days_left(recs[i].not_after), recs[i].names);
	ret = CLI_OK;
out:
	free(recs);
	ca_free(ca);
	return ret == CLI_OK ? CLI_OK : cli_fail(&err);
}

/* moat ca url [URL | --clear] [--json] */
static int ca_url_cmd(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"clear", no_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	struct moat_err err;
	struct ca *ca = NULL;
	bool json = false, clear = false;
	const char *url;
	int c, ret = CLI_FAIL;

	moat_err_clear(&err);
	optind = 0;
	while ((c = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
		switch (c) {
		case 'c': clear = true; break;
		case 'j': json = true; break;
		default: return cli_bad_option("ca url", c, argv);
		}
	}
	if (argc - optind > 1)
		return cli_usage_error("ca url", "unexpected argument \"%.40s\"", argv[optind + 1]);
	if (clear && optind < argc)
		return cli_usage_error("ca url", "give a URL or --clear, not both");
	if (cli_ca_open(false, NULL, &ca, &err) != 0)
		goto out;
	if ((clear || optind < argc) && ca_set_url(ca, clear ? NULL : argv[optind], &err) != 0)
		goto out;
	url = ca_url(ca);
	if (json) {
		ret = cli_json_print(json_pack("{s:s?}", "url", url[0] ? url : NULL));
		goto out;
	}
	if (url[0] == '\0')
		printf("%s\n", clear ? "The CA's URL is removed: new certificates carry no "
					"revocation URLs."
				      : "The CA has no URL: its certificates carry no revocation URLs.\n"
					"Set one with `moat ca url http://HOST:9080`.");
	else
		printf("%s\n%s", url,
		       optind < argc ? "New certificates carry its /crl, /ocsp and /ca/intermediate.der "
				       "(served by `moat ca serve`).\n"
				     : "");
	ret = CLI_OK;
out:
	ca_free(ca);
	return ret == CLI_OK ? CLI_OK : cli_fail(&err);
}

int cli_cmd_ca(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error("ca", "which? moat ca init | show | list | url | serve | eab");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return cli_help("ca", stdout);
	if (cli_wants_help(argc - 1, argv + 1)) {
		char cmd[32];
		snprintf(cmd, sizeof(cmd), "ca %.20s", argv[1]);
		return cli_help(cmd, stdout);
	}
	if (strcmp(argv[1], "init") == 0)
		return ca_init_cmd(argc - 1, argv + 1);
	if (strcmp(argv[1], "show") == 0)
		return ca_show_cmd(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return ca_list_cmd(argc - 1, argv + 1);
	if (strcmp(argv[1], "url") == 0)
		return ca_url_cmd(argc - 1, argv + 1);
	if (strcmp(argv[1], "serve") == 0)
		return cli_ca_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "eab") == 0)
		return cli_ca_eab(argc - 1, argv + 1);
	return cli_usage_error("ca", "unknown command \"ca %.40s\"", argv[1]);
}

/* Under sudo moat looks for its CA in root's place (/var/lib/moat); when
 * the invoking user has one, say how to point moat at it (with the command
 * sudo ran, from SUDO_COMMAND). */
static void sudo_ca_hint(struct moat_err *err)
{
	const char *user = getenv("SUDO_USER"), *mh = getenv("MOAT_HOME");
	const char *cmd = getenv("SUDO_COMMAND"), *args;
	const struct passwd *pw;
	char dir[PATH_MAX], root[PATH_MAX + 16];

	if (geteuid() != 0 || user == NULL || (mh != NULL && mh[0] != '\0') ||
	    (pw = getpwnam(user)) == NULL || pw->pw_dir == NULL)
		return;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/.local/share/moat", pw->pw_dir) >= sizeof(dir))
		return;
	snprintf(root, sizeof(root), "%s/ca/root.pem", dir);
	if (access(root, R_OK) != 0)
		return;
	/* "/usr/local/bin/moat serve ..." -> "serve ..." */
	args = cmd != NULL ? strchr(cmd, ' ') : NULL;
	moat_err_hint(err, "under sudo moat looks in /var/lib/moat; your CA is in %s: "
			   "sudo env MOAT_HOME=%s moat%.300s", dir, dir, args != NULL ? args : " ...");
}

int cli_ca_open(bool unlock, const char *pass_file, struct ca **out, struct moat_err *err)
{
	char home[PATH_MAX];
	struct ca *ca = NULL;
	struct moat_buf pass = MOAT_BUF_INIT;
	struct moat_err herr;
	int ret = -1;

	moat_err_clear(&herr);
	if (moat_home_dir(home, sizeof(home), err) != 0)
		goto out;
	if ((ca = ca_open(home, err)) == NULL) {
		sudo_ca_hint(err);
		goto out;
	}
	if (unlock) {
		if (ca_signing_key_encrypted(ca) && cli_ca_pass(pass_file, false, &pass, err) != 0)
			goto out;
		if (ca_unlock(ca, (const char *)pass.data, pass.len, err) != 0) {
			if (strstr(err->msg, "passphrase") != NULL && err->hint[0] == '\0')
				moat_err_hint(err, "check MOAT_CA_PASSPHRASE or --passphrase-file");
			goto out;
		}
	}
	*out = ca;
	ca = NULL;
	ret = 0;
out:
	moat_buf_wipe(&pass);
	ca_free(ca);
	return ret;
}
