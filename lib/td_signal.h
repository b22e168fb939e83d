/* td_signal: signals as flags. Handlers only set flags and write one byte to
 * a self-pipe; the main loop asks what happened. Nothing below main() exits.
 *
 *   SIGTERM, SIGINT -> stop requested
 *   SIGHUP          -> reload requested
 *   SIGPIPE         -> ignored
 */
#ifndef TD_SIGNAL_H
#define TD_SIGNAL_H

#include <stdbool.h>
#include <stdint.h>

/* Installs the handlers and creates the self-pipe. 0 or -errno. */
int td_signal_setup(void);
/* Restores default dispositions and closes the pipe. */
void td_signal_teardown(void);

/* True once SIGTERM or SIGINT arrived (stays true). */
bool td_signal_stop_requested(void);

/* How long, after a stop request, the daemons may go on finishing what they
 * can (committing the open transaction, closing their clients) before they
 * give up on what is left: it is redone at the next start (docs/operations
 * and the programs' usage say so). What is not finishing work (waiting for
 * Kafka at start-up, retry pauses, topic creation) ends at the stop request
 * itself. Together with the rest of the way out (destroying the clients,
 * closing LMDB) a stop takes under 5 s. */
#define TD_SIGNAL_STOP_GRACE_MS 2000

/* td_time_mono_ms() of the first stop request plus TD_SIGNAL_STOP_GRACE_MS,
 * or INT64_MAX while no stop was requested. The time is taken in the signal
 * handler, so it holds even while the main thread is blocked in a call. */
int64_t td_signal_stop_deadline_ms(void);

/* Milliseconds until min(now + timeout_ms, the stop deadline), at least 0:
 * the time a blocking call may take so that a stop is not held up. */
int td_signal_budget_ms(int timeout_ms);
/* True if SIGHUP arrived since the last call (the flag is cleared). */
bool td_signal_take_reload(void);

/* Read end of the self-pipe (non-blocking) for poll(); -1 before setup.
 * It becomes readable when any handled signal arrives; td_signal_drain()
 * empties it. */
int td_signal_fd(void);
void td_signal_drain(void);

#endif
