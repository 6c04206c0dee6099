/* share.c: stub, being written. */
#include "trust/trust.h"
