#include "td_signal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t td_signal_stop;
/* td_time_mono_ms() of the first stop request (0: none). Lock-free, so the
 * handler may write it. */
static _Atomic int64_t td_signal_stop_ms;
static volatile sig_atomic_t td_signal_reload;
static int td_signal_pipe[2] = {-1, -1};

static void td_signal_note_stop(void)
{
    struct timespec ts;
    int64_t now, none = 0;

    clock_gettime(CLOCK_MONOTONIC, &ts); /* as td_time_mono_ms() */
    now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    atomic_compare_exchange_strong(&td_signal_stop_ms, &none, now > 0 ? now : 1);
    td_signal_stop = 1;
}

static void td_signal_handler(int sig)
{
    int saved_errno = errno;
    char c = (char)sig;

    if (sig == SIGHUP)
        td_signal_reload = 1;
    else
        td_signal_note_stop(); /* clock_gettime is async-signal-safe */
    if (td_signal_pipe[1] >= 0) {
        ssize_t r = write(td_signal_pipe[1], &c, 1); /* full pipe: already readable */
        (void)r;
    }
    errno = saved_errno;
}

int td_signal_setup(void)
{
    struct sigaction sa;
    static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};

    if (td_signal_pipe[0] < 0 && pipe2(td_signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        return -errno;
    td_signal_stop = 0;
    atomic_store(&td_signal_stop_ms, 0);
    td_signal_reload = 0;

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = td_signal_handler;
    sa.sa_flags = SA_RESTART;
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        if (sigaction(sigs[i], &sa, NULL) < 0)
            return -errno;
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) < 0)
        return -errno;
    return 0;
}

void td_signal_teardown(void)
{
    struct sigaction sa;
    static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGPIPE};

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_DFL;
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
    for (int i = 0; i < 2; i++) {
        if (td_signal_pipe[i] >= 0)
            close(td_signal_pipe[i]);
        td_signal_pipe[i] = -1;
    }
}

bool td_signal_stop_requested(void)
{
    return td_signal_stop != 0;
}

int64_t td_signal_stop_deadline_ms(void)
{
    int64_t at = atomic_load(&td_signal_stop_ms);

    return at ? at + TD_SIGNAL_STOP_GRACE_MS : INT64_MAX;
}

int td_signal_budget_ms(int timeout_ms)
{
    struct timespec ts;
    int64_t now, left, stop = td_signal_stop_deadline_ms();

    if (stop == INT64_MAX)
        return timeout_ms > 0 ? timeout_ms : 0;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    left = stop - now;
    if (left > timeout_ms)
        left = timeout_ms;
    return left > 0 ? (int)left : 0;
}

bool td_signal_take_reload(void)
{
    if (!td_signal_reload)
        return false;
    td_signal_reload = 0;
    return true;
}

int td_signal_fd(void)
{
    return td_signal_pipe[0];
}

void td_signal_drain(void)
{
    char buf[64];

    if (td_signal_pipe[0] < 0)
        return;
    while (read(td_signal_pipe[0], buf, sizeof(buf)) > 0)
        ;
}
