/* request.c: the request side of an exchange -- a new request's checks
 * and routing (site by Host, port 80's redirect and ACME answers), the
 * head rewritten for the upstream, the answers moat gives itself (error
 * pages, redirects) and the access log line. */
#include "serve/exchange.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/err.h"
#include "net/http.h"

/* ---- small helpers ------------------------------------------------------------- */

/* A copy cut to n - 1 bytes where it must be, and then not inside a UTF-8
 * sequence (a User-Agent cut at its limit stays valid text in the log). */
static void copy_span(char *dst, size_t n, const char *p, size_t len)
{
	if (len >= n) {
		len = n - 1;
		for (size_t k = 0; k < 3 && len > 0 && ((unsigned char)p[len] & 0xc0) == 0x80; k++)
			len--;
		if (((unsigned char)p[len] & 0xc0) == 0x80)
			len = n - 1; /* not UTF-8 anyway: cut where it falls */
	}
	memcpy(dst, p, len);
	dst[len] = '\0';
}

bool serve_x_span_is(const char *p, size_t len, const char *s)
{
	return len == strlen(s) && strncasecmp(p, s, len) == 0;
}

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

static const char *field_name(const char *buf, const struct net_h1_field *f, size_t *len)
{
	*len = f->name_len;
	return buf + f->name;
}

/* Fields the proxy sets itself: the client's values are dropped. */
static bool is_forwarding_field(const char *n, size_t len)
{
	return serve_x_span_is(n, len, "x-forwarded-for") || serve_x_span_is(n, len, "x-forwarded-proto") ||
	       serve_x_span_is(n, len, "x-forwarded-host") || serve_x_span_is(n, len, "forwarded") ||
	       serve_x_span_is(n, len, "x-real-ip");
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- the access log and counters ------------------------------------------------- */

static void count_status(struct serve *s, int status)
{
	int cls = status / 100;

	atomic_fetch_add_explicit(&s->m.requests[cls >= 1 && cls <= 5 ? cls : 0], 1,
				  memory_order_relaxed);
	if (status >= 100 && status < 600)
		atomic_fetch_add_explicit(&s->m.status[status], 1, memory_order_relaxed);
}

void serve_x_log(struct exchange *x, const char *peer)
{
	struct serve_access a = {0};

	count_status(x->w->srv, x->status);
	if (x->g->log == NULL)
		return;
	a.peer = peer;
	a.host = x->host;
	a.method = x->method;
	a.target = x->target;
	a.version_minor = x->version_minor;
	a.status = x->status;
	a.bytes = x->bytes;
	a.referer = x->referer;
	a.user_agent = x->ua;
	a.seconds = seconds_since(&x->t0);
	a.upstream = x->up != NULL || x->attempt > 0 ? serve_x_addr(x)->text : "";
	a.tls = x->tls;
	serve_log_access(x->g->log, &a);
}

void serve_log_rejected(struct serve_log *log, const char *peer, bool tls, const char *in,
			size_t len, int status)
{
	struct serve_access a = {0};
	char method[33] = "", target[1024] = "";
	const char *p = in, *e = in + len, *eol, *sp;

	if (log == NULL)
		return;
	while (p < e && (*p == '\r' || *p == '\n'))
		p++;
	for (eol = p; eol < e && *eol != '\r' && *eol != '\n'; eol++)
		;
	a.version_minor = 1;
	if (eol - p > 9 && memcmp(eol - 9, " HTTP/1.", 8) == 0) {
		a.version_minor = eol[-1] == '0' ? 0 : 1;
		eol -= 9;
	}
	sp = memchr(p, ' ', (size_t)(eol - p));
	if (sp == NULL)
		sp = eol;
	/* NUL bytes end the strings early: what follows them is not shown. */
	copy_span(method, sizeof(method), p, (size_t)(sp - p));
	if (sp < eol)
		copy_span(target, sizeof(target), sp + 1, (size_t)(eol - sp - 1));
	a.peer = peer;
	a.host = "";
	a.method = method;
	a.target = target;
	a.status = status;
	a.tls = tls;
	a.upstream = "";
	serve_log_access(log, &a);
}

/* ---- answers made here ------------------------------------------------------------ */

/* HSTS and the site's own headers, for every response on HTTPS. */
void serve_x_site_headers(struct moat_buf *b, const struct serve_gen_site *gs, bool tls)
{
	if (gs == NULL)
		return;
	if (tls && gs->hsts[0] != '\0')
		moat_buf_printf(b, "Strict-Transport-Security: %s\r\n", gs->hsts);
	for (size_t i = 0; i < gs->site->nheaders; i++)
		moat_buf_printf(b, "%s: %s\r\n", gs->site->headers[i].name,
				gs->site->headers[i].value);
}

/* The request's body has not been read (nor forwarded): an answer made
 * here must get it out of the way before the next request is parsed, or
 * the body would be taken for one (CL.0 smuggling). */
static bool body_unread(const struct exchange *x)
{
	if (x->req_done)
		return false;
	switch (x->req_framing) {
	case NET_H1_LENGTH:
		return x->req_left > 0;
	case NET_H1_CHUNKED:
		return true;
	default:
		return false;
	}
}

void serve_reply(struct pconn *c, struct exchange *x, int status, const char *ctype,
		 const char *body, size_t len, const char *location, bool keep_alive)
{
	struct moat_buf b = MOAT_BUF_INIT;
	bool head_only = x != NULL && x->head_req;
	bool discard = false;

	if (x != NULL && keep_alive && body_unread(x)) {
		/* Read and drop a small body that nothing has touched yet; a
		 * large one, one partly forwarded, or one the client waits to
		 * be asked for (100-continue: it may never come) ends the
		 * connection instead. */
		discard = !x->req_body_started && !x->expect_continue &&
			  (x->req_framing == NET_H1_CHUNKED || x->req_left <= SERVE_DISCARD_MAX);
		keep_alive = discard;
	}
	moat_buf_printf(&b, "HTTP/1.1 %d %s\r\nServer: moat\r\nDate: %s\r\n", status,
			net_http_reason(status), net_http_date_now());
	if (location != NULL)
		moat_buf_printf(&b, "Location: %s\r\n", location);
	moat_buf_printf(&b, "Content-Type: %s\r\nContent-Length: %zu\r\n",
			ctype != NULL ? ctype : "text/plain; charset=utf-8", len);
	if (x != NULL)
		serve_x_site_headers(&b, x->gs, x->tls);
	if (!keep_alive)
		moat_buf_puts(&b, "Connection: close\r\n");
	else if (x != NULL && x->version_minor == 0)
		moat_buf_puts(&b, "Connection: keep-alive\r\n");
	moat_buf_puts(&b, "\r\n");
	if (!head_only && len > 0)
		moat_buf_append(&b, body, len);
	serve_conn_queue(c, b.data, b.len);
	moat_buf_free(&b);
	if (discard)
		serve_conn_discard(c, x->req_framing, x->req_left);
	if (x != NULL) {
		x->status = status;
		x->bytes = head_only ? 0 : len;
		x->finished = true;
		serve_x_log(x, x->peer);
	} else {
		count_status(serve_conn_worker(c)->srv, status);
	}
	serve_conn_exchange_done(c, keep_alive);
}

void serve_x_page(struct exchange *x, int status, const char *text)
{
	char body[600];
	int n = snprintf(body, sizeof(body),
			 "<!doctype html>\n<title>%d %s</title>\n<h1>%d %s</h1>\n<p>%s</p>\n",
			 status, net_http_reason(status), status, net_http_reason(status), text);

	if (n < 0 || (size_t)n >= sizeof(body))
		n = 0;
	/* serve_reply drops (or closes on) a body left unread. */
	serve_reply(x->c, x, status, "text/html; charset=utf-8", body, (size_t)n, NULL,
		    x->req_keep && status < 500);
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
	copy_span(out, n, h, hl);
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

static int build_head(struct exchange *x, const char *buf, const struct net_h1_msg *m,
		      const char *peer)
{
	struct moat_buf *b = &x->head;
	const char *t;
	size_t tl;
	bool slash;
	bool v6 = strchr(peer, ':') != NULL;

	upstream_target(buf, m, &t, &tl, &slash);
	moat_buf_append(b, buf + m->method, m->method_len);
	moat_buf_puts(b, slash ? " /" : " ");
	moat_buf_append(b, t, tl);
	moat_buf_puts(b, " HTTP/1.1\r\n");
	if (m->target_form == NET_H1_ABSOLUTE || m->host_field < 0)
		moat_buf_printf(b, "Host: %s\r\n", x->host);
	for (size_t i = 0; i < m->nfields; i++) {
		const struct net_h1_field *f = &m->fields[i];
		size_t nl;
		const char *name = field_name(buf, f, &nl);

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
		copy_span(out, n, buf + m->fields[i].value, m->fields[i].value_len);
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

		copy_span(token, sizeof(token), t + plen, tl - plen);
		if (tl - plen < sizeof(token) && serve_acme_token(s, token, ka, sizeof(ka))) {
			serve_reply(x->c, x, 200, "application/octet-stream", ka, strlen(ka), NULL,
				    x->req_keep);
			return true;
		}
		if (x->gs == NULL || x->gs->redirect) {
			serve_reply(x->c, x, 404, NULL, "404 no such challenge\n", 22, NULL,
				    x->req_keep);
			return true;
		}
	}
	if (x->gs == NULL) {
		serve_reply(x->c, x, 404, NULL, "404 no site here has this name\n", 31, NULL,
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
		serve_conn_abort(x->c);
		return true;
	}
	serve_reply(x->c, x, 308, NULL, "308 use https\n", 14, (const char *)loc.data, x->req_keep);
	moat_buf_free(&loc);
	return true;
}

void serve_exchange_start(struct pconn *c, struct serve_gen *g, bool tls,
			  const char *peer, const char *sni, const char *buf,
				      const struct net_h1_msg *m)
{
	struct exchange *x = malloc(sizeof(*x));
	const char *t;
	size_t tl;
	bool slash, host_ok;

	if (x == NULL) {
		serve_conn_abort(c);
		return;
	}
	memset(x, 0, offsetof(struct exchange, method)); /* the strings are set below */
	clock_gettime(CLOCK_MONOTONIC, &x->t0);
	x->c = c;
	x->w = serve_conn_worker(c);
	x->g = g;
	x->tls = tls;
	x->peer = peer;
	x->version_minor = m->version_minor;
	x->req_keep = m->keep_alive;
	x->expect_continue = m->expect_continue;
	x->req_framing = m->framing;
	x->req_left = m->content_length;
	net_h1_chunked_init(&x->req_ck);
	copy_span(x->method, sizeof(x->method), buf + m->method, m->method_len);
	copy_span(x->target, sizeof(x->target), buf + m->target, m->target_len);
	x->head_req = strcmp(x->method, "HEAD") == 0;
	host_ok = request_host(buf, m, x->host, sizeof(x->host));
	field_copy(buf, m, "referer", x->referer, sizeof(x->referer));
	field_copy(buf, m, "user-agent", x->ua, sizeof(x->ua));
	x->gs = serve_gen_site(g, x->host);
	if (x->gs == NULL && sni != NULL && sni[0] != '\0' && x->host[0] == '\0')
		x->gs = serve_gen_site(g, sni);
	if (x->gs == NULL && g->cfg.nsites == 1)
		x->gs = &g->sites[0]; /* one site: it answers whatever the name */
	/* The caller stores it too; set now so that an answer given right here
	 * ends this exchange through serve_conn_exchange_done. */
	serve_conn_set_exchange(c, x);

	upstream_target(buf, m, &t, &tl, &slash);
	if (!host_ok) {
		x->req_keep = false;
		serve_x_page(x, 400, "The Host of this request is too long.");
		return;
	}
	if (m->target_form == NET_H1_AUTHORITY || strcmp(x->method, "CONNECT") == 0) {
		x->req_keep = false;
		serve_reply(c, x, 405, NULL, "405 this is not a forward proxy\n", 32, NULL, false);
		return;
	}
	if (!tls && plain_answer(x, t, tl, slash))
		return;
	if (x->gs == NULL) {
		serve_x_page(x, 421, "No site with this name is served here.");
		return;
	}
	if (g->cfg.max_body_size > 0 && m->framing == NET_H1_LENGTH &&
	    m->content_length > (uint64_t)g->cfg.max_body_size) {
		x->req_keep = false;
		x->req_done = true;
		serve_x_page(x, 413, "The request body is larger than this site accepts.");
		return;
	}
	if (m->upgrade && m->upgrade_field >= 0) {
		const struct net_h1_field *u = &m->fields[m->upgrade_field];

		x->upgrade = list_has(buf + u->value, u->value_len, "websocket");
	}
	if (build_head(x, buf, m, peer) != 0) {
		serve_conn_abort(c);
		return;
	}
	serve_x_connect(x);
}
