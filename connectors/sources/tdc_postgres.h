/* tdc_postgres: a tdc_source that polls a PostgreSQL table (or, in
 * timestamp mode, a view) incrementally, with libpq, in one of two modes
 * (config mode; logical mode is tdc_pglogical.h).
 *
 * SNAPSHOT MODE (the default): a watermark that cannot pass an uncommitted
 * row. The position is a range [xid_from, xid_until) of 64-bit transaction
 * ids (xid8) and, within it, the last (updated_at, id) read. Every poll runs
 * in autocommit (each statement its own snapshot):
 *
 *   - when the range is finished (xid_until == xid_from, or nothing read
 *     yet): SELECT pg_snapshot_xmin/xmax of pg_current_snapshot(), the next
 *     xid (xmax + age(xmax)) and now(). The new range is [xid_from, xmin):
 *     every transaction below xmin had finished, so the set of rows whose
 *     xmin lies in the range can only shrink from then on (an update moves a
 *     row to a later range with its new xmin, a delete removes it), never
 *     grow. xmin == xid_from: nothing to read yet (IDLE).
 *   - SELECT <columns>, <updated_at as epoch µs>, <id> FROM <table>
 *      WHERE xmin8 >= xid_from AND xmin8 < xid_until
 *        AND (updated_at, id) > (last)          -- when a row was read
 *        AND updated_at >= bound                -- when a bound is known
 *      ORDER BY updated_at, id LIMIT batch_size
 *     A short batch is the rest of the range: the position after its last
 *     row (or the poll, with no row) is [xid_until, xid_until), no last.
 *
 * xmin8: the row's 32-bit xmin as the largest xid8 not above the next
 * transaction id with those low 32 bits, computed per row as next - age(xmin)
 * (age() is about seven times cheaper than xmin::text::bigint): exact for
 * every row written in the last 2^32 transactions, never above next (a start
 * reads every row in its first range); the special xids 0-2 (rows frozen
 * before PostgreSQL 9.4) are 0. xmin is raw even after freezing, so a row
 * untouched for 2^32 transactions can alias into a range and be published
 * once more: a duplicate, never a loss (the updated_at bound excludes such
 * old rows).
 *
 * A transaction that commits late is still running when the transactions
 * after it are read: it holds xmin, so every range opened meanwhile ends
 * before it, and its rows and those of every transaction that began after
 * it are read together once it has finished. Any transaction on the server
 * holds it (xmin is the cluster's), nothing is passed: when the same one has
 * held the range for hold_warning (observed by the source: it may have
 * started earlier), a warning names the table and the time, never an id; a
 * notice says when it ended; tdc_postgres_stats.held_seconds has it.
 *
 * The updated_at bound (xmin has no index): each poll notes a pair (N, T):
 * every xid >= N is assigned after database time T (N is the next xid read
 * after the transaction started at T). For a range from xid_from, the latest
 * pair with N <= xid_from gives bound = T - updated_at_margin: every row of
 * the range was written after T. THE ASSUMPTION of snapshot mode: a row's
 * updated_at is at most updated_at_margin earlier than the write of its
 * transaction (the recommended clock_timestamp() trigger stamps the write
 * itself; DEFAULT now() stamps the transaction's start, so a transaction that
 * waits longer than the margin before its first write would be skipped).
 * updated_at_margin 0: no bound, every poll scans the table. No pair is
 * known after a start: the first ranges are read without a bound; the first
 * poll of such a range (no row of it read yet) may scan the whole table, so
 * it runs without statement_timeout (set to 0 for it, then back). An update
 * must advance updated_at too (the trigger does): an update that keeps an
 * old updated_at moves the row to a later range, below that range's bound.
 *
 * The late-row check in snapshot mode (late_row_check > 0 and a bound in
 * use) checks THE ASSUMPTION: late_row_check after a range read with a bound
 * was finished, its rows that the bound kept out (xmin8 in the range,
 * updated_at below its bound) are counted, never published, logged (warning,
 * naming the table and the bound, never an id) and counted in late_rows. One
 * statement, a scan of the table, for all the ranges due. A row that no poll
 * of this run read with a bound (a range begun before a restart) is not
 * checked; an aliased frozen row (above) would be counted. A check that
 * runs into statement_timeout (SQLSTATE 57014, not a stop) is skipped with a
 * warning, not taken for an outage (that would retry it for ever and stop
 * the reading).
 *
 * Snapshot-mode positions: pg_mode TDC_PG_SNAPSHOT, xid_from, xid_until, and
 * last_updated_at_us = INT64_MIN with last_id "" when no row of the range has
 * been read. A timestamp-mode position resumes in snapshot mode as the range
 * [0, xmin at the first poll) after its (updated_at, id): rows of
 * transactions still running then are read in the next range, even those
 * timestamp mode had passed, and rows of transactions that began after the
 * oldest running one and were already published are published once more. A
 * snapshot-mode (or logical) position is refused in timestamp mode (-EINVAL at
 * resume): it cannot continue from it without loss or repeats.
 * A snapshot-mode position whose xid_from is above the server's next
 * transaction id (a restored, replaced or reset database) is refused with
 * -EINVAL at the first poll instead of being waited on.
 *
 * Snapshot mode needs a table or partitioned table (a view, materialized view
 * or foreign table is refused with -EINVAL naming it and mode: timestamp)
 * and PostgreSQL 13; settle_delay is not used (a row of a running
 * transaction can no longer be passed). lag(): the
 * count of every committed row not yet read, including those held back by a
 * running transaction (with the bound).
 *
 * TIMESTAMP MODE. Each poll runs one statement (autocommit, text results,
 * every value bound as a parameter, identifiers quoted with
 * PQescapeIdentifier):
 *
 *   SELECT <columns>, <updated_at as epoch µs>, <id>
 *     FROM <table>
 *    WHERE (updated_at, id) > (<last updated_at>, <last id>::<id's type>)
 *      AND updated_at <= now() - settle_delay
 *    ORDER BY updated_at, id
 *    LIMIT batch_size
 *
 * now() is the database's clock (the poll's own transaction start), so the
 * connector's clock never matters. The id is compared in the column's own
 * type (an integer id orders 9 < 10, a text id "10" < "9" by its collation),
 * and ties on updated_at are broken by id, so a batch boundary inside a run
 * of equal timestamps neither skips nor repeats a row. A full batch is
 * followed at once by the next poll; a short one by a pause of poll_interval.
 *
 * Why the settle delay. Kafka Connect's JDBC source loses rows silently when
 * they commit out of timestamp order (confluentinc/kafka-connect-jdbc #27,
 * #172, #915): transaction A stamps a row at T1 but commits after B, stamped
 * T2 > T1, has committed and been read; the watermark is past T1 by the time
 * A's row becomes visible. Here a row is only read once its updated_at is at
 * least settle_delay older than the database clock, so A's row is read if A
 * commits before T1 + settle_delay.
 *
 * THE ASSUMPTION (what the settle delay does not fix): every transaction that
 * writes an updated_at value T commits (and, on a replica, becomes visible)
 * before T + settle_delay on the database clock. Recommended:
 *
 *   - updated_at set by the database, by a trigger, with clock_timestamp()
 *     (the time of the write), not now() (the start of the transaction: a
 *     long transaction would stamp its rows with its start) and not by the
 *     application's clock (skew):
 *
 *       CREATE FUNCTION tuodi_touch() RETURNS trigger LANGUAGE plpgsql AS
 *       $$ BEGIN NEW.updated_at := clock_timestamp(); RETURN NEW; END $$;
 *       CREATE TRIGGER settlement_touch BEFORE INSERT OR UPDATE
 *         ON public.settlement FOR EACH ROW EXECUTE FUNCTION tuodi_touch();
 *       CREATE INDEX ON public.settlement (updated_at, id);
 *
 *   - settle_delay above the longest time a writing transaction stays open
 *     after a write (bound it on the writers with statement_timeout and
 *     idle_in_transaction_session_timeout), plus replication lag when the
 *     conninfo names a standby;
 *   - every update advances updated_at (the trigger does), and id is unique:
 *     (updated_at, id) must identify a row version;
 *   - deletes are not seen (there is nothing left to read); rows whose
 *     updated_at is NULL or -infinity are never read.
 *
 * Detecting violations (late_row_check, tables and partitioned tables only:
 * a view has no xmin): each poll also records the database snapshot it read
 * with (pg_current_snapshot()). late_row_check after the poll, the range of
 * positions it covered is counted again for row versions whose writing
 * transaction was not visible to that snapshot. Each is a row the connector
 * has passed and will never publish: a transaction that committed later than
 * settle_delay after its updated_at, or an update that did not advance
 * updated_at. They are logged (warning, component "postgres", naming the
 * table and the range, never an id) and counted (tdc_postgres_stats_get()).
 * The check re-reads each polled range once; a commit later than the check
 * itself goes unnoticed. False counts: a table rewrite that gives rows new
 * xmins (ALTER TABLE changing a column's type, pg_repack, a reload) counts
 * every row of the ranges still waiting for their check; and xmin is 32 bits,
 * so a row frozen more than 2^32 transactions ago whose raw xmin happens to
 * fall among the few transactions running at poll time is counted (vanishingly
 * rare). Needs PostgreSQL 13 (pg_current_snapshot); older servers read
 * without it.
 *
 * Rows (tdc_row): unit = the table as "schema.name" (resolved by the
 * database, so "settlement" and "public.settlement" are the same unit);
 * row = line = a running count of rows read, from 1 (continued from the
 * position's next_row when the engine keeps it; the Avro PostgresPosition has
 * no such field, so after a restart it counts from 1 again: the stable
 * identity of a row is source_record_id plus after.last_updated_at_us);
 * fields = the column values as text (PostgreSQL's output format; SQL NULL is
 * the empty field, told apart only in raw); columns = the column names;
 * source_record_id = the id as text; raw = a JSON object of column -> value
 * in column order, values as JSON strings and SQL NULL as null, e.g.
 * {"id":"7","name":"张三","closed_on":null} (the dead-letter value);
 * after = the position of this row.
 *
 * Positions: kind TDC_POSITION_POSTGRES, table, last_updated_at_us
 * (microseconds since 1970-01-01T00:00:00Z: a timestamptz column is exact; a
 * timestamp-without-time-zone column is read in time_zone, so it must be
 * written in that zone; in a zone with daylight saving the local times around
 * a change are ambiguous or do not exist: use timestamptz there), last_id (the id's text, at most TDC_ID_MAX - 1 bytes:
 * a longer id stops the source with -EOVERFLOW). resume(NULL) or a position
 * of kind TDC_POSITION_NONE reads from the beginning; a position for another
 * table is refused when the source connects (a renamed config must get a new
 * source id).
 *
 * next() returns TDC_NEXT_ROW or TDC_NEXT_IDLE, never TDC_NEXT_END_UNIT (a
 * table has no end; IDLE after a short poll is the engine's moment to
 * commit). While the database is unreachable, or a poll fails for a passing
 * reason (connection lost, server shutting down, statement timeout, out of
 * resources), next() returns IDLE and reconnects with backoff (from 100 ms,
 * doubling, up to reconnect_max_backoff); the outage is logged once when it
 * begins and once when it ends, not per attempt. A negative return is a
 * configuration or schema error, with the reason in err naming the table and
 * column: -ENOENT table or column missing, -EINVAL wrong column type, bad
 * position, SQL error from the server (permission denied, id type without an
 * ordering, ...), -EOVERFLOW an id too long for a position. The engine logs
 * it and retries later (next() tries again from the committed state).
 *
 * Connection: conninfo is a libpq connection string or URI (secret: it may
 * hold a password; ${VAR} and ${file:} substitution is td_config's).
 * Defaults it may override: application_name=tuodi-connector,
 * connect_timeout=10, TCP keepalives (idle 30 s, interval 10 s, count 3).
 * Always set: client_encoding=UTF8; per session statement_timeout,
 * default_transaction_read_only=on, and TimeZone when time_zone is set.
 *
 * Memory: one batch is held at a time (batch_size rows as text).
 * Meant for PostgreSQL 10 and newer; tested only against 15.
 *
 * Threads: one source is used from one thread at a time.
 */
#ifndef TDC_POSTGRES_H
#define TDC_POSTGRES_H

#include "td_config.h"
#include "td_error.h"
#include "tdc_source.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The `postgres:` section of a source's config; filled by td_config from
 * tdc_postgres_config_table, released with td_config_free(). */
struct tdc_postgres_config {
    int mode;                  /* tdc_pg_mode (tdc_row.h) */
    char *conninfo;            /* required, secret */
    char *table;               /* required: schema.name of a table or view */
    char **columns;            /* empty: every column, in table order */
    size_t ncolumns;
    char *updated_at_column;   /* timestamp or timestamptz */
    char *id_column;           /* any type with a btree ordering */
    char *time_zone;           /* for a timestamp-without-time-zone column;
                                  "": the server's TimeZone */
    int64_t settle_delay_ms;
    int64_t poll_interval_ms;
    int64_t batch_size;
    int64_t statement_timeout_ms; /* 0: none */
    int64_t reconnect_max_backoff_ms;
    int64_t late_row_check_ms; /* 0: off */
    int64_t hold_warning_ms;   /* snapshot: warn when a transaction holds the
                                  range this long (0: never) */
    int64_t updated_at_margin_ms; /* snapshot: how much earlier than its
                                  transaction's first write a row's updated_at
                                  may be (0: no updated_at bound) */
    char *slot;                /* logical: the replication slot */
    char *publication;         /* logical: the publication */
};

extern const td_cfg_entry tdc_postgres_config_table[];

/* Creates a postgres source from cfg (copied: cfg may be freed afterwards).
 * No I/O: the first next() connects. Checks what can be checked offline
 * (table and conninfo present, conninfo parses, columns not repeated); never
 * puts the conninfo into err. Returns 0 and *ret (free it with
 * tdc_source_free()), or -EINVAL / -ENOMEM. */
int tdc_postgres_new(const struct tdc_postgres_config *cfg, tdc_source **ret,
                     td_error *err);

/* For --check-config: what tdc_postgres_new() checks (no connection), and
 * that the files the conninfo names (sslcert, sslkey, sslrootcert, sslcrl,
 * sslcrldir, passfile) are readable by this user (td_path.h). key_prefix
 * names the section in the file ("source.postgres"; NULL: "postgres") and
 * config_path the file, for FILE:LINE:COL (NULL: none). Every problem is
 * written to out as a line of its own (td_path_report()), never the conninfo
 * itself; returns 0 or the code of the first (-EINVAL without cfg or out). */
int tdc_postgres_check(const struct tdc_postgres_config *cfg, const char *config_path,
                       const char *key_prefix, FILE *out);

/* Counters since tdc_postgres_new(), for logs and metrics. */
typedef struct tdc_postgres_stats {
    uint64_t rows;          /* rows returned by next() */
    uint64_t polls;         /* statements that read rows (also empty ones) */
    uint64_t outages;       /* times the database became unreachable */
    uint64_t late_checks;   /* polled ranges counted again */
    uint64_t late_rows;     /* rows found behind the watermark by them
                               (snapshot mode: kept out by the updated_at
                               bound) */
    bool connected;
    bool late_check_active; /* late_row_check > 0 and the relation has xmin
                               (snapshot mode: and updated_at_margin > 0) */
    /* snapshot mode */
    bool snapshot;          /* the source reads in snapshot mode */
    uint64_t ranges;        /* transaction ranges opened */
    uint64_t holds;         /* times a transaction held the range longer than
                               hold_warning (each warned about once) */
    double held_seconds;    /* how long the oldest transaction still running
                               has held the range, as observed by the source
                               (at least that long); 0: nothing holds it */
} tdc_postgres_stats;

/* Fills *ret for a source made by tdc_postgres_new(). Returns 0, or -EINVAL
 * (src is NULL or another kind of source). */
int tdc_postgres_stats_get(const tdc_source *src, tdc_postgres_stats *ret);

#endif
