#include "td_config.h"
#include "td_str.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define CFG_KEEP_DIAGS 1000          /* kept for sorting; more are counted */
#define CFG_SHOW_MAX 60              /* characters of a value in a message */
#define CFG_SHOW_SIZE (CFG_SHOW_MAX * 4 + 16)
#define CFG_PATH_SIZE 256            /* key paths in messages */
#define CFG_WHY_SIZE 512
#define CFG_SECRET_FILE_MAX (1024u * 1024u)
#define CFG_REDACTED "<redacted>"

/* ------------------------------------------------------------------------ */
/* Small text helpers. */

/* snprintf that marks cut text with a trailing "...". */
static void cut_printf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void cut_printf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n >= size && size > 4)
        memcpy(buf + size - 4, "...", 4);
}

/* Writes s (len bytes) quoted and escaped into buf, cut after CFG_SHOW_MAX
 * characters. Returns buf. */
static const char *show(char buf[CFG_SHOW_SIZE], const char *s, size_t len)
{
    size_t o = 0, i, chars = 0;

    buf[o++] = '"';
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];

        /* Stop at CFG_SHOW_MAX characters, or when the bytes (think of a
         * run of stray UTF-8 continuation bytes) would not fit. */
        if (((ch & 0xC0) != 0x80 && chars++ == CFG_SHOW_MAX) || o + 9 > CFG_SHOW_SIZE) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (ch == '"' || ch == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)ch;
        } else if (ch == '\n') {
            memcpy(buf + o, "\\n", 2);
            o += 2;
        } else if (ch == '\t') {
            memcpy(buf + o, "\\t", 2);
            o += 2;
        } else if (ch < 0x20 || ch == 0x7f) {
            o += (size_t)snprintf(buf + o, 5, "\\x%02x", ch);
        } else {
            buf[o++] = (char)ch;
        }
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

/* An unknown key as a message may quote it: at most CFG_KEY_SHOW_MAX
 * characters, and only when it looks like a key name (letters, digits, _ . -
 * or non-ASCII letters). Anything else (a line of /etc/shadow that YAML read
 * as a key, say) is described, never copied into the log. */
#define CFG_KEY_SHOW_MAX 32
static const char *show_key(char buf[CFG_SHOW_SIZE], const char *s, size_t len)
{
    size_t i, chars = 0, cut = len;
    bool name_like = true;

    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];

        if ((ch & 0xC0) == 0x80)
            continue;
        if (chars++ == CFG_KEY_SHOW_MAX && cut == len)
            cut = i;
        if (!(ch >= 0x80 || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-'))
            name_like = false;
    }
    if (!name_like) {
        snprintf(buf, CFG_SHOW_SIZE, "of %zu characters that is not a key name (not shown)",
                 chars);
        return buf;
    }
    show(buf, s, cut);
    if (cut < len) { /* the ellipsis inside the quotes */
        size_t o = strlen(buf);
        memcpy(buf + o - 1, "...\"", 5);
    }
    return buf;
}

static const char *show_str(char buf[CFG_SHOW_SIZE], const char *s)
{
    return show(buf, s, strlen(s));
}

/* "parent.key", or "key" at the top. */
static void path_key(char out[CFG_PATH_SIZE], const char *parent, const char *key)
{
    if (parent[0])
        cut_printf(out, CFG_PATH_SIZE, "%s.%s", parent, key);
    else
        cut_printf(out, CFG_PATH_SIZE, "%s", key);
}

static void path_index(char out[CFG_PATH_SIZE], const char *parent, size_t i)
{
    cut_printf(out, CFG_PATH_SIZE, "%s[%zu]", parent, i);
}

/* The td_str_suggest pick among n names, each the first member of an element
 * stride bytes long (a table's keys or an enum's names), or NULL. */
static const char *suggest(const char *word, const char *const *names, size_t n,
                           size_t stride)
{
    td_str_suggest sg;

    td_str_suggest_init(&sg, word);
    for (size_t i = 0; i < n; i++)
        td_str_suggest_add(&sg, *(const char *const *)(const void *)((const char *)names +
                                                                    i * stride));
    return td_str_suggest_best(&sg);
}

/* ------------------------------------------------------------------------ */
/* Diagnostics, collected and sorted by position before they reach td_error. */

typedef struct cfg_diag {
    int line, col;
    size_t seq;
    char *text;
} cfg_diag;

typedef struct cfg_ctx {
    const char *name;     /* the file as named in messages */
    const char *base_dir; /* for relative paths; NULL: keep them relative */
    cfg_diag *d;
    size_t nd, capd;
    size_t dropped;       /* problems found beyond CFG_KEEP_DIAGS */
    bool oom;
} cfg_ctx;

static bool ctx_full(const cfg_ctx *c)
{
    return c->nd >= CFG_KEEP_DIAGS;
}

static void diag_add_owned(cfg_ctx *c, int line, int col, char *text)
{
    if (!text) {
        c->oom = true;
        return;
    }
    if (ctx_full(c)) {
        c->dropped++;
        free(text);
        return;
    }
    if (c->nd == c->capd) {
        size_t cap = c->capd ? c->capd * 2 : 16;
        cfg_diag *nd = realloc(c->d, cap * sizeof(*nd));

        if (!nd) {
            c->oom = true;
            free(text);
            return;
        }
        c->d = nd;
        c->capd = cap;
    }
    c->d[c->nd].line = line;
    c->d[c->nd].col = col;
    c->d[c->nd].seq = c->nd;
    c->d[c->nd].text = text;
    c->nd++;
}

/* Records "NAME:LINE:COL: <fmt...>". */
static void report(cfg_ctx *c, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void report(cfg_ctx *c, int line, int col, const char *fmt, ...)
{
    va_list ap;
    char *body, *text = NULL;

    if (ctx_full(c)) {
        c->dropped++;
        return;
    }
    va_start(ap, fmt);
    body = td_str_vprintf(fmt, ap);
    va_end(ap);
    if (body)
        text = td_str_printf("%s:%d:%d: %s", c->name, line, col, body);
    free(body);
    diag_add_owned(c, line, col, text);
}

static int diag_cmp(const void *a, const void *b)
{
    const cfg_diag *x = a, *y = b;

    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Moves the collected problems into err; returns 0, -EINVAL or -ENOMEM. */
static int ctx_finish(cfg_ctx *c, td_error *err)
{
    int code = c->oom ? -ENOMEM : -EINVAL;
    size_t i, shown = 0, total = c->nd + c->dropped;

    if (!c->oom && total == 0)
        return 0;
    td_error_clear(err);
    qsort(c->d, c->nd, sizeof(*c->d), diag_cmp);
    for (i = 0; i < c->nd; i++) {
        size_t used = err ? strnlen(err->msg, sizeof(err->msg)) : 0;

        /* Keep room for the count line so it is never cut off. */
        if (shown == TD_CONFIG_MAX_ERRORS ||
            (err && shown > 0 && used + strlen(c->d[i].text) + 64 > sizeof(err->msg)))
            break;
        td_error_append(err, code, "%s", c->d[i].text);
        shown++;
    }
    if (c->oom)
        td_error_append(err, code, "%s: out of memory", c->name);
    if (shown < total)
        td_error_append(err, code, "%s: and %zu more problem%s, not shown", c->name,
                        total - shown, total - shown == 1 ? "" : "s");
    if (err)
        err->code = code;
    return code;
}

static void ctx_done(cfg_ctx *c)
{
    size_t i;

    for (i = 0; i < c->nd; i++)
        free(c->d[i].text);
    free(c->d);
    c->d = NULL;
    c->nd = c->capd = 0;
}

/* ------------------------------------------------------------------------ */
/* Files. */

/* Reads the whole file at path (at most max bytes) into a malloc'd,
 * NUL-terminated buffer; *ret_mode (if not NULL) gets its st_mode, from the
 * descriptor that was read. 0 or -errno (-EFBIG when larger than max). */
static int read_file(const char *path, size_t max, char **ret, size_t *ret_len,
                     mode_t *ret_mode)
{
    int fd, r = 0;
    struct stat st;
    char *buf = NULL;
    size_t len = 0, cap = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0) {
        r = -errno;
        goto fail;
    }
    if (S_ISDIR(st.st_mode)) {
        r = -EISDIR;
        goto fail;
    }
    for (;;) {
        ssize_t n;

        if (len + 1 >= cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            char *nb;

            if (ncap > max + 2)
                ncap = max + 2;
            if (ncap <= len + 1) {
                r = -EFBIG;
                goto fail;
            }
            nb = realloc(buf, ncap);
            if (!nb) {
                r = -ENOMEM;
                goto fail;
            }
            buf = nb;
            cap = ncap;
        }
        n = read(fd, buf + len, cap - len - 1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r = -errno;
            goto fail;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > max) {
            r = -EFBIG;
            goto fail;
        }
    }
    close(fd);
    if (!buf) {
        buf = malloc(1);
        if (!buf)
            return -ENOMEM;
    }
    buf[len] = '\0';
    *ret = buf;
    *ret_len = len;
    if (ret_mode)
        *ret_mode = st.st_mode;
    return 0;
fail:
    free(buf);
    close(fd);
    return r;
}

static int read_all(const char *path, size_t max, char **ret, size_t *ret_len)
{
    return read_file(path, max, ret, ret_len, NULL);
}

/* base_dir + "/" + p for a relative p; a copy of p when absolute or when
 * base_dir is NULL. NULL on oom. */
static char *resolve_path(const char *base_dir, const char *p)
{
    td_str_buf b = {0};

    if (p[0] != '/' && base_dir && base_dir[0]) {
        td_str_buf_add(&b, base_dir);
        if (base_dir[strlen(base_dir) - 1] != '/')
            td_str_buf_add(&b, "/");
    }
    td_str_buf_add(&b, p);
    return td_str_buf_steal(&b);
}

/* The directory part of path ("." when there is none), malloc'd. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

/* ------------------------------------------------------------------------ */
/* Step 1: libyaml events -> a tree of nodes with 1-based positions. */

typedef enum node_kind { NODE_SCALAR, NODE_MAP, NODE_SEQ } node_kind;

typedef struct node node;

typedef struct pair {
    node *key, *value;
    bool used; /* claimed by a table entry */
    bool dup;  /* a later duplicate of an earlier key (reported) */
} pair;

struct node {
    node_kind kind;
    int line, col;
    bool bad;   /* already reported (alias, tag, ...): skipped silently */
    bool null;  /* plain "", "~", "null", "Null" or "NULL" */
    char *text; /* scalar, NUL-terminated */
    size_t len;
    pair *pairs;  /* NODE_MAP */
    node **items; /* NODE_SEQ */
    size_t n, cap;
};

static void node_free(node *n)
{
    size_t i;

    if (!n)
        return;
    for (i = 0; n->pairs && i < n->n; i++) {
        node_free(n->pairs[i].key);
        node_free(n->pairs[i].value);
    }
    for (i = 0; n->items && i < n->n; i++)
        node_free(n->items[i]);
    free(n->pairs);
    free(n->items);
    free(n->text);
    free(n);
}

static node *node_new(node_kind kind, yaml_mark_t mark)
{
    node *n = calloc(1, sizeof(*n));

    if (!n)
        return NULL;
    n->kind = kind;
    n->line = mark.line >= INT_MAX ? INT_MAX : (int)mark.line + 1;
    n->col = mark.column >= INT_MAX ? INT_MAX : (int)mark.column + 1;
    return n;
}

static const char *node_kind_name(const node *n)
{
    switch (n->kind) {
    case NODE_MAP:
        return "a mapping";
    case NODE_SEQ:
        return "a list";
    case NODE_SCALAR:
        break;
    }
    return n->null ? "null" : "a scalar";
}

typedef struct open_node {
    node *n;
    node *key; /* NODE_MAP: the key waiting for its value */
} open_node;

typedef struct key_ref {
    const node *key;
    size_t idx;
} key_ref;

static int key_ref_cmp(const void *a, const void *b)
{
    const key_ref *x = a, *y = b;
    size_t l = x->key->len < y->key->len ? x->key->len : y->key->len;
    int r = memcmp(x->key->text, y->key->text, l);

    if (r)
        return r;
    if (x->key->len != y->key->len)
        return x->key->len < y->key->len ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* libyaml does not check duplicate keys; marks and reports every later one. */
static void check_duplicates(cfg_ctx *c, node *map)
{
    key_ref *refs;
    size_t i, n = 0;
    char buf[CFG_SHOW_SIZE];

    if (map->n < 2)
        return;
    refs = malloc(map->n * sizeof(*refs));
    if (!refs) {
        c->oom = true;
        return;
    }
    for (i = 0; i < map->n; i++) {
        const node *k = map->pairs[i].key;

        if (k->kind == NODE_SCALAR && !k->bad) {
            refs[n].key = k;
            refs[n].idx = i;
            n++;
        }
    }
    qsort(refs, n, sizeof(*refs), key_ref_cmp);
    for (i = 1; i < n; i++) {
        const key_ref *first = &refs[i - 1];
        size_t j;

        if (refs[i].key->len != first->key->len ||
            memcmp(refs[i].key->text, first->key->text, first->key->len) != 0)
            continue;
        /* refs[i - 1] starts a run of equal keys, sorted by position. */
        for (j = i; j < n && refs[j].key->len == first->key->len &&
                    memcmp(refs[j].key->text, first->key->text, first->key->len) == 0;
             j++) {
            map->pairs[refs[j].idx].dup = true;
            report(c, refs[j].key->line, refs[j].key->col,
                   "duplicate key %s (first at line %d, column %d)",
                   show(buf, refs[j].key->text, refs[j].key->len),
                   first->key->line, first->key->col);
        }
        i = j;
    }
    free(refs);
}

/* Hangs n under the innermost open node (or makes it the root). Takes n. */
static int attach(cfg_ctx *c, open_node *stack, size_t depth, node **root, node *n)
{
    open_node *top;

    if (depth == 0) {
        *root = n;
        return 0;
    }
    top = &stack[depth - 1];
    if (top->n->kind == NODE_SEQ) {
        if (top->n->n == top->n->cap) {
            size_t cap = top->n->cap ? top->n->cap * 2 : 4;
            node **ni = realloc(top->n->items, cap * sizeof(*ni));

            if (!ni)
                goto oom;
            top->n->items = ni;
            top->n->cap = cap;
        }
        top->n->items[top->n->n++] = n;
        return 0;
    }
    if (!top->key) {
        if (n->kind != NODE_SCALAR && !n->bad) {
            report(c, n->line, n->col, "mapping keys must be plain strings, not %s",
                   node_kind_name(n));
            n->bad = true;
        }
        top->key = n;
        return 0;
    }
    if (top->n->n == top->n->cap) {
        size_t cap = top->n->cap ? top->n->cap * 2 : 4;
        pair *np = realloc(top->n->pairs, cap * sizeof(*np));

        if (!np)
            goto oom;
        top->n->pairs = np;
        top->n->cap = cap;
    }
    top->n->pairs[top->n->n].key = top->key;
    top->n->pairs[top->n->n].value = n;
    top->n->pairs[top->n->n].used = false;
    top->n->pairs[top->n->n].dup = false;
    top->n->n++;
    top->key = NULL;
    return 0;
oom:
    node_free(n);
    c->oom = true;
    return -ENOMEM;
}

/* Line and column (1-based, in characters) of byte offset off in buf. */
static void offset_position(const char *buf, size_t len, size_t off, int *line, int *col)
{
    size_t i;
    int l = 1, k = 1;

    if (off > len)
        off = len;
    for (i = 0; i < off; i++) {
        unsigned char ch = (unsigned char)buf[i];

        if (ch == '\n' || (ch == '\r' && (i + 1 >= len || buf[i + 1] != '\n'))) {
            if (l < INT_MAX)
                l++;
            k = 1;
        } else if ((ch & 0xC0) != 0x80 && ch != '\r' && k < INT_MAX) {
            k++;
        }
    }
    *line = l;
    *col = k;
}

static void report_yaml_error(cfg_ctx *c, const yaml_parser_t *p, const char *buf,
                              size_t len)
{
    int line, col;

    switch (p->error) {
    case YAML_MEMORY_ERROR:
        c->oom = true;
        return;
    case YAML_READER_ERROR:
        /* The marks stay at the start; the offset is right. */
        offset_position(buf, len, p->problem_offset, &line, &col);
        if (p->problem_value >= 0)
            report(c, line, col, "invalid input: %s (byte 0x%02x)", p->problem,
                   (unsigned)p->problem_value & 0xffu);
        else
            report(c, line, col, "invalid input: %s", p->problem);
        return;
    case YAML_NO_ERROR:
    case YAML_SCANNER_ERROR:
    case YAML_PARSER_ERROR:
    case YAML_COMPOSER_ERROR:
    case YAML_WRITER_ERROR:
    case YAML_EMITTER_ERROR:
        break;
    }
    line = (int)(p->problem_mark.line < INT_MAX ? p->problem_mark.line + 1 : INT_MAX);
    col = (int)(p->problem_mark.column < INT_MAX ? p->problem_mark.column + 1 : INT_MAX);
    if (p->context)
        report(c, line, col, "syntax error: %s (%s at line %zu, column %zu)",
               p->problem ? p->problem : "unknown problem", p->context,
               p->context_mark.line + 1, p->context_mark.column + 1);
    else
        report(c, line, col, "syntax error: %s",
               p->problem ? p->problem : "unknown problem");
}

static bool is_plain_null(const char *s, size_t len)
{
    return len == 0 || (len == 1 && s[0] == '~') || strcmp(s, "null") == 0 ||
           strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

/* Reports an explicit tag on a node. */
static void check_tag(cfg_ctx *c, node *n, const yaml_char_t *tag)
{
    char buf[CFG_SHOW_SIZE];

    if (!tag || n->bad)
        return;
    report(c, n->line, n->col, "YAML tags are not supported (%s)",
           show_str(buf, (const char *)tag));
    n->bad = true;
}

/* Parses buf into *ret_root (NULL for a stream without a document). Returns
 * 0, or -EINVAL (syntax error: the tree is incomplete, do not use it) or
 * -ENOMEM. Problems are reported into c. */
static int build_tree(cfg_ctx *c, const char *buf, size_t len, node **ret_root)
{
    yaml_parser_t p;
    yaml_event_t ev;
    open_node stack[TD_CONFIG_MAX_DEPTH];
    size_t depth = 0;
    node *root = NULL;
    int docs = 0, r = 0;
    bool done = false;

    if (!yaml_parser_initialize(&p)) {
        c->oom = true;
        return -ENOMEM;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
    while (!done) {
        node *n = NULL;

        if (!yaml_parser_parse(&p, &ev)) {
            report_yaml_error(c, &p, buf, len);
            r = c->oom ? -ENOMEM : -EINVAL;
            break;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1) {
                n = node_new(NODE_SCALAR, ev.start_mark);
                if (!n) {
                    c->oom = true;
                    r = -ENOMEM;
                } else {
                    report(c, n->line, n->col,
                           "a second YAML document: one file holds one document");
                    node_free(n);
                    n = NULL;
                }
                done = true;
            }
            break;
        case YAML_ALIAS_EVENT:
            n = node_new(NODE_SCALAR, ev.start_mark);
            if (!n)
                break;
            n->bad = true;
            report(c, n->line, n->col, "YAML aliases are not supported (*%s)",
                   (const char *)ev.data.alias.anchor);
            break;
        case YAML_SCALAR_EVENT:
            n = node_new(NODE_SCALAR, ev.start_mark);
            if (!n)
                break;
            n->len = ev.data.scalar.length;
            n->text = malloc(n->len + 1);
            if (!n->text) {
                node_free(n);
                n = NULL;
                break;
            }
            memcpy(n->text, ev.data.scalar.value, n->len);
            n->text[n->len] = '\0';
            n->null = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                      is_plain_null(n->text, n->len);
            check_tag(c, n, ev.data.scalar.tag);
            if (!n->bad && strlen(n->text) != n->len) {
                /* Not quoted: it might be a secret's value. */
                report(c, n->line, n->col, "a NUL character (\\0) in a value");
                n->bad = true;
            }
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            n = node_new(ev.type == YAML_MAPPING_START_EVENT ? NODE_MAP : NODE_SEQ,
                         ev.start_mark);
            if (!n)
                break;
            if (depth == TD_CONFIG_MAX_DEPTH) {
                report(c, n->line, n->col, "nested deeper than %d levels",
                       TD_CONFIG_MAX_DEPTH);
                node_free(n);
                n = NULL;
                r = -EINVAL;
                done = true;
                break;
            }
            check_tag(c, n, ev.type == YAML_MAPPING_START_EVENT
                                ? ev.data.mapping_start.tag
                                : ev.data.sequence_start.tag);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            if (depth > 0) {
                depth--;
                if (stack[depth].n->kind == NODE_MAP)
                    check_duplicates(c, stack[depth].n);
            }
            break;
        case YAML_NO_EVENT:
        case YAML_STREAM_START_EVENT:
        case YAML_DOCUMENT_END_EVENT:
            break;
        }
        if (n) {
            bool container = n->kind != NODE_SCALAR;

            if (attach(c, stack, depth, &root, n) < 0) {
                r = -ENOMEM;
                done = true;
            } else if (container) {
                stack[depth].n = n;
                stack[depth].key = NULL;
                depth++;
            }
        } else if (!done && (ev.type == YAML_SCALAR_EVENT || ev.type == YAML_ALIAS_EVENT ||
                             ev.type == YAML_SEQUENCE_START_EVENT ||
                             ev.type == YAML_MAPPING_START_EVENT)) {
            c->oom = true;
            r = -ENOMEM;
            done = true;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    /* Keys still waiting for their value hang on no tree node. */
    while (depth > 0)
        node_free(stack[--depth].key);
    if (r < 0) {
        node_free(root);
        return r;
    }
    *ret_root = root;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Field access: members are reached by offset, copied with memcpy so that
 * no misaligned pointer is ever formed. */

static void *field(void *base, size_t off)
{
    return (char *)base + off;
}

static void *get_ptr(void *base, size_t off)
{
    void *p;

    memcpy(&p, field(base, off), sizeof(p));
    return p;
}

static void set_ptr(void *base, size_t off, void *p)
{
    memcpy(field(base, off), &p, sizeof(p));
}

static size_t get_count(void *base, size_t off)
{
    size_t n;

    memcpy(&n, field(base, off), sizeof(n));
    return n;
}

static void set_count(void *base, size_t off, size_t n)
{
    memcpy(field(base, off), &n, sizeof(n));
}

static void set_i64(void *base, size_t off, int64_t v)
{
    memcpy(field(base, off), &v, sizeof(v));
}

static void set_bool(void *base, size_t off, bool v)
{
    memcpy(field(base, off), &v, sizeof(v));
}

static void set_int(void *base, size_t off, int v)
{
    memcpy(field(base, off), &v, sizeof(v));
}

static void set_string(void *base, size_t off, char *s)
{
    free(get_ptr(base, off));
    set_ptr(base, off, s);
}

/* ------------------------------------------------------------------------ */
/* Scalar parsing, shared by defaults and file values. */

static const char *type_name(const td_cfg_entry *e)
{
    switch (e->type) {
    case TD_CFG_TYPE_STRING:
        return "a string";
    case TD_CFG_TYPE_INT:
        return "an integer";
    case TD_CFG_TYPE_BOOL:
        return "true or false";
    case TD_CFG_TYPE_ENUM:
        return "one of the allowed names";
    case TD_CFG_TYPE_DURATION:
        return "a duration";
    case TD_CFG_TYPE_SIZE:
        return "a size";
    case TD_CFG_TYPE_PATH:
        return "a path";
    case TD_CFG_TYPE_SECTION:
        return "a mapping";
    case TD_CFG_TYPE_STRINGS:
        return "a list of strings";
    case TD_CFG_TYPE_SECTIONS:
        return "a list of mappings";
    case TD_CFG_TYPE_KAFKA:
        return "a mapping of librdkafka properties";
    case TD_CFG_TYPE_MAP:
        return "a mapping of strings";
    case TD_CFG_TYPE_MAPS:
        return "a mapping of mappings";
    case TD_CFG_TYPE_END:
        break;
    }
    return "a value";
}

/* Decimal integer: -?[0-9]+, no '+', no leading zeros, no separators. *end
 * is where the digits stop (must be s's end for a plain integer). Returns
 * NULL or why it failed. */
static const char *scan_int(const char *s, const char **end, bool allow_minus,
                            int64_t *ret)
{
    bool neg = false;
    uint64_t v = 0, limit;
    const char *p = s;

    if (*p == '-' && allow_minus) {
        neg = true;
        p++;
    }
    if (*p < '0' || *p > '9')
        return "not a number";
    if (p[0] == '0' && p[1] >= '0' && p[1] <= '9')
        return "leading zeros are not allowed";
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    while (*p >= '0' && *p <= '9') {
        unsigned d = (unsigned)(*p - '0');

        if (v > (limit - d) / 10)
            return "number too large";
        v = v * 10 + d;
        p++;
    }
    *end = p;
    if (neg)
        *ret = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    else
        *ret = (int64_t)v;
    return NULL;
}

typedef struct unit {
    const char *name;
    int64_t factor;
} unit;

static const unit duration_units[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
    {NULL, 0},
};

static const unit size_units[] = {
    {"B", 1},
    {"k", INT64_C(1) << 10}, {"K", INT64_C(1) << 10}, {"KiB", INT64_C(1) << 10},
    {"M", INT64_C(1) << 20}, {"MiB", INT64_C(1) << 20},
    {"G", INT64_C(1) << 30}, {"GiB", INT64_C(1) << 30},
    {"T", INT64_C(1) << 40}, {"TiB", INT64_C(1) << 40},
    {NULL, 0},
};

static const char *skip_spaces(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* "<n><unit>[<n><unit>...]" with units from table, or a lone "<n>" (factor
 * 1). Spaces may separate the parts. Writes why on failure. */
static int parse_units(const char *s, const unit *units, const char *what,
                       const char *unit_list, const char *shown, int64_t *ret,
                       char *why, size_t whysz)
{
    const char *p = skip_spaces(s);
    int64_t total = 0, last = INT64_MAX;
    int parts = 0;

    if (!*p) {
        cut_printf(why, whysz, "expected %s, got %s", what, shown);
        return -EINVAL;
    }
    while (*p) {
        const char *end = p, *e, *bad;
        int64_t v;
        size_t ul;
        const unit *u;

        bad = scan_int(p, &end, false, &v);
        if (bad) {
            cut_printf(why, whysz, "expected %s (like %s), got %s: %s", what,
                     units == duration_units ? "\"30s\" or \"1h30m\"" : "\"64MiB\"",
                     shown, bad);
            return -EINVAL;
        }
        p = skip_spaces(end);
        for (e = p; (*e >= 'a' && *e <= 'z') || (*e >= 'A' && *e <= 'Z'); e++)
            ;
        ul = (size_t)(e - p);
        if (ul == 0) {
            if (*p == '.' || *p == ',') {
                cut_printf(why, whysz, "invalid %s %s: fractions are not supported (use "
                           "a smaller unit)", units == duration_units ? "duration" : "size",
                           shown);
                return -EINVAL;
            }
            if (parts == 0 && !*p) {
                *ret = v; /* a bare number: ms or bytes */
                return 0;
            }
            cut_printf(why, whysz, "invalid %s %s: a number without a unit (use %s)",
                     units == duration_units ? "duration" : "size", shown, unit_list);
            return -EINVAL;
        }
        for (u = units; u->name; u++)
            if (strlen(u->name) == ul && memcmp(u->name, p, ul) == 0)
                break;
        if (!u->name) {
            if (units == size_units && ul == 2 && p[1] == 'B' && strchr("kKMGT", p[0]))
                cut_printf(why, whysz,
                         "invalid size %s: \"%.2s\" is ambiguous (use %ciB for "
                         "powers of 1024, or write the number of bytes)",
                         shown, p, p[0] == 'k' ? 'K' : p[0]);
            else
                cut_printf(why, whysz, "invalid %s %s: unknown unit \"%.*s\" (use %s)",
                         units == duration_units ? "duration" : "size", shown,
                         (int)(ul > 10 ? 10 : ul), p, unit_list);
            return -EINVAL;
        }
        if (u->factor >= last) {
            cut_printf(why, whysz, "invalid %s %s: units must go from the largest to "
                       "the smallest, each once", units == duration_units ? "duration"
                       : "size", shown);
            return -EINVAL;
        }
        last = u->factor;
        if (v > INT64_MAX / u->factor || v * u->factor > INT64_MAX - total) {
            cut_printf(why, whysz, "%s %s is too large", units == duration_units
                     ? "duration" : "size", shown);
            return -EINVAL;
        }
        total += v * u->factor;
        parts++;
        p = skip_spaces(e);
    }
    *ret = total;
    return 0;
}

/* Writes v with the largest unit that divides it exactly. */
static void format_units(char *buf, size_t size, int64_t v, const unit *units)
{
    const unit *best = NULL, *u;

    for (u = units; u->name; u++)
        if (v != 0 && v % u->factor == 0 && (!best || u->factor > best->factor) &&
            (units != size_units || strcmp(u->name, "B") == 0 || strlen(u->name) == 3))
            best = u;
    if (!best)
        snprintf(buf, size, "%" PRId64 "%s", v, units == size_units ? "" : "ms");
    else
        snprintf(buf, size, "%" PRId64 "%s", v / best->factor, best->name);
}

static void format_value(char *buf, size_t size, const td_cfg_entry *e, int64_t v)
{
    if (e->type == TD_CFG_TYPE_DURATION)
        format_units(buf, size, v, duration_units);
    else if (e->type == TD_CFG_TYPE_SIZE)
        format_units(buf, size, v, size_units);
    else
        snprintf(buf, size, "%" PRId64, v);
}

/* "1..10", "at least 1", "at most 10", or "" for no limit that matters. */
static void format_range(char *buf, size_t size, const td_cfg_entry *e)
{
    char lo[64], hi[64];
    bool has_lo = e->min != INT64_MIN, has_hi = e->max != INT64_MAX;

    if ((e->type == TD_CFG_TYPE_DURATION || e->type == TD_CFG_TYPE_SIZE) && e->min <= 0)
        has_lo = false; /* these are never negative anyway */
    format_value(lo, sizeof(lo), e, e->min);
    format_value(hi, sizeof(hi), e, e->max);
    if (has_lo && has_hi)
        snprintf(buf, size, "%s..%s", lo, hi);
    else if (has_lo)
        snprintf(buf, size, "at least %s", lo);
    else if (has_hi)
        snprintf(buf, size, "at most %s", hi);
    else
        buf[0] = '\0';
}

static size_t enum_count(const td_cfg_entry *e)
{
    size_t n = 0;

    while (e->enum_names && e->enum_names[n])
        n++;
    return n;
}

static void enum_list(char *buf, size_t size, const td_cfg_entry *e, const char *sep,
                      const char *quote)
{
    size_t i, o = 0;

    buf[0] = '\0';
    for (i = 0; e->enum_names && e->enum_names[i] && o < size; i++) {
        int w = snprintf(buf + o, size - o, "%s%s%s%s", i ? sep : "", quote,
                         e->enum_names[i], quote);
        if (w < 0)
            break;
        o += (size_t)w;
    }
}

/* Parses text by e's type and stores it at base. Returns 0, -EINVAL with why
 * (never showing a secret value) or -ENOMEM. */
static int parse_value(const td_cfg_entry *e, const char *text, const char *base_dir,
                       void *base, char *why, size_t whysz)
{
    char shown[CFG_SHOW_SIZE], range[160], names[512];
    const char *s;
    const char *bad, *end = NULL;
    int64_t v = 0;
    size_t i;
    char *copy;
    int r;

    if (e->flags & TD_CFG_SECRET)
        snprintf(shown, sizeof(shown), "%s", CFG_REDACTED);
    else
        show_str(shown, text);

    switch (e->type) {
    case TD_CFG_TYPE_STRING:
        copy = strdup(text);
        if (!copy)
            return -ENOMEM;
        set_string(base, e->offset, copy);
        return 0;
    case TD_CFG_TYPE_PATH:
        if (!text[0]) {
            cut_printf(why, whysz, "expected a path, got an empty string");
            return -EINVAL;
        }
        copy = resolve_path(base_dir, text);
        if (!copy)
            return -ENOMEM;
        set_string(base, e->offset, copy);
        return 0;
    case TD_CFG_TYPE_BOOL:
        if (!strcmp(text, "true") || !strcmp(text, "True") || !strcmp(text, "TRUE")) {
            set_bool(base, e->offset, true);
            return 0;
        }
        if (!strcmp(text, "false") || !strcmp(text, "False") || !strcmp(text, "FALSE")) {
            set_bool(base, e->offset, false);
            return 0;
        }
        cut_printf(why, whysz, "expected true or false, got %s", shown);
        return -EINVAL;
    case TD_CFG_TYPE_ENUM:
        for (i = 0; e->enum_names && e->enum_names[i]; i++)
            if (!strcmp(text, e->enum_names[i])) {
                set_int(base, e->offset, (int)i);
                return 0;
            }
        enum_list(names, sizeof(names), e, ", ", "");
        s = (e->flags & TD_CFG_SECRET) ? NULL
            : suggest(text, e->enum_names, enum_count(e), sizeof(*e->enum_names));
        if (s)
            cut_printf(why, whysz, "expected one of %s; got %s (did you mean \"%s\"?)",
                     names, shown, s);
        else
            cut_printf(why, whysz, "expected one of %s; got %s", names, shown);
        return -EINVAL;
    case TD_CFG_TYPE_INT:
        s = skip_spaces(text);
        bad = scan_int(s, &end, true, &v);
        if (!bad && *skip_spaces(end))
            bad = "not a decimal integer";
        if (bad) {
            if (!strcmp(bad, "not a number") || !strcmp(bad, "not a decimal integer"))
                cut_printf(why, whysz, "expected an integer, got %s", shown);
            else
                cut_printf(why, whysz, "expected an integer, got %s: %s", shown, bad);
            return -EINVAL;
        }
        break;
    case TD_CFG_TYPE_DURATION:
    case TD_CFG_TYPE_SIZE:
        if (e->type == TD_CFG_TYPE_DURATION)
            r = parse_units(text, duration_units, "a duration", "ms, s, m, h or d",
                            shown, &v, why, whysz);
        else
            r = parse_units(text, size_units, "a size",
                            "B, KiB, MiB, GiB, TiB or k, M, G, T", shown, &v, why, whysz);
        if (r < 0) {
            /* The reasons may quote a piece of the value. */
            if (e->flags & TD_CFG_SECRET)
                cut_printf(why, whysz, "expected %s, got %s", type_name(e), CFG_REDACTED);
            return r;
        }
        break;
    case TD_CFG_TYPE_END:
    case TD_CFG_TYPE_SECTION:
    case TD_CFG_TYPE_STRINGS:
    case TD_CFG_TYPE_SECTIONS:
    case TD_CFG_TYPE_KAFKA:
    case TD_CFG_TYPE_MAP:
    case TD_CFG_TYPE_MAPS:
        cut_printf(why, whysz, "not a scalar entry");
        return -EINVAL;
    }
    if (v < e->min || v > e->max) {
        format_range(range, sizeof(range), e);
        if (e->flags & TD_CFG_SECRET)
            cut_printf(why, whysz, "%s is out of range (%s)", CFG_REDACTED, range);
        else
            cut_printf(why, whysz, "%s is out of range (%s)", skip_spaces(text), range);
        return -EINVAL;
    }
    set_i64(base, e->offset, v);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* ${VAR}, ${VAR:-default}, ${file:path}, $${ */

static bool is_var_name(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

/* Returns the value of scalar n with substitutions, malloc'd, or NULL after
 * reporting (or on oom, which sets c->oom). */
static char *substitute(cfg_ctx *c, const node *n, const char *path, bool secret)
{
    const char *s = n->text, *end = n->text + n->len;
    td_str_buf b = {0};
    char shown[CFG_SHOW_SIZE];

    while (s < end) {
        const char *dollar = memchr(s, '$', (size_t)(end - s));
        const char *in, *close;
        size_t inlen;

        if (!dollar) {
            td_str_buf_addn(&b, s, (size_t)(end - s));
            break;
        }
        td_str_buf_addn(&b, s, (size_t)(dollar - s));
        s = dollar;
        if (end - s >= 3 && s[1] == '$' && s[2] == '{') {
            td_str_buf_add(&b, "${");
            s += 3;
            continue;
        }
        if (end - s < 2 || s[1] != '{') {
            td_str_buf_add(&b, "$");
            s++;
            continue;
        }
        in = s + 2;
        close = memchr(in, '}', (size_t)(end - in));
        if (!close) {
            report(c, n->line, n->col, "%s: \"${\" without a closing \"}\" (write "
                   "\"$${\" for a literal \"${\")", path);
            goto fail;
        }
        inlen = (size_t)(close - in);
        if (inlen >= 5 && memcmp(in, "file:", 5) == 0) {
            char *fpath, *rel = strndup(in + 5, inlen - 5), *data = NULL;
            size_t dlen = 0;
            mode_t mode = 0;
            int r;

            if (!rel) {
                c->oom = true;
                goto fail;
            }
            if (!rel[0]) {
                report(c, n->line, n->col, "%s: ${file:} needs a path", path);
                free(rel);
                goto fail;
            }
            fpath = resolve_path(c->base_dir, rel);
            if (!fpath) {
                free(rel);
                c->oom = true;
                goto fail;
            }
            r = read_file(fpath, CFG_SECRET_FILE_MAX, &data, &dlen, &mode);
            if (r == -ENOMEM) {
                c->oom = true;
            } else if (r < 0) {
                report(c, n->line, n->col, "%s: cannot read ${file:%s}: %s", path,
                       show_str(shown, fpath), strerror(-r));
            } else if (secret && (mode & (S_IROTH | S_IWOTH))) {
                /* A secret (a password, a key) in a file any user of the
                 * machine can read is no secret: refused, as the
                 * pseudonymisation key file is. Group access is the
                 * operator's choice (a tuodi group, mode 0640). */
                report(c, n->line, n->col, "%s: ${file:%s} holds a secret but is %s by "
                       "others (mode %04o): chmod o-rwx it", path, show_str(shown, fpath),
                       (mode & S_IROTH) ? "readable" : "writable", (unsigned)(mode & 07777));
                r = -EPERM;
            } else if (strlen(data) != dlen) {
                report(c, n->line, n->col, "%s: ${file:%s} holds a NUL byte", path,
                       show_str(shown, fpath));
                r = -EINVAL;
            } else {
                if (dlen > 0 && data[dlen - 1] == '\n')
                    dlen--;
                if (dlen > 0 && data[dlen - 1] == '\r')
                    dlen--;
                td_str_buf_addn(&b, data, dlen);
            }
            free(data);
            free(fpath);
            free(rel);
            if (r < 0)
                goto fail;
        } else {
            const char *dash = NULL, *val;
            size_t nlen = inlen, i;
            char *name;

            for (i = 0; i + 1 < inlen; i++)
                if (in[i] == ':' && in[i + 1] == '-') {
                    dash = in + i;
                    nlen = i;
                    break;
                }
            if (!is_var_name(in, nlen)) {
                if (secret)
                    report(c, n->line, n->col, "%s: invalid variable name in \"${...}\"",
                           path);
                else
                    report(c, n->line, n->col, "%s: invalid variable name %s in "
                           "\"${...}\" (write \"$${\" for a literal \"${\")", path,
                           show(shown, in, nlen));
                goto fail;
            }
            name = strndup(in, nlen);
            if (!name) {
                c->oom = true;
                goto fail;
            }
            val = getenv(name);
            if (dash && (!val || !val[0])) {
                td_str_buf_addn(&b, dash + 2, (size_t)(close - (dash + 2)));
            } else if (!val) {
                report(c, n->line, n->col, "%s: environment variable %s is not set "
                       "(use ${%s:-default} for a default)", path,
                       show_str(shown, name), name);
                free(name);
                goto fail;
            } else {
                td_str_buf_add(&b, val);
            }
            free(name);
        }
        s = close + 1;
    }
    {
        char *out = td_str_buf_steal(&b);

        if (!out)
            c->oom = true;
        return out;
    }
fail:
    free(b.p);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Step 2: the tree -> the struct, driven by the table. */

static pair *find_pair(node *map, const char *key)
{
    size_t i, kl = strlen(key);

    for (i = 0; map && i < map->n; i++) {
        pair *p = &map->pairs[i];

        if (!p->dup && p->key->kind == NODE_SCALAR && !p->key->bad &&
            p->key->len == kl && memcmp(p->key->text, key, kl) == 0)
            return p;
    }
    return NULL;
}

/* A copy of msg with every occurrence of value replaced, or NULL on oom.
 * td_kafka_conf_apply() already hides a quoted secret; this also catches an
 * unquoted one. */
static char *redact(const char *msg, const char *value)
{
    td_str_buf b = {0};
    size_t vl = strlen(value);
    const char *p = msg, *hit;

    if (vl == 0)
        return strdup(msg);
    while ((hit = strstr(p, value))) {
        td_str_buf_addn(&b, p, (size_t)(hit - p));
        td_str_buf_add(&b, CFG_REDACTED);
        p = hit + vl;
    }
    td_str_buf_add(&b, p);
    return td_str_buf_steal(&b);
}

static void fill_kafka(cfg_ctx *c, const td_cfg_entry *e, void *base, node *map,
                       const char *path)
{
    td_kafka_props *props = field(base, e->offset);
    rd_kafka_conf_t *conf;
    size_t i;

    td_kafka_props_clear(props);
    if (map->kind != NODE_MAP) {
        if (!map->null)
            report(c, map->line, map->col, "%s: expected %s, got %s", path,
                   type_name(e), node_kind_name(map));
        return;
    }
    conf = rd_kafka_conf_new();
    if (!conf) {
        c->oom = true;
        return;
    }
    for (i = 0; i < map->n; i++) {
        pair *p = &map->pairs[i];
        const node *k = p->key, *v = p->value;
        char sub[CFG_PATH_SIZE];
        char *value, *origin;
        bool secret;
        td_kafka_prop one;
        td_kafka_props view = {&one, 1};
        td_error kerr;
        int r;

        p->used = true;
        if (p->dup || k->bad || v->bad)
            continue;
        path_key(sub, path, k->text);
        secret = td_kafka_key_is_secret(k->text);
        if (v->kind != NODE_SCALAR || v->null) {
            report(c, v->line, v->col, "%s: expected a scalar value, got %s%s", sub,
                   node_kind_name(v), v->kind == NODE_MAP
                   ? " (write librdkafka's dotted names as keys: \"a.b: value\")" : "");
            continue;
        }
        value = substitute(c, v, sub, secret);
        if (!value)
            continue;
        origin = td_str_printf("%s:%d:%d", c->name, k->line, k->col);
        if (!origin) {
            c->oom = true;
            free(value);
            continue;
        }
        one.key = k->text;
        one.value = value;
        one.origin = origin;
        td_error_clear(&kerr);
        r = td_kafka_conf_apply(conf, &view, &kerr);
        if (r == -ENOMEM) {
            c->oom = true;
        } else if (r < 0) {
            char *text;

            if (!kerr.msg[0])
                snprintf(kerr.msg, sizeof(kerr.msg), "%s: %s: rejected by librdkafka",
                         origin, sub);
            text = secret ? redact(kerr.msg, value) : strdup(kerr.msg);
            diag_add_owned(c, k->line, k->col, text);
        } else if (td_kafka_props_add(props, k->text, value, origin) < 0) {
            c->oom = true;
        }
        free(origin);
        free(value);
    }
    rd_kafka_conf_destroy(conf);
}

static void map_clear(td_cfg_map *m)
{
    size_t i;

    for (i = 0; m->v && i < m->n; i++) {
        free(m->v[i].key);
        free(m->v[i].value);
        free(m->v[i].origin);
        free(m->v[i].value_origin);
    }
    free(m->v);
    m->v = NULL;
    m->n = 0;
}

static void maps_clear(td_cfg_maps *m)
{
    size_t i;

    for (i = 0; m->v && i < m->n; i++) {
        free(m->v[i].key);
        free(m->v[i].origin);
        map_clear(&m->v[i].map);
    }
    free(m->v);
    m->v = NULL;
    m->n = 0;
}

/* Is the key of p usable as a string key? Reports it when not. */
static bool map_key_ok(cfg_ctx *c, const pair *p, const char *path)
{
    const node *k = p->key;

    if (p->dup || k->bad || k->kind != NODE_SCALAR)
        return false; /* reported already */
    if (k->null) {
        report(c, k->line, k->col, "%s: a null key (write \"\" for an empty key)", path);
        return false;
    }
    return true;
}

/* Fills m (empty on entry) from map: string keys to string values. */
static void fill_map_node(cfg_ctx *c, td_cfg_map *m, node *map, const char *path, bool secret)
{
    size_t i;

    if (map->n == 0)
        return;
    m->v = calloc(map->n, sizeof(*m->v));
    if (!m->v) {
        c->oom = true;
        return;
    }
    for (i = 0; i < map->n; i++) {
        pair *p = &map->pairs[i];
        const node *v = p->value;
        td_cfg_pair *out = &m->v[m->n];
        char sub[CFG_PATH_SIZE];

        p->used = true;
        if (!map_key_ok(c, p, path) || v->bad)
            continue;
        path_key(sub, path, p->key->text);
        if (v->kind != NODE_SCALAR || v->null) {
            report(c, v->line, v->col, "%s: expected a string, got %s%s", sub,
                   node_kind_name(v), v->null ? " (write \"\" for an empty string)" : "");
            continue;
        }
        out->value = substitute(c, v, sub, secret);
        if (!out->value)
            continue;
        out->key = strdup(p->key->text);
        out->origin = td_str_printf("%s:%d:%d", c->name, p->key->line, p->key->col);
        out->value_origin = td_str_printf("%s:%d:%d", c->name, v->line, v->col);
        m->n++;
        if (!out->key || !out->origin || !out->value_origin)
            c->oom = true;
    }
}

static void fill_map(cfg_ctx *c, const td_cfg_entry *e, void *base, node *map,
                     const char *path)
{
    td_cfg_map *m = field(base, e->offset);

    map_clear(m);
    if (map->kind != NODE_MAP) {
        if (!map->null)
            report(c, map->line, map->col, "%s: expected %s, got %s", path, type_name(e),
                   node_kind_name(map));
        return;
    }
    fill_map_node(c, m, map, path, e->flags & TD_CFG_SECRET);
}

static void fill_maps(cfg_ctx *c, const td_cfg_entry *e, void *base, node *map,
                      const char *path)
{
    td_cfg_maps *m = field(base, e->offset);
    size_t i;

    maps_clear(m);
    if (map->kind != NODE_MAP) {
        if (!map->null)
            report(c, map->line, map->col, "%s: expected %s, got %s", path, type_name(e),
                   node_kind_name(map));
        return;
    }
    if (map->n == 0)
        return;
    m->v = calloc(map->n, sizeof(*m->v));
    if (!m->v) {
        c->oom = true;
        return;
    }
    for (i = 0; i < map->n; i++) {
        pair *p = &map->pairs[i];
        node *v = p->value;
        td_cfg_submap *out = &m->v[m->n];
        char sub[CFG_PATH_SIZE];

        p->used = true;
        if (!map_key_ok(c, p, path) || v->bad)
            continue;
        path_key(sub, path, p->key->text);
        if (v->kind != NODE_MAP && !v->null) {
            report(c, v->line, v->col, "%s: expected a mapping, got %s", sub,
                   node_kind_name(v));
            continue;
        }
        out->key = strdup(p->key->text);
        out->origin = td_str_printf("%s:%d:%d", c->name, p->key->line, p->key->col);
        m->n++;
        if (!out->key || !out->origin) {
            c->oom = true;
            continue;
        }
        if (v->kind == NODE_MAP)
            fill_map_node(c, &out->map, v, sub, e->flags & TD_CFG_SECRET);
    }
}

const td_cfg_pair *td_cfg_map_find(const td_cfg_map *m, const char *key)
{
    size_t i;

    for (i = 0; m && key && i < m->n; i++)
        if (strcmp(m->v[i].key, key) == 0)
            return &m->v[i];
    return NULL;
}

const td_cfg_submap *td_cfg_maps_find(const td_cfg_maps *m, const char *key)
{
    size_t i;

    for (i = 0; m && key && i < m->n; i++)
        if (strcmp(m->v[i].key, key) == 0)
            return &m->v[i];
    return NULL;
}

static int apply_defaults(const td_cfg_entry *table, void *base, const char *base_dir,
                          const char *path, td_error *err);
static void fill_section(cfg_ctx *c, const td_cfg_entry *table, void *base, node *map,
                         const char *path, int line, int col);

static void fill_strings(cfg_ctx *c, const td_cfg_entry *e, void *base, node *seq,
                         const char *path)
{
    char **v;
    size_t i, n = 0;

    if (seq->kind != NODE_SEQ) {
        if (!seq->null)
            report(c, seq->line, seq->col, "%s: expected %s, got %s", path,
                   type_name(e), node_kind_name(seq));
        return;
    }
    if (seq->n == 0)
        return;
    v = calloc(seq->n, sizeof(*v));
    if (!v) {
        c->oom = true;
        return;
    }
    for (i = 0; i < seq->n; i++) {
        node *it = seq->items[i];
        char sub[CFG_PATH_SIZE];

        path_index(sub, path, i);
        if (it->bad)
            continue;
        if (it->kind != NODE_SCALAR || it->null) {
            report(c, it->line, it->col, "%s: expected a string, got %s", sub,
                   node_kind_name(it));
            continue;
        }
        v[n] = substitute(c, it, sub, e->flags & TD_CFG_SECRET);
        if (v[n])
            n++;
    }
    set_ptr(base, e->offset, v);
    set_count(base, e->count_offset, n);
}

static void fill_sections(cfg_ctx *c, const td_cfg_entry *e, void *base, node *seq,
                          const char *path)
{
    char *v;
    size_t i;

    if (seq->kind != NODE_SEQ) {
        if (!seq->null)
            report(c, seq->line, seq->col, "%s: expected %s, got %s", path,
                   type_name(e), node_kind_name(seq));
        return;
    }
    if (seq->n == 0)
        return;
    v = calloc(seq->n, e->sub_size);
    if (!v) {
        c->oom = true;
        return;
    }
    set_ptr(base, e->offset, v);
    for (i = 0; i < seq->n; i++) {
        node *it = seq->items[i];
        void *elem = v + i * e->sub_size;
        char sub[CFG_PATH_SIZE];

        path_index(sub, path, i);
        /* The defaults were checked when the table was first walked. */
        if (apply_defaults(e->sub, elem, c->base_dir, sub, NULL) < 0) {
            c->oom = true;
            set_count(base, e->count_offset, i + 1);
            return;
        }
        set_count(base, e->count_offset, i + 1);
        if (it->bad)
            continue;
        if (it->kind != NODE_MAP) {
            report(c, it->line, it->col, "%s: expected a mapping, got %s", sub,
                   node_kind_name(it));
            continue;
        }
        fill_section(c, e->sub, elem, it, sub, it->line, it->col);
    }
}

static void fill_section(cfg_ctx *c, const td_cfg_entry *table, void *base, node *map,
                         const char *path, int line, int col)
{
    const td_cfg_entry *e;
    size_t i, nkeys = 0;
    char why[CFG_WHY_SIZE], sub[CFG_PATH_SIZE], buf[CFG_SHOW_SIZE];

    for (e = table; e->key; e++) {
        pair *p = find_pair(map, e->key);
        node *v;
        char *text;
        int r;

        nkeys++;
        path_key(sub, path, e->key);
        if (!p) {
            if (e->flags & TD_CFG_REQUIRED) {
                if (path[0])
                    report(c, line, col, "missing required key \"%s\" in \"%s\"",
                           e->key, path);
                else
                    report(c, line, col, "missing required key \"%s\"", e->key);
            } else if (e->type == TD_CFG_TYPE_SECTION && !(e->flags & TD_CFG_OPTIONAL)) {
                /* Absent section: its own required keys are still missing. */
                fill_section(c, e->sub, field(base, e->offset), NULL, sub, line, col);
            }
            continue;
        }
        p->used = true;
        v = p->value;
        if (v->bad)
            continue;
        switch (e->type) {
        case TD_CFG_TYPE_SECTION:
            if (v->kind == NODE_MAP || v->null)
                fill_section(c, e->sub, field(base, e->offset),
                             v->kind == NODE_MAP ? v : NULL, sub, v->line, v->col);
            else
                report(c, v->line, v->col, "%s: expected a mapping, got %s", sub,
                       node_kind_name(v));
            break;
        case TD_CFG_TYPE_STRINGS:
            fill_strings(c, e, base, v, sub);
            break;
        case TD_CFG_TYPE_SECTIONS:
            fill_sections(c, e, base, v, sub);
            break;
        case TD_CFG_TYPE_KAFKA:
            fill_kafka(c, e, base, v, sub);
            break;
        case TD_CFG_TYPE_MAP:
            fill_map(c, e, base, v, sub);
            break;
        case TD_CFG_TYPE_MAPS:
            fill_maps(c, e, base, v, sub);
            break;
        case TD_CFG_TYPE_STRING:
        case TD_CFG_TYPE_PATH:
        case TD_CFG_TYPE_INT:
        case TD_CFG_TYPE_BOOL:
        case TD_CFG_TYPE_ENUM:
        case TD_CFG_TYPE_DURATION:
        case TD_CFG_TYPE_SIZE:
        case TD_CFG_TYPE_END:
            if (v->kind != NODE_SCALAR) {
                report(c, v->line, v->col, "%s: expected %s, got %s", sub, type_name(e),
                       node_kind_name(v));
                break;
            }
            if (v->null) {
                report(c, v->line, v->col, "%s: expected %s, got null (remove the key "
                       "for the default%s)", sub, type_name(e),
                       e->type == TD_CFG_TYPE_STRING ? ", or write \"\" for an empty string"
                       : "");
                break;
            }
            text = substitute(c, v, sub, e->flags & TD_CFG_SECRET);
            if (!text)
                break;
            r = parse_value(e, text, c->base_dir, base, why, sizeof(why));
            free(text);
            if (r == -ENOMEM)
                c->oom = true;
            else if (r < 0)
                report(c, v->line, v->col, "%s: %s", sub, why);
            break;
        }
    }
    for (i = 0; map && i < map->n; i++) {
        const pair *p = &map->pairs[i];
        const char *s;
        char in[CFG_PATH_SIZE + 8];

        if (p->used || p->dup || p->key->bad || p->key->kind != NODE_SCALAR)
            continue;
        if (ctx_full(c)) {
            c->dropped++;
            continue;
        }
        if (path[0])
            snprintf(in, sizeof(in), " in \"%s\"", path);
        else
            in[0] = '\0';
        s = suggest(p->key->text, &table->key, nkeys, sizeof(*table));
        if (s)
            report(c, p->key->line, p->key->col, "unknown key %s%s (did you mean \"%s\"?)",
                   show_key(buf, p->key->text, p->key->len), in, s);
        else
            report(c, p->key->line, p->key->col, "unknown key %s%s",
                   show_key(buf, p->key->text, p->key->len), in);
    }
}

/* Fills every default of table into base (which holds no owned values yet).
 * A bad default is the program's bug: -EINVAL with the entry named in err. */
static int apply_defaults(const td_cfg_entry *table, void *base, const char *base_dir,
                          const char *path, td_error *err)
{
    const td_cfg_entry *e;
    char why[CFG_WHY_SIZE], sub[CFG_PATH_SIZE];
    int r;

    for (e = table; e->key; e++) {
        path_key(sub, path, e->key);
        switch (e->type) {
        case TD_CFG_TYPE_STRING:
        case TD_CFG_TYPE_PATH:
        case TD_CFG_TYPE_INT:
        case TD_CFG_TYPE_BOOL:
        case TD_CFG_TYPE_DURATION:
        case TD_CFG_TYPE_SIZE:
        case TD_CFG_TYPE_ENUM:
            if (e->type == TD_CFG_TYPE_ENUM && enum_count(e) == 0)
                return td_error_set(err, -EINVAL, "config table: %s: an enum without "
                                    "names", sub);
            if (!e->def || (e->flags & TD_CFG_REQUIRED))
                break;
            r = parse_value(e, e->def, base_dir, base, why, sizeof(why));
            if (r == -ENOMEM)
                return td_error_set(err, r, "out of memory");
            if (r < 0)
                return td_error_set(err, r, "config table: %s: bad default: %s", sub,
                                    why);
            break;
        case TD_CFG_TYPE_SECTION:
            if (!e->sub)
                return td_error_set(err, -EINVAL, "config table: %s: a section "
                                    "without a table", sub);
            r = apply_defaults(e->sub, field(base, e->offset), base_dir, sub, err);
            if (r < 0)
                return r;
            break;
        case TD_CFG_TYPE_SECTIONS:
            if (!e->sub || e->sub_size == 0)
                return td_error_set(err, -EINVAL, "config table: %s: a list of "
                                    "sections without a table", sub);
            if (err) {
                /* Check the element defaults once, on a scratch element. */
                void *tmp = calloc(1, e->sub_size);
                char isub[CFG_PATH_SIZE];

                if (!tmp)
                    return td_error_set(err, -ENOMEM, "out of memory");
                cut_printf(isub, sizeof(isub), "%s[]", sub);
                r = apply_defaults(e->sub, tmp, base_dir, isub, err);
                td_config_free(e->sub, tmp);
                free(tmp);
                if (r < 0)
                    return r;
            }
            break;
        case TD_CFG_TYPE_STRINGS:
        case TD_CFG_TYPE_KAFKA:
        case TD_CFG_TYPE_MAP:
        case TD_CFG_TYPE_MAPS:
            break;
        case TD_CFG_TYPE_END:
            return td_error_set(err, -EINVAL, "config table: %s: no type", sub);
        }
    }
    return 0;
}

/* Whether the top-level mapping root is some other file: two keys or more,
 * none of them a key of table and none close to one (a rules path pointing
 * at /etc/shadow, whose lines YAML reads as keys). Then one message says so,
 * instead of a problem per line that copies the file into the log. */
static bool foreign_file(cfg_ctx *c, const td_cfg_entry *table, const node *root)
{
    const td_cfg_entry *e;
    size_t i, nkeys = 0, o = 0;
    char expect[256];

    if (root->n < 2)
        return false;
    for (e = table; e->key; e++)
        nkeys++;
    for (i = 0; i < root->n; i++) {
        const node *k = root->pairs[i].key;

        if (k->kind != NODE_SCALAR || k->bad)
            continue;
        for (e = table; e->key; e++)
            if (strcmp(e->key, k->text) == 0)
                return false;
        if (suggest(k->text, &table->key, nkeys, sizeof(*table)))
            return false;
    }
    expect[0] = '\0';
    for (e = table; e->key && o + 40 < sizeof(expect); e++) {
        if (!(e->flags & TD_CFG_REQUIRED) && e != table)
            continue;
        o += (size_t)snprintf(expect + o, sizeof(expect) - o, "%s%s", o ? ", " : "", e->key);
    }
    report(c, root->line, root->col, "not a file of this kind: none of its %zu top-level "
           "keys is known (it needs keys such as %s); is the path right?", root->n, expect);
    return true;
}

static int load_buffer(const td_cfg_entry *table, const char *name, const char *base_dir,
                       const char *buf, size_t len, void *out, td_error *err)
{
    cfg_ctx c = {.name = name, .base_dir = base_dir};
    node *root = NULL;
    int r;

    td_error_clear(err);
    r = apply_defaults(table, out, base_dir, "", err);
    if (r < 0)
        goto fail;
    if (len > TD_CONFIG_MAX_BYTES) {
        r = td_error_set(err, -EFBIG, "%s: larger than %u bytes", name,
                         TD_CONFIG_MAX_BYTES);
        goto fail;
    }
    r = build_tree(&c, buf, len, &root);
    if (r == 0) {
        if (!root || (root->kind == NODE_SCALAR && root->null))
            fill_section(&c, table, out, NULL, "", 1, 1);
        else if (root->kind == NODE_MAP) {
            if (!foreign_file(&c, table, root))
                fill_section(&c, table, out, root, "", root->line, root->col);
        }
        else if (!root->bad)
            report(&c, root->line, root->col, "expected a mapping of keys to values at "
                   "the top, got %s", node_kind_name(root));
    }
    node_free(root);
    r = ctx_finish(&c, err);
    ctx_done(&c);
    if (r < 0)
        goto fail;
    return 0;
fail:
    td_config_free(table, out);
    return r;
}

int td_config_load_string(const td_cfg_entry *table, const char *name,
                          const char *yaml, void *out, td_error *err)
{
    char *dir = NULL;
    const char *slash;
    int r;

    if (!table || !yaml || !out)
        return td_error_set(err, -EINVAL, "td_config_load_string: missing argument");
    if (!name)
        name = "<string>";
    slash = strrchr(name, '/');
    if (slash) {
        dir = dir_of(name);
        if (!dir)
            return td_error_set(err, -ENOMEM, "out of memory");
    }
    r = load_buffer(table, name, dir, yaml, strlen(yaml), out, err);
    free(dir);
    return r;
}

int td_config_load_file(const td_cfg_entry *table, const char *path, void *out,
                        td_error *err)
{
    char *buf = NULL, *dir = NULL, *abs_dir;
    size_t len = 0;
    int r;

    if (!table || !path || !out)
        return td_error_set(err, -EINVAL, "td_config_load_file: missing argument");
    r = read_all(path, TD_CONFIG_MAX_BYTES, &buf, &len);
    if (r == -EFBIG)
        return td_error_set(err, r, "%s: larger than %u bytes", path,
                            TD_CONFIG_MAX_BYTES);
    if (r < 0)
        return td_error_set(err, r, "%s: cannot read: %s", path, strerror(-r));
    dir = dir_of(path);
    if (!dir) {
        free(buf);
        return td_error_set(err, -ENOMEM, "out of memory");
    }
    abs_dir = realpath(dir, NULL);
    if (abs_dir) {
        free(dir);
        dir = abs_dir;
    }
    r = load_buffer(table, path, dir, buf, len, out, err);
    free(dir);
    free(buf);
    return r;
}

/* The value under key in map: the key equal to the whole of rest, or, for a
 * mapping value, a key that rest starts with followed by '.' (keys may hold
 * dots themselves: "kafka" -> "ssl.ca.location"). */
static const node *origin_find(const node *map, const char *rest)
{
    for (size_t i = 0; map && map->kind == NODE_MAP && i < map->n; i++) {
        const pair *p = &map->pairs[i];
        const node *k = p->key;

        if (k->kind != NODE_SCALAR || k->bad || strlen(k->text) != k->len)
            continue;
        if (strcmp(k->text, rest) == 0)
            return k;
        if (strncmp(k->text, rest, k->len) == 0 && rest[k->len] == '.' && p->value &&
            p->value->kind == NODE_MAP) {
            const node *found = origin_find(p->value, rest + k->len + 1);
            if (found)
                return found;
        }
    }
    return NULL;
}

int td_config_origin(const char *path, const char *key_path, char *buf, size_t size)
{
    cfg_ctx c = {.name = path};
    node *root = NULL;
    const node *k;
    char *text = NULL;
    size_t len = 0;
    int r;

    if (!path || !key_path || !buf || size == 0)
        return -EINVAL;
    snprintf(buf, size, "%s", path);
    r = read_all(path, TD_CONFIG_MAX_BYTES, &text, &len);
    if (r < 0)
        return r;
    r = build_tree(&c, text, len, &root);
    free(text);
    ctx_done(&c);
    if (r < 0) {
        node_free(root);
        return r;
    }
    k = origin_find(root, key_path);
    if (k)
        snprintf(buf, size, "%s:%d:%d", path, k->line, k->col);
    node_free(root);
    return k ? 0 : -ENOENT;
}

void td_config_free(const td_cfg_entry *table, void *out)
{
    const td_cfg_entry *e;

    if (!table || !out)
        return;
    for (e = table; e->key; e++) {
        switch (e->type) {
        case TD_CFG_TYPE_STRING:
        case TD_CFG_TYPE_PATH:
            set_string(out, e->offset, NULL);
            break;
        case TD_CFG_TYPE_INT:
        case TD_CFG_TYPE_DURATION:
        case TD_CFG_TYPE_SIZE:
            set_i64(out, e->offset, 0);
            break;
        case TD_CFG_TYPE_BOOL:
            set_bool(out, e->offset, false);
            break;
        case TD_CFG_TYPE_ENUM:
            set_int(out, e->offset, 0);
            break;
        case TD_CFG_TYPE_SECTION:
            td_config_free(e->sub, field(out, e->offset));
            break;
        case TD_CFG_TYPE_STRINGS: {
            char **v = get_ptr(out, e->offset);
            size_t i, n = get_count(out, e->count_offset);

            for (i = 0; v && i < n; i++)
                free(v[i]);
            free(v);
            set_ptr(out, e->offset, NULL);
            set_count(out, e->count_offset, 0);
            break;
        }
        case TD_CFG_TYPE_SECTIONS: {
            char *v = get_ptr(out, e->offset);
            size_t i, n = get_count(out, e->count_offset);

            for (i = 0; v && i < n; i++)
                td_config_free(e->sub, v + i * e->sub_size);
            free(v);
            set_ptr(out, e->offset, NULL);
            set_count(out, e->count_offset, 0);
            break;
        }
        case TD_CFG_TYPE_KAFKA:
            td_kafka_props_clear(field(out, e->offset));
            break;
        case TD_CFG_TYPE_MAP:
            map_clear(field(out, e->offset));
            break;
        case TD_CFG_TYPE_MAPS:
            maps_clear(field(out, e->offset));
            break;
        case TD_CFG_TYPE_END:
            break;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* The Markdown reference. */

/* Writes s into a table cell: '|' escaped, line breaks as spaces. */
static void md_cell(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else if (*s == '\n' || *s == '\r')
            fputc(' ', f);
        else
            fputc(*s, f);
    }
}

static const char *ref_type(const td_cfg_entry *e)
{
    switch (e->type) {
    case TD_CFG_TYPE_STRING:
        return "string";
    case TD_CFG_TYPE_INT:
        return "integer";
    case TD_CFG_TYPE_BOOL:
        return "boolean";
    case TD_CFG_TYPE_ENUM:
        return "enum";
    case TD_CFG_TYPE_DURATION:
        return "duration";
    case TD_CFG_TYPE_SIZE:
        return "size";
    case TD_CFG_TYPE_PATH:
        return "path";
    case TD_CFG_TYPE_SECTION:
        return "section";
    case TD_CFG_TYPE_STRINGS:
        return "list of strings";
    case TD_CFG_TYPE_SECTIONS:
        return "list of sections";
    case TD_CFG_TYPE_KAFKA:
        return "librdkafka properties";
    case TD_CFG_TYPE_MAP:
        return "mapping of strings";
    case TD_CFG_TYPE_MAPS:
        return "mapping of mappings";
    case TD_CFG_TYPE_END:
        break;
    }
    return "?";
}

static void write_rows(FILE *f, const td_cfg_entry *table, const char *path)
{
    const td_cfg_entry *e;

    for (e = table; e->key; e++) {
        char sub[CFG_PATH_SIZE], buf[512];

        path_key(sub, path, e->key);
        fputs("| `", f);
        md_cell(f, sub);
        fputs("` | ", f);
        fputs(ref_type(e), f);
        if (e->flags & TD_CFG_SECRET)
            fputs(" (secret)", f);
        fputs(" | ", f);
        if (e->flags & TD_CFG_REQUIRED) {
            fputs("**required**", f);
        } else {
            switch (e->type) {
            case TD_CFG_TYPE_STRING:
            case TD_CFG_TYPE_PATH:
            case TD_CFG_TYPE_INT:
            case TD_CFG_TYPE_DURATION:
            case TD_CFG_TYPE_SIZE:
            case TD_CFG_TYPE_BOOL:
            case TD_CFG_TYPE_ENUM:
                if (e->def) {
                    fputc('`', f);
                    md_cell(f, e->def);
                    fputc('`', f);
                } else if (e->type == TD_CFG_TYPE_STRING || e->type == TD_CFG_TYPE_PATH) {
                    fputs("(none)", f);
                } else if (e->type == TD_CFG_TYPE_BOOL) {
                    fputs("`false`", f);
                } else if (e->type == TD_CFG_TYPE_ENUM) {
                    fprintf(f, "`%s`", e->enum_names ? e->enum_names[0] : "");
                } else {
                    fputs("`0`", f);
                }
                break;
            case TD_CFG_TYPE_STRINGS:
            case TD_CFG_TYPE_SECTIONS:
            case TD_CFG_TYPE_KAFKA:
            case TD_CFG_TYPE_MAP:
            case TD_CFG_TYPE_MAPS:
                fputs("(empty)", f);
                break;
            case TD_CFG_TYPE_SECTION:
            case TD_CFG_TYPE_END:
                break;
            }
        }
        fputs(" | ", f);
        buf[0] = '\0';
        switch (e->type) {
        case TD_CFG_TYPE_INT:
        case TD_CFG_TYPE_DURATION:
        case TD_CFG_TYPE_SIZE:
            format_range(buf, sizeof(buf), e);
            md_cell(f, buf);
            break;
        case TD_CFG_TYPE_ENUM:
            enum_list(buf, sizeof(buf), e, ", ", "`");
            md_cell(f, buf);
            break;
        case TD_CFG_TYPE_BOOL:
            fputs("`true`, `false`", f);
            break;
        case TD_CFG_TYPE_KAFKA:
            fputs("any property librdkafka accepts", f);
            break;
        case TD_CFG_TYPE_MAP:
            fputs("any keys, string values", f);
            break;
        case TD_CFG_TYPE_MAPS:
            fputs("any keys, each a mapping of strings", f);
            break;
        case TD_CFG_TYPE_STRING:
        case TD_CFG_TYPE_PATH:
        case TD_CFG_TYPE_SECTION:
        case TD_CFG_TYPE_STRINGS:
        case TD_CFG_TYPE_SECTIONS:
        case TD_CFG_TYPE_END:
            break;
        }
        fputs(" | ", f);
        md_cell(f, e->doc);
        fputs(" |\n", f);
        if (e->type == TD_CFG_TYPE_SECTION && e->sub) {
            write_rows(f, e->sub, sub);
        } else if (e->type == TD_CFG_TYPE_SECTIONS && e->sub) {
            snprintf(buf, sizeof(buf), "%s[]", sub);
            write_rows(f, e->sub, buf);
        }
    }
}

int td_config_write_reference(const td_cfg_entry *table, FILE *f)
{
    if (!table || !f)
        return -EINVAL;
    fputs("| Key | Type | Default | Allowed | Description |\n"
          "|-----|------|---------|---------|-------------|\n", f);
    write_rows(f, table, "");
    return ferror(f) ? -EIO : 0;
}
