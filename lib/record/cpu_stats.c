/* Per-CPU ring-buffer stats of the recorder's instance (record/cpu_stats.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tracefs.h>
#include "record/cpu_stats.h"

/* "key: value" lines, as the kernel's ring-buffer stats file writes them; 0 if absent. */
static uint64_t stat_value(const char *text, const char *key)
{
	const char *p = text;
	size_t kl = strlen(key);

	while (p && *p) {
		if (!strncmp(p, key, kl) && p[kl] == ':')
			return strtoull(p + kl + 1, NULL, 10);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return 0;
}

uint64_t pcp_rec_cpu_stats_value(const char *text, const char *key)
{
	return stat_value(text, key);
}

int pcp_rec_cpu_stats_read(struct tracefs_instance *inst, int cpu, struct pcp_record_cpu *out)
{
	char path[64];

	snprintf(path, sizeof(path), "per_cpu/cpu%d/stats", cpu);
	out->stats_text = tracefs_instance_file_read(inst, path, NULL);
	if (!out->stats_text)
		return -1;
	out->overrun = stat_value(out->stats_text, "overrun");
	out->commit_overrun = stat_value(out->stats_text, "commit overrun");
	out->dropped = stat_value(out->stats_text, "dropped events");
	out->read_events = stat_value(out->stats_text, "read events");
	return 0;
}

uint64_t pcp_rec_cpu_stats_now_ns(struct tracefs_instance *inst)
{
	char *text = inst ? tracefs_instance_file_read(inst, "per_cpu/cpu0/stats", NULL) : NULL;
	const char *p = text ? strstr(text, "now ts:") : NULL;
	unsigned long long sec, usec;
	uint64_t ns = 0;
	int n = 0;

	/* "now ts: 2641.098286": seconds and microseconds of a nanosecond clock; a counter clock
	 * prints no fraction and gets no mark */
	if (p && sscanf(p, "now ts: %llu.%6llu%n", &sec, &usec, &n) == 2 && n > 0)
		ns = sec * 1000000000ull + usec * 1000ull + 1000ull; /* next microsecond */
	free(text);
	return ns;
}
