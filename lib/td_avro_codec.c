/* td_avro_codec: framing, the validation walk, encoding, the decoder. */
#include "td_avro.h"
#include "td_avro_private.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- framing */

int td_avro_frame_parse(const void *data, size_t len, uint64_t *ret_fingerprint, td_error *err)
{
    const unsigned char *p = data;
    uint64_t fp = 0;

    if (len >= 2 && (p[0] != TD_AVRO_MAGIC_0 || p[1] != TD_AVRO_MAGIC_1))
        return td_error_set(err, -EBADMSG,
                            "not Avro single-object encoding (first bytes %02x %02x)", p[0], p[1]);
    if (len == 1 && p[0] != TD_AVRO_MAGIC_0)
        return td_error_set(err, -EBADMSG, "not Avro single-object encoding (first byte %02x)",
                            p[0]);
    if (len < TD_AVRO_HEADER_LEN)
        return td_error_set(err, -EBADMSG,
                            "truncated: the single-object header takes %d bytes, got %zu",
                            TD_AVRO_HEADER_LEN, len);
    for (int i = 7; i >= 0; i--)
        fp = (fp << 8) | p[2 + i];
    *ret_fingerprint = fp;
    return 0;
}

/* ------------------------------------------------------------------ walk */

/* The walk: reads one body of a schema, checking every length, count and
 * index against the bytes that remain before anything is used. Without a
 * value it only validates and allocates nothing; with one (the decoder) it
 * also stores what it read, each item only after its checks passed, so that
 * nothing is ever sized by an unchecked number. Offsets in texts count from
 * the start of the frame (base). */
typedef struct td_walk {
    const unsigned char *p, *end;
    size_t base;        /* offset of the body in the frame */
    const unsigned char *body;
    size_t zero_items;  /* zero-size items accepted so far */
    td_avro_buf *scratch; /* NUL-terminated copies of strings (storing only) */
    int store_rc;       /* set when storing failed (out of memory) */
    td_avro_trail trail;
    char msg[256];
} td_walk;

__attribute__((format(printf, 2, 3)))
static int td_walk_fail(td_walk *w, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(w->msg, sizeof(w->msg), fmt, ap);
    va_end(ap);
    return -EBADMSG;
}

/* Avro C could not store a value: out of memory, in practice. */
static int td_walk_store_failed(td_walk *w, int rc)
{
    td_walk_fail(w, "cannot store the value: %s", avro_strerror());
    return w->store_rc = rc == ENOMEM ? -ENOMEM : -EINVAL;
}

static size_t td_walk_off(const td_walk *w, const unsigned char *at)
{
    return w->base + (size_t)(at - w->body);
}

/* A zig-zag varint of at most max_bytes (5 for int, 10 for long). */
static int td_walk_varint(td_walk *w, int max_bytes, const char *what, int64_t *ret)
{
    const unsigned char *start = w->p;
    uint64_t v = 0;
    int shift = 0;

    if (w->p < w->end && *w->p < 0x80) { /* the common case: one byte */
        v = *w->p++;
        *ret = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
        return 0;
    }
    for (int i = 0;; i++) {
        unsigned char b;
        if (i == max_bytes)
            return td_walk_fail(w, "over-long varint: %s at byte %zu has more than %d bytes",
                                what, td_walk_off(w, start), max_bytes);
        if (w->p == w->end)
            return td_walk_fail(w, "truncated: %s at byte %zu runs past the end", what,
                                td_walk_off(w, start));
        b = *w->p++;
        if (i == 9 && b > 1)
            return td_walk_fail(w, "over-long varint: %s at byte %zu overflows 64 bits", what,
                                td_walk_off(w, start));
        v |= (uint64_t)(b & 0x7F) << shift;
        shift += 7;
        if (!(b & 0x80))
            break;
    }
    if (max_bytes == 5 && v > UINT32_MAX)
        return td_walk_fail(w, "%s at byte %zu is out of range for int", what,
                            td_walk_off(w, start));
    *ret = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
    return 0;
}

/* A length (string, bytes, map key) that must fit in what remains. */
static int td_walk_length(td_walk *w, const char *what, size_t *ret)
{
    const unsigned char *start = w->p;
    int64_t len;
    int r;

    if ((r = td_walk_varint(w, 10, what, &len)) < 0)
        return r;
    if (len < 0)
        return td_walk_fail(w, "negative length: %s at byte %zu is %" PRId64, what,
                            td_walk_off(w, start), len);
    if ((uint64_t)len > (size_t)(w->end - w->p))
        return td_walk_fail(w, "truncated: %s at byte %zu is %" PRId64 " but %zu bytes remain",
                            what, td_walk_off(w, start), len, (size_t)(w->end - w->p));
    *ret = (size_t)len;
    return 0;
}

/* A string or map key: UTF-8 without NUL. With store, returns a
 * NUL-terminated copy in the scratch buffer (valid until the next text). */
static int td_walk_text(td_walk *w, const char *what, bool store, const char **ret,
                        size_t *ret_len)
{
    size_t len = 0, bad;
    int r;

    if ((r = td_walk_length(w, what, &len)) < 0)
        return r;
    bad = td_avro_utf8_bad(w->p, len);
    if (bad != len)
        return td_walk_fail(w, "%s at byte %zu: %s", what, td_walk_off(w, w->p + bad),
                            w->p[bad] == 0 ? "a NUL byte (not allowed in strings)"
                                           : "invalid UTF-8");
    if (store) {
        if (td_avro_buf_reserve(w->scratch, len + 1) < 0)
            return td_walk_store_failed(w, ENOMEM);
        memcpy(w->scratch->data, w->p, len);
        w->scratch->data[len] = '\0';
        *ret = (const char *)w->scratch->data;
        *ret_len = len;
    }
    w->p += len;
    return 0;
}

static int td_walk_node(td_walk *w, const td_avro_node *n, avro_value_t *v, int depth);

static int td_walk_blocks(td_walk *w, const td_avro_node *n, avro_value_t *v, int depth)
{
    bool is_map = n->type == TD_AVRO_MAP;
    const char *what = is_map ? "map block count" : "array block count";
    size_t item_min = n->items->min_size + (is_map ? 1 : 0);
    size_t index = 0;
    int r;

    for (;;) {
        const unsigned char *start = w->p, *block_end = NULL;
        int64_t count;
        size_t remaining;

        if ((r = td_walk_varint(w, 10, what, &count)) < 0)
            return r;
        if (count == 0)
            return 0;
        if (count < 0) { /* spec: a negative count is followed by the block's byte size */
            size_t size;
            if (count == INT64_MIN)
                return td_walk_fail(w, "%s at byte %zu is out of range", what,
                                    td_walk_off(w, start));
            count = -count;
            if ((r = td_walk_length(w, is_map ? "map block size" : "array block size", &size)) <
                0)
                return r;
            block_end = w->p + size;
        }
        remaining = (size_t)(w->end - w->p);
        if (item_min > 0) {
            if ((uint64_t)count > remaining / item_min)
                return td_walk_fail(w, "truncated: %s at byte %zu claims %" PRId64
                                    " items but %zu bytes remain",
                                    what, td_walk_off(w, start), count, remaining);
        } else {
            if ((uint64_t)count > TD_AVRO_MAX_ZERO_SIZE_ITEMS - w->zero_items)
                return td_walk_fail(w, "%s at byte %zu claims %" PRId64
                                    " items of zero size; at most %u are accepted",
                                    what, td_walk_off(w, start), count,
                                    TD_AVRO_MAX_ZERO_SIZE_ITEMS);
            w->zero_items += (size_t)count;
        }
        for (int64_t i = 0; i < count; i++, index++) {
            avro_value_t child;
            const char *key = NULL;
            size_t klen;
            if (is_map && (r = td_walk_text(w, "map key length", v != NULL, &key, &klen)) < 0)
                goto fail;
            if (v) {
                int rc = is_map ? avro_value_add(v, key, &child, NULL, NULL)
                                : avro_value_append(v, &child, NULL);
                if (rc != 0) {
                    r = td_walk_store_failed(w, rc);
                    goto fail;
                }
            }
            if ((r = td_walk_node(w, n->items, v ? &child : NULL, depth + 1)) < 0)
                goto fail;
        }
        if (block_end && w->p != block_end)
            return td_walk_fail(w, "%s at byte %zu: the block's byte size does not match its items",
                                what, td_walk_off(w, start));
    }
fail:
    td_avro_trail_index(&w->trail, index);
    return r;
}

static uint64_t td_le(const unsigned char *p, int n)
{
    uint64_t x = 0;

    for (int i = n - 1; i >= 0; i--)
        x = (x << 8) | p[i];
    return x;
}

static int td_walk_node(td_walk *w, const td_avro_node *n, avro_value_t *v, int depth)
{
    const unsigned char *start = w->p;
    const char *text = NULL;
    int64_t x;
    size_t len;
    int r, rc = 0;

    switch (n->type) {
    case TD_AVRO_NULL:
        if (v)
            rc = avro_value_set_null(v);
        break;
    case TD_AVRO_BOOLEAN:
        if (w->p == w->end)
            return td_walk_fail(w, "truncated: boolean at byte %zu", td_walk_off(w, start));
        if (*w->p > 1)
            return td_walk_fail(w, "boolean at byte %zu is %u, not 0 or 1", td_walk_off(w, start),
                                *w->p);
        if (v)
            rc = avro_value_set_boolean(v, *w->p);
        w->p++;
        break;
    case TD_AVRO_INT:
        if ((r = td_walk_varint(w, 5, "int", &x)) < 0)
            return r;
        if (v)
            rc = avro_value_set_int(v, (int32_t)x);
        break;
    case TD_AVRO_LONG:
        if ((r = td_walk_varint(w, 10, "long", &x)) < 0)
            return r;
        if (v)
            rc = avro_value_set_long(v, x);
        break;
    case TD_AVRO_FLOAT:
    case TD_AVRO_DOUBLE:
    case TD_AVRO_FIXED:
        len = n->type == TD_AVRO_FLOAT ? 4 : n->type == TD_AVRO_DOUBLE ? 8 : n->size;
        if ((size_t)(w->end - w->p) < len)
            return td_walk_fail(w, "truncated: %s of %zu bytes at byte %zu, %zu remain",
                                td_avro_type_name(n->type), len, td_walk_off(w, start),
                                (size_t)(w->end - w->p));
        if (v && n->type == TD_AVRO_FLOAT) {
            uint32_t bits = (uint32_t)td_le(w->p, 4);
            float f;
            memcpy(&f, &bits, sizeof(f));
            rc = avro_value_set_float(v, f);
        } else if (v && n->type == TD_AVRO_DOUBLE) {
            uint64_t bits = td_le(w->p, 8);
            double d;
            memcpy(&d, &bits, sizeof(d));
            rc = avro_value_set_double(v, d);
        } else if (v) {
            rc = avro_value_set_fixed(v, (void *)w->p, len);
        }
        w->p += len;
        break;
    case TD_AVRO_BYTES:
        if ((r = td_walk_length(w, "bytes length", &len)) < 0)
            return r;
        if (v)
            rc = avro_value_set_bytes(v, (void *)w->p, len);
        w->p += len;
        break;
    case TD_AVRO_STRING:
        if ((r = td_walk_text(w, "string length", v != NULL, &text, &len)) < 0)
            return r;
        if (v)
            rc = avro_value_set_string_len(v, text, len + 1);
        break;
    case TD_AVRO_ENUM:
        if ((r = td_walk_varint(w, 10, "enum index", &x)) < 0)
            return r;
        if (x < 0 || (uint64_t)x >= n->nsymbols)
            return td_walk_fail(w,
                                "enum index %" PRId64 " at byte %zu is out of range "
                                "(%s has %zu symbols)",
                                x, td_walk_off(w, start), n->fullname, n->nsymbols);
        if (v)
            rc = avro_value_set_enum(v, (int)x);
        break;
    case TD_AVRO_UNION: {
        avro_value_t branch;
        if (depth >= TD_AVRO_MAX_DEPTH)
            return td_walk_fail(w, "nested more than %d deep at byte %zu", TD_AVRO_MAX_DEPTH,
                                td_walk_off(w, start));
        if ((r = td_walk_varint(w, 10, "union index", &x)) < 0)
            return r;
        if (x < 0 || (uint64_t)x >= n->nbranches)
            return td_walk_fail(w,
                                "union index %" PRId64 " at byte %zu is out of range "
                                "(%zu branches)",
                                x, td_walk_off(w, start), n->nbranches);
        if (v && (rc = avro_value_set_branch(v, (int)x, &branch)) != 0)
            break;
        return td_walk_node(w, n->branches[x], v ? &branch : NULL, depth + 1);
    }
    case TD_AVRO_RECORD:
        if (depth >= TD_AVRO_MAX_DEPTH)
            return td_walk_fail(w, "nested more than %d deep at byte %zu", TD_AVRO_MAX_DEPTH,
                                td_walk_off(w, start));
        for (size_t i = 0; i < n->nfields; i++) {
            avro_value_t field;
            if (v && (rc = avro_value_get_by_index(v, i, &field, NULL)) != 0)
                break;
            if ((r = td_walk_node(w, n->fields[i].type, v ? &field : NULL, depth + 1)) < 0) {
                td_avro_trail_field(&w->trail, n->fields[i].name);
                return r;
            }
        }
        break;
    case TD_AVRO_ARRAY:
    case TD_AVRO_MAP:
        if (depth >= TD_AVRO_MAX_DEPTH)
            return td_walk_fail(w, "nested more than %d deep at byte %zu", TD_AVRO_MAX_DEPTH,
                                td_walk_off(w, start));
        return td_walk_blocks(w, n, v, depth);
    default:
        return td_walk_fail(w, "unknown node type");
    }
    return rc ? td_walk_store_failed(w, rc) : 0;
}

/* Walks body[0..len) (at offset base in its frame) as one value of s; with v
 * (reset first) stores it there, using scratch for strings. */
static int td_walk_body(const td_avro_schema *s, const unsigned char *body, size_t len,
                        size_t base, avro_value_t *v, td_avro_buf *scratch, td_error *err)
{
    td_walk w = {.p = body, .end = body + len, .base = base, .body = body, .scratch = scratch};
    const char *path;
    int r;

    td_avro_trail_init(&w.trail);
    if (v && (r = avro_value_reset(v)) != 0)
        return td_error_set(err, r == ENOMEM ? -ENOMEM : -EINVAL, "Avro C: %s", avro_strerror());
    r = td_walk_node(&w, s->root, v, 0);
    if (r == 0 && w.p != w.end)
        r = td_walk_fail(&w, "trailing bytes: %zu after the record, from byte %zu",
                         (size_t)(w.end - w.p), td_walk_off(&w, w.p));
    if (r == 0)
        return 0;
    path = td_avro_trail_str(&w.trail);
    if (*path)
        return td_error_set(err, r, "%s (in %s%s, schema %s)", w.msg,
                            s->root->name ? s->root->name : s->fullname, path, s->source);
    return td_error_set(err, r, "%s (schema %s)", w.msg, s->source);
}

int td_avro_validate(const td_avro_schema *writer, const void *body, size_t len, td_error *err)
{
    return td_walk_body(writer, body, len, 0, NULL, NULL, err);
}

/* ---------------------------------------------------------------- encode */

/* Finds why Avro C could not write v (only on the error path). */
static int td_encode_diagnose(const td_avro_node *n, const avro_value_t *v, td_avro_trail *t,
                              char *msg, size_t size, int depth)
{
    if (depth > TD_AVRO_MAX_DEPTH)
        return 0;
    switch (n->type) {
    case TD_AVRO_BYTES: {
        const void *p = NULL;
        size_t len = 0;
        if (avro_value_get_bytes(v, &p, &len) == 0 && !p) {
            snprintf(msg, size, "bytes never set (Avro C 1.11 cannot write that; set it, even "
                                "to empty)");
            return -EINVAL;
        }
        return 0;
    }
    case TD_AVRO_UNION: {
        int disc = -1;
        avro_value_t b;
        if (avro_value_get_discriminant(v, &disc) != 0 || disc < 0 ||
            (size_t)disc >= n->nbranches) {
            snprintf(msg, size, "the union has no branch selected");
            return -EINVAL;
        }
        if (avro_value_get_current_branch(v, &b) != 0)
            return 0;
        return td_encode_diagnose(n->branches[disc], &b, t, msg, size, depth + 1);
    }
    case TD_AVRO_RECORD:
        for (size_t i = 0; i < n->nfields; i++) {
            avro_value_t f;
            if (avro_value_get_by_index(v, i, &f, NULL) != 0)
                continue;
            if (td_encode_diagnose(n->fields[i].type, &f, t, msg, size, depth + 1) < 0) {
                td_avro_trail_field(t, n->fields[i].name);
                return -EINVAL;
            }
        }
        return 0;
    case TD_AVRO_ARRAY:
    case TD_AVRO_MAP: {
        size_t count = 0;
        avro_value_get_size(v, &count);
        for (size_t i = 0; i < count; i++) {
            avro_value_t item;
            if (avro_value_get_by_index(v, i, &item, NULL) != 0)
                continue;
            if (td_encode_diagnose(n->items, &item, t, msg, size, depth + 1) < 0) {
                td_avro_trail_index(t, i);
                return -EINVAL;
            }
        }
        return 0;
    }
    default:
        return 0;
    }
}

int td_avro_encode(const td_avro_schema *s, avro_value_t *value, td_avro_buf *out,
                   td_error *err)
{
    const char *name = s->root->name ? s->root->name : s->fullname;
    td_error walk_err = {0};
    size_t body_cap;
    int r;

    if (avro_value_get_schema(value) != s->avro &&
        !avro_schema_equal(avro_value_get_schema(value), s->avro))
        return td_error_set(err, -EINVAL, "%s: the value is not an instance of schema %s", name,
                            s->source);
    out->len = 0;
    if ((r = td_avro_buf_reserve(out, 256)) < 0)
        return td_error_set(err, r, "out of memory");
    if (!out->writer) {
        out->writer = avro_writer_memory((const char *)out->data, 0);
        if (!out->writer)
            return td_error_set(err, -ENOMEM, "out of memory");
    }
    for (int attempt = 0;; attempt++) {
        body_cap = out->cap - TD_AVRO_HEADER_LEN;
        avro_writer_memory_set_dest(out->writer, (const char *)out->data + TD_AVRO_HEADER_LEN,
                                    (int64_t)body_cap);
        r = avro_value_write(out->writer, value);
        if (r == 0)
            break;
        if (r == ENOSPC && attempt == 0) {
            size_t need = 0;
            if (avro_value_sizeof(value, &need) != 0)
                break;
            if (need > TD_AVRO_MAX_BODY)
                return td_error_set(err, -EMSGSIZE, "%s: a body of %zu bytes is larger than %zu",
                                    name, need, TD_AVRO_MAX_BODY);
            if ((r = td_avro_buf_reserve(out, TD_AVRO_HEADER_LEN + need)) < 0)
                return td_error_set(err, r, "out of memory");
            continue;
        }
        break;
    }
    if (r != 0) {
        td_avro_trail t;
        char msg[256];
        td_avro_trail_init(&t);
        snprintf(msg, sizeof(msg), "Avro C cannot write the value: %s", avro_strerror());
        td_encode_diagnose(s->root, value, &t, msg, sizeof(msg), 0);
        return td_error_set(err, -EINVAL, "%s%s: %s", name, td_avro_trail_str(&t), msg);
    }
    out->data[0] = TD_AVRO_MAGIC_0;
    out->data[1] = TD_AVRO_MAGIC_1;
    for (int i = 0; i < 8; i++)
        out->data[2 + i] = (unsigned char)(s->fingerprint >> (8 * i));
    out->len = TD_AVRO_HEADER_LEN + (size_t)avro_writer_tell(out->writer);
    /* never emit what a reader must refuse */
    r = td_walk_body(s, out->data + TD_AVRO_HEADER_LEN, out->len - TD_AVRO_HEADER_LEN,
                     TD_AVRO_HEADER_LEN, NULL, NULL, &walk_err);
    if (r < 0) {
        out->len = 0;
        return td_error_set(err, -EINVAL, "cannot encode: %s", walk_err.msg);
    }
    return 0;
}

/* ---------------------------------------------------------------- decoder */

typedef struct td_writer_entry {
    uint64_t fingerprint;
    const td_avro_schema *writer;
    td_avro_planset *plan; /* NULL: incompatible, see why */
    avro_value_t value;    /* a value of the writer schema, reused */
    bool has_value;
    int rc;
    char *why;
} td_writer_entry;

struct td_avro_decoder {
    const td_avro_registry *reg;
    const td_avro_schema *reader;
    avro_value_t value;
    bool has_value;
    td_avro_buf scratch;   /* NUL-terminated copies of strings */
    td_writer_entry *entries;
    size_t nentries, capentries;
    const td_avro_schema *last_writer;
};

int td_avro_decoder_new(const td_avro_registry *reg, const td_avro_schema *reader,
                        td_avro_decoder **ret, td_error *err)
{
    td_avro_decoder *d = calloc(1, sizeof(*d));
    int r;

    if (!d)
        return td_error_set(err, -ENOMEM, "out of memory");
    d->reg = reg;
    d->reader = reader;
    if ((r = td_avro_schema_value_new(reader, &d->value, err)) < 0)
        goto fail;
    d->has_value = true;
    *ret = d;
    return 0;
fail:
    td_avro_decoder_free(d);
    return r;
}

td_avro_decoder *td_avro_decoder_free(td_avro_decoder *d)
{
    if (!d)
        return NULL;
    for (size_t i = 0; i < d->nentries; i++) {
        td_writer_entry *e = &d->entries[i];
        if (e->has_value)
            avro_value_decref(&e->value);
        td_avro_planset_free(e->plan);
        free(e->why);
    }
    free(d->entries);
    td_avro_buf_done(&d->scratch);
    if (d->has_value)
        avro_value_decref(&d->value);
    free(d);
    return NULL;
}

/* The cache entry for fp, made on first sight. NULL with err when fp is not
 * in the registry or on allocation failure. */
static td_writer_entry *td_decoder_entry(td_avro_decoder *d, uint64_t fp, int *ret_rc,
                                         td_error *err)
{
    const td_avro_schema *w;
    td_writer_entry *e;
    td_error why = {0};

    for (size_t i = 0; i < d->nentries; i++)
        if (d->entries[i].fingerprint == fp)
            return &d->entries[i];
    w = td_avro_registry_find(d->reg, fp);
    if (!w) {
        *ret_rc = td_error_set(err, -ENOENT,
                               "unknown schema fingerprint 0x%016" PRIx64 " (not in the registry)",
                               fp);
        return NULL;
    }
    if (d->nentries == d->capentries) {
        size_t cap = d->capentries ? d->capentries * 2 : 4;
        td_writer_entry *ne = realloc(d->entries, cap * sizeof(*ne));
        if (!ne) {
            *ret_rc = td_error_set(err, -ENOMEM, "out of memory");
            return NULL;
        }
        d->entries = ne;
        d->capentries = cap;
    }
    e = &d->entries[d->nentries];
    memset(e, 0, sizeof(*e));
    e->fingerprint = fp;
    e->writer = w;
    e->rc = td_avro_planset_build(d->reader, w, &e->plan, &why);
    if (e->rc == -ENOMEM) {
        *ret_rc = td_error_set(err, -ENOMEM, "out of memory");
        return NULL;
    }
    if (e->rc == 0) {
        if (td_avro_schema_value_new(w, &e->value, err) < 0) {
            td_avro_planset_free(e->plan);
            *ret_rc = -ENOMEM;
            return NULL;
        }
        e->has_value = true;
    } else {
        e->why = strdup(why.msg);
        if (!e->why) {
            *ret_rc = td_error_set(err, -ENOMEM, "out of memory");
            return NULL;
        }
    }
    d->nentries++;
    return e;
}

int td_avro_decode(td_avro_decoder *d, const void *data, size_t len, avro_value_t **ret_value,
                   td_error *err)
{
    const unsigned char *body = (const unsigned char *)data + TD_AVRO_HEADER_LEN;
    const td_avro_schema *w;
    td_writer_entry *e = NULL;
    uint64_t fp = 0;
    size_t blen;
    int r;

    if ((r = td_avro_frame_parse(data, len, &fp, err)) < 0)
        return r;
    blen = len - TD_AVRO_HEADER_LEN;
    if (fp == d->reader->fingerprint) {
        w = d->reader;
    } else {
        e = td_decoder_entry(d, fp, &r, err);
        if (!e)
            return r;
        w = e->writer;
        if (!e->plan)
            return td_error_set(err, e->rc,
                                "records written with %s (0x%016" PRIx64 ") cannot be read "
                                "as %s: %s",
                                w->source, fp, d->reader->source, e->why);
    }
    /* the walk validates and stores in one pass: the reader's value when the
     * writer is the reader, else the writer's value, then resolved */
    if ((r = td_walk_body(w, body, blen, TD_AVRO_HEADER_LEN, e ? &e->value : &d->value,
                          &d->scratch, err)) < 0)
        return r;
    if (e) {
        if ((r = avro_value_reset(&d->value)) != 0)
            return td_error_set(err, -ENOMEM, "Avro C: %s", avro_strerror());
        if ((r = td_avro_planset_apply(e->plan, &e->value, &d->value, err)) < 0)
            return r;
    }
    d->last_writer = w;
    *ret_value = &d->value;
    return 0;
}

const td_avro_schema *td_avro_decoder_writer(const td_avro_decoder *d)
{
    return d->last_writer;
}
