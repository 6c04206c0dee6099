/* revocation_stub.c: stands in for revocation.c until it lands (same API). */
#include "caserve/revocation.h"

#include <stdlib.h>

struct caserve_revocation {
	int unused;
};

struct caserve_revocation *caserve_revocation_new(struct ca *ca, struct moat_err *err)
{
	(void)ca;
	(void)err;
	return calloc(1, sizeof(struct caserve_revocation));
}

void caserve_revocation_free(struct caserve_revocation *r)
{
	free(r);
}

void caserve_revocation_handle(void *r, const struct net_http_request *req,
			       struct net_http_reply *reply)
{
	(void)r;
	(void)req;
	(void)reply;
}

void caserve_revocation_changed(struct caserve_revocation *r)
{
	(void)r;
}
