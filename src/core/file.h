/* file.h: bounded reads and all-or-nothing writes.
 *
 * Every file moat writes goes through a fileset: each file is first written
 * to a temporary beside its final path (created O_EXCL with its final mode,
 * under a restrictive umask); moat_fileset_commit() fsyncs all of them (their
 * writeback started when they were staged, so N files cost about one
 * fsync), and only then renames them into place.  Freeing an uncommitted fileset unlinks the temporaries
 * and removes the directories the fileset created, so a failed command
 * leaves nothing behind. */
#ifndef MOAT_CORE_FILE_H
#define MOAT_CORE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/buf.h"
#include "core/err.h"

/* Size caps for untrusted input files. */
#define MOAT_MAX_PEM_FILE (1024 * 1024)

/* Read a whole file (or "-" for stdin) into out; fail if it exceeds max. */
int moat_file_read(const char *path, size_t max, struct moat_buf *out, struct moat_err *err);
bool moat_file_exists(const char *path);
bool moat_dir_exists(const char *path);

struct moat_fileset;

struct moat_fileset *moat_fileset_new(void);
/* mkdir -p dir with mode; directories this call creates are removed again
 * if the fileset is freed without commit. */
int moat_fileset_mkdir(struct moat_fileset *fs, const char *dir, mode_t mode, struct moat_err *err);
/* Stage path.  With overwrite false, fail (EEXIST) if path already exists. */
int moat_fileset_add(struct moat_fileset *fs, const char *path, const void *data, size_t len,
		     mode_t mode, bool overwrite, struct moat_err *err);
/* fsync every staged file, rename each into place and fsync the directories
 * (each once).  The renames happen one after the other: if one fails (a
 * file without overwrite appeared meanwhile, a disk error), the files
 * renamed before it stay in place and the rest are rolled back by
 * moat_fileset_free. */
int moat_fileset_commit(struct moat_fileset *fs, struct moat_err *err);
/* Roll back what was not committed; accepts NULL. */
void moat_fileset_free(struct moat_fileset *fs);

/* Convenience: a fileset of one file. */
int moat_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
			   struct moat_err *err);

/* Write all len bytes to fd, again after EINTR; 0, or -1 with errno set. */
int moat_write_all(int fd, const void *data, size_t len);

/* fsync a directory, so that entries created or renamed in it are durable. */
int moat_dir_sync(const char *dir);

/* Remove the regular files in dir (not recursing) and then dir itself. */
void moat_dir_remove_flat(const char *dir);

/* Join a directory and a file name into out; -1 (with err) if it does not fit. */
int moat_path_join(char *out, size_t n, const char *dir, const char *name, struct moat_err *err);

#endif
