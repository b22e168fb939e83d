#include "td_notify.h"
#include "td_test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int sock = -1;
static char *dir;
static char path[100];

static int setup(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};

    dir = td_test_tmpdir();
    if (!dir)
        return -1;
    if (strlen(dir) + sizeof("/notify") > sizeof(path))
        return -1;
    snprintf(path, sizeof(path), "%s/notify", dir);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0 || bind(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return -1;
    return 0;
}

static int teardown(void)
{
    if (sock >= 0)
        close(sock);
    unsetenv("NOTIFY_SOCKET");
    td_test_rmtree(dir);
    free(dir);
    return 0;
}

/* Next datagram, or "" if none is waiting. */
static const char *next_message(void)
{
    static char buf[1024];
    ssize_t n = recv(sock, buf, sizeof(buf) - 1, MSG_DONTWAIT);

    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static void test_noop_outside_systemd(void)
{
    unsetenv("NOTIFY_SOCKET");
    CU_ASSERT_EQUAL(td_notify_ready("up"), 0);
    CU_ASSERT_EQUAL(td_notify_status("working %d", 1), 0);
    CU_ASSERT_EQUAL(td_notify_stopping("bye"), 0);
    CU_ASSERT_STRING_EQUAL(next_message(), "");
}

static void test_ready_status_stopping_reach_the_socket(void)
{
    setenv("NOTIFY_SOCKET", path, 1);
    CU_ASSERT_EQUAL(td_notify_ready("roster caught up"), 0);
    CU_ASSERT_STRING_EQUAL(next_message(), "READY=1\nSTATUS=roster caught up");
    CU_ASSERT_EQUAL(td_notify_status("file %s: %d%%", "a.csv", 40), 0);
    CU_ASSERT_STRING_EQUAL(next_message(), "STATUS=file a.csv: 40%");
    /* the same status again is not resent */
    CU_ASSERT_EQUAL(td_notify_status("file %s: %d%%", "a.csv", 40), 0);
    CU_ASSERT_STRING_EQUAL(next_message(), "");
    CU_ASSERT_EQUAL(td_notify_reloading(), 0);
    CU_ASSERT_STRING_EQUAL(next_message(), "RELOADING=1");
    CU_ASSERT_EQUAL(td_notify_stopping("committing"), 0);
    CU_ASSERT_STRING_EQUAL(next_message(), "STOPPING=1\nSTATUS=committing");
}

static void test_watchdog_only_when_enabled_and_rate_limited(void)
{
    char pid[32];

    setenv("NOTIFY_SOCKET", path, 1);
    unsetenv("WATCHDOG_USEC");
    CU_ASSERT_EQUAL(td_notify_watchdog_usec(), 0);
    CU_ASSERT_EQUAL(td_notify_watchdog(), 0);
    CU_ASSERT_STRING_EQUAL(next_message(), "");

    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    setenv("WATCHDOG_PID", pid, 1);
    setenv("WATCHDOG_USEC", "10000000", 1);
    CU_ASSERT_EQUAL(td_notify_watchdog_usec(), 10000000u);
    CU_ASSERT_EQUAL(td_notify_watchdog(), 0);
    CU_ASSERT_STRING_EQUAL(next_message(), "WATCHDOG=1");
    /* within half the interval: not sent again */
    CU_ASSERT_EQUAL(td_notify_watchdog(), 0);
    CU_ASSERT_STRING_EQUAL(next_message(), "");

    /* a watchdog meant for another process is not ours */
    setenv("WATCHDOG_PID", "1", 1);
    CU_ASSERT_EQUAL(td_notify_watchdog_usec(), 0);
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
}

static void add_suites(void)
{
    td_test_suite("notify", setup, teardown);
    TD_TEST(test_noop_outside_systemd);
    TD_TEST(test_ready_status_stopping_reach_the_socket);
    TD_TEST(test_watchdog_only_when_enabled_and_rate_limited);
}

TD_TEST_MAIN(add_suites)
