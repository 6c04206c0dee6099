/* solve_manual.c: http-01 done by the user (or by their script), as in
 * certbot's manual mode -- but moat fetches the URL itself first and only
 * asks the CA to validate once it answers the right content, so a typo or
 * a misrouted proxy costs no failed validation and no rate-limit budget. */
#include "acme/solve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/proc.h"
#include "moat_config.h"

#define PROBE_MAX 4096
#define PROBE_CONNECT_TIMEOUT_MS 10000
#define PROBE_TOTAL_TIMEOUT_MS 20000

struct acme_manual_http {
	char hook[1024]; /* "" for the terminal */
	int port;        /* where the CA will connect (80) */
	FILE *tty;
};

struct acme_manual_http *acme_manual_http_new(const char *hook, int port, struct moat_err *err)
{
	struct acme_manual_http *m = calloc(1, sizeof(*m));

	if (m == NULL) {
		moat_err_set(err, "out of memory");
		return NULL;
	}
	if (hook != NULL && strlen(hook) >= sizeof(m->hook)) {
		moat_err_set(err, "--manual-hook is too long");
		free(m);
		return NULL;
	}
	snprintf(m->hook, sizeof(m->hook), "%s", hook != NULL ? hook : "");
	m->port = port > 0 ? port : 80;
	if (hook == NULL && (m->tty = fopen("/dev/tty", "r+")) == NULL) {
		moat_err_set(err, "manual http-01 needs a terminal to show what to publish and wait");
		moat_err_hint(err, "use --manual-hook CMD to publish the file from a script, or "
				   "--webroot DIR / --standalone");
		free(m);
		return NULL;
	}
	return m;
}

void acme_manual_http_free(struct acme_manual_http *m)
{
	if (m == NULL)
		return;
	if (m->tty != NULL)
		fclose(m->tty);
	free(m);
}

static void challenge_url(const struct acme_manual_http *m, const struct moat_name *id,
			  const char *token, char *out, size_t n)
{
	char port[16] = "";

	if (m->port != 80)
		snprintf(port, sizeof(port), ":%d", m->port);
	snprintf(out, n, "http://%s%s%s%s/.well-known/acme-challenge/%s",
		 id->type == MOAT_NAME_IPV6 ? "[" : "", id->text,
		 id->type == MOAT_NAME_IPV6 ? "]" : "", port, token);
}

static int run_hook(const struct acme_manual_http *m, const char *action,
		    const struct moat_name *id, const char *token, const char *ka, const char *url,
		    struct moat_err *err)
{
	const char *args[3] = {action, token, ka};
	char e[5][2400];
	const char *env[5];

	snprintf(e[0], sizeof(e[0]), "MOAT_HTTP_ACTION=%s", action);
	snprintf(e[1], sizeof(e[1]), "MOAT_HTTP_TOKEN=%s", token);
	snprintf(e[2], sizeof(e[2]), "MOAT_HTTP_CONTENT=%s", ka);
	snprintf(e[3], sizeof(e[3]), "MOAT_HTTP_URL=%s", url);
	snprintf(e[4], sizeof(e[4]), "MOAT_DOMAIN=%s", id->text);
	for (size_t i = 0; i < 5; i++)
		env[i] = e[i];
	return moat_run_hook("manual hook", m->hook, args, 3, env, 5, err);
}

/* Does url answer exactly the key authorization (trailing whitespace
 * aside, as validators allow)?  err says what it answered instead.  The
 * GET is made the way a CA's validator makes it: no proxy, at most 10
 * redirects followed, the body capped. */
static int self_check(const char *url, const char *ka, struct moat_err *err)
{
	struct fetch_req q = {
		.url = url,
		.user_agent = "moat/" MOAT_VERSION " (challenge self-check)",
		/* The CA does not check certificates on redirects to https either. */
		.insecure = true,
		.no_proxy = true,
		.max_redirects = 10,
		.connect_timeout_ms = PROBE_CONNECT_TIMEOUT_MS,
		.timeout_ms = PROBE_TOTAL_TIMEOUT_MS,
		.max_body = PROBE_MAX,
	};
	struct fetch_resp f;
	struct moat_buf *body = &f.body;
	int ret = -1;

	if (fetch_once(&q, &f, err) != 0) {
		moat_err_hint(err, "the CA would fail the same way; check DNS, firewall and the web "
				   "server");
		goto out;
	}
	while (body->len > 0 && strchr(" \t\r\n", body->data[body->len - 1]) != NULL)
		body->data[--body->len] = '\0';
	if (f.status != 200) {
		moat_err_set(err, "%s answered HTTP %ld, not the challenge file", url, f.status);
		moat_err_hint(err, "is the file in the directory this URL is served from?");
		goto out;
	}
	if (strcmp((const char *)body->data, ka) != 0) {
		char show[120];
		moat_escape(show, sizeof(show), (const char *)body->data, body->len);
		moat_err_set(err, "%s answered \"%s\" instead of the challenge content", url, show);
		moat_err_hint(err, "the file must contain exactly the line moat gave (no HTML, no "
				   "extra text)");
		goto out;
	}
	ret = 0;
out:
	fetch_resp_clear(&f);
	return ret;
}

static int present(void *arg, const struct moat_name *id, const char *token, const char *ka,
		   struct moat_err *err)
{
	struct acme_manual_http *m = arg;
	char url[600], line[16];

	challenge_url(m, id, token, url, sizeof(url));
	if (m->hook[0] != '\0') {
		if (run_hook(m, "add", id, token, ka, url, err) == 0) {
			if (self_check(url, ka, err) == 0)
				return 0;
			moat_err_prefix(err, "after the manual hook, the CA was not asked to validate");
		}
		/* The order stops here and never calls cleanup for this token:
		 * whatever failed, the hook takes back what "add" published
		 * (or began to). */
		(void)run_hook(m, "remove", id, token, "", url, NULL);
		return -1;
	}
	fprintf(m->tty,
		"\nCreate a file containing just this line:\n\n%s\n\n"
		"and make it available on your web server at this URL:\n\n%s\n\n"
		"Press Enter when it is there. ",
		ka, url);
	for (;;) {
		fflush(m->tty);
		if (fgets(line, sizeof(line), m->tty) == NULL) {
			moat_err_set(err, "stopped waiting for the challenge file");
			return -1;
		}
		if (self_check(url, ka, err) == 0)
			return 0;
		/* Tell the user and let them fix it: nothing was sent to the CA. */
		fprintf(m->tty, "\nNot yet: %s\n%s%s\nFix it and press Enter to check again "
				"(Ctrl-C to give up). ",
			err->msg, err->hint[0] ? "hint: " : "", err->hint);
		moat_err_clear(err);
	}
}

static void cleanup(void *arg, const struct moat_name *id, const char *token)
{
	struct acme_manual_http *m = arg;
	char url[600];

	challenge_url(m, id, token, url, sizeof(url));
	if (m->hook[0] != '\0')
		(void)run_hook(m, "remove", id, token, "", url, NULL);
	else if (m->tty != NULL)
		fprintf(m->tty, "You may now remove the file behind %s\n", url);
}

void acme_manual_http_solver(struct acme_manual_http *m, struct acme_solver *s)
{
	s->type = "http-01";
	s->present = present;
	s->cleanup = cleanup;
	s->arg = m;
}
