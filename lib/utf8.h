/* utf8.h -- the UTF-8 checks and encoding every JSON reader and writer
 * here shares (event parsing, the state codec, dead-letter payloads). */
#ifndef FU_UTF8_H
#define FU_UTF8_H

#include <stdint.h>

/* Length (1 to 4) of the valid UTF-8 sequence at p, before end, or 0:
 * overlong forms, surrogates and code points past U+10FFFF are invalid,
 * as in jansson. p < end. */
int utf8_seq(const char *p, const char *end);

/* Bytes that code point cp takes in UTF-8. */
int utf8_len(uint32_t cp);

/* Code point cp (at most U+10FFFF) as UTF-8 at out; returns the end. */
char *utf8_put(char *out, uint32_t cp);

#endif
