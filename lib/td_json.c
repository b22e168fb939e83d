#include "td_json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct td_json_parser {
    const char *name;
    const unsigned char *p, *end, *line_start;
    int line;
    td_error *err;
    int rc;
} td_json_parser;

static int td_json_col(const td_json_parser *ps)
{
    return (int)(ps->p - ps->line_start) + 1;
}

__attribute__((format(printf, 2, 3)))
static int td_json_fail(td_json_parser *ps, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    if (ps->rc)
        return ps->rc;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ps->rc = td_error_set(ps->err, -EINVAL, "%s:%d:%d: %s", ps->name, ps->line,
                          td_json_col(ps), msg);
    return ps->rc;
}

static int td_json_oom(td_json_parser *ps)
{
    if (!ps->rc)
        ps->rc = td_error_set(ps->err, -ENOMEM, "%s: out of memory", ps->name);
    return ps->rc;
}

static void td_json_skip_ws(td_json_parser *ps)
{
    while (ps->p < ps->end) {
        unsigned char c = *ps->p;
        if (c == '\n') {
            ps->p++;
            ps->line++;
            ps->line_start = ps->p;
        } else if (c == ' ' || c == '\t' || c == '\r') {
            ps->p++;
        } else {
            break;
        }
    }
}

td_json *td_json_free(td_json *j)
{
    if (!j)
        return NULL;
    if (j->items) {
        for (size_t i = 0; i < j->len; i++)
            td_json_free(j->items[i]);
        free(j->items);
    }
    if (j->keys) {
        for (size_t i = 0; i < j->len; i++)
            free(j->keys[i]);
        free(j->keys);
    }
    free(j->text);
    free(j);
    return NULL;
}

static td_json *td_json_node(td_json_parser *ps, td_json_type t)
{
    td_json *j = calloc(1, sizeof(*j));

    if (!j) {
        td_json_oom(ps);
        return NULL;
    }
    j->type = t;
    j->line = ps->line;
    j->col = td_json_col(ps);
    return j;
}

/* Appends one UTF-8 encoded code point. */
static size_t td_json_put_utf8(unsigned char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Length of the valid UTF-8 sequence at p (1-4), 0 if invalid. */
static size_t td_json_utf8_len(const unsigned char *p, const unsigned char *end)
{
    size_t n;
    uint32_t cp;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xC2 && p[0] <= 0xDF)
        n = 2, cp = p[0] & 0x1F;
    else if (p[0] >= 0xE0 && p[0] <= 0xEF)
        n = 3, cp = p[0] & 0x0F;
    else if (p[0] >= 0xF0 && p[0] <= 0xF4)
        n = 4, cp = p[0] & 0x07;
    else
        return 0;
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return n;
}

static int td_json_hex4(td_json_parser *ps, uint32_t *ret)
{
    uint32_t v = 0;

    if (ps->end - ps->p < 4)
        return td_json_fail(ps, "truncated \\u escape");
    for (int i = 0; i < 4; i++) {
        unsigned char c = ps->p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t)(c - 'A' + 10);
        else
            return td_json_fail(ps, "bad hex digit in \\u escape");
    }
    ps->p += 4;
    *ret = v;
    return 0;
}

/* At the opening quote. Decodes into a malloc'd buffer. */
static int td_json_string(td_json_parser *ps, char **ret, size_t *ret_len)
{
    const unsigned char *start = ++ps->p;
    unsigned char *out, *w;

    /* The decoded text is never longer than the raw text. */
    while (ps->p < ps->end && *ps->p != '"') {
        if (*ps->p == '\\' && ps->p + 1 < ps->end)
            ps->p++;
        ps->p++;
    }
    if (ps->p >= ps->end) {
        ps->p = start - 1;
        return td_json_fail(ps, "unterminated string");
    }
    out = malloc((size_t)(ps->p - start) + 1);
    if (!out)
        return td_json_oom(ps);
    w = out;
    ps->p = start;
    while (*ps->p != '"') {
        unsigned char c = *ps->p;
        if (c < 0x20) {
            free(out);
            return td_json_fail(ps, "control character in string");
        }
        if (c != '\\') {
            size_t n = td_json_utf8_len(ps->p, ps->end);
            if (n == 0) {
                free(out);
                return td_json_fail(ps, "invalid UTF-8 in string");
            }
            memcpy(w, ps->p, n);
            w += n;
            ps->p += n;
            continue;
        }
        ps->p++;
        c = *ps->p++;
        switch (c) {
        case '"': *w++ = '"'; break;
        case '\\': *w++ = '\\'; break;
        case '/': *w++ = '/'; break;
        case 'b': *w++ = '\b'; break;
        case 'f': *w++ = '\f'; break;
        case 'n': *w++ = '\n'; break;
        case 'r': *w++ = '\r'; break;
        case 't': *w++ = '\t'; break;
        case 'u': {
            uint32_t cp, lo;
            if (td_json_hex4(ps, &cp) < 0) {
                free(out);
                return ps->rc;
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u') {
                    free(out);
                    return td_json_fail(ps, "lone surrogate in \\u escape");
                }
                ps->p += 2;
                if (td_json_hex4(ps, &lo) < 0) {
                    free(out);
                    return ps->rc;
                }
                if (lo < 0xDC00 || lo > 0xDFFF) {
                    free(out);
                    return td_json_fail(ps, "lone surrogate in \\u escape");
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                free(out);
                return td_json_fail(ps, "lone surrogate in \\u escape");
            }
            /* \uXXXX is 6 raw bytes and at most 3 decoded; a pair is 12 -> 4 */
            w += td_json_put_utf8(w, cp);
            break;
        }
        default:
            ps->p -= 2;
            free(out);
            return td_json_fail(ps, "bad escape in string");
        }
    }
    ps->p++; /* closing quote */
    *w = '\0';
    *ret = (char *)out;
    *ret_len = (size_t)(w - out);
    return 0;
}

static int td_json_number(td_json_parser *ps, td_json *j)
{
    const unsigned char *s = ps->p;
    bool integer = true;
    char buf[64];
    size_t n;

    if (ps->p < ps->end && *ps->p == '-')
        ps->p++;
    if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
        return td_json_fail(ps, "bad number");
    if (*ps->p == '0') {
        ps->p++;
        if (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            return td_json_fail(ps, "leading zero in number");
    } else {
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            ps->p++;
    }
    if (ps->p < ps->end && *ps->p == '.') {
        integer = false;
        ps->p++;
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
            return td_json_fail(ps, "bad number: digit expected after '.'");
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            ps->p++;
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        integer = false;
        ps->p++;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
            ps->p++;
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
            return td_json_fail(ps, "bad number: digit expected in exponent");
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            ps->p++;
    }
    n = (size_t)(ps->p - s);
    if (n >= sizeof(buf))
        return td_json_fail(ps, "number too long");
    memcpy(buf, s, n);
    buf[n] = '\0';
    j->number = strtod(buf, NULL);
    if (integer) {
        char *e;
        errno = 0;
        long long v = strtoll(buf, &e, 10);
        if (errno == 0 && *e == '\0') {
            j->is_integer = true;
            j->integer = v;
        }
    }
    return 0;
}

static int td_json_literal(td_json_parser *ps, const char *word)
{
    size_t n = strlen(word);

    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return td_json_fail(ps, "unexpected character '%c'", *ps->p);
    ps->p += n;
    return 0;
}

static int td_json_value(td_json_parser *ps, int depth, td_json **ret);

static int td_json_push(td_json_parser *ps, td_json *j, size_t *cap, td_json *item, char *key)
{
    if (j->len == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        td_json **ni = realloc(j->items, ncap * sizeof(*ni));
        if (!ni)
            return td_json_oom(ps);
        j->items = ni;
        if (j->type == TD_JSON_OBJECT) {
            char **nk = realloc(j->keys, ncap * sizeof(*nk));
            if (!nk)
                return td_json_oom(ps);
            j->keys = nk;
        }
        *cap = ncap;
    }
    j->items[j->len] = item;
    if (j->type == TD_JSON_OBJECT)
        j->keys[j->len] = key;
    j->len++;
    return 0;
}

static int td_json_array(td_json_parser *ps, int depth, td_json *j)
{
    size_t cap = 0;

    ps->p++; /* [ */
    td_json_skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        return 0;
    }
    for (;;) {
        td_json *item = NULL;
        if (td_json_value(ps, depth + 1, &item) < 0)
            return ps->rc;
        if (td_json_push(ps, j, &cap, item, NULL) < 0) {
            td_json_free(item);
            return ps->rc;
        }
        td_json_skip_ws(ps);
        if (ps->p >= ps->end)
            return td_json_fail(ps, "unterminated array");
        if (*ps->p == ',') {
            ps->p++;
            continue;
        }
        if (*ps->p == ']') {
            ps->p++;
            return 0;
        }
        return td_json_fail(ps, "expected ',' or ']' in array");
    }
}

static int td_json_object(td_json_parser *ps, int depth, td_json *j)
{
    size_t cap = 0;

    ps->p++; /* { */
    td_json_skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return 0;
    }
    for (;;) {
        char *key = NULL;
        size_t klen;
        int kline, kcol;
        td_json *val = NULL;

        td_json_skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != '"')
            return td_json_fail(ps, "expected a string key in object");
        kline = ps->line;
        kcol = td_json_col(ps);
        if (td_json_string(ps, &key, &klen) < 0)
            return ps->rc;
        if (strlen(key) != klen) {
            free(key);
            return td_json_fail(ps, "NUL character in object key");
        }
        for (size_t i = 0; i < j->len; i++) {
            if (strcmp(j->keys[i], key) == 0) {
                free(key);
                ps->rc = td_error_set(ps->err, -EINVAL,
                                      "%s:%d:%d: duplicate key \"%s\" (first at line %d, column %d)",
                                      ps->name, kline, kcol, j->keys[i], j->items[i]->line,
                                      j->items[i]->col);
                return ps->rc;
            }
        }
        td_json_skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != ':') {
            free(key);
            return td_json_fail(ps, "expected ':' after object key");
        }
        ps->p++;
        if (td_json_value(ps, depth + 1, &val) < 0) {
            free(key);
            return ps->rc;
        }
        if (td_json_push(ps, j, &cap, val, key) < 0) {
            free(key);
            td_json_free(val);
            return ps->rc;
        }
        td_json_skip_ws(ps);
        if (ps->p >= ps->end)
            return td_json_fail(ps, "unterminated object");
        if (*ps->p == ',') {
            ps->p++;
            continue;
        }
        if (*ps->p == '}') {
            ps->p++;
            return 0;
        }
        return td_json_fail(ps, "expected ',' or '}' in object");
    }
}

static int td_json_value(td_json_parser *ps, int depth, td_json **ret)
{
    td_json *j = NULL;

    td_json_skip_ws(ps);
    if (ps->p >= ps->end)
        return td_json_fail(ps, "unexpected end of input");
    if (depth > TD_JSON_MAX_DEPTH)
        return td_json_fail(ps, "nesting deeper than %d", TD_JSON_MAX_DEPTH);

    switch (*ps->p) {
    case '{':
        if (!(j = td_json_node(ps, TD_JSON_OBJECT)))
            return ps->rc;
        td_json_object(ps, depth, j);
        break;
    case '[':
        if (!(j = td_json_node(ps, TD_JSON_ARRAY)))
            return ps->rc;
        td_json_array(ps, depth, j);
        break;
    case '"':
        if (!(j = td_json_node(ps, TD_JSON_STRING)))
            return ps->rc;
        td_json_string(ps, &j->text, &j->len);
        break;
    case 't':
    case 'f':
        if (!(j = td_json_node(ps, TD_JSON_BOOL)))
            return ps->rc;
        j->boolean = *ps->p == 't';
        td_json_literal(ps, j->boolean ? "true" : "false");
        break;
    case 'n':
        if (!(j = td_json_node(ps, TD_JSON_NULL)))
            return ps->rc;
        td_json_literal(ps, "null");
        break;
    default:
        if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9')) {
            if (!(j = td_json_node(ps, TD_JSON_NUMBER)))
                return ps->rc;
            td_json_number(ps, j);
        } else {
            return td_json_fail(ps, "unexpected character '%c'", *ps->p);
        }
    }
    if (ps->rc) {
        td_json_free(j);
        return ps->rc;
    }
    *ret = j;
    return 0;
}

int td_json_parse(const char *name, const char *text, size_t len, td_json **ret,
                  td_error *err)
{
    td_json_parser ps = {
        .name = name ? name : "<json>",
        .p = (const unsigned char *)text,
        .end = (const unsigned char *)text + len,
        .line_start = (const unsigned char *)text,
        .line = 1,
        .err = err,
    };
    td_json *j = NULL;

    /* a UTF-8 byte order mark is tolerated */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        ps.p += 3, ps.line_start += 3;
    if (td_json_value(&ps, 0, &j) < 0)
        return ps.rc;
    td_json_skip_ws(&ps);
    if (ps.p < ps.end) {
        td_json_free(j);
        return td_json_fail(&ps, "unexpected text after the JSON value");
    }
    *ret = j;
    return 0;
}

const td_json *td_json_get(const td_json *o, const char *key)
{
    if (!o || o->type != TD_JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < o->len; i++)
        if (strcmp(o->keys[i], key) == 0)
            return o->items[i];
    return NULL;
}

const char *td_json_get_string(const td_json *o, const char *key)
{
    const td_json *v = td_json_get(o, key);
    return (v && v->type == TD_JSON_STRING) ? v->text : NULL;
}

const char *td_json_type_name(td_json_type t)
{
    switch (t) {
    case TD_JSON_NULL: return "null";
    case TD_JSON_BOOL: return "boolean";
    case TD_JSON_NUMBER: return "number";
    case TD_JSON_STRING: return "string";
    case TD_JSON_ARRAY: return "array";
    case TD_JSON_OBJECT: return "object";
    }
    return "?";
}
