/* tdt_format: aligned tables (double-width aware), csv and json. */
#include "tdt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int tdt_format_parse(const char *s, tdt_format *ret)
{
    if (!s)
        return -EINVAL;
    if (strcmp(s, "table") == 0)
        *ret = TDT_FMT_TABLE;
    else if (strcmp(s, "csv") == 0)
        *ret = TDT_FMT_CSV;
    else if (strcmp(s, "json") == 0)
        *ret = TDT_FMT_JSON;
    else
        return -EINVAL;
    return 0;
}

/* Decodes one UTF-8 sequence at s; *len its length (1 for invalid bytes).
 * Returns the code point, or -1 when invalid. */
static long tdt_utf8(const unsigned char *s, size_t *len)
{
    long cp;
    size_t n;
    if (s[0] < 0x80) {
        *len = 1;
        return s[0];
    }
    if ((s[0] & 0xE0) == 0xC0) {
        n = 2;
        cp = s[0] & 0x1F;
    } else if ((s[0] & 0xF0) == 0xE0) {
        n = 3;
        cp = s[0] & 0x0F;
    } else if ((s[0] & 0xF8) == 0xF0) {
        n = 4;
        cp = s[0] & 0x07;
    } else {
        *len = 1;
        return -1;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *len = 1;
            return -1;
        }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    *len = n;
    return cp;
}

static int tdt_cp_width(long cp)
{
    if (cp < 0)
        return 1;
    if ((cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x200B && cp <= 0x200F) ||
        (cp >= 0xFE00 && cp <= 0xFE0F))
        return 0;
    if ((cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0x303E) ||
        (cp >= 0x3041 && cp <= 0x33FF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
        (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xA000 && cp <= 0xA4CF) ||
        (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
        (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
        (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) ||
        (cp >= 0x20000 && cp <= 0x3FFFD))
        return 2;
    return 1;
}

size_t tdt_display_width(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t w = 0, len;
    if (!s)
        return 0;
    while (*p) {
        w += (size_t)tdt_cp_width(tdt_utf8(p, &len));
        p += len;
    }
    return w;
}

void tdt_table_init(tdt_table *t, const tdt_column *cols, size_t ncols)
{
    memset(t, 0, sizeof(*t));
    t->cols = cols;
    t->ncols = ncols;
}

int tdt_table_add(tdt_table *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 32;
        char **nv = realloc(t->cells, nc * t->ncols * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        t->cells = nv;
        t->cap = nc;
    }
    for (size_t i = 0; i < t->ncols; i++) {
        char *c = strdup(cells[i] ? cells[i] : "");
        if (!c) {
            for (size_t k = 0; k < i; k++)
                free(t->cells[t->nrows * t->ncols + k]);
            return -ENOMEM;
        }
        t->cells[t->nrows * t->ncols + i] = c;
    }
    t->nrows++;
    return 0;
}

void tdt_table_done(tdt_table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof(*t));
}

void tdt_csv_field(FILE *f, const char *s)
{
    if (!s)
        s = "";
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

void tdt_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        default:
            if (*p < 0x20)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

/* A JSON number: -?digits(.digits)? without leading zeros. */
static bool tdt_is_number(const char *s)
{
    const char *p = s;
    if (*p == '-')
        p++;
    if (*p < '0' || *p > '9')
        return false;
    if (*p == '0' && p[1] >= '0' && p[1] <= '9')
        return false;
    while (*p >= '0' && *p <= '9')
        p++;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

static void tdt_pad(FILE *f, size_t n)
{
    while (n--)
        fputc(' ', f);
}

static void tdt_row_text(const tdt_table *t, const char *const *cells, const size_t *w, FILE *f)
{
    for (size_t i = 0; i < t->ncols; i++) {
        fputs(cells[i], f);
        if (i + 1 < t->ncols)
            tdt_pad(f, w[i] - tdt_display_width(cells[i]) + 2);
    }
    fputc('\n', f);
}

static void tdt_row_csv(const tdt_table *t, const char *const *cells, FILE *f)
{
    for (size_t i = 0; i < t->ncols; i++) {
        if (i)
            fputc(',', f);
        tdt_csv_field(f, cells[i]);
    }
    fputs("\r\n", f);
}

static void tdt_row_json(const tdt_table *t, const char *const *cells, FILE *f)
{
    fputc('{', f);
    for (size_t i = 0; i < t->ncols; i++) {
        if (i)
            fputc(',', f);
        tdt_json_string(f, t->cols[i].key);
        fputc(':', f);
        if (!*cells[i])
            fputs("null", f);
        else if (t->cols[i].number && tdt_is_number(cells[i]))
            fputs(cells[i], f);
        else
            tdt_json_string(f, cells[i]);
    }
    fputc('}', f);
}

static size_t *tdt_widths(const tdt_table *t)
{
    size_t *w = calloc(t->ncols ? t->ncols : 1, sizeof(*w));
    if (!w)
        return NULL;
    for (size_t i = 0; i < t->ncols; i++) {
        w[i] = tdt_display_width(t->cols[i].header);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t x = tdt_display_width(t->cells[r * t->ncols + i]);
            if (x > w[i])
                w[i] = x;
        }
    }
    return w;
}

void tdt_table_write_rows(const tdt_table *t, size_t from, tdt_format fmt, FILE *f)
{
    size_t *w = fmt == TDT_FMT_TABLE ? tdt_widths(t) : NULL;
    if (fmt == TDT_FMT_TABLE && !w)
        return;
    for (size_t r = from; r < t->nrows; r++) {
        const char *const *cells = (const char *const *)&t->cells[r * t->ncols];
        if (fmt == TDT_FMT_TABLE)
            tdt_row_text(t, cells, w, f);
        else if (fmt == TDT_FMT_CSV)
            tdt_row_csv(t, cells, f);
        else {
            tdt_row_json(t, cells, f);
            fputc('\n', f);
        }
    }
    free(w);
}

void tdt_table_write(const tdt_table *t, tdt_format fmt, FILE *f)
{
    const char **h = malloc((t->ncols ? t->ncols : 1) * sizeof(*h));
    if (!h)
        return;
    if (fmt == TDT_FMT_JSON) {
        fputc('[', f);
        for (size_t r = 0; r < t->nrows; r++) {
            fputs(r ? ",\n " : "\n ", f);
            tdt_row_json(t, (const char *const *)&t->cells[r * t->ncols], f);
        }
        fputs(t->nrows ? "\n]\n" : "]\n", f);
    } else if (fmt == TDT_FMT_CSV) {
        for (size_t i = 0; i < t->ncols; i++)
            h[i] = t->cols[i].key;
        tdt_row_csv(t, h, f);
        tdt_table_write_rows(t, 0, fmt, f);
    } else {
        size_t *w = tdt_widths(t);
        if (w) {
            for (size_t i = 0; i < t->ncols; i++)
                h[i] = t->cols[i].header;
            tdt_row_text(t, h, w, f);
            free(w);
            tdt_table_write_rows(t, 0, fmt, f);
        }
    }
    free(h);
}
