#include "tdc_reasons.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* The length of the longest prefix of s (of at least n bytes) shorter
 * than n + 1 that ends on a UTF-8 character boundary. */
static size_t tdc_reasons_cut(const char *s, size_t n)
{
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

char *tdc_reason_class_of(const char *reason, char *buf, size_t size)
{
    const char *s = reason ? reason : "";
    size_t o = 0;

    while (*s) {
        const char *add = s;
        size_t n = 1;

        if (*s == '"' && strchr(s + 1, '"')) {
            s = strchr(s + 1, '"') + 1;
            add = "\"…\"";
            n = strlen(add);
        } else if ((*s >= '0' && *s <= '9') || *s == '*') {
            char c = *s;

            while (c == '*' ? *s == '*' : (*s >= '0' && *s <= '9'))
                s++;
            add = "#";
        } else {
            /* one whole character */
            while (((unsigned char)s[n] & 0xC0) == 0x80)
                n++;
            s += n;
        }
        if (o + n >= size)
            break;
        memcpy(buf + o, add, n);
        o += n;
    }
    buf[o] = '\0';
    return buf;
}

/* FNV-1a, 64 bits. */
static uint64_t tdc_reasons_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325u;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3u;
    }
    return h;
}

void tdc_reasons_add(tdc_reasons *t, const char *reason)
{
    char cls[1024];
    uint64_t h;
    size_t i, n;

    reason = reason ? reason : "";
    h = tdc_reasons_hash(tdc_reason_class_of(reason, cls, sizeof(cls)));
    t->total++;
    for (i = 0; i < t->nclasses; i++)
        if (t->classes[i].hash == h)
            break;
    if (i == t->nclasses) {
        if (i == TDC_REASONS_MAX) {
            t->other++;
            return;
        }
        t->nclasses++;
        t->classes[i].hash = h;
        t->classes[i].count = 0;
        t->classes[i].differ = false;
        n = strlen(reason);
        if (n >= sizeof(t->classes[i].example))
            n = tdc_reasons_cut(reason, sizeof(t->classes[i].example) - 4);
        memcpy(t->classes[i].example, reason, n);
        t->classes[i].example[n] = '\0';
        if (n < strlen(reason))
            strcpy(t->classes[i].example + n, "...");
    } else if (!t->classes[i].differ &&
               strncmp(t->classes[i].example, reason, sizeof(t->classes[i].example)) != 0) {
        t->classes[i].differ = true;
    }
    t->classes[i].count++;
}

char *tdc_reasons_format(const tdc_reasons *t, char *buf, size_t size)
{
    bool used[TDC_REASONS_MAX] = {false};
    int64_t shown = 0;
    size_t o = 0, k;

    buf[0] = '\0';
    for (k = 0; k < 3 && k < t->nclasses; k++) {
        size_t best = t->nclasses;

        for (size_t i = 0; i < t->nclasses; i++)
            if (!used[i] && (best == t->nclasses || t->classes[i].count > t->classes[best].count))
                best = i;
        used[best] = true;
        shown += t->classes[best].count;
        if (o < size)
            o += (size_t)snprintf(buf + o, size - o, "%s%" PRId64 " × \"%s\"%s", k ? "; " : "",
                                  t->classes[best].count, t->classes[best].example,
                                  t->classes[best].differ ? " (e.g.)" : "");
    }
    if (t->total > shown && o < size) {
        size_t more = t->nclasses - k + (t->other ? 1 : 0);

        snprintf(buf + o, size - o, "; and %" PRId64 " more for %zu%s other reason%s",
                 t->total - shown, more, t->other ? " or more" : "", more == 1 ? "" : "s");
    }
    return buf;
}
