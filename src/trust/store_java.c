/* store_java.c: stub. */
#include "trust/trust.h"
