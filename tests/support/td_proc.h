/* td_proc: the programs under test as child processes, for the integration
 * tests and benchmarks: start one with its output in a log file, wait for a
 * line in that log, stop it with a signal and a deadline.
 *
 * Single-threaded test code only (fork). The child dies with the test
 * (PR_SET_PDEATHSIG), so a test killed by its timeout leaves no daemon.
 */
#ifndef TD_PROC_H
#define TD_PROC_H

#include <stdbool.h>
#include <sys/types.h>

/* Starts bin with argv (argv[0] first, NULL-terminated), stdout and stderr
 * appended to log (created 0644). Returns the pid, or -1 if fork failed; an
 * exec that fails makes the child exit 127. */
pid_t td_proc_spawn(const char *bin, const char *const *argv, const char *log);

/* td_proc_spawn(bin, {name, "--config", config}) for tuodi's daemons. */
pid_t td_proc_spawn_config(const char *bin, const char *config, const char *log);

/* Sends sig, waits up to timeout_ms for the exit, then SIGKILLs and reaps.
 * Returns the wait status, or -1 when it had to be killed. */
int td_proc_stop(pid_t pid, int sig, int timeout_ms);

/* Whether the child has not exited yet (reaps it if it has). */
bool td_proc_alive(pid_t pid);

/* How many lines of the file at path contain text (0 if it cannot be read). */
int td_proc_log_count(const char *path, const char *text);

/* Waits up to timeout_ms until at least n lines of the file contain text. */
bool td_proc_wait_log(const char *path, const char *text, int n, int timeout_ms);

/* Prints the last lines of the log to stderr (for a failing test). */
void td_proc_show_log(const char *path, int lines);

#endif
