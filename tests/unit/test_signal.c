#include "td_signal.h"
#include "td_test.h"

#include <poll.h>
#include <signal.h>

static int setup(void)
{
    return td_signal_setup() == 0 ? 0 : -1;
}

static int teardown(void)
{
    td_signal_teardown();
    return 0;
}

static int fd_readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void test_hup_is_a_reload_flag_taken_once(void)
{
    CU_ASSERT_FALSE(td_signal_take_reload());
    raise(SIGHUP);
    CU_ASSERT_TRUE(fd_readable(td_signal_fd()));
    CU_ASSERT_TRUE(td_signal_take_reload());
    CU_ASSERT_FALSE(td_signal_take_reload());
    CU_ASSERT_FALSE(td_signal_stop_requested());
    td_signal_drain();
    CU_ASSERT_FALSE(fd_readable(td_signal_fd()));
}

static void test_sigpipe_is_ignored(void)
{
    raise(SIGPIPE); /* would kill the process if not ignored */
    CU_ASSERT_FALSE(td_signal_stop_requested());
}

static void test_term_requests_stop_and_stays(void)
{
    raise(SIGTERM);
    CU_ASSERT_TRUE(td_signal_stop_requested());
    CU_ASSERT_TRUE(td_signal_stop_requested());
    CU_ASSERT_TRUE(fd_readable(td_signal_fd()));
    td_signal_drain();
}

static void test_int_requests_stop_after_setup_again(void)
{
    CU_ASSERT_EQUAL(td_signal_setup(), 0); /* resets the flags */
    CU_ASSERT_FALSE(td_signal_stop_requested());
    raise(SIGINT);
    CU_ASSERT_TRUE(td_signal_stop_requested());
}

static void add_suites(void)
{
    td_test_suite("signal", setup, teardown);
    TD_TEST(test_hup_is_a_reload_flag_taken_once);
    TD_TEST(test_sigpipe_is_ignored);
    TD_TEST(test_term_requests_stop_and_stays);
    TD_TEST(test_int_requests_stop_after_setup_again);
}

TD_TEST_MAIN(add_suites)
