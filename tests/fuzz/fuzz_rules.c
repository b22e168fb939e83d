/* Fuzz target for tuodi-matchd's rules loader (daemon/tdm_rules.c).
 *
 * Input: the rules file (YAML that ops edit).
 * Properties, beyond no crash, leak or undefined behaviour:
 *   - a refused file gives a negative errno and a message naming the file,
 *     and no rules object;
 *   - an accepted file's rules each have an id found again by
 *     tdm_rules_find, a name, a version and a comparison; every line is
 *     found again by its province and year (and by a village code of that
 *     province); thresholds of every rule resolve for every kind of subject
 *     (on the roster or not, each household type, with and without income
 *     and line) to a fen amount, -ENOENT or -ERANGE only, never a negative
 *     threshold for a rule that compares >=;
 *   - every suspect rule is found again by tdm_rules_suspect_find, has a
 *     name, a fix hint, a version, a check with a name, and the parameters
 *     its check may have (grades 1..4, grace and tolerance >= 0, an
 *     allowance exactly for the allowance checks).
 * corpus/rules/ holds seeds: deploy/rules/huainan-2023.yaml and the files of
 * tests/data/rules (tests/fuzz/gen_corpus.py).
 */
#include "fuzz_common.h"
#include "tdm_rules.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T "fuzz_rules"
#define NAME "fz-rules.yaml"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_thresholds(const tdm_rules *rules, const tdm_rule *r)
{
    static const tdm_population pops[] = {TDM_POP_ROSTER_MONITORED, TDM_POP_ROSTER_NOT_MONITORED,
                                          TDM_POP_NOT_ON_ROSTER};
    static const int64_t incomes[] = {-100, 0, 1, 790000, INT64_C(9000000000000000)};
    const tdm_line *line = tdm_rules_line_count(rules) ? tdm_rules_line_at(rules, 0) : NULL;

    for (size_t p = 0; p < sizeof(pops) / sizeof(pops[0]); p++) {
        for (int type = 0; type <= 2; type++) {
            for (size_t i = 0; i <= sizeof(incomes) / sizeof(incomes[0]); i++) {
                tdm_subject s = {0};
                int64_t fen = 0;
                int rc;

                if (pops[p] == TDM_POP_NOT_ON_ROSTER && type != TDM_HH_NONE)
                    continue;
                s.population = pops[p];
                s.type = (tdm_household_type)type;
                s.has_income = i < sizeof(incomes) / sizeof(incomes[0]);
                if (s.has_income) {
                    s.annual_net_fen = incomes[i];
                    s.per_capita_net_fen = incomes[i] / 3;
                    s.income_year = line ? line->year : 2023;
                    s.line = line;
                }
                rc = tdm_rule_threshold_fen(r, &s, &fen);
                if (rc != 0 && rc != -ENOENT && rc != -ERANGE)
                    fuzz_fail(T, "rule %s: threshold returned %d", r->id, rc);
                if (rc == 0 && fen < 0 && strcmp(tdm_rule_comparison(r), "GE") == 0 &&
                    r->condition.kind != TDM_COND_DEPARTMENTS_WITHIN)
                    fuzz_fail(T, "rule %s: a negative threshold %lld", r->id, (long long)fen);
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *yaml = fuzz_strndup(data, size);
    tdm_rules *rules = NULL;
    td_error err = {0};
    int rc = tdm_rules_load_string(NAME, yaml, &rules, &err);

    free(yaml);
    if (rc < 0) {
        if (rules)
            fuzz_fail(T, "refused (%d) with a rules object", rc);
        if (rc != -ENOMEM && (!err.msg[0] || !strstr(err.msg, NAME)))
            fuzz_fail(T, "refused (%d) without naming the file: %s", rc, err.msg);
        return 0;
    }
    if (!rules)
        fuzz_fail(T, "accepted without a rules object");
    for (size_t i = 0; i < tdm_rules_count(rules); i++) {
        const tdm_rule *r = tdm_rules_at(rules, i);
        if (!r || !r->id || tdm_rules_find(rules, r->id) != r)
            fuzz_fail(T, "rule %zu is not found by its id", i);
        if (!r->name || !r->version || !tdm_rule_comparison(r))
            fuzz_fail(T, "rule %s without a name, version or comparison", r->id);
        check_thresholds(rules, r);
    }
    for (size_t i = 0; i < tdm_rules_suspect_count(rules); i++) {
        const tdm_suspect_rule *r = tdm_rules_suspect_at(rules, i);
        bool allowance_check;
        if (!r || !r->id || tdm_rules_suspect_find(rules, r->id) != r)
            fuzz_fail(T, "suspect rule %zu is not found by its id", i);
        if (!r->name || !r->name[0] || !r->fix_hint || !r->fix_hint[0] || !r->version ||
            !r->version[0] || !tdm_check_name(r->check)[0])
            fuzz_fail(T, "suspect rule %s without a name, fix hint, version or check", r->id);
        allowance_check = r->check == TDM_CHECK_ALLOWANCE_NOT_RECORDED ||
                          r->check == TDM_CHECK_ALLOWANCE_STILL_MARKED;
        if (allowance_check != (r->allowance != TDM_ALLOWANCE_NONE) || r->grace_days < 0 ||
            r->tolerance_fen < 0 || r->max_disability_grade < 0 || r->max_disability_grade > 4 ||
            ((r->check == TDM_CHECK_ABLE_BODIED_SEVERELY_DISABLED) !=
             (r->max_disability_grade > 0)))
            fuzz_fail(T, "suspect rule %s has parameters its check does not take", r->id);
    }
    for (size_t i = 0; i < tdm_rules_line_count(rules); i++) {
        const tdm_line *l = tdm_rules_line_at(rules, i);
        char village[16];
        if (!l || tdm_rules_line(rules, l->province, l->year) != l)
            fuzz_fail(T, "line %zu is not found by its province and year", i);
        snprintf(village, sizeof(village), "%s0421100201", l->province);
        if (tdm_rules_line(rules, village, l->year) != l)
            fuzz_fail(T, "line %zu is not found by a village code", i);
    }
    if (strcmp(tdm_rules_source(rules), NAME) != 0)
        fuzz_fail(T, "the rules' source is %s", tdm_rules_source(rules));
    tdm_rules_free(rules);
    return 0;
}
