/* A test parse of a trace.dat's headers in a child process (see lib/tracedat/tracedat_probe.c). */
#ifndef PCPTRACE_TRACEDAT_PROBE_H
#define PCPTRACE_TRACEDAT_PROBE_H

#include <stddef.h>

/* PCP_OK when a child process parsed the headers with tracecmd_open_head() without crashing
 * or hanging (or libtracecmd refused them cleanly), PCP_ERR_CORRUPT when it crashed or hung,
 * PCP_ERR_IO when no child could be made. errbuf gets a one-line reason. */
int pcp_tracedat_probe_headers(const char *path, char *errbuf, size_t errlen);
/* The same for the header copy copy_fd of path (pcp_tracedat_header_copy: what libtracecmd
 * parses in our process when kallsyms is loaded lazily); remembered apart from path's own. */
int pcp_tracedat_probe_copy(const char *path, int copy_fd, char *errbuf, size_t errlen);

/* fork() is only safe while no other thread of ours runs: a thread holding a lock of the
 * allocator at that moment leaves it held forever in the child (GCC 12's AddressSanitizer
 * allocator has no fork handler, and a child of `compare -j` hung in malloc). A caller about
 * to start threads that will open traces probes them first, in its one thread:
 * pcp_tracedat_probe_ahead() probes each path and remembers the answers (by device, inode,
 * size and modification time): its header copy's where the reader makes one and, when that is
 * sound, the whole file's too (the reader's fallback to libtracecmd after the copy parses it);
 * pcp_tracedat_probe_headers() and _copy() then answer from them, without a child, until
 * pcp_tracedat_probe_forget(). In that span a file without an answer (changed since) is not
 * probed but refused (PCP_ERR_IO): no child is made while the threads run. Nothing is
 * remembered outside such a span. */
void pcp_tracedat_probe_ahead(const char *const *paths, size_t n);
void pcp_tracedat_probe_forget(void);

#endif
