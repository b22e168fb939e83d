/* tuodi-matchd: names shared by its parts. */
#include <stddef.h>

extern const char *const tdm_program_name;
const char *const tdm_program_name = "tuodi-matchd";
