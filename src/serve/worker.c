/* worker.c: the worker threads.  Each has its own loop and its own
 * descriptors of the listening sockets, which the main thread binds once
 * (before privileges are dropped): every loop waits on the same accept
 * queue and whichever is free takes the connection; no accept lock. */
#include "serve/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define BACKLOG 4096

/* One listening socket on addr ("" = all: "::" with IPv4 mapped, or
 * 0.0.0.0 without IPv6) and port.  -1 with err. */
int serve_bind(const char *addr, uint16_t port, const char *opt, struct moat_err *err)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = -1, one = 1, zero = 0, e;
	bool any = addr == NULL || addr[0] == '\0';

	memset(&ss, 0, sizeof(ss));
	for (int attempt = 0; attempt < 2; attempt++) {
		const char *a = any ? (attempt == 0 ? "::" : "0.0.0.0") : addr;
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		memset(&ss, 0, sizeof(ss));
		if (inet_pton(AF_INET6, a, &s6->sin6_addr) == 1) {
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons(port);
			len = sizeof(*s6);
		} else if (inet_pton(AF_INET, a, &s4->sin_addr) == 1) {
			s4->sin_family = AF_INET;
			s4->sin_port = htons(port);
			len = sizeof(*s4);
		} else {
			moat_err_set(err, "cannot listen on %s: not an IP address", a);
			moat_err_hint(err, "give listen an address such as 127.0.0.1 or ::1");
			return -1;
		}
		fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			if (any && attempt == 0 && (errno == EAFNOSUPPORT || errno == EPROTONOSUPPORT))
				continue; /* no IPv6 here: IPv4 alone */
			moat_err_errno(err, errno, "cannot make a socket");
			return -1;
		}
		/* SO_REUSEADDR for a restart over connections in TIME_WAIT; never
		 * SO_REUSEPORT, which would let another process share the port
		 * (serve.c hands this one socket to every worker). */
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ss.ss_family == AF_INET6 && any)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		if (bind(fd, (struct sockaddr *)&ss, len) == 0 && listen(fd, BACKLOG) == 0)
			return fd;
		e = errno;
		close(fd);
		if (any && attempt == 0 && e == EADDRNOTAVAIL)
			continue;
		if (e == EADDRINUSE) {
			moat_err_set(err, "cannot listen on port %u: another server is using it",
				     (unsigned)port);
			moat_err_hint(err, "stop it (ss -ltnp 'sport = :%u' names it) or choose another "
				      "port with %s", (unsigned)port, opt);
		} else if (e == EACCES) {
			moat_err_set(err, "cannot listen on port %u: permission denied", (unsigned)port);
			moat_err_hint(err, "ports below 1024 need root or CAP_NET_BIND_SERVICE "
				      "(sudo setcap cap_net_bind_service=+ep $(command -v moat)), or "
				      "choose another port with %s", opt);
		} else {
			moat_err_errno(err, e, "cannot listen on port %u", (unsigned)port);
		}
		return -1;
	}
	moat_err_set(err, "cannot listen on port %u", (unsigned)port);
	return -1;
}

static void close_listeners(struct serve_worker *w)
{
	for (size_t i = 0; i < w->nfds; i++) {
		if (w->listeners[i].open) {
			w->listeners[i].open = false;
			uv_close((uv_handle_t *)&w->listeners[i].tcp, NULL);
		}
	}
}

static void on_wake(uv_async_t *a)
{
	struct serve_worker *w = a->data;
	struct serve *s = w->srv;
	struct serve_gen *g = serve_current_gen(s);

	serve_gen_unref(w->gen); /* g is a reference of its own: the same generation stays */
	w->gen = g;
	if (atomic_load(&s->draining) && !w->draining) {
		w->draining = true;
		close_listeners(w);
		serve_conn_drain_all(w);
		serve_up_close_all(w);
	}
	if (atomic_load(&s->stop_now) && w->draining)
		serve_conn_close_all(w);
	if (w->draining && w->nconns == 0) {
		serve_up_close_all(w);
		if (LIST_EMPTY(&w->ups) && !w->stopped) {
			w->stopped = true;
			uv_close((uv_handle_t *)&w->wake, NULL);
		}
	}
}

static void worker_main(void *arg)
{
	struct serve_worker *w = arg;

	uv_run(&w->loop, UV_RUN_DEFAULT);
	atomic_store(&w->done, true);
}

int serve_worker_init(struct serve_worker *w, struct serve *s, struct moat_err *err)
{
	int r;

	w->srv = s;
	if ((r = uv_loop_init(&w->loop)) != 0) {
		moat_err_set(err, "cannot start a worker: %s", uv_strerror(r));
		return -1;
	}
	w->loop_ready = true;
	uv_async_init(&w->loop, &w->wake, on_wake);
	w->wake.data = w;
	w->gen = serve_current_gen(s);
	for (size_t i = 0; i < w->nfds; i++) {
		struct serve_listener *l = &w->listeners[i];

		l->w = w;
		uv_tcp_init(&w->loop, &l->tcp);
		l->tcp.data = l;
		if ((r = uv_tcp_open(&l->tcp, w->fds[i])) != 0 ||
		    (r = uv_listen((uv_stream_t *)&l->tcp, BACKLOG, serve_conn_accept)) != 0) {
			moat_err_set(err, "cannot listen: %s", uv_strerror(r));
			return -1;
		}
		w->fds[i] = -1; /* the handle owns it */
		l->open = true;
	}
	return 0;
}

int serve_worker_start(struct serve_worker *w, struct moat_err *err)
{
	int r = uv_thread_create(&w->thread, worker_main, w);

	if (r != 0) {
		moat_err_set(err, "cannot start a worker thread: %s", uv_strerror(r));
		return -1;
	}
	w->started = true;
	return 0;
}

void serve_worker_join(struct serve_worker *w)
{
	if (w->started) {
		uv_thread_join(&w->thread);
		w->started = false;
	}
}

static void close_any(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

void serve_worker_cleanup(struct serve_worker *w)
{
	if (w->loop_ready) {
		/* Whatever is left (a worker that never started) is closed here. */
		uv_walk(&w->loop, close_any, NULL);
		uv_run(&w->loop, UV_RUN_DEFAULT);
		uv_loop_close(&w->loop);
		w->loop_ready = false;
	}
	for (size_t i = 0; i < w->nfds; i++)
		if (w->fds[i] >= 0)
			close(w->fds[i]);
	serve_gen_unref(w->gen);
	w->gen = NULL;
	w->srv = NULL;
}
