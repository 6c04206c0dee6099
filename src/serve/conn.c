/* conn.c: the client side of the proxy -- one struct pconn per accepted
 * connection, TLS (port 443) or plain (port 80).
 *
 * Every read lands in the worker's read buffer; ciphertext goes into the
 * TLS engine, plaintext into c->in, which holds the request head being
 * read, then body bytes on their way to the upstream, then whatever the
 * client pipelined behind.  c->in is allocated when bytes arrive and freed
 * when it empties between requests, so an idle keep-alive connection holds
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
 *   C_CLOSING    the last bytes are queued: once written, close_notify is
 *                sent and the sending side shut down; what the client
 *                still sends is read and dropped for LINGER_MS, so that
 *                our last response is not lost to a reset
 *   C_CLOSED     uv_close called; freed when both handles have closed
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
 * Writing to the client never closes the connection on the spot: a write
 * that fails marks it dead (nothing more is read, written or started) and
 * it is closed from its timer in the next loop turn.  The exchange and the
 * code that called the write stay valid until their callbacks return.
 *
 * Backpressure: reading stops when c->in is full (the upstream is slower
 * than the client) or when more than SERVE_HIGH_WATER bytes wait to be
 * written to the client; it resumes when they drain. */
#include "serve/internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "net/http.h"
#include "net/tls_server.h"

#define LINGER_MS 2000
#define IN_EXTRA (64 * 1024) /* bytes of body/pipelined data c->in may hold */
#define TUNNEL_IDLE_MS (3600 * 1000)

enum cstate { C_HANDSHAKE, C_HEAD, C_EXCHANGE, C_DISCARD, C_CLOSING, C_CLOSED };

struct pconn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_shutdown_t shut;
	struct serve_worker *w;
	struct serve_gen *gen;
	struct pconn *prev, *next;
	struct net_tls_conn *tls;
	struct exchange *x;
	struct net_h1_msg *m; /* while a head is being read */
	char *in;
	size_t in_len, in_cap;
	struct moat_buf out; /* plaintext queued by serve_conn_queue */
	size_t wq;           /* bytes handed to uv_write, not yet written */
	uint64_t deadline;   /* loop time of the timeout (0: none) */
	uint64_t armed;      /* when the timer is set to fire */
	enum cstate state;
	int handles;
	bool reading;
	bool head_started;
	bool in_process; /* inside conn_process: don't re-enter, loop */
	bool again;
	bool shut_sent;
	bool dead; /* a write failed: closed from the timer, nothing more done */
	bool send_wait; /* the timer is the send timeout */
	/* C_DISCARD: the body being dropped */
	enum net_h1_framing dframing; /* NET_H1_NO_BODY: none */
	uint64_t dleft;
	uint64_t dseen;
	struct net_h1_chunked dck;
	char peer[INET6_ADDRSTRLEN];
};

struct wreq {
	uv_write_t req;
	struct pconn *c;
	void *data;
	size_t len;
};

static void conn_process(struct pconn *c);
static void conn_close(struct pconn *c);
static void read_stop(struct pconn *c);
static void conn_read_tls(struct pconn *c);

static const struct serve_config *cfg(const struct pconn *c)
{
	return &c->gen->cfg;
}

/* ---- closing ------------------------------------------------------------------ */

static void on_closed(uv_handle_t *h)
{
	struct pconn *c = h->data;
	struct serve_worker *w = c->w;

	if (--c->handles > 0)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	w->nconns--;
	atomic_fetch_sub(&w->srv->m.conns_open[c->tls != NULL ? 0 : 1], 1);
	net_tls_conn_free(c->tls);
	free(c->in);
	free(c->m);
	moat_buf_free(&c->out);
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
	if (c->x != NULL) {
		struct exchange *x = c->x;

		c->x = NULL;
		serve_exchange_free(x);
	}
	c->handles = 2;
	uv_close((uv_handle_t *)&c->timer, on_closed);
	uv_close((uv_handle_t *)&c->tcp, on_closed);
}

void serve_conn_abort(struct pconn *c)
{
	conn_close(c);
}

static void on_timer(uv_timer_t *t)
{
	struct pconn *c = t->data;
	uint64_t now = uv_now(t->loop);

	if (c->dead) {
		conn_close(c);
		return;
	}
	if (c->deadline == 0)
		return; /* no timeout now */
	if (now < c->deadline) {
		/* Moved later since it was armed: sleep on. */
		c->armed = c->deadline;
		uv_timer_start(&c->timer, on_timer, c->deadline - now, 0);
		return;
	}
	/* A timeout in any state ends the connection: the handshake, a head
	 * or a keep-alive wait took too long, the client took none of a
	 * response in time, the linger time is over, or a tunnel has been
	 * silent for an hour. */
	if (c->send_wait && c->gen->log != NULL)
		serve_log_error(c->gen->log, "client %s took nothing of a response for %d ms "
				"(send-timeout): connection closed", c->peer,
				cfg(c)->send_timeout_ms);
	conn_close(c);
}

/* The connection's one timeout, ms from now (0: none).  The timer is only
 * re-armed when the new deadline is earlier than the armed one; a later
 * one (the usual case: each request pushes the idle timeout on) is taken
 * up when it fires, which saves a timer operation or two per request. */
static void timer_ms(struct pconn *c, int ms)
{
	if (c->dead || c->state == C_CLOSED)
		return; /* the close is already due */
	c->send_wait = false;
	if (ms <= 0) {
		c->deadline = 0;
		return;
	}
	c->deadline = uv_now(c->timer.loop) + (uint64_t)ms;
	if (!uv_is_active((uv_handle_t *)&c->timer) || c->armed > c->deadline) {
		c->armed = c->deadline;
		uv_timer_start(&c->timer, on_timer, (uint64_t)ms, 0);
	}
}

/* The timer for what the connection waits for now (see the top), where
 * that follows from the write queue and the exchange; the handshake, a
 * head, a dropped body and the linger keep the deadline they were given. */
static void conn_timer(struct pconn *c)
{
	bool sending = c->wq > 0;
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
		else if (serve_exchange_awaits_body(c->x) && c->in_len == 0)
			ms = cfg(c)->idle_timeout_ms; /* waiting for the upload */
		else
			ms = 0; /* waiting for the upstream, or its connect
				 * (upstream.c times both) */
		break;
	case C_CLOSING:
		if (c->shut_sent || !sending)
			return;
		ms = cfg(c)->send_timeout_ms;
		break;
	default:
		return;
	}
	timer_ms(c, ms);
	c->send_wait = sending && ms > 0;
}

/* The connection cannot be written to any more: close it from the loop,
 * not from inside the caller (see the top of this file). */
static void conn_kill(struct pconn *c)
{
	if (c->dead || c->state == C_CLOSED)
		return;
	c->dead = true;
	read_stop(c);
	c->armed = 0;
	uv_timer_start(&c->timer, on_timer, 0, 0);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	struct pconn *c = req->data;

	if (c->state == C_CLOSED)
		return;
	if (status != 0) {
		conn_close(c);
		return;
	}
	timer_ms(c, LINGER_MS);
}

/* All queued bytes are written and the connection is finishing. */
static void conn_shutdown(struct pconn *c)
{
	if (c->shut_sent || c->state != C_CLOSING || c->dead)
		return;
	c->shut_sent = true;
	c->shut.data = c;
	if (uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, on_shutdown) != 0)
		conn_close(c);
}

/* ---- writing ------------------------------------------------------------------ */

static void on_write(uv_write_t *req, int status)
{
	struct wreq *wr = (struct wreq *)req;
	struct pconn *c = wr->c;

	c->wq -= wr->len;
	free(wr->data);
	free(wr);
	if (c->state == C_CLOSED)
		return;
	if (status != 0) {
		conn_close(c);
		return;
	}
	if (c->state == C_CLOSING && c->wq == 0) {
		conn_shutdown(c);
		return;
	}
	conn_timer(c); /* the client took bytes: its send timeout restarts */
	if (c->wq < SERVE_HIGH_WATER / 2 && c->x != NULL)
		serve_exchange_client_drained(c->x);
}

/* Send data (malloc'd; taken over) as is. */
static void write_raw(struct pconn *c, void *data, size_t len)
{
	struct wreq *wr;
	uv_buf_t b;

	if (len == 0 || c->dead || c->state == C_CLOSED) {
		free(data);
		return;
	}
	b = uv_buf_init(data, (unsigned)len);
	if (c->wq == 0) {
		/* Nothing queued: write now.  Most answers go out whole, with
		 * no write request and no poll change (libuv's completion of a
		 * queued write costs an epoll_ctl). */
		int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);

		if (n == (int)len) {
			free(data);
			return;
		}
		/* An error (n < 0 but EAGAIN) is left to uv_write, which
		 * reports it later through on_write: callers go on with the
		 * connection after queueing. */
		if (n > 0) {
			b.base += n;
			b.len -= (size_t)n;
		}
	}
	wr = malloc(sizeof(*wr));
	if (wr == NULL) {
		free(data);
		conn_kill(c);
		return;
	}
	len = b.len;
	wr->c = c;
	wr->data = data;
	wr->len = len;
	c->wq += len;
	if (uv_write(&wr->req, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
		/* Not writable any more (the client reset the connection). */
		c->wq -= len;
		free(data);
		free(wr);
		conn_kill(c);
		return;
	}
	if (c->wq == len)
		conn_timer(c); /* the client must now take it */
}

static void flush_tls(struct pconn *c)
{
	size_t len = 0;
	void *out = net_tls_conn_take_output(c->tls, &len);

	if (out != NULL)
		write_raw(c, out, len);
}

void serve_conn_queue(struct pconn *c, const void *data, size_t len)
{
	if (c->state == C_CLOSED || c->dead || len == 0)
		return;
	if (moat_buf_append(&c->out, data, len) != 0)
		conn_kill(c);
}

/* Queued plaintext into TLS records; send them unless more is to follow
 * (the close_notify after a last response: one write for both). */
static void conn_flush(struct pconn *c, bool send)
{
	size_t len = c->out.len;

	if (c->state == C_CLOSED || c->dead || len == 0)
		return;
	atomic_fetch_add_explicit(&c->w->srv->m.bytes_out, len, memory_order_relaxed);
	if (c->tls != NULL) {
		int r = net_tls_conn_write(c->tls, c->out.data, len);

		moat_buf_free(&c->out);
		if (r != 0) {
			conn_kill(c);
			return;
		}
		if (send)
			flush_tls(c);
		return;
	}
	write_raw(c, moat_buf_steal(&c->out), len);
}

void serve_conn_flush(struct pconn *c)
{
	conn_flush(c, true);
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
	return c->wq + c->out.len;
}

/* ---- reading ------------------------------------------------------------------ */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct pconn *c = h->data;

	(void)hint;
	b->base = c->w->rbuf;
	b->len = sizeof(c->w->rbuf);
}

static void read_stop(struct pconn *c)
{
	if (c->reading) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = false;
	}
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b);

static void read_start(struct pconn *c)
{
	if (!c->reading && c->state != C_CLOSED && !c->dead &&
	    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
		c->reading = true;
}

/* The parser reads at most NET_H1_MAX_HEAD bytes of a head. */
static size_t max_head(const struct pconn *c)
{
	return cfg(c)->max_header_size < NET_H1_MAX_HEAD ? cfg(c)->max_header_size
							 : NET_H1_MAX_HEAD;
}

static size_t in_limit(const struct pconn *c)
{
	return max_head(c) + IN_EXTRA;
}

/* Room for at least want more bytes in c->in (within its limit). */
static bool in_room(struct pconn *c, size_t want)
{
	size_t cap = c->in_cap;
	char *p;

	if (c->in_cap - c->in_len >= want)
		return true;
	if (c->in_len + want > in_limit(c))
		want = in_limit(c) - c->in_len;
	if (want == 0)
		return false;
	if (cap == 0)
		cap = 4096;
	while (cap - c->in_len < want)
		cap *= 2;
	if (cap > in_limit(c))
		cap = in_limit(c);
	p = realloc(c->in, cap);
	if (p == NULL)
		return false;
	c->in = p;
	c->in_cap = cap;
	return true;
}

static void in_consume(struct pconn *c, size_t n)
{
	if (n >= c->in_len) {
		c->in_len = 0;
		return;
	}
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
}

/* Between requests an empty buffer is given back. */
static void in_release(struct pconn *c)
{
	if (c->in_len == 0 && c->in != NULL) {
		free(c->in);
		c->in = NULL;
		c->in_cap = 0;
	}
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
	struct pconn *c = st->data;

	if (n == 0 || c->state == C_CLOSED || c->dead)
		return;
	if (n < 0) {
		/* The client is gone (or has finished sending: HTTP/1.1
		 * clients don't half-close, so treat it the same). */
		if (c->x != NULL && c->state == C_EXCHANGE) {
			read_stop(c);
			serve_exchange_client_eof(c->x);
			return;
		}
		conn_close(c);
		return;
	}
	if (c->state == C_CLOSING)
		return; /* lingering: drop */
	if (c->tls != NULL) {
		if (net_tls_conn_input(c->tls, b->base, (size_t)n) != 0) {
			conn_close(c);
			return;
		}
		conn_read_tls(c);
		return;
	}
	if (!in_room(c, (size_t)n)) {
		conn_close(c);
		return;
	}
	memcpy(c->in + c->in_len, b->base, (size_t)n);
	c->in_len += (size_t)n;
	atomic_fetch_add_explicit(&c->w->srv->m.bytes_in, (uint64_t)n, memory_order_relaxed);
	conn_process(c);
}

static void handshake_done(struct pconn *c)
{
	struct serve_metrics *m = &c->w->srv->m;

	atomic_fetch_add_explicit(&m->handshakes, 1, memory_order_relaxed);
	if (net_tls_conn_resumed(c->tls))
		atomic_fetch_add_explicit(&m->handshakes_resumed, 1, memory_order_relaxed);
	c->state = C_HEAD;
	timer_ms(c, cfg(c)->idle_timeout_ms);
}

/* Decrypt what the TLS engine has and process it, as long as there is
 * room and nothing is paused. */
static void conn_read_tls(struct pconn *c)
{
	if (c->state == C_HANDSHAKE) {
		int r = net_tls_conn_handshake(c->tls);

		flush_tls(c);
		if (r < 0) {
			atomic_fetch_add_explicit(&c->w->srv->m.handshake_failures, 1,
						  memory_order_relaxed);
			conn_close(c);
			return;
		}
		if (r == 0 || c->dead)
			return;
		if (net_tls_conn_is_acme(c->tls)) {
			/* A tls-alpn-01 validation: the handshake was all. */
			net_tls_conn_shutdown(c->tls);
			flush_tls(c);
			c->state = C_CLOSING;
			if (c->wq == 0)
				conn_shutdown(c);
			return;
		}
		handshake_done(c);
	}
	while ((c->state == C_HEAD || c->state == C_EXCHANGE || c->state == C_DISCARD) &&
	       !c->dead) {
		ssize_t n;

		if (c->in == NULL) {
			/* Nothing buffered (a connection waiting for its next
			 * request): decrypt into the worker's buffer, so that an
			 * idle connection holds no buffer of its own. */
			size_t room = in_limit(c) < sizeof(c->w->pbuf) ? in_limit(c)
								      : sizeof(c->w->pbuf);

			n = net_tls_conn_read(c->tls, c->w->pbuf, room);
			if (n > 0) {
				if (!in_room(c, (size_t)n)) {
					conn_close(c);
					return;
				}
				memcpy(c->in, c->w->pbuf, (size_t)n);
			}
		} else if (!in_room(c, 16384)) {
			read_stop(c); /* resumed by serve_conn_resume */
			break;
		} else {
			n = net_tls_conn_read(c->tls, c->in + c->in_len, c->in_cap - c->in_len);
		}
		if (n == 0)
			break;
		if (n < 0) {
			if (n == NET_TLS_EOF && c->x != NULL) {
				read_stop(c);
				serve_exchange_client_eof(c->x);
				break;
			}
			conn_close(c);
			return;
		}
		c->in_len += (size_t)n;
		atomic_fetch_add_explicit(&c->w->srv->m.bytes_in, (uint64_t)n,
					  memory_order_relaxed);
		conn_process(c);
	}
	/* The engine may still hold bytes of the worker's read buffer, which
	 * the next read overwrites: it copies them now. */
	if (c->state != C_CLOSED && net_tls_conn_keep_input(c->tls) != 0) {
		conn_close(c);
		return;
	}
	/* TLS may have something to say (a ticket, a key update answer). */
	if (c->state != C_CLOSED)
		flush_tls(c);
}

/* ---- requests ------------------------------------------------------------------ */

static void head_error(struct pconn *c, int status)
{
	char body[160];
	int n = snprintf(body, sizeof(body), "%d %s\n", status, net_http_reason(status));
	if (n < 0 || (size_t)n >= sizeof(body))
		n = 0;
	serve_log_rejected(c->gen->log, c->peer, c->tls != NULL, c->in, c->in_len, status);
	serve_reply(c, NULL, status, NULL, body, (size_t)n, NULL, false);
}

/* The last response is queued: send it, with the close_notify, then close
 * (lingering: see C_CLOSING). */
static void conn_end(struct pconn *c)
{
	conn_flush(c, false);
	if (c->tls != NULL && c->state != C_CLOSED) {
		net_tls_conn_shutdown(c->tls);
		flush_tls(c);
	}
	if (c->state == C_CLOSED)
		return;
	c->state = C_CLOSING;
	read_start(c); /* to linger */
	timer_ms(c, LINGER_MS * 5);
	if (c->wq == 0)
		conn_shutdown(c);
	else
		conn_timer(c);
}

void serve_conn_discard(struct pconn *c, enum net_h1_framing framing, uint64_t left)
{
	c->dframing = framing;
	c->dleft = left;
	c->dseen = 0;
	net_h1_chunked_init(&c->dck);
}

/* C_DISCARD: drop what of c->in belongs to the body; after its end, the
 * next request (or the end, when draining). */
static void discard_some(struct pconn *c)
{
	size_t used = c->in_len;
	bool done;

	if (c->dframing == NET_H1_LENGTH) {
		if (used > c->dleft)
			used = (size_t)c->dleft;
		c->dleft -= used;
		done = c->dleft == 0;
	} else {
		enum net_h1_chunk_result r = net_h1_chunked_scan(&c->dck, c->in, c->in_len, &used);

		if (r == NET_H1_CHUNK_ERROR) {
			conn_end(c);
			return;
		}
		done = r == NET_H1_CHUNK_DONE;
	}
	c->dseen += used;
	in_consume(c, used);
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
	in_release(c);
	conn_timer(c);
}

static void conn_process(struct pconn *c)
{
	if (c->in_process) {
		c->again = true;
		return;
	}
	c->in_process = true;
	do {
		c->again = false;
		while ((c->state == C_HEAD || c->state == C_DISCARD) && c->in_len > 0 && !c->dead) {
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
			r = net_h1_parse_request(c->in, c->in_len, max_head(c), c->m);
			if (r == NET_H1_MORE) {
				if (c->in_len >= max_head(c) + 4) {
					head_error(c, 431);
					goto out;
				}
				goto out;
			}
			if (r == NET_H1_ERROR) {
				head_error(c, c->m->status);
				goto out;
			}
			timer_ms(c, 0);
			c->state = C_EXCHANGE;
			serve_exchange_start(c, c->gen, c->tls != NULL, c->peer,
						 c->tls != NULL ? net_tls_conn_sni(c->tls) : "",
						 c->in, c->m);
			if (c->state == C_CLOSED)
				goto out;
			in_consume(c, c->m->head_len);
			free(c->m);
			c->m = NULL;
		}
		while (c->state == C_EXCHANGE && c->x != NULL && c->in_len > 0 && !c->dead &&
		       !serve_exchange_body_done(c->x)) {
			size_t used = serve_exchange_client_data(c->x, c->in, c->in_len);

			if (c->state == C_CLOSED)
				goto out;
			if (used == 0)
				break;
			in_consume(c, used);
		}
	} while (c->again && c->state != C_CLOSED);
	/* Too much waiting to go on: stop reading until it drains. */
	if (c->state != C_CLOSED && (c->in_len >= in_limit(c) ||
				     serve_conn_write_queue(c) > SERVE_HIGH_WATER))
		read_stop(c);
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
	if (c->state != C_HEAD && c->state != C_EXCHANGE)
		return;
	if (c->in_len < in_limit(c) && serve_conn_write_queue(c) <= SERVE_HIGH_WATER) {
		read_start(c);
		if (c->tls != NULL)
			conn_read_tls(c); /* records already received */
	}
}

void serve_conn_exchange_done(struct pconn *c, bool keep_alive)
{
	struct exchange *x = c->x;

	c->x = NULL;
	serve_exchange_free(x);
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
		in_release(c);
		conn_timer(c);
	}
	if (c->in_len > 0)
		conn_process(c);
	if ((c->state == C_HEAD || c->state == C_DISCARD) && c->in_len < in_limit(c) &&
	    serve_conn_write_queue(c) <= SERVE_HIGH_WATER) {
		read_start(c);
		if (c->tls != NULL && !c->in_process)
			conn_read_tls(c);
	}
}

void serve_conn_tunnel_activity(struct pconn *c)
{
	if (c->state == C_EXCHANGE)
		timer_ms(c, TUNNEL_IDLE_MS);
}

/* ---- accepting ------------------------------------------------------------------ */

void serve_conn_accept(uv_stream_t *ls, int status)
{
	struct serve_listener *l = ls->data;
	struct serve_worker *w = l->w;
	struct serve *s = w->srv;
	struct pconn *c;
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);

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
	c = calloc(1, sizeof(*c));
	if (c == NULL || uv_tcp_init(&w->loop, &c->tcp) != 0) {
		free(c);
		return;
	}
	c->tcp.data = c;
	if (uv_accept(ls, (uv_stream_t *)&c->tcp) != 0 ||
	    w->nconns >= (size_t)w->gen->cfg.max_connections || w->draining ||
	    (l->tls && (c->tls = net_tls_conn_new(w->gen->tls)) == NULL)) {
		atomic_fetch_add_explicit(&s->m.rejected, 1, memory_order_relaxed);
		uv_close((uv_handle_t *)&c->tcp, (uv_close_cb)free);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	uv_timer_init(&w->loop, &c->timer);
	c->timer.data = c;
	c->w = w;
	c->gen = serve_gen_ref(w->gen);
	c->state = l->tls ? C_HANDSHAKE : C_HEAD;
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sslen) != 0 ||
	    moat_addr_text((const struct sockaddr *)&ss, c->peer, sizeof(c->peer), false) != 0)
		snprintf(c->peer, sizeof(c->peer), "unknown");
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	atomic_fetch_add_explicit(&s->m.conns_total[l->tls ? 0 : 1], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->m.conns_open[l->tls ? 0 : 1], 1, memory_order_relaxed);
	timer_ms(c, l->tls ? c->gen->cfg.header_timeout_ms : c->gen->cfg.idle_timeout_ms);
	read_start(c);
	if (!c->reading)
		conn_close(c);
}

void serve_conn_drain_all(struct serve_worker *w)
{
	struct pconn *c, *next;

	for (c = w->conns; c != NULL; c = next) {
		next = c->next;
		/* Idle (between requests, nothing read) or still shaking
		 * hands: nothing is lost by closing now. */
		if ((c->state == C_HEAD && c->in_len == 0) || c->state == C_HANDSHAKE)
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
