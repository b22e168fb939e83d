/* Integration tests of the postgres source (connectors/sources/tdc_postgres)
 * in timestamp mode (snapshot mode: itest_postgres_snapshot.c)
 * against a real PostgreSQL 15 server that this binary starts for itself
 * (tests/support/td_pg.h). The server's TimeZone is Asia/Shanghai, so every
 * position that comes out right also proves the source is zone-independent.
 *
 *   config       the section table's defaults; a bad conninfo is refused
 *                without showing it (it may hold a password)
 *   order        every row, in (updated_at, id) order, with exact fields,
 *                NULLs, Chinese text, raw JSON, row numbers, positions in UTC
 *                microseconds, status; the late-row check finds nothing
 *   columns      a configured column list picks and orders the fields; the
 *                conninfo may set application_name but not client_encoding
 *   resume       resuming at the position after row k yields exactly rows
 *                k+1..n; another table's position is refused
 *   later        rows committed later with later timestamps come with the
 *                next poll, none twice
 *   late_commit  THE case Kafka Connect's JDBC source loses: a transaction
 *                stamped T1 commits after one stamped T2 > T1 was read. With
 *                settle_delay 0 the row IS lost (and the late-row check
 *                reports it); with settle_delay above the gap it is read, in
 *                order
 *   untouched    an update that does not advance updated_at is reported by
 *                the late-row check
 *   ties         40 rows with one updated_at across batches of 3: none
 *                skipped, none repeated
 *   id_types     an integer id orders 2 < 9 < 10 < 100 and a text id
 *                "10" < "100" < "2" < "9", batch size 1: the id is compared in
 *                its own type
 *   timestamp    a timestamp-without-time-zone column is read in time_zone
 *   view         a view reads like a table (no late-row check)
 *   outage       the server stops mid-run: buffered rows still come, then
 *                IDLE (one warning for the whole outage), then after the
 *                restart every row exactly once
 *   lag          tdc_source_lag(): the rows after a known position (count(*)
 *                over the poll's range, settle cutoff included), what is left
 *                of a short batch without a query, a resumed position's
 *                count; tuodi_connector_source_lag_rows shows what is set
 *                and has no series before
 *   errors       missing table, missing column, wrong updated_at type, an id
 *                type without ordering, no privilege, an id too long for a
 *                position: clear messages naming table and column; once the
 *                table exists the same source reads it
 */
#include "td_config.h"
#include "td_log.h"
#include "td_pg.h"
#include "td_signal.h"
#include "td_test.h"
#include "td_time.h"
#include "tdc_metrics.h"
#include "tdc_postgres.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static td_pg *server;
static PGconn *db;

/* ---- log capture ---------------------------------------------------------- */

static char log_lines[64][1024];
static size_t log_n;

static void log_sink(td_log_level level, const char *line, void *opaque)
{
    (void)level;
    (void)opaque;
    fprintf(stderr, "    [log] %s\n", line);
    if (log_n < 64)
        snprintf(log_lines[log_n++], sizeof(log_lines[0]), "%s", line);
}

static size_t log_count(const char *needle)
{
    size_t c = 0;

    for (size_t i = 0; i < log_n && i < 64; i++)
        c += strstr(log_lines[i], needle) != NULL;
    return c;
}

/* ---- sources and rows ----------------------------------------------------- */

static struct tdc_postgres_config base_cfg(const char *table)
{
    struct tdc_postgres_config c = {
        .mode = TDC_PG_TIMESTAMP, /* snapshot mode: itest_postgres_snapshot.c */
        .conninfo = (char *)td_pg_conninfo(server),
        .table = (char *)table,
        .updated_at_column = "updated_at",
        .id_column = "id",
        .settle_delay_ms = 0,
        .poll_interval_ms = 20,
        .batch_size = 1000,
        .statement_timeout_ms = 10000,
        .reconnect_max_backoff_ms = 200,
        .late_row_check_ms = 0,
    };
    return c;
}

static tdc_source *new_src(const struct tdc_postgres_config *c)
{
    tdc_source *s = NULL;
    td_error err = {0};
    int r = tdc_postgres_new(c, &s, &err);

    if (r < 0)
        fprintf(stderr, "\n    tdc_postgres_new: %s\n", td_error_msg(&err));
    CU_ASSERT_FATAL(r == 0);
    r = tdc_source_resume(s, NULL, &err);
    CU_ASSERT_FATAL(r == 0);
    return s;
}

/* A row as read, copied. */
typedef struct got_row {
    char *id, *fields, *raw, *unit;
    int64_t row;
    tdc_position after;
} got_row;

typedef struct got {
    got_row v[512];
    size_t n;
} got;

static void got_add(got *g, const tdc_row *r)
{
    got_row *o;
    size_t len = 0;

    CU_ASSERT_FATAL(g->n < 512);
    o = &g->v[g->n++];
    o->id = strdup(r->source_record_id);
    o->raw = strndup(r->raw, r->raw_len);
    o->unit = strdup(r->unit);
    o->row = r->row;
    o->after = r->after;
    for (size_t i = 0; i < r->nfields; i++)
        len += r->lens[i] + 1;
    o->fields = calloc(1, len + 1);
    CU_ASSERT_FATAL(o->fields && o->id && o->raw && o->unit);
    for (size_t i = 0; i < r->nfields; i++) {
        CU_ASSERT(strlen(r->fields[i]) == r->lens[i]);
        if (i)
            strcat(o->fields, "|");
        strcat(o->fields, r->fields[i]);
    }
}

static void got_free(got *g)
{
    for (size_t i = 0; i < g->n; i++) {
        free(g->v[i].id);
        free(g->v[i].fields);
        free(g->v[i].raw);
        free(g->v[i].unit);
    }
    g->n = 0;
}

/* Calls next() until want more rows came or timeout_ms passed; rows go to
 * g. Returns the first negative next() gave (err filled), else 0. */
static int read_rows(tdc_source *s, got *g, size_t want, int64_t timeout_ms, td_error *err)
{
    int64_t deadline = td_time_mono_ms() + timeout_ms;
    size_t target = g->n + want;

    while (g->n < target && td_time_mono_ms() < deadline) {
        tdc_row row;
        int r = tdc_source_next(s, &row, err);
        if (r < 0)
            return r;
        CU_ASSERT(r == TDC_NEXT_ROW || r == TDC_NEXT_IDLE);
        if (r == TDC_NEXT_ROW)
            got_add(g, &row);
        else
            usleep(5000);
    }
    return 0;
}

/* Like read_rows for exactly ms, expecting nothing in particular. */
static int read_for(tdc_source *s, got *g, int64_t ms, td_error *err)
{
    int64_t deadline = td_time_mono_ms() + ms;

    while (td_time_mono_ms() < deadline) {
        tdc_row row;
        int r = tdc_source_next(s, &row, err);
        if (r < 0)
            return r;
        CU_ASSERT(r == TDC_NEXT_ROW || r == TDC_NEXT_IDLE);
        if (r == TDC_NEXT_ROW)
            got_add(g, &row);
        else
            usleep(5000);
    }
    return 0;
}

static void expect_ids(const got *g, const char *const *ids, size_t n)
{
    CU_ASSERT_EQUAL(g->n, n);
    for (size_t i = 0; i < n && i < g->n; i++) {
        if (strcmp(g->v[i].id, ids[i]) != 0)
            fprintf(stderr, "\n    row %zu: id %s, want %s\n", i, g->v[i].id, ids[i]);
        CU_ASSERT_STRING_EQUAL(g->v[i].id, ids[i]);
    }
}

#define SQL(...) CU_ASSERT_FATAL(td_pg_execf(db, __VA_ARGS__) == 0)

/* 2024-11-28 12:00:01.123456 UTC in microseconds since the epoch. Test
 * data lies in the past: rows later than the database clock are not read. */
#define T0_US INT64_C(1732795201123456)

/* ---- config --------------------------------------------------------------- */

static void test_config(void)
{
    struct tdc_postgres_config c = {0};
    td_error err = {0};
    tdc_source *s = NULL;
    int r;

    r = td_config_load_string(tdc_postgres_config_table, "pg.yaml",
                              "conninfo: host=db password=hunter2\n"
                              "table: public.settlement\n",
                              &c, &err);
    if (r < 0)
        fprintf(stderr, "\n    %s\n", td_error_msg(&err));
    CU_ASSERT_FATAL(r == 0);
    CU_ASSERT_STRING_EQUAL(c.updated_at_column, "updated_at");
    CU_ASSERT_STRING_EQUAL(c.id_column, "id");
    CU_ASSERT_PTR_NULL(c.time_zone);
    CU_ASSERT_EQUAL(c.ncolumns, 0);
    CU_ASSERT_EQUAL(c.settle_delay_ms, 5000);
    CU_ASSERT_EQUAL(c.poll_interval_ms, 2000);
    CU_ASSERT_EQUAL(c.batch_size, 5000);
    CU_ASSERT_EQUAL(c.statement_timeout_ms, 60000);
    CU_ASSERT_EQUAL(c.reconnect_max_backoff_ms, 30000);
    CU_ASSERT_EQUAL(c.late_row_check_ms, 300000);
    CU_ASSERT(tdc_postgres_new(&c, &s, &err) == 0);
    s = tdc_source_free(s);
    td_config_free(tdc_postgres_config_table, &c);

    /* Missing table, unknown key, bad value: reported, conninfo never shown. */
    r = td_config_load_string(tdc_postgres_config_table, "pg.yaml",
                              "conninfo: [password=hunter2]\n"
                              "tabel: x\n"
                              "settle_delay: 1.5s\n",
                              &c, &err);
    CU_ASSERT(r == -EINVAL);
    CU_ASSERT(strstr(td_error_msg(&err), "tabel") != NULL);
    CU_ASSERT(strstr(td_error_msg(&err), "settle_delay") != NULL);
    CU_ASSERT(strstr(td_error_msg(&err), "hunter2") == NULL);
    td_config_free(tdc_postgres_config_table, &c);

    /* A conninfo libpq cannot parse is refused without quoting it. */
    c = base_cfg("public.settlement");
    c.conninfo = "host=db password='hunter2";
    r = tdc_postgres_new(&c, &s, &err);
    CU_ASSERT(r == -EINVAL);
    CU_ASSERT(strstr(td_error_msg(&err), "conninfo") != NULL);
    CU_ASSERT(strstr(td_error_msg(&err), "hunter2") == NULL);

    c = base_cfg("public.settlement");
    c.columns = (char *[]){"a", "b", "a"};
    c.ncolumns = 3;
    CU_ASSERT(tdc_postgres_new(&c, &s, &err) == -EINVAL);
    CU_ASSERT(strstr(td_error_msg(&err), "\"a\" is listed twice") != NULL);

    /* The reference of these keys is checked, without a database, by
     * tests/connectors/test_connector_config.c (docs/connector-config.md). */
}

/* ---- reading -------------------------------------------------------------- */

/* Rows inserted out of order; five share T0 (ids 7, 3, 12, 5, 1), so ties
 * are broken by id. */
static void make_settlement(void)
{
    SQL("DROP TABLE IF EXISTS settlement;"
        "CREATE TABLE settlement (id bigint PRIMARY KEY, name text, amount numeric(12,2),"
        " closed_on date, updated_at timestamptz NOT NULL);"
        "CREATE INDEX ON settlement (updated_at, id);"
        "INSERT INTO settlement VALUES"
        " (7, '张三', 12.50, '2024-11-01', '2024-11-28 12:00:01.123456+00'),"
        " (20, 'late \"quoted\"', 1.00, NULL, '2024-11-28 12:00:03+00'),"
        " (3, NULL, NULL, NULL, '2024-11-28 12:00:01.123456+00'),"
        " (12, '李四', 0.01, '2024-01-31', '2024-11-28 12:00:01.123456+00'),"
        " (9, 'early', 100.00, '2023-12-31', '2024-11-28 11:59:59.999999+00'),"
        " (5, E'tab\\there\\nnewline', -3.20, NULL, '2024-11-28 12:00:01.123456+00'),"
        " (1, '', 0, NULL, '2024-11-28 12:00:01.123456+00'),"
        " (30, '王五', 7.77, '2024-11-28', '2024-11-28 20:00:05+08')");
}

static const char *const settlement_order[] = {"9", "1", "3", "5", "7", "12", "20", "30"};

static void test_order(void)
{
    struct tdc_postgres_config c;
    tdc_source *s;
    tdc_postgres_stats st;
    td_error err = {0};
    got g = {0};

    make_settlement();
    c = base_cfg("settlement"); /* unqualified: resolved to public.settlement */
    c.late_row_check_ms = 1;
    s = new_src(&c);
    CU_ASSERT_STRING_EQUAL(tdc_source_status(s), "settlement from the beginning");
    CU_ASSERT(read_rows(s, &g, 8, 10000, &err) == 0);
    expect_ids(&g, settlement_order, 8);
    if (g.n == 8) {
        CU_ASSERT_STRING_EQUAL(g.v[0].fields, "9|early|100.00|2023-12-31|2024-11-28 19:59:59.999999+08");
        CU_ASSERT_STRING_EQUAL(g.v[1].fields, "1||0.00||2024-11-28 20:00:01.123456+08");
        CU_ASSERT_STRING_EQUAL(g.v[2].fields, "3||||2024-11-28 20:00:01.123456+08");
        CU_ASSERT_STRING_EQUAL(g.v[3].fields,
                               "5|tab\there\nnewline|-3.20||2024-11-28 20:00:01.123456+08");
        CU_ASSERT_STRING_EQUAL(g.v[4].fields, "7|张三|12.50|2024-11-01|2024-11-28 20:00:01.123456+08");
        CU_ASSERT_STRING_EQUAL(g.v[5].fields, "12|李四|0.01|2024-01-31|2024-11-28 20:00:01.123456+08");
        /* raw: JSON, SQL NULL as null, "" as "" */
        CU_ASSERT_STRING_EQUAL(g.v[1].raw,
                               "{\"id\":\"1\",\"name\":\"\",\"amount\":\"0.00\",\"closed_on\":null,"
                               "\"updated_at\":\"2024-11-28 20:00:01.123456+08\"}");
        CU_ASSERT_STRING_EQUAL(g.v[2].raw,
                               "{\"id\":\"3\",\"name\":null,\"amount\":null,\"closed_on\":null,"
                               "\"updated_at\":\"2024-11-28 20:00:01.123456+08\"}");
        CU_ASSERT_STRING_EQUAL(g.v[3].raw,
                               "{\"id\":\"5\",\"name\":\"tab\\there\\nnewline\",\"amount\":\"-3.20\","
                               "\"closed_on\":null,\"updated_at\":\"2024-11-28 20:00:01.123456+08\"}");
        CU_ASSERT(strstr(g.v[4].raw, "\"name\":\"张三\"") != NULL);
        CU_ASSERT(strstr(g.v[6].raw, "\"name\":\"late \\\"quoted\\\"\"") != NULL);
        for (size_t i = 0; i < 8; i++) {
            CU_ASSERT_STRING_EQUAL(g.v[i].unit, "public.settlement");
            CU_ASSERT_EQUAL(g.v[i].row, (int64_t)i + 1);
            CU_ASSERT_EQUAL(g.v[i].after.kind, TDC_POSITION_POSTGRES);
            CU_ASSERT_STRING_EQUAL(g.v[i].after.table, "public.settlement");
            CU_ASSERT_STRING_EQUAL(g.v[i].after.last_id, g.v[i].id);
            CU_ASSERT_EQUAL(g.v[i].after.next_row, (int64_t)i + 2);
        }
        CU_ASSERT_EQUAL(g.v[0].after.last_updated_at_us, T0_US - 1123457);
        for (size_t i = 1; i <= 5; i++)
            CU_ASSERT_EQUAL(g.v[i].after.last_updated_at_us, T0_US);
        CU_ASSERT_EQUAL(g.v[6].after.last_updated_at_us, T0_US + 1876544);
        CU_ASSERT_EQUAL(g.v[7].after.last_updated_at_us, INT64_C(1732795205000000));
    }
    /* Nothing more, and the late-row check sees nothing wrong. */
    CU_ASSERT(read_for(s, &g, 200, &err) == 0);
    CU_ASSERT_EQUAL(g.n, 8);
    CU_ASSERT_STRING_EQUAL(tdc_source_status(s),
                           "public.settlement up to 2024-11-28 12:00:05.000000 UTC, id 30");
    CU_ASSERT(tdc_postgres_stats_get(s, &st) == 0);
    CU_ASSERT(st.late_check_active);
    CU_ASSERT(st.late_checks >= 1);
    CU_ASSERT_EQUAL(st.late_rows, 0);
    CU_ASSERT_EQUAL(st.rows, 8);
    CU_ASSERT(st.connected);
    got_free(&g);
    tdc_source_free(s);
}

static void test_columns(void)
{
    struct tdc_postgres_config c;
    tdc_source *s;
    td_error err = {0};
    got g = {0};

    char conninfo[512];
    char *n;

    make_settlement();
    c = base_cfg("public.settlement");
    c.columns = (char *[]){"name", "amount"};
    c.ncolumns = 2;
    /* The conninfo may set application_name, but client_encoding is always
     * UTF8 (in LATIN1 the Chinese names could not be read at all). */
    snprintf(conninfo, sizeof(conninfo), "%s application_name=medical client_encoding=LATIN1",
             td_pg_conninfo(server));
    c.conninfo = conninfo;
    s = new_src(&c);
    CU_ASSERT(read_rows(s, &g, 8, 10000, &err) == 0);
    expect_ids(&g, settlement_order, 8);
    if (g.n == 8) {
        CU_ASSERT_STRING_EQUAL(g.v[4].fields, "张三|12.50");
        CU_ASSERT_STRING_EQUAL(g.v[4].raw, "{\"name\":\"张三\",\"amount\":\"12.50\"}");
        CU_ASSERT_STRING_EQUAL(g.v[4].id, "7");
    }
    n = td_pg_query_value(db, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'medical'");
    CU_ASSERT(n && strcmp(n, "1") == 0);
    free(n);
    got_free(&g);
    tdc_source_free(s);
}

static void test_resume(void)
{
    struct tdc_postgres_config c;
    tdc_source *s;
    td_error err = {0};
    got all = {0};
    const size_t ks[] = {0, 1, 3, 5, 7, 8};

    make_settlement();
    c = base_cfg("public.settlement");
    c.batch_size = 2;
    s = new_src(&c);
    CU_ASSERT_FATAL(read_rows(s, &all, 8, 10000, &err) == 0);
    CU_ASSERT_FATAL(all.n == 8);
    tdc_source_free(s);

    for (size_t t = 0; t < sizeof(ks) / sizeof(ks[0]); t++) {
        size_t k = ks[t];
        got g = {0};
        tdc_position pos;

        CU_ASSERT_FATAL(tdc_postgres_new(&c, &s, &err) == 0);
        CU_ASSERT_FATAL(tdc_source_resume(s, k ? &all.v[k - 1].after : NULL, &err) == 0);
        tdc_source_position(s, &pos);
        CU_ASSERT_EQUAL(pos.kind, k ? TDC_POSITION_POSTGRES : TDC_POSITION_NONE);
        CU_ASSERT(read_rows(s, &g, 8 - k, 10000, &err) == 0);
        CU_ASSERT(read_for(s, &g, 100, &err) == 0);
        expect_ids(&g, settlement_order + k, 8 - k);
        for (size_t i = 0; i < g.n; i++) /* numbering continues from the position */
            CU_ASSERT_EQUAL(g.v[i].row, (int64_t)(k + i + 1));
        got_free(&g);
        tdc_source_free(s);
    }

    /* A position of another table: refused, naming both. */
    {
        tdc_position other = all.v[2].after;
        tdc_row row;
        int r;

        snprintf(other.table, sizeof(other.table), "public.claims");
        CU_ASSERT_FATAL(tdc_postgres_new(&c, &s, &err) == 0);
        CU_ASSERT_FATAL(tdc_source_resume(s, &other, &err) == 0);
        r = tdc_source_next(s, &row, &err);
        CU_ASSERT_EQUAL(r, -EINVAL);
        CU_ASSERT(strstr(td_error_msg(&err), "public.claims") != NULL);
        CU_ASSERT(strstr(td_error_msg(&err), "public.settlement") != NULL);
        tdc_source_free(s);
    }
    got_free(&all);
}

static void test_later(void)
{
    struct tdc_postgres_config c;
    tdc_source *s;
    td_error err = {0};
    got g = {0};
    static const char *const want[] = {"9", "1", "3", "5", "7", "12", "20", "30",
                                       "40", "41", "42"};

    make_settlement();
    SQL("ALTER TABLE settlement ALTER updated_at SET DEFAULT clock_timestamp()");
    c = base_cfg("public.settlement");
    s = new_src(&c);
    CU_ASSERT(read_rows(s, &g, 8, 10000, &err) == 0);
    CU_ASSERT(read_for(s, &g, 100, &err) == 0);
    CU_ASSERT_EQUAL(g.n, 8);
    SQL("INSERT INTO settlement (id, name) VALUES (40, 'a'), (41, 'b')");
    SQL("INSERT INTO settlement (id, name) VALUES (42, 'c')");
    CU_ASSERT(read_rows(s, &g, 3, 10000, &err) == 0);
    CU_ASSERT(read_for(s, &g, 200, &err) == 0);
    expect_ids(&g, want, 11);
    got_free(&g);
    tdc_source_free(s);
}

/* THE LATE COMMIT CASE. */
static void test_late_commit(void)
{
    struct tdc_postgres_config c0, c2;
    tdc_source *s0, *s2;
    tdc_postgres_stats st;
    td_error err = {0};
    got g0 = {0}, g2 = {0};
    PGconn *a;
    char *t1, *t2;
    int64_t t_commit;
    static const char *const both[] = {"1", "2"};

    SQL("DROP TABLE IF EXISTS ledger;"
        "CREATE TABLE ledger (id int PRIMARY KEY, note text, updated_at timestamptz NOT NULL);"
        "CREATE OR REPLACE FUNCTION tuodi_touch() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN NEW.updated_at := clock_timestamp(); RETURN NEW; END $$;"
        "CREATE TRIGGER ledger_touch BEFORE INSERT OR UPDATE ON ledger"
        " FOR EACH ROW EXECUTE FUNCTION tuodi_touch()");
    c0 = base_cfg("public.ledger");
    c0.settle_delay_ms = 0; /* no delay: the JDBC connector's behaviour */
    c0.late_row_check_ms = 300;
    c2 = base_cfg("public.ledger");
    c2.settle_delay_ms = 1500; /* more than the gap between T1 and A's commit */
    s0 = new_src(&c0);
    s2 = new_src(&c2);
    CU_ASSERT(read_for(s0, &g0, 50, &err) == 0);
    CU_ASSERT(read_for(s2, &g2, 50, &err) == 0);

    a = td_pg_connect(server);
    CU_ASSERT_FATAL(a != NULL);
    /* A takes T1 but does not commit yet. */
    CU_ASSERT_FATAL(td_pg_exec(a, "BEGIN; INSERT INTO ledger (id, note) VALUES (1, 'A, T1')") == 0);
    usleep(20000);
    /* B takes T2 > T1 and commits. */
    SQL("INSERT INTO ledger (id, note) VALUES (2, 'B, T2')");
    /* The source without delay reads B; the one with the delay nothing yet. */
    CU_ASSERT(read_rows(s0, &g0, 1, 5000, &err) == 0);
    CU_ASSERT(read_for(s2, &g2, 50, &err) == 0);
    CU_ASSERT_EQUAL(g0.n, 1);
    CU_ASSERT_EQUAL(g2.n, 0);
    if (g0.n == 1)
        CU_ASSERT_STRING_EQUAL(g0.v[0].id, "2");
    /* Now A commits: its row lies behind s0's watermark. */
    CU_ASSERT_FATAL(td_pg_exec(a, "COMMIT") == 0);
    t_commit = td_time_mono_ms();
    t1 = td_pg_query_value(db, "SELECT (EXTRACT(EPOCH FROM updated_at) * 1e6)::bigint FROM ledger WHERE id = 1");
    t2 = td_pg_query_value(db, "SELECT (EXTRACT(EPOCH FROM updated_at) * 1e6)::bigint FROM ledger WHERE id = 2");
    CU_ASSERT_FATAL(t1 && t2);
    CU_ASSERT(strtoll(t1, NULL, 10) < strtoll(t2, NULL, 10));
    fprintf(stderr, "\n    T2 - T1 = %lld us\n", strtoll(t2, NULL, 10) - strtoll(t1, NULL, 10));

    /* settle_delay 0: A's row is never read... */
    CU_ASSERT(read_for(s0, &g0, 800, &err) == 0);
    CU_ASSERT_EQUAL(g0.n, 1);
    /* ...and the late-row check says so. */
    CU_ASSERT(tdc_postgres_stats_get(s0, &st) == 0);
    CU_ASSERT_EQUAL(st.late_rows, 1);
    CU_ASSERT_EQUAL(log_count("1 row(s) with updated_at between the beginning and"), 1);
    CU_ASSERT(strstr(tdc_source_status(s0), "; 1 late rows") != NULL);

    /* settle_delay 1.5 s: both rows, in (updated_at, id) order: A then B. */
    CU_ASSERT(read_rows(s2, &g2, 2, 5000, &err) == 0);
    CU_ASSERT(read_for(s2, &g2, 100, &err) == 0);
    expect_ids(&g2, both, 2);
    fprintf(stderr, "    settle 1.5 s read both rows %.2f s after A's commit\n",
            (double)(td_time_mono_ms() - t_commit) / 1000.0);
    CU_ASSERT(tdc_postgres_stats_get(s2, &st) == 0);
    CU_ASSERT_EQUAL(st.late_rows, 0);

    free(t1);
    free(t2);
    PQfinish(a);
    got_free(&g0);
    got_free(&g2);
    tdc_source_free(s0);
    tdc_source_free(s2);
}

static void test_untouched_update(void)
{
    struct tdc_postgres_config c;
    tdc_source *s;
    tdc_postgres_stats st;
    td_error err = {0};
    got g = {0};

    SQL("DROP TABLE IF EXISTS untouched;"
        "CREATE TABLE untouched (id int PRIMARY KEY, v text, updated_at timestamptz);"
        "INSERT INTO untouched VALUES (1, 'a', '2024-01-01 00:00:00+00'),"
        " (2, 'b', '2024-01-02 00:00:00+00'), (3, 'c', NULL)");
    c = base_cfg("public.untouched");
    c.late_row_check_ms = 100;
    s = new_src(&c);
    CU_ASSERT(read_rows(s, &g, 2, 5000, &err) == 0);
    /* Changes the row without advancing updated_at: never published. */
    SQL("UPDATE untouched SET v = 'changed' WHERE id = 1");
    CU_ASSERT(read_for(s, &g, 400, &err) == 0);
    CU_ASSERT_EQUAL(g.n, 2); /* the NULL updated_at row is never read */
    CU_ASSERT(tdc_postgres_stats_get(s, &st) == 0);
    CU_ASSERT_EQUAL(st.late_rows, 1);
    got_free(&g);
    tdc_source_free(s);
}

static void test_ties(void)
{
    struct tdc_postgres_config c;
    tdc_source *s;
    tdc_postgres_stats st;
    td_error err = {0};
    got g = {0};

    SQL("DROP TABLE IF EXISTS ties;"
        "CREATE TABLE ties (id int PRIMARY KEY, updated_at timestamptz NOT NULL);"
        "INSERT INTO ties SELECT i, '2024-06-01 08:00:00+08'"
        " FROM generate_series(1, 40) AS i ORDER BY random();"
        "INSERT INTO ties VALUES (0, '2024-05-31 00:00:00+08'), (41, '2024-06-02 00:00:00+08')");
    c = base_cfg("public.ties");
    c.batch_size = 3;
    c.late_row_check_ms = 1;
    s = new_src(&c);
    CU_ASSERT(read_rows(s, &g, 42, 10000, &err) == 0);
    CU_ASSERT(read_for(s, &g, 100, &err) == 0);
    CU_ASSERT_EQUAL(g.n, 42);
    for (size_t i = 0; i < g.n; i++) {
        char want[24];
        snprintf(want, sizeof(want), "%zu", i);
        CU_ASSERT_STRING_EQUAL(g.v[i].id, want);
    }
    CU_ASSERT(tdc_postgres_stats_get(s, &st) == 0);
    CU_ASSERT(st.polls >= 15);
    CU_ASSERT_EQUAL(st.late_rows, 0);
    got_free(&g);
    tdc_source_free(s);
}

static void test_id_types(void)
{
    struct tdc_postgres_config c;
    tdc_source *s;
    td_error err = {0};
    got g = {0};
    static const char *const as_int[] = {"2", "9", "10", "100", "1000"};
    static const char *const as_text[] = {"10", "100", "1000", "2", "9"};

    SQL("DROP TABLE IF EXISTS int_ids; DROP TABLE IF EXISTS text_ids;"
        "CREATE TABLE int_ids (id bigint PRIMARY KEY, updated_at timestamptz);"
        "CREATE TABLE text_ids (id text COLLATE \"C\" PRIMARY KEY, updated_at timestamptz);"
        "INSERT INTO int_ids VALUES (9, '2024-01-01Z'), (100, '2024-01-01Z'), (10, '2024-01-01Z'),"
        " (2, '2024-01-01Z'), (1000, '2024-01-01Z');"
        "INSERT INTO text_ids SELECT id::text, updated_at FROM int_ids");
    c = base_cfg("public.int_ids");
    c.batch_size = 1;
    s = new_src(&c);
    CU_ASSERT(read_rows(s, &g, 5, 5000, &err) == 0);
    CU_ASSERT(read_for(s, &g, 100, &err) == 0);
    expect_ids(&g, as_int, 5);
    got_free(&g);
    tdc_source_free(s);

    c = base_cfg("public.text_ids");
    c.batch_size = 1;
    s = new_src(&c);
    CU_ASSERT(read_rows(s, &g, 5, 5000, &err) == 0);
    CU_ASSERT(read_for(s, &g, 100, &err) == 0);
    expect_ids(&g, as_text, 5);
    got_free(&g);
    tdc_source_free(s);
}

static void test_timestamp(void)
{
    struct tdc_postgres_config c;
    tdc_source *s;
    td_error err = {0};
    got g = {0};

    SQL("DROP TABLE IF EXISTS local_ts;"
        "CREATE TABLE local_ts (id int PRIMARY KEY, updated_at timestamp);"
        "INSERT INTO local_ts VALUES (1, '2024-11-28 20:00:01.123456'), (2, '2024-11-28 20:00:02')");
    /* Written in Beijing time: 20:00:01.123456 there is 12:00:01.123456 UTC. */
    c = base_cfg("public.local_ts");
    c.time_zone = "Asia/Shanghai";
    s = new_src(&c);
    CU_ASSERT(read_rows(s, &g, 2, 5000, &err) == 0);
    CU_ASSERT_EQUAL_FATAL(g.n, 2);
    CU_ASSERT_EQUAL(g.v[0].after.last_updated_at_us, T0_US);
    CU_ASSERT_STRING_EQUAL(g.v[0].fields, "1|2024-11-28 20:00:01.123456");
    tdc_source_free(s);

    /* Resuming after row 1 (compared in the column's type) gives row 2. */
    CU_ASSERT_FATAL(tdc_postgres_new(&c, &s, &err) == 0);
    CU_ASSERT_FATAL(tdc_source_resume(s, &g.v[0].after, &err) == 0);
    got_free(&g);
    CU_ASSERT(read_rows(s, &g, 1, 5000, &err) == 0);
    CU_ASSERT(read_for(s, &g, 100, &err) == 0);
    CU_ASSERT_EQUAL(g.n, 1);
    if (g.n == 1)
        CU_ASSERT_STRING_EQUAL(g.v[0].id, "2");
    got_free(&g);
    tdc_source_free(s);

    /* The same column read as UTC is eight hours later. */
    c.time_zone = "UTC";
    s = new_src(&c);
    CU_ASSERT(read_rows(s, &g, 1, 5000, &err) == 0);
    CU_ASSERT_EQUAL(g.n, 1);
    if (g.n == 1)
        CU_ASSERT_EQUAL(g.v[0].after.last_updated_at_us, T0_US + INT64_C(28800000000));
    got_free(&g);
    tdc_source_free(s);

    /* A time zone PostgreSQL does not know: a configuration error. */
    c.time_zone = "Mars/Olympus";
    s = new_src(&c);
    {
        tdc_row row;
        CU_ASSERT(tdc_source_next(s, &row, &err) == -EINVAL);
        CU_ASSERT(strstr(td_error_msg(&err), "Mars/Olympus") != NULL);
    }
    tdc_source_free(s);
}

static void test_view(void)
{
    struct tdc_postgres_config c;
    tdc_source *s;
    tdc_postgres_stats st;
    td_error err = {0};
    got g = {0};

    make_settlement();
    SQL("CREATE OR REPLACE VIEW big_settlement AS"
        " SELECT id, name, updated_at FROM settlement WHERE amount >= 1");
    c = base_cfg("public.big_settlement");
    c.late_row_check_ms = 1;
    s = new_src(&c);
    CU_ASSERT(read_rows(s, &g, 4, 5000, &err) == 0);
    CU_ASSERT(read_for(s, &g, 100, &err) == 0);
    {
        static const char *const want[] = {"9", "7", "20", "30"};
        expect_ids(&g, want, 4);
    }
    CU_ASSERT(tdc_postgres_stats_get(s, &st) == 0);
    CU_ASSERT(!st.late_check_active);
    got_free(&g);
    tdc_source_free(s);
    SQL("DROP VIEW big_settlement");
}

/* A stop request (SIGTERM, td_signal) during a poll that the server works
 * on for 20 s (a view that sleeps): the statement is canceled and next()
 * returns within a second or two, with no row and no error. */
static void test_stop_cancels_poll(void)
{
    struct tdc_postgres_config c;
    tdc_source *s;
    td_error err = {0};
    int64_t t0 = td_time_mono_ms(), t_stop, ms;
    size_t rows = 0, warn0;
    pid_t child;
    int r = 0, st;

    make_settlement();
    SQL("CREATE OR REPLACE VIEW slow_settlement AS"
        " SELECT s.id, s.name, s.updated_at FROM settlement s, pg_catalog.pg_sleep(20) z");
    c = base_cfg("public.slow_settlement");
    c.statement_timeout_ms = 60000;
    CU_ASSERT_FATAL(td_signal_setup() == 0);
    child = fork();
    CU_ASSERT_FATAL(child >= 0);
    if (child == 0) {
        usleep(1500 * 1000);
        kill(getppid(), SIGTERM);
        _exit(0);
    }
    warn0 = log_count("cannot read from the database");
    s = new_src(&c);
    /* next() until a call returns after the stop request */
    while (td_time_mono_ms() - t0 < 60000) {
        tdc_row row;

        r = tdc_source_next(s, &row, &err);
        if (td_signal_stop_requested() || r < 0)
            break;
        rows += r == TDC_NEXT_ROW;
        if (r == TDC_NEXT_IDLE)
            usleep(5000);
    }
    t_stop = td_signal_stop_deadline_ms() - TD_SIGNAL_STOP_GRACE_MS;
    ms = td_time_mono_ms() - t_stop;
    printf("\n    next() returned %.2f s after the stop request (%s)", (double)ms / 1000.0,
           r < 0 ? td_error_msg(&err) : "no error");
    CU_ASSERT(td_signal_stop_requested());
    CU_ASSERT(ms < 2000);
    CU_ASSERT(r >= 0);
    CU_ASSERT_EQUAL(rows, 0);
    CU_ASSERT_EQUAL(log_count("cannot read from the database"), warn0);
    tdc_source_free(s);
    waitpid(child, &st, 0);
    td_signal_teardown();
    SQL("DROP VIEW slow_settlement");
}

static void test_outage(void)
{
    struct tdc_postgres_config c;
    tdc_source *s;
    tdc_postgres_stats st;
    td_error err = {0};
    got g = {0};
    size_t idle = 0, warn0, back0;
    int r;

    SQL("DROP TABLE IF EXISTS outage;"
        "CREATE TABLE outage (id int PRIMARY KEY, updated_at timestamptz NOT NULL DEFAULT clock_timestamp());"
        "INSERT INTO outage (id) SELECT generate_series(1, 30)");
    c = base_cfg("public.outage");
    c.batch_size = 10;
    c.late_row_check_ms = 50;
    s = new_src(&c);
    CU_ASSERT(read_rows(s, &g, 15, 5000, &err) == 0); /* the second batch is buffered */
    CU_ASSERT_EQUAL(g.n, 15);

    warn0 = log_count("cannot read from the database");
    back0 = log_count("reading again after");
    PQfinish(db);
    db = NULL;
    CU_ASSERT_FATAL(td_pg_stop(server) == 0);
    /* The buffered rows still come; then IDLE, never an error. */
    CU_ASSERT(read_rows(s, &g, 5, 2000, &err) == 0);
    CU_ASSERT_EQUAL(g.n, 20);
    for (int64_t end = td_time_mono_ms() + 1500; td_time_mono_ms() < end;) {
        tdc_row row;
        r = tdc_source_next(s, &row, &err);
        if (r < 0)
            fprintf(stderr, "\n    next: %s\n", td_error_msg(&err));
        CU_ASSERT_EQUAL(r, TDC_NEXT_IDLE);
        idle++;
        usleep(5000);
    }
    CU_ASSERT(idle > 10);
    CU_ASSERT_EQUAL(log_count("cannot read from the database") - warn0, 1);
    CU_ASSERT(strstr(tdc_source_status(s), "database unreachable") != NULL);
    CU_ASSERT(tdc_postgres_stats_get(s, &st) == 0);
    CU_ASSERT(!st.connected);

    CU_ASSERT_FATAL(td_pg_start(server) == 0);
    db = td_pg_connect(server);
    CU_ASSERT_FATAL(db != NULL);
    SQL("INSERT INTO outage (id) SELECT generate_series(31, 40)");
    CU_ASSERT(read_rows(s, &g, 20, 10000, &err) == 0);
    CU_ASSERT(read_for(s, &g, 300, &err) == 0);
    CU_ASSERT_EQUAL(g.n, 40);
    for (size_t i = 0; i < g.n; i++) {
        char want[24];
        snprintf(want, sizeof(want), "%zu", i + 1);
        CU_ASSERT_STRING_EQUAL(g.v[i].id, want);
    }
    CU_ASSERT_EQUAL(log_count("cannot read from the database") - warn0, 1);
    CU_ASSERT_EQUAL(log_count("reading again after") - back0, 1);
    CU_ASSERT(tdc_postgres_stats_get(s, &st) == 0);
    CU_ASSERT_EQUAL(st.outages, 1);
    CU_ASSERT(st.connected);
    CU_ASSERT_EQUAL(st.late_rows, 0);
    CU_ASSERT(strstr(tdc_source_status(s), "unreachable") == NULL);
    got_free(&g);
    tdc_source_free(s);
}

/* next() on a source made from c; expects code and every needle in err. */
static void expect_error(const struct tdc_postgres_config *c, int code, const char *n1,
                         const char *n2)
{
    tdc_source *s = new_src(c);
    td_error err = {0};
    tdc_row row;
    int r = tdc_source_next(s, &row, &err);

    fprintf(stderr, "\n    %d: %s", r, td_error_msg(&err));
    CU_ASSERT_EQUAL(r, code);
    CU_ASSERT(strstr(td_error_msg(&err), n1) != NULL);
    CU_ASSERT(!n2 || strstr(td_error_msg(&err), n2) != NULL);
    tdc_source_free(s);
}

static void test_errors(void)
{
    struct tdc_postgres_config c;
    tdc_source *s;
    td_error err = {0};
    tdc_row row;
    got g = {0};

    SQL("DROP TABLE IF EXISTS claims; DROP TABLE IF EXISTS odd; DROP SEQUENCE IF EXISTS seq;"
        "CREATE TABLE odd (id json, changed text, updated_at timestamptz);"
        "CREATE SEQUENCE seq");
    make_settlement();

    c = base_cfg("public.claims");
    expect_error(&c, -ENOENT, "public.claims", "does not exist");
    c = base_cfg("public.settlement");
    c.updated_at_column = "changed_at";
    expect_error(&c, -ENOENT, "public.settlement", "\"changed_at\"");
    c = base_cfg("public.settlement");
    c.id_column = "claim_no";
    expect_error(&c, -ENOENT, "public.settlement", "\"claim_no\"");
    c = base_cfg("public.settlement");
    c.columns = (char *[]){"name", "amout"};
    c.ncolumns = 2;
    expect_error(&c, -ENOENT, "\"amout\"", "id, name, amount, closed_on, updated_at");
    c = base_cfg("public.odd");
    c.updated_at_column = "changed";
    expect_error(&c, -EINVAL, "\"changed\" is text", "public.odd");
    c = base_cfg("public.odd");
    expect_error(&c, -EINVAL, "public.odd", "json");
    c = base_cfg("public.seq");
    expect_error(&c, -EINVAL, "public.seq", "not a table or view");
    c = base_cfg("public.a.b.c");
    expect_error(&c, -EINVAL, "public.a.b.c", NULL);

    /* No SELECT privilege: the server's reason; with it: rows. */
    {
        char conninfo[512];

        SQL("DROP ROLE IF EXISTS reader; CREATE ROLE reader LOGIN");
        snprintf(conninfo, sizeof(conninfo), "%s user=reader", td_pg_conninfo(server));
        c = base_cfg("public.settlement");
        c.conninfo = conninfo;
        expect_error(&c, -EINVAL, "public.settlement", "permission denied for table settlement");
        SQL("GRANT SELECT ON settlement TO reader");
        s = new_src(&c);
        CU_ASSERT(read_rows(s, &g, 8, 5000, &err) == 0);
        CU_ASSERT_EQUAL(g.n, 8);
        got_free(&g);
        tdc_source_free(s);
    }

    /* An id too long for a position stops the source at that row. */
    SQL("DROP TABLE IF EXISTS long_ids;"
        "CREATE TABLE long_ids (id text PRIMARY KEY, updated_at timestamptz);"
        "INSERT INTO long_ids VALUES ('short', '2024-01-01Z'), (repeat('x', 200), '2024-01-02Z')");
    c = base_cfg("public.long_ids");
    s = new_src(&c);
    CU_ASSERT(read_rows(s, &g, 1, 5000, &err) == 0);
    CU_ASSERT_EQUAL(g.n, 1);
    CU_ASSERT_EQUAL(tdc_source_next(s, &row, &err), -EOVERFLOW);
    CU_ASSERT(strstr(td_error_msg(&err), "public.long_ids") != NULL);
    CU_ASSERT(strstr(td_error_msg(&err), "xxxxxxxx") == NULL);
    CU_ASSERT_EQUAL(tdc_source_next(s, &row, &err), -EOVERFLOW);
    got_free(&g);
    tdc_source_free(s);

    /* The same source reads the table once it exists. */
    c = base_cfg("public.claims");
    s = new_src(&c);
    CU_ASSERT(tdc_source_next(s, &row, &err) == -ENOENT);
    SQL("CREATE TABLE claims (id int PRIMARY KEY, updated_at timestamptz);"
        "INSERT INTO claims VALUES (1, '2024-01-01Z')");
    CU_ASSERT(read_rows(s, &g, 1, 5000, &err) == 0);
    CU_ASSERT_EQUAL(g.n, 1);
    got_free(&g);
    tdc_source_free(s);
}

/* ---- lag ------------------------------------------------------------------ */

static int64_t lag_of(tdc_source *s)
{
    td_error err = {0};
    int64_t rows = -1;
    int r = tdc_source_lag(s, &rows, &err);

    if (r < 0)
        fprintf(stderr, "\n    tdc_source_lag: %s\n", td_error_msg(&err));
    CU_ASSERT_EQUAL(r, 0);
    return rows;
}

static void test_lag(void)
{
    struct tdc_postgres_config c;
    tdc_source *s;
    td_error err = {0};
    got g = {0};
    tdc_metrics *m;
    char *text = NULL;
    size_t len = 0;

    make_settlement();
    c = base_cfg("public.settlement");
    c.batch_size = 3;
    s = new_src(&c);
    /* before any poll: every row (connects as the poll would) */
    CU_ASSERT_EQUAL(lag_of(s), 8);
    CU_ASSERT_FATAL(read_rows(s, &g, 1, 10000, &err) == 0);
    CU_ASSERT_EQUAL(lag_of(s), 7); /* a full batch: counted after the position */
    CU_ASSERT_FATAL(read_rows(s, &g, 2, 10000, &err) == 0);
    CU_ASSERT_EQUAL(lag_of(s), 5);
    CU_ASSERT_FATAL(read_rows(s, &g, 3, 10000, &err) == 0);
    CU_ASSERT_EQUAL(lag_of(s), 2);
    CU_ASSERT_FATAL(read_rows(s, &g, 1, 10000, &err) == 0); /* the short batch of 2 */
    CU_ASSERT_EQUAL(lag_of(s), 1);
    /* a short poll: what is left of its batch, no query: a row committed
     * since is not seen until the next poll */
    SQL("INSERT INTO settlement VALUES (40, 'x', 1, NULL, '2024-11-28 12:00:06+00')");
    CU_ASSERT_EQUAL(lag_of(s), 1);
    CU_ASSERT_FATAL(read_rows(s, &g, 2, 10000, &err) == 0);
    CU_ASSERT_EQUAL(g.n, 9);
    CU_ASSERT_EQUAL(lag_of(s), 0);
    tdc_source_free(s);

    /* a known position (after the 5th row of 9), a fresh source: counted */
    CU_ASSERT_FATAL(tdc_postgres_new(&c, &s, &err) == 0);
    CU_ASSERT_FATAL(tdc_source_resume(s, &g.v[4].after, &err) == 0);
    CU_ASSERT_EQUAL(lag_of(s), 4);
    /* rows not yet settled are not to read yet */
    tdc_source_free(s);
    c.settle_delay_ms = 3600000;
    SQL("INSERT INTO settlement VALUES (41, 'y', 1, NULL, pg_catalog.now())");
    CU_ASSERT_FATAL(tdc_postgres_new(&c, &s, &err) == 0);
    CU_ASSERT_FATAL(tdc_source_resume(s, &g.v[4].after, &err) == 0);
    CU_ASSERT_EQUAL(lag_of(s), 4);
    tdc_source_free(s);
    c.settle_delay_ms = 0;
    CU_ASSERT_FATAL(tdc_postgres_new(&c, &s, &err) == 0);
    CU_ASSERT_FATAL(tdc_source_resume(s, &g.v[4].after, &err) == 0);
    CU_ASSERT_EQUAL(lag_of(s), 5);
    tdc_source_free(s);
    got_free(&g);

    /* the gauge: no series until set (a spool directory never sets it) */
    m = tdc_metrics_new("t", "medical_insurance", "0");
    CU_ASSERT_FATAL(m != NULL);
    CU_ASSERT_FATAL(td_metrics_render(tdc_metrics_registry(m), &text, &len) == 0);
    CU_ASSERT(strstr(text, "# TYPE tuodi_connector_source_lag_rows gauge\n") != NULL);
    CU_ASSERT(strstr(text, "\ntuodi_connector_source_lag_rows ") == NULL);
    free(text);
    tdc_metrics_source_lag(m, 4);
    CU_ASSERT_FATAL(td_metrics_render(tdc_metrics_registry(m), &text, &len) == 0);
    CU_ASSERT(strstr(text, "\ntuodi_connector_source_lag_rows 4\n") != NULL);
    free(text);
    tdc_metrics_free(m);
}

/* ---- suite ---------------------------------------------------------------- */

static int suite_init(void)
{
    static const char *const settings[] = {"timezone='Asia/Shanghai'", NULL};
    int64_t t0 = td_time_mono_ms();

    if (td_pg_new(settings, &server) < 0)
        return 1;
    fprintf(stderr, "PostgreSQL up in %.2f s: %s\n",
            (double)(td_time_mono_ms() - t0) / 1000.0, td_pg_conninfo(server));
    db = td_pg_connect(server);
    return db ? 0 : 1;
}

static int suite_clean(void)
{
    PQfinish(db);
    db = NULL;
    server = td_pg_free(server);
    return 0;
}

static void add_suites(void)
{
    td_log_setup("itest_postgres_source", NULL, TD_LOG_INFO, TD_LOG_TARGET_STDERR);
    td_log_set_sink(log_sink, NULL);
    td_test_suite("postgres_source", suite_init, suite_clean);
    TD_TEST(test_config);
    TD_TEST(test_order);
    TD_TEST(test_columns);
    TD_TEST(test_resume);
    TD_TEST(test_later);
    TD_TEST(test_late_commit);
    TD_TEST(test_untouched_update);
    TD_TEST(test_ties);
    TD_TEST(test_id_types);
    TD_TEST(test_timestamp);
    TD_TEST(test_view);
    TD_TEST(test_lag);
    TD_TEST(test_errors);
    TD_TEST(test_outage);
    TD_TEST(test_stop_cancels_poll);
}

TD_TEST_MAIN(add_suites)
