/* tdc_postgres: the postgres source. The contract is in tdc_postgres.h and
 * tdc_source.h. */
#include "tdc_postgres.h"
#include "tdc_pglogical.h"
#include "tdc_pgconn.h"

#include "td_log.h"
#include "td_path.h"
#include "td_signal.h"
#include "td_str.h"
#include "td_time.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG_COMPONENT "postgres"

/* PostgreSQL type oids (pg_type.dat; stable across versions). */
#define PG_OID_TIMESTAMP 1114
#define PG_OID_TIMESTAMPTZ 1184

/* Polled ranges waiting for their late-row check; a full queue checks its
 * oldest range early. */
#define LATE_CHECKS_MAX 4096
/* Snapshot mode: remembered (next xid, database time) pairs; a full list
 * keeps every other one (and always the oldest). */
#define XID_PAIRS_MAX 128
/* Snapshot mode: last_updated_at_us of a position with no row read in its
 * range yet (no PostgreSQL timestamp is this far from 1970). */
#define SNAP_NO_LAST INT64_MIN
/* Snapshot mode: most finished ranges one late-row check statement counts. */
#define CHECK_BATCH 1000

#define CFG struct tdc_postgres_config
static const char *const tdc_pg_mode_names[] = {
    [TDC_PG_TIMESTAMP] = "timestamp",
    [TDC_PG_SNAPSHOT] = "snapshot",
    [TDC_PG_LOGICAL] = "logical",
    NULL,
};

const td_cfg_entry tdc_postgres_config_table[] = {
    TD_CFG_ENUM("mode", CFG, mode, "snapshot", tdc_pg_mode_names,
                "How the table is read: snapshot (rows of finished transactions only: "
                "no loss however late a transaction commits; tables only), timestamp "
                "(by updated_at behind settle_delay; views too), logical (a replication "
                "slot: inserts, updates and deletes; needs the REPLICATION attribute)"),
    TD_CFG_STRING("conninfo", CFG, conninfo, NULL,
                  "libpq connection string or postgresql:// URI; may hold a password "
                  "(write it as ${file:...} or ${VAR})",
                  TD_CFG_REQUIRED | TD_CFG_SECRET),
    TD_CFG_STRING("table", CFG, table, NULL,
                  "Table to read, schema-qualified (public.settlement); a view in "
                  "timestamp mode only",
                  TD_CFG_REQUIRED),
    TD_CFG_STRINGS("columns", CFG, columns, ncolumns,
                   "Columns to read, in this order; empty: every column in table order"),
    TD_CFG_STRING("updated_at_column", CFG, updated_at_column, "updated_at",
                  "Column of type timestamptz or timestamp, set by the database on every "
                  "insert and update (a trigger with clock_timestamp())"),
    TD_CFG_STRING("id_column", CFG, id_column, "id",
                  "Unique column that breaks ties on updated_at; compared in its own type"),
    TD_CFG_STRING("time_zone", CFG, time_zone, NULL,
                  "Time zone a timestamp-without-time-zone updated_at is written in "
                  "(Asia/Shanghai); unset: the server's TimeZone"),
    TD_CFG_DURATION("settle_delay", CFG, settle_delay_ms, "5s", 0, 86400000,
                    "timestamp mode: rows are read once updated_at is this much older than "
                    "the database clock; must exceed how long a writing transaction stays "
                    "open (snapshot mode: unused)"),
    TD_CFG_DURATION("poll_interval", CFG, poll_interval_ms, "2s", 10, 3600000,
                    "Pause after a poll that returned fewer than batch_size rows"),
    TD_CFG_INT("batch_size", CFG, batch_size, "5000", 1, 1000000,
               "Most rows one poll reads"),
    TD_CFG_DURATION("statement_timeout", CFG, statement_timeout_ms, "1m", 0, 86400000,
                    "Longest a poll may run (0: no limit)"),
    TD_CFG_DURATION("reconnect_max_backoff", CFG, reconnect_max_backoff_ms, "30s", 100,
                    3600000, "Longest wait between reconnect attempts"),
    TD_CFG_DURATION("late_row_check", CFG, late_row_check_ms, "5m", 0, 86400000,
                    "Count each polled range again this long after the poll and warn about "
                    "rows it missed: timestamp mode, rows that committed behind the "
                    "watermark; snapshot mode, rows the updated_at bound kept out (0: off; "
                    "tables only)"),
    TD_CFG_DURATION("hold_warning", CFG, hold_warning_ms, "1m", 0, 604800000,
                    "snapshot mode: warn (once, and once when it ends) when a transaction "
                    "still running on the server holds the reading back this long (0: never)"),
    TD_CFG_DURATION("updated_at_margin", CFG, updated_at_margin_ms, "5m", 0, 604800000,
                    "snapshot mode: how much earlier than its transaction's first write a "
                    "row's updated_at may be; bounds each poll by updated_at so the index is "
                    "used (0: no bound, each poll scans the table)"),
    TD_CFG_STRING("slot", CFG, slot, NULL,
                  "logical: the replication slot (made at first start if missing); "
                  "unset: tuodi_<instance>"),
    TD_CFG_STRING("publication", CFG, publication, "tuodi",
                  "logical: the publication naming the table (CREATE PUBLICATION)"),
    TD_CFG_END,
};
#undef CFG

/* A polled range (lo, hi] of positions waiting for its late-row check. */
typedef struct late_check {
    bool has_lo;
    int64_t lo_us, hi_us;
    char lo_id[TDC_ID_MAX], hi_id[TDC_ID_MAX];
    char *snapshot; /* pg_snapshot text of the poll */
    int64_t due_ms; /* monotonic */
} late_check;

/* Snapshot mode: every transaction id >= next_xid was assigned after the
 * database time at_us (microseconds since the epoch). */
typedef struct xid_pair {
    int64_t next_xid, at_us;
} xid_pair;

/* Snapshot mode: a finished range [from, until) of xid8 that was read with
 * the updated_at bound bound_us, waiting for its check (late_row_check). */
typedef struct bound_check {
    int64_t from, until, bound_us;
    int64_t due_ms; /* monotonic */
} bound_check;

typedef struct tdc_postgres {
    tdc_source base;
    int mode; /* tdc_pg_mode */

    /* Configuration (owned copies). */
    char *conninfo, *table_cfg, *ucol, *idcol, *time_zone;
    char **columns;
    size_t ncolumns;
    int64_t settle_ms, poll_ms, batch, stmt_timeout_ms, backoff_max_ms, late_ms;
    int64_t hold_warn_ms, margin_ms;
    char settle_txt[24], batch_txt[24];

    /* Connection. */
    PGconn *conn;
    bool ready;       /* connected, relation checked, statements built */
    bool down;        /* an outage is under way (and was logged) */
    int64_t down_since_ms, backoff_ms, next_connect_ms;

    /* The relation, resolved by the database. */
    char unit[TDC_UNIT_MAX]; /* "schema.name"; table_cfg until connected */
    char *sql_first, *sql_next, *sql_check_first, *sql_check_next;
    char *sql_lag_first, *sql_lag_next; /* count(*) over the poll's range */
    size_t nuser;            /* user columns in the select list */
    bool xmin_ok;            /* table or partitioned table */
    /* snapshot mode: open a range; poll and lag by [has last][has bound] */
    char *sql_snap_open, *sql_snap_poll[2][2], *sql_snap_lag[2][2], *sql_snap_check;

    /* Watermark: the position after the last row handed out. */
    bool has_pos;
    int64_t pos_us;
    char pos_id[TDC_ID_MAX];
    int64_t next_row;
    char resumed_table[TDC_UNIT_MAX]; /* "" when not resumed from a position */
    /* Snapshot mode: the range [xid_from, xid_until) of transactions being
     * read (has_pos: known; xid_until <= xid_from: to be opened by the next
     * poll) and, when has_last, the (pos_us, pos_id) of the last row read in
     * it. pos_us/pos_id always hold the last row handed out. */
    int64_t xid_from, xid_until;
    bool has_last;
    bool batch_ends_range;  /* the batch was short: its last row ends the range */
    bool range_bounded;     /* a poll of the range had an updated_at bound: */
    int64_t range_bound_us; /* the highest (the same for every poll of a run) */
    bound_check *bchecks;   /* finished ranges waiting for their check, oldest first */
    size_t nbchecks;
    xid_pair pairs[XID_PAIRS_MAX];
    size_t npairs;
    /* The oldest running transaction (the range end) as last observed. */
    bool held;
    int64_t held_xid, held_since_ms;
    bool held_warned;

    /* The current batch. */
    PGresult *res;
    int nrows, cur;
    bool poll_now;          /* the last poll was full: poll again at once */
    bool polled_short;      /* the last poll returned fewer than batch rows */
    int64_t next_poll_ms;
    bool batch_has_lo;      /* the range the current batch started after */
    int64_t batch_lo_us;
    char batch_lo_id[TDC_ID_MAX];
    const char **fields, **colnames;
    size_t *lens;
    size_t fields_cap;
    tdc_pg_raw raw; /* the current row's raw value */

    /* Late-row checks, oldest first. */
    late_check *checks;
    size_t nchecks;

    tdc_postgres_stats stats;
    char status[512];
} tdc_postgres;

static const tdc_source_ops tdc_postgres_ops;

/* ---- small helpers --------------------------------------------------------- */

static char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void copy_str(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

/* "2026-11-28 12:00:01.123456" (UTC) from microseconds since the epoch. */
static void format_us(int64_t us, char *buf, size_t size)
{
    int64_t secs = us / 1000000, frac = us % 1000000;
    time_t t;
    struct tm tm;

    if (frac < 0) {
        frac += 1000000;
        secs -= 1;
    }
    t = (time_t)secs;
    if (!gmtime_r(&t, &tm)) {
        snprintf(buf, size, "@%" PRId64 "us", us);
        return;
    }
    snprintf(buf, size, "%04d-%02d-%02d %02d:%02d:%02d.%06d", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
}

/* A growing string for SQL text. */
/* ---- configuration -------------------------------------------------------- */

static void pg_drop_statements(tdc_postgres *pg)
{
    free(pg->sql_first);
    free(pg->sql_next);
    free(pg->sql_check_first);
    free(pg->sql_check_next);
    free(pg->sql_lag_first);
    free(pg->sql_lag_next);
    pg->sql_first = pg->sql_next = pg->sql_check_first = pg->sql_check_next = NULL;
    pg->sql_lag_first = pg->sql_lag_next = NULL;
    free(pg->sql_snap_open);
    free(pg->sql_snap_check);
    pg->sql_snap_open = pg->sql_snap_check = NULL;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            free(pg->sql_snap_poll[i][j]);
            free(pg->sql_snap_lag[i][j]);
            pg->sql_snap_poll[i][j] = pg->sql_snap_lag[i][j] = NULL;
        }
    pg->ready = false;
}

static void pg_clear_checks(tdc_postgres *pg)
{
    for (size_t i = 0; i < pg->nchecks; i++)
        free(pg->checks[i].snapshot);
    pg->nchecks = 0;
    pg->nbchecks = 0;
    pg->range_bounded = false;
}

static void pg_clear_batch(tdc_postgres *pg)
{
    PQclear(pg->res);
    pg->res = NULL;
    pg->nrows = pg->cur = 0;
}

static void pg_free(tdc_source *src)
{
    tdc_postgres *pg = (tdc_postgres *)src;

    pg_clear_batch(pg);
    pg_clear_checks(pg);
    free(pg->checks);
    free(pg->bchecks);
    pg_drop_statements(pg);
    if (pg->conn)
        PQfinish(pg->conn);
    tdc_pg_conninfo_free(pg->conninfo);
    free(pg->table_cfg);
    free(pg->ucol);
    free(pg->idcol);
    free(pg->time_zone);
    tdc_pg_columns_free(pg->columns, pg->ncolumns);
    free(pg->fields);
    free(pg->colnames);
    free(pg->lens);
    tdc_pg_raw_free(&pg->raw);
    free(pg);
}

int tdc_postgres_new(const struct tdc_postgres_config *cfg, tdc_source **ret,
                     td_error *err)
{
    tdc_postgres *pg = NULL;
    int r;

    if (!cfg || !ret)
        return td_error_set(err, -EINVAL, "postgres: no configuration");
    if (cfg->mode == TDC_PG_LOGICAL)
        return tdc_pglogical_new(cfg, /* instance= */ NULL, ret, err);
    r = tdc_pg_conninfo_check(cfg->conninfo, err);
    if (r < 0)
        return r;
    if (!cfg->table || !*cfg->table)
        return td_error_set(err, -EINVAL, "postgres: table is empty");
    if ((cfg->updated_at_column && !*cfg->updated_at_column) ||
        (cfg->id_column && !*cfg->id_column))
        return td_error_set(err, -EINVAL,
                            "postgres: %s: updated_at_column and id_column must not be empty",
                            cfg->table);
    r = tdc_pg_columns_check(cfg->table, cfg->columns, cfg->ncolumns, err);
    if (r < 0)
        return r;
    if (cfg->batch_size < 1 || cfg->batch_size > 1000000 || cfg->settle_delay_ms < 0 ||
        cfg->poll_interval_ms < 1 || cfg->statement_timeout_ms < 0 ||
        cfg->late_row_check_ms < 0 || cfg->reconnect_max_backoff_ms < 0 ||
        cfg->hold_warning_ms < 0 || cfg->updated_at_margin_ms < 0)
        return td_error_set(err, -EINVAL, "postgres: %s: a duration or batch_size is out of range",
                            cfg->table);
    if (strlen(cfg->table) >= TDC_UNIT_MAX)
        return td_error_set(err, -EINVAL, "postgres: table name longer than %d bytes",
                            TDC_UNIT_MAX - 1);
    if (cfg->mode != TDC_PG_TIMESTAMP && cfg->mode != TDC_PG_SNAPSHOT)
        return td_error_set(err, -EINVAL, "postgres: %s: unknown mode %d", cfg->table,
                            cfg->mode);

    pg = calloc(1, sizeof(*pg));
    if (!pg)
        goto oom;
    pg->base.ops = &tdc_postgres_ops;
    pg->conninfo = xstrdup(cfg->conninfo);
    pg->table_cfg = xstrdup(cfg->table);
    pg->ucol = xstrdup(cfg->updated_at_column ? cfg->updated_at_column : "updated_at");
    pg->idcol = xstrdup(cfg->id_column ? cfg->id_column : "id");
    pg->time_zone = (cfg->time_zone && *cfg->time_zone) ? xstrdup(cfg->time_zone) : NULL;
    if (!pg->conninfo || !pg->table_cfg || !pg->ucol || !pg->idcol ||
        (cfg->time_zone && *cfg->time_zone && !pg->time_zone))
        goto oom;
    if (tdc_pg_columns_dup(cfg->columns, cfg->ncolumns, &pg->columns, &pg->ncolumns) < 0)
        goto oom;
    pg->settle_ms = cfg->settle_delay_ms;
    pg->poll_ms = cfg->poll_interval_ms;
    pg->batch = cfg->batch_size;
    pg->stmt_timeout_ms = cfg->statement_timeout_ms;
    pg->backoff_max_ms = cfg->reconnect_max_backoff_ms > 0 ? cfg->reconnect_max_backoff_ms
                                                           : 30000;
    pg->mode = cfg->mode;
    pg->late_ms = cfg->late_row_check_ms;
    pg->hold_warn_ms = cfg->hold_warning_ms;
    pg->margin_ms = cfg->updated_at_margin_ms;
    snprintf(pg->settle_txt, sizeof(pg->settle_txt), "%" PRId64, pg->settle_ms);
    snprintf(pg->batch_txt, sizeof(pg->batch_txt), "%" PRId64, pg->batch);
    copy_str(pg->unit, sizeof(pg->unit), pg->table_cfg);
    pg->backoff_ms = TDC_PG_BACKOFF_FIRST_MS;
    pg->next_row = 1;
    pg->poll_now = true;
    *ret = &pg->base;
    return 0;

oom:
    if (pg)
        pg_free(&pg->base);
    return td_error_set(err, -ENOMEM, "postgres: out of memory");
}

int tdc_postgres_check(const struct tdc_postgres_config *cfg, const char *config_path,
                       const char *key_prefix, FILE *out)
{
    /* conninfo options that name a file (or, sslcrldir, a directory) */
    static const struct {
        const char *name;
        td_path_need need;
    } files[] = {{"sslcert", TD_PATH_READ_FILE},     {"sslkey", TD_PATH_READ_FILE},
                 {"sslrootcert", TD_PATH_READ_FILE}, {"sslcrl", TD_PATH_READ_FILE},
                 {"sslcrldir", TD_PATH_READ_DIR},    {"passfile", TD_PATH_READ_FILE}};
    PQconninfoOption *opts;
    tdc_source *src = NULL;
    td_check ck = {.out = out};
    char key[200], why[64];
    char *msg = NULL;
    int r;

    if (!cfg || !out)
        return -EINVAL;
    if (!key_prefix)
        key_prefix = "postgres";
    r = td_check_step(&ck, tdc_postgres_new(cfg, &src, &ck.step));
    tdc_source_free(src);
    if (r < 0)
        return r;
    if (!tdc_pg_conninfo_has_keys(cfg->conninfo))
        return 0;
    opts = PQconninfoParse(cfg->conninfo, &msg);
    PQfreemem(msg);
    if (!opts)
        return 0; /* tdc_postgres_new() said so already */
    snprintf(key, sizeof(key), "%s.conninfo", key_prefix);
    for (PQconninfoOption *o = opts; o->keyword; o++)
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
            if (strcmp(o->keyword, files[i].name) != 0 || !o->val || !*o->val)
                continue;
            /* libpq's "system": the system's trusted roots, no file */
            if (strcmp(o->keyword, "sslrootcert") == 0 && strcmp(o->val, "system") == 0)
                continue;
            snprintf(why, sizeof(why), "its %s", files[i].name);
            td_check_step(&ck, td_path_check(config_path, key, o->val, files[i].need, why,
                                             &ck.step));
        }
    PQconninfoFree(opts);
    return ck.rc;
}

int tdc_postgres_stats_get(const tdc_source *src, tdc_postgres_stats *ret)
{
    const tdc_postgres *pg = (const tdc_postgres *)src;

    if (!src || src->ops != &tdc_postgres_ops || !ret)
        return -EINVAL;
    *ret = pg->stats;
    ret->connected = pg->ready;
    ret->late_check_active = pg->late_ms > 0 && pg->xmin_ok &&
                             (pg->mode != TDC_PG_SNAPSHOT || pg->margin_ms > 0);
    ret->snapshot = pg->mode == TDC_PG_SNAPSHOT;
    ret->held_seconds =
        pg->held ? (double)(td_time_mono_ms() - pg->held_since_ms) / 1000.0 : 0.0;
    return 0;
}

/* ---- statements and connections that a stop does not wait for ------------ */

/* How long a canceled statement's answer is waited for. */
#define PG_CANCEL_WAIT_MS 1000

/* PQexecParams(), but a stop request cancels the statement (PQcancel)
 * instead of waiting for it: a poll may run up to statement_timeout (1 min
 * by default) or wait for a lock. The result is then the server's
 * "canceling statement due to user request" (SQLSTATE 57014), a transient
 * failure to the callers: nothing was read, the next start reads it. */
static PGresult *pg_exec(PGconn *conn, const char *sql, int n, const Oid *types,
                         const char *const *values, const int *lengths, const int *formats,
                         int result_format)
{
    PGresult *res, *last = NULL;
    int64_t give_up = 0; /* after a cancel: when to stop waiting for the answer */

    if (!PQsendQueryParams(conn, sql, n, types, values, lengths, formats, result_format))
        return NULL; /* no connection: the callers read PQerrorMessage */
    for (;;) {
        while (PQisBusy(conn)) {
            if (!give_up && !tdc_pg_wait_socket(PQsocket(conn), POLLIN, INT64_MAX)) {
                /* a stop: cancel, then wait a little for the server's answer */
                PGcancel *c = PQgetCancel(conn);
                char errbuf[256];

                if (c) {
                    (void)PQcancel(c, errbuf, sizeof(errbuf));
                    PQfreeCancel(c);
                }
                give_up = td_time_mono_ms() + PG_CANCEL_WAIT_MS;
            }
            if (give_up) {
                /* no answer in time (the server is gone): the connection
                 * is still busy; the callers see no result and drop it */
                struct pollfd p = {.fd = PQsocket(conn), .events = POLLIN};

                if (td_time_mono_ms() >= give_up)
                    return last;
                (void)poll(&p, 1, 100);
            }
            if (!PQconsumeInput(conn))
                break; /* the connection failed: PQgetResult reports it */
        }
        res = PQgetResult(conn);
        if (!res)
            break;
        PQclear(last);
        last = res;
        if (PQstatus(conn) == CONNECTION_BAD)
            break;
    }
    return last;
}

/* ---- errors and outages --------------------------------------------------- */

/* Starts (or continues) an outage: logs its start once, drops the
 * connection, schedules the next attempt. */
static void pg_outage(tdc_postgres *pg, const char *why)
{
    int64_t now = td_time_mono_ms();
    char line[512];

    tdc_pg_one_line(line, sizeof(line), why);
    if (!pg->down && td_signal_stop_requested()) {
        /* not an outage: the statement or connection was cut short by a
         * stop request */
        td_log_component(TD_LOG_INFO, LOG_COMPONENT, "%s: stopping (%s)", pg->unit, line);
    } else if (!pg->down) {
        pg->down = true;
        pg->down_since_ms = now;
        pg->stats.outages++;
        td_log_component(TD_LOG_WARNING, LOG_COMPONENT,
                         "%s: cannot read from the database (%s); retrying with backoff, "
                         "nothing is lost meanwhile",
                         pg->unit, line);
    } else {
        td_log_component(TD_LOG_DEBUG, LOG_COMPONENT, "%s: still cannot read: %s", pg->unit,
                         line);
    }
    if (pg->conn) {
        PQfinish(pg->conn);
        pg->conn = NULL;
    }
    pg->ready = false;
    pg->next_connect_ms = now + pg->backoff_ms;
    pg->backoff_ms = tdc_pg_backoff_next(pg->backoff_ms, pg->backoff_max_ms);
}

static void pg_outage_over(tdc_postgres *pg)
{
    if (pg->down) {
        td_log_component(TD_LOG_NOTICE, LOG_COMPONENT,
                         "%s: reading again after %.1f s without the database", pg->unit,
                         (double)(td_time_mono_ms() - pg->down_since_ms) / 1000.0);
        pg->down = false;
    }
    pg->backoff_ms = TDC_PG_BACKOFF_FIRST_MS;
}

/* A failed statement: an outage (returns 0: the caller says IDLE) or an
 * error for the engine (returns the negative code, text in err). */
static int pg_failed(tdc_postgres *pg, PGresult *res, const char *what, td_error *err)
{
    char line[512];
    int r = 0;

    tdc_pg_one_line(line, sizeof(line), tdc_pg_error_text(pg->conn, res));
    if (tdc_pg_transient(pg->conn, res)) {
        pg_outage(pg, line);
    } else {
        const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        r = (st && (strcmp(st, "42P01") == 0 || strcmp(st, "42703") == 0 ||
                    strcmp(st, "3F000") == 0))
                ? -ENOENT
                : -EINVAL;
        td_error_set(err, r, "postgres: %s: %s: %s (SQLSTATE %s)", pg->unit, what, line,
                     st ? st : "none");
        /* Check the relation again on the next call. */
        pg_drop_statements(pg);
    }
    PQclear(res);
    return r;
}

/* ---- connecting and checking the relation ---------------------------------- */

/* Connects and sets the session up. 0 connected, 1 not (outage), <0 error. */
static int pg_connect(tdc_postgres *pg, td_error *err)
{
    char timeout[32];
    const char *params[2];
    bool cut_short;
    PGresult *res;

    pg->conn = tdc_pg_connect(pg->conninfo, /* replication= */ NULL, &cut_short);
    if (cut_short) {
        pg_outage(pg, td_signal_stop_requested() ? "a stop was requested"
                                                 : "no connection within connect_timeout");
        return 1;
    }
    if (!pg->conn)
        return td_error_set(err, -ENOMEM, "postgres: %s: out of memory", pg->unit);
    if (PQstatus(pg->conn) != CONNECTION_OK) {
        pg_outage(pg, PQerrorMessage(pg->conn));
        return 1;
    }
    PQsetNoticeProcessor(pg->conn, tdc_pg_notice_to_log, NULL);
    snprintf(timeout, sizeof(timeout), "%" PRId64, pg->stmt_timeout_ms);
    params[0] = timeout;
    params[1] = pg->time_zone;
    res = pg_exec(pg->conn,
                       pg->time_zone
                           ? "SELECT pg_catalog.set_config('statement_timeout', $1, false),"
                             " pg_catalog.set_config('default_transaction_read_only', 'on', false),"
                             " pg_catalog.set_config('TimeZone', $2, false)"
                           : "SELECT pg_catalog.set_config('statement_timeout', $1, false),"
                             " pg_catalog.set_config('default_transaction_read_only', 'on', false)",
                       pg->time_zone ? 2 : 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        int r = pg_failed(pg, res, "setting up the session (statement_timeout, time_zone)", err);
        return r < 0 ? r : 1;
    }
    PQclear(res);
    return 0;
}

/* One column of the relation. */
typedef struct rel_col {
    const char *name, *type;
    long base_oid;
} rel_col;

static const rel_col *find_col(const rel_col *cols, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(cols[i].name, name) == 0)
            return &cols[i];
    return NULL;
}

static int no_column(tdc_postgres *pg, const char *what, const char *name,
                     const rel_col *cols, size_t n, td_error *err)
{
    char list[1024];
    size_t len = 0;

    list[0] = '\0';
    for (size_t i = 0; i < n && len + 8 < sizeof(list); i++) {
        int w = snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "", cols[i].name);
        if (w < 0 || (size_t)w >= sizeof(list) - len) {
            snprintf(list + len, sizeof(list) - len, ", ...");
            break;
        }
        len += (size_t)w;
    }
    return td_error_set(err, -ENOENT, "postgres: %s has no column \"%s\" (%s); its columns: %s",
                        pg->unit, name, what, list);
}

/* The timestamp for a bigint parameter of microseconds since the epoch, in
 * the updated_at column's type. Exact over PostgreSQL's whole timestamp range
 * (whole days, then microseconds, added to a zone-less timestamp, so neither
 * a double nor a daylight-saving day gets in the way), then placed in UTC; a
 * timestamp-without-time-zone column gets it in the session's TimeZone. */
static void sb_ts_expr(td_str_buf *b, const char *us, bool tz)
{
    td_str_buf_addf(b,
            "((timestamp '1970-01-01' + (%s / 86400000000) * interval '1 day'"
            " + (%s %% 86400000000) * interval '1 microsecond') AT TIME ZONE 'UTC')%s",
            us, us, tz ? "" : "::timestamp");
}

static void sb_ts_param(td_str_buf *b, int param, bool tz)
{
    char us[24];

    snprintf(us, sizeof(us), "$%d::bigint", param);
    sb_ts_expr(b, us, tz);
}

/* The poll's condition: after the position (v 1; parameters from *p on) or
 * from the beginning (v 0), up to the settle cutoff (one more parameter). */
static void sb_poll_where(td_str_buf *b, int v, int *p, const char *u, const char *id,
                          const char *idtype, bool tz)
{
    if (v == 0) {
        td_str_buf_addf(b, "t.%s > '-infinity'", u);
    } else {
        td_str_buf_addf(b, "(t.%s, t.%s) > (", u, id);
        sb_ts_param(b, *p, tz);
        td_str_buf_addf(b, ", $%d::%s)", *p + 1, idtype);
        *p += 2;
    }
    /* The cutoff: the database's clock (the poll's transaction start). */
    td_str_buf_addf(b, " AND t.%s <= (pg_catalog.now() - $%d::bigint * interval '1 millisecond')%s", u,
            *p, tz ? "" : "::timestamp");
}

/* The select list of a poll: the user columns, updated_at as microseconds
 * since the epoch (exact also where EXTRACT gives a double, before
 * PostgreSQL 14: whole seconds plus microseconds), the id. */
static void sb_select_list(td_str_buf *b, char *const *sel, size_t nsel, const char *u,
                           const char *id, bool tz)
{
    const char *cast = tz ? "" : "::timestamptz";

    td_str_buf_add(b, "SELECT ");
    for (size_t i = 0; i < nsel; i++) {
        td_str_buf_add(b, "t.");
        td_str_buf_add(b, sel[i]);
        td_str_buf_add(b, ", ");
    }
    td_str_buf_addf(b,
            "(EXTRACT(EPOCH FROM pg_catalog.date_trunc('second', t.%s%s))::bigint"
            " * 1000000 + EXTRACT(MICROSECONDS FROM t.%s%s)::bigint %% 1000000), t.%s",
            u, cast, u, cast, id);
}

/* Snapshot mode: FROM the relation with each row's xmin as a 64-bit xid8
 * (v.x8): the largest value not above next with xmin's low 32 bits, next
 * being the next transaction id as xid8 (the snapshot's xmax plus
 * age(xmax)). age() counts from that same next id (read once per
 * transaction) as a signed 32-bit distance: next - age, less 2^32 where
 * age is negative (a frozen row more than 2^31 transactions old). Every row
 * the statement sees was written below next, so the mapping is exact for
 * rows written in the last 2^32 transactions and never puts a row above
 * next (a start reads every row in its first range). The special xids 0-2
 * (rows frozen before PostgreSQL 9.4), whose age() is INT_MAX, are 0. age()
 * is about seven times cheaper per row than xmin::text::bigint. */
static void sb_snap_from(td_str_buf *b, const char *rel)
{
    static const char next[] =
        "(SELECT pg_catalog.pg_snapshot_xmax(pg_catalog.pg_current_snapshot())::text::bigint"
        " + pg_catalog.age((pg_catalog.pg_snapshot_xmax(pg_catalog.pg_current_snapshot())"
        "::text::bigint % 4294967296)::text::xid))";

    td_str_buf_addf(b, " FROM %s AS t CROSS JOIN LATERAL (SELECT pg_catalog.age(t.xmin) AS a) AS w"
               " CROSS JOIN LATERAL (SELECT CASE WHEN w.a = 2147483647 THEN 0"
               " WHEN w.a < 0 THEN %s - w.a - 4294967296 ELSE %s - w.a END AS x8) AS v",
            rel, next, next);
}

/* Snapshot mode: rows of the range [$1, $2) of xid8, after the last row read
 * (last: $3 updated_at, $4 id), with updated_at at least the bound (bound:
 * the next parameter), in (updated_at, id) order; LIMIT the last parameter.
 * lag: the count of the rows still to read, from transaction $1 on; with a
 * last row, those of the range [$1, $2) only after it ($2 NULL: the range is
 * still to be opened, its end is the count's own snapshot's xmin). */
static char *build_snap_statement(bool lag, bool last, bool bound, const char *rel,
                                  const char *u, const char *id, const char *idtype, bool tz,
                                  char *const *sel, size_t nsel)
{
    td_str_buf b = {0};
    int p = lag && !last ? 2 : 3;

    if (lag)
        td_str_buf_add(&b, "SELECT count(*)");
    else
        sb_select_list(&b, sel, nsel, u, id, tz);
    sb_snap_from(&b, rel);
    td_str_buf_addf(&b, " WHERE t.%s > '-infinity' AND v.x8 >= $1::bigint", u);
    if (lag && last) {
        td_str_buf_add(&b, " AND (v.x8 >= GREATEST($1::bigint, COALESCE($2::bigint,"
                   " pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())::text::bigint))");
        td_str_buf_addf(&b, " OR (t.%s, t.%s) > (", u, id);
        sb_ts_param(&b, p, tz);
        td_str_buf_addf(&b, ", $%d::%s))", p + 1, idtype);
        p += 2;
    } else if (!lag) {
        td_str_buf_add(&b, " AND v.x8 < $2::bigint");
        if (last) {
            td_str_buf_addf(&b, " AND (t.%s, t.%s) > (", u, id);
            sb_ts_param(&b, p, tz);
            td_str_buf_addf(&b, ", $%d::%s)", p + 1, idtype);
            p += 2;
        }
    }
    if (bound) {
        td_str_buf_addf(&b, " AND t.%s >= ", u);
        sb_ts_param(&b, p, tz);
        p++;
    }
    if (!lag)
        td_str_buf_addf(&b, " ORDER BY t.%s, t.%s LIMIT $%d::bigint", u, id, p);
    return td_str_buf_steal(&b);
}

/* Snapshot mode, late_row_check: the rows of finished ranges that their
 * polls' updated_at bound kept out. $1, $2, $3: arrays of the ranges' from,
 * until and bound (µs); $4, $5: the span of the ranges; $6: the highest
 * bound. Only the rows of the span below the highest bound (few: a row of a
 * recent transaction has a recent updated_at) are matched to their range. */
static char *build_snap_check(const char *rel, const char *u, bool tz)
{
    td_str_buf b = {0};

    td_str_buf_add(&b, "SELECT count(*)");
    sb_snap_from(&b, rel);
    td_str_buf_add(&b, " CROSS JOIN LATERAL (SELECT q.bd FROM ROWS FROM"
               " (pg_catalog.unnest($1::bigint[]), pg_catalog.unnest($2::bigint[]),"
               " pg_catalog.unnest($3::bigint[])) AS q(a, b, bd)"
               " WHERE v.x8 >= q.a AND v.x8 < q.b) AS q");
    td_str_buf_addf(&b, " WHERE v.x8 >= $4::bigint AND v.x8 < $5::bigint AND t.%s > '-infinity'"
                " AND t.%s < ", u, u);
    sb_ts_param(&b, 6, tz);
    td_str_buf_addf(&b, " AND t.%s < ", u);
    sb_ts_expr(&b, "q.bd", tz);
    return td_str_buf_steal(&b);
}

/* Snapshot mode, opening a range: the snapshot's xmin and xmax (xid8), the
 * next transaction id to be assigned (xmax plus age(xmax): age() counts from
 * the next xid, read once per transaction after the snapshot was taken) and
 * the transaction's start (now()) in microseconds: every transaction id from
 * that next xid on is assigned after that time. */
static const char sql_snap_open[] =
    "SELECT pg_catalog.pg_snapshot_xmin(x.s)::text::bigint,"
    " pg_catalog.pg_snapshot_xmax(x.s)::text::bigint,"
    " pg_catalog.pg_snapshot_xmax(x.s)::text::bigint + CASE"
    " WHEN pg_catalog.pg_snapshot_xmax(x.s)::text::bigint % 4294967296 < 3 THEN 0"
    " ELSE GREATEST(pg_catalog.age(((pg_catalog.pg_snapshot_xmax(x.s)::text::bigint"
    " % 4294967296)::text)::xid), 0) END,"
    " EXTRACT(EPOCH FROM pg_catalog.date_trunc('second', pg_catalog.now()))::bigint * 1000000"
    " + EXTRACT(MICROSECONDS FROM pg_catalog.now())::bigint % 1000000"
    " FROM (SELECT pg_catalog.pg_current_snapshot() AS s) AS x";

/* Builds the statements for the checked relation. */
static int build_statements(tdc_postgres *pg, const char *rel, const char *u,
                            const char *id, const char *idtype, bool tz,
                            char *const *sel, size_t nsel)
{
    char *out[6] = {NULL, NULL, NULL, NULL, NULL, NULL};

    for (int v = 0; v < 2; v++) { /* 0: from the beginning, 1: after a position */
        td_str_buf b = {0};
        int p = 1;

        sb_select_list(&b, sel, nsel, u, id, tz);
        if (pg->late_ms > 0 && pg->xmin_ok && pg->mode == TDC_PG_TIMESTAMP)
            td_str_buf_add(&b, ", (SELECT pg_catalog.pg_current_snapshot()::text)");
        td_str_buf_addf(&b, " FROM %s AS t WHERE ", rel);
        sb_poll_where(&b, v, &p, u, id, idtype, tz);
        td_str_buf_addf(&b, " ORDER BY t.%s, t.%s LIMIT $%d::bigint", u, id, p + 1);
        out[v] = td_str_buf_steal(&b);
    }
    for (int v = 0; v < 2; v++) { /* the lag: the rows the polls have still to read */
        td_str_buf b = {0};
        int p = 1;

        td_str_buf_addf(&b, "SELECT count(*) FROM %s AS t WHERE ", rel);
        sb_poll_where(&b, v, &p, u, id, idtype, tz);
        out[4 + v] = td_str_buf_steal(&b);
    }
    if (pg->late_ms > 0 && pg->xmin_ok && pg->mode == TDC_PG_TIMESTAMP) {
        /* A row version is late when the transaction that wrote it was not
         * visible to the poll's snapshot ($snap). xmin is 32 bits: it is made
         * a 64-bit xid8 with the epoch of the current next xid (r.ref); every
         * xid in the table is below r.ref. */
        static const char xid_fmt[] =
            "(((r.ref >> 32) << 32) | t.xmin::text::bigint)";
        for (int v = 0; v < 2; v++) {
            td_str_buf b = {0};
            int p = 1;

            td_str_buf_addf(&b, "SELECT count(*) FROM %s AS t, (SELECT pg_catalog.pg_snapshot_xmax("
                        "pg_catalog.pg_current_snapshot())::text::bigint AS ref) AS r WHERE ",
                    rel);
            if (v == 0) {
                td_str_buf_addf(&b, "t.%s > '-infinity'", u);
            } else {
                td_str_buf_addf(&b, "(t.%s, t.%s) > (", u, id);
                sb_ts_param(&b, p, tz);
                td_str_buf_addf(&b, ", $%d::%s)", p + 1, idtype);
                p += 2;
            }
            td_str_buf_addf(&b, " AND (t.%s, t.%s) <= (", u, id);
            sb_ts_param(&b, p, tz);
            td_str_buf_addf(&b, ", $%d::%s) AND t.xmin::text::bigint >= 3", p + 1, idtype);
            td_str_buf_add(&b, " AND NOT pg_catalog.pg_visible_in_snapshot(GREATEST(CASE WHEN ");
            td_str_buf_addf(&b, "%s >= r.ref THEN %s - 4294967296 ELSE %s END, 0)", xid_fmt, xid_fmt,
                    xid_fmt);
            td_str_buf_addf(&b, "::text::xid8, $%d::pg_snapshot)", p + 2);
            out[2 + v] = td_str_buf_steal(&b);
        }
    }
    if (!out[0] || !out[1] || !out[4] || !out[5] ||
        (pg->late_ms > 0 && pg->xmin_ok && pg->mode == TDC_PG_TIMESTAMP &&
         (!out[2] || !out[3]))) {
        for (int i = 0; i < 6; i++)
            free(out[i]);
        return -ENOMEM;
    }
    if (pg->mode == TDC_PG_SNAPSHOT) {
        bool oom = false;

        pg->sql_snap_open = strdup(sql_snap_open);
        pg->sql_snap_check = build_snap_check(rel, u, tz);
        oom = !pg->sql_snap_open || !pg->sql_snap_check;
        for (int l = 0; l < 2; l++)
            for (int bd = 0; bd < 2; bd++) {
                pg->sql_snap_poll[l][bd] = build_snap_statement(false, l, bd, rel, u, id,
                                                                idtype, tz, sel, nsel);
                pg->sql_snap_lag[l][bd] = build_snap_statement(true, l, bd, rel, u, id,
                                                               idtype, tz, sel, nsel);
                oom = oom || !pg->sql_snap_poll[l][bd] || !pg->sql_snap_lag[l][bd];
            }
        if (oom) {
            for (int i = 0; i < 6; i++)
                free(out[i]);
            return -ENOMEM;
        }
    }
    pg->sql_first = out[0];
    pg->sql_next = out[1];
    pg->sql_check_first = out[2];
    pg->sql_check_next = out[3];
    pg->sql_lag_first = out[4];
    pg->sql_lag_next = out[5];
    return 0;
}

/* Resolves the relation and its columns, checks the configuration against
 * them, builds the statements and tries the poll once (LIMIT 0: parse, plan
 * and privileges). 0 ready, 1 outage, <0 error. */
static int pg_check_relation(tdc_postgres *pg, td_error *err)
{
    const char *params[1];
    PGresult *res = NULL, *cres = NULL;
    rel_col *cols = NULL;
    char **sel = NULL;
    char *rel = NULL, *nsp = NULL, *name = NULL, *u = NULL, *id = NULL;
    size_t ncols = 0, nsel = 0;
    const rel_col *ucol, *idcol;
    char relkind;
    bool tz;
    int r;

    params[0] = pg->table_cfg;
    res = pg_exec(pg->conn,
                       "SELECT n.nspname, c.relname, c.relkind, c.oid::text"
                       " FROM pg_catalog.pg_class c"
                       " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                       " WHERE c.oid = pg_catalog.to_regclass($1)",
                       1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        r = pg_failed(pg, res, "looking up the table", err);
        res = NULL;
        r = r < 0 ? r : 1;
        goto out;
    }
    if (PQntuples(res) != 1) {
        r = td_error_set(err, -ENOENT,
                         "postgres: table %s does not exist (or is not visible to this user)",
                         pg->table_cfg);
        goto out;
    }
    snprintf(pg->unit, sizeof(pg->unit), "%s.%s", PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
    relkind = PQgetvalue(res, 0, 2)[0];
    if (!strchr("rpvmf", relkind)) {
        r = td_error_set(err, -EINVAL, "postgres: %s is not a table or view (relkind %c)",
                         pg->unit, relkind);
        goto out;
    }
    /* xmin: tables; pg_current_snapshot(): PostgreSQL 13 and newer. */
    pg->xmin_ok = (relkind == 'r' || relkind == 'p') && PQserverVersion(pg->conn) >= 130000;
    if (pg->mode == TDC_PG_SNAPSHOT && relkind != 'r' && relkind != 'p') {
        r = td_error_set(err, -EINVAL,
                         "postgres: %s is %s: snapshot mode reads a table by the "
                         "transactions that wrote its rows (xmin); read its table instead, or "
                         "set mode: timestamp for it (with a settle_delay)",
                         pg->unit,
                         relkind == 'v'   ? "a view"
                         : relkind == 'm' ? "a materialized view"
                                          : "a foreign table");
        goto out;
    }
    if (pg->mode == TDC_PG_SNAPSHOT && !pg->xmin_ok) {
        r = td_error_set(err, -EINVAL,
                         "postgres: %s: snapshot mode needs PostgreSQL 13 or newer "
                         "(pg_current_snapshot); this server is %d; set mode: timestamp",
                         pg->unit, PQserverVersion(pg->conn));
        goto out;
    }
    if (pg->resumed_table[0] && strcmp(pg->resumed_table, pg->unit) != 0) {
        r = td_error_set(err, -EINVAL,
                         "postgres: the committed position is for table %s but this source "
                         "reads %s; give the source a new id to read %s from the beginning",
                         pg->resumed_table, pg->unit, pg->unit);
        goto out;
    }

    params[0] = PQgetvalue(res, 0, 3);
    cres = pg_exec(pg->conn,
                        "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),"
                        " (CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE a.atttypid END)"
                        "::oid::text"
                        " FROM pg_catalog.pg_attribute a"
                        " JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid"
                        " WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped"
                        " ORDER BY a.attnum",
                        1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(cres) != PGRES_TUPLES_OK) {
        r = pg_failed(pg, cres, "reading the table's columns", err);
        cres = NULL;
        r = r < 0 ? r : 1;
        goto out;
    }
    ncols = (size_t)PQntuples(cres);
    cols = calloc(ncols ? ncols : 1, sizeof(*cols));
    if (!cols) {
        r = td_error_set(err, -ENOMEM, "postgres: out of memory");
        goto out;
    }
    for (size_t i = 0; i < ncols; i++) {
        cols[i].name = PQgetvalue(cres, (int)i, 0);
        cols[i].type = PQgetvalue(cres, (int)i, 1);
        cols[i].base_oid = strtol(PQgetvalue(cres, (int)i, 2), NULL, 10);
    }
    ucol = find_col(cols, ncols, pg->ucol);
    if (!ucol) {
        r = no_column(pg, "updated_at_column", pg->ucol, cols, ncols, err);
        goto out;
    }
    if (ucol->base_oid != PG_OID_TIMESTAMP && ucol->base_oid != PG_OID_TIMESTAMPTZ) {
        r = td_error_set(err, -EINVAL,
                         "postgres: %s: updated_at_column \"%s\" is %s; it must be "
                         "timestamp with time zone (or timestamp)",
                         pg->unit, pg->ucol, ucol->type);
        goto out;
    }
    tz = ucol->base_oid == PG_OID_TIMESTAMPTZ;
    idcol = find_col(cols, ncols, pg->idcol);
    if (!idcol) {
        r = no_column(pg, "id_column", pg->idcol, cols, ncols, err);
        goto out;
    }
    for (size_t i = 0; i < pg->ncolumns; i++)
        if (!find_col(cols, ncols, pg->columns[i])) {
            r = no_column(pg, "columns", pg->columns[i], cols, ncols, err);
            goto out;
        }

    nsel = pg->ncolumns ? pg->ncolumns : ncols;
    sel = calloc(nsel ? nsel : 1, sizeof(*sel));
    nsp = tdc_pg_quote_ident(pg->conn, PQgetvalue(res, 0, 0));
    name = tdc_pg_quote_ident(pg->conn, PQgetvalue(res, 0, 1));
    u = tdc_pg_quote_ident(pg->conn, pg->ucol);
    id = tdc_pg_quote_ident(pg->conn, pg->idcol);
    if (!sel || !nsp || !name || !u || !id) {
        r = td_error_set(err, -ENOMEM, "postgres: out of memory");
        goto out;
    }
    for (size_t i = 0; i < nsel; i++) {
        sel[i] = tdc_pg_quote_ident(pg->conn, pg->ncolumns ? pg->columns[i] : cols[i].name);
        if (!sel[i]) {
            r = td_error_set(err, -ENOMEM, "postgres: out of memory");
            goto out;
        }
    }
    rel = malloc(strlen(nsp) + strlen(name) + 2);
    if (!rel) {
        r = td_error_set(err, -ENOMEM, "postgres: out of memory");
        goto out;
    }
    sprintf(rel, "%s.%s", nsp, name);
    pg_drop_statements(pg);
    if (build_statements(pg, rel, u, id, idcol->type, tz, sel, nsel) < 0) {
        r = td_error_set(err, -ENOMEM, "postgres: out of memory");
        goto out;
    }
    pg->nuser = nsel;

    /* Try the poll: the server parses, plans and checks privileges. */
    {
        const char *pp[3] = {pg->settle_txt, "0", NULL};
        const char *sp[3] = {"0", "0", "0"};
        PGresult *t = pg->mode == TDC_PG_SNAPSHOT
                          ? pg_exec(pg->conn, pg->sql_snap_poll[0][0], 3, NULL, sp, NULL,
                                    NULL, 0)
                          : pg_exec(pg->conn, pg->sql_first, 2, NULL, pp, NULL, NULL, 0);
        if (PQresultStatus(t) != PGRES_TUPLES_OK) {
            r = pg_failed(pg, t, "trying the poll statement", err);
            r = r < 0 ? r : 1;
            goto out;
        }
        PQclear(t);
    }
    pg->ready = true;
    r = 0;

out:
    if (sel)
        for (size_t i = 0; i < nsel; i++)
            PQfreemem(sel[i]);
    free(sel);
    PQfreemem(nsp);
    PQfreemem(name);
    PQfreemem(u);
    PQfreemem(id);
    free(rel);
    free(cols);
    PQclear(cres);
    PQclear(res);
    return r;
}

/* Makes sure the source is connected and checked. 0 ready, 1 not now
 * (outage; the caller says IDLE), <0 error. */
static int pg_ensure(tdc_postgres *pg, td_error *err)
{
    int r;

    if (pg->ready && pg->conn && PQstatus(pg->conn) == CONNECTION_OK)
        return 0;
    if (!pg->conn || PQstatus(pg->conn) != CONNECTION_OK) {
        if (pg->conn) {
            PQfinish(pg->conn);
            pg->conn = NULL;
        }
        if (td_time_mono_ms() < pg->next_connect_ms)
            return 1;
        r = pg_connect(pg, err);
        if (r != 0)
            return r;
    }
    r = pg_check_relation(pg, err);
    if (r == 0)
        pg_outage_over(pg);
    return r;
}

/* ---- late-row checks ------------------------------------------------------ */

static void pg_add_check(tdc_postgres *pg, const char *snapshot)
{
    late_check *c;

    if (!pg->checks) {
        pg->checks = calloc(LATE_CHECKS_MAX, sizeof(*pg->checks));
        if (!pg->checks)
            return; /* the check is a diagnostic: skip it */
    }
    if (pg->nchecks == LATE_CHECKS_MAX)
        return; /* cannot happen: the oldest is checked early when full */
    c = &pg->checks[pg->nchecks];
    memset(c, 0, sizeof(*c));
    c->snapshot = strdup(snapshot);
    if (!c->snapshot)
        return;
    c->has_lo = pg->batch_has_lo;
    c->lo_us = pg->batch_lo_us;
    memcpy(c->lo_id, pg->batch_lo_id, sizeof(c->lo_id));
    c->hi_us = pg->pos_us;
    memcpy(c->hi_id, pg->pos_id, sizeof(c->hi_id));
    c->due_ms = td_time_mono_ms() + pg->late_ms;
    pg->nchecks++;
}

static void pg_pop_check(tdc_postgres *pg)
{
    free(pg->checks[0].snapshot);
    memmove(&pg->checks[0], &pg->checks[1], (pg->nchecks - 1) * sizeof(*pg->checks));
    pg->nchecks--;
}

/* Runs the checks that are due. 0, or 1 when the database went away (the
 * checks stay queued). A check that fails otherwise is logged and dropped. */
static int pg_run_checks(tdc_postgres *pg)
{
    while (pg->nchecks > 0 && pg->sql_check_first &&
           (pg->checks[0].due_ms <= td_time_mono_ms() || pg->nchecks >= LATE_CHECKS_MAX - 1)) {
        late_check *c = &pg->checks[0];
        char lo_us[24], hi_us[24], lo_t[80], hi_t[80], line[512];
        const char *p[5];
        int n = 0;
        PGresult *res;

        snprintf(lo_us, sizeof(lo_us), "%" PRId64, c->lo_us);
        snprintf(hi_us, sizeof(hi_us), "%" PRId64, c->hi_us);
        if (c->has_lo) {
            p[n++] = lo_us;
            p[n++] = c->lo_id;
        }
        p[n++] = hi_us;
        p[n++] = c->hi_id;
        p[n++] = c->snapshot;
        res = pg_exec(pg->conn, c->has_lo ? pg->sql_check_next : pg->sql_check_first, n,
                           NULL, p, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            if (tdc_pg_transient(pg->conn, res)) {
                tdc_pg_one_line(line, sizeof(line), tdc_pg_error_text(pg->conn, res));
                PQclear(res);
                pg_outage(pg, line);
                return 1;
            }
            tdc_pg_one_line(line, sizeof(line), tdc_pg_error_text(pg->conn, res));
            td_log_component(TD_LOG_WARNING, LOG_COMPONENT,
                             "%s: late-row check failed (%s); skipped", pg->unit, line);
            PQclear(res);
            pg_pop_check(pg);
            continue;
        }
        {
            long long late = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
            pg->stats.late_checks++;
            if (late > 0) {
                pg->stats.late_rows += (uint64_t)late;
                format_us(c->hi_us, hi_t, sizeof(hi_t));
                if (c->has_lo)
                    format_us(c->lo_us, lo_t, sizeof(lo_t));
                else
                    snprintf(lo_t, sizeof(lo_t), "the beginning");
                td_log_component(TD_LOG_WARNING, LOG_COMPONENT,
                                 "%s: %lld row(s) with updated_at between %s and %s UTC "
                                 "committed after the connector had read past them and "
                                 "will not be published: their transactions committed "
                                 "more than settle_delay (%" PRId64 " ms) after their "
                                 "updated_at, or an update did not advance updated_at",
                                 pg->unit, late, lo_t, hi_t, pg->settle_ms);
            }
        }
        PQclear(res);
        pg_pop_check(pg);
    }
    return 0;
}

/* ---- snapshot mode -------------------------------------------------------- */

/* Remembers that every transaction id >= next_xid was assigned after at_us. */
static void pg_snap_pair(tdc_postgres *pg, int64_t next_xid, int64_t at_us)
{
    if (pg->npairs > 0 && pg->pairs[pg->npairs - 1].next_xid >= next_xid) {
        /* no transaction since: the later time bounds the same ids better */
        if (pg->pairs[pg->npairs - 1].next_xid == next_xid &&
            pg->pairs[pg->npairs - 1].at_us < at_us)
            pg->pairs[pg->npairs - 1].at_us = at_us;
        return;
    }
    if (pg->npairs == XID_PAIRS_MAX) {
        /* keep every other pair, the oldest among them */
        size_t k = 0;
        for (size_t i = 0; i < pg->npairs; i += 2)
            pg->pairs[k++] = pg->pairs[i];
        pg->npairs = k;
    }
    pg->pairs[pg->npairs].next_xid = next_xid;
    pg->pairs[pg->npairs].at_us = at_us;
    pg->npairs++;
}

/* The updated_at bound for the range starting at xid_from: the time of the
 * latest remembered pair whose next xid is not above xid_from (every row of
 * the range and after it was written after that time), less the margin.
 * False when there is none (after a start: the first ranges are read
 * without a bound) or the margin is 0. Forgets the pairs older than it. */
static bool pg_snap_bound(tdc_postgres *pg, int64_t *bound_us)
{
    size_t k = pg->npairs;

    if (pg->margin_ms <= 0)
        return false;
    while (k > 0 && pg->pairs[k - 1].next_xid > pg->xid_from)
        k--;
    if (k == 0)
        return false;
    if (k > 1) {
        memmove(&pg->pairs[0], &pg->pairs[k - 1], (pg->npairs - (k - 1)) * sizeof(*pg->pairs));
        pg->npairs -= k - 1;
    }
    *bound_us = pg->pairs[0].at_us - pg->margin_ms * 1000;
    return true;
}

/* The end of a hold (logged when it was warned about). */
static void pg_snap_release(tdc_postgres *pg, int64_t now_ms)
{
    if (pg->held && pg->held_warned)
        td_log_component(TD_LOG_NOTICE, LOG_COMPONENT,
                         "%s: the transaction that held back reading for at least %.0f s has "
                         "ended; its rows and those that waited behind it follow",
                         pg->unit, (double)(now_ms - pg->held_since_ms) / 1000.0);
    pg->held = false;
    pg->held_warned = false;
}

/* Follows the oldest running transaction (the snapshot's xmin while it is
 * below xmax): how long the same one holds the range end, as observed. */
static void pg_snap_hold(tdc_postgres *pg, int64_t xmin, int64_t xmax)
{
    int64_t now = td_time_mono_ms();

    if (xmin >= xmax) { /* nothing running */
        pg_snap_release(pg, now);
        return;
    }
    if (!pg->held || pg->held_xid != xmin) {
        pg_snap_release(pg, now);
        pg->held = true;
        pg->held_xid = xmin;
        pg->held_since_ms = now;
        return;
    }
    if (!pg->held_warned && pg->hold_warn_ms > 0 && now - pg->held_since_ms >= pg->hold_warn_ms) {
        pg->held_warned = true;
        pg->stats.holds++;
        td_log_component(TD_LOG_WARNING, LOG_COMPONENT,
                         "%s: a transaction on the database server has been running for at "
                         "least %.0f s and holds back reading: rows of transactions that "
                         "began after it wait until it ends (nothing is lost; "
                         "pg_stat_activity shows it by its xact_start)",
                         pg->unit, (double)(now - pg->held_since_ms) / 1000.0);
    }
}

static int parse_i64(const char *s, int64_t *ret)
{
    char *end = NULL;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || !end || end == s || *end)
        return -EINVAL;
    *ret = v;
    return 0;
}

/* Reads the snapshot: remembers a pair, follows the hold. 0 with *xmin
 * (xid8), 1 outage, <0 error (-EINVAL: the position's transaction ids are
 * ahead of the server's: another or a restored database). */
static int pg_snap_open(tdc_postgres *pg, int64_t *xmin, td_error *err)
{
    PGresult *res = pg_exec(pg->conn, pg->sql_snap_open, 0, NULL, NULL, NULL, NULL, 0);
    int64_t v[4];

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        int r = pg_failed(pg, res, "reading the database's snapshot", err);
        return r < 0 ? r : 1;
    }
    if (PQntuples(res) != 1 || PQnfields(res) != 4) {
        PQclear(res);
        return td_error_set(err, -EIO, "postgres: %s: the snapshot query returned no row",
                            pg->unit);
    }
    for (int i = 0; i < 4; i++)
        if (parse_i64(PQgetvalue(res, 0, i), &v[i]) < 0) {
            PQclear(res);
            return td_error_set(err, -EIO, "postgres: %s: the snapshot query returned a "
                                "value that is not a number", pg->unit);
        }
    PQclear(res);
    if (pg->has_pos && v[2] < pg->xid_from) {
        pg_drop_statements(pg); /* check the relation again at the next try */
        return td_error_set(err, -EINVAL,
                            "postgres: %s: the committed position starts at transaction "
                            "%" PRId64 " but this server's next transaction is %" PRId64
                            ": the database was restored, replaced or reset, and its "
                            "transaction ids no longer say what was read; give the source a "
                            "new id to read the table from the beginning",
                            pg->unit, pg->xid_from, v[2]);
    }
    pg_snap_pair(pg, v[2], v[3]);
    pg_snap_hold(pg, v[0], v[1]);
    *xmin = v[0];
    return 0;
}

/* The range [xid_from, xid_until) has been read: the next poll opens the
 * next one. A range read with an updated_at bound waits for its check. */
static void pg_snap_range_done(tdc_postgres *pg)
{
    if (pg->range_bounded && pg->late_ms > 0) {
        if (!pg->bchecks)
            pg->bchecks = calloc(LATE_CHECKS_MAX, sizeof(*pg->bchecks));
        /* a full queue is checked at once (pg_snap_run_checks): never full
         * here; without memory the check, a diagnostic, is skipped */
        if (pg->bchecks && pg->nbchecks < LATE_CHECKS_MAX) {
            bound_check *c = &pg->bchecks[pg->nbchecks++];

            c->from = pg->xid_from;
            c->until = pg->xid_until;
            c->bound_us = pg->range_bound_us;
            c->due_ms = td_time_mono_ms() + pg->late_ms;
        }
    }
    pg->range_bounded = false;
    pg->xid_from = pg->xid_until;
    pg->has_last = false;
}

/* Snapshot mode, late_row_check: once the oldest finished range has waited
 * late_row_check (or the queue is nearly full), counts the rows of the
 * finished ranges (up to CHECK_BATCH, due or not: a finished range's rows
 * cannot grow) that their polls' updated_at bound kept out: rows never
 * published, their updated_at more than updated_at_margin older than their
 * transaction's write. One statement, a scan of the table, so at most one
 * such scan per late_row_check. 0, or 1 when the database went away (the
 * checks stay queued). */
static int pg_snap_run_checks(tdc_postgres *pg)
{
    while (pg->nbchecks > 0 && pg->sql_snap_check &&
           (pg->bchecks[0].due_ms <= td_time_mono_ms() || pg->nbchecks >= LATE_CHECKS_MAX - 1)) {
        td_str_buf a = {0}, b = {0}, d = {0};
        char lo[24], hi[24], top[24], when[80], line[512];
        const char *p[6];
        int64_t max_bound = INT64_MIN;
        size_t n = 0;
        bool oom;
        PGresult *res;

        td_str_buf_add(&a, "{");
        td_str_buf_add(&b, "{");
        td_str_buf_add(&d, "{");
        while (n < pg->nbchecks && n < CHECK_BATCH) {
            const bound_check *c = &pg->bchecks[n];

            td_str_buf_addf(&a, "%s%" PRId64, n ? "," : "", c->from);
            td_str_buf_addf(&b, "%s%" PRId64, n ? "," : "", c->until);
            td_str_buf_addf(&d, "%s%" PRId64, n ? "," : "", c->bound_us);
            if (c->bound_us > max_bound)
                max_bound = c->bound_us;
            n++;
        }
        td_str_buf_add(&a, "}");
        td_str_buf_add(&b, "}");
        td_str_buf_add(&d, "}");
        p[0] = td_str_buf_steal(&a);
        p[1] = td_str_buf_steal(&b);
        p[2] = td_str_buf_steal(&d);
        snprintf(lo, sizeof(lo), "%" PRId64, pg->bchecks[0].from);
        snprintf(hi, sizeof(hi), "%" PRId64, pg->bchecks[n - 1].until);
        snprintf(top, sizeof(top), "%" PRId64, max_bound);
        p[3] = lo;
        p[4] = hi;
        p[5] = top;
        oom = !p[0] || !p[1] || !p[2];
        res = oom ? NULL : pg_exec(pg->conn, pg->sql_snap_check, 6, NULL, p, NULL, NULL, 0);
        for (int i = 0; i < 3; i++)
            free((char *)(uintptr_t)p[i]);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

            tdc_pg_one_line(line, sizeof(line),
                            oom ? "out of memory" : tdc_pg_error_text(pg->conn, res));
            if (!oom && st && strcmp(st, "57014") == 0 && !td_signal_stop_requested()) {
                /* a scan longer than statement_timeout (or a lock): not an
                 * outage, which would retry it for ever and stop reading */
                td_log_component(TD_LOG_WARNING, LOG_COMPONENT,
                                 "%s: late-row check took longer than statement_timeout "
                                 "(%" PRId64 " ms; it scans the table); skipped: raise "
                                 "statement_timeout, or set late_row_check: 0",
                                 pg->unit, pg->stmt_timeout_ms);
            } else if (!oom && tdc_pg_transient(pg->conn, res)) {
                PQclear(res);
                pg_outage(pg, line);
                return 1;
            } else {
                td_log_component(TD_LOG_WARNING, LOG_COMPONENT,
                                 "%s: late-row check failed (%s); skipped", pg->unit, line);
            }
        } else {
            long long late = strtoll(PQgetvalue(res, 0, 0), NULL, 10);

            pg->stats.late_checks += n;
            if (late > 0) {
                pg->stats.late_rows += (uint64_t)late;
                format_us(max_bound, when, sizeof(when));
                td_log_component(TD_LOG_WARNING, LOG_COMPONENT,
                                 "%s: %lld row(s) with updated_at before %s UTC were kept "
                                 "out of the polls by the updated_at bound and will not be "
                                 "published: their updated_at is more than updated_at_margin "
                                 "(%" PRId64 " ms) older than their transaction's write "
                                 "(DEFAULT now() in a transaction that waited before "
                                 "writing, an update that did not advance updated_at, or "
                                 "a clock of the application); stamp updated_at with the "
                                 "clock_timestamp() trigger or raise updated_at_margin",
                                 pg->unit, late, when, pg->margin_ms);
            }
        }
        PQclear(res);
        memmove(&pg->bchecks[0], &pg->bchecks[n], (pg->nbchecks - n) * sizeof(*pg->bchecks));
        pg->nbchecks -= n;
    }
    return 0;
}

/* Sets the session's statement_timeout (ms; 0: none). 0, 1 outage, <0
 * error. */
static int pg_statement_timeout(tdc_postgres *pg, int64_t ms, td_error *err)
{
    char v[24];
    const char *p[1] = {v};
    PGresult *res;

    snprintf(v, sizeof(v), "%" PRId64, ms);
    res = pg_exec(pg->conn, "SELECT pg_catalog.set_config('statement_timeout', $1, false)", 1,
                  NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        int r = pg_failed(pg, res, "setting statement_timeout", err);
        return r < 0 ? r : 1;
    }
    PQclear(res);
    return 0;
}

/* Snapshot mode: opens the next range when the last one is finished, then
 * reads the next batch of it. 0 with *ret (NULL: nothing new to read), 1
 * outage, <0 error. */
static int pg_snap_query(tdc_postgres *pg, PGresult **ret, td_error *err)
{
    char from[24], until[24], last_us[24], bound_txt[24];
    const char *p[6];
    int n = 0;
    int64_t bound = 0;
    bool has_bound, lift;
    PGresult *res;

    *ret = NULL;
    if (!pg->has_pos || pg->xid_until <= pg->xid_from) {
        int64_t xmin = 0;
        int r = pg_snap_open(pg, &xmin, err);

        if (r != 0)
            return r;
        if (!pg->has_pos) { /* from the beginning */
            pg->has_pos = true;
            pg->has_last = false;
            pg->xid_from = 0;
        }
        if (xmin <= pg->xid_from) { /* no transaction has finished since */
            pg->xid_until = pg->xid_from;
            return 0;
        }
        pg->xid_until = xmin;
        pg->range_bounded = false;
        pg->stats.ranges++;
    }
    has_bound = pg_snap_bound(pg, &bound);
    if (has_bound && (!pg->range_bounded || bound > pg->range_bound_us)) {
        pg->range_bounded = true;
        pg->range_bound_us = bound;
    }
    snprintf(from, sizeof(from), "%" PRId64, pg->xid_from);
    snprintf(until, sizeof(until), "%" PRId64, pg->xid_until);
    snprintf(last_us, sizeof(last_us), "%" PRId64, pg->pos_us);
    snprintf(bound_txt, sizeof(bound_txt), "%" PRId64, bound);
    p[n++] = from;
    p[n++] = until;
    if (pg->has_last) {
        p[n++] = last_us;
        p[n++] = pg->pos_id;
    }
    if (has_bound)
        p[n++] = bound_txt;
    p[n++] = pg->batch_txt;
    /* A new range without a bound (the first ones after a start) may scan
     * the whole table to find its rows: once, so without statement_timeout
     * (a timeout would be retried as an outage, for ever, on a table that
     * takes longer to scan). A stop request still cancels it (pg_exec). */
    lift = !has_bound && !pg->has_last && pg->stmt_timeout_ms > 0;
    if (lift) {
        int r = pg_statement_timeout(pg, 0, err);
        if (r != 0)
            return r;
    }
    res = pg_exec(pg->conn, pg->sql_snap_poll[pg->has_last][has_bound], n, NULL, p, NULL,
                  NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        int r = pg_failed(pg, res, "polling", err);

        if (lift && pg->conn && PQstatus(pg->conn) == CONNECTION_OK) {
            td_error ignored = {0}; /* err says why the poll failed */
            (void)pg_statement_timeout(pg, pg->stmt_timeout_ms, &ignored);
        }
        return r < 0 ? r : 1;
    }
    if (lift) {
        int r = pg_statement_timeout(pg, pg->stmt_timeout_ms, err);
        if (r != 0) {
            PQclear(res);
            return r;
        }
    }
    /* A short batch is the rest of the range: no row can join it (every
     * transaction of the range had finished when it was opened). */
    pg->batch_ends_range = PQntuples(res) < pg->batch;
    if (pg->batch_ends_range && PQntuples(res) == 0)
        pg_snap_range_done(pg);
    *ret = res;
    return 0;
}

/* ---- polling -------------------------------------------------------------- */

/* Runs one poll. 0 done (rows may be 0), 1 outage, <0 error. */
static int pg_poll(tdc_postgres *pg, td_error *err)
{
    char pos_us[24];
    const char *p[4];
    int n = 0;
    size_t want;
    PGresult *res = NULL;

    pg_clear_batch(pg);
    if (pg->mode == TDC_PG_SNAPSHOT) {
        int r = pg_snap_query(pg, &res, err);

        if (r != 0)
            return r;
        if (!res) { /* the range cannot be opened yet */
            pg->stats.polls++;
            pg->poll_now = false;
            pg->polled_short = true;
            pg->next_poll_ms = td_time_mono_ms() + pg->poll_ms;
            return 0;
        }
    } else {
        if (pg->has_pos) {
            snprintf(pos_us, sizeof(pos_us), "%" PRId64, pg->pos_us);
            p[n++] = pos_us;
            p[n++] = pg->pos_id;
        }
        p[n++] = pg->settle_txt;
        p[n++] = pg->batch_txt;
        res = pg_exec(pg->conn, pg->has_pos ? pg->sql_next : pg->sql_first, n, NULL, p, NULL,
                      NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            int r = pg_failed(pg, res, "polling", err);
            return r < 0 ? r : 1;
        }
    }
    pg->stats.polls++;
    want = pg->nuser + 2 + (pg->sql_check_first ? 1 : 0);
    if ((size_t)PQnfields(res) != want) {
        int got = PQnfields(res);
        PQclear(res);
        return td_error_set(err, -EIO, "postgres: %s: the poll returned %d columns, not %zu",
                            pg->unit, got, want);
    }
    pg->res = res;
    pg->nrows = PQntuples(res);
    pg->cur = 0;
    pg->poll_now = pg->nrows >= pg->batch;
    pg->polled_short = !pg->poll_now;
    pg->next_poll_ms = td_time_mono_ms() + (pg->poll_now ? 0 : pg->poll_ms);
    pg->batch_has_lo = pg->has_pos;
    pg->batch_lo_us = pg->pos_us;
    memcpy(pg->batch_lo_id, pg->pos_id, sizeof(pg->batch_lo_id));
    if (pg->fields_cap < pg->nuser) {
        free(pg->fields);
        free(pg->colnames);
        free(pg->lens);
        pg->fields = calloc(pg->nuser, sizeof(*pg->fields));
        pg->colnames = calloc(pg->nuser, sizeof(*pg->colnames));
        pg->lens = calloc(pg->nuser, sizeof(*pg->lens));
        pg->fields_cap = pg->nuser;
        if (!pg->fields || !pg->colnames || !pg->lens) {
            pg->fields_cap = 0;
            pg_clear_batch(pg);
            return td_error_set(err, -ENOMEM, "postgres: out of memory");
        }
    }
    for (size_t i = 0; i < pg->nuser; i++)
        pg->colnames[i] = PQfname(res, (int)i);
    return 0;
}

static void pg_position(const tdc_source *src, tdc_position *ret)
{
    const tdc_postgres *pg = (const tdc_postgres *)src;

    memset(ret, 0, sizeof(*ret));
    ret->kind = pg->has_pos ? TDC_POSITION_POSTGRES : TDC_POSITION_NONE;
    copy_str(ret->table, sizeof(ret->table), pg->unit);
    ret->last_updated_at_us = pg->pos_us;
    copy_str(ret->last_id, sizeof(ret->last_id), pg->pos_id);
    ret->next_row = pg->next_row;
    if (pg->mode == TDC_PG_SNAPSHOT) {
        ret->pg_mode = TDC_PG_SNAPSHOT;
        ret->xid_from = pg->xid_from;
        ret->xid_until = pg->xid_until > pg->xid_from ? pg->xid_until : pg->xid_from;
        if (!pg->has_last) {
            ret->last_updated_at_us = SNAP_NO_LAST;
            ret->last_id[0] = '\0';
        }
    }
}

/* Hands out the current row of the batch. */
static int pg_emit(tdc_postgres *pg, tdc_row *row, td_error *err)
{
    int r = pg->cur;
    const char *ts = PQgetvalue(pg->res, r, (int)pg->nuser);
    const char *id = PQgetvalue(pg->res, r, (int)pg->nuser + 1);
    char *end = NULL;
    long long us;

    errno = 0;
    us = strtoll(ts, &end, 10);
    if (errno || !end || end == ts || *end)
        return td_error_set(err, -EINVAL, "postgres: %s: cannot read updated_at as microseconds",
                            pg->unit);
    if ((size_t)PQgetlength(pg->res, r, (int)pg->nuser + 1) >= TDC_ID_MAX)
        return td_error_set(err, -EOVERFLOW,
                            "postgres: %s: a value of id column \"%s\" is longer than %d bytes "
                            "and cannot be kept in a position; use a shorter unique column",
                            pg->unit, pg->idcol, TDC_ID_MAX - 1);

    if (tdc_pg_raw_begin(&pg->raw) < 0)
        goto oom;
    for (size_t i = 0; i < pg->nuser; i++) {
        pg->fields[i] = PQgetvalue(pg->res, r, (int)i);
        pg->lens[i] = (size_t)PQgetlength(pg->res, r, (int)i);
        if (tdc_pg_raw_field(&pg->raw, pg->colnames[i], pg->fields[i], pg->lens[i],
                             PQgetisnull(pg->res, r, (int)i)) < 0)
            goto oom;
    }
    if (tdc_pg_raw_end(&pg->raw) < 0)
        goto oom;

    pg->has_pos = true;
    pg->pos_us = us;
    copy_str(pg->pos_id, sizeof(pg->pos_id), id);
    pg->cur++;
    if (pg->mode == TDC_PG_SNAPSHOT) {
        /* after the last row of a short batch the range is done */
        if (pg->cur == pg->nrows && pg->batch_ends_range)
            pg_snap_range_done(pg);
        else
            pg->has_last = true;
    }
    /* The batch's range is known once its last row has gone out. */
    if (pg->cur == pg->nrows && pg->sql_check_first)
        pg_add_check(pg, PQgetvalue(pg->res, r, (int)pg->nuser + 2));

    memset(row, 0, sizeof(*row));
    row->unit = pg->unit;
    row->row = pg->next_row;
    row->line = pg->next_row;
    row->nfields = pg->nuser;
    row->fields = pg->fields;
    row->lens = pg->lens;
    row->columns = pg->colnames;
    row->ncolumns = pg->nuser;
    row->raw = pg->raw.buf;
    row->raw_len = pg->raw.len;
    row->raw_cut = false;
    row->source_bytes = (int64_t)pg->raw.len;
    row->source_record_id = pg->pos_id;
    pg->next_row++;
    pg->stats.rows++;
    pg_position(&pg->base, &row->after);
    return TDC_NEXT_ROW;

oom:
    return td_error_set(err, -ENOMEM, "postgres: out of memory");
}

/* ---- the tdc_source operations -------------------------------------------- */

static int pg_resume(tdc_source *src, const tdc_position *committed, td_error *err)
{
    tdc_postgres *pg = (tdc_postgres *)src;

    if (committed && committed->kind != TDC_POSITION_NONE &&
        committed->kind != TDC_POSITION_POSTGRES)
        return td_error_set(err, -EINVAL,
                            "postgres: %s: the committed position is not a postgres position",
                            pg->unit);
    if (committed && committed->kind == TDC_POSITION_POSTGRES &&
        (!memchr(committed->last_id, '\0', sizeof(committed->last_id)) ||
         !memchr(committed->table, '\0', sizeof(committed->table)) || !committed->table[0]))
        return td_error_set(err, -EINVAL, "postgres: %s: the committed position is malformed",
                            pg->unit);
    if (committed && committed->kind == TDC_POSITION_POSTGRES) {
        if (committed->pg_mode == TDC_PG_LOGICAL ||
            (committed->pg_mode == TDC_PG_SNAPSHOT && pg->mode != TDC_PG_SNAPSHOT))
            return td_error_set(err, -EINVAL,
                                "postgres: %s: the committed position was written in %s mode; "
                                "%s mode cannot continue from it without losing or repeating "
                                "rows: set mode: %s again, or give the source a new id to read "
                                "the table from the beginning",
                                pg->unit,
                                committed->pg_mode == TDC_PG_LOGICAL ? "logical" : "snapshot",
                                pg->mode == TDC_PG_SNAPSHOT ? "snapshot" : "timestamp",
                                committed->pg_mode == TDC_PG_LOGICAL ? "logical" : "snapshot");
        if (committed->pg_mode == TDC_PG_SNAPSHOT &&
            (committed->xid_from < 0 || committed->xid_until < committed->xid_from))
            return td_error_set(err, -EINVAL,
                                "postgres: %s: the committed position is malformed (its "
                                "transaction range)", pg->unit);
    }
    pg_clear_batch(pg);
    pg_clear_checks(pg);
    pg->poll_now = true;
    pg->polled_short = false;
    pg->next_poll_ms = 0;
    if (committed && committed->kind == TDC_POSITION_POSTGRES) {
        pg->has_pos = true;
        pg->pos_us = committed->last_updated_at_us;
        copy_str(pg->pos_id, sizeof(pg->pos_id), committed->last_id);
        copy_str(pg->resumed_table, sizeof(pg->resumed_table), committed->table);
        pg->next_row = committed->next_row > 0 ? committed->next_row : 1;
        pg->has_last = true;
        pg->xid_from = pg->xid_until = 0;
        if (pg->mode == TDC_PG_SNAPSHOT && committed->pg_mode == TDC_PG_TIMESTAMP) {
            /* From a timestamp-mode position: the first range, every
             * transaction finished by now, continues after its row; the
             * ranges after it are read whole. */
            td_log_component(TD_LOG_NOTICE, LOG_COMPONENT,
                             "%s: continuing in snapshot mode from a timestamp-mode position; "
                             "rows of transactions still running now that were already "
                             "published may be published once more", pg->unit);
        } else if (pg->mode == TDC_PG_SNAPSHOT) {
            pg->xid_from = committed->xid_from;
            pg->xid_until = committed->xid_until;
            pg->has_last = committed->last_updated_at_us != SNAP_NO_LAST;
            if (!pg->has_last) {
                pg->pos_us = 0;
                pg->pos_id[0] = '\0';
            }
        }
    } else {
        pg->has_pos = false;
        pg->has_last = false;
        pg->xid_from = pg->xid_until = 0;
        pg->pos_us = 0;
        pg->pos_id[0] = '\0';
        pg->resumed_table[0] = '\0';
        pg->next_row = 1;
    }
    /* Check the relation (and the position's table) on the next poll. */
    pg_drop_statements(pg);
    return 0;
}

static int pg_next(tdc_source *src, tdc_row *row, td_error *err)
{
    tdc_postgres *pg = (tdc_postgres *)src;
    int r;

    if (!row)
        return td_error_set(err, -EINVAL, "postgres: no row to fill");
    if (pg->res && pg->cur < pg->nrows)
        return pg_emit(pg, row, err);
    pg_clear_batch(pg);
    r = pg_ensure(pg, err);
    if (r != 0)
        return r < 0 ? r : TDC_NEXT_IDLE;
    if (pg_run_checks(pg) != 0 || pg_snap_run_checks(pg) != 0)
        return TDC_NEXT_IDLE;
    if (!pg->poll_now && td_time_mono_ms() < pg->next_poll_ms)
        return TDC_NEXT_IDLE;
    r = pg_poll(pg, err);
    if (r != 0)
        return r < 0 ? r : TDC_NEXT_IDLE;
    if (pg->nrows == 0)
        return TDC_NEXT_IDLE;
    return pg_emit(pg, row, err);
}

static int pg_committed(tdc_source *src, const tdc_position *pos, td_error *err)
{
    (void)src;
    (void)pos;
    (void)err;
    return 0;
}

static const char *pg_status(const tdc_source *src)
{
    /* The text is made on demand; the source is never a const object. */
    tdc_postgres *pg = (tdc_postgres *)(uintptr_t)src;
    char when[80];
    int n;

    if (pg->mode == TDC_PG_SNAPSHOT && pg->has_pos && pg->has_last &&
        pg->xid_until > pg->xid_from) {
        format_us(pg->pos_us, when, sizeof(when));
        n = snprintf(pg->status, sizeof(pg->status),
                     "%s: transactions %" PRId64 " to %" PRId64 " up to %s UTC", pg->unit,
                     pg->xid_from, pg->xid_until - 1, when);
    } else if (pg->mode == TDC_PG_SNAPSHOT && pg->has_pos && !pg->has_last) {
        n = snprintf(pg->status, sizeof(pg->status),
                     "%s: transactions before %" PRId64 " read", pg->unit, pg->xid_from);
    } else if (pg->has_pos) {
        format_us(pg->pos_us, when, sizeof(when));
        n = snprintf(pg->status, sizeof(pg->status), "%s up to %s UTC, id %s", pg->unit, when,
                     pg->pos_id);
    } else {
        n = snprintf(pg->status, sizeof(pg->status), "%s from the beginning", pg->unit);
    }
    if (n > 0 && (size_t)n < sizeof(pg->status) && pg->down)
        n += snprintf(pg->status + n, sizeof(pg->status) - (size_t)n, "; database unreachable");
    if (n > 0 && (size_t)n < sizeof(pg->status) && pg->held && pg->held_warned)
        n += snprintf(pg->status + n, sizeof(pg->status) - (size_t)n,
                      "; held back %.0f s by a running transaction",
                      (double)(td_time_mono_ms() - pg->held_since_ms) / 1000.0);
    if (n > 0 && (size_t)n < sizeof(pg->status) && pg->stats.late_rows)
        snprintf(pg->status + n, sizeof(pg->status) - (size_t)n, "; %" PRIu64 " late rows",
                 pg->stats.late_rows);
    /* The id may be an identity number: STATUS= must not show it. */
    td_log_redact(pg->status);
    return pg->status;
}

/* The rows after the position up to the settle cutoff: the poll's range
 * without its LIMIT. After a poll that came back short nothing more was
 * readable then: what is left of its batch, without asking the database.
 * Else a count(*) under the session's statement_timeout, over the poll's
 * (updated_at, id) condition (the same index). A failure changes nothing
 * (the next poll finds an outage). */
static int pg_lag(tdc_source *src, int64_t *rows, td_error *err)
{
    tdc_postgres *pg = (tdc_postgres *)src;
    char pos_us[24], line[512], from[24], until[24], bound_txt[24];
    const char *p[5];
    int n = 0;
    PGresult *res;
    const char *v, *end;
    char *endp = NULL;
    long long count;
    int r;
    int64_t bound = 0;
    bool has_bound = false;

    /* snapshot mode: always counted (rows held back by a running
     * transaction wait without a poll reading them) */
    if (pg->polled_short && pg->mode != TDC_PG_SNAPSHOT) {
        *rows = pg->res ? pg->nrows - pg->cur : 0;
        return 0;
    }
    r = pg_ensure(pg, err); /* as the next poll would: connect, check the relation */
    if (r < 0)
        return r;
    if (r > 0 || !pg->ready || !pg->conn || PQstatus(pg->conn) != CONNECTION_OK)
        return td_error_set(err, -EAGAIN, "postgres: %s: the database is unreachable",
                            pg->unit);
    snprintf(pos_us, sizeof(pos_us), "%" PRId64, pg->pos_us);
    if (pg->mode == TDC_PG_SNAPSHOT) {
        bool last = pg->has_pos && pg->has_last;

        has_bound = pg->has_pos && pg_snap_bound(pg, &bound);
        snprintf(from, sizeof(from), "%" PRId64, pg->has_pos ? pg->xid_from : 0);
        snprintf(until, sizeof(until), "%" PRId64, pg->xid_until);
        snprintf(bound_txt, sizeof(bound_txt), "%" PRId64, bound);
        p[n++] = from;
        if (last) {
            p[n++] = pg->xid_until > pg->xid_from ? until : NULL;
            p[n++] = pos_us;
            p[n++] = pg->pos_id;
        }
        if (has_bound)
            p[n++] = bound_txt;
        res = pg_exec(pg->conn, pg->sql_snap_lag[last][has_bound], n, NULL, p, NULL, NULL, 0);
    } else {
        if (pg->has_pos) {
            p[n++] = pos_us;
            p[n++] = pg->pos_id;
        }
        p[n++] = pg->settle_txt;
        res = pg_exec(pg->conn, pg->has_pos ? pg->sql_lag_next : pg->sql_lag_first, n, NULL,
                      p, NULL, NULL, 0);
    }
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        char state[8];

        copy_str(state, sizeof(state), st ? st : "none");
        tdc_pg_one_line(line, sizeof(line), tdc_pg_error_text(pg->conn, res));
        td_log_redact(line);
        PQclear(res);
        return td_error_set(err, -EIO, "postgres: %s: counting the rows still to read: %s "
                            "(SQLSTATE %s)", pg->unit, line, state);
    }
    v = PQgetvalue(res, 0, 0);
    errno = 0;
    count = strtoll(v, &endp, 10);
    end = endp;
    if (errno || end == v || *end || count < 0) {
        PQclear(res);
        return td_error_set(err, -EIO, "postgres: %s: the count of rows still to read is "
                            "not a number", pg->unit);
    }
    PQclear(res);
    *rows = count;
    return 0;
}

static const tdc_source_ops tdc_postgres_ops = {
    .kind = "postgres",
    .resume = pg_resume,
    .next = pg_next,
    .position = pg_position,
    .committed = pg_committed,
    .wait_fd = NULL,
    .status = pg_status,
    .lag = pg_lag,
    .free = pg_free,
};
