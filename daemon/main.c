/* tuodi-matchd: joins department records to the roster's households,
 * evaluates the rules and pushes alerts to the county queues, exactly once.
 * A thin main over the daemon library (tdm_*). */
#include "td_cli.h"
#include "td_http.h"
#include "td_log.h"
#include "td_metrics.h"
#include "td_notify.h"
#include "td_signal.h"
#include "tdm_config.h"
#include "tdm_engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef TUODI_VERSION
#define TUODI_VERSION "unknown"
#endif

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: tuodi-matchd --config FILE [--check-config [--connect]]\n"
            "       tuodi-matchd --version | --help\n"
            "\n"
            "Reads the roster and the department topics, keeps each household's windows in\n"
            "LMDB, evaluates the rules file and produces alerts to tuodi.alerts.<county>, in\n"
            "Kafka transactions together with the consumer offsets: exactly once.\n"
            "\n"
            "  -c, --config FILE   the YAML file (/etc/tuodi/matchd.yaml)\n"
            "      --check-config  load and validate FILE and what it names (rules, schemas,\n"
            "                      state_dir, the files this user must be able to use),\n"
            "                      print every problem as file:line:col, exit; creates,\n"
            "                      changes and connects to nothing\n"
            "      --connect       with --check-config: also ask the brokers (10 s at most)\n"
            "                      whether the input topics exist\n"
            "  -V, --version       print the version\n"
            "  -h, --help          this text\n"
            "\n"
            "Signals: SIGTERM/SIGINT stop within 5 s: the open batch is committed if Kafka\n"
            "answers within 2 s, else its records are read again at the next start (nothing is\n"
            "lost or produced twice); a stop during start-up ends it. SIGHUP reloads the\n"
            "rules file (the current rules stay if the new file is bad, or drops all or more\n"
            "than rules_max_drop_percent of the running rules; docs/rules.md) and the holiday\n"
            "file (calendar:; the current one stays if the new one is bad).\n"
            "Exit status: 0 clean stop, 1 runtime failure, 2 usage or config error.\n");
}

int main(int argc, char **argv)
{
    td_cli cli;
    tdm_config cfg;
    tdm_engine *e = NULL;
    td_metrics *metrics = NULL;
    td_http *http = NULL;
    td_error err = {0};
    int r;

    r = td_cli_parse(argc, argv, "tuodi-matchd", TUODI_VERSION, usage, &cli);
    if (r >= 0)
        return r;

    memset(&cfg, 0, sizeof(cfg));
    r = tdm_config_load(cli.config, &cfg, &err);
    if (r < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    if (cli.check) {
        /* Check the rules, the schemas, state_dir and the files Kafka's
         * settings name as this user, creating, changing and connecting to
         * nothing. */
        size_t nrules = 0;

        r = tdm_engine_check(&cfg, cli.config, cli.connect, &nrules, stderr);
        if (r < 0) {
            tdm_config_free(&cfg);
            return 2;
        }
        printf("%s: ok (group %s, %zu rules from %s%s)\n", cli.config, cfg.group_id, nrules,
               cfg.rules, cli.connect ? "; the brokers answer, the input topics exist" : "");
        tdm_config_free(&cfg);
        return 0;
    }

    td_log_setup("tuodi-matchd", cfg.group_id, (td_log_level)(TD_LOG_ERR + cfg.log_level),
                 TD_LOG_TARGET_AUTO);
    r = td_signal_setup();
    if (r < 0) {
        td_log_error("cannot install signal handlers: %s", strerror(-r));
        tdm_config_free(&cfg);
        return 1;
    }
    r = tdm_engine_new(&cfg, &e, &err);
    if (r == 0 && cfg.http.listen && *cfg.http.listen) {
        /* after the config and the state are loaded, before Kafka */
        metrics = td_metrics_new("tuodi_matchd");
        r = metrics ? td_http_start(&cfg.http, metrics, &http, &err)
                    : td_error_set(&err, -ENOMEM, "out of memory");
    }
    if (r == 0)
        r = tdm_engine_serve(e, http, metrics, TUODI_VERSION, &err);
    if (r == 0)
        r = tdm_engine_run(e, &err);
    if (r < 0) {
        td_log_error("%s", err.msg);
        td_notify_stopping("failed");
    }
    /* the engine first: its clients' callbacks may still say /ready */
    tdm_engine_free(e);
    td_http_stop(http);
    td_metrics_free(metrics);
    td_signal_teardown();
    tdm_config_free(&cfg);
    return r < 0 ? 1 : 0;
}
