#include "td_money.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#define TD_MONEY_MAX_FEN INT64_C(90000000000000000)

int td_money_parse_yuan(const char *s, size_t len, int64_t *ret_fen)
{
    size_t i = 0;
    bool neg = false, any = false, comma = false;
    int64_t yuan = 0, fen = 0;
    int group = -1, decimals = 0;

    while (i < len && s[i] == ' ')
        i++;
    while (len > i && (s[len - 1] == ' ' || s[len - 1] == '\r'))
        len--;
    if (i < len && (s[i] == '-' || s[i] == '+')) {
        neg = s[i] == '-';
        i++;
    }
    for (; i < len && s[i] != '.'; i++) {
        if (s[i] == ',') {
            /* thousands separators: groups of exactly three digits */
            if (!any || (comma && group != 3) || (!comma && group > 3))
                return -EINVAL;
            comma = true;
            group = 0;
            continue;
        }
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        if (yuan > TD_MONEY_MAX_FEN / 100)
            return -ERANGE;
        yuan = yuan * 10 + (s[i] - '0');
        any = true;
        group = group < 0 ? 1 : group + 1;
    }
    if (comma && group != 3)
        return -EINVAL;
    if (i < len) { /* '.' */
        i++;
        for (; i < len; i++) {
            if (s[i] < '0' || s[i] > '9' || decimals == 2)
                return -EINVAL;
            fen = fen * 10 + (s[i] - '0');
            decimals++;
        }
        if (decimals == 0 && !any)
            return -EINVAL;
    }
    if (!any && decimals == 0)
        return -EINVAL;
    if (decimals == 1)
        fen *= 10;
    fen += yuan * 100;
    if (fen > TD_MONEY_MAX_FEN)
        return -ERANGE;
    *ret_fen = neg ? -fen : fen;
    return 0;
}

void td_money_format_yuan(int64_t fen, char *buf, size_t size)
{
    uint64_t a = fen < 0 ? (uint64_t)0 - (uint64_t)fen : (uint64_t)fen;

    snprintf(buf, size, "%s%llu.%02llu", fen < 0 ? "-" : "", (unsigned long long)(a / 100),
             (unsigned long long)(a % 100));
}
