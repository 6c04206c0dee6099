/* endpoint.c: one check from start to end -- connect, record, judge the
 * chain and revocation, probe the protocol versions, look at HTTP (the
 * redirect from port 80, HSTS) -- or the same for certificate files. */
#include "check/internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check/tls_probe.h"
#include "core/file.h"
#include "fetch/fetch.h"

#define FILE_MAX (1u << 20)

static void summarize(struct check_report *r, struct pki_cert *const *chain, size_t n)
{
	for (size_t i = 0; i < n && i < CHECK_MAX_CHAIN; i++) {
		struct check_cert_summary *s = &r->sent[r->nsent];
		struct pki_cert_info info;

		memset(&info, 0, sizeof(info));
		if (pki_cert_info(chain[i], &info, NULL) != 0)
			continue;
		snprintf(s->subject, sizeof(s->subject), "%s", info.subject);
		snprintf(s->issuer, sizeof(s->issuer), "%s", info.issuer);
		snprintf(s->sha256, sizeof(s->sha256), "%s", info.sha256);
		s->not_after = info.not_after;
		s->is_ca = info.is_ca;
		r->nsent++;
		pki_cert_info_clear(&info);
	}
}

/* A fresh report r and the context that fills it. */
static void ctx_init(struct check_ctx *c, const struct check_opts *o, struct check_report *r)
{
	check_report_init(r);
	memset(c, 0, sizeof(c[0]));
	c->o = o;
	c->r = r;
	c->now = o->now != 0 ? o->now : (int64_t)time(NULL);
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : CHECK_DEFAULT_TIMEOUT_MS;
}

/* Which old protocol versions does the server still accept? */
static void versions(struct check_ctx *c, const struct check_tls_probe_opts *base,
		     const char *negotiated)
{
	static const struct {
		enum check_tls_version v;
		const char *name;
	} old[] = {{CHECK_TLS_1_0, "TLS 1.0"}, {CHECK_TLS_1_1, "TLS 1.1"}};
	char accepted[32] = "", unprobed[32] = "";

	check_progress(c, "probing protocol versions");
	for (size_t i = 0; i < sizeof(old) / sizeof(old[0]); i++) {
		struct check_tls_probe_opts po = *base;
		struct check_tls_probe pr;
		struct moat_err e;

		moat_err_clear(&e);
		po.min_version = po.max_version = old[i].v;
		po.want_staple = false;
		if (check_tls_probe(&po, &pr, &e) == 0)
			snprintf(accepted + strlen(accepted), sizeof(accepted) - strlen(accepted), "%s%s",
				 accepted[0] ? ", " : "", old[i].name);
		else if (strstr(e.msg, "no protocols available") != NULL ||
			 strstr(e.msg, "unsupported protocol") != NULL ||
			 strstr(e.msg, "cannot speak") != NULL)
			snprintf(unprobed + strlen(unprobed), sizeof(unprobed) - strlen(unprobed),
				 "%s%s", unprobed[0] ? ", " : "", old[i].name);
		check_tls_probe_clear(&pr);
	}
	if (accepted[0] != '\0')
		check_add(c->r, CHECK_WARNING, "old-tls",
			  "allow TLS 1.2 and 1.3 only: nginx ssl_protocols TLSv1.2 TLSv1.3; Apache "
			  "SSLProtocol -all +TLSv1.2 +TLSv1.3",
			  "the server still accepts %s (deprecated by RFC 8996)", accepted);
	if (unprobed[0] != '\0')
		check_add(c->r, CHECK_INFO, "old-tls-unprobed", NULL,
			  "this machine's OpenSSL cannot offer %s, so whether the server accepts it "
			  "was not checked", unprobed);
	if (strcmp(negotiated, "TLSv1.3") == 0) {
		struct check_tls_probe_opts po = *base;
		struct check_tls_probe pr;

		po.min_version = po.max_version = CHECK_TLS_1_2;
		po.want_staple = false;
		if (check_tls_probe(&po, &pr, NULL) != 0 && pr.stage == CHECK_PROBE_HANDSHAKE)
			check_add(c->r, CHECK_WARNING, "no-tls12",
				  "enable TLS 1.2 too: older clients (Java 8, Android 9 and before, "
				  "many webhook senders) have no TLS 1.3",
				  "the server accepts TLS 1.3 only");
		check_tls_probe_clear(&pr);
	} else if (strcmp(negotiated, "TLSv1.2") == 0) {
		check_add(c->r, CHECK_INFO, "no-tls13", "enable TLS 1.3 (faster handshakes)",
			  "the server does not offer TLS 1.3");
	} else {
		check_add(c->r, CHECK_ERROR, "old-tls-only",
			  "enable TLS 1.2 and 1.3: nginx ssl_protocols TLSv1.2 TLSv1.3;",
			  "the best protocol the server offers is %s", negotiated);
	}
}

/* HSTS on the HTTPS answer; the redirect from plain HTTP. */
static void http_checks(struct check_ctx *c, const struct check_target *t, const char *address)
{
	struct fetch_resp resp;
	char url[CHECK_HOST_MAX + CHECK_PATH_MAX + 32], connect_to[CHECK_HOST_MAX + 100];
	char hsts[256], location[1024];
	bool v6 = strchr(c->host, ':') != NULL;

	memset(&resp, 0, sizeof(resp));
	check_progress(c, "looking at HTTP");
	snprintf(url, sizeof(url), "https://%s%s%s:%u%s", v6 ? "[" : "", c->host, v6 ? "]" : "",
		 t->port, t->path);
	snprintf(connect_to, sizeof(connect_to), "::%s%s%s:%u", strchr(address, ':') ? "[" : "",
		 address, strchr(address, ':') ? "]" : "", t->port);
	if (check_http(url, NULL, NULL, 0, false, connect_to, c->timeout_ms, 1u << 20, &resp,
		       NULL) == 0) {
		check_http_header(&resp, "Strict-Transport-Security", hsts, sizeof(hsts));
		if (hsts[0] != '\0')
			check_add(c->r, CHECK_INFO, "hsts", NULL, "HSTS: %s", hsts);
		else
			check_add(c->r, CHECK_INFO, "no-hsts",
				  "once HTTPS works everywhere, send Strict-Transport-Security: "
				  "max-age=31536000",
				  "no HSTS header: browsers may still try http:// first");
	}
	fetch_resp_clear(&resp);
	if (c->o->http_port == 0 && t->port != 443)
		return; /* no known plain-HTTP port for a non-standard HTTPS port */
	{
		unsigned hp = c->o->http_port != 0 ? (unsigned)c->o->http_port : 80;
		int rc;

		snprintf(url, sizeof(url), "http://%s%s%s:%u%s", v6 ? "[" : "", c->host, v6 ? "]" : "",
			 hp, t->path);
		snprintf(connect_to, sizeof(connect_to), "::%s%s%s:%u",
			 strchr(address, ':') ? "[" : "", address, strchr(address, ':') ? "]" : "",
			 hp);
		rc = check_http(url, NULL, NULL, 0, false, connect_to, c->timeout_ms, 1u << 20, &resp,
				NULL);
		check_http_header(&resp, "Location", location, sizeof(location));
		if (rc != 0) {
			check_add(c->r, CHECK_INFO, "no-http", NULL,
				  "nothing answers plain HTTP on port %u", hp);
		} else if (resp.status >= 300 && resp.status < 400 &&
			   strncmp(location, "https://", 8) == 0) {
			check_add(c->r, CHECK_INFO, "http-redirect", NULL,
				  "http:// on port %u redirects to %s (%ld)", hp, location,
				  resp.status);
		} else {
			check_add(c->r, CHECK_WARNING, "no-redirect",
				  "redirect it: nginx return 308 https://$host$request_uri;",
				  "http:// on port %u answers %ld instead of redirecting to https://: "
				  "users who type the name get an unencrypted page", hp, resp.status);
		}
		fetch_resp_clear(&resp);
	}
}

/* Plain HTTP where TLS was expected: does the usual HTTPS port speak TLS? */
static void usual_port(struct check_ctx *c, const struct check_tls_probe_opts *base)
{
	struct check_tls_probe_opts po = *base;
	struct check_tls_probe pr;
	struct moat_err e;

	moat_err_clear(&e);
	po.port = 443;
	po.want_staple = false;
	if (check_tls_probe(&po, &pr, &e) == 0)
		check_add(c->r, CHECK_INFO, "https-on-443", NULL,
			  "port 443 of %s does speak TLS: check https://%s/ instead", po.host, po.host);
	else
		check_add(c->r, CHECK_INFO, "no-https-on-443", NULL,
			  "port 443 of %s does not speak TLS either (%s)", po.host, e.msg);
	check_tls_probe_clear(&pr);
}

static int judge(struct check_ctx *c, struct moat_err *err)
{
	if (check_load_anchors(c, err) != 0)
		return -1;
	if (check_chain(c, err) != 0)
		return -1;
	check_revocation(c);
	return 0;
}

int check_endpoint(const struct check_target *t, const struct check_opts *o,
		   struct check_report *r, struct moat_err *err)
{
	struct check_target tt = *t;
	struct check_tls_probe_opts po;
	struct check_tls_probe pr;
	struct check_ctx c;
	struct moat_err pe;
	int64_t t0 = check_now_us();
	int ret = -1;

	ctx_init(&c, o, r);
	memset(&pr, 0, sizeof(pr));
	moat_err_clear(&pe);
	/* Load libcurl now: a check that will need it fails at once with the
	 * reason and a hint, instead of with findings that blame the servers. */
	if (!(o->no_revocation && o->no_http) && fetch_load(err) != 0)
		goto out;
	r->target = *t;
	c.host = o->servername != NULL ? o->servername : t->host;
	snprintf(r->servername, sizeof(r->servername), "%s", c.host);
	if (t->scheme == CHECK_SCHEME_HTTP) {
		check_add(r, CHECK_WARNING, "http-url",
			  "use the https:// URL, typed out in full (Rocket.Chat's guide to SSL: a "
			  "device that cannot connect over SSL most often lacks https:// in the URL)",
			  "%s is plain http://: nothing is encrypted, and mobile apps refuse it; "
			  "checking https:// on port %u instead", t->host,
			  t->port_given && t->port != 80 ? t->port : 443);
		tt.scheme = CHECK_SCHEME_HTTPS;
		if (!t->port_given || t->port == 80)
			tt.port = 443;
		r->target = tt;
	}
	memset(&po, 0, sizeof(po));
	po.host = tt.host;
	po.port = tt.port;
	po.servername = o->servername;
	po.connect_to = o->connect_to;
	po.timeout_ms = c.timeout_ms;
	po.want_staple = true;
	check_progress(&c, "connecting");
	if (check_tls_probe(&po, &pr, &pe) != 0) {
		switch (pr.stage) {
		case CHECK_PROBE_RESOLVE:
		case CHECK_PROBE_CONNECT:
			r->unreachable = true;
			check_add(r, CHECK_ERROR, "unreachable", pe.hint, "%s", pe.msg);
			break;
		case CHECK_PROBE_NOT_TLS:
			check_add(r, CHECK_ERROR, "not-tls",
				  "put TLS in front of it (moat serve, nginx, Apache with "
				  "fullchain.pem), or use the HTTPS port",
				  "port %u speaks plain HTTP, not TLS: https:// to it fails", tt.port);
			if (tt.port != 443)
				usual_port(&c, &po);
			break;
		default:
			check_add(r, CHECK_ERROR, "handshake-failed", pe.hint, "%s", pe.msg);
			break;
		}
		ret = 0;
		goto out;
	}
	r->reached = true;
	snprintf(r->address, sizeof(r->address), "%s", pr.address);
	snprintf(r->version, sizeof(r->version), "%s", pr.version);
	snprintf(r->cipher, sizeof(r->cipher), "%s", pr.cipher);
	snprintf(r->group, sizeof(r->group), "%s", pr.group);
	summarize(r, pr.chain, pr.nchain);
	if (pr.nchain == 0) {
		check_add(r, CHECK_ERROR, "no-certificate", NULL, "the server sent no certificate");
		ret = 0;
		goto out;
	}
	c.sent = pr.chain;
	c.nsent = pr.nchain;
	c.staple = pr.staple;
	c.staple_len = pr.staple_len;
	if (judge(&c, err) != 0)
		goto out;
	versions(&c, &po, pr.version);
	if (!o->no_http)
		http_checks(&c, &tt, pr.address);
	ret = 0;
out:
	r->elapsed_us = check_now_us() - t0;
	check_ctx_clear(&c);
	check_tls_probe_clear(&pr);
	return ret;
}

static int read_certs(const char *path, struct pki_cert ***out, size_t *n, struct moat_err *err)
{
	struct moat_buf b = MOAT_BUF_INIT;
	int ret = -1;

	if (moat_file_read(path, FILE_MAX, &b, err) != 0)
		goto out;
	if (pki_certs_from_pem(b.data, b.len, out, n, err) != 0) {
		moat_err_prefix(err, "%s", path);
		goto out;
	}
	if (*n == 0) {
		moat_err_set(err, "%s holds no certificate", path);
		moat_err_hint(err, "give the PEM certificate (cert.pem or fullchain.pem)");
		goto out;
	}
	ret = 0;
out:
	moat_buf_free(&b);
	return ret;
}

int check_files(const char *cert_file, const struct check_opts *o, struct check_report *r,
		struct moat_err *err)
{
	struct pki_cert **certs = NULL, **extra = NULL, *all[CHECK_MAX_CHAIN];
	size_t ncerts = 0, nextra = 0, nall = 0;
	struct pki_key *key = NULL;
	struct moat_buf kb = MOAT_BUF_INIT;
	struct check_ctx c;
	int64_t t0 = check_now_us();
	int ret = -1;

	ctx_init(&c, o, r);
	c.files = true;
	c.host = o->servername;
	if (!o->no_revocation && fetch_load(err) != 0)
		goto out;
	snprintf(r->servername, sizeof(r->servername), "%s", o->servername ? o->servername : "");
	snprintf(r->target.host, sizeof(r->target.host), "%s", cert_file);
	if (read_certs(cert_file, &certs, &ncerts, err) != 0 ||
	    (o->chain_file != NULL && read_certs(o->chain_file, &extra, &nextra, err) != 0))
		goto out;
	for (size_t i = 0; i < ncerts && nall < CHECK_MAX_CHAIN; i++)
		all[nall++] = certs[i];
	for (size_t i = 0; i < nextra && nall < CHECK_MAX_CHAIN; i++)
		all[nall++] = extra[i];
	r->reached = true;
	summarize(r, all, nall);
	if (o->key_file != NULL) {
		if (moat_file_read(o->key_file, FILE_MAX, &kb, err) != 0)
			goto out;
		if (pki_key_pem_is_encrypted(kb.data, kb.len)) {
			check_add(r, CHECK_INFO, "key-encrypted", NULL,
				  "the key is encrypted: not compared with the certificate");
		} else if ((key = pki_key_from_pem(kb.data, kb.len, NULL, 0, err)) == NULL) {
			moat_err_prefix(err, "%s", o->key_file);
			goto out;
		} else if (!pki_key_matches_cert(key, all[0])) {
			check_add(r, CHECK_ERROR, "key-mismatch",
				  "give the key the certificate was issued for (moat inspect "
				  "CERT KEY shows which belong together)",
				  "the key %s does not belong to the certificate", o->key_file);
		} else {
			check_add(r, CHECK_INFO, "key-match", NULL, "the key belongs to the certificate");
		}
	}
	c.sent = all;
	c.nsent = nall;
	if (judge(&c, err) != 0)
		goto out;
	ret = 0;
out:
	r->elapsed_us = check_now_us() - t0;
	check_ctx_clear(&c);
	pki_key_free(key);
	moat_buf_wipe(&kb);
	pki_certs_free(certs, ncerts);
	pki_certs_free(extra, nextra);
	return ret;
}

int check_cert_revocation(const char *cert_file, const char *issuer_file, const char *ocsp_url,
			  const struct check_opts *o, struct check_report *r, struct moat_err *err)
{
	struct pki_cert **certs = NULL, **iss = NULL, *pair[2] = {NULL, NULL};
	size_t ncerts = 0, niss = 0;
	struct check_ctx c;
	char url[512], why[512] = "";
	int64_t t0 = check_now_us();
	int ret = -1;

	ctx_init(&c, o, r);
	c.files = true;
	c.ocsp_url = ocsp_url;
	snprintf(r->target.host, sizeof(r->target.host), "%s", cert_file);
	if (fetch_load(err) != 0)
		goto out;
	if (read_certs(cert_file, &certs, &ncerts, err) != 0 ||
	    (issuer_file != NULL && read_certs(issuer_file, &iss, &niss, err) != 0))
		goto out;
	pair[0] = certs[0];
	if (niss > 0)
		pair[1] = iss[0];
	else if (ncerts > 1)
		pair[1] = certs[1];
	else if ((c.fetched = check_fetch_issuer(&c, certs[0], url, sizeof(url), why,
						 sizeof(why))) != NULL)
		pair[1] = c.fetched;
	if (pair[1] == NULL) {
		moat_err_set(err, "the issuer of %s is needed to ask about it: %s", cert_file, why);
		moat_err_hint(err, "give it with --issuer FILE (the chain.pem next to the certificate)");
		goto out;
	}
	if (!pki_cert_issued_by(pair[0], pair[1]) || !pki_cert_signed_by(pair[0], pair[1])) {
		moat_err_set(err, "the issuer given did not issue %s", cert_file);
		moat_err_hint(err, "give the intermediate that signed it (moat inspect shows issuers)");
		goto out;
	}
	r->reached = true;
	summarize(r, pair, 2);
	c.sent = pair;
	c.nsent = 2;
	check_revocation(&c);
	ret = 0;
out:
	r->elapsed_us = check_now_us() - t0;
	check_ctx_clear(&c);
	pki_certs_free(certs, ncerts);
	pki_certs_free(iss, niss);
	return ret;
}
