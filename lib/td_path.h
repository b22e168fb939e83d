/* td_path: what --check-config says about the files and directories a config
 * names, without creating, opening for writing or changing anything.
 *
 * Every check is for the effective user and groups of the calling process
 * (faccessat(2) with AT_EACCESS, so ACLs, read-only mounts and capabilities
 * count as they will for the service). ExecStartPre= runs as the unit's
 * User=, so `--check-config` there says what the service will be able to do;
 * run by hand, run it as the service user (runuser -u tuodi -- ...): for root
 * almost everything is writable.
 *
 * A problem is appended to err as one line
 *     "FILE:LINE:COL: KEY: PATH: what is wrong"
 * with FILE:LINE:COL where the config file sets KEY (td_config_origin();
 * just FILE when KEY takes its default), so the caller can check every path
 * and print all problems at once. Messages name the user by name, never by
 * number. Nothing here logs.
 */
#ifndef TD_PATH_H
#define TD_PATH_H

#include "td_error.h"

#include <stdio.h>

typedef enum td_path_need {
    TD_PATH_READ_FILE,  /* exists, is not a directory, readable */
    TD_PATH_WRITE_FILE, /* exists, is not a directory, readable and writable */
    TD_PATH_READ_DIR,  /* an existing directory, readable and searchable */
    TD_PATH_WRITE_DIR, /* an existing directory, readable, writable, searchable */
    TD_PATH_MAKE_DIR,  /* as TD_PATH_WRITE_DIR; or missing, and the nearest
                          existing ancestor is a directory this user may write
                          and search, so that mkdir -p would make it */
} td_path_need;

/* Checks path (a value of key in the config file config_path; config_path
 * may be NULL: then no FILE:LINE:COL) for need. why, if not NULL, says what
 * the program does with it ("files are moved out of it") and ends the
 * message. Returns 0 when usable; else the negative errno of the problem
 * (-ENOENT, -EACCES, -ENOTDIR, -EISDIR, -EROFS, ...) with one line appended
 * to err. */
int td_path_check(const char *config_path, const char *key, const char *path,
                  td_path_need need, const char *why, td_error *err);

/* Appends "FILE:LINE:COL: KEY: " + the formatted text to err as one line
 * (just "FILE: KEY: " when the file does not set KEY, no prefix at all when
 * config_path is NULL) and returns code (negative): for the callers' own
 * problems about a key, in the same form. */
int td_path_problem(td_error *err, const char *config_path, const char *key, int code,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* For checks with more problems than one td_error holds: writes what step
 * holds (a problem a line, each ending in a newline) to f, then clears
 * step. Returns step's code (0 when it held nothing). */
int td_path_report(td_error *step, FILE *f);

/* A --check-config run of several steps, each step's problems written to
 * out at once (a run may find more than one td_error holds):
 *     td_check ck = {.out = f};
 *     r = td_check_step(&ck, td_path_check(..., &ck.step));
 *     return ck.rc;
 */
typedef struct td_check {
    FILE *out;
    int rc;        /* the first failure; 0 while there is none */
    td_error step; /* where the running step puts its problem */
} td_check;

/* Ends a step that returned r with its problem in c->step (a failure that
 * put none there is said as strerror(-r)): writes it to c->out, clears
 * c->step, keeps the first failure in c->rc. Returns r. */
int td_check_step(td_check *c, int r);
/* Ends a step that wrote its problems to c->out itself: keeps the first
 * failure in c->rc. Returns r. */
int td_check_done(td_check *c, int r);

#endif
