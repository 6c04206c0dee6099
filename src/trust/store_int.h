/* store_int.h: what the trust-store backends share (not for other modules). */
#ifndef MOAT_TRUST_STORE_INT_H
#define MOAT_TRUST_STORE_INT_H

#include "trust/trust.h"

#define TRUST_TOOL_TIMEOUT_MS 120000
#define TRUST_TOOL_OUTPUT_MAX (4u << 20) /* a system bundle listing fits */

struct trust_set;
struct store_place;

struct store_ops {
	/* Fill state and detail (may mark the place unavailable, with why). */
	int (*check)(struct trust_set *s, struct store_place *p, struct moat_err *err);
	/* Can this place be changed: false with why/hint filled; *perm when
	 * the reason is a lack of permission. */
	bool (*can_change)(struct trust_set *s, struct store_place *p, bool *perm);
	int (*add)(struct trust_set *s, struct store_place *p, struct moat_err *err);
	int (*remove)(struct trust_set *s, struct store_place *p, struct moat_err *err);
};

struct store_place {
	struct trust_place pub;
	const struct store_ops *ops;
	char tool[PATH_MAX];   /* the program that changes the store */
	char aux[PATH_MAX];    /* system: the bundle; nss: "sql:DIR" */
	int layout;            /* backend-specific */
	bool create;           /* nss: the database does not exist yet */
	bool todo;
	bool pending_ok;       /* added but in effect only later (a tool to run in an image) */
};

struct trust_set {
	const struct trust_opts *o;
	char sysroot[PATH_MAX];   /* "" for "/" */
	struct pki_cert *root;
	struct moat_buf der;
	struct moat_buf pem;
	char fp[100];
	char nick[256];           /* NSS nickname: the CA name without ':' */
	char slug[128];           /* file names and Java alias: "moat-test-ca" */
	char tmpdir[PATH_MAX];
	char pem_path[PATH_MAX];  /* the root as a PEM file, for the tools */
	bool is_root;
	const char *verb;         /* "install" or "uninstall", for hints */
	struct store_place *p;
	size_t n;
	size_t cap;
};

/* store.c */
/* snprintf for messages, where cutting a long path short is fine. */
void trust_say(char *out, size_t n, const char *fmt, ...) MOAT_PRINTF(3, 4);
struct store_place *trust_place_new(struct trust_set *s, enum trust_store store, const char *kind,
				    const struct store_ops *ops, struct moat_err *err);
/* sysroot + rel ("etc/ssl/certs") into out. */
int trust_rooted(const struct trust_set *s, const char *rel, char *out, size_t n,
		 struct moat_err *err);
/* Run a tool; 0 when it exited 0 (output in out if not NULL), else -1 with
 * err naming the tool and its first line of complaint. */
int trust_tool(struct trust_set *s, const char *const *argv, struct moat_buf *out,
	       struct moat_err *err);
/* Like trust_tool but any exit status is returned in *status. */
int trust_tool_status(struct trust_set *s, const char *const *argv, struct moat_buf *out,
		      struct moat_buf *errout, int *status, struct moat_err *err);
/* Does PEM text (other text around it is ignored) hold the root?  *other
 * is set when it holds certificates and none is the root; other_fp gets
 * the first one's fingerprint. */
bool trust_pem_has_root(const struct trust_set *s, const void *pem, size_t len, bool *other,
			char *other_fp, size_t fplen);
/* Can a file be created or changed at path (its directory, or the
 * nearest existing parent, is writable)? */
bool trust_writable(const char *path);
/* The reason (and hint) when path cannot be changed: "needs root" with a
 * sudo hint, or, as root or under a sysroot, "not writable". */
void trust_cannot_write(struct trust_set *s, struct store_place *p, const char *path);

/* backends: add their places to s */
int trust_system_scan(struct trust_set *s, struct moat_err *err);
int trust_nss_scan(struct trust_set *s, struct moat_err *err);
int trust_java_scan(struct trust_set *s, struct moat_err *err);

#endif
