/* tuodictl: the operator's and the bureau's tool. A thin main over tdt. */
#include "tdt.h"

#include "td_log.h"
#include "td_signal.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    int r;
    td_log_setup("tuodictl", NULL, TD_LOG_WARNING, TD_LOG_TARGET_STDERR);
    if (td_signal_setup() < 0)
        return TDT_EXIT_FAILURE;
    r = tdt_main(argc, argv, stdout, stderr);
    td_signal_teardown();
    return r;
}
