/* server.c: `moat ca serve`'s life -- its database, nonces, validation
 * threads, its own TLS certificate, and one net_server loop with two
 * listeners: ACME over HTTPS (acme.c) and the revocation services over
 * HTTP (revocation.c). */
#include "caserve/internal.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ca/ca.h"
#include "core/file.h"
#include "net/tls_server.h"

#define TLS_RENEW_S (30 * 86400) /* a new certificate for the ACME port this long before expiry */
#define TLS_MAX_FILE (64 * 1024)

struct caserve_counters {
	atomic_ullong v[CASERVE_NCOUNTERS];
};

void caserve_count(struct caserve_counters *c, enum caserve_counter which)
{
	atomic_fetch_add_explicit(&c->v[which], 1, memory_order_relaxed);
}

static const char *const counter_names[CASERVE_NCOUNTERS][2] = {
	{"moat_ca_acme_requests_total", "ACME requests"},
	{"moat_ca_acme_bad_nonce_total", "badNonce answers"},
	{"moat_ca_acme_problems_total", "problem documents sent"},
	{"moat_ca_acme_accounts_created_total", "accounts created"},
	{"moat_ca_acme_orders_created_total", "orders created"},
	{"moat_ca_certificates_issued_total", "certificates issued over ACME"},
	{"moat_ca_certificates_revoked_total", "certificates revoked over ACME"},
	{"moat_ca_challenges_valid_total", "challenges validated"},
	{"moat_ca_challenges_invalid_total", "challenges that failed validation"},
	{"moat_ca_acme_rate_limited_total", "rateLimited answers"},
};

/* The HTTP port: /metrics (Prometheus text), else the revocation services. */
static void http_handle(void *arg, const struct net_http_request *req, struct net_http_reply *r)
{
	struct caserve *s = arg;
	struct caserve_revocation_stats rs;
	struct moat_buf b = MOAT_BUF_INIT;
	int bad = 0;

	if (strcmp(req->target, "/metrics") != 0) {
		caserve_revocation_handle(s->rev, req, r);
		return;
	}
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		r->status = 405;
		(void)net_http_reply_field(r, "Allow", "GET, HEAD");
		return;
	}
	caserve_revocation_stats(s->rev, &rs);
	for (int i = 0; i < CASERVE_NCOUNTERS; i++)
		bad |= moat_buf_printf(&b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n",
				       counter_names[i][0], counter_names[i][1], counter_names[i][0],
				       counter_names[i][0],
				       (unsigned long long)atomic_load(&s->counters->v[i]));
	bad |= moat_buf_printf(&b,
			       "# HELP moat_ca_ocsp_requests_total OCSP requests\n"
			       "# TYPE moat_ca_ocsp_requests_total counter\n"
			       "moat_ca_ocsp_requests_total %llu\n"
			       "# HELP moat_ca_ocsp_cached_total OCSP answers from the cache\n"
			       "# TYPE moat_ca_ocsp_cached_total counter\n"
			       "moat_ca_ocsp_cached_total %llu\n"
			       "# HELP moat_ca_ocsp_signed_total OCSP answers signed\n"
			       "# TYPE moat_ca_ocsp_signed_total counter\n"
			       "moat_ca_ocsp_signed_total %llu\n",
			       (unsigned long long)rs.ocsp_requests, (unsigned long long)rs.ocsp_cached,
			       (unsigned long long)rs.ocsp_signed);
	if (bad != 0) {
		moat_buf_free(&b);
		r->status = 503;
		return;
	}
	r->status = 200;
	r->content_type = "text/plain; version=0.0.4";
	r->body = b.data;
	r->len = b.len;
	r->free_body = true;
}

/* The ACME port's certificate for name, from the CA: reused from
 * ca/serve/ while it covers name for more than TLS_RENEW_S, else issued
 * anew (recorded like every certificate) and written there (key 0600). */
static int tls_cert(struct caserve *s, struct moat_err *err)
{
	char dir[4200], cpath[4300], kpath[4300];
	struct moat_buf cb = MOAT_BUF_INIT, kb = MOAT_BUF_INIT;
	struct pki_cert *leaf = NULL;
	struct pki_key *key = NULL;
	struct pki_cert_info info;
	struct moat_fileset *fs = NULL;
	struct ca_signed sig;
	const char *names[1] = {s->name};
	struct pki_cert *chain[1];
	int ret = -1;

	memset(&info, 0, sizeof(info));
	memset(&sig, 0, sizeof(sig));
	snprintf(dir, sizeof(dir), "%s/ca/serve", s->home);
	snprintf(cpath, sizeof(cpath), "%s/tls.pem", dir);
	snprintf(kpath, sizeof(kpath), "%s/tls-key.pem", dir);
	if (moat_file_read(cpath, TLS_MAX_FILE, &cb, NULL) == 0 &&
	    moat_file_read(kpath, TLS_MAX_FILE, &kb, NULL) == 0 &&
	    (leaf = pki_cert_from_pem(cb.data, cb.len, NULL)) != NULL &&
	    (key = pki_key_from_pem(kb.data, kb.len, NULL, 0, NULL)) != NULL &&
	    pki_cert_info(leaf, &info, NULL) == 0 && pki_key_matches_cert(key, leaf) &&
	    pki_cert_matches_host(leaf, s->name, NULL) &&
	    pki_cert_issued_by(leaf, ca_intermediate(s->ca)) &&
	    info.not_after > (int64_t)time(NULL) + TLS_RENEW_S)
		goto serve;
	pki_cert_free(leaf);
	pki_key_free(key);
	leaf = NULL;
	moat_buf_free(&kb);
	{
		struct moat_name n;
		struct ca_sign_opts so = {.names = &n, .nnames = 1, .lineage = "ca-serve"};

		if (moat_name_parse(s->name, &n, err) != 0 ||
		    (key = pki_key_generate(PKI_KEY_EC_P256, err)) == NULL)
			goto out;
		so.key = key;
		if (ca_sign(s->ca, &so, &sig, err) != 0) {
			moat_err_prefix(err, "cannot issue the ACME port's certificate for %s",
					s->name);
			goto out;
		}
	}
	if ((leaf = pki_cert_from_pem(sig.cert_pem.data, sig.cert_pem.len, err)) == NULL ||
	    pki_key_to_pem(key, NULL, 0, &kb, err) != 0 || (fs = moat_fileset_new()) == NULL ||
	    moat_fileset_mkdir(fs, dir, 0700, err) != 0 ||
	    moat_fileset_add(fs, cpath, sig.cert_pem.data, sig.cert_pem.len, 0644, true, err) != 0 ||
	    moat_fileset_add(fs, kpath, kb.data, kb.len, 0600, true, err) != 0 ||
	    moat_fileset_commit(fs, err) != 0)
		goto out;
serve:
	chain[0] = (struct pki_cert *)ca_intermediate(s->ca);
	if (net_tls_ctx_set_cert(s->tls, "acme", names, 1, leaf, chain, 1, key, err) != 0)
		goto out;
	ret = 0;
out:
	moat_fileset_free(fs);
	ca_signed_clear(&sig);
	pki_cert_info_clear(&info);
	pki_cert_free(leaf);
	pki_key_free(key);
	moat_buf_free(&cb);
	moat_buf_wipe(&kb);
	return ret;
}

static int requeue(void *arg, int64_t authz, int index)
{
	struct caserve *s = arg;

	caserve_log(s, "validating authorization %lld again (it was under way at the last stop)",
		    (long long)authz);
	return caserve_va_queue(s->va, authz, index);
}

struct caserve *caserve_new(struct ca *ca, const struct caserve_opts *o, caserve_log_fn log,
			    void *log_arg, struct moat_err *err)
{
	struct caserve *s = calloc(1, sizeof(*s));
	struct net_tls_opts to = {0};
	struct net_http_listen_opts acme = {.max_body = CASERVE_MAX_REQUEST};
	struct net_http_listen_opts http = {.max_body = CASERVE_OCSP_MAX_REQUEST};
	struct caserve_va_opts vo = {0};

	if (s == NULL) {
		moat_err_set(err, "out of memory");
		return NULL;
	}
	s->o = *o;
	s->ca = ca;
	s->log = log;
	s->log_arg = log_arg;
	snprintf(s->home, sizeof(s->home), "%s", o->home);
	snprintf(s->name, sizeof(s->name), "%s", o->name);
	snprintf(s->dns_resolver, sizeof(s->dns_resolver), "%s",
		 o->dns_resolver != NULL ? o->dns_resolver : "");
	snprintf(s->db_path, sizeof(s->db_path), "%s/ca/acme.db", s->home);
	if ((s->nonces = caserve_nonces_new(o->nonce_reject)) == NULL ||
	    (s->limits = caserve_limits_new()) == NULL ||
	    (s->keys = caserve_key_cache_new()) == NULL ||
	    (s->counters = calloc(1, sizeof(*s->counters))) == NULL) {
		moat_err_set(err, "cannot make nonces");
		goto fail;
	}
	if (ca_serving(ca, err) != 0 || (s->db = caserve_store_open(s->db_path, err)) == NULL ||
	    (s->rev = caserve_revocation_new(ca, err)) == NULL ||
	    (s->tls = net_tls_ctx_new(&to, err)) == NULL || tls_cert(s, err) != 0 ||
	    (s->net = net_server_new(err)) == NULL)
		goto fail;
	net_server_set_listen_option(s->net, "--https-port");
	acme.tls = s->tls;
	if (net_server_listen_http_opts(s->net, o->listen, o->https_port, &acme,
					caserve_acme_handle, s, err) != 0)
		goto fail;
	s->https_port = net_server_port(s->net);
	net_server_set_listen_option(s->net, "--http-port");
	if (net_server_listen_http_opts(s->net, o->listen, o->http_port, &http, http_handle, s,
					err) != 0)
		goto fail;
	s->http_port = net_server_port(s->net);
	snprintf(s->base, sizeof(s->base), "https://%s%s%s:%u", strchr(s->name, ':') ? "[" : "",
		 s->name, strchr(s->name, ':') ? "]" : "", s->https_port);
	snprintf(s->directory, sizeof(s->directory), "%s/acme/directory", s->base);
	vo.db_path = s->db_path;
	vo.counters = s->counters;
	vo.http01_port = o->http01_port;
	vo.tls_alpn_port = o->tls_alpn_port;
	vo.dns_resolver = s->dns_resolver[0] != '\0' ? s->dns_resolver : NULL;
	vo.log = log;
	vo.log_arg = log_arg;
	if ((s->va = caserve_va_new(&vo, err)) == NULL ||
	    caserve_store_each_processing(s->db, requeue, s, err) != 0)
		goto fail;
	return s;
fail:
	caserve_free(s);
	return NULL;
}

int caserve_start(struct caserve *s, struct moat_err *err)
{
	return net_server_start(s->net, err);
}

uint16_t caserve_https_port(const struct caserve *s)
{
	return s->https_port;
}

uint16_t caserve_http_port(const struct caserve *s)
{
	return s->http_port;
}

const char *caserve_directory_url(const struct caserve *s)
{
	return s->directory;
}

void caserve_stop(struct caserve *s)
{
	if (s != NULL && s->net != NULL)
		net_server_stop(s->net);
}

void caserve_free(struct caserve *s)
{
	if (s == NULL)
		return;
	net_server_free(s->net); /* stops and joins the loop first */
	caserve_va_free(s->va);
	net_tls_ctx_free(s->tls);
	caserve_revocation_free(s->rev);
	caserve_store_free(s->db);
	caserve_nonces_free(s->nonces);
	caserve_limits_free(s->limits);
	caserve_key_cache_free(s->keys);
	free(s->counters);
	free(s);
}
