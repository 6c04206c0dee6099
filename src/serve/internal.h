/* internal.h: what the files of src/serve share.  Not for use elsewhere.
 *
 * The shape of the proxy:
 *
 *   main thread     signals (SIGHUP reload, SIGTERM/SIGINT drain), the
 *                   certificate manager (obtain, renew, reload files, OCSP
 *                   staples), the admin listener (/metrics) on a net_server
 *   N workers       one libuv loop each, accepting from the same listening
 *                   sockets (bound once, no SO_REUSEPORT: no other process
 *                   can share the ports), own client connections and own
 *                   pools of upstream
 *                   connections; nothing shared on the request path but the
 *                   TLS contexts (read-mostly, reference-counted) and atomic
 *                   counters
 *
 * A configuration generation (struct serve_gen) is what a reload swaps:
 * sites, resolved upstreams, the TLS context.  Each client connection keeps
 * a reference to the generation it was accepted under, so a reload never
 * changes the rules under a request already running. */
#ifndef MOAT_SERVE_INTERNAL_H
#define MOAT_SERVE_INTERNAL_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <uv.h>

#include "core/buf.h"
#include "net/h1.h"
#include "net/h1_server.h"
#include "net/stream.h"
#include "serve/config.h"
#include "serve/serve.h"

struct net_tls_ctx;
struct net_server;
struct pconn;
struct up;
struct exchange;

/* ---- configuration generations (gen.c) --------------------------------- */

struct serve_addr {
	struct sockaddr_storage sa;
	socklen_t len;
	char text[300]; /* "127.0.0.1:3000", for logs */
};

struct serve_gen_site {
	const struct serve_site *site; /* in gen->cfg */
	struct serve_addr *addrs;      /* one per upstream (first address each) */
	size_t naddrs;
	atomic_uint rr;                /* round robin */
	char hsts[96];                 /* "max-age=...; includeSubDomains" or "" */
	bool redirect;
	/* the certificate (certs.c; the certificate thread and reloads) */
	char lineage[300];
	atomic_llong not_after;        /* 0: none yet (also read by /metrics) */
	int64_t not_before;
	int64_t cert_mtime, key_mtime; /* files: what was loaded */
	char serial[80];
	int failures;
	int64_t next_try;
	int64_t ari_at;                /* ACME: renew from then on, as the CA's
					* renewal information says (0: unknown) */
	int64_t ari_next;              /* when to ask the CA again */
	/* its OCSP staple (ocsp.c, fetched by the certificate thread) */
	char ocsp_url[512];            /* "" when the certificate names no responder */
	int64_t staple_next;           /* when to fetch again */
	int64_t staple_until;          /* the staple's nextUpdate (0: no staple) */
};

struct serve_gen {
	atomic_int refs;
	uint64_t id;
	struct serve_config cfg;
	struct serve_gen_site *sites; /* cfg.nsites */
	struct net_tls_ctx *tls;
	struct serve_log *log;
};

/* Takes over *cfg (left zeroed): resolves upstreams, makes the TLS context
 * (no certificates yet: certs.c) and opens the logs. */
struct serve_gen *serve_gen_new(struct serve_config *cfg, uint64_t id, const struct serve_gen *prev,
				 struct moat_err *err);
struct serve_gen *serve_gen_ref(struct serve_gen *g);
void serve_gen_unref(struct serve_gen *g);
/* The server's current generation, with a reference the caller drops (any
 * thread: the workers, the certificate thread, /metrics). */
struct serve_gen *serve_current_gen(struct serve *s);
/* The site for a Host value (port stripped), or NULL. */
struct serve_gen_site *serve_gen_site(struct serve_gen *g, const char *host);

/* ---- counters (metrics.c) ------------------------------------------------ */

enum serve_up_error { UP_ERR_CONNECT, UP_ERR_TIMEOUT, UP_ERR_INVALID, UP_ERR_CLOSED, UP_ERR_N };

struct serve_metrics {
	atomic_ullong conns_total[2]; /* [0] https, [1] http */
	atomic_llong conns_open[2];
	struct net_stream_stats net; /* handshakes, plaintext bytes (client side) */
	atomic_ullong requests[6];   /* by class: [1]..[5] = 1xx..5xx, [0] other */
	atomic_ullong status[600];   /* by exact status */
	atomic_ullong upstream_errors[UP_ERR_N];
	atomic_ullong upstream_conns;  /* connections opened to upstreams */
	atomic_ullong upstream_reused; /* requests sent on a pooled connection */
	atomic_ullong websockets;
	atomic_ullong rejected;      /* connections refused at max-connections */
	atomic_ullong reloads, reload_failures;
};

/* ---- workers (worker.c) ---------------------------------------------------- */

#define SERVE_MAX_LISTEN 3 /* sockets per worker: https, http, an ACME challenge port */

struct serve_listener {
	uv_tcp_t tcp;
	struct serve_worker *w;
	bool tls;
	bool open;
};

struct serve_worker {
	struct serve *srv;
	uv_loop_t loop;
	uv_thread_t thread;
	uv_async_t wake;
	int fds[SERVE_MAX_LISTEN]; /* nfds of them, until listeners[i] takes fds[i] */
	size_t nfds;
	struct serve_listener listeners[SERVE_MAX_LISTEN]; /* .tls set with fds[] */
	struct serve_gen *gen; /* the newest generation this worker has seen */
	LIST_HEAD(, pconn) conns;
	size_t nconns;
	LIST_HEAD(, up) ups;   /* every upstream connection */
	LIST_HEAD(, up) idle;  /* those in the pool (upstream.c) */
	size_t nidle;
	bool draining;
	bool stopped;
	bool started;
	atomic_bool done;      /* its loop has returned */
	bool loop_ready;
	uint64_t accept_err_logged; /* loop time of the last accept error logged */
	struct net_loop_buf buf; /* every read lands here first */
};

/* A listening socket on addr ("" = all) and port, not shareable with
 * another process; opt names the option that sets the port, for the
 * hint. */
int serve_bind(const char *addr, uint16_t port, const char *opt, struct moat_err *err);
/* The loop and the listeners on w->fds (main thread, before start). */
int serve_worker_init(struct serve_worker *w, struct serve *s, struct moat_err *err);
int serve_worker_start(struct serve_worker *w, struct moat_err *err);
void serve_worker_join(struct serve_worker *w);
void serve_worker_cleanup(struct serve_worker *w);

/* ---- http-01 answers (tokens.c) ---------------------------------------------
 *
 * The challenges the certificate thread has presented (certs_acme.c adds
 * and removes them), read by the request path (request.c) on port 80: the
 * one thing the two share, so neither calls the other. */

#define SERVE_ACME_TOKENS 64

struct serve_tokens {
	pthread_mutex_t lock;
	struct {
		char token[128];
		char keyauth[256];
	} t[SERVE_ACME_TOKENS];
	size_t n;
};

void serve_tokens_init(struct serve_tokens *tk);
void serve_tokens_destroy(struct serve_tokens *tk);
/* Answer token with keyauth until removed.  -1 with err: a token or key
 * authorization moat cannot serve, or too many at once. */
int serve_tokens_add(struct serve_tokens *tk, const char *token, const char *keyauth,
		     struct moat_err *err);
void serve_tokens_remove(struct serve_tokens *tk, const char *token);
/* The key authorization for token, copied to out (n bytes); false if none. */
bool serve_tokens_get(struct serve_tokens *tk, const char *token, char *out, size_t n);

/* ---- the server (serve.c) -------------------------------------------------- */

struct serve {
	struct serve_opts opts;
	struct serve_worker *workers;
	int nworkers;
	pthread_mutex_t lock;     /* gen */
	struct serve_gen *gen;    /* current generation */
	uint64_t next_gen;
	struct serve_tokens tokens; /* http-01 answers (tokens.c) */
	struct serve_metrics m;
	atomic_bool draining;
	atomic_bool stop_now;     /* the drain time is over */
	uint16_t https_port, http_port; /* as bound at the start: a reload does not
					 * move the listeners (the redirect needs the
					 * real one) */
	struct serve_certs *certs;
	struct net_server *admin;
};

/* ---- certificates (certs.c) ------------------------------------------------ */

struct serve_certs;

/* dry (--check): read what exists, issue and obtain nothing. */
struct serve_certs *serve_certs_new(struct serve *s, const char *home, struct ca *ca, bool dry,
				    struct moat_err *err);
/* Put every site's certificate into g's TLS context: files and the private
 * CA now (issuing when missing or due), ACME from what is on disk (the
 * thread obtains the missing ones). */
int serve_certs_install(struct serve_certs *m, struct serve_gen *g, struct moat_err *err);
int serve_certs_start(struct serve_certs *m, struct moat_err *err);
/* After the switch to cfg.user: what renewals write can still be written
 * (else err says what to chown). */
int serve_certs_check_writable(struct serve_certs *m, const struct serve_gen *g,
			       struct moat_err *err);
/* Started as root to run as uid: what the start issued as root for the
 * sites (live/NAME, archive/NAME, renewal/NAME.conf) is given to uid:gid,
 * when MOAT_HOME is that user's -- so the first start of a new site does
 * not leave files its own renewals cannot replace. */
void serve_certs_give(struct serve_certs *m, const struct serve_gen *g, uid_t uid, gid_t gid);
/* SIGUSR1: renew every certificate that moat makes (ACME, private CA) now. */
void serve_certs_renew_all(struct serve_certs *m);
/* Look again now (after a reload). */
void serve_certs_kick(struct serve_certs *m);
void serve_certs_free(struct serve_certs *m);

/* ---- client connections (conn.c) -------------------------------------------
 *
 * Each accepted connection speaks HTTP/1.1 through the net engine
 * (net/h1_server.h); conn.c keeps the worker's list of them and hears of
 * their ends, the exchanges are the proxy's (proxy.c, request.c). */

/* What the proxy knows of the connection a request came on. */
struct pconn {
	struct net_h1s *h;
	struct serve_worker *w;
	struct serve_gen *gen; /* the generation it was accepted under */
	LIST_ENTRY(pconn) link; /* in w->conns */
	bool tls;
	bool listed; /* in w->conns (not a connection refused at once) */
};

void serve_conn_accept(uv_stream_t *listener, int status);
/* Start draining: idle connections close now, busy ones after their
 * response. */
void serve_conn_drain_all(struct serve_worker *w);
void serve_conn_close_all(struct serve_worker *w);

/* ---- upstream connections (upstream.c) ------------------------------------- */

struct up_ops {
	void (*connected)(void *arg, struct up *u);
	void (*data)(void *arg, const char *p, size_t n);
	void (*eof)(void *arg);
	void (*failed)(void *arg, enum serve_up_error e, const char *why);
	void (*drained)(void *arg);
};

/* A pooled connection to addr (unless fresh), or a new one;
 * ops->connected is called from the loop (also for a pooled one, never from
 * inside this call). */
struct up *serve_up_get(struct serve_worker *w, const struct serve_addr *addr, int connect_ms,
			bool fresh, const struct up_ops *ops, void *arg);
int serve_up_write(struct up *u, const void *data, size_t len);
size_t serve_up_write_queue(const struct up *u);
/* Stop reading it (the client is slow) or read again.  While paused, its
 * silence is not timed. */
void serve_up_pause(struct up *u, bool pause);
/* The upstream's silence allowed (0: none): while answer (the exchange
 * waits for response bytes) and not paused, and while bytes wait to be
 * written to it; each restarted by progress.  Then ops->failed with
 * UP_ERR_TIMEOUT. */
void serve_up_timeout(struct up *u, int ms, bool answer);
bool serve_up_reused(const struct up *u);
/* Give it back: to the pool when reusable, else closed. */
void serve_up_release(struct up *u, bool reusable);
void serve_up_shutdown_write(struct up *u);
void serve_up_close_all(struct serve_worker *w);

#define SERVE_HIGH_WATER NET_H1S_HIGH_WATER /* bytes queued before reading pauses */

/* ---- the request/response exchange (request.c, proxy.c, answer.c) ------------ */

/* The application's side of every exchange (net/http_app.h): request.c
 * starts one, proxy.c has the rest. */
extern const struct net_app_ops serve_app_ops;
/* answer.c: the access log line and counters of a head that could not be
 * parsed (in: what was read of it). */
void serve_request_rejected(struct pconn *c, const char *in, size_t len, int status);
/* Answer without an upstream (errors, redirects): a complete response,
 * logged with x's request.  Ends the exchange. */
void serve_reply(struct exchange *x, int status, const char *ctype, const char *body, size_t len,
		 const char *location, bool keep_alive);

/* ---- the admin listener (metrics.c) ----------------------------------------- */

/* /metrics (Prometheus text format) and /health on addr ("HOST:PORT") with
 * the net core's small server (its own thread). */
int serve_admin_listen(struct serve *s, const char *addr, struct moat_err *err);

/* ---- logs (log.c) ---------------------------------------------------------- */

struct serve_log;

struct serve_access {
	const char *peer;
	const char *host;
	const char *method;
	const char *target;
	int version_minor;
	int status;
	uint64_t bytes;
	const char *referer;
	const char *user_agent;
	double seconds;
	const char *upstream;
	bool tls;
};

/* prev (may be NULL): the running generation's logs; a file still at the
 * same path is shared, not opened again. */
struct serve_log *serve_log_open(const struct serve_config *c, const struct serve_log *prev,
				 struct moat_err *err);
void serve_log_close(struct serve_log *l);
void serve_log_access(struct serve_log *l, const struct serve_access *a);
void serve_log_error(struct serve_log *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
