/* tdc_pglogical: the postgres source's logical mode. The contract is in
 * tdc_pglogical.h and tdc_source.h. */
#include "tdc_pglogical.h"

#include "td_log.h"
#include "td_signal.h"
#include "td_time.h"
#include "tdc_pgconn.h"
#include "tdc_pgoutput.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COMPONENT "postgres"

/* Standby status updates at least this often (wal_sender_timeout: 60 s). */
#define STATUS_INTERVAL_MS 10000
/* PostgreSQL's NAMEDATALEN - 1. */
#define SLOT_NAME_MAX 63

typedef struct tdc_pglogical {
    tdc_source base;

    /* Configuration (owned copies). */
    char *conninfo, *table_cfg, *idcol, *publication;
    char slot[SLOT_NAME_MAX + 1];
    char **columns;
    size_t ncolumns;
    int64_t backoff_max_ms;

    /* Connection. */
    PGconn *conn;
    PGconn *lagconn; /* ordinary, for tdc_pglogical_lag_bytes() */
    bool streaming;
    bool down;
    int64_t down_since_ms, backoff_ms, next_connect_ms;
    bool slot_created; /* by this process: a missing slot is then an error */

    /* The table, resolved by the database. */
    char nspname[SLOT_NAME_MAX + 1], relname[SLOT_NAME_MAX + 1]; /* NAMEDATALEN */
    char unit[TDC_UNIT_MAX];
    bool partitioned; /* its changes come under its name only with
                         publish_via_partition_root */
    char resumed_table[TDC_UNIT_MAX];

    /* The table's Relation message of this session. */
    bool have_rel;
    uint32_t relid;
    size_t rel_ncols;
    size_t *map;        /* output field i <- relation column map[i] */
    char **colnames;    /* output column names */
    size_t nout;
    long id_idx;        /* relation column of the id, -1: not published */

    /* Position: after the last change handed out (or commit seen). */
    bool has_pos;
    uint64_t pos_lsn;
    int64_t pos_changes;
    bool pos_done;
    int64_t next_row;

    /* What to skip: the position the stream (re)starts from. */
    uint64_t skip_lsn;
    int64_t skip_changes;
    bool skip_done;

    /* The transaction being read. */
    bool in_txn;
    uint64_t txn_final;
    int64_t txn_changes;

    /* The slot's confirmed position. */
    uint64_t slot_confirmed; /* at connect */
    uint64_t flush_lsn;      /* last reported */
    uint64_t received_lsn;
    uint64_t safe_end;       /* all changes before it were handed out or skipped */
    bool all_acked;          /* every row handed out is committed in Kafka */
    uint64_t last_row_lsn;
    int64_t last_row_changes;
    int64_t next_status_ms;

    tdc_pgo_parser *parser;
    char *copybuf; /* PQgetCopyData's, freed at the next call */

    /* The current row. */
    char *arena;
    size_t arena_len, arena_cap;
    size_t *offs;
    const char **fields;
    size_t *lens;
    size_t fields_cap;
    tdc_pg_raw raw;
    char reason[512];
    char srid[TDC_ID_MAX * 4];

    tdc_pglogical_stats stats;
    char status[512];
} tdc_pglogical;

static const tdc_source_ops tdc_pglogical_ops;

/* ---- small helpers --------------------------------------------------------- */

static char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static const char *lsn_txt(uint64_t lsn, char *buf, size_t size)
{
    return tdc_pgo_lsn_text(lsn, buf, size);
}

void tdc_pglogical_default_slot(const char *instance, char *buf, size_t size)
{
    size_t n;

    snprintf(buf, size, "tuodi%s%s", instance ? "_" : "", instance ? instance : "");
    for (n = 0; buf[n]; n++) {
        char c = buf[n];
        if (c >= 'A' && c <= 'Z')
            buf[n] = (char)(c - 'A' + 'a');
        else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            buf[n] = '_';
    }
    if (n > SLOT_NAME_MAX)
        buf[SLOT_NAME_MAX] = '\0';
}

static bool slot_name_ok(const char *s)
{
    size_t n = 0;

    for (; s[n]; n++)
        if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '_'))
            return false;
    return n > 0 && n <= SLOT_NAME_MAX;
}

/* ---- lifetime ------------------------------------------------------------- */

static void pl_disconnect(tdc_pglogical *pl)
{
    if (pl->copybuf) {
        PQfreemem(pl->copybuf);
        pl->copybuf = NULL;
    }
    if (pl->conn) {
        PQfinish(pl->conn);
        pl->conn = NULL;
    }
    pl->streaming = false;
    pl->in_txn = false;
    pl->have_rel = false; /* the next session sends the Relation again */
    /* the stream starts again after what was handed out */
    pl->skip_lsn = pl->has_pos ? pl->pos_lsn : 0;
    pl->skip_changes = pl->has_pos ? pl->pos_changes : 0;
    pl->skip_done = pl->has_pos && pl->pos_done;
}

static void pl_free(tdc_source *src)
{
    tdc_pglogical *pl = (tdc_pglogical *)src;

    pl_disconnect(pl);
    if (pl->lagconn)
        PQfinish(pl->lagconn);
    free(pl->map);
    if (pl->colnames)
        for (size_t i = 0; i < pl->nout; i++)
            free(pl->colnames[i]);
    free(pl->colnames);
    tdc_pgo_parser_free(pl->parser);
    tdc_pg_conninfo_free(pl->conninfo);
    free(pl->table_cfg);
    free(pl->idcol);
    free(pl->publication);
    tdc_pg_columns_free(pl->columns, pl->ncolumns);
    free(pl->arena);
    free(pl->offs);
    free(pl->fields);
    free(pl->lens);
    tdc_pg_raw_free(&pl->raw);
    free(pl);
}

int tdc_pglogical_new(const struct tdc_postgres_config *cfg, const char *instance,
                      tdc_source **ret, td_error *err)
{
    tdc_pglogical *pl = NULL;
    int r;

    if (!cfg || !ret)
        return td_error_set(err, -EINVAL, "postgres: no configuration");
    r = tdc_pg_conninfo_check(cfg->conninfo, err);
    if (r < 0)
        return r;
    if (!cfg->table || !*cfg->table)
        return td_error_set(err, -EINVAL, "postgres: table is empty");
    if (strlen(cfg->table) >= TDC_UNIT_MAX)
        return td_error_set(err, -EINVAL, "postgres: table name longer than %d bytes",
                            TDC_UNIT_MAX - 1);
    if (cfg->id_column && !*cfg->id_column)
        return td_error_set(err, -EINVAL, "postgres: %s: id_column must not be empty",
                            cfg->table);
    r = tdc_pg_columns_check(cfg->table, cfg->columns, cfg->ncolumns, err);
    if (r < 0)
        return r;
    if (cfg->slot && *cfg->slot && !slot_name_ok(cfg->slot))
        return td_error_set(err, -EINVAL,
                            "postgres: %s: slot \"%s\" is not a replication slot name "
                            "PostgreSQL accepts (a-z, 0-9 and _, at most %d bytes)",
                            cfg->table, cfg->slot, SLOT_NAME_MAX);
    if (!cfg->publication || !*cfg->publication)
        return td_error_set(err, -EINVAL, "postgres: %s: publication is empty (logical mode)",
                            cfg->table);

    pl = calloc(1, sizeof(*pl));
    if (!pl)
        goto oom;
    pl->base.ops = &tdc_pglogical_ops;
    pl->conninfo = xstrdup(cfg->conninfo);
    pl->table_cfg = xstrdup(cfg->table);
    pl->idcol = xstrdup(cfg->id_column ? cfg->id_column : "id");
    pl->publication = xstrdup(cfg->publication);
    if (!pl->conninfo || !pl->table_cfg || !pl->idcol || !pl->publication)
        goto oom;
    if (tdc_pg_columns_dup(cfg->columns, cfg->ncolumns, &pl->columns, &pl->ncolumns) < 0)
        goto oom;
    if (cfg->slot && *cfg->slot)
        snprintf(pl->slot, sizeof(pl->slot), "%s", cfg->slot);
    else
        tdc_pglogical_default_slot(instance, pl->slot, sizeof(pl->slot));
    if (tdc_pgo_parser_new(&pl->parser) < 0)
        goto oom;
    pl->backoff_max_ms = cfg->reconnect_max_backoff_ms > 0 ? cfg->reconnect_max_backoff_ms
                                                           : 30000;
    pl->backoff_ms = TDC_PG_BACKOFF_FIRST_MS;
    pl->next_row = 1;
    pl->all_acked = true;
    pl->id_idx = -1;
    snprintf(pl->unit, sizeof(pl->unit), "%s", pl->table_cfg);
    *ret = &pl->base;
    return 0;

oom:
    if (pl)
        pl_free(&pl->base);
    return td_error_set(err, -ENOMEM, "postgres: out of memory");
}

int tdc_pglogical_stats_get(const tdc_source *src, tdc_pglogical_stats *ret)
{
    const tdc_pglogical *pl = (const tdc_pglogical *)src;

    if (!src || src->ops != &tdc_pglogical_ops || !ret)
        return -EINVAL;
    *ret = pl->stats;
    ret->connected = pl->streaming;
    ret->slot_created = pl->slot_created;
    ret->flush_lsn = pl->flush_lsn;
    return 0;
}

/* ---- outages -------------------------------------------------------------- */

static void pl_outage(tdc_pglogical *pl, const char *why)
{
    int64_t now = td_time_mono_ms();
    char line[512];

    tdc_pg_one_line(line, sizeof(line), why);
    if (!pl->down && td_signal_stop_requested()) {
        td_log_component(TD_LOG_INFO, LOG_COMPONENT, "%s: stopping (%s)", pl->unit, line);
    } else if (!pl->down) {
        pl->down = true;
        pl->down_since_ms = now;
        pl->stats.outages++;
        td_log_component(TD_LOG_WARNING, LOG_COMPONENT,
                         "%s: cannot read the replication slot %s (%s); retrying with backoff, "
                         "nothing is lost meanwhile (the slot keeps the changes)",
                         pl->unit, pl->slot, line);
    } else {
        td_log_component(TD_LOG_DEBUG, LOG_COMPONENT, "%s: still cannot read: %s", pl->unit,
                         line);
    }
    pl_disconnect(pl);
    pl->next_connect_ms = now + pl->backoff_ms;
    pl->backoff_ms = tdc_pg_backoff_next(pl->backoff_ms, pl->backoff_max_ms);
}

static void pl_outage_over(tdc_pglogical *pl)
{
    if (pl->down) {
        td_log_component(TD_LOG_NOTICE, LOG_COMPONENT,
                         "%s: reading the replication slot %s again after %.1f s", pl->unit,
                         pl->slot, (double)(td_time_mono_ms() - pl->down_since_ms) / 1000.0);
        pl->down = false;
    }
    pl->backoff_ms = TDC_PG_BACKOFF_FIRST_MS;
}

/* A failed statement: an outage (returns 1) or an error (negative, err). */
static int pl_failed(tdc_pglogical *pl, PGresult *res, const char *what, td_error *err)
{
    char line[512];
    const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    int r;

    tdc_pg_one_line(line, sizeof(line), tdc_pg_error_text(pl->conn, res));
    if (tdc_pg_transient(pl->conn, res)) {
        PQclear(res);
        pl_outage(pl, line);
        return 1;
    }
    r = (st && (strcmp(st, "42P01") == 0 || strcmp(st, "42703") == 0 ||
                strcmp(st, "42704") == 0))
            ? -ENOENT
            : -EINVAL;
    td_error_set(err, r, "postgres: %s: %s: %s (SQLSTATE %s)", pl->unit, what, line,
                 st ? st : "none");
    PQclear(res);
    pl_disconnect(pl);
    pl->next_connect_ms = td_time_mono_ms() + pl->backoff_ms;
    return r;
}

/* ---- connecting ----------------------------------------------------------- */

/* PQexec() on the replication connection (the simple protocol: a
 * walsender takes no other), a stop request ending the wait. */
static PGresult *pl_exec(tdc_pglogical *pl, const char *sql)
{
    PGresult *res, *last = NULL;

    if (!PQsendQuery(pl->conn, sql))
        return NULL;
    for (;;) {
        while (PQisBusy(pl->conn)) {
            if (!tdc_pg_wait_socket(PQsocket(pl->conn), POLLIN, INT64_MAX))
                return last; /* a stop: the caller drops the connection */
            if (!PQconsumeInput(pl->conn))
                break;
        }
        res = PQgetResult(pl->conn);
        if (!res)
            break;
        if (PQresultStatus(res) == PGRES_COPY_BOTH) {
            PQclear(last);
            return res; /* START_REPLICATION: streaming from here */
        }
        PQclear(last);
        last = res;
        if (PQstatus(pl->conn) == CONNECTION_BAD)
            break;
    }
    return last;
}

static int pl_connect(tdc_pglogical *pl, td_error *err)
{
    bool timed_out;

    pl->conn = tdc_pg_connect(pl->conninfo, /* replication= */ "database", &timed_out);
    if (timed_out) {
        pl_outage(pl, td_signal_stop_requested() ? "a stop was requested"
                                                 : "no connection within 10 s");
        return 1;
    }
    if (!pl->conn)
        return td_error_set(err, -ENOMEM, "postgres: %s: out of memory", pl->unit);
    if (PQstatus(pl->conn) != CONNECTION_OK) {
        const char *m = PQerrorMessage(pl->conn);
        char line[512];

        tdc_pg_one_line(line, sizeof(line), m);
        /* refused for want of the REPLICATION attribute or a pg_hba line:
         * configuration, not an outage */
        if (strstr(m, "replication") && (strstr(m, "permission") || strstr(m, "pg_hba") ||
                                         strstr(m, "must be superuser"))) {
            int r = td_error_set(err, -EINVAL,
                                 "postgres: %s: the replication connection was refused (%s); "
                                 "logical mode needs a role WITH REPLICATION and a pg_hba.conf "
                                 "line allowing it (docs/connector.md, Logical mode)",
                                 pl->unit, line);
            pl_disconnect(pl);
            pl->next_connect_ms = td_time_mono_ms() + pl->backoff_ms;
            return r;
        }
        pl_outage(pl, line);
        return 1;
    }
    PQsetNoticeProcessor(pl->conn, tdc_pg_notice_to_log, NULL);
    return 0;
}

/* A literal for the simple protocol (caller frees with PQfreemem). */
static char *lit(PGconn *c, const char *s)
{
    return PQescapeLiteral(c, s, strlen(s));
}

static int oom_err(td_error *err)
{
    return td_error_set(err, -ENOMEM, "postgres: out of memory");
}

/* Resolves the table, checks the columns. 0, 1 outage, <0 error. */
static int pl_check_table(tdc_pglogical *pl, td_error *err)
{
    char *t = lit(pl->conn, pl->table_cfg), *sql = NULL;
    PGresult *res = NULL;
    char relkind;
    int r = 0;

    if (!t)
        return oom_err(err);
    if (asprintf(&sql,
                 "SELECT n.nspname, c.relname, c.relkind, c.oid::text"
                 " FROM pg_catalog.pg_class c"
                 " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                 " WHERE c.oid = pg_catalog.to_regclass(%s)", t) < 0) {
        PQfreemem(t);
        return oom_err(err);
    }
    PQfreemem(t);
    res = pl_exec(pl, sql);
    free(sql);
    sql = NULL;
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return pl_failed(pl, res, "looking up the table", err);
    if (PQntuples(res) != 1) {
        PQclear(res);
        return td_error_set(err, -ENOENT,
                            "postgres: table %s does not exist (or is not visible to this user)",
                            pl->table_cfg);
    }
    snprintf(pl->nspname, sizeof(pl->nspname), "%s", PQgetvalue(res, 0, 0));
    snprintf(pl->relname, sizeof(pl->relname), "%s", PQgetvalue(res, 0, 1));
    snprintf(pl->unit, sizeof(pl->unit), "%s.%s", pl->nspname, pl->relname);
    relkind = PQgetvalue(res, 0, 2)[0];
    pl->partitioned = relkind == 'p';
    if (relkind != 'r' && relkind != 'p') {
        PQclear(res);
        return td_error_set(err, -EINVAL,
                            "postgres: %s is not a table (relkind %c): logical replication "
                            "publishes tables only; read a view with mode: timestamp",
                            pl->unit, relkind);
    }
    if (pl->resumed_table[0] && strcmp(pl->resumed_table, pl->unit) != 0) {
        PQclear(res);
        return td_error_set(err, -EINVAL,
                            "postgres: the committed position is for table %s but this source "
                            "reads %s; give the source a new id to read %s from the beginning",
                            pl->resumed_table, pl->unit, pl->unit);
    }
    if (asprintf(&sql,
                 "SELECT a.attname FROM pg_catalog.pg_attribute a"
                 " WHERE a.attrelid = %s::oid AND a.attnum > 0 AND NOT a.attisdropped",
                 PQgetvalue(res, 0, 3)) < 0) {
        PQclear(res);
        return oom_err(err);
    }
    PQclear(res);
    res = pl_exec(pl, sql);
    free(sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return pl_failed(pl, res, "reading the table's columns", err);
    for (size_t i = 0; i <= pl->ncolumns && r == 0; i++) {
        const char *want = i < pl->ncolumns ? pl->columns[i] : pl->idcol;
        bool found = false;

        for (int k = 0; k < PQntuples(res) && !found; k++)
            found = strcmp(PQgetvalue(res, k, 0), want) == 0;
        if (!found)
            r = td_error_set(err, -ENOENT, "postgres: %s has no column \"%s\" (%s)", pl->unit,
                             want, i < pl->ncolumns ? "columns" : "id_column");
    }
    PQclear(res);
    return r;
}

/* name as an SQL identifier for a message: bare when PostgreSQL would
 * read it back unchanged, else quoted. */
static const char *ident(const char *name, char *buf, size_t size)
{
    bool bare = name[0] && !(name[0] >= '0' && name[0] <= '9');
    size_t n = 0;

    for (const char *p = name; *p && bare; p++)
        bare = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_';
    if (bare) {
        snprintf(buf, size, "%s", name);
        return buf;
    }
    if (size < 3)
        return "";
    buf[n++] = '"';
    for (const char *p = name; *p && n + 3 < size; p++) {
        if (*p == '"')
            buf[n++] = '"';
        buf[n++] = *p;
    }
    buf[n++] = '"';
    buf[n] = '\0';
    return buf;
}

/* The publication exists and publishes the table. */
static int pl_check_publication(tdc_pglogical *pl, td_error *err)
{
    char *p = lit(pl->conn, pl->publication), *n = lit(pl->conn, pl->nspname),
         *t = lit(pl->conn, pl->relname);
    char pi[300], ni[140], ti[140];
    char *sql = NULL;
    PGresult *res = NULL;
    int r = 0;

    ident(pl->publication, pi, sizeof(pi));
    ident(pl->nspname, ni, sizeof(ni));
    ident(pl->relname, ti, sizeof(ti));
    if (!p || !n || !t ||
        asprintf(&sql,
                 "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_publication_tables t"
                 " WHERE t.pubname = p.pubname AND t.schemaname = %s AND t.tablename = %s)"
                 " FROM pg_catalog.pg_publication p WHERE p.pubname = %s",
                 n, t, p) < 0) {
        sql = NULL;
        r = oom_err(err);
        goto out;
    }
    res = pl_exec(pl, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        r = pl_failed(pl, res, "looking up the publication", err);
        res = NULL;
        goto out;
    }
    /* A partitioned table is published under its own name only with
     * publish_via_partition_root; else its partitions' changes come under
     * theirs, and pg_publication_tables lists the partitions. */
    if (PQntuples(res) != 1)
        r = td_error_set(err, -ENOENT,
                         "postgres: %s: the publication %s does not exist; logical mode reads "
                         "the table through it: as the table's owner run "
                         "CREATE PUBLICATION %s FOR TABLE %s.%s%s; (or set postgres.publication "
                         "to an existing one)",
                         pl->unit, pi, pi, ni, ti,
                         pl->partitioned ? " WITH (publish_via_partition_root = true)" : "");
    else if (strcmp(PQgetvalue(res, 0, 0), "t") != 0 && pl->partitioned)
        r = td_error_set(err, -ENOENT,
                         "postgres: %s: the publication %s does not publish this partitioned "
                         "table under its own name: as the table's owner run ALTER PUBLICATION "
                         "%s SET (publish_via_partition_root = true); (and ALTER PUBLICATION %s "
                         "ADD TABLE %s.%s; if it is not in it)",
                         pl->unit, pi, pi, pi, ni, ti);
    else if (strcmp(PQgetvalue(res, 0, 0), "t") != 0)
        r = td_error_set(err, -ENOENT,
                         "postgres: %s: the publication %s does not publish this table: as "
                         "the table's owner run ALTER PUBLICATION %s ADD TABLE %s.%s;",
                         pl->unit, pi, pi, ni, ti);
out:
    PQclear(res);
    free(sql);
    PQfreemem(p);
    PQfreemem(n);
    PQfreemem(t);
    return r;
}

/* The slot is gone (why: NULL, dropped; else the server's words for an
 * invalidated slot). */
static int slot_gone(tdc_pglogical *pl, const char *why, td_error *err)
{
    char lsn[32];

    return td_error_set(
        err, -ENOENT,
        "postgres: %s: the replication slot %s %s%s%s but the committed position is at LSN %s: "
        "the changes since then are gone with it. The connector does not create the slot "
        "again from now, which would lose them silently. To go on: read the table once in "
        "full under a new instance (mode: snapshot), or accept the gap, then remove this "
        "instance's position (docs/connector.md, Logical mode, \"The slot is gone\")",
        pl->unit, pl->slot,
        why ? "can no longer give the changes (" : "does not exist any more (dropped, or "
                                                  "invalidated, behind the connector's back)",
        why ? why : "", why ? ")" : "",
        lsn_txt(pl->has_pos ? pl->pos_lsn : 0, lsn, sizeof(lsn)));
}

/* The slot exists (or is made now) and fits. */
static int pl_check_slot(tdc_pglogical *pl, td_error *err)
{
    char *s = lit(pl->conn, pl->slot), *sql = NULL;
    PGresult *res;
    uint64_t confirmed = 0;

    if (!s)
        return oom_err(err);
    if (asprintf(&sql,
                 "SELECT plugin, slot_type, database = pg_catalog.current_database(),"
                 " coalesce(confirmed_flush_lsn::text, '0/0')"
                 " FROM pg_catalog.pg_replication_slots WHERE slot_name = %s", s) < 0) {
        PQfreemem(s);
        return oom_err(err);
    }
    PQfreemem(s);
    res = pl_exec(pl, sql);
    free(sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return pl_failed(pl, res, "looking up the replication slot", err);
    if (PQntuples(res) == 0) {
        char lsn[32];

        PQclear(res);
        if ((pl->has_pos && pl->pos_lsn > 0) || pl->slot_created)
            return slot_gone(pl, NULL, err);
        if (asprintf(&sql, "CREATE_REPLICATION_SLOT \"%s\" LOGICAL pgoutput NOEXPORT_SNAPSHOT",
                     pl->slot) < 0)
            return oom_err(err);
        res = pl_exec(pl, sql);
        free(sql);
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
            return pl_failed(pl, res, "creating the replication slot", err);
        if (PQnfields(res) >= 2 && PQntuples(res) == 1)
            (void)tdc_pgo_lsn_parse(PQgetvalue(res, 0, 1), &confirmed);
        PQclear(res);
        pl->slot_created = true;
        pl->slot_confirmed = confirmed;
        td_log_component(TD_LOG_NOTICE, LOG_COMPONENT,
                         "%s: created the replication slot %s (pgoutput) at LSN %s: the "
                         "changes committed from now on are read; it keeps WAL until they are",
                         pl->unit, pl->slot, lsn_txt(confirmed, lsn, sizeof(lsn)));
        return 0;
    }
    if (strcmp(PQgetvalue(res, 0, 1), "logical") != 0 ||
        strcmp(PQgetvalue(res, 0, 0), "pgoutput") != 0 ||
        strcmp(PQgetvalue(res, 0, 2), "t") != 0) {
        int r = td_error_set(err, -EINVAL,
                             "postgres: %s: the replication slot %s is not a logical pgoutput "
                             "slot of this database (type %s, plugin %s); name another with "
                             "postgres.slot",
                             pl->unit, pl->slot, PQgetvalue(res, 0, 1),
                             PQgetisnull(res, 0, 0) ? "none" : PQgetvalue(res, 0, 0));
        PQclear(res);
        return r;
    }
    (void)tdc_pgo_lsn_parse(PQgetvalue(res, 0, 3), &confirmed);
    PQclear(res);
    pl->slot_confirmed = confirmed;
    return 0;
}

static int pl_start(tdc_pglogical *pl, td_error *err)
{
    char *pi = tdc_pg_quote_ident(pl->conn, pl->publication);
    char *pv = NULL, *sql = NULL, lsn[32];
    PGresult *res;

    if (!pi)
        return oom_err(err);
    pv = lit(pl->conn, pi);
    PQfreemem(pi);
    if (!pv)
        return oom_err(err);
    if (asprintf(&sql,
                 "START_REPLICATION SLOT \"%s\" LOGICAL %s (proto_version '1', "
                 "publication_names %s)",
                 pl->slot, lsn_txt(pl->skip_lsn, lsn, sizeof(lsn)), pv) < 0) {
        PQfreemem(pv);
        return oom_err(err);
    }
    PQfreemem(pv);
    res = pl_exec(pl, sql);
    free(sql);
    if (PQresultStatus(res) != PGRES_COPY_BOTH) {
        const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

        if (st && strcmp(st, "42704") == 0) { /* the slot went away just now */
            PQclear(res);
            pl_disconnect(pl);
            return slot_gone(pl, NULL, err);
        }
        if (st && strcmp(st, "55000") == 0) { /* invalidated: its WAL is gone */
            const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
            const char *d = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
            char why[512], line[512];
            int r;

            snprintf(why, sizeof(why), "%s%s%s", m ? m : "refused", d ? ": " : "", d ? d : "");
            tdc_pg_one_line(line, sizeof(line), why);
            PQclear(res);
            pl_disconnect(pl);
            if (pl->has_pos)
                r = slot_gone(pl, line, err);
            else
                r = td_error_set(err, -ENOENT,
                                 "postgres: %s: the replication slot %s can no longer give the "
                                 "changes (%s); nothing was read from it yet: drop it (SELECT "
                                 "pg_drop_replication_slot('%s')) and the connector makes a "
                                 "new one",
                                 pl->unit, pl->slot, line, pl->slot);
            pl->next_connect_ms = td_time_mono_ms() + pl->backoff_ms;
            return r;
        }
        return pl_failed(pl, res, "starting replication", err);
    }
    PQclear(res);
    pl->streaming = true;
    pl->in_txn = false;
    pl->flush_lsn = pl->flush_lsn > pl->slot_confirmed ? pl->flush_lsn : pl->slot_confirmed;
    pl->next_status_ms = td_time_mono_ms() + STATUS_INTERVAL_MS;
    return 0;
}

/* 0 streaming, 1 not now (the caller says IDLE), <0 error. */
static int pl_ensure(tdc_pglogical *pl, td_error *err)
{
    int r;

    if (pl->streaming && pl->conn && PQstatus(pl->conn) == CONNECTION_OK)
        return 0;
    pl_disconnect(pl);
    if (td_time_mono_ms() < pl->next_connect_ms)
        return 1;
    r = pl_connect(pl, err);
    if (r == 0)
        r = pl_check_table(pl, err);
    if (r == 0)
        r = pl_check_publication(pl, err);
    if (r == 0)
        r = pl_check_slot(pl, err);
    if (r == 0)
        r = pl_start(pl, err);
    if (r < 0 && pl->conn) {
        pl_disconnect(pl);
        pl->next_connect_ms = td_time_mono_ms() + pl->backoff_ms;
    }
    if (r == 0)
        pl_outage_over(pl);
    return r;
}

/* ---- status updates ------------------------------------------------------- */

static int pl_send_status(tdc_pglogical *pl, bool reply)
{
    uint8_t m[TDC_PGO_STATUS_LEN];
    uint64_t written = pl->received_lsn > pl->flush_lsn ? pl->received_lsn : pl->flush_lsn;

    if (!pl->streaming || !pl->conn)
        return 0;
    if (pl->all_acked && pl->safe_end > pl->flush_lsn)
        pl->flush_lsn = pl->safe_end;
    tdc_pgo_status_update(m, written, pl->flush_lsn, pl->flush_lsn,
                          tdc_pgo_time_from_unix_us(td_time_wall_ms() * 1000), reply);
    if (PQputCopyData(pl->conn, (const char *)m, (int)sizeof(m)) != 1 || PQflush(pl->conn) != 0) {
        pl_outage(pl, PQerrorMessage(pl->conn));
        return 1;
    }
    pl->stats.status_updates++;
    pl->next_status_ms = td_time_mono_ms() + STATUS_INTERVAL_MS;
    return 0;
}

/* ---- rows ----------------------------------------------------------------- */

/* The table's Relation message: which of its columns the row holds. */
static void free_names(char **names, size_t n)
{
    if (names)
        for (size_t i = 0; i < n; i++)
            free(names[i]);
    free(names);
}

/* The table's Relation message (at the start of each session, and after a
 * change of the table): which of its columns the row holds. The columns
 * array handed out with rows stays the same pointer while the columns do
 * not change, and is a new one (allocated before the old one is freed, so
 * never at the same address) when they do: the dataset resolves its header
 * again exactly then (tdc_dataset.h). */
static int pl_relation(tdc_pglogical *pl, const tdc_pgo_msg *m, td_error *err)
{
    size_t nout = pl->ncolumns ? pl->ncolumns : m->ncolumns, done = 0;
    size_t *map = calloc(nout ? nout : 1, sizeof(*map));
    char **names = calloc(nout ? nout : 1, sizeof(*names));
    bool same;
    int r = 0;

    pl->have_rel = false;
    if (!map || !names) {
        r = oom_err(err);
        goto fail;
    }
    for (; done < nout; done++) {
        const char *want = pl->ncolumns ? pl->columns[done] : m->columns[done].name;
        size_t k;

        for (k = 0; k < m->ncolumns; k++)
            if (strcmp(m->columns[k].name, want) == 0)
                break;
        if (k == m->ncolumns) {
            r = td_error_set(err, -ENOENT,
                             "postgres: %s: the publication %s does not send column \"%s\" "
                             "(columns); publish it (a column list of PostgreSQL 15 leaves "
                             "it out?)",
                             pl->unit, pl->publication, want);
            goto fail;
        }
        map[done] = k;
        names[done] = strdup(want);
        if (!names[done]) {
            r = oom_err(err);
            goto fail;
        }
    }
    same = pl->colnames && pl->nout == nout;
    for (size_t i = 0; same && i < nout; i++)
        same = pl->map[i] == map[i] && strcmp(pl->colnames[i], names[i]) == 0;
    if (same) {
        free(map);
        free_names(names, nout);
    } else {
        free(pl->map);
        free_names(pl->colnames, pl->nout);
        pl->map = map;
        pl->colnames = names;
        pl->nout = nout;
    }
    pl->relid = m->relid;
    pl->rel_ncols = m->ncolumns;
    pl->id_idx = -1;
    for (size_t k = 0; k < m->ncolumns; k++)
        if (strcmp(m->columns[k].name, pl->idcol) == 0)
            pl->id_idx = (long)k;
    pl->have_rel = true;
    return 0;

fail:
    free(map);
    free_names(names, done);
    return r;
}

static int arena_put(tdc_pglogical *pl, const char *s, size_t n, size_t *off)
{
    if (pl->arena_len + n + 1 > pl->arena_cap) {
        size_t cap = pl->arena_cap ? pl->arena_cap : 4096;
        char *np;

        while (cap < pl->arena_len + n + 1)
            cap *= 2;
        np = realloc(pl->arena, cap);
        if (!np)
            return -ENOMEM;
        pl->arena = np;
        pl->arena_cap = cap;
    }
    *off = pl->arena_len;
    if (n)
        memcpy(pl->arena + pl->arena_len, s, n);
    pl->arena[pl->arena_len + n] = '\0';
    pl->arena_len += n + 1;
    return 0;
}

static void pl_position(const tdc_source *src, tdc_position *ret)
{
    const tdc_pglogical *pl = (const tdc_pglogical *)src;

    memset(ret, 0, sizeof(*ret));
    ret->kind = pl->has_pos ? TDC_POSITION_POSTGRES : TDC_POSITION_NONE;
    ret->pg_mode = TDC_PG_LOGICAL;
    snprintf(ret->table, sizeof(ret->table), "%s", pl->unit);
    ret->lsn = (int64_t)pl->pos_lsn;
    ret->lsn_changes = pl->pos_changes;
    ret->lsn_done = pl->pos_done;
    ret->next_row = pl->next_row;
}

/* Builds the row of an insert, update or delete of the table. */
static int pl_row(tdc_pglogical *pl, const tdc_pgo_msg *m, tdc_row *row, td_error *err)
{
    bool del = m->kind == TDC_PGO_DELETE;
    const tdc_pgo_tuple *t = del ? &m->old_tuple : &m->new_tuple;
    const tdc_pgo_tuple *old = m->old_kind == 'O' ? &m->old_tuple : NULL;
    char lsn[32];

    if (t->ncols != pl->rel_ncols || (old && old->ncols != pl->rel_ncols))
        return td_error_set(err, -EPROTO,
                            "postgres: %s: a change in the transaction at LSN %s has %zu "
                            "columns but the table's Relation message said %zu",
                            pl->unit, lsn_txt(pl->txn_final, lsn, sizeof(lsn)), t->ncols,
                            pl->rel_ncols);
    if (pl->fields_cap < pl->nout || !pl->fields) {
        size_t n = pl->nout ? pl->nout : 1;

        free(pl->fields);
        free(pl->lens);
        free(pl->offs);
        pl->fields = calloc(n, sizeof(*pl->fields));
        pl->lens = calloc(n, sizeof(*pl->lens));
        pl->offs = calloc(n, sizeof(*pl->offs));
        pl->fields_cap = n;
        if (!pl->fields || !pl->lens || !pl->offs) {
            pl->fields_cap = 0;
            return oom_err(err);
        }
    }
    pl->arena_len = 0;
    pl->reason[0] = '\0';
    if (tdc_pg_raw_begin(&pl->raw) < 0)
        return oom_err(err);
    for (size_t i = 0; i < pl->nout; i++) {
        const tdc_pgo_value *v = &t->cols[pl->map[i]];
        bool null = false;

        if (v->kind == 'u' && old && old->cols[pl->map[i]].kind != 'u')
            v = &old->cols[pl->map[i]];
        if (v->kind == 'u' || v->kind == 'b') {
            if (!pl->reason[0])
                snprintf(pl->reason, sizeof(pl->reason),
                         v->kind == 'u'
                             ? "column %s: PostgreSQL did not send its value (an unchanged "
                               "TOASTed value, over about 2 kB) and the table does not send "
                               "old rows; give it ALTER TABLE ... REPLICA IDENTITY FULL and "
                               "update the row again"
                             : "column %s: PostgreSQL sent the value in binary",
                         pl->colnames[i]);
            null = true;
        } else if (v->kind == 'n') {
            null = true;
        }
        if (arena_put(pl, null ? "" : v->data, null ? 0 : v->len, &pl->offs[i]) < 0)
            return oom_err(err);
        pl->lens[i] = null ? 0 : v->len;
        if (tdc_pg_raw_field(&pl->raw, pl->colnames[i], v->data, v->len, null) < 0)
            return oom_err(err);
    }
    if (tdc_pg_raw_end(&pl->raw) < 0)
        return oom_err(err);
    for (size_t i = 0; i < pl->nout; i++)
        pl->fields[i] = pl->arena + pl->offs[i];

    memset(row, 0, sizeof(*row));
    row->source_record_id = NULL;
    if (pl->id_idx >= 0) {
        const tdc_pgo_value *v = &t->cols[pl->id_idx];

        if (v->kind == 'u' && old)
            v = &old->cols[pl->id_idx];
        if (v->kind == 't' && v->len < sizeof(pl->srid)) {
            memcpy(pl->srid, v->data, v->len);
            pl->srid[v->len] = '\0';
            if (!memchr(pl->srid, '\0', v->len))
                row->source_record_id = pl->srid;
        }
    }
    row->unit = pl->unit;
    row->row = pl->next_row;
    row->line = pl->next_row;
    row->nfields = pl->nout;
    row->fields = pl->fields;
    row->lens = pl->lens;
    row->columns = (const char *const *)pl->colnames;
    row->ncolumns = pl->nout;
    row->raw = pl->raw.buf;
    row->raw_len = pl->raw.len;
    row->source_bytes = (int64_t)pl->raw.len;
    row->reject_reason = pl->reason[0] ? pl->reason : NULL;
    row->deleted = del;
    pl->next_row++;
    pl->stats.rows++;
    if (del)
        pl->stats.deletes++;
    pl->has_pos = true;
    pl->pos_lsn = pl->txn_final;
    pl->pos_changes = pl->txn_changes;
    pl->pos_done = false;
    pl->last_row_lsn = pl->pos_lsn;
    pl->last_row_changes = pl->pos_changes;
    pl->all_acked = false;
    pl_position(&pl->base, &row->after);
    return TDC_NEXT_ROW;
}

/* One logical message. TDC_NEXT_ROW (row filled), 0 (go on), <0 error. */
static int pl_message(tdc_pglogical *pl, const tdc_pgo_copy *c, tdc_row *row, td_error *err)
{
    tdc_pgo_msg m;
    char why[300], lsn[32];
    int r;

    r = tdc_pgo_parse(pl->parser, c->data, c->len, &m, why, sizeof(why));
    if (r == -ENOMEM)
        return oom_err(err);
    if (r < 0) {
        r = td_error_set(err, -EPROTO, "postgres: %s: slot %s at LSN %s: %s", pl->unit,
                         pl->slot, lsn_txt(c->wal_start, lsn, sizeof(lsn)), why);
        pl_disconnect(pl);
        pl->next_connect_ms = td_time_mono_ms() + pl->backoff_ms;
        return r;
    }
    switch (m.kind) {
    case TDC_PGO_BEGIN:
        pl->in_txn = true;
        pl->txn_final = m.final_lsn;
        pl->txn_changes = 0;
        return 0;
    case TDC_PGO_COMMIT:
        if (!pl->in_txn || m.commit_lsn != pl->txn_final)
            goto out_of_order;
        pl->in_txn = false;
        /* a transaction skipped as consumed before does not move it back */
        if (!pl->has_pos || m.commit_lsn >= pl->pos_lsn) {
            pl->has_pos = true;
            pl->pos_lsn = m.commit_lsn;
            pl->pos_changes = pl->txn_changes;
            pl->pos_done = true;
        }
        if (m.end_lsn > pl->safe_end)
            pl->safe_end = m.end_lsn;
        return 0;
    case TDC_PGO_RELATION:
        if (strcmp(m.nspname, pl->nspname) != 0 || strcmp(m.name, pl->relname) != 0)
            return 0;
        return pl_relation(pl, &m, err);
    case TDC_PGO_INSERT:
    case TDC_PGO_UPDATE:
    case TDC_PGO_DELETE:
        if (!pl->in_txn)
            goto out_of_order;
        if (!pl->have_rel || m.relid != pl->relid) {
            pl->stats.other++;
            return 0;
        }
        pl->txn_changes++;
        if (pl->txn_final < pl->skip_lsn ||
            (pl->txn_final == pl->skip_lsn &&
             (pl->skip_done || pl->txn_changes <= pl->skip_changes))) {
            pl->stats.skipped++;
            return 0;
        }
        return pl_row(pl, &m, row, err);
    case TDC_PGO_TRUNCATE:
        for (size_t i = 0; i < m.nrelids; i++)
            if (pl->have_rel && m.relids[i] == pl->relid &&
                !(pl->txn_final < pl->skip_lsn ||
                  (pl->txn_final == pl->skip_lsn && pl->skip_done))) {
                pl->stats.truncates++;
                td_log_component(TD_LOG_WARNING, LOG_COMPONENT,
                                 "%s: TRUNCATE in the transaction committed at LSN %s: the "
                                 "rows it removed are not published as deletes (a truncate "
                                 "names no rows); records already in Kafka stay",
                                 pl->unit, lsn_txt(pl->txn_final, lsn, sizeof(lsn)));
            }
        return 0;
    case TDC_PGO_ORIGIN:
    case TDC_PGO_TYPE:
        return 0;
    }
    return 0;

out_of_order:
    r = td_error_set(err, -EPROTO,
                     "postgres: %s: slot %s at LSN %s: a '%c' message outside its "
                     "transaction", pl->unit, pl->slot, lsn_txt(c->wal_start, lsn, sizeof(lsn)),
                     (char)m.kind);
    pl_disconnect(pl);
    pl->next_connect_ms = td_time_mono_ms() + pl->backoff_ms;
    return r;
}

/* ---- the tdc_source operations -------------------------------------------- */

static int pl_resume(tdc_source *src, const tdc_position *committed, td_error *err)
{
    tdc_pglogical *pl = (tdc_pglogical *)src;

    if (committed && committed->kind != TDC_POSITION_NONE &&
        committed->kind != TDC_POSITION_POSTGRES)
        return td_error_set(err, -EINVAL,
                            "postgres: %s: the committed position is not a postgres position",
                            pl->unit);
    if (committed && committed->kind == TDC_POSITION_POSTGRES) {
        if (committed->pg_mode != TDC_PG_LOGICAL)
            return td_error_set(err, -EINVAL,
                                "postgres: %s: the committed position was written in mode %s; "
                                "logical mode cannot go on from it without losing or repeating "
                                "rows (the slot starts where it was made): run logical mode "
                                "under a new instance name (docs/connector.md, Logical mode)",
                                pl->unit,
                                committed->pg_mode == TDC_PG_SNAPSHOT ? "snapshot" : "timestamp");
        if (!memchr(committed->table, '\0', sizeof(committed->table)) || !committed->table[0] ||
            committed->lsn < 0 || committed->lsn_changes < 0)
            return td_error_set(err, -EINVAL,
                                "postgres: %s: the committed position is malformed", pl->unit);
    }
    pl_disconnect(pl);
    pl->next_connect_ms = 0;
    if (committed && committed->kind == TDC_POSITION_POSTGRES) {
        pl->has_pos = true;
        pl->pos_lsn = (uint64_t)committed->lsn;
        pl->pos_changes = committed->lsn_changes;
        pl->pos_done = committed->lsn_done;
        snprintf(pl->resumed_table, sizeof(pl->resumed_table), "%s", committed->table);
        pl->next_row = committed->next_row > 0 ? committed->next_row : 1;
    } else {
        pl->has_pos = false;
        pl->pos_lsn = 0;
        pl->pos_changes = 0;
        pl->pos_done = false;
        pl->resumed_table[0] = '\0';
        pl->next_row = 1;
    }
    pl->skip_lsn = pl->pos_lsn;
    pl->skip_changes = pl->pos_changes;
    pl->skip_done = pl->pos_done;
    pl->last_row_lsn = pl->pos_lsn;
    pl->last_row_changes = pl->pos_changes;
    pl->all_acked = true;
    /* what was seen after the committed position is read again */
    pl->safe_end = 0;
    return 0;
}

static int pl_next(tdc_source *src, tdc_row *row, td_error *err)
{
    tdc_pglogical *pl = (tdc_pglogical *)src;
    int r;

    if (!row)
        return td_error_set(err, -EINVAL, "postgres: no row to fill");
    r = pl_ensure(pl, err);
    if (r != 0)
        return r < 0 ? r : TDC_NEXT_IDLE;
    if (td_time_mono_ms() >= pl->next_status_ms && pl_send_status(pl, false) != 0)
        return TDC_NEXT_IDLE;
    for (;;) {
        tdc_pgo_copy c;
        char why[300];
        int n;

        if (pl->copybuf) {
            PQfreemem(pl->copybuf);
            pl->copybuf = NULL;
        }
        n = PQgetCopyData(pl->conn, &pl->copybuf, /* async= */ 1);
        if (n == 0) {
            if (!PQconsumeInput(pl->conn)) {
                pl_outage(pl, PQerrorMessage(pl->conn));
                return TDC_NEXT_IDLE;
            }
            n = PQgetCopyData(pl->conn, &pl->copybuf, 1);
            if (n == 0)
                return TDC_NEXT_IDLE;
        }
        if (n == -1) {
            PGresult *res = PQgetResult(pl->conn);
            char line[512];

            tdc_pg_one_line(line, sizeof(line), tdc_pg_error_text(pl->conn, res));
            PQclear(res);
            pl_outage(pl, line[0] ? line : "the server ended replication");
            return TDC_NEXT_IDLE;
        }
        if (n < 0) {
            pl_outage(pl, PQerrorMessage(pl->conn));
            return TDC_NEXT_IDLE;
        }
        if (tdc_pgo_parse_copy(pl->copybuf, (size_t)n, &c, why, sizeof(why)) < 0) {
            r = td_error_set(err, -EPROTO, "postgres: %s: slot %s: %s", pl->unit, pl->slot,
                             why);
            pl_disconnect(pl);
            pl->next_connect_ms = td_time_mono_ms() + pl->backoff_ms;
            return r;
        }
        if (c.kind == TDC_PGO_KEEPALIVE) {
            if (c.wal_end > pl->received_lsn)
                pl->received_lsn = c.wal_end;
            /* between transactions everything before the server's send
             * position has come: nothing of the table is below it */
            if (!pl->in_txn && c.wal_end > pl->safe_end)
                pl->safe_end = c.wal_end;
            if (c.reply_requested && pl_send_status(pl, false) != 0)
                return TDC_NEXT_IDLE;
            continue;
        }
        if (c.wal_start > pl->received_lsn)
            pl->received_lsn = c.wal_start;
        r = pl_message(pl, &c, row, err);
        if (r < 0 && pl->conn) {
            /* the message was not consumed: the stream starts again after
             * what was handed out, and says it again (going on would read
             * the table's next changes without its Relation, as another
             * table's, and skip them) */
            pl_disconnect(pl);
            pl->next_connect_ms = td_time_mono_ms() + pl->backoff_ms;
        }
        if (r != 0)
            return r;
    }
}

static int pl_committed(tdc_source *src, const tdc_position *pos, td_error *err)
{
    tdc_pglogical *pl = (tdc_pglogical *)src;
    uint64_t flush;

    (void)err;
    if (!pos || pos->kind != TDC_POSITION_POSTGRES || pos->pg_mode != TDC_PG_LOGICAL)
        return 0;
    if ((uint64_t)pos->lsn > pl->last_row_lsn ||
        ((uint64_t)pos->lsn == pl->last_row_lsn && pos->lsn_changes >= pl->last_row_changes))
        pl->all_acked = true;
    /* a transaction wholly in Kafka: past its commit record; half: its
     * commit LSN (it is sent again whole, the published part skipped) */
    flush = pos->lsn_done ? (uint64_t)pos->lsn + 1 : (uint64_t)pos->lsn;
    if (pl->all_acked && pl->safe_end > flush)
        flush = pl->safe_end;
    if (flush > pl->flush_lsn) {
        pl->flush_lsn = flush;
        (void)pl_send_status(pl, false);
    }
    return 0;
}

static int pl_wait_fd(const tdc_source *src)
{
    const tdc_pglogical *pl = (const tdc_pglogical *)src;

    return pl->streaming && pl->conn ? PQsocket(pl->conn) : -1;
}

static const char *pl_status(const tdc_source *src)
{
    tdc_pglogical *pl = (tdc_pglogical *)(uintptr_t)src;
    char lsn[32], fl[32];
    int n;

    if (pl->has_pos)
        n = snprintf(pl->status, sizeof(pl->status),
                     "%s via slot %s, up to the transaction at LSN %s (%" PRId64
                     " changes%s), confirmed %s",
                     pl->unit, pl->slot, lsn_txt(pl->pos_lsn, lsn, sizeof(lsn)),
                     pl->pos_changes, pl->pos_done ? ", all" : "",
                     lsn_txt(pl->flush_lsn, fl, sizeof(fl)));
    else
        n = snprintf(pl->status, sizeof(pl->status), "%s via slot %s from its start", pl->unit,
                     pl->slot);
    if (n > 0 && (size_t)n < sizeof(pl->status) && pl->down)
        snprintf(pl->status + n, sizeof(pl->status) - (size_t)n, "; database unreachable");
    return pl->status;
}

int tdc_pglogical_lag_bytes(tdc_source *src, int64_t *bytes, td_error *err)
{
    tdc_pglogical *pl = (tdc_pglogical *)src;
    const char *params[1];
    PGresult *res;
    char line[512];
    bool timed_out;

    if (!src || src->ops != &tdc_pglogical_ops || !bytes)
        return -EINVAL;
    if (!pl->streaming)
        return td_error_set(err, -EAGAIN, "postgres: %s: not reading the slot now", pl->unit);
    if (!pl->lagconn || PQstatus(pl->lagconn) != CONNECTION_OK) {
        if (pl->lagconn)
            PQfinish(pl->lagconn);
        pl->lagconn = tdc_pg_connect(pl->conninfo, /* replication= */ NULL, &timed_out);
        if (!pl->lagconn || PQstatus(pl->lagconn) != CONNECTION_OK) {
            tdc_pg_one_line(line, sizeof(line),
                            pl->lagconn ? PQerrorMessage(pl->lagconn)
                            : timed_out ? "no connection within 10 s"
                                        : "out of memory");
            if (pl->lagconn)
                PQfinish(pl->lagconn);
            pl->lagconn = NULL;
            return td_error_set(err, -EIO, "postgres: %s: connecting to ask for the slot's "
                                "lag: %s", pl->unit, line);
        }
        PQsetNoticeProcessor(pl->lagconn, tdc_pg_notice_to_log, NULL);
    }
    params[0] = pl->slot;
    res = PQexecParams(pl->lagconn,
                       "SELECT pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(),"
                       " confirmed_flush_lsn)::bigint FROM pg_catalog.pg_replication_slots"
                       " WHERE slot_name = $1 AND confirmed_flush_lsn IS NOT NULL",
                       1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        tdc_pg_one_line(line, sizeof(line),
                        PQresultStatus(res) == PGRES_TUPLES_OK
                            ? "the slot is not there"
                            : tdc_pg_error_text(pl->lagconn, res));
        PQclear(res);
        PQfinish(pl->lagconn);
        pl->lagconn = NULL;
        return td_error_set(err, -EIO, "postgres: %s: asking for the slot %s's lag: %s",
                            pl->unit, pl->slot, line);
    }
    *bytes = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    if (*bytes < 0)
        *bytes = 0; /* the server's WAL position is read after the slot's */
    PQclear(res);
    return 0;
}

static const tdc_source_ops tdc_pglogical_ops = {
    .kind = "postgres",
    .resume = pl_resume,
    .next = pl_next,
    .position = pl_position,
    .committed = pl_committed,
    .wait_fd = pl_wait_fd,
    .status = pl_status,
    .lag = NULL,
    .free = pl_free,
};
