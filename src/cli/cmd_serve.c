/* cmd_serve.c: moat serve -- HTTPS in front of servers that don't do TLS. */
#include "cli/cli.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca.h"
#include "core/names.h"
#include "core/parse.h"
#include "serve/config.h"
#include "serve/serve.h"

enum { MODE_NONE, MODE_LOCAL, MODE_ACME, MODE_FILES };

struct serve_cli {
	const char *config;
	char *const *sites;
	size_t nsites;
	int mode;
	const char *cert, *key;
	long http_port, https_port; /* -1: the file's (or the default) */
	int64_t workers;            /* -1: the file's; 0: auto */
	char admin[80];             /* ADDRESS:PORT normalised, "" for the file's */
	const char *listen, *user, *server, *email, *ca_bundle, *challenge;
	const char *access_log, *log_format, *error_log;
};

static int copy_opt(char *dst, size_t n, const char *v, const char *opt, struct moat_err *err)
{
	if (strlen(v) >= n) {
		moat_err_set(err, "%s: the value is too long", opt);
		return -1;
	}
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* The configuration as the file and the command line make it (again on
 * each SIGHUP: the file is read anew, the options stay). */
static int load(void *arg, struct serve_config *c, struct moat_err *err)
{
	const struct serve_cli *o = arg;

	if (o->config != NULL && serve_config_load(c, o->config, err) != 0)
		return -1;
	if (o->http_port >= 0)
		c->http_port = (uint16_t)o->http_port;
	if (o->https_port >= 0)
		c->https_port = (uint16_t)o->https_port;
	if (o->workers >= 0)
		c->workers = (int)o->workers;
	if ((o->listen && copy_opt(c->listen_addr, sizeof(c->listen_addr), o->listen, "--listen", err)) ||
	    (o->admin[0] && copy_opt(c->admin, sizeof(c->admin), o->admin, "--admin", err)) ||
	    (o->user && copy_opt(c->user, sizeof(c->user), o->user, "--user", err)) ||
	    (o->email && copy_opt(c->acme_email, sizeof(c->acme_email), o->email, "--email", err)) ||
	    (o->challenge &&
	     copy_opt(c->acme_challenge, sizeof(c->acme_challenge), o->challenge, "--challenge", err)) ||
	    (o->access_log &&
	     copy_opt(c->access_log, sizeof(c->access_log), o->access_log, "--access-log", err)) ||
	    (o->error_log &&
	     copy_opt(c->error_log, sizeof(c->error_log), o->error_log, "--error-log", err)))
		return -1;
	/* an option overrides the file: its errors name the option */
	if (o->user != NULL)
		c->user_line = 0;
	if (o->access_log != NULL)
		c->access_log_line = 0;
	if (o->error_log != NULL)
		c->error_log_line = 0;
	if (o->log_format != NULL)
		c->access_log_format = strcmp(o->log_format, "json") == 0 ? SERVE_LOG_JSON
									  : SERVE_LOG_COMBINED;
	if (o->server != NULL || c->acme_server[0] == '\0') {
		if (copy_opt(c->acme_server, sizeof(c->acme_server), cli_acme_server(o->server),
			     "--server", err) != 0)
			return -1;
	}
	if ((o->ca_bundle != NULL || c->acme_ca_bundle[0] == '\0') &&
	    cli_acme_ca_bundle(o->ca_bundle) != NULL &&
	    copy_opt(c->acme_ca_bundle, sizeof(c->acme_ca_bundle), cli_acme_ca_bundle(o->ca_bundle),
		     "--ca-bundle", err) != 0)
		return -1;
	if (o->mode == MODE_LOCAL)
		c->cert = SERVE_CERT_LOCAL;
	else if (o->mode == MODE_ACME)
		c->cert = SERVE_CERT_ACME;
	for (size_t i = 0; i < o->nsites; i++) {
		if (serve_config_add_arg(c, o->sites[i], err) != 0)
			return -1;
		if (o->mode == MODE_FILES) {
			struct serve_site *s = &c->sites[c->nsites - 1];

			s->cert = SERVE_CERT_FILES;
			if (copy_opt(s->cert_file, sizeof(s->cert_file), o->cert, "--cert", err) != 0 ||
			    copy_opt(s->key_file, sizeof(s->key_file), o->key, "--key", err) != 0)
				return -1;
		}
	}
	return 0;
}

/* The private CA's name constraints, for every site it certifies (as
 * issuing at the start would), with FILE:LINE of the site. */
static int check_local_names(const struct serve_config *cfg, const struct ca *ca,
			     struct moat_err *err)
{
	for (size_t i = 0; i < cfg->nsites; i++) {
		const struct serve_site *s = &cfg->sites[i];
		const char *names[SERVE_MAX_NAMES];
		struct moat_name *parsed = NULL;
		size_t n = 0;
		char loc[400];
		int rc;

		if (s->cert != SERVE_CERT_LOCAL)
			continue;
		for (size_t k = 0; k < s->nnames; k++)
			names[k] = s->names[k];
		rc = moat_names_parse(names, s->nnames, &parsed, &n, err) != 0 ||
		     ca_check_names(ca, parsed, n, err) != 0;
		free(parsed);
		if (rc != 0) {
			serve_config_where(cfg, s, loc, sizeof(loc));
			moat_err_prefix(err, "%.*s", (int)strlen(loc) - 2, loc); /* no ": " */
			moat_err_hint(err, "the CA was made with --permit and certifies only names "
					   "under those: serve a name it permits, or get this site's "
					   "certificate elsewhere (cert acme, cert files)");
			return -1;
		}
	}
	return 0;
}

static void say(void *arg, const char *line)
{
	(void)arg;
	fprintf(stderr, "moat serve: %s\n", line);
}

int cli_cmd_serve(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check", no_argument, NULL, 'k'},
		{"local", no_argument, NULL, 'L'},
		{"acme", no_argument, NULL, 'A'},
		{"cert", required_argument, NULL, 'C'},
		{"key", required_argument, NULL, 'K'},
		{"http-port", required_argument, NULL, 'h'},
		{"https-port", required_argument, NULL, 's'},
		{"listen", required_argument, NULL, 'l'},
		{"admin", required_argument, NULL, 'a'},
		{"workers", required_argument, NULL, 'w'},
		{"user", required_argument, NULL, 'u'},
		{"server", required_argument, NULL, 'S'},
		{"email", required_argument, NULL, 'e'},
		{"ca-bundle", required_argument, NULL, 'b'},
		{"challenge", required_argument, NULL, 'g'},
		{"access-log", required_argument, NULL, 'o'},
		{"log-format", required_argument, NULL, 'f'},
		{"error-log", required_argument, NULL, 'E'},
		{"passphrase-file", required_argument, NULL, 'p'},
		{NULL, 0, NULL, 0},
	};
	struct serve_cli o;
	struct serve_config cfg;
	struct serve_opts so;
	struct serve *srv = NULL;
	struct ca *ca = NULL;
	struct moat_err err;
	const char *pass_file = NULL;
	char home[PATH_MAX];
	bool check = false, local = false;
	struct moat_hostport admin;
	uint16_t port;
	int c, ret = CLI_FAIL;

	memset(&o, 0, sizeof(o));
	memset(&so, 0, sizeof(so));
	o.http_port = o.https_port = o.workers = -1;
	moat_err_clear(&err);
	serve_config_init(&cfg);
	optind = 0;
	while ((c = getopt_long(argc, argv, ":c:", lopts, NULL)) != -1) {
		switch (c) {
		case 'c': o.config = optarg; break;
		case 'k': check = true; break;
		case 'L':
		case 'A':
			if (o.mode != MODE_NONE)
				return cli_usage_error("serve", "choose one of --local, --acme, --cert");
			o.mode = c == 'L' ? MODE_LOCAL : MODE_ACME;
			break;
		case 'C': o.cert = optarg; break;
		case 'K': o.key = optarg; break;
		case 'h': /* 0: no plain-HTTP listener */
			if (cli_opt_port("serve", "--http-port", optarg, true, &port) != CLI_OK)
				return CLI_USAGE;
			o.http_port = port;
			break;
		case 's':
			if (cli_opt_port("serve", "--https-port", optarg, false, &port) != CLI_OK)
				return CLI_USAGE;
			o.https_port = port;
			break;
		case 'w':
			if (strcmp(optarg, "auto") == 0)
				o.workers = 0;
			else if (cli_opt_number("serve", "--workers", optarg, 1, 256, &o.workers) != CLI_OK)
				return CLI_USAGE;
			break;
		case 'l': o.listen = optarg; break;
		case 'a': /* as the admin directive reads it */
			if (cli_opt_hostport("serve", "--admin", optarg, 0, &admin) != CLI_OK)
				return CLI_USAGE;
			if (moat_hostport_text(&admin, o.admin, sizeof(o.admin)) != 0)
				return cli_usage_error("serve", "--admin: the address is too long");
			break;
		case 'u': o.user = optarg; break;
		case 'S': o.server = optarg; break;
		case 'e': o.email = optarg; break;
		case 'b': o.ca_bundle = optarg; break;
		case 'g':
			if (strcmp(optarg, "http-01") != 0 && strcmp(optarg, "tls-alpn-01") != 0)
				return cli_usage_error("serve", "--challenge is http-01 or tls-alpn-01");
			o.challenge = optarg;
			break;
		case 'o': o.access_log = optarg; break;
		case 'f':
			if (strcmp(optarg, "combined") != 0 && strcmp(optarg, "json") != 0)
				return cli_usage_error("serve", "--log-format is combined or json");
			o.log_format = optarg;
			break;
		case 'E': o.error_log = optarg; break;
		case 'p': pass_file = optarg; break;
		default: return cli_bad_option("serve", c, argv);
		}
	}
	if ((o.cert == NULL) != (o.key == NULL))
		return cli_usage_error("serve", "--cert and --key go together");
	if (o.cert != NULL) {
		if (o.mode != MODE_NONE)
			return cli_usage_error("serve", "choose one of --local, --acme, --cert");
		o.mode = MODE_FILES;
	}
	o.sites = argv + optind;
	o.nsites = (size_t)(argc - optind);
	if (o.nsites == 0 && o.config == NULL)
		return cli_usage_error("serve", "what should moat serve? e.g. moat serve --local "
						"192.168.1.10=http://127.0.0.1:3000");
	if (cli_home(home, sizeof(home)) != CLI_OK)
		return CLI_FAIL;
	/* Once now, to check it and to know whether the private CA is needed;
	 * --check runs every check of a start but binding the ports (and
	 * unlocking the CA key: only its certificate is needed). */
	if (load(&o, &cfg, &err) != 0 || serve_config_check(&cfg, &err) != 0)
		goto out;
	serve_config_resolve(&cfg);
	if (serve_config_check_start(&cfg, &err) != 0)
		goto out;
	for (size_t i = 0; i < cfg.nsites; i++)
		local = local || cfg.sites[i].cert == SERVE_CERT_LOCAL;
	if (local && cli_ca_open(!check, pass_file, &ca, &err) != 0) {
		if ((strstr(err.msg, "no CA") != NULL || strstr(err.msg, "no private CA") != NULL ||
		     strstr(err.msg, "not found") != NULL) &&
		    strstr(err.hint, "under sudo") == NULL)
			moat_err_hint(&err, "make the private CA first: moat ca init (and trust it: "
					    "moat trust install)");
		goto out;
	}
	if (local && check_local_names(&cfg, ca, &err) != 0)
		goto out;
	if (check) {
		if (serve_check(&cfg, home, &err) != 0)
			goto out;
		printf("%s: configuration OK (%zu site%s)\n", o.config ? o.config : "command line",
		       cfg.nsites, cfg.nsites == 1 ? "" : "s");
		ret = CLI_OK;
		goto out;
	}
	so.load = load;
	so.load_arg = &o;
	so.home = home;
	so.ca = ca;
	so.say = say;
	if ((srv = serve_new(&so, &err)) == NULL || serve_run(srv, &err) != 0)
		goto out;
	ret = CLI_OK;
out:
	if (ret != CLI_OK && moat_err_isset(&err))
		ret = cli_fail(&err);
	serve_free(srv);
	ca_free(ca);
	serve_config_free(&cfg);
	return ret;
}
