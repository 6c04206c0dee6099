/* cert_load.c: a site's certificate files -- where they are, whether
 * they cover the site's names, and loading them into a generation's TLS
 * context.  Called by the manager (certs.c), by ACME (certs_acme.c) and
 * by the staples (ocsp.c); it calls none of them back. */
#include "serve/certs_int.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/file.h"
#include "net/tls_server.h"
#include "pki/pki.h"

const char *serve_certs_date(int64_t t)
{
	static _Thread_local char buf[40];
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL)
		return "?";
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M UTC", &tm);
	return buf;
}

int64_t serve_certs_mtime(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return -1;
	return (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

void serve_certs_paths(struct serve_certs *m, const struct serve_gen_site *gs, char *chain,
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
int serve_certs_load(struct serve_certs *m, struct serve_gen *g, struct serve_gen_site *gs,
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
	serve_certs_paths(m, gs, chain_path, key_path, sizeof(chain_path));
	cm = serve_certs_mtime(chain_path);
	km = serve_certs_mtime(key_path);
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
	gs->ari_at = 0;
	gs->ari_next = 0;
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

struct pki_cert *serve_certs_leaf(struct serve_certs *m, const struct serve_gen_site *gs)
{
	char chain[PATH_MAX], key[PATH_MAX];
	struct moat_buf b = MOAT_BUF_INIT;
	struct pki_cert *c = NULL;

	serve_certs_paths(m, gs, chain, key, sizeof(chain));
	if (moat_file_read(chain, 1024 * 1024, &b, NULL) == 0)
		c = pki_cert_from_pem(b.data, b.len, NULL);
	moat_buf_free(&b);
	return c;
}

bool serve_certs_covers_file(struct serve_certs *m, const struct serve_gen_site *gs)
{
	struct pki_cert *c = serve_certs_leaf(m, gs);
	bool ok = c != NULL && covers(c, gs->site);

	pki_cert_free(c);
	return ok;
}
