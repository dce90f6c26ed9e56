/*
 * banned.h: functions xo code must not call (after git's banned.h).
 *
 * Included into every translation unit by the Makefile (-include). They are
 * either unbounded (strcpy, strcat, sprintf, vsprintf, gets) or have
 * surprising truncation rules (strncpy, strncat); use snprintf, or the
 * helpers in util.h. System headers are included first so their own
 * prototypes are not rewritten.
 */
#ifndef XO_BANNED_H
#define XO_BANNED_H

#include <string.h>
#include <stdio.h>

#define XO_BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) XO_BANNED(strcpy)
#undef strcat
#define strcat(x, y) XO_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) XO_BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) XO_BANNED(strncat)
#undef sprintf
#define sprintf(...) XO_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) XO_BANNED(vsprintf)
#undef gets
#define gets(x) XO_BANNED(gets)

#endif
