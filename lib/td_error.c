#include "td_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void td_error_vformat(td_error *err, size_t at, const char *fmt, va_list ap)
{
    size_t room = sizeof(err->msg) - at;
    int n = vsnprintf(err->msg + at, room, fmt, ap);
    if (n >= 0 && (size_t)n >= room && sizeof(err->msg) > 4)
        memcpy(err->msg + sizeof(err->msg) - 4, "...", 4);
}

int td_error_set(td_error *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return code;
    err->code = code;
    va_start(ap, fmt);
    td_error_vformat(err, 0, fmt, ap);
    va_end(ap);
    return code;
}

int td_error_append(td_error *err, int code, const char *fmt, ...)
{
    va_list ap;
    size_t len;

    if (!err)
        return code;
    if (err->code == 0)
        err->code = code;
    len = strnlen(err->msg, sizeof(err->msg));
    if (len > 0 && len + 1 < sizeof(err->msg)) {
        err->msg[len++] = '\n';
        err->msg[len] = '\0';
    }
    if (len + 1 < sizeof(err->msg)) {
        va_start(ap, fmt);
        td_error_vformat(err, len, fmt, ap);
        va_end(ap);
    }
    return err->code;
}

int td_error_prefix(td_error *err, int code, const char *fmt, ...)
{
    char old[TD_ERROR_MSG_MAX];
    size_t len;
    va_list ap;

    if (!err)
        return code;
    memcpy(old, err->msg, sizeof(old));
    old[sizeof(old) - 1] = '\0';
    err->code = code;
    va_start(ap, fmt);
    td_error_vformat(err, 0, fmt, ap);
    va_end(ap);
    len = strnlen(err->msg, sizeof(err->msg));
    if (len + 1 < sizeof(err->msg)) {
        size_t n = strlen(old);
        size_t room = sizeof(err->msg) - len - 1;
        if (n > room) {
            memcpy(err->msg + len, old, room);
            err->msg[sizeof(err->msg) - 1] = '\0';
            memcpy(err->msg + sizeof(err->msg) - 4, "...", 4);
        } else {
            memcpy(err->msg + len, old, n + 1);
        }
    }
    return code;
}

void td_error_clear(td_error *err)
{
    if (!err)
        return;
    err->code = 0;
    err->msg[0] = '\0';
}

const char *td_error_msg(const td_error *err)
{
    return err ? err->msg : "";
}
