/* conn.c: the proxy's client connections -- accepted on the worker's
 * listeners, served by the net engine's HTTP/1.1 server (net/h1_server.h:
 * heads, bodies, framing, keep-alive, the timeouts, TLS through
 * net/stream.h), their requests handed to the exchange (request.c,
 * proxy.c: serve_app_ops).  What is left here is the worker's own: its
 * list of connections (for draining and the end), max-connections, the
 * counters and the log lines of a connection's end. */
#include "serve/internal.h"

#include <stdlib.h>

/* The parser reads at most NET_H1_MAX_HEAD bytes of a head. */
static size_t max_head(const struct serve_config *c)
{
	return c->max_header_size < NET_H1_MAX_HEAD ? (size_t)c->max_header_size : NET_H1_MAX_HEAD;
}

static void on_rejected(void *arg, const char *in, size_t len, int status)
{
	serve_request_rejected(arg, in, len, status);
}

static void on_send_timeout(void *arg)
{
	struct pconn *c = arg;

	/* The client's doing, with nothing in the access log: say it in the
	 * error log, or a download cut off looks like a network fault. */
	serve_log_error(c->gen->log, "client %s took nothing of a response for %d ms "
			"(send-timeout): connection closed", net_h1s_peer(c->h),
			c->gen->cfg.send_timeout_ms);
}

/* The connection is gone: the last call for c. */
static void on_closed(void *arg)
{
	struct pconn *c = arg;
	struct serve_worker *w = c->w;

	if (c->listed) {
		LIST_REMOVE(c, link);
		w->nconns--;
		atomic_fetch_sub(&w->srv->m.conns_open[c->tls ? 0 : 1], 1);
	}
	serve_gen_unref(c->gen);
	free(c);
	if (w->draining && w->nconns == 0)
		uv_async_send(&w->wake);
}

static const struct net_h1s_ops h1s_ops = {
	.rejected = on_rejected,
	.send_timeout = on_send_timeout,
	.closed = on_closed,
};

void serve_conn_accept(uv_stream_t *ls, int status)
{
	struct serve_listener *l = ls->data;
	struct serve_worker *w = l->w;
	struct serve *s = w->srv;
	const struct serve_config *cfg = &w->gen->cfg;
	struct net_h1s_limits lim;
	struct pconn *c;
	bool refuse;

	if (status != 0) {
		/* libuv has already dropped the connection (at the descriptor
		 * limit it accepts and closes it): say so, once a second. */
		uint64_t now = uv_now(&w->loop);

		if (now - w->accept_err_logged >= 1000 || w->accept_err_logged == 0) {
			w->accept_err_logged = now ? now : 1;
			serve_log_error(w->gen->log, "cannot accept a connection: %s",
					uv_strerror(status));
		}
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return;
	/* Over max-connections or draining: accepted to be closed at once,
	 * without TLS state. */
	refuse = w->nconns >= (size_t)cfg->max_connections || w->draining;
	c->w = w;
	c->gen = serve_gen_ref(w->gen);
	c->tls = l->tls;
	lim.max_head = max_head(cfg);
	lim.header_timeout_ms = cfg->header_timeout_ms;
	lim.idle_timeout_ms = cfg->idle_timeout_ms;
	lim.send_timeout_ms = cfg->send_timeout_ms;
	c->h = net_h1s_accept(ls, l->tls ? w->gen->tls : NULL, &w->buf, &s->m.net, &lim, &h1s_ops, c,
			      &serve_app_ops, c, refuse);
	if (c->h == NULL || refuse) {
		atomic_fetch_add_explicit(&s->m.rejected, 1, memory_order_relaxed);
		if (c->h == NULL)
			on_closed(c);
		return; /* (a refused one: on_closed from the loop) */
	}
	c->listed = true;
	LIST_INSERT_HEAD(&w->conns, c, link);
	w->nconns++;
	atomic_fetch_add_explicit(&s->m.conns_total[l->tls ? 0 : 1], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->m.conns_open[l->tls ? 0 : 1], 1, memory_order_relaxed);
}

void serve_conn_drain_all(struct serve_worker *w)
{
	struct pconn *c, *next;

	for (c = LIST_FIRST(&w->conns); c != NULL; c = next) {
		next = LIST_NEXT(c, link);
		/* Idle (between requests, nothing read) or still shaking
		 * hands: nothing is lost by closing now; the others close
		 * after their response. */
		if (net_h1s_idle(c->h))
			net_h1s_close(c->h);
		else
			net_h1s_drain(c->h);
	}
}

void serve_conn_close_all(struct serve_worker *w)
{
	struct pconn *c, *next;

	for (c = LIST_FIRST(&w->conns); c != NULL; c = next) {
		next = LIST_NEXT(c, link);
		net_h1s_close(c->h);
	}
}
