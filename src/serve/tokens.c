/* tokens.c: the http-01 answers moat serve gives on port 80 (internal.h):
 * a small table under its own lock, written by the certificate thread,
 * read by the workers. */
#include "serve/internal.h"

#include <stdio.h>
#include <string.h>

void serve_tokens_init(struct serve_tokens *tk)
{
	memset(tk, 0, sizeof(*tk));
	pthread_mutex_init(&tk->lock, NULL);
}

void serve_tokens_destroy(struct serve_tokens *tk)
{
	pthread_mutex_destroy(&tk->lock);
}

/* A token as RFC 8555 section 8.3 makes them: base64url, nothing else. */
static bool token_ok(const char *t, size_t max)
{
	size_t n = strlen(t);

	return n > 0 && n < max &&
	       strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == n;
}

int serve_tokens_add(struct serve_tokens *tk, const char *token, const char *keyauth,
		     struct moat_err *err)
{
	int ret = -1;

	if (!token_ok(token, sizeof(tk->t[0].token)) || strlen(keyauth) >= sizeof(tk->t[0].keyauth)) {
		moat_err_set(err, "the CA sent a challenge token moat cannot serve");
		return -1;
	}
	pthread_mutex_lock(&tk->lock);
	if (tk->n < SERVE_ACME_TOKENS) {
		snprintf(tk->t[tk->n].token, sizeof(tk->t[0].token), "%s", token);
		snprintf(tk->t[tk->n].keyauth, sizeof(tk->t[0].keyauth), "%s", keyauth);
		tk->n++;
		ret = 0;
	} else {
		moat_err_set(err, "too many challenges at once");
	}
	pthread_mutex_unlock(&tk->lock);
	return ret;
}

void serve_tokens_remove(struct serve_tokens *tk, const char *token)
{
	pthread_mutex_lock(&tk->lock);
	for (size_t i = 0; i < tk->n; i++) {
		if (strcmp(tk->t[i].token, token) == 0) {
			tk->t[i] = tk->t[--tk->n];
			break;
		}
	}
	pthread_mutex_unlock(&tk->lock);
}

bool serve_tokens_get(struct serve_tokens *tk, const char *token, char *out, size_t n)
{
	bool found = false;

	pthread_mutex_lock(&tk->lock);
	for (size_t i = 0; i < tk->n && !found; i++) {
		if (strcmp(tk->t[i].token, token) == 0) {
			snprintf(out, n, "%s", tk->t[i].keyauth);
			found = true;
		}
	}
	pthread_mutex_unlock(&tk->lock);
	return found;
}
