/* tdt_places: division names from the divisions CSV. */
#include "tdt.h"

#include "td_str.h"
#include "td_suggest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct tdt_place {
    char code[13];
    char key[13];    /* the code as people give it: 6, 9 or 12 digits by level */
    tdt_level level;
    size_t line;     /* file order */
    char *name;
} tdt_place;

struct tdt_places {
    tdt_place *v; /* sorted by code */
    size_t n, cap;
    char (*counties)[7];
    size_t ncounties;
    char *path;
};

static int tdt_place_cmp(const void *a, const void *b)
{
    return strcmp(((const tdt_place *)a)->code, ((const tdt_place *)b)->code);
}

/* Splits line (modified) at commas into at most max fields; quoted fields
 * ("a,b", "" for ") are unquoted in place. Returns the count. */
static size_t tdt_csv_split(char *line, char **f, size_t max)
{
    size_t n = 0;
    char *p = line;
    while (n < max) {
        char *w = p;
        f[n++] = p;
        if (*p == '"') {
            char *r = p + 1;
            f[n - 1] = w;
            for (;;) {
                if (*r == '\0')
                    break;
                if (*r == '"' && r[1] == '"') {
                    *w++ = '"';
                    r += 2;
                } else if (*r == '"') {
                    r++;
                    break;
                } else {
                    *w++ = *r++;
                }
            }
            p = r;
            while (*p && *p != ',')
                p++;
            *w = '\0';
        } else {
            while (*p && *p != ',')
                p++;
        }
        if (*p != ',') {
            *p = '\0';
            break;
        }
        *p++ = '\0';
    }
    return n;
}

int tdt_places_load(const char *path, tdt_places **ret, td_error *err)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    long lineno = 0;
    int icode = -1, iname = -1, ilevel = -1, r = 0;
    tdt_places *p;

    if (!f)
        return td_error_set(err, -errno, "%s: %s (set places: in the config to the divisions "
                            "CSV)", path, strerror(errno));
    p = calloc(1, sizeof(*p));
    if (!p) {
        fclose(f);
        return td_error_set(err, -ENOMEM, "out of memory");
    }
    while ((len = getline(&line, &lcap, f)) >= 0) {
        char *fields[16];
        size_t nf;
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (lineno == 1 && len >= 3 && strncmp(line, "\xEF\xBB\xBF", 3) == 0) {
            memmove(line, line + 3, strlen(line + 3) + 1);
            len -= 3;
        }
        if (len == 0)
            continue;
        nf = tdt_csv_split(line, fields, 16);
        if (lineno == 1) {
            for (size_t i = 0; i < nf; i++) {
                if (strcmp(fields[i], "code") == 0)
                    icode = (int)i;
                else if (strcmp(fields[i], "name") == 0)
                    iname = (int)i;
                else if (strcmp(fields[i], "level") == 0)
                    ilevel = (int)i;
            }
            if (icode < 0 || iname < 0 || ilevel < 0) {
                r = td_error_set(err, -EINVAL, "%s:1: the header needs the columns code, name "
                                 "and level", path);
                goto out;
            }
            continue;
        }
        if ((size_t)icode >= nf || (size_t)iname >= nf || (size_t)ilevel >= nf ||
            !td_str_digits(fields[icode], 12)) {
            r = td_error_set(err, -EINVAL, "%s:%ld: expected a 12-digit code, a name and a "
                             "level", path, lineno);
            goto out;
        }
        if (p->n == p->cap) {
            size_t nc = p->cap ? p->cap * 2 : 256;
            tdt_place *nv = realloc(p->v, nc * sizeof(*nv));
            if (!nv) {
                r = td_error_set(err, -ENOMEM, "out of memory");
                goto out;
            }
            p->v = nv;
            p->cap = nc;
        }
        memcpy(p->v[p->n].code, fields[icode], 13);
        memcpy(p->v[p->n].key, fields[icode], 13);
        p->v[p->n].level = TDT_LEVEL_NONE;
        if (strcmp(fields[ilevel], "county") == 0)
            p->v[p->n].level = TDT_LEVEL_COUNTY;
        else if (strcmp(fields[ilevel], "town") == 0 || strcmp(fields[ilevel], "township") == 0)
            p->v[p->n].level = TDT_LEVEL_TOWNSHIP;
        else if (strcmp(fields[ilevel], "village") == 0)
            p->v[p->n].level = TDT_LEVEL_VILLAGE;
        if (p->v[p->n].level == TDT_LEVEL_COUNTY)
            p->v[p->n].key[6] = '\0';
        else if (p->v[p->n].level == TDT_LEVEL_TOWNSHIP)
            p->v[p->n].key[9] = '\0';
        p->v[p->n].line = (size_t)lineno;
        p->v[p->n].name = strdup(fields[iname]);
        if (!p->v[p->n].name) {
            r = td_error_set(err, -ENOMEM, "out of memory");
            goto out;
        }
        p->n++;
        if (strcmp(fields[ilevel], "county") == 0) {
            char (*nv)[7] = realloc(p->counties, (p->ncounties + 1) * sizeof(*nv));
            if (!nv) {
                r = td_error_set(err, -ENOMEM, "out of memory");
                goto out;
            }
            p->counties = nv;
            memcpy(p->counties[p->ncounties], fields[icode], 6);
            p->counties[p->ncounties++][6] = '\0';
        }
    }
    if (lineno == 0) {
        r = td_error_set(err, -EINVAL, "%s: empty file", path);
        goto out;
    }
    qsort(p->v, p->n, sizeof(*p->v), tdt_place_cmp);
    p->path = strdup(path);
    if (!p->path)
        r = td_error_set(err, -ENOMEM, "out of memory");
out:
    free(line);
    fclose(f);
    if (r < 0) {
        tdt_places_free(p);
        return r;
    }
    *ret = p;
    return 0;
}

tdt_places *tdt_places_free(tdt_places *p)
{
    if (!p)
        return NULL;
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i].name);
    free(p->v);
    free(p->counties);
    free(p->path);
    free(p);
    return NULL;
}

static const tdt_place *tdt_places_find(const tdt_places *p, const char *code)
{
    tdt_place key;
    size_t n;

    if (!p || !code)
        return NULL;
    n = strlen(code);
    if ((n != 6 && n != 9 && n != 12) || !td_str_digits(code, n))
        return NULL;
    memcpy(key.code, code, n);
    memset(key.code + n, '0', 12 - n);
    key.code[12] = '\0';
    return bsearch(&key, p->v, p->n, sizeof(*p->v), tdt_place_cmp);
}

const char *tdt_places_name(const tdt_places *p, const char *code)
{
    const tdt_place *hit = tdt_places_find(p, code);
    return hit ? hit->name : NULL;
}

tdt_level tdt_places_level(const tdt_places *p, const char *code)
{
    const tdt_place *hit = tdt_places_find(p, code);
    if (!hit || strlen(code) != strlen(hit->key))
        return TDT_LEVEL_NONE;
    return hit->level;
}

const char *tdt_places_path(const tdt_places *p)
{
    return p ? p->path : NULL;
}

/* A county (county NULL) or a township of county. */
static bool tdt_place_wanted(const tdt_place *pl, const char *county)
{
    if (!county)
        return pl->level == TDT_LEVEL_COUNTY;
    return pl->level == TDT_LEVEL_TOWNSHIP && strncmp(pl->key, county, 6) == 0 &&
           strlen(county) == 6;
}

/* How close pl comes to what: 0 the same name, 1 a code or name that
 * contains the other from its start (code) or anywhere (name), 2 a code one
 * edit away (a digit wrong, missing, extra, or two swapped); SIZE_MAX not
 * close. */
static size_t tdt_place_score(const tdt_place *pl, const char *what)
{
    size_t wl = strlen(what), kl = strlen(pl->key);

    if (wl == 0)
        return SIZE_MAX;
    if (strcmp(pl->name, what) == 0)
        return 0;
    if (strncmp(pl->key, what, wl < kl ? wl : kl) == 0)
        return 1;
    if (strstr(pl->name, what) || (*pl->name && strstr(what, pl->name)))
        return 1;
    return td_edit_distance(what, pl->key, 1) <= 1 ? 2 : SIZE_MAX;
}

typedef struct tdt_scored {
    size_t score, line;
    const char *key;
} tdt_scored;

static int tdt_scored_cmp(const void *a, const void *b)
{
    const tdt_scored *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

size_t tdt_places_suggest(const tdt_places *p, const char *county, const char *what,
                          const char **ret, size_t max)
{
    tdt_scored *v;
    size_t n = 0;

    if (!p || !what || max == 0)
        return 0;
    v = malloc((p->n ? p->n : 1) * sizeof(*v));
    if (!v)
        return 0;
    for (size_t i = 0; i < p->n; i++) {
        size_t sc;
        if (!tdt_place_wanted(&p->v[i], county))
            continue;
        sc = tdt_place_score(&p->v[i], what);
        if (sc == SIZE_MAX)
            continue;
        v[n].score = sc;
        v[n].line = p->v[i].line;
        v[n++].key = p->v[i].key;
    }
    qsort(v, n, sizeof(*v), tdt_scored_cmp);
    /* a name or code that matches hides the ones that only look alike */
    if (n > 0 && v[0].score <= 1) {
        size_t k = 0;
        while (k < n && v[k].score <= 2)
            k++;
        n = k;
    }
    if (n > max)
        n = max;
    for (size_t i = 0; i < n; i++)
        ret[i] = v[i].key;
    free(v);
    return n;
}

static int tdt_line_cmp(const void *a, const void *b)
{
    const tdt_place *x = *(const tdt_place *const *)a, *y = *(const tdt_place *const *)b;
    return x->line < y->line ? -1 : x->line > y->line;
}

size_t tdt_places_list(const tdt_places *p, const char *county, const char **ret, size_t max)
{
    const tdt_place **v;
    size_t n = 0;

    if (!p)
        return 0;
    v = malloc((p->n ? p->n : 1) * sizeof(*v));
    if (!v)
        return 0;
    for (size_t i = 0; i < p->n; i++)
        if (tdt_place_wanted(&p->v[i], county))
            v[n++] = &p->v[i];
    qsort(v, n, sizeof(*v), tdt_line_cmp);
    for (size_t i = 0; i < n && i < max; i++)
        ret[i] = v[i]->key;
    free(v);
    return n;
}

size_t tdt_places_ncounties(const tdt_places *p)
{
    return p ? p->ncounties : 0;
}

const char *tdt_places_county(const tdt_places *p, size_t i)
{
    return p && i < p->ncounties ? p->counties[i] : NULL;
}
