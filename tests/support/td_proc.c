#include "td_proc.h"

#include "td_time.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

pid_t td_proc_spawn(const char *bin, const char *const *argv, const char *log)
{
    pid_t pid = fork();

    if (pid == 0) {
        int fd;

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, STDERR_FILENO);
            dup2(fd, STDOUT_FILENO);
            close(fd);
        }
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

pid_t td_proc_spawn_config(const char *bin, const char *config, const char *log)
{
    const char *name = strrchr(bin, '/');
    const char *argv[] = {name ? name + 1 : bin, "--config", config, NULL};

    return td_proc_spawn(bin, argv, log);
}

int td_proc_stop(pid_t pid, int sig, int timeout_ms)
{
    int64_t until = td_time_mono_ms() + timeout_ms;
    int status;

    kill(pid, sig);
    while (td_time_mono_ms() < until) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return status;
        usleep(20000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

bool td_proc_alive(pid_t pid)
{
    int status;

    return waitpid(pid, &status, WNOHANG) == 0;
}

int td_proc_log_count(const char *path, const char *text)
{
    FILE *f = fopen(path, "r");
    char line[8192];
    int n = 0;

    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (strstr(line, text))
            n++;
    fclose(f);
    return n;
}

bool td_proc_wait_log(const char *path, const char *text, int n, int timeout_ms)
{
    int64_t until = td_time_mono_ms() + timeout_ms;

    for (;;) {
        if (td_proc_log_count(path, text) >= n)
            return true;
        if (td_time_mono_ms() >= until)
            return false;
        usleep(50000);
    }
}

void td_proc_show_log(const char *path, int lines)
{
    char cmd[4400];

    snprintf(cmd, sizeof(cmd), "tail -n %d '%s' >&2", lines, path);
    if (system(cmd) != 0)
        fprintf(stderr, "(no log at %s)\n", path);
}
