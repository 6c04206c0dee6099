/* certs.c: every site's certificate, from the start to each renewal.
 *
 * Sources: files (reloaded when they change), moat's private CA (issued
 * when missing or two thirds through its life), ACME (obtained when
 * missing or due, answered on the proxy's own ports: http-01 tokens are
 * served by the port-80 listener, tls-alpn-01 certificates by the TLS
 * context).  A new certificate goes into the running TLS context
 * (net_tls_ctx_set_cert): handshakes already under way finish with the old
 * one, the next get the new one; no connection is dropped.
 *
 * The manager's thread does the slow work (ACME orders take seconds), so
 * neither the workers nor the signal handling ever wait for it.  A failed
 * renewal keeps the old certificate, is logged loudly with the date the
 * old one expires, and is retried with backoff (1 min doubling to 6 h). */
#include "serve/certs_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "acme/store.h"
#include "ca/ca.h"
#include "core/file.h"
#include "core/names.h"
#include "pki/pki.h"

#define CHECK_EVERY_S 2
#define BACKOFF_MIN_S 60
#define BACKOFF_MAX_S (6 * 3600)

void serve_certs_renew_all(struct serve_certs *m)
{
	atomic_store(&m->force, true);
	serve_certs_kick(m);
}

/* Renew renew-before-days before the end when configured; else when the
 * ACME CA's renewal information (RFC 9773) says, else at two thirds of the
 * lifetime; always once expired. */
static bool due(const struct serve_gen *g, const struct serve_gen_site *gs, int64_t now)
{
	int64_t na = atomic_load(&gs->not_after), nb = gs->not_before;

	if (na == 0 || now >= na)
		return true;
	if (g->cfg.renew_before_days > 0)
		return now >= na - (int64_t)g->cfg.renew_before_days * 86400;
	if (gs->site->cert == SERVE_CERT_ACME && gs->ari_at != 0)
		return now >= gs->ari_at;
	return now >= nb + (na - nb) * 2 / 3;
}

static int site_names(const struct serve_site *site, struct moat_name **out, size_t *n,
		      struct moat_err *err)
{
	const char *names[SERVE_MAX_NAMES];

	for (size_t i = 0; i < site->nnames; i++)
		names[i] = site->names[i];
	return moat_names_parse(names, site->nnames, out, n, err);
}

/* ---- the private CA -------------------------------------------------------------- */

static int issue_local(struct serve_certs *m, struct serve_gen *g, struct serve_gen_site *gs,
		       struct moat_err *err)
{
	struct moat_name *names = NULL;
	size_t n = 0;
	struct ca_issue_opts o = {.key_type = PKI_KEY_EC_P256, .force = true};
	struct ca_issued res;
	int ret = -1;

	if (m->ca == NULL) {
		moat_err_set(err, "%s: no private CA to issue from", gs->site->names[0]);
		moat_err_hint(err, "make one with: moat ca init");
		return -1;
	}
	if (site_names(gs->site, &names, &n, err) != 0)
		goto out;
	o.names = names;
	o.nnames = n;
	if (ca_issue(m->ca, &o, &res, err) != 0) {
		moat_err_prefix(err, "cannot issue a certificate for %s", gs->site->names[0]);
		goto out;
	}
	if (serve_certs_load(m, g, gs, true, err) != 0)
		goto out;
	serve_log_error(g->log, "issued a certificate for %s from the private CA (serial %s, "
			"valid until %s)", gs->site->names[0], res.serial,
			serve_certs_date(atomic_load(&gs->not_after)));
	ret = 0;
out:
	free(names);
	return ret;
}

/* ---- at start and on reload --------------------------------------------------------- */

int serve_certs_install(struct serve_certs *m, struct serve_gen *g, struct moat_err *err)
{
	int ret = -1;

	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < g->cfg.nsites; i++) {
		struct serve_gen_site *gs = &g->sites[i];
		const struct serve_site *site = gs->site;
		struct moat_name first;
		struct moat_err e2;

		if (moat_name_parse(site->names[0], &first, err) != 0)
			goto out;
		moat_name_lineage(&first, gs->lineage, sizeof(gs->lineage));
		switch (site->cert) {
		case SERVE_CERT_FILES:
			if (serve_certs_load(m, g, gs, false, err) != 0)
				goto out;
			if (!serve_certs_covers_file(m, gs))
				serve_log_error(g->log, "warning: %s does not cover every name of "
					        "site %s", site->cert_file, site->names[0]);
			break;
		case SERVE_CERT_LOCAL:
			moat_err_clear(&e2);
			if (serve_certs_load(m, g, gs, true, &e2) == 0 && !due(g, gs, (int64_t)time(NULL)))
				break;
			if (m->dry) {
				char probe[PATH_MAX + 32];

				snprintf(probe, sizeof(probe), "%s/ca/intermediate.pem", m->home);
				if (!moat_file_exists(probe)) {
					moat_err_set(err, "site %s uses the private CA, and there is "
						     "none in %s", site->names[0], m->home);
					moat_err_hint(err, "make it with: moat ca init");
					goto out;
				}
				break;
			}
			if (issue_local(m, g, gs, err) != 0)
				goto out;
			break;
		default: /* ACME: what is on disk now; the thread does the rest */
			moat_err_clear(&e2);
			if (serve_certs_load(m, g, gs, true, &e2) != 0)
				atomic_store(&gs->not_after, 0);
			break;
		}
	}
	ret = 0;
out:
	pthread_mutex_unlock(&m->lock);
	return ret;
}

/* ---- the background work ------------------------------------------------------------ */

static void backoff(struct serve_gen_site *gs, int64_t now)
{
	int64_t wait = BACKOFF_MIN_S;

	for (int i = 1; i < gs->failures && wait < BACKOFF_MAX_S; i++)
		wait *= 2;
	if (wait > BACKOFF_MAX_S)
		wait = BACKOFF_MAX_S;
	gs->next_try = now + wait;
}

static void check_site(struct serve_certs *m, struct serve_gen *g, struct serve_gen_site *gs,
		       int64_t now, bool force)
{
	struct moat_err err;
	const struct serve_site *site = gs->site;
	int r = 0;

	moat_err_clear(&err);
	if (now < gs->next_try && !force)
		return;
	if (site->cert == SERVE_CERT_FILES) {
		char chain[PATH_MAX], key[PATH_MAX];

		serve_certs_paths(m, gs, chain, key, sizeof(chain));
		if (serve_certs_mtime(chain) == gs->cert_mtime && serve_certs_mtime(key) == gs->key_mtime)
			return;
		/* Changed: a writer may be half-way (cert written, key not
		 * yet); a mismatch is retried on the next pass, quietly the
		 * first time. */
		if (serve_certs_load(m, g, gs, false, &err) == 0) {
			gs->failures = 0;
			serve_log_error(g->log, "reloaded %s for %s (serial %s, valid until %s)",
					chain, site->names[0], gs->serial,
					serve_certs_date(atomic_load(&gs->not_after)));
			return;
		}
		if (++gs->failures >= 3)
			serve_log_error(g->log, "ERROR: cannot reload the certificate of %s: %s -- "
					"still serving the previous one", site->names[0], err.msg);
		gs->next_try = now + CHECK_EVERY_S;
		return;
	}
	if (!force) {
		serve_certs_refresh_ari(m, g, gs, now);
		if (!due(g, gs, now))
			return;
	}
	if (force)
		serve_log_error(g->log, "renewing the certificate of %s now (SIGUSR1)", site->names[0]);
	if (site->cert == SERVE_CERT_LOCAL)
		r = issue_local(m, g, gs, &err);
	else
		r = serve_certs_obtain_acme(m, g, gs, &err);
	if (r == 0) {
		gs->failures = 0;
		gs->next_try = 0;
		return;
	}
	gs->failures++;
	backoff(gs, now);
	if (atomic_load(&gs->not_after) != 0)
		serve_log_error(g->log, "ERROR: renewing the certificate of %s failed: %s%s%s -- "
				"still serving the current one (valid until %s); next try in %lld s",
				site->names[0], err.msg, err.hint[0] ? "; hint: " : "", err.hint,
				serve_certs_date(atomic_load(&gs->not_after)),
				(long long)(gs->next_try - now));
	else
		serve_log_error(g->log, "ERROR: cannot get a certificate for %s: %s%s%s -- "
				"HTTPS for it fails until one is obtained; next try in %lld s",
				site->names[0], err.msg, err.hint[0] ? "; hint: " : "", err.hint,
				(long long)(gs->next_try - now));
}

static void *certs_main(void *arg)
{
	struct serve_certs *m = arg;

	pthread_mutex_lock(&m->wlock);
	while (!m->stop) {
		struct timespec until;

		pthread_mutex_unlock(&m->wlock);
		{
			struct serve_gen *g = serve_current_gen(m->s);
			int64_t now = (int64_t)time(NULL);
			bool force = atomic_exchange(&m->force, false);

			pthread_mutex_lock(&m->lock);
			for (size_t i = 0; i < g->cfg.nsites && !m->stop; i++) {
				check_site(m, g, &g->sites[i], now, force);
				serve_certs_staple(m, g, &g->sites[i], (int64_t)time(NULL));
			}
			pthread_mutex_unlock(&m->lock);
			serve_gen_unref(g);
		}
		pthread_mutex_lock(&m->wlock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += CHECK_EVERY_S;
		while (!m->stop && !m->kick &&
		       pthread_cond_timedwait(&m->cond, &m->wlock, &until) != ETIMEDOUT)
			;
		m->kick = false;
	}
	pthread_mutex_unlock(&m->wlock);
	return NULL;
}

/* ---- after dropping privileges ------------------------------------------------------- */

/* path, or the nearest of its parents that exists (within home), can be
 * written by this process; else err names it. */
static int can_write(const char *home, const char *path, const char *user, struct moat_err *err)
{
	char p[PATH_MAX];
	struct stat st;
	size_t hl = strlen(home);

	snprintf(p, sizeof(p), "%s", path);
	for (;;) {
		char *slash;

		if (stat(p, &st) == 0)
			break;
		if (strlen(p) <= hl || (slash = strrchr(p, '/')) == NULL || slash == p)
			return 0; /* home itself is missing: issuing says why */
		*slash = '\0';
	}
	if (access(p, S_ISDIR(st.st_mode) ? W_OK | X_OK : W_OK) == 0)
		return 0;
	moat_err_set(err, "running as %s, moat serve cannot write %s (owned by uid %u): "
		     "certificates could not be renewed", user, p, (unsigned)st.st_uid);
	moat_err_hint(err, "give MOAT_HOME to that user (chown -R %s %s), or run moat serve "
		      "as that user from the start (contrib/systemd/moat-serve.service)", user, home);
	return -1;
}

/* path, and what a directory there holds (one level: a lineage's files),
 * to uid:gid where root owns it.  Symbolic links themselves, never what
 * they point to. */
static void give_tree(const char *path, uid_t uid, gid_t gid)
{
	struct stat st;
	DIR *d;
	struct dirent *e;

	if (lstat(path, &st) != 0 || st.st_uid != 0)
		return;
	(void)lchown(path, uid, gid);
	if (!S_ISDIR(st.st_mode) || (d = opendir(path)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_uid == 0)
			(void)fchownat(dirfd(d), e->d_name, uid, gid, AT_SYMLINK_NOFOLLOW);
	}
	closedir(d);
}

void serve_certs_give(struct serve_certs *m, const struct serve_gen *g, uid_t uid, gid_t gid)
{
	static const char *const dirs[] = {"live", "archive", "renewal"};
	char p[PATH_MAX + 400];
	struct stat st;

	/* Only in a MOAT_HOME that is the user's: root's own stays root's
	 * (and serve_certs_check_writable refuses it, saying what to chown). */
	if (stat(m->home, &st) != 0 || st.st_uid != uid)
		return;
	for (size_t k = 0; k < sizeof(dirs) / sizeof(dirs[0]); k++) {
		snprintf(p, sizeof(p), "%s/%s", m->home, dirs[k]);
		if (lstat(p, &st) == 0 && st.st_uid == 0)
			(void)lchown(p, uid, gid); /* made by this start, as root */
	}
	for (size_t i = 0; i < g->cfg.nsites; i++) {
		const struct serve_gen_site *gs = &g->sites[i];

		if (gs->site->cert != SERVE_CERT_ACME && gs->site->cert != SERVE_CERT_LOCAL)
			continue;
		snprintf(p, sizeof(p), "%s/live/%s", m->home, gs->lineage);
		give_tree(p, uid, gid);
		snprintf(p, sizeof(p), "%s/archive/%s", m->home, gs->lineage);
		give_tree(p, uid, gid);
		snprintf(p, sizeof(p), "%s/renewal/%s.conf", m->home, gs->lineage);
		give_tree(p, uid, gid);
	}
}

int serve_certs_check_writable(struct serve_certs *m, const struct serve_gen *g,
			       struct moat_err *err)
{
	const char *user = g->cfg.user;
	char p[PATH_MAX + 400];

	for (size_t i = 0; i < g->cfg.nsites; i++) {
		const struct serve_gen_site *gs = &g->sites[i];
		enum serve_cert_source src = gs->site->cert;

		if (src != SERVE_CERT_ACME && src != SERVE_CERT_LOCAL)
			continue;
		snprintf(p, sizeof(p), "%s/live/%s", m->home, gs->lineage);
		if (can_write(m->home, p, user, err) != 0)
			return -1;
		if (src == SERVE_CERT_LOCAL) {
			snprintf(p, sizeof(p), "%s/ca/ca.db", m->home);
			if (can_write(m->home, p, user, err) != 0)
				return -1;
			snprintf(p, sizeof(p), "%s/ca", m->home); /* the database's journal */
			if (can_write(m->home, p, user, err) != 0)
				return -1;
			continue;
		}
		snprintf(p, sizeof(p), "%s/archive/%s", m->home, gs->lineage);
		if (can_write(m->home, p, user, err) != 0)
			return -1;
		snprintf(p, sizeof(p), "%s/renewal", m->home);
		if (can_write(m->home, p, user, err) != 0)
			return -1;
		if (acme_store_account_dir(m->home, serve_certs_acme_server(g), p, sizeof(p), err) != 0 ||
		    can_write(m->home, p, user, err) != 0)
			return -1;
	}
	return 0;
}

struct serve_certs *serve_certs_new(struct serve *s, const char *home, struct ca *ca, bool dry,
				    struct moat_err *err)
{
	struct serve_certs *m = calloc(1, sizeof(*m));

	if (m == NULL) {
		moat_err_set(err, "out of memory");
		return NULL;
	}
	m->s = s;
	m->ca = ca;
	m->dry = dry;
	snprintf(m->home, sizeof(m->home), "%s", home != NULL ? home : "");
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->wlock, NULL);
	pthread_cond_init(&m->cond, NULL);
	return m;
}

int serve_certs_start(struct serve_certs *m, struct moat_err *err)
{
	if (pthread_create(&m->thread, NULL, certs_main, m) != 0) {
		moat_err_set(err, "cannot start the certificate thread");
		return -1;
	}
	m->running = true;
	return 0;
}

void serve_certs_kick(struct serve_certs *m)
{
	if (!m->running)
		return;
	pthread_mutex_lock(&m->wlock);
	m->kick = true;
	pthread_cond_signal(&m->cond);
	pthread_mutex_unlock(&m->wlock);
}

void serve_certs_free(struct serve_certs *m)
{
	if (m == NULL)
		return;
	if (m->running) {
		pthread_mutex_lock(&m->wlock);
		m->stop = true;
		pthread_cond_signal(&m->cond);
		pthread_mutex_unlock(&m->wlock);
		pthread_join(m->thread, NULL);
	}
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->wlock);
	pthread_cond_destroy(&m->cond);
	free(m);
}
