/* store_system.c: stub. */
#include "trust/trust.h"
