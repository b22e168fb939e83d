#include "td_path.h"

#include "td_config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TD_PATH_MAX 4096

int td_path_problem(td_error *err, const char *config_path, const char *key, int code,
                    const char *fmt, ...)
{
    char where[TD_PATH_MAX + 64], text[TD_ERROR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (!config_path)
        return td_error_append(err, code, "%s%s%s", key ? key : "", key ? ": " : "", text);
    td_config_origin(config_path, key ? key : "", where, sizeof(where));
    return td_error_append(err, code, "%s: %s%s%s", where, key ? key : "", key ? ": " : "",
                           text);
}

/* The effective user's name for messages (never its number). */
static const char *td_path_user(char *buf, size_t size)
{
    struct passwd pw, *res = NULL;
    char tmp[4096];

    if (getpwuid_r(geteuid(), &pw, tmp, sizeof(tmp), &res) == 0 && res && res->pw_name)
        snprintf(buf, size, "user %s", res->pw_name);
    else
        snprintf(buf, size, "this user");
    return buf;
}

/* 0 when this user has mode (R_OK, W_OK, X_OK or-ed) on path, else -errno. */
static int td_path_access(const char *path, int mode)
{
    return faccessat(AT_FDCWD, path, mode, AT_EACCESS) == 0 ? 0 : -errno;
}

static const char *td_path_modes(int mode)
{
    switch (mode) {
    case R_OK: return "read";
    case W_OK: return "write";
    case X_OK: return "search";
    case R_OK | X_OK: return "read and search";
    case R_OK | W_OK: return "read and write";
    case W_OK | X_OK: return "write and search";
    case R_OK | W_OK | X_OK: return "read, write and search";
    default: return "use";
    }
}

/* Appends the problem "KEY: PATH: <what> (<why>)". */
static int td_path_fail(td_error *err, const char *config_path, const char *key,
                        const char *path, const char *why, int code, const char *what)
{
    return td_path_problem(err, config_path, key, code, "%s: %s%s%s%s", path, what,
                           why ? " (" : "", why ? why : "", why ? ")" : "");
}

/* A missing directory that mkdir -p would create: the nearest existing
 * ancestor must be a directory this user may write and search. */
static int td_path_creatable(const char *config_path, const char *key, const char *path,
                             const char *why, td_error *err)
{
    char dir[TD_PATH_MAX], user[300], what[TD_PATH_MAX + 400];
    struct stat st;
    size_t n = strlen(path);
    int r;

    if (n >= sizeof(dir))
        return td_path_fail(err, config_path, key, path, why, -ENAMETOOLONG,
                            "path too long");
    memcpy(dir, path, n + 1);
    for (;;) {
        char *slash;

        while (n > 1 && dir[n - 1] == '/')
            dir[--n] = '\0';
        slash = strrchr(dir, '/');
        if (!slash) {
            snprintf(dir, sizeof(dir), ".");
        } else if (slash == dir) {
            dir[1] = '\0';
        } else {
            *slash = '\0';
        }
        n = strlen(dir);
        if (stat(dir, &st) == 0)
            break;
        if (errno != ENOENT) {
            r = -errno;
            snprintf(what, sizeof(what), "missing, and %s cannot look into %s to create it: %s",
                     td_path_user(user, sizeof(user)), dir, strerror(-r));
            return td_path_fail(err, config_path, key, path, why, r, what);
        }
        if (strcmp(dir, "/") == 0 || strcmp(dir, ".") == 0)
            return td_path_fail(err, config_path, key, path, why, -ENOENT,
                                "missing, and no directory above it exists");
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(what, sizeof(what), "missing, and cannot be created: %s is not a directory",
                 dir);
        return td_path_fail(err, config_path, key, path, why, -ENOTDIR, what);
    }
    r = td_path_access(dir, W_OK | X_OK);
    if (r < 0) {
        if (r == -EROFS)
            snprintf(what, sizeof(what), "missing, and cannot be created: %s is on a "
                     "read-only filesystem", dir);
        else
            snprintf(what, sizeof(what), "missing, and %s cannot create it: no write and "
                     "search permission on %s", td_path_user(user, sizeof(user)), dir);
        return td_path_fail(err, config_path, key, path, why, r, what);
    }
    return 0;
}

int td_path_check(const char *config_path, const char *key, const char *path,
                  td_path_need need, const char *why, td_error *err)
{
    char user[300], what[400];
    struct stat st;
    int mode = R_OK, r;

    if (!path || !*path)
        return td_path_fail(err, config_path, key, "\"\"", why, -EINVAL, "empty path");
    if (stat(path, &st) < 0) {
        r = -errno;
        if (r == -ENOENT && need == TD_PATH_MAKE_DIR)
            return td_path_creatable(config_path, key, path, why, err);
        if (r == -EACCES)
            snprintf(what, sizeof(what), "%s cannot reach it (no search permission on a "
                     "directory above it)", td_path_user(user, sizeof(user)));
        else
            snprintf(what, sizeof(what), "%s", strerror(-r));
        return td_path_fail(err, config_path, key, path, why, r, what);
    }
    switch (need) {
    case TD_PATH_READ_FILE:
    case TD_PATH_WRITE_FILE:
        if (S_ISDIR(st.st_mode))
            return td_path_fail(err, config_path, key, path, why, -EISDIR,
                                "is a directory, not a file");
        mode = need == TD_PATH_WRITE_FILE ? R_OK | W_OK : R_OK;
        break;
    case TD_PATH_READ_DIR:
        mode = R_OK | X_OK;
        break;
    case TD_PATH_WRITE_DIR:
    case TD_PATH_MAKE_DIR:
        mode = R_OK | W_OK | X_OK;
        break;
    }
    if (need != TD_PATH_READ_FILE && need != TD_PATH_WRITE_FILE && !S_ISDIR(st.st_mode))
        return td_path_fail(err, config_path, key, path, why, -ENOTDIR, "not a directory");
    r = td_path_access(path, mode);
    if (r < 0) {
        /* name what is missing: write, not "read, write and search" */
        int lack = 0;

        for (int m = X_OK; m <= R_OK; m <<= 1) /* X_OK 1, W_OK 2, R_OK 4 */
            if ((mode & m) && td_path_access(path, m) < 0)
                lack |= m;
        if (r == -EROFS)
            snprintf(what, sizeof(what), "on a read-only filesystem (%s is needed)",
                     td_path_modes(mode));
        else
            snprintf(what, sizeof(what), "%s has no %s permission on it",
                     td_path_user(user, sizeof(user)), td_path_modes(lack ? lack : mode));
        return td_path_fail(err, config_path, key, path, why, r, what);
    }
    return 0;
}

int td_path_report(td_error *step, FILE *f)
{
    int code;

    if (!step)
        return 0;
    code = step->code;
    if (f && step->msg[0]) {
        size_t n = strlen(step->msg);
        fputs(step->msg, f);
        if (step->msg[n - 1] != '\n')
            fputc('\n', f);
    }
    td_error_clear(step);
    return code;
}

int td_check_step(td_check *c, int r)
{
    if (r < 0 && !c->step.msg[0])
        td_error_set(&c->step, r, "%s", strerror(-r));
    td_path_report(&c->step, c->out);
    return td_check_done(c, r);
}

int td_check_done(td_check *c, int r)
{
    if (r < 0 && c->rc == 0)
        c->rc = r;
    return r;
}
