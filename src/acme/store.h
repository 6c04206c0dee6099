/* store.h: where the ACME client keeps accounts and certificates, in
 * certbot's layout so that server configurations written for certbot work
 * unchanged:
 *
 *   MOAT_HOME/acme/accounts/<server>/account.json   account URL, contacts
 *   MOAT_HOME/acme/accounts/<server>/account-key.pem 0600
 *   MOAT_HOME/archive/NAME/{cert,chain,fullchain,privkey}N.pem   every version
 *   MOAT_HOME/live/NAME/{cert,chain,fullchain,privkey}.pem       symlinks to the newest
 *   MOAT_HOME/renewal/NAME.conf                      what `moat acme renew` needs
 *   MOAT_HOME/acme/default.conf                      the server of the last
 *                                                    `moat acme register`
 *
 * <server> is the directory URL's host (and port when not 443). */
#ifndef MOAT_ACME_STORE_H
#define MOAT_ACME_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "pki/pki.h"

/* MOAT_HOME/acme/accounts/<server> for a directory URL. */
int acme_store_account_dir(const char *home, const char *directory_url, char *out, size_t n,
			   struct moat_err *err);

struct acme_stored_account {
	char url[2048];       /* the account URL (kid) */
	char directory[2048];
	char contact[512];    /* comma-separated, "" if none */
};

/* Save a new account (key + account.json); fails if one exists unless
 * replace. */
int acme_store_account_save(const char *dir, const struct pki_key *key,
			    const struct acme_stored_account *a, bool replace, struct moat_err *err);
/* Load; a missing account gives err with a hint to register. */
struct pki_key *acme_store_account_load(const char *dir, struct acme_stored_account *a,
					struct moat_err *err);

/* What `renew` needs to do it again. */
struct acme_renewal {
	char server[2048];
	char ca_bundle[1024];   /* "" if none */
	char names[4096];       /* comma-separated */
	char key_type[16];
	char challenge[16];
	char webroot[1024];     /* "" unless webroot */
	int http_port;          /* standalone */
	char http_address[64];  /* standalone; "" for all addresses (tls-alpn-01 too) */
	int tls_port;           /* tls-alpn-01 standalone; 0: 443 */
	char profile[64];
	char preferred_chain[256];
	char deploy_hook[1024]; /* "" if none */
	char dns_hook[1024];    /* dns-01: "" for manual */
	char dns_resolver[64];  /* dns-01: "" for the system's resolvers */
	int dns_wait;           /* dns-01: seconds to wait for the record */
	int manual;             /* http-01/dns-01 done by the user (or manual_hook) */
	char manual_hook[1024]; /* http-01: publishes the file; "" for the terminal */
	/* `moat acme revoke` revoked the certificate with this serial (upper-case
	 * hex, as pki_cert_info) at revoked_at; "" and 0 if none.  Only the
	 * live certificate with that serial is revoked: a renewal clears it. */
	char revoked_serial[80];
	int64_t revoked_at;
};

/* Read MOAT_HOME/renewal/NAME.conf. */
int acme_store_renewal_load(const char *home, const char *lineage, struct acme_renewal *rn,
			    struct moat_err *err);
/* The certificate in MOAT_HOME/live/NAME/cert.pem. */
struct acme_live {
	int64_t not_before, not_after;
	char serial[80]; /* upper-case hex, as pki_cert_info */
};
int acme_store_live_read(const char *home, const char *lineage, struct acme_live *out,
			 struct moat_err *err);
/* Rewrite MOAT_HOME/renewal/NAME.conf (an existing lineage's). */
int acme_store_renewal_save(const char *home, const char *lineage, const struct acme_renewal *rn,
			    struct moat_err *err);
/* The lineage names that have a renewal configuration, sorted; free each
 * and the array. */
int acme_store_renewal_list(const char *home, char ***names, size_t *n, struct moat_err *err);

/* Write a new version of lineage NAME: archive files, then live symlinks
 * and the renewal configuration.  *version gets N.  Refuses to take over
 * a live/NAME made by the private CA unless force. */
int acme_store_lineage_save(const char *home, const char *lineage, const struct moat_buf *privkey,
			    const struct moat_buf *chain_pem, const struct acme_renewal *rn,
			    bool force, int *version, struct moat_err *err);

/* The ACME server (directory URL) and CA bundle ("" for none) of the last
 * `moat acme register` in this MOAT_HOME, the default of the later acme
 * commands.  load: 0 with both filled, -1 when none was remembered. */
int acme_store_default_save(const char *home, const char *server, const char *ca_bundle,
			    struct moat_err *err);
int acme_store_default_load(const char *home, char *server, size_t server_n, char *ca_bundle,
			    size_t ca_bundle_n);

#endif
