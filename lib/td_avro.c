/* td_avro: buffers, schemas (compiled node trees), the registry. */
#include "td_avro.h"
#include "td_avro_canon.h"
#include "td_avro_private.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- buffers */

int td_avro_buf_reserve(td_avro_buf *b, size_t n)
{
    size_t cap;
    unsigned char *nd;

    if (n <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < n) {
        if (cap > SIZE_MAX / 2)
            return -ENOMEM;
        cap *= 2;
    }
    nd = realloc(b->data, cap);
    if (!nd)
        return -ENOMEM;
    b->data = nd;
    b->cap = cap;
    return 0;
}

void td_avro_buf_done(td_avro_buf *b)
{
    if (!b)
        return;
    if (b->writer)
        avro_writer_free(b->writer);
    free(b->data);
    *b = (td_avro_buf)TD_AVRO_BUF_INIT;
}

/* ------------------------------------------------------------ small tools */

void td_avro_trail_init(td_avro_trail *t)
{
    t->pos = sizeof(t->buf) - 1;
    t->buf[t->pos] = '\0';
    t->cut = false;
}

static void td_avro_trail_prepend(td_avro_trail *t, const char *seg, size_t n)
{
    if (t->cut)
        return;
    if (n > t->pos) {
        t->cut = true;
        return;
    }
    t->pos -= n;
    memcpy(t->buf + t->pos, seg, n);
}

void td_avro_trail_field(td_avro_trail *t, const char *name)
{
    td_avro_trail_prepend(t, name, strlen(name));
    td_avro_trail_prepend(t, ".", 1);
}

void td_avro_trail_index(td_avro_trail *t, size_t i)
{
    char seg[32];
    int n = snprintf(seg, sizeof(seg), "[%zu]", i);
    td_avro_trail_prepend(t, seg, (size_t)n);
}

void td_avro_trail_key(td_avro_trail *t, const char *key)
{
    /* keys are data: only their position is named, never their text */
    (void)key;
    td_avro_trail_prepend(t, "[key]", 5);
}

const char *td_avro_trail_str(td_avro_trail *t)
{
    if (t->cut && t->pos >= 3) {
        t->pos -= 3;
        memcpy(t->buf + t->pos, "...", 3);
        t->cut = false;
    }
    return t->buf + t->pos;
}

const char *td_avro_type_name(td_avro_type t)
{
    static const char *const names[] = {
        [TD_AVRO_NULL] = "null",     [TD_AVRO_BOOLEAN] = "boolean", [TD_AVRO_INT] = "int",
        [TD_AVRO_LONG] = "long",     [TD_AVRO_FLOAT] = "float",     [TD_AVRO_DOUBLE] = "double",
        [TD_AVRO_BYTES] = "bytes",   [TD_AVRO_STRING] = "string",   [TD_AVRO_RECORD] = "record",
        [TD_AVRO_ENUM] = "enum",     [TD_AVRO_ARRAY] = "array",     [TD_AVRO_MAP] = "map",
        [TD_AVRO_UNION] = "union",   [TD_AVRO_FIXED] = "fixed",
    };
    return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

const char *td_avro_node_describe(const td_avro_node *n, char *buf, size_t size)
{
    if (n->fullname)
        snprintf(buf, size, "%s %s", td_avro_type_name(n->type), n->fullname);
    else if (n->logical_name)
        snprintf(buf, size, "%s (%s)", td_avro_type_name(n->type), n->logical_name);
    else
        snprintf(buf, size, "%s", td_avro_type_name(n->type));
    return buf;
}

size_t td_avro_utf8_bad(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        unsigned c = s[i];
        size_t n;
        uint32_t cp, min;

        if (c >= 0x01 && c < 0x80) {
            i++;
            continue;
        }
        if (c == 0)
            return i;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1, cp = c & 0x1F, min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2, cp = c & 0x0F, min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return i;
        }
        if (len - i - 1 < n)
            return i;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += n + 1;
    }
    return len;
}

/* ---------------------------------------------------------------- schemas */

static const struct {
    const char *name;
    td_avro_type type;
} td_avro_primitives[] = {
    {"null", TD_AVRO_NULL},   {"boolean", TD_AVRO_BOOLEAN}, {"int", TD_AVRO_INT},
    {"long", TD_AVRO_LONG},   {"float", TD_AVRO_FLOAT},     {"double", TD_AVRO_DOUBLE},
    {"bytes", TD_AVRO_BYTES}, {"string", TD_AVRO_STRING},
};

static int td_avro_primitive(const char *name)
{
    for (size_t i = 0; i < sizeof(td_avro_primitives) / sizeof(td_avro_primitives[0]); i++)
        if (strcmp(name, td_avro_primitives[i].name) == 0)
            return (int)td_avro_primitives[i].type;
    return -1;
}

/* [A-Za-z_][A-Za-z0-9_]* */
static bool td_avro_valid_name(const char *s, size_t n)
{
    if (n == 0 || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    }
    return true;
}

static bool td_avro_valid_fullname(const char *s)
{
    const char *dot;

    while ((dot = strchr(s, '.'))) {
        if (!td_avro_valid_name(s, (size_t)(dot - s)))
            return false;
        s = dot + 1;
    }
    return td_avro_valid_name(s, strlen(s));
}

typedef struct td_compile {
    td_avro_schema *s;
    td_error *err;
    int rc;
    td_avro_node **named;
    size_t nnamed, capnamed;
} td_compile;

__attribute__((format(printf, 3, 4)))
static int td_compile_fail(td_compile *c, const td_json *at, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    if (c->rc)
        return c->rc;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->rc = td_error_set(c->err, -EINVAL, "%s:%d:%d: %s", c->s->source, at ? at->line : 0,
                         at ? at->col : 0, msg);
    return c->rc;
}

static int td_compile_oom(td_compile *c)
{
    if (!c->rc)
        c->rc = td_error_set(c->err, -ENOMEM, "%s: out of memory", c->s->source);
    return c->rc;
}

static int td_push_ptr(void ***arr, size_t *n, size_t *cap, void *p)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        void **na = realloc(*arr, ncap * sizeof(*na));
        if (!na)
            return -ENOMEM;
        *arr = na;
        *cap = ncap;
    }
    (*arr)[(*n)++] = p;
    return 0;
}

/* Zeroed memory that lives as long as the schema. */
static void *td_compile_alloc(td_compile *c, size_t n, size_t size)
{
    void *p;

    if (n == 0)
        n = 1;
    p = calloc(n, size);
    if (!p || td_push_ptr(&c->s->allocs, &c->s->nallocs, &c->s->capallocs, p) < 0) {
        free(p);
        td_compile_oom(c);
        return NULL;
    }
    return p;
}

static char *td_compile_strdup(td_compile *c, const char *a, const char *b)
{
    size_t la = strlen(a), lb = b ? strlen(b) : 0;
    char *s = td_compile_alloc(c, la + lb + 2, 1);

    if (!s)
        return NULL;
    memcpy(s, a, la);
    if (b) {
        s[la] = '.';
        memcpy(s + la + 1, b, lb);
    }
    return s;
}

#define TD_MIN_UNKNOWN SIZE_MAX
#define TD_MIN_COMPUTING (SIZE_MAX - 1)

static td_avro_node *td_node_new(td_compile *c, td_avro_type t)
{
    td_avro_node *n = calloc(1, sizeof(*n));

    if (!n || td_push_ptr((void ***)&c->s->nodes, &c->s->nnodes, &c->s->capnodes, n) < 0) {
        free(n);
        td_compile_oom(c);
        return NULL;
    }
    n->type = t;
    n->enum_default = -1;
    n->min_size = TD_MIN_UNKNOWN;
    return n;
}

static td_avro_node *td_named_find(td_compile *c, const char *full)
{
    for (size_t i = 0; i < c->nnamed; i++)
        if (strcmp(c->named[i]->fullname, full) == 0)
            return c->named[i];
    return NULL;
}

/* The fullname of name seen in namespace ns (the spec's rule, as in
 * td_avro_canon). Lives as long as the schema. */
static char *td_compile_fullname(td_compile *c, const char *name, const char *ns)
{
    if (strchr(name, '.') || !ns || !*ns)
        return td_compile_strdup(c, name, NULL);
    return td_compile_strdup(c, ns, name);
}

static td_avro_node *td_compile_node(td_compile *c, const td_json *j, const char *ns, int depth);

static td_avro_node *td_compile_ref(td_compile *c, const td_json *at, const char *name,
                                    const char *ns)
{
    int prim = td_avro_primitive(name);
    td_avro_node *n;
    char *full;

    if (prim >= 0)
        return td_node_new(c, (td_avro_type)prim);
    full = td_compile_fullname(c, name, ns);
    if (!full)
        return NULL;
    n = td_named_find(c, full);
    if (!n)
        td_compile_fail(c, at, "unknown type \"%s\"", full);
    return n;
}

static int td_compile_aliases(td_compile *c, const td_json *j, const char *const **ret,
                              size_t *ret_n)
{
    const td_json *a = td_json_get(j, "aliases");
    const char **list;

    if (!a)
        return 0;
    if (a->type != TD_JSON_ARRAY)
        return td_compile_fail(c, a, "\"aliases\" must be an array of names");
    list = td_compile_alloc(c, a->len, sizeof(*list));
    if (!list)
        return c->rc;
    for (size_t i = 0; i < a->len; i++) {
        if (a->items[i]->type != TD_JSON_STRING || !td_avro_valid_fullname(a->items[i]->text))
            return td_compile_fail(c, a->items[i], "an alias must be a name");
        list[i] = a->items[i]->text;
    }
    *ret = list;
    *ret_n = a->len;
    return 0;
}

static int td_compile_record(td_compile *c, td_avro_node *n, const td_json *j,
                             const char *inner_ns, int depth)
{
    const td_json *fields = td_json_get(j, "fields");
    td_avro_field *f;

    if (!fields || fields->type != TD_JSON_ARRAY)
        return td_compile_fail(c, j, "record %s needs a \"fields\" array", n->fullname);
    f = td_compile_alloc(c, fields->len, sizeof(*f));
    if (!f)
        return c->rc;
    n->fields = f;
    for (size_t i = 0; i < fields->len; i++) {
        const td_json *fj = fields->items[i];
        const td_json *doc;
        const char *fname = td_json_get_string(fj, "name");
        const td_json *ftype = td_json_get(fj, "type");

        if (fj->type != TD_JSON_OBJECT || !fname || !ftype)
            return td_compile_fail(c, fj, "field of %s needs a \"name\" and a \"type\"",
                                   n->fullname);
        if (!td_avro_valid_name(fname, strlen(fname)))
            return td_compile_fail(c, fj, "field name \"%s\" of %s is not a valid name", fname,
                                   n->fullname);
        for (size_t k = 0; k < i; k++)
            if (strcmp(f[k].name, fname) == 0)
                return td_compile_fail(c, fj, "record %s has two fields named %s",
                                       n->fullname, fname);
        f[i].name = fname;
        f[i].def = td_json_get(fj, "default");
        doc = td_json_get(fj, "doc");
        f[i].doc = doc && doc->type == TD_JSON_STRING ? doc->text : NULL;
        if (td_compile_aliases(c, fj, &f[i].aliases, &f[i].naliases) < 0)
            return c->rc;
        f[i].type = td_compile_node(c, ftype, inner_ns, depth + 1);
        if (!f[i].type)
            return c->rc;
        n->nfields = i + 1;
    }
    return 0;
}

static int td_compile_enum(td_compile *c, td_avro_node *n, const td_json *j)
{
    const td_json *syms = td_json_get(j, "symbols");
    const td_json *def = td_json_get(j, "default");
    const char **list;

    if (!syms || syms->type != TD_JSON_ARRAY || syms->len == 0)
        return td_compile_fail(c, j, "enum %s needs a non-empty \"symbols\" array", n->fullname);
    list = td_compile_alloc(c, syms->len, sizeof(*list));
    if (!list)
        return c->rc;
    for (size_t i = 0; i < syms->len; i++) {
        const td_json *sj = syms->items[i];
        if (sj->type != TD_JSON_STRING || !td_avro_valid_name(sj->text, sj->len))
            return td_compile_fail(c, sj, "enum %s: a symbol must be a name", n->fullname);
        for (size_t k = 0; k < i; k++)
            if (strcmp(list[k], sj->text) == 0)
                return td_compile_fail(c, sj, "enum %s has the symbol %s twice", n->fullname,
                                       sj->text);
        list[i] = sj->text;
    }
    n->symbols = list;
    n->nsymbols = syms->len;
    if (def) {
        if (def->type != TD_JSON_STRING)
            return td_compile_fail(c, def, "enum %s: \"default\" must be a symbol", n->fullname);
        for (size_t i = 0; i < n->nsymbols; i++)
            if (strcmp(list[i], def->text) == 0)
                n->enum_default = (int)i;
        if (n->enum_default < 0)
            return td_compile_fail(c, def, "enum %s: default \"%s\" is not one of its symbols",
                                   n->fullname, def->text);
    }
    return 0;
}

static td_avro_node *td_compile_named(td_compile *c, const td_json *j, td_avro_type type,
                                      const char *ns, int depth)
{
    const char *name = td_json_get_string(j, "name");
    const td_json *nsj = td_json_get(j, "namespace");
    const char *own_ns = ns, *dot;
    char *full, *inner_ns;
    td_avro_node *n;

    if (!name)
        return td_compile_fail(c, j, "%s without a name", td_avro_type_name(type)), NULL;
    if (nsj) {
        if (nsj->type != TD_JSON_STRING || (*nsj->text && !td_avro_valid_fullname(nsj->text)))
            return td_compile_fail(c, nsj, "\"namespace\" must be a dotted name"), NULL;
        own_ns = nsj->text;
    }
    full = td_compile_fullname(c, name, own_ns);
    if (!full)
        return NULL;
    if (!td_avro_valid_fullname(full))
        return td_compile_fail(c, j, "\"%s\" is not a valid name", full), NULL;
    dot = strrchr(full, '.');
    if (td_avro_primitive(dot ? dot + 1 : full) >= 0)
        return td_compile_fail(c, j, "a named type cannot be called %s", full), NULL;
    if (td_named_find(c, full))
        return td_compile_fail(c, j, "type %s is defined twice", full), NULL;
    n = td_node_new(c, type);
    if (!n)
        return NULL;
    n->fullname = full;
    n->name = dot ? dot + 1 : full;
    if (td_push_ptr((void ***)&c->named, &c->nnamed, &c->capnamed, n) < 0)
        return td_compile_oom(c), NULL;
    if (td_compile_aliases(c, j, &n->aliases, &n->naliases) < 0)
        return NULL;
    inner_ns = td_compile_strdup(c, full, NULL);
    if (!inner_ns)
        return NULL;
    if (dot)
        inner_ns[dot - full] = '\0';
    else
        inner_ns[0] = '\0';

    if (type == TD_AVRO_RECORD) {
        if (td_compile_record(c, n, j, inner_ns, depth) < 0)
            return NULL;
    } else if (type == TD_AVRO_ENUM) {
        if (td_compile_enum(c, n, j) < 0)
            return NULL;
    } else {
        const td_json *size = td_json_get(j, "size");
        if (!size || size->type != TD_JSON_NUMBER || !size->is_integer || size->integer < 1 ||
            size->integer > INT32_MAX)
            return td_compile_fail(c, j, "fixed %s needs an integer \"size\" from 1 to %d "
                                   "(Avro C 1.11 cannot read size 0)", full, INT32_MAX), NULL;
        n->size = (size_t)size->integer;
    }
    return n;
}

static td_avro_node *td_compile_union(td_compile *c, const td_json *j, const char *ns, int depth)
{
    td_avro_node *n = td_node_new(c, TD_AVRO_UNION);
    const td_avro_node **br;

    if (!n)
        return NULL;
    if (j->len == 0)
        return td_compile_fail(c, j, "a union needs at least one branch"), NULL;
    br = td_compile_alloc(c, j->len, sizeof(*br));
    if (!br)
        return NULL;
    n->branches = br;
    for (size_t i = 0; i < j->len; i++) {
        const td_avro_node *b;
        if (j->items[i]->type == TD_JSON_ARRAY)
            return td_compile_fail(c, j->items[i], "a union cannot contain a union"), NULL;
        b = td_compile_node(c, j->items[i], ns, depth + 1);
        if (!b)
            return NULL;
        for (size_t k = 0; k < i; k++) {
            if (br[k]->type != b->type)
                continue;
            if (!b->fullname || strcmp(b->fullname, br[k]->fullname) == 0) {
                char d[256];
                return td_compile_fail(c, j->items[i], "a union has two branches of type %s",
                                       td_avro_node_describe(b, d, sizeof(d))), NULL;
            }
        }
        br[i] = b;
        n->nbranches = i + 1;
    }
    return n;
}

static td_avro_node *td_compile_node(td_compile *c, const td_json *j, const char *ns, int depth)
{
    const td_json *t, *lt;
    const char *type;
    td_avro_node *n;
    int prim;

    if (depth > TD_JSON_MAX_DEPTH)
        return td_compile_fail(c, j, "schema nested too deeply"), NULL;
    switch (j->type) {
    case TD_JSON_STRING:
        return td_compile_ref(c, j, j->text, ns);
    case TD_JSON_ARRAY:
        return td_compile_union(c, j, ns, depth);
    case TD_JSON_OBJECT:
        break;
    default:
        return td_compile_fail(c, j, "a schema is a string, an array or an object, not a %s",
                               td_json_type_name(j->type)), NULL;
    }
    t = td_json_get(j, "type");
    if (!t)
        return td_compile_fail(c, j, "schema object without \"type\""), NULL;
    if (t->type != TD_JSON_STRING)
        return td_compile_node(c, t, ns, depth + 1);
    type = t->text;
    prim = td_avro_primitive(type);
    if (prim >= 0) {
        n = td_node_new(c, (td_avro_type)prim);
        if (!n)
            return NULL;
        lt = td_json_get(j, "logicalType");
        if (!lt)
            return n;
        if (lt->type != TD_JSON_STRING)
            return td_compile_fail(c, lt, "\"logicalType\" must be a string"), NULL;
        n->logical_name = lt->text;
        if (strcmp(lt->text, "date") == 0) {
            if (n->type != TD_AVRO_INT)
                return td_compile_fail(c, lt, "logicalType date needs type int, not %s", type),
                       NULL;
            n->logical = TD_AVRO_LOGICAL_DATE;
        } else if (strcmp(lt->text, "timestamp-millis") == 0) {
            if (n->type != TD_AVRO_LONG)
                return td_compile_fail(c, lt,
                                       "logicalType timestamp-millis needs type long, not %s",
                                       type), NULL;
            n->logical = TD_AVRO_LOGICAL_TIMESTAMP_MILLIS;
        } else {
            n->logical = TD_AVRO_LOGICAL_OTHER;
        }
        return n;
    }
    if (strcmp(type, "record") == 0 || strcmp(type, "error") == 0)
        return td_compile_named(c, j, TD_AVRO_RECORD, ns, depth);
    if (strcmp(type, "enum") == 0)
        return td_compile_named(c, j, TD_AVRO_ENUM, ns, depth);
    if (strcmp(type, "fixed") == 0)
        return td_compile_named(c, j, TD_AVRO_FIXED, ns, depth);
    if (strcmp(type, "array") == 0 || strcmp(type, "map") == 0) {
        bool is_array = type[0] == 'a';
        const td_json *inner = td_json_get(j, is_array ? "items" : "values");
        if (!inner)
            return td_compile_fail(c, j, "%s without \"%s\"", type,
                                   is_array ? "items" : "values"), NULL;
        n = td_node_new(c, is_array ? TD_AVRO_ARRAY : TD_AVRO_MAP);
        if (!n)
            return NULL;
        n->items = td_compile_node(c, inner, ns, depth + 1);
        return n->items ? n : NULL;
    }
    return td_compile_ref(c, t, type, ns);
}

/* Does a record hold no data at all (no fields, or only such records)? Avro C
 * 1.11 gives it instance size 0 and then cannot append it to an array. */
static bool td_hollow(const td_avro_node *n, int depth)
{
    if (n->type != TD_AVRO_RECORD || depth > TD_JSON_MAX_DEPTH)
        return false;
    for (size_t i = 0; i < n->nfields; i++)
        if (!td_hollow(n->fields[i].type, depth + 1))
            return false;
    return true;
}

static int td_compile_check_arrays(td_compile *c)
{
    for (size_t i = 0; i < c->s->nnodes; i++) {
        const td_avro_node *n = c->s->nodes[i];
        if (n->type == TD_AVRO_ARRAY && td_hollow(n->items, 0))
            return td_compile_fail(c, c->s->json, "an array of %s, a record that holds no "
                                   "data: Avro C 1.11 cannot store its items",
                                   n->items->fullname);
    }
    return 0;
}

static size_t td_min_size(td_avro_node *n)
{
    size_t sum = 0;

    if (n->min_size == TD_MIN_COMPUTING)
        return 0; /* recursion: an underestimate is safe for bounding */
    if (n->min_size != TD_MIN_UNKNOWN)
        return n->min_size;
    switch (n->type) {
    case TD_AVRO_NULL:
        sum = 0;
        break;
    case TD_AVRO_FLOAT:
        sum = 4;
        break;
    case TD_AVRO_DOUBLE:
        sum = 8;
        break;
    case TD_AVRO_FIXED:
        sum = n->size;
        break;
    case TD_AVRO_RECORD:
        n->min_size = TD_MIN_COMPUTING;
        for (size_t i = 0; i < n->nfields; i++) {
            size_t m = td_min_size((td_avro_node *)n->fields[i].type);
            sum = sum > SIZE_MAX / 4 - m ? SIZE_MAX / 4 : sum + m;
        }
        break;
    default: /* a varint, a length, a count, an index, a byte */
        sum = 1;
        break;
    }
    n->min_size = sum;
    return sum;
}

/* Does Avro C see the same tree? Catches any difference in name resolution
 * between Avro C's parser and ours. */
static int td_compile_agree(td_compile *c, const td_avro_node *n, avro_schema_t a, int depth,
                            const td_avro_node **seen, size_t *nseen)
{
    static const avro_type_t map[] = {
        [TD_AVRO_NULL] = AVRO_NULL,     [TD_AVRO_BOOLEAN] = AVRO_BOOLEAN,
        [TD_AVRO_INT] = AVRO_INT32,     [TD_AVRO_LONG] = AVRO_INT64,
        [TD_AVRO_FLOAT] = AVRO_FLOAT,   [TD_AVRO_DOUBLE] = AVRO_DOUBLE,
        [TD_AVRO_BYTES] = AVRO_BYTES,   [TD_AVRO_STRING] = AVRO_STRING,
        [TD_AVRO_RECORD] = AVRO_RECORD, [TD_AVRO_ENUM] = AVRO_ENUM,
        [TD_AVRO_ARRAY] = AVRO_ARRAY,   [TD_AVRO_MAP] = AVRO_MAP,
        [TD_AVRO_UNION] = AVRO_UNION,   [TD_AVRO_FIXED] = AVRO_FIXED,
    };
    char d[256];

    if (is_avro_link(a))
        a = avro_schema_link_target(a);
    if (depth > TD_AVRO_MAX_DEPTH)
        return 0;
    if (!a || avro_typeof(a) != map[n->type])
        goto differ;
    if (n->fullname) {
        const char *an = avro_schema_name(a), *ans = avro_schema_namespace(a);
        size_t lns = ans ? strlen(ans) : 0;
        bool same = ans && *ans ? strncmp(n->fullname, ans, lns) == 0 &&
                                      n->fullname[lns] == '.' &&
                                      strcmp(n->fullname + lns + 1, an) == 0
                                : strcmp(n->fullname, an) == 0;
        if (!same)
            goto differ;
        for (size_t i = 0; i < *nseen; i++)
            if (seen[i] == n)
                return 0;
        if (*nseen == 256)
            return 0;
        seen[(*nseen)++] = n;
    }
    switch (n->type) {
    case TD_AVRO_RECORD:
        if (avro_schema_record_size(a) != n->nfields)
            goto differ;
        for (size_t i = 0; i < n->nfields; i++) {
            if (strcmp(avro_schema_record_field_name(a, (int)i), n->fields[i].name) != 0)
                goto differ;
            if (td_compile_agree(c, n->fields[i].type,
                                 avro_schema_record_field_get_by_index(a, (int)i), depth + 1,
                                 seen, nseen) < 0)
                return c->rc;
        }
        return 0;
    case TD_AVRO_ENUM:
        if ((size_t)avro_schema_enum_number_of_symbols(a) != n->nsymbols)
            goto differ;
        for (size_t i = 0; i < n->nsymbols; i++)
            if (strcmp(avro_schema_enum_get(a, (int)i), n->symbols[i]) != 0)
                goto differ;
        return 0;
    case TD_AVRO_FIXED:
        if ((size_t)avro_schema_fixed_size(a) != n->size)
            goto differ;
        return 0;
    case TD_AVRO_UNION:
        if (avro_schema_union_size(a) != n->nbranches)
            goto differ;
        for (size_t i = 0; i < n->nbranches; i++)
            if (td_compile_agree(c, n->branches[i], avro_schema_union_branch(a, (int)i),
                                 depth + 1, seen, nseen) < 0)
                return c->rc;
        return 0;
    case TD_AVRO_ARRAY:
        return td_compile_agree(c, n->items, avro_schema_array_items(a), depth + 1, seen, nseen);
    case TD_AVRO_MAP:
        return td_compile_agree(c, n->items, avro_schema_map_values(a), depth + 1, seen, nseen);
    default:
        return 0;
    }
differ:
    return td_compile_fail(c, c->s->json, "Avro C 1.11 reads this schema differently (at %s)",
                           td_avro_node_describe(n, d, sizeof(d)));
}

static int td_compile_defaults(td_compile *c)
{
    for (size_t i = 0; i < c->s->nnodes; i++) {
        const td_avro_node *n = c->s->nodes[i];
        if (n->type != TD_AVRO_RECORD)
            continue;
        for (size_t k = 0; k < n->nfields; k++) {
            const td_avro_field *f = &n->fields[k];
            char where[512];
            td_error inner = {0};
            int r;
            if (!f->def)
                continue;
            snprintf(where, sizeof(where), "default of %s.%s", n->name, f->name);
            r = td_avro_json_set(f->type, f->def, NULL, TD_AVRO_JSON_DEFAULT, where, &inner);
            if (r < 0)
                return c->rc = td_error_set(c->err, r, "%s:%s", c->s->source, inner.msg);
        }
    }
    return 0;
}

td_avro_schema *td_avro_schema_free(td_avro_schema *s)
{
    if (!s)
        return NULL;
    if (s->iface)
        avro_value_iface_decref(s->iface);
    if (s->avro)
        avro_schema_decref(s->avro);
    for (size_t i = 0; i < s->nnodes; i++)
        free(s->nodes[i]);
    free(s->nodes);
    for (size_t i = 0; i < s->nallocs; i++)
        free(s->allocs[i]);
    free(s->allocs);
    td_json_free(s->json);
    free(s->canonical);
    free(s->text);
    free(s->source);
    free(s);
    return NULL;
}

int td_avro_schema_new(const char *name, const char *text, size_t len, td_avro_schema **ret,
                       td_error *err)
{
    td_avro_schema *s;
    td_compile c = {.err = err};
    td_error inner = {0};
    const td_avro_node *seen[256];
    size_t nseen = 0;
    int r;

    if (!name)
        name = "<schema>";
    s = calloc(1, sizeof(*s));
    if (!s)
        return td_error_set(err, -ENOMEM, "%s: out of memory", name);
    c.s = s;
    s->source = strdup(name);
    s->text = malloc(len + 1);
    if (!s->source || !s->text) {
        r = td_error_set(err, -ENOMEM, "%s: out of memory", name);
        goto fail;
    }
    memcpy(s->text, text, len);
    s->text[len] = '\0';
    s->text_len = len;

    r = td_json_parse(name, text, len, &s->json, err);
    if (r < 0)
        goto fail;
    r = td_avro_canonical(s->json, &s->canonical, &inner);
    if (r < 0) {
        r = td_error_set(err, r, "%s:%s", name, inner.msg);
        goto fail;
    }
    s->fingerprint = td_avro_crc64(s->canonical, strlen(s->canonical));

    s->root = td_compile_node(&c, s->json, NULL, 0);
    if (!s->root) {
        r = c.rc;
        goto fail;
    }
    for (size_t i = 0; i < s->nnodes; i++)
        td_min_size(s->nodes[i]);
    if ((r = td_compile_check_arrays(&c)) < 0 || (r = td_compile_defaults(&c)) < 0)
        goto fail;
    s->fullname = s->root->fullname ? s->root->fullname : td_avro_type_name(s->root->type);

    /* Avro C gets the canonical form: all it needs, fullnames everywhere, and
     * none of the attributes its JSON parser may trip on (it refuses \u0000
     * in any string, a default or a doc included). */
    if (avro_schema_from_json_length(s->canonical, strlen(s->canonical), &s->avro) != 0) {
        s->avro = NULL;
        r = td_error_set(err, -EINVAL, "%s: Avro C 1.11 refuses the schema: %s", name,
                         avro_strerror());
        goto fail;
    }
    if ((r = td_compile_agree(&c, s->root, s->avro, 0, seen, &nseen)) < 0)
        goto fail;
    s->iface = avro_generic_class_from_schema(s->avro);
    if (!s->iface) {
        r = td_error_set(err, -EINVAL, "%s: Avro C 1.11 cannot make a value class: %s", name,
                         avro_strerror());
        goto fail;
    }
    free(c.named);
    *ret = s;
    return 0;
fail:
    free(c.named);
    td_avro_schema_free(s);
    return r;
}

int td_avro_schema_load(const char *path, td_avro_schema **ret, td_error *err)
{
    FILE *f;
    char *text = NULL;
    size_t len = 0, cap = 0;
    int r;

    f = fopen(path, "rb");
    if (!f)
        return td_error_set(err, -errno, "%s: cannot open: %s", path, strerror(errno));
    for (;;) {
        size_t n;
        if (len == cap) {
            char *nt;
            cap = cap ? cap * 2 : 4096;
            if (cap > ((size_t)16 << 20)) {
                r = td_error_set(err, -EFBIG, "%s: larger than 16 MiB", path);
                goto out;
            }
            nt = realloc(text, cap);
            if (!nt) {
                r = td_error_set(err, -ENOMEM, "%s: out of memory", path);
                goto out;
            }
            text = nt;
        }
        n = fread(text + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            if (ferror(f)) {
                r = td_error_set(err, -EIO, "%s: read error", path);
                goto out;
            }
            break;
        }
    }
    r = td_avro_schema_new(path, text ? text : "", len, ret, err);
out:
    fclose(f);
    free(text);
    return r;
}

uint64_t td_avro_schema_fingerprint(const td_avro_schema *s)
{
    return s->fingerprint;
}

const char *td_avro_schema_fullname(const td_avro_schema *s)
{
    return s->fullname;
}

const char *td_avro_schema_source(const td_avro_schema *s)
{
    return s->source;
}

const char *td_avro_schema_text(const td_avro_schema *s, size_t *ret_len)
{
    if (ret_len)
        *ret_len = s->text_len;
    return s->text;
}

const char *td_avro_schema_canonical(const td_avro_schema *s)
{
    return s->canonical;
}

const td_avro_node *td_avro_schema_root(const td_avro_schema *s)
{
    return s->root;
}

avro_schema_t td_avro_schema_avro(const td_avro_schema *s)
{
    return s->avro;
}

avro_value_iface_t *td_avro_schema_iface(const td_avro_schema *s)
{
    return s->iface;
}

int td_avro_schema_value_new(const td_avro_schema *s, avro_value_t *ret, td_error *err)
{
    if (avro_generic_value_new(s->iface, ret) != 0)
        return td_error_set(err, -ENOMEM, "%s: cannot make a value: %s", s->source,
                            avro_strerror());
    return 0;
}

/* --------------------------------------------------------------- registry */

struct td_avro_registry {
    td_avro_schema **items;  /* in the order added */
    td_avro_schema **sorted; /* by fingerprint */
    size_t n, cap;
};

int td_avro_registry_new(td_avro_registry **ret)
{
    td_avro_registry *r = calloc(1, sizeof(*r));

    if (!r)
        return -ENOMEM;
    *ret = r;
    return 0;
}

td_avro_registry *td_avro_registry_free(td_avro_registry *r)
{
    if (!r)
        return NULL;
    for (size_t i = 0; i < r->n; i++)
        td_avro_schema_free(r->items[i]);
    free(r->items);
    free(r->sorted);
    free(r);
    return NULL;
}

/* The index in sorted where fp is or would go. */
static size_t td_registry_slot(const td_avro_registry *r, uint64_t fp)
{
    size_t lo = 0, hi = r->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->sorted[mid]->fingerprint < fp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int td_avro_registry_add(td_avro_registry *r, td_avro_schema *s, td_error *err)
{
    size_t slot = td_registry_slot(r, s->fingerprint);
    int rc;

    if (slot < r->n && r->sorted[slot]->fingerprint == s->fingerprint) {
        rc = td_error_set(err, -EEXIST,
                          "%s: fingerprint 0x%016" PRIx64 " is registered already (%s)", s->source,
                          s->fingerprint, r->sorted[slot]->source);
        td_avro_schema_free(s);
        return rc;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        td_avro_schema **ni = realloc(r->items, cap * sizeof(*ni));
        td_avro_schema **ns;
        if (ni)
            r->items = ni;
        ns = ni ? realloc(r->sorted, cap * sizeof(*ns)) : NULL;
        if (!ns) {
            td_avro_schema_free(s);
            return td_error_set(err, -ENOMEM, "out of memory");
        }
        r->sorted = ns;
        r->cap = cap;
    }
    memmove(r->sorted + slot + 1, r->sorted + slot, (r->n - slot) * sizeof(*r->sorted));
    r->sorted[slot] = s;
    r->items[r->n++] = s;
    return 0;
}

const td_avro_schema *td_avro_registry_find(const td_avro_registry *r, uint64_t fingerprint)
{
    size_t slot = td_registry_slot(r, fingerprint);

    return slot < r->n && r->sorted[slot]->fingerprint == fingerprint ? r->sorted[slot] : NULL;
}

const td_avro_schema *td_avro_registry_find_name(const td_avro_registry *r, const char *fullname)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->items[i]->fullname, fullname) == 0)
            return r->items[i];
    return NULL;
}

size_t td_avro_registry_count(const td_avro_registry *r)
{
    return r->n;
}

const td_avro_schema *td_avro_registry_at(const td_avro_registry *r, size_t i)
{
    return i < r->n ? r->items[i] : NULL;
}

static int td_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int td_avro_registry_load_dir(td_avro_registry *r, const char *dir, size_t *ret_added,
                              td_error *err)
{
    DIR *d;
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0, added = 0;
    int first = 0;

    d = opendir(dir);
    if (!d)
        return td_error_set(err, -errno, "%s: cannot open directory: %s", dir, strerror(errno));
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        char *copy;
        if (len < 6 || e->d_name[0] == '.' || strcmp(e->d_name + len - 5, ".avsc") != 0)
            continue;
        copy = strdup(e->d_name);
        if (!copy || td_push_ptr((void ***)&names, &n, &cap, copy) < 0) {
            free(copy);
            first = td_error_set(err, -ENOMEM, "out of memory");
            goto out;
        }
    }
    if (n)
        qsort(names, n, sizeof(*names), td_cmp_str);
    td_error_clear(err);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        td_avro_schema *s = NULL;
        const td_avro_schema *old;
        td_error one = {0};
        int rc;

        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        rc = td_avro_schema_load(path, &s, &one);
        if (rc == 0) {
            old = td_avro_registry_find(r, s->fingerprint);
            if (old && strcmp(old->canonical, s->canonical) == 0) {
                td_avro_schema_free(s); /* the same schema again */
                continue;
            }
            if (old) {
                rc = td_error_set(&one, -EEXIST,
                                  "%s: fingerprint 0x%016" PRIx64 " collides with %s", path,
                                  s->fingerprint, old->source);
                td_avro_schema_free(s);
            } else {
                rc = td_avro_registry_add(r, s, &one);
            }
        }
        if (rc < 0) {
            if (!first)
                first = rc;
            td_error_append(err, rc, "%s", one.msg);
        } else {
            added++;
        }
    }
out:
    closedir(d);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (first == 0 && ret_added)
        *ret_added = added;
    return first;
}
