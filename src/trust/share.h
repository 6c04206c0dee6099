/* share.h: `moat trust share`, a small web page on the LAN that hands the
 * public root certificate to phones and other computers.
 *
 * Built on the net core (net/net.h): one event loop on a thread of its own.
 * Everything it serves is made once, in trust_share_new, and never changes:
 *
 *   /                        the page (install steps, fingerprint, QR code)
 *   /moat-root.crt           DER, application/x-x509-ca-cert (Android, Windows)
 *   /moat-root.mobileconfig  application/x-apple-aspen-config (iOS, iPadOS, macOS)
 *   /moat-root.pem           application/x-pem-file (Linux, Firefox, tools)
 *   /qr.svg                  the page's URL as a QR code, image/svg+xml
 *
 * Only GET and HEAD (anything else: 405); the query string is ignored;
 * other paths: 404.  Only the public root is ever served: no key goes in. */
#ifndef MOAT_TRUST_SHARE_H
#define MOAT_TRUST_SHARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "net/net.h"
#include "pki/pki.h"

#define TRUST_SHARE_DEFAULT_PORT 8080
#define TRUST_SHARE_MAX_ADDRS 16

struct trust_share;

/* What the server offers, in the order the page lists the downloads. */
struct trust_share_file {
	const char *path;         /* "/moat-root.crt" */
	const char *content_type; /* "application/x-x509-ca-cert" */
	const char *format;       /* "der", "mobileconfig", "pem"; "html", "svg" */
	const char *label;        /* "Android, Windows" */
	bool root;                /* the root certificate itself (not the page or the QR) */
};
const struct trust_share_file *trust_share_files(size_t *n);

/* One answered request, for the caller's log.  Called on the server's
 * thread, after the reply is decided. */
struct trust_share_event {
	const char *peer;   /* remote address; from the network: escape before showing */
	const char *method; /* from the peer: escape */
	const char *target; /* from the peer: escape */
	int status;
	const struct trust_share_file *file; /* what was served (200); NULL otherwise */
};
typedef void (*trust_share_log_fn)(void *arg, const struct trust_share_event *ev);

struct trust_share_opts {
	const struct pki_cert *root; /* copied */
	const char *ca_name;         /* shown on the page; NULL: the root's common name */
	const char *listen_addr;     /* an IP address; NULL: every address (IPv4 and IPv6) */
	uint16_t port;               /* 0: a free port */
	const char *host;            /* DNS name or IP address the URL uses (not NULL) */
	trust_share_log_fn log;      /* NULL: none */
	void *log_arg;
};

/* Check the options, listen, and build the page and the files.  Does not
 * serve yet: see trust_share_start. */
struct trust_share *trust_share_new(const struct trust_share_opts *o, struct moat_err *err);
/* Serve on a thread of its own (which blocks SIGINT, SIGTERM, ...). */
int trust_share_start(struct trust_share *s, struct moat_err *err);
/* Stop serving; any thread, also from a log callback. */
void trust_share_stop(struct trust_share *s);
/* Stops, then frees; NULL is fine. */
void trust_share_free(struct trust_share *s);

/* "http://192.168.1.20:8080/" (no port when it is 80; IPv6 in brackets). */
const char *trust_share_url(const struct trust_share *s);
uint16_t trust_share_port(const struct trust_share *s);
/* SHA-256 fingerprint of the root, upper-case hex with colons. */
const char *trust_share_fingerprint(const struct trust_share *s);
/* The terminal rendering of the URL's QR code (see trust_qr_text). */
int trust_share_qr_text(const struct trust_share *s, bool ansi, struct moat_buf *out,
			struct moat_err *err);

/* The request handler (a net_http_handler whose arg is the trust_share),
 * public for tests. */
void trust_share_handle(void *arg, const struct net_http_request *req,
			struct net_http_reply *reply);

/* Build url ("http://HOST[:PORT]/") for host (a DNS name or an IP address,
 * checked) and port into out (n bytes). */
int trust_share_make_url(const char *host, uint16_t port, char *out, size_t n,
			 struct moat_err *err);

/* The IPv4 addresses a phone on the LAN may reach this machine at: up and
 * running interfaces, no loopback or link-local (169.254/16), best first:
 * private addresses (10/8, 172.16/12, 192.168/16) on physical interfaces,
 * then other addresses (CGNAT, public), then those of container and VM
 * bridges (docker*, br-*, virbr*, veth*, ...).  At most max; *n may be 0. */
int trust_share_lan_addrs(char (*out)[64], size_t max, size_t *n, struct moat_err *err);

#endif
