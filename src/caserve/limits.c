/* limits.c: rate limits per key (an account, a client address) in fixed
 * one-hour windows, in memory: a restart forgets them, which for a CA on
 * a LAN is the point of a restart.  A small open-addressing table;
 * when it is full, the slot whose window is oldest is taken over. */
#include "caserve/internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOTS 4096
#define PROBES 16
#define WINDOW 3600

struct slot {
	char key[64];
	int64_t start; /* 0: free */
	unsigned count;
};

struct caserve_limits {
	struct slot s[SLOTS];
};

struct caserve_limits *caserve_limits_new(void)
{
	return calloc(1, sizeof(struct caserve_limits));
}

void caserve_limits_free(struct caserve_limits *l)
{
	free(l);
}

static uint32_t hash(const char *k)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *k != '\0'; k++)
		h = (h ^ (unsigned char)*k) * 16777619u;
	return h;
}

int caserve_limit_take(struct caserve_limits *l, const char *key, unsigned max)
{
	int64_t now = time(NULL);
	uint32_t h = hash(key);
	struct slot *use = NULL, *oldest = NULL;

	if (max == 0)
		return 0;
	for (int i = 0; i < PROBES; i++) {
		struct slot *s = &l->s[(h + (uint32_t)i) % SLOTS];

		if (s->start != 0 && strncmp(s->key, key, sizeof(s->key) - 1) == 0) {
			use = s;
			break;
		}
		if (s->start == 0 || now - s->start >= WINDOW) {
			if (use == NULL)
				use = s; /* free or stale: ours unless the key is further on */
			continue;
		}
		if (oldest == NULL || s->start < oldest->start)
			oldest = s;
	}
	if (use == NULL)
		use = oldest;
	if (strncmp(use->key, key, sizeof(use->key) - 1) != 0 || now - use->start >= WINDOW) {
		memset(use, 0, sizeof(*use));
		strncpy(use->key, key, sizeof(use->key) - 1);
		use->start = now;
	}
	if (use->count >= max)
		return (int)(use->start + WINDOW - now > 0 ? use->start + WINDOW - now : 1);
	use->count++;
	return 0;
}
