/* cmd_acme.c: moat acme register|issue — certificates from Let's Encrypt or
 * any RFC 8555 CA. */
#include "cli/cli.h"

#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "acme/acme.h"
#include "acme/solve.h"
#include "acme/store.h"
#include "core/file.h"
#include "pki/pki.h"

#define LE_PROD "https://acme-v02.api.letsencrypt.org/directory"
#define LE_STAGING "https://acme-staging-v02.api.letsencrypt.org/directory"
#define ENV_CA_BUNDLE "MOAT_CA_BUNDLE"
#define ENV_SERVER "MOAT_ACME_SERVER"
#define MAX_CONTACTS 8

/* Options every acme subcommand shares. */
struct common {
	const char *server;
	const char *ca_bundle;
	bool json;
	bool force;
};

static const char *server_url(const char *s)
{
	if (s == NULL)
		s = getenv(ENV_SERVER);
	if (s == NULL || strcmp(s, "letsencrypt") == 0)
		return LE_PROD;
	if (strcmp(s, "letsencrypt-staging") == 0)
		return LE_STAGING;
	return s;
}

static const char *ca_bundle(const char *s)
{
	return s != NULL ? s : getenv(ENV_CA_BUNDLE);
}

static void progress(void *arg, const char *msg)
{
	(void)arg;
	cli_progress("%s", msg);
}

static int acme_register_cmd(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"email", required_argument, NULL, 'e'},
		{"server", required_argument, NULL, 's'},
		{"ca-bundle", required_argument, NULL, 'b'},
		{"agree-tos", no_argument, NULL, 'a'},
		{"eab-kid", required_argument, NULL, 'K'},
		{"eab-hmac-key", required_argument, NULL, 'H'},
		{"key-type", required_argument, NULL, 'k'},
		{"force", no_argument, NULL, 'f'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	struct common co = {0};
	struct acme_account_opts ao = {0};
	struct acme_stored_account sa;
	const char *contacts[MAX_CONTACTS];
	char mailto[MAX_CONTACTS][320], home[PATH_MAX], dir[PATH_MAX];
	enum pki_key_type kt = PKI_KEY_EC_P256;
	struct acme_client *c = NULL;
	struct pki_key *key = NULL;
	struct moat_err err;
	bool created = false;
	int ch, ret = CLI_FAIL;

	moat_err_clear(&err);
	memset(&sa, 0, sizeof(sa));
	optind = 0;
	while ((ch = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
		switch (ch) {
		case 'e':
			if (ao.ncontacts >= MAX_CONTACTS)
				return cli_usage_error("acme register", "at most %d --email", MAX_CONTACTS);
			if (strchr(optarg, '@') == NULL || strlen(optarg) > 300 ||
			    strpbrk(optarg, " ,<>\"") != NULL)
				return cli_usage_error("acme register", "--email needs an e-mail address");
			snprintf(mailto[ao.ncontacts], sizeof(mailto[0]), "mailto:%s", optarg);
			contacts[ao.ncontacts] = mailto[ao.ncontacts];
			ao.ncontacts++;
			break;
		case 's': co.server = optarg; break;
		case 'b': co.ca_bundle = optarg; break;
		case 'a': ao.agree_tos = true; break;
		case 'K': ao.eab_kid = optarg; break;
		case 'H': ao.eab_hmac_key = optarg; break;
		case 'k':
			if (pki_key_type_parse(optarg, &kt, &err) != 0)
				return cli_fail(&err);
			break;
		case 'f': co.force = true; break;
		case 'j': co.json = true; break;
		default: return cli_bad_option("acme register", ch, argv);
		}
	}
	if (optind != argc)
		return cli_usage_error("acme register", "unexpected argument \"%.40s\"", argv[optind]);
	if ((ao.eab_kid == NULL) != (ao.eab_hmac_key == NULL))
		return cli_usage_error("acme register", "--eab-kid and --eab-hmac-key go together");
	ao.contacts = contacts;
	if (cli_home(home, sizeof(home)) != CLI_OK)
		return CLI_FAIL;
	co.server = server_url(co.server);
	if (acme_store_account_dir(home, co.server, dir, sizeof(dir), &err) != 0)
		goto out;
	{
		char probe[PATH_MAX];
		if (moat_path_join(probe, sizeof(probe), dir, "account.json", &err) != 0)
			goto out;
		if (moat_file_exists(probe) && !co.force) {
			moat_err_set(&err, "there is already an account for this server in %s", dir);
			moat_err_hint(&err, "use it as it is, or --force to register a new one");
			goto out;
		}
	}
	if ((key = pki_key_generate(kt, &err)) == NULL ||
	    (c = acme_client_new(co.server, ca_bundle(co.ca_bundle), &err)) == NULL ||
	    acme_client_set_account(c, key, NULL, &err) != 0 ||
	    acme_account_register(c, &ao, &created, NULL, &err) != 0)
		goto out;
	snprintf(sa.url, sizeof(sa.url), "%s", acme_client_kid(c));
	snprintf(sa.directory, sizeof(sa.directory), "%s", co.server);
	for (size_t i = 0; i < ao.ncontacts; i++) {
		size_t used = strlen(sa.contact);
		snprintf(sa.contact + used, sizeof(sa.contact) - used, "%s%s", i ? "," : "",
			 contacts[i] + 7);
	}
	if (acme_store_account_save(dir, key, &sa, co.force, &err) != 0)
		goto out;
	if (co.json) {
		ret = cli_json_print(json_pack("{s:s, s:s, s:s, s:b}", "server", co.server, "account",
					       sa.url, "dir", dir, "created", created));
		goto out;
	}
	printf("%s the ACME account at %s\n  account  %s\n  key      %s/account-key.pem (%s)\n",
	       created ? "Registered" : "Found", co.server, sa.url, dir, pki_key_type_name(kt));
	ret = CLI_OK;
out:
	acme_client_free(c);
	pki_key_free(key);
	return ret == CLI_OK ? CLI_OK : cli_fail(&err);
}

struct issue_opts {
	struct common co;
	const char *challenge;
	bool standalone;
	const char *webroot;
	const char *http_addr;
	int http_port;
	enum pki_key_type kt;
	const char *profile;
	const char *preferred;
	int timeout;
};

static int parse_port(const char *s, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 1 || v > 65535)
		return -1;
	*out = (int)v;
	return 0;
}

static int acme_issue_cmd(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"server", required_argument, NULL, 's'},
		{"ca-bundle", required_argument, NULL, 'b'},
		{"challenge", required_argument, NULL, 'c'},
		{"standalone", no_argument, NULL, 'S'},
		{"webroot", required_argument, NULL, 'w'},
		{"http-port", required_argument, NULL, 'p'},
		{"http-address", required_argument, NULL, 'A'},
		{"key-type", required_argument, NULL, 'k'},
		{"profile", required_argument, NULL, 'P'},
		{"preferred-chain", required_argument, NULL, 'C'},
		{"timeout", required_argument, NULL, 't'},
		{"force", no_argument, NULL, 'f'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	struct issue_opts io = {.challenge = "http-01", .http_port = 80, .kt = PKI_KEY_EC_P256,
				.timeout = 300};
	struct moat_name *names = NULL;
	size_t nnames = 0;
	struct acme_stored_account sa;
	struct acme_renewal rn;
	struct acme_order_opts oo;
	struct acme_solver solver;
	struct acme_http01 *h01 = NULL;
	struct acme_client *c = NULL;
	struct pki_key *akey = NULL, *key = NULL;
	struct pki_csr *csr = NULL;
	struct moat_buf chain = MOAT_BUF_INIT, kpem = MOAT_BUF_INIT;
	char home[PATH_MAX], dir[PATH_MAX], lineage[MOAT_NAME_MAX + 16];
	struct moat_err err;
	int ch, version = 0, ret = CLI_FAIL;

	moat_err_clear(&err);
	memset(&rn, 0, sizeof(rn));
	memset(&oo, 0, sizeof(oo));
	if (cli_dash_name(argc, argv, &err))
		return cli_fail(&err);
	optind = 0;
	while ((ch = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
		switch (ch) {
		case 's': io.co.server = optarg; break;
		case 'b': io.co.ca_bundle = optarg; break;
		case 'c': io.challenge = optarg; break;
		case 'S': io.standalone = true; break;
		case 'w': io.webroot = optarg; break;
		case 'p':
			if (parse_port(optarg, &io.http_port) != 0)
				return cli_usage_error("acme issue", "--http-port takes a port (1-65535)");
			break;
		case 'A': io.http_addr = optarg; break;
		case 'k':
			if (pki_key_type_parse(optarg, &io.kt, &err) != 0)
				return cli_fail(&err);
			break;
		case 'P': io.profile = optarg; break;
		case 'C': io.preferred = optarg; break;
		case 't':
			io.timeout = atoi(optarg);
			if (io.timeout < 5 || io.timeout > 3600)
				return cli_usage_error("acme issue", "--timeout takes 5 to 3600 seconds");
			break;
		case 'f': io.co.force = true; break;
		case 'j': io.co.json = true; break;
		default: return cli_bad_option("acme issue", ch, argv);
		}
	}
	if (optind >= argc)
		return cli_usage_error("acme issue", "which names? e.g. moat acme issue example.com");
	if (strcmp(io.challenge, "http-01") != 0)
		return cli_usage_error("acme issue", "--challenge %.20s is not supported yet (http-01 is)",
				       io.challenge);
	if (io.standalone == (io.webroot != NULL))
		return cli_usage_error("acme issue", "http-01 needs --standalone or --webroot DIR");
	if (moat_names_parse((const char *const *)argv + optind, (size_t)(argc - optind), &names,
			     &nnames, &err) != 0)
		goto out;
	for (size_t i = 0; i < nnames; i++) {
		if (names[i].type == MOAT_NAME_WILDCARD) {
			moat_err_set(&err, "%s: a wildcard needs the dns-01 challenge", names[i].text);
			goto out;
		}
	}
	if (cli_home(home, sizeof(home)) != CLI_OK)
		return CLI_FAIL;
	io.co.server = server_url(io.co.server);
	if (acme_store_account_dir(home, io.co.server, dir, sizeof(dir), &err) != 0 ||
	    (akey = acme_store_account_load(dir, &sa, &err)) == NULL)
		goto out;
	if ((c = acme_client_new(io.co.server, ca_bundle(io.co.ca_bundle), &err)) == NULL ||
	    acme_client_set_account(c, akey, sa.url, &err) != 0)
		goto out;
	if (io.standalone)
		h01 = acme_http01_standalone(io.http_addr, (uint16_t)io.http_port, &err);
	else
		h01 = acme_http01_webroot(io.webroot, &err);
	if (h01 == NULL)
		goto out;
	acme_http01_solver(h01, &solver);
	if ((key = pki_key_generate(io.kt, &err)) == NULL ||
	    (csr = pki_csr_build(key, names, nnames, &err)) == NULL ||
	    pki_key_to_pem(key, NULL, 0, &kpem, &err) != 0)
		goto out;
	oo.names = names;
	oo.nnames = nnames;
	oo.solver = &solver;
	oo.csr = csr;
	oo.profile = io.profile;
	oo.preferred_chain = io.preferred;
	oo.timeout_s = io.timeout;
	oo.progress = progress;
	if (acme_order_run(c, &oo, &chain, &err) != 0)
		goto out;
	acme_http01_free(h01);
	h01 = NULL;
	snprintf(rn.server, sizeof(rn.server), "%s", io.co.server);
	snprintf(rn.ca_bundle, sizeof(rn.ca_bundle), "%s",
		 ca_bundle(io.co.ca_bundle) ? ca_bundle(io.co.ca_bundle) : "");
	for (size_t i = 0; i < nnames; i++) {
		size_t used = strlen(rn.names);
		snprintf(rn.names + used, sizeof(rn.names) - used, "%s%s", i ? "," : "", names[i].text);
	}
	snprintf(rn.key_type, sizeof(rn.key_type), "%s", pki_key_type_name(io.kt));
	snprintf(rn.challenge, sizeof(rn.challenge), "%s", io.challenge);
	snprintf(rn.webroot, sizeof(rn.webroot), "%s", io.webroot ? io.webroot : "");
	rn.http_port = io.standalone ? io.http_port : 0;
	snprintf(rn.profile, sizeof(rn.profile), "%s", io.profile ? io.profile : "");
	snprintf(rn.preferred_chain, sizeof(rn.preferred_chain), "%s", io.preferred ? io.preferred : "");
	moat_name_lineage(&names[0], lineage, sizeof(lineage));
	if (acme_store_lineage_save(home, lineage, &kpem, &chain, &rn, io.co.force, &version, &err) != 0)
		goto out;
	if (io.co.json) {
		json_t *jn = json_array();
		for (size_t i = 0; i < nnames; i++)
			json_array_append_new(jn, json_string(names[i].text));
		char live[PATH_MAX + MOAT_NAME_MAX + 32];
		if (snprintf(live, sizeof(live), "%s/live/%s", home, lineage) >= (int)sizeof(live))
			live[0] = '\0';
		ret = cli_json_print(json_pack("{s:s, s:o, s:i, s:s, s:s}", "lineage", lineage, "names",
					       jn, "version", version, "live", live, "server",
					       io.co.server));
		goto out;
	}
	printf("Certificate for %s from %s\n  %s/live/%s/fullchain.pem   certificate + chain: what "
	       "your server needs\n  %s/live/%s/privkey.pem     its key (0600)\n",
	       names[0].text, io.co.server, home, lineage, home, lineage);
	ret = CLI_OK;
out:
	acme_http01_free(h01);
	acme_client_free(c);
	pki_key_free(akey);
	pki_key_free(key);
	pki_csr_free(csr);
	moat_buf_free(&chain);
	moat_buf_wipe(&kpem);
	free(names);
	return ret == CLI_OK ? CLI_OK : cli_fail(&err);
}

int cli_cmd_acme(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error("acme", "which? moat acme register | issue");
	if (cli_wants_help(argc, argv))
		return cli_help(strcmp(argv[1], "register") == 0 ? "acme register"
				: strcmp(argv[1], "issue") == 0 ? "acme issue"
								: "acme",
				stdout);
	if (strcmp(argv[1], "register") == 0)
		return acme_register_cmd(argc - 1, argv + 1);
	if (strcmp(argv[1], "issue") == 0)
		return acme_issue_cmd(argc - 1, argv + 1);
	return cli_usage_error("acme", "unknown subcommand \"%.40s\"", argv[1]);
}
