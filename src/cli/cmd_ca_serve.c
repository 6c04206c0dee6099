/* cmd_ca_serve.c: moat ca serve -- the private CA as an ACME server, with
 * OCSP, the CRL and the CA certificates over HTTP (src/caserve). */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ca/ca.h"
#include "caserve/caserve.h"
#include "core/addr.h"
#include "core/parse.h"

#define CMD "ca serve"

/* One log line on stderr, with the time (the server's threads call this). */
static void log_line(void *arg, const char *line)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	char when[32], shown[1100];
	time_t now = time(NULL);
	struct tm tm;

	(void)arg;
	moat_escape(shown, sizeof(shown), line, strlen(line));
	if (gmtime_r(&now, &tm) == NULL || strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		when[0] = '\0';
	pthread_mutex_lock(&mu);
	fprintf(stderr, "%s %s\n", when, shown);
	fflush(stderr);
	pthread_mutex_unlock(&mu);
}

int cli_ca_serve(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"https-port", required_argument, NULL, 's'},
		{"http-port", required_argument, NULL, 'p'},
		{"name", required_argument, NULL, 'n'},
		{"http01-port", required_argument, NULL, 'H'},
		{"tls-alpn-port", required_argument, NULL, 'T'},
		{"dns-resolver", required_argument, NULL, 'D'},
		{"nonce-reject", required_argument, NULL, 'N'},
		{"require-eab", no_argument, NULL, 'E'},
		{"rate-orders", required_argument, NULL, 'O'},
		{"rate-accounts", required_argument, NULL, 'A'},
		{"passphrase-file", required_argument, NULL, 'P'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	struct caserve_opts o = {.https_port = CASERVE_HTTPS_PORT,
				 .http_port = CASERVE_HTTP_PORT,
				 .rate_orders = CASERVE_RATE_ORDERS,
				 .rate_accounts = CASERVE_RATE_ACCOUNTS};
	struct moat_hostport hp;
	struct caserve *s = NULL;
	struct ca *ca = NULL;
	struct moat_err err;
	char home[4096], host[256], listen_addr[64];
	const char *pass_file = NULL;
	bool json = false, sig_blocked = false;
	int64_t pct = 0;
	sigset_t set, old;
	siginfo_t si;
	int c, sig, ret = CLI_FAIL;

	memset(&si, 0, sizeof(si));
	moat_err_clear(&err);
	optind = 0;
	while ((c = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (cli_opt_hostport(CMD, "--listen", optarg,
					     MOAT_HOSTPORT_NO_PORT, &hp) != CLI_OK)
				return CLI_USAGE;
			snprintf(listen_addr, sizeof(listen_addr), "%.63s", hp.host); /* an IP address: it fits */
			o.listen = listen_addr;
			break;
		case 's':
			if (cli_opt_port(CMD, "--https-port", optarg, true, &o.https_port) != CLI_OK)
				return CLI_USAGE;
			break;
		case 'p':
			if (cli_opt_port(CMD, "--http-port", optarg, true, &o.http_port) != CLI_OK)
				return CLI_USAGE;
			break;
		case 'n': o.name = optarg; break;
		case 'H':
			if (cli_opt_port(CMD, "--http01-port", optarg, false, &o.http01_port) != CLI_OK)
				return CLI_USAGE;
			break;
		case 'T':
			if (cli_opt_port(CMD, "--tls-alpn-port", optarg, false, &o.tls_alpn_port) !=
			    CLI_OK)
				return CLI_USAGE;
			break;
		case 'D':
			if (cli_opt_hostport(CMD, "--dns-resolver", optarg,
					     MOAT_HOSTPORT_NO_PORT, &hp) != CLI_OK)
				return CLI_USAGE;
			o.dns_resolver = optarg;
			break;
		case 'N':
			if (cli_opt_number(CMD, "--nonce-reject", optarg, 0, 100, &pct) != CLI_OK)
				return CLI_USAGE;
			o.nonce_reject = (unsigned)pct;
			break;
		case 'E': o.require_eab = true; break;
		case 'O':
			if (cli_opt_number(CMD, "--rate-orders", optarg, 0, 1000000, &pct) != CLI_OK)
				return CLI_USAGE;
			o.rate_orders = (unsigned)pct;
			break;
		case 'A':
			if (cli_opt_number(CMD, "--rate-accounts", optarg, 0, 1000000, &pct) != CLI_OK)
				return CLI_USAGE;
			o.rate_accounts = (unsigned)pct;
			break;
		case 'P': pass_file = optarg; break;
		case 'j': json = true; break;
		default: return cli_bad_option(CMD, c, argv);
		}
	}
	if (optind != argc)
		return cli_usage_error(CMD, "unexpected argument \"%.40s\"", argv[optind]);
	if (o.name == NULL) {
		if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0') {
			moat_err_set(&err, "cannot tell this machine's name");
			moat_err_hint(&err, "give the name clients reach the server by: --name HOST");
			return cli_fail(&err);
		}
		host[sizeof(host) - 1] = '\0';
		o.name = host;
	}
	{
		struct moat_name n;

		if (moat_name_parse(o.name, &n, &err) != 0 || n.type == MOAT_NAME_WILDCARD) {
			moat_err_prefix(&err, "--name");
			moat_err_hint(&err, "give the DNS name or IP address clients use for this server");
			return cli_fail(&err);
		}
	}

	/* Ctrl-C, kill and hang-up are waited for below (blocked before the
	 * server's threads exist, so they inherit the mask). */
	sig_blocked = cli_stop_signals_block(&set, &old);

	if (cli_home(home, sizeof(home)) != CLI_OK || cli_ca_open(true, pass_file, &ca, &err) != 0)
		goto out;
	o.home = home;
	if ((s = caserve_new(ca, &o, log_line, NULL, &err)) == NULL ||
	    caserve_start(s, &err) != 0)
		goto out;
	if (json) {
		char ocsp[320], crl[320];

		snprintf(ocsp, sizeof(ocsp), "http://%s:%u/ocsp", o.name, caserve_http_port(s));
		snprintf(crl, sizeof(crl), "http://%s:%u/crl", o.name, caserve_http_port(s));
		cli_json_print(json_pack("{s:s, s:i, s:i, s:s, s:s, s:s}", "directory",
					 caserve_directory_url(s), "https_port",
					 (int)caserve_https_port(s), "http_port",
					 (int)caserve_http_port(s), "ocsp", ocsp, "crl", crl, "ca",
					 ca_name(ca)));
		fflush(stdout);
	}
	fprintf(stderr, "moat ca serve: \"%s\"\n", ca_name(ca));
	fprintf(stderr, "  ACME directory  %s\n", caserve_directory_url(s));
	fprintf(stderr, "  OCSP and CRL    http://%s:%u/ocsp  /crl\n", o.name,
		caserve_http_port(s));
	fprintf(stderr, "  clients trust   %s/ca/root.pem\n", home);
	fflush(stderr);
	do
		sig = sigwaitinfo(&set, &si);
	while (sig < 0 && errno == EINTR);
	{
		/* who stopped it: a test harness's stray kill is otherwise a mystery */
		char why[96];

		if (sig > 0 && si.si_code == SI_USER)
			snprintf(why, sizeof(why), "stopping on %s from pid %ld",
				 sig == SIGHUP ? "SIGHUP" : sig == SIGINT ? "SIGINT" : "SIGTERM",
				 (long)si.si_pid);
		else
			snprintf(why, sizeof(why), "stopping");
		log_line(NULL, why);
	}
	ret = CLI_OK;
out:
	caserve_free(s);
	ca_free(ca);
	if (sig_blocked)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret == CLI_OK ? CLI_OK : cli_fail(&err);
}

/* moat ca eab add NAME [--json]: a key for an external account binding. */
int cli_ca_eab(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	struct moat_err err;
	struct ca *ca = NULL;
	char home[4096], kid[64], hmac[64], shown[120];
	bool json = false;
	int c, ret = CLI_FAIL;

	moat_err_clear(&err);
	optind = 0;
	while ((c = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		default: return cli_bad_option("ca eab", c, argv);
		}
	}
	if (argc - optind != 2 || strcmp(argv[optind], "add") != 0)
		return cli_usage_error("ca eab", "usage: moat ca eab add NAME");
	if (strlen(argv[optind + 1]) == 0 || strlen(argv[optind + 1]) > 100)
		return cli_usage_error("ca eab", "NAME must be 1 to 100 characters");
	/* the CA must exist: the key belongs to its ACME server */
	if (cli_home(home, sizeof(home)) != CLI_OK || cli_ca_open(false, NULL, &ca, &err) != 0 ||
	    caserve_eab_add(home, argv[optind + 1], kid, sizeof(kid), hmac, sizeof(hmac), &err) != 0)
		goto out;
	moat_escape(shown, sizeof(shown), argv[optind + 1], strlen(argv[optind + 1]));
	if (json) {
		cli_json_print(json_pack("{s:s, s:s, s:s}", "name", argv[optind + 1], "kid", kid,
					 "hmac_key", hmac));
	} else {
		printf("External account binding key \"%s\"\n", shown);
		printf("  key id    %s\n", kid);
		printf("  HMAC key  %s\n", hmac);
		printf("Give both to the client once (they bind one account):\n");
		printf("  certbot --eab-kid %s --eab-hmac-key %s ...\n", kid, hmac);
		printf("  lego --eab --kid %s --hmac %s ...\n", kid, hmac);
	}
	ret = CLI_OK;
out:
	ca_free(ca);
	return ret == CLI_OK ? CLI_OK : cli_fail(&err);
}
