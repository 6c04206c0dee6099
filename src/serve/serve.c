/* serve.c: starting, reloading and stopping `moat serve`.
 *
 * serve_new: configuration, generation (upstreams resolved, TLS context,
 * logs), certificates, listening sockets (one per port, shared by the
 * workers), the admin listener.  serve_run: drop privileges, start
 * the workers and the certificate thread, then wait for signals on the
 * main thread's own loop:
 *
 *   SIGHUP           build a whole new generation from the configuration;
 *                    only if every step works is it swapped in (new
 *                    connections get it, running ones keep theirs).  A
 *                    failure keeps the running configuration and says why.
 *   SIGTERM, SIGINT  stop accepting, let running requests finish (idle
 *                    connections close at once), exit when none is left or
 *                    after DRAIN_MS. */
#include "serve/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/net.h"

#define DRAIN_MS 30000

/* The signals the main loop takes (the workers and the certificate thread
 * block them). */
static const int signums[] = {SIGHUP, SIGTERM, SIGINT, SIGUSR1};
#define NSIGS (sizeof(signums) / sizeof(signums[0]))

struct serve_main {
	uv_loop_t loop;
	uv_signal_t sigs[NSIGS];
	uv_timer_t drain_timer, poll_timer;
	struct serve *s;
	bool draining;
};

static void say(struct serve *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct serve *s, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (s->opts.say == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s->opts.say(s->opts.say_arg, line);
}

/* A complete generation from the configuration the loader makes now. */
static struct serve_gen *build_gen(struct serve *s, struct moat_err *err)
{
	struct serve_config cfg;
	struct serve_gen *g;

	serve_config_init(&cfg);
	if (s->opts.load(s->opts.load_arg, &cfg, err) != 0 || serve_config_check(&cfg, err) != 0) {
		serve_config_free(&cfg);
		return NULL;
	}
	serve_config_resolve(&cfg);
	if ((g = serve_gen_new(&cfg, ++s->next_gen, s->gen, err)) == NULL)
		return NULL;
	if (serve_certs_install(s->certs, g, err) != 0) {
		serve_gen_unref(g);
		return NULL;
	}
	return g;
}

/* The listening sockets: https-port (TLS), http-port unless 0, and the port
 * where the ACME CA validates when it is apart from both (a port forward
 * from 80 or 443): plain HTTP or TLS, answering like its kind's listener.
 * One socket per port, bound once -- without SO_REUSEPORT, so that a second
 * moat (or anything else) on the same port fails to start instead of
 * quietly taking half of the connections -- and every worker gets its own
 * descriptor of each (each loop accepts from the same queue). */
static int bind_all(struct serve *s, const struct serve_config *c, struct moat_err *err)
{
	int fds[3] = {-1, -1, -1}, ret = -1, extra = 0;
	bool fd_tls[3] = {true, false, false}, extra_tls = false;
	size_t n = 0;

	if ((fds[n++] = serve_bind(c->listen_addr, c->https_port, "--https-port", err)) < 0)
		goto out;
	if (c->http_port != 0 &&
	    (fds[n++] = serve_bind(c->listen_addr, c->http_port, "--http-port", err)) < 0)
		goto out;
	if (serve_config_uses_acme(c))
		extra = serve_config_acme_port(c, &extra_tls);
	if (extra != 0) {
		fd_tls[n] = extra_tls;
		if ((fds[n++] = serve_bind(c->listen_addr, (uint16_t)extra,
					   extra_tls ? "acme-tls-port" : "acme-challenge-port",
					   err)) < 0)
			goto out;
	}
	for (int i = 0; i < s->nworkers; i++) {
		struct serve_worker *w = &s->workers[i];

		for (size_t k = 0; k < n; k++) {
			int fd = fcntl(fds[k], F_DUPFD_CLOEXEC, 3);

			if (fd < 0) {
				moat_err_errno(err, errno, "cannot share the listening socket");
				goto out;
			}
			w->listeners[w->nfds].tls = fd_tls[k];
			w->fds[w->nfds++] = fd;
		}
	}
	ret = 0;
out:
	for (size_t k = 0; k < n; k++)
		if (fds[k] >= 0)
			close(fds[k]);
	return ret;
}

struct serve *serve_new(const struct serve_opts *o, struct moat_err *err)
{
	struct serve *s = calloc(1, sizeof(*s));
	struct serve *ret = NULL;
	const struct serve_config *c;
	long ncpu;

	if (s == NULL) {
		moat_err_set(err, "out of memory");
		return NULL;
	}
	s->opts = *o;
	pthread_mutex_init(&s->lock, NULL);
	serve_tokens_init(&s->tokens);
	signal(SIGPIPE, SIG_IGN);
	if ((s->certs = serve_certs_new(s, o->home, o->ca, false, err)) == NULL)
		goto out;
	if ((s->gen = build_gen(s, err)) == NULL)
		goto out;
	c = &s->gen->cfg;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	s->nworkers = c->workers > 0 ? c->workers : (int)(ncpu > 0 ? ncpu : 1);
	if ((s->workers = calloc((size_t)s->nworkers, sizeof(*s->workers))) == NULL) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	s->https_port = c->https_port;
	s->http_port = c->http_port;
	if (bind_all(s, c, err) != 0)
		goto out;
	if (c->admin[0] != '\0' && serve_admin_listen(s, c->admin, err) != 0)
		goto out;
	ret = s;
	s = NULL;
out:
	serve_free(s);
	return ret;
}

/* ---- privileges ------------------------------------------------------------------------ */

static int drop_privileges(struct serve *s, const char *user, struct moat_err *err)
{
	struct passwd *pw;

	if (user[0] == '\0')
		return 0;
	if (geteuid() != 0) {
		moat_err_set(err, "cannot switch to user %s: moat serve is not running as root", user);
		moat_err_hint(err, "remove \"user\" from the configuration, or start moat serve as "
			      "root (it binds its ports, then switches)");
		return -1;
	}
	if ((pw = getpwnam(user)) == NULL) {
		moat_err_set(err, "no user named %s on this system", user);
		moat_err_hint(err, "create it (useradd --system %s) or name another", user);
		return -1;
	}
	serve_certs_give(s->certs, s->gen, pw->pw_uid, pw->pw_gid);
	if (setgroups(1, &pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0) {
		moat_err_errno(err, errno, "cannot switch to user %s", user);
		return -1;
	}
	if (setuid(0) == 0) {
		moat_err_set(err, "switching to user %s did not drop root", user);
		return -1;
	}
	return 0;
}

/* ---- signals --------------------------------------------------------------------------- */

static void wake_workers(struct serve *s)
{
	for (int i = 0; i < s->nworkers; i++)
		if (s->workers[i].started)
			uv_async_send(&s->workers[i].wake);
}

static void reload(struct serve *s)
{
	struct moat_err err;
	struct serve_gen *g, *old;

	moat_err_clear(&err);
	atomic_fetch_add(&s->m.reloads, 1);
	g = build_gen(s, &err);
	if (g != NULL && (g->cfg.https_port != s->gen->cfg.https_port ||
			  g->cfg.http_port != s->gen->cfg.http_port ||
			  g->cfg.acme_challenge_port != s->gen->cfg.acme_challenge_port ||
			  g->cfg.acme_tls_port != s->gen->cfg.acme_tls_port ||
			  strcmp(g->cfg.listen_addr, s->gen->cfg.listen_addr) != 0 ||
			  strcmp(g->cfg.admin, s->gen->cfg.admin) != 0 ||
			  g->cfg.workers != s->gen->cfg.workers ||
			  strcmp(g->cfg.user, s->gen->cfg.user) != 0))
		serve_log_error(g->log, "note: listen addresses, ports, workers, admin and user "
				"changes take effect at the next start, not on reload");
	if (g == NULL) {
		atomic_fetch_add(&s->m.reload_failures, 1);
		serve_log_error(s->gen->log, "reload failed, still serving the previous "
				"configuration: %s%s%s%s", err.msg, err.hint[0] ? " (hint: " : "",
				err.hint, err.hint[0] ? ")" : "");
		say(s, "reload failed, still serving the previous configuration: %s", err.msg);
		return;
	}
	pthread_mutex_lock(&s->lock);
	old = s->gen;
	s->gen = g;
	pthread_mutex_unlock(&s->lock);
	wake_workers(s);
	serve_log_error(g->log, "reloaded the configuration (generation %llu, %zu site%s)",
			(unsigned long long)g->id, g->cfg.nsites, g->cfg.nsites == 1 ? "" : "s");
	say(s, "reloaded the configuration (%zu site%s)", g->cfg.nsites,
	    g->cfg.nsites == 1 ? "" : "s");
	serve_gen_unref(old);
	serve_certs_kick(s->certs);
}

static void on_poll(uv_timer_t *t)
{
	struct serve_main *mn = t->data;
	struct serve *s = mn->s;
	bool all = true;

	for (int i = 0; i < s->nworkers; i++) {
		/* A stopped worker has closed its wake handle: its loop
		 * returns; join it here without blocking on a live one. */
		if (s->workers[i].started && !atomic_load(&s->workers[i].done))
			all = false;
	}
	if (all) {
		uv_close((uv_handle_t *)&mn->poll_timer, NULL);
		uv_close((uv_handle_t *)&mn->drain_timer, NULL);
		for (size_t k = 0; k < NSIGS; k++)
			uv_close((uv_handle_t *)&mn->sigs[k], NULL);
	}
}

static void on_drain_timeout(uv_timer_t *t)
{
	struct serve_main *mn = t->data;

	atomic_store(&mn->s->stop_now, true);
	serve_log_error(mn->s->gen->log, "drain time over: closing the remaining connections");
	wake_workers(mn->s);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct serve_main *mn = h->data;
	struct serve *s = mn->s;

	if (signum == SIGHUP) {
		if (!mn->draining)
			reload(s);
		return;
	}
	if (signum == SIGUSR1) {
		say(s, "SIGUSR1: renewing every certificate now");
		serve_certs_renew_all(s->certs);
		return;
	}
	if (mn->draining) {
		/* A second Ctrl-C: don't wait for the drain. */
		atomic_store(&s->stop_now, true);
		wake_workers(s);
		return;
	}
	mn->draining = true;
	serve_log_error(s->gen->log, "%s: finishing running requests, then stopping",
			signum == SIGINT ? "SIGINT" : "SIGTERM");
	say(s, "stopping: finishing running requests (Ctrl-C again to stop now)");
	atomic_store(&s->draining, true);
	wake_workers(s);
	uv_timer_start(&mn->drain_timer, on_drain_timeout, DRAIN_MS, 0);
	uv_timer_start(&mn->poll_timer, on_poll, 50, 50);
}

int serve_run(struct serve *s, struct moat_err *err)
{
	struct serve_main mn;
	sigset_t block, old;
	bool started = true;
	int ret = -1;

	memset(&mn, 0, sizeof(mn));
	mn.s = s;
	if (drop_privileges(s, s->gen->cfg.user, err) != 0 ||
	    (s->gen->cfg.user[0] != '\0' && serve_certs_check_writable(s->certs, s->gen, err) != 0))
		return -1;
	/* Workers and the certificate thread must not take the signals. */
	sigemptyset(&block);
	for (size_t k = 0; k < NSIGS; k++)
		sigaddset(&block, signums[k]);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (int i = 0; i < s->nworkers && started; i++)
		started = serve_worker_init(&s->workers[i], s, err) == 0 &&
			  serve_worker_start(&s->workers[i], err) == 0;
	started = started && serve_certs_start(s->certs, err) == 0 &&
		  (s->admin == NULL || net_server_start(s->admin, err) == 0);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!started)
		goto stop;
	if (uv_loop_init(&mn.loop) != 0) {
		moat_err_set(err, "cannot make the main loop");
		goto stop;
	}
	uv_timer_init(&mn.loop, &mn.drain_timer);
	uv_timer_init(&mn.loop, &mn.poll_timer);
	mn.drain_timer.data = mn.poll_timer.data = &mn;
	for (size_t k = 0; k < NSIGS; k++) {
		uv_signal_init(&mn.loop, &mn.sigs[k]);
		mn.sigs[k].data = &mn;
		uv_signal_start(&mn.sigs[k], on_signal, signums[k]);
	}
	serve_log_error(s->gen->log, "serving %zu site%s on https port %u (http port %u) with %d "
			"worker%s", s->gen->cfg.nsites, s->gen->cfg.nsites == 1 ? "" : "s",
			(unsigned)s->https_port, (unsigned)s->http_port, s->nworkers,
			s->nworkers == 1 ? "" : "s");
	for (size_t i = 0; i < s->gen->cfg.nsites; i++) {
		const struct serve_site *site = &s->gen->cfg.sites[i];

		say(s, "https://%s%s%.0u/ -> %s", site->names[0], s->https_port != 443 ? ":" : "",
		    s->https_port != 443 ? (unsigned)s->https_port : 0u, site->upstreams[0].url);
	}
	say(s, "ready (pid %ld): SIGHUP reloads, SIGTERM or Ctrl-C stops", (long)getpid());
	uv_run(&mn.loop, UV_RUN_DEFAULT);
	uv_loop_close(&mn.loop);
	say(s, "stopped");
	ret = 0;
stop:
	if (ret != 0) {
		atomic_store(&s->draining, true);
		atomic_store(&s->stop_now, true);
		wake_workers(s);
	}
	for (int i = 0; i < s->nworkers; i++)
		serve_worker_join(&s->workers[i]);
	return ret;
}

void serve_free(struct serve *s)
{
	if (s == NULL)
		return;
	net_server_free(s->admin);
	serve_certs_free(s->certs);
	for (int i = 0; s->workers != NULL && i < s->nworkers; i++)
		serve_worker_cleanup(&s->workers[i]);
	free(s->workers);
	serve_gen_unref(s->gen);
	pthread_mutex_destroy(&s->lock);
	serve_tokens_destroy(&s->tokens);
	free(s);
}

int serve_check(const struct serve_config *c, const char *home, struct moat_err *err)
{
	struct serve tmp;
	struct serve_config copy = *c;
	struct serve_gen *g = NULL;
	int ret = -1;

	memset(&tmp, 0, sizeof(tmp));
	pthread_mutex_init(&tmp.lock, NULL);
	copy.sites = malloc((c->nsites ? c->nsites : 1) * sizeof(*copy.sites));
	if (copy.sites == NULL) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	memcpy(copy.sites, c->sites, c->nsites * sizeof(*copy.sites));
	if ((tmp.certs = serve_certs_new(&tmp, home, NULL, true, err)) == NULL)
		goto out;
	if ((g = serve_gen_new(&copy, 1, NULL, err)) == NULL || serve_certs_install(tmp.certs, g, err) != 0)
		goto out;
	ret = 0;
out:
	serve_gen_unref(g);
	serve_config_free(&copy);
	serve_certs_free(tmp.certs);
	pthread_mutex_destroy(&tmp.lock);
	return ret;
}
