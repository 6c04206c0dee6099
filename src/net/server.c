/* server.c: a net_server: its loop, its thread, its listeners and their
 * connections, each an HTTP/1.1 server (h1_server.h) for the listener's
 * application. */
#include "net/internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "net/h1_server.h"

/* One connection of the server. */
struct net_sconn {
	struct net_server *s;
	struct net_h1s *h;
	struct net_sconn *prev, *next;
};

static void on_accept(uv_stream_t *ls, int status);

/* ---- listening --------------------------------------------------------------- */

static void on_listener_failed(uv_handle_t *h)
{
	free(h->data);
}

/* Bind and listen on sa; a libuv error code. */
static int open_listener(struct net_server *s, const struct sockaddr *sa, struct net_listener **out)
{
	struct net_listener *l = calloc(1, sizeof(*l));
	int r;

	if (l == NULL)
		return UV_ENOMEM;
	l->s = s;
	r = uv_tcp_init_ex(&s->loop, &l->tcp, sa->sa_family);
	if (r != 0) {
		free(l);
		return r;
	}
	l->tcp.data = l;
	r = uv_tcp_bind(&l->tcp, sa, 0); /* IPV6_V6ONLY off: "::" takes IPv4 too */
	if (r == 0)
		r = uv_listen((uv_stream_t *)&l->tcp, SOMAXCONN, on_accept);
	if (r != 0) {
		uv_close((uv_handle_t *)&l->tcp, on_listener_failed);
		return r;
	}
	*out = l;
	return 0;
}

void net_server_set_listen_option(struct net_server *s, const char *opt)
{
	snprintf(s->listen_option, sizeof(s->listen_option), "%s", opt != NULL ? opt : "");
}

static void listen_error(struct moat_err *err, int r, const char *addr, uint16_t port,
			 const char *opt)
{
	char where[96];

	if (addr == NULL)
		snprintf(where, sizeof(where), "all addresses");
	else
		moat_escape(where, sizeof(where), addr, strlen(addr));
	if (r == UV_EADDRINUSE) {
		moat_err_set(err, "port %u on %s is already in use", port, where);
		moat_err_hint(err, "another %s may be running there: stop it, or choose "
				   "another port with %s",
			      strcmp(opt, "--http-port") == 0 ? "web server" : "server", opt);
	} else if ((r == UV_EACCES || r == UV_EPERM) && port < 1024) {
		moat_err_set(err, "cannot listen on port %u on %s: permission denied", port, where);
		moat_err_hint(err, "ports below 1024 need root or the CAP_NET_BIND_SERVICE capability: "
				   "run as root, grant it with `sudo setcap "
				   "cap_net_bind_service=+ep $(command -v moat)`, or use %s", opt);
	} else if (r == UV_EADDRNOTAVAIL) {
		moat_err_set(err, "cannot listen on %s: no interface of this machine has that address",
			     where);
		moat_err_hint(err, "give an address of this machine (see `ip address`), or leave "
				   "the address out to listen on all of them");
	} else {
		moat_err_set(err, "cannot listen on port %u on %s: %s", port, where, uv_strerror(r));
	}
}

static bool no_ipv6(int r)
{
	return r == UV_EAFNOSUPPORT || r == UV_EADDRNOTAVAIL || r == UV_EPROTONOSUPPORT;
}

/* Bind and listen on addr/port (as net_server_listen_http describes) for
 * app with app_arg, TLS inside with tls; the listener is added to s.  NULL
 * on failure. */
static struct net_listener *listen_on(struct net_server *s, const char *addr, uint16_t port,
				      struct net_tls_ctx *tls, const struct net_app_ops *app,
				      void *app_arg, struct moat_err *err)
{
	struct sockaddr_storage ss;
	struct sockaddr_storage bound;
	struct net_listener *l = NULL;
	int r, n = sizeof(bound);

	if (s->ran) {
		moat_err_set(err, "cannot listen: the server is already running");
		return NULL;
	}
	if (s->nlisteners == NET_MAX_LISTENERS) {
		moat_err_set(err, "cannot listen: too many listeners (at most %d)", NET_MAX_LISTENERS);
		return NULL;
	}
	memset(&ss, 0, sizeof(ss));
	if (addr == NULL) {
		(void)uv_ip6_addr("::", port, (struct sockaddr_in6 *)&ss);
		r = open_listener(s, (struct sockaddr *)&ss, &l);
		if (no_ipv6(r)) {
			memset(&ss, 0, sizeof(ss));
			(void)uv_ip4_addr("0.0.0.0", port, (struct sockaddr_in *)&ss);
			r = open_listener(s, (struct sockaddr *)&ss, &l);
		}
	} else if (uv_ip4_addr(addr, port, (struct sockaddr_in *)&ss) == 0 ||
		   uv_ip6_addr(addr, port, (struct sockaddr_in6 *)&ss) == 0) {
		r = open_listener(s, (struct sockaddr *)&ss, &l);
	} else {
		char shown[96];

		moat_escape(shown, sizeof(shown), addr, strlen(addr));
		moat_err_set(err, "invalid listen address \"%s\"", shown);
		moat_err_hint(err, "give an IP address such as 0.0.0.0, ::, 127.0.0.1 or ::1");
		return NULL;
	}
	if (r != 0) {
		listen_error(err, r, addr, port,
			     s->listen_option[0] != '\0' ? s->listen_option : "--http-port");
		return NULL;
	}
	s->listeners[s->nlisteners++] = l;
	if (uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&bound, &n) == 0)
		s->port = ntohs(bound.ss_family == AF_INET6
					? ((struct sockaddr_in6 *)&bound)->sin6_port
					: ((struct sockaddr_in *)&bound)->sin_port);
	l->tls = tls;
	l->app = app;
	l->app_arg = app_arg;
	return l;
}

/* ---- connections --------------------------------------------------------------- */

static void on_closed(void *arg)
{
	struct net_sconn *c = arg;
	struct net_server *s = c->s;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else if (s->conns == c)
		s->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	s->nconns--;
	free(c);
}

static const struct net_h1s_ops sconn_ops = {
	.closed = on_closed,
};

/* A new connection: served, or (beyond NET_HTTP_MAX_CONNS, or stopping)
 * accepted and closed at once. */
static void on_accept(uv_stream_t *ls, int status)
{
	struct net_listener *l = ls->data;
	struct net_server *s = l->s;
	const struct net_h1s_limits lim = {
		.max_head = NET_HTTP_MAX_HEAD,
		.header_timeout_ms = NET_IDLE_TIMEOUT_MS,
		.idle_timeout_ms = NET_IDLE_TIMEOUT_MS,
		.send_timeout_ms = NET_IDLE_TIMEOUT_MS,
	};
	struct net_sconn *c;

	if (status != 0 || (c = calloc(1, sizeof(*c))) == NULL)
		return;
	c->s = s;
	c->next = s->conns;
	if (s->conns != NULL)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	c->h = net_h1s_accept(ls, l->tls, &s->buf, NULL, &lim, &sconn_ops, c, l->app, l->app_arg,
			      s->nconns > NET_HTTP_MAX_CONNS || atomic_load(&s->stop_requested));
	if (c->h == NULL)
		on_closed(c);
}

static void close_conns(struct net_server *s)
{
	struct net_sconn *c, *next;

	for (c = s->conns; c != NULL; c = next) {
		next = c->next;
		net_h1s_close(c->h);
	}
}

int net_server_listen_app(struct net_server *s, const char *addr, uint16_t port,
			  struct net_tls_ctx *tls, const struct net_app_ops *app, void *arg,
			  struct moat_err *err)
{
	if (app == NULL) {
		moat_err_set(err, "cannot listen: no application");
		return -1;
	}
	return listen_on(s, addr, port, tls, app, arg, err) != NULL ? 0 : -1;
}

int net_server_listen_http_opts(struct net_server *s, const char *addr, uint16_t port,
				const struct net_http_listen_opts *o, net_http_handler h,
				void *arg, struct moat_err *err)
{
	struct net_listener *l;

	if (h == NULL) {
		moat_err_set(err, "cannot listen: no handler");
		return -1;
	}
	if ((l = listen_on(s, addr, port, o->tls, &net_handler_app, NULL, err)) == NULL)
		return -1;
	l->app_arg = l;
	l->handler = h;
	l->arg = arg;
	l->max_body = o->max_body;
	return 0;
}

int net_server_listen_http(struct net_server *s, const char *addr, uint16_t port,
			   net_http_handler h, void *arg, struct moat_err *err)
{
	const struct net_http_listen_opts o = {0};

	return net_server_listen_http_opts(s, addr, port, &o, h, arg, err);
}

uint16_t net_server_port(const struct net_server *s)
{
	return s->port;
}

/* ---- the server -------------------------------------------------------------- */

/* Close every handle; the loop then ends by itself. */
static void close_all(struct net_server *s)
{
	for (size_t i = 0; i < s->nlisteners; i++)
		if (!uv_is_closing((uv_handle_t *)&s->listeners[i]->tcp))
			uv_close((uv_handle_t *)&s->listeners[i]->tcp, NULL);
	close_conns(s);
	if (!uv_is_closing((uv_handle_t *)&s->stop_async))
		uv_close((uv_handle_t *)&s->stop_async, NULL);
}

static void on_stop(uv_async_t *a)
{
	close_all(a->data);
}

static void ignore_sigpipe(void)
{
	struct sigaction sa;

	if (sigaction(SIGPIPE, NULL, &sa) != 0 || (sa.sa_flags & SA_SIGINFO) != 0 ||
	    sa.sa_handler != SIG_DFL)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGPIPE, &sa, NULL);
}

struct net_server *net_server_new(struct moat_err *err)
{
	struct net_server *s = calloc(1, sizeof(*s));
	int r;

	if (s == NULL) {
		moat_err_set(err, "out of memory");
		return NULL;
	}
	r = uv_loop_init(&s->loop);
	if (r == 0 && (r = uv_async_init(&s->loop, &s->stop_async, on_stop)) != 0)
		(void)uv_loop_close(&s->loop);
	if (r != 0) {
		moat_err_set(err, "cannot create an event loop: %s", uv_strerror(r));
		free(s);
		return NULL;
	}
	s->stop_async.data = s;
	atomic_init(&s->stop_requested, false);
	ignore_sigpipe();
	return s;
}

int net_server_run(struct net_server *s, struct moat_err *err)
{
	if (s->ran) {
		moat_err_set(err, "the server has already run");
		return -1;
	}
	s->ran = true;
	(void)uv_run(&s->loop, UV_RUN_DEFAULT);
	return 0;
}

static void loop_thread(void *arg)
{
	struct net_server *s = arg;

	(void)uv_run(&s->loop, UV_RUN_DEFAULT);
}

int net_server_start(struct net_server *s, struct moat_err *err)
{
	static const int blocked[] = {SIGINT, SIGTERM, SIGHUP,  SIGQUIT, SIGUSR1,
				      SIGUSR2, SIGALRM, SIGCHLD, SIGWINCH, SIGPIPE};
	sigset_t set, old;
	int r;

	if (s->ran) {
		moat_err_set(err, "the server has already run");
		return -1;
	}
	/* The new thread inherits the mask: it never runs signal handlers. */
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(blocked) / sizeof(blocked[0]); i++)
		sigaddset(&set, blocked[i]);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	s->ran = true;
	r = uv_thread_create(&s->thread, loop_thread, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		s->ran = false;
		moat_err_set(err, "cannot start the server thread: %s", uv_strerror(r));
		return -1;
	}
	/* Accepting already: the listeners listen, and connections wait in
	 * their backlog until the loop takes them. */
	s->thread_started = true;
	return 0;
}

void net_server_stop(struct net_server *s)
{
	if (s == NULL || atomic_exchange(&s->stop_requested, true))
		return;
	(void)uv_async_send(&s->stop_async);
}

void net_server_free(struct net_server *s)
{
	if (s == NULL)
		return;
	if (s->thread_started) {
		net_server_stop(s);
		(void)uv_thread_join(&s->thread);
		s->thread_started = false;
	}
	(void)atomic_exchange(&s->stop_requested, true);
	close_all(s);
	(void)uv_run(&s->loop, UV_RUN_DEFAULT);
	/* Fails only if a handle is still open, which would be a bug here;
	 * then leaking is better than freeing memory libuv still uses. */
	if (uv_loop_close(&s->loop) != 0)
		return;
	for (size_t i = 0; i < s->nlisteners; i++)
		free(s->listeners[i]);
	free(s);
}
