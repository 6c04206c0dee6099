/* answer.c: what an exchange answers by itself (error pages, redirects,
 * ACME tokens: request.c decides, proxy.c when the upstream fails), the
 * fields every answer of a site carries, and the counters and access log
 * line of every exchange, the refused requests' too.  Calls nothing else
 * in src/serve but the log. */
#include "serve/exchange.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "net/http.h"

void serve_x_copy(char *dst, size_t n, const char *p, size_t len)
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

void serve_request_rejected(struct pconn *c, const char *in, size_t len, int status)
{
	struct serve_access a = {0};
	char method[33] = "", target[1024] = "";
	const char *p = in, *e = in + len, *eol, *sp;

	count_status(c->w->srv, status);
	if (c->gen->log == NULL)
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
	serve_x_copy(method, sizeof(method), p, (size_t)(sp - p));
	if (sp < eol)
		serve_x_copy(target, sizeof(target), sp + 1, (size_t)(eol - sp - 1));
	a.peer = net_h1s_peer(c->h);
	a.host = "";
	a.method = method;
	a.target = target;
	a.status = status;
	a.tls = c->tls;
	a.upstream = "";
	serve_log_access(c->gen->log, &a);
}

/* ---- answers made here ------------------------------------------------------------ */

#define F(n, v) ((struct net_hfield){(n), sizeof(n) - 1, (v), strlen(v)})

size_t serve_x_site_fields(struct net_hfield *f, size_t max, const struct serve_gen_site *gs,
			   bool tls)
{
	size_t n = 0;

	if (gs == NULL)
		return 0;
	if (tls && gs->hsts[0] != '\0' && n < max)
		f[n++] = F("Strict-Transport-Security", gs->hsts);
	for (size_t i = 0; i < gs->site->nheaders && n < max; i++) {
		const struct serve_header *h = &gs->site->headers[i];

		f[n++] = (struct net_hfield){h->name, strlen(h->name), h->value, strlen(h->value)};
	}
	return n;
}

void serve_reply(struct exchange *x, int status, const char *ctype, const char *body, size_t len,
		 const char *location, bool keep_alive)
{
	struct net_hfield f[5 + SERVE_MAX_HEADERS];
	size_t n = 0;

	f[n++] = F("Server", "moat");
	f[n++] = F("Date", net_http_date_now());
	if (location != NULL)
		f[n++] = F("Location", location);
	f[n++] = F("Content-Type", ctype != NULL ? ctype : "text/plain; charset=utf-8");
	n += serve_x_site_fields(f + n, sizeof(f) / sizeof(f[0]) - n, x->gs, x->tls);
	x->status = status;
	x->bytes = x->head_req ? 0 : len;
	if (net_hx_head(x->hx, status, NULL, 0, f, n, NET_BODY_LENGTH, len,
			keep_alive ? 0 : NET_HX_CLOSE) != 0) {
		net_hx_abort(x->hx);
		return;
	}
	net_hx_body(x->hx, body, len);
	serve_x_log(x, x->peer);
	net_hx_end(x->hx);
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
	serve_reply(x, status, "text/html; charset=utf-8", body, (size_t)n, NULL,
		    x->req_keep && status < 500);
}
