/* cmd_acme.c: moat acme register|issue — certificates from Let's Encrypt or
 * any RFC 8555 CA. */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acme/acme.h"
#include "acme/store.h"
#include "core/file.h"
#include "pki/pki.h"

#define ENV_CA_BUNDLE "MOAT_CA_BUNDLE"
#define ENV_SERVER "MOAT_ACME_SERVER"

const char *cli_acme_server(const char *s)
{
	if (s == NULL)
		s = getenv(ENV_SERVER);
	if (s == NULL || strcmp(s, "letsencrypt") == 0)
		return CLI_LE_PROD;
	if (strcmp(s, "letsencrypt-staging") == 0)
		return CLI_LE_STAGING;
	return s;
}

const char *cli_acme_ca_bundle(const char *s)
{
	return s != NULL ? s : getenv(ENV_CA_BUNDLE);
}

int cli_acme_target(const char *cmd, const char *home, const char *opt_server,
		    const char *opt_bundle, struct cli_acme_target *t)
{
	char rs[sizeof(t->server)], rb[sizeof(t->ca_bundle)];
	const char *server = opt_server != NULL ? opt_server : getenv(ENV_SERVER);
	const char *bundle = cli_acme_ca_bundle(opt_bundle);
	bool have = acme_store_default_load(home, rs, sizeof(rs), rb, sizeof(rb)) == 0;

	memset(t, 0, sizeof(*t));
	if (server == NULL && have) {
		server = rs;
		t->remembered = true;
	}
	server = cli_acme_server(server);
	if (bundle == NULL && t->remembered && rb[0] != '\0')
		bundle = rb;
	if (strlen(server) >= sizeof(t->server) || strpbrk(server, "\r\n") != NULL)
		return cli_usage_error(cmd, "--server: one line of at most %zu characters",
				       sizeof(t->server) - 1);
	if (bundle != NULL && (strlen(bundle) >= sizeof(t->ca_bundle) || strpbrk(bundle, "\r\n")))
		return cli_usage_error(cmd, "--ca-bundle: one line of at most %zu characters",
				       sizeof(t->ca_bundle) - 1);
	memcpy(t->server, server, strlen(server) + 1);
	if (bundle != NULL)
		memcpy(t->ca_bundle, bundle, strlen(bundle) + 1);
	if (t->remembered)
		cli_notice("ACME server %s (remembered from `moat acme register`; --server picks "
			   "another)", t->server);
	return CLI_OK;
}

/* "a@x,b@y" from "mailto:a@x", "mailto:b@y" (account.json keeps them so). */
static void join_contacts(const char *const *contacts, size_t n, char *out, size_t outn)
{
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t used = strlen(out);
		snprintf(out + used, outn - used, "%s%s", i ? "," : "", contacts[i] + 7);
	}
}

int cli_acme_new_account(const struct cli_acme_target *t, const char *dir,
			 const struct pki_key *key, const struct acme_account_opts *ao, bool replace,
			 bool *created, struct acme_stored_account *sa, struct moat_err *err)
{
	struct acme_client *c = NULL;
	int ret = -1;

	memset(sa, 0, sizeof(*sa));
	if ((c = acme_client_new(t->server, t->ca_bundle[0] ? t->ca_bundle : NULL, err)) == NULL ||
	    acme_client_set_account(c, key, NULL, err) != 0 ||
	    acme_account_register(c, ao, created, NULL, err) != 0)
		goto out;
	snprintf(sa->url, sizeof(sa->url), "%s", acme_client_kid(c));
	snprintf(sa->directory, sizeof(sa->directory), "%s", t->server);
	join_contacts(ao->contacts, ao->ncontacts, sa->contact, sizeof(sa->contact));
	ret = acme_store_account_save(dir, key, sa, replace, err);
out:
	acme_client_free(c);
	return ret;
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
	struct acme_account_opts ao = {0};
	struct acme_stored_account sa;
	struct cli_acme_target t;
	const char *contacts[CLI_ACME_MAX_CONTACTS], *opt_server = NULL, *opt_bundle = NULL;
	char mailto[CLI_ACME_MAX_CONTACTS][320], home[PATH_MAX], dir[PATH_MAX], probe[PATH_MAX];
	enum pki_key_type kt = PKI_KEY_EC_P256;
	struct pki_key *key = NULL;
	struct moat_err err;
	bool created = false, force = false, json = false;
	int ch, ret = CLI_FAIL;

	moat_err_clear(&err);
	optind = 0;
	while ((ch = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
		switch (ch) {
		case 'e':
			if (ao.ncontacts >= CLI_ACME_MAX_CONTACTS)
				return cli_usage_error("acme register", "at most %d --email", CLI_ACME_MAX_CONTACTS);
			if (strchr(optarg, '@') == NULL || strlen(optarg) > 300 ||
			    strpbrk(optarg, " ,<>\"") != NULL)
				return cli_usage_error("acme register", "--email needs an e-mail address");
			snprintf(mailto[ao.ncontacts], sizeof(mailto[0]), "mailto:%s", optarg);
			contacts[ao.ncontacts] = mailto[ao.ncontacts];
			ao.ncontacts++;
			break;
		case 's': opt_server = optarg; break;
		case 'b': opt_bundle = optarg; break;
		case 'a': ao.agree_tos = true; break;
		case 'K': ao.eab_kid = optarg; break;
		case 'H': ao.eab_hmac_key = optarg; break;
		case 'k':
			if (pki_key_type_parse(optarg, &kt, &err) != 0)
				return cli_fail(&err);
			break;
		case 'f': force = true; break;
		case 'j': json = true; break;
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
	if ((ret = cli_acme_target("acme register", home, opt_server, opt_bundle, &t)) != CLI_OK)
		return ret;
	ret = CLI_FAIL;
	if (acme_store_account_dir(home, t.server, dir, sizeof(dir), &err) != 0 ||
	    moat_path_join(probe, sizeof(probe), dir, "account.json", &err) != 0)
		goto out;
	if (moat_file_exists(probe) && !force) {
		moat_err_set(&err, "there is already an account for this server in %s", dir);
		moat_err_hint(&err, "use it as it is, or --force to register a new one");
		goto out;
	}
	if ((key = pki_key_generate(kt, &err)) == NULL ||
	    cli_acme_new_account(&t, dir, key, &ao, force, &created, &sa, &err) != 0)
		goto out;
	/* The later acme commands of this MOAT_HOME use this server. */
	if (acme_store_default_save(home, t.server, t.ca_bundle, &err) != 0) {
		moat_err_prefix(&err, "the account is registered, but");
		goto out;
	}
	if (json) {
		ret = cli_json_print(json_pack("{s:s, s:s, s:s, s:b, s:b}", "server", t.server,
					       "account", sa.url, "dir", dir, "created", created,
					       "default", true));
		goto out;
	}
	printf("%s the ACME account at %s\n  account  %s\n  key      %s/account-key.pem (%s)\n"
	       "  default  the acme commands of %s now use this server (--server picks another)\n",
	       created ? "Registered" : "Found", t.server, sa.url, dir, pki_key_type_name(kt), home);
	ret = CLI_OK;
out:
	pki_key_free(key);
	return ret == CLI_OK ? CLI_OK : cli_fail(&err);
}

/* Print an account object: status, contacts, URL. */
static int show_account(const char *server, const char *url, const char *dir, json_t *acct,
			bool json)
{
	json_t *contacts = json_object_get(acct, "contact"), *v;
	const char *status = json_string_value(json_object_get(acct, "status"));
	char show[320];
	size_t i;

	if (json)
		return cli_json_print(json_pack("{s:s, s:s, s:s, s:O}", "server", server, "account", url,
						"dir", dir, "object", acct));
	moat_escape(show, sizeof(show), status ? status : "?", strlen(status ? status : "?"));
	printf("Account at %s\n  url       %s\n  status    %s\n  key       %s/account-key.pem\n",
	       server, url, show, dir);
	json_array_foreach(contacts, i, v) {
		if (!json_is_string(v))
			continue;
		moat_escape(show, sizeof(show), json_string_value(v), strlen(json_string_value(v)));
		printf("  contact   %s\n", show);
	}
	return CLI_OK;
}

/* Write the new account key beside the old one before the server learns
 * it, so that a crash between the two cannot lose the only key that opens
 * the account. */
static int rollover(struct acme_client *c, const char *dir, enum pki_key_type kt,
		    struct pki_key **new_key, struct moat_err *err)
{
	struct moat_buf pem = MOAT_BUF_INIT;
	char next[PATH_MAX + 32], cur[PATH_MAX + 32];
	int ret = -1;

	snprintf(next, sizeof(next), "%s/account-key.pem.next", dir);
	snprintf(cur, sizeof(cur), "%s/account-key.pem", dir);
	if ((*new_key = pki_key_generate(kt, err)) == NULL ||
	    pki_key_to_pem(*new_key, NULL, 0, &pem, err) != 0 ||
	    moat_file_write_atomic(next, pem.data, pem.len, 0600, err) != 0)
		goto out;
	if (acme_account_rollover(c, *new_key, err) != 0) {
		(void)unlink(next);
		goto out;
	}
	if (rename(next, cur) != 0) {
		moat_err_errno(err, errno, "the CA now knows the account by the new key, but it "
					   "could not be moved into place: rename %s to %s", next, cur);
		goto out;
	}
	(void)moat_dir_sync(dir);
	ret = 0;
out:
	moat_buf_wipe(&pem);
	return ret;
}

static int acme_account_cmd(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"server", required_argument, NULL, 's'},
		{"ca-bundle", required_argument, NULL, 'b'},
		{"email", required_argument, NULL, 'e'},
		{"key-type", required_argument, NULL, 'k'},
		{"yes", no_argument, NULL, 'y'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	struct acme_stored_account sa;
	struct cli_acme_target t;
	struct acme_client *c = NULL;
	struct pki_key *key = NULL, *new_key = NULL;
	enum pki_key_type kt = PKI_KEY_EC_P256;
	const char *action = "show", *contacts[CLI_ACME_MAX_CONTACTS], *opt_server = NULL, *opt_bundle = NULL;
	char mailto[CLI_ACME_MAX_CONTACTS][320], home[PATH_MAX], dir[PATH_MAX];
	size_t ncontacts = 0;
	bool yes = false, json = false;
	json_t *acct = NULL;
	struct moat_err err;
	int ch, ret = CLI_FAIL;

	moat_err_clear(&err);
	optind = 0;
	while ((ch = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
		switch (ch) {
		case 's': opt_server = optarg; break;
		case 'b': opt_bundle = optarg; break;
		case 'e':
			if (ncontacts >= CLI_ACME_MAX_CONTACTS || strchr(optarg, '@') == NULL ||
			    strlen(optarg) > 300 || strpbrk(optarg, " ,<>\"") != NULL)
				return cli_usage_error("acme account", "--email needs an e-mail address");
			snprintf(mailto[ncontacts], sizeof(mailto[0]), "mailto:%s", optarg);
			contacts[ncontacts] = mailto[ncontacts];
			ncontacts++;
			break;
		case 'k':
			if (pki_key_type_parse(optarg, &kt, &err) != 0)
				return cli_fail(&err);
			break;
		case 'y': yes = true; break;
		case 'j': json = true; break;
		default: return cli_bad_option("acme account", ch, argv);
		}
	}
	if (optind < argc)
		action = argv[optind++];
	if (optind != argc)
		return cli_usage_error("acme account", "unexpected argument \"%.40s\"", argv[optind]);
	if (strcmp(action, "show") != 0 && strcmp(action, "update") != 0 &&
	    strcmp(action, "rollover") != 0 && strcmp(action, "deactivate") != 0)
		return cli_usage_error("acme account", "show, update, rollover or deactivate?");
	if (strcmp(action, "update") == 0 && ncontacts == 0)
		return cli_usage_error("acme account", "update needs --email (repeat for several)");
	if (strcmp(action, "deactivate") == 0 && !yes)
		return cli_usage_error("acme account", "deactivation cannot be undone: add --yes");
	if (cli_home(home, sizeof(home)) != CLI_OK)
		return CLI_FAIL;
	if ((ret = cli_acme_target("acme account", home, opt_server, opt_bundle, &t)) != CLI_OK)
		return ret;
	ret = CLI_FAIL;
	if (acme_store_account_dir(home, t.server, dir, sizeof(dir), &err) != 0 ||
	    (key = acme_store_account_load(dir, &sa, &err)) == NULL ||
	    (c = acme_client_new(t.server, t.ca_bundle[0] ? t.ca_bundle : NULL, &err)) == NULL ||
	    acme_client_set_account(c, key, sa.url, &err) != 0)
		goto out;
	if (strcmp(action, "update") == 0) {
		if (acme_account_update(c, contacts, ncontacts, &acct, &err) != 0)
			goto out;
		join_contacts(contacts, ncontacts, sa.contact, sizeof(sa.contact));
		if (acme_store_account_save(dir, key, &sa, true, &err) != 0)
			goto out;
	} else if (strcmp(action, "rollover") == 0) {
		if (rollover(c, dir, kt, &new_key, &err) != 0)
			goto out;
	} else if (strcmp(action, "deactivate") == 0) {
		if (acme_account_deactivate(c, &err) != 0)
			goto out;
		if (!json)
			printf("Deactivated the account %s at %s\n", sa.url, t.server);
		else
			ret = cli_json_print(json_pack("{s:s, s:s, s:s}", "server", t.server, "account",
						       sa.url, "status", "deactivated"));
		ret = CLI_OK;
		goto out;
	}
	if (acct == NULL && acme_account_fetch(c, &acct, &err) != 0)
		goto out;
	ret = show_account(t.server, sa.url, dir, acct, json);
out:
	json_decref(acct);
	acme_client_free(c);
	pki_key_free(key);
	pki_key_free(new_key);
	return ret == CLI_OK ? CLI_OK : cli_fail(&err);
}

int cli_cmd_acme(int argc, char **argv)
{
	char topic[32];

	if (argc < 2)
		return cli_usage_error("acme", "which? moat acme register|account|issue|renew|revoke|list");
	if (cli_wants_help(argc, argv)) {
		snprintf(topic, sizeof(topic), "acme %.20s", argv[1]);
		return cli_help(argv[1][0] == '-' ? "acme" : topic, stdout);
	}
	if (strcmp(argv[1], "register") == 0)
		return acme_register_cmd(argc - 1, argv + 1);
	if (strcmp(argv[1], "account") == 0)
		return acme_account_cmd(argc - 1, argv + 1);
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
