/* Integration tests of the postgres source's logical mode
 * (connectors/sources/tdc_pglogical) against a real PostgreSQL 15 server
 * with wal_level=logical that this binary starts for itself
 * (tests/support/td_pg.h). Suite "source" needs nothing else; suite
 * "connector" runs tuodi-connector on the real broker (KAFKA_BOOTSTRAP).
 *
 * source:
 *   config        the default slot name from the instance; a slot name
 *                 PostgreSQL refuses; tdc_postgres_new() dispatches
 *   publication   no publication: -ENOENT with the CREATE PUBLICATION to
 *                 run, and no slot made; a publication without the table:
 *                 the ALTER PUBLICATION; then it reads
 *   partitioned   a partitioned table: the error asks for
 *                 publish_via_partition_root; with it every partition's
 *                 rows come as the table's
 *   changes       inserts, an update, a delete (key columns only), the
 *                 configured columns' order, raw JSON, record ids, a
 *                 multi-row transaction's positions, another table of the
 *                 publication skipped, a TRUNCATE warned about
 *   late_commit   the case: A1-A3, B1-B3 and C1 commit while L1's
 *                 transaction stays open; L1 comes when it commits, once;
 *                 and resuming at every position yields exactly the rest
 *   writers       ten concurrent writers, some slow: every row once, each
 *                 transaction's rows together; resumes at every position
 *   toast         an update that leaves a TOASTed column unchanged: from
 *                 the old row with REPLICA IDENTITY FULL, else the row
 *                 comes with a reason naming the column
 *   flush         the slot's confirmed position follows committed() only:
 *                 half a transaction holds it at its commit LSN, all of it
 *                 lets it past, other tables' traffic moves it on once all
 *                 is committed
 *   lag_bytes     the WAL the slot keeps, before and after a commit, and
 *                 the gauge tuodi_connector_source_lag_bytes
 *   idle          8 s without changes, longer than wal_sender_timeout: the
 *                 keepalives are answered, the connection stays
 *   columns_change a column dropped and one added under the stream: the
 *                 rows carry the new columns in a new array; unchanged,
 *                 also across a new session, the array stays
 *   column_list   a column list that leaves a configured column out: the
 *                 error at every try, no change passed over
 *   slot_dropped  a slot dropped behind the connector's back: a clear error
 *                 naming it and what to do, and no new slot made
 *   slot_invalidated  a slot whose WAL max_slot_wal_keep_size removed:
 *                 the same error, with the server's reason
 *   outage        the server stops mid-stream: IDLE, one warning, then
 *                 every row once
 *   position      a position of another mode is refused
 *
 * connector:
 *   e2e           the late commit, ten writers, deletes (dead letters with
 *                 their reason, also after a re-insert and an update),
 *                 through a SIGTERM and three SIGKILLs of the connector
 *                 while transactions commit: every row exactly once in
 *                 the records topic, every delete once in the DLQ
 *   errors        the missing publication and the dropped slot, as the
 *                 running connector logs them; source_lag_bytes on its
 *                 /metrics
 */
#include "td_log.h"
#include "td_metrics.h"
#include "td_pg.h"
#include "td_test.h"
#include "td_time.h"
#include "tdc_it.h"
#include "tdc_metrics.h"
#include "tdc_pglogical.h"
#include "tdc_pgoutput.h"
#include "tdc_postgres.h"

#include <errno.h>
#include <inttypes.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static td_pg *server;
static PGconn *db;

/* ---- log capture ---------------------------------------------------------- */

static char log_lines[256][1024];
static size_t log_n;

static void log_sink(td_log_level level, const char *line, void *opaque)
{
    (void)level;
    (void)opaque;
    fprintf(stderr, "    [log] %s\n", line);
    if (log_n < 256)
        snprintf(log_lines[log_n++], sizeof(log_lines[0]), "%s", line);
}

static size_t log_count(const char *needle)
{
    size_t c = 0;

    for (size_t i = 0; i < log_n && i < 256; i++)
        c += strstr(log_lines[i], needle) != NULL;
    return c;
}

/* ---- sources and rows ----------------------------------------------------- */

static struct tdc_postgres_config lcfg(const char *table, const char *slot, const char *pub)
{
    struct tdc_postgres_config c = {
        .mode = TDC_PG_LOGICAL,
        .conninfo = (char *)td_pg_conninfo(server),
        .table = (char *)table,
        .id_column = "id",
        .reconnect_max_backoff_ms = 200,
        .slot = (char *)slot,
        .publication = (char *)pub,
    };
    return c;
}

static tdc_source *new_src(const struct tdc_postgres_config *c, const tdc_position *from)
{
    tdc_source *s = NULL;
    td_error err = {0};
    int r = tdc_pglogical_new(c, "test", &s, &err);

    if (r < 0)
        fprintf(stderr, "\n    tdc_pglogical_new: %s\n", td_error_msg(&err));
    CU_ASSERT_FATAL(r == 0);
    r = tdc_source_resume(s, from, &err);
    if (r < 0)
        fprintf(stderr, "\n    resume: %s\n", td_error_msg(&err));
    CU_ASSERT_FATAL(r == 0);
    return s;
}

typedef struct got_row {
    char *id, *fields, *raw, *reason, *colnames;
    const void *columns; /* the row's columns array, as a pointer */
    bool deleted;
    int64_t row;
    tdc_position after;
} got_row;

typedef struct got {
    got_row v[4096];
    size_t n;
    int last_error;
    char error[2048];
} got;

static got *got_new(void)
{
    got *g = calloc(1, sizeof(*g));

    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    return g;
}

static void got_free(got *g)
{
    for (size_t i = 0; i < g->n; i++) {
        free(g->v[i].id);
        free(g->v[i].fields);
        free(g->v[i].raw);
        free(g->v[i].reason);
        free(g->v[i].colnames);
    }
    free(g);
}

static void keep(got *g, const tdc_row *row)
{
    got_row *k = &g->v[g->n++];
    size_t len = 1;
    char *p;

    for (size_t i = 0; i < row->nfields; i++)
        len += row->lens[i] + 1;
    p = k->fields = calloc(1, len);
    for (size_t i = 0; i < row->nfields; i++) {
        if (i)
            *p++ = '|';
        memcpy(p, row->fields[i], row->lens[i]);
        p += row->lens[i];
    }
    k->id = row->source_record_id ? strdup(row->source_record_id) : NULL;
    k->raw = strndup(row->raw, row->raw_len);
    k->reason = row->reject_reason ? strdup(row->reject_reason) : NULL;
    k->deleted = row->deleted;
    k->columns = row->columns;
    len = 1;
    for (size_t i = 0; i < row->ncolumns; i++)
        len += strlen(row->columns[i]) + 1;
    p = k->colnames = calloc(1, len);
    for (size_t i = 0; i < row->ncolumns; i++)
        p += sprintf(p, "%s%s", i ? "|" : "", row->columns[i]);
    k->row = row->row;
    k->after = row->after;
}

/* Reads until g holds want rows or timeout_ms passed; an error stops it
 * (kept in g). Returns the rows now in g. */
static size_t read_rows(tdc_source *s, got *g, size_t want, int timeout_ms)
{
    int64_t until = td_time_mono_ms() + timeout_ms;

    while (g->n < want && td_time_mono_ms() < until) {
        tdc_row row;
        td_error err = {0};
        int r = tdc_source_next(s, &row, &err);

        if (r < 0) {
            g->last_error = r;
            snprintf(g->error, sizeof(g->error), "%s", td_error_msg(&err));
            return g->n;
        }
        if (r == TDC_NEXT_ROW) {
            CU_ASSERT_FATAL(g->n < sizeof(g->v) / sizeof(g->v[0]));
            keep(g, &row);
            continue;
        }
        {
            int fd = tdc_source_wait_fd(s);
            struct pollfd p = {.fd = fd, .events = POLLIN};

            if (fd >= 0)
                (void)poll(&p, 1, 50);
            else
                usleep(50 * 1000);
        }
    }
    return g->n;
}

/* Reads for ms more and says whether nothing came. */
static bool nothing_more(tdc_source *s, int ms)
{
    got *g = got_new();
    bool none = read_rows(s, g, 1, ms) == 0 && g->last_error == 0;

    if (!none)
        fprintf(stderr, "\n    unexpected: %s %s\n", g->n ? g->v[0].raw : "", g->error);
    got_free(g);
    return none;
}

/* The first row of g whose id is id, or -1. */
static long find_id(const got *g, const char *id)
{
    for (size_t i = 0; i < g->n; i++)
        if (g->v[i].id && strcmp(g->v[i].id, id) == 0)
            return (long)i;
    return -1;
}

static void setup_table(const char *name, const char *pub)
{
    CU_ASSERT_EQUAL_FATAL(td_pg_execf(db,
                                      "CREATE TABLE %s (id bigint PRIMARY KEY, name text,"
                                      " note text, amount numeric);"
                                      "CREATE PUBLICATION %s FOR TABLE %s",
                                      name, pub, name), 0);
}

/* The slot's confirmed_flush_lsn, 0 when it has none or does not exist. */
static uint64_t slot_confirmed(const char *slot)
{
    char sql[256], *v;
    uint64_t lsn = 0;

    snprintf(sql, sizeof(sql),
             "SELECT coalesce(confirmed_flush_lsn::text, '0/0') FROM pg_replication_slots"
             " WHERE slot_name = '%s'", slot);
    v = td_pg_query_value(db, sql);
    if (v)
        (void)tdc_pgo_lsn_parse(v, &lsn);
    free(v);
    return lsn;
}

static bool slot_exists(const char *slot)
{
    char sql[256], *v;
    bool yes;

    snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '%s'",
             slot);
    v = td_pg_query_value(db, sql);
    yes = v && strcmp(v, "1") == 0;
    free(v);
    return yes;
}

/* Waits until the slot (NULL: every slot) is no longer in use (its
 * walsender gone). */
static void wait_slot_idle(const char *slot)
{
    char sql[256];

    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '%s' AND active",
             slot ? slot : "");
    if (!slot)
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_replication_slots WHERE active");
    for (int i = 0; i < 100; i++) {
        char *v = td_pg_query_value(db, sql);
        bool idle = v && strcmp(v, "0") == 0;

        free(v);
        if (idle)
            return;
        usleep(100 * 1000);
    }
    CU_FAIL("the slot stayed active");
}

/* Makes the slot of a source before the rows the test writes: the first
 * next() connects and creates it. */
static void start_stream(tdc_source *s)
{
    got *g = got_new();

    (void)read_rows(s, g, 1, 300);
    if (g->last_error)
        fprintf(stderr, "\n    %s\n", g->error);
    CU_ASSERT_EQUAL(g->last_error, 0);
    CU_ASSERT_EQUAL(g->n, 0);
    got_free(g);
}

/* ---- suite "source" ------------------------------------------------------- */

static int source_init(void)
{
    td_log_set_sink(log_sink, NULL);
    /* a walsender's timeout short enough that a client which does not
     * answer its keepalives is cut off within the test (and that a fast
     * shutdown waits at most this long for a confirmation) */
    static const char *const settings[] = {"wal_level=logical", "max_wal_senders=10",
                                           "max_replication_slots=32", "wal_sender_timeout=5s",
                                           NULL};

    if (td_pg_new(settings, &server) < 0)
        return -1;
    db = td_pg_connect(server);
    return db ? 0 : -1;
}

static int source_clean(void)
{
    PQfinish(db);
    db = NULL;
    server = td_pg_free(server);
    return 0;
}

static void test_config(void)
{
    struct tdc_postgres_config c = lcfg("public.x", NULL, "tuodi");
    tdc_source *s = NULL;
    tdc_pglogical_stats st;
    td_error err = {0};
    char buf[80];

    tdc_pglogical_default_slot("Medical-Shanghai.2", buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "tuodi_medical_shanghai_2");
    tdc_pglogical_default_slot(NULL, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "tuodi");
    tdc_pglogical_default_slot("a123456789b123456789c123456789d123456789e123456789f123456789g1",
                               buf, sizeof(buf));
    CU_ASSERT_EQUAL(strlen(buf), 63);

    c.slot = "Bad-Slot";
    CU_ASSERT_EQUAL(tdc_pglogical_new(&c, "i", &s, &err), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(td_error_msg(&err), "Bad-Slot"));
    c.slot = NULL;
    c.publication = "";
    CU_ASSERT_EQUAL(tdc_pglogical_new(&c, "i", &s, &err), -EINVAL);
    c.publication = "tuodi";
    /* the polling source's constructor hands logical mode over */
    CU_ASSERT_EQUAL_FATAL(tdc_postgres_new(&c, &s, &err), 0);
    CU_ASSERT_EQUAL(tdc_pglogical_stats_get(s, &st), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(tdc_source_status(s), "via slot tuodi"));
    tdc_source_free(s);
}

static void test_publication(void)
{
    struct tdc_postgres_config c = lcfg("pm", "pm_slot", "pm_pub");
    tdc_source *s;
    got *g = got_new();

    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "CREATE TABLE pm (id int PRIMARY KEY, v text)"), 0);
    s = new_src(&c, NULL);
    (void)read_rows(s, g, 1, 2000);
    CU_ASSERT_EQUAL(g->last_error, -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(g->error, "publication pm_pub does not exist"));
    CU_ASSERT_PTR_NOT_NULL(strstr(g->error, "CREATE PUBLICATION pm_pub FOR TABLE public.pm;"));
    CU_ASSERT(!slot_exists("pm_slot"));
    got_free(g);

    /* a publication of another table */
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "CREATE TABLE pm_other (id int PRIMARY KEY);"
                                         "CREATE PUBLICATION pm_pub FOR TABLE pm_other"), 0);
    g = got_new();
    usleep(300 * 1000); /* the backoff */
    (void)read_rows(s, g, 1, 2000);
    CU_ASSERT_EQUAL(g->last_error, -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(g->error, "ALTER PUBLICATION pm_pub ADD TABLE public.pm;"));
    CU_ASSERT(!slot_exists("pm_slot"));
    got_free(g);

    /* as told: now it reads */
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "ALTER PUBLICATION pm_pub ADD TABLE pm"), 0);
    usleep(300 * 1000);
    start_stream(s);
    CU_ASSERT(slot_exists("pm_slot"));
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "INSERT INTO pm VALUES (1, 'a')"), 0);
    g = got_new();
    CU_ASSERT_EQUAL(read_rows(s, g, 1, 5000), 1);
    CU_ASSERT_STRING_EQUAL(g->v[0].raw, "{\"id\":\"1\",\"v\":\"a\"}");
    got_free(g);
    tdc_source_free(s);
}

/* A partitioned table: published without publish_via_partition_root its
 * changes would come under the partitions' names (and be skipped as other
 * tables'): the error says the ALTER PUBLICATION to run; with it, the rows
 * of every partition come as the table's. */
static void test_partitioned(void)
{
    struct tdc_postgres_config c = lcfg("pt", "pt_slot", "pt_pub");
    tdc_source *s;
    got *g = got_new();

    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db,
        "CREATE TABLE pt (id int PRIMARY KEY, v text) PARTITION BY RANGE (id);"
        "CREATE TABLE pt_1 PARTITION OF pt FOR VALUES FROM (0) TO (100);"
        "CREATE TABLE pt_2 PARTITION OF pt FOR VALUES FROM (100) TO (200);"
        "CREATE PUBLICATION pt_pub FOR TABLE pt"), 0);
    s = new_src(&c, NULL);
    (void)read_rows(s, g, 1, 2000);
    CU_ASSERT_EQUAL(g->last_error, -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(g->error, "ALTER PUBLICATION pt_pub SET "
                                            "(publish_via_partition_root = true);"));
    CU_ASSERT(!slot_exists("pt_slot"));
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "ALTER PUBLICATION pt_pub SET "
                                         "(publish_via_partition_root = true)"), 0);
    usleep(300 * 1000);
    got_free(g);
    g = got_new();
    start_stream(s);
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "INSERT INTO pt VALUES (1, 'a'), (150, 'b')"), 0);
    CU_ASSERT_EQUAL(read_rows(s, g, 2, 5000), 2);
    CU_ASSERT_STRING_EQUAL(g->n > 0 ? g->v[0].raw : "", "{\"id\":\"1\",\"v\":\"a\"}");
    CU_ASSERT_STRING_EQUAL(g->n > 1 ? g->v[1].raw : "", "{\"id\":\"150\",\"v\":\"b\"}");
    got_free(g);
    tdc_source_free(s);
}

static void test_changes(void)
{
    struct tdc_postgres_config c = lcfg("public.ch", "ch_slot", "ch_pub");
    char *cols[] = {"name", "id", "amount"};
    tdc_source *s;
    got *g = got_new();
    size_t trunc_before = log_count("TRUNCATE");

    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db,
                                     "CREATE TABLE ch (id bigint PRIMARY KEY, name text,"
                                     " note text, amount numeric);"
                                     "CREATE TABLE ch_other (id int PRIMARY KEY, v text);"
                                     "CREATE PUBLICATION ch_pub FOR TABLE ch, ch_other"), 0);
    c.columns = cols;
    c.ncolumns = 3;
    s = new_src(&c, NULL);
    start_stream(s);
    /* one statement per transaction, but for the BEGIN ... COMMIT */
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "INSERT INTO ch VALUES (1, '张三', 'n1', 12.50)"), 0);
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db,
        "BEGIN; INSERT INTO ch VALUES (2, 'a\"b\\c', NULL, NULL);"
        " INSERT INTO ch_other VALUES (1, 'x'); INSERT INTO ch VALUES (3, 'c', 'n3', 3);"
        " COMMIT"), 0);
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "UPDATE ch SET name = '李四' WHERE id = 1"), 0);
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "DELETE FROM ch WHERE id = 2"), 0);
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "INSERT INTO ch_other VALUES (2, 'y')"), 0);
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "TRUNCATE ch_other"), 0);
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "TRUNCATE ch"), 0);
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "INSERT INTO ch VALUES (4, 'd', NULL, 4)"), 0);
    CU_ASSERT_EQUAL_FATAL(read_rows(s, g, 6, 5000), 6);
    CU_ASSERT(nothing_more(s, 300));
    CU_ASSERT_STRING_EQUAL(g->v[0].fields, "张三|1|12.50");
    CU_ASSERT_STRING_EQUAL(g->v[0].raw, "{\"name\":\"张三\",\"id\":\"1\",\"amount\":\"12.50\"}");
    CU_ASSERT_STRING_EQUAL(g->v[0].id, "1");
    CU_ASSERT_EQUAL(g->v[0].row, 1);
    CU_ASSERT_STRING_EQUAL(g->v[0].after.table, "public.ch");
    CU_ASSERT_EQUAL(g->v[0].after.kind, TDC_POSITION_POSTGRES);
    CU_ASSERT_EQUAL(g->v[0].after.pg_mode, TDC_PG_LOGICAL);
    CU_ASSERT_EQUAL(g->v[0].after.lsn_changes, 1);
    CU_ASSERT(!g->v[0].after.lsn_done);
    /* the two rows of one transaction: one LSN, changes 1 and 2 */
    CU_ASSERT_STRING_EQUAL(g->v[1].raw, "{\"name\":\"a\\\"b\\\\c\",\"id\":\"2\",\"amount\":null}");
    CU_ASSERT_STRING_EQUAL(g->v[1].fields, "a\"b\\c|2|");
    CU_ASSERT_STRING_EQUAL(g->v[2].id, "3");
    CU_ASSERT_EQUAL(g->v[1].after.lsn, g->v[2].after.lsn);
    CU_ASSERT(g->v[1].after.lsn > g->v[0].after.lsn);
    CU_ASSERT_EQUAL(g->v[1].after.lsn_changes, 1);
    CU_ASSERT_EQUAL(g->v[2].after.lsn_changes, 2);
    /* the update */
    CU_ASSERT_STRING_EQUAL(g->v[3].fields, "李四|1|12.50");
    CU_ASSERT(!g->v[3].deleted);
    /* the delete: the key column only (REPLICA IDENTITY DEFAULT) */
    CU_ASSERT(g->v[4].deleted);
    CU_ASSERT_STRING_EQUAL(g->v[4].id, "2");
    CU_ASSERT_STRING_EQUAL(g->v[4].fields, "|2|");
    CU_ASSERT_STRING_EQUAL(g->v[4].raw, "{\"name\":null,\"id\":\"2\",\"amount\":null}");
    CU_ASSERT_PTR_NULL(g->v[4].reason);
    /* the truncate of the table: a warning, no row; the other table's: nothing */
    CU_ASSERT_EQUAL(log_count("TRUNCATE") - trunc_before, 1);
    CU_ASSERT_STRING_EQUAL(g->v[5].id, "4");
    CU_ASSERT_EQUAL(g->v[5].row, 6);
    {
        tdc_pglogical_stats st;
        CU_ASSERT_EQUAL(tdc_pglogical_stats_get(s, &st), 0);
        CU_ASSERT_EQUAL(st.rows, 6);
        CU_ASSERT_EQUAL(st.deletes, 1);
        CU_ASSERT_EQUAL(st.truncates, 1);
        CU_ASSERT(st.other >= 2);
    }
    got_free(g);
    tdc_source_free(s);
}

/* Resuming at the position after each row of all yields exactly the rows
 * after it, in the same order (the slot is never confirmed here). */
static void check_resumes(const struct tdc_postgres_config *c, const got *all, size_t step)
{
    for (size_t k = 0; k < all->n; k += step) {
        tdc_source *s = new_src(c, &all->v[k].after);
        got *g = got_new();
        size_t want = all->n - k - 1;

        (void)read_rows(s, g, want, 10000);
        CU_ASSERT_EQUAL(g->n, want);
        for (size_t i = 0; i < g->n && i < want; i++)
            if (strcmp(g->v[i].raw, all->v[k + 1 + i].raw) != 0) {
                fprintf(stderr, "\n    resumed after row %zu: row %zu is %s, not %s\n", k, i,
                        g->v[i].raw, all->v[k + 1 + i].raw);
                CU_FAIL("resume");
                break;
            }
        CU_ASSERT(nothing_more(s, 200));
        tdc_source_free(s);
        got_free(g);
        wait_slot_idle(c->slot);
    }
}

static void test_late_commit(void)
{
    struct tdc_postgres_config c = lcfg("lc", "lc_slot", "lc_pub");
    PGconn *late = td_pg_connect(server);
    tdc_source *s;
    got *g = got_new();
    static const char *const order[] = {"1", "2", "3", "11", "12", "13", "21", "100"};

    CU_ASSERT_PTR_NOT_NULL_FATAL(late);
    setup_table("lc", "lc_pub");
    s = new_src(&c, NULL);
    start_stream(s);
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "INSERT INTO lc (id, name) VALUES (1, 'A1'), (2, 'A2');"
                                         "INSERT INTO lc (id, name) VALUES (3, 'A3')"), 0);
    /* L1 is written now and committed after everything else */
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(late, "BEGIN; INSERT INTO lc (id, name) VALUES (100, 'L1')"),
                          0);
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "INSERT INTO lc (id, name) VALUES (11, 'B1');"
                                         "INSERT INTO lc (id, name) VALUES (12, 'B2');"
                                         "INSERT INTO lc (id, name) VALUES (13, 'B3')"), 0);
    CU_ASSERT_EQUAL(read_rows(s, g, 6, 5000), 6);
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "INSERT INTO lc (id, name) VALUES (21, 'C1')"), 0);
    CU_ASSERT_EQUAL(read_rows(s, g, 7, 5000), 7);
    CU_ASSERT(nothing_more(s, 1500)); /* L1 is not there while uncommitted */
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(late, "COMMIT"), 0);
    CU_ASSERT_EQUAL(read_rows(s, g, 8, 5000), 8);
    CU_ASSERT(nothing_more(s, 300));
    CU_ASSERT_EQUAL_FATAL(g->n, 8);
    for (size_t i = 0; i < 8; i++)
        CU_ASSERT_STRING_EQUAL(g->v[i].id, order[i]);
    tdc_source_free(s);
    wait_slot_idle("lc_slot");
    check_resumes(&c, g, 1);
    got_free(g);
    PQfinish(late);
}

/* Ten writers, each with its own connection: transactions of three rows,
 * interleaved; writers 0-2 are slow (their transactions stay open while the
 * others commit several). */
static void test_writers(void)
{
    struct tdc_postgres_config c = lcfg("wr", "wr_slot", "wr_pub");
    PGconn *w[10];
    tdc_source *s;
    got *g = got_new();
    int next_id[10], rows = 0;
    bool open_txn[10] = {false};

    setup_table("wr", "wr_pub");
    for (int i = 0; i < 10; i++) {
        w[i] = td_pg_connect(server);
        CU_ASSERT_PTR_NOT_NULL_FATAL(w[i]);
        next_id[i] = i * 1000;
    }
    s = new_src(&c, NULL);
    start_stream(s);
    for (int round = 0; round < 12; round++) {
        for (int i = 0; i < 10; i++) {
            bool slow = i < 3;

            if (!open_txn[i]) {
                CU_ASSERT_EQUAL(td_pg_exec(w[i], "BEGIN"), 0);
                open_txn[i] = true;
            }
            CU_ASSERT_EQUAL(td_pg_execf(w[i], "INSERT INTO wr (id, name) VALUES (%d, 'w%d')",
                                        next_id[i], i), 0);
            next_id[i]++;
            rows++;
            /* fast writers commit every round, slow ones every fourth */
            if (!slow || round % 4 == 3) {
                CU_ASSERT_EQUAL(td_pg_exec(w[i], "COMMIT"), 0);
                open_txn[i] = false;
            }
        }
        (void)read_rows(s, g, g->n + 1, 20); /* read while they write */
    }
    for (int i = 0; i < 10; i++)
        if (open_txn[i])
            CU_ASSERT_EQUAL(td_pg_exec(w[i], "COMMIT"), 0);
    CU_ASSERT_EQUAL(read_rows(s, g, (size_t)rows, 10000), (size_t)rows);
    CU_ASSERT(nothing_more(s, 300));
    /* each id once; a transaction's rows together, in order */
    for (int i = 0; i < 10; i++)
        for (int k = i * 1000; k < next_id[i]; k++) {
            char id[24];
            long at;

            snprintf(id, sizeof(id), "%d", k);
            at = find_id(g, id);
            CU_ASSERT(at >= 0);
            for (size_t j = (size_t)at + 1; at >= 0 && j < g->n; j++)
                CU_ASSERT(strcmp(g->v[j].id, id) != 0);
        }
    for (size_t j = 1; j < g->n; j++) {
        const tdc_position *a = &g->v[j - 1].after, *b = &g->v[j].after;
        CU_ASSERT(b->lsn > a->lsn || (b->lsn == a->lsn && b->lsn_changes == a->lsn_changes + 1));
    }
    tdc_source_free(s);
    wait_slot_idle("wr_slot");
    check_resumes(&c, g, 7);
    for (int i = 0; i < 10; i++)
        PQfinish(w[i]);
    got_free(g);
}

static void test_toast(void)
{
    struct tdc_postgres_config c = lcfg("tt", "tt_slot", "tt_pub");
    tdc_source *s;
    got *g = got_new();

    setup_table("tt", "tt_pub");
    s = new_src(&c, NULL);
    start_stream(s);
    /* 8 kB that do not compress: stored out of line (TOASTed) */
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db,
        "INSERT INTO tt (id, name, note) SELECT 1, 'a', string_agg(md5(g::text), '')"
        " FROM generate_series(1, 256) g"), 0);
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "UPDATE tt SET name = 'b' WHERE id = 1"), 0);
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "ALTER TABLE tt REPLICA IDENTITY FULL"), 0);
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "UPDATE tt SET name = 'c' WHERE id = 1"), 0);
    CU_ASSERT_EQUAL_FATAL(read_rows(s, g, 3, 5000), 3);
    CU_ASSERT_PTR_NULL(g->v[0].reason);
    CU_ASSERT_EQUAL(strlen(g->v[0].fields), strlen("1|a||") + 8192);
    /* without the old row: the row comes with why */
    CU_ASSERT_PTR_NOT_NULL_FATAL(g->v[1].reason);
    CU_ASSERT_PTR_NOT_NULL(strstr(g->v[1].reason, "column note"));
    CU_ASSERT_PTR_NOT_NULL(strstr(g->v[1].reason, "REPLICA IDENTITY FULL"));
    /* with REPLICA IDENTITY FULL: the value from the old row */
    CU_ASSERT_PTR_NULL(g->v[2].reason);
    CU_ASSERT_EQUAL(strncmp(g->v[2].fields, "1|c|", 4), 0);
    CU_ASSERT_STRING_EQUAL(g->v[2].fields + 4, g->v[0].fields + 4);
    got_free(g);
    tdc_source_free(s);
}

/* Waits until the slot's confirmed position satisfies ok(lsn, arg). */
static uint64_t wait_confirmed(const char *slot, bool (*ok)(uint64_t, uint64_t), uint64_t arg,
                               tdc_source *s)
{
    uint64_t lsn = 0;

    for (int i = 0; i < 100; i++) {
        got *g = got_new();

        lsn = slot_confirmed(slot);
        if (ok(lsn, arg)) {
            got_free(g);
            return lsn;
        }
        (void)read_rows(s, g, 1, 100); /* keep the stream served */
        CU_ASSERT_EQUAL(g->n, 0);
        got_free(g);
    }
    return lsn;
}

static bool beyond(uint64_t lsn, uint64_t arg) { return lsn > arg; }

static void test_flush(void)
{
    struct tdc_postgres_config c = lcfg("fl", "fl_slot", "fl_pub");
    tdc_source *s;
    got *g = got_new();
    td_error err = {0};
    uint64_t lsn, created;

    setup_table("fl", "fl_pub");
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "CREATE TABLE fl_other (id int)"), 0);
    s = new_src(&c, NULL);
    start_stream(s);
    created = slot_confirmed("fl_slot");
    CU_ASSERT(created > 0);
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "BEGIN; INSERT INTO fl (id) SELECT generate_series(1, 5);"
                                         " COMMIT; INSERT INTO fl (id) VALUES (6)"), 0);
    CU_ASSERT_EQUAL_FATAL(read_rows(s, g, 6, 5000), 6);
    /* nothing committed: the slot stays where it was made */
    usleep(300 * 1000);
    CU_ASSERT_EQUAL(slot_confirmed("fl_slot"), created);

    /* three of the five rows committed: at most that transaction's LSN */
    CU_ASSERT_EQUAL(tdc_source_committed(s, &g->v[2].after, &err), 0);
    lsn = wait_confirmed("fl_slot", beyond, created, s);
    CU_ASSERT(lsn > created);
    CU_ASSERT(lsn <= (uint64_t)g->v[2].after.lsn);

    /* all of it (and the sixth row): past the sixth row's commit */
    CU_ASSERT_EQUAL(tdc_source_committed(s, &g->v[5].after, &err), 0);
    lsn = wait_confirmed("fl_slot", beyond, (uint64_t)g->v[5].after.lsn, s);
    CU_ASSERT(lsn > (uint64_t)g->v[5].after.lsn);

    /* other tables' traffic, nothing uncommitted: the slot follows it */
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "INSERT INTO fl_other SELECT generate_series(1, 100)"),
                          0);
    {
        uint64_t before = lsn;
        char *cur = td_pg_query_value(db, "SELECT pg_current_wal_insert_lsn()::text");
        uint64_t now = 0;

        (void)tdc_pgo_lsn_parse(cur, &now);
        free(cur);
        /* a keepalive or status interval later (up to 10 s) */
        for (int i = 0; i < 150 && slot_confirmed("fl_slot") < now; i++) {
            got *h = got_new();
            (void)read_rows(s, h, 1, 100);
            got_free(h);
        }
        if (slot_confirmed("fl_slot") < now || slot_confirmed("fl_slot") <= before)
            fprintf(stderr, "\n    confirmed %" PRIx64 ", before %" PRIx64 ", now %" PRIx64 "\n",
                    slot_confirmed("fl_slot"), before, now);
        CU_ASSERT(slot_confirmed("fl_slot") >= now);
        CU_ASSERT(slot_confirmed("fl_slot") > before);
    }
    got_free(g);
    tdc_source_free(s);
}

/* tdc_pglogical_lag_bytes(): the WAL the slot keeps; it shrinks when what
 * was read is committed; the gauge shows it. */
static void test_lag_bytes(void)
{
    struct tdc_postgres_config c = lcfg("lb", "lb_slot", "lb_pub");
    tdc_source *s;
    got *g = got_new();
    td_error err = {0};
    int64_t before = -1, after = -1;
    tdc_metrics *m;
    char *text = NULL;
    size_t len;

    setup_table("lb", "lb_pub");
    s = new_src(&c, NULL);
    CU_ASSERT_EQUAL(tdc_pglogical_lag_bytes(s, &before, &err), -EAGAIN); /* not streaming */
    start_stream(s);
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "INSERT INTO lb (id, note) SELECT g, repeat('x', 200)"
                                         " FROM generate_series(1, 500) g"), 0);
    CU_ASSERT_EQUAL_FATAL(read_rows(s, g, 500, 10000), 500);
    CU_ASSERT_EQUAL(tdc_pglogical_lag_bytes(s, &before, &err), 0);
    CU_ASSERT(before > 500 * 200);
    CU_ASSERT_EQUAL(tdc_source_committed(s, &g->v[499].after, &err), 0);
    for (int i = 0; i < 50; i++) {
        got *h = got_new();
        CU_ASSERT_EQUAL(tdc_pglogical_lag_bytes(s, &after, &err), 0);
        if (after < before / 10) {
            got_free(h);
            break;
        }
        (void)read_rows(s, h, 1, 100);
        got_free(h);
    }
    fprintf(stderr, "\n    slot keeps %" PRId64 " bytes, %" PRId64 " after the commit\n", before,
            after);
    CU_ASSERT(after >= 0 && after < before / 10);
    m = tdc_metrics_new("t", "medical_insurance", "0");
    CU_ASSERT_FATAL(m != NULL);
    CU_ASSERT_FATAL(td_metrics_render(tdc_metrics_registry(m), &text, &len) == 0);
    CU_ASSERT(strstr(text, "# TYPE tuodi_connector_source_lag_bytes gauge\n") != NULL);
    CU_ASSERT(strstr(text, "\ntuodi_connector_source_lag_bytes ") == NULL);
    free(text);
    tdc_metrics_source_lag_bytes(m, before);
    CU_ASSERT_FATAL(td_metrics_render(tdc_metrics_registry(m), &text, &len) == 0);
    {
        const char *v = strstr(text, "\ntuodi_connector_source_lag_bytes ");
        CU_ASSERT(v != NULL && atoll(v + strlen("\ntuodi_connector_source_lag_bytes ")) == before);
    }
    free(text);
    tdc_metrics_free(m);
    got_free(g);
    tdc_source_free(s);
}

/* Idle for longer than the server's wal_sender_timeout (5 s here): the
 * source answers the keepalives that ask for it, so the walsender keeps
 * the connection (no outage), and a row after the pause still comes. */
static void test_idle(void)
{
    struct tdc_postgres_config c = lcfg("id", "id_slot", "id_pub");
    tdc_source *s;
    got *g = got_new();
    tdc_pglogical_stats st0, st1;

    setup_table("id", "id_pub");
    s = new_src(&c, NULL);
    start_stream(s);
    CU_ASSERT_EQUAL(tdc_pglogical_stats_get(s, &st0), 0);
    CU_ASSERT(nothing_more(s, 8000));
    CU_ASSERT_EQUAL(tdc_pglogical_stats_get(s, &st1), 0);
    CU_ASSERT_EQUAL(st1.outages, st0.outages);
    CU_ASSERT(st1.connected);
    CU_ASSERT(st1.status_updates > st0.status_updates);
    CU_ASSERT_EQUAL(log_count("cannot read the replication slot id_slot"), 0);
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "INSERT INTO id (id) VALUES (1)"), 0);
    CU_ASSERT_EQUAL(read_rows(s, g, 1, 5000), 1);
    got_free(g);
    tdc_source_free(s);
}

/* The table changes under the stream (a column dropped, one added: the
 * same count): the rows after it carry the new columns in a new columns
 * array, so the dataset resolves its header again; without a change, also
 * across a reconnect, the array stays the same. */
static void test_columns_change(void)
{
    struct tdc_postgres_config c = lcfg("cc", "cc_slot", "cc_pub");
    tdc_source *s;
    got *g = got_new();
    tdc_position p;

    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "CREATE TABLE cc (id int PRIMARY KEY, a text, b text);"
                                         "CREATE PUBLICATION cc_pub FOR TABLE cc"), 0);
    s = new_src(&c, NULL);
    start_stream(s);
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "INSERT INTO cc VALUES (1, 'a1', 'b1')"), 0);
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "INSERT INTO cc VALUES (2, 'a2', 'b2')"), 0);
    CU_ASSERT_EQUAL_FATAL(read_rows(s, g, 2, 5000), 2);
    /* a new session: the Relation comes again, unchanged */
    tdc_source_position(s, &p);
    CU_ASSERT_EQUAL(tdc_source_resume(s, &p, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "INSERT INTO cc VALUES (3, 'a3', 'b3')"), 0);
    CU_ASSERT_EQUAL_FATAL(read_rows(s, g, 3, 10000), 3);
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "ALTER TABLE cc DROP COLUMN a;"
                                         "ALTER TABLE cc ADD COLUMN c text"), 0);
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "INSERT INTO cc VALUES (4, 'b4', 'c4')"), 0);
    CU_ASSERT_EQUAL_FATAL(read_rows(s, g, 4, 5000), 4);
    CU_ASSERT_STRING_EQUAL(g->v[0].colnames, "id|a|b");
    CU_ASSERT_PTR_EQUAL(g->v[1].columns, g->v[0].columns);
    CU_ASSERT_PTR_EQUAL(g->v[2].columns, g->v[0].columns);
    CU_ASSERT_STRING_EQUAL(g->v[3].colnames, "id|b|c");
    CU_ASSERT_STRING_EQUAL(g->v[3].fields, "4|b4|c4");
    CU_ASSERT_PTR_NOT_EQUAL(g->v[3].columns, g->v[0].columns);
    got_free(g);
    tdc_source_free(s);
}

/* A publication whose column list (PostgreSQL 15) leaves out a configured
 * column: an error naming it, at every try, and no change of the table is
 * passed over meanwhile (as another table's change). */
static void test_column_list(void)
{
    struct tdc_postgres_config c = lcfg("cl", "cl_slot", "cl_pub");
    char *cols[] = {"id", "b"};
    tdc_source *s;
    got *g = got_new();
    tdc_pglogical_stats st;

    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "CREATE TABLE cl (id int PRIMARY KEY, a text, b text);"
                                         "CREATE PUBLICATION cl_pub FOR TABLE cl (id, a)"), 0);
    c.columns = cols;
    c.ncolumns = 2;
    s = new_src(&c, NULL);
    start_stream(s);
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "INSERT INTO cl VALUES (1, 'a1', 'b1')"), 0);
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "INSERT INTO cl VALUES (2, 'a2', 'b2')"), 0);
    for (int i = 0; i < 3; i++) {
        g->last_error = 0;
        (void)read_rows(s, g, 1, 3000);
        CU_ASSERT_EQUAL(g->n, 0);
        CU_ASSERT_EQUAL(g->last_error, -ENOENT);
        CU_ASSERT_PTR_NOT_NULL(strstr(g->error, "does not send column \"b\""));
        usleep(300 * 1000); /* the backoff */
    }
    CU_ASSERT_EQUAL(tdc_pglogical_stats_get(s, &st), 0);
    CU_ASSERT_EQUAL(st.other, 0);
    got_free(g);
    tdc_source_free(s);
}

static void test_slot_dropped(void)
{
    struct tdc_postgres_config c = lcfg("sd", "sd_slot", "sd_pub");
    tdc_source *s;
    got *g = got_new(), *h = got_new();
    td_error err = {0};

    setup_table("sd", "sd_pub");
    s = new_src(&c, NULL);
    start_stream(s);
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "INSERT INTO sd (id) VALUES (1), (2)"), 0);
    CU_ASSERT_EQUAL_FATAL(read_rows(s, g, 2, 5000), 2);
    CU_ASSERT_EQUAL(tdc_source_committed(s, &g->v[1].after, &err), 0);
    tdc_source_free(s);
    wait_slot_idle("sd_slot");
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "SELECT pg_drop_replication_slot('sd_slot')"), 0);
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "INSERT INTO sd (id) VALUES (3)"), 0);

    s = new_src(&c, &g->v[1].after);
    (void)read_rows(s, h, 1, 3000);
    CU_ASSERT_EQUAL(h->n, 0);
    CU_ASSERT_EQUAL(h->last_error, -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(h->error, "the replication slot sd_slot does not exist any more"));
    CU_ASSERT_PTR_NOT_NULL(strstr(h->error, "does not create the slot again"));
    CU_ASSERT(!slot_exists("sd_slot"));
    /* and again on the engine's retry: still no slot */
    h->last_error = 0;
    usleep(300 * 1000);
    (void)read_rows(s, h, 1, 1000);
    CU_ASSERT_EQUAL(h->last_error, -ENOENT);
    CU_ASSERT(!slot_exists("sd_slot"));
    tdc_source_free(s);
    got_free(g);
    got_free(h);
}

/* A slot invalidated by max_slot_wal_keep_size (its WAL removed while the
 * connector was away): the same clear error, with the server's reason.
 * Run last: the setting invalidates every inactive slot of the server. */
static void test_slot_invalidated(void)
{
    struct tdc_postgres_config c = lcfg("si", "si_slot", "si_pub");
    tdc_source *s;
    got *g = got_new(), *h = got_new();
    td_error err = {0};
    char *st;

    setup_table("si", "si_pub");
    s = new_src(&c, NULL);
    start_stream(s);
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "INSERT INTO si (id) VALUES (1)"), 0);
    if (read_rows(s, g, 1, 5000) != 1)
        fprintf(stderr, "\n    %s\n", g->error);
    CU_ASSERT_EQUAL_FATAL(g->n, 1);
    CU_ASSERT_EQUAL(tdc_source_committed(s, &g->v[0].after, &err), 0);
    tdc_source_free(s);
    wait_slot_idle("si_slot");
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'"), 0);
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "SELECT pg_reload_conf()"), 0);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(td_pg_exec(db, "INSERT INTO si (id, note) SELECT g, repeat('x', 100)"
                                       " FROM generate_series(10, 20000) g"), 0);
        CU_ASSERT_EQUAL(td_pg_exec(db, "DELETE FROM si WHERE id >= 10"), 0);
        CU_ASSERT_EQUAL(td_pg_exec(db, "SELECT pg_switch_wal()"), 0);
        CU_ASSERT_EQUAL(td_pg_exec(db, "CHECKPOINT"), 0);
    }
    st = td_pg_query_value(db, "SELECT wal_status FROM pg_replication_slots"
                               " WHERE slot_name = 'si_slot'");
    CU_ASSERT_STRING_EQUAL(st ? st : "", "lost");
    free(st);

    s = new_src(&c, &g->v[0].after);
    (void)read_rows(s, h, 1, 3000);
    CU_ASSERT_EQUAL(h->n, 0);
    CU_ASSERT_EQUAL(h->last_error, -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(h->error, "the replication slot si_slot can no longer give"));
    CU_ASSERT_PTR_NOT_NULL(strstr(h->error, "invalidated"));
    CU_ASSERT_PTR_NOT_NULL(strstr(h->error, "does not create the slot again"));
    tdc_source_free(s);
    CU_ASSERT_EQUAL(td_pg_exec(db, "ALTER SYSTEM RESET max_slot_wal_keep_size"), 0);
    CU_ASSERT_EQUAL(td_pg_exec(db, "SELECT pg_reload_conf()"), 0);
    got_free(g);
    got_free(h);
}

static void test_outage(void)
{
    struct tdc_postgres_config c = lcfg("ou", "ou_slot", "ou_pub");
    tdc_source *s;
    got *g = got_new();
    size_t warned = log_count("cannot read the replication slot ou_slot");

    setup_table("ou", "ou_pub");
    s = new_src(&c, NULL);
    start_stream(s);
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "INSERT INTO ou (id) SELECT generate_series(1, 50)"), 0);
    CU_ASSERT_EQUAL(read_rows(s, g, 10, 5000), 10);
    PQfinish(db);
    CU_ASSERT_EQUAL_FATAL(td_pg_stop(server), 0);
    (void)read_rows(s, g, 1000, 1500); /* what was buffered, then IDLE */
    CU_ASSERT_EQUAL(g->last_error, 0);
    CU_ASSERT_EQUAL_FATAL(td_pg_start(server), 0);
    db = td_pg_connect(server);
    CU_ASSERT_PTR_NOT_NULL_FATAL(db);
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "INSERT INTO ou (id) SELECT generate_series(51, 60)"), 0);
    CU_ASSERT_EQUAL(read_rows(s, g, 60, 15000), 60);
    CU_ASSERT(nothing_more(s, 300));
    for (size_t i = 0; i < g->n; i++) {
        char id[24];
        snprintf(id, sizeof(id), "%zu", i + 1);
        CU_ASSERT_STRING_EQUAL(g->v[i].id, id);
    }
    CU_ASSERT_EQUAL(log_count("cannot read the replication slot ou_slot") - warned, 1);
    CU_ASSERT(log_count("reading the replication slot ou_slot again") >= 1);
    got_free(g);
    tdc_source_free(s);
}

static void test_position(void)
{
    struct tdc_postgres_config c = lcfg("ps", "ps_slot", "ps_pub");
    tdc_source *s = NULL;
    tdc_position p;
    td_error err = {0};

    memset(&p, 0, sizeof(p));
    p.kind = TDC_POSITION_POSTGRES;
    p.pg_mode = TDC_PG_TIMESTAMP;
    snprintf(p.table, sizeof(p.table), "public.ps");
    CU_ASSERT_EQUAL_FATAL(tdc_pglogical_new(&c, "t", &s, &err), 0);
    CU_ASSERT_EQUAL(tdc_source_resume(s, &p, &err), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(td_error_msg(&err), "written in mode timestamp"));
    p.pg_mode = TDC_PG_LOGICAL;
    p.lsn = -5;
    CU_ASSERT_EQUAL(tdc_source_resume(s, &p, &err), -EINVAL);
    tdc_source_free(s);
}

/* ---- suite "connector" ---------------------------------------------------- */

typedef struct fixture {
    char *dir;
    char config[4096], log[4096], prefix[256];
    pid_t pid;
    int runs;
} fixture;

static int fixture_new(fixture *fx, const char *table, const char *extra)
{
    char *u = td_test_unique("tdc-pglogical");
    FILE *f;

    memset(fx, 0, sizeof(*fx));
    fx->dir = td_test_tmpdir();
    if (!fx->dir || !u)
        return -1;
    snprintf(fx->config, sizeof(fx->config), "%s/connector.yaml", fx->dir);
    snprintf(fx->prefix, sizeof(fx->prefix), "%s", u);
    free(u);
    f = fopen(fx->config, "w");
    if (!f)
        return -1;
    fprintf(f,
            "instance: %s\ndataset: medical_insurance\nschemas_dir: %s/schemas\n"
            "kafka:\n  bootstrap.servers: \"%s\"\n"
            "topics:\n  records: %s.records\n  dlq: %s.dlq\n  offsets: %s.offsets\n"
            "source:\n  postgres:\n    mode: logical\n    conninfo: \"%s\"\n"
            "    table: public.%s\n    publication: %s_pub\n    reconnect_max_backoff: 1s\n%s"
            "transaction:\n  max_records: 7\n  max_interval: 200ms\n"
            "http:\n  listen: 127.0.0.1:0\n",
            fx->prefix, td_test_source_root(), td_test_bootstrap(), fx->prefix, fx->prefix,
            fx->prefix, td_pg_conninfo(server), table, table, extra ? extra : "");
    return fclose(f) == 0 ? 0 : -1;
}

static bool log_has(const fixture *fx, const char *needle, int timeout_ms);

static void fixture_spawn(fixture *fx)
{
    snprintf(fx->log, sizeof(fx->log), "%s/connector-%d.log", fx->dir, ++fx->runs);
    fx->pid = tdc_it_spawn(fx->config, fx->log);
    CU_ASSERT_FATAL(fx->pid > 0);
}

/* Spawns the connector and waits until it reads (its "running" line). */
static void fixture_spawn_running(fixture *fx)
{
    fixture_spawn(fx);
    CU_ASSERT(log_has(fx, ": running (", 30000));
}

static void show_log(const fixture *fx)
{
    char *log = td_test_read_file(fx->log, NULL);

    if (log) {
        size_t len = strlen(log);
        fprintf(stderr, "--- connector log (last 3000 bytes) ---\n%s\n",
                len > 3000 ? log + len - 3000 : log);
        free(log);
    }
}

static bool log_has(const fixture *fx, const char *needle, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 100) {
        char *log = td_test_read_file(fx->log, NULL);
        bool yes = log && strstr(log, needle);

        free(log);
        if (yes)
            return true;
        usleep(100 * 1000);
    }
    return false;
}

/* GET /metrics from 127.0.0.1:port; the whole answer (malloc'd) or NULL. */
static char *scrape(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    static const char req[] = "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
    size_t len = 0, cap = 1 << 20;
    char *buf = malloc(cap);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ssize_t n;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (!buf || fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1) {
        if (fd >= 0)
            close(fd);
        free(buf);
        return NULL;
    }
    while (len + 1 < cap && (n = read(fd, buf + len, cap - len - 1)) > 0)
        len += (size_t)n;
    close(fd);
    buf[len] = '\0';
    return buf;
}

/* The value of the series name (no labels) on the connector's /metrics
 * within timeout_ms, or -1. */
static double scrape_value(const fixture *fx, const char *name, int timeout_ms)
{
    char needle[128];

    snprintf(needle, sizeof(needle), "\n%s ", name);
    for (int waited = 0; waited <= timeout_ms; waited += 200) {
        char *log = td_test_read_file(fx->log, NULL);
        const char *p = log ? strstr(log, "http: listening on 127.0.0.1:") : NULL;
        int port = p ? atoi(p + strlen("http: listening on 127.0.0.1:")) : 0;
        char *text = port > 0 ? scrape(port) : NULL;
        const char *v = text ? strstr(text, needle) : NULL;
        double d = v ? atof(v + strlen(needle)) : -1;

        free(log);
        free(text);
        if (v)
            return d;
        usleep(200 * 1000);
    }
    return -1;
}

static void fixture_free(fixture *fx)
{
    if (fx->pid > 0)
        tdc_it_stop(fx->pid, SIGKILL, 5000);
    if (getenv("TD_KEEP_TMP"))
        fprintf(stderr, "kept %s\n", fx->dir);
    else
        td_test_rmtree(fx->dir);
    free(fx->dir);
}

static int connector_init(void)
{
    (void)td_test_bootstrap(); /* exits with how to get a broker */
    return source_init();
}

#define E2E_TABLE_SQL                                                                     \
    "CREATE TABLE %s (id bigint PRIMARY KEY, 身份证号 text, 姓名 text, 结算日期 text,"    \
    " 就诊类型 text, 医疗总费用 text, 基金支付 text, 个人负担 text, 是否大病 text,"       \
    " 结算单号 text);"                                                                    \
    "ALTER TABLE %s REPLICA IDENTITY FULL;"                                               \
    "CREATE PUBLICATION %s_pub FOR TABLE %s"

/* Inserts settlement k (record id F0R<k>) on c. */
static int insert_row(PGconn *c, const char *table, int k)
{
    char id[19];

    tdc_it_person_id(0, k, id);
    return td_pg_execf(c,
                       "INSERT INTO %s VALUES (%d, '%s', '张三', '2023-06-01', '住院',"
                       " '2000.00', '100.00', '300.50', '否', 'F0R%d')",
                       table, k, id, k);
}

/* Inserts settlements from..from+n-1 in one statement (one transaction). */
static int insert_many(PGconn *c, const char *table, int from, int n)
{
    size_t cap = (size_t)n * 200 + 100, len;
    char *sql = malloc(cap);
    int r;

    if (!sql)
        return -ENOMEM;
    len = (size_t)snprintf(sql, cap, "INSERT INTO %s VALUES ", table);
    for (int k = from; k < from + n; k++) {
        char id[19];

        tdc_it_person_id(0, k, id);
        len += (size_t)snprintf(sql + len, cap - len,
                                "%s(%d, '%s', '张三', '2023-06-01', '住院', '2000.00', '100.00',"
                                " '300.50', '否', 'F0R%d')",
                                k > from ? "," : "", k, id, k);
    }
    r = td_pg_exec(c, sql);
    free(sql);
    return r;
}

/* Reads the records and DLQ topics: want_records[k] / want_dlq[k] times each
 * row k (0..n-1). */
static void check_topics(const fixture *fx, int n, const uint8_t *want_records,
                         const uint8_t *want_dlq)
{
    char topic[512], schemas[4096];
    tdc_it_seen rec, dlq;
    int wrong = 0;

    snprintf(schemas, sizeof(schemas), "%s/schemas", td_test_source_root());
    snprintf(topic, sizeof(topic), "%s.records", fx->prefix);
    CU_ASSERT_EQUAL_FATAL(tdc_it_read(td_test_bootstrap(), topic, false, schemas, &rec), 0);
    snprintf(topic, sizeof(topic), "%s.dlq", fx->prefix);
    CU_ASSERT_EQUAL_FATAL(tdc_it_read(td_test_bootstrap(), topic, true, schemas, &dlq), 0);
    for (int k = 0; k < n; k++) {
        if (rec.count[k] != want_records[k] || dlq.count[k] != want_dlq[k]) {
            if (wrong++ < 10)
                fprintf(stderr, "\n    row %d: %u records (want %u), %u dead letters (want %u)",
                        k, rec.count[k], want_records[k], dlq.count[k], want_dlq[k]);
        }
    }
    if (wrong)
        fprintf(stderr, "\n    %d rows wrong; first dead letter: %s\n", wrong, dlq.first_reason);
    CU_ASSERT_EQUAL(wrong, 0);
    CU_ASSERT_EQUAL(rec.unparsed, 0);
    CU_ASSERT_EQUAL(dlq.unparsed, 0);
    CU_ASSERT_EQUAL(dlq.bad_headers, 0);
    CU_ASSERT_EQUAL(dlq.id_in_reason, 0);
    if (dlq.total)
        CU_ASSERT_PTR_NOT_NULL(strstr(dlq.first_reason, "deleted in the source"));
    tdc_it_seen_free(&rec);
    tdc_it_seen_free(&dlq);
}

#define E2E_N 600

/* The late commit, ten writers (three slow), deletes, a re-insert
 * and updates, through a SIGTERM and three SIGKILLs. */
static void test_e2e(void)
{
    fixture fx;
    PGconn *late, *w[10];
    uint8_t want_rec[E2E_N] = {0}, want_dlq[E2E_N] = {0};
    int st, next = 0;

    CU_ASSERT_EQUAL_FATAL(fixture_new(&fx, "e2e", NULL), 0);
    CU_ASSERT_EQUAL_FATAL(td_pg_execf(db, E2E_TABLE_SQL, "e2e", "e2e", "e2e", "e2e"), 0);
    late = td_pg_connect(server);
    CU_ASSERT_PTR_NOT_NULL_FATAL(late);
    fixture_spawn(&fx);
    CU_ASSERT_FATAL(log_has(&fx, "created the replication slot", 30000));

    /* the late commit: A1-A3 (0-2), L1 (3) open, B1-B3 (4-6), C1 (7) */
    for (int k = 0; k < 3; k++)
        CU_ASSERT_EQUAL(insert_row(db, "e2e", k), 0);
    CU_ASSERT_EQUAL(td_pg_exec(late, "BEGIN"), 0);
    CU_ASSERT_EQUAL(insert_row(late, "e2e", 3), 0);
    sleep(1);
    for (int k = 4; k < 7; k++)
        CU_ASSERT_EQUAL(insert_row(db, "e2e", k), 0);
    sleep(2);
    CU_ASSERT_EQUAL(insert_row(db, "e2e", 7), 0);
    sleep(3);
    CU_ASSERT_EQUAL(td_pg_exec(late, "COMMIT"), 0);
    for (int k = 0; k < 8; k++)
        want_rec[k] = 1;
    next = 8;

    /* ten writers, three slow, while the connector is stopped and killed */
    for (int i = 0; i < 10; i++) {
        w[i] = td_pg_connect(server);
        CU_ASSERT_PTR_NOT_NULL_FATAL(w[i]);
    }
    /* each round: every writer opens a transaction; the seven fast ones
     * write a row and commit; the three slow ones write three rows, one
     * before, one among and one after the fast commits, and commit last */
    for (int round = 0; round < 16; round++) {
        for (int i = 0; i < 10; i++)
            CU_ASSERT_EQUAL(td_pg_exec(w[i], "BEGIN"), 0);
        for (int i = 0; i < 3; i++) {
            CU_ASSERT_EQUAL(insert_row(w[i], "e2e", next), 0);
            want_rec[next++] = 1;
        }
        for (int i = 3; i < 10; i++) {
            CU_ASSERT_EQUAL(insert_row(w[i], "e2e", next), 0);
            want_rec[next++] = 1;
            CU_ASSERT_EQUAL(td_pg_exec(w[i], "COMMIT"), 0);
            if (i == 6)
                for (int j = 0; j < 3; j++) {
                    CU_ASSERT_EQUAL(insert_row(w[j], "e2e", next), 0);
                    want_rec[next++] = 1;
                }
        }
        usleep(150 * 1000);
        for (int i = 0; i < 3; i++) {
            CU_ASSERT_EQUAL(insert_row(w[i], "e2e", next), 0);
            want_rec[next++] = 1;
            CU_ASSERT_EQUAL(td_pg_exec(w[i], "COMMIT"), 0);
        }
        if (round == 4 || round == 7 || round == 10 || round == 13) {
            /* a transaction of 80 rows, which the connector publishes in
             * Kafka transactions of 7: the stop lands in the middle of it */
            CU_ASSERT_EQUAL(insert_many(db, "e2e", next, 80), 0);
            for (int k = next; k < next + 80; k++)
                want_rec[k] = 1;
            next += 80;
            usleep((useconds_t)(10 * round) * 1000);
        }
        if (round == 4) {
            st = tdc_it_stop(fx.pid, SIGTERM, 30000);
            CU_ASSERT(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
            fixture_spawn_running(&fx);
        } else if (round == 7 || round == 10 || round == 13) {
            CU_ASSERT(tdc_it_stop(fx.pid, SIGKILL, 10000) >= 0);
            fixture_spawn_running(&fx);
        }
    }
    CU_ASSERT_FATAL(next <= E2E_N);
    /* deletes, a re-insert of a deleted row, an update after a delete */
    CU_ASSERT_EQUAL(td_pg_exec(db, "DELETE FROM e2e WHERE id IN (1, 5, 20)"), 0);
    want_dlq[1] = want_dlq[5] = want_dlq[20] = 1;
    CU_ASSERT_EQUAL(insert_row(db, "e2e", 5), 0); /* published again */
    want_rec[5] = 2;
    CU_ASSERT_EQUAL(td_pg_exec(db, "UPDATE e2e SET 姓名 = '李四' WHERE id = 5"), 0);
    want_rec[5] = 3;
    CU_ASSERT_EQUAL(td_pg_exec(db, "UPDATE e2e SET 姓名 = '王五' WHERE id = 20"), 0); /* none */
    CU_ASSERT_EQUAL(td_pg_exec(db, "BEGIN; DELETE FROM e2e WHERE id = 30;"
                                   " UPDATE e2e SET 姓名 = '赵六' WHERE id = 31; COMMIT"), 0);
    want_dlq[30] = 1;
    want_rec[31] = 2;

    /* caught up: the slot confirmed (so Kafka holds) everything up to the
     * last statement's commit */
    {
        char *end = td_pg_query_value(db, "SELECT pg_current_wal_insert_lsn()::text");
        char slot[64];
        uint64_t lsn = 0;
        int waited = 0;

        (void)tdc_pgo_lsn_parse(end, &lsn);
        free(end);
        tdc_pglogical_default_slot(fx.prefix, slot, sizeof(slot));
        while (slot_confirmed(slot) < lsn && waited < 60000) {
            usleep(200 * 1000);
            waited += 200;
        }
        if (slot_confirmed(slot) < lsn)
            fprintf(stderr, "\n    the slot did not catch up in 60 s\n");
        CU_ASSERT(slot_confirmed(slot) >= lsn);
    }
    st = tdc_it_stop(fx.pid, SIGTERM, 30000);
    fx.pid = 0;
    CU_ASSERT(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    check_topics(&fx, E2E_N, want_rec, want_dlq);
    if (CU_get_number_of_failures() > 0)
        show_log(&fx);
    for (int i = 0; i < 10; i++)
        PQfinish(w[i]);
    PQfinish(late);
    fixture_free(&fx);
}

/* The missing publication and the slot dropped behind the connector's
 * back, as the running connector says them. */
static void test_errors(void)
{
    fixture fx;
    int st;

    CU_ASSERT_EQUAL_FATAL(fixture_new(&fx, "er", NULL), 0);
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db, "CREATE TABLE er (id bigint PRIMARY KEY, 结算单号 text)"),
                          0);
    fixture_spawn(&fx);
    CU_ASSERT(log_has(&fx, "the publication er_pub does not exist", 30000));
    CU_ASSERT(log_has(&fx, "CREATE PUBLICATION er_pub FOR TABLE public.er;", 0));
    CU_ASSERT_EQUAL(td_pg_exec(db, "CREATE PUBLICATION er_pub FOR TABLE er"), 0);
    CU_ASSERT(log_has(&fx, "created the replication slot", 30000));
    CU_ASSERT_EQUAL(td_pg_exec(db, "INSERT INTO er VALUES (1, 'F0R1')"), 0);
    /* a commit holds a position (the row is a dead letter: no columns);
     * the slot's lag is on /metrics (a few bytes: all is confirmed) */
    {
        double lag = scrape_value(&fx, "tuodi_connector_source_lag_bytes", 20000);

        fprintf(stderr, "\n    tuodi_connector_source_lag_bytes %.0f\n", lag);
        CU_ASSERT(lag >= 0);
    }
    sleep(1);
    st = tdc_it_stop(fx.pid, SIGTERM, 30000);
    CU_ASSERT(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    wait_slot_idle(NULL);
    {
        char *slot = malloc(64);

        CU_ASSERT_PTR_NOT_NULL_FATAL(slot);
        tdc_pglogical_default_slot(fx.prefix, slot, 64);
        CU_ASSERT_FATAL(slot_exists(slot));
        CU_ASSERT_EQUAL(td_pg_execf(db, "SELECT pg_drop_replication_slot('%s')", slot), 0);
        fixture_spawn(&fx);
        {
            char want[256];
            snprintf(want, sizeof(want), "the replication slot %s does not exist any more", slot);
            CU_ASSERT(log_has(&fx, want, 30000));
        }
        CU_ASSERT(!slot_exists(slot));
        free(slot);
    }
    if (CU_get_number_of_failures() > 0)
        show_log(&fx);
    st = tdc_it_stop(fx.pid, SIGTERM, 30000);
    fx.pid = 0;
    CU_ASSERT(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    fixture_free(&fx);
}

static void add_suites(void)
{
    td_test_suite("source", source_init, source_clean);
    TD_TEST(test_config);
    TD_TEST(test_publication);
    TD_TEST(test_partitioned);
    TD_TEST(test_changes);
    TD_TEST(test_late_commit);
    TD_TEST(test_writers);
    TD_TEST(test_toast);
    TD_TEST(test_flush);
    TD_TEST(test_lag_bytes);
    TD_TEST(test_idle);
    TD_TEST(test_columns_change);
    TD_TEST(test_column_list);
    TD_TEST(test_slot_dropped);
    TD_TEST(test_outage);
    TD_TEST(test_position);
    TD_TEST(test_slot_invalidated);
    td_test_suite("connector", connector_init, source_clean);
    TD_TEST(test_e2e);
    TD_TEST(test_errors);
}

TD_TEST_MAIN(add_suites)
