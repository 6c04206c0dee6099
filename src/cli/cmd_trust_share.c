/* cmd_trust_share.c: moat trust share -- a page on the LAN that hands the
 * root certificate to phones, with a QR code of its address. */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ca/ca.h"
#include "core/parse.h"
#include "trust/share.h"

#define CMD "trust share"
#define MAX_TIMEOUT (30 * 86400) /* seconds */

struct listen_spec {
	char addr[64]; /* "" : every address */
	uint16_t port;
	bool have_port;
};

/* ADDR:PORT, :PORT, [V6]:PORT, [V6], ADDR or PORT; "*" for the address is
 * every address, as an empty one is. */
static int parse_listen(const char *s, struct listen_spec *l)
{
	struct moat_hostport hp;

	memset(l, 0, sizeof(*l));
	if (strcmp(s, "*") == 0)
		return CLI_OK;
	if (cli_opt_hostport(CMD, "--listen", s[0] == '*' && s[1] == ':' ? s + 1 : s,
			     MOAT_HOSTPORT_NO_HOST | MOAT_HOSTPORT_NO_PORT | MOAT_HOSTPORT_PORT_ALONE |
				     MOAT_HOSTPORT_PORT_ZERO,
			     &hp) != CLI_OK)
		return CLI_USAGE;
	snprintf(l->addr, sizeof(l->addr), "%.63s", hp.host); /* an IP address: it fits */
	l->port = hp.port;
	l->have_port = hp.has_port;
	return CLI_OK;
}

static bool is_loopback(const char *host)
{
	return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
	       strcmp(host, "[::1]") == 0 || strcmp(host, "localhost") == 0;
}

static bool is_any(const char *addr)
{
	return addr[0] == '\0' || strcmp(addr, "0.0.0.0") == 0 || strcmp(addr, "::") == 0;
}

/* One line per request on stderr (the server's thread calls this). */
static void log_request(void *arg, const struct trust_share_event *ev)
{
	char peer[80], method[24], target[120], when[16];
	time_t now = time(NULL);
	struct tm tm;
	bool get = strcmp(ev->method, "GET") == 0;

	(void)arg;
	if (localtime_r(&now, &tm) == NULL || strftime(when, sizeof(when), "%H:%M:%S", &tm) == 0)
		snprintf(when, sizeof(when), "?");
	moat_escape(peer, sizeof(peer), ev->peer, strlen(ev->peer));
	moat_escape(method, sizeof(method), ev->method, strlen(ev->method));
	moat_escape(target, sizeof(target), ev->target, strlen(ev->target));
	if (get && ev->file != NULL && ev->file->root)
		fprintf(stderr, "moat: %s %s downloaded %s (%s)\n", when, peer, ev->file->path + 1,
			ev->file->label);
	else if (get && ev->file != NULL && strcmp(ev->file->format, "html") == 0)
		fprintf(stderr, "moat: %s %s opened the page\n", when, peer);
	else
		fprintf(stderr, "moat: %s %s %s %s: %d\n", when, peer, method, target, ev->status);
}

static json_t *json_doc(struct trust_share *s, const char *name, char (*others)[300],
			size_t nothers, long timeout)
{
	const struct trust_share_file *f;
	json_t *files = json_array(), *alt = json_array();
	size_t n;

	f = trust_share_files(&n);
	for (size_t i = 0; files != NULL && i < n; i++) {
		char url[400];

		if (!f[i].root)
			continue;
		snprintf(url, sizeof(url), "%s%s", trust_share_url(s), f[i].path + 1);
		json_array_append_new(files, json_pack("{s:s, s:s, s:s, s:s, s:s}", "path", f[i].path,
						       "url", url, "content_type", f[i].content_type,
						       "format", f[i].format, "for", f[i].label));
	}
	for (size_t i = 0; alt != NULL && i < nothers; i++)
		json_array_append_new(alt, json_string(others[i]));
	return json_pack("{s:s, s:s, s:s, s:i, s:o, s:o, s:o}", "name", name, "url",
			 trust_share_url(s), "sha256", trust_share_fingerprint(s), "port",
			 (int)trust_share_port(s), "other_urls", alt, "files", files, "timeout",
			 timeout > 0 ? json_integer(timeout) : json_null());
}

/* Wait for SIGINT, SIGTERM or SIGHUP (blocked in set), or the timeout. */
static int wait_stop(const sigset_t *set, long timeout)
{
	struct timespec deadline, now, left;
	int sig;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout;
	for (;;) {
		if (timeout <= 0) {
			sig = sigwaitinfo(set, NULL);
		} else {
			clock_gettime(CLOCK_MONOTONIC, &now);
			left.tv_sec = deadline.tv_sec - now.tv_sec;
			left.tv_nsec = deadline.tv_nsec - now.tv_nsec;
			if (left.tv_nsec < 0) {
				left.tv_sec--;
				left.tv_nsec += 1000000000L;
			}
			if (left.tv_sec < 0)
				return 0;
			sig = sigtimedwait(set, NULL, &left);
		}
		if (sig > 0)
			return sig;
		if (errno == EAGAIN)
			return 0;
		/* EINTR: another signal's handler ran; wait on */
	}
}

int cli_trust_share(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"listen", required_argument, NULL, 'l'}, {"name", required_argument, NULL, 'n'},
		{"timeout", required_argument, NULL, 't'}, {"json", no_argument, NULL, 'j'},
		{"no-qr", no_argument, NULL, 'Q'},	    {NULL, 0, NULL, 0},
	};
	struct listen_spec ls = {.addr = "", .port = TRUST_SHARE_DEFAULT_PORT};
	struct trust_share_opts so;
	struct trust_share *s = NULL;
	struct moat_buf qr = MOAT_BUF_INIT;
	struct moat_err err;
	struct ca *ca = NULL;
	char addrs[TRUST_SHARE_MAX_ADDRS][64], others[TRUST_SHARE_MAX_ADDRS][300];
	const char *name_opt = NULL, *host;
	size_t naddrs = 0, nothers = 0;
	int timeout = 0;
	bool json = false, show_qr = true, auto_host = false, sig_blocked = false;
	sigset_t set, old;
	FILE *qf;
	int c, sig, ret = CLI_FAIL;

	moat_err_clear(&err);
	optind = 0;
	while ((c = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (parse_listen(optarg, &ls) != CLI_OK)
				return CLI_USAGE;
			if (!ls.have_port)
				ls.port = TRUST_SHARE_DEFAULT_PORT;
			break;
		case 'n': name_opt = optarg; break;
		case 't':
			if (cli_opt_seconds(CMD, "--timeout", optarg, 1, MAX_TIMEOUT, &timeout) != CLI_OK)
				return CLI_USAGE;
			break;
		case 'j': json = true; break;
		case 'Q': show_qr = false; break;
		default: return cli_bad_option(CMD, c, argv);
		}
	}
	if (optind != argc)
		return cli_usage_error(CMD, "unexpected argument \"%.40s\"", argv[optind]);

	/* Ctrl-C, kill and hang-up are waited for below, never delivered:
	 * blocked now, before the server's thread exists (it blocks them too). */
	sig_blocked = cli_stop_signals_block(&set, &old);

	if (cli_ca_open(false, NULL, &ca, &err) != 0)
		goto out;

	/* The host in the URL: --name, else the address we listen on, else
	 * the best LAN address. */
	if (name_opt != NULL) {
		host = name_opt;
	} else if (!is_any(ls.addr)) {
		host = ls.addr;
	} else {
		if (trust_share_lan_addrs(addrs, TRUST_SHARE_MAX_ADDRS, &naddrs, &err) != 0)
			goto out;
		host = naddrs > 0 ? addrs[0] : "127.0.0.1";
		auto_host = true;
	}

	memset(&so, 0, sizeof(so));
	so.root = ca_root(ca);
	so.ca_name = ca_name(ca);
	so.listen_addr = is_any(ls.addr) && ls.addr[0] == '\0' ? NULL : ls.addr;
	so.port = ls.port;
	so.host = host;
	so.log = log_request;
	s = trust_share_new(&so, &err);
	if (s == NULL && !ls.have_port && strstr(err.msg, "already in use") != NULL) {
		/* The default port is taken: any free one does, the QR code
		 * carries it. */
		cli_notice("port %u is in use; taking a free port instead",
			   TRUST_SHARE_DEFAULT_PORT);
		moat_err_clear(&err);
		so.port = 0;
		s = trust_share_new(&so, &err);
	}
	if (s == NULL || trust_share_start(s, &err) != 0)
		goto out;

	for (size_t i = 1; auto_host && i < naddrs; i++)
		if (trust_share_make_url(addrs[i], trust_share_port(s), others[nothers],
					 sizeof(others[0]), NULL) == 0)
			nothers++;

	fprintf(stderr, "Sharing the root certificate of \"%s\"\n", ca_name(ca));
	fprintf(stderr, "  SHA-256  %s\n", trust_share_fingerprint(s));
	fprintf(stderr, "Open %s on the phone%s.\n", trust_share_url(s),
		show_qr ? ", or scan the QR code" : "");
	for (size_t i = 0; i < nothers; i++)
		fprintf(stderr, "  also at %s\n", others[i]);
	if (nothers > 0)
		fprintf(stderr, "  (choose the address with --name if the phone cannot reach the "
				"first one)\n");
	if (auto_host && naddrs == 0)
		cli_notice("warning: this machine has no LAN address; only this computer can open "
			   "the page (connect to a network, or give --name HOST)");
	else if (!auto_host && is_loopback(host))
		cli_notice("warning: %s is this computer's loopback address: phones cannot open "
			   "it (give the LAN address with --name)", trust_share_url(s));
	else if (!is_any(ls.addr) && is_loopback(ls.addr))
		cli_notice("warning: listening on %s only: phones cannot connect (use --listen "
			   ":PORT)", ls.addr);
	fflush(stderr);

	/* The URL and the code: on stdout, or with --json the document there
	 * and the code on stderr. */
	qf = json ? stderr : stdout;
	if (show_qr && trust_share_qr_text(s, isatty(fileno(qf)) != 0, &qr, &err) != 0)
		goto out;
	if (json) {
		if (cli_json_print(json_doc(s, ca_name(ca), others, nothers, timeout)) != CLI_OK)
			goto out;
	} else {
		printf("%s\n", trust_share_url(s));
	}
	if (show_qr) {
		fputc('\n', qf);
		fwrite(qr.data, 1, qr.len, qf);
		fputc('\n', qf);
	}
	fflush(stdout);
	if (timeout > 0)
		fprintf(stderr, "Press Ctrl-C to stop (it stops by itself after %ds).\n", timeout);
	else
		fprintf(stderr, "Press Ctrl-C to stop.\n");
	fflush(stderr);

	sig = wait_stop(&set, timeout);
	trust_share_stop(s);
	if (sig == SIGINT && isatty(STDERR_FILENO))
		fputc('\n', stderr); /* after the terminal's "^C" */
	if (sig == 0)
		cli_notice("stopped after %ds", timeout);
	else
		cli_notice("stopped (%s)", sig == SIGINT ? "interrupt" : sig == SIGTERM ? "terminated"
											  : "hang-up");
	ret = CLI_OK;
out:
	trust_share_free(s);
	moat_buf_free(&qr);
	ca_free(ca);
	if (sig_blocked)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret == CLI_OK ? CLI_OK : (err.msg[0] ? cli_fail(&err) : ret);
}
