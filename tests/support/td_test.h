/* td_test: the small harness every CUnit test binary shares.
 *
 * A test file defines `static void add_suites(void)` that calls
 * td_test_suite()/td_test_add(), and ends with TD_TEST_MAIN(add_suites).
 * The binary exits 0 only when every test ran and passed; `binary NAME` runs
 * only the suite NAME.
 */
#ifndef TD_TEST_H
#define TD_TEST_H

#include <CUnit/CUnit.h>
#include <stddef.h>

int td_test_main(int argc, char **argv, void (*add_suites)(void));

#define TD_TEST_MAIN(add)                                   \
    int main(int argc, char **argv)                         \
    {                                                       \
        return td_test_main(argc, argv, add);               \
    }

/* Starts a new suite; the following td_test_add() calls go into it. */
void td_test_suite(const char *name, CU_InitializeFunc init, CU_CleanupFunc clean);
void td_test_add(const char *name, CU_TestFunc fn);
#define TD_TEST(fn) td_test_add(#fn, fn)

/* KAFKA_BOOTSTRAP, or exits the binary with a message saying how to get a
 * broker (integration tests never skip). */
const char *td_test_bootstrap(void);

/* A name unique to this process and call: "<prefix>-<pid>-<n>-<time>".
 * Returns a malloc'd string. */
char *td_test_unique(const char *prefix);

/* The source tree's root (TD_SOURCE_ROOT from meson, else "."). */
const char *td_test_source_root(void);

/* Makes a fresh private directory under TMPDIR; returns a malloc'd path. The
 * caller removes it with td_test_rmtree(). */
char *td_test_tmpdir(void);
int td_test_rmtree(const char *path);

/* Writes text to path (truncating). Returns 0 or -errno. */
int td_test_write_file(const char *path, const char *text);

/* Reads a whole file into a malloc'd NUL-terminated buffer, NULL on error. */
char *td_test_read_file(const char *path, size_t *len);

#endif
