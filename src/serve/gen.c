/* gen.c: configuration generations -- what a start or a SIGHUP builds in
 * full, checks, and only then swaps in. */
#include "serve/internal.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/tls_server.h"

struct serve_gen *serve_gen_ref(struct serve_gen *g)
{
	if (g != NULL)
		atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
	return g;
}

void serve_gen_unref(struct serve_gen *g)
{
	if (g == NULL || atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (size_t i = 0; g->sites != NULL && i < g->cfg.nsites; i++)
		free(g->sites[i].addrs);
	free(g->sites);
	net_tls_ctx_free(g->tls);
	serve_log_close(g->log);
	serve_config_free(&g->cfg);
	free(g);
}

struct serve_gen_site *serve_gen_site(struct serve_gen *g, const char *host)
{
	/* (NULL for a NULL or empty host too) */
	const struct serve_site *s = serve_config_site_for(&g->cfg, host);

	return s != NULL ? &g->sites[s - g->cfg.sites] : NULL;
}

/* The upstream's first address (names are resolved once, here: a reload
 * resolves them again). */
static int resolve(const struct serve_upstream *u, struct serve_addr *out, struct moat_err *err)
{
	struct addrinfo hints = {0}, *res = NULL;
	char port[8];
	int r;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%u", (unsigned)u->port);
	r = getaddrinfo(u->host, port, &hints, &res);
	if (r != 0 || res == NULL) {
		moat_err_set(err, "upstream %s: cannot resolve %s: %s", u->url, u->host,
			     r != 0 ? gai_strerror(r) : "no address");
		moat_err_hint(err, "check the name, or give the upstream as an IP address");
		return -1;
	}
	memcpy(&out->sa, res->ai_addr, res->ai_addrlen);
	out->len = res->ai_addrlen;
	snprintf(out->text, sizeof(out->text), "%s", u->url + (strncmp(u->url, "http://", 7) == 0 ? 7 : 0));
	freeaddrinfo(res);
	return 0;
}

struct serve_gen *serve_gen_new(struct serve_config *cfg, uint64_t id, const struct serve_gen *prev,
				 struct moat_err *err)
{
	struct serve_gen *g = calloc(1, sizeof(*g));
	struct serve_gen *ret = NULL;
	struct net_tls_opts to = {0};

	if (g == NULL) {
		moat_err_set(err, "out of memory");
		serve_config_free(cfg);
		return NULL;
	}
	atomic_init(&g->refs, 1);
	g->id = id;
	g->cfg = *cfg; /* taken over */
	memset(cfg, 0, sizeof(*cfg));
	if ((g->sites = calloc(g->cfg.nsites ? g->cfg.nsites : 1, sizeof(*g->sites))) == NULL) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < g->cfg.nsites; i++) {
		struct serve_gen_site *gs = &g->sites[i];
		const struct serve_site *site = &g->cfg.sites[i];

		gs->site = site;
		gs->redirect = site->redirect != 0;
		if (site->hsts_max_age > 0)
			snprintf(gs->hsts, sizeof(gs->hsts), "max-age=%ld%s", site->hsts_max_age,
				 site->hsts_subdomains ? "; includeSubDomains" : "");
		gs->addrs = calloc(site->nupstreams ? site->nupstreams : 1, sizeof(*gs->addrs));
		if (gs->addrs == NULL) {
			moat_err_set(err, "out of memory");
			goto out;
		}
		for (size_t k = 0; k < site->nupstreams; k++) {
			if (resolve(&site->upstreams[k], &gs->addrs[k], err) != 0)
				goto out;
			gs->naddrs++;
		}
		if (gs->naddrs == 0) {
			moat_err_set(err, "site %s has no upstream", site->names[0]);
			goto out;
		}
	}
	if ((g->tls = net_tls_ctx_new(&to, err)) == NULL)
		goto out;
	if ((g->log = serve_log_open(&g->cfg, prev != NULL ? prev->log : NULL, err)) == NULL)
		goto out;
	ret = g;
	g = NULL;
out:
	serve_gen_unref(g);
	return ret;
}

struct serve_gen *serve_current_gen(struct serve *s)
{
	struct serve_gen *g;

	pthread_mutex_lock(&s->lock);
	g = serve_gen_ref(s->gen);
	pthread_mutex_unlock(&s->lock);
	return g;
}
