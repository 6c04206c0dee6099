/* obtain.h: get (or renew) one certificate as a renewal configuration
 * describes it. */
#ifndef MOAT_ACME_OBTAIN_H
#define MOAT_ACME_OBTAIN_H

#include <stdbool.h>

#include "acme/acme.h"
#include "acme/store.h"

#define ACME_MAX_NAMES 100 /* Let's Encrypt's limit per certificate */

struct acme_obtain_opts {
	bool force;     /* take over a private-CA lineage of the same name */
	bool dry_run;   /* run the order, write nothing */
	int timeout_s;
	char replaces[512]; /* ARI identifier of the certificate being renewed, or "" */
	/* Answer challenges this way instead of the renewal configuration's
	 * (moat serve answers on its own listeners); NULL: as configured. */
	const struct acme_solver *solver;
	void (*progress)(void *arg, const char *msg);
	void *progress_arg;
};

struct acme_obtained {
	char lineage[300];
	char live[4400]; /* MOAT_HOME/live/NAME */
	int version;     /* archive version written; 0 on a dry run */
};

int acme_obtain(const char *home, const struct acme_renewal *rn, const struct acme_obtain_opts *o,
		struct acme_obtained *res, struct moat_err *err);

#endif
