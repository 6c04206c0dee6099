/* trust.h: the root certificate in the forms devices install. */
#ifndef MOAT_TRUST_H
#define MOAT_TRUST_H

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

#endif
