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

/* Installs the handlers and creates the self-pipe. 0 or -errno. */
int td_signal_setup(void);
/* Restores default dispositions and closes the pipe. */
void td_signal_teardown(void);

/* True once SIGTERM or SIGINT arrived (stays true). */
bool td_signal_stop_requested(void);
/* True if SIGHUP arrived since the last call (the flag is cleared). */
bool td_signal_take_reload(void);

/* Read end of the self-pipe (non-blocking) for poll(); -1 before setup.
 * It becomes readable when any handled signal arrives; td_signal_drain()
 * empties it. */
int td_signal_fd(void);
void td_signal_drain(void);

#endif
