/* Which trace buffer of a trace.dat the analysis reads (pcpanalyze --buffer). */
#ifndef PCPTRACE_BUFFER_CHOICE_H
#define PCPTRACE_BUFFER_CHOICE_H

#include <stddef.h>

/* requested: a buffer name ("top" = the top-level buffer) or NULL to choose:
 * - one buffer (or none) holds data: that one;
 * - several hold data: each is scanned up to its first analyzable event (kmem PCP events,
 *   percpu:*); exactly one has any: that one; several: PCP_ERR_MODE, errbuf lists them.
 * *chosen (malloc'd name) and *why ("--buffer", "only buffer with data", "only buffer with
 * analyzable events") on success; *nr_with_data: buffers holding data. A requested name the
 * file does not have: PCP_ERR_MODE, errbuf lists the file's buffers. */
int pcp_choose_buffer(const char *path, const char *requested, char **chosen, const char **why,
		      unsigned *nr_with_data, char *errbuf, size_t errlen);

#endif
