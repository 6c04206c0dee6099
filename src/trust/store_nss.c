/* store_nss.c: stub. */
#include "trust/trust.h"
