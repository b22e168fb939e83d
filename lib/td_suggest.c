/* td_suggest: edit distance for "did you mean" (td_config's unknown keys and
 * enum values, tuodictl's county and township codes). */
#include "td_suggest.h"

#include <string.h>

size_t td_edit_distance(const char *a, const char *b, size_t cap)
{
    enum { MAXLEN = 64 };
    size_t la = strlen(a), lb = strlen(b), i, j;
    size_t r0[MAXLEN + 1], r1[MAXLEN + 1], r2[MAXLEN + 1];
    size_t *pp = r0, *p = r1, *c = r2, *t;

    if (la > MAXLEN || lb > MAXLEN)
        return cap + 1;
    if ((la > lb ? la - lb : lb - la) > cap)
        return cap + 1;
    for (j = 0; j <= lb; j++)
        p[j] = j;
    for (i = 1; i <= la; i++) {
        c[0] = i;
        for (j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t v = p[j] + 1;

            if (c[j - 1] + 1 < v)
                v = c[j - 1] + 1;
            if (p[j - 1] + cost < v)
                v = p[j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                pp[j - 2] + 1 < v)
                v = pp[j - 2] + 1;
            c[j] = v;
        }
        t = pp;
        pp = p;
        p = c;
        c = t;
    }
    return p[lb] > cap ? cap + 1 : p[lb];
}
