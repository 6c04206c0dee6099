/* metrics.c: the admin listener -- /metrics in the Prometheus text format
 * (version 0.0.4) and /health -- on the net core's small HTTP server, on a
 * thread of its own, so scraping never touches a worker's loop.  Counters
 * are the workers' atomics, read relaxed: a scrape is a snapshot, not a
 * transaction. */
#include "serve/internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/parse.h"
#include "net/net.h"

static unsigned long long ld(atomic_ullong *a)
{
	return atomic_load_explicit(a, memory_order_relaxed);
}

static void metric(struct moat_buf *b, const char *name, const char *type, const char *help)
{
	moat_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A counter without labels: its help, its type and its value. */
static void counter(struct moat_buf *b, const char *name, const char *help, atomic_ullong *v)
{
	metric(b, name, "counter", help);
	moat_buf_printf(b, "%s %llu\n", name, ld(v));
}

static char *render(struct serve *s, size_t *len)
{
	struct serve_metrics *m = &s->m;
	struct moat_buf b = MOAT_BUF_INIT;
	struct serve_gen *g = serve_current_gen(s);
	static const char *const listener[] = {"https", "http"};
	static const char *const kind[] = {"connect", "timeout", "invalid", "closed"};
	int64_t now = (int64_t)time(NULL);

	metric(&b, "moat_connections_total", "counter", "Client connections accepted.");
	for (int i = 0; i < 2; i++)
		moat_buf_printf(&b, "moat_connections_total{listener=\"%s\"} %llu\n", listener[i],
				ld(&m->conns_total[i]));
	metric(&b, "moat_connections_open", "gauge", "Client connections open now.");
	for (int i = 0; i < 2; i++)
		moat_buf_printf(&b, "moat_connections_open{listener=\"%s\"} %lld\n", listener[i],
				(long long)atomic_load(&m->conns_open[i]));
	counter(&b, "moat_connections_rejected_total",
	        "Connections closed at once (max-connections reached, or stopping).", &m->rejected);
	counter(&b, "moat_tls_handshakes_total", "Completed TLS handshakes.", &m->net.handshakes);
	counter(&b, "moat_tls_handshakes_resumed_total",
	        "TLS handshakes that resumed a session (ticket).", &m->net.handshakes_resumed);
	counter(&b, "moat_tls_handshake_failures_total",
	        "Failed TLS handshakes.", &m->net.handshake_failures);
	metric(&b, "moat_http_requests_total", "counter", "Responses sent, by status code.");
	for (int code = 100; code < 600; code++) {
		unsigned long long n = ld(&m->status[code]);

		if (n > 0)
			moat_buf_printf(&b, "moat_http_requests_total{code=\"%d\"} %llu\n", code, n);
	}
	metric(&b, "moat_upstream_errors_total", "counter", "Upstream failures, by kind.");
	for (int i = 0; i < UP_ERR_N; i++)
		moat_buf_printf(&b, "moat_upstream_errors_total{kind=\"%s\"} %llu\n", kind[i],
				ld(&m->upstream_errors[i]));
	counter(&b, "moat_upstream_connections_total",
	        "Connections opened to upstreams.", &m->upstream_conns);
	counter(&b, "moat_upstream_reused_total",
	        "Requests sent on a kept-alive upstream connection.", &m->upstream_reused);
	counter(&b, "moat_websockets_total", "WebSocket tunnels opened.", &m->websockets);
	counter(&b, "moat_received_bytes_total", "Plaintext bytes from clients.", &m->net.bytes_in);
	counter(&b, "moat_sent_bytes_total", "Plaintext bytes to clients.", &m->net.bytes_out);
	counter(&b, "moat_reloads_total", "Configuration reloads asked for (SIGHUP).", &m->reloads);
	counter(&b, "moat_reload_failures_total",
	        "Reloads refused (the previous configuration kept serving).", &m->reload_failures);
	metric(&b, "moat_certificate_expiry_seconds", "gauge",
	       "Seconds until each site's certificate expires (absent: no certificate yet).");
	for (size_t i = 0; i < g->cfg.nsites; i++) {
		int64_t na = atomic_load(&g->sites[i].not_after);

		if (na != 0)
			moat_buf_printf(&b, "moat_certificate_expiry_seconds{site=\"%s\"} %lld\n",
					g->cfg.sites[i].names[0], (long long)(na - now));
	}
	serve_gen_unref(g);
	*len = b.len;
	return moat_buf_steal(&b);
}

static void on_admin(void *arg, const struct net_http_request *req, struct net_http_reply *reply)
{
	struct serve *s = arg;

	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		reply->status = 405;
		return;
	}
	if (strcmp(req->target, "/metrics") == 0) {
		size_t len = 0;
		char *body = render(s, &len);

		if (body == NULL) {
			reply->status = 500;
			return;
		}
		reply->status = 200;
		reply->content_type = "text/plain; version=0.0.4; charset=utf-8";
		reply->body = body;
		reply->len = len;
		reply->free_body = true;
		return;
	}
	if (strcmp(req->target, "/health") == 0) {
		bool draining = atomic_load(&s->draining);

		reply->status = draining ? 503 : 200;
		reply->body = draining ? "stopping\n" : "ok\n";
		reply->len = strlen(reply->body);
	}
}

int serve_admin_listen(struct serve *s, const char *addr, struct moat_err *err)
{
	struct moat_hostport hp;

	if (moat_parse_hostport(addr, 0, &hp, err) != 0) {
		moat_err_prefix(err, "admin address");
		return -1;
	}
	if ((s->admin = net_server_new(err)) == NULL)
		return -1;
	net_server_set_listen_option(s->admin, "admin");
	return net_server_listen_http(s->admin, hp.host, hp.port, on_admin, s, err);
}
