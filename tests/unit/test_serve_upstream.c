/* test_serve_upstream.c: the upstream connection pool (src/serve/upstream.c)
 * on a real libuv loop against a loopback socket the test drives by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "serve/internal.h"

struct rec {
	int connected, eof, failed, drained;
	enum serve_up_error err;
	char why[128];
	char data[64];
	size_t len;
	struct up *u;
	struct up *hold; /* released on failure, as an exchange does */
};

static void r_connected(void *arg, struct up *u)
{
	struct rec *r = arg;

	r->connected++;
	r->u = u;
}

static void r_data(void *arg, const char *p, size_t n)
{
	struct rec *r = arg;

	if (n > sizeof(r->data) - r->len)
		n = sizeof(r->data) - r->len;
	memcpy(r->data + r->len, p, n);
	r->len += n;
}

static void r_eof(void *arg)
{
	((struct rec *)arg)->eof++;
}

static void r_failed(void *arg, enum serve_up_error e, const char *why)
{
	struct rec *r = arg;

	snprintf(r->why, sizeof(r->why), "%s", why);
	r->failed++;
	r->err = e;
	if (r->hold != NULL) {
		serve_up_release(r->hold, false); /* closed already: a no-op */
		r->hold = NULL;
	}
}

static void r_drained(void *arg)
{
	((struct rec *)arg)->drained++;
}

static const struct up_ops ops = {r_connected, r_data, r_eof, r_failed, r_drained};

struct fixture {
	struct serve *s;
	struct serve_worker *w;
	int lfd; /* the "upstream": a listening socket */
	struct serve_addr addr;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct sockaddr_in *sin;

	assert_non_null(f);
	f->s = calloc(1, sizeof(*f->s));
	f->w = calloc(1, sizeof(*f->w));
	assert_non_null(f->s);
	assert_non_null(f->w);
	f->w->srv = f->s;
	assert_int_equal(uv_loop_init(&f->w->loop), 0);
	f->w->loop_ready = true;

	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(f->lfd >= 0);
	sin = (struct sockaddr_in *)&f->addr.sa;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->addr.len = sizeof(*sin);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)sin, f->addr.len), 0);
	assert_int_equal(listen(f->lfd, 8), 0);
	assert_int_equal(getsockname(f->lfd, (struct sockaddr *)sin, &f->addr.len), 0);
	snprintf(f->addr.text, sizeof(f->addr.text), "127.0.0.1:%u", ntohs(sin->sin_port));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	serve_up_close_all(f->w);
	serve_worker_cleanup(f->w);
	close(f->lfd);
	free(f->w);
	free(f->s);
	free(f);
	return 0;
}

/* Turn the loop without blocking until *flag is non-zero (at most 5 s):
 * UV_RUN_ONCE could block in the poll after a timer has set the flag. */
static void run_until(struct fixture *f, const int *flag)
{
	for (int i = 0; i < 5000 && *flag == 0; i++) {
		uv_run(&f->w->loop, UV_RUN_NOWAIT);
		if (*flag == 0)
			usleep(1000);
	}
	assert_int_not_equal(*flag, 0);
}

/* A connection through one request/answer, then given back to the pool;
 * the upstream's side of it in *peer. */
static void pooled_connection(struct fixture *f, int *peer)
{
	struct rec r = {0};
	struct up *u = serve_up_get(f->w, &f->addr, 2000, true, &ops, &r);
	char buf[8];

	assert_non_null(u);
	run_until(f, &r.connected);
	assert_false(serve_up_reused(u));
	*peer = accept(f->lfd, NULL, NULL);
	assert_true(*peer >= 0);
	assert_int_equal(serve_up_write(u, "ping", 4), 0);
	assert_int_equal(recv(*peer, buf, 4, MSG_WAITALL), 4);
	assert_int_equal(send(*peer, "pong", 4, 0), 4);
	for (int i = 0; i < 5000 && r.len < 4 && r.failed == 0 && r.eof == 0; i++) {
		uv_run(&f->w->loop, UV_RUN_NOWAIT);
		usleep(1000);
	}
	assert_int_equal(r.len, 4);
	assert_memory_equal(r.data, "pong", 4);
	serve_up_release(u, true);
}

/* A pooled connection is reused: connected (from the loop), reused. */
static void test_reuse(void **state)
{
	struct fixture *f = *state;
	struct rec r = {0};
	struct up *u;
	int peer;

	pooled_connection(f, &peer);
	u = serve_up_get(f->w, &f->addr, 2000, false, &ops, &r);
	assert_non_null(u);
	assert_true(serve_up_reused(u));
	assert_int_equal(r.connected, 0); /* never from inside serve_up_get */
	run_until(f, &r.connected);
	assert_ptr_equal(r.u, u);
	assert_int_equal(r.failed, 0);
	serve_up_release(u, false);
	close(peer);
}

/* An idle pooled connection the upstream closes is dropped from the pool:
 * the next request gets a new connection. */
static void test_idle_closed_dropped(void **state)
{
	struct fixture *f = *state;
	struct rec r = {0};
	struct up *u;
	int peer;

	pooled_connection(f, &peer);
	close(peer);
	for (int i = 0; i < 20; i++)
		uv_run(&f->w->loop, UV_RUN_NOWAIT);
	u = serve_up_get(f->w, &f->addr, 2000, false, &ops, &r);
	assert_non_null(u);
	assert_false(serve_up_reused(u));
	run_until(f, &r.connected);
	serve_up_release(u, false);
	peer = accept(f->lfd, NULL, NULL);
	if (peer >= 0)
		close(peer);
}

struct taker {
	struct fixture *f;
	struct rec r;
	struct up *u;
	bool reused;
};

static void take_now(uv_prepare_t *p)
{
	struct taker *t = p->data;

	t->u = serve_up_get(t->f->w, &t->f->addr, 2000, false, &ops, &t->r);
	t->reused = t->u != NULL && serve_up_reused(t->u);
	t->r.hold = t->u;
	uv_prepare_stop(p);
}

/* The upstream's close and the taking of the connection in the same loop
 * turn: taken before the loop polls (a prepare handle), the close read in
 * that poll.  The exchange must hear of it (failed, closed; it then retries
 * on a new connection), never be left with a connection closed behind its
 * back. */
static void test_closed_as_taken(void **state)
{
	struct fixture *f = *state;
	struct taker t = {.f = f};
	uv_prepare_t prep;
	int peer;

	pooled_connection(f, &peer);
	close(peer); /* the FIN waits in the pooled socket; the loop has not seen it */
	uv_prepare_init(&f->w->loop, &prep);
	prep.data = &t;
	uv_prepare_start(&prep, take_now);
	/* One turn: timers (none due), the prepare handle (takes it), the
	 * poll (the 0 ms timer of the deferred "connected" is due, so it does
	 * not block; the FIN is read). */
	uv_run(&f->w->loop, UV_RUN_ONCE);
	assert_non_null(t.u);
	assert_true(t.reused);
	for (int i = 0; i < 20 && t.r.failed == 0 && t.r.connected == 0; i++)
		uv_run(&f->w->loop, UV_RUN_NOWAIT);
	assert_int_equal(t.r.failed, 1);
	assert_int_equal(t.r.err, UP_ERR_CLOSED);
	assert_int_equal(t.r.connected, 0);
	assert_null(t.r.hold);
	uv_close((uv_handle_t *)&prep, NULL);
	uv_run(&f->w->loop, UV_RUN_NOWAIT);
}

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Turn the loop for ms milliseconds (without blocking). */
static void run_for(struct fixture *f, long long ms)
{
	long long end = now_ms() + ms;

	while (now_ms() < end) {
		uv_run(&f->w->loop, UV_RUN_NOWAIT);
		usleep(1000);
	}
}

/* A new connection attached to r; the upstream's side of it in *peer. */
static struct up *attached(struct fixture *f, struct rec *r, int *peer)
{
	struct up *u = serve_up_get(f->w, &f->addr, 2000, true, &ops, r);

	assert_non_null(u);
	run_until(f, &r->connected);
	*peer = accept(f->lfd, NULL, NULL);
	assert_true(*peer >= 0);
	return u;
}

/* A connection whose exchange has paused reading (its client is slow) is
 * not timed out for the upstream's "silence": moat is not waiting for it.
 * Resumed, its timeout counts again, from then. */
static void test_paused_not_timed(void **state)
{
	struct fixture *f = *state;
	struct rec r = {0};
	int peer;
	struct up *u = attached(f, &r, &peer);
	long long t0;
	serve_up_timeout(u, 150, true);
	serve_up_pause(u, true);
	run_for(f, 500);
	assert_int_equal(r.failed, 0);
	t0 = now_ms();
	serve_up_pause(u, false);
	run_until(f, &r.failed);
	assert_int_equal(r.err, UP_ERR_TIMEOUT);
	assert_true(now_ms() - t0 >= 140);
	close(peer);
}

/* Without pausing, the same silence is a timeout; data restarts it. */
static void test_silence_timed(void **state)
{
	struct fixture *f = *state;
	struct rec r = {0};
	int peer;
	struct up *u = attached(f, &r, &peer);
	long long t0;
	t0 = now_ms();
	serve_up_timeout(u, 300, true);
	run_for(f, 200);
	assert_int_equal(send(peer, "x", 1, 0), 1);
	run_until(f, &r.failed);
	assert_int_equal(r.err, UP_ERR_TIMEOUT);
	assert_int_equal(r.len, 1);
	assert_true(now_ms() - t0 >= 480); /* 200 ms, then 300 from the byte */
	close(peer);
}

/* An upstream that takes none of what is written to it (an upload it
 * never reads) times out, even while nobody waits for an answer. */
static void test_write_stall_timed(void **state)
{
	struct fixture *f = *state;
	struct rec r = {0};
	static char big[1 << 20];
	int peer, n = 0;
	struct up *u = attached(f, &r, &peer);
	serve_up_timeout(u, 200, false);
	while (serve_up_write_queue(u) == 0 && n++ < 64)
		assert_int_equal(serve_up_write(u, big, sizeof(big)), 0);
	assert_true(serve_up_write_queue(u) > 0);
	run_until(f, &r.failed);
	assert_int_equal(r.err, UP_ERR_TIMEOUT);
	assert_non_null(strstr(r.why, "took none of the request"));
	close(peer);
}

/* A connect that fails at once for want of descriptors says so (not "timed
 * out"), from the loop. */
static void test_connect_emfile(void **state)
{
	struct fixture *f = *state;
	struct rec r = {0};
	struct rlimit old, low;
	int fds[256], nfds = 0;
	struct up *u;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 64;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	while (nfds < 256 && (fds[nfds] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
		nfds++;
	assert_true(nfds < 256);
	u = serve_up_get(f->w, &f->addr, 5000, true, &ops, &r);
	assert_non_null(u);
	assert_int_equal(r.failed, 0); /* never from inside serve_up_get */
	run_until(f, &r.failed);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(r.err, UP_ERR_CONNECT);
	assert_string_equal(r.why, uv_strerror(UV_EMFILE));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_closed_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_closed_as_taken, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paused_not_timed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silence_timed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_stall_timed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_emfile, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
