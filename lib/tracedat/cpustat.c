/* Ring-buffer statistics text -> numbers. tracefs prints one "key: value" per line; trace-cmd
 * prefixes "CPU: N". Unknown keys ("bytes", "oldest event ts", "now ts") are skipped. */
#include <stdlib.h>
#include <string.h>
#include "tracedat/cpustat.h"

static int key_is(const char *line, const char *key, const char **value)
{
	size_t n = strlen(key);

	if (strncmp(line, key, n) || line[n] != ':')
		return 0;
	*value = line + n + 1;
	return 1;
}

int pcp_cpustat_parse(const char *text, struct pcp_cpustat *out)
{
	const char *line = text, *v;
	int cpu = -1;

	memset(out, 0, sizeof(*out));
	out->present = 1;
	while (line && *line) {
		while (*line == ' ' || *line == '\n')
			line++;
		if (key_is(line, "CPU", &v)) {
			long c = strtol(v, NULL, 10);
			cpu = c >= 0 && c < 65536 ? (int)c : -1;
		} else if (key_is(line, "entries", &v)) {
			out->entries = strtoull(v, NULL, 10);
		} else if (key_is(line, "overrun", &v)) {
			out->overrun = strtoull(v, NULL, 10);
		} else if (key_is(line, "commit overrun", &v)) {
			out->commit_overrun = strtoull(v, NULL, 10);
		} else if (key_is(line, "dropped events", &v)) {
			out->dropped = strtoull(v, NULL, 10);
		} else if (key_is(line, "read events", &v)) {
			out->read_events = strtoull(v, NULL, 10);
		}
		line = strchr(line, '\n');
	}
	return cpu;
}
