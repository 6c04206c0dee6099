/* conn.c: the connections of a net_server.
 *
 * A connection reads into a fixed buffer of NET_HTTP_MAX_HEAD bytes, parses
 * the heads at its front and answers them in order (uv_write keeps the
 * order of pipelined replies).  Its life:
 *
 *   OPEN    reading, answering
 *   DRAIN   the last reply is queued (close, error, HTTP/1.0): no more
 *           reading; once the replies are written, shut down the sending
 *           side
 *   LINGER  shut down: read and drop what the peer still sends, for at
 *           most LINGER_MS, so that closing with unread data does not reset
 *           the connection before the peer has read our reply
 *   CLOSED  uv_close called on both handles; freed in the last close
 *           callback
 *
 * One timer per connection: the idle timeout while OPEN and DRAIN
 * (restarted when a request is complete and when a reply has been written
 * -- not on partial reads, so a head sent a byte at a time still has to
 * arrive within NET_IDLE_TIMEOUT_MS), the linger time while LINGER. */
#include "net/internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/addr.h"
#include "net/http_parse.h"
#include "net/http_reply.h"

#define WRITE_QUEUE_MAX (64 * 1024) /* unsent reply bytes before reading pauses */
#define LINGER_MS 2000
#define BODY_MAX (64u * 1024 * 1024)

enum conn_state { CONN_OPEN, CONN_DRAIN, CONN_LINGER, CONN_CLOSED };

struct net_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_shutdown_t shut;
	struct net_server *s;
	struct net_listener *l;
	struct net_conn *prev, *next;
	enum conn_state state;
	int handles;   /* handles not yet closed */
	size_t writes; /* replies queued and not yet written */
	bool reading;
	bool paused; /* too many reply bytes waiting: not reading */
	bool eof;    /* the peer has finished sending */
	char peer[INET6_ADDRSTRLEN];
	struct net_http_head head;
	size_t len; /* bytes in in[] */
	char in[NET_HTTP_MAX_HEAD];
};

/* One reply: the write request with the bytes it sends. */
struct wreq {
	uv_write_t req;
	char data[];
};

static void conn_process(struct net_conn *c);
static void conn_send_status(struct net_conn *c, int status, bool head_only, bool keep_alive);

/* ---- connections: closing ---------------------------------------------------- */

static void on_conn_closed(uv_handle_t *h)
{
	struct net_conn *c = h->data;

	if (--c->handles > 0)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->s->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->s->nconns--;
	free(c);
}

static void conn_close(struct net_conn *c)
{
	if (c->state == CONN_CLOSED)
		return;
	c->state = CONN_CLOSED;
	uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
	uv_close((uv_handle_t *)&c->timer, on_conn_closed);
}

static void on_timeout(uv_timer_t *t)
{
	conn_close(t->data);
}

static void conn_timer(struct net_conn *c, uint64_t ms)
{
	if (c->state != CONN_CLOSED)
		(void)uv_timer_start(&c->timer, on_timeout, ms, 0);
}

/* ---- connections: reading ---------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct net_conn *c = h->data;

	(void)suggested;
	if (c->state == CONN_LINGER)
		*buf = uv_buf_init(c->in, sizeof(c->in));
	else
		*buf = uv_buf_init(c->in + c->len, (unsigned int)(sizeof(c->in) - c->len));
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf);

static void conn_read(struct net_conn *c, bool on)
{
	if (c->state == CONN_CLOSED || on == c->reading)
		return;
	if (on && uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
		conn_close(c);
		return;
	}
	if (!on)
		(void)uv_read_stop((uv_stream_t *)&c->tcp);
	c->reading = on;
}

/* ---- connections: writing and shutting down ---------------------------------- */

static void on_shutdown(uv_shutdown_t *req, int status)
{
	struct net_conn *c = req->handle->data;

	if (c->state == CONN_CLOSED)
		return;
	if (status < 0) {
		conn_close(c);
		return;
	}
	c->state = CONN_LINGER;
	conn_timer(c, LINGER_MS);
	conn_read(c, true);
}

/* Every reply is written: close, or shut down and linger. */
static void conn_finish(struct net_conn *c)
{
	if (c->eof || uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, on_shutdown) != 0)
		conn_close(c);
}

/* No more requests on this connection. */
static void conn_drain(struct net_conn *c)
{
	if (c->state != CONN_OPEN)
		return;
	c->state = CONN_DRAIN;
	conn_read(c, false);
	if (c->state == CONN_DRAIN && c->writes == 0)
		conn_finish(c);
}

static void on_write(uv_write_t *req, int status)
{
	struct net_conn *c = req->handle->data;

	free(req); /* the struct wreq it begins */
	c->writes--;
	if (c->state == CONN_CLOSED)
		return;
	if (status < 0) {
		conn_close(c);
		return;
	}
	/* The peer took a reply: its time restarts, also for the last replies
	 * before a close (a slow reader of a large one is not cut off). */
	conn_timer(c, NET_IDLE_TIMEOUT_MS);
	if (c->state == CONN_DRAIN) {
		if (c->writes == 0)
			conn_finish(c);
		return;
	}
	if (c->paused &&
	    uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) <= WRITE_QUEUE_MAX / 2) {
		c->paused = false;
		conn_process(c);
	}
}

/* Queue one reply.  With head_only, the body only counts in
 * Content-Length.  On failure the connection is closed. */
static void conn_send(struct net_conn *c, const struct net_http_reply *r, bool head_only,
		      bool keep_alive)
{
	char head[NET_HTTP_REPLY_HEAD_MAX];
	size_t hl, bl = r->len;
	struct wreq *w;
	uv_buf_t b;

	if (r->body == NULL || bl > BODY_MAX)
		bl = 0;
	hl = net_http_reply_head(head, sizeof(head), r->status, r->content_type, bl, keep_alive,
				 time(NULL));
	if (hl == 0 && r->content_type != NULL) { /* not a valid field value */
		conn_send_status(c, 500, head_only, keep_alive);
		return;
	}
	if (hl == 0) {
		conn_close(c);
		return;
	}
	if (head_only || !net_http_status_has_body(r->status))
		bl = 0;
	w = malloc(sizeof(*w) + hl + bl);
	if (w == NULL) {
		conn_close(c);
		return;
	}
	memcpy(w->data, head, hl);
	if (bl > 0)
		memcpy(w->data + hl, r->body, bl);
	b = uv_buf_init(w->data, (unsigned int)(hl + bl));
	if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
		free(w);
		conn_close(c);
		return;
	}
	c->writes++;
}

/* A reply the engine makes up itself: "<status> <reason>\n". */
static void conn_send_status(struct net_conn *c, int status, bool head_only, bool keep_alive)
{
	char text[64];
	struct net_http_reply r = {.status = status, .body = text};

	r.len = (size_t)snprintf(text, sizeof(text), "%d %s\n", status, net_http_reason(status));
	conn_send(c, &r, head_only, keep_alive);
}

/* ---- connections: requests --------------------------------------------------- */

static void conn_answer(struct net_conn *c)
{
	const struct net_http_head *h = &c->head;
	struct net_http_request req = {
		.method = h->method,
		.target = h->target,
		.host = h->host,
		.peer = c->peer,
		.version_minor = h->version_minor,
	};
	struct net_http_reply r = {.status = 404};
	bool head_only = strcmp(h->method, "HEAD") == 0;

	c->l->handler(c->l->arg, &req, &r);
	if (r.status < 200 || r.status > 599 || r.len > BODY_MAX)
		conn_send_status(c, 500, head_only, h->keep_alive);
	else if (r.body == NULL)
		conn_send_status(c, r.status, head_only, h->keep_alive);
	else
		conn_send(c, &r, head_only, h->keep_alive);
	if (r.free_body)
		free((void *)r.body);
}

/* Answer the complete requests at the front of in[], in order, until the
 * buffer holds only part of a head (then read more), the connection is to
 * close, or too many reply bytes wait to be sent. */
static void conn_process(struct net_conn *c)
{
	while (c->state == CONN_OPEN && !c->paused) {
		enum net_http_parse r = net_http_parse_head(c->in, c->len, &c->head);
		bool keep_alive;

		if (r == NET_HTTP_PARSE_MORE) {
			conn_read(c, true);
			return;
		}
		if (r == NET_HTTP_PARSE_ERROR) {
			conn_send_status(c, c->head.status, false, false);
			conn_drain(c);
			return;
		}
		keep_alive = c->head.keep_alive;
		conn_answer(c);
		c->len -= c->head.len;
		memmove(c->in, c->in + c->head.len, c->len);
		net_http_head_reset(&c->head);
		if (!keep_alive) {
			conn_drain(c);
			return;
		}
		conn_timer(c, NET_IDLE_TIMEOUT_MS);
		if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > WRITE_QUEUE_MAX) {
			c->paused = true;
			conn_read(c, false);
		}
	}
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
	struct net_conn *c = st->data;

	(void)buf;
	if (n == 0 || c->state == CONN_CLOSED)
		return;
	if (c->state == CONN_LINGER) {
		if (n < 0)
			conn_close(c);
		return;
	}
	if (n < 0) {
		/* The peer is done sending: finish the replies already queued;
		 * a partial head is dropped. */
		if (n == UV_EOF && c->state == CONN_OPEN && c->writes > 0) {
			c->eof = true;
			conn_drain(c);
		} else {
			conn_close(c);
		}
		return;
	}
	if (c->state != CONN_OPEN)
		return;
	c->len += (size_t)n;
	conn_process(c);
}

/* ---- accepting --------------------------------------------------------------- */

static void peer_name(struct net_conn *c)
{
	struct sockaddr_storage ss;
	int n = sizeof(ss);

	c->peer[0] = '\0';
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &n) == 0)
		(void)moat_addr_text((const struct sockaddr *)&ss, c->peer, sizeof(c->peer), false);
}

static void on_rejected_closed(uv_handle_t *h)
{
	free(h);
}

/* Over the connection limit: accept and close at once. */
static void reject(uv_stream_t *ls)
{
	uv_tcp_t *t = malloc(sizeof(*t));

	if (t == NULL)
		return;
	if (uv_tcp_init(ls->loop, t) != 0) {
		free(t);
		return;
	}
	(void)uv_accept(ls, (uv_stream_t *)t);
	uv_close((uv_handle_t *)t, on_rejected_closed);
}

void net_conn_accept(uv_stream_t *ls, int status)
{
	struct net_listener *l = ls->data;
	struct net_server *s = l->s;
	struct net_conn *c;

	if (status < 0)
		return;
	if (s->nconns >= NET_HTTP_MAX_CONNS) {
		reject(ls);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL || uv_tcp_init(&s->loop, &c->tcp) != 0) {
		free(c);
		reject(ls);
		return;
	}
	(void)uv_timer_init(&s->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->s = s;
	c->l = l;
	c->handles = 2;
	c->next = s->conns;
	if (s->conns != NULL)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	if (uv_accept(ls, (uv_stream_t *)&c->tcp) != 0) {
		conn_close(c);
		return;
	}
	(void)uv_tcp_nodelay(&c->tcp, 1);
	peer_name(c);
	conn_timer(c, NET_IDLE_TIMEOUT_MS);
	conn_read(c, true);
}

void net_conn_close_all(struct net_server *s)
{
	for (struct net_conn *c = s->conns; c != NULL; c = c->next)
		conn_close(c);
}
