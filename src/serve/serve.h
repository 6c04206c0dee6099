/* serve.h: `moat serve`, the TLS-terminating reverse proxy.
 *
 * serve_new checks and prepares everything that can fail before the first
 * connection (configuration, upstream addresses, certificates from files
 * and the private CA, listening sockets -- bound here, so privileges can
 * be dropped right after); serve_run runs it until SIGTERM/SIGINT, with
 * SIGHUP reloading the configuration all or nothing. */
#ifndef MOAT_SERVE_SERVE_H
#define MOAT_SERVE_SERVE_H

#include <stdbool.h>

#include "core/err.h"
#include "serve/config.h"

struct serve;
struct ca;

/* Makes a complete configuration (from the file and the command line) --
 * at start and again on each SIGHUP. */
typedef int (*serve_load_fn)(void *arg, struct serve_config *out, struct moat_err *err);

struct serve_opts {
	serve_load_fn load;
	void *load_arg;
	const char *home;  /* MOAT_HOME (private CA, ACME accounts and certificates) */
	struct ca *ca;     /* the private CA, unlocked (borrowed); NULL if no site uses it */
	/* Told about progress and events worth a line on the terminal. */
	void (*say)(void *arg, const char *line);
	void *say_arg;
};

struct serve *serve_new(const struct serve_opts *o, struct moat_err *err);
/* Until SIGTERM or SIGINT (then drain: finish running requests, at most
 * 30 s, and return 0). */
int serve_run(struct serve *s, struct moat_err *err);
void serve_free(struct serve *s);

/* For --check: everything serve_new checks but binding ports and issuing
 * certificates. */
int serve_check(const struct serve_config *c, const char *home, struct moat_err *err);

#endif
