/* stream.c: one accepted connection with TLS inside it (stream.h).
 *
 * Every read lands in the loop's read buffer; ciphertext goes into the TLS
 * engine (tls_conn.c, driven through memory), plaintext into s->in.  The
 * one timer is armed only when a deadline comes earlier than the armed
 * one: a later deadline (the usual case: each request pushes the idle
 * timeout on) is taken up when the timer fires, which saves a timer
 * operation or two per request. */
#include "net/stream.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/addr.h"
#include "core/buf.h"
#include "net/tls_server.h"

struct net_stream {
	uv_tcp_t tcp;
	uv_timer_t timer;
	const struct net_stream_ops *ops;
	void *owner;
	struct net_loop_buf *buf;
	struct net_stream_stats *stats;
	struct net_tls_conn *tls;
	char *in;
	size_t in_len, in_cap, in_limit;
	struct moat_buf out;  /* plaintext queued by net_stream_queue */
	size_t wq;            /* bytes handed to uv_write, not yet written */
	uint64_t deadline;    /* loop time of the timeout (0: none) */
	uint64_t armed;       /* when the timer is set to fire */
	enum net_stream_state state;
	int handles;
	bool reading;
	bool in_tls_read;     /* inside read_tls: a nested call only asks again */
	bool tls_again;
	bool shut_sent;
	bool dead;            /* a write failed: closed from the timer */
	char peer[MOAT_ADDR_TEXT_MAX];
};

struct wreq {
	uv_write_t req;
	struct net_stream *s;
	void *data;
	size_t len;
};

static void read_tls(struct net_stream *s);

/* Add n to the server's counter (when it has counters). */
#define COUNT(s, field, n)                                                                  \
	do {                                                                                \
		if ((s)->stats != NULL)                                                     \
			atomic_fetch_add_explicit(&(s)->stats->field, (n), memory_order_relaxed); \
	} while (0)

const char *net_stream_peer(const struct net_stream *s)
{
	return s->peer;
}

const struct net_tls_conn *net_stream_tls(const struct net_stream *s)
{
	return s->tls;
}

bool net_stream_dead(const struct net_stream *s)
{
	return s->dead;
}

/* ---- closing ------------------------------------------------------------------ */

static void on_closed(uv_handle_t *h)
{
	struct net_stream *s = h->data;

	if (--s->handles > 0)
		return;
	s->ops->closed(s->owner);
	net_tls_conn_free(s->tls);
	free(s->in);
	moat_buf_free(&s->out);
	free(s);
}

void net_stream_close(struct net_stream *s)
{
	if (s->state == NET_STREAM_CLOSED)
		return;
	s->state = NET_STREAM_CLOSED;
	s->handles = 2;
	uv_close((uv_handle_t *)&s->timer, on_closed);
	uv_close((uv_handle_t *)&s->tcp, on_closed);
}

static void on_timer(uv_timer_t *t)
{
	struct net_stream *s = t->data;
	uint64_t now = uv_now(t->loop);

	if (s->dead) {
		net_stream_close(s);
		return;
	}
	if (s->deadline == 0)
		return; /* no timeout now */
	if (now < s->deadline) {
		/* Moved later since it was armed: sleep on. */
		s->armed = s->deadline;
		uv_timer_start(&s->timer, on_timer, s->deadline - now, 0);
		return;
	}
	s->deadline = 0;
	s->ops->timeout(s->owner);
}

void net_stream_timeout(struct net_stream *s, int ms)
{
	if (s->dead || s->state == NET_STREAM_CLOSED)
		return; /* the close is already due */
	if (ms <= 0) {
		s->deadline = 0;
		return;
	}
	s->deadline = uv_now(s->timer.loop) + (uint64_t)ms;
	if (!uv_is_active((uv_handle_t *)&s->timer) || s->armed > s->deadline) {
		s->armed = s->deadline;
		uv_timer_start(&s->timer, on_timer, (uint64_t)ms, 0);
	}
}

/* Nothing more can be written: close from the loop, not from inside the
 * caller (see stream.h). */
static void kill_stream(struct net_stream *s)
{
	if (s->dead || s->state == NET_STREAM_CLOSED)
		return;
	s->dead = true;
	net_stream_read(s, false);
	s->armed = 0;
	uv_timer_start(&s->timer, on_timer, 0, 0);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	struct net_stream *s = req->data;

	free(req);
	if (s->state == NET_STREAM_CLOSED)
		return;
	if (status != 0) {
		net_stream_close(s);
		return;
	}
	net_stream_timeout(s, NET_STREAM_LINGER_MS);
}

/* All queued bytes are written and the stream is ending. */
static void shut_down(struct net_stream *s)
{
	uv_shutdown_t *req;

	if (s->shut_sent || s->state != NET_STREAM_CLOSING || s->dead)
		return;
	s->shut_sent = true;
	/* Allocated now, not with the stream: idle connections are many,
	 * shutdowns one at a time. */
	if ((req = malloc(sizeof(*req))) == NULL) {
		net_stream_close(s);
		return;
	}
	req->data = s;
	if (uv_shutdown(req, (uv_stream_t *)&s->tcp, on_shutdown) != 0) {
		free(req);
		net_stream_close(s);
	}
}

/* ---- writing ------------------------------------------------------------------ */

static void on_write(uv_write_t *req, int status)
{
	struct wreq *wr = (struct wreq *)req;
	struct net_stream *s = wr->s;

	s->wq -= wr->len;
	free(wr->data);
	free(wr);
	if (s->state == NET_STREAM_CLOSED)
		return;
	if (status != 0) {
		net_stream_close(s);
		return;
	}
	if (s->state == NET_STREAM_CLOSING && s->wq == 0) {
		shut_down(s);
		return;
	}
	s->ops->written(s->owner);
}

/* Send data (malloc'd; taken over) as is. */
static void write_raw(struct net_stream *s, void *data, size_t len)
{
	struct wreq *wr;
	uv_buf_t b;

	if (len == 0 || s->dead || s->state == NET_STREAM_CLOSED) {
		free(data);
		return;
	}
	b = uv_buf_init(data, (unsigned)len);
	if (s->wq == 0) {
		/* Nothing queued: write now.  Most answers go out whole, with
		 * no write request and no poll change (libuv's completion of a
		 * queued write costs an epoll_ctl). */
		int n = uv_try_write((uv_stream_t *)&s->tcp, &b, 1);

		if (n == (int)len) {
			free(data);
			return;
		}
		/* An error (n < 0 but EAGAIN) is left to uv_write, which
		 * reports it later through on_write. */
		if (n > 0) {
			b.base += n;
			b.len -= (size_t)n;
		}
	}
	wr = malloc(sizeof(*wr));
	if (wr == NULL) {
		free(data);
		kill_stream(s);
		return;
	}
	wr->s = s;
	wr->data = data;
	wr->len = b.len;
	s->wq += b.len;
	if (uv_write(&wr->req, (uv_stream_t *)&s->tcp, &b, 1, on_write) != 0) {
		/* Not writable any more (the peer reset the connection). */
		s->wq -= wr->len;
		free(data);
		free(wr);
		kill_stream(s);
	}
}

static void flush_tls(struct net_stream *s)
{
	size_t len = 0;
	void *out = net_tls_conn_take_output(s->tls, &len);

	if (out != NULL)
		write_raw(s, out, len);
}

void net_stream_queue(struct net_stream *s, const void *data, size_t len)
{
	if (s->state == NET_STREAM_CLOSED || s->dead || len == 0)
		return;
	if (moat_buf_append(&s->out, data, len) != 0)
		kill_stream(s);
}

struct moat_buf *net_stream_out(struct net_stream *s)
{
	return s->state == NET_STREAM_CLOSED || s->dead ? NULL : &s->out;
}

/* Queued plaintext into TLS records; send them unless more is to follow
 * (the close_notify after a last response: one write for both). */
static void flush(struct net_stream *s, bool send)
{
	size_t len = s->out.len;

	if (s->state == NET_STREAM_CLOSED || s->dead || len == 0)
		return;
	COUNT(s, bytes_out, len);
	if (s->tls != NULL) {
		int r = net_tls_conn_write(s->tls, s->out.data, len);

		moat_buf_free(&s->out);
		if (r != 0) {
			kill_stream(s);
			return;
		}
		if (send)
			flush_tls(s);
		return;
	}
	write_raw(s, moat_buf_steal(&s->out), len);
}

void net_stream_flush(struct net_stream *s)
{
	flush(s, true);
}

size_t net_stream_write_queue(const struct net_stream *s)
{
	return s->wq + s->out.len;
}

size_t net_stream_unsent(const struct net_stream *s)
{
	return s->wq;
}

void net_stream_end(struct net_stream *s)
{
	flush(s, false);
	if (s->tls != NULL && s->state != NET_STREAM_CLOSED) {
		net_tls_conn_shutdown(s->tls);
		flush_tls(s);
	}
	if (s->state == NET_STREAM_CLOSED || s->state == NET_STREAM_CLOSING)
		return;
	s->state = NET_STREAM_CLOSING;
	net_stream_read(s, true); /* to linger */
	net_stream_timeout(s, NET_STREAM_LINGER_MS * 5);
	if (s->wq == 0)
		shut_down(s);
}

/* ---- reading ------------------------------------------------------------------ */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct net_stream *s = h->data;

	(void)hint;
	b->base = s->buf->rbuf;
	b->len = sizeof(s->buf->rbuf);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b);

void net_stream_read(struct net_stream *s, bool on)
{
	if (!on) {
		if (s->reading) {
			uv_read_stop((uv_stream_t *)&s->tcp);
			s->reading = false;
		}
		return;
	}
	if (!s->reading && s->state != NET_STREAM_CLOSED && !s->dead &&
	    uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read) == 0)
		s->reading = true;
	if (s->tls != NULL && s->state == NET_STREAM_OPEN)
		read_tls(s); /* records already received */
}

int net_stream_start(struct net_stream *s)
{
	net_stream_read(s, true);
	return s->reading ? 0 : -1;
}

bool net_stream_in_full(const struct net_stream *s)
{
	return s->in_len >= s->in_limit;
}

char *net_stream_in(const struct net_stream *s, size_t *len)
{
	*len = s->in_len;
	return s->in;
}

/* Room for at least want more bytes in s->in (within its limit). */
static bool in_room(struct net_stream *s, size_t want)
{
	size_t cap = s->in_cap;
	char *p;

	if (s->in_cap - s->in_len >= want)
		return true;
	if (s->in_len + want > s->in_limit)
		want = s->in_limit > s->in_len ? s->in_limit - s->in_len : 0;
	if (want == 0)
		return false;
	if (cap == 0)
		cap = 4096;
	while (cap - s->in_len < want)
		cap *= 2;
	if (cap > s->in_limit)
		cap = s->in_limit;
	p = realloc(s->in, cap);
	if (p == NULL)
		return false;
	s->in = p;
	s->in_cap = cap;
	return true;
}

void net_stream_consume(struct net_stream *s, size_t n)
{
	if (n >= s->in_len) {
		s->in_len = 0;
		return;
	}
	memmove(s->in, s->in + n, s->in_len - n);
	s->in_len -= n;
}

void net_stream_in_release(struct net_stream *s)
{
	if (s->in_len == 0 && s->in != NULL) {
		free(s->in);
		s->in = NULL;
		s->in_cap = 0;
	}
}

/* The peer stopped sending: the owner decides, unless the stream is
 * already ending. */
static void peer_done(struct net_stream *s)
{
	net_stream_read(s, false);
	if (s->state == NET_STREAM_CLOSING || s->state == NET_STREAM_HANDSHAKE) {
		net_stream_close(s);
		return;
	}
	s->ops->eof(s->owner);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
	struct net_stream *s = st->data;

	if (n == 0 || s->state == NET_STREAM_CLOSED || s->dead)
		return;
	if (n < 0) {
		/* Gone, or finished sending (HTTP/1.1 clients don't
		 * half-close: the owner treats it as it must). */
		peer_done(s);
		return;
	}
	if (s->state == NET_STREAM_CLOSING)
		return; /* lingering: drop */
	if (s->tls != NULL) {
		if (net_tls_conn_input(s->tls, b->base, (size_t)n) != 0) {
			net_stream_close(s);
			return;
		}
		read_tls(s);
		return;
	}
	if (!in_room(s, (size_t)n)) {
		net_stream_close(s);
		return;
	}
	memcpy(s->in + s->in_len, b->base, (size_t)n);
	s->in_len += (size_t)n;
	COUNT(s, bytes_in, (uint64_t)n);
	s->ops->data(s->owner);
}

/* The handshake, as far as the input goes; false when the stream is not
 * (or not yet) open. */
static bool handshake(struct net_stream *s)
{
	int r = net_tls_conn_handshake(s->tls);

	flush_tls(s);
	if (r < 0) {
		COUNT(s, handshake_failures, 1);
		net_stream_close(s);
		return false;
	}
	if (r == 0 || s->dead)
		return false;
	if (net_tls_conn_handshake_only(s->tls)) {
		/* A handshake-only certificate (a tls-alpn-01 validation):
		 * the handshake was all. */
		s->state = NET_STREAM_OPEN;
		net_stream_end(s);
		return false;
	}
	COUNT(s, handshakes, 1);
	if (net_tls_conn_resumed(s->tls))
		COUNT(s, handshakes_resumed, 1);
	s->state = NET_STREAM_OPEN;
	s->ops->ready(s->owner);
	return s->state == NET_STREAM_OPEN && !s->dead;
}

/* Decrypt what the TLS engine has and hand it on, as long as there is
 * room and reading is on. */
static void read_tls(struct net_stream *s)
{
	if (s->in_tls_read) {
		s->tls_again = true;
		return;
	}
	/* (the engine copies what the handshake left of the input itself) */
	if (s->state == NET_STREAM_HANDSHAKE && !handshake(s))
		return;
	s->in_tls_read = true;
	do {
		s->tls_again = false;
		while (s->state == NET_STREAM_OPEN && !s->dead && s->reading) {
			size_t room = s->in_limit > s->in_len ? s->in_limit - s->in_len : 0;
			ssize_t n;

			if (room == 0) {
				net_stream_read(s, false); /* the owner resumes it */
				break;
			}
			if (room > sizeof(s->buf->pbuf))
				room = sizeof(s->buf->pbuf);
			if (s->in_cap - s->in_len >= room) {
				n = net_tls_conn_read(s->tls, s->in + s->in_len, s->in_cap - s->in_len);
			} else {
				/* Not room enough for a record: decrypt into the
				 * loop's buffer and keep what came (an idle
				 * connection holds no buffer of its own, and a
				 * read that finds nothing grows none). */
				n = net_tls_conn_read(s->tls, s->buf->pbuf, room);
				if (n > 0) {
					if (!in_room(s, (size_t)n)) {
						net_stream_close(s);
						break;
					}
					memcpy(s->in + s->in_len, s->buf->pbuf, (size_t)n);
				}
			}
			if (n == 0)
				break;
			if (n < 0) {
				if (n == NET_TLS_EOF)
					peer_done(s);
				else
					net_stream_close(s);
				break;
			}
			s->in_len += (size_t)n;
			COUNT(s, bytes_in, (uint64_t)n);
			s->ops->data(s->owner);
		}
	} while (s->tls_again && s->state == NET_STREAM_OPEN && !s->dead && s->reading);
	s->in_tls_read = false;
	/* The engine may still hold bytes of the loop's read buffer, which the
	 * next read overwrites: it copies them now. */
	if (s->state != NET_STREAM_CLOSED && net_tls_conn_keep_input(s->tls) != 0) {
		net_stream_close(s);
		return;
	}
	/* TLS may have something to say (a ticket, a key update answer). */
	if (s->state != NET_STREAM_CLOSED)
		flush_tls(s);
}

/* ---- accepting ------------------------------------------------------------------ */

static void peer_text(struct net_stream *s)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	if (uv_tcp_getpeername(&s->tcp, (struct sockaddr *)&ss, &len) != 0 ||
	    moat_addr_text((struct sockaddr *)&ss, s->peer, sizeof(s->peer), false) != 0)
		snprintf(s->peer, sizeof(s->peer), "unknown");
}

struct net_stream *net_stream_accept(uv_stream_t *listener, struct net_tls_ctx *tls,
				     struct net_loop_buf *buf, struct net_stream_stats *stats,
				     size_t in_limit, const struct net_stream_ops *ops,
				     void *owner)
{
	struct net_stream *s = calloc(1, sizeof(*s));

	if (s == NULL || uv_tcp_init(listener->loop, &s->tcp) != 0) {
		free(s);
		return NULL;
	}
	s->tcp.data = s;
	if (uv_accept(listener, (uv_stream_t *)&s->tcp) != 0 ||
	    (tls != NULL && (s->tls = net_tls_conn_new(tls)) == NULL)) {
		uv_close((uv_handle_t *)&s->tcp, (uv_close_cb)free);
		return NULL;
	}
	uv_tcp_nodelay(&s->tcp, 1);
	uv_timer_init(listener->loop, &s->timer);
	s->timer.data = s;
	s->ops = ops;
	s->owner = owner;
	s->buf = buf;
	s->stats = stats;
	s->in_limit = in_limit;
	s->state = tls != NULL ? NET_STREAM_HANDSHAKE : NET_STREAM_OPEN;
	peer_text(s);
	return s;
}
