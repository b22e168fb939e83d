#include "td_log.h"

#include "td_date.h"
#include "td_time.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#define TD_LOG_LINE_MAX 4096

static struct {
    char program[64];
    char instance[64];
    _Atomic int max_level;
    bool journal;
    td_log_sink_fn *sink;
    void *sink_opaque;
} td_log_state = {
    .program = "tuodi",
    .max_level = TD_LOG_INFO,
};

static const char *const td_log_names[] = {
    [TD_LOG_ERR] = "error",     [TD_LOG_WARNING] = "warning",
    [TD_LOG_NOTICE] = "notice", [TD_LOG_INFO] = "info",
    [TD_LOG_DEBUG] = "debug",
};

/* True when stderr is connected to the journal (systemd sets JOURNAL_STREAM
 * to "<dev>:<ino>" of the stream it gave us). */
static bool td_log_stderr_is_journal(void)
{
    const char *e = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;

    if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
        return false;
    if (fstat(STDERR_FILENO, &st) < 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void td_log_setup(const char *program, const char *instance, td_log_level max_level,
                  td_log_target target)
{
    snprintf(td_log_state.program, sizeof(td_log_state.program), "%s",
             program ? program : "tuodi");
    snprintf(td_log_state.instance, sizeof(td_log_state.instance), "%s",
             instance ? instance : "");
    atomic_store(&td_log_state.max_level, (int)max_level);
    switch (target) {
    case TD_LOG_TARGET_JOURNAL:
        td_log_state.journal = true;
        break;
    case TD_LOG_TARGET_STDERR:
        td_log_state.journal = false;
        break;
    case TD_LOG_TARGET_AUTO:
    default:
        td_log_state.journal = td_log_stderr_is_journal();
        break;
    }
}

void td_log_set_level(td_log_level max_level)
{
    atomic_store(&td_log_state.max_level, (int)max_level);
}

td_log_level td_log_get_level(void)
{
    return (td_log_level)atomic_load(&td_log_state.max_level);
}

int td_log_level_parse(const char *s, td_log_level *ret)
{
    for (int l = TD_LOG_ERR; l <= TD_LOG_DEBUG; l++) {
        if (s && strcmp(s, td_log_names[l]) == 0) {
            *ret = (td_log_level)l;
            return 0;
        }
    }
    return -EINVAL;
}

const char *td_log_level_name(td_log_level level)
{
    if (level < TD_LOG_ERR || level > TD_LOG_DEBUG)
        return "unknown";
    return td_log_names[level];
}

void td_log_set_sink(td_log_sink_fn *fn, void *opaque)
{
    td_log_state.sink = fn;
    td_log_state.sink_opaque = opaque;
}

/* Length in bytes of the digit at s (1 for ASCII, 3 for full-width U+FF10..
 * U+FF19), 0 if s is not a digit. */
static size_t td_log_digit_at(const unsigned char *s)
{
    if (s[0] >= '0' && s[0] <= '9')
        return 1;
    if (s[0] == 0xEF && s[1] == 0xBC && s[2] >= 0x90 && s[2] <= 0x99)
        return 3;
    return 0;
}

static size_t td_log_x_at(const unsigned char *s)
{
    if (s[0] == 'X' || s[0] == 'x')
        return 1;
    /* full-width X (U+FF38) and x (U+FF58) */
    if (s[0] == 0xEF && ((s[1] == 0xBC && s[2] == 0xB8) || (s[1] == 0xBD && s[2] == 0x98)))
        return 3;
    return 0;
}

/* Longest run of digits whose windows are checked one by one; a longer run
 * is masked whole (no number tuodi prints is that long). */
#define TD_LOG_RUN_MAX 64

/* Whether the 15 (n == 15) or 18 (n == 18) digits at d look like an identity
 * number: a region code that does not start with 0 and a birth date that
 * exists (19YYMMDD for 15 digits). The check character is not verified: a
 * mistyped identity number is still one. d[17] may be 10 (the X). */
static bool td_log_id_shape(const unsigned char *d, size_t n)
{
    int32_t days;
    int y, m, day;

    if (d[0] == 0)
        return false;
    for (size_t i = 0; i < n - 1; i++)
        if (d[i] > 9)
            return false;
    if (n == 15) {
        y = 1900 + d[6] * 10 + d[7];
        m = d[8] * 10 + d[9];
        day = d[10] * 10 + d[11];
        return d[14] <= 9 && td_date_from_ymd(y, m, day, &days);
    }
    y = d[6] * 1000 + d[7] * 100 + d[8] * 10 + d[9];
    m = d[10] * 10 + d[11];
    day = d[12] * 10 + d[13];
    return y >= 1800 && y <= 2099 && td_date_from_ymd(y, m, day, &days);
}

/* Whether a run of n digits (values in d, the last one 10 for a trailing X
 * when has_x) holds an identity number: exactly 15 or 18 characters, or any
 * 15- or 18-character window of a longer run shaped like one. */
static bool td_log_run_is_id(const unsigned char *d, size_t n, bool has_x)
{
    if (n == 15 || n == 18)
        return true;
    if (n < 15)
        return false;
    if (n > TD_LOG_RUN_MAX)
        return true;
    for (size_t i = 0; i + 15 <= n; i++) {
        if (i + 15 <= n - (has_x ? 1 : 0) && td_log_id_shape(d + i, 15))
            return true;
        if (i + 18 <= n && (!has_x || i + 18 == n || d[i + 17] <= 9) &&
            td_log_id_shape(d + i, 18))
            return true;
    }
    return false;
}

size_t td_log_redact(char *text)
{
    unsigned char *s = (unsigned char *)text;
    unsigned char *w = s; /* write position: masking may shrink the text */
    size_t masked = 0;

    while (*s) {
        unsigned char val[TD_LOG_RUN_MAX + 1];
        size_t ndigits = 0, len = 0, d;
        bool has_x = false;

        while ((d = td_log_digit_at(s + len)) != 0) {
            if (ndigits < TD_LOG_RUN_MAX)
                val[ndigits] = d == 1 ? (unsigned char)(s[len] - '0')
                                      : (unsigned char)(s[len + 2] - 0x90);
            len += d;
            ndigits++;
        }
        if (ndigits == 0) {
            *w++ = *s++;
            continue;
        }
        /* A run of 17 or more digits may end in the check character X. */
        if (ndigits >= 17 && (d = td_log_x_at(s + len)) != 0) {
            if (ndigits < TD_LOG_RUN_MAX)
                val[ndigits] = 10;
            len += d;
            ndigits++;
            has_x = true;
        }
        if (td_log_run_is_id(val, ndigits, has_x)) {
            memset(w, '*', ndigits);
            w += ndigits;
            masked++;
        } else {
            memmove(w, s, len);
            w += len;
        }
        s += len;
    }
    *w = '\0';
    return masked;
}

void td_log_componentv(td_log_level level, const char *component, const char *fmt,
                       va_list ap)
{
    char msg[TD_LOG_LINE_MAX];
    char line[TD_LOG_LINE_MAX + 256];
    char stamp[32];
    char who[160];
    int saved_errno = errno;

    if ((int)level > atomic_load(&td_log_state.max_level))
        return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    td_log_redact(msg);

    if (td_log_state.instance[0])
        snprintf(who, sizeof(who), "%s[%s]", td_log_state.program, td_log_state.instance);
    else
        snprintf(who, sizeof(who), "%s", td_log_state.program);

    if (td_log_state.journal && !td_log_state.sink) {
        sd_journal_send("MESSAGE=%s%s%s", component ? component : "",
                        component ? ": " : "", msg, "PRIORITY=%d", (int)level,
                        "SYSLOG_IDENTIFIER=%s", td_log_state.program, "TUODI_INSTANCE=%s",
                        td_log_state.instance, "TUODI_COMPONENT=%s",
                        component ? component : "", NULL);
        errno = saved_errno;
        return;
    }

    td_time_format_iso(td_time_wall_ms(), stamp, sizeof(stamp));
    snprintf(line, sizeof(line), "%s %s %s: %s%s%s", stamp, who, td_log_level_name(level),
             component ? component : "", component ? ": " : "", msg);
    if (td_log_state.sink)
        td_log_state.sink(level, line, td_log_state.sink_opaque);
    else
        fprintf(stderr, "%s\n", line);
    errno = saved_errno;
}

void td_log_component(td_log_level level, const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    td_log_componentv(level, component, fmt, ap);
    va_end(ap);
}
