/* request.c: moat serve's application on the network engine
 * (serve_app_ops): a new request's checks and routing (site by Host, port
 * 80's redirect and ACME answers) and its head rewritten for the
 * upstream; then proxy.c takes the exchange over. */
#include "serve/exchange.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Whether the comma list [p, p+len) has the token tok. */
static bool list_has(const char *p, size_t len, const char *tok)
{
	size_t i = 0;

	while (i < len) {
		size_t a, b;

		while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == ','))
			i++;
		a = i;
		while (i < len && p[i] != ',')
			i++;
		b = i;
		while (b > a && (p[b - 1] == ' ' || p[b - 1] == '\t'))
			b--;
		if (serve_x_span_is(p + a, b - a, tok))
			return true;
	}
	return false;
}

/* Fields the proxy sets itself: the client's values are dropped. */
static bool is_forwarding_field(const char *n, size_t len)
{
	return serve_x_span_is(n, len, "x-forwarded-for") || serve_x_span_is(n, len, "x-forwarded-proto") ||
	       serve_x_span_is(n, len, "x-forwarded-host") || serve_x_span_is(n, len, "forwarded") ||
	       serve_x_span_is(n, len, "x-real-ip");
}

/* ---- the request going upstream ---------------------------------------------------- */

/* The Host the client asked for (with its port, if any): from an
 * absolute-form target if there is one (RFC 9112 section 3.2.2), else the
 * Host field.  false if it does not fit in out (n - 1 bytes: more than a
 * DNS name and a port), which would route by a name cut short. */
static bool request_host(const char *buf, const struct net_h1_msg *m, char *out, size_t n)
{
	const char *h = "";
	size_t hl = 0;

	if (m->target_form == NET_H1_ABSOLUTE) {
		const char *t = buf + m->target, *e = t + m->target_len;
		const char *p = memchr(t, ':', m->target_len);

		if (p != NULL && e - p > 3 && p[1] == '/' && p[2] == '/') {
			h = p + 3;
			for (p = h; p < e && *p != '/' && *p != '?' && *p != '#'; p++)
				;
			hl = (size_t)(p - h);
		}
	} else if (m->host_field >= 0) {
		h = buf + m->fields[m->host_field].value;
		hl = m->fields[m->host_field].value_len;
	}
	serve_x_copy(out, n, h, hl);
	return hl < n;
}

/* The path-and-query of the target as the upstream gets it: origin-form
 * and "*" as they are, absolute-form without its scheme and authority.
 * *slash: a "/" goes before it ("http://h?q" is "/?q", RFC 9112 section
 * 3.2.1: an empty path is "/"). */
static void upstream_target(const char *buf, const struct net_h1_msg *m, const char **t,
			    size_t *len, bool *slash)
{
	*t = buf + m->target;
	*len = m->target_len;
	*slash = false;
	if (m->target_form == NET_H1_ABSOLUTE) {
		const char *e = *t + *len, *p = memchr(*t, ':', *len);

		p = p != NULL ? p + 3 : e;
		while (p < e && *p != '/' && *p != '?')
			p++;
		*len = (size_t)(e - p);
		*t = p;
		*slash = p == e || *p != '/';
	}
}

/* [t, t+tl), slash: the target from upstream_target. */
static int build_head(struct exchange *x, const char *buf, const struct net_h1_msg *m,
		      const char *t, size_t tl, bool slash)
{
	struct moat_buf *b = &x->head;
	const char *peer = x->peer;
	bool v6 = strchr(peer, ':') != NULL;

	/* One allocation: the client's head, ours added (two Hosts, three
	 * peers and the words around them). */
	if (moat_buf_reserve(b, m->head_len + 2 * strlen(x->host) + 3 * strlen(peer) + 160) != 0)
		return -1;
	moat_buf_append(b, buf + m->method, m->method_len);
	moat_buf_puts(b, slash ? " /" : " ");
	moat_buf_append(b, t, tl);
	moat_buf_puts(b, " HTTP/1.1\r\n");
	if (m->target_form == NET_H1_ABSOLUTE || m->host_field < 0)
		moat_buf_printf(b, "Host: %s\r\n", x->host);
	for (size_t i = 0; i < m->nfields; i++) {
		const struct net_h1_field *f = &m->fields[i];
		const char *name = buf + f->name;
		size_t nl = f->name_len;

		if (f->hop || is_forwarding_field(name, nl))
			continue;
		if ((int)i == m->host_field && m->target_form == NET_H1_ABSOLUTE)
			continue;
		moat_buf_append(b, name, nl);
		moat_buf_puts(b, ": ");
		moat_buf_append(b, buf + f->value, f->value_len);
		moat_buf_puts(b, "\r\n");
	}
	if (m->framing == NET_H1_CHUNKED)
		moat_buf_puts(b, "Transfer-Encoding: chunked\r\n");
	if (x->upgrade) {
		const struct net_h1_field *u = &m->fields[m->upgrade_field];

		moat_buf_puts(b, "Connection: upgrade\r\nUpgrade: ");
		moat_buf_append(b, buf + u->value, u->value_len);
		moat_buf_puts(b, "\r\n");
	}
	{
		/* Pieces, not printf: this runs for every request. */
		const char *proto = x->tls ? "https" : "http";
		bool host = x->host[0] != '\0';
		const char *const parts[] = {
			"X-Forwarded-For: ", peer, "\r\nX-Real-IP: ", peer,
			"\r\nX-Forwarded-Proto: ", proto, "\r\n",
			host ? "X-Forwarded-Host: " : "", host ? x->host : "", host ? "\r\n" : "",
			"Forwarded: for=", v6 ? "\"[" : "", peer, v6 ? "]\"" : "",
			host ? ";host=\"" : "", host ? x->host : "", host ? "\"" : "",
			";proto=", proto, "\r\n\r\n",
		};

		for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
			if (parts[i][0] != '\0' && moat_buf_puts(b, parts[i]) != 0)
				return -1;
	}
	return b->data != NULL && b->len > 0 ? 0 : -1;
}

/* ---- a new request ------------------------------------------------------------------ */

static void field_copy(const char *buf, const struct net_h1_msg *m, const char *name, char *out,
		       size_t n)
{
	int i = net_h1_find(m, buf, name, 0);

	out[0] = '\0';
	if (i >= 0)
		serve_x_copy(out, n, buf + m->fields[i].value, m->fields[i].value_len);
}

/* Port 80: ACME http-01 answers, the redirect to https, or (redirect off)
 * proxying as plain HTTP.  [t, t+tl) is the path-and-query (slash: a "/"
 * goes before it).  true when answered. */
static bool plain_answer(struct exchange *x, const char *t, size_t tl, bool slash)
{
	static const char prefix[] = "/.well-known/acme-challenge/";
	const size_t plen = sizeof(prefix) - 1;
	struct serve *s = x->w->srv;
	struct moat_buf loc = MOAT_BUF_INIT;
	size_t hl;

	if (!slash && tl > plen && memcmp(t, prefix, plen) == 0) {
		char token[160], ka[256];

		serve_x_copy(token, sizeof(token), t + plen, tl - plen);
		if (tl - plen < sizeof(token) && serve_tokens_get(&s->tokens, token, ka, sizeof(ka))) {
			serve_reply(x, 200, "application/octet-stream", ka, strlen(ka), NULL,
				    x->req_keep);
			return true;
		}
		if (x->gs == NULL || x->gs->redirect) {
			serve_reply(x, 404, NULL, "404 no such challenge\n", 22, NULL,
				    x->req_keep);
			return true;
		}
	}
	if (x->gs == NULL) {
		serve_reply(x, 404, NULL, "404 no site here has this name\n", 31, NULL,
			    x->req_keep);
		return true;
	}
	if (!x->gs->redirect)
		return false;
	/* The host as asked (the parser checked it is a valid authority),
	 * without its port; the https port if it is not 443; the whole
	 * target, however long (the head's limit bounds it). */
	hl = strlen(x->host);
	if (hl > 0 && x->host[hl - 1] != ']') {
		const char *colon = memrchr(x->host, ':', hl);

		if (colon != NULL)
			hl = (size_t)(colon - x->host);
	}
	if (hl == 0) {
		/* HTTP/1.0 without Host, or an empty one: nowhere to send it. */
		x->req_keep = false;
		serve_x_page(x, 400, "A redirect to HTTPS needs the Host the request was for.");
		return true;
	}
	moat_buf_puts(&loc, "https://");
	moat_buf_append(&loc, x->host, hl);
	if (s->https_port != 443)
		moat_buf_printf(&loc, ":%u", (unsigned)s->https_port);
	if (slash)
		moat_buf_puts(&loc, "/");
	moat_buf_append(&loc, t, tl);
	if (loc.data == NULL) {
		net_hx_abort(x->hx);
		return true;
	}
	serve_reply(x, 308, NULL, "308 use https\n", 14, (const char *)loc.data, x->req_keep);
	moat_buf_free(&loc);
	return true;
}

static void exchange_start(void *conn, struct net_hx *hx, const struct net_request *req)
{
	struct pconn *c = conn;
	struct serve_gen *g = c->gen;
	const char *buf = req->buf, *sni = req->sni;
	const struct net_h1_msg *m = req->m;
	struct exchange *x = malloc(sizeof(*x));
	const char *t;
	size_t tl;
	bool slash, host_ok;

	if (x == NULL) {
		net_hx_abort(hx);
		return;
	}
	memset(x, 0, offsetof(struct exchange, method)); /* the strings are set below */
	net_hx_set_arg(hx, x);
	clock_gettime(CLOCK_MONOTONIC, &x->t0);
	x->hx = hx;
	x->w = c->w;
	x->g = g;
	x->tls = req->tls;
	x->peer = req->peer;
	x->version_minor = m->version_minor;
	x->req_keep = m->keep_alive;
	x->req_chunked = m->framing == NET_H1_CHUNKED;
	serve_x_copy(x->method, sizeof(x->method), buf + m->method, m->method_len);
	serve_x_copy(x->target, sizeof(x->target), buf + m->target, m->target_len);
	x->head_req = strcmp(x->method, "HEAD") == 0;
	host_ok = request_host(buf, m, x->host, sizeof(x->host));
	field_copy(buf, m, "referer", x->referer, sizeof(x->referer));
	field_copy(buf, m, "user-agent", x->ua, sizeof(x->ua));
	x->gs = serve_gen_site(g, x->host);
	if (x->gs == NULL && sni[0] != '\0' && x->host[0] == '\0')
		x->gs = serve_gen_site(g, sni);
	if (x->gs == NULL && g->cfg.nsites == 1)
		x->gs = &g->sites[0]; /* one site: it answers whatever the name */

	upstream_target(buf, m, &t, &tl, &slash);
	if (!host_ok) {
		x->req_keep = false;
		serve_x_page(x, 400, "The Host of this request is too long.");
		return;
	}
	if (m->target_form == NET_H1_AUTHORITY || strcmp(x->method, "CONNECT") == 0) {
		x->req_keep = false;
		serve_reply(x, 405, NULL, "405 this is not a forward proxy\n", 32, NULL, false);
		return;
	}
	if (!x->tls && plain_answer(x, t, tl, slash))
		return;
	if (x->gs == NULL) {
		serve_x_page(x, 421, "No site with this name is served here.");
		return;
	}
	if (g->cfg.max_body_size > 0 && m->framing == NET_H1_LENGTH &&
	    m->content_length > (uint64_t)g->cfg.max_body_size) {
		x->req_keep = false;
		serve_x_page(x, 413, "The request body is larger than this site accepts.");
		return;
	}
	if (m->upgrade && m->upgrade_field >= 0) {
		const struct net_h1_field *u = &m->fields[m->upgrade_field];

		x->upgrade = list_has(buf + u->value, u->value_len, "websocket");
	}
	if (build_head(x, buf, m, t, tl, slash) != 0) {
		net_hx_abort(hx);
		return;
	}
	serve_x_connect(x);
}

/* What net/h1_server.c calls: a request starts here, its body and the
 * rest go to proxy.c. */
const struct net_app_ops serve_app_ops = {
	.request = exchange_start,
	.body = serve_x_client_body,
	.body_end = serve_x_client_body_end,
	.drained = serve_x_client_drained,
	.body_invalid = serve_x_client_invalid,
	.client_eof = serve_x_client_eof,
	.done = serve_x_done,
};
