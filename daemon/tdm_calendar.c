/* tdm_calendar: see tdm_calendar.h. */
#include "tdm_calendar.h"

#include "td_date.h"
#include "td_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TDM_HEADER "date,kind,name"
#define TDM_SOURCE "# source"

struct tdm_holidays {
    int32_t *holidays, *workdays;
    size_t n_holidays, n_workdays;
    int first_year, last_year;
    char **sources; /* [last_year - first_year + 1] */
};

/* ---- parsing ---- */

typedef struct tdm_problem {
    size_t line, col, seq; /* seq: the order found, for equal positions */
    char *msg;
} tdm_problem;

typedef struct tdm_row {
    int32_t day;
    bool workday;
    size_t line;
} tdm_row;

typedef struct tdm_src {
    int year;
    size_t line, col; /* of the year */
    char *text;
    bool used;
} tdm_src;

typedef struct tdm_parser {
    const char *name;
    tdm_problem *probs;
    size_t nprobs, capprobs;
    tdm_row *rows;
    size_t nrows, caprows;
    tdm_src *srcs;
    size_t nsrcs, capsrcs;
    bool oom;
} tdm_parser;

static bool tdm_grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return true;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *q = realloc(*p, ncap * size);
    if (!q)
        return false;
    *p = q;
    *cap = ncap;
    return true;
}

__attribute__((format(printf, 4, 5)))
static void tdm_problem_add(tdm_parser *ps, size_t line, size_t col, const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL;

    if (!tdm_grow((void **)&ps->probs, &ps->capprobs, ps->nprobs, sizeof(*ps->probs))) {
        ps->oom = true;
        return;
    }
    va_start(ap, fmt);
    int r = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (r < 0) {
        ps->oom = true;
        return;
    }
    ps->probs[ps->nprobs] = (tdm_problem){line, col, ps->nprobs, msg};
    ps->nprobs++;
}

/* The column (1-based, in characters) of byte off of a valid UTF-8 line. */
static size_t tdm_col(const char *line, size_t off)
{
    size_t col = 1;

    for (size_t i = 0; i < off; i++)
        if (((unsigned char)line[i] & 0xC0) != 0x80)
            col++;
    return col;
}

/* The length of the valid UTF-8 prefix of s[0..n) (no NUL, no C0 control
 * other than tab, no overlong form or surrogate). */
static size_t tdm_utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;

    while (i < n) {
        unsigned c = u[i];
        size_t k;
        unsigned min, v;
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t') || c == 0x7F)
                return i;
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            k = 1, min = 0x80, v = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF)
            k = 2, min = 0x800, v = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4)
            k = 3, min = 0x10000, v = c & 0x07;
        else
            return i;
        for (size_t j = 1; j <= k; j++) {
            if (i + j >= n || (u[i + j] & 0xC0) != 0x80)
                return i;
            v = (v << 6) | (u[i + j] & 0x3F);
        }
        if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
            return i;
        i += k + 1;
    }
    return n;
}

static bool tdm_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* The value of n ASCII digits (checked by tdm_digits); reads only s[0..n). */
static int tdm_num(const char *s, size_t n)
{
    int v = 0;

    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

static const char *const tdm_weekday_names[] = {"Monday", "Tuesday", "Wednesday", "Thursday",
                                                "Friday", "Saturday", "Sunday"};

/* "# source YYYY: text" */
static void tdm_parse_source(tdm_parser *ps, const char *line, size_t len, size_t lineno)
{
    size_t p = strlen(TDM_SOURCE);
    const char *want = "write \"# source YYYY: <the notice, its number and date>\"";

    if (p >= len || line[p] != ' ' || p + 5 > len || !tdm_digits(line + p + 1, 4)) {
        size_t at = p < len && line[p] == ' ' ? p + 1 : p;
        tdm_problem_add(ps, lineno, tdm_col(line, at), "expected a year: %s", want);
        return;
    }
    int year = tdm_num(line + p + 1, 4);
    size_t ycol = tdm_col(line, p + 1);
    if (year < 1000) {
        tdm_problem_add(ps, lineno, ycol, "year %d is out of range (1000..9999)", year);
        return;
    }
    p += 5;
    if (p >= len || line[p] != ':') {
        tdm_problem_add(ps, lineno, tdm_col(line, p), "expected ':' after the year: %s", want);
        return;
    }
    p++;
    while (p < len && (line[p] == ' ' || line[p] == '\t'))
        p++;
    if (p >= len) {
        tdm_problem_add(ps, lineno, tdm_col(line, p),
                        "the source of %d is empty: name the notice, its number and date", year);
        return;
    }
    for (size_t i = 0; i < ps->nsrcs; i++)
        if (ps->srcs[i].year == year) {
            tdm_problem_add(ps, lineno, ycol, "year %d has a source already (line %zu)", year,
                            ps->srcs[i].line);
            return;
        }
    if (!tdm_grow((void **)&ps->srcs, &ps->capsrcs, ps->nsrcs, sizeof(*ps->srcs))) {
        ps->oom = true;
        return;
    }
    char *text = strndup(line + p, len - p);
    if (!text) {
        ps->oom = true;
        return;
    }
    ps->srcs[ps->nsrcs++] = (tdm_src){year, lineno, ycol, text, false};
}

/* "YYYY-MM-DD,holiday|workday,name" */
static void tdm_parse_row(tdm_parser *ps, const char *line, size_t len, size_t lineno)
{
    const char *c1 = memchr(line, ',', len);
    const char *c2 = c1 ? memchr(c1 + 1, ',', len - (size_t)(c1 + 1 - line)) : NULL;
    const char *c3 = c2 ? memchr(c2 + 1, ',', len - (size_t)(c2 + 1 - line)) : NULL;
    int32_t day = 0;
    size_t dlen = c1 ? (size_t)(c1 - line) : len;

    if (dlen != 10 || !tdm_digits(line, 4) || line[4] != '-' || !tdm_digits(line + 5, 2) ||
        line[7] != '-' || !tdm_digits(line + 8, 2)) {
        tdm_problem_add(ps, lineno, 1, "expected a date YYYY-MM-DD");
        return;
    }
    if (!td_date_from_ymd(tdm_num(line, 4), tdm_num(line + 5, 2), tdm_num(line + 8, 2), &day)) {
        tdm_problem_add(ps, lineno, 1, "%.10s is not a real date", line);
        return;
    }
    if (!c1 || !c2) {
        tdm_problem_add(ps, lineno, tdm_col(line, len),
                        "expected 3 fields: date,kind,name (kind holiday or workday)");
        return;
    }
    size_t kcol = tdm_col(line, (size_t)(c1 + 1 - line));
    size_t klen = (size_t)(c2 - c1 - 1);
    bool workday;
    if (klen == 7 && memcmp(c1 + 1, "holiday", 7) == 0)
        workday = false;
    else if (klen == 7 && memcmp(c1 + 1, "workday", 7) == 0)
        workday = true;
    else {
        tdm_problem_add(ps, lineno, kcol,
                        "expected holiday (a weekday off) or workday (a weekend day worked, "
                        "调休)");
        return;
    }
    size_t ncol = tdm_col(line, (size_t)(c2 + 1 - line));
    if (c3) {
        tdm_problem_add(ps, lineno, tdm_col(line, (size_t)(c3 - line)),
                        "more than 3 fields (a name has no ',')");
        return;
    }
    size_t nlen = len - (size_t)(c2 + 1 - line);
    if (nlen == 0) {
        tdm_problem_add(ps, lineno, ncol, "the name is empty (e.g. 春节)");
        return;
    }
    if (c2[1] == ' ' || c2[1] == '\t' || line[len - 1] == ' ' || line[len - 1] == '\t') {
        tdm_problem_add(ps, lineno, ncol, "the name begins or ends with a space");
        return;
    }
    if (!tdm_grow((void **)&ps->rows, &ps->caprows, ps->nrows, sizeof(*ps->rows))) {
        ps->oom = true;
        return;
    }
    ps->rows[ps->nrows++] = (tdm_row){day, workday, lineno};
    int wd = td_date_weekday(day);
    if (!workday && wd >= 5)
        tdm_problem_add(ps, lineno, 1,
                        "%.10s is a %s: a holiday row is a weekday that is off (a holiday's "
                        "weekend days are off anyway and are not listed)",
                        line, tdm_weekday_names[wd]);
    else if (workday && wd < 5)
        tdm_problem_add(ps, lineno, 1,
                        "%.10s is a %s: a workday row is a Saturday or Sunday that is worked "
                        "(调休)", line, tdm_weekday_names[wd]);
}

static int tdm_row_cmp(const void *a, const void *b)
{
    const tdm_row *x = a, *y = b;

    if (x->day != y->day)
        return x->day < y->day ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

static int tdm_src_cmp(const void *a, const void *b)
{
    const tdm_src *x = a, *y = b;

    return (x->year > y->year) - (x->year < y->year);
}

static int tdm_problem_cmp(const void *a, const void *b)
{
    const tdm_problem *x = a, *y = b;

    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static int tdm_year_of(int32_t day)
{
    int y, m, d;

    td_date_to_ymd(day, &y, &m, &d);
    return y;
}

static tdm_src *tdm_src_find(tdm_parser *ps, int year)
{
    for (size_t i = 0; i < ps->nsrcs; i++)
        if (ps->srcs[i].year == year)
            return &ps->srcs[i];
    return NULL;
}

/* The checks over the whole file, after every line. */
static void tdm_parse_end(tdm_parser *ps, size_t nlines)
{
    if (ps->nsrcs > 0)
        qsort(ps->srcs, ps->nsrcs, sizeof(*ps->srcs), tdm_src_cmp);
    if (ps->nsrcs == 0)
        tdm_problem_add(ps, nlines + 1, 1,
                        "no \"# source YYYY: <notice>\" line: the file covers no year");
    for (size_t i = 1; i < ps->nsrcs; i++)
        if (ps->srcs[i].year != ps->srcs[i - 1].year + 1)
            tdm_problem_add(ps, ps->srcs[i].line, ps->srcs[i].col,
                            "year %d follows %d: %d has no source line (the covered years "
                            "follow each other)",
                            ps->srcs[i].year, ps->srcs[i - 1].year, ps->srcs[i - 1].year + 1);
    if (ps->nrows > 0)
        qsort(ps->rows, ps->nrows, sizeof(*ps->rows), tdm_row_cmp);
    for (size_t i = 0; i < ps->nrows; i++) {
        const tdm_row *r = &ps->rows[i];
        int year = tdm_year_of(r->day);
        tdm_src *s = tdm_src_find(ps, year);
        char date[16];
        td_date_format(r->day, date, sizeof(date));
        if (s)
            s->used = true;
        else
            tdm_problem_add(ps, r->line, 1,
                            "%s: year %d has no \"# source %d: <notice>\" line", date, year,
                            year);
        if (i > 0 && ps->rows[i - 1].day == r->day) {
            const tdm_row *q = &ps->rows[i - 1];
            if (q->workday == r->workday)
                tdm_problem_add(ps, r->line, 1, "%s is listed twice (line %zu)", date, q->line);
            else
                tdm_problem_add(ps, r->line, 1, "%s is both a holiday and a workday (line %zu)",
                                date, q->line);
        }
    }
    for (size_t i = 0; i < ps->nsrcs; i++)
        if (!ps->srcs[i].used)
            tdm_problem_add(ps, ps->srcs[i].line, ps->srcs[i].col,
                            "year %d has a source but no row (its holidays are missing)",
                            ps->srcs[i].year);
}

static void tdm_parser_done(tdm_parser *ps)
{
    for (size_t i = 0; i < ps->nprobs; i++)
        free(ps->probs[i].msg);
    free(ps->probs);
    free(ps->rows);
    for (size_t i = 0; i < ps->nsrcs; i++)
        free(ps->srcs[i].text);
    free(ps->srcs);
}

/* Moves the parse's result into a new tdm_holidays. */
static int tdm_holidays_build(tdm_parser *ps, tdm_holidays **ret)
{
    tdm_holidays *h = calloc(1, sizeof(*h));
    size_t nh = 0, nw = 0;

    if (!h)
        return -ENOMEM;
    for (size_t i = 0; i < ps->nrows; i++)
        ps->rows[i].workday ? nw++ : nh++;
    h->holidays = calloc(nh ? nh : 1, sizeof(*h->holidays));
    h->workdays = calloc(nw ? nw : 1, sizeof(*h->workdays));
    h->sources = calloc(ps->nsrcs, sizeof(*h->sources));
    if (!h->holidays || !h->workdays || !h->sources) {
        tdm_holidays_free(h);
        return -ENOMEM;
    }
    for (size_t i = 0; i < ps->nrows; i++) {
        if (ps->rows[i].workday)
            h->workdays[h->n_workdays++] = ps->rows[i].day;
        else
            h->holidays[h->n_holidays++] = ps->rows[i].day;
    }
    h->first_year = ps->srcs[0].year;
    h->last_year = ps->srcs[ps->nsrcs - 1].year;
    for (size_t i = 0; i < ps->nsrcs; i++) {
        h->sources[i] = ps->srcs[i].text;
        ps->srcs[i].text = NULL;
    }
    *ret = h;
    return 0;
}

int tdm_holidays_parse(const char *name, const char *text, size_t len, tdm_holidays **ret,
                       td_error *err)
{
    tdm_parser ps = {.name = name ? name : "<string>"};
    bool header = false;
    size_t lineno = 0, pos = 0;
    int r = 0;

    if (!text || !ret)
        return td_error_set(err, -EINVAL, "tdm_holidays_parse: NULL argument");
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;
    while (pos < len && !ps.oom) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + (nl ? 1 : 0);
        lineno++;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        size_t ok = tdm_utf8_valid(line, n);
        if (ok < n) {
            tdm_problem_add(&ps, lineno, tdm_col(line, ok),
                            "not UTF-8 text (or a control character)");
            continue;
        }
        if (n == 0)
            continue;
        if (line[0] == '#') {
            size_t sl = strlen(TDM_SOURCE);
            if (n >= sl && memcmp(line, TDM_SOURCE, sl) == 0 &&
                (n == sl || line[sl] == ' ' || line[sl] == ':'))
                tdm_parse_source(&ps, line, n, lineno);
            continue;
        }
        if (!header) {
            header = true;
            if (n != strlen(TDM_HEADER) || memcmp(line, TDM_HEADER, n) != 0)
                tdm_problem_add(&ps, lineno, 1, "expected the header \"" TDM_HEADER "\"");
            continue;
        }
        tdm_parse_row(&ps, line, n, lineno);
    }
    if (!ps.oom && !header)
        tdm_problem_add(&ps, lineno + 1, 1, "no header \"" TDM_HEADER "\" and no row");
    if (!ps.oom)
        tdm_parse_end(&ps, lineno);
    if (ps.oom) {
        r = td_error_set(err, -ENOMEM, "out of memory");
        goto done;
    }
    if (ps.nprobs > 0) {
        qsort(ps.probs, ps.nprobs, sizeof(*ps.probs), tdm_problem_cmp);
        r = td_error_set(err, -EINVAL, "%s:%zu:%zu: %s", ps.name, ps.probs[0].line,
                         ps.probs[0].col, ps.probs[0].msg);
        for (size_t i = 1; i < ps.nprobs && i < TDM_HOLIDAYS_MAX_ERRORS; i++)
            td_error_append(err, r, "%s:%zu:%zu: %s", ps.name, ps.probs[i].line,
                            ps.probs[i].col, ps.probs[i].msg);
        if (ps.nprobs > TDM_HOLIDAYS_MAX_ERRORS)
            td_error_append(err, r, "%s: and %zu more problems", ps.name,
                            ps.nprobs - TDM_HOLIDAYS_MAX_ERRORS);
        goto done;
    }
    r = tdm_holidays_build(&ps, ret);
    if (r < 0)
        td_error_set(err, r, "out of memory");
done:
    tdm_parser_done(&ps);
    return r;
}

int tdm_holidays_load(const char *path, tdm_holidays **ret, td_error *err)
{
    FILE *f;
    char *buf = NULL;
    size_t n;
    int r;

    if (!path || !ret)
        return td_error_set(err, -EINVAL, "tdm_holidays_load: NULL argument");
    f = fopen(path, "rb");
    if (!f) {
        r = -errno;
        return td_error_set(err, r, "%s: %s", path, strerror(-r));
    }
    buf = malloc(TDM_HOLIDAYS_MAX_BYTES + 1);
    if (!buf) {
        fclose(f);
        return td_error_set(err, -ENOMEM, "out of memory");
    }
    n = fread(buf, 1, TDM_HOLIDAYS_MAX_BYTES + 1, f);
    if (ferror(f))
        r = td_error_set(err, -EIO, "%s: read error", path);
    else if (n > TDM_HOLIDAYS_MAX_BYTES)
        r = td_error_set(err, -EFBIG, "%s: bigger than %u bytes: not a holiday file", path,
                         TDM_HOLIDAYS_MAX_BYTES);
    else
        r = tdm_holidays_parse(path, buf, n, ret, err);
    fclose(f);
    free(buf);
    return r;
}

tdm_holidays *tdm_holidays_free(tdm_holidays *h)
{
    if (!h)
        return NULL;
    if (h->sources)
        for (int y = h->first_year; y <= h->last_year; y++)
            free(h->sources[y - h->first_year]);
    free(h->sources);
    free(h->holidays);
    free(h->workdays);
    free(h);
    return NULL;
}

int tdm_holidays_first_year(const tdm_holidays *h)
{
    return h ? h->first_year : 0;
}

int tdm_holidays_last_year(const tdm_holidays *h)
{
    return h ? h->last_year : 0;
}

const char *tdm_holidays_source(const tdm_holidays *h, int year)
{
    if (!h || year < h->first_year || year > h->last_year)
        return NULL;
    return h->sources[year - h->first_year];
}

size_t tdm_holidays_count(const tdm_holidays *h, bool workdays)
{
    if (!h)
        return 0;
    return workdays ? h->n_workdays : h->n_holidays;
}

void tdm_holidays_calendar(const tdm_holidays *h, tdm_calendar *ret)
{
    *ret = (tdm_calendar){0};
    if (!h)
        return;
    ret->holidays = h->holidays;
    ret->n_holidays = h->n_holidays;
    ret->workdays = h->workdays;
    ret->n_workdays = h->n_workdays;
    ret->first_year = h->first_year;
    ret->last_year = h->last_year;
}

/* ---- the calendar tuodi-matchd runs with ---- */

#define TDM_YEARS 10000 /* td_date's years are 1..9999 */

struct tdm_workdays {
    char *path;
    bool missing_ok;
    tdm_holidays *file; /* NULL: none (missing) */
    tdm_calendar cal;   /* what tdm_workdays_calendar hands out */
    unsigned char warned[TDM_YEARS / 8 + 1];
    td_metric *fallback, *last_year;
};

static void tdm_workdays_fallback(void *opaque, int year)
{
    tdm_workdays *w = opaque;
    char label[8];

    if (year < 1 || year >= TDM_YEARS)
        return;
    snprintf(label, sizeof(label), "%d", year);
    td_metric_add(w->fallback, 1, label);
    if (w->warned[year / 8] & (1u << (year % 8)))
        return;
    w->warned[year / 8] |= (unsigned char)(1u << (year % 8));
    if (w->file)
        td_log_warning("calendar: %s covers %d to %d, not %d: due dates count Monday to Friday "
                       "in %d (add the State Council's notice for %d: docs/operations.md, "
                       "\"Next year's holidays\"; then SIGHUP); warned once",
                       w->path, w->file->first_year, w->file->last_year, year, year, year);
    else
        td_log_warning("calendar: no holiday file (%s): due dates count Monday to Friday in "
                       "%d; warned once", w->path, year);
}

/* Points w->cal at the file (or at none) with w's hook. */
static void tdm_workdays_set(tdm_workdays *w, tdm_holidays *h)
{
    tdm_holidays_free(w->file);
    w->file = h;
    tdm_holidays_calendar(h, &w->cal);
    w->cal.fallback = tdm_workdays_fallback;
    w->cal.opaque = w;
    td_metric_set(w->last_year, h ? h->last_year : 0);
}

/* Loads w's file into *ret (NULL when it is missing and that is fine). */
static int tdm_workdays_read(const tdm_workdays *w, tdm_holidays **ret, td_error *err)
{
    tdm_holidays *h = NULL;
    int r = tdm_holidays_load(w->path, &h, err);

    if (r == -ENOENT && w->missing_ok) {
        td_log_warning("calendar: no holiday file at %s: due dates count Monday to Friday in "
                       "every year (install it, or set calendar: in the config)", w->path);
        *ret = NULL;
        return 0;
    }
    if (r < 0)
        return r;
    td_log_info("calendar: %s: China's working days of %d to %d (%zu weekdays off, %zu "
                "weekend days worked)", w->path, h->first_year, h->last_year, h->n_holidays,
                h->n_workdays);
    *ret = h;
    return 0;
}

int tdm_workdays_new(const char *path, bool missing_ok, tdm_workdays **ret, td_error *err)
{
    tdm_workdays *w;
    tdm_holidays *h = NULL;
    int r;

    if (!path || !ret)
        return td_error_set(err, -EINVAL, "tdm_workdays_new: NULL argument");
    w = calloc(1, sizeof(*w));
    if (!w || !(w->path = strdup(path))) {
        free(w);
        return td_error_set(err, -ENOMEM, "out of memory");
    }
    w->missing_ok = missing_ok;
    r = tdm_workdays_read(w, &h, err);
    if (r < 0) {
        tdm_workdays_free(w);
        return r;
    }
    tdm_workdays_set(w, h);
    *ret = w;
    return 0;
}

tdm_workdays *tdm_workdays_free(tdm_workdays *w)
{
    if (!w)
        return NULL;
    tdm_holidays_free(w->file);
    free(w->path);
    free(w);
    return NULL;
}

const tdm_calendar *tdm_workdays_calendar(tdm_workdays *w)
{
    return w ? &w->cal : NULL;
}

void tdm_workdays_metrics(tdm_workdays *w, td_metrics *reg)
{
    if (!w || !reg)
        return;
    w->fallback = td_metrics_counter(reg, "calendar_fallback_total",
                                     "Due-date counts that passed days of a year the holiday "
                                     "file does not cover (counted Monday to Friday), by year",
                                     "year");
    w->last_year = td_metrics_gauge(reg, "calendar_last_year",
                                    "The last year of the holiday file (China's public "
                                    "holidays and make-up working days); 0 without a file",
                                    NULL);
    td_metric_set(w->last_year, w->file ? w->file->last_year : 0);
}

int tdm_workdays_reload(tdm_workdays *w, td_error *err)
{
    tdm_holidays *h = NULL;
    int r;

    if (!w)
        return td_error_set(err, -EINVAL, "tdm_workdays_reload: NULL argument");
    r = tdm_workdays_read(w, &h, err);
    if (r < 0)
        return r;
    tdm_workdays_set(w, h);
    return 0;
}

void tdm_workdays_years(const tdm_workdays *w, int *ret_first, int *ret_last)
{
    const tdm_holidays *h = w ? w->file : NULL;

    if (ret_first)
        *ret_first = h ? h->first_year : 0;
    if (ret_last)
        *ret_last = h ? h->last_year : 0;
}
