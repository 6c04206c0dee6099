/* cmd_check.c: moat check TARGET... -- an HTTPS endpoint (or certificate
 * files) seen the way a strict client sees it, each problem in one line
 * with its fix. */
#include "cli/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check/check.h"
#include "core/file.h"

#define MAX_TARGETS 64

struct style {
	const char *err, *warn, *info, *dim, *off;
};

static json_t *report_json(const struct check_report *r)
{
	json_t *chain = json_array(), *findings = json_array();
	char na[32];

	for (size_t i = 0; chain != NULL && i < r->nsent; i++) {
		moat_time_iso(r->sent[i].not_after, na, sizeof(na));
		json_array_append_new(chain, json_pack("{s:s, s:s, s:s, s:s}", "subject",
						       r->sent[i].subject, "issuer", r->sent[i].issuer,
						       "sha256", r->sent[i].sha256, "not_after", na));
	}
	for (size_t i = 0; findings != NULL && i < r->nfindings; i++) {
		const struct check_finding *f = &r->findings[i];
		json_array_append_new(findings,
				      json_pack("{s:s, s:s, s:s, s:s}", "severity",
						check_severity_name(f->sev), "code", f->code, "message",
						f->message, "fix", f->fix));
	}
	if (chain == NULL || findings == NULL) {
		json_decref(chain);
		json_decref(findings);
		return NULL;
	}
	return json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:o, s:o, s:i, s:i, s:f}",
			 "target", r->target.host, "port", (int)r->target.port, "servername",
			 r->servername, "address", r->address, "version", r->version, "cipher",
			 r->cipher, "group", r->group, "reached", r->reached, "unreachable",
			 r->unreachable, "chain", chain, "findings", findings, "errors",
			 (int)check_count(r, CHECK_ERROR), "warnings",
			 (int)check_count(r, CHECK_WARNING), "seconds", (double)r->elapsed_us / 1e6);
}

/* Info findings that say something is right (shown without -v). */
static bool positive(const char *code)
{
	static const char *const ok[] = {"trusted", "ocsp-good", "crl-good", "ocsp-stapled",
					 "hsts", "http-redirect", "key-match"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcmp(code, ok[i]) == 0)
			return true;
	return false;
}

static void print_report(const struct check_report *r, const char *label, bool verbose,
			 const struct style *st)
{
	size_t ne = check_count(r, CHECK_ERROR), nw = check_count(r, CHECK_WARNING);

	printf("%s", label);
	if (r->address[0] != '\0')
		printf("  %s(%s, %s, %s%s%s)%s", st->dim, r->address, r->version, r->cipher,
		       r->group[0] ? ", " : "", r->group, st->off);
	printf("  %s%.2f s%s\n", st->dim, (double)r->elapsed_us / 1e6, st->off);
	for (size_t i = 0; i < r->nsent; i++)
		if (verbose || ne > 0)
			printf("  %s%zu %s  (issuer %s)%s\n", st->dim, i, r->sent[i].subject,
			       r->sent[i].issuer, st->off);
	for (size_t i = 0; i < r->nfindings; i++) {
		const struct check_finding *f = &r->findings[i];
		const char *color = f->sev == CHECK_ERROR ? st->err
				    : f->sev == CHECK_WARNING ? st->warn : st->info;
		bool good = positive(f->code);
		if (f->sev == CHECK_INFO && !verbose && !good)
			continue;
		printf("  %s%-7s%s %s: %s\n", f->sev == CHECK_INFO && !good ? st->dim : color,
		       f->sev == CHECK_ERROR ? "ERROR" : f->sev == CHECK_WARNING ? "warning"
					       : good ? "ok" : "note",
		       st->off, f->code, f->message);
		if (f->fix[0] != '\0' && f->sev != CHECK_INFO)
			printf("          %sfix:%s %s\n", st->dim, st->off, f->fix);
	}
	printf("  %zu error%s, %zu warning%s\n", ne, ne == 1 ? "" : "s", nw, nw == 1 ? "" : "s");
}

static void progress(void *arg, const char *msg)
{
	(void)arg;
	cli_progress("%s...", msg);
}

static bool is_file(const char *s)
{
	struct stat st;
	return strstr(s, "://") == NULL && stat(s, &st) == 0 && S_ISREG(st.st_mode);
}

int cli_cmd_check(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"servername", required_argument, NULL, 'S'},
		{"connect-to", required_argument, NULL, 'C'},
		{"ca", required_argument, NULL, 'a'},
		{"key", required_argument, NULL, 'k'},
		{"chain", required_argument, NULL, 'c'},
		{"warn-days", required_argument, NULL, 'w'},
		{"timeout", required_argument, NULL, 't'},
		{"fix-chain", required_argument, NULL, 'f'},
		{"no-revocation", no_argument, NULL, 'R'},
		{"no-http", no_argument, NULL, 'H'},
		{"http-port", required_argument, NULL, 'p'},
		{"verbose", no_argument, NULL, 'v'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	struct style st = {"", "", "", "", ""};
	struct check_opts o;
	struct check_report *r = NULL;
	struct moat_err err;
	const char *fix_out = NULL;
	json_t *all = NULL;
	bool json = false, verbose = false, any_error = false, any_unreach = false;
	int c, ntargets, ret = CLI_FAIL;

	memset(&o, 0, sizeof(o));
	moat_err_clear(&err);
	optind = 0;
	while ((c = getopt_long(argc, argv, ":v", lopts, NULL)) != -1) {
		int64_t v;
		uint16_t port;

		switch (c) {
		case 'S': o.servername = optarg; break;
		case 'C': o.connect_to = optarg; break;
		case 'a': o.ca_file = optarg; break;
		case 'k': o.key_file = optarg; break;
		case 'c': o.chain_file = optarg; break;
		case 'f': fix_out = optarg; break;
		case 'R': o.no_revocation = true; break;
		case 'H': o.no_http = true; break;
		case 'v': verbose = true; break;
		case 'j': json = true; break;
		case 'w': /* 0: no warning */
			if (cli_opt_number("check", "--warn-days", optarg, 0, 3650, &v) != CLI_OK)
				return CLI_USAGE;
			o.warn_days = v == 0 ? -1 : (int)v;
			break;
		case 't':
			if (cli_opt_duration_ms("check", "--timeout", optarg, 1000, CLI_MAX_STEP_MS, &v) !=
			    CLI_OK)
				return CLI_USAGE;
			o.timeout_ms = (int)v;
			break;
		case 'p':
			if (cli_opt_port("check", "--http-port", optarg, false, &port) != CLI_OK)
				return CLI_USAGE;
			o.http_port = port;
			break;
		default: return cli_bad_option("check", c, argv);
		}
	}
	ntargets = argc - optind;
	if (ntargets < 1)
		return cli_usage_error("check", "what? moat check https://HOST[:PORT] or CERT.pem");
	if (ntargets > MAX_TARGETS)
		return cli_usage_error("check", "at most %d targets", MAX_TARGETS);
	if (fix_out != NULL && ntargets != 1)
		return cli_usage_error("check", "--fix-chain takes one target");
	if (isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL && !json)
		st = (struct style){"\033[1;31m", "\033[33m", "\033[32m", "\033[2m", "\033[0m"};
	if (!json)
		o.progress = progress;
	if ((r = malloc(sizeof(*r))) == NULL || (json && (all = json_array()) == NULL)) {
		moat_err_set(&err, "out of memory");
		goto out;
	}
	for (int i = optind; i < argc; i++) {
		struct check_target t;
		int rc;

		if (is_file(argv[i])) {
			rc = check_files(argv[i], &o, r, &err);
		} else {
			if (check_target_parse(argv[i], &t, &err) != 0) {
				cli_fail(&err);
				ret = CLI_USAGE;
				goto out;
			}
			rc = check_endpoint(&t, &o, r, &err);
		}
		if (rc != 0) {
			check_report_clear(r);
			goto out;
		}
		any_error = any_error || (check_count(r, CHECK_ERROR) > 0 && !r->unreachable);
		any_unreach = any_unreach || r->unreachable;
		if (json)
			json_array_append_new(all, report_json(r));
		else
			print_report(r, argv[i], verbose, &st);
		if (fix_out != NULL) {
			if (r->chain_fixable && r->fixed_chain.len > 0) {
				if (moat_file_write_atomic(fix_out, r->fixed_chain.data, r->fixed_chain.len,
							   0644, &err) != 0) {
					check_report_clear(r);
					goto out;
				}
				fprintf(stderr, "moat: wrote the corrected chain (leaf first, then its "
						"intermediates) to %s\n", fix_out);
			} else if (r->reached) {
				fprintf(stderr, "moat: the chain %s; nothing written to %s\n",
					check_has(r, "chain-incomplete")
						? "cannot be completed (the intermediate was not found)"
						: "needs no fixing",
					fix_out);
			}
		}
		check_report_clear(r);
	}
	if (json) {
		ret = cli_json_print(json_pack("{s:o}", "targets", all));
		all = NULL;
		if (ret != CLI_OK)
			goto out;
	}
	ret = any_error ? CLI_FAIL : any_unreach ? CLI_UNREACHABLE : CLI_OK;
out:
	json_decref(all);
	free(r);
	if (err.msg[0] != '\0' && ret == CLI_FAIL && !any_error)
		return cli_fail(&err);
	return ret;
}

int cli_cmd_ocsp(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"issuer", required_argument, NULL, 'i'},
		{"url", required_argument, NULL, 'u'},
		{"timeout", required_argument, NULL, 't'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	struct style st = {"", "", "", "", ""};
	struct check_opts o;
	struct check_report *r = NULL;
	struct moat_err err;
	const char *issuer = NULL, *url = NULL;
	bool json = false;
	int c, ret = CLI_FAIL;

	memset(&o, 0, sizeof(o));
	moat_err_clear(&err);
	optind = 0;
	while ((c = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
		int64_t v;

		switch (c) {
		case 'i': issuer = optarg; break;
		case 'u':
			if (strncmp(optarg, "http://", 7) != 0 && strncmp(optarg, "https://", 8) != 0)
				return cli_usage_error("ocsp", "--url takes an http:// URL");
			url = optarg;
			break;
		case 't':
			if (cli_opt_duration_ms("ocsp", "--timeout", optarg, 1000, CLI_MAX_STEP_MS, &v) !=
			    CLI_OK)
				return CLI_USAGE;
			o.timeout_ms = (int)v;
			break;
		case 'j': json = true; break;
		default: return cli_bad_option("ocsp", c, argv);
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("ocsp", "which certificate? moat ocsp CERT.pem [--issuer CHAIN.pem]");
	if (isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL && !json)
		st = (struct style){"\033[1;31m", "\033[33m", "\033[32m", "\033[2m", "\033[0m"};
	if ((r = malloc(sizeof(*r))) == NULL) {
		moat_err_set(&err, "out of memory");
		goto out;
	}
	if (check_cert_revocation(argv[optind], issuer, url, &o, r, &err) != 0) {
		check_report_clear(r);
		goto out;
	}
	if (json)
		ret = cli_json_print(json_pack("{s:[o]}", "targets", report_json(r)));
	else {
		print_report(r, argv[optind], true, &st);
		ret = CLI_OK;
	}
	if (ret == CLI_OK && check_count(r, CHECK_ERROR) > 0)
		ret = CLI_FAIL;
	check_report_clear(r);
	free(r);
	return ret;
out:
	free(r);
	return err.msg[0] ? cli_fail(&err) : ret;
}
