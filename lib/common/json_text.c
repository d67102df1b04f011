/* Any bytes as a JSON string (json_text.h). */
#include <stdlib.h>
#include <string.h>
#include "common/json_text.h"

size_t pcp_utf8_len(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;

		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;

		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80 ? 4 : 0;
	}
	return 0;
}

json_t *pcp_json_text(const char *s)
{
	size_t n, len, out = 0;
	char *copy;
	json_t *j;

	if (!s)
		return json_null();
	if ((j = json_string(s)))
		return j;       /* valid UTF-8 (or out of memory: the copy below fails too) */
	len = strlen(s);
	if (!(copy = malloc(len * 3 + 1)))
		return NULL;
	/* a NUL ends the string, so a sequence is never read past it (the checks stop there) */
	for (size_t i = 0; i < len; i += n) {
		if ((n = pcp_utf8_len(s + i))) {
			memcpy(copy + out, s + i, n);
			out += n;
		} else {
			memcpy(copy + out, "\xef\xbf\xbd", 3);
			out += 3;
			n = 1;
		}
	}
	copy[out] = '\0';
	j = json_string(copy);
	free(copy);
	return j;
}
