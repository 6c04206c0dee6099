/* internal.h: what the files of src/ca/ share. */
#ifndef MOAT_CA_INTERNAL_H
#define MOAT_CA_INTERNAL_H

#include "ca/ca.h"
#include "ca/db.h"
#include "core/buf.h"
#include "core/file.h"

#define CA_BACKDATE 300 /* seconds: tolerate clients whose clocks run a little slow */

struct ca {
	char home[PATH_MAX];
	char dir[PATH_MAX];
	char name[256];
	struct pki_cert *root;
	struct pki_cert *intermediate;
	struct pki_key *int_key;     /* after ca_unlock */
	struct moat_buf int_key_pem; /* intermediate-key.pem as read by ca_open */
	bool int_key_encrypted;
	struct moat_permit permits[CA_MAX_PERMITS];
	size_t npermits;
	struct ca_db *db;
};

/* The PEM texts of a lineage, in certbot's layout. */
struct ca_bundle {
	struct moat_buf privkey; /* empty when signing a CSR */
	struct moat_buf cert;
	struct moat_buf chain;
	struct moat_buf fullchain;
	struct moat_buf p12;     /* empty unless asked for */
};

void ca_bundle_free(struct ca_bundle *b);
/* Stage the bundle's files into dir (created if needed). */
int ca_bundle_stage(struct moat_fileset *fs, const char *dir, const struct ca_bundle *b,
		    bool overwrite, struct moat_err *err);
int64_t ca_now(void);
/* "2027-12-25" */
void ca_format_date(int64_t t, char *out, size_t n);

#endif
