/* store.c: the ACME server's objects in SQLite (ca/acme.db).
 *
 * One table: every account, order, authorization and certificate is a row
 * with its state as a JSON document (what the ACME resource shows, plus a
 * few private members starting with "_").  WAL with synchronous=NORMAL: a
 * power loss may forget the last changes to orders, never corrupt the
 * file; issued certificates are recorded durably by the CA database
 * (ca_sign) before they are handed out, and the order only points to them.
 * Two connections use the file at once (the request loop and the
 * validation thread): BEGIN IMMEDIATE and a busy timeout serialise them. */
#include "caserve/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUSY_MS 5000
#define DOC_MAX (256 * 1024) /* bytes of one stored document */

#define STMT_CACHE 16 /* the queries below, each prepared once */

struct caserve_store {
	sqlite3 *h;
	struct {
		const char *sql; /* a string literal of this file: compared by address */
		sqlite3_stmt *q;
	} stmts[STMT_CACHE];
};

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=NORMAL;"
	"CREATE TABLE IF NOT EXISTS objects ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  kind TEXT NOT NULL,"
	"  parent INTEGER NOT NULL DEFAULT 0,"
	"  account INTEGER NOT NULL DEFAULT 0,"
	"  key TEXT UNIQUE,"
	"  doc TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS objects_parent ON objects (parent, kind);"
	"CREATE INDEX IF NOT EXISTS objects_account ON objects (account, kind);";

static int db_err(struct caserve_store *st, struct moat_err *err, const char *what)
{
	moat_err_set(err, "ACME database: %s: %s", what, sqlite3_errmsg(st->h));
	return -1;
}

struct caserve_store *caserve_store_open(const char *path, struct moat_err *err)
{
	struct caserve_store *st = calloc(1, sizeof(*st));
	struct stat sb;
	int fd;

	if (st == NULL) {
		moat_err_set(err, "out of memory");
		return NULL;
	}
	/* 0600: it holds the HMAC keys of external account bindings (SQLite
	 * gives its -wal and -shm files the same mode).  Never through an fd
	 * of a file another connection of this process may have open: closing
	 * it would drop that connection's POSIX locks (SQLite's own warning),
	 * and the validation threads open the file while the loop uses it.
	 * So: created here only when it does not exist, chmod by path else. */
	if ((fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) >= 0) {
		close(fd);
	} else if (errno != EEXIST || lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode) ||
		   ((sb.st_mode & 077) != 0 && chmod(path, 0600) != 0)) {
		moat_err_errno(err, errno, "cannot open the ACME database %s", path);
		free(st);
		return NULL;
	}
	if (sqlite3_open_v2(path, &st->h,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		moat_err_set(err, "cannot open the ACME database %s: %s", path,
			     st->h != NULL ? sqlite3_errmsg(st->h) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(st->h, BUSY_MS);
	if (sqlite3_exec(st->h, schema, NULL, NULL, NULL) != SQLITE_OK) {
		db_err(st, err, "cannot set it up");
		goto fail;
	}
	return st;
fail:
	caserve_store_free(st);
	return NULL;
}

void caserve_store_free(struct caserve_store *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < STMT_CACHE; i++)
		sqlite3_finalize(st->stmts[i].q);
	sqlite3_close(st->h);
	free(st);
}

/* sql (a string literal) prepared: once per connection, then reused (the
 * caller hands it back with done). */
static sqlite3_stmt *prepare(struct caserve_store *st, const char *sql, struct moat_err *err)
{
	size_t i;

	for (i = 0; i < STMT_CACHE && st->stmts[i].sql != NULL; i++)
		if (st->stmts[i].sql == sql)
			return st->stmts[i].q;
	if (i == STMT_CACHE) {
		moat_err_set(err, "ACME database: too many kinds of query");
		return NULL;
	}
	if (sqlite3_prepare_v3(st->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->stmts[i].q, NULL) !=
	    SQLITE_OK) {
		db_err(st, err, "cannot prepare a query");
		st->stmts[i].q = NULL;
		return NULL;
	}
	st->stmts[i].sql = sql;
	return st->stmts[i].q;
}

/* A statement from prepare, ready for its next use. */
static void done(sqlite3_stmt *q)
{
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
}

/* Run sql (a string literal) that returns no rows. */
static int exec(struct caserve_store *st, const char *sql, struct moat_err *err)
{
	sqlite3_stmt *q = prepare(st, sql, err);
	int rc;

	if (q == NULL)
		return -1;
	rc = sqlite3_step(q);
	done(q);
	return rc == SQLITE_DONE ? 0 : db_err(st, err, sql);
}

int caserve_store_begin(struct caserve_store *st, struct moat_err *err)
{
	return exec(st, "BEGIN IMMEDIATE", err);
}

int caserve_store_commit(struct caserve_store *st, struct moat_err *err)
{
	return exec(st, "COMMIT", err);
}

void caserve_store_rollback(struct caserve_store *st)
{
	struct moat_err err;

	if (sqlite3_get_autocommit(st->h) == 0)
		(void)exec(st, "ROLLBACK", &err);
}

/* doc as compact text (malloc'd), or NULL. */
static char *dump(const json_t *doc, struct moat_err *err)
{
	char *s = json_dumps(doc, JSON_COMPACT);

	if (s == NULL || strlen(s) > DOC_MAX) {
		free(s);
		moat_err_set(err, "cannot store an ACME object (out of memory, or too large)");
		return NULL;
	}
	return s;
}

/* Run q (its doc parameter is number at; the others bound) with doc's
 * text; the statement is handed back (done). */
static int write_doc(struct caserve_store *st, sqlite3_stmt *q, int at, const json_t *doc,
		     const char *what, struct moat_err *err)
{
	char *text = dump(doc, err);
	int ret = -1;

	if (text != NULL) {
		sqlite3_bind_text(q, at, text, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_DONE)
			ret = 0;
		else
			db_err(st, err, what);
	}
	done(q);
	free(text);
	return ret;
}

int caserve_store_add(struct caserve_store *st, const char *kind, int64_t parent, int64_t account,
		      const char *key, const json_t *doc, int64_t *id, struct moat_err *err)
{
	sqlite3_stmt *q = prepare(st, "INSERT INTO objects (kind, parent, account, key, doc) "
				      "VALUES (?1, ?2, ?3, ?4, ?5)", err);

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, parent);
	sqlite3_bind_int64(q, 3, account);
	if (key != NULL)
		sqlite3_bind_text(q, 4, key, -1, SQLITE_STATIC);
	if (write_doc(st, q, 5, doc, "cannot add an object", err) != 0)
		return -1;
	*id = sqlite3_last_insert_rowid(st->h);
	return 0;
}

int caserve_store_put(struct caserve_store *st, int64_t id, const json_t *doc, struct moat_err *err)
{
	sqlite3_stmt *q = prepare(st, "UPDATE objects SET doc = ?2 WHERE id = ?1", err);

	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, id);
	return write_doc(st, q, 2, doc, "cannot update an object", err);
}

int caserve_store_rekey(struct caserve_store *st, int64_t id, const char *key, bool *taken,
			struct moat_err *err)
{
	sqlite3_stmt *q = prepare(st, "UPDATE objects SET key = ?1 WHERE id = ?2", err);
	int rc, ret = -1;

	*taken = false;
	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, id);
	rc = sqlite3_step(q);
	if (rc == SQLITE_DONE)
		ret = 0;
	else if (sqlite3_extended_errcode(st->h) == SQLITE_CONSTRAINT_UNIQUE)
		*taken = true;
	else
		db_err(st, err, "cannot change a key");
	done(q);
	return ret;
}

/* The row q stands on: doc parsed, the other columns out. */
static json_t *row(struct caserve_store *st, sqlite3_stmt *q, int64_t *id, int64_t *parent,
		   int64_t *account, struct moat_err *err)
{
	const char *text = (const char *)sqlite3_column_text(q, 3);
	json_t *doc = text != NULL ? json_loads(text, 0, NULL) : NULL;

	if (doc == NULL) {
		moat_err_set(err, "ACME database: a stored object is not JSON");
		return NULL;
	}
	if (id != NULL)
		*id = sqlite3_column_int64(q, 0);
	if (parent != NULL)
		*parent = sqlite3_column_int64(q, 1);
	if (account != NULL)
		*account = sqlite3_column_int64(q, 2);
	(void)st;
	return doc;
}

/* The one row q selects (its parameters bound); NULL with err cleared when
 * there is none.  q is handed back (done). */
static json_t *one(struct caserve_store *st, sqlite3_stmt *q, int64_t *id, int64_t *parent,
		   int64_t *account, struct moat_err *err)
{
	json_t *doc = NULL;
	int rc = sqlite3_step(q);

	if (rc == SQLITE_ROW)
		doc = row(st, q, id, parent, account, err);
	else if (rc == SQLITE_DONE)
		moat_err_clear(err);
	else
		db_err(st, err, "cannot read an object");
	done(q);
	return doc;
}

json_t *caserve_store_get(struct caserve_store *st, const char *kind, int64_t id, int64_t *parent,
			  int64_t *account, struct moat_err *err)
{
	sqlite3_stmt *q = prepare(st, "SELECT id, parent, account, doc FROM objects "
				      "WHERE id = ?1 AND kind = ?2", err);

	if (q == NULL)
		return NULL;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_text(q, 2, kind, -1, SQLITE_STATIC);
	return one(st, q, NULL, parent, account, err);
}

json_t *caserve_store_find(struct caserve_store *st, const char *kind, const char *key,
			   int64_t *id, int64_t *account, struct moat_err *err)
{
	sqlite3_stmt *q = prepare(st, "SELECT id, parent, account, doc FROM objects "
				      "WHERE key = ?1 AND kind = ?2", err);

	if (q == NULL)
		return NULL;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, kind, -1, SQLITE_STATIC);
	return one(st, q, id, NULL, account, err);
}

int caserve_store_list(struct caserve_store *st, const char *kind, int64_t id, bool by_account,
		       size_t max, int64_t **ids, size_t *n, struct moat_err *err)
{
	sqlite3_stmt *q = prepare(st, by_account ? "SELECT id FROM objects WHERE account = ?1 AND "
						   "kind = ?2 ORDER BY id LIMIT ?3"
						 : "SELECT id FROM objects WHERE parent = ?1 AND "
						   "kind = ?2 ORDER BY id LIMIT ?3",
				  err);
	int64_t *v = NULL;
	size_t k = 0;
	int rc, ret = -1;

	*ids = NULL;
	*n = 0;
	if (q == NULL)
		return -1;
	if ((v = calloc(max > 0 ? max : 1, sizeof(*v))) == NULL) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_text(q, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)max);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW && k < max)
		v[k++] = sqlite3_column_int64(q, 0);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		db_err(st, err, "cannot list objects");
		goto out;
	}
	*ids = v;
	*n = k;
	v = NULL;
	ret = 0;
out:
	free(v);
	done(q);
	return ret;
}

int caserve_store_each_processing(struct caserve_store *st,
				  int (*fn)(void *arg, int64_t authz, int index), void *arg,
				  struct moat_err *err)
{
	sqlite3_stmt *q = prepare(st, "SELECT id, parent, account, doc FROM objects WHERE "
				      "kind = 'authz' AND doc LIKE '%\"processing\"%'", err);
	int rc, ret = 0;

	if (q == NULL)
		return -1;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t id = 0;
		json_t *doc = row(st, q, &id, NULL, NULL, err), *c;
		size_t i;

		if (doc == NULL)
			continue;
		json_array_foreach(json_object_get(doc, "challenges"), i, c) {
			const char *cs = json_string_value(json_object_get(c, "status"));

			if (cs != NULL && strcmp(cs, "processing") == 0 && fn(arg, id, (int)i) != 0)
				ret = -1;
		}
		json_decref(doc);
	}
	if (rc != SQLITE_DONE)
		ret = db_err(st, err, "cannot list the challenges being validated");
	done(q);
	return ret;
}
