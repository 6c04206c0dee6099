/* cli.h: what the command files of the CLI share.  Only the CLI prints. */
#ifndef MOAT_CLI_H
#define MOAT_CLI_H

#include <signal.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/parse.h" /* moat_date, moat_time_iso */

/* Exit codes (documented in docs/cli.md and `moat help`). */
#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2
#define CLI_UNREACHABLE 3 /* check, fetch */

/* The most --timeout of check, ocsp and fetch allows: one network step. */
#define CLI_MAX_STEP_MS (300 * 1000)

#define CLI_ENV_CA_PASS "MOAT_CA_PASSPHRASE"
#define CLI_ENV_P12_PASS "MOAT_P12_PASSPHRASE"

/* ---- out.c ---- */
/* "moat: error: <msg>" and, if any, "hint: <hint>" on stderr; returns CLI_FAIL. */
int cli_fail(const struct moat_err *e);
/* A usage error for command cmd; returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) MOAT_PRINTF(2, 3);
/* "moat: <notice>" on stderr. */
void cli_notice(const char *fmt, ...) MOAT_PRINTF(1, 2);
/* Block SIGINT, SIGTERM and SIGHUP in the calling thread (and the threads
 * it starts afterwards), for a long-running command to wait for them with
 * sigwaitinfo; set receives them, old the mask to restore.  false if the
 * mask could not be changed. */
bool cli_stop_signals_block(sigset_t *set, sigset_t *old);
/* Progress for slow work: on stderr, only when it is a terminal. */
void cli_progress(const char *fmt, ...) MOAT_PRINTF(1, 2);
/* Print a JSON document on stdout (steals the reference); CLI_OK or CLI_FAIL. */
int cli_json_print(json_t *doc);
/* "a,b" -> ["a", "b"] (a new reference). */
json_t *cli_json_split(const char *list);
/* Days from now until t (negative when past). */
long cli_days_left(int64_t t);
/* MOAT_HOME or its default; CLI_OK or prints and CLI_FAIL. */
int cli_home(char *out, size_t n);
/* The CA signing-key passphrase when the key needs one (file, env, tty). */
int cli_ca_pass(const char *file, bool confirm, struct moat_buf *out, struct moat_err *err);

/* ---- opts.c ---- */
int cli_parse_days(const char *cmd, const char *s, int *out);
/* An option's value, read by core/parse.h (the forms in docs/cli.md,
 * "Values"): CLI_OK, or CLI_USAGE after "moat: error: OPT: <what is
 * wrong>" on stderr. */
int cli_opt_number(const char *cmd, const char *opt, const char *s, int64_t lo, int64_t hi,
		   int64_t *out);
int cli_opt_duration_ms(const char *cmd, const char *opt, const char *s, int64_t lo_ms,
			int64_t hi_ms, int64_t *ms);
/* A duration for an option that counts whole seconds: ms / 1000 rounded up. */
int cli_opt_seconds(const char *cmd, const char *opt, const char *s, int lo_s, int hi_s,
		    int *seconds);
int cli_opt_port(const char *cmd, const char *opt, const char *s, bool zero_ok, uint16_t *port);
struct moat_hostport; /* core/parse.h; flags MOAT_HOSTPORT_* */
int cli_opt_hostport(const char *cmd, const char *opt, const char *s, unsigned flags,
		     struct moat_hostport *hp);
/* true if argv holds -h/--help before a "--". */
bool cli_wants_help(int argc, char **argv);
/* A name argument that starts with '-' ("-foo.com") would be taken for
 * options; true (with err filled) when argv holds such an invalid name. */
bool cli_dash_name(int argc, char **argv, struct moat_err *err);
/* The options of a command that takes only --json and no arguments: CLI_OK
 * (*json set when given) or CLI_USAGE (printed). */
int cli_opts_json_only(const char *cmd, int argc, char **argv, bool *json);
/* Report what getopt_long (with optstring ":") rejected; returns CLI_USAGE. */
int cli_bad_option(const char *cmd, int c, char **argv);
/* Open the CA in MOAT_HOME; with unlock, also load its signing key, asking
 * for the passphrase (pass_file, MOAT_CA_PASSPHRASE, tty) when needed. */
struct ca;
int cli_ca_open(bool unlock, const char *pass_file, struct ca **out, struct moat_err *err);

/* ---- help.c ---- */
/* Print help for cmd ("ca init", "issue", ... or NULL for the overview). */
int cli_help(const char *cmd, FILE *f);
int cli_cmd_help(int argc, char **argv);

/* ---- cmd_issue.c: shared with sign ---- */
struct ca_issued;
struct moat_name;
int cli_print_issued(const struct ca_issued *r, const struct moat_name *names, size_t n,
		     const char *out_dir, bool json);

/* ---- commands: argv[0] is the command name ---- */
int cli_cmd_ca(int argc, char **argv);
int cli_ca_serve(int argc, char **argv); /* cmd_ca_serve.c */
int cli_ca_eab(int argc, char **argv);   /* cmd_ca_serve.c */
int cli_cmd_issue(int argc, char **argv);
int cli_cmd_csr(int argc, char **argv);
int cli_cmd_sign(int argc, char **argv);
int cli_cmd_revoke(int argc, char **argv);
int cli_cmd_crl(int argc, char **argv);
int cli_cmd_inspect(int argc, char **argv);
int cli_cmd_trust(int argc, char **argv);
int cli_cmd_acme(int argc, char **argv);
int cli_cmd_config(int argc, char **argv);
int cli_cmd_fetch(int argc, char **argv);
int cli_cmd_check(int argc, char **argv);
int cli_cmd_ocsp(int argc, char **argv);
int cli_cmd_serve(int argc, char **argv);

/* ---- cmd_acme.c / cmd_acme_cert.c ---- */
#define CLI_LE_PROD "https://acme-v02.api.letsencrypt.org/directory"
#define CLI_LE_STAGING "https://acme-staging-v02.api.letsencrypt.org/directory"
#define CLI_ACME_MAX_CONTACTS 8 /* --email per account */
/* --server value (or MOAT_ACME_SERVER) as a directory URL; Let's Encrypt
 * when neither is given (moat serve --acme). */
const char *cli_acme_server(const char *s);
/* --ca-bundle value, or MOAT_CA_BUNDLE, or NULL. */
const char *cli_acme_ca_bundle(const char *s);

/* The server an acme command talks to. */
struct cli_acme_target {
	char server[2048];   /* directory URL */
	char ca_bundle[1024]; /* "" for the system store */
	bool remembered;      /* the default `moat acme register` left in MOAT_HOME */
};
/* --server (opt_server), else MOAT_ACME_SERVER, else the server remembered
 * by the last `moat acme register` in home, else Let's Encrypt; the CA
 * bundle from --ca-bundle, else MOAT_CA_BUNDLE, else the remembered one
 * with the remembered server.  Says on stderr when the remembered server
 * is used.  CLI_OK, or CLI_USAGE (printed). */
int cli_acme_target(const char *cmd, const char *home, const char *opt_server,
		    const char *opt_bundle, struct cli_acme_target *t);

struct acme_account_opts;
struct acme_stored_account;
struct pki_key;
/* Register the new account key (borrowed) at t and save both in dir (the
 * account directory of t->server), replacing an account there when
 * replace; sa gets what was saved. */
int cli_acme_new_account(const struct cli_acme_target *t, const char *dir,
			 const struct pki_key *key, const struct acme_account_opts *ao, bool replace,
			 bool *created, struct acme_stored_account *sa, struct moat_err *err);

void cli_acme_progress(void *arg, const char *msg);
int cli_acme_issue(int argc, char **argv);
int cli_acme_renew(int argc, char **argv);
int cli_acme_revoke(int argc, char **argv);
int cli_acme_list(int argc, char **argv);

/* ---- cmd_trust_store.c / cmd_trust_share.c ---- */
int cli_trust_store(int argc, char **argv); /* install, uninstall, status: argv[0] */
int cli_trust_share(int argc, char **argv);

#endif
