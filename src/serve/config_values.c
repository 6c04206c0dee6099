/* config_values.c: the values of `moat serve` configuration directives
 * (config.h, docs/serve.md): durations, sizes, numbers, ports and
 * ADDRESS:PORT (read by core/parse.h, as on the command line), upstream
 * URLs, site names, user names, e-mail and ACME settings,
 * paths relative to the file, added headers -- and the table of directives
 * (name, scope, argument count, range, parser, usage) that config.c looks
 * lines up in.  Each parser checks one line's words; what needs the whole
 * configuration is config_check.c's. */
#include "serve/config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/file.h"
#include "core/names.h"
#include "core/parse.h"
#include "serve/config_int.h"

#define MAX_HSTS 315360000L /* ten years, in seconds */
#define MAX_TIMEOUT_MS (24 * 3600 * 1000)
#define LE_STAGING "https://acme-staging-v02.api.letsencrypt.org/directory"

/* Short names for the flags, as the table below is wide. */
enum { G = SERVE_CFG_GLOBAL, S = SERVE_CFG_SITE, REPEAT = SERVE_CFG_REPEAT, MS = SERVE_CFG_MS,
       SZ = SERVE_CFG_BYTES };

/* ---- small parsers ------------------------------------------------------ */

/* `DIRECTIVE: "VALUE" REASON` -- the value escaped, as it may be anything. */
static int bad_value(struct moat_err *err, const char *what, const char *val, const char *fmt,
		     ...) MOAT_PRINTF(4, 5);

static int bad_value(struct moat_err *err, const char *what, const char *val, const char *fmt,
		     ...)
{
	char show[96], why[256];
	va_list ap;

	moat_escape(show, sizeof(show), val, strlen(val));
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	moat_err_set(err, "%s: \"%s\" %s", what, show, why);
	return -1;
}

static int copy(struct moat_err *err, const char *what, char *dst, size_t n, const char *s)
{
	size_t len = strlen(s);

	if (len >= n)
		return bad_value(err, what, s, "is too long (at most %zu characters)", n - 1);
	memcpy(dst, s, len + 1);
	return 0;
}

/* http://HOST[:PORT][/] -- the app server behind moat, spoken to in plain
 * HTTP; a path would have to be rewritten in every request and redirect,
 * so there is none. */
int serve_cfg_parse_upstream(const char *url, struct serve_upstream *u, struct moat_err *err)
{
	char authority[300];
	struct moat_hostport hp;
	const char *h, *p;

	memset(u, 0, sizeof(*u));
	if (strncasecmp(url, "https://", 8) == 0) {
		bad_value(err, "upstream", url, "is https: https upstreams are not supported yet");
		moat_err_hint(err, "moat serve speaks plain HTTP to the app server; give "
				   "http://HOST:PORT of an app on this machine or a private network");
		return -1;
	}
	if (strncasecmp(url, "http://", 7) != 0) {
		bad_value(err, "upstream", url, "is not an http:// URL");
		moat_err_hint(err, "give http://HOST[:PORT], e.g. http://127.0.0.1:3000");
		return -1;
	}
	if (strlen(url) >= sizeof(u->url))
		return bad_value(err, "upstream", url, "is too long");
	if (strchr(url, '@') != NULL)
		return bad_value(err, "upstream", url, "has a user name: not allowed");
	h = url + 7;
	p = h + strcspn(h, "/?#");
	if (*p != '\0' && strcmp(p, "/") != 0) {
		bad_value(err, "upstream", url, "has a %s: only http://HOST[:PORT] is allowed",
			  *p == '/' ? "path" : *p == '?' ? "query" : "fragment");
		moat_err_hint(err, "requests go to the upstream with the path the client asked for");
		return -1;
	}
	if ((size_t)(p - h) >= sizeof(authority))
		return bad_value(err, "upstream", url, "has a host name that is too long");
	memcpy(authority, h, (size_t)(p - h));
	authority[p - h] = '\0';
	if (moat_parse_hostport(authority, MOAT_HOSTPORT_NAME | MOAT_HOSTPORT_NO_PORT, &hp, err) !=
	    0) {
		moat_err_prefix(err, "upstream");
		return -1;
	}
	snprintf(u->host, sizeof(u->host), "%s", hp.host);
	u->port = hp.has_port ? hp.port : 80;
	snprintf(u->url, sizeof(u->url), "%s", url);
	return 0;
}

/* A field name is an RFC 9110 token; a value is visible ASCII, spaces and
 * tabs, not at either end: both go into every response as they are. */
static int check_header(const char *name, const char *value, struct moat_err *err)
{
	static const char *const framing[] = {"content-length", "transfer-encoding", "connection",
					      "keep-alive", "upgrade", "te", "trailer",
					      "proxy-connection"};
	static const char tchar[] = "!#$%&'*+-.^_`|~0123456789"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	size_t vl = strlen(value);

	if (name[0] == '\0' || strlen(name) >= sizeof(((struct serve_header *)0)->name))
		return bad_value(err, "header", name, "is not a header name (1-63 characters)");
	if (strspn(name, tchar) != strlen(name))
		return bad_value(err, "header", name, "is not a header name (letters, digits "
						       "and !#$%%&'*+-.^_`|~ only)");
	for (size_t i = 0; i < sizeof(framing) / sizeof(framing[0]); i++)
		if (strcasecmp(name, framing[i]) == 0)
			return bad_value(err, "header", name, "is set by moat (it frames the "
							       "connection), not by the configuration");
	if (strcasecmp(name, "strict-transport-security") == 0) {
		bad_value(err, "header", name, "is set with the hsts directive");
		moat_err_hint(err, "e.g. hsts 31536000 subdomains");
		return -1;
	}
	if (vl >= sizeof(((struct serve_header *)0)->value))
		return bad_value(err, "header", value, "is too long (at most 511 characters)");
	for (size_t i = 0; i < vl; i++) {
		unsigned char ch = (unsigned char)value[i];

		if ((ch < 0x20 && ch != '\t') || ch >= 0x7f)
			return bad_value(err, "header", value,
					 "has a control or non-ASCII character: not allowed in a "
					 "header value");
	}
	if (vl > 0 && strchr(" \t", value[0]) != NULL)
		return bad_value(err, "header", value, "starts with a space");
	if (vl > 0 && strchr(" \t", value[vl - 1]) != NULL)
		return bad_value(err, "header", value, "ends with a space");
	return 0;
}

/* ---- names -------------------------------------------------------------- */

/* Normalised names (lower case, IPv6 in its canonical form); a name given
 * twice in one site is kept once. */
int serve_cfg_add_names(struct serve_site *s, char *const *names, size_t n,
			struct moat_err *err)
{
	for (size_t i = 0; i < n; i++) {
		struct moat_name mn;
		bool dup = false;

		if (moat_name_parse(names[i], &mn, err) != 0)
			return -1;
		for (size_t k = 0; k < s->nnames && !dup; k++)
			dup = strcmp(s->names[k], mn.text) == 0;
		if (dup)
			continue;
		if (s->nnames == SERVE_MAX_NAMES) {
			moat_err_set(err, "a site has at most %d names", SERVE_MAX_NAMES);
			return -1;
		}
		snprintf(s->names[s->nnames++], sizeof(s->names[0]), "%.253s", mn.text);
	}
	return 0;
}

/* ---- directives --------------------------------------------------------- */

#define FIELD(p, d, type) ((type *)(void *)((char *)(p)->c + (d)->off))

/* A path from the file, relative to the file's directory. */
static int set_path(struct serve_cfg_parser *p, const char *what, char *dst, size_t n,
		    const char *s)
{
	if (s[0] == '\0')
		return bad_value(p->err, what, s, "is not a file name");
	if (s[0] == '/' || p->dir[0] == '\0')
		return copy(p->err, what, dst, n, s);
	if (moat_path_join(dst, n, p->dir, s, p->err) != 0)
		return bad_value(p->err, what, s, "is too long");
	return 0;
}

/* The shared parsers' messages quote the value; the directive goes in front. */
static int named(struct serve_cfg_parser *p, const struct serve_cfg_directive *d)
{
	moat_err_prefix(p->err, "%s", d->name);
	return -1;
}

/* A port: 0 allowed where lo is 0 (http-port 0: no listener). */
static int d_port(struct serve_cfg_parser *p, const struct serve_cfg_directive *d, char **av,
		  size_t ac)
{
	uint16_t v;

	if (moat_parse_port(av[0], d->lo == 0, &v, p->err) != 0)
		return named(p, d);
	*FIELD(p, d, uint16_t) = v;
	return 0;
}

/* A number, a duration or a size (by d->flags) in [lo, hi], into an int
 * field, or max_header_size / max_body_size. */
static int d_number(struct serve_cfg_parser *p, const struct serve_cfg_directive *d, char **av,
		    size_t ac)
{
	int64_t v;
	int r = d->flags & SERVE_CFG_MS ? moat_parse_duration_ms(av[0], d->lo, d->hi, &v, p->err)
		: d->flags & SERVE_CFG_BYTES ? moat_parse_size(av[0], d->lo, d->hi, &v, p->err)
					     : moat_parse_number(av[0], d->lo, d->hi, &v, p->err);

	if (r != 0)
		return named(p, d);
	if (d->off == offsetof(struct serve_config, max_header_size))
		p->c->max_header_size = (size_t)v;
	else if (d->off == offsetof(struct serve_config, max_body_size))
		p->c->max_body_size = v;
	else
		*FIELD(p, d, int) = (int)v;
	return 0;
}

static int d_workers(struct serve_cfg_parser *p, const struct serve_cfg_directive *d, char **av,
		     size_t ac)
{
	if (strcmp(av[0], "auto") == 0) {
		p->c->workers = 0;
		return 0;
	}
	return d_number(p, d, av, ac);
}

static int d_listen(struct serve_cfg_parser *p, const struct serve_cfg_directive *d, char **av,
		    size_t ac)
{
	struct moat_name n;

	if (moat_name_parse(av[0], &n, NULL) != 0 || !moat_name_is_ip(&n))
		return bad_value(p->err, d->name, av[0], "is not an IP address");
	snprintf(p->c->listen_addr, sizeof(p->c->listen_addr), "%.45s", n.text); /* an IP */
	return 0;
}

static int d_admin(struct serve_cfg_parser *p, const struct serve_cfg_directive *d, char **av,
		   size_t ac)
{
	struct moat_hostport hp;

	if (strcmp(av[0], "off") == 0) {
		p->c->admin[0] = '\0';
		return 0;
	}
	if (moat_parse_hostport(av[0], 0, &hp, p->err) != 0)
		return named(p, d);
	if (moat_hostport_text(&hp, p->c->admin, sizeof(p->c->admin)) != 0)
		return bad_value(p->err, d->name, av[0], "is too long");
	return 0;
}

static int d_user(struct serve_cfg_parser *p, const struct serve_cfg_directive *d, char **av,
		  size_t ac)
{
	const char *s = av[0];

	if (s[0] == '\0' || s[0] == '-' || strlen(s) > 32 ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
		    strlen(s))
		return bad_value(p->err, d->name, s, "is not a user name");
	p->c->user_line = p->line;
	return copy(p->err, d->name, p->c->user, sizeof(p->c->user), s);
}

static int d_cert(struct serve_cfg_parser *p, const struct serve_cfg_directive *d, char **av,
		  size_t ac)
{
	enum serve_cert_source *dst = p->site != NULL ? &p->site->cert : &p->c->cert;

	if (strcmp(av[0], "files") == 0) {
		if (p->site == NULL) {
			moat_err_set(p->err, "cert files: certificate files are named per site");
			moat_err_hint(p->err, "put \"cert files CERT.pem KEY.pem\" inside the site "
					      "block; the global cert is acme or local");
			return -1;
		}
		if (ac != 3) {
			moat_err_set(p->err, "cert files takes two files (got %zu)", ac - 1);
			moat_err_hint(p->err, "cert files /path/fullchain.pem /path/privkey.pem");
			return -1;
		}
		p->site->cert = SERVE_CERT_FILES;
		if (set_path(p, d->name, p->site->cert_file, sizeof(p->site->cert_file), av[1]) != 0)
			return -1;
		return set_path(p, d->name, p->site->key_file, sizeof(p->site->key_file), av[2]);
	}
	if (strcmp(av[0], "acme") != 0 && strcmp(av[0], "local") != 0)
		return bad_value(p->err, d->name, av[0], "is not acme, local%s",
				 p->site != NULL ? " or files" : "");
	if (ac != 1) {
		moat_err_set(p->err, "cert %s takes no file names", av[0]);
		return -1;
	}
	*dst = strcmp(av[0], "acme") == 0 ? SERVE_CERT_ACME : SERVE_CERT_LOCAL;
	return 0;
}

static int d_acme_server(struct serve_cfg_parser *p, const struct serve_cfg_directive *d, char **av,
			 size_t ac)
{
	const char *s = av[0];

	if (strcmp(s, "letsencrypt") == 0)
		s = "";
	else if (strcmp(s, "letsencrypt-staging") == 0)
		s = LE_STAGING;
	else if (strncmp(s, "https://", 8) != 0 || s[8] == '\0' ||
		 strpbrk(s, " \t\"\\") != NULL)
		return bad_value(p->err, d->name, s, "is not an https:// URL");
	return copy(p->err, d->name, p->c->acme_server, sizeof(p->c->acme_server), s);
}

static int d_acme_email(struct serve_cfg_parser *p, const struct serve_cfg_directive *d, char **av,
			size_t ac)
{
	const char *at = strchr(av[0], '@');

	if (at == NULL || at == av[0] || at[1] == '\0' || strchr(at + 1, '@') != NULL ||
	    strpbrk(av[0], " \t\"\\<>,;:") != NULL)
		return bad_value(p->err, d->name, av[0], "is not an e-mail address");
	return copy(p->err, d->name, p->c->acme_email, sizeof(p->c->acme_email), av[0]);
}

static int d_acme_ca_bundle(struct serve_cfg_parser *p, const struct serve_cfg_directive *d,
			    char **av, size_t ac)
{
	return set_path(p, d->name, p->c->acme_ca_bundle, sizeof(p->c->acme_ca_bundle), av[0]);
}

bool serve_cfg_challenge_ok(const char *s)
{
	return strcmp(s, "http-01") == 0 || strcmp(s, "tls-alpn-01") == 0;
}

static int d_acme_challenge(struct serve_cfg_parser *p, const struct serve_cfg_directive *d,
			    char **av, size_t ac)
{
	if (!serve_cfg_challenge_ok(av[0])) {
		bad_value(p->err, d->name, av[0], "is not http-01 or tls-alpn-01");
		if (strcmp(av[0], "dns-01") == 0)
			moat_err_hint(p->err, "moat serve answers the challenges itself; dns-01 is "
					      "for moat acme issue --challenge dns-01");
		return -1;
	}
	snprintf(p->c->acme_challenge, sizeof(p->c->acme_challenge), "%s", av[0]);
	return 0;
}

static int d_redirect(struct serve_cfg_parser *p, const struct serve_cfg_directive *d, char **av,
		      size_t ac)
{
	bool on = strcmp(av[0], "on") == 0;

	if (!on && strcmp(av[0], "off") != 0)
		return bad_value(p->err, d->name, av[0], "is not on or off");
	if (p->site != NULL)
		p->site->redirect = on;
	else
		p->c->redirect = on;
	return 0;
}

static int d_hsts(struct serve_cfg_parser *p, const struct serve_cfg_directive *d, char **av,
		  size_t ac)
{
	int64_t age = 0;
	bool sub = ac == 2;

	if (strcmp(av[0], "off") != 0 && moat_parse_number(av[0], 0, MAX_HSTS, &age, NULL) != 0)
		return bad_value(p->err, d->name, av[0], "is not off or a number of seconds "
							 "(at most %ld)", MAX_HSTS);
	if (sub && strcmp(av[1], "subdomains") != 0)
		return bad_value(p->err, d->name, av[1], "is not \"subdomains\"");
	if (sub && age == 0)
		return bad_value(p->err, d->name, av[1], "needs a max-age in seconds before it");
	if (p->site != NULL) {
		p->site->hsts_max_age = age;
		p->site->hsts_subdomains = sub;
	} else {
		p->c->hsts_max_age = age;
		p->c->hsts_subdomains = sub;
	}
	return 0;
}

static int d_access_log(struct serve_cfg_parser *p, const struct serve_cfg_directive *d, char **av,
			size_t ac)
{
	struct serve_config *c = p->c;

	c->access_log_line = p->line;
	if (ac == 2) {
		if (strcmp(av[1], "json") == 0)
			c->access_log_format = SERVE_LOG_JSON;
		else if (strcmp(av[1], "combined") == 0)
			c->access_log_format = SERVE_LOG_COMBINED;
		else
			return bad_value(p->err, d->name, av[1], "is not combined or json");
	}
	if (strcmp(av[0], "off") == 0) {
		if (ac == 2)
			return bad_value(p->err, d->name, av[1], "with off: there is no log to format");
		c->access_log[0] = '\0';
		return 0;
	}
	if (strcmp(av[0], "-") == 0)
		return copy(p->err, d->name, c->access_log, sizeof(c->access_log), "-");
	return set_path(p, d->name, c->access_log, sizeof(c->access_log), av[0]);
}

static int d_error_log(struct serve_cfg_parser *p, const struct serve_cfg_directive *d, char **av,
		       size_t ac)
{
	p->c->error_log_line = p->line;
	if (strcmp(av[0], "-") == 0) {
		p->c->error_log[0] = '\0';
		return 0;
	}
	if (strcmp(av[0], "off") == 0)
		return bad_value(p->err, d->name, av[0], "cannot be off: use - for standard error");
	return set_path(p, d->name, p->c->error_log, sizeof(p->c->error_log), av[0]);
}

static int d_upstream(struct serve_cfg_parser *p, const struct serve_cfg_directive *d, char **av,
		      size_t ac)
{
	for (size_t i = 0; i < ac; i++)
		if (serve_cfg_parse_upstream(av[i], &p->site->upstreams[i], p->err) != 0)
			return -1;
	p->site->nupstreams = ac;
	return 0;
}

static int d_header(struct serve_cfg_parser *p, const struct serve_cfg_directive *d, char **av,
		    size_t ac)
{
	struct serve_site *s = p->site;

	if (s->nheaders == SERVE_MAX_HEADERS) {
		moat_err_set(p->err, "too many headers in one site (at most %d)", SERVE_MAX_HEADERS);
		return -1;
	}
	if (check_header(av[0], av[1], p->err) != 0)
		return -1;
	snprintf(s->headers[s->nheaders].name, sizeof(s->headers[0].name), "%s", av[0]);
	snprintf(s->headers[s->nheaders].value, sizeof(s->headers[0].value), "%s", av[1]);
	s->nheaders++;
	return 0;
}

#define OFF(f) offsetof(struct serve_config, f)

const struct serve_cfg_directive serve_cfg_directives[] = {
	{"listen", G, 1, 1, 0, 0, 0, d_listen, "listen ADDRESS, e.g. listen 0.0.0.0 or listen ::"},
	{"http-port", G, 1, 1, 0, 65535, OFF(http_port), d_port, "http-port PORT (0: none)"},
	{"https-port", G, 1, 1, 1, 65535, OFF(https_port), d_port, "https-port PORT"},
	{"admin", G, 1, 1, 0, 0, 0, d_admin, "admin ADDRESS:PORT | off, e.g. admin 127.0.0.1:9090"},
	{"workers", G, 1, 1, 1, SERVE_CFG_MAX_WORKERS, OFF(workers), d_workers,
	 "workers auto | N (1-256)"},
	{"user", G, 1, 1, 0, 0, 0, d_user, "user NAME, e.g. user moat"},
	{"cert", G | S, 1, 3, 0, 0, 0, d_cert, "cert acme | local | files CERT.pem KEY.pem"},
	{"acme-server", G, 1, 1, 0, 0, 0, d_acme_server,
	 "acme-server URL | letsencrypt | letsencrypt-staging"},
	{"acme-email", G, 1, 1, 0, 0, 0, d_acme_email, "acme-email you@example.com"},
	{"acme-ca-bundle", G, 1, 1, 0, 0, 0, d_acme_ca_bundle, "acme-ca-bundle FILE.pem"},
	{"acme-challenge", G, 1, 1, 0, 0, 0, d_acme_challenge, "acme-challenge http-01 | tls-alpn-01"},
	{"acme-challenge-port", G, 1, 1, 1, 65535, OFF(acme_challenge_port), d_port,
	 "acme-challenge-port PORT"},
	{"acme-tls-port", G, 1, 1, 1, 65535, OFF(acme_tls_port), d_port, "acme-tls-port PORT"},
	{"renew-before-days", G, 1, 1, 0, 365, OFF(renew_before_days), d_number,
	 "renew-before-days DAYS (0: the CA's renewal window)"},
	{"redirect", G | S, 1, 1, 0, 0, 0, d_redirect, "redirect on | off"},
	{"hsts", G | S, 1, 2, 0, 0, 0, d_hsts, "hsts off | SECONDS [subdomains], e.g. hsts 31536000"},
	{"max-header-size", G | SZ, 1, 1, 1024, 64 * 1024, OFF(max_header_size), d_number,
	 "max-header-size SIZE, e.g. 16k"},
	{"header-timeout", G | MS, 1, 1, 1, MAX_TIMEOUT_MS, OFF(header_timeout_ms), d_number,
	 "header-timeout DURATION, e.g. 10s"},
	{"idle-timeout", G | MS, 1, 1, 1, MAX_TIMEOUT_MS, OFF(idle_timeout_ms), d_number,
	 "idle-timeout DURATION, e.g. 75s"},
	{"upstream-connect-timeout", G | MS, 1, 1, 1, MAX_TIMEOUT_MS,
	 OFF(upstream_connect_timeout_ms), d_number, "upstream-connect-timeout DURATION, e.g. 5s"},
	{"upstream-timeout", G | MS, 1, 1, 1, MAX_TIMEOUT_MS, OFF(upstream_timeout_ms), d_number,
	 "upstream-timeout DURATION, e.g. 60s"},
	{"send-timeout", G | MS, 1, 1, 1, MAX_TIMEOUT_MS, OFF(send_timeout_ms), d_number,
	 "send-timeout DURATION, e.g. 60s"},
	{"max-connections", G, 1, 1, 1, 1000000, OFF(max_connections), d_number,
	 "max-connections N"},
	{"max-body-size", G | SZ, 1, 1, 0, LONG_MAX, OFF(max_body_size), d_number,
	 "max-body-size SIZE (0: unlimited), e.g. 10m"},
	{"access-log", G, 1, 2, 0, 0, 0, d_access_log, "access-log FILE | - | off [combined | json]"},
	{"error-log", G, 1, 1, 0, 0, 0, d_error_log, "error-log FILE | -"},
	{"upstream", S, 1, SERVE_MAX_UPSTREAMS, 0, 0, 0, d_upstream,
	 "upstream http://HOST:PORT [http://HOST:PORT ...]"},
	{"header", S | REPEAT, 2, 2, 0, 0, 0, d_header,
	 "header NAME VALUE, e.g. header X-Frame-Options DENY"},
};

#define NDIRECTIVES (sizeof(serve_cfg_directives) / sizeof(serve_cfg_directives[0]))

const size_t serve_cfg_ndirectives = NDIRECTIVES;

_Static_assert(NDIRECTIVES <= SERVE_CFG_MAX_DIRECTIVES, "seen_global/seen_site are too small");
