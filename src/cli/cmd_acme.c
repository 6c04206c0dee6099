/* cmd_acme.c: moat acme register|issue — certificates from Let's Encrypt or
 * any RFC 8555 CA. */
#include "cli/cli.h"

#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "acme/acme.h"
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

const char *cli_acme_server(const char *s)
{
	if (s == NULL)
		s = getenv(ENV_SERVER);
	if (s == NULL || strcmp(s, "letsencrypt") == 0)
		return LE_PROD;
	if (strcmp(s, "letsencrypt-staging") == 0)
		return LE_STAGING;
	return s;
}

const char *cli_acme_ca_bundle(const char *s)
{
	return s != NULL ? s : getenv(ENV_CA_BUNDLE);
}

void cli_acme_progress(void *arg, const char *msg)
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
	co.server = cli_acme_server(co.server);
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
	    (c = acme_client_new(co.server, cli_acme_ca_bundle(co.ca_bundle), &err)) == NULL ||
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

int cli_cmd_acme(int argc, char **argv)
{
	char topic[32];

	if (argc < 2)
		return cli_usage_error("acme", "which? moat acme register|issue|renew|revoke|list");
	if (cli_wants_help(argc, argv)) {
		snprintf(topic, sizeof(topic), "acme %.20s", argv[1]);
		return cli_help(argv[1][0] == '-' ? "acme" : topic, stdout);
	}
	if (strcmp(argv[1], "register") == 0)
		return acme_register_cmd(argc - 1, argv + 1);
	if (strcmp(argv[1], "issue") == 0)
		return cli_acme_issue(argc - 1, argv + 1);
	if (strcmp(argv[1], "renew") == 0)
		return cli_acme_renew(argc - 1, argv + 1);
	if (strcmp(argv[1], "revoke") == 0)
		return cli_acme_revoke(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return cli_acme_list(argc - 1, argv + 1);
	return cli_usage_error("acme", "unknown subcommand \"%.40s\"", argv[1]);
}
