/* report.c: the findings of a check, in the order they were found. */
#include "check/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *check_severity_name(enum check_severity s)
{
	switch (s) {
	case CHECK_INFO: return "info";
	case CHECK_WARNING: return "warning";
	case CHECK_ERROR: return "error";
	}
	return "?";
}

void check_report_init(struct check_report *r)
{
	memset(r, 0, sizeof(*r));
	r->fixed_chain = (struct moat_buf)MOAT_BUF_INIT;
}

void check_report_clear(struct check_report *r)
{
	if (r == NULL)
		return;
	moat_buf_free(&r->fixed_chain);
	check_report_init(r);
}

void check_add(struct check_report *r, enum check_severity sev, const char *code,
	       const char *fix, const char *fmt, ...)
{
	struct check_finding *f;
	va_list ap;

	if (r->nfindings == CHECK_MAX_FINDINGS)
		return;
	f = &r->findings[r->nfindings++];
	f->sev = sev;
	f->code = code;
	va_start(ap, fmt);
	(void)vsnprintf(f->message, sizeof(f->message), fmt, ap);
	va_end(ap);
	(void)snprintf(f->fix, sizeof(f->fix), "%s", fix != NULL ? fix : "");
}

size_t check_count(const struct check_report *r, enum check_severity sev)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nfindings; i++)
		n += r->findings[i].sev == sev;
	return n;
}

bool check_has(const struct check_report *r, const char *code)
{
	for (size_t i = 0; i < r->nfindings; i++)
		if (strcmp(r->findings[i].code, code) == 0)
			return true;
	return false;
}

void check_progress(const struct check_ctx *c, const char *msg)
{
	if (c->o->progress != NULL)
		c->o->progress(c->o->progress_arg, msg);
}

void check_say(char *out, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(out, n, fmt, ap);
	va_end(ap);
}

const char *check_holder(const struct check_ctx *c)
{
	if (!c->files)
		return "the server";
	return c->o->chain_file != NULL ? "the files" : "the file";
}

const char *check_verb(const struct check_ctx *c, const char *file, const char *files,
		       const char *server)
{
	if (!c->files)
		return server;
	return c->o->chain_file != NULL ? files : file;
}
