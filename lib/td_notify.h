/* td_notify: systemd service notification (sd_notify). Every call is a no-op
 * outside systemd (NOTIFY_SOCKET unset), so programs call them always.
 */
#ifndef TD_NOTIFY_H
#define TD_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

/* READY=1 with a STATUS= line. Returns 0, or -errno if sending failed. */
int td_notify_ready(const char *status);
/* STATUS=<formatted text>; sent only when it differs from the last one. */
int td_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* STOPPING=1 with a status. */
int td_notify_stopping(const char *status);
/* RELOADING=1 / READY=1 around a reload. */
int td_notify_reloading(void);

/* WATCHDOG=1, rate-limited to half the watchdog interval: call it from the
 * main loop as often as convenient. No-op when the watchdog is off. */
int td_notify_watchdog(void);
/* The watchdog interval in microseconds, 0 when off. */
uint64_t td_notify_watchdog_usec(void);

#endif
