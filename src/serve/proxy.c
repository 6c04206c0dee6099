/* proxy.c: one request/response exchange between a client connection
 * (conn.c) and an upstream connection (upstream.c).
 *
 * The request head is rewritten, never copied blindly: hop-by-hop fields
 * go (RFC 9110 section 7.6.1), the X-Forwarded-* / Forwarded fields the
 * client sent go too (the proxy is the edge: whatever the client claims
 * about addresses is not passed on as if we had said it), and ours are
 * added.  Bodies are streamed in both directions with their framing kept
 * (Content-Length, or chunked checked chunk by chunk), never buffered
 * whole.  A WebSocket upgrade (and only that: an h2c upgrade would let a
 * client talk past the proxy) becomes a tunnel once the upstream answers
 * 101.  Errors before the response has started get a short page: 502
 * when the upstream cannot be reached or answers garbage, 504 when it does
 * not answer in time; after it has started, the client connection is
 * closed (a truncated response must not look complete). */
#include "serve/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/err.h"

#define RESP_HEAD_MAX NET_H1_MAX_HEAD

struct exchange {
	struct pconn *c;
	struct serve_worker *w;
	struct serve_gen *g;
	struct serve_gen_site *gs;
	struct up *up;
	size_t attempt;   /* upstream addresses tried */
	bool tls;
	/* the request */
	struct moat_buf head; /* as sent upstream; kept for a retry */
	enum net_h1_framing req_framing;
	uint64_t req_left;
	uint64_t req_bytes;
	struct net_h1_chunked req_ck;
	bool req_done;
	bool req_body_started; /* body bytes have gone upstream: no retry */
	bool req_keep;
	bool upgrade;
	bool head_req;
	/* the response */
	char *rin;
	size_t rin_len, rin_cap;
	struct net_h1_msg *resp;
	bool resp_head_done;
	bool resp_any;        /* a byte came from the upstream */
	enum net_h1_framing resp_framing;
	uint64_t resp_left;
	struct net_h1_chunked resp_ck;
	bool resp_keep;   /* the upstream connection can be reused after it */
	bool client_keep; /* the client connection stays open after it */
	bool tunnel;
	bool paused_up;
	bool finished;
	bool fresh;      /* the next connection must be a new one */
	bool up_ready;   /* the head has been written to x->up */
	int status;
	uint64_t bytes;
	struct timespec t0;
	/* for the access log */
	int version_minor;
	char method[33];
	char target[1024];
	char host[256];
	char referer[256];
	char ua[256];
	const char *peer;
};

static void x_retry_or_fail(struct exchange *x, enum serve_up_error e, const char *why);

/* ---- small helpers ------------------------------------------------------------- */

static void copy_span(char *dst, size_t n, const char *p, size_t len)
{
	if (len >= n)
		len = n - 1;
	memcpy(dst, p, len);
	dst[len] = '\0';
}

static bool span_is(const char *p, size_t len, const char *s)
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
		if (span_is(p + a, b - a, tok))
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
	return span_is(n, len, "x-forwarded-for") || span_is(n, len, "x-forwarded-proto") ||
	       span_is(n, len, "x-forwarded-host") || span_is(n, len, "forwarded") ||
	       span_is(n, len, "x-real-ip");
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* "Date: ...\r\n", formatted once a second per thread. */
static const char *date_line(void)
{
	static _Thread_local char line[64];
	static _Thread_local time_t last;
	static const char days[][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t now = time(NULL);
	struct tm tm;

	if (now != last && gmtime_r(&now, &tm) != NULL) {
		snprintf(line, sizeof(line), "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n",
			 days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
			 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
		last = now;
	}
	return line;
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 421: return "Misdirected Request";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
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

static void x_log(struct exchange *x, const char *peer)
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
	a.upstream = x->up != NULL || x->attempt > 0
			     ? x->gs->addrs[(x->attempt ? x->attempt - 1 : 0) % x->gs->naddrs].text
			     : "";
	a.tls = x->tls;
	serve_log_access(x->g->log, &a);
}

/* ---- answers made here ------------------------------------------------------------ */

/* HSTS and the site's own headers, for every response on HTTPS. */
static void site_headers(struct moat_buf *b, const struct serve_gen_site *gs, bool tls)
{
	if (gs == NULL)
		return;
	if (tls && gs->hsts[0] != '\0')
		moat_buf_printf(b, "Strict-Transport-Security: %s\r\n", gs->hsts);
	for (size_t i = 0; i < gs->site->nheaders; i++)
		moat_buf_printf(b, "%s: %s\r\n", gs->site->headers[i].name,
				gs->site->headers[i].value);
}

void serve_reply(struct pconn *c, struct exchange *x, int status, const char *ctype,
		 const char *body, size_t len, const char *location, bool keep_alive)
{
	struct moat_buf b = MOAT_BUF_INIT;
	bool head_only = x != NULL && x->head_req;

	moat_buf_printf(&b, "HTTP/1.1 %d %s\r\nServer: moat\r\n%s", status, reason(status),
			date_line());
	if (location != NULL)
		moat_buf_printf(&b, "Location: %s\r\n", location);
	moat_buf_printf(&b, "Content-Type: %s\r\nContent-Length: %zu\r\n",
			ctype != NULL ? ctype : "text/plain; charset=utf-8", len);
	if (x != NULL)
		site_headers(&b, x->gs, x->tls);
	if (!keep_alive)
		moat_buf_puts(&b, "Connection: close\r\n");
	moat_buf_puts(&b, "\r\n");
	if (!head_only && len > 0)
		moat_buf_append(&b, body, len);
	serve_conn_queue(c, b.data, b.len);
	moat_buf_free(&b);
	if (x != NULL) {
		x->status = status;
		x->bytes = head_only ? 0 : len;
		x->finished = true;
		x_log(x, x->peer);
	} else {
		count_status(serve_conn_worker(c)->srv, status);
	}
	serve_conn_exchange_done(c, keep_alive);
}

static void x_page(struct exchange *x, int status, const char *text)
{
	char body[600];
	int n = snprintf(body, sizeof(body),
			 "<!doctype html>\n<title>%d %s</title>\n<h1>%d %s</h1>\n<p>%s</p>\n",
			 status, reason(status), status, reason(status), text);

	if (n < 0 || (size_t)n >= sizeof(body))
		n = 0;
	serve_reply(x->c, x, status, "text/html; charset=utf-8", body, (size_t)n, NULL,
		    x->req_done && x->req_keep && status < 500);
}

/* ---- the request going upstream ---------------------------------------------------- */

/* The Host the client asked for, without its port: from an absolute-form
 * target if there is one (RFC 9112 section 3.2.2), else the Host field. */
static void request_host(const char *buf, const struct net_h1_msg *m, char *out, size_t n)
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
}

/* The path-and-query of the target as the upstream gets it. */
static void upstream_target(const char *buf, const struct net_h1_msg *m, const char **t,
			    size_t *len)
{
	*t = buf + m->target;
	*len = m->target_len;
	if (m->target_form == NET_H1_ABSOLUTE) {
		const char *e = *t + *len, *p = memchr(*t, ':', *len);

		p = p != NULL ? p + 3 : e;
		while (p < e && *p != '/' && *p != '?')
			p++;
		if (p == e) {
			*t = "/";
			*len = 1;
		} else {
			*len = (size_t)(e - p);
			*t = p;
		}
	}
}

static int build_head(struct exchange *x, const char *buf, const struct net_h1_msg *m,
		      const char *peer)
{
	struct moat_buf *b = &x->head;
	const char *t;
	size_t tl;
	bool v6 = strchr(peer, ':') != NULL;

	upstream_target(buf, m, &t, &tl);
	moat_buf_append(b, buf + m->method, m->method_len);
	moat_buf_puts(b, " ");
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
	moat_buf_printf(b, "X-Forwarded-For: %s\r\nX-Real-IP: %s\r\nX-Forwarded-Proto: %s\r\n",
			peer, peer, x->tls ? "https" : "http");
	if (x->host[0] != '\0')
		moat_buf_printf(b, "X-Forwarded-Host: %s\r\n", x->host);
	moat_buf_printf(b, "Forwarded: for=%s%s%s%s", v6 ? "\"[" : "", peer, v6 ? "]\"" : "",
			x->host[0] != '\0' ? ";host=\"" : "");
	if (x->host[0] != '\0')
		moat_buf_printf(b, "%s\"", x->host);
	moat_buf_printf(b, ";proto=%s\r\n\r\n", x->tls ? "https" : "http");
	return b->data != NULL && b->len > 0 ? 0 : -1;
}

/* ---- the upstream connection's events ---------------------------------------------- */

static void x_finish(struct exchange *x);
static void x_up_connected(void *arg, struct up *u);
static void x_up_data(void *arg, const char *p, size_t n);
static void x_up_eof(void *arg);
static void x_up_failed(void *arg, enum serve_up_error e, const char *why);
static void x_up_drained(void *arg);

static const struct up_ops x_ops = {
	.connected = x_up_connected,
	.data = x_up_data,
	.eof = x_up_eof,
	.failed = x_up_failed,
	.drained = x_up_drained,
};

static void x_connect(struct exchange *x)
{
	const struct serve_gen_site *gs = x->gs;
	unsigned base = atomic_load_explicit(&x->gs->rr, memory_order_relaxed);
	const struct serve_addr *a = &gs->addrs[(base + x->attempt) % gs->naddrs];

	if (x->attempt == 0)
		atomic_fetch_add_explicit(&x->gs->rr, 1, memory_order_relaxed);
	x->attempt++;
	x->up_ready = false;
	x->up = serve_up_get(x->w, a, x->g->cfg.upstream_connect_timeout_ms, x->fresh, &x_ops, x);
	x->fresh = false;
	if (x->up == NULL)
		x_retry_or_fail(x, UP_ERR_CONNECT, "out of memory");
}

static void x_up_connected(void *arg, struct up *u)
{
	struct exchange *x = arg;

	if (serve_up_write(u, x->head.data, x->head.len) != 0) {
		x_retry_or_fail(x, UP_ERR_CLOSED, "write failed");
		return;
	}
	x->up_ready = true;
	if (x->req_framing == NET_H1_NO_BODY ||
	    (x->req_framing == NET_H1_LENGTH && x->req_left == 0))
		x->req_done = true;
	serve_up_timeout(u, x->req_done ? x->g->cfg.upstream_timeout_ms : 0);
	/* Body bytes that came with the head wait in the client's buffer. */
	serve_conn_resume(x->c);
}

static void x_up_drained(void *arg)
{
	struct exchange *x = arg;

	serve_conn_resume(x->c);
}

static void x_log_up_error(struct exchange *x, enum serve_up_error e, const char *why)
{
	static const char *const kind[] = {"cannot connect to", "timed out waiting for",
					   "invalid response from", "connection closed by"};
	const struct serve_addr *a = &x->gs->addrs[(x->attempt ? x->attempt - 1 : 0) %
						   x->gs->naddrs];

	atomic_fetch_add_explicit(&x->w->srv->m.upstream_errors[e], 1, memory_order_relaxed);
	if (x->g->log != NULL)
		serve_log_error(x->g->log, "%s upstream %s for %s: %s", kind[e], a->text,
				x->host, why);
}

/* Before the response has started: try the next upstream address (a
 * connection that could not be made, or a pooled one the upstream had
 * closed), else answer 502/504. */
static void x_retry_or_fail(struct exchange *x, enum serve_up_error e, const char *why)
{
	bool reused = x->up != NULL && serve_up_reused(x->up);

	if (x->up != NULL) {
		serve_up_release(x->up, false);
		x->up = NULL;
	}
	if (!x->resp_any && !x->req_body_started &&
	    ((e == UP_ERR_CONNECT && x->attempt < x->gs->naddrs) ||
	     (e == UP_ERR_CLOSED && reused))) {
		if (e == UP_ERR_CLOSED) {
			x->attempt--; /* the same address, on a new connection */
			x->fresh = true;
		} else {
			x_log_up_error(x, e, why);
		}
		x_connect(x);
		return;
	}
	x_log_up_error(x, e, why);
	if (x->resp_head_done) {
		serve_conn_abort(x->c);
		return;
	}
	if (e == UP_ERR_TIMEOUT)
		x_page(x, 504, "The application server behind this site did not answer in time.");
	else
		x_page(x, 502, "The application server behind this site is not reachable or "
			       "did not answer properly.");
}

static void x_up_failed(void *arg, enum serve_up_error e, const char *why)
{
	struct exchange *x = arg;

	if (x->tunnel) {
		serve_conn_abort(x->c);
		return;
	}
	x_retry_or_fail(x, e, why);
}

static void x_up_eof(void *arg)
{
	struct exchange *x = arg;

	if (x->tunnel) {
		serve_conn_flush(x->c);
		x->finished = true;
		serve_conn_exchange_done(x->c, false);
		return;
	}
	if (x->resp_head_done && x->resp_framing == NET_H1_TO_CLOSE) {
		x_finish(x);
		return;
	}
	if (x->resp_head_done) {
		/* Cut short: closing tells the client the response is not
		 * complete. */
		x_log_up_error(x, UP_ERR_CLOSED, "the response was cut short");
		serve_conn_flush(x->c);
		serve_conn_abort(x->c);
		return;
	}
	x_retry_or_fail(x, UP_ERR_CLOSED, "closed before answering");
}

/* ---- the response coming back ------------------------------------------------------ */

/* The client's response head from the upstream's. */
static void client_head(struct exchange *x, struct moat_buf *b)
{
	const struct net_h1_msg *m = x->resp;
	const struct serve_site *site = x->gs->site;

	moat_buf_printf(b, "HTTP/1.1 %d ", m->status);
	moat_buf_append(b, x->rin + m->reason, m->reason_len);
	moat_buf_puts(b, "\r\n");
	for (size_t i = 0; i < m->nfields; i++) {
		const struct net_h1_field *f = &m->fields[i];
		const char *name = x->rin + f->name;
		bool mine = false;

		if (f->hop)
			continue;
		/* Headers the site sets replace the upstream's. */
		for (size_t k = 0; k < site->nheaders && !mine; k++)
			mine = span_is(name, f->name_len, site->headers[k].name);
		if (mine || (x->tls && x->gs->hsts[0] != '\0' &&
			     span_is(name, f->name_len, "strict-transport-security")))
			continue;
		moat_buf_append(b, name, f->name_len);
		moat_buf_puts(b, ": ");
		moat_buf_append(b, x->rin + f->value, f->value_len);
		moat_buf_puts(b, "\r\n");
	}
	if (m->status == 101) {
		const struct net_h1_field *u = &m->fields[m->upgrade_field];

		moat_buf_puts(b, "Connection: upgrade\r\nUpgrade: ");
		moat_buf_append(b, x->rin + u->value, u->value_len);
		moat_buf_puts(b, "\r\n");
	} else if (m->status >= 200) {
		if (x->resp_framing == NET_H1_CHUNKED)
			moat_buf_puts(b, "Transfer-Encoding: chunked\r\n");
		site_headers(b, x->gs, x->tls);
		if (!x->client_keep)
			moat_buf_puts(b, "Connection: close\r\n");
	}
	moat_buf_puts(b, "\r\n");
}

static void x_send(struct exchange *x, const char *p, size_t n)
{
	serve_conn_queue(x->c, p, n);
	x->bytes += n;
}

/* Flush what was queued for the client; pause the upstream if the client
 * is not keeping up. */
static void x_flush(struct exchange *x)
{
	serve_conn_flush(x->c);
	if (x->up != NULL && !x->paused_up && serve_conn_write_queue(x->c) > SERVE_HIGH_WATER) {
		serve_up_pause(x->up, true);
		x->paused_up = true;
	}
}

void serve_exchange_client_drained(struct exchange *x)
{
	if (x->up != NULL && x->paused_up) {
		x->paused_up = false;
		serve_up_pause(x->up, false);
	}
}

static void x_finish(struct exchange *x)
{
	bool keep = x->client_keep && x->req_keep && x->req_done && !x->w->draining;

	x->finished = true;
	x_flush(x);
	x_log(x, x->peer);
	if (x->up != NULL) {
		serve_up_release(x->up, x->resp_keep && x->req_done &&
					     x->resp_framing != NET_H1_TO_CLOSE);
		x->up = NULL;
	}
	serve_conn_exchange_done(x->c, keep);
}

/* Body bytes of the response; returns how many belonged to it (the rest,
 * if any, would be a second response the upstream had no reason to send). */
static size_t x_body(struct exchange *x, const char *p, size_t n, bool *done)
{
	size_t used = n;

	*done = false;
	switch (x->resp_framing) {
	case NET_H1_NO_BODY:
		used = 0;
		*done = true;
		break;
	case NET_H1_LENGTH:
		if (used > x->resp_left)
			used = (size_t)x->resp_left;
		x->resp_left -= used;
		*done = x->resp_left == 0;
		break;
	case NET_H1_CHUNKED: {
		enum net_h1_chunk_result r = net_h1_chunked_scan(&x->resp_ck, p, n, &used);

		if (r == NET_H1_CHUNK_ERROR)
			return SIZE_MAX;
		*done = r == NET_H1_CHUNK_DONE;
		break;
	}
	case NET_H1_TO_CLOSE:
		break;
	}
	if (used > 0)
		x_send(x, p, used);
	return used;
}

/* The response head is complete in x->rin; rest/nrest are the bytes after
 * it.  Returns false when the exchange has ended. */
static bool x_head(struct exchange *x)
{
	struct net_h1_msg *m = x->resp;
	struct moat_buf b = MOAT_BUF_INIT;

	x->status = m->status;
	if (m->status == 101 && !x->upgrade) {
		x_retry_or_fail(x, UP_ERR_INVALID, "101 Switching Protocols without an upgrade");
		return false;
	}
	if (m->status >= 200 || m->status == 101) {
		x->resp_head_done = true;
		x->resp_framing = m->framing;
		x->resp_left = m->content_length;
		net_h1_chunked_init(&x->resp_ck);
		x->resp_keep = m->keep_alive && m->framing != NET_H1_TO_CLOSE;
		/* An early answer (the rest of the body unread) and a body that
		 * ends with the connection both end the client's too. */
		x->client_keep = x->req_keep && x->req_done && m->framing != NET_H1_TO_CLOSE;
		if (!x->req_done)
			x->resp_keep = false;
	}
	client_head(x, &b);
	x_send(x, (const char *)b.data, b.len);
	x->bytes -= b.len; /* the log counts body bytes */
	moat_buf_free(&b);
	if (m->status == 101) {
		x->tunnel = true;
		atomic_fetch_add_explicit(&x->w->srv->m.websockets, 1, memory_order_relaxed);
		serve_up_timeout(x->up, 0);
		serve_conn_tunnel_activity(x->c);
		x_log(x, x->peer); /* logged when it starts: tunnels last */
	}
	return true;
}

/* Move up to n bytes of p into rin (at most RESP_HEAD_MAX in all). */
static size_t rin_fill(struct exchange *x, const char *p, size_t n)
{
	size_t take = n;

	if (take > RESP_HEAD_MAX - x->rin_len)
		take = RESP_HEAD_MAX - x->rin_len;
	if (take == 0)
		return 0;
	if (x->rin_cap - x->rin_len < take) {
		size_t cap = x->rin_cap ? x->rin_cap : 4096;
		char *q;

		while (cap - x->rin_len < take)
			cap *= 2;
		if (cap > RESP_HEAD_MAX)
			cap = RESP_HEAD_MAX;
		if ((q = realloc(x->rin, cap)) == NULL)
			return SIZE_MAX;
		x->rin = q;
		x->rin_cap = cap;
	}
	memcpy(x->rin + x->rin_len, p, take);
	x->rin_len += take;
	return take;
}

/* Response bytes after the head.  false when the exchange has ended. */
static bool x_bytes(struct exchange *x, const char *p, size_t n, bool last)
{
	bool done;
	size_t used;

	if (n == 0)
		return true;
	if (x->tunnel) {
		serve_conn_queue(x->c, p, n);
		return true;
	}
	used = x_body(x, p, n, &done);
	if (used == SIZE_MAX) {
		x_log_up_error(x, UP_ERR_INVALID, "bad chunked body");
		serve_conn_flush(x->c);
		serve_conn_abort(x->c);
		return false;
	}
	if (done) {
		/* Bytes after the end: the upstream is confused; not reused. */
		x->resp_keep = x->resp_keep && used == n && last;
		x_finish(x);
		return false;
	}
	return true;
}

static void x_up_data(void *arg, const char *p, size_t n)
{
	struct exchange *x = arg;

	x->resp_any = true;
	if (x->tunnel) {
		serve_conn_queue(x->c, p, n);
		serve_conn_tunnel_activity(x->c);
		x_flush(x);
		return;
	}
	if (x->req_done)
		serve_up_timeout(x->up, x->g->cfg.upstream_timeout_ms);
	if (!x->resp_head_done) {
		size_t take = rin_fill(x, p, n);

		if (take == SIZE_MAX) {
			serve_conn_abort(x->c);
			return;
		}
		p += take;
		n -= take;
		while (!x->resp_head_done) {
			enum net_h1_result r;
			size_t rest;

			if (x->resp == NULL) {
				if ((x->resp = malloc(sizeof(*x->resp))) == NULL) {
					serve_conn_abort(x->c);
					return;
				}
				net_h1_msg_reset(x->resp);
			}
			r = net_h1_parse_response(x->rin, x->rin_len, RESP_HEAD_MAX, x->method,
						  strlen(x->method), x->resp);
			if (r == NET_H1_MORE && x->rin_len < RESP_HEAD_MAX) {
				x_flush(x); /* a 1xx may be waiting */
				return;
			}
			if (r != NET_H1_DONE) {
				x_retry_or_fail(x, UP_ERR_INVALID,
						r == NET_H1_MORE ? "response head too large"
								 : "malformed response head");
				return;
			}
			if (!x_head(x))
				return;
			rest = x->rin_len - x->resp->head_len;
			memmove(x->rin, x->rin + x->resp->head_len, rest);
			x->rin_len = rest;
			net_h1_msg_reset(x->resp);
			if (!x->resp_head_done && !x->tunnel) {
				/* After a 1xx: the real head follows. */
				take = rin_fill(x, p, n);
				if (take == SIZE_MAX) {
					serve_conn_abort(x->c);
					return;
				}
				p += take;
				n -= take;
			}
			if (x->tunnel)
				break;
		}
		free(x->resp);
		x->resp = NULL;
		if (!x->tunnel && (x->resp_framing == NET_H1_NO_BODY ||
				   (x->resp_framing == NET_H1_LENGTH && x->resp_left == 0))) {
			/* No body (204, 304, HEAD, Content-Length: 0): done now;
			 * bytes after it mean the upstream is confused. */
			x->resp_keep = x->resp_keep && x->rin_len == 0 && n == 0;
			x_finish(x);
			return;
		}
		{
			/* The body's first bytes were read with the head. */
			size_t rest = x->rin_len;
			char *head_rest = x->rin;

			x->rin = NULL;
			x->rin_len = x->rin_cap = 0;
			if (!x_bytes(x, head_rest, rest, n == 0)) {
				free(head_rest);
				return;
			}
			free(head_rest);
		}
	}
	if (!x_bytes(x, p, n, true))
		return;
	x_flush(x);
}

/* ---- the client side's events ------------------------------------------------------ */

bool serve_exchange_body_done(const struct exchange *x)
{
	return x->req_done && !x->tunnel;
}

bool serve_exchange_is_tunnel(const struct exchange *x)
{
	return x->tunnel;
}

/* A request body that cannot go on: an error page while nothing of it has
 * gone upstream (and no answer has come), else the connection is cut (the
 * upstream connection is not reused either way). */
static void refuse_body(struct exchange *x, int status, const char *text)
{
	if (x->resp_any || x->req_body_started) {
		serve_conn_abort(x->c);
		return;
	}
	x->req_keep = false;
	x->req_done = true;
	serve_up_release(x->up, false);
	x->up = NULL;
	x_page(x, status, text);
}

size_t serve_exchange_client_data(struct exchange *x, const char *p, size_t n)
{
	size_t used = n;

	if (x->up == NULL || !x->up_ready)
		return 0;
	if (x->tunnel) {
		if (serve_up_write_queue(x->up) > SERVE_HIGH_WATER)
			return 0;
		serve_conn_tunnel_activity(x->c);
		return serve_up_write(x->up, p, n) == 0 ? n : 0;
	}
	if (x->req_done || x->upgrade)
		return 0; /* pipelined: waits for this response (or the 101) */
	if (serve_up_write_queue(x->up) > SERVE_HIGH_WATER)
		return 0;
	if (x->req_framing == NET_H1_LENGTH) {
		if (used > x->req_left)
			used = (size_t)x->req_left;
		x->req_left -= used;
		if (x->req_left == 0)
			x->req_done = true;
	} else if (x->req_framing == NET_H1_CHUNKED) {
		enum net_h1_chunk_result r = net_h1_chunked_scan(&x->req_ck, p, n, &used);

		if (r == NET_H1_CHUNK_ERROR) {
			refuse_body(x, 400, "The request body is not valid chunked encoding.");
			return 0;
		}
		if (r == NET_H1_CHUNK_DONE)
			x->req_done = true;
	}
	x->req_bytes += used;
	if (x->g->cfg.max_body_size > 0 && x->req_bytes > (uint64_t)x->g->cfg.max_body_size) {
		refuse_body(x, 413, "The request body is larger than this site accepts.");
		return 0;
	}
	if (used > 0) {
		x->req_body_started = true;
		if (serve_up_write(x->up, p, used) != 0) {
			serve_conn_abort(x->c);
			return 0;
		}
	}
	if (x->req_done)
		serve_up_timeout(x->up, x->g->cfg.upstream_timeout_ms);
	return used;
}

void serve_exchange_client_eof(struct exchange *x)
{
	if (x->tunnel && x->up != NULL) {
		/* The client is done sending: pass the half-close on, the
		 * upstream may still answer. */
		serve_up_shutdown_write(x->up);
		return;
	}
	if (x->req_done) {
		/* The whole request is here and the client only stopped
		 * sending (`printf ... | openssl s_client` does that): it gets
		 * its answer, then the connection closes. */
		x->req_keep = false;
		x->client_keep = false;
		return;
	}
	serve_conn_abort(x->c);
}

void serve_exchange_free(struct exchange *x)
{
	if (x == NULL)
		return;
	if (x->up != NULL)
		serve_up_release(x->up, false);
	if (x->tunnel && !x->finished)
		x->finished = true;
	moat_buf_free(&x->head);
	free(x->rin);
	free(x->resp);
	free(x);
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
 * proxying as plain HTTP.  true when answered. */
static bool plain_answer(struct exchange *x, const char *path)
{
	static const char prefix[] = "/.well-known/acme-challenge/";
	struct serve *s = x->w->srv;
	char location[1400], host[256];
	char *colon;

	if (strncmp(path, prefix, sizeof(prefix) - 1) == 0) {
		char ka[256];

		if (serve_acme_token(s, path + sizeof(prefix) - 1, ka, sizeof(ka))) {
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
	/* The host as asked (its characters were checked by the parser),
	 * without the port; the https port if it is not 443. */
	snprintf(host, sizeof(host), "%s", x->host);
	colon = strrchr(host, ':');
	if (colon != NULL && strchr(colon, ']') == NULL)
		*colon = '\0';
	if (s->https_port == 443)
		snprintf(location, sizeof(location), "https://%s%s", host, path);
	else
		snprintf(location, sizeof(location), "https://%s:%u%s", host,
			 (unsigned)s->https_port, path);
	serve_reply(x->c, x, 308, NULL, "308 use https\n", 14, location, x->req_keep);
	return true;
}

void serve_exchange_start(struct pconn *c, struct serve_gen *g, bool tls,
			  const char *peer, const char *sni, const char *buf,
				      const struct net_h1_msg *m)
{
	struct exchange *x = calloc(1, sizeof(*x));
	const char *t;
	size_t tl;
	char path[1100];

	if (x == NULL) {
		serve_conn_abort(c);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &x->t0);
	x->c = c;
	x->w = serve_conn_worker(c);
	x->g = g;
	x->tls = tls;
	x->peer = peer;
	x->version_minor = m->version_minor;
	x->req_keep = m->keep_alive;
	x->req_framing = m->framing;
	x->req_left = m->content_length;
	net_h1_chunked_init(&x->req_ck);
	copy_span(x->method, sizeof(x->method), buf + m->method, m->method_len);
	copy_span(x->target, sizeof(x->target), buf + m->target, m->target_len);
	x->head_req = strcmp(x->method, "HEAD") == 0;
	request_host(buf, m, x->host, sizeof(x->host));
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

	upstream_target(buf, m, &t, &tl);
	copy_span(path, sizeof(path), t, tl);
	if (m->target_form == NET_H1_AUTHORITY || strcmp(x->method, "CONNECT") == 0) {
		x->req_keep = false;
		serve_reply(c, x, 405, NULL, "405 this is not a forward proxy\n", 32, NULL, false);
		return;
	}
	if (!tls && plain_answer(x, path))
		return;
	if (x->gs == NULL) {
		x_page(x, 421, "No site with this name is served here.");
		return;
	}
	if (g->cfg.max_body_size > 0 && m->framing == NET_H1_LENGTH &&
	    m->content_length > (uint64_t)g->cfg.max_body_size) {
		x->req_keep = false;
		x->req_done = true;
		x_page(x, 413, "The request body is larger than this site accepts.");
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
	x_connect(x);
}
