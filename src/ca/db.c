/* db.c: the CA database (SQLite). */
#include "ca/internal.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCHEMA_VERSION "1"

struct ca_db {
	sqlite3 *h;
	sqlite3_stmt *data_version; /* prepared on first use (ca_db_data_version) */
	sqlite3_stmt *status;       /* prepared on first use (ca_db_status) */
};

static const char schema[] =
	"BEGIN;"
	"CREATE TABLE IF NOT EXISTS meta ("
	"  key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS certs ("
	"  serial TEXT PRIMARY KEY,"
	"  names TEXT NOT NULL,"
	"  lineage TEXT NOT NULL,"
	"  not_before INTEGER NOT NULL,"
	"  not_after INTEGER NOT NULL,"
	"  issued_at INTEGER NOT NULL,"
	"  status TEXT NOT NULL DEFAULT 'valid' CHECK (status IN ('valid', 'revoked')),"
	"  revoked_at INTEGER,"
	"  reason INTEGER,"
	"  cert_pem TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS certs_lineage ON certs (lineage);"
	"INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', '" SCHEMA_VERSION "');"
	"INSERT OR IGNORE INTO meta (key, value) VALUES ('crl_number', '0');"
	"COMMIT;";

static void db_err(struct ca_db *db, struct moat_err *err, const char *what)
{
	moat_err_set(err, "CA database: %s: %s", what, sqlite3_errmsg(db->h));
}

/* sql prepared, or NULL with err naming what failed. */
static sqlite3_stmt *prepare(struct ca_db *db, const char *sql, const char *what,
			     struct moat_err *err)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK) {
		db_err(db, err, what);
		return NULL;
	}
	return st;
}

/* Step a bound statement that returns no rows (INSERT, UPDATE) to its
 * end, then finalize it. */
static int run(struct ca_db *db, sqlite3_stmt *st, const char *what, struct moat_err *err)
{
	int ret = 0;

	if (sqlite3_step(st) != SQLITE_DONE) {
		db_err(db, err, what);
		ret = -1;
	}
	sqlite3_finalize(st);
	return ret;
}

struct ca_db *ca_db_open(const char *path, bool create, struct moat_err *err)
{
	struct ca_db *db = calloc(1, sizeof(*db));
	struct ca_db *ret = NULL;
	int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
	char *msg = NULL;

	if (db == NULL) {
		moat_err_set(err, "out of memory");
		return NULL;
	}
	if (sqlite3_open_v2(path, &db->h, flags, NULL) != SQLITE_OK) {
		moat_err_set(err, "cannot open the CA database %s: %s", path,
			     db->h ? sqlite3_errmsg(db->h) : "out of memory");
		moat_err_hint(err, "run `moat ca init` to create a CA");
		goto out;
	}
	sqlite3_busy_timeout(db->h, 5000);
	if (sqlite3_exec(db->h, "PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL;", NULL, NULL,
			 NULL) != SQLITE_OK ||
	    sqlite3_exec(db->h, create ? schema : "SELECT value FROM meta WHERE key='schema_version'",
			 NULL, NULL, &msg) != SQLITE_OK) {
		moat_err_set(err, "the CA database %s is unreadable or corrupt: %s", path,
			     msg ? msg : sqlite3_errmsg(db->h));
		goto out;
	}
	ret = db;
	db = NULL;
out:
	sqlite3_free(msg);
	ca_db_free(db);
	return ret;
}

void ca_db_free(struct ca_db *db)
{
	if (db == NULL)
		return;
	sqlite3_finalize(db->data_version);
	sqlite3_finalize(db->status);
	sqlite3_close(db->h);
	free(db);
}

static int exec(struct ca_db *db, const char *sql, struct moat_err *err)
{
	if (sqlite3_exec(db->h, sql, NULL, NULL, NULL) != SQLITE_OK) {
		db_err(db, err, sql);
		return -1;
	}
	return 0;
}

int ca_db_begin(struct ca_db *db, struct moat_err *err)
{
	return exec(db, "BEGIN IMMEDIATE", err);
}

int ca_db_commit(struct ca_db *db, struct moat_err *err)
{
	return exec(db, "COMMIT", err);
}

void ca_db_rollback(struct ca_db *db)
{
	(void)sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

int ca_db_meta_get(struct ca_db *db, const char *key, char *out, size_t n, struct moat_err *err)
{
	sqlite3_stmt *st = NULL;
	int ret = -1, rc;

	if ((st = prepare(db, "SELECT value FROM meta WHERE key = ?1", "read", err)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *v = sqlite3_column_text(st, 0);
		snprintf(out, n, "%s", v ? (const char *)v : "");
	} else if (rc == SQLITE_DONE) {
		out[0] = '\0';
	} else {
		db_err(db, err, "read");
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

int ca_db_meta_set(struct ca_db *db, const char *key, const char *value, struct moat_err *err)
{
	sqlite3_stmt *st = prepare(db, "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
				   "write", err);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	return run(db, st, "write", err);
}

int ca_db_add(struct ca_db *db, const struct ca_record *r, const char *cert_pem,
	      struct moat_err *err)
{
	sqlite3_stmt *st = prepare(db, "INSERT INTO certs (serial, names, lineage, not_before,"
				   " not_after, issued_at, cert_pem)"
				   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
				   "record the certificate", err);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, r->serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->names, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->lineage, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, r->not_before);
	sqlite3_bind_int64(st, 5, r->not_after);
	sqlite3_bind_int64(st, 6, r->issued_at);
	sqlite3_bind_text(st, 7, cert_pem, -1, SQLITE_STATIC);
	return run(db, st, "record the certificate", err);
}

static void row_to_record(sqlite3_stmt *st, struct ca_record *r)
{
	const unsigned char *t;

	memset(r, 0, sizeof(*r));
	t = sqlite3_column_text(st, 0);
	snprintf(r->serial, sizeof(r->serial), "%s", t ? (const char *)t : "");
	t = sqlite3_column_text(st, 1);
	snprintf(r->names, sizeof(r->names), "%s", t ? (const char *)t : "");
	t = sqlite3_column_text(st, 2);
	snprintf(r->lineage, sizeof(r->lineage), "%s", t ? (const char *)t : "");
	r->not_before = sqlite3_column_int64(st, 3);
	r->not_after = sqlite3_column_int64(st, 4);
	r->issued_at = sqlite3_column_int64(st, 5);
	t = sqlite3_column_text(st, 6);
	r->revoked = t != NULL && strcmp((const char *)t, "revoked") == 0;
	r->revoked_at = sqlite3_column_int64(st, 7);
	r->reason = sqlite3_column_int(st, 8);
}

int ca_db_list(struct ca_db *db, struct ca_record **out, size_t *n, struct moat_err *err)
{
	sqlite3_stmt *st = NULL;
	struct ca_record *v = NULL;
	size_t len = 0, cap = 0;
	int rc, ret = -1;

	if ((st = prepare(db,
			  "SELECT serial, names, lineage, not_before, not_after, issued_at,"
			  " status, coalesce(revoked_at, 0), coalesce(reason, 0) FROM certs"
			  " ORDER BY issued_at, rowid",
			  "read", err)) == NULL)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct ca_record *nv = realloc(v, ncap * sizeof(*v));
			if (nv == NULL) {
				moat_err_set(err, "out of memory");
				goto out;
			}
			v = nv;
			cap = ncap;
		}
		row_to_record(st, &v[len++]);
	}
	if (rc != SQLITE_DONE) {
		db_err(db, err, "read");
		goto out;
	}
	*out = v;
	*n = len;
	v = NULL;
	ret = 0;
out:
	free(v);
	sqlite3_finalize(st);
	return ret;
}

int ca_db_revoke(struct ca_db *db, const char *serial, int64_t at, int reason,
		 struct moat_err *err)
{
	sqlite3_stmt *st = prepare(db, "UPDATE certs SET status = 'revoked', revoked_at = ?2,"
				   " reason = ?3 WHERE serial = ?1 AND status = 'valid'",
				   "revoke", err);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, at);
	sqlite3_bind_int(st, 3, reason);
	if (run(db, st, "revoke", err) != 0)
		return -1;
	if (sqlite3_changes(db->h) != 1) {
		moat_err_set(err, "certificate %s is not a valid certificate of this CA", serial);
		return -1;
	}
	return 0;
}

int ca_db_next_crl_number(struct ca_db *db, uint64_t *out, struct moat_err *err)
{
	char v[32];
	unsigned long long n;
	char *end;

	if (ca_db_meta_get(db, "crl_number", v, sizeof(v), err) != 0)
		return -1;
	n = strtoull(v, &end, 10);
	if (*end != '\0')
		n = 0;
	n++;
	snprintf(v, sizeof(v), "%llu", n);
	if (ca_db_meta_set(db, "crl_number", v, err) != 0)
		return -1;
	*out = n;
	return 0;
}

int ca_db_data_version(struct ca_db *db, int64_t *out, struct moat_err *err)
{
	int rc;

	if (db->data_version == NULL &&
	    (db->data_version = prepare(db, "PRAGMA data_version", "read", err)) == NULL)
		return -1;
	rc = sqlite3_step(db->data_version);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(db->data_version, 0);
	sqlite3_reset(db->data_version);
	if (rc != SQLITE_ROW) {
		db_err(db, err, "read");
		return -1;
	}
	return 0;
}

int ca_db_status(struct ca_db *db, const char *serial, struct ca_record *r, bool *found,
		 struct moat_err *err)
{
	int rc;

	*found = false;
	if (db->status == NULL &&
	    (db->status = prepare(db,
				  "SELECT serial, names, lineage, not_before, not_after, issued_at,"
				  " status, coalesce(revoked_at, 0), coalesce(reason, 0) FROM certs"
				  " WHERE serial = ?1",
				  "read", err)) == NULL)
		return -1;
	sqlite3_bind_text(db->status, 1, serial, -1, SQLITE_STATIC);
	rc = sqlite3_step(db->status);
	if (rc == SQLITE_ROW) {
		row_to_record(db->status, r);
		*found = true;
	}
	sqlite3_reset(db->status);
	sqlite3_clear_bindings(db->status);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		db_err(db, err, "read");
		return -1;
	}
	return 0;
}
