/* http_app.h: what an application on moat's network engine sees of HTTP --
 * a request and a response writer, whatever the protocol under them
 * (net/h1_server.h today, HTTP/2 to come; ARCHITECTURE.md has the layers).
 *
 * An exchange (struct net_hx) is one request and its response.  The
 * protocol owns the framing on the wire: the application never writes a
 * Content-Length, Transfer-Encoding or Connection field, nor chunk sizes;
 * it says what kind of body follows (enum net_body) and hands over the
 * body's bytes.  Request bodies reach it the same way: their bytes only,
 * de-framed, in order, as fast as it takes them.
 *
 * The request side, per exchange:
 *
 *   ops->request     the head has come: the application takes x (and
 *                    answers now or later); it sets its own state with
 *                    net_hx_set_arg before anything else
 *   ops->body        body bytes, only once the application has called
 *                    net_hx_resume (it may be busy -- connecting to an
 *                    upstream -- and a client's upload is not timed while
 *                    the application cannot take it); it returns how many
 *                    it took: fewer pauses the body until net_hx_resume
 *   ops->body_end    the body is complete (for a request with one)
 *
 * The response side (enum net_hx_resp, net_hx_resp_state):
 *
 *   NET_HX_NONE     nothing sent; net_hx_head with a 1xx (100, 103) stays
 *                   here; a final one moves on
 *   NET_HX_BODY     the head is out: net_hx_body, net_hx_flush, then
 *                   net_hx_end (or net_hx_abort: the client must see the
 *                   response was cut, not complete)
 *   NET_HX_TUNNEL   after a 101 head: bytes flow both ways as they are
 *                   (ops->body from the client, net_hx_body to it) until
 *                   net_hx_end or ops->client_eof
 *   NET_HX_DONE     net_hx_end or net_hx_abort: ops->done has been called
 *
 *   Transitions: NONE -> BODY | TUNNEL -> DONE; NONE -> DONE (abort).
 *
 * ops->done(arg) is the last call for an exchange: from net_hx_end or
 * net_hx_abort (from inside them: the application does nothing with x
 * after they return), or when the connection goes away under it.
 *
 * HTTP/2 (to come) drives the same interface: a stream's HEADERS become the
 * request (the head rebuilt as an HTTP/1.1-shaped buffer and a struct
 * net_h1_msg, pseudo-fields as method, target and Host), its DATA frames
 * ops->body (what the application takes opens the flow-control window),
 * END_STREAM ops->body_end; net_hx_head sends HEADERS, net_hx_body DATA,
 * net_hx_end END_STREAM, net_hx_abort RST_STREAM; a tunnel is an extended
 * CONNECT (RFC 8441).  Nothing here names HTTP/1.1 but the head's
 * representation. */
#ifndef MOAT_NET_HTTP_APP_H
#define MOAT_NET_HTTP_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/h1.h"

struct net_hx;

/* A request head.  Valid during ops->request only: the application copies
 * what it keeps. */
struct net_request {
	const char *buf;            /* the head's bytes; m's offsets point into it */
	const struct net_h1_msg *m; /* method, target, fields, body framing (h1.h) */
	const char *peer;           /* the client's address as text */
	const char *sni;            /* the TLS server name, "" when none */
	bool tls;
};

/* One field of a response head (not NUL-terminated). */
struct net_hfield {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

/* What follows a response head. */
enum net_body {
	NET_BODY_NONE,   /* nothing: 204, 304, a HEAD's answer; a Content-Length
			  * field the application passes is sent as it is (a
			  * HEAD's or 304's, describing what a GET would get) */
	NET_BODY_LENGTH, /* exactly length bytes (never sent for HEAD) */
	NET_BODY_STREAM, /* bytes of a length not known in advance */
};

enum net_hx_resp { NET_HX_NONE, NET_HX_BODY, NET_HX_TUNNEL, NET_HX_DONE };

/* net_hx_head flags */
#define NET_HX_CLOSE 1u /* close the connection after this response; a
			 * NET_BODY_STREAM body is then ended by the close
			 * (HTTP/1.1: not chunked) */

struct net_app_ops {
	/* A request; app is what the server was given with this
	 * application (for moat serve: the client connection). */
	void (*request)(void *app, struct net_hx *x, const struct net_request *req);
	/* Request body bytes (or the client's tunnel bytes); returns how many
	 * were taken.  Called only after net_hx_resume: NULL for an
	 * application that never calls it. */
	size_t (*body)(void *arg, const char *p, size_t n);
	/* The request body is complete. */
	void (*body_end)(void *arg);
	/* The client has taken response bytes: fewer than the high mark wait. */
	void (*drained)(void *arg);
	/* The request body is not valid (chunked encoding): no more of it
	 * comes; the application may answer (400), else the connection is
	 * cut. */
	void (*body_invalid)(void *arg);
	/* The client finished sending in a tunnel (half-close). */
	void (*client_eof)(void *arg);
	/* The exchange is over (see the top); arg is the application's again.
	 * NULL for an application that keeps no state per exchange. */
	void (*done)(void *arg);
};

/* The application's state for x (passed to every callback after this). */
void net_hx_set_arg(struct net_hx *x, void *arg);
/* The body may be handed over (again): ops->body is called with what is
 * buffered, now or from the loop. */
void net_hx_resume(struct net_hx *x);
/* Whether the request body has been handed over whole (or there is none). */
bool net_hx_body_complete(const struct net_hx *x);

/* The response head: status (100-599), reason NULL for the standard
 * phrase, the fields (the protocol adds the framing and connection
 * fields), what follows (length: for NET_BODY_LENGTH), flags NET_HX_*.
 * A 1xx other than 101 may come before the final head; 101 starts a
 * tunnel (the application passes the Upgrade field).  Queued: sent with
 * the next net_hx_flush or net_hx_end.  -1 when the head cannot be sent
 * (out of memory: then call net_hx_abort; or one has been sent). */
int net_hx_head(struct net_hx *x, int status, const char *reason, size_t reason_len,
		const struct net_hfield *f, size_t n, enum net_body body, uint64_t length,
		unsigned flags);
/* Body bytes (copied; queued until net_hx_flush).  After a HEAD request
 * they are dropped. */
void net_hx_body(struct net_hx *x, const void *p, size_t n);
/* Send what is queued. */
void net_hx_flush(struct net_hx *x);
/* Bytes queued or on their way to the client. */
size_t net_hx_queued(const struct net_hx *x);
/* The response is complete: its end is sent, ops->done is called, and the
 * connection goes on to its next request or closes. */
void net_hx_end(struct net_hx *x);
/* The response cannot be completed (or the request cannot be served):
 * the connection is closed (what was flushed has been sent); ops->done is
 * called. */
void net_hx_abort(struct net_hx *x);
enum net_hx_resp net_hx_resp_state(const struct net_hx *x);

#endif
