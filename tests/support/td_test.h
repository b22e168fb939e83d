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
#include <stdbool.h>
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

/* Runs the shell command cmd, its stdout and stderr into out (size bytes,
 * NUL-terminated, cut to fit). When this process is root (as in CI), the
 * command runs as the unprivileged user nobody (uid and gid 65534, no
 * supplementary groups), so that what a program says about permissions means
 * the same for root and for a developer's account; everything it needs must
 * then be readable by others (when TD_SOURCE_ROOT or TD_BUILD_ROOT is not,
 * the command is not run, the reason is printed and 125 returned). Returns
 * the exit status, or -1 (not started, or killed by a signal). */
int td_test_run_unprivileged(const char *cmd, char *out, size_t size);

/* Every entry under dir (dir itself too), one line each, sorted: relative
 * path, type, mode, size, mtime in ns and inode. Two listings are equal
 * when nothing there was created, removed, renamed, written or chmod-ed.
 * Returns a malloc'd string, NULL on error. */
char *td_test_tree_listing(const char *dir);

/* text (malloc'd, freed here) with every occurrence of from replaced by to,
 * malloc'd: e.g. a build's install prefix by the /usr of the docs. Exits the
 * test binary when out of memory. */
char *td_test_replace(char *text, const char *from, const char *to);

/* The generated reference text must stand in the file doc (relative to the
 * source root) between the lines "<!-- BEGIN reference NAME -->" and
 * "<!-- END reference NAME -->". With TD_UPDATE_REFERENCE set in the
 * environment a differing block is rewritten; otherwise the difference is
 * printed. Returns true when the doc holds (or now holds) the text. */
bool td_test_reference_block(const char *doc, const char *name, const char *generated);

#endif
