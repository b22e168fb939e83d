/* td_avro_json: date and timestamp-millis, values to and from JSON, defaults. */
#include "td_avro.h"
#include "td_avro_private.h"
#include "td_date.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------- logical types */

/* The calendar arithmetic is td_date's (proleptic Gregorian, years 1 to
 * 9999); what is here is the strict ISO-8601 text of Avro values. */
#define TD_DAY_MIN INT64_C(-719162) /* 0001-01-01 */
#define TD_DAY_MAX INT64_C(2932896) /* 9999-12-31 */
#define TD_MS_PER_DAY INT64_C(86400000)

int td_avro_date_format(int32_t days, char out[TD_AVRO_DATE_BUFSZ])
{
    int y, m, d;

    if (days < TD_DAY_MIN || days > TD_DAY_MAX)
        return -ERANGE;
    td_date_to_ymd(days, &y, &m, &d);
    snprintf(out, TD_AVRO_DATE_BUFSZ, "%04d-%02d-%02d", y, m, d);
    return 0;
}

static bool td_digits(const char *s, size_t n, unsigned *ret)
{
    unsigned v = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *ret = v;
    return true;
}

/* "YYYY-MM-DD" at s (10 bytes) -> days. */
static int td_parse_ymd(const char *s, int64_t *ret_days)
{
    unsigned y, m, d;
    int32_t days;

    if (!td_digits(s, 4, &y) || s[4] != '-' || !td_digits(s + 5, 2, &m) || s[7] != '-' ||
        !td_digits(s + 8, 2, &d))
        return -EINVAL;
    if (!td_date_from_ymd((int)y, (int)m, (int)d, &days))
        return -ERANGE;
    *ret_days = days;
    return 0;
}

int td_avro_date_parse(const char *s, size_t len, int32_t *ret_days, td_error *err)
{
    int64_t days;
    int r;

    if (len != 10)
        return td_error_set(err, -EINVAL, "a date is YYYY-MM-DD (10 characters), not %zu",
                            len);
    r = td_parse_ymd(s, &days);
    if (r == -EINVAL)
        return td_error_set(err, -EINVAL, "a date is YYYY-MM-DD");
    if (r < 0)
        return td_error_set(err, -EINVAL, "no such date (the month has no such day, or "
                                          "the month or year is out of range)");
    *ret_days = (int32_t)days;
    return 0;
}

int td_avro_timestamp_millis_format(int64_t ms, char out[TD_AVRO_TIMESTAMP_BUFSZ])
{
    int64_t days, rem;
    int y, m, d;

    days = ms / TD_MS_PER_DAY;
    rem = ms % TD_MS_PER_DAY;
    if (rem < 0) {
        rem += TD_MS_PER_DAY;
        days--;
    }
    if (days < TD_DAY_MIN || days > TD_DAY_MAX)
        return -ERANGE;
    td_date_to_ymd((int32_t)days, &y, &m, &d);
    snprintf(out, TD_AVRO_TIMESTAMP_BUFSZ, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d,
             (int)(rem / 3600000), (int)(rem / 60000 % 60), (int)(rem / 1000 % 60),
             (int)(rem % 1000));
    return 0;
}

int td_avro_timestamp_millis_parse(const char *s, size_t len, int64_t *ret_ms, td_error *err)
{
    int64_t days;
    unsigned hh, mm, ss, frac = 0;
    size_t i = 19, nfrac = 0;
    int r;

    if (len < 20 || s[10] != 'T' || s[13] != ':' || s[16] != ':' || !td_digits(s + 11, 2, &hh) ||
        !td_digits(s + 14, 2, &mm) || !td_digits(s + 17, 2, &ss))
        goto bad;
    if (s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, nfrac++)
            frac = frac * 10 + (unsigned)(s[i] - '0');
        if (nfrac == 0 || nfrac > 3)
            return td_error_set(err, -EINVAL, "a timestamp has 1 to 3 fraction digits "
                                              "(milliseconds)");
        for (; nfrac < 3; nfrac++)
            frac *= 10;
    }
    if (i + 1 != len || s[i] != 'Z')
        return td_error_set(err, -EINVAL, "a timestamp is UTC and ends in Z");
    r = td_parse_ymd(s, &days);
    if (r == -EINVAL)
        goto bad;
    if (r < 0 || hh > 23 || mm > 59 || ss > 59)
        return td_error_set(err, -EINVAL, "no such date or time of day");
    *ret_ms = days * TD_MS_PER_DAY + (int64_t)hh * 3600000 + (int64_t)mm * 60000 +
              (int64_t)ss * 1000 + frac;
    return 0;
bad:
    return td_error_set(err, -EINVAL, "a timestamp is YYYY-MM-DDTHH:MM:SS[.mmm]Z");
}

/* ------------------------------------------------------------ JSON output */

typedef struct td_jout {
    td_avro_buf *b;
    bool oom;
    td_avro_trail trail;
    char msg[256];
} td_jout;

static void td_put(td_jout *o, const char *s, size_t n)
{
    if (o->oom)
        return;
    if (o->b->len + n + 1 > o->b->cap && td_avro_buf_reserve(o->b, o->b->len + n + 1) < 0) {
        o->oom = true;
        return;
    }
    memcpy(o->b->data + o->b->len, s, n);
    o->b->len += n;
}

static void td_puts(td_jout *o, const char *s)
{
    td_put(o, s, strlen(s));
}

__attribute__((format(printf, 2, 3)))
static void td_putf(td_jout *o, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    td_put(o, tmp, n < 0 ? 0 : (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* A JSON string of UTF-8 text; invalid sequences become U+FFFD. */
static void td_put_text(td_jout *o, const unsigned char *s, size_t len)
{
    size_t i = 0;

    td_put(o, "\"", 1);
    while (i < len) {
        size_t run = i, bad;
        while (run < len && s[run] >= 0x20 && s[run] != '"' && s[run] != '\\' && s[run] < 0x7F)
            run++;
        td_put(o, (const char *)s + i, run - i);
        i = run;
        if (i == len)
            break;
        if (s[i] == '"' || s[i] == '\\') {
            char esc[2] = {'\\', (char)s[i]};
            td_put(o, esc, 2);
            i++;
        } else if (s[i] < 0x20 || s[i] == 0x7F) {
            td_putf(o, "\\u%04x", s[i]);
            i++;
        } else { /* a multi-byte sequence: copy it when valid */
            size_t n = (s[i] >= 0xF0) ? 4 : (s[i] >= 0xE0) ? 3 : 2;
            bad = n <= len - i ? td_avro_utf8_bad(s + i, n) : 0;
            if (n <= len - i && bad == n) {
                td_put(o, (const char *)s + i, n);
                i += n;
            } else {
                td_puts(o, "\\ufffd");
                i++;
            }
        }
    }
    td_put(o, "\"", 1);
}

/* A JSON string of code points 0-255, one per byte (Avro's bytes in JSON). */
static void td_put_bytes(td_jout *o, const unsigned char *s, size_t len)
{
    td_put(o, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\') {
            char esc[2] = {'\\', (char)s[i]};
            td_put(o, esc, 2);
        } else if (s[i] >= 0x20 && s[i] < 0x7F) {
            td_put(o, (const char *)s + i, 1);
        } else {
            td_putf(o, "\\u%04x", s[i]);
        }
    }
    td_put(o, "\"", 1);
}

/* The shortest text that reads back as the same double. */
static void td_put_double(td_jout *o, double x, int max_digits)
{
    char tmp[40];

    if (isnan(x)) {
        td_puts(o, "\"NaN\"");
        return;
    }
    if (isinf(x)) {
        td_puts(o, x > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        return;
    }
    for (int p = 1; p <= max_digits; p++) {
        snprintf(tmp, sizeof(tmp), "%.*g", p, x);
        if (max_digits == 9 ? (float)strtod(tmp, NULL) == (float)x : strtod(tmp, NULL) == x)
            break;
    }
    td_puts(o, tmp);
}

__attribute__((format(printf, 2, 3)))
static int td_jout_fail(td_jout *o, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(o->msg, sizeof(o->msg), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static const char *td_branch_name(const td_avro_node *n)
{
    return n->fullname ? n->fullname : td_avro_type_name(n->type);
}

static int td_render(td_jout *o, const td_avro_node *n, const avro_value_t *v, int depth)
{
    int r = 0;

    if (depth > TD_AVRO_MAX_DEPTH)
        return td_jout_fail(o, "nested too deeply");
    switch (n->type) {
    case TD_AVRO_NULL:
        td_puts(o, "null");
        return 0;
    case TD_AVRO_BOOLEAN: {
        int b = 0;
        r = avro_value_get_boolean(v, &b);
        td_puts(o, b ? "true" : "false");
        break;
    }
    case TD_AVRO_INT: {
        int32_t i = 0;
        char date[TD_AVRO_DATE_BUFSZ];
        r = avro_value_get_int(v, &i);
        if (n->logical == TD_AVRO_LOGICAL_DATE && td_avro_date_format(i, date) == 0)
            td_putf(o, "\"%s\"", date);
        else
            td_putf(o, "%" PRId32, i);
        break;
    }
    case TD_AVRO_LONG: {
        int64_t l = 0;
        char ts[TD_AVRO_TIMESTAMP_BUFSZ];
        r = avro_value_get_long(v, &l);
        if (n->logical == TD_AVRO_LOGICAL_TIMESTAMP_MILLIS &&
            td_avro_timestamp_millis_format(l, ts) == 0)
            td_putf(o, "\"%s\"", ts);
        else
            td_putf(o, "%" PRId64, l);
        break;
    }
    case TD_AVRO_FLOAT: {
        float f = 0;
        r = avro_value_get_float(v, &f);
        td_put_double(o, f, 9);
        break;
    }
    case TD_AVRO_DOUBLE: {
        double d = 0;
        r = avro_value_get_double(v, &d);
        td_put_double(o, d, 17);
        break;
    }
    case TD_AVRO_BYTES:
    case TD_AVRO_FIXED: {
        const void *p = NULL;
        size_t size = 0;
        r = n->type == TD_AVRO_BYTES ? avro_value_get_bytes(v, &p, &size)
                                     : avro_value_get_fixed(v, &p, &size);
        td_put_bytes(o, p, p ? size : 0);
        break;
    }
    case TD_AVRO_STRING: {
        const char *s = NULL;
        size_t size = 0;
        r = avro_value_get_string(v, &s, &size);
        td_put_text(o, (const unsigned char *)s, s && size ? size - 1 : 0);
        break;
    }
    case TD_AVRO_ENUM: {
        int e = -1;
        r = avro_value_get_enum(v, &e);
        if (r == 0 && (e < 0 || (size_t)e >= n->nsymbols))
            return td_jout_fail(o, "enum index %d is out of range", e);
        if (r == 0)
            td_put_text(o, (const unsigned char *)n->symbols[e], strlen(n->symbols[e]));
        break;
    }
    case TD_AVRO_RECORD:
        td_put(o, "{", 1);
        for (size_t i = 0; i < n->nfields && r == 0; i++) {
            avro_value_t child;
            if (i)
                td_put(o, ",", 1);
            td_put_text(o, (const unsigned char *)n->fields[i].name, strlen(n->fields[i].name));
            td_put(o, ":", 1);
            r = avro_value_get_by_index(v, i, &child, NULL);
            if (r == 0 && (r = td_render(o, n->fields[i].type, &child, depth + 1)) < 0) {
                td_avro_trail_field(&o->trail, n->fields[i].name);
                return r;
            }
        }
        td_put(o, "}", 1);
        break;
    case TD_AVRO_ARRAY:
    case TD_AVRO_MAP: {
        size_t count = 0;
        bool is_map = n->type == TD_AVRO_MAP;
        r = avro_value_get_size(v, &count);
        td_put(o, is_map ? "{" : "[", 1);
        for (size_t i = 0; i < count && r == 0; i++) {
            avro_value_t child;
            const char *key = NULL;
            if (i)
                td_put(o, ",", 1);
            r = avro_value_get_by_index(v, i, &child, is_map ? &key : NULL);
            if (r == 0 && is_map) {
                td_put_text(o, (const unsigned char *)key, strlen(key));
                td_put(o, ":", 1);
            }
            if (r == 0 && (r = td_render(o, n->items, &child, depth + 1)) < 0) {
                td_avro_trail_index(&o->trail, i);
                return r;
            }
        }
        td_put(o, is_map ? "}" : "]", 1);
        break;
    }
    case TD_AVRO_UNION: {
        int disc = -1;
        avro_value_t branch;
        const td_avro_node *b;
        r = avro_value_get_discriminant(v, &disc);
        if (r == 0 && (disc < 0 || (size_t)disc >= n->nbranches))
            return td_jout_fail(o, "the union has no branch selected");
        if (r == 0)
            r = avro_value_get_current_branch(v, &branch);
        if (r != 0)
            break;
        b = n->branches[disc];
        if (b->type == TD_AVRO_NULL) {
            td_puts(o, "null");
            return 0;
        }
        td_put(o, "{", 1);
        td_put_text(o, (const unsigned char *)td_branch_name(b), strlen(td_branch_name(b)));
        td_put(o, ":", 1);
        if ((r = td_render(o, b, &branch, depth + 1)) < 0)
            return r;
        td_put(o, "}", 1);
        return 0;
    }
    }
    if (r != 0)
        return td_jout_fail(o, "Avro C: %s", avro_strerror());
    return 0;
}

int td_avro_value_to_json(const td_avro_schema *s, const avro_value_t *value, td_avro_buf *out,
                          td_error *err)
{
    td_jout o = {.b = out};
    int r;

    td_avro_trail_init(&o.trail);
    out->len = 0;
    r = td_render(&o, s->root, value, 0);
    if (r < 0) {
        out->len = 0;
        return td_error_set(err, r, "%s%s: %s", s->root->name ? s->root->name : s->fullname,
                            td_avro_trail_str(&o.trail), o.msg);
    }
    td_put(&o, "", 0);
    if (o.oom) {
        out->len = 0;
        return td_error_set(err, -ENOMEM, "out of memory");
    }
    out->data[out->len] = '\0';
    return 0;
}

/* ------------------------------------------------------------- JSON input */

typedef struct td_jin {
    td_avro_json_mode mode;
    td_avro_trail trail;
    const td_json *at;
    int code;
    char msg[256];
} td_jin;

__attribute__((format(printf, 3, 4)))
static int td_jin_fail(td_jin *c, const td_json *at, const char *fmt, ...)
{
    va_list ap;

    c->at = at;
    c->code = -EINVAL;
    va_start(ap, fmt);
    vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static int td_jin_avro(td_jin *c, const td_json *at, int rc)
{
    if (rc == ENOMEM) {
        td_jin_fail(c, at, "out of memory");
        return c->code = -ENOMEM;
    }
    return td_jin_fail(c, at, "Avro C: %s", avro_strerror());
}

/* A JSON string whose code points are all <= 255, as bytes. Returns a
 * malloc'd buffer (never NULL on success) and its length. */
static int td_jin_bytes(td_jin *c, const td_json *j, unsigned char **ret, size_t *ret_len)
{
    const unsigned char *s = (const unsigned char *)j->text;
    unsigned char *out = malloc(j->len + 1);
    size_t n = 0;

    if (!out) {
        td_jin_fail(c, j, "out of memory");
        return c->code = -ENOMEM;
    }
    for (size_t i = 0; i < j->len; i++) {
        if (s[i] < 0x80) {
            out[n++] = s[i];
        } else if ((s[i] == 0xC2 || s[i] == 0xC3) && i + 1 < j->len) {
            out[n++] = (unsigned char)(((s[i] & 0x03) << 6) | (s[i + 1] & 0x3F));
            i++;
        } else {
            free(out);
            return td_jin_fail(c, j,
                               "bytes are a string of code points 0 to 255 (\\u0000-\\u00ff)");
        }
    }
    *ret = out;
    *ret_len = n;
    return 0;
}

static int td_jin_set(td_jin *c, const td_avro_node *n, const td_json *j, avro_value_t *v);

static int td_jin_record(td_jin *c, const td_avro_node *n, const td_json *j, avro_value_t *v)
{
    int r;

    if (j->type != TD_JSON_OBJECT)
        return td_jin_fail(c, j, "expected an object for record %s, not %s", n->fullname,
                           td_json_type_name(j->type));
    for (size_t k = 0; k < j->len; k++) {
        bool known = false;
        for (size_t i = 0; i < n->nfields && !known; i++)
            known = strcmp(n->fields[i].name, j->keys[k]) == 0;
        if (!known)
            return td_jin_fail(c, j->items[k], "record %s has no field \"%s\"", n->fullname,
                               j->keys[k]);
    }
    for (size_t i = 0; i < n->nfields; i++) {
        const td_avro_field *f = &n->fields[i];
        const td_json *fj = td_json_get(j, f->name);
        avro_value_t child, *cp = NULL;
        td_avro_json_mode saved = c->mode;

        if (v) {
            if ((r = avro_value_get_by_index(v, i, &child, NULL)) != 0)
                return td_jin_avro(c, j, r);
            cp = &child;
        }
        if (!fj) {
            if (!f->def)
                return td_jin_fail(c, j, "field %s is missing and has no default", f->name);
            fj = f->def;
            c->mode = TD_AVRO_JSON_DEFAULT;
        }
        r = td_jin_set(c, f->type, fj, cp);
        c->mode = saved;
        if (r < 0) {
            td_avro_trail_field(&c->trail, f->name);
            return r;
        }
    }
    return 0;
}

static int td_jin_union(td_jin *c, const td_avro_node *n, const td_json *j, avro_value_t *v)
{
    avro_value_t branch;
    size_t idx = 0;
    int r;

    if (c->mode == TD_AVRO_JSON_DEFAULT) {
        idx = 0; /* a union's default is for its first branch */
    } else if (j->type == TD_JSON_NULL) {
        while (idx < n->nbranches && n->branches[idx]->type != TD_AVRO_NULL)
            idx++;
        if (idx == n->nbranches)
            return td_jin_fail(c, j, "null is not a branch of this union");
    } else {
        if (j->type != TD_JSON_OBJECT || j->len != 1)
            return td_jin_fail(c, j, "a union value is null or {\"<type name>\": value}");
        for (idx = 0; idx < n->nbranches; idx++) {
            const td_avro_node *b = n->branches[idx];
            if (strcmp(td_branch_name(b), j->keys[0]) == 0 ||
                (b->name && strcmp(b->name, j->keys[0]) == 0))
                break;
        }
        if (idx == n->nbranches)
            return td_jin_fail(c, j, "\"%s\" is not a branch of this union", j->keys[0]);
        j = j->items[0];
    }
    if (v && (r = avro_value_set_branch(v, (int)idx, &branch)) != 0)
        return td_jin_avro(c, j, r);
    return td_jin_set(c, n->branches[idx], j, v ? &branch : NULL);
}

static int td_jin_set(td_jin *c, const td_avro_node *n, const td_json *j, avro_value_t *v)
{
    int r = 0;

    switch (n->type) {
    case TD_AVRO_NULL:
        if (j->type != TD_JSON_NULL)
            return td_jin_fail(c, j, "expected null, not %s", td_json_type_name(j->type));
        if (v)
            r = avro_value_set_null(v);
        break;
    case TD_AVRO_BOOLEAN:
        if (j->type != TD_JSON_BOOL)
            return td_jin_fail(c, j, "expected true or false, not %s",
                               td_json_type_name(j->type));
        if (v)
            r = avro_value_set_boolean(v, j->boolean);
        break;
    case TD_AVRO_INT: {
        int32_t i;
        if (j->type == TD_JSON_STRING && n->logical == TD_AVRO_LOGICAL_DATE &&
            c->mode == TD_AVRO_JSON_VALUE) {
            td_error e = {0};
            if (td_avro_date_parse(j->text, j->len, &i, &e) < 0)
                return td_jin_fail(c, j, "%s", e.msg);
        } else if (j->type == TD_JSON_NUMBER && j->is_integer && j->integer >= INT32_MIN &&
                   j->integer <= INT32_MAX) {
            i = (int32_t)j->integer;
        } else {
            return td_jin_fail(c, j, "expected an int%s",
                               n->logical == TD_AVRO_LOGICAL_DATE &&
                                       c->mode == TD_AVRO_JSON_VALUE
                                   ? " or a date YYYY-MM-DD"
                                   : "");
        }
        if (v)
            r = avro_value_set_int(v, i);
        break;
    }
    case TD_AVRO_LONG: {
        int64_t l;
        if (j->type == TD_JSON_STRING && n->logical == TD_AVRO_LOGICAL_TIMESTAMP_MILLIS &&
            c->mode == TD_AVRO_JSON_VALUE) {
            td_error e = {0};
            if (td_avro_timestamp_millis_parse(j->text, j->len, &l, &e) < 0)
                return td_jin_fail(c, j, "%s", e.msg);
        } else if (j->type == TD_JSON_NUMBER && j->is_integer) {
            l = j->integer;
        } else {
            return td_jin_fail(c, j, "expected a long");
        }
        if (v)
            r = avro_value_set_long(v, l);
        break;
    }
    case TD_AVRO_FLOAT:
    case TD_AVRO_DOUBLE: {
        double d;
        if (j->type == TD_JSON_NUMBER) {
            d = j->number;
        } else if (j->type == TD_JSON_STRING && c->mode == TD_AVRO_JSON_VALUE &&
                   (strcmp(j->text, "NaN") == 0 || strcmp(j->text, "Infinity") == 0 ||
                    strcmp(j->text, "-Infinity") == 0)) {
            d = j->text[0] == 'N' ? NAN : j->text[0] == '-' ? -INFINITY : INFINITY;
        } else {
            return td_jin_fail(c, j, "expected a number");
        }
        if (n->type == TD_AVRO_FLOAT && isfinite(d) && isinf((float)d))
            return td_jin_fail(c, j, "out of range for float");
        if (v)
            r = n->type == TD_AVRO_FLOAT ? avro_value_set_float(v, (float)d)
                                         : avro_value_set_double(v, d);
        break;
    }
    case TD_AVRO_STRING:
        if (j->type != TD_JSON_STRING)
            return td_jin_fail(c, j, "expected a string, not %s", td_json_type_name(j->type));
        if (strlen(j->text) != j->len)
            return td_jin_fail(c, j, "a string cannot contain NUL");
        if (v)
            r = avro_value_set_string_len(v, j->text, j->len + 1);
        break;
    case TD_AVRO_BYTES:
    case TD_AVRO_FIXED: {
        unsigned char *bytes = NULL;
        size_t len = 0;
        if (j->type != TD_JSON_STRING)
            return td_jin_fail(c, j, "expected a string of bytes, not %s",
                               td_json_type_name(j->type));
        if ((r = td_jin_bytes(c, j, &bytes, &len)) < 0)
            return r;
        if (n->type == TD_AVRO_FIXED && len != n->size) {
            free(bytes);
            return td_jin_fail(c, j, "fixed %s holds %zu bytes, not %zu", n->fullname, n->size,
                               len);
        }
        if (v)
            r = n->type == TD_AVRO_BYTES ? avro_value_set_bytes(v, bytes, len)
                                         : avro_value_set_fixed(v, bytes, len);
        free(bytes);
        break;
    }
    case TD_AVRO_ENUM: {
        size_t i = 0;
        if (j->type != TD_JSON_STRING)
            return td_jin_fail(c, j, "expected a symbol of enum %s", n->fullname);
        while (i < n->nsymbols && strcmp(n->symbols[i], j->text) != 0)
            i++;
        if (i == n->nsymbols)
            return td_jin_fail(c, j, "not a symbol of enum %s", n->fullname);
        if (v)
            r = avro_value_set_enum(v, (int)i);
        break;
    }
    case TD_AVRO_ARRAY:
        if (j->type != TD_JSON_ARRAY)
            return td_jin_fail(c, j, "expected an array, not %s", td_json_type_name(j->type));
        for (size_t i = 0; i < j->len; i++) {
            avro_value_t child;
            if (v && (r = avro_value_append(v, &child, NULL)) != 0)
                return td_jin_avro(c, j, r);
            if ((r = td_jin_set(c, n->items, j->items[i], v ? &child : NULL)) < 0) {
                td_avro_trail_index(&c->trail, i);
                return r;
            }
        }
        return 0;
    case TD_AVRO_MAP:
        if (j->type != TD_JSON_OBJECT)
            return td_jin_fail(c, j, "expected an object (a map), not %s",
                               td_json_type_name(j->type));
        for (size_t i = 0; i < j->len; i++) {
            avro_value_t child;
            if (v && (r = avro_value_add(v, j->keys[i], &child, NULL, NULL)) != 0)
                return td_jin_avro(c, j, r);
            if ((r = td_jin_set(c, n->items, j->items[i], v ? &child : NULL)) < 0) {
                td_avro_trail_key(&c->trail, j->keys[i]);
                return r;
            }
        }
        return 0;
    case TD_AVRO_RECORD:
        return td_jin_record(c, n, j, v);
    case TD_AVRO_UNION:
        return td_jin_union(c, n, j, v);
    }
    return r ? td_jin_avro(c, j, r) : 0;
}

int td_avro_json_set(const td_avro_node *n, const td_json *j, avro_value_t *v,
                     td_avro_json_mode mode, const char *where, td_error *err)
{
    td_jin c = {.mode = mode};
    int r;

    td_avro_trail_init(&c.trail);
    r = td_jin_set(&c, n, j, v);
    if (r < 0)
        return td_error_set(err, c.code ? c.code : r, "%d:%d: %s%s: %s", c.at ? c.at->line : 0,
                            c.at ? c.at->col : 0, where, td_avro_trail_str(&c.trail), c.msg);
    return 0;
}

int td_avro_value_from_json(const td_avro_schema *s, const char *text, size_t len,
                            avro_value_t *value, td_error *err)
{
    td_json *j = NULL;
    int r;

    r = td_json_parse("json", text, len, &j, err);
    if (r < 0)
        return r;
    r = avro_value_reset(value);
    if (r != 0)
        r = td_error_set(err, -EINVAL, "Avro C: %s", avro_strerror());
    else
        r = td_avro_json_set(s->root, j, value, TD_AVRO_JSON_VALUE,
                             s->root->name ? s->root->name : s->fullname, err);
    td_json_free(j);
    return r;
}
