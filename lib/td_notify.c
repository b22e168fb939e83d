#include "td_notify.h"

#include "td_time.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

static char td_notify_last_status[512];
static int64_t td_notify_last_watchdog_us;

/* sd_notify returns > 0 when sent, 0 when NOTIFY_SOCKET is unset, < 0 on
 * error; we report 0 for the first two. unset_environment stays 0 so that a
 * later call still reaches systemd. */
static int td_notify_send(const char *text)
{
    int r = sd_notify(0, text);
    return r < 0 ? r : 0;
}

int td_notify_ready(const char *status)
{
    char buf[600];

    snprintf(td_notify_last_status, sizeof(td_notify_last_status), "%s",
             status ? status : "");
    snprintf(buf, sizeof(buf), "READY=1\nSTATUS=%s", td_notify_last_status);
    return td_notify_send(buf);
}

int td_notify_status(const char *fmt, ...)
{
    char status[sizeof(td_notify_last_status)];
    char buf[sizeof(status) + 16];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(status, sizeof(status), fmt, ap);
    va_end(ap);
    if (strcmp(status, td_notify_last_status) == 0)
        return 0;
    memcpy(td_notify_last_status, status, sizeof(status));
    snprintf(buf, sizeof(buf), "STATUS=%s", status);
    return td_notify_send(buf);
}

int td_notify_stopping(const char *status)
{
    char buf[600];

    snprintf(td_notify_last_status, sizeof(td_notify_last_status), "%s",
             status ? status : "");
    snprintf(buf, sizeof(buf), "STOPPING=1\nSTATUS=%s", td_notify_last_status);
    return td_notify_send(buf);
}

int td_notify_reloading(void)
{
    return td_notify_send("RELOADING=1");
}

uint64_t td_notify_watchdog_usec(void)
{
    uint64_t usec = 0;

    if (sd_watchdog_enabled(0, &usec) <= 0)
        return 0;
    return usec;
}

int td_notify_watchdog(void)
{
    uint64_t interval = td_notify_watchdog_usec();
    int64_t now = td_time_mono_us();

    if (interval == 0)
        return 0;
    if (td_notify_last_watchdog_us != 0 &&
        now - td_notify_last_watchdog_us < (int64_t)(interval / 2))
        return 0;
    td_notify_last_watchdog_us = now;
    return td_notify_send("WATCHDOG=1");
}
