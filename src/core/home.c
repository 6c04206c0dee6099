#include "core/home.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* An environment variable, or NULL when unset or empty. */
static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

int moat_home_dir(char *out, size_t n, struct moat_err *err)
{
	const char *v;
	int r;
	int ret = -1;

	if ((v = env("MOAT_HOME")) != NULL)
		r = snprintf(out, n, "%s", v);
	else if (geteuid() == 0)
		r = snprintf(out, n, "/var/lib/moat");
	else if ((v = env("XDG_DATA_HOME")) != NULL && v[0] == '/') /* relative: ignored (XDG) */
		r = snprintf(out, n, "%s/moat", v);
	else if ((v = env("HOME")) != NULL)
		r = snprintf(out, n, "%s/.local/share/moat", v);
	else {
		moat_err_set(err, "cannot tell where to keep moat's files: "
				  "MOAT_HOME, XDG_DATA_HOME and HOME are all unset");
		moat_err_hint(err, "set MOAT_HOME to a directory, e.g. MOAT_HOME=/srv/moat");
		goto out;
	}
	if (r < 0 || (size_t)r >= n) {
		moat_err_set(err, "the moat state directory path is too long (%d bytes)", r);
		moat_err_hint(err, "set MOAT_HOME to a shorter path");
		goto out;
	}
	ret = 0;
out:
	if (ret != 0 && n > 0)
		out[0] = '\0';
	return ret;
}
