/* check.h: seeing an HTTPS endpoint the way a strict client does (moat
 * check, moat fetch).  No OpenSSL here: the TLS probe (tls_probe.h) keeps
 * libssl to itself, the certificate work is in src/pki. */
#ifndef MOAT_CHECK_H
#define MOAT_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define CHECK_HOST_MAX 256
#define CHECK_PATH_MAX 2048

enum check_scheme {
	CHECK_SCHEME_NONE,  /* host[:port]: TLS assumed */
	CHECK_SCHEME_HTTPS,
	CHECK_SCHEME_HTTP,
};

struct check_target {
	enum check_scheme scheme;
	char host[CHECK_HOST_MAX]; /* DNS name or IP address, no brackets */
	uint16_t port;             /* given, or 443 (80 for http://) */
	bool port_given;
	bool host_is_ip;
	char path[CHECK_PATH_MAX]; /* "/" when none */
};

/* https://host[:port][/path], http://..., host[:port], [v6addr]:port, v6addr.
 * The host must be a valid DNS name or IP address. */
int check_target_parse(const char *s, struct check_target *out, struct moat_err *err);

/* ---- findings -------------------------------------------------------- */

enum check_severity { CHECK_INFO, CHECK_WARNING, CHECK_ERROR };
const char *check_severity_name(enum check_severity s); /* "info", "warning", "error" */

#define CHECK_MAX_FINDINGS 64
#define CHECK_MAX_CHAIN 16

struct check_finding {
	enum check_severity sev;
	const char *code;      /* stable identifier, e.g. "chain-incomplete" (docs/check.md) */
	char message[512];     /* one line: what is wrong, in words */
	char fix[512];         /* one line: what to do ("" for info) */
};

struct check_cert_summary {
	char subject[512];
	char issuer[512];
	char sha256[100];
	int64_t not_after;
	bool is_ca;
};

struct check_report {
	struct check_target target;
	char servername[CHECK_HOST_MAX];
	char address[64];
	char version[16];
	char cipher[64];
	char group[32];
	bool reached;          /* a TLS handshake happened (or files were read) */
	bool unreachable;      /* name unknown, refused, timed out: exit 3 */
	struct check_cert_summary sent[CHECK_MAX_CHAIN]; /* as sent (or as in the files) */
	size_t nsent;
	struct moat_buf fixed_chain; /* a correct fullchain (leaf + intermediates), when one was found */
	bool chain_fixable;    /* the sent chain was wrong and fixed_chain is right */
	struct check_finding findings[CHECK_MAX_FINDINGS];
	size_t nfindings;
	int64_t elapsed_us;
};

struct check_opts {
	const char *servername;     /* SNI and the name to check (default: the target's host) */
	const char *connect_to;     /* connect here instead (HOST still in SNI) */
	const char *ca_file;        /* trust anchors instead of the system store */
	const char *key_file;       /* files mode: the private key that must match */
	const char *chain_file;     /* files mode: extra intermediates */
	int warn_days;              /* 0: 21; -1: no warning (--warn-days 0) */
	int timeout_ms;             /* per network step; 0: 5000 */
	bool no_revocation;         /* skip OCSP/CRL (offline) */
	bool no_http;               /* skip the HTTP checks (redirect, HSTS) */
	int http_port;              /* plain HTTP port for the redirect check (0: 80 when HTTPS is 443) */
	int64_t now;                /* 0: time(NULL) (tests) */
	void (*progress)(void *arg, const char *msg);
	void *progress_arg;
};

void check_report_init(struct check_report *r);
void check_report_clear(struct check_report *r);
/* Add a finding (code must be a string literal).  Silently capped. */
void check_add(struct check_report *r, enum check_severity sev, const char *code,
	       const char *fix, const char *fmt, ...) MOAT_PRINTF(5, 6);
size_t check_count(const struct check_report *r, enum check_severity sev);
bool check_has(const struct check_report *r, const char *code);

/* Check an endpoint (https:// or host:port; http:// checks that TLS is
 * offered on 443 too).  -1 only when the check could not run at all
 * (err); an unreachable server is a report with unreachable set. */
int check_endpoint(const struct check_target *t, const struct check_opts *o,
		   struct check_report *r, struct moat_err *err);
/* Check certificate files: cert_file holds the leaf (and maybe the chain). */
int check_files(const char *cert_file, const struct check_opts *o, struct check_report *r,
		struct moat_err *err);
/* Is the certificate in cert_file revoked?  Its issuer from issuer_file,
 * else from cert_file's next certificate, else fetched via caIssuers.
 * Asks ocsp_url (NULL: the certificate's OCSP URL) and the CRL. */
int check_cert_revocation(const char *cert_file, const char *issuer_file, const char *ocsp_url,
			  const struct check_opts *o, struct check_report *r, struct moat_err *err);

#endif
