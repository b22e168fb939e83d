/* tds_divisions: Huainan's counties and villages, compiled in from
 * deploy/data/huainan-divisions.csv (NBS 2023 codes; see deploy/data/README.md)
 * by tds_embed at build time. */
#ifndef TDS_DIVISIONS_H
#define TDS_DIVISIONS_H

#include <stddef.h>

typedef struct tds_division {
    const char *code;   /* 12 digits */
    const char *name;
    const char *county; /* 6 digits */
} tds_division;

extern const tds_division tds_villages[];
extern const size_t tds_nvillages;
extern const tds_division tds_counties[];
extern const size_t tds_ncounties;

#endif
