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

#endif
