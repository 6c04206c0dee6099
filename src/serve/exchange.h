/* exchange.h: what request.c (a request's checks and routing), proxy.c
 * (the upstream side and the response) and answer.c (the answers moat
 * makes itself, the log) share about one exchange.  request.c calls
 * proxy.c and answer.c, proxy.c calls answer.c, answer.c neither.
 * Private to src/serve. */
#ifndef MOAT_SERVE_EXCHANGE_H
#define MOAT_SERVE_EXCHANGE_H

#include <time.h>

#include "serve/internal.h"

struct exchange {
	struct net_hx *hx;  /* the client's side (net/http_app.h) */
	struct serve_worker *w;
	struct serve_gen *g;
	struct serve_gen_site *gs;
	struct up *up;
	size_t attempt;   /* upstream addresses tried */
	unsigned rr_base; /* the site's round-robin turn when it started */
	bool tls;
	/* the request */
	struct moat_buf head; /* as sent upstream; kept for a retry */
	uint64_t req_bytes;
	bool req_chunked;      /* its body goes upstream in chunks */
	bool req_done;         /* all of it has gone upstream */
	bool req_body_started; /* body bytes have gone upstream: no retry */
	bool req_keep;
	bool upgrade;
	bool head_req;
	bool head_sent;        /* the head was handed to the upstream: it may
				* have the request (a retry must be safe) */
	/* the response */
	char *rin;
	size_t rin_len, rin_cap;
	struct net_h1_msg *resp;
	bool resp_head_done;
	bool resp_any;        /* a byte came from the upstream */
	enum net_h1_framing resp_framing;
	uint64_t resp_left;
	struct net_h1_chunked resp_ck;
	bool resp_keep;   /* the upstream connection can be reused after it */
	bool tunnel;
	bool paused_up;
	bool fresh;      /* the next connection must be a new one */
	bool up_ready;   /* the head has been written to x->up */
	int status;
	uint64_t bytes;
	struct timespec t0;
	/* for the access log */
	int version_minor;
	const char *peer;
	/* Last: the strings are set by request.c's exchange_start, everything
	 * before them is zeroed (1.8 KB less to clear per request). */
	char method[33];
	char target[1024];
	char host[256];
	char referer[256];
	char ua[256];
};

/* The upstream address tried last (the first one before any). */
static inline const struct serve_addr *serve_x_addr(const struct exchange *x)
{
	size_t tried = x->attempt > 0 ? x->attempt - 1 : 0;

	return &x->gs->addrs[(x->rr_base + tried) % x->gs->naddrs];
}

/* answer.c */
bool serve_x_span_is(const char *p, size_t len, const char *s);
/* A copy into dst (n bytes, n > 0) cut to n - 1 bytes where it must be,
 * and then not inside a UTF-8 sequence (a User-Agent cut at its limit
 * stays valid text in the log). */
void serve_x_copy(char *dst, size_t n, const char *p, size_t len);
/* Count the response and write the access log line. */
void serve_x_log(struct exchange *x, const char *peer);
/* A short HTML page with status (502, 504, 421...), ending the exchange. */
void serve_x_page(struct exchange *x, int status, const char *text);
/* HSTS (on HTTPS) and the site's own response headers, at most max of
 * them into f (pointing into gs); returns how many. */
size_t serve_x_site_fields(struct net_hfield *f, size_t max, const struct serve_gen_site *gs,
			   bool tls);

/* proxy.c: connect to the site's next upstream address and send the head. */
void serve_x_connect(struct exchange *x);
/* The client side's events once the exchange goes upstream (request.c's
 * serve_app_ops points at them; net/http_app.h says when each comes). */
size_t serve_x_client_body(void *arg, const char *p, size_t n);
void serve_x_client_body_end(void *arg);
void serve_x_client_drained(void *arg);
void serve_x_client_invalid(void *arg);
void serve_x_client_eof(void *arg);
void serve_x_done(void *arg);

#endif
