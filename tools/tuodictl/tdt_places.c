/* tdt_places: division names from the divisions CSV. */
#include "tdt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct tdt_place {
    char code[13];
    char *name;
} tdt_place;

struct tdt_places {
    tdt_place *v; /* sorted by code */
    size_t n, cap;
    char (*counties)[7];
    size_t ncounties;
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

static bool tdt_digits(const char *s, size_t n)
{
    if (strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
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
            !tdt_digits(fields[icode], 12)) {
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
    free(p);
    return NULL;
}

const char *tdt_places_name(const tdt_places *p, const char *code)
{
    tdt_place key;
    const tdt_place *hit;
    size_t n;

    if (!p || !code)
        return NULL;
    n = strlen(code);
    if ((n != 6 && n != 9 && n != 12) || !tdt_digits(code, n))
        return NULL;
    memcpy(key.code, code, n);
    memset(key.code + n, '0', 12 - n);
    key.code[12] = '\0';
    hit = bsearch(&key, p->v, p->n, sizeof(*p->v), tdt_place_cmp);
    return hit ? hit->name : NULL;
}

size_t tdt_places_ncounties(const tdt_places *p)
{
    return p ? p->ncounties : 0;
}

const char *tdt_places_county(const tdt_places *p, size_t i)
{
    return p && i < p->ncounties ? p->counties[i] : NULL;
}
