/* trust.h: the root certificate in the forms devices install, and in the
 * trust stores of this computer (system, NSS, Java). */
#ifndef MOAT_TRUST_H
#define MOAT_TRUST_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"
#include "pki/pki.h"

enum trust_format {
	TRUST_PEM,          /* Linux, Windows, Firefox, curl --cacert */
	TRUST_DER,          /* Android (Settings → Security → Install a certificate) */
	TRUST_MOBILECONFIG, /* iOS, iPadOS, macOS configuration profile */
};

int trust_format_parse(const char *s, enum trust_format *out, struct moat_err *err);
/* The root in the given format.  A .mobileconfig carries the root as a
 * com.apple.security.root payload; its UUIDs derive from the root's
 * fingerprint so a re-export installs over the old profile. */
int trust_export(const struct pki_cert *root, const char *ca_name, enum trust_format f,
		 struct moat_buf *out, struct moat_err *err);

/* Text into XML or HTML (element content or a quoted attribute); control
 * characters become '?'.  0, or -1 when out of memory. */
int trust_markup_escape(struct moat_buf *b, const char *s);

/* ---- trust stores ----------------------------------------------------
 *
 * A trust_set is every place of the selected stores where the root can be
 * trusted, found by trust_set_scan with its current state.  install and
 * uninstall check every place first (tools, permissions, conflicts) and
 * change nothing when a check fails; a failure half-way undoes what this
 * run added.  Places moat cannot use are reported with the reason. */

enum trust_store {
	TRUST_STORE_SYSTEM = 1 << 0, /* Debian/Ubuntu, Fedora/RHEL, Arch anchors */
	TRUST_STORE_NSS = 1 << 1,    /* Firefox profiles, Chromium's ~/.pki/nssdb */
	TRUST_STORE_JAVA = 1 << 2,   /* the JDK's cacerts via keytool */
};
#define TRUST_STORE_ALL (TRUST_STORE_SYSTEM | TRUST_STORE_NSS | TRUST_STORE_JAVA)

/* "system", "nss", "java", "all", or a comma-separated list; ORed into *out. */
int trust_store_parse(const char *s, unsigned *out, struct moat_err *err);
const char *trust_store_name(enum trust_store s);

enum trust_state {
	TRUST_ABSENT,      /* the root is not there */
	TRUST_PRESENT,     /* the root is there and trusted for TLS servers */
	TRUST_PENDING,     /* there, but not in effect (bundle not rebuilt, trust bits off) */
	TRUST_FOREIGN,     /* another certificate holds moat's name there */
	TRUST_UNAVAILABLE, /* the store (or its tool) is not on this machine */
};
const char *trust_state_name(enum trust_state s); /* "absent", "present", ... */

enum trust_outcome {
	TRUST_NONE,        /* status only, or nothing to do */
	TRUST_ADDED,
	TRUST_ALREADY,     /* install: was there; uninstall: was not there */
	TRUST_REMOVED,
	TRUST_SKIPPED,     /* not a failure: why says what is missing */
	TRUST_FAILED,      /* why (and hint) say what to do */
	TRUST_NOT_DONE,    /* another place failed its check: nothing was changed */
	TRUST_UNDONE,      /* added, then taken back after a later failure */
};
const char *trust_outcome_name(enum trust_outcome o); /* "added", "already", ... */

struct trust_place {
	enum trust_store store;
	const char *kind;        /* "debian", "fedora", "arch", "chromium", "firefox", "nssdb", "java" */
	char path[PATH_MAX];     /* anchor file, NSS database directory, keystore */
	enum trust_state state;
	char detail[512];        /* e.g. "trust C,,", "bundle /etc/ssl/certs/ca-certificates.crt" */
	enum trust_outcome outcome;
	char why[512];
	char hint[512];
};

struct trust_opts {
	unsigned stores;          /* TRUST_STORE_* */
	bool named;               /* stores were named one by one: a missing store is an error */
	bool strict;              /* --store given: no permission is an error, not a skip */
	bool replace;             /* install over another certificate holding moat's name */
	const char *sysroot;      /* NULL: "/" */
	const char *home;         /* NSS databases are found under it */
	const char *const *nssdbs;/* more NSS database directories (--nssdb) */
	const char *sudo_env;     /* for hints: "MOAT_HOME=/home/me/.local/share/moat" or NULL */
	size_t nnssdbs;
};

struct trust_set;
struct trust_set *trust_set_scan(const struct trust_opts *o, const struct pki_cert *root,
				 const char *ca_name, struct moat_err *err);
void trust_set_free(struct trust_set *s);
size_t trust_set_count(const struct trust_set *s);
const struct trust_place *trust_set_place(const struct trust_set *s, size_t i);
/* The name moat gives the root in stores: NSS nickname and Java alias. */
const char *trust_set_nickname(const struct trust_set *s);
const char *trust_set_fingerprint(const struct trust_set *s);
int trust_set_install(struct trust_set *s, struct moat_err *err);
int trust_set_uninstall(struct trust_set *s, struct moat_err *err);
/* true when every place found (not unavailable) has the root in effect. */
bool trust_set_trusted(const struct trust_set *s);

#endif
