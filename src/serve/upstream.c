/* upstream.c: connections from a worker to the upstream servers, kept
 * alive and pooled per worker (no locks: a pool belongs to one loop).
 *
 * A connection is either attached to one exchange (ops/arg set) or idle in
 * the pool, where it keeps reading so that an upstream closing it is
 * noticed (and it is dropped) before anyone sends a request on it.  One
 * timer per connection, whose meaning follows the state: the connect
 * timeout, the upstream's silence while attached, the idle time in the
 * pool, or a zero-delay call of ops->connected for a pooled connection (so
 * that it is never called from inside serve_up_get).
 *
 * Life of a connection:
 *
 *   U_CONNECTING  connecting (connect timeout) -> U_ACTIVE, or failed
 *   U_DEFER       taken from the pool; ops->connected comes from the loop
 *                 -> U_ACTIVE (or failed, if the upstream spoke or closed
 *                 in between: then it never saw the request)
 *   U_ACTIVE      attached to an exchange -> U_IDLE (released reusable) or
 *                 U_CLOSED
 *   U_IDLE        in the pool (idle time) -> U_DEFER or U_CLOSED
 *   U_CLOSED      uv_close called; freed when both handles have closed
 *
 * The silence of an attached upstream is timed only while moat waits on
 * it: while the exchange waits for response bytes and has not paused
 * reading (a slow client pauses it: that is not the upstream's silence),
 * and while request bytes wait to be written to it (an upstream that
 * takes none of an upload).  Each is the exchange's timeout, restarted by
 * progress. */
#include "serve/internal.h"

#include <stdlib.h>
#include <string.h>

#define POOL_IDLE_MS 60000
#define POOL_MAX 256 /* idle connections per worker, all upstreams together */

enum ustate { U_CONNECTING, U_DEFER, U_ACTIVE, U_IDLE, U_CLOSED };

struct up {
	uv_tcp_t tcp;
	uv_connect_t creq;
	uv_timer_t timer;
	uv_shutdown_t sreq;
	struct serve_worker *w;
	LIST_ENTRY(up) link;  /* every connection of the worker */
	LIST_ENTRY(up) plink; /* the idle pool */
	struct sockaddr_storage sa;
	socklen_t salen;
	const struct up_ops *ops;
	void *arg;
	size_t wq;
	enum ustate state;
	int handles;
	bool reused;
	bool reading;
	bool high; /* wq went over the high-water mark */
	bool paused;      /* the exchange stopped reading (its client is slow) */
	bool want_answer; /* the exchange waits for response bytes */
	int tmo_ms;       /* the silence allowed (0: none) */
	int connect_err;  /* a connect that failed at once (libuv's code) */
	uint64_t read_dl, write_dl; /* U_ACTIVE: loop times (0: not timed) */
	uint64_t armed;   /* when the timer is set to fire (see conn.c's timer_ms) */
};

struct uwreq {
	uv_write_t req;
	struct up *u;
	size_t len;
	char data[];
};

static void pool_remove(struct up *u)
{
	if (u->state != U_IDLE)
		return;
	LIST_REMOVE(u, plink);
	u->w->nidle--;
}

static void on_closed(uv_handle_t *h)
{
	struct up *u = h->data;
	struct serve_worker *w = u->w;

	if (--u->handles > 0)
		return;
	LIST_REMOVE(u, link);
	free(u);
	if (w->draining && w->nconns == 0 && LIST_EMPTY(&w->ups))
		uv_async_send(&w->wake);
}

static void up_close(struct up *u)
{
	if (u->state == U_CLOSED)
		return;
	pool_remove(u);
	u->state = U_CLOSED;
	u->ops = NULL;
	u->handles = 2;
	uv_close((uv_handle_t *)&u->timer, on_closed);
	uv_close((uv_handle_t *)&u->tcp, on_closed);
}

/* Tell the exchange, once, and let go of it. */
static void up_fail(struct up *u, enum serve_up_error e, const char *why)
{
	const struct up_ops *ops = u->ops;
	void *arg = u->arg;

	up_close(u);
	if (ops != NULL)
		ops->failed(arg, e, why);
}

static void on_timer(uv_timer_t *t);

/* The timer of an attached connection at the earlier of its deadlines.
 * Only re-armed when that is earlier than the armed one: a deadline pushed
 * later (every read or write) is taken up when the timer fires. */
static void arm(struct up *u)
{
	uint64_t dl = u->read_dl, now;

	if (u->write_dl != 0 && (dl == 0 || u->write_dl < dl))
		dl = u->write_dl;
	if (dl == 0)
		return;
	if (uv_is_active((uv_handle_t *)&u->timer) && u->armed != 0 && u->armed <= dl)
		return;
	now = uv_now(u->timer.loop);
	u->armed = dl;
	uv_timer_start(&u->timer, on_timer, dl > now ? dl - now : 0, 0);
}

static uint64_t from_now(const struct up *u, int ms)
{
	return uv_now(u->timer.loop) + (uint64_t)ms;
}

static void on_timer(uv_timer_t *t)
{
	struct up *u = t->data;

	switch (u->state) {
	case U_CONNECTING:
		/* A connect that failed at once (too many open files, no
		 * route...) is reported from here too, with its reason. */
		up_fail(u, UP_ERR_CONNECT,
			u->connect_err != 0 ? uv_strerror(u->connect_err) : "connection timed out");
		break;
	case U_DEFER:
		u->state = U_ACTIVE;
		if (u->ops != NULL)
			u->ops->connected(u->arg, u);
		break;
	case U_ACTIVE: {
		uint64_t now = uv_now(t->loop);

		if (u->read_dl != 0 && now >= u->read_dl) {
			up_fail(u, UP_ERR_TIMEOUT, "no answer in time");
			break;
		}
		if (u->write_dl != 0 && now >= u->write_dl) {
			up_fail(u, UP_ERR_TIMEOUT, "it took none of the request in time");
			break;
		}
		u->armed = 0;
		arm(u); /* moved later since it was armed: sleep on */
		break;
	}
	case U_IDLE:
	case U_CLOSED:
		up_close(u);
		break;
	}
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct up *u = h->data;

	b->base = u->w->buf.rbuf;
	b->len = sizeof(u->w->buf.rbuf);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
	struct up *u = st->data;

	if (n == 0 || u->state == U_CLOSED)
		return;
	if (u->state == U_DEFER) {
		/* Taken from the pool in this loop turn, and closed by the
		 * upstream (or talking out of turn) before it was handed over:
		 * the exchange hears of it (and retries on a new connection). */
		up_fail(u, UP_ERR_CLOSED, n < 0 ? "closed while idle" : "data while idle");
		return;
	}
	if (u->state != U_ACTIVE || u->ops == NULL) {
		/* Idle in the pool: closed by the upstream, or talking out of
		 * turn.  Either way it is of no use any more. */
		up_close(u);
		return;
	}
	if (n < 0) {
		const struct up_ops *ops = u->ops;
		void *arg = u->arg;

		if (n == UV_EOF) {
			/* The exchange decides (a close-delimited body ends
			 * here); the connection is done either way. */
			up_close(u);
			ops->eof(arg);
		} else {
			up_fail(u, UP_ERR_CLOSED, uv_strerror((int)n));
		}
		return;
	}
	if (u->read_dl != 0)
		u->read_dl = from_now(u, u->tmo_ms); /* it spoke: the silence restarts */
	u->ops->data(u->arg, b->base, (size_t)n);
}

static void read_on(struct up *u, bool on)
{
	if (on && !u->reading && u->state != U_CLOSED) {
		if (uv_read_start((uv_stream_t *)&u->tcp, on_alloc, on_read) == 0)
			u->reading = true;
	} else if (!on && u->reading) {
		uv_read_stop((uv_stream_t *)&u->tcp);
		u->reading = false;
	}
}

static void on_connect(uv_connect_t *req, int status)
{
	struct up *u = req->data;

	if (u->state != U_CONNECTING)
		return; /* released (closed) while connecting */
	if (status != 0) {
		up_fail(u, UP_ERR_CONNECT, uv_strerror(status));
		return;
	}
	uv_timer_stop(&u->timer);
	uv_tcp_nodelay(&u->tcp, 1);
	u->state = U_ACTIVE;
	read_on(u, true);
	if (u->ops != NULL)
		u->ops->connected(u->arg, u);
}

struct up *serve_up_get(struct serve_worker *w, const struct serve_addr *addr, int connect_ms,
			bool fresh, const struct up_ops *ops, void *arg)
{
	struct up *u;

	if (!fresh) {
		LIST_FOREACH(u, &w->idle, plink)
			if (u->salen == addr->len && memcmp(&u->sa, &addr->sa, addr->len) == 0)
				break;
		if (u != NULL) {
			pool_remove(u);
			u->state = U_DEFER;
			u->reused = true;
			u->ops = ops;
			u->arg = arg;
			atomic_fetch_add_explicit(&w->srv->m.upstream_reused, 1,
						  memory_order_relaxed);
			uv_timer_start(&u->timer, on_timer, 0, 0);
			return u;
		}
	}
	if ((u = calloc(1, sizeof(*u))) == NULL)
		return NULL;
	if (uv_tcp_init(&w->loop, &u->tcp) != 0) {
		free(u);
		return NULL;
	}
	uv_timer_init(&w->loop, &u->timer);
	u->tcp.data = u;
	u->timer.data = u;
	u->creq.data = u;
	u->w = w;
	u->ops = ops;
	u->arg = arg;
	u->state = U_CONNECTING;
	memcpy(&u->sa, &addr->sa, addr->len);
	u->salen = addr->len;
	LIST_INSERT_HEAD(&w->ups, u, link);
	atomic_fetch_add_explicit(&w->srv->m.upstream_conns, 1, memory_order_relaxed);
	if ((u->connect_err = uv_tcp_connect(&u->creq, &u->tcp, (const struct sockaddr *)&u->sa,
					     on_connect)) != 0) {
		/* Reported from the loop like any other connect failure. */
		uv_timer_start(&u->timer, on_timer, 0, 0);
		return u;
	}
	uv_timer_start(&u->timer, on_timer, (uint64_t)(connect_ms > 0 ? connect_ms : 5000), 0);
	return u;
}

static void on_write(uv_write_t *req, int status)
{
	struct uwreq *wr = (struct uwreq *)req;
	struct up *u = wr->u;

	u->wq -= wr->len;
	free(wr);
	if (u->state == U_CLOSED)
		return;
	if (status != 0) {
		up_fail(u, UP_ERR_CLOSED, uv_strerror(status));
		return;
	}
	/* It took bytes: the silence restarts (or ends, with the queue). */
	u->write_dl = u->wq > 0 && u->tmo_ms > 0 ? from_now(u, u->tmo_ms) : 0;
	if (u->high && u->wq < SERVE_HIGH_WATER / 2) {
		u->high = false;
		if (u->ops != NULL)
			u->ops->drained(u->arg);
	}
}

int serve_up_write(struct up *u, const void *data, size_t len)
{
	struct uwreq *wr;
	uv_buf_t b;

	if (u->state != U_ACTIVE)
		return -1;
	if (len == 0)
		return 0;
	if (u->wq == 0) {
		/* Nothing queued: straight from the caller's bytes; only what
		 * the socket does not take now is copied and queued. */
		int n;

		b = uv_buf_init((char *)data, (unsigned)len);
		n = uv_try_write((uv_stream_t *)&u->tcp, &b, 1);
		if (n == (int)len)
			return 0;
		/* An error is left to uv_write, which reports it through
		 * on_write, as callers expect. */
		if (n > 0) {
			data = (const char *)data + n;
			len -= (size_t)n;
		}
	}
	if ((wr = malloc(sizeof(*wr) + len)) == NULL)
		return -1;
	memcpy(wr->data, data, len);
	wr->u = u;
	wr->len = len;
	b = uv_buf_init(wr->data, (unsigned)len);
	if (uv_write(&wr->req, (uv_stream_t *)&u->tcp, &b, 1, on_write) != 0) {
		free(wr);
		return -1;
	}
	u->wq += len;
	if (u->wq > SERVE_HIGH_WATER)
		u->high = true;
	if (u->write_dl == 0 && u->tmo_ms > 0) {
		u->write_dl = from_now(u, u->tmo_ms);
		arm(u);
	}
	return 0;
}

size_t serve_up_write_queue(const struct up *u)
{
	return u->wq;
}

void serve_up_pause(struct up *u, bool pause)
{
	if (u->state != U_ACTIVE || u->paused == pause)
		return;
	u->paused = pause;
	read_on(u, !pause);
	/* Paused: moat is not waiting for it.  Resumed: its silence counts
	 * from now. */
	u->read_dl = !pause && u->want_answer && u->tmo_ms > 0 ? from_now(u, u->tmo_ms) : 0;
	arm(u);
}

void serve_up_timeout(struct up *u, int ms, bool answer)
{
	if (u->state != U_ACTIVE)
		return;
	u->tmo_ms = ms > 0 ? ms : 0;
	u->want_answer = answer;
	u->read_dl = answer && !u->paused && u->tmo_ms > 0 ? from_now(u, u->tmo_ms) : 0;
	if (u->tmo_ms == 0)
		u->write_dl = 0;
	else if (u->wq > 0 && u->write_dl == 0)
		u->write_dl = from_now(u, u->tmo_ms);
	arm(u);
}

bool serve_up_reused(const struct up *u)
{
	return u->reused;
}

void serve_up_release(struct up *u, bool reusable)
{
	struct serve_worker *w = u->w;

	u->ops = NULL;
	u->arg = NULL;
	u->paused = u->want_answer = false;
	u->tmo_ms = 0;
	u->read_dl = u->write_dl = u->armed = 0;
	if (!reusable || u->state != U_ACTIVE || u->wq > 0 || w->draining || w->nidle >= POOL_MAX) {
		up_close(u);
		return;
	}
	u->state = U_IDLE;
	LIST_INSERT_HEAD(&w->idle, u, plink);
	w->nidle++;
	read_on(u, true);
	uv_timer_start(&u->timer, on_timer, POOL_IDLE_MS, 0);
}

/* (libuv calls it even when the handle closes first: it must exist) */
static void on_shutdown(uv_shutdown_t *req, int status)
{
}

void serve_up_shutdown_write(struct up *u)
{
	if (u->state != U_ACTIVE)
		return;
	u->sreq.data = u;
	if (uv_shutdown(&u->sreq, (uv_stream_t *)&u->tcp, on_shutdown) != 0)
		up_fail(u, UP_ERR_CLOSED, "cannot shut down");
}

void serve_up_close_all(struct serve_worker *w)
{
	struct up *u, *next;

	for (u = LIST_FIRST(&w->ups); u != NULL; u = next) {
		next = LIST_NEXT(u, link);
		if (u->state == U_IDLE)
			up_close(u);
	}
}
