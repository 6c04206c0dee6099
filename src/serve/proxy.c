/* proxy.c: one request/response exchange between a client connection
 * (conn.c) and an upstream connection (upstream.c): the upstream side, the
 * response and the body bytes (request.c has the request's start).
 *
 * The request head is rewritten, never copied blindly: hop-by-hop fields
 * go (RFC 9110 section 7.6.1), the X-Forwarded-* / Forwarded fields the
 * client sent go too (the proxy is the edge: whatever the client claims
 * about addresses is not passed on as if we had said it), and ours are
 * added.  Bodies are streamed in both directions, never buffered whole:
 * de-framed on the way in (net/h1_server.c for the client's,
 * net_h1_chunked_next for the upstream's) and framed again on the way out
 * (chunked to the upstream when the client sent chunked; h1_server.c to
 * the client).  A WebSocket upgrade (and only that: an h2c upgrade would
 * let a client talk past the proxy) becomes a tunnel once the upstream
 * answers 101.  Errors before the response has started get a short page: 502
 * when the upstream cannot be reached or answers garbage, 504 when it does
 * not answer in time; after it has started, the client connection is
 * closed (a truncated response must not look complete). */
#include "serve/exchange.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	x->req_done = net_hx_body_complete(x->hx) && !x->req_body_started;
	serve_up_timeout(u, x->g->cfg.upstream_timeout_ms, x->req_done);
	/* The body (what came with the head waits in the client's buffer). */
	net_hx_resume(x->hx);
}

static void x_up_drained(void *arg)
{
	struct exchange *x = arg;

	net_hx_resume(x->hx);
}

static void x_log_up_error(struct exchange *x, enum serve_up_error e, const char *why)
{
	static const char *const kind[] = {"cannot connect to", "timed out waiting for",
					   "invalid response from", "connection closed by"};
	const struct serve_addr *a = serve_x_addr(x);

	atomic_fetch_add_explicit(&x->w->srv->m.upstream_errors[e], 1, memory_order_relaxed);
	serve_log_error(x->g->log, "%s upstream %s for %s: %s", kind[e], a->text, x->host, why);
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
		net_hx_abort(x->hx);
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
		net_hx_abort(x->hx);
		return;
	}
	x_retry_or_fail(x, e, why);
}

static void x_up_eof(void *arg)
{
	struct exchange *x = arg;

	if (x->tunnel) {
		net_hx_end(x->hx); /* (the tunnel's end closes the connection) */
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
		net_hx_flush(x->hx);
		net_hx_abort(x->hx);
		return;
	}
	x_retry_or_fail(x, UP_ERR_CLOSED, "closed before answering");
}

/* ---- the response coming back ------------------------------------------------------ */

/* The client's response head from the upstream's: its fields but the
 * hop-by-hop ones (the net engine frames the body and says what becomes of
 * the connection), those the site sets itself and, with HSTS, the
 * upstream's Strict-Transport-Security.  -1 when it cannot be sent. */
static int client_head(struct exchange *x)
{
	const struct net_h1_msg *m = x->resp;
	const struct serve_site *site = x->gs->site;
	struct net_hfield f[NET_H1_MAX_FIELDS + 1 + SERVE_MAX_HEADERS];
	enum net_body body = NET_BODY_NONE;
	size_t n = 0;

	for (size_t i = 0; i < m->nfields; i++) {
		const struct net_h1_field *hf = &m->fields[i];
		const char *name = x->rin + hf->name;
		bool mine = false;

		if (hf->hop)
			continue;
		/* Headers the site sets replace the upstream's. */
		for (size_t k = 0; k < site->nheaders && !mine; k++)
			mine = serve_x_span_is(name, hf->name_len, site->headers[k].name);
		if (mine || (x->tls && x->gs->hsts[0] != '\0' &&
			     serve_x_span_is(name, hf->name_len, "strict-transport-security")))
			continue;
		/* (the engine writes the length of a body that follows; a
		 * HEAD's or 304's Content-Length goes as it is) */
		if (m->framing == NET_H1_LENGTH && serve_x_span_is(name, hf->name_len, "content-length"))
			continue;
		f[n++] = (struct net_hfield){name, hf->name_len, x->rin + hf->value, hf->value_len};
	}
	if (m->status == 101) {
		const struct net_h1_field *u = &m->fields[m->upgrade_field];

		f[n++] = (struct net_hfield){"Upgrade", 7, x->rin + u->value, u->value_len};
	} else if (m->status >= 200) {
		n += serve_x_site_fields(f + n, sizeof(f) / sizeof(f[0]) - n, x->gs, x->tls);
		body = m->framing == NET_H1_NO_BODY   ? NET_BODY_NONE
		       : m->framing == NET_H1_LENGTH ? NET_BODY_LENGTH
						     : NET_BODY_STREAM;
	}
	/* A body that ends with the upstream's connection ends the client's
	 * too, as it came (not made chunked). */
	return net_hx_head(x->hx, m->status, m->reason_len > 0 ? x->rin + m->reason : NULL,
			   m->reason_len, f, n, body, m->content_length,
			   m->framing == NET_H1_TO_CLOSE ? NET_HX_CLOSE : 0);
}

static void x_send(struct exchange *x, const char *p, size_t n)
{
	net_hx_body(x->hx, p, n);
	x->bytes += n;
}

/* Flush what was queued for the client; pause the upstream if the client
 * is not keeping up. */
static void x_flush(struct exchange *x)
{
	net_hx_flush(x->hx);
	if (x->up != NULL && !x->paused_up && net_hx_queued(x->hx) > SERVE_HIGH_WATER) {
		serve_up_pause(x->up, true);
		x->paused_up = true;
	}
}

void serve_x_client_drained(void *arg)
{
	struct exchange *x = arg;

	if (x->up != NULL && x->paused_up) {
		x->paused_up = false;
		serve_up_pause(x->up, false);
	}
}

static void x_finish(struct exchange *x)
{
	/* net_hx_end sends what is queued (with the close_notify, in one
	 * write, when the connection ends). */
	serve_x_log(x, x->peer);
	if (x->up != NULL) {
		serve_up_release(x->up, x->resp_keep && x->req_done &&
					     x->resp_framing != NET_H1_TO_CLOSE);
		x->up = NULL;
	}
	net_hx_end(x->hx);
}

/* A chunked body: only the data goes on (the net engine frames it again
 * for the client: chunked, or until close for HTTP/1.0; trailer fields are
 * dropped).  Returns what x_body returns. */
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
	case NET_H1_CHUNKED:
		return x_dechunk(x, p, n, done);
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
		/* (an early answer, the rest of the request body not sent:
		 * the engine closes the client's connection after it) */
		if (!x->req_done)
			x->resp_keep = false;
	}
	if (client_head(x) != 0) {
		net_hx_abort(x->hx);
		return false;
	}
	if (m->status == 101) {
		x->tunnel = true;
		atomic_fetch_add_explicit(&x->w->srv->m.websockets, 1, memory_order_relaxed);
		serve_up_timeout(x->up, 0, false);
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
		net_hx_body(x->hx, p, n);
		return true;
	}
	used = x_body(x, p, n, &done);
	if (used == SIZE_MAX) {
		x_log_up_error(x, UP_ERR_INVALID, "bad chunked body");
		net_hx_flush(x->hx);
		net_hx_abort(x->hx);
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
		net_hx_body(x->hx, p, n);
		x_flush(x);
		return;
	}
	if (!x->resp_head_done) {
		char *head_rest;
		size_t rest;
		bool more;

		/* (a tunnel's 101 is a complete head too: the loop ends there) */
		while (!x->resp_head_done) {
			enum net_h1_result r;
			size_t take = rin_fill(x, p, n);

			if (take == SIZE_MAX) {
				net_hx_abort(x->hx);
				return;
			}
			p += take;
			n -= take;
			if (x->resp == NULL) {
				if ((x->resp = malloc(sizeof(*x->resp))) == NULL) {
					net_hx_abort(x->hx);
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
			net_h1_msg_reset(x->resp); /* after a 1xx, the real head follows */
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
		/* The body's first bytes were read with the head. */
		head_rest = x->rin;
		rest = x->rin_len;
		x->rin = NULL;
		x->rin_len = x->rin_cap = 0;
		more = x_bytes(x, head_rest, rest, n == 0);
		free(head_rest);
		if (!more)
			return;
	}
	if (!x_bytes(x, p, n, true))
		return;
	x_flush(x);
}

/* ---- the client side's events (net/http_app.h) ------------------------------------ */

/* A request body that cannot go on: an error page while nothing of it has
 * gone upstream (and no answer has come), else the connection is cut (the
 * upstream connection is not reused either way). */
static void refuse_body(struct exchange *x, int status, const char *text)
{
	if (x->resp_any || x->req_body_started) {
		net_hx_abort(x->hx);
		return;
	}
	x->req_keep = false;
	serve_up_release(x->up, false);
	x->up = NULL;
	serve_x_page(x, status, text);
}

void serve_x_client_invalid(void *arg)
{
	refuse_body(arg, 400, "The request body is not valid chunked encoding.");
}

/* Body bytes (or tunnel bytes) from the client: how many were taken
 * (fewer when the upstream is not ready or is full). */
size_t serve_x_client_body(void *arg, const char *p, size_t n)
{
	struct exchange *x = arg;
	int r;

	if (x->up == NULL || !x->up_ready)
		return 0;
	if (serve_up_write_queue(x->up) > SERVE_HIGH_WATER)
		return 0;
	if (x->tunnel)
		return serve_up_write(x->up, p, n) == 0 ? n : 0;
	x->req_bytes += n;
	if (x->g->cfg.max_body_size > 0 && x->req_bytes > (uint64_t)x->g->cfg.max_body_size) {
		refuse_body(x, 413, "The request body is larger than this site accepts.");
		return 0;
	}
	if (x->req_chunked) {
		char size[24];
		int k = snprintf(size, sizeof(size), "%zx\r\n", n);

		r = serve_up_write(x->up, size, (size_t)k);
		r = r != 0 ? r : serve_up_write(x->up, p, n);
		r = r != 0 ? r : serve_up_write(x->up, "\r\n", 2);
	} else {
		r = serve_up_write(x->up, p, n);
	}
	x->req_body_started = true;
	if (r != 0) {
		net_hx_abort(x->hx);
		return 0;
	}
	return n;
}

void serve_x_client_body_end(void *arg)
{
	struct exchange *x = arg;

	if (x->up == NULL)
		return;
	if (x->req_chunked) {
		x->req_body_started = true;
		if (serve_up_write(x->up, "0\r\n\r\n", 5) != 0) {
			net_hx_abort(x->hx);
			return;
		}
	}
	x->req_done = true;
	serve_up_timeout(x->up, x->g->cfg.upstream_timeout_ms, true);
}

/* The client finished sending in a tunnel: the half-close is passed on,
 * the upstream may still answer. */
void serve_x_client_eof(void *arg)
{
	struct exchange *x = arg;

	if (x->up != NULL)
		serve_up_shutdown_write(x->up);
}

void serve_x_done(void *arg)
{
	struct exchange *x = arg;

	if (x == NULL)
		return;
	if (x->up != NULL)
		serve_up_release(x->up, false);
	moat_buf_free(&x->head);
	free(x->rin);
	free(x->resp);
	free(x);
}
