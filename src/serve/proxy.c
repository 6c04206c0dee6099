/* proxy.c: one request/response exchange between a client connection
 * (conn.c) and an upstream connection (upstream.c): the upstream side, the
 * response and the body bytes (request.c has the request's start).
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
#include "serve/exchange.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/err.h"

#define RESP_HEAD_MAX NET_H1_MAX_HEAD

static void x_retry_or_fail(struct exchange *x, enum serve_up_error e, const char *why);

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

const struct serve_addr *serve_x_addr(const struct exchange *x)
{
	size_t tried = x->attempt > 0 ? x->attempt - 1 : 0;

	return &x->gs->addrs[(x->rr_base + tried) % x->gs->naddrs];
}

void serve_x_connect(struct exchange *x)
{
	/* The first address is the site's next in turn (round robin); a
	 * retry goes to the one after it, and so on, from this exchange's own
	 * start: other requests moving the turn on meanwhile must not send
	 * the retry back to the address that just failed. */
	if (x->attempt == 0)
		x->rr_base = atomic_fetch_add_explicit(&x->gs->rr, 1, memory_order_relaxed);
	x->attempt++;
	x->up_ready = false;
	x->up = serve_up_get(x->w, serve_x_addr(x), x->g->cfg.upstream_connect_timeout_ms, x->fresh,
			     &x_ops, x);
	x->fresh = false;
	if (x->up == NULL)
		x_retry_or_fail(x, UP_ERR_CONNECT, "out of memory");
}

static void x_up_connected(void *arg, struct up *u)
{
	struct exchange *x = arg;

	x->head_sent = true;
	if (serve_up_write(u, x->head.data, x->head.len) != 0) {
		x_retry_or_fail(x, UP_ERR_CLOSED, "write failed");
		return;
	}
	x->up_ready = true;
	if (x->req_framing == NET_H1_NO_BODY ||
	    (x->req_framing == NET_H1_LENGTH && x->req_left == 0))
		x->req_done = true;
	serve_up_timeout(u, x->g->cfg.upstream_timeout_ms, x->req_done);
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
	const struct serve_addr *a = serve_x_addr(x);

	atomic_fetch_add_explicit(&x->w->srv->m.upstream_errors[e], 1, memory_order_relaxed);
	if (x->g->log != NULL)
		serve_log_error(x->g->log, "%s upstream %s for %s: %s", kind[e], a->text,
				x->host, why);
}

/* Methods a proxy may send again when a connection failed under them
 * (RFC 9110 section 9.2.2). */
static bool idempotent(const char *m)
{
	return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "OPTIONS") == 0 ||
	       strcmp(m, "TRACE") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "DELETE") == 0;
}

/* Before the response has started: try the next upstream address (a
 * connection that could not be made), or a new connection when a pooled
 * one was closed under the request -- if the upstream never got it or the
 * method is idempotent (it may have been processed: a POST must not be
 * done twice) -- else answer 502/504. */
static void x_retry_or_fail(struct exchange *x, enum serve_up_error e, const char *why)
{
	bool reused = x->up != NULL && serve_up_reused(x->up);

	if (x->up != NULL) {
		serve_up_release(x->up, false);
		x->up = NULL;
	}
	if (!x->resp_any && !x->req_body_started &&
	    ((e == UP_ERR_CONNECT && x->attempt < x->gs->naddrs) ||
	     (e == UP_ERR_CLOSED && reused && (!x->head_sent || idempotent(x->method))))) {
		x->head_sent = false;
		if (e == UP_ERR_CLOSED) {
			x->attempt--; /* the same address, on a new connection */
			x->fresh = true;
		} else {
			x_log_up_error(x, e, why);
		}
		serve_x_connect(x);
		return;
	}
	x_log_up_error(x, e, why);
	if (x->resp_head_done) {
		serve_conn_abort(x->c);
		return;
	}
	if (e == UP_ERR_TIMEOUT)
		serve_x_page(x, 504, "The application server behind this site did not answer in time.");
	else
		serve_x_page(x, 502, "The application server behind this site is not reachable or "
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

	{
		/* The parser has checked that the status has three digits. */
		char line[] = "HTTP/1.1 000 ";

		line[9] = (char)('0' + m->status / 100 % 10);
		line[10] = (char)('0' + m->status / 10 % 10);
		line[11] = (char)('0' + m->status % 10);
		moat_buf_puts(b, line);
	}
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
			mine = serve_x_span_is(name, f->name_len, site->headers[k].name);
		if (mine || (x->tls && x->gs->hsts[0] != '\0' &&
			     serve_x_span_is(name, f->name_len, "strict-transport-security")))
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
		if (x->resp_framing == NET_H1_CHUNKED && !x->dechunk)
			moat_buf_puts(b, "Transfer-Encoding: chunked\r\n");
		serve_x_site_headers(b, x->gs, x->tls);
		if (!x->client_keep)
			moat_buf_puts(b, "Connection: close\r\n");
		else if (x->version_minor == 0)
			moat_buf_puts(b, "Connection: keep-alive\r\n");
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
	/* serve_conn_exchange_done sends what is queued (with the
	 * close_notify, in one write, when the connection ends). */
	serve_x_log(x, x->peer);
	if (x->up != NULL) {
		serve_up_release(x->up, x->resp_keep && x->req_done &&
					     x->resp_framing != NET_H1_TO_CLOSE);
		x->up = NULL;
	}
	serve_conn_exchange_done(x->c, keep);
}

/* A chunked body for an HTTP/1.0 client, which does not know chunked:
 * only the data goes on, and the end of the connection ends it (trailer
 * fields are dropped).  Returns what x_body returns. */
static size_t x_dechunk(struct exchange *x, const char *p, size_t n, bool *done)
{
	size_t off = 0;

	while (off < n) {
		size_t used, d, dl;
		enum net_h1_chunk_result r =
			net_h1_chunked_next(&x->resp_ck, p + off, n - off, &used, &d, &dl);

		if (r == NET_H1_CHUNK_ERROR)
			return SIZE_MAX;
		if (dl > 0)
			x_send(x, p + off + d, dl);
		off += used;
		if (r == NET_H1_CHUNK_DONE) {
			*done = true;
			break;
		}
	}
	return off;
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
		enum net_h1_chunk_result r;

		if (x->dechunk)
			return x_dechunk(x, p, n, done);
		r = net_h1_chunked_scan(&x->resp_ck, p, n, &used);
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
		/* After a HEAD, 204 or 304 that announced a body, bytes the
		 * upstream sends late would be read as the next request's
		 * answer -- another client's: not reused. */
		x->resp_keep = m->keep_alive && m->framing != NET_H1_TO_CLOSE &&
			       !(m->framing == NET_H1_NO_BODY && m->body_declared);
		/* An early answer (the rest of the body unread) and a body that
		 * ends with the connection both end the client's too. */
		x->client_keep = x->req_keep && x->req_done && m->framing != NET_H1_TO_CLOSE;
		/* HTTP/1.0 knows no chunked: the data alone, ended by closing. */
		x->dechunk = m->framing == NET_H1_CHUNKED && x->version_minor == 0;
		if (x->dechunk)
			x->client_keep = false;
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
		serve_up_timeout(x->up, 0, false);
		serve_conn_tunnel_activity(x->c);
		serve_x_log(x, x->peer); /* logged when it starts: tunnels last */
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

bool serve_exchange_awaits_body(const struct exchange *x)
{
	return x->up != NULL && x->up_ready && !x->req_done && !x->tunnel;
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
	serve_x_page(x, status, text);
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
	if (x->req_done)
		return 0; /* pipelined (or after an upgrade's body): waits for
			   * this response, or the 101 */
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
		serve_up_timeout(x->up, x->g->cfg.upstream_timeout_ms, true);
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
