/* h1_server.c: HTTP/1.1 on a net_stream, the server side (h1_server.h has
 * the states and the rules; http_app.h the application's side).
 *
 * The exchange under way is part of the connection (HTTP/1.1 has one at a
 * time): no allocation per request but the head's parse state. */
#include "net/h1_server.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "net/http.h"
#include "net/tls_server.h"

#define IN_EXTRA (64 * 1024) /* body or pipelined bytes the input may hold */

enum hstate { H_HANDSHAKE, H_HEAD, H_EXCHANGE, H_DISCARD, H_CLOSING, H_CLOSED };

struct net_hx {
	struct net_h1s *h;
	void *arg;
	enum net_hx_resp resp;
	/* the request body */
	enum net_h1_framing framing;
	uint64_t left;            /* NET_H1_LENGTH: bytes not handed over */
	struct net_h1_chunked ck;
	bool body_done;           /* handed over whole (or there is none) */
	bool body_wanted;         /* the application takes it now */
	bool body_asked;          /* ... has asked for it (net_hx_resume) */
	bool body_started;        /* bytes of it were handed over */
	bool req_keep;            /* the request allows another after it */
	bool expect_continue;
	bool head_req;
	int version_minor;
	/* the response */
	bool chunked_out;         /* its body goes out in chunks */
	bool no_body_out;         /* no body goes out (HEAD, NET_BODY_NONE) */
	bool keep;                /* the connection goes on after it */
	bool discard;             /* the unread body is dropped after it */
};

struct net_h1s {
	struct net_stream *s;
	struct net_h1s_limits lim;
	const struct net_h1s_ops *ops;
	void *conn;
	const struct net_app_ops *app;
	void *app_arg;
	struct net_hx x;
	bool has_x;               /* x is an exchange under way */
	uint64_t xid;             /* exchanges started: tells one from the next */
	struct net_h1_msg *m;     /* while a head is being read */
	enum hstate state;
	bool head_started;
	bool in_process;          /* inside process: don't re-enter, loop */
	bool again;
	bool send_wait;           /* the timer is the send timeout */
	bool draining;
	/* H_DISCARD: the body being dropped, read with the finished
	 * exchange's x.framing, x.left and x.ck */
	uint64_t dseen;
};

static void process(struct net_h1s *h);
static void conn_end(struct net_h1s *h);

static size_t in_len(const struct net_h1s *h)
{
	size_t n;

	net_stream_in(h->s, &n);
	return n;
}

/* ---- closing and timing --------------------------------------------------------- */

/* The exchange ends for the application: its last call. */
static void x_release(struct net_h1s *h)
{
	if (!h->has_x)
		return;
	h->has_x = false;
	h->x.resp = NET_HX_DONE;
	if (h->app->done != NULL)
		h->app->done(h->x.arg);
}

static void on_closed(void *arg)
{
	struct net_h1s *h = arg;

	h->state = H_CLOSED;
	x_release(h);
	h->ops->closed(h->conn);
	free(h->m);
	free(h);
}

void net_h1s_close(struct net_h1s *h)
{
	if (h->state == H_CLOSED)
		return;
	h->state = H_CLOSED;
	x_release(h);
	net_stream_close(h->s);
}

static void on_timeout(void *arg)
{
	struct net_h1s *h = arg;

	/* A timeout in any state ends the connection: the handshake, a head
	 * or a keep-alive wait took too long, the client took none of a
	 * response in time, a tunnel was silent for an hour, the linger is
	 * over.  The send timeout is the client's doing with nothing in the
	 * access log: the server hears of it. */
	if (h->send_wait && h->state != H_CLOSED && h->ops->send_timeout != NULL)
		h->ops->send_timeout(h->conn);
	net_h1s_close(h);
}

static void timer_ms(struct net_h1s *h, int ms)
{
	if (h->state == H_CLOSED)
		return;
	h->send_wait = false;
	net_stream_timeout(h->s, ms);
}

/* The timer for what the connection waits for now (see h1_server.h), where
 * that follows from the write queue and the exchange; the handshake, a
 * head and a dropped body keep the deadline they were given. */
static void conn_timer(struct net_h1s *h)
{
	bool sending = net_stream_unsent(h->s) > 0;
	int ms;

	switch (h->state) {
	case H_HEAD:
		if (h->head_started)
			return;
		ms = sending ? h->lim.send_timeout_ms : h->lim.idle_timeout_ms;
		break;
	case H_EXCHANGE:
		if (!h->has_x)
			return;
		if (h->x.resp == NET_HX_TUNNEL) {
			timer_ms(h, NET_H1S_TUNNEL_IDLE_MS);
			return;
		}
		if (sending)
			ms = h->lim.send_timeout_ms;
		else if (h->x.body_wanted && !h->x.body_done && in_len(h) == 0)
			ms = h->lim.idle_timeout_ms; /* waiting for the upload */
		else
			ms = 0; /* waiting for the application */
		break;
	case H_CLOSING:
		if (!sending)
			return; /* the stream times its linger */
		ms = h->lim.send_timeout_ms;
		break;
	default:
		return;
	}
	timer_ms(h, ms);
	h->send_wait = sending && ms > 0;
}

/* Reading may go on: room for input, and the client takes what it is
 * sent. */
static bool may_read(const struct net_h1s *h)
{
	return !net_stream_in_full(h->s) && net_stream_write_queue(h->s) <= NET_H1S_HIGH_WATER;
}

/* ---- the stream's events ----------------------------------------------------------- */

static void on_ready(void *arg)
{
	struct net_h1s *h = arg;

	h->state = H_HEAD;
	timer_ms(h, h->lim.idle_timeout_ms);
}

static void on_data(void *arg)
{
	process(arg);
}

static void on_written(void *arg)
{
	struct net_h1s *h = arg;

	conn_timer(h); /* the client took bytes: its send timeout restarts */
	if (net_stream_unsent(h->s) < NET_H1S_HIGH_WATER / 2 && h->has_x &&
	    h->state == H_EXCHANGE && h->app->drained != NULL)
		h->app->drained(h->x.arg);
}

/* The client has stopped sending (or is gone). */
static void on_eof(void *arg)
{
	struct net_h1s *h = arg;
	struct net_hx *x = &h->x;

	if (!h->has_x || h->state != H_EXCHANGE) {
		net_h1s_close(h);
		return;
	}
	if (x->resp == NET_HX_TUNNEL) {
		/* A half-close: passed on, the other side may still answer. */
		if (h->app->client_eof != NULL)
			h->app->client_eof(x->arg);
		return;
	}
	if (x->body_done) {
		/* The whole request is here and the client only stopped
		 * sending (`printf ... | openssl s_client` does that): it gets
		 * its answer, then the connection closes. */
		x->req_keep = false;
		x->keep = false;
		return;
	}
	net_h1s_close(h);
}

/* ---- writing ------------------------------------------------------------------------ */

/* Send what is queued; a write the client does not take at once starts
 * its send timeout. */
static void flush(struct net_h1s *h)
{
	bool waiting = net_stream_unsent(h->s) > 0;

	if (h->state == H_CLOSED)
		return;
	net_stream_flush(h->s);
	if (!waiting && net_stream_unsent(h->s) > 0)
		conn_timer(h);
}

/* A request head that cannot be served: status, and the close. */
static void head_error(struct net_h1s *h, int status)
{
	char head[256];
	size_t len;
	const char *in = net_stream_in(h->s, &len);
	const char *reason = net_http_reason(status);
	int n;

	if (h->ops->rejected != NULL)
		h->ops->rejected(h->conn, in, len, status);
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\nServer: moat\r\nDate: %s\r\nContent-Type: text/plain; "
		     "charset=utf-8\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%d %s\n",
		     status, reason, net_http_date_now(), strlen(reason) + 5, status, reason);
	if (n > 0 && (size_t)n < sizeof(head))
		net_stream_queue(h->s, head, (size_t)n);
	conn_end(h);
}

/* ---- the application's calls --------------------------------------------------------- */

void net_hx_set_arg(struct net_hx *x, void *arg)
{
	x->arg = arg;
}

bool net_hx_body_complete(const struct net_hx *x)
{
	return x->body_done;
}

enum net_hx_resp net_hx_resp_state(const struct net_hx *x)
{
	return x->resp;
}

size_t net_hx_queued(const struct net_hx *x)
{
	return net_stream_write_queue(x->h->s);
}

void net_hx_flush(struct net_hx *x)
{
	flush(x->h);
}

void net_hx_resume(struct net_hx *x)
{
	struct net_h1s *h = x->h;

	x->body_wanted = true;
	x->body_asked = true;
	if (h->state != H_EXCHANGE)
		return;
	process(h);
	if (h->state == H_EXCHANGE && may_read(h))
		net_stream_read(h->s, true); /* (and what TLS already holds) */
}

/* Whether the connection can go on after a response given now: the
 * request allows it and its body is out of the way -- read whole, or small
 * enough to drop unread (a body the application started on, or that the
 * client waits to be asked for, cannot be). */
static bool keep_after(struct net_hx *x, unsigned flags)
{
	if (!x->req_keep || (flags & NET_HX_CLOSE) || x->h->draining)
		return false;
	if (x->body_done)
		return true;
	if (x->body_asked || x->body_started || x->expect_continue ||
	    (x->framing == NET_H1_LENGTH && x->left > NET_H1S_DISCARD_MAX))
		return false;
	x->discard = true;
	return true;
}

static int put_status(struct moat_buf *b, int status, const char *reason, size_t reason_len)
{
	char line[] = "HTTP/1.1 000 ";

	line[9] = (char)('0' + status / 100 % 10);
	line[10] = (char)('0' + status / 10 % 10);
	line[11] = (char)('0' + status % 10);
	if (reason == NULL) {
		reason = net_http_reason(status);
		reason_len = strlen(reason);
	}
	return moat_buf_append(b, line, sizeof(line) - 1) | moat_buf_append(b, reason, reason_len) |
	       moat_buf_append(b, "\r\n", 2);
}

int net_hx_head(struct net_hx *x, int status, const char *reason, size_t reason_len,
		const struct net_hfield *f, size_t n, enum net_body body, uint64_t length,
		unsigned flags)
{
	struct net_h1s *h = x->h;
	struct moat_buf scratch = MOAT_BUF_INIT, *b = net_stream_out(h->s);
	bool final = status >= 200 || status == 101;
	size_t size = 128 + reason_len;
	int bad = 0;

	if (x->resp != NET_HX_NONE || status < 100 || status > 599 || h->state != H_EXCHANGE)
		return -1;
	if (b == NULL)
		b = &scratch; /* a closed stream: built for nothing, as queued bytes are */
	/* The head is written straight into the stream's queue, with room
	 * for a short body after it: one allocation per response. */
	for (size_t i = 0; i < n; i++)
		size += f[i].name_len + f[i].value_len + 4;
	if (body == NET_BODY_LENGTH && length <= 4096)
		size += (size_t)length;
	bad |= moat_buf_reserve(b, size);
	bad |= put_status(b, status, reason, reason_len);
	for (size_t i = 0; i < n; i++) {
		bad |= moat_buf_append(b, f[i].name, f[i].name_len);
		bad |= moat_buf_append(b, ": ", 2);
		bad |= moat_buf_append(b, f[i].value, f[i].value_len);
		bad |= moat_buf_append(b, "\r\n", 2);
	}
	if (status == 101) {
		bad |= moat_buf_puts(b, "Connection: upgrade\r\n");
		x->keep = false;
	} else if (final) {
		x->keep = keep_after(x, flags);
		x->no_body_out = x->head_req || body == NET_BODY_NONE;
		if (body == NET_BODY_LENGTH) {
			char cl[48];

			snprintf(cl, sizeof(cl), "Content-Length: %" PRIu64 "\r\n", length);
			bad |= moat_buf_puts(b, cl);
		} else if (body == NET_BODY_STREAM && !x->head_req) {
			/* (with NET_HX_CLOSE the close ends it, as the
			 * application's own source does) */
			if (x->version_minor >= 1 && !(flags & NET_HX_CLOSE)) {
				bad |= moat_buf_puts(b, "Transfer-Encoding: chunked\r\n");
				x->chunked_out = true;
			} else {
				x->keep = false; /* HTTP/1.0: the close ends it */
			}
		}
		if (!x->keep)
			bad |= moat_buf_puts(b, "Connection: close\r\n");
		else if (x->version_minor == 0)
			bad |= moat_buf_puts(b, "Connection: keep-alive\r\n");
	}
	bad |= moat_buf_append(b, "\r\n", 2);
	moat_buf_free(&scratch);
	if (bad != 0)
		return -1; /* a head cut short is in the queue: the caller aborts */
	if (status == 101) {
		x->resp = NET_HX_TUNNEL;
		conn_timer(h);
	} else if (final) {
		x->resp = NET_HX_BODY;
	}
	return 0;
}

void net_hx_body(struct net_hx *x, const void *p, size_t n)
{
	struct net_h1s *h = x->h;

	if (n == 0 || h->state != H_EXCHANGE)
		return;
	if (x->resp == NET_HX_TUNNEL) {
		net_stream_queue(h->s, p, n);
		timer_ms(h, NET_H1S_TUNNEL_IDLE_MS);
		return;
	}
	if (x->resp != NET_HX_BODY || x->no_body_out)
		return;
	if (x->chunked_out) {
		char size[24];
		int k = snprintf(size, sizeof(size), "%zx\r\n", n);

		net_stream_queue(h->s, size, (size_t)k);
		net_stream_queue(h->s, p, n);
		net_stream_queue(h->s, "\r\n", 2);
		return;
	}
	net_stream_queue(h->s, p, n);
}

void net_hx_abort(struct net_hx *x)
{
	net_h1s_close(x->h);
}

void net_hx_end(struct net_hx *x)
{
	struct net_h1s *h = x->h;

	bool tunnel = x->resp == NET_HX_TUNNEL;

	if (!h->has_x || x != &h->x)
		return;
	if (x->resp == NET_HX_BODY && x->chunked_out)
		net_stream_queue(h->s, "0\r\n\r\n", 5);
	/* A body nobody read (x->discard) is dropped first, within the header
	 * timeout, before the next head is parsed; x keeps where it is. */
	h->dseen = 0;
	x_release(h);
	if (h->state == H_CLOSED)
		return;
	if (!x->keep || tunnel || h->draining) {
		conn_end(h);
		return;
	}
	flush(h);
	h->head_started = false;
	if (x->discard) {
		h->state = H_DISCARD;
		timer_ms(h, h->lim.header_timeout_ms);
	} else {
		h->state = H_HEAD;
		net_stream_in_release(h->s);
		conn_timer(h);
	}
	if (in_len(h) > 0)
		process(h);
	if ((h->state == H_HEAD || h->state == H_DISCARD) && may_read(h))
		net_stream_read(h->s, true);
}

/* ---- reading -------------------------------------------------------------------------- */

/* The last response is queued: send it, with the close_notify, then close
 * (lingering). */
static void conn_end(struct net_h1s *h)
{
	if (h->state == H_CLOSED)
		return;
	net_stream_end(h->s);
	h->state = H_CLOSING;
	conn_timer(h);
}

/* H_DISCARD: drop what of the input belongs to the body; after its end,
 * the next request (or the end, when draining). */
static void discard_some(struct net_h1s *h)
{
	size_t used;
	const char *in = net_stream_in(h->s, &used);
	bool done;

	if (h->x.framing == NET_H1_LENGTH) {
		if (used > h->x.left)
			used = (size_t)h->x.left;
		h->x.left -= used;
		done = h->x.left == 0;
	} else {
		size_t len = used;
		enum net_h1_chunk_result r = net_h1_chunked_scan(&h->x.ck, in, len, &used);

		if (r == NET_H1_CHUNK_ERROR) {
			conn_end(h);
			return;
		}
		done = r == NET_H1_CHUNK_DONE;
	}
	h->dseen += used;
	net_stream_consume(h->s, used);
	if (h->dseen > NET_H1S_DISCARD_MAX) {
		conn_end(h); /* a chunked body larger than is worth reading */
		return;
	}
	if (!done)
		return;
	h->state = H_HEAD;
	h->head_started = false;
	if (h->draining) {
		conn_end(h);
		return;
	}
	net_stream_in_release(h->s);
	conn_timer(h);
}

/* A complete head is at the front of the input: a new exchange. */
static void head_done(struct net_h1s *h)
{
	struct net_hx *x = &h->x;
	const struct net_h1_msg *m = h->m;
	const struct net_tls_conn *t = net_stream_tls(h->s);
	struct net_request req;
	size_t len;

	memset(x, 0, sizeof(*x));
	x->h = h;
	x->framing = m->framing;
	x->left = m->framing == NET_H1_LENGTH ? m->content_length : 0;
	net_h1_chunked_init(&x->ck);
	x->body_done = m->framing == NET_H1_NO_BODY ||
		       (m->framing == NET_H1_LENGTH && m->content_length == 0);
	x->req_keep = m->keep_alive;
	x->expect_continue = m->expect_continue;
	x->version_minor = m->version_minor;
	req.buf = net_stream_in(h->s, &len);
	x->head_req = m->method_len == 4 && memcmp(req.buf + m->method, "HEAD", 4) == 0;
	req.m = m;
	req.peer = net_stream_peer(h->s);
	req.sni = t != NULL ? net_tls_conn_sni(t) : "";
	req.tls = t != NULL;
	timer_ms(h, 0);
	h->state = H_EXCHANGE;
	h->has_x = true;
	h->xid++;
	h->app->request(h->app_arg, x, &req);
	if (h->state == H_CLOSED)
		return;
	/* (an answer given at once has moved on to the next head: the parse
	 * state was kept until now for the consume below) */
	net_stream_consume(h->s, m->head_len);
	free(h->m);
	h->m = NULL;
}

/* The request body is not valid chunked encoding: the application may
 * still answer (400, the connection closes after it), else the connection
 * is cut. */
static void body_error(struct net_h1s *h)
{
	struct net_hx *x = &h->x;
	uint64_t id = h->xid;

	x->body_wanted = false;
	x->req_keep = false;
	if (x->resp == NET_HX_NONE && h->app->body_invalid != NULL) {
		h->app->body_invalid(x->arg);
		if (h->xid != id || !h->has_x || h->state != H_EXCHANGE)
			return;
	}
	net_h1s_close(h);
}

/* The body is whole: the application hears it. */
static void body_complete(struct net_h1s *h)
{
	h->x.body_done = true;
	if (h->app->body_end != NULL)
		h->app->body_end(h->x.arg);
}

/* Hand the application what it takes of the buffered body (or tunnel
 * bytes).  A callback that ended the exchange took nothing. */
static void deliver(struct net_h1s *h)
{
	struct net_hx *x = &h->x;
	uint64_t id = h->xid;

	while (h->state == H_EXCHANGE && h->has_x && x->body_wanted &&
	       (!x->body_done || x->resp == NET_HX_TUNNEL) && !net_stream_dead(h->s)) {
		size_t len, took;
		const char *in = net_stream_in(h->s, &len);

		if (len == 0)
			return;
		if (x->resp == NET_HX_TUNNEL || x->framing == NET_H1_LENGTH) {
			size_t n = len;

			if (x->resp != NET_HX_TUNNEL && n > x->left)
				n = (size_t)x->left;
			took = h->app->body(x->arg, in, n);
			if (h->xid != id || !h->has_x || h->state != H_EXCHANGE)
				return;
			if (took > n)
				took = n;
			net_stream_consume(h->s, took);
			if (x->resp == NET_HX_TUNNEL) {
				if (took > 0)
					timer_ms(h, NET_H1S_TUNNEL_IDLE_MS);
			} else {
				x->left -= took;
				x->body_started |= took > 0;
				if (x->left == 0) {
					body_complete(h);
					continue;
				}
			}
			if (took < n)
				x->body_wanted = false; /* until net_hx_resume */
			continue;
		}
		{
			/* chunked: one run of data at a time; what the
			 * application leaves is scanned again next time */
			struct net_h1_chunked save = x->ck;
			size_t used, d, dl;
			enum net_h1_chunk_result r =
				net_h1_chunked_next(&x->ck, in, len, &used, &d, &dl);

			if (r == NET_H1_CHUNK_ERROR) {
				body_error(h);
				return;
			}
			took = dl > 0 ? h->app->body(x->arg, in + d, dl) : 0;
			if (h->xid != id || !h->has_x || h->state != H_EXCHANGE)
				return;
			if (took < dl) {
				size_t d2, dl2;

				x->ck = save;
				net_h1_chunked_next(&x->ck, in, d + took, &used, &d2, &dl2);
				net_stream_consume(h->s, used);
				x->body_started |= took > 0;
				x->body_wanted = false;
				continue;
			}
			net_stream_consume(h->s, used);
			x->body_started |= dl > 0;
			if (r == NET_H1_CHUNK_DONE)
				body_complete(h);
		}
	}
}

static void process(struct net_h1s *h)
{
	size_t len;
	const char *in;

	if (h->in_process) {
		h->again = true;
		return;
	}
	h->in_process = true;
	do {
		h->again = false;
		while ((h->state == H_HEAD || h->state == H_DISCARD) && in_len(h) > 0 &&
		       !net_stream_dead(h->s)) {
			enum net_h1_result r;

			if (h->state == H_DISCARD) {
				discard_some(h);
				continue;
			}
			if (h->m == NULL) {
				if ((h->m = malloc(sizeof(*h->m))) == NULL) {
					net_h1s_close(h);
					goto out;
				}
				net_h1_msg_reset(h->m);
			}
			if (!h->head_started) {
				h->head_started = true;
				timer_ms(h, h->lim.header_timeout_ms);
			}
			in = net_stream_in(h->s, &len);
			r = net_h1_parse_request(in, len, h->lim.max_head, h->m);
			if (r == NET_H1_MORE) {
				if (len >= h->lim.max_head + 4)
					head_error(h, 431);
				goto out;
			}
			if (r == NET_H1_ERROR) {
				head_error(h, h->m->status);
				goto out;
			}
			head_done(h);
			if (h->state == H_CLOSED)
				goto out;
		}
		if (h->state == H_EXCHANGE)
			deliver(h);
	} while (h->again && h->state != H_CLOSED);
	/* Too much waiting to go on: stop reading until it drains. */
	if (h->state != H_CLOSED && !may_read(h))
		net_stream_read(h->s, false);
	if (h->state == H_EXCHANGE)
		conn_timer(h);
out:
	h->in_process = false;
}

/* ---- the connection -------------------------------------------------------------------- */

static const struct net_stream_ops stream_ops = {
	.ready = on_ready,
	.data = on_data,
	.eof = on_eof,
	.written = on_written,
	.timeout = on_timeout,
	.closed = on_closed,
};

struct net_h1s *net_h1s_accept(uv_stream_t *listener, struct net_tls_ctx *tls,
			       struct net_loop_buf *buf, struct net_stream_stats *stats,
			       const struct net_h1s_limits *lim, const struct net_h1s_ops *ops,
			       void *conn, const struct net_app_ops *app, void *app_arg,
			       bool refuse)
{
	struct net_h1s *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	h->lim = *lim;
	if (h->lim.max_head == 0 || h->lim.max_head > NET_H1_MAX_HEAD)
		h->lim.max_head = NET_H1_MAX_HEAD;
	h->ops = ops;
	h->conn = conn;
	h->app = app;
	h->app_arg = app_arg;
	h->s = net_stream_accept(listener, refuse ? NULL : tls, buf, stats,
				 h->lim.max_head + IN_EXTRA, &stream_ops, h);
	if (h->s == NULL) {
		free(h);
		return NULL;
	}
	if (refuse) {
		net_h1s_close(h);
		return h;
	}
	h->state = tls != NULL ? H_HANDSHAKE : H_HEAD;
	timer_ms(h, tls != NULL ? h->lim.header_timeout_ms : h->lim.idle_timeout_ms);
	if (net_stream_start(h->s) != 0)
		net_h1s_close(h);
	return h;
}

const char *net_h1s_peer(const struct net_h1s *h)
{
	return net_stream_peer(h->s);
}

bool net_h1s_idle(const struct net_h1s *h)
{
	return (h->state == H_HEAD && in_len(h) == 0) || h->state == H_HANDSHAKE;
}

void net_h1s_drain(struct net_h1s *h)
{
	h->draining = true;
}
