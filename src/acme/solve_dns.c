/* solve_dns.c: dns-01 (RFC 8555 section 8.4): a TXT record
 * _acme-challenge.NAME = base64url(SHA-256(key authorization)), put in place
 * by a hook command (any DNS provider's API) or by the user (manual), and
 * checked in DNS before the CA is asked to look. */
#include "acme/solve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acme/dns.h"
#include "core/b64.h"
#include "core/proc.h"

#define POLL_MS 1000
#define MAX_RECORDS 100

struct rec {
	char token[256];
	char name[300];
	char value[64];
};

struct acme_dns01 {
	char hook[1024];   /* "" for manual */
	char resolver[64]; /* "" for the system's */
	int wait_s;
	FILE *tty;         /* manual: where to talk to the user */
	struct rec recs[MAX_RECORDS]; /* presented, for cleanup */
	size_t nrecs;
};

struct acme_dns01 *acme_dns01_new(const char *hook, const char *resolver, int wait_s,
				  struct moat_err *err)
{
	struct acme_dns01 *d = calloc(1, sizeof(*d));

	if (d == NULL) {
		moat_err_set(err, "out of memory");
		return NULL;
	}
	if ((hook != NULL && strlen(hook) >= sizeof(d->hook)) ||
	    (resolver != NULL && strlen(resolver) >= sizeof(d->resolver))) {
		moat_err_set(err, "--dns-hook or --dns-resolver is too long");
		free(d);
		return NULL;
	}
	snprintf(d->hook, sizeof(d->hook), "%s", hook != NULL ? hook : "");
	snprintf(d->resolver, sizeof(d->resolver), "%s", resolver != NULL ? resolver : "");
	d->wait_s = wait_s > 0 ? wait_s : 120;
	if (hook == NULL && (d->tty = fopen("/dev/tty", "r+")) == NULL) {
		moat_err_set(err, "manual dns-01 needs a terminal to show the TXT record and wait");
		moat_err_hint(err, "use --dns-hook CMD to create the record automatically");
		free(d);
		return NULL;
	}
	return d;
}

void acme_dns01_free(struct acme_dns01 *d)
{
	if (d == NULL)
		return;
	if (d->tty != NULL)
		fclose(d->tty);
	free(d);
}

/* _acme-challenge.<name without "*."> and the record's value. */
static int record(const struct moat_name *id, const char *ka, char *name, size_t nn, char *value,
		  size_t vn, struct moat_err *err)
{
	const char *base = id->type == MOAT_NAME_WILDCARD ? id->text + 2 : id->text;
	unsigned char md[32];
	struct moat_buf b = MOAT_BUF_INIT;
	int ret = -1;

	if (id->type != MOAT_NAME_DNS && id->type != MOAT_NAME_WILDCARD) {
		moat_err_set(err, "%s: dns-01 proves DNS names, not IP addresses", id->text);
		moat_err_hint(err, "use http-01 for IP addresses");
		return -1;
	}
	if ((size_t)snprintf(name, nn, "_acme-challenge.%s", base) >= nn ||
	    pki_sha256(ka, strlen(ka), md) != 0 || moat_b64url_encode(&b, md, sizeof(md)) != 0 ||
	    b.len >= vn) {
		moat_err_set(err, "cannot compute the dns-01 record for %s", id->text);
		goto out;
	}
	memcpy(value, b.data, b.len + 1);
	ret = 0;
out:
	moat_buf_free(&b);
	return ret;
}

static int run_hook(const struct acme_dns01 *d, const char *action, const struct moat_name *id,
		    const char *name, const char *value, struct moat_err *err)
{
	const char *args[3] = {action, name, value};
	char e[4][600];
	const char *env[4];

	snprintf(e[0], sizeof(e[0]), "MOAT_DNS_ACTION=%s", action);
	snprintf(e[1], sizeof(e[1]), "MOAT_DNS_NAME=%s", name);
	snprintf(e[2], sizeof(e[2]), "MOAT_DNS_VALUE=%s", value);
	snprintf(e[3], sizeof(e[3]), "MOAT_DOMAIN=%s", id->text);
	for (size_t i = 0; i < 4; i++)
		env[i] = e[i];
	return moat_run_hook("dns hook", d->hook, args, 3, env, 4, err);
}

/* Wait until the value shows among name's TXT records. */
static int await_record(const struct acme_dns01 *d, const char *name, const char *value,
			struct moat_err *err)
{
	time_t end = time(NULL) + d->wait_s;

	for (;;) {
		struct acme_dns_txt txt;
		if (acme_dns_txt(name, d->resolver[0] ? d->resolver : NULL, &txt, err) != 0)
			return -1;
		for (size_t i = 0; i < txt.n; i++)
			if (strcmp(txt.values[i], value) == 0)
				return 0;
		if (time(NULL) >= end) {
			moat_err_set(err, "the TXT record %s = %s did not show up in DNS within %d seconds",
				     name, value, d->wait_s);
			moat_err_hint(err, "check the record at your DNS provider; if it is slow, raise "
					   "--dns-wait");
			return -1;
		}
		acme_sleep_ms(POLL_MS);
	}
}

static void cleanup(void *arg, const struct moat_name *id, const char *token);

static int present(void *arg, const struct moat_name *id, const char *token, const char *ka,
		   struct moat_err *err)
{
	struct acme_dns01 *d = arg;
	struct rec *r;
	char line[16];

	if (d->nrecs >= MAX_RECORDS) {
		moat_err_set(err, "too many dns-01 challenges at once");
		return -1;
	}
	r = &d->recs[d->nrecs];
	snprintf(r->token, sizeof(r->token), "%s", token);
	if (record(id, ka, r->name, sizeof(r->name), r->value, sizeof(r->value), err) != 0)
		return -1;
	if (d->hook[0] != '\0') {
		if (run_hook(d, "add", id, r->name, r->value, err) != 0) {
			/* a failed present is never cleaned up: remove it now */
			(void)run_hook(d, "remove", id, r->name, r->value, NULL);
			return -1;
		}
	} else {
		fprintf(d->tty,
			"\nCreate this DNS record for %s:\n\n  %s.  300  IN  TXT  \"%s\"\n\n"
			"(keep any older _acme-challenge records until moat is done)\n"
			"Press Enter when it is in place. ",
			id->text, r->name, r->value);
		fflush(d->tty);
		if (fgets(line, sizeof(line), d->tty) == NULL) {
			moat_err_set(err, "stopped waiting for the DNS record");
			return -1;
		}
	}
	d->nrecs++; /* from here on, cleanup removes it */
	if (await_record(d, r->name, r->value, err) != 0) {
		/* the order stops without cleanup for a failed present */
		cleanup(d, id, token);
		return -1;
	}
	return 0;
}

static void cleanup(void *arg, const struct moat_name *id, const char *token)
{
	struct acme_dns01 *d = arg;

	for (size_t i = 0; i < d->nrecs; i++) {
		struct rec *r = &d->recs[i];
		if (strcmp(r->token, token) != 0)
			continue;
		if (d->hook[0] != '\0')
			(void)run_hook(d, "remove", id, r->name, r->value, NULL);
		else if (d->tty != NULL)
			fprintf(d->tty, "You may now delete the TXT record %s \"%s\".\n", r->name,
				r->value);
		*r = d->recs[--d->nrecs];
		return;
	}
}

void acme_dns01_solver(struct acme_dns01 *d, struct acme_solver *s)
{
	s->type = "dns-01";
	s->present = present;
	s->cleanup = cleanup;
	s->arg = d;
}
