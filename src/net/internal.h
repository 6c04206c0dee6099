/* internal.h: what the files of the net module share.  Not for use outside
 * src/net/. */
#ifndef MOAT_NET_INTERNAL_H
#define MOAT_NET_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "net/net.h"
#include "net/stream.h"

#define NET_MAX_LISTENERS 8

struct net_tls_ctx;
struct net_app_ops;

struct net_listener {
	uv_tcp_t tcp;
	struct net_server *s;
	struct net_tls_ctx *tls;      /* NULL: plain */
	const struct net_app_ops *app;
	void *app_arg;
	net_http_handler handler;     /* a net_server_listen_http listener */
	void *arg;
	size_t max_body;              /* the handler's: 0 takes no body */
};

struct net_sconn; /* server.c: one connection */

struct net_server {
	uv_loop_t loop;
	uv_async_t stop_async;
	uv_thread_t thread;
	atomic_bool stop_requested;
	bool ran; /* net_server_run or _start was called; only the owner's thread */
	bool thread_started;
	struct net_listener *listeners[NET_MAX_LISTENERS];
	size_t nlisteners;
	struct net_sconn *conns; /* open and closing connections */
	size_t nconns;
	struct net_loop_buf buf;
	uint16_t port;
	char listen_option[32]; /* named in hints; "" for the defaults */
};

/* ---- the small servers' handlers (handler.c) ------------------------- */

/* The application a net_server_listen_http listener runs: the handler
 * answers each request whole; requests with a body get 413. */
extern const struct net_app_ops net_handler_app;

#endif
