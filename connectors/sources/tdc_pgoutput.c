/* tdc_pgoutput: the replication message parser. The contract is in
 * tdc_pgoutput.h. */
#include "tdc_pgoutput.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Seconds from 1970-01-01 to 2000-01-01. */
#define PG_EPOCH_UNIX_S 946684800LL

struct tdc_pgo_parser {
    tdc_pgo_value *vals; /* old tuple's then new tuple's values */
    size_t vals_cap;
    tdc_pgo_relcol *cols;
    size_t cols_cap;
    uint32_t *relids;
    size_t relids_cap;
};

/* A read cursor over one message. */
typedef struct rd {
    const unsigned char *p;
    size_t len, off;
    char kind;
    char *why;
    size_t whysize;
} rd;

static int fail(rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(rd *r, const char *fmt, ...)
{
    char msg[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (r->why && r->whysize)
        snprintf(r->why, r->whysize, "replication message '%c' of %zu bytes, at byte %zu: %s",
                 r->kind >= 0x20 && r->kind < 0x7f ? r->kind : '?', r->len, r->off, msg);
    return -EPROTO;
}

static int need(rd *r, size_t n, const char *what)
{
    if (r->len - r->off < n)
        return fail(r, "truncated (%s needs %zu bytes, %zu left)", what, n, r->len - r->off);
    return 0;
}

static int u8(rd *r, uint8_t *v, const char *what)
{
    if (need(r, 1, what) < 0)
        return -EPROTO;
    *v = r->p[r->off++];
    return 0;
}

static int u16(rd *r, uint16_t *v, const char *what)
{
    if (need(r, 2, what) < 0)
        return -EPROTO;
    *v = (uint16_t)((unsigned)r->p[r->off] << 8 | r->p[r->off + 1]);
    r->off += 2;
    return 0;
}

static int u32(rd *r, uint32_t *v, const char *what)
{
    if (need(r, 4, what) < 0)
        return -EPROTO;
    *v = (uint32_t)r->p[r->off] << 24 | (uint32_t)r->p[r->off + 1] << 16 |
         (uint32_t)r->p[r->off + 2] << 8 | (uint32_t)r->p[r->off + 3];
    r->off += 4;
    return 0;
}

static int u64(rd *r, uint64_t *v, const char *what)
{
    uint32_t hi, lo;

    if (need(r, 8, what) < 0)
        return -EPROTO;
    (void)u32(r, &hi, what);
    (void)u32(r, &lo, what);
    *v = (uint64_t)hi << 32 | lo;
    return 0;
}

static int i64(rd *r, int64_t *v, const char *what)
{
    uint64_t u;

    if (u64(r, &u, what) < 0)
        return -EPROTO;
    memcpy(v, &u, sizeof(*v));
    return 0;
}

/* A NUL-terminated string inside the message. */
static int str(rd *r, const char **v, const char *what)
{
    const unsigned char *nul;

    if (r->off >= r->len)
        return fail(r, "truncated (%s: no string)", what);
    nul = memchr(r->p + r->off, '\0', r->len - r->off);
    if (!nul)
        return fail(r, "%s: the string does not end inside the message", what);
    *v = (const char *)(r->p + r->off);
    r->off = (size_t)(nul - r->p) + 1;
    return 0;
}

static int done(rd *r)
{
    if (r->off != r->len)
        return fail(r, "%zu bytes left over after the message", r->len - r->off);
    return 0;
}

static void *grow(void *arr, size_t *cap, size_t need_n, size_t elem)
{
    size_t n;
    void *np;

    if (need_n <= *cap)
        return arr;
    n = *cap ? *cap : 16;
    while (n < need_n)
        n *= 2;
    np = realloc(arr, n * elem);
    if (!np)
        return NULL;
    *cap = n;
    return np;
}

/* ---- the envelope --------------------------------------------------------- */

int tdc_pgo_parse_copy(const char *buf, size_t len, tdc_pgo_copy *ret, char *why,
                       size_t whysize)
{
    rd r = {.p = (const unsigned char *)buf, .len = buf ? len : 0, .why = why,
            .whysize = whysize};
    uint8_t kind, reply;
    int rc;

    memset(ret, 0, sizeof(*ret));
    r.kind = r.len ? (char)r.p[0] : '?';
    if (u8(&r, &kind, "the message kind") < 0)
        return -EPROTO;
    switch (kind) {
    case 'w':
        ret->kind = TDC_PGO_XLOGDATA;
        if ((rc = u64(&r, &ret->wal_start, "XLogData's start")) < 0 ||
            (rc = u64(&r, &ret->wal_end, "XLogData's end")) < 0 ||
            (rc = i64(&r, &ret->send_time, "XLogData's time")) < 0)
            return rc;
        if (r.off >= r.len)
            return fail(&r, "XLogData without a logical message");
        ret->data = (const char *)(r.p + r.off);
        ret->len = r.len - r.off;
        return 0;
    case 'k':
        ret->kind = TDC_PGO_KEEPALIVE;
        if ((rc = u64(&r, &ret->wal_end, "keepalive's end")) < 0 ||
            (rc = i64(&r, &ret->send_time, "keepalive's time")) < 0 ||
            (rc = u8(&r, &reply, "keepalive's reply flag")) < 0)
            return rc;
        if (reply > 1)
            return fail(&r, "keepalive's reply flag is %u, not 0 or 1", reply);
        ret->reply_requested = reply == 1;
        return done(&r);
    default:
        r.off = 0;
        return fail(&r, "not a replication message the connector knows (0x%02x)", kind);
    }
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

void tdc_pgo_status_update(uint8_t out[TDC_PGO_STATUS_LEN], uint64_t written,
                           uint64_t flushed, uint64_t applied, int64_t now_pg_us,
                           bool reply_requested)
{
    uint64_t t;

    memcpy(&t, &now_pg_us, sizeof(t));
    out[0] = 'r';
    put64(out + 1, written);
    put64(out + 9, flushed);
    put64(out + 17, applied);
    put64(out + 25, t);
    out[33] = reply_requested ? 1 : 0;
}

int64_t tdc_pgo_time_from_unix_us(int64_t unix_us)
{
    return unix_us - PG_EPOCH_UNIX_S * 1000000LL;
}

/* ---- logical messages ----------------------------------------------------- */

static int tuple(tdc_pgo_parser *p, rd *r, size_t base, tdc_pgo_tuple *t, const char *what)
{
    uint16_t n;
    tdc_pgo_value *v;

    if (u16(r, &n, what) < 0)
        return -EPROTO;
    if (n > TDC_PGO_MAX_COLUMNS)
        return fail(r, "%s has %u columns, more than PostgreSQL allows (%d)", what, n,
                    TDC_PGO_MAX_COLUMNS);
    /* Each column takes at least one byte: a count beyond the message is a lie. */
    if (n > r->len - r->off)
        return fail(r, "truncated (%s says %u columns, %zu bytes left)", what, n,
                    r->len - r->off);
    v = grow(p->vals, &p->vals_cap, base + n, sizeof(*p->vals));
    if (!v)
        return -ENOMEM;
    p->vals = v;
    for (size_t i = 0; i < n; i++) {
        uint8_t kind;
        uint32_t len;
        tdc_pgo_value *c = &p->vals[base + i];

        if (u8(r, &kind, what) < 0)
            return -EPROTO;
        c->kind = (char)kind;
        c->data = NULL;
        c->len = 0;
        switch (kind) {
        case 'n':
        case 'u':
            break;
        case 't':
        case 'b':
            if (u32(r, &len, what) < 0)
                return -EPROTO;
            if (len > r->len - r->off)
                return fail(r, "truncated (%s: column %zu says %" PRIu32 " bytes, %zu left)",
                            what, i + 1, len, r->len - r->off);
            c->data = (const char *)(r->p + r->off);
            c->len = len;
            r->off += len;
            break;
        default:
            r->off--;
            return fail(r, "%s: column %zu has the unknown kind 0x%02x", what, i + 1, kind);
        }
    }
    t->ncols = n;
    t->cols = NULL; /* set once the arrays stop moving */
    return 0;
}

static int relation_id(rd *r, uint32_t *relid)
{
    if (u32(r, relid, "the relation id") < 0)
        return -EPROTO;
    if (*relid == 0)
        return fail(r, "relation id 0");
    return 0;
}

int tdc_pgo_parse(tdc_pgo_parser *p, const char *buf, size_t len, tdc_pgo_msg *ret,
                  char *why, size_t whysize)
{
    rd r = {.p = (const unsigned char *)buf, .len = buf ? len : 0, .why = why,
            .whysize = whysize};
    uint8_t kind, b;
    uint16_t n16;
    uint32_t n32;
    int rc;

    memset(ret, 0, sizeof(*ret));
    r.kind = r.len ? (char)r.p[0] : '?';
    if (!p)
        return -EINVAL;
    if (u8(&r, &kind, "the message kind") < 0)
        return -EPROTO;
    ret->kind = (tdc_pgo_kind)kind;
    switch (kind) {
    case 'B':
        if ((rc = u64(&r, &ret->final_lsn, "Begin's final LSN")) < 0 ||
            (rc = i64(&r, &ret->commit_time, "Begin's time")) < 0 ||
            (rc = u32(&r, &ret->xid, "Begin's xid")) < 0)
            return rc;
        if (ret->final_lsn == 0)
            return fail(&r, "Begin with final LSN 0/0");
        return done(&r);
    case 'C':
        if ((rc = u8(&r, &ret->flags, "Commit's flags")) < 0 ||
            (rc = u64(&r, &ret->commit_lsn, "Commit's LSN")) < 0 ||
            (rc = u64(&r, &ret->end_lsn, "Commit's end LSN")) < 0 ||
            (rc = i64(&r, &ret->commit_time, "Commit's time")) < 0)
            return rc;
        if (ret->commit_lsn == 0 || ret->end_lsn <= ret->commit_lsn)
            return fail(&r, "Commit's end LSN is not after its LSN");
        return done(&r);
    case 'O':
        if ((rc = u64(&r, &ret->origin_lsn, "Origin's LSN")) < 0 ||
            (rc = str(&r, &ret->name, "Origin's name")) < 0)
            return rc;
        return done(&r);
    case 'Y':
        if ((rc = u32(&r, &ret->type_oid, "Type's oid")) < 0 ||
            (rc = str(&r, &ret->nspname, "Type's namespace")) < 0 ||
            (rc = str(&r, &ret->name, "Type's name")) < 0)
            return rc;
        return done(&r);
    case 'R': {
        tdc_pgo_relcol *c;

        if ((rc = relation_id(&r, &ret->relid)) < 0 ||
            (rc = str(&r, &ret->nspname, "Relation's namespace")) < 0 ||
            (rc = str(&r, &ret->name, "Relation's name")) < 0 ||
            (rc = u8(&r, &b, "Relation's replica identity")) < 0 ||
            (rc = u16(&r, &n16, "Relation's column count")) < 0)
            return rc;
        if (!strchr("dnfi", b) || b == 0)
            return fail(&r, "Relation's replica identity 0x%02x is none of d, n, f, i", b);
        ret->replident = (char)b;
        if (n16 > TDC_PGO_MAX_COLUMNS)
            return fail(&r, "Relation has %u columns, more than PostgreSQL allows (%d)", n16,
                        TDC_PGO_MAX_COLUMNS);
        /* a column takes at least 10 bytes (flags, "", oid, typmod) */
        if ((size_t)n16 * 10 > r.len - r.off)
            return fail(&r, "truncated (Relation says %u columns, %zu bytes left)", n16,
                        r.len - r.off);
        c = grow(p->cols, &p->cols_cap, n16, sizeof(*p->cols));
        if (!c)
            return -ENOMEM;
        p->cols = c;
        for (size_t i = 0; i < n16; i++) {
            uint32_t typmod;

            if ((rc = u8(&r, &b, "a column's flags")) < 0 ||
                (rc = str(&r, &p->cols[i].name, "a column's name")) < 0 ||
                (rc = u32(&r, &p->cols[i].type_oid, "a column's type")) < 0 ||
                (rc = u32(&r, &typmod, "a column's type modifier")) < 0)
                return rc;
            if (b > 1)
                return fail(&r, "column %zu's flags are 0x%02x (only 1, key, is defined)",
                            i + 1, b);
            if (!p->cols[i].name[0])
                return fail(&r, "column %zu has an empty name", i + 1);
            p->cols[i].key = b == 1;
            memcpy(&p->cols[i].typmod, &typmod, sizeof(typmod));
        }
        ret->ncolumns = n16;
        ret->columns = p->cols;
        return done(&r);
    }
    case 'I':
        if ((rc = relation_id(&r, &ret->relid)) < 0 || (rc = u8(&r, &b, "Insert's 'N'")) < 0)
            return rc;
        if (b != 'N') {
            r.off--;
            return fail(&r, "Insert's tuple is marked 0x%02x, not 'N'", b);
        }
        if ((rc = tuple(p, &r, 0, &ret->new_tuple, "Insert's new row")) < 0)
            return rc;
        ret->new_tuple.cols = p->vals;
        return done(&r);
    case 'U':
    case 'D': {
        const char *what = kind == 'U' ? "Update" : "Delete";
        size_t nold = 0;

        if ((rc = relation_id(&r, &ret->relid)) < 0 || (rc = u8(&r, &b, what)) < 0)
            return rc;
        if (b == 'K' || b == 'O') {
            ret->old_kind = (char)b;
            if ((rc = tuple(p, &r, 0, &ret->old_tuple, "the old row")) < 0)
                return rc;
            nold = ret->old_tuple.ncols;
            if (kind == 'U' && (rc = u8(&r, &b, "Update's 'N'")) < 0)
                return rc;
        } else if (kind == 'D') {
            r.off--;
            return fail(&r, "Delete's old row is marked 0x%02x, not 'K' or 'O'", b);
        }
        if (kind == 'U') {
            if (b != 'N') {
                r.off--;
                return fail(&r, "Update's new row is marked 0x%02x, not 'N'", b);
            }
            if ((rc = tuple(p, &r, nold, &ret->new_tuple, "Update's new row")) < 0)
                return rc;
            ret->new_tuple.cols = p->vals + nold;
        }
        if (ret->old_kind)
            ret->old_tuple.cols = p->vals;
        return done(&r);
    }
    case 'T': {
        uint32_t *ids;

        if ((rc = u32(&r, &n32, "Truncate's relation count")) < 0 ||
            (rc = u8(&r, &ret->truncate_options, "Truncate's options")) < 0)
            return rc;
        if (n32 == 0 || n32 > TDC_PGO_MAX_TRUNCATE)
            return fail(&r, "Truncate names %" PRIu32 " relations", n32);
        if ((size_t)n32 * 4 != r.len - r.off)
            return fail(&r, "Truncate says %" PRIu32 " relations but has %zu bytes for them",
                        n32, r.len - r.off);
        if (ret->truncate_options > 3)
            return fail(&r, "Truncate's options are 0x%02x", ret->truncate_options);
        ids = grow(p->relids, &p->relids_cap, n32, sizeof(*p->relids));
        if (!ids)
            return -ENOMEM;
        p->relids = ids;
        for (size_t i = 0; i < n32; i++)
            if ((rc = relation_id(&r, &p->relids[i])) < 0)
                return rc;
        ret->nrelids = n32;
        ret->relids = p->relids;
        return done(&r);
    }
    default:
        r.off = 0;
        return fail(&r, "not a pgoutput message of protocol version 1 (0x%02x)", kind);
    }
}

int tdc_pgo_parser_new(tdc_pgo_parser **ret)
{
    *ret = calloc(1, sizeof(**ret));
    return *ret ? 0 : -ENOMEM;
}

tdc_pgo_parser *tdc_pgo_parser_free(tdc_pgo_parser *p)
{
    if (p) {
        free(p->vals);
        free(p->cols);
        free(p->relids);
        free(p);
    }
    return NULL;
}

const char *tdc_pgo_lsn_text(uint64_t lsn, char *buf, size_t size)
{
    snprintf(buf, size, "%" PRIX32 "/%" PRIX32, (uint32_t)(lsn >> 32), (uint32_t)lsn);
    return buf;
}

int tdc_pgo_lsn_parse(const char *s, uint64_t *ret)
{
    uint64_t part[2] = {0, 0};
    int k = 0;
    size_t digits = 0;

    if (!s)
        return -EINVAL;
    for (const char *c = s;; c++) {
        int d;

        if (*c == '/' && k == 0 && digits) {
            k = 1;
            digits = 0;
            continue;
        }
        if (*c == '\0')
            break;
        if (*c >= '0' && *c <= '9')
            d = *c - '0';
        else if (*c >= 'A' && *c <= 'F')
            d = *c - 'A' + 10;
        else if (*c >= 'a' && *c <= 'f')
            d = *c - 'a' + 10;
        else
            return -EINVAL;
        if (++digits > 8)
            return -EINVAL;
        part[k] = part[k] << 4 | (uint64_t)d;
    }
    if (k != 1 || !digits)
        return -EINVAL;
    *ret = part[0] << 32 | part[1];
    return 0;
}
