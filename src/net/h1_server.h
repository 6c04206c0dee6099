/* h1_server.h: HTTP/1.1 on a net_stream, the server side -- the protocol
 * layer of moat's network engine (net/stream.h below it, net/http_app.h
 * above it).
 *
 * One struct net_h1s per accepted connection.  It reads request heads
 * (net/h1.h, strictly: whatever could let two parsers disagree is an
 * error), hands each request to the application as an exchange, de-frames
 * request bodies (Content-Length, chunked) for it, frames its responses
 * (Content-Length, chunked, or until close for HTTP/1.0; nothing after a
 * HEAD, 204 or 304; 1xx; 101 and a tunnel), and decides what happens to
 * the connection after each response: the next request, or the close.
 *
 * A body the application did not read (it answered first) is read and
 * dropped before the next request is parsed -- at most NET_H1S_DISCARD_MAX
 * bytes, within the header timeout -- or the connection closes; never is
 * it parsed as a request (CL.0 smuggling).
 *
 * Connection states (enum, h1_server.c):
 *
 *   HANDSHAKE  TLS handshake (header timeout)
 *   HEAD       waiting for / reading a request head (idle timeout until
 *              its first byte, then the header timeout: a head trickled in
 *              a byte at a time still has to be complete in time)
 *   EXCHANGE   the application has the request
 *   DISCARD    dropping a body nobody read, then HEAD
 *   CLOSING    the last response is queued; the stream sends it and
 *              lingers (under the send timeout while bytes wait)
 *   CLOSED     the stream is closing; ops->closed follows
 *
 * Transitions: HANDSHAKE -> HEAD (plain connections start there) ->
 * EXCHANGE -> HEAD, DISCARD or CLOSING; DISCARD -> HEAD or CLOSING; any ->
 * CLOSED.
 *
 * The one timer measures what the connection waits for, and only that:
 * the handshake and a head (header timeout), the next request (idle
 * timeout), an upload the application is ready for (idle timeout; not
 * while it cannot take it), the client taking a response (send timeout,
 * restarted by every write that completes; not while the application has
 * nothing to send), a tunnel (an hour of silence both ways).
 *
 * Backpressure: reading stops when the input is full (the application
 * takes the body slower than the client sends it) or when more than
 * NET_H1S_HIGH_WATER bytes wait to be written; it resumes when they
 * drain (ops->drained tells the application at half of it).
 *
 * Not thread-safe: a connection belongs to its loop. */
#ifndef MOAT_NET_H1_SERVER_H
#define MOAT_NET_H1_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "net/http_app.h"
#include "net/stream.h"

#define NET_H1S_DISCARD_MAX (64 * 1024)  /* body bytes dropped to keep a connection */
#define NET_H1S_HIGH_WATER (256 * 1024) /* bytes queued to the client before reading pauses */
#define NET_H1S_TUNNEL_IDLE_MS (3600 * 1000)

struct net_h1s;

struct net_h1s_limits {
	size_t max_head; /* bytes of a request head (at most NET_H1_MAX_HEAD) */
	int header_timeout_ms;
	int idle_timeout_ms;
	int send_timeout_ms;
};

/* What the server that accepted the connection hears of it (rejected and
 * send_timeout may be NULL). */
struct net_h1s_ops {
	/* A request head could not be parsed: status (400, 414, 431, 501,
	 * 505) is answered and the connection closes.  in: what was read of
	 * the head (the peer's bytes: escape before showing). */
	void (*rejected)(void *conn, const char *in, size_t len, int status);
	/* The client took nothing of a response for send_timeout_ms: the
	 * connection closes. */
	void (*send_timeout)(void *conn);
	/* The connection is gone: the last call with conn. */
	void (*closed)(void *conn);
};

/* Accept a connection from listener (TLS inside with tls, see
 * net_stream_accept) and start serving HTTP/1.1 on it: requests go to app
 * with app_arg, the connection's events to ops with conn.  lim is copied.
 * refuse: accept it only to close it at once (over a connection limit,
 * draining): no TLS state is made and nothing is read; ops->closed follows
 * all the same.  NULL when it could not be accepted at all. */
struct net_h1s *net_h1s_accept(uv_stream_t *listener, struct net_tls_ctx *tls,
			       struct net_loop_buf *buf, struct net_stream_stats *stats,
			       const struct net_h1s_limits *lim, const struct net_h1s_ops *ops,
			       void *conn, const struct net_app_ops *app, void *app_arg,
			       bool refuse);
/* The client's address as text (net_stream_peer). */
const char *net_h1s_peer(const struct net_h1s *h);
/* Between requests with nothing read, or still in the TLS handshake:
 * closing it now loses nothing. */
bool net_h1s_idle(const struct net_h1s *h);
/* No keep-alive from now on: the connection closes after the response
 * under way (idle ones: call net_h1s_close). */
void net_h1s_drain(struct net_h1s *h);
/* Close now (ops->done for an exchange under way, then ops->closed). */
void net_h1s_close(struct net_h1s *h);

#endif
