/* td_suggest: "did you mean" for names and codes people type. Pure functions,
 * thread-safe. */
#ifndef TD_SUGGEST_H
#define TD_SUGGEST_H

#include <stddef.h>

/* The optimal string alignment distance between a and b, in bytes
 * (insertions, deletions, substitutions and adjacent transpositions), capped:
 * cap + 1 when it is larger, or when a string is longer than 64 bytes. */
size_t td_edit_distance(const char *a, const char *b, size_t cap);

#endif
