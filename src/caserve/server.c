/* server.c: `moat ca serve`'s life -- its database, nonces, validation
 * threads, its own TLS certificate, and one net_server loop with two
 * listeners: ACME over HTTPS (acme.c) and the revocation services over
 * HTTP (revocation.c). */
#include "caserve/internal.h"

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

/* The ACME port's certificate for name, from the CA: reused from
 * ca/serve/ while it covers name for more than TLS_RENEW_S, else issued
 * anew (recorded like every certificate) and written there (key 0600). */
static int tls_cert(struct caserve *s, struct moat_err *err)
{
	char dir[4200], cpath[4300], kpath[4300];
	struct moat_buf cb = MOAT_BUF_INIT, kb = MOAT_BUF_INIT, pem = MOAT_BUF_INIT;
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
	moat_buf_free(&pem);
	return ret;
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
	if ((s->nonces = caserve_nonces_new(o->nonce_reject)) == NULL) {
		moat_err_set(err, "cannot make nonces");
		goto fail;
	}
	if ((s->db = caserve_store_open(s->db_path, err)) == NULL ||
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
	if (net_server_listen_http_opts(s->net, o->listen, o->http_port, &http,
					caserve_revocation_handle, s->rev, err) != 0)
		goto fail;
	s->http_port = net_server_port(s->net);
	snprintf(s->base, sizeof(s->base), "https://%s%s%s:%u", strchr(s->name, ':') ? "[" : "",
		 s->name, strchr(s->name, ':') ? "]" : "", s->https_port);
	snprintf(s->directory, sizeof(s->directory), "%s/acme/directory", s->base);
	vo.db_path = s->db_path;
	vo.http01_port = o->http01_port;
	vo.tls_alpn_port = o->tls_alpn_port;
	vo.dns_resolver = s->dns_resolver[0] != '\0' ? s->dns_resolver : NULL;
	vo.log = log;
	vo.log_arg = log_arg;
	if ((s->va = caserve_va_new(&vo, err)) == NULL)
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
	free(s);
}
