/* Text from a trace or a system (task names, kernel symbols, buffer and clock names, file
 * paths, labels) as a JSON string. JSON text is UTF-8 and jansson refuses anything else, but
 * a task may name itself with any bytes (prctl(PR_SET_NAME)) and a damaged trace holds any:
 * each byte that does not start a valid UTF-8 sequence becomes U+FFFD, the rest is kept. */
#ifndef PCPTRACE_JSON_TEXT_H
#define PCPTRACE_JSON_TEXT_H

#include <stddef.h>
#include <jansson.h>

/* A new JSON string of s (NULL: JSON null); NULL only when out of memory. */
json_t *pcp_json_text(const char *s);

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlong forms, no surrogates, nothing
 * above U+10FFFF; 1 for ASCII, NUL included), 0 if the byte at s does not start one. For
 * writers of JSON text of their own (perfetto.c). */
size_t pcp_utf8_len(const char *s);

#endif
