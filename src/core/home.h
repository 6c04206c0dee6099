/* home.h: where moat keeps its state.
 *
 * MOAT_HOME if set; else /var/lib/moat when running as root; else
 * $XDG_DATA_HOME/moat; else $HOME/.local/share/moat. */
#ifndef MOAT_CORE_HOME_H
#define MOAT_CORE_HOME_H

#include <stddef.h>

#include "core/err.h"

int moat_home_dir(char *out, size_t n, struct moat_err *err);

#endif
