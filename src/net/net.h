/* net.h: moat's network servers -- one libuv loop per net_server, its
 * listeners, and on every accepted connection the engine's HTTP/1.1 server
 * (h1_server.h over stream.h) with an application: any application
 * (http_app.h: request bodies streamed, responses framed by the engine) with
 * net_server_listen_app, or a simple handler called once per request with
 * net_server_listen_http.  The trust page, the http-01 and tls-alpn-01
 * responders and moat serve's admin listener use it; moat serve runs the
 * same engine on its own worker loops (src/serve/worker.c).
 *
 * Threading: a net_server runs its loop either on the calling thread
 * (net_server_run) or on a thread of its own (net_server_start).  Handlers
 * are called on the loop thread.  net_server_stop may be called from any
 * thread (and from a signal-safe context: it only signals a uv_async).
 *
 * Conventions as everywhere in moat: 0 / -1 with a struct moat_err filled
 * where the failure is known; constructors return NULL; free accepts NULL. */
#ifndef MOAT_NET_NET_H
#define MOAT_NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Hard caps for what a peer may send.  The engine answers what it cannot
 * take itself, and closes: 400 (bad syntax, bare LF, NUL, an HTTP/1.1
 * request without Host...), 413 (a body, for a handler), 414 (request
 * line longer than NET_HTTP_MAX_HEAD), 431 (head longer than
 * NET_HTTP_MAX_HEAD), 505 (not HTTP/1.x).  Connections beyond
 * NET_HTTP_MAX_CONNS are accepted and closed at once.  A connection is
 * closed when no complete request arrives for NET_IDLE_TIMEOUT_MS (the
 * timer restarts on each complete request and each written reply, not on
 * partial reads: a head trickled in a byte at a time still times out). */
#define NET_HTTP_MAX_HEAD 8192 /* request line + headers, bytes */
#define NET_HTTP_MAX_CONNS 256 /* open connections per server */
#define NET_IDLE_TIMEOUT_MS 10000

struct net_server;

/* A parsed HTTP/1.x request.  Strings are NUL-terminated and valid only
 * during the handler call.  On a net_server_listen_http listener only the
 * head is read: requests with a body (Content-Length > 0 or chunked) are
 * answered 413 by the engine; a net_server_listen_http_opts listener with
 * max_body hands the handler bodies up to that size, whole.  target
 * (visible ASCII only), host (URI host characters and ":" only) and
 * content_type come from the peer: escape them with moat_escape before
 * showing them. */
struct net_http_request {
	const char *method;  /* "GET", "HEAD", ... */
	const char *target;  /* request-target as sent, e.g. "/index.html" */
	const char *host;    /* Host header, "" when absent */
	const char *peer;    /* remote address as text, e.g. "127.0.0.1" or "::1" */
	int version_minor;   /* 0 or 1 (HTTP/1.0, HTTP/1.1) */
	const char *content_type; /* the request's Content-Type, "" when absent */
	const void *body;    /* the body (de-chunked), NULL when none */
	size_t body_len;
	bool tls;            /* it came over TLS */
};

/* What the handler answers.  The engine copies body as soon as the handler
 * returns (so body must still be valid then: static, owned by arg, or
 * malloc'd with free_body set -- not the handler's stack), adds
 * Content-Length, Date, Connection and "Server: moat", and drops the body
 * for HEAD (and for 204 and 304).  Further fields are added with
 * net_http_reply_field (copied into the reply).
 *
 * The engine hands the handler a reply of {404, NULL, NULL, 0, false}.  A
 * NULL body is replaced by "<status> <reason>\n" in text/plain; a status
 * outside 200-599 or an invalid content_type (control characters, more
 * than 200 bytes) is answered 500. */
#define NET_HTTP_REPLY_FIELDS 8
#define NET_HTTP_REPLY_FIELD_MAX 1024 /* bytes of a field's name and value */
struct net_http_reply {
	int status;               /* 200, 404, ... */
	const char *content_type; /* NULL: "text/plain; charset=utf-8" */
	const void *body;
	size_t len;
	bool free_body;           /* body was malloc'd: the engine frees it */
	size_t nfields;
	struct {
		char name[48];
		char value[NET_HTTP_REPLY_FIELD_MAX];
	} fields[NET_HTTP_REPLY_FIELDS];
};

/* Add a field to the reply (name a token, value printable ASCII and
 * spaces, no CR/LF; both copied).  -1 when the reply has
 * NET_HTTP_REPLY_FIELDS already, or name or value is invalid or too long;
 * the engine never sends a field the handler did not mean. */
int net_http_reply_field(struct net_http_reply *r, const char *name, const char *value);

/* The strings of a net_http_request, made from a parsed head (net/h1.h):
 * method, target and host copied from buf into st (a Host too long for it
 * fails), peer borrowed.  false when one does not fit.  What the engine
 * does before each handler call (also for fuzzing a handler). */
struct net_http_strings {
	char method[33];
	char target[NET_HTTP_MAX_HEAD];
	char host[256];
};
struct net_h1_msg;
bool net_http_request_fill(struct net_http_request *req, struct net_http_strings *st,
			   const char *buf, const struct net_h1_msg *m, const char *peer);

/* Called on the loop thread, once per request, in the order requests
 * arrive on a connection.  May call net_server_stop. */
typedef void (*net_http_handler)(void *arg, const struct net_http_request *req,
				 struct net_http_reply *reply);

/* Sets SIGPIPE to SIG_IGN if it is at its default (a peer that resets
 * must not kill the process); writes then fail with EPIPE instead. */
struct net_server *net_server_new(struct moat_err *err);
/* Listen on addr ("0.0.0.0", "::", "127.0.0.1", "::1"; NULL means both
 * "0.0.0.0" and "::" where the system allows: one "::" socket with
 * IPV6_V6ONLY off, or "0.0.0.0" alone without IPv6) and port (0: any free port,
 * see net_server_port).  Must be called before net_server_run/start.
 * EADDRINUSE and EACCES get a hint (another server on the port; ports
 * below 1024 need root or CAP_NET_BIND_SERVICE). */
int net_server_listen_http(struct net_server *s, const char *addr, uint16_t port,
			   net_http_handler h, void *arg, struct moat_err *err);
/* What a handler listener may take beyond net_server_listen_http. */
struct net_http_listen_opts {
	struct net_tls_ctx *tls; /* NULL: plain; else TLS inside (borrowed: it outlives the server) */
	size_t max_body;         /* 0: a request with a body gets 413; else bodies of up to
				  * max_body bytes reach the handler whole, a larger one gets
				  * 413 and the connection is closed */
};
struct net_tls_ctx;
int net_server_listen_http_opts(struct net_server *s, const char *addr, uint16_t port,
				const struct net_http_listen_opts *o, net_http_handler h,
				void *arg, struct moat_err *err);
/* Listen on addr/port (as net_server_listen_http) for an application on
 * the engine (net/http_app.h): HTTP/1.1 with request bodies streamed to
 * it, TLS inside when tls is not NULL (borrowed: it outlives the server);
 * app->request gets arg.  The same head limit, idle timeout and connection
 * limit as net_server_listen_http. */
struct net_app_ops;
int net_server_listen_app(struct net_server *s, const char *addr, uint16_t port,
			  struct net_tls_ctx *tls, const struct net_app_ops *app, void *arg,
			  struct moat_err *err);
/* The option that chooses the port, named in the hints of listen errors
 * ("--listen"); by default "--http-port". */
void net_server_set_listen_option(struct net_server *s, const char *opt);
/* The port of the most recent listener (useful after port 0). */
uint16_t net_server_port(const struct net_server *s);
/* Run the loop on the calling thread until net_server_stop.  A server runs
 * once: net_server_run or net_server_start, one time. */
int net_server_run(struct net_server *s, struct moat_err *err);
/* Run the loop on a new thread; returns once it is accepting.  The thread
 * blocks the usual asynchronous signals (SIGINT, SIGTERM...), so they go to
 * the other threads. */
int net_server_start(struct net_server *s, struct moat_err *err);
/* Ask the loop to stop: closes listeners and connections, then the loop
 * returns (and the thread started by net_server_start ends). */
void net_server_stop(struct net_server *s);
/* Stops (and joins the thread) if still running, then frees.  Not from a
 * handler, and not while another thread is inside net_server_run. */
void net_server_free(struct net_server *s);

#endif
