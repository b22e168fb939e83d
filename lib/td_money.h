/* td_money: money is integer fen (1 yuan = 100 fen); never floating point. */
#ifndef TD_MONEY_H
#define TD_MONEY_H

#include <stddef.h>
#include <stdint.h>

/* Parses an amount in yuan as departments write it: optional sign, digits,
 * optionally '.' and one or two decimals ("1234", "1234.5", "-0.05",
 * "12,345.60" with thousands separators in the integer part), surrounding
 * spaces allowed. More than two decimals, other characters, an empty text or
 * an amount beyond +-9e16 fen are -EINVAL / -ERANGE. */
int td_money_parse_yuan(const char *s, size_t len, int64_t *ret_fen);

/* "1234.50" into buf (>= 24 bytes). */
void td_money_format_yuan(int64_t fen, char *buf, size_t size);

#endif
