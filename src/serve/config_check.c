/* config_check.c: the `moat serve` configuration as a whole, once the file
 * and the command line are both in (config.h): serve_config_check (sites
 * with names and upstreams, a name in one site only, readable certificate
 * files, ACME names a CA can validate, distinct ports), serve_config_resolve
 * (what sites leave to the globals) and serve_config_site_for (the site for
 * an SNI name or Host header), serve_config_check_start (the user and the
 * log files, checked once at the start).  Nothing here binds sockets or
 * parses certificates: the files are only opened, so that a mistake shows
 * before anything starts. */
#include "serve/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/names.h"
#include "core/parse.h"
#include "serve/config_int.h"

static enum serve_cert_source site_cert(const struct serve_config *c, const struct serve_site *s)
{
	if (s->cert != SERVE_CERT_DEFAULT)
		return s->cert;
	return c->cert == SERVE_CERT_DEFAULT ? SERVE_CERT_LOCAL : c->cert;
}

void serve_config_resolve(struct serve_config *c)
{
	if (c->cert == SERVE_CERT_DEFAULT)
		c->cert = SERVE_CERT_LOCAL;
	if (c->acme_challenge_port == 0)
		c->acme_challenge_port = c->http_port;
	if (c->acme_tls_port == 0)
		c->acme_tls_port = c->https_port;
	for (size_t i = 0; i < c->nsites; i++) {
		struct serve_site *s = &c->sites[i];

		s->cert = site_cert(c, s);
		if (s->redirect < 0)
			s->redirect = c->redirect;
		if (s->hsts_max_age < 0) {
			s->hsts_max_age = c->hsts_max_age;
			s->hsts_subdomains = c->hsts_subdomains;
		}
	}
}

void serve_config_where(const struct serve_config *c, const struct serve_site *s, char *out,
			size_t n)
{
	if (s->line > 0)
		snprintf(out, n, "%.300s:%d: ", c->file, s->line);
	else
		snprintf(out, n, "site %.260s: ", s->nnames > 0 ? s->names[0] : "(no name)");
}

/* Why an ACME CA cannot validate this name, or NULL if it can. */
static const char *not_for_acme(const char *name)
{
	struct moat_name n;
	size_t len = strlen(name);

	if (moat_name_parse(name, &n, NULL) != 0)
		return "it is not a valid name";
	if (moat_name_is_ip(&n))
		return "it is an IP address, and moat serve gets ACME certificates for DNS names";
	if (n.type == MOAT_NAME_WILDCARD)
		return "a wildcard needs the dns-01 challenge, which moat serve does not answer";
	if (moat_name_is_mdns(&n))
		return "a .local name exists only on the local network, where no CA can reach it";
	if (strcmp(name, "localhost") == 0 || (len > 10 && strcmp(name + len - 10, ".localhost") == 0))
		return "localhost names point to the machine itself for everyone";
	return NULL;
}

static int check_file(const char *loc, const char *what, const char *path, struct moat_err *err)
{
	struct stat st;
	int fd;

	if (path[0] == '\0') {
		moat_err_set(err, "%scert files: no %s file given", loc, what);
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		moat_err_errno(err, e, "%scannot read the %s file %s", loc, what, path);
		if (e == EACCES || e == EPERM)
			moat_err_hint(err, "moat serve must be able to read it (and read it again "
					   "after a change)");
		return -1;
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		moat_err_set(err, "%sthe %s file %s is a directory", loc, what, path);
		return -1;
	}
	close(fd);
	return 0;
}

struct name_ref {
	const char *name;
	size_t site;
};

static int cmp_name_ref(const void *a, const void *b)
{
	const struct name_ref *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	return r != 0 ? r : (x->site > y->site) - (x->site < y->site);
}

/* Each name in one site only: sorted, so that 25600 names stay cheap. */
static int check_duplicates(const struct serve_config *c, struct moat_err *err)
{
	struct name_ref *refs;
	size_t n = 0;
	int ret = 0;

	for (size_t i = 0; i < c->nsites; i++)
		n += c->sites[i].nnames;
	if (n < 2)
		return 0;
	refs = malloc(n * sizeof(*refs));
	if (refs == NULL) {
		moat_err_set(err, "out of memory");
		return -1;
	}
	n = 0;
	for (size_t i = 0; i < c->nsites; i++)
		for (size_t k = 0; k < c->sites[i].nnames; k++)
			refs[n++] = (struct name_ref){c->sites[i].names[k], i};
	qsort(refs, n, sizeof(*refs), cmp_name_ref);
	for (size_t i = 1; i < n && ret == 0; i++) {
		const struct serve_site *first = &c->sites[refs[i - 1].site];
		const struct serve_site *again = &c->sites[refs[i].site];
		char loc[400];

		if (strcmp(refs[i - 1].name, refs[i].name) != 0)
			continue;
		serve_config_where(c, again, loc, sizeof(loc));
		if (first->line > 0)
			moat_err_set(err, "%s%s is already served by the site on line %d", loc,
				     refs[i].name, first->line);
		else
			moat_err_set(err, "%s%s is already served by the site %s", loc, refs[i].name,
				     first->names[0]);
		moat_err_hint(err, "a name belongs to one site only");
		ret = -1;
	}
	free(refs);
	return ret;
}

bool serve_config_uses_acme(const struct serve_config *c)
{
	for (size_t i = 0; i < c->nsites; i++)
		if (site_cert(c, &c->sites[i]) == SERVE_CERT_ACME)
			return true;
	return false;
}

int serve_config_acme_port(const struct serve_config *c, bool *tls)
{
	*tls = strcmp(c->acme_challenge, "http-01") != 0;
	if (*tls)
		return c->acme_tls_port != 0 && c->acme_tls_port != c->https_port
			       ? c->acme_tls_port : 0;
	return c->acme_challenge_port != 0 && c->acme_challenge_port != c->http_port
		       ? c->acme_challenge_port : 0;
}

static int check_ports(const struct serve_config *c, bool acme, struct moat_err *err)
{
	const char *names[] = {"http-port", "https-port", "admin", "acme-challenge-port",
			       "acme-tls-port"};
	int ports[5] = {c->http_port, c->https_port, 0, 0, 0};
	bool http01 = strcmp(c->acme_challenge, "http-01") == 0;
	struct moat_hostport admin;

	if (c->https_port == 0) {
		moat_err_set(err, "https-port cannot be 0");
		return -1;
	}
	if (c->admin[0] != '\0') {
		if (moat_parse_hostport(c->admin, 0, &admin, err) != 0) {
			moat_err_prefix(err, "admin");
			moat_err_hint(err, "admin ADDRESS:PORT, e.g. 127.0.0.1:9090");
			return -1;
		}
		ports[2] = admin.port;
	}
	/* A challenge port apart from the listeners is one more listener. */
	if (acme) {
		bool tls;
		int extra = serve_config_acme_port(c, &tls);

		ports[tls ? 4 : 3] = extra;
	}
	for (int i = 0; i < 5; i++)
		for (int k = i + 1; k < 5; k++)
			if (ports[i] != 0 && ports[i] == ports[k]) {
				moat_err_set(err, "%s and %s are both port %d", names[i], names[k],
					     ports[i]);
				moat_err_hint(err, "each listener needs a port of its own");
				return -1;
			}
	if (acme && http01 && c->http_port == 0 && c->acme_challenge_port == 0) {
		moat_err_set(err, "ACME http-01 needs a port-80 listener, but http-port is 0");
		moat_err_hint(err, "set http-port 80, or acme-challenge tls-alpn-01");
		return -1;
	}
	return 0;
}

static int check_site(const struct serve_config *c, const struct serve_site *s,
		      struct moat_err *err)
{
	char loc[400];

	serve_config_where(c, s, loc, sizeof(loc));
	if (s->nnames == 0) {
		moat_err_set(err, "%sa site without a name", loc);
		return -1;
	}
	if (s->nupstreams == 0) {
		moat_err_set(err, "%ssite %s has no upstream", loc, s->names[0]);
		moat_err_hint(err, "add e.g. \"upstream http://127.0.0.1:3000\"");
		return -1;
	}
	switch (site_cert(c, s)) {
	case SERVE_CERT_FILES:
		if (check_file(loc, "certificate", s->cert_file, err) != 0 ||
		    check_file(loc, "key", s->key_file, err) != 0)
			return -1;
		break;
	case SERVE_CERT_ACME:
		for (size_t i = 0; i < s->nnames; i++) {
			const char *why = not_for_acme(s->names[i]);

			if (why == NULL)
				continue;
			moat_err_set(err, "%sno ACME certificate for %s: %s", loc, s->names[i], why);
			moat_err_hint(err, "use \"cert local\" for this site (or --local), or "
					   "\"cert files\" with a certificate you have");
			return -1;
		}
		break;
	default:
		break;
	}
	return 0;
}

int serve_config_check(const struct serve_config *c, struct moat_err *err)
{
	if (c->nsites == 0) {
		moat_err_set(err, "no sites");
		moat_err_hint(err, "give NAME=http://HOST:PORT or a config file, e.g. "
				   "moat serve --local chat.localhost=http://127.0.0.1:3000");
		return -1;
	}
	if (!serve_cfg_challenge_ok(c->acme_challenge)) {
		moat_err_set(err, "acme-challenge \"%.15s\" is not http-01 or tls-alpn-01",
			     c->acme_challenge);
		return -1;
	}
	if (c->workers < 0 || c->workers > SERVE_CFG_MAX_WORKERS) {
		moat_err_set(err, "workers must be auto or 1-%d (not %d)", SERVE_CFG_MAX_WORKERS,
			     c->workers);
		return -1;
	}
	for (size_t i = 0; i < c->nsites; i++)
		if (check_site(c, &c->sites[i], err) != 0)
			return -1;
	if (check_duplicates(c, err) != 0)
		return -1;
	return check_ports(c, serve_config_uses_acme(c), err);
}

/* ---- what only a start checks ------------------------------------------ */

/* "FILE:LINE: " where the file set a global directive, else "--OPTION: ". */
static void where_global(const struct serve_config *c, int line, const char *option, char *out,
			 size_t n)
{
	if (line > 0)
		snprintf(out, n, "%.300s:%d: ", c->file, line);
	else
		snprintf(out, n, "%s: ", option);
}

/* As serve.c's drop_privileges will, after binding. */
static int check_user(const struct serve_config *c, struct moat_err *err)
{
	char loc[400];

	if (c->user[0] == '\0')
		return 0;
	where_global(c, c->user_line, "--user", loc, sizeof(loc));
	if (getpwnam(c->user) == NULL) {
		moat_err_set(err, "%sno user named %s on this system", loc, c->user);
		moat_err_hint(err, "create it (useradd --system %s) or name another", c->user);
		return -1;
	}
	if (geteuid() != 0) {
		moat_err_set(err, "%scannot switch to user %s: moat serve is not running as root", loc,
			     c->user);
		moat_err_hint(err, "start moat serve (and --check) as root: it binds its ports, then "
				   "switches; or remove the user");
		return -1;
	}
	return 0;
}

/* As log.c's serve_log_open will: append, created 0640 if missing. */
static int check_log(const struct serve_config *c, const char *what, const char *path, int line,
		     const char *option, struct moat_err *err)
{
	char loc[400];
	struct stat st;
	int fd, e;

	if (path[0] == '\0' || strcmp(path, "-") == 0)
		return 0;
	where_global(c, line, option, loc, sizeof(loc));
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		moat_err_set(err, "%sthe %s %s is a directory", loc, what, path);
		moat_err_hint(err, "name a file in it");
		return -1;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		e = errno;
		moat_err_errno(err, e, "%scannot open the %s %s", loc, what, path);
		if (e == EACCES)
			moat_err_hint(err, "moat serve (as the user it starts as) must be able to "
					   "create files in the log's directory");
		return -1;
	}
	close(fd);
	return 0;
}

int serve_config_check_start(const struct serve_config *c, struct moat_err *err)
{
	if (check_user(c, err) != 0 ||
	    check_log(c, "access log", c->access_log, c->access_log_line, "--access-log", err) != 0 ||
	    check_log(c, "error log", c->error_log, c->error_log_line, "--error-log", err) != 0)
		return -1;
	return 0;
}

static const struct serve_site *find_name(const struct serve_config *c, const char *name)
{
	for (size_t i = 0; i < c->nsites; i++)
		for (size_t k = 0; k < c->sites[i].nnames; k++)
			if (strcmp(c->sites[i].names[k], name) == 0)
				return &c->sites[i];
	return NULL;
}

const struct serve_site *serve_config_site_for(const struct serve_config *c, const char *host)
{
	char h[MOAT_NAME_MAX + 3], w[MOAT_NAME_MAX + 4];
	const struct serve_site *s;
	const char *dot;
	size_t len;

	if (c == NULL || host == NULL)
		return NULL;
	if (host[0] == '[') { /* "[v6]" or "[v6]:port" */
		const char *close = strchr(host, ']');

		if (close == NULL || (close[1] != '\0' && close[1] != ':') ||
		    memchr(host, ':', (size_t)(close - host)) == NULL)
			return NULL;
		host++;
		len = (size_t)(close - host);
	} else {
		const char *colon = strchr(host, ':');

		len = strlen(host);
		if (colon != NULL && strchr(colon + 1, ':') == NULL) /* name:port, not v6 */
			len = (size_t)(colon - host);
	}
	if (len > 0 && host[len - 1] == '.')
		len--;
	if (len == 0 || len >= sizeof(h))
		return NULL;
	for (size_t i = 0; i < len; i++)
		h[i] = (host[i] >= 'A' && host[i] <= 'Z') ? (char)(host[i] - 'A' + 'a') : host[i];
	h[len] = '\0';
	if (memchr(h, ':', len) != NULL) { /* names hold IPv6 in the canonical form */
		unsigned char ip[16];

		if (inet_pton(AF_INET6, h, ip) != 1 || inet_ntop(AF_INET6, ip, h, sizeof(h)) == NULL)
			return NULL;
		return find_name(c, h);
	}
	if ((s = find_name(c, h)) != NULL)
		return s;
	dot = strchr(h, '.');
	if (dot == NULL || dot == h)
		return NULL;
	snprintf(w, sizeof(w), "*%s", dot);
	return find_name(c, w);
}
