/* fuzz_acme: what an ACME server sends, as moat's client reads it.
 *
 * The first byte picks the path: response header lines (kept by src/fetch,
 * then read as Replay-Nonce, Location, Retry-After, Link, Content-Type) or a JSON body read as a
 * directory and as a problem document (with subproblems) turned into the
 * user's error line. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "acme/acme.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void headers(const uint8_t *data, size_t size)
{
	const struct fetch_req q = {.want = acme_http_headers};
	struct fetch_resp f;
	struct acme_resp r;
	size_t start = 0;

	memset(&f, 0, sizeof(f));
	memset(&r, 0, sizeof(r));
	r.retry_after = -1;
	/* Line by line, as libcurl hands them to src/fetch. */
	for (size_t i = 0; i <= size; i++) {
		if (i == size || data[i] == '\n') {
			fetch_resp_header_line(&q, &f, (const char *)data + start, i - start);
			start = i + 1;
		}
	}
	acme_resp_headers(&r, &f);
	(void)fetch_resp_header(&f, "Location");
	(void)acme_resp_link(&r, "alternate");
	(void)acme_resp_link(&r, "up");
	fetch_resp_clear(&f);
}

static void json_paths(const uint8_t *data, size_t size)
{
	struct moat_buf b = MOAT_BUF_INIT;
	struct acme_directory dir;
	struct acme_problem p;
	struct moat_err err;
	json_t *j;

	if (moat_buf_append(&b, data, size) != 0)
		return;
	j = acme_json_object(&b, "input", &err);
	if (j != NULL) {
		memset(&dir, 0, sizeof(dir));
		(void)acme_directory_parse(j, &dir);
		json_decref(dir.profiles);
		acme_problem_parse(j, 400, 30, &p);
		acme_problem_to_err(&p, "fuzzing", &err);
		json_decref(j);
	}
	moat_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0 || size > 256 * 1024)
		return 0;
	if (data[0] & 1)
		headers(data + 1, size - 1);
	else
		json_paths(data + 1, size - 1);
	return 0;
}
