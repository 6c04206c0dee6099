/* certs_acme.c: certificates from an ACME CA for moat serve -- the
 * challenges answered on the proxy's own listeners (http-01 tokens for the
 * port-80 side, tls-alpn-01 certificates in the TLS context), the account
 * (registered when missing), the order, and the CA's renewal information
 * (RFC 9773). */
#include "serve/certs_int.h"

#include <stdio.h>
#include <string.h>

#include "acme/obtain.h"
#include "acme/solve.h"
#include "core/file.h"
#include "core/names.h"
#include "net/tls_server.h"
#include "pki/pki.h"

/* ---- ACME ------------------------------------------------------------------------ */

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
		    net_tls_ctx_sole_set(g->tls, ACME_TLS_ALPN, sni, cert, key, err) == 0)
			ret = 0;
		pki_cert_free(cert);
		pki_key_free(key);
		goto out;
	}
	ret = serve_tokens_add(&s->tokens, token, ka, err);
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
		net_tls_ctx_sole_remove(g->tls, ACME_TLS_ALPN, sni);
	serve_gen_unref(g);
	serve_tokens_remove(&s->tokens, token);
}

const char *serve_certs_acme_server(const struct serve_gen *g)
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
	if (acme_store_account_dir(m->home, serve_certs_acme_server(g), dir, sizeof(dir), err) != 0)
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
	    (c = acme_client_new(serve_certs_acme_server(g), g->cfg.acme_ca_bundle[0] ? g->cfg.acme_ca_bundle
									  : NULL,
				 err)) == NULL ||
	    acme_client_set_account(c, key, NULL, err) != 0 ||
	    acme_account_register(c, &ao, &created, NULL, err) != 0)
		goto out;
	snprintf(sa.url, sizeof(sa.url), "%s", acme_client_kid(c));
	snprintf(sa.directory, sizeof(sa.directory), "%s", serve_certs_acme_server(g));
	snprintf(sa.contact, sizeof(sa.contact), "%s", g->cfg.acme_email);
	if (acme_store_account_save(dir, key, &sa, false, err) != 0)
		goto out;
	serve_log_error(g->log, "registered an ACME account at %s (agreeing to its terms%s%s)",
			serve_certs_acme_server(g), acme_client_directory(c)->terms[0] ? ": " : "",
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
	struct pki_cert *c = serve_certs_leaf(m, gs);

	out[0] = '\0';
	if (c != NULL && pki_cert_ari_id(c, out, n, NULL) != 0)
		out[0] = '\0';
	pki_cert_free(c);
}

/* Ask the CA when to renew (every 6 hours; RFC 9773 suggests following
 * Retry-After, which is about that).  A moment picked at random inside the
 * suggested window spreads the fleet's renewals, as the RFC asks.  A CA
 * without renewal information leaves the two-thirds rule. */
void serve_certs_refresh_ari(struct serve_certs *m, struct serve_gen *g, struct serve_gen_site *gs,
			int64_t now)
{
	struct pki_cert *c;
	struct acme_client *ac = NULL;
	int64_t start = 0, end = 0;
	bool ok;

	if (gs->site->cert != SERVE_CERT_ACME || atomic_load(&gs->not_after) == 0 ||
	    g->cfg.renew_before_days > 0 || now < gs->ari_next || m->dry)
		return;
	gs->ari_next = now + 6 * 3600;
	if ((c = serve_certs_leaf(m, gs)) == NULL)
		return;
	/* Network: not under the lock (a reload would wait for it). */
	pthread_mutex_unlock(&m->lock);
	ok = (ac = acme_client_new(serve_certs_acme_server(g),
				   g->cfg.acme_ca_bundle[0] ? g->cfg.acme_ca_bundle : NULL, NULL)) != NULL &&
	     acme_renewal_info(ac, c, &start, &end, NULL) == 0;
	pthread_mutex_lock(&m->lock);
	if (ok) {
		uint64_t r = ((uint64_t)(uintptr_t)gs ^ (uint64_t)now) * 6364136223846793005ULL;

		gs->ari_at = start + (end > start ? (int64_t)((r >> 33) % (uint64_t)(end - start)) : 0);
	}
	acme_client_free(ac);
	pki_cert_free(c);
}

int serve_certs_obtain_acme(struct serve_certs *m, struct serve_gen *g, struct serve_gen_site *gs,
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
	snprintf(rn.server, sizeof(rn.server), "%s", serve_certs_acme_server(g));
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
	if (r != 0 || serve_certs_load(m, g, gs, true, err) != 0)
		return -1;
	serve_log_error(g->log, "new certificate for %s from %s (serial %s, valid until %s)",
			gs->site->names[0], serve_certs_acme_server(g), gs->serial,
			serve_certs_date(atomic_load(&gs->not_after)));
	return 0;
}
