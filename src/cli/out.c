/* out.c: how moat talks to the user. */
#include "cli/cli.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/home.h"
#include "core/pass.h"

int cli_fail(const struct moat_err *e)
{
	fprintf(stderr, "moat: error: %s\n", e->msg[0] ? e->msg : "unknown failure");
	if (e->hint[0] != '\0')
		fprintf(stderr, "hint: %s\n", e->hint);
	return CLI_FAIL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("moat: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nhint: see `moat help%s%s`\n", cmd ? " " : "", cmd ? cmd : "");
	return CLI_USAGE;
}

void cli_notice(const char *fmt, ...)
{
	va_list ap;

	fputs("moat: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_progress(const char *fmt, ...)
{
	va_list ap;

	if (!isatty(STDERR_FILENO))
		return;
	fputs("moat: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_json_print(json_t *doc)
{
	int r;

	if (doc == NULL) {
		fputs("moat: error: out of memory building JSON output\n", stderr);
		return CLI_FAIL;
	}
	r = json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	fputc('\n', stdout);
	return r == 0 && fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
}

json_t *cli_json_split(const char *list)
{
	json_t *a = json_array();
	char *copy = strdup(list), *save = NULL;

	for (char *t = copy != NULL ? strtok_r(copy, ",", &save) : NULL; t != NULL && a != NULL;
	     t = strtok_r(NULL, ",", &save))
		json_array_append_new(a, json_string(t));
	free(copy);
	return a;
}

long cli_days_left(int64_t t)
{
	int64_t d = t - (int64_t)time(NULL);

	return (long)(d >= 0 ? d / 86400 : -((-d + 86399) / 86400));
}

int cli_home(char *out, size_t n)
{
	struct moat_err err;

	moat_err_clear(&err);
	if (moat_home_dir(out, n, &err) != 0)
		return cli_fail(&err);
	return CLI_OK;
}

int cli_ca_pass(const char *file, bool confirm, struct moat_buf *out, struct moat_err *err)
{
	return moat_pass_get(file, CLI_ENV_CA_PASS,
			     confirm ? "Passphrase for the new CA key: " : "Passphrase for the CA key: ",
			     confirm, out, err);
}

bool cli_stop_signals_block(sigset_t *set, sigset_t *old)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	return pthread_sigmask(SIG_BLOCK, set, old) == 0;
}
