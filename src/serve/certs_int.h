/* certs_int.h: what the certificate manager's files share (certs.c: the
 * private CA, the thread; certs_acme.c: ACME; ocsp.c: the staples;
 * cert_load.c: the files, which the three others use and which calls none
 * of them).  Private to src/serve. */
#ifndef MOAT_SERVE_CERTS_INT_H
#define MOAT_SERVE_CERTS_INT_H

#include <limits.h>

#include "serve/internal.h"

#define LE_DIRECTORY "https://acme-v02.api.letsencrypt.org/directory"

struct serve_certs {
	struct serve *s;
	char home[PATH_MAX];
	struct ca *ca;          /* borrowed; NULL without local sites */
	pthread_mutex_t lock;   /* one certificate operation at a time */
	pthread_mutex_t wlock;
	pthread_cond_t cond;
	pthread_t thread;
	bool running;
	bool stop;
	bool kick;
	bool dry; /* --check: read what exists, issue and obtain nothing */
	atomic_bool force; /* SIGUSR1: renew every certificate now */
};

/* cert_load.c */
/* "2026-11-23 19:30 UTC", in a thread-local buffer. */
const char *serve_certs_date(int64_t t);
/* A file's modification time in nanoseconds, -1 if it cannot be read. */
int64_t serve_certs_mtime(const char *path);
/* The certificate (full chain) and key files of a site. */
void serve_certs_paths(struct serve_certs *m, const struct serve_gen_site *gs, char *chain,
		       char *key, size_t n);
/* Read chain + key into g's TLS context for the site (check_names: refuse a
 * certificate that does not cover every name). */
int serve_certs_load(struct serve_certs *m, struct serve_gen *g, struct serve_gen_site *gs,
		     bool check_names, struct moat_err *err);
/* The first certificate of the site's chain file, or NULL (the caller
 * frees it). */
struct pki_cert *serve_certs_leaf(struct serve_certs *m, const struct serve_gen_site *gs);
/* Whether the certificate file of a files site covers its names (a
 * warning only: the user chose the file). */
bool serve_certs_covers_file(struct serve_certs *m, const struct serve_gen_site *gs);

/* certs_acme.c (called with m->lock held; they let go of it while talking
 * to the CA) */
const char *serve_certs_acme_server(const struct serve_gen *g);
int serve_certs_obtain_acme(struct serve_certs *m, struct serve_gen *g,
			    struct serve_gen_site *gs, struct moat_err *err);
void serve_certs_refresh_ari(struct serve_certs *m, struct serve_gen *g,
			     struct serve_gen_site *gs, int64_t now);

/* ocsp.c: fetch or refresh the site's staple when it is time. */
void serve_certs_staple(struct serve_certs *m, struct serve_gen *g, struct serve_gen_site *gs,
			int64_t now);

#endif
