/* A running recording's figures so far (record/live_stats.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tracefs.h>
#include "record/cpu_stats.h"
#include "record/live_stats.h"

/* One CPU: the kernel's counters in its stats file, the spool file's size. */
static int read_cpu(struct tracefs_instance *inst, int cpu, int spool_fd,
		    struct pcp_record_live_cpu *out)
{
	char path[64], *text;
	struct stat st;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "per_cpu/cpu%d/stats", cpu);
	text = tracefs_instance_file_read(inst, path, NULL);
	if (!text)
		return -1;
	out->recorded = 1;
	out->events = pcp_rec_cpu_stats_value(text, "read events") +
		      pcp_rec_cpu_stats_value(text, "entries");
	out->lost = pcp_rec_cpu_stats_value(text, "overrun") +
		    pcp_rec_cpu_stats_value(text, "commit overrun") +
		    pcp_rec_cpu_stats_value(text, "dropped events");
	if (fstat(spool_fd, &st) == 0 && st.st_size > 0)
		out->bytes = (uint64_t)st.st_size;
	free(text);
	return 0;
}

int pcp_record_live_read(const struct pcp_record *r, struct pcp_record_live_cpu *cpus,
			 struct pcp_record_live *sum)
{
	struct tracefs_instance *inst = pcp_record_tracefs(r);
	int i, nr = pcp_record_nr_cpus(r), read = 0;

	memset(sum, 0, sizeof(*sum));
	if (!inst)
		return -1;
	for (i = 0; i < nr; i++) {
		struct pcp_record_live_cpu c = { 0 };
		int fd = pcp_record_spool_fd(r, i);

		if (fd >= 0 && read_cpu(inst, i, fd, &c) == 0) {
			read++;
			sum->events += c.events;
			sum->lost += c.lost;
			sum->bytes += c.bytes;
			sum->lossy_cpus += c.lost > 0;
		}
		if (cpus)
			cpus[i] = c;
	}
	return read ? 0 : -1;
}
