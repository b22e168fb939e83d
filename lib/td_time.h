/* td_time: clocks. Monotonic time for intervals, wall time for records. */
#ifndef TD_TIME_H
#define TD_TIME_H

#include <stdint.h>

/* Milliseconds on the monotonic clock. */
int64_t td_time_mono_ms(void);
/* Microseconds on the monotonic clock. */
int64_t td_time_mono_us(void);
/* Milliseconds since the Unix epoch (UTC). */
int64_t td_time_wall_ms(void);
/* Formats ms since the epoch as "2026-11-28T13:00:00.123Z" into buf (>= 25 bytes). */
void td_time_format_iso(int64_t wall_ms, char *buf, unsigned long size);

#endif
