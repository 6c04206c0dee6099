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
#include "serve/internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "acme/obtain.h"
#include "acme/solve.h"
#include "ca/ca.h"
#include "core/file.h"
#include "core/names.h"
#include "net/tls_server.h"
#include "pki/pki.h"

#define CHECK_EVERY_S 2
#define BACKOFF_MIN_S 60
#define BACKOFF_MAX_S (6 * 3600)
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

void serve_certs_renew_all(struct serve_certs *m)
{
	atomic_store(&m->force, true);
	serve_certs_kick(m);
}

void serve_certs_dry(struct serve_certs *m)
{
	m->dry = true;
}

/* ---- loading a certificate into a generation ----------------------------------------- */

/* "2026-11-23 19:30 UTC", in a thread-local buffer. */
static const char *fmt_date(int64_t t)
{
	static _Thread_local char buf[40];
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL)
		return "?";
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M UTC", &tm);
	return buf;
}

static int64_t mtime_of(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return -1;
	return (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

static void site_paths(struct serve_certs *m, const struct serve_gen_site *gs, char *chain,
		       char *key, size_t n)
{
	const struct serve_site *site = gs->site;

	if (site->cert == SERVE_CERT_FILES) {
		snprintf(chain, n, "%s", site->cert_file);
		snprintf(key, n, "%s", site->key_file);
		return;
	}
	/* Paths too long end up cut, and then are simply not found. */
	if (snprintf(chain, n, "%s/live/%s/fullchain.pem", m->home, gs->lineage) < 0 ||
	    snprintf(key, n, "%s/live/%s/privkey.pem", m->home, gs->lineage) < 0)
		chain[0] = key[0] = '\0';
}

/* Whether the leaf covers every name of the site. */
static bool covers(const struct pki_cert *leaf, const struct serve_site *site)
{
	for (size_t i = 0; i < site->nnames; i++) {
		bool cn_only = false;

		if (site->names[i][0] == '*') {
			/* "*.x.y" is covered by a wildcard for it: test a name under it. */
			char probe[300];

			snprintf(probe, sizeof(probe), "moat-probe%s", site->names[i] + 1);
			if (!pki_cert_matches_host(leaf, probe, &cn_only) || cn_only)
				return false;
			continue;
		}
		if (!pki_cert_matches_host(leaf, site->names[i], &cn_only) || cn_only)
			return false;
	}
	return true;
}

/* Read chain + key and put them in g's TLS context for the site.  With
 * check_names, a certificate that does not cover every name is refused
 * (the private CA and ACME then make a new one). */
static int load_site(struct serve_certs *m, struct serve_gen *g, struct serve_gen_site *gs,
		     bool check_names, struct moat_err *err)
{
	char chain_path[PATH_MAX], key_path[PATH_MAX];
	struct moat_buf cb = MOAT_BUF_INIT, kb = MOAT_BUF_INIT;
	struct pki_cert **certs = NULL;
	struct pki_key *key = NULL;
	struct pki_cert_info info;
	const char *names[SERVE_MAX_NAMES];
	size_t n = 0, nchain;
	int64_t cm, km;
	int ret = -1;

	memset(&info, 0, sizeof(info));
	site_paths(m, gs, chain_path, key_path, sizeof(chain_path));
	cm = mtime_of(chain_path);
	km = mtime_of(key_path);
	if (moat_file_read(chain_path, 1024 * 1024, &cb, err) != 0 ||
	    moat_file_read(key_path, 64 * 1024, &kb, err) != 0)
		goto out;
	if (pki_certs_from_pem(cb.data, cb.len, &certs, &n, err) != 0) {
		moat_err_prefix(err, "%s", chain_path);
		goto out;
	}
	if (n == 0) {
		moat_err_set(err, "%s: no certificate in the file", chain_path);
		goto out;
	}
	if ((key = pki_key_from_pem(kb.data, kb.len, NULL, 0, err)) == NULL) {
		moat_err_prefix(err, "%s", key_path);
		goto out;
	}
	if (pki_cert_info(certs[0], &info, err) != 0)
		goto out;
	if (check_names && !covers(certs[0], gs->site)) {
		moat_err_set(err, "%s does not cover every name of the site", chain_path);
		goto out;
	}
	/* The root is never sent: clients have it or must not trust it. */
	nchain = n - 1;
	if (nchain > 0) {
		struct pki_cert_info top;

		memset(&top, 0, sizeof(top));
		if (pki_cert_info(certs[n - 1], &top, NULL) == 0 && top.self_signed)
			nchain--;
		pki_cert_info_clear(&top);
	}
	for (size_t i = 0; i < gs->site->nnames; i++)
		names[i] = gs->site->names[i];
	if (net_tls_ctx_set_cert(g->tls, gs->site->names[0], names, gs->site->nnames, certs[0],
				 certs + 1, nchain, key, err) != 0) {
		moat_err_prefix(err, "%s", chain_path);
		goto out;
	}
	{
		struct pki_cert_urls urls;

		memset(&urls, 0, sizeof(urls));
		gs->ocsp_url[0] = '\0';
		/* -1 (a malformed extension) still fills what could be read. */
		(void)pki_cert_urls(certs[0], &urls, NULL);
		if (nchain > 0 && urls.ocsp[0] != '\0')
			snprintf(gs->ocsp_url, sizeof(gs->ocsp_url), "%s", urls.ocsp);
		gs->staple_next = 0;
		gs->staple_until = 0;
	}
	gs->cert_mtime = cm;
	gs->key_mtime = km;
	gs->not_before = info.not_before;
	atomic_store(&gs->not_after, info.not_after);
	snprintf(gs->serial, sizeof(gs->serial), "%s", info.serial_hex);
	ret = 0;
out:
	pki_cert_info_clear(&info);
	pki_certs_free(certs, n);
	pki_key_free(key);
	moat_buf_free(&cb);
	moat_buf_wipe(&kb);
	return ret;
}

/* Whether the certificate file of a files site covers its names (a
 * warning only: the user chose the file). */
static bool covers_file(struct serve_certs *m, const struct serve_gen_site *gs)
{
	char chain[PATH_MAX], key[PATH_MAX];
	struct moat_buf b = MOAT_BUF_INIT;
	struct pki_cert *c = NULL;
	bool ok = false;

	site_paths(m, gs, chain, key, sizeof(chain));
	if (moat_file_read(chain, 1024 * 1024, &b, NULL) == 0 &&
	    (c = pki_cert_from_pem(b.data, b.len, NULL)) != NULL)
		ok = covers(c, gs->site);
	pki_cert_free(c);
	moat_buf_free(&b);
	return ok;
}

/* Renew at two thirds of the lifetime, or renew-before-days before the end. */
static bool due(const struct serve_gen *g, const struct serve_gen_site *gs, int64_t now)
{
	int64_t na = atomic_load(&gs->not_after), nb = gs->not_before;

	if (na == 0)
		return true;
	if (g->cfg.renew_before_days > 0)
		return now >= na - (int64_t)g->cfg.renew_before_days * 86400;
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
	if (load_site(m, g, gs, true, err) != 0)
		goto out;
	serve_log_error(g->log, "issued a certificate for %s from the private CA (serial %s, "
			"valid until %s)", gs->site->names[0], res.serial,
			fmt_date(atomic_load(&gs->not_after)));
	ret = 0;
out:
	free(names);
	return ret;
}

/* ---- ACME ------------------------------------------------------------------------ */

static bool token_ok(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n >= sizeof(((struct serve_token *)0)->token))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = t[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

static int present(void *arg, const struct moat_name *id, const char *token, const char *ka,
		   struct moat_err *err)
{
	struct serve_certs *m = arg;
	struct serve *s = m->s;
	struct serve_gen *g = serve_current_gen(s);
	int ret = -1;

	if (strcmp(g->cfg.acme_challenge, "tls-alpn-01") == 0) {
		struct pki_cert *cert = NULL;
		struct pki_key *key = NULL;
		char sni[MOAT_NAME_MAX + 3];

		if (acme_tlsalpn01_sni(id, sni, sizeof(sni)) == 0 &&
		    acme_tlsalpn01_cert(id, ka, &cert, &key, err) == 0 &&
		    net_tls_ctx_acme_set(g->tls, sni, cert, key, err) == 0)
			ret = 0;
		pki_cert_free(cert);
		pki_key_free(key);
		goto out;
	}
	if (!token_ok(token) || strlen(ka) >= sizeof(s->tokens[0].keyauth)) {
		moat_err_set(err, "the CA sent a challenge token moat cannot serve");
		goto out;
	}
	pthread_mutex_lock(&s->lock);
	if (s->ntokens < SERVE_ACME_TOKENS) {
		snprintf(s->tokens[s->ntokens].token, sizeof(s->tokens[0].token), "%s", token);
		snprintf(s->tokens[s->ntokens].keyauth, sizeof(s->tokens[0].keyauth), "%s", ka);
		s->ntokens++;
		ret = 0;
	} else {
		moat_err_set(err, "too many challenges at once");
	}
	pthread_mutex_unlock(&s->lock);
out:
	serve_gen_unref(g);
	return ret;
}

static void cleanup(void *arg, const struct moat_name *id, const char *token)
{
	struct serve_certs *m = arg;
	struct serve *s = m->s;
	struct serve_gen *g = serve_current_gen(s);
	char sni[MOAT_NAME_MAX + 3];

	if (acme_tlsalpn01_sni(id, sni, sizeof(sni)) == 0)
		net_tls_ctx_acme_remove(g->tls, sni);
	serve_gen_unref(g);
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->ntokens; i++) {
		if (strcmp(s->tokens[i].token, token) == 0) {
			s->tokens[i] = s->tokens[--s->ntokens];
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
}

bool serve_acme_token(struct serve *s, const char *token, char *out, size_t n)
{
	bool found = false;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->ntokens && !found; i++) {
		if (strcmp(s->tokens[i].token, token) == 0) {
			snprintf(out, n, "%s", s->tokens[i].keyauth);
			found = true;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return found;
}

static const char *acme_server(const struct serve_gen *g)
{
	return g->cfg.acme_server[0] != '\0' ? g->cfg.acme_server : LE_DIRECTORY;
}

/* The account for the server: the one `moat acme register` made, or a new
 * one (serving with --acme means agreeing to the CA's terms, as Caddy and
 * certbot --agree-tos do; the log says so). */
static int ensure_account(struct serve_certs *m, struct serve_gen *g, struct moat_err *err)
{
	char dir[PATH_MAX], probe[PATH_MAX + 16];
	struct acme_client *c = NULL;
	struct pki_key *key = NULL;
	struct acme_stored_account sa;
	struct acme_account_opts ao = {.agree_tos = true};
	char contact[300];
	const char *contacts[1];
	bool created = false;
	int ret = -1;

	memset(&sa, 0, sizeof(sa));
	if (acme_store_account_dir(m->home, acme_server(g), dir, sizeof(dir), err) != 0)
		return -1;
	snprintf(probe, sizeof(probe), "%s/account.json", dir);
	if (moat_file_exists(probe))
		return 0;
	if (g->cfg.acme_email[0] != '\0') {
		snprintf(contact, sizeof(contact), "mailto:%s", g->cfg.acme_email);
		contacts[0] = contact;
		ao.contacts = contacts;
		ao.ncontacts = 1;
	}
	if ((key = pki_key_generate(PKI_KEY_EC_P256, err)) == NULL ||
	    (c = acme_client_new(acme_server(g), g->cfg.acme_ca_bundle[0] ? g->cfg.acme_ca_bundle
									  : NULL,
				 err)) == NULL ||
	    acme_client_set_account(c, key, NULL, err) != 0 ||
	    acme_account_register(c, &ao, &created, NULL, err) != 0)
		goto out;
	snprintf(sa.url, sizeof(sa.url), "%s", acme_client_kid(c));
	snprintf(sa.directory, sizeof(sa.directory), "%s", acme_server(g));
	snprintf(sa.contact, sizeof(sa.contact), "%s", g->cfg.acme_email);
	if (acme_store_account_save(dir, key, &sa, false, err) != 0)
		goto out;
	serve_log_error(g->log, "registered an ACME account at %s (agreeing to its terms%s%s)",
			acme_server(g), acme_client_directory(c)->terms[0] ? ": " : "",
			acme_client_directory(c)->terms);
	ret = 0;
out:
	acme_client_free(c);
	pki_key_free(key);
	return ret;
}

/* The ARI identifier of the certificate being replaced ("" if unknown). */
static void ari_id(struct serve_certs *m, const struct serve_gen_site *gs, char *out, size_t n)
{
	char chain[PATH_MAX], key[PATH_MAX];
	struct moat_buf b = MOAT_BUF_INIT;
	struct pki_cert *c = NULL;

	out[0] = '\0';
	site_paths(m, gs, chain, key, sizeof(chain));
	if (moat_file_read(chain, 1024 * 1024, &b, NULL) == 0 &&
	    (c = pki_cert_from_pem(b.data, b.len, NULL)) != NULL &&
	    pki_cert_ari_id(c, out, n, NULL) != 0)
		out[0] = '\0';
	pki_cert_free(c);
	moat_buf_free(&b);
}

static int obtain_acme(struct serve_certs *m, struct serve_gen *g, struct serve_gen_site *gs,
		       struct moat_err *err)
{
	struct acme_renewal rn;
	struct acme_obtain_opts o;
	struct acme_obtained res;
	struct acme_solver solver = {.present = present, .cleanup = cleanup, .arg = m};
	size_t used = 0;
	int r;

	memset(&rn, 0, sizeof(rn));
	memset(&o, 0, sizeof(o));
	snprintf(rn.server, sizeof(rn.server), "%s", acme_server(g));
	if (strlen(g->cfg.acme_ca_bundle) >= sizeof(rn.ca_bundle)) {
		moat_err_set(err, "acme-ca-bundle: the path is too long");
		return -1;
	}
	memcpy(rn.ca_bundle, g->cfg.acme_ca_bundle, strlen(g->cfg.acme_ca_bundle) + 1);
	for (size_t i = 0; i < gs->site->nnames; i++) {
		int k = snprintf(rn.names + used, sizeof(rn.names) - used, "%s%s", i ? "," : "",
				 gs->site->names[i]);

		if (k < 0 || (size_t)k >= sizeof(rn.names) - used) {
			moat_err_set(err, "%s: too many names for one certificate", gs->site->names[0]);
			return -1;
		}
		used += (size_t)k;
	}
	snprintf(rn.key_type, sizeof(rn.key_type), "ec-p256");
	snprintf(rn.challenge, sizeof(rn.challenge), "%s",
		 g->cfg.acme_challenge[0] ? g->cfg.acme_challenge : "http-01");
	solver.type = rn.challenge;
	rn.http_port = g->cfg.http_port;
	rn.tls_port = g->cfg.https_port;
	o.force = true; /* a lineage the private CA made for the name is replaced */
	o.timeout_s = 300;
	o.solver = &solver;
	if (atomic_load(&gs->not_after) != 0)
		ari_id(m, gs, o.replaces, sizeof(o.replaces));
	/* An order takes seconds (minutes, with a slow CA): a reload must not
	 * wait that long for the lock, so it is not held meanwhile.  (Only this
	 * thread obtains; the lineage files are replaced atomically.) */
	pthread_mutex_unlock(&m->lock);
	r = ensure_account(m, g, err) != 0 || acme_obtain(m->home, &rn, &o, &res, err) != 0;
	pthread_mutex_lock(&m->lock);
	if (r != 0 || load_site(m, g, gs, true, err) != 0)
		return -1;
	serve_log_error(g->log, "new certificate for %s from %s (serial %s, valid until %s)",
			gs->site->names[0], acme_server(g), gs->serial,
			fmt_date(atomic_load(&gs->not_after)));
	return 0;
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
			if (load_site(m, g, gs, false, err) != 0)
				goto out;
			if (!covers_file(m, gs))
				serve_log_error(g->log, "warning: %s does not cover every name of "
					        "site %s", site->cert_file, site->names[0]);
			break;
		case SERVE_CERT_LOCAL:
			moat_err_clear(&e2);
			if (load_site(m, g, gs, true, &e2) == 0 && !due(g, gs, (int64_t)time(NULL)))
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
			if (load_site(m, g, gs, true, &e2) != 0)
				atomic_store(&gs->not_after, 0);
			break;
		}
	}
	ret = 0;
out:
	pthread_mutex_unlock(&m->lock);
	return ret;
}

/* ---- OCSP staples ------------------------------------------------------------------ */

/* Fetch (or refresh) the staple: at half its validity, at the latest 12 h
 * after the last; a failure is retried in 5 minutes and the old staple is
 * removed once it would be stale. */
static void staple_site(struct serve_certs *m, struct serve_gen *g, struct serve_gen_site *gs,
			int64_t now)
{
	char chain[PATH_MAX], key[PATH_MAX];
	struct moat_buf b = MOAT_BUF_INIT, der = MOAT_BUF_INIT;
	struct pki_cert **certs = NULL;
	size_t n = 0;
	int64_t tu = 0, nu = 0;
	struct moat_err err;

	if (gs->ocsp_url[0] == '\0' || now < gs->staple_next)
		return;
	moat_err_clear(&err);
	site_paths(m, gs, chain, key, sizeof(chain));
	if (moat_file_read(chain, 1024 * 1024, &b, &err) != 0 ||
	    pki_certs_from_pem(b.data, b.len, &certs, &n, &err) != 0 || n < 2 ||
	    serve_ocsp_fetch(gs->ocsp_url, certs[0], certs[1], &der, &tu, &nu, &err) != 0 ||
	    net_tls_ctx_set_staple(g->tls, gs->site->names[0], der.data, der.len, &err) != 0) {
		if (n < 2 && !moat_err_isset(&err))
			moat_err_set(&err, "no issuer certificate in %s", chain);
		serve_log_error(g->log, "OCSP staple for %s: %s (retrying in 5 minutes)",
				gs->site->names[0], err.msg);
		gs->staple_next = now + 300;
		if (gs->staple_until != 0 && now + 300 >= gs->staple_until) {
			net_tls_ctx_set_staple(g->tls, gs->site->names[0], NULL, 0, NULL);
			gs->staple_until = 0;
		}
		goto out;
	}
	gs->staple_until = nu;
	gs->staple_next = now + 12 * 3600;
	if (nu > now && tu <= now && now + (nu - now) / 2 < gs->staple_next)
		gs->staple_next = now + (nu - now) / 2;
	if (gs->staple_next < now + 60)
		gs->staple_next = now + 60;
out:
	pki_certs_free(certs, n);
	moat_buf_free(&b);
	moat_buf_free(&der);
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

		site_paths(m, gs, chain, key, sizeof(chain));
		if (mtime_of(chain) == gs->cert_mtime && mtime_of(key) == gs->key_mtime)
			return;
		/* Changed: a writer may be half-way (cert written, key not
		 * yet); a mismatch is retried on the next pass, quietly the
		 * first time. */
		if (load_site(m, g, gs, false, &err) == 0) {
			gs->failures = 0;
			serve_log_error(g->log, "reloaded %s for %s (serial %s, valid until %s)",
					chain, site->names[0], gs->serial,
					fmt_date(atomic_load(&gs->not_after)));
			return;
		}
		if (++gs->failures >= 3)
			serve_log_error(g->log, "ERROR: cannot reload the certificate of %s: %s -- "
					"still serving the previous one", site->names[0], err.msg);
		gs->next_try = now + CHECK_EVERY_S;
		return;
	}
	if (!force && !due(g, gs, now))
		return;
	if (force)
		serve_log_error(g->log, "renewing the certificate of %s now (SIGUSR1)", site->names[0]);
	if (site->cert == SERVE_CERT_LOCAL)
		r = issue_local(m, g, gs, &err);
	else
		r = obtain_acme(m, g, gs, &err);
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
				fmt_date(atomic_load(&gs->not_after)),
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
				staple_site(m, g, &g->sites[i], (int64_t)time(NULL));
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

struct serve_certs *serve_certs_new(struct serve *s, const char *home, struct ca *ca,
				    struct moat_err *err)
{
	struct serve_certs *m = calloc(1, sizeof(*m));

	if (m == NULL) {
		moat_err_set(err, "out of memory");
		return NULL;
	}
	m->s = s;
	m->ca = ca;
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
