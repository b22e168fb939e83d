/* tdc_pgconn: the small helpers (libpq, the conninfo and columns settings)
 * that the postgres source's two readers share: tdc_postgres.c (snapshot and
 * timestamp modes) and tdc_pglogical.c (logical mode). Only what both do the
 * same way lives here; what differs between them (statement execution, the
 * outage messages, which SQLSTATEs mean "not found") stays in each reader.
 *
 * Errors are values: functions return 0 or a negative errno (-ENOMEM,
 * -EINVAL), with the human text in the caller's td_error where there is
 * one. Nothing here logs, except tdc_pg_notice_to_log, the notice processor
 * the readers install (server notices at debug level, component "postgres").
 *
 * Ownership: a PGconn returned by tdc_pg_connect belongs to the caller
 * (PQfinish); a string from tdc_pg_quote_ident to the caller (PQfreemem);
 * columns from tdc_pg_columns_dup to the caller (tdc_pg_columns_free);
 * a tdc_pg_raw owns its buffer (tdc_pg_raw_free). No helper keeps a pointer
 * to its arguments.
 *
 * Threads: no shared state; each object is used by one thread at a time.
 * tdc_pg_wait_socket and tdc_pg_connect read td_signal's stop flag.
 */
#ifndef TDC_PGCONN_H
#define TDC_PGCONN_H

#include "td_error.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* First reconnect delay; tdc_pg_backoff_next doubles it up to the
 * configured reconnect_max_backoff. */
#define TDC_PG_BACKOFF_FIRST_MS 100

/* Seconds a connection attempt may take: the connect_timeout tdc_pg_connect
 * passes (unless the conninfo sets it) and the wait it applies itself. */
#define TDC_PG_CONNECT_TIMEOUT_S 10

/* ---- conninfo -------------------------------------------------------------- */

/* Whether libpq reads ci as key=value pairs or a postgres(ql):// URI; false:
 * a bare word, which libpq takes as a database name (expand_dbname). */
bool tdc_pg_conninfo_has_keys(const char *ci);

/* Checks the conninfo offline: 0, or -EINVAL when it is empty or libpq
 * cannot parse it. libpq's parse message may quote part of the string (a
 * password), so it is never passed on. */
int tdc_pg_conninfo_check(const char *ci, td_error *err);

/* Frees a conninfo after zeroing it: it may hold a password, which is not
 * left in freed memory. ci may be NULL. */
void tdc_pg_conninfo_free(char *ci);

/* ---- the columns setting --------------------------------------------------- */

/* Checks the configured columns of table (named in the messages): 0, or
 * -EINVAL when one is NULL or empty or one is listed twice. */
int tdc_pg_columns_check(const char *table, char *const *columns, size_t n,
                         td_error *err);

/* Copies n column names into *ret (NULL when n is 0; the caller frees it with
 * tdc_pg_columns_free) and *nret. 0, or -ENOMEM with nothing kept and
 * *ret, *nret untouched. */
int tdc_pg_columns_dup(char *const *columns, size_t n, char ***ret, size_t *nret);

/* Frees n names and the array (NULL: nothing). */
void tdc_pg_columns_free(char **columns, size_t n);

/* ---- connecting ------------------------------------------------------------ */

/* A libpq socket readable (events POLLIN) or writable (POLLOUT), waited for
 * in steps of 100 ms. true when ready or on a poll error (libpq reports it
 * next); false when a stop was requested (td_signal) or deadline
 * (td_time_mono_ms) passed first. */
bool tdc_pg_wait_socket(int fd, short events, int64_t deadline);

/* Connects to conninfo with tuodi's session settings (application_name
 * tuodi-connector, connect_timeout TDC_PG_CONNECT_TIMEOUT_S and TCP
 * keepalives unless the conninfo sets them; client_encoding UTF8 always;
 * replication = replication when not NULL, e.g. "database"). A stop request
 * or TDC_PG_CONNECT_TIMEOUT_S ends the attempt (libpq does not apply
 * connect_timeout to a non-blocking connect).
 * Returns the connection, whose PQstatus says whether it is up (the caller
 * frees it), or NULL: *cut_short true when the attempt was ended (by a stop:
 * td_signal_stop_requested(), else the timeout), false when out of memory. */
PGconn *tdc_pg_connect(const char *conninfo, const char *replication, bool *cut_short);

/* The PQnoticeProcessor both readers install: each server notice on one line
 * at debug level. arg is unused. */
void tdc_pg_notice_to_log(void *arg, const char *message);

/* ---- errors and outages ---------------------------------------------------- */

/* msg (NULL: "") on one line into dst[size]: tabs and line breaks become
 * spaces, runs of spaces one, no leading or trailing space. */
void tdc_pg_one_line(char *dst, size_t size, const char *msg);

/* The text of a failure: the server's primary message of res, else res's
 * error message, else the connection's (conn NULL: "no connection"). res
 * may be NULL. The pointer lives as long as res or conn. */
const char *tdc_pg_error_text(PGconn *conn, const PGresult *res);

/* Whether a failed statement or connection (res may be NULL) passes, i.e.
 * is worth retrying with backoff: no connection or no answer from the
 * server, the connection went away (SQLSTATE class 08), the server is
 * shutting down or out of resources (53, 57, 58; 57014 is also a statement
 * timeout or a canceled statement), a serialization failure or deadlock
 * (40001, 40P01), a lock not available (55P03) or an object in use (55006:
 * a replication slot active for another process). false: permanent. */
bool tdc_pg_transient(PGconn *conn, const PGresult *res);

/* The reconnect delay after backoff_ms: doubled, at most max_ms. */
int64_t tdc_pg_backoff_next(int64_t backoff_ms, int64_t max_ms);

/* ---- SQL text -------------------------------------------------------------- */

/* name quoted as an SQL identifier (PQescapeIdentifier): the caller frees
 * it with PQfreemem; NULL when out of memory (or conn says why). */
char *tdc_pg_quote_ident(PGconn *conn, const char *name);

/* ---- the raw value of a row ------------------------------------------------ */

/* A row's raw JSON object, {"column":"value",...}: every value as a JSON
 * string of its text, SQL NULL as null. buf is NUL-terminated after each
 * call that succeeded; it may move. */
typedef struct tdc_pg_raw {
    char *buf;
    size_t len, cap;
} tdc_pg_raw;

/* Starts a new object ("{"), keeping the buffer. 0 or -ENOMEM. */
int tdc_pg_raw_begin(tdc_pg_raw *raw);
/* Appends "name":value (null: null; else len bytes at value as a JSON
 * string), with a comma after an earlier field. 0 or -ENOMEM. */
int tdc_pg_raw_field(tdc_pg_raw *raw, const char *name, const char *value, size_t len,
                     bool null);
/* Ends the object ("}"). 0 or -ENOMEM. */
int tdc_pg_raw_end(tdc_pg_raw *raw);
/* Frees the buffer; raw is empty afterwards. raw may be NULL. */
void tdc_pg_raw_free(tdc_pg_raw *raw);

#endif
