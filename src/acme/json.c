/* json.c: JSON documents from ACME servers. */
#include "acme/acme.h"

#include <string.h>

json_t *acme_json_object(const struct moat_buf *body, const char *what, struct moat_err *err)
{
	json_error_t je;
	json_t *j;

	if (body->data == NULL || body->len == 0) {
		moat_err_set(err, "%s is empty", what);
		return NULL;
	}
	/* JSON_REJECT_DUPLICATES: a document that says two things is not
	 * trusted to mean either; jansson also caps nesting depth. */
	j = json_loadb((const char *)body->data, body->len, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL) {
		char show[128];
		moat_escape(show, sizeof(show), je.text, strlen(je.text));
		moat_err_set(err, "%s is not valid JSON (%s, at byte %d)", what, show, je.position);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		moat_err_set(err, "%s is not a JSON object", what);
		return NULL;
	}
	return j;
}

const char *acme_json_str(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}
