/* td_log: levelled logging with instance context, to stderr or journald.
 *
 * One process-wide logger, set up once by main() with td_log_setup(). Every
 * line carries the program and instance ("tuodi-connector[medical]") and an
 * optional component ("spooldir"). On journald the same go into structured
 * fields (SYSLOG_IDENTIFIER, TUODI_INSTANCE, TUODI_COMPONENT, PRIORITY).
 *
 * Identity numbers never reach a log: every message passes through
 * td_log_redact() before it is written, whatever the caller formatted.
 *
 * Thread-safety: td_log() may be called from any thread (librdkafka's log
 * callback does); td_log_setup()/td_log_set_level() only from main before
 * threads start, or with care (level is read atomically).
 */
#ifndef TD_LOG_H
#define TD_LOG_H

#include <stdarg.h>
#include <stddef.h>

/* Same numbers as syslog priorities. */
typedef enum td_log_level {
    TD_LOG_ERR = 3,
    TD_LOG_WARNING = 4,
    TD_LOG_NOTICE = 5,
    TD_LOG_INFO = 6,
    TD_LOG_DEBUG = 7,
} td_log_level;

typedef enum td_log_target {
    TD_LOG_TARGET_AUTO = 0, /* journald when stderr is the journal, else stderr */
    TD_LOG_TARGET_STDERR,
    TD_LOG_TARGET_JOURNAL,
} td_log_target;

/* program and instance are copied; instance may be NULL. */
void td_log_setup(const char *program, const char *instance,
                  td_log_level max_level, td_log_target target);
void td_log_set_level(td_log_level max_level);
td_log_level td_log_get_level(void);

/* Parses "error", "warning", "notice", "info", "debug". 0 or -EINVAL. */
int td_log_level_parse(const char *s, td_log_level *ret);
const char *td_log_level_name(td_log_level level);

/* For tests: send stderr-format lines to fn instead of writing them. */
typedef void (td_log_sink_fn)(td_log_level level, const char *line, void *opaque);
void td_log_set_sink(td_log_sink_fn *fn, void *opaque);

void td_log_component(td_log_level level, const char *component,
                      const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void td_log_componentv(td_log_level level, const char *component,
                       const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

#define td_log(level, ...) td_log_component((level), NULL, __VA_ARGS__)
#define td_log_error(...) td_log(TD_LOG_ERR, __VA_ARGS__)
#define td_log_warning(...) td_log(TD_LOG_WARNING, __VA_ARGS__)
#define td_log_notice(...) td_log(TD_LOG_NOTICE, __VA_ARGS__)
#define td_log_info(...) td_log(TD_LOG_INFO, __VA_ARGS__)
#define td_log_debug(...) td_log(TD_LOG_DEBUG, __VA_ARGS__)

/* Masks, in place in the NUL-terminated text s, with '*' over its whole
 * length, every run of digits (ASCII or full-width) that is or holds a PRC
 * identity number: a run of exactly 15 or 18 (the last may be X/x), and a
 * longer run in which any 15- or 18-character window has an identity
 * number's shape (a region code not starting with 0 and a birth date that
 * exists), such as an identity number with digits glued on by a lost
 * delimiter. Runs over 64 digits are masked whole. Full-width digits become
 * '*' plus padding so the string stays valid UTF-8 and shrinks at most.
 * Other runs (offsets, timestamps, amounts, codes) are kept. Returns how
 * many runs were masked. */
size_t td_log_redact(char *s);

#endif
