/* The pgoutput parser (connectors/sources/tdc_pgoutput.h): every message
 * kind read back field by field, every truncation of every kind refused,
 * hostile counts and lengths refused, a byte left over refused, and a few
 * thousand mutated messages parsed without reading outside the buffer (each
 * message is parsed from a malloc'd copy of exactly its length, so the ASan
 * build catches a read past the end). */
#include "td_test.h"
#include "tdc_pgoutput.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- building messages ---------------------------------------------------- */

typedef struct msg {
    unsigned char b[4096];
    size_t n;
} msg;

static void m8(msg *m, unsigned v) { m->b[m->n++] = (unsigned char)v; }
static void m16(msg *m, unsigned v) { m8(m, v >> 8); m8(m, v); }
static void m32(msg *m, uint32_t v) { m16(m, v >> 16); m16(m, v & 0xffff); }
static void m64(msg *m, uint64_t v) { m32(m, (uint32_t)(v >> 32)); m32(m, (uint32_t)v); }
static void mstr(msg *m, const char *s)
{
    size_t n = strlen(s) + 1;
    memcpy(m->b + m->n, s, n);
    m->n += n;
}
static void mtext(msg *m, const char *s)
{
    m8(m, 't');
    m32(m, (uint32_t)strlen(s));
    memcpy(m->b + m->n, s, strlen(s));
    m->n += strlen(s);
}

static msg begin_msg(void)
{
    msg m = {.n = 0};
    m8(&m, 'B');
    m64(&m, 0x16B374D848ULL);
    m64(&m, 800000000000000LL);
    m32(&m, 4711);
    return m;
}

static msg commit_msg(void)
{
    msg m = {.n = 0};
    m8(&m, 'C');
    m8(&m, 0);
    m64(&m, 0x16B374D848ULL);
    m64(&m, 0x16B374D878ULL);
    m64(&m, 800000000000001LL);
    return m;
}

static msg origin_msg(void)
{
    msg m = {.n = 0};
    m8(&m, 'O');
    m64(&m, 0x100);
    mstr(&m, "node_a");
    return m;
}

static msg type_msg(void)
{
    msg m = {.n = 0};
    m8(&m, 'Y');
    m32(&m, 16500);
    mstr(&m, "public");
    mstr(&m, "mood");
    return m;
}

static msg relation_msg(void)
{
    msg m = {.n = 0};
    m8(&m, 'R');
    m32(&m, 16384);
    mstr(&m, "public");
    mstr(&m, "settlement");
    m8(&m, 'd');
    m16(&m, 3);
    m8(&m, 1); mstr(&m, "id"); m32(&m, 20); m32(&m, 0xffffffff);
    m8(&m, 0); mstr(&m, "姓名"); m32(&m, 25); m32(&m, 0xffffffff);
    m8(&m, 0); mstr(&m, "note"); m32(&m, 1043); m32(&m, 104);
    return m;
}

static msg insert_msg(void)
{
    msg m = {.n = 0};
    m8(&m, 'I');
    m32(&m, 16384);
    m8(&m, 'N');
    m16(&m, 3);
    mtext(&m, "7");
    mtext(&m, "张三");
    m8(&m, 'n');
    return m;
}

static msg update_msg(void)
{
    msg m = {.n = 0};
    m8(&m, 'U');
    m32(&m, 16384);
    m8(&m, 'O');
    m16(&m, 3);
    mtext(&m, "7");
    mtext(&m, "张三");
    mtext(&m, "long");
    m8(&m, 'N');
    m16(&m, 3);
    mtext(&m, "7");
    mtext(&m, "李四");
    m8(&m, 'u');
    return m;
}

static msg update_plain_msg(void)
{
    msg m = {.n = 0};
    m8(&m, 'U');
    m32(&m, 16384);
    m8(&m, 'N');
    m16(&m, 2);
    mtext(&m, "8");
    mtext(&m, "");
    return m;
}

static msg delete_msg(void)
{
    msg m = {.n = 0};
    m8(&m, 'D');
    m32(&m, 16384);
    m8(&m, 'K');
    m16(&m, 3);
    mtext(&m, "9");
    m8(&m, 'n');
    m8(&m, 'n');
    return m;
}

static msg truncate_msg(void)
{
    msg m = {.n = 0};
    m8(&m, 'T');
    m32(&m, 2);
    m8(&m, 1);
    m32(&m, 16384);
    m32(&m, 16390);
    return m;
}

static msg keepalive_msg(void)
{
    msg m = {.n = 0};
    m8(&m, 'k');
    m64(&m, 0x16B374D900ULL);
    m64(&m, 800000000000002LL);
    m8(&m, 1);
    return m;
}

static msg xlogdata_msg(void)
{
    msg m = {.n = 0}, in = begin_msg();
    m8(&m, 'w');
    m64(&m, 0x16B374D800ULL);
    m64(&m, 0x16B374D900ULL);
    m64(&m, 800000000000003LL);
    memcpy(m.b + m.n, in.b, in.n);
    m.n += in.n;
    return m;
}

/* Parses a malloc'd copy of exactly n bytes of m. */
static int parse_n(tdc_pgo_parser *p, const msg *m, size_t n, tdc_pgo_msg *out, char *why,
                   size_t whysize)
{
    char *copy = malloc(n ? n : 1);
    int r;

    CU_ASSERT_FATAL(copy != NULL);
    memcpy(copy, m->b, n);
    r = tdc_pgo_parse(p, copy, n, out, why, whysize);
    free(copy);
    return r;
}

static tdc_pgo_parser *P;
static char buf_keep[4096]; /* the last valid message, for field checks */

static int parse_keep(const msg *m, tdc_pgo_msg *out)
{
    char why[256];

    memcpy(buf_keep, m->b, m->n);
    return tdc_pgo_parse(P, buf_keep, m->n, out, why, sizeof(why));
}

static int setup(void)
{
    return tdc_pgo_parser_new(&P);
}

static int teardown(void)
{
    P = tdc_pgo_parser_free(P);
    return 0;
}

/* ---- every kind read back ------------------------------------------------- */

static void test_begin_commit_origin_type(void)
{
    tdc_pgo_msg o;
    msg m;

    m = begin_msg();
    CU_ASSERT_EQUAL_FATAL(parse_keep(&m, &o), 0);
    CU_ASSERT_EQUAL(o.kind, TDC_PGO_BEGIN);
    CU_ASSERT_EQUAL(o.final_lsn, 0x16B374D848ULL);
    CU_ASSERT_EQUAL(o.commit_time, 800000000000000LL);
    CU_ASSERT_EQUAL(o.xid, 4711);

    m = commit_msg();
    CU_ASSERT_EQUAL_FATAL(parse_keep(&m, &o), 0);
    CU_ASSERT_EQUAL(o.kind, TDC_PGO_COMMIT);
    CU_ASSERT_EQUAL(o.commit_lsn, 0x16B374D848ULL);
    CU_ASSERT_EQUAL(o.end_lsn, 0x16B374D878ULL);

    m = origin_msg();
    CU_ASSERT_EQUAL_FATAL(parse_keep(&m, &o), 0);
    CU_ASSERT_EQUAL(o.kind, TDC_PGO_ORIGIN);
    CU_ASSERT_EQUAL(o.origin_lsn, 0x100);
    CU_ASSERT_STRING_EQUAL(o.name, "node_a");

    m = type_msg();
    CU_ASSERT_EQUAL_FATAL(parse_keep(&m, &o), 0);
    CU_ASSERT_EQUAL(o.kind, TDC_PGO_TYPE);
    CU_ASSERT_EQUAL(o.type_oid, 16500);
    CU_ASSERT_STRING_EQUAL(o.nspname, "public");
    CU_ASSERT_STRING_EQUAL(o.name, "mood");
}

static void test_relation(void)
{
    tdc_pgo_msg o;
    msg m = relation_msg();

    CU_ASSERT_EQUAL_FATAL(parse_keep(&m, &o), 0);
    CU_ASSERT_EQUAL(o.kind, TDC_PGO_RELATION);
    CU_ASSERT_EQUAL(o.relid, 16384);
    CU_ASSERT_STRING_EQUAL(o.nspname, "public");
    CU_ASSERT_STRING_EQUAL(o.name, "settlement");
    CU_ASSERT_EQUAL(o.replident, 'd');
    CU_ASSERT_EQUAL_FATAL(o.ncolumns, 3);
    CU_ASSERT(o.columns[0].key);
    CU_ASSERT_STRING_EQUAL(o.columns[0].name, "id");
    CU_ASSERT_EQUAL(o.columns[0].type_oid, 20);
    CU_ASSERT_EQUAL(o.columns[0].typmod, -1);
    CU_ASSERT(!o.columns[1].key);
    CU_ASSERT_STRING_EQUAL(o.columns[1].name, "姓名");
    CU_ASSERT_EQUAL(o.columns[2].typmod, 104);
}

static void test_insert_update_delete(void)
{
    tdc_pgo_msg o;
    msg m;

    m = insert_msg();
    CU_ASSERT_EQUAL_FATAL(parse_keep(&m, &o), 0);
    CU_ASSERT_EQUAL(o.kind, TDC_PGO_INSERT);
    CU_ASSERT_EQUAL(o.relid, 16384);
    CU_ASSERT_EQUAL(o.old_kind, 0);
    CU_ASSERT_EQUAL_FATAL(o.new_tuple.ncols, 3);
    CU_ASSERT_EQUAL(o.new_tuple.cols[0].kind, 't');
    CU_ASSERT_EQUAL(o.new_tuple.cols[0].len, 1);
    CU_ASSERT_EQUAL(memcmp(o.new_tuple.cols[1].data, "张三", strlen("张三")), 0);
    CU_ASSERT_EQUAL(o.new_tuple.cols[2].kind, 'n');
    CU_ASSERT_PTR_NULL(o.new_tuple.cols[2].data);

    m = update_msg();
    CU_ASSERT_EQUAL_FATAL(parse_keep(&m, &o), 0);
    CU_ASSERT_EQUAL(o.kind, TDC_PGO_UPDATE);
    CU_ASSERT_EQUAL(o.old_kind, 'O');
    CU_ASSERT_EQUAL_FATAL(o.old_tuple.ncols, 3);
    CU_ASSERT_EQUAL_FATAL(o.new_tuple.ncols, 3);
    CU_ASSERT_EQUAL(memcmp(o.old_tuple.cols[2].data, "long", 4), 0);
    CU_ASSERT_EQUAL(memcmp(o.new_tuple.cols[1].data, "李四", strlen("李四")), 0);
    CU_ASSERT_EQUAL(o.new_tuple.cols[2].kind, 'u');

    m = update_plain_msg();
    CU_ASSERT_EQUAL_FATAL(parse_keep(&m, &o), 0);
    CU_ASSERT_EQUAL(o.old_kind, 0);
    CU_ASSERT_EQUAL(o.old_tuple.ncols, 0);
    CU_ASSERT_EQUAL_FATAL(o.new_tuple.ncols, 2);
    CU_ASSERT_EQUAL(o.new_tuple.cols[1].kind, 't');
    CU_ASSERT_EQUAL(o.new_tuple.cols[1].len, 0);

    m = delete_msg();
    CU_ASSERT_EQUAL_FATAL(parse_keep(&m, &o), 0);
    CU_ASSERT_EQUAL(o.kind, TDC_PGO_DELETE);
    CU_ASSERT_EQUAL(o.old_kind, 'K');
    CU_ASSERT_EQUAL_FATAL(o.old_tuple.ncols, 3);
    CU_ASSERT_EQUAL(o.old_tuple.cols[0].data[0], '9');
    CU_ASSERT_EQUAL(o.new_tuple.ncols, 0);
}

static void test_truncate(void)
{
    tdc_pgo_msg o;
    msg m = truncate_msg();

    CU_ASSERT_EQUAL_FATAL(parse_keep(&m, &o), 0);
    CU_ASSERT_EQUAL(o.kind, TDC_PGO_TRUNCATE);
    CU_ASSERT_EQUAL(o.truncate_options, 1);
    CU_ASSERT_EQUAL_FATAL(o.nrelids, 2);
    CU_ASSERT_EQUAL(o.relids[0], 16384);
    CU_ASSERT_EQUAL(o.relids[1], 16390);
}

static void test_envelope(void)
{
    tdc_pgo_copy c;
    char why[256];
    msg m;
    uint8_t st[TDC_PGO_STATUS_LEN];

    m = keepalive_msg();
    CU_ASSERT_EQUAL_FATAL(tdc_pgo_parse_copy((const char *)m.b, m.n, &c, why, sizeof(why)), 0);
    CU_ASSERT_EQUAL(c.kind, TDC_PGO_KEEPALIVE);
    CU_ASSERT_EQUAL(c.wal_end, 0x16B374D900ULL);
    CU_ASSERT(c.reply_requested);

    m = xlogdata_msg();
    CU_ASSERT_EQUAL_FATAL(tdc_pgo_parse_copy((const char *)m.b, m.n, &c, why, sizeof(why)), 0);
    CU_ASSERT_EQUAL(c.kind, TDC_PGO_XLOGDATA);
    CU_ASSERT_EQUAL(c.wal_start, 0x16B374D800ULL);
    CU_ASSERT_EQUAL(c.len, begin_msg().n);
    CU_ASSERT_EQUAL(c.data[0], 'B');

    tdc_pgo_status_update(st, 0x0102030405060708ULL, 0x10, 0x20, 5, true);
    CU_ASSERT_EQUAL(st[0], 'r');
    CU_ASSERT_EQUAL(st[1], 1);
    CU_ASSERT_EQUAL(st[8], 8);
    CU_ASSERT_EQUAL(st[16], 0x10);
    CU_ASSERT_EQUAL(st[24], 0x20);
    CU_ASSERT_EQUAL(st[32], 5);
    CU_ASSERT_EQUAL(st[33], 1);
}

static void test_lsn_text(void)
{
    char b[32];
    uint64_t v = 0;

    CU_ASSERT_STRING_EQUAL(tdc_pgo_lsn_text(0x16B374D848ULL, b, sizeof(b)), "16/B374D848");
    CU_ASSERT_EQUAL(tdc_pgo_lsn_parse("16/B374D848", &v), 0);
    CU_ASSERT_EQUAL(v, 0x16B374D848ULL);
    CU_ASSERT_EQUAL(tdc_pgo_lsn_parse("0/0", &v), 0);
    CU_ASSERT_EQUAL(v, 0);
    CU_ASSERT_EQUAL(tdc_pgo_lsn_parse("ffffffff/ffffffff", &v), 0);
    CU_ASSERT_EQUAL(v, UINT64_MAX);
    CU_ASSERT_EQUAL(tdc_pgo_lsn_parse("", &v), -EINVAL);
    CU_ASSERT_EQUAL(tdc_pgo_lsn_parse("16", &v), -EINVAL);
    CU_ASSERT_EQUAL(tdc_pgo_lsn_parse("/1", &v), -EINVAL);
    CU_ASSERT_EQUAL(tdc_pgo_lsn_parse("1/", &v), -EINVAL);
    CU_ASSERT_EQUAL(tdc_pgo_lsn_parse("1/2/3", &v), -EINVAL);
    CU_ASSERT_EQUAL(tdc_pgo_lsn_parse("100000000/0", &v), -EINVAL);
    CU_ASSERT_EQUAL(tdc_pgo_lsn_parse("1/g", &v), -EINVAL);
    CU_ASSERT_EQUAL(tdc_pgo_lsn_parse(NULL, &v), -EINVAL);
}

/* ---- every truncation, one byte too many ---------------------------------- */

typedef msg (*msg_fn)(void);
static const msg_fn logical[] = {begin_msg,  commit_msg, origin_msg,       type_msg,
                                 relation_msg, insert_msg, update_msg, update_plain_msg,
                                 delete_msg, truncate_msg};
#define NLOGICAL (sizeof(logical) / sizeof(logical[0]))

static void test_every_truncation_refused(void)
{
    char why[256];
    tdc_pgo_msg o;

    for (size_t k = 0; k < NLOGICAL; k++) {
        msg m = logical[k]();

        CU_ASSERT_EQUAL(parse_n(P, &m, m.n, &o, why, sizeof(why)), 0);
        for (size_t n = 0; n < m.n; n++) {
            why[0] = '\0';
            int r = parse_n(P, &m, n, &o, why, sizeof(why));
            if (r != -EPROTO)
                fprintf(stderr, "\n    kind %c cut to %zu of %zu bytes: %d\n", m.b[0], n, m.n, r);
            CU_ASSERT_EQUAL(r, -EPROTO);
            CU_ASSERT(why[0] != '\0');
        }
        /* one byte too many */
        m.b[m.n++] = 0;
        CU_ASSERT_EQUAL(parse_n(P, &m, m.n, &o, why, sizeof(why)), -EPROTO);
        /* (a Truncate's relation ids fill the rest: its count disagrees) */
        CU_ASSERT_PTR_NOT_NULL(strstr(why, m.b[0] == 'T' ? "bytes for them" : "left over"));
    }
}

static void test_envelope_truncations_refused(void)
{
    msg ms[2] = {keepalive_msg(), xlogdata_msg()};
    char why[256];
    tdc_pgo_copy c;

    for (size_t k = 0; k < 2; k++) {
        /* XLogData's payload is the rest: its header (25 bytes) plus one
         * byte is the shortest whole message */
        size_t whole = ms[k].b[0] == 'w' ? 26 : ms[k].n;

        for (size_t n = 0; n < whole; n++) {
            char *copy = malloc(n ? n : 1);
            memcpy(copy, ms[k].b, n);
            CU_ASSERT_EQUAL(tdc_pgo_parse_copy(copy, n, &c, why, sizeof(why)), -EPROTO);
            free(copy);
        }
    }
    ms[0].b[ms[0].n++] = 0;
    CU_ASSERT_EQUAL(tdc_pgo_parse_copy((const char *)ms[0].b, ms[0].n, &c, why, sizeof(why)),
                    -EPROTO);
    ms[0].n--;
    ms[0].b[ms[0].n - 1] = 2; /* reply flag neither 0 nor 1 */
    CU_ASSERT_EQUAL(tdc_pgo_parse_copy((const char *)ms[0].b, ms[0].n, &c, why, sizeof(why)),
                    -EPROTO);
    ms[0].b[0] = 'x';
    CU_ASSERT_EQUAL(tdc_pgo_parse_copy((const char *)ms[0].b, ms[0].n, &c, why, sizeof(why)),
                    -EPROTO);
    CU_ASSERT_EQUAL(tdc_pgo_parse_copy(NULL, 0, &c, why, sizeof(why)), -EPROTO);
}

/* ---- hostile values ------------------------------------------------------- */

static int parse_m(const msg *m)
{
    char why[256];
    tdc_pgo_msg o;

    return parse_n(P, m, m->n, &o, why, sizeof(why));
}

static void test_hostile_values(void)
{
    msg m;

    /* a value's length far past the end */
    m = (msg){.n = 0};
    m8(&m, 'I'); m32(&m, 1); m8(&m, 'N'); m16(&m, 1); m8(&m, 't'); m32(&m, 0xffffffff);
    m8(&m, 'x');
    CU_ASSERT_EQUAL(parse_m(&m), -EPROTO);
    /* a column count beyond PostgreSQL's limit, and beyond the bytes */
    m = (msg){.n = 0};
    m8(&m, 'I'); m32(&m, 1); m8(&m, 'N'); m16(&m, 0xffff);
    for (int i = 0; i < 100; i++)
        m8(&m, 'n');
    CU_ASSERT_EQUAL(parse_m(&m), -EPROTO);
    m = (msg){.n = 0};
    m8(&m, 'I'); m32(&m, 1); m8(&m, 'N'); m16(&m, 1000); m8(&m, 'n');
    CU_ASSERT_EQUAL(parse_m(&m), -EPROTO);
    /* an unknown value kind */
    m = (msg){.n = 0};
    m8(&m, 'I'); m32(&m, 1); m8(&m, 'N'); m16(&m, 1); m8(&m, 'z');
    CU_ASSERT_EQUAL(parse_m(&m), -EPROTO);
    /* relation id 0 */
    m = insert_msg();
    m.b[1] = m.b[2] = m.b[3] = m.b[4] = 0;
    CU_ASSERT_EQUAL(parse_m(&m), -EPROTO);
    /* Insert without 'N', Delete without 'K'/'O', Update's new row unmarked */
    m = insert_msg();
    m.b[5] = 'K';
    CU_ASSERT_EQUAL(parse_m(&m), -EPROTO);
    m = delete_msg();
    m.b[5] = 'N';
    CU_ASSERT_EQUAL(parse_m(&m), -EPROTO);
    m = update_plain_msg();
    m.b[5] = 'X';
    CU_ASSERT_EQUAL(parse_m(&m), -EPROTO);
    /* Relation: a replica identity that does not exist, a NUL one, flags 2,
     * an empty column name, a column count beyond the bytes */
    m = relation_msg();
    m.b[5 + 7 + 11] = 'x';
    CU_ASSERT_EQUAL(parse_m(&m), -EPROTO);
    m.b[5 + 7 + 11] = 0;
    CU_ASSERT_EQUAL(parse_m(&m), -EPROTO);
    m = relation_msg();
    m.b[5 + 7 + 11 + 3] = 2;
    CU_ASSERT_EQUAL(parse_m(&m), -EPROTO);
    m = (msg){.n = 0};
    m8(&m, 'R'); m32(&m, 1); mstr(&m, "s"); mstr(&m, "t"); m8(&m, 'd'); m16(&m, 1);
    m8(&m, 0); mstr(&m, ""); m32(&m, 20); m32(&m, 0);
    CU_ASSERT_EQUAL(parse_m(&m), -EPROTO);
    m = (msg){.n = 0};
    m8(&m, 'R'); m32(&m, 1); mstr(&m, "s"); mstr(&m, "t"); m8(&m, 'd'); m16(&m, 0xffff);
    m8(&m, 0); mstr(&m, "a"); m32(&m, 20); m32(&m, 0);
    CU_ASSERT_EQUAL(parse_m(&m), -EPROTO);
    /* a string that does not end inside the message */
    m = (msg){.n = 0};
    m8(&m, 'O'); m64(&m, 1); m8(&m, 'a'); m8(&m, 'b');
    CU_ASSERT_EQUAL(parse_m(&m), -EPROTO);
    /* Begin at 0/0; Commit whose end is not after its LSN */
    m = begin_msg();
    memset(m.b + 1, 0, 8);
    CU_ASSERT_EQUAL(parse_m(&m), -EPROTO);
    m = commit_msg();
    memcpy(m.b + 10, m.b + 2, 8);
    CU_ASSERT_EQUAL(parse_m(&m), -EPROTO);
    /* Truncate: zero relations, a count beyond the bytes, a huge count,
     * unknown options, relation id 0 */
    m = (msg){.n = 0};
    m8(&m, 'T'); m32(&m, 0); m8(&m, 0);
    CU_ASSERT_EQUAL(parse_m(&m), -EPROTO);
    m = (msg){.n = 0};
    m8(&m, 'T'); m32(&m, 3); m8(&m, 0); m32(&m, 5);
    CU_ASSERT_EQUAL(parse_m(&m), -EPROTO);
    m = (msg){.n = 0};
    m8(&m, 'T'); m32(&m, 0xffffffff); m8(&m, 0); m32(&m, 5);
    CU_ASSERT_EQUAL(parse_m(&m), -EPROTO);
    m = truncate_msg();
    m.b[5] = 9;
    CU_ASSERT_EQUAL(parse_m(&m), -EPROTO);
    m = truncate_msg();
    memset(m.b + 6, 0, 4);
    CU_ASSERT_EQUAL(parse_m(&m), -EPROTO);
    /* kinds protocol version 1 does not send (stream start, message) */
    m = (msg){.n = 0};
    m8(&m, 'S'); m32(&m, 1); m8(&m, 1);
    CU_ASSERT_EQUAL(parse_m(&m), -EPROTO);
    m = (msg){.n = 0};
    m8(&m, 'M');
    CU_ASSERT_EQUAL(parse_m(&m), -EPROTO);
    m = (msg){.n = 0};
    CU_ASSERT_EQUAL(parse_m(&m), -EPROTO);
}

/* Mutated messages: any answer but a crash or an out-of-bounds read. */
static void test_mutations_stay_in_bounds(void)
{
    unsigned seed = 20261207;
    char why[256];
    tdc_pgo_msg o;
    tdc_pgo_copy c;

    for (int i = 0; i < 20000; i++) {
        msg m = logical[(size_t)i % NLOGICAL]();
        int flips = 1 + (int)(rand_r(&seed) % 4);
        int r;

        for (int f = 0; f < flips; f++) {
            size_t at = (size_t)rand_r(&seed) % m.n;
            m.b[at] = (unsigned char)rand_r(&seed);
        }
        if (rand_r(&seed) % 3 == 0)
            m.n = (size_t)rand_r(&seed) % (m.n + 1);
        r = parse_n(P, &m, m.n, &o, why, sizeof(why));
        CU_ASSERT(r == 0 || r == -EPROTO);
        if (r == 0 && (o.kind == TDC_PGO_INSERT || o.kind == TDC_PGO_UPDATE)) {
            /* every value the parser hands out lies inside the message */
            for (size_t k = 0; k < o.new_tuple.ncols; k++)
                CU_ASSERT(o.new_tuple.cols[k].data == NULL || o.new_tuple.cols[k].len <= m.n);
        }
        {
            char *copy = malloc(m.n ? m.n : 1);
            memcpy(copy, m.b, m.n);
            r = tdc_pgo_parse_copy(copy, m.n, &c, why, sizeof(why));
            CU_ASSERT(r == 0 || r == -EPROTO);
            free(copy);
        }
    }
}

static void add_suites(void)
{
    td_test_suite("pgoutput", setup, teardown);
    TD_TEST(test_begin_commit_origin_type);
    TD_TEST(test_relation);
    TD_TEST(test_insert_update_delete);
    TD_TEST(test_truncate);
    TD_TEST(test_envelope);
    TD_TEST(test_lsn_text);
    TD_TEST(test_every_truncation_refused);
    TD_TEST(test_envelope_truncations_refused);
    TD_TEST(test_hostile_values);
    TD_TEST(test_mutations_stay_in_bounds);
}

TD_TEST_MAIN(add_suites)
