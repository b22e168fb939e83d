#include "td_avro_canon.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TD_AVRO_CRC64_EMPTY UINT64_C(0xc15d213aa4d7a795)

uint64_t td_avro_crc64(const void *buf, size_t len)
{
    static uint64_t table[256];
    static bool ready;
    const unsigned char *p = buf;
    uint64_t fp = TD_AVRO_CRC64_EMPTY;

    if (!ready) { /* idempotent: racing threads write the same values */
        for (int i = 0; i < 256; i++) {
            uint64_t f = (uint64_t)i;
            for (int j = 0; j < 8; j++)
                f = (f >> 1) ^ (TD_AVRO_CRC64_EMPTY & (0 - (f & 1)));
            table[i] = f;
        }
        ready = true;
    }
    for (size_t i = 0; i < len; i++)
        fp = (fp >> 8) ^ table[(fp ^ p[i]) & 0xff];
    return fp;
}

/* A growing output buffer. */
typedef struct td_canon_buf {
    char *s;
    size_t len, cap;
    bool oom;
} td_canon_buf;

static void td_canon_put(td_canon_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        char *ns;
        while (b->len + n + 1 > cap)
            cap *= 2;
        ns = realloc(b->s, cap);
        if (!ns) {
            b->oom = true;
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void td_canon_puts(td_canon_buf *b, const char *s)
{
    td_canon_put(b, s, strlen(s));
}

/* A JSON string literal: UTF-8 as is, only the escapes JSON requires. */
static void td_canon_quote(td_canon_buf *b, const char *s)
{
    td_canon_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            td_canon_put(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            td_canon_put(b, esc, 6);
        } else {
            td_canon_put(b, s, 1);
        }
    }
    td_canon_put(b, "\"", 1);
}

/* Fullnames already written: a second occurrence is written as its name. */
typedef struct td_canon_ctx {
    td_canon_buf out;
    char **seen;
    size_t nseen, capseen;
    td_error *err;
    int rc;
} td_canon_ctx;

static bool td_canon_is_primitive(const char *t)
{
    static const char *const prim[] = {"null", "boolean", "int", "long", "float",
                                       "double", "bytes", "string", NULL};
    for (int i = 0; prim[i]; i++)
        if (strcmp(t, prim[i]) == 0)
            return true;
    return false;
}

__attribute__((format(printf, 3, 4)))
static int td_canon_fail(td_canon_ctx *c, const td_json *at, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    if (c->rc)
        return c->rc;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->rc = td_error_set(c->err, -EINVAL, "%d:%d: %s", at ? at->line : 0,
                         at ? at->col : 0, msg);
    return c->rc;
}

/* fullname of name in namespace ns (either may be NULL or ""). malloc'd. */
static char *td_canon_fullname(const char *name, const char *ns)
{
    char *full;
    size_t n;

    if (strchr(name, '.') || !ns || !*ns)
        return strdup(name);
    n = strlen(ns) + 1 + strlen(name) + 1;
    full = malloc(n);
    if (full)
        snprintf(full, n, "%s.%s", ns, name);
    return full;
}

static bool td_canon_seen(td_canon_ctx *c, const char *full)
{
    for (size_t i = 0; i < c->nseen; i++)
        if (strcmp(c->seen[i], full) == 0)
            return true;
    return false;
}

static int td_canon_remember(td_canon_ctx *c, char *full)
{
    if (c->nseen == c->capseen) {
        size_t cap = c->capseen ? c->capseen * 2 : 8;
        char **ns = realloc(c->seen, cap * sizeof(*ns));
        if (!ns)
            return -ENOMEM;
        c->seen = ns;
        c->capseen = cap;
    }
    c->seen[c->nseen++] = full;
    return 0;
}

static int td_canon_walk(td_canon_ctx *c, const td_json *s, const char *ns, int depth);

static int td_canon_named(td_canon_ctx *c, const td_json *s, const char *type,
                          const char *ns, int depth)
{
    const char *name = td_json_get_string(s, "name");
    const char *own_ns = td_json_get_string(s, "namespace");
    const char *dot;
    char *full, *inner_ns = NULL;
    int r = 0;

    if (!name || !*name)
        return td_canon_fail(c, s, "%s without a name", type);
    if (own_ns == NULL)
        own_ns = ns;
    full = td_canon_fullname(name, own_ns);
    if (!full)
        return c->rc = -ENOMEM;
    if (td_canon_seen(c, full)) {
        /* [FULLNAMES] a type defined earlier is referred to by name */
        td_canon_quote(&c->out, full);
        free(full);
        return 0;
    }
    if (td_canon_remember(c, full) < 0) {
        free(full);
        return c->rc = -ENOMEM;
    }
    /* Nested names resolve in this type's namespace. */
    dot = strrchr(full, '.');
    if (dot) {
        inner_ns = strndup(full, (size_t)(dot - full));
        if (!inner_ns)
            return c->rc = -ENOMEM;
    }

    td_canon_puts(&c->out, "{\"name\":");
    td_canon_quote(&c->out, full);
    td_canon_puts(&c->out, ",\"type\":");
    td_canon_quote(&c->out, type);
    if (strcmp(type, "record") == 0 || strcmp(type, "error") == 0) {
        const td_json *fields = td_json_get(s, "fields");
        if (!fields || fields->type != TD_JSON_ARRAY) {
            r = td_canon_fail(c, s, "record %s needs a \"fields\" array", full);
            goto out;
        }
        td_canon_puts(&c->out, ",\"fields\":[");
        for (size_t i = 0; i < fields->len; i++) {
            const td_json *f = fields->items[i];
            const char *fname = td_json_get_string(f, "name");
            const td_json *ftype = td_json_get(f, "type");
            if (!fname || !ftype) {
                r = td_canon_fail(c, f, "field of %s needs a \"name\" and a \"type\"", full);
                goto out;
            }
            td_canon_puts(&c->out, i ? ",{\"name\":" : "{\"name\":");
            td_canon_quote(&c->out, fname);
            td_canon_puts(&c->out, ",\"type\":");
            if ((r = td_canon_walk(c, ftype, inner_ns, depth + 1)) < 0)
                goto out;
            td_canon_puts(&c->out, "}");
        }
        td_canon_puts(&c->out, "]");
    } else if (strcmp(type, "enum") == 0) {
        const td_json *syms = td_json_get(s, "symbols");
        if (!syms || syms->type != TD_JSON_ARRAY) {
            r = td_canon_fail(c, s, "enum %s needs a \"symbols\" array", full);
            goto out;
        }
        td_canon_puts(&c->out, ",\"symbols\":[");
        for (size_t i = 0; i < syms->len; i++) {
            if (syms->items[i]->type != TD_JSON_STRING) {
                r = td_canon_fail(c, syms->items[i], "enum symbol must be a string");
                goto out;
            }
            if (i)
                td_canon_puts(&c->out, ",");
            td_canon_quote(&c->out, syms->items[i]->text);
        }
        td_canon_puts(&c->out, "]");
    } else { /* fixed */
        const td_json *size = td_json_get(s, "size");
        char num[32];
        if (!size || size->type != TD_JSON_NUMBER || !size->is_integer || size->integer < 0) {
            r = td_canon_fail(c, s, "fixed %s needs a non-negative integer \"size\"", full);
            goto out;
        }
        snprintf(num, sizeof(num), "%lld", (long long)size->integer);
        td_canon_puts(&c->out, ",\"size\":");
        td_canon_puts(&c->out, num);
    }
    td_canon_puts(&c->out, "}");
out:
    free(inner_ns);
    return r;
}

static int td_canon_walk(td_canon_ctx *c, const td_json *s, const char *ns, int depth)
{
    const td_json *t;
    const char *type;

    if (depth > TD_JSON_MAX_DEPTH)
        return td_canon_fail(c, s, "schema nested too deeply");
    switch (s->type) {
    case TD_JSON_STRING:
        if (td_canon_is_primitive(s->text)) {
            td_canon_quote(&c->out, s->text);
        } else {
            char *full = td_canon_fullname(s->text, ns);
            if (!full)
                return c->rc = -ENOMEM;
            if (!td_canon_seen(c, full)) {
                td_canon_fail(c, s, "unknown type \"%s\"", full);
                free(full);
                return c->rc;
            }
            td_canon_quote(&c->out, full);
            free(full);
        }
        return 0;
    case TD_JSON_ARRAY: /* a union */
        td_canon_puts(&c->out, "[");
        for (size_t i = 0; i < s->len; i++) {
            if (i)
                td_canon_puts(&c->out, ",");
            if (td_canon_walk(c, s->items[i], ns, depth + 1) < 0)
                return c->rc;
        }
        td_canon_puts(&c->out, "]");
        return 0;
    case TD_JSON_OBJECT:
        break;
    default:
        return td_canon_fail(c, s, "a schema is a string, an array or an object, not a %s",
                             td_json_type_name(s->type));
    }

    t = td_json_get(s, "type");
    if (!t)
        return td_canon_fail(c, s, "schema object without \"type\"");
    if (t->type != TD_JSON_STRING) /* {"type": {...}}: the inner schema */
        return td_canon_walk(c, t, ns, depth + 1);
    type = t->text;
    if (td_canon_is_primitive(type)) {
        td_canon_quote(&c->out, type); /* [PRIMITIVES], logicalType stripped */
        return 0;
    }
    if (strcmp(type, "record") == 0 || strcmp(type, "error") == 0 ||
        strcmp(type, "enum") == 0 || strcmp(type, "fixed") == 0)
        return td_canon_named(c, s, type, ns, depth);
    if (strcmp(type, "array") == 0) {
        const td_json *items = td_json_get(s, "items");
        if (!items)
            return td_canon_fail(c, s, "array without \"items\"");
        td_canon_puts(&c->out, "{\"type\":\"array\",\"items\":");
        if (td_canon_walk(c, items, ns, depth + 1) < 0)
            return c->rc;
        td_canon_puts(&c->out, "}");
        return 0;
    }
    if (strcmp(type, "map") == 0) {
        const td_json *values = td_json_get(s, "values");
        if (!values)
            return td_canon_fail(c, s, "map without \"values\"");
        td_canon_puts(&c->out, "{\"type\":\"map\",\"values\":");
        if (td_canon_walk(c, values, ns, depth + 1) < 0)
            return c->rc;
        td_canon_puts(&c->out, "}");
        return 0;
    }
    /* {"type":"Name"}: a reference to a named type */
    return td_canon_walk(c, t, ns, depth + 1);
}

int td_avro_canonical(const td_json *schema, char **ret, td_error *err)
{
    td_canon_ctx c = {.err = err};
    int r;

    r = td_canon_walk(&c, schema, NULL, 0);
    if (r == 0 && c.out.oom)
        r = td_error_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < c.nseen; i++)
        free(c.seen[i]);
    free(c.seen);
    if (r < 0) {
        free(c.out.s);
        return r;
    }
    *ret = c.out.s;
    return 0;
}

int td_avro_fingerprint_text(const char *name, const char *text, size_t len,
                             uint64_t *ret_fingerprint, char **ret_canonical,
                             td_error *err)
{
    td_json *j = NULL;
    char *canon = NULL;
    td_error inner = {0};
    int r;

    r = td_json_parse(name, text, len, &j, err);
    if (r < 0)
        return r;
    r = td_avro_canonical(j, &canon, &inner);
    td_json_free(j);
    if (r < 0)
        return td_error_set(err, r, "%s:%s", name ? name : "<schema>", inner.msg);
    *ret_fingerprint = td_avro_crc64(canon, strlen(canon));
    if (ret_canonical)
        *ret_canonical = canon;
    else
        free(canon);
    return 0;
}
