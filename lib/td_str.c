/* td_str: see td_str.h. */
#include "td_str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td_suggest.h"

/* ---- The growing buffer. ---- */

void td_str_buf_addn(td_str_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (n > (size_t)-1 / 2 - b->len - 1) {
        b->oom = true;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        char *np;

        while (cap < b->len + n + 1)
            cap *= 2;
        np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void td_str_buf_add(td_str_buf *b, const char *s)
{
    td_str_buf_addn(b, s, strlen(s));
}

void td_str_buf_addf(td_str_buf *b, const char *fmt, ...)
{
    char tmp[256], *big;
    va_list ap;
    int n;

    if (b->oom)
        return;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = true;
        return;
    }
    if ((size_t)n < sizeof(tmp)) {
        td_str_buf_addn(b, tmp, (size_t)n);
        return;
    }
    big = malloc((size_t)n + 1);
    if (!big) {
        b->oom = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    td_str_buf_addn(b, big, (size_t)n);
    free(big);
}

char *td_str_buf_steal(td_str_buf *b)
{
    char *p;

    if (!b->oom && !b->p)
        td_str_buf_addn(b, "", 0);
    if (b->oom) {
        td_str_buf_reset(b);
        return NULL;
    }
    p = b->p;
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}

void td_str_buf_reset(td_str_buf *b)
{
    if (!b)
        return;
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->oom = false;
}

/* ---- printf into a new string. ---- */

char *td_str_vprintf(const char *fmt, va_list ap)
{
    va_list ap2;
    int n;
    char *s;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return NULL;
    s = malloc((size_t)n + 1);
    if (s)
        vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

char *td_str_printf(const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    s = td_str_vprintf(fmt, ap);
    va_end(ap);
    return s;
}

/* ---- "Did you mean". ---- */

void td_str_suggest_init(td_str_suggest *s, const char *word)
{
    s->word = word;
    s->word_len = strlen(word);
    s->best = NULL;
    s->best_d = 3;
    s->prefix = NULL;
}

void td_str_suggest_add(td_str_suggest *s, const char *candidate)
{
    size_t d;

    if (!candidate)
        return;
    d = td_edit_distance(s->word, candidate, 2);
    if (d < s->best_d && d < s->word_len) {
        s->best = candidate;
        s->best_d = d;
    }
    if (!s->prefix && s->word_len >= 3 && strncmp(candidate, s->word, s->word_len) == 0)
        s->prefix = candidate;
}

const char *td_str_suggest_best(const td_str_suggest *s)
{
    return s->best ? s->best : s->prefix;
}

/* ---- Digits and names. ---- */

bool td_str_all_digits(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

bool td_str_digits(const char *s, size_t n)
{
    return s && strlen(s) == n && td_str_all_digits(s, n);
}

bool td_str_name_ok(const char *s, size_t max)
{
    size_t n;

    if (!s || !*s || (n = strlen(s)) > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}
