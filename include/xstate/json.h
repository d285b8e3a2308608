/* JSON output shared by every layer's --json writers. */
#ifndef XSTATE_JSON_H
#define XSTATE_JSON_H

#include <stdio.h>

/* s as a JSON string literal, quotes included (RFC 8259 section 7: '"',
 * '\' and control characters escaped; other bytes as they are, so UTF-8
 * passes through). NULL prints "". */
void xs_json_string(FILE *f, const char *s);

#endif
