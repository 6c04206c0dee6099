/* store.c: stub. */
#include "trust/trust.h"
