#include "td_signal.h"
#include "td_test.h"
#include "td_time.h"

#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

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

/* The stop deadline: none before a stop; the first stop request's time plus
 * the grace, which a later request does not move; budgets clipped to it. */
static void test_stop_deadline_bounds_budgets(void)
{
    int64_t before, deadline;

    CU_ASSERT_EQUAL(td_signal_setup(), 0);
    CU_ASSERT_EQUAL(td_signal_stop_deadline_ms(), INT64_MAX);
    CU_ASSERT_EQUAL(td_signal_budget_ms(30000), 30000);
    CU_ASSERT_EQUAL(td_signal_budget_ms(-5), 0);
    before = td_time_mono_ms();
    raise(SIGTERM);
    deadline = td_signal_stop_deadline_ms();
    CU_ASSERT(deadline >= before + TD_SIGNAL_STOP_GRACE_MS);
    CU_ASSERT(deadline <= td_time_mono_ms() + TD_SIGNAL_STOP_GRACE_MS);
    CU_ASSERT(td_signal_budget_ms(30000) <= TD_SIGNAL_STOP_GRACE_MS);
    CU_ASSERT(td_signal_budget_ms(30000) > TD_SIGNAL_STOP_GRACE_MS - 1000);
    CU_ASSERT_EQUAL(td_signal_budget_ms(10), 10);
    usleep(20 * 1000);
    raise(SIGTERM);
    CU_ASSERT_EQUAL(td_signal_stop_deadline_ms(), deadline);
    td_signal_drain();
}

static void add_suites(void)
{
    td_test_suite("signal", setup, teardown);
    TD_TEST(test_hup_is_a_reload_flag_taken_once);
    TD_TEST(test_sigpipe_is_ignored);
    TD_TEST(test_term_requests_stop_and_stays);
    TD_TEST(test_int_requests_stop_after_setup_again);
    TD_TEST(test_stop_deadline_bounds_budgets);
}

TD_TEST_MAIN(add_suites)
