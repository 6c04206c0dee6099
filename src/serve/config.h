/* config.h: the configuration of `moat serve` -- from a file (docs/serve.md
 * has the format) or from the command line -- checked completely before
 * anything runs, with file:line in every error.
 *
 * No OpenSSL here (certificate files are only named, read later). */
#ifndef MOAT_SERVE_CONFIG_H
#define MOAT_SERVE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define SERVE_MAX_SITES 256
#define SERVE_MAX_NAMES 100     /* per site */
#define SERVE_MAX_UPSTREAMS 16  /* per site */
#define SERVE_MAX_HEADERS 32    /* added response headers per site */
#define SERVE_MAX_CONFIG (1024 * 1024) /* bytes of a config file */

enum serve_cert_source {
	SERVE_CERT_DEFAULT, /* not given for the site: take the global one */
	SERVE_CERT_ACME,    /* ACME (acme-server, Let's Encrypt by default) */
	SERVE_CERT_LOCAL,   /* moat's private CA in MOAT_HOME */
	SERVE_CERT_FILES,   /* cert_file + key_file, reloaded when they change */
};

enum serve_log_format { SERVE_LOG_COMBINED, SERVE_LOG_JSON };

struct serve_upstream {
	char host[256]; /* name, IPv4, or IPv6 without brackets */
	uint16_t port;  /* 80 when the URL has none */
	char url[300];  /* as written, "http://127.0.0.1:3000" */
};

struct serve_header {
	char name[64];
	char value[512];
};

struct serve_site {
	char names[SERVE_MAX_NAMES][254]; /* lower case; "*.x.y" allowed; IPs as text */
	size_t nnames;
	struct serve_upstream upstreams[SERVE_MAX_UPSTREAMS];
	size_t nupstreams;
	enum serve_cert_source cert;
	char cert_file[4096], key_file[4096]; /* SERVE_CERT_FILES */
	int redirect;       /* -1: global default; 0 off; 1 on (port 80 -> https) */
	long hsts_max_age;  /* -1: global default; 0: no HSTS header */
	bool hsts_subdomains;
	struct serve_header headers[SERVE_MAX_HEADERS]; /* added to responses */
	size_t nheaders;
	int line;           /* where the site starts in the file, 0 from the CLI */
};

struct serve_config {
	char file[4096];     /* "" when from the command line */
	/* listening */
	char listen_addr[64];   /* "" = all addresses (0.0.0.0 and ::) */
	uint16_t http_port;     /* 80; 0 = no HTTP listener */
	uint16_t https_port;    /* 443 */
	char admin[80];         /* "127.0.0.1:9090" or "" (no admin/metrics listener) */
	int workers;            /* 0 = one per CPU */
	char user[64];          /* drop privileges to this user after binding, "" = stay */
	/* certificates */
	enum serve_cert_source cert; /* default for sites: SERVE_CERT_LOCAL unless set */
	char acme_server[1024]; /* directory URL; "" = Let's Encrypt (the file's
				 * "letsencrypt-staging" is stored as its URL) */
	char acme_email[256];
	char acme_ca_bundle[4096]; /* trust for the ACME server's own TLS, "" = system */
	uint16_t acme_challenge_port; /* where the CA validates http-01; 0: http_port */
	uint16_t acme_tls_port;       /* where the CA validates tls-alpn-01; 0: https_port */
	char acme_challenge[16];   /* "http-01" (default), "tls-alpn-01" */
	int renew_before_days;     /* 0 = ARI, else two thirds of lifetime */
	/* HTTP */
	bool redirect;          /* default for sites: true */
	long hsts_max_age;      /* default for sites: 0 (none) */
	bool hsts_subdomains;   /* with hsts_max_age > 0: includeSubDomains */
	size_t max_header_size; /* 16384 */
	int header_timeout_ms;  /* 10000: a request head must arrive in this */
	int idle_timeout_ms;    /* 75000: keep-alive connection with no request */
	int upstream_connect_timeout_ms; /* 5000 -> 502 */
	int upstream_timeout_ms;         /* 60000: the upstream silent while moat waits
					  * on it (an answer, or taking the request) */
	int send_timeout_ms;    /* 60000: a client taking nothing of a response */
	int max_connections;    /* 20000 per worker */
	int64_t max_body_size;  /* 0 = unlimited (streamed anyway) */
	/* logs */
	char access_log[4096];  /* "" = none, "-" = stdout */
	enum serve_log_format access_log_format;
	char error_log[4096];   /* "" = stderr */
	/* the line of the file that set user, access-log and error-log; 0 when
	 * the value is the default or came from the command line */
	int user_line, access_log_line, error_log_line;
	/* sites */
	struct serve_site *sites; /* malloc'd, nsites entries; only add sites with
				   * serve_config_load/_add_arg (they size the array) */
	size_t nsites;
};

/* Defaults (as in the comments above), no sites. */
void serve_config_init(struct serve_config *c);
void serve_config_free(struct serve_config *c); /* frees sites; c itself is the caller's */

/* Read and check a config file into c (initialised with serve_config_init
 * first: the file overrides).  Every error is "FILE:LINE: what is wrong"
 * with a hint where one helps (unknown directive -> the closest known one).
 * Relative paths in the file are taken from the file's directory.  This
 * checks each line and block; what needs the whole configuration (a name in
 * two sites, readable files, ports) is serve_config_check's, as the command
 * line may still add sites.  On an error c may be partly filled: free it. */
int serve_config_load(struct serve_config *c, const char *path, struct moat_err *err);

/* Add a site from the command line form "NAME[,NAME...]=http://HOST:PORT". */
int serve_config_add_arg(struct serve_config *c, const char *arg, struct moat_err *err);

/* The whole configuration once complete: at least one site, each with a
 * name and an upstream, no name served by two sites, files readable for
 * SERVE_CERT_FILES, ports distinct where nonzero, ACME sites without IP
 * addresses, .local, localhost or wildcard names (hint: cert local or
 * --local), a valid acme-challenge and, for http-01, a port-80 listener.
 * Errors name FILE:LINE of the site ("site NAME" for command-line sites). */
int serve_config_check(const struct serve_config *c, struct moat_err *err);

/* What only a start checks, beyond serve_config_check and short of binding
 * ports (not a reload, which runs as the user moat switched to and keeps
 * its logs open): the user exists and moat runs as root to switch to it;
 * each log file can be opened (it is created if missing, as the start
 * would).  Errors name FILE:LINE of the directive, or its command-line
 * option. */
int serve_config_check_start(const struct serve_config *c, struct moat_err *err);

/* "FILE:LINE: " for a site from the file, "site NAME: " from the command
 * line: the start of a message about the site. */
void serve_config_where(const struct serve_config *c, const struct serve_site *s, char *out,
			size_t n);

/* Fill what the sites and ACME ports leave to the globals: SERVE_CERT_DEFAULT,
 * redirect -1 and hsts_max_age -1 (with hsts_subdomains) take the global
 * values, acme_challenge_port/acme_tls_port 0 take http_port/https_port.
 * serve_config_check gives the same answer before and after. */
void serve_config_resolve(struct serve_config *c);

/* Whether a site takes its certificate from ACME (its own cert or the global). */
bool serve_config_uses_acme(const struct serve_config *c);

/* The port where the ACME CA validates when it is neither http-port nor
 * https-port (acme-challenge-port for http-01, acme-tls-port for tls-alpn-01):
 * one more listener, plain HTTP or TLS as *tls says; 0 when there is none.
 * Says nothing of whether any site uses ACME (serve_config_uses_acme). */
int serve_config_acme_port(const struct serve_config *c, bool *tls);

/* The site that serves host, an SNI name or a Host header ("name:port",
 * "[v6]:port" and a trailing dot allowed, any case): the exact name first,
 * then "*.parent" for one label, or NULL. */
const struct serve_site *serve_config_site_for(const struct serve_config *c, const char *host);

#endif
