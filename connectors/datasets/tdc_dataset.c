/* tdc_dataset: the generic, table-driven mapping engine (see tdc_mapping.h).
 *
 * Per row the engine does no lookups by name and allocates nothing of its
 * own once warmed up: column indexes are resolved when a header is first
 * seen, avro fields are reached by index, codes are found by binary search,
 * and the one avro value is reset and refilled. */
#include "tdc_mapping.h"

#include "td_date.h"
#include "td_log.h"
#include "td_money.h"
#include "td_str.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TDC_KEY_FILE_MAX 4096
#define TDC_DATE_MIN_YEAR 1900

/* ------------------------------------------------------------- config */

static const td_cfg_entry tdc_pseudonymize_table[] = {
    TD_CFG_PATH("key_file", struct tdc_pseudonymize_config, key_file, NULL,
                "Pseudonymise person keys with HMAC-SHA256 under the key in this file (its "
                "bytes exactly, at least 32, not readable by others); unset: clear identity "
                "numbers", TD_CFG_SECRET),
    TD_CFG_END,
};

const td_cfg_entry tdc_mapping_config_table[] = {
    TD_CFG_MAP("columns", struct tdc_mapping_config, columns,
               "Schema field path -> source column name (replaces the dataset's default names)"),
    TD_CFG_MAPS("codes", struct tdc_mapping_config, codes,
                "Schema field path -> (department value -> enum symbol or value); replaces "
                "that field's default codes"),
    TD_CFG_MAP("constants", struct tdc_mapping_config, constants,
               "Schema field path -> value for every record, instead of a column"),
    TD_CFG_STRINGS("required", struct tdc_mapping_config, required, nrequired,
                   "Nullable schema fields that every row must give"),
    TD_CFG_SECTION("pseudonymize", struct tdc_mapping_config, pseudonymize,
                   tdc_pseudonymize_table, "Person-key pseudonymisation"),
    TD_CFG_END,
};

/* ------------------------------------------------------------- kinds */

static const tdc_dataset_desc *tdc_desc(tdc_dataset_kind kind)
{
    switch (kind) {
    case TDC_DATASET_CIVIL_AFFAIRS:
        return &tdc_civil_affairs_desc;
    case TDC_DATASET_MEDICAL_INSURANCE:
        return &tdc_medical_desc;
    case TDC_DATASET_HUMAN_RESOURCES:
        return &tdc_human_resources_desc;
    case TDC_DATASET_ROSTER:
        return &tdc_roster_desc;
    }
    return NULL;
}

const char *tdc_dataset_default_topic(tdc_dataset_kind kind)
{
    const tdc_dataset_desc *d = tdc_desc(kind);

    return d ? d->topic : NULL;
}

const char *tdc_dataset_schema_file(tdc_dataset_kind kind)
{
    const tdc_dataset_desc *d = tdc_desc(kind);

    return d ? d->schema_file : NULL;
}

const char *tdc_dataset_record_name(tdc_dataset_kind kind)
{
    const tdc_dataset_desc *d = tdc_desc(kind);

    return d ? d->record : NULL;
}

/* ------------------------------------------------------------- text */

static bool tdc_is_space(const unsigned char *s, size_t len, size_t *n)
{
    if (len >= 1 && (s[0] == ' ' || s[0] == '\t' || s[0] == '\r' || s[0] == '\n')) {
        *n = 1;
        return true;
    }
    if (len >= 3 && s[0] == 0xE3 && s[1] == 0x80 && s[2] == 0x80) { /* U+3000 */
        *n = 3;
        return true;
    }
    if (len >= 2 && s[0] == 0xC2 && s[1] == 0xA0) { /* U+00A0 */
        *n = 2;
        return true;
    }
    return false;
}

static bool tdc_is_space_end(const unsigned char *s, size_t len, size_t *n)
{
    if (len >= 1 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' ||
                     s[len - 1] == '\n')) {
        *n = 1;
        return true;
    }
    if (len >= 3 && s[len - 3] == 0xE3 && s[len - 2] == 0x80 && s[len - 1] == 0x80) {
        *n = 3;
        return true;
    }
    if (len >= 2 && s[len - 2] == 0xC2 && s[len - 1] == 0xA0) {
        *n = 2;
        return true;
    }
    return false;
}

void tdc_trim(const char **s, size_t *len)
{
    const unsigned char *p = (const unsigned char *)*s;
    size_t l = *len, n;

    while (l > 0 && tdc_is_space(p, l, &n)) {
        p += n;
        l -= n;
    }
    while (l > 0 && tdc_is_space_end(p, l, &n))
        l -= n;
    *s = (const char *)p;
    *len = l;
}

/* Valid UTF-8 without NUL (what td_avro_encode accepts in a string)? */
static bool tdc_utf8_ok(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;

    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        uint32_t cp;

        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return false;
        i += n + 1;
    }
    return true;
}

const char *tdc_quote(char *buf, size_t size, const char *s, size_t len)
{
    enum { SHOW = 40 };
    size_t o = 0, i;

    if (size < 16) {
        if (size)
            buf[0] = '\0';
        return buf;
    }
    buf[o++] = '"';
    for (i = 0; i < len && i < SHOW && o + 8 < size; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
        } else {
            buf[o++] = (char)c;
        }
    }
    if (i < len) {
        /* cut at a character boundary, and never through a run of digits:
         * the part of an identity number shown would escape the masking */
        for (;;) {
            size_t p = o;
            unsigned char last;

            while (p > 1 && ((unsigned char)buf[p - 1] & 0xC0) == 0x80)
                p--;
            if (p < o) { /* the last character is multibyte, its lead at p - 1 */
                size_t lead = p - 1;
                unsigned char c = (unsigned char)buf[lead];
                size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
                const unsigned char *u = (const unsigned char *)buf + lead;

                if (lead == 0) {
                    o = 1;
                    break;
                }
                if (o - lead != need || /* cut in the middle */
                    (need == 3 && u[0] == 0xEF &&     /* a full-width digit or X */
                     ((u[1] == 0xBC && ((u[2] >= 0x90 && u[2] <= 0x99) || u[2] == 0xB8)) ||
                      (u[1] == 0xBD && u[2] == 0x98)))) {
                    o = lead;
                    continue;
                }
                break;
            }
            last = (unsigned char)buf[o - 1];
            if (o > 1 && (last >= 0xC0 || (last >= '0' && last <= '9') || last == 'X' ||
                          last == 'x')) {
                o--;
                continue;
            }
            break;
        }
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    td_log_redact(buf);
    return buf;
}

void tdc_ds_reject_reason(tdc_dataset *ds, const char *column, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(ds->reason, sizeof(ds->reason), fmt, ap);
    va_end(ap);
    td_log_redact(ds->reason);
    ds->reason_column = column ? column : "";
}

/* A field's column name for reasons. */
static const char *tdc_colname(const tdc_field *f)
{
    if (f->col_name)
        return f->col_name;
    if (f->column)
        return f->column;
    if (f->spec->columns && f->spec->columns[0])
        return f->spec->columns[0];
    return "";
}

const char *tdc_colname_of(const tdc_dataset *ds, int field)
{
    return tdc_colname(&ds->fields[field]);
}

static void tdc_reject_field(tdc_dataset *ds, const tdc_field *f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void tdc_reject_field(tdc_dataset *ds, const tdc_field *f, const char *fmt, ...)
{
    char msg[TDC_REASON_MAX - 64];
    const char *col = tdc_colname(f);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (col[0])
        tdc_ds_reject_reason(ds, col, "%s: %s", col, msg);
    else
        tdc_ds_reject_reason(ds, col, "%s: %s", f->spec->path, msg);
}

/* ------------------------------------------------------------- conversion */

static int32_t tdc_china_today(void)
{
    time_t now = time(NULL);

    return (int32_t)(((int64_t)now + 8 * 3600) / 86400);
}

static bool tdc_parse_int(const char *s, size_t len, int64_t *ret)
{
    size_t i = 0;
    bool neg = false;
    int64_t v = 0;

    if (i < len && (s[i] == '-' || s[i] == '+')) {
        neg = s[i] == '-';
        i++;
    }
    if (i == len)
        return false;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (INT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *ret = neg ? -v : v;
    return true;
}

static bool tdc_ieq(const char *s, size_t len, const char *lit)
{
    size_t n = strlen(lit);

    if (n != len)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != lit[i])
            return false;
    }
    return true;
}

static int tdc_parse_bool(const char *s, size_t len)
{
    static const char *const yes[] = {"1", "是", "y", "yes", "true", "t", NULL};
    static const char *const no[] = {"0", "否", "n", "no", "false", "f", NULL};

    for (size_t i = 0; yes[i]; i++)
        if (tdc_ieq(s, len, yes[i]))
            return 1;
    for (size_t i = 0; no[i]; i++)
        if (tdc_ieq(s, len, no[i]))
            return 0;
    return -1;
}

/* "HH:MM[:SS[.fff]]" -> ms of the day. */
static bool tdc_parse_time(const char *s, size_t len, int64_t *ret)
{
    int64_t h = 0, m = 0, sec = 0, ms = 0;
    size_t i = 0;
    int n;

    for (n = 0; i < len && s[i] >= '0' && s[i] <= '9' && n < 2; i++, n++)
        h = h * 10 + (s[i] - '0');
    if (n == 0 || i >= len || s[i] != ':')
        return false;
    i++;
    for (n = 0; i < len && s[i] >= '0' && s[i] <= '9' && n < 2; i++, n++)
        m = m * 10 + (s[i] - '0');
    if (n != 2)
        return false;
    if (i < len && s[i] == ':') {
        i++;
        for (n = 0; i < len && s[i] >= '0' && s[i] <= '9' && n < 2; i++, n++)
            sec = sec * 10 + (s[i] - '0');
        if (n != 2)
            return false;
        if (i < len && s[i] == '.') {
            int64_t scale = 100;

            i++;
            if (i == len)
                return false;
            for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
                ms += (s[i] - '0') * scale;
                scale /= 10;
            }
        }
    }
    if (i != len || h > 23 || m > 59 || sec > 59)
        return false;
    *ret = ((h * 60 + m) * 60 + sec) * 1000 + ms;
    return true;
}

/* A date with an optional time, in China Standard Time (UTC+8) -> ms. */
static bool tdc_parse_timestamp(const char *s, size_t len, int64_t *ret)
{
    size_t i, dlen = len;
    int64_t tod = 0;
    int32_t days;
    bool all_digits = td_str_all_digits(s, len);

    if (all_digits && (len == 14 || len == 12)) { /* 20240301123000, 202403011230 */
        char t[9];

        if (td_date_parse(s, 8, &days) < 0)
            return false;
        snprintf(t, sizeof(t), "%.2s:%.2s%s%.2s", s + 8, s + 10, len == 14 ? ":" : "",
                 len == 14 ? s + 12 : "");
        if (!tdc_parse_time(t, strlen(t), &tod))
            return false;
        *ret = ((int64_t)days * 86400 - 8 * 3600) * 1000 + tod;
        return true;
    }
    for (i = 0; i < len; i++)
        if (s[i] == ' ' || s[i] == 'T') {
            dlen = i;
            break;
        }
    if (td_date_parse(s, dlen, &days) < 0)
        return false;
    if (dlen < len) {
        const char *t = s + dlen + 1;
        size_t tl = len - dlen - 1;

        tdc_trim(&t, &tl);
        if (tl > 0 && !tdc_parse_time(t, tl, &tod))
            return false;
    }
    *ret = ((int64_t)days * 86400 - 8 * 3600) * 1000 + tod;
    return true;
}

static bool tdc_risk_code_ok(const char *s, size_t len)
{
    return td_str_all_digits(s, len) &&
           (len == 2 || (len == 4 && s[0] == '0' && s[1] == '2'));
}

static const tdc_code *tdc_code_find(const tdc_field *f, const char *s, size_t len)
{
    size_t lo = 0, hi = f->ncodes;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const tdc_code *c = &f->codes[mid];
        int r;

        if (c->from_len != len)
            r = c->from_len < len ? -1 : 1;
        else
            r = memcmp(c->from, s, len);
        if (r == 0)
            return c;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int tdc_enum_symbol(const td_avro_node *n, const char *s, size_t len)
{
    for (size_t i = 0; i < n->nsymbols; i++)
        if (strlen(n->symbols[i]) == len && memcmp(n->symbols[i], s, len) == 0 &&
            strcmp(n->symbols[i], "UNKNOWN") != 0)
            return (int)i;
    return -1;
}

/* Splits a list of risks at , ， 、 ; ； | / and spaces. Returns the next
 * item of s[*pos..len) (trimmed, maybe empty) or false at the end. */
static bool tdc_next_item(const char *s, size_t len, size_t *pos, const char **item,
                          size_t *ilen)
{
    size_t i = *pos, start;

    if (i >= len)
        return false;
    start = i;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];

        if (c == ',' || c == ';' || c == '|' || c == '/' || c == ' ' || c == '\t')
            break;
        if (len - i >= 3 && c == 0xEF && (unsigned char)s[i + 1] == 0xBC &&
            ((unsigned char)s[i + 2] == 0x8C || (unsigned char)s[i + 2] == 0x9B))
            break; /* ， ； */
        if (len - i >= 3 && c == 0xE3 && (unsigned char)s[i + 1] == 0x80 &&
            ((unsigned char)s[i + 2] == 0x81 || (unsigned char)s[i + 2] == 0x80))
            break; /* 、 and the ideographic space */
        i++;
    }
    *item = s + start;
    *ilen = i - start;
    if (i < len) {
        unsigned char c = (unsigned char)s[i];

        i += (c == 0xEF || c == 0xE3) ? 3 : 1;
        if (i == len)
            i = len + 1; /* a trailing separator: one more (empty) item, skipped */
    }
    *pos = i;
    return true;
}

/* HMAC-SHA256(key, id) as 64 lower-case hex characters: what
 * td_idnum_pseudonymize() computes, with the key set up once (the one-shot
 * HMAC() costs about seven times as much per row). */
static int tdc_pseudonym(tdc_dataset *ds, const char id[TD_IDNUM_LEN],
                         char out[TD_PSEUDONYM_HEX_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char mac[32];
    size_t len = 0;

    if (!EVP_MAC_init(ds->hmac, NULL, 0, NULL) ||
        !EVP_MAC_update(ds->hmac, (const unsigned char *)id, TD_IDNUM_LEN) ||
        !EVP_MAC_final(ds->hmac, mac, &len, sizeof(mac)) || len != sizeof(mac))
        return -EINVAL;
    for (size_t i = 0; i < sizeof(mac); i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[TD_PSEUDONYM_HEX_LEN] = '\0';
    explicit_bzero(mac, sizeof(mac));
    return 0;
}

/* Converts the (trimmed, non-empty, codes already applied) text of field f
 * into v. 0, or 1 with the reason set. */
static int tdc_convert(tdc_dataset *ds, const tdc_field *f, const char *s, size_t len,
                       tdc_val *v)
{
    char q[128], dbuf[16];
    td_error e;
    int32_t days;
    int64_t x;
    int b;

    switch (f->spec->kind) {
    case TDC_FK_PERSON_KEY:
        if (td_idnum_normalize(s, len, ds->today, v->id, &e) < 0) {
            tdc_reject_field(ds, f, "%s", e.msg);
            return 1;
        }
        if (ds->hmac) {
            if (tdc_pseudonym(ds, v->id, v->key) < 0) {
                tdc_reject_field(ds, f, "cannot compute the pseudonym");
                return 1;
            }
        } else {
            memcpy(v->key, v->id, sizeof(v->id));
        }
        break;
    case TDC_FK_STRING:
    case TDC_FK_RECORD_ID:
        if (!tdc_utf8_ok(s, len)) {
            tdc_reject_field(ds, f, "not valid UTF-8 text (or holds a NUL byte)");
            return 1;
        }
        v->s = s;
        v->len = len;
        break;
    case TDC_FK_DATE:
        if (td_date_parse(s, len, &days) < 0) {
            tdc_reject_field(ds, f, "%s is not a date (write it as 2023-05-01, 2023/5/1, "
                             "20230501 or 2023年5月1日)", tdc_quote(q, sizeof(q), s, len));
            return 1;
        }
        if (days < -25567 /* 1900-01-01 */) {
            td_date_format(days, dbuf, sizeof(dbuf));
            tdc_reject_field(ds, f, "%s is before %d", dbuf, TDC_DATE_MIN_YEAR);
            return 1;
        }
        if (days > ds->today + 366) {
            td_date_format(days, dbuf, sizeof(dbuf));
            tdc_reject_field(ds, f, "%s is more than a year in the future", dbuf);
            return 1;
        }
        v->i = days;
        break;
    case TDC_FK_MONEY:
        b = td_money_parse_yuan(s, len, &x);
        if (b == -ERANGE) {
            tdc_reject_field(ds, f, "%s is too large an amount", tdc_quote(q, sizeof(q), s, len));
            return 1;
        }
        if (b < 0) {
            tdc_reject_field(ds, f, "%s is not an amount in yuan with at most two decimals",
                             tdc_quote(q, sizeof(q), s, len));
            return 1;
        }
        if (x < 0 && (f->spec->flags & TDC_SPEC_NONNEG)) {
            tdc_reject_field(ds, f, "%s is negative", tdc_quote(q, sizeof(q), s, len));
            return 1;
        }
        v->i = x;
        break;
    case TDC_FK_INT:
        if (!tdc_parse_int(s, len, &x)) {
            tdc_reject_field(ds, f, "%s is not a whole number", tdc_quote(q, sizeof(q), s, len));
            return 1;
        }
        if (x < f->spec->min || x > f->spec->max) {
            tdc_reject_field(ds, f, "%" PRId64 " is out of range (%" PRId64 " to %" PRId64 ")",
                             x, f->spec->min, f->spec->max);
            return 1;
        }
        v->i = x;
        break;
    case TDC_FK_BOOL:
        b = tdc_parse_bool(s, len);
        if (b < 0) {
            tdc_reject_field(ds, f, "%s is not a yes/no value (是/否, 1/0, Y/N, true/false%s%s)",
                             tdc_quote(q, sizeof(q), s, len), f->ncodes ? ", " : "",
                             f->ncodes ? f->codes_list : "");
            return 1;
        }
        v->i = b;
        break;
    case TDC_FK_ENUM:
        b = tdc_enum_symbol(f->leaf, s, len);
        if (b < 0) {
            tdc_reject_field(ds, f, "unknown value %s (allowed: %s)",
                             tdc_quote(q, sizeof(q), s, len),
                             f->ncodes ? f->codes_list : "the symbols of the schema");
            return 1;
        }
        v->i = b;
        break;
    case TDC_FK_VILLAGE:
        if (len != 12 || !td_str_all_digits(s, 12)) {
            tdc_reject_field(ds, f, "%s is not a village code (12 digits)",
                             tdc_quote(q, sizeof(q), s, len));
            return 1;
        }
        b = (s[0] - '0') * 10 + (s[1] - '0');
        if (b < 11 || b > 82) {
            tdc_reject_field(ds, f, "%.12s is not a village code (no province %.2s)", s, s);
            return 1;
        }
        if (memcmp(s + 9, "000", 3) == 0) {
            tdc_reject_field(ds, f, "%.12s is a township or county code, not a village "
                             "(a village's last three digits are not 000)", s);
            return 1;
        }
        v->s = s;
        v->len = len;
        break;
    case TDC_FK_RISKS: {
        size_t pos = 0, ilen;
        const char *item;

        v->nitems = 0;
        while (tdc_next_item(s, len, &pos, &item, &ilen)) {
            const tdc_code *c;

            if (ilen == 0)
                continue;
            c = tdc_code_find(f, item, ilen);
            if (c) {
                item = c->to;
                ilen = c->to_len;
            }
            if (!tdc_risk_code_ok(item, ilen)) {
                tdc_reject_field(ds, f, "%s is not a risk code (2 digits, or 02xx; allowed "
                                 "names: %s)", tdc_quote(q, sizeof(q), item, ilen),
                                 f->ncodes ? f->codes_list : "none");
                return 1;
            }
            for (unsigned k = 0; k < v->nitems; k++)
                if (v->item_lens[k] == ilen && memcmp(v->items[k], item, ilen) == 0) {
                    tdc_reject_field(ds, f, "risk %.*s is listed twice", (int)ilen, item);
                    return 1;
                }
            if (v->nitems == TDC_MAX_RISKS) {
                tdc_reject_field(ds, f, "more than %d risks", TDC_MAX_RISKS);
                return 1;
            }
            v->items[v->nitems] = item;
            v->item_lens[v->nitems] = ilen;
            v->nitems++;
        }
        break;
    }
    case TDC_FK_TIMESTAMP:
        if (!tdc_parse_timestamp(s, len, &x)) {
            tdc_reject_field(ds, f, "%s is not a date and time (write it as "
                             "2024-03-01 12:30:00, China Standard Time)",
                             tdc_quote(q, sizeof(q), s, len));
            return 1;
        }
        v->i = x;
        break;
    case TDC_FK_BIRTH_DATE:
    case TDC_FK_DERIVED:
        return 0;
    }
    v->present = true;
    return 0;
}

/* Applies codes, then converts. text NULL: the column is absent. 0 or 1. */
static int tdc_field_value(tdc_dataset *ds, const tdc_field *f, const char *s, size_t len,
                           tdc_val *v)
{
    const tdc_code *c;

    v->present = false;
    v->nitems = 0;
    if (!s)
        return 0;
    tdc_trim(&s, &len);
    if (f->ncodes && f->spec->kind != TDC_FK_RISKS) {
        c = tdc_code_find(f, s, len);
        if (c) {
            if (c->sym >= 0) {
                v->i = c->sym;
                v->present = true;
                return 0;
            }
            s = c->to;
            len = c->to_len;
            tdc_trim(&s, &len);
        }
    }
    if (len == 0) {
        if (f->spec->kind == TDC_FK_RISKS)
            v->present = true; /* an empty list */
        return 0;
    }
    return tdc_convert(ds, f, s, len, v);
}

static bool tdc_cond(const tdc_field *f, const tdc_val *vals)
{
    const tdc_val *c = &vals[f->when];

    return c->present && c->i >= 0 && c->i < 64 && (f->when_mask >> c->i) & 1u;
}

int tdc_ds_parse_row(tdc_dataset *ds, const tdc_row *row, tdc_val *vals, int which)
{
    size_t i;

    for (i = 0; i < ds->nfields; i++) {
        const tdc_field *f = &ds->fields[i];
        unsigned fl = f->spec->flags;
        tdc_val *v = &vals[i];
        bool required = f->required;
        int r;

        if ((which == TDC_PARSE_HOUSEHOLD && (fl & TDC_SPEC_MEMBER)) ||
            (which == TDC_PARSE_MEMBER && !(fl & TDC_SPEC_MEMBER)))
            continue;
        v->present = false;
        v->nitems = 0;
        if (f->when >= 0) {
            bool holds = tdc_cond(f, vals);

            if ((fl & TDC_SPEC_WHEN_ONLY) && !holds)
                continue; /* null for this row, whatever the column says */
            if ((fl & TDC_SPEC_WHEN_REQUIRED) && holds)
                required = true;
        }
        if (f->has_const) {
            *v = f->constv;
            continue;
        }
        if (f->col >= 0) {
            r = tdc_field_value(ds, f, row->fields[f->col], row->lens[f->col], v);
            if (r)
                return r;
        }
        if (!v->present && required) {
            if (f->col < 0)
                tdc_reject_field(ds, f, "required%s%s, but the header has no such column",
                                 f->when >= 0 ? " for " : "", f->when >= 0 ? f->when_names : "");
            else
                tdc_reject_field(ds, f, "empty, but required%s%s",
                                 f->when >= 0 ? " for " : "", f->when >= 0 ? f->when_names : "");
            return 1;
        }
    }
    /* A nullable record (income) is there when any of its fields read from
     * a column is (a constant, such as the income year of a one-year
     * export, does not make it so); then its non-nullable fields must all
     * be. */
    for (size_t g = 0; which != TDC_PARSE_MEMBER && g < ds->ngroups; g++) {
        const tdc_field *missing = NULL, *given = NULL;

        for (i = 0; i < ds->nfields; i++) {
            const tdc_field *f = &ds->fields[i];

            if (f->group != (int)g)
                continue;
            if (vals[i].present && !f->has_const)
                given = f;
            else if (!vals[i].present && !f->nullable && !missing)
                missing = f;
        }
        if (given && missing) {
            tdc_reject_field(ds, missing, "empty while %s is given (both or neither)",
                             tdc_colname(given));
            return 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------- avro */

/* Avro C returns 0 or a positive errno. */
static int tdc_avro_err(int r)
{
    return r > 0 ? -r : r;
}

int tdc_ds_set_string(tdc_dataset *ds, avro_value_t *v, const char *s, size_t len)
{
    if (len + 1 > ds->tmp_cap) {
        size_t cap = ds->tmp_cap ? ds->tmp_cap : 256;
        char *n;

        while (cap < len + 1)
            cap *= 2;
        n = realloc(ds->tmp, cap);
        if (!n)
            return -ENOMEM;
        ds->tmp = n;
        ds->tmp_cap = cap;
    }
    memcpy(ds->tmp, s, len);
    ds->tmp[len] = '\0';
    return tdc_avro_err(avro_value_set_string_len(v, ds->tmp, len + 1));
}

/* The record holding field f under base (walks the steps but the last);
 * sets the nullable records on the way to their value branch. */
static int tdc_parent(const tdc_field *f, avro_value_t *base, avro_value_t *ret)
{
    avro_value_t cur = *base, next;
    int r;

    for (size_t k = 0; k + 1 < f->nsteps; k++) {
        r = avro_value_get_by_index(&cur, f->steps[k], &next, NULL);
        if (r)
            return tdc_avro_err(r);
        if (avro_value_get_type(&next) == AVRO_UNION) {
            avro_value_t br;

            r = avro_value_set_branch(&next, 1, &br);
            if (r)
                return tdc_avro_err(r);
            next = br;
        }
        cur = next;
    }
    *ret = cur;
    return 0;
}

static int tdc_write_one(tdc_dataset *ds, avro_value_t *base, const tdc_field *f,
                         const tdc_val *v)
{
    avro_value_t parent, fv, leaf;
    int r;

    r = tdc_parent(f, base, &parent);
    if (r < 0)
        return r;
    r = avro_value_get_by_index(&parent, f->steps[f->nsteps - 1], &fv, NULL);
    if (r)
        return tdc_avro_err(r);
    if (f->nullable) {
        if (!v->present) {
            r = avro_value_set_branch(&fv, 0, &leaf);
            if (r == 0)
                r = avro_value_set_null(&leaf);
            return tdc_avro_err(r);
        }
        r = avro_value_set_branch(&fv, 1, &leaf);
        if (r)
            return tdc_avro_err(r);
    } else {
        leaf = fv;
    }
    switch (f->spec->kind) {
    case TDC_FK_PERSON_KEY:
        return tdc_ds_set_string(ds, &leaf, v->key, strlen(v->key));
    case TDC_FK_STRING:
    case TDC_FK_VILLAGE:
        return tdc_ds_set_string(ds, &leaf, v->s, v->len);
    case TDC_FK_DATE:
        r = avro_value_set_int(&leaf, (int32_t)v->i);
        break;
    case TDC_FK_MONEY:
    case TDC_FK_TIMESTAMP:
        r = avro_value_set_long(&leaf, v->i);
        break;
    case TDC_FK_INT:
        r = avro_value_set_int(&leaf, (int32_t)v->i);
        break;
    case TDC_FK_BOOL:
        r = avro_value_set_boolean(&leaf, v->i != 0);
        break;
    case TDC_FK_ENUM:
        r = avro_value_set_enum(&leaf, (int)v->i);
        break;
    case TDC_FK_RISKS:
        r = avro_value_reset(&leaf);
        for (unsigned k = 0; r == 0 && k < v->nitems; k++) {
            avro_value_t item;

            r = avro_value_append(&leaf, &item, NULL);
            if (r == 0)
                r = tdc_ds_set_string(ds, &item, v->items[k], v->item_lens[k]);
            if (r < 0)
                return r;
        }
        break;
    case TDC_FK_RECORD_ID:
    case TDC_FK_BIRTH_DATE:
    case TDC_FK_DERIVED:
        return 0; /* written by their owners */
    }
    return tdc_avro_err(r);
}

int tdc_ds_write_fields(tdc_dataset *ds, avro_value_t *rec, const tdc_val *vals, int which)
{
    bool group_given[2] = {false, false};
    size_t i;
    int r;

    if (which != TDC_PARSE_MEMBER) {
        for (i = 0; i < ds->nfields; i++)
            if (ds->fields[i].group >= 0 && vals[i].present && !ds->fields[i].has_const)
                group_given[ds->fields[i].group] = true;
        for (size_t g = 0; g < ds->ngroups; g++) {
            avro_value_t fv, br;

            if (group_given[g])
                continue;
            r = avro_value_get_by_index(rec, ds->groups[g].step, &fv, NULL);
            if (r == 0)
                r = avro_value_set_branch(&fv, 0, &br);
            if (r == 0)
                r = avro_value_set_null(&br);
            if (r)
                return tdc_avro_err(r);
        }
    }
    for (i = 0; i < ds->nfields; i++) {
        const tdc_field *f = &ds->fields[i];
        bool member = f->spec->flags & TDC_SPEC_MEMBER;

        if ((which == TDC_PARSE_HOUSEHOLD && member) || (which == TDC_PARSE_MEMBER && !member))
            continue;
        if (f->group >= 0 && !group_given[f->group])
            continue;
        r = tdc_write_one(ds, rec, f, &vals[i]);
        if (r < 0)
            return r;
    }
    return 0;
}

int tdc_ds_write_source(tdc_dataset *ds, avro_value_t *root, const tdc_row *row,
                        const char *record_id, size_t record_id_len)
{
    avro_value_t src, fv, br;
    int r;

    r = avro_value_get_by_index(root, ds->source_step, &src, NULL);
    if (r)
        return tdc_avro_err(r);
    /* src_steps: department (written as a field), connector_instance,
     * record_id, location, row */
    r = avro_value_get_by_index(&src, ds->src_steps[1], &fv, NULL);
    if (r == 0)
        r = avro_value_set_string(&fv, ds->instance);
    if (r)
        return tdc_avro_err(r);
    if (!record_id) {
        if (row->source_record_id && row->source_record_id[0]) {
            record_id = row->source_record_id;
        } else if (row->after.kind == TDC_POSITION_SPOOLDIR) {
            snprintf(ds->record_id, sizeof(ds->record_id), "%.*s@%" PRId64 ":%" PRId64,
                     TDC_UNIT_MAX - 1, row->unit ? row->unit : "", row->after.mtime_ns,
                     row->row);
            record_id = ds->record_id;
        } else {
            snprintf(ds->record_id, sizeof(ds->record_id), "%.*s:%" PRId64, TDC_UNIT_MAX - 1,
                     row->unit ? row->unit : "", row->row);
            record_id = ds->record_id;
        }
        record_id_len = strlen(record_id);
    }
    r = avro_value_get_by_index(&src, ds->src_steps[2], &fv, NULL);
    if (r)
        return tdc_avro_err(r);
    r = tdc_ds_set_string(ds, &fv, record_id, record_id_len);
    if (r < 0)
        return r;
    r = avro_value_get_by_index(&src, ds->src_steps[3], &fv, NULL);
    if (r == 0) {
        if (row->unit && row->unit[0]) {
            r = avro_value_set_branch(&fv, 1, &br);
            if (r == 0)
                r = avro_value_set_string(&br, row->unit);
        } else {
            r = avro_value_set_branch(&fv, 0, &br);
            if (r == 0)
                r = avro_value_set_null(&br);
        }
    }
    if (r)
        return tdc_avro_err(r);
    r = avro_value_get_by_index(&src, ds->src_steps[4], &fv, NULL);
    if (r == 0) {
        if (row->after.kind != TDC_POSITION_POSTGRES) {
            r = avro_value_set_branch(&fv, 1, &br);
            if (r == 0)
                r = avro_value_set_long(&br, row->row);
        } else {
            r = avro_value_set_branch(&fv, 0, &br);
            if (r == 0)
                r = avro_value_set_null(&br);
        }
    }
    return tdc_avro_err(r);
}

/* ------------------------------------------------------------- headers */

static bool tdc_header_eq(const char *h, const char *name)
{
    size_t hl = strlen(h), nl = strlen(name);

    if (hl >= 3 && (unsigned char)h[0] == 0xEF && (unsigned char)h[1] == 0xBB &&
        (unsigned char)h[2] == 0xBF) {
        h += 3;
        hl -= 3;
    }
    tdc_trim(&h, &hl);
    return hl == nl && memcmp(h, name, nl) == 0;
}

static int tdc_find_column(const tdc_row *row, const char *name, int *dup)
{
    int found = -1;

    *dup = -1;
    for (size_t j = 0; j < row->ncolumns; j++)
        if (row->columns[j] && tdc_header_eq(row->columns[j], name)) {
            if (found < 0)
                found = (int)j;
            else if (*dup < 0)
                *dup = (int)j;
        }
    return found;
}

static void tdc_problem_add(tdc_dataset *ds, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void tdc_problem_add(tdc_dataset *ds, const char *fmt, ...)
{
    size_t o = strlen(ds->hdr_problem);
    va_list ap;

    if (o + 8 >= sizeof(ds->hdr_problem))
        return;
    if (o)
        o += (size_t)snprintf(ds->hdr_problem + o, sizeof(ds->hdr_problem) - o, "; ");
    va_start(ap, fmt);
    vsnprintf(ds->hdr_problem + o, sizeof(ds->hdr_problem) - o, fmt, ap);
    va_end(ap);
}

/* "the header has no column A; also looked for B, C (path<more>)": a field
 * read from the default names (NULL-terminated, at least one) of f. */
static void tdc_problem_missing(tdc_dataset *ds, const tdc_field *f, const char *const *names,
                                const char *more)
{
    char also[300] = "";
    size_t o = 0;

    for (size_t k = 1; names[k] && o < sizeof(also); k++)
        o += (size_t)snprintf(also + o, sizeof(also) - o, "%s%s",
                              k == 1 ? "; also looked for " : ", ", names[k]);
    tdc_problem_add(ds, "the header has no column %s%s (%s%s)", names[0], also, f->spec->path,
                    more);
}

/* Copies the header (for rows rebuilt from the roster's buffer). */
static int tdc_copy_header(tdc_dataset *ds, const tdc_row *row)
{
    size_t total = 0, o = 0;
    const char **names;
    char *copy;

    for (size_t j = 0; j < row->ncolumns; j++)
        total += strlen(row->columns[j] ? row->columns[j] : "") + 1;
    copy = malloc(total ? total : 1);
    names = calloc(row->ncolumns ? row->ncolumns : 1, sizeof(*names));
    if (!copy || !names) {
        free(copy);
        free(names);
        return -ENOMEM;
    }
    for (size_t j = 0; j < row->ncolumns; j++) {
        const char *c = row->columns[j] ? row->columns[j] : "";
        size_t l = strlen(c) + 1;

        memcpy(copy + o, c, l);
        names[j] = copy + o;
        o += l;
    }
    free(ds->hdr_copy);
    free(ds->hdr_names);
    ds->hdr_copy = copy;
    ds->hdr_names = names;
    return 0;
}

static void tdc_forget_header(tdc_dataset *ds)
{
    ds->hdr_valid = false;
    ds->hdr_columns = NULL;
    ds->hdr_ncolumns = 0;
    free(ds->hdr_unit);
    ds->hdr_unit = NULL;
    ds->hdr_problem[0] = '\0';
    ds->hdr_problem_column = NULL;
    for (size_t i = 0; i < ds->nfields; i++) {
        ds->fields[i].col = -1;
        ds->fields[i].col_name = NULL;
    }
}

bool tdc_ds_same_header(const tdc_dataset *ds, const tdc_row *row)
{
    const char *unit = row->unit ? row->unit : "";

    return ds->hdr_valid && ds->hdr_columns == row->columns &&
           ds->hdr_ncolumns == row->ncolumns && strcmp(ds->hdr_unit, unit) == 0;
}

/* Resolves every field's column in row's header. 0 or -ENOMEM. */
static int tdc_resolve_header(tdc_dataset *ds, const tdc_row *row)
{
    const char *first_missing = NULL;
    int r;

    tdc_forget_header(ds);
    ds->hdr_unit = strdup(row->unit ? row->unit : "");
    if (!ds->hdr_unit)
        return -ENOMEM;
    r = tdc_copy_header(ds, row);
    if (r < 0)
        return r;
    if (!ds->today_fixed)
        ds->today = tdc_china_today();
    for (size_t i = 0; i < ds->nfields; i++) {
        tdc_field *f = &ds->fields[i];
        const char *one[2] = {f->column, NULL};
        const char *const *names = f->column ? one : f->spec->columns;
        int dup = -1;

        f->col = -1;
        f->col_name = NULL;
        if (f->has_const || !names || !names[0])
            continue;
        for (size_t k = 0; names[k]; k++) {
            int j = tdc_find_column(row, names[k], &dup);

            if (j >= 0) {
                f->col = j;
                f->col_name = ds->hdr_names[j];
                if (dup >= 0) {
                    tdc_problem_add(ds, "column %s (%s) appears twice in the header (columns "
                                    "%d and %d)", names[k], f->spec->path, j + 1, dup + 1);
                    if (!first_missing)
                        first_missing = ds->hdr_names[j];
                }
                break;
            }
        }
        if (f->col >= 0)
            continue;
        if (f->column) {
            tdc_problem_add(ds, "the header has no column %s (%s, set in columns: at %s)",
                            f->column, f->spec->path, f->column_origin);
        } else if (f->required && f->spec->kind != TDC_FK_RECORD_ID &&
                   f->spec->kind != TDC_FK_TIMESTAMP) {
            tdc_problem_missing(ds, f, names, "");
        } else {
            continue;
        }
        if (!first_missing)
            first_missing = names[0];
    }
    /* An all-or-none record (income) whose header has some of its columns
     * but not one it cannot do without: every row that gives it would be
     * rejected, so the file is refused as a whole, naming the column. */
    for (size_t g = 0; g < ds->ngroups; g++) {
        const tdc_field *given = NULL, *missing = NULL;

        for (size_t i = 0; i < ds->nfields; i++) {
            const tdc_field *f = &ds->fields[i];

            if (f->group != (int)g || f->has_const)
                continue;
            if (f->col >= 0 && !given)
                given = f;
            else if (f->col < 0 && !f->nullable && !f->required && !f->column && !missing)
                missing = f; /* (one required or named in columns: is reported above) */
        }
        if (!given || !missing)
            continue;
        if (missing->spec->columns && missing->spec->columns[0]) {
            char why[200];

            snprintf(why, sizeof(why), "; needed with %s: all or none", given->col_name);
            tdc_problem_missing(ds, missing, missing->spec->columns, why);
            if (!first_missing)
                first_missing = missing->spec->columns[0];
        }
    }
    if (ds->hdr_problem[0]) {
        size_t o = strlen(ds->hdr_problem);

        snprintf(ds->hdr_problem + o, sizeof(ds->hdr_problem) - o,
                 "; every row of %s is rejected", ds->hdr_unit[0] ? ds->hdr_unit : "the unit");
        td_log_redact(ds->hdr_problem);
        ds->hdr_problem_column = first_missing;
    }
    ds->hdr_columns = row->columns;
    ds->hdr_ncolumns = row->ncolumns;
    ds->hdr_valid = true;
    return 0;
}

const char *tdc_dataset_header_problem(const tdc_dataset *ds)
{
    return ds && ds->hdr_valid && ds->hdr_problem[0] ? ds->hdr_problem : NULL;
}

/* ------------------------------------------------------------- new/free */

static bool tdc_kind_takes_codes(tdc_fkind k)
{
    return k == TDC_FK_ENUM || k == TDC_FK_BOOL || k == TDC_FK_INT || k == TDC_FK_STRING ||
           k == TDC_FK_RISKS;
}

static bool tdc_kind_mappable(const tdc_field_spec *s)
{
    return s->kind != TDC_FK_BIRTH_DATE && s->kind != TDC_FK_DERIVED &&
           !(s->flags & TDC_SPEC_FIXED);
}

static void tdc_field_done(tdc_field *f)
{
    for (size_t k = 0; k < f->ncodes; k++) {
        free(f->codes[k].from);
        free(f->codes[k].to);
    }
    free(f->codes);
    free(f->codes_list);
    free(f->column);
    free(f->column_origin);
    free(f->const_text);
    memset(f, 0, sizeof(*f));
}

static int tdc_code_cmp(const void *a, const void *b)
{
    const tdc_code *x = a, *y = b;

    if (x->from_len != y->from_len)
        return x->from_len < y->from_len ? -1 : 1;
    return memcmp(x->from, y->from, x->from_len);
}

/* Adds code from -> to to f (to is a symbol for enums). Returns 0, 1 (the
 * target is invalid: why set) or -ENOMEM. */
static int tdc_code_add(tdc_field *f, size_t *cap, const char *from, const char *to,
                        char *why, size_t whysz)
{
    tdc_code c = {.sym = -1};
    int64_t x;

    if (f->spec->kind == TDC_FK_ENUM) {
        c.sym = tdc_enum_symbol(f->leaf, to, strlen(to));
        if (c.sym < 0) {
            size_t o = 0;

            o += (size_t)snprintf(why, whysz, "\"%s\" is not a symbol of %s (", to,
                                  f->leaf->name ? f->leaf->name : "the enum");
            for (size_t i = 0; i < f->leaf->nsymbols && o < whysz; i++)
                if (strcmp(f->leaf->symbols[i], "UNKNOWN") != 0)
                    o += (size_t)snprintf(why + o, whysz - o, "%s%s", o && why[o - 1] != '('
                                          ? ", " : "", f->leaf->symbols[i]);
            if (o < whysz)
                snprintf(why + o, whysz - o, ")");
            return 1;
        }
    } else if (f->spec->kind == TDC_FK_BOOL && to[0] && tdc_parse_bool(to, strlen(to)) < 0) {
        snprintf(why, whysz, "\"%s\" is not a yes/no value (true/false)", to);
        return 1;
    } else if (f->spec->kind == TDC_FK_INT && to[0] &&
               (!tdc_parse_int(to, strlen(to), &x) || x < f->spec->min || x > f->spec->max)) {
        snprintf(why, whysz, "\"%s\" is not a whole number from %" PRId64 " to %" PRId64, to,
                 f->spec->min, f->spec->max);
        return 1;
    } else if (f->spec->kind == TDC_FK_RISKS && !tdc_risk_code_ok(to, strlen(to))) {
        snprintf(why, whysz, "\"%s\" is not a risk code (2 digits, or 02xx)", to);
        return 1;
    }
    if (f->ncodes == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        tdc_code *n = realloc(f->codes, ncap * sizeof(*n));

        if (!n)
            return -ENOMEM;
        f->codes = n;
        *cap = ncap;
    }
    c.from = strdup(from);
    c.to = strdup(to);
    if (!c.from || !c.to) {
        free(c.from);
        free(c.to);
        return -ENOMEM;
    }
    c.from_len = strlen(from);
    c.to_len = strlen(to);
    f->codes[f->ncodes++] = c;
    return 0;
}

/* Sorts the codes and writes the list shown in reasons. */
static int tdc_codes_finish(tdc_field *f)
{
    size_t len = 1, o = 0;

    for (size_t k = 0; k < f->ncodes; k++)
        len += f->codes[k].from_len + 4;
    f->codes_list = malloc(len + 8);
    if (!f->codes_list)
        return -ENOMEM;
    f->codes_list[0] = '\0';
    /* in the order written, for people; then sorted, for lookups */
    for (size_t k = 0; k < f->ncodes; k++) {
        if (f->codes[k].from_len == 0)
            continue; /* the empty cell */
        o += (size_t)snprintf(f->codes_list + o, len + 8 - o, "%s%s", o ? ", " : "",
                              f->codes[k].from);
    }
    if (o > 300) { /* keep reasons short, cut at a character */
        size_t cut = 296;

        while (cut > 0 && ((unsigned char)f->codes_list[cut] & 0xC0) == 0x80)
            cut--;
        memcpy(f->codes_list + cut, "...", 4);
    }
    if (f->ncodes > 1)
        qsort(f->codes, f->ncodes, sizeof(*f->codes), tdc_code_cmp);
    return 0;
}

/* Resolves spec->path against the schema. 0, or 1 with why. */
static int tdc_resolve_path(tdc_dataset *ds, tdc_field *f, char *why, size_t whysz)
{
    const td_avro_node *n = td_avro_schema_root(ds->schema);
    const char *p = f->spec->path;
    bool member = false;

    f->nsteps = 0;
    f->group = -1;
    if (strncmp(p, "members[].", 10) == 0) {
        const td_avro_node *arr = NULL;

        for (size_t i = 0; i < n->nfields; i++)
            if (strcmp(n->fields[i].name, "members") == 0)
                arr = n->fields[i].type;
        if (!arr || arr->type != TD_AVRO_ARRAY || !arr->items ||
            arr->items->type != TD_AVRO_RECORD) {
            snprintf(why, whysz, "the schema has no members array of records");
            return 1;
        }
        n = arr->items;
        p += 10;
        member = true;
    }
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p), i;
        const td_avro_node *t = NULL;

        if (n->type != TD_AVRO_RECORD || f->nsteps == 3) {
            snprintf(why, whysz, "the schema's %s is not a record", f->spec->path);
            return 1;
        }
        for (i = 0; i < n->nfields; i++)
            if (strlen(n->fields[i].name) == l && memcmp(n->fields[i].name, p, l) == 0) {
                t = n->fields[i].type;
                break;
            }
        if (!t) {
            snprintf(why, whysz, "the schema %s has no field %s",
                     td_avro_schema_fullname(ds->schema), f->spec->path);
            return 1;
        }
        f->steps[f->nsteps++] = i;
        f->nullable = false;
        if (t->type == TD_AVRO_UNION) {
            if (t->nbranches != 2 || t->branches[0]->type != TD_AVRO_NULL) {
                snprintf(why, whysz, "the schema's %s is a union other than [\"null\", T]",
                         f->spec->path);
                return 1;
            }
            t = t->branches[1];
            f->nullable = true;
            if (dot && !member) {
                /* a nullable record on the way: a group */
                size_t g;

                for (g = 0; g < ds->ngroups; g++)
                    if (ds->groups[g].step == i)
                        break;
                if (g == ds->ngroups) {
                    if (ds->ngroups == 2) {
                        snprintf(why, whysz, "too many nullable records");
                        return 1;
                    }
                    ds->groups[ds->ngroups++].step = i;
                }
                f->group = (int)g;
            }
        }
        if (!dot) {
            f->leaf = t;
            break;
        }
        n = t;
        p = dot + 1;
    }
    return 0;
}

/* Does the leaf's type fit the field's kind? */
static bool tdc_leaf_fits(const tdc_field *f)
{
    const td_avro_node *t = f->leaf;

    switch (f->spec->kind) {
    case TDC_FK_PERSON_KEY:
    case TDC_FK_STRING:
    case TDC_FK_VILLAGE:
    case TDC_FK_RECORD_ID:
        return t->type == TD_AVRO_STRING;
    case TDC_FK_DATE:
    case TDC_FK_BIRTH_DATE:
        return t->type == TD_AVRO_INT && t->logical == TD_AVRO_LOGICAL_DATE;
    case TDC_FK_MONEY:
        return t->type == TD_AVRO_LONG;
    case TDC_FK_INT:
        return t->type == TD_AVRO_INT;
    case TDC_FK_BOOL:
        return t->type == TD_AVRO_BOOLEAN;
    case TDC_FK_ENUM:
        return t->type == TD_AVRO_ENUM;
    case TDC_FK_RISKS:
        return t->type == TD_AVRO_ARRAY && t->items && t->items->type == TD_AVRO_STRING;
    case TDC_FK_TIMESTAMP:
        return t->type == TD_AVRO_LONG && t->logical == TD_AVRO_LOGICAL_TIMESTAMP_MILLIS;
    case TDC_FK_DERIVED:
        return true;
    }
    return false;
}

int tdc_ds_field_index(const tdc_dataset *ds, const char *path)
{
    for (size_t i = 0; i < ds->nfields; i++)
        if (strcmp(ds->fields[i].spec->path, path) == 0)
            return (int)i;
    return -1;
}

/* Reports an unknown field name in `what` with a suggestion. */
static void tdc_unknown_field(tdc_dataset *ds, td_error *err, const char *origin,
                              const char *what, const char *name)
{
    const char *best;
    td_str_suggest sg;

    td_str_suggest_init(&sg, name);
    for (size_t i = 0; i < ds->nfields; i++)
        if (tdc_kind_mappable(ds->fields[i].spec) || strcmp(what, "constants") == 0)
            td_str_suggest_add(&sg, ds->fields[i].spec->path);
    best = td_str_suggest_best(&sg);
    if (best)
        td_error_append(err, -EINVAL, "%s: mapping.%s: unknown field \"%s\" for dataset %s "
                        "(did you mean \"%s\"?)", origin, what, name,
                        tdc_dataset_kind_names[ds->desc->kind], best);
    else
        td_error_append(err, -EINVAL, "%s: mapping.%s: unknown field \"%s\" for dataset %s "
                        "(see docs/connector-datasets.md)", origin, what, name,
                        tdc_dataset_kind_names[ds->desc->kind]);
}

static int tdc_read_key(tdc_dataset *ds, const char *path, td_error *err)
{
    unsigned char buf[TDC_KEY_FILE_MAX + 1];
    struct stat st;
    size_t len = 0;
    int fd, r = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        r = -errno;
        return td_error_append(err, r, "mapping.pseudonymize.key_file: %s: cannot open: %s",
                               path, strerror(-r));
    }
    if (fstat(fd, &st) < 0) {
        r = -errno;
        td_error_append(err, r, "mapping.pseudonymize.key_file: %s: %s", path, strerror(-r));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        r = td_error_append(err, -EINVAL, "mapping.pseudonymize.key_file: %s: not a regular "
                            "file", path);
        goto out;
    }
    if (st.st_mode & (S_IROTH | S_IWOTH)) {
        r = td_error_append(err, -EINVAL, "mapping.pseudonymize.key_file: %s: readable or "
                            "writable by others (chmod o-rwx)", path);
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -errno;
            td_error_append(err, r, "mapping.pseudonymize.key_file: %s: %s", path,
                            strerror(-r));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == sizeof(buf))
            break;
    }
    if (len > TDC_KEY_FILE_MAX) {
        r = td_error_append(err, -EINVAL, "mapping.pseudonymize.key_file: %s: larger than %d "
                            "bytes", path, TDC_KEY_FILE_MAX);
        goto out;
    }
    if (len < TD_PSEUDONYM_MIN_KEY) {
        r = td_error_append(err, -EINVAL, "mapping.pseudonymize.key_file: %s: holds %zu "
                            "bytes; the key needs at least %d (e.g. head -c 32 /dev/urandom)",
                            path, len, TD_PSEUDONYM_MIN_KEY);
        goto out;
    }
    {
        EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
            OSSL_PARAM_construct_end(),
        };

        ds->hmac = mac ? EVP_MAC_CTX_new(mac) : NULL;
        EVP_MAC_free(mac);
        if (!ds->hmac || !EVP_MAC_init(ds->hmac, buf, len, params)) {
            r = td_error_append(err, -EINVAL, "mapping.pseudonymize.key_file: %s: OpenSSL "
                                "has no HMAC-SHA256", path);
            goto out;
        }
    }
out:
    explicit_bzero(buf, sizeof(buf));
    close(fd);
    return r;
}

/* Every field of the schema must be one the dataset fills (a field added to
 * the schema needs the connector to know it). */
static void tdc_check_coverage(tdc_dataset *ds, td_error *err)
{
    const td_avro_node *root = td_avro_schema_root(ds->schema);

    for (size_t i = 0; i < root->nfields; i++) {
        const char *name = root->fields[i].name;
        const td_avro_node *t = root->fields[i].type;
        size_t l = strlen(name);
        bool known = strcmp(name, "source") == 0 || strcmp(name, "members") == 0;

        for (size_t k = 0; !known && k < ds->nfields; k++) {
            const char *p = ds->fields[k].spec->path;

            if (strncmp(p, name, l) == 0 && (p[l] == '\0' || p[l] == '.'))
                known = true;
        }
        if (!known)
            td_error_append(err, -EINVAL, "%s: schema field %s is not known to dataset %s",
                            td_avro_schema_source(ds->schema), name,
                            tdc_dataset_kind_names[ds->desc->kind]);
        if (strcmp(name, "members") == 0 && t->type == TD_AVRO_ARRAY && t->items &&
            t->items->type == TD_AVRO_RECORD) {
            for (size_t j = 0; j < t->items->nfields; j++) {
                char p[128];

                snprintf(p, sizeof(p), "members[].%s", t->items->fields[j].name);
                if (tdc_ds_field_index(ds, p) < 0)
                    td_error_append(err, -EINVAL, "%s: schema field %s is not known to "
                                    "dataset %s", td_avro_schema_source(ds->schema), p,
                                    tdc_dataset_kind_names[ds->desc->kind]);
            }
        }
    }
}

static int tdc_resolve_source(tdc_dataset *ds, td_error *err)
{
    static const char *const names[5] = {"department", "connector_instance", "record_id",
                                         "location", "row"};
    const td_avro_node *root = td_avro_schema_root(ds->schema), *src = NULL;

    for (size_t i = 0; i < root->nfields; i++)
        if (strcmp(root->fields[i].name, "source") == 0) {
            src = root->fields[i].type;
            ds->source_step = i;
        }
    if (!src || src->type != TD_AVRO_RECORD || src->nfields != 5)
        return td_error_append(err, -EINVAL, "%s: no source record of five fields",
                               td_avro_schema_source(ds->schema));
    for (size_t k = 0; k < 5; k++) {
        size_t i;

        for (i = 0; i < src->nfields; i++)
            if (strcmp(src->fields[i].name, names[k]) == 0)
                break;
        if (i == src->nfields)
            return td_error_append(err, -EINVAL, "%s: source has no field %s",
                                   td_avro_schema_source(ds->schema), names[k]);
        ds->src_steps[k] = i;
    }
    return 0;
}

/* Builds the fields from the spec and the schema. */
static int tdc_build_fields(tdc_dataset *ds, td_error *err)
{
    const tdc_dataset_desc *d = ds->desc;
    char why[512];
    int bad = 0, r;

    if (d->nfields > TDC_MAX_FIELDS)
        return td_error_set(err, -EINVAL, "dataset %s: too many fields",
                            tdc_dataset_kind_names[d->kind]);
    for (size_t i = 0; i < d->nfields; i++) {
        tdc_field *f = &ds->fields[i];
        const tdc_field_spec *s = &d->fields[i];

        f->spec = s;
        f->when = -1;
        f->col = -1;
        ds->nfields = i + 1;
        if (tdc_resolve_path(ds, f, why, sizeof(why))) {
            td_error_append(err, -EINVAL, "%s: %s", td_avro_schema_source(ds->schema), why);
            bad = 1;
            continue;
        }
        if (!tdc_leaf_fits(f)) {
            td_error_append(err, -EINVAL, "%s: field %s has a type (%d%s) that dataset %s "
                            "cannot fill", td_avro_schema_source(ds->schema), s->path,
                            (int)f->leaf->type, f->leaf->logical_name ? ", logical" : "",
                            tdc_dataset_kind_names[d->kind]);
            bad = 1;
            continue;
        }
        f->required = (s->flags & TDC_SPEC_REQUIRED) != 0;
        if (!f->nullable && !f->required && f->group < 0 && !s->constant &&
            !(s->flags & TDC_SPEC_FALLBACK) && s->kind != TDC_FK_RECORD_ID &&
            s->kind != TDC_FK_TIMESTAMP && s->kind != TDC_FK_BIRTH_DATE &&
            s->kind != TDC_FK_DERIVED)
            return td_error_set(err, -EINVAL, "dataset %s: %s is not nullable in the schema "
                                "but neither required nor filled otherwise",
                                tdc_dataset_kind_names[d->kind], s->path);
        if (s->when) {
            int w = tdc_ds_field_index(ds, s->when);
            size_t o = 0;

            if (w < 0 || w >= (int)i || ds->fields[w].spec->kind != TDC_FK_ENUM)
                return td_error_set(err, -EINVAL, "dataset %s: %s depends on %s, which is not "
                                    "an earlier enum field", tdc_dataset_kind_names[d->kind],
                                    s->path, s->when);
            f->when = w;
            for (size_t k = 0; s->when_symbols && s->when_symbols[k]; k++) {
                int sym = tdc_enum_symbol(ds->fields[w].leaf, s->when_symbols[k],
                                          strlen(s->when_symbols[k]));

                if (sym < 0 || sym >= 64)
                    return td_error_set(err, -EINVAL, "dataset %s: %s: no symbol %s",
                                        tdc_dataset_kind_names[d->kind], s->when,
                                        s->when_symbols[k]);
                f->when_mask |= UINT64_C(1) << sym;
                o += (size_t)snprintf(f->when_names + o, sizeof(f->when_names) - o, "%s%s",
                                      k ? " or " : "", s->when_symbols[k]);
                if (o >= sizeof(f->when_names))
                    break;
            }
        }
        /* default codes */
        if (s->codes) {
            size_t cap = 0;

            for (size_t k = 0; s->codes[k] && s->codes[k + 1]; k += 2) {
                r = tdc_code_add(f, &cap, s->codes[k], s->codes[k + 1], why, sizeof(why));
                if (r < 0)
                    return td_error_set(err, r, "out of memory");
                if (r > 0)
                    return td_error_set(err, -EINVAL, "dataset %s: %s: default code: %s",
                                        tdc_dataset_kind_names[d->kind], s->path, why);
            }
        }
    }
    return bad ? -EINVAL : 0;
}

/* Converts a constant's text at build time. 0, or 1 with ds->reason. */
static int tdc_build_constant(tdc_dataset *ds, tdc_field *f, const char *text)
{
    const char *s;
    size_t len;
    int r;

    free(f->const_text);
    f->const_text = strdup(text);
    if (!f->const_text)
        return -ENOMEM;
    memset(&f->constv, 0, sizeof(f->constv));
    s = f->const_text;
    len = strlen(s);
    tdc_trim(&s, &len);
    r = tdc_field_value(ds, f, s, len, &f->constv);
    if (r)
        return r;
    if (!f->constv.present && (f->required || !f->nullable)) {
        tdc_ds_reject_reason(ds, "", "an empty constant for a required field");
        return 1;
    }
    f->has_const = true;
    return 0;
}

static int tdc_apply_config(tdc_dataset *ds, const struct tdc_mapping_config *cfg,
                            td_error *err)
{
    char why[512];
    size_t i;
    int r;

    for (i = 0; i < cfg->columns.n; i++) {
        const td_cfg_pair *p = &cfg->columns.v[i];
        int k = tdc_ds_field_index(ds, p->key);
        tdc_field *f;

        if (k < 0) {
            tdc_unknown_field(ds, err, p->origin, "columns", p->key);
            continue;
        }
        f = &ds->fields[k];
        if (!tdc_kind_mappable(f->spec)) {
            td_error_append(err, -EINVAL, "%s: mapping.columns: %s is not read from a column "
                            "(%s)", p->origin, p->key, f->spec->doc);
            continue;
        }
        if (!p->value[0]) {
            td_error_append(err, -EINVAL, "%s: mapping.columns.%s: an empty column name",
                            p->value_origin, p->key);
            continue;
        }
        f->column = strdup(p->value);
        f->column_origin = strdup(p->value_origin);
        if (!f->column || !f->column_origin)
            return td_error_set(err, -ENOMEM, "out of memory");
    }
    for (i = 0; i < cfg->codes.n; i++) {
        const td_cfg_submap *m = &cfg->codes.v[i];
        int k = tdc_ds_field_index(ds, m->key);
        size_t cap = 0;
        tdc_field *f;

        if (k < 0) {
            tdc_unknown_field(ds, err, m->origin, "codes", m->key);
            continue;
        }
        f = &ds->fields[k];
        if (!tdc_kind_takes_codes(f->spec->kind) || !tdc_kind_mappable(f->spec)) {
            td_error_append(err, -EINVAL, "%s: mapping.codes: %s takes no codes (only enum, "
                            "yes/no, number, text and risk fields do)", m->origin, m->key);
            continue;
        }
        /* the config's codes replace the defaults */
        for (size_t c = 0; c < f->ncodes; c++) {
            free(f->codes[c].from);
            free(f->codes[c].to);
        }
        free(f->codes);
        f->codes = NULL;
        f->ncodes = 0;
        for (size_t c = 0; c < m->map.n; c++) {
            const td_cfg_pair *p = &m->map.v[c];
            const char *from = p->key;
            size_t fl = strlen(from);

            tdc_trim(&from, &fl);
            if (fl != strlen(p->key)) {
                td_error_append(err, -EINVAL, "%s: mapping.codes.%s: the code \"%s\" has "
                                "spaces around it (cells are trimmed before lookup)",
                                p->origin, m->key, p->key);
                continue;
            }
            r = tdc_code_add(f, &cap, p->key, p->value, why, sizeof(why));
            if (r < 0)
                return td_error_set(err, r, "out of memory");
            if (r > 0)
                td_error_append(err, -EINVAL, "%s: mapping.codes.%s: %s", p->value_origin,
                                m->key, why);
        }
    }
    for (i = 0; i < ds->nfields; i++) {
        r = tdc_codes_finish(&ds->fields[i]);
        if (r < 0)
            return td_error_set(err, r, "out of memory");
    }
    for (i = 0; i < cfg->nrequired; i++) {
        int k = tdc_ds_field_index(ds, cfg->required[i]);

        if (k < 0) {
            tdc_unknown_field(ds, err, "mapping.required", "required", cfg->required[i]);
            continue;
        }
        if (!tdc_kind_mappable(ds->fields[k].spec)) {
            td_error_append(err, -EINVAL, "mapping.required: %s is not read from a column",
                            cfg->required[i]);
            continue;
        }
        ds->fields[k].required = true;
    }
    /* constants: defaults from the spec, then the config's */
    for (i = 0; i < ds->nfields; i++) {
        tdc_field *f = &ds->fields[i];

        if (!f->spec->constant)
            continue;
        r = tdc_build_constant(ds, f, f->spec->constant);
        if (r < 0)
            return td_error_set(err, r, "out of memory");
        if (r > 0)
            return td_error_set(err, -EINVAL, "dataset %s: %s: bad default constant: %s",
                                tdc_dataset_kind_names[ds->desc->kind], f->spec->path,
                                ds->reason);
    }
    for (i = 0; i < cfg->constants.n; i++) {
        const td_cfg_pair *p = &cfg->constants.v[i];
        int k = tdc_ds_field_index(ds, p->key);
        tdc_field *f;
        tdc_fkind kind;

        if (k < 0) {
            tdc_unknown_field(ds, err, p->origin, "constants", p->key);
            continue;
        }
        f = &ds->fields[k];
        kind = f->spec->kind;
        if (kind == TDC_FK_PERSON_KEY || kind == TDC_FK_BIRTH_DATE || kind == TDC_FK_DERIVED ||
            kind == TDC_FK_RECORD_ID || (f->spec->flags & TDC_SPEC_KEY)) {
            td_error_append(err, -EINVAL, "%s: mapping.constants: %s cannot be a constant",
                            p->origin, p->key);
            continue;
        }
        if (f->column) {
            td_error_append(err, -EINVAL, "%s: mapping.constants: %s is also read from column "
                            "%s (%s): choose one", p->origin, p->key, f->column,
                            f->column_origin);
            continue;
        }
        f->has_const = false;
        r = tdc_build_constant(ds, f, p->value);
        if (r < 0)
            return td_error_set(err, r, "out of memory");
        if (r > 0)
            td_error_append(err, -EINVAL, "%s: mapping.constants.%s: %s", p->value_origin,
                            p->key, ds->reason);
    }
    if (cfg->pseudonymize.key_file) {
        r = tdc_read_key(ds, cfg->pseudonymize.key_file, err);
        if (r == -ENOMEM)
            return td_error_set(err, r, "out of memory");
    }
    return err && err->code ? err->code : 0;
}

int tdc_dataset_new(tdc_dataset_kind kind, const struct tdc_mapping_config *cfg,
                    const td_avro_schema *schema, const char *connector_instance,
                    tdc_dataset **ret, td_error *err)
{
    static const struct tdc_mapping_config empty;
    const tdc_dataset_desc *d = tdc_desc(kind);
    td_error local;
    tdc_dataset *ds;
    int r;

    if (!err)
        err = &local;
    td_error_clear(err);
    if (!d || !schema || !connector_instance || !ret)
        return td_error_set(err, -EINVAL, "tdc_dataset_new: missing argument");
    if (strcmp(td_avro_schema_fullname(schema), d->record) != 0)
        return td_error_set(err, -EINVAL, "%s: dataset %s needs the schema %s (%s), not %s",
                            td_avro_schema_source(schema), tdc_dataset_kind_names[kind],
                            d->record, d->schema_file, td_avro_schema_fullname(schema));
    if (!cfg)
        cfg = &empty;
    ds = calloc(1, sizeof(*ds));
    if (!ds)
        return td_error_set(err, -ENOMEM, "out of memory");
    ds->desc = d;
    ds->schema = schema;
    ds->key_field = -1;
    ds->today = tdc_china_today();
    ds->instance = strdup(connector_instance);
    if (!ds->instance) {
        r = td_error_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    r = tdc_resolve_source(ds, err);
    if (r < 0)
        goto fail;
    r = tdc_build_fields(ds, err);
    if (r < 0)
        goto fail;
    tdc_check_coverage(ds, err);
    if (err->code) {
        r = err->code;
        goto fail;
    }
    for (size_t i = 0; i < ds->nfields; i++) {
        const tdc_field_spec *s = ds->fields[i].spec;

        if ((s->flags & TDC_SPEC_KEY) && ds->key_field < 0)
            ds->key_field = (int)i;
    }
    ds->rid_field = tdc_ds_field_index(ds, "source.record_id");
    if (ds->key_field < 0) {
        r = td_error_set(err, -EINVAL, "dataset %s: no key field", tdc_dataset_kind_names[kind]);
        goto fail;
    }
    if (kind == TDC_DATASET_ROSTER) {
        const td_avro_node *root = td_avro_schema_root(schema);

        for (size_t i = 0; i < root->nfields; i++)
            if (strcmp(root->fields[i].name, "members") == 0)
                ds->members_step = i;
        r = tdc_roster_init(ds, err);
        if (r < 0)
            goto fail;
    }
    r = tdc_apply_config(ds, cfg, err);
    if (r < 0)
        goto fail;
    {
        int k = tdc_ds_field_index(ds, "source.department");

        ds->department = k >= 0 ? (int)ds->fields[k].constv.i : 0;
    }
    r = td_avro_schema_value_new(schema, &ds->value, err);
    if (r < 0)
        goto fail;
    ds->have_value = true;
    *ret = ds;
    return 0;
fail:
    if (r == 0)
        r = -EINVAL;
    tdc_dataset_free(ds);
    return r;
}

void tdc_dataset_set_today(tdc_dataset *ds, int32_t days)
{
    ds->today = days;
    ds->today_fixed = true;
}

tdc_dataset *tdc_dataset_free(tdc_dataset *ds)
{
    if (!ds)
        return NULL;
    if (ds->desc && ds->desc->kind == TDC_DATASET_ROSTER)
        tdc_roster_free(ds);
    for (size_t i = 0; i < TDC_MAX_FIELDS; i++)
        tdc_field_done(&ds->fields[i]);
    if (ds->have_value)
        avro_value_decref(&ds->value);
    EVP_MAC_CTX_free(ds->hmac); /* OpenSSL clears the key */
    free(ds->hdr_unit);
    free(ds->hdr_copy);
    free(ds->hdr_names);
    free(ds->tmp);
    free(ds->instance);
    explicit_bzero(ds->vals, sizeof(ds->vals));
    free(ds);
    return NULL;
}

/* ------------------------------------------------------------- mapping */

static int tdc_emit_reject(const tdc_sink *sink, const tdc_row *row, const char *column,
                           const char *reason, td_error *err)
{
    int r = sink->reject(sink->opaque, row, column, reason);

    if (r < 0)
        return td_error_set(err, r, "the sink refused a rejection of row %" PRId64, row->row);
    return 0;
}

/* Checks the header and the row's shape. 0 (go on), 1 (rejected: reason
 * set) or -ENOMEM. */
static int tdc_row_shape(tdc_dataset *ds, const tdc_row *row)
{
    int r;

    if (!tdc_ds_same_header(ds, row)) {
        r = tdc_resolve_header(ds, row);
        if (r < 0)
            return r;
    }
    if (ds->hdr_problem[0]) {
        tdc_ds_reject_reason(ds, ds->hdr_problem_column, "%s", ds->hdr_problem);
        return 1;
    }
    if (row->reject_reason) {
        tdc_ds_reject_reason(ds, "", "%s", row->reject_reason);
        return 1;
    }
    if (row->nfields != row->ncolumns) {
        tdc_ds_reject_reason(ds, "", "the row has %zu fields, the header has %zu", row->nfields,
                             row->ncolumns);
        return 1;
    }
    return 0;
}

int tdc_ds_row_shape(tdc_dataset *ds, const tdc_row *row)
{
    return tdc_row_shape(ds, row);
}

int tdc_dataset_map(tdc_dataset *ds, const tdc_row *row, const tdc_position *before,
                    const tdc_sink *sink, td_error *err)
{
    const tdc_val *key, *rid;
    int r;

    if (!ds || !row || !sink)
        return td_error_set(err, -EINVAL, "tdc_dataset_map: missing argument");
    if (row->deleted && ds->desc->delete_reason) {
        /* the roster's household being read ends before it */
        if (ds->desc->kind == TDC_DATASET_ROSTER && (r = tdc_roster_flush(ds, sink, err)) < 0)
            return r;
        return tdc_emit_reject(sink, row, "", ds->desc->delete_reason, err);
    }
    if (ds->desc->kind == TDC_DATASET_ROSTER)
        return tdc_roster_map(ds, row, before, sink, err);
    r = tdc_row_shape(ds, row);
    if (r == 0)
        r = tdc_ds_parse_row(ds, row, ds->vals, TDC_PARSE_ALL);
    if (r == 0 && ds->desc->check)
        r = ds->desc->check(ds, ds->vals);
    if (r < 0)
        return td_error_set(err, r, "out of memory");
    if (r > 0)
        return tdc_emit_reject(sink, row, ds->reason_column, ds->reason, err);

    r = avro_value_reset(&ds->value);
    if (r)
        return td_error_set(err, tdc_avro_err(r), "cannot reset the record");
    r = tdc_ds_write_fields(ds, &ds->value, ds->vals, TDC_PARSE_ALL);
    rid = ds->rid_field >= 0 ? &ds->vals[ds->rid_field] : NULL;
    if (r == 0)
        r = tdc_ds_write_source(ds, &ds->value, row, rid && rid->present ? rid->s : NULL,
                                rid && rid->present ? rid->len : 0);
    if (r < 0)
        return td_error_set(err, r, "cannot fill the record: %s", strerror(-r));
    key = &ds->vals[ds->key_field];
    r = sink->record(sink->opaque, key->key, &ds->value, row, row);
    if (r < 0)
        return td_error_set(err, r, "the sink refused the record of row %" PRId64, row->row);
    return 0;
}

int tdc_dataset_end_unit(tdc_dataset *ds, const tdc_sink *sink, td_error *err)
{
    int r = 0;

    if (!ds || !sink)
        return td_error_set(err, -EINVAL, "tdc_dataset_end_unit: missing argument");
    if (ds->desc->kind == TDC_DATASET_ROSTER) {
        r = tdc_roster_flush(ds, sink, err);
        tdc_roster_reset_unit(ds);
    }
    tdc_forget_header(ds);
    return r;
}

const tdc_position *tdc_dataset_safe_position(const tdc_dataset *ds)
{
    if (!ds || ds->desc->kind != TDC_DATASET_ROSTER || !ds->ro.active)
        return NULL;
    return &ds->ro.before;
}

void tdc_dataset_reset(tdc_dataset *ds)
{
    if (!ds)
        return;
    if (ds->desc->kind == TDC_DATASET_ROSTER)
        tdc_roster_reset_unit(ds);
    tdc_forget_header(ds);
}

/* ------------------------------------------------------------- reference */

static const char *tdc_kind_doc(const tdc_field_spec *s)
{
    switch (s->kind) {
    case TDC_FK_PERSON_KEY:
        return "identity number";
    case TDC_FK_STRING:
        return "text";
    case TDC_FK_DATE:
        return "date";
    case TDC_FK_MONEY:
        return (s->flags & TDC_SPEC_NONNEG) ? "money (yuan, >= 0)" : "money (yuan)";
    case TDC_FK_INT:
        return "number";
    case TDC_FK_BOOL:
        return "yes/no";
    case TDC_FK_ENUM:
        return "enum";
    case TDC_FK_VILLAGE:
        return "village code";
    case TDC_FK_RECORD_ID:
        return "record id";
    case TDC_FK_RISKS:
        return "risk codes";
    case TDC_FK_TIMESTAMP:
        return "date and time";
    case TDC_FK_BIRTH_DATE:
    case TDC_FK_DERIVED:
        return "derived";
    }
    return "?";
}

/* Writes s into a Markdown table cell ('|' escaped). */
static void tdc_md(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else if (*s == '\n')
            fputc(' ', f);
        else
            fputc(*s, f);
    }
}

int tdc_dataset_write_reference(tdc_dataset_kind kind, FILE *f)
{
    const tdc_dataset_desc *d = tdc_desc(kind);

    if (!d || !f)
        return -EINVAL;
    fputs("| Field | Default columns | Kind | Required | Default codes | Notes |\n"
          "|-------|-----------------|------|----------|---------------|-------|\n", f);
    for (size_t i = 0; i < d->nfields; i++) {
        const tdc_field_spec *s = &d->fields[i];

        fprintf(f, "| `%s` | ", s->path);
        for (size_t k = 0; s->columns && s->columns[k]; k++) {
            fputs(k ? ", " : "", f);
            tdc_md(f, s->columns[k]);
        }
        if (s->constant)
            fprintf(f, "%sconstant `%s`", s->columns ? "; " : "", s->constant);
        if (!s->columns && !s->constant)
            fputs("-", f);
        fprintf(f, " | %s", s->flags & TDC_SPEC_FIXED ? "set by the connector"
                                                      : tdc_kind_doc(s));
        if (s->kind == TDC_FK_INT)
            fprintf(f, " %" PRId64 "-%" PRId64, s->min, s->max);
        fputs(" | ", f);
        if (s->flags & TDC_SPEC_REQUIRED)
            fputs("yes", f);
        else if ((s->flags & TDC_SPEC_WHEN_REQUIRED) && s->when_symbols) {
            fputs("for ", f);
            for (size_t k = 0; s->when_symbols[k]; k++)
                fprintf(f, "%s%s", k ? ", " : "", s->when_symbols[k]);
        } else {
            fputs("no", f);
        }
        fputs(" | ", f);
        for (size_t k = 0; s->codes && s->codes[k] && s->codes[k + 1]; k += 2) {
            fputs(k ? ", " : "", f);
            tdc_md(f, s->codes[k][0] ? s->codes[k] : "(empty)");
            fputs(" -> ", f);
            tdc_md(f, s->codes[k + 1][0] ? s->codes[k + 1] : "(empty)");
        }
        fputs(" | ", f);
        tdc_md(f, s->doc ? s->doc : "");
        fputs(" |\n", f);
    }
    return ferror(f) ? -EIO : 0;
}
