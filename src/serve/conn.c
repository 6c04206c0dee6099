/* conn.c: the client side of the proxy -- one struct pconn per accepted
 * connection, TLS (port 443) or plain (port 80), on a net_stream (the
 * socket with TLS inside: reading, writing, the handshake, the linger --
 * net/stream.h).  This file is HTTP/1.1 on the stream: request heads,
 * bodies handed to the exchange (proxy.c) or dropped, keep-alive, the
 * timeouts.
 *
 * The stream's input holds the request head being read, then body bytes on
 * their way to the upstream, then whatever the client pipelined behind; it
 * is given back between requests, so an idle keep-alive connection holds
 * only its socket, its timer and the TLS session state.
 *
 * Life of a connection:
 *
 *   C_HANDSHAKE  TLS handshake (header timeout)
 *   C_HEAD       waiting for / reading a request head (idle timeout until
 *                its first byte, then the header timeout: a head trickled
 *                in a byte at a time still has to be complete in time)
 *   C_EXCHANGE   an exchange (proxy.c) owns the request; body bytes are
 *                handed to it as it can take them
 *   C_DISCARD    moat answered the request itself before its body was
 *                read (a redirect, an error page): the body (at most
 *                SERVE_DISCARD_MAX, within the header timeout) is read and
 *                dropped, then C_HEAD -- never parsed as a request
 *   C_CLOSING    the last bytes are queued: the stream writes them, sends
 *                close_notify and lingers (NET_STREAM_CLOSING), under the
 *                send timeout while bytes wait
 *   C_CLOSED     the stream is closing; the pconn goes with it
 *
 * Transitions: C_HANDSHAKE -> C_HEAD (plain connections start there) ->
 * C_EXCHANGE -> C_HEAD, C_DISCARD or C_CLOSING; C_DISCARD -> C_HEAD or
 * C_CLOSING; any -> C_CLOSED.
 *
 * The one timer measures what the connection waits for, and only that:
 * the handshake and a head (header-timeout), the next request
 * (idle-timeout), an upload moat is ready to read (idle-timeout; not while
 * the upstream holds it up: upstream.c times that), the client taking a
 * response (send-timeout, restarted by every write that completes; not
 * while moat waits for the upstream), a tunnel (an hour), the linger.
 * Writing to the client never closes the connection on the spot (see
 * net/stream.h): the exchange and the code that called the write stay
 * valid until their callbacks return.
 *
 * Backpressure: reading stops when the input is full (the upstream is
 * slower than the client) or when more than SERVE_HIGH_WATER bytes wait to
 * be written to the client; it resumes when they drain. */
#include "serve/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/tls_server.h"

#define IN_EXTRA (64 * 1024) /* bytes of body/pipelined data the input may hold */
#define TUNNEL_IDLE_MS (3600 * 1000)

enum cstate { C_HANDSHAKE, C_HEAD, C_EXCHANGE, C_DISCARD, C_CLOSING, C_CLOSED };

struct pconn {
	struct net_stream *s;
	struct serve_worker *w;
	struct serve_gen *gen;
	struct pconn *prev, *next;
	struct exchange *x;
	struct net_h1_msg *m; /* while a head is being read */
	enum cstate state;
	bool tls;
	bool listed;     /* in w->conns (not a connection refused at once) */
	bool head_started;
	bool in_process; /* inside conn_process: don't re-enter, loop */
	bool again;
	bool send_wait;  /* the timer is the send timeout */
	/* C_DISCARD: the body being dropped */
	enum net_h1_framing dframing; /* NET_H1_NO_BODY: none */
	uint64_t dleft;
	uint64_t dseen;
	struct net_h1_chunked dck;
};

static void conn_process(struct pconn *c);

static const struct serve_config *cfg(const struct pconn *c)
{
	return &c->gen->cfg;
}

static size_t in_len(const struct pconn *c)
{
	size_t n;

	net_stream_in(c->s, &n);
	return n;
}

/* ---- closing ------------------------------------------------------------------ */

static void free_exchange(struct pconn *c)
{
	struct exchange *x = c->x;

	c->x = NULL;
	serve_exchange_free(x);
}

/* The stream is gone (closed by us, the client, a failed write or the
 * linger): the last call for c. */
static void on_closed(void *arg)
{
	struct pconn *c = arg;
	struct serve_worker *w = c->w;

	c->state = C_CLOSED;
	free_exchange(c);
	if (c->listed) {
		if (c->prev != NULL)
			c->prev->next = c->next;
		else
			w->conns = c->next;
		if (c->next != NULL)
			c->next->prev = c->prev;
		w->nconns--;
		atomic_fetch_sub(&w->srv->m.conns_open[c->tls ? 0 : 1], 1);
	}
	free(c->m);
	serve_gen_unref(c->gen);
	free(c);
	if (w->draining && w->nconns == 0)
		uv_async_send(&w->wake);
}

static void conn_close(struct pconn *c)
{
	if (c->state == C_CLOSED)
		return;
	c->state = C_CLOSED;
	free_exchange(c);
	net_stream_close(c->s);
}

void serve_conn_abort(struct pconn *c)
{
	conn_close(c);
}

static void on_timeout(void *arg)
{
	struct pconn *c = arg;

	/* A timeout in any state ends the connection: the handshake, a head
	 * or a keep-alive wait took too long, the client took none of a
	 * response in time, or a tunnel has been silent for an hour.  Only the
	 * last is the client's doing without a word in the access log: say it
	 * in the error log, or a download cut off looks like a network fault. */
	if (c->send_wait && c->gen->log != NULL)
		serve_log_error(c->gen->log, "client %s took nothing of a response for %d ms "
				"(send-timeout): connection closed", net_stream_peer(c->s),
				cfg(c)->send_timeout_ms);
	conn_close(c);
}

/* The connection's one timeout, ms from now (0: none). */
static void timer_ms(struct pconn *c, int ms)
{
	if (c->state == C_CLOSED)
		return;
	c->send_wait = false;
	net_stream_timeout(c->s, ms);
}

/* The timer for what the connection waits for now (see the top), where
 * that follows from the write queue and the exchange; the handshake, a
 * head and a dropped body keep the deadline they were given. */
static void conn_timer(struct pconn *c)
{
	bool sending = net_stream_unsent(c->s) > 0;
	int ms;

	switch (c->state) {
	case C_HEAD:
		if (c->head_started)
			return;
		ms = sending ? cfg(c)->send_timeout_ms : cfg(c)->idle_timeout_ms;
		break;
	case C_EXCHANGE:
		if (c->x == NULL)
			return;
		if (serve_exchange_is_tunnel(c->x)) {
			timer_ms(c, TUNNEL_IDLE_MS);
			return;
		}
		if (sending)
			ms = cfg(c)->send_timeout_ms;
		else if (serve_exchange_awaits_body(c->x) && in_len(c) == 0)
			ms = cfg(c)->idle_timeout_ms; /* waiting for the upload */
		else
			ms = 0; /* waiting for the upstream, or its connect
				 * (upstream.c times both) */
		break;
	case C_CLOSING:
		if (!sending)
			return; /* the stream times its linger */
		ms = cfg(c)->send_timeout_ms;
		break;
	default:
		return;
	}
	timer_ms(c, ms);
	c->send_wait = sending && ms > 0;
}

/* ---- writing ------------------------------------------------------------------ */

/* A write completed: the client took bytes. */
static void on_written(void *arg)
{
	struct pconn *c = arg;

	conn_timer(c); /* its send timeout restarts */
	if (net_stream_unsent(c->s) < SERVE_HIGH_WATER / 2 && c->x != NULL)
		serve_exchange_client_drained(c->x);
}

void serve_conn_queue(struct pconn *c, const void *data, size_t len)
{
	if (c->state != C_CLOSED)
		net_stream_queue(c->s, data, len);
}

void serve_conn_flush(struct pconn *c)
{
	bool waiting = net_stream_unsent(c->s) > 0;

	if (c->state == C_CLOSED)
		return;
	net_stream_flush(c->s);
	if (!waiting && net_stream_unsent(c->s) > 0)
		conn_timer(c); /* the client must now take it */
}

void serve_conn_set_exchange(struct pconn *c, struct exchange *x)
{
	c->x = x;
}

struct serve_worker *serve_conn_worker(const struct pconn *c)
{
	return c->w;
}

size_t serve_conn_write_queue(const struct pconn *c)
{
	return net_stream_write_queue(c->s);
}

/* ---- reading ------------------------------------------------------------------ */

/* The parser reads at most NET_H1_MAX_HEAD bytes of a head. */
static size_t max_head(const struct pconn *c)
{
	return cfg(c)->max_header_size < NET_H1_MAX_HEAD ? cfg(c)->max_header_size
							 : NET_H1_MAX_HEAD;
}

/* Reading may go on: room for input, and the client takes what it is
 * sent. */
static bool may_read(const struct pconn *c)
{
	return !net_stream_in_full(c->s) && net_stream_write_queue(c->s) <= SERVE_HIGH_WATER;
}

static void on_data(void *arg)
{
	conn_process(arg);
}

/* The client has stopped sending (or is gone). */
static void on_eof(void *arg)
{
	struct pconn *c = arg;

	if (c->x != NULL && c->state == C_EXCHANGE) {
		serve_exchange_client_eof(c->x);
		return;
	}
	conn_close(c);
}

static void on_ready(void *arg)
{
	struct pconn *c = arg;

	c->state = C_HEAD;
	timer_ms(c, cfg(c)->idle_timeout_ms);
}

/* ---- requests ------------------------------------------------------------------ */

static void head_error(struct pconn *c, int status)
{
	char body[160];
	size_t len;
	const char *in = net_stream_in(c->s, &len);
	int n = snprintf(body, sizeof(body), "%d %s\n", status,
		     status == 431	? "Request Header Fields Too Large"
		     : status == 414	? "URI Too Long"
		     : status == 501	? "Not Implemented"
		     : status == 505	? "HTTP Version Not Supported"
		     : status == 408	? "Request Timeout"
					: "Bad Request");
	if (n < 0 || (size_t)n >= sizeof(body))
		n = 0;
	serve_log_rejected(c->gen->log, net_stream_peer(c->s), c->tls, in, len, status);
	serve_reply(c, NULL, status, NULL, body, (size_t)n, NULL, false);
}

/* The last response is queued: send it, with the close_notify, then close
 * (lingering: see C_CLOSING). */
static void conn_end(struct pconn *c)
{
	if (c->state == C_CLOSED)
		return;
	net_stream_end(c->s);
	c->state = C_CLOSING;
	conn_timer(c);
}

void serve_conn_discard(struct pconn *c, enum net_h1_framing framing, uint64_t left)
{
	c->dframing = framing;
	c->dleft = left;
	c->dseen = 0;
	net_h1_chunked_init(&c->dck);
}

/* C_DISCARD: drop what of the input belongs to the body; after its end,
 * the next request (or the end, when draining). */
static void discard_some(struct pconn *c)
{
	size_t used;
	const char *in = net_stream_in(c->s, &used);
	bool done;

	if (c->dframing == NET_H1_LENGTH) {
		if (used > c->dleft)
			used = (size_t)c->dleft;
		c->dleft -= used;
		done = c->dleft == 0;
	} else {
		size_t len = used;
		enum net_h1_chunk_result r = net_h1_chunked_scan(&c->dck, in, len, &used);

		if (r == NET_H1_CHUNK_ERROR) {
			conn_end(c);
			return;
		}
		done = r == NET_H1_CHUNK_DONE;
	}
	c->dseen += used;
	net_stream_consume(c->s, used);
	if (c->dseen > SERVE_DISCARD_MAX) {
		conn_end(c); /* a chunked body larger than is worth reading */
		return;
	}
	if (!done)
		return;
	c->dframing = NET_H1_NO_BODY;
	c->state = C_HEAD;
	c->head_started = false;
	if (c->w->draining) {
		conn_end(c);
		return;
	}
	net_stream_in_release(c->s);
	conn_timer(c);
}

/* A complete head is at the front of the input: the exchange takes it. */
static void head_done(struct pconn *c)
{
	size_t len;
	const char *in = net_stream_in(c->s, &len);
	const struct net_tls_conn *t = net_stream_tls(c->s);

	timer_ms(c, 0);
	c->state = C_EXCHANGE;
	serve_exchange_start(c, c->gen, c->tls, net_stream_peer(c->s),
			     t != NULL ? net_tls_conn_sni(t) : "", in, c->m);
	if (c->state == C_CLOSED)
		return;
	net_stream_consume(c->s, c->m->head_len);
	free(c->m);
	c->m = NULL;
}

static void conn_process(struct pconn *c)
{
	size_t len;
	const char *in;

	if (c->in_process) {
		c->again = true;
		return;
	}
	c->in_process = true;
	do {
		c->again = false;
		while ((c->state == C_HEAD || c->state == C_DISCARD) && in_len(c) > 0 &&
		       !net_stream_dead(c->s)) {
			enum net_h1_result r;

			if (c->state == C_DISCARD) {
				discard_some(c);
				continue;
			}
			if (c->m == NULL) {
				if ((c->m = malloc(sizeof(*c->m))) == NULL) {
					conn_close(c);
					goto out;
				}
				net_h1_msg_reset(c->m);
			}
			if (!c->head_started) {
				c->head_started = true;
				timer_ms(c, cfg(c)->header_timeout_ms);
			}
			in = net_stream_in(c->s, &len);
			r = net_h1_parse_request(in, len, max_head(c), c->m);
			if (r == NET_H1_MORE) {
				if (len >= max_head(c) + 4)
					head_error(c, 431);
				goto out;
			}
			if (r == NET_H1_ERROR) {
				head_error(c, c->m->status);
				goto out;
			}
			head_done(c);
			if (c->state == C_CLOSED)
				goto out;
		}
		while (c->state == C_EXCHANGE && c->x != NULL && !net_stream_dead(c->s) &&
		       !serve_exchange_body_done(c->x)) {
			size_t used;

			in = net_stream_in(c->s, &len);
			if (len == 0)
				break;
			used = serve_exchange_client_data(c->x, in, len);
			if (c->state == C_CLOSED)
				goto out;
			if (used == 0)
				break;
			net_stream_consume(c->s, used);
		}
	} while (c->again && c->state != C_CLOSED);
	/* Too much waiting to go on: stop reading until it drains. */
	if (c->state != C_CLOSED && !may_read(c))
		net_stream_read(c->s, false);
	if (c->state == C_EXCHANGE)
		conn_timer(c);
out:
	c->in_process = false;
}

void serve_conn_resume(struct pconn *c)
{
	if (c->state != C_HEAD && c->state != C_EXCHANGE)
		return;
	conn_process(c);
	if ((c->state == C_HEAD || c->state == C_EXCHANGE) && may_read(c))
		net_stream_read(c->s, true); /* (and what TLS already holds) */
}

void serve_conn_exchange_done(struct pconn *c, bool keep_alive)
{
	free_exchange(c);
	if (c->state == C_CLOSED)
		return;
	if (!keep_alive || c->w->draining) {
		conn_end(c);
		return;
	}
	serve_conn_flush(c);
	c->head_started = false;
	if (c->dframing != NET_H1_NO_BODY) {
		/* A body moat did not read (it answered itself): dropped
		 * first, within the header timeout. */
		c->state = C_DISCARD;
		timer_ms(c, cfg(c)->header_timeout_ms);
	} else {
		c->state = C_HEAD;
		net_stream_in_release(c->s);
		conn_timer(c);
	}
	if (in_len(c) > 0)
		conn_process(c);
	if ((c->state == C_HEAD || c->state == C_DISCARD) && may_read(c))
		net_stream_read(c->s, true);
}

void serve_conn_tunnel_activity(struct pconn *c)
{
	if (c->state == C_EXCHANGE)
		timer_ms(c, TUNNEL_IDLE_MS);
}

/* ---- accepting ------------------------------------------------------------------ */

static const struct net_stream_ops stream_ops = {
	.ready = on_ready,
	.data = on_data,
	.eof = on_eof,
	.written = on_written,
	.timeout = on_timeout,
	.closed = on_closed,
};

void serve_conn_accept(uv_stream_t *ls, int status)
{
	struct serve_listener *l = ls->data;
	struct serve_worker *w = l->w;
	struct serve *s = w->srv;
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
	/* Over max-connections or draining: accepted to be closed, without
	 * TLS state. */
	refuse = w->nconns >= (size_t)w->gen->cfg.max_connections || w->draining;
	c->w = w;
	c->gen = serve_gen_ref(w->gen);
	c->tls = l->tls;
	c->s = net_stream_accept(ls, l->tls && !refuse ? w->gen->tls : NULL, &w->buf, &s->m.net,
				 &stream_ops, c);
	if (c->s == NULL || refuse) {
		atomic_fetch_add_explicit(&s->m.rejected, 1, memory_order_relaxed);
		if (c->s != NULL) {
			conn_close(c); /* freed from on_closed */
			return;
		}
		serve_gen_unref(c->gen);
		free(c);
		return;
	}
	net_stream_set_in_limit(c->s, max_head(c) + IN_EXTRA);
	c->state = l->tls ? C_HANDSHAKE : C_HEAD;
	c->listed = true;
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	atomic_fetch_add_explicit(&s->m.conns_total[l->tls ? 0 : 1], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->m.conns_open[l->tls ? 0 : 1], 1, memory_order_relaxed);
	timer_ms(c, l->tls ? c->gen->cfg.header_timeout_ms : c->gen->cfg.idle_timeout_ms);
	if (net_stream_start(c->s) != 0)
		conn_close(c);
}

void serve_conn_drain_all(struct serve_worker *w)
{
	struct pconn *c, *next;

	for (c = w->conns; c != NULL; c = next) {
		next = c->next;
		/* Idle (between requests, nothing read) or still shaking
		 * hands: nothing is lost by closing now. */
		if ((c->state == C_HEAD && in_len(c) == 0) || c->state == C_HANDSHAKE)
			conn_close(c);
	}
}

void serve_conn_close_all(struct serve_worker *w)
{
	struct pconn *c, *next;

	for (c = w->conns; c != NULL; c = next) {
		next = c->next;
		conn_close(c);
	}
}
