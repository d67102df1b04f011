/*
 * Facts of the trace.dat format that the writer, the reader, the synthesizer and the file-kind
 * sniffing share, each defined once (man 5 trace-cmd.dat.v6, man 5 trace-cmd.dat.v7;
 * trace-cmd's enum tracecmd_file_options and enum tracecmd_section_flags).
 */
#ifndef PCPTRACE_TRACEDAT_FORMAT_H
#define PCPTRACE_TRACEDAT_FORMAT_H

/* The first bytes of every trace.dat; the version follows as text ("6", "7") and a NUL. */
#define PCP_TRACEDAT_MAGIC "\x17\x08\x44tracing"
#define PCP_TRACEDAT_MAGIC_LEN (sizeof(PCP_TRACEDAT_MAGIC) - 1)

/* Version 6 tags: NUL-terminated words in front of a block; the sizes include the NUL
 * (sizeof of the literal). The three 10-byte ones are padded with spaces to one size. */
#define PCP_TRACEDAT_TAG_HEADER_PAGE "header_page"   /* also opens v7's header info section */
#define PCP_TRACEDAT_TAG_HEADER_EVENT "header_event"
#define PCP_TRACEDAT_TAG_OPTIONS "options  "
#define PCP_TRACEDAT_TAG_FLYRECORD "flyrecord"
#define PCP_TRACEDAT_TAG_LATENCY "latency  "

/* Option ids (v6 options block, v7 options sections). */
enum pcp_tracedat_option {
	PCP_TRACEDAT_OPT_DONE = 0,          /* end of the options (v7: offset of the next section) */
	PCP_TRACEDAT_OPT_DATE = 1,          /* timestamp offset text: libtracecmd shifts times */
	PCP_TRACEDAT_OPT_CPUSTAT = 2,       /* per_cpu/cpuN/stats text, one per CPU */
	PCP_TRACEDAT_OPT_BUFFER = 3,        /* an instance's flyrecord data */
	PCP_TRACEDAT_OPT_TRACECLOCK = 4,    /* trace_clock text */
	PCP_TRACEDAT_OPT_UNAME = 5,
	PCP_TRACEDAT_OPT_HOOK = 6,
	PCP_TRACEDAT_OPT_OFFSET = 7,        /* fixed time added to each timestamp */
	PCP_TRACEDAT_OPT_CPUCOUNT = 8,      /* u32 */
	PCP_TRACEDAT_OPT_VERSION = 9,
	PCP_TRACEDAT_OPT_PROCMAPS = 10,
	PCP_TRACEDAT_OPT_TRACEID = 11,
	PCP_TRACEDAT_OPT_TIME_SHIFT = 12,   /* guest/host time synchronisation */
	PCP_TRACEDAT_OPT_GUEST = 13,
	PCP_TRACEDAT_OPT_TSC2NSEC = 14,     /* u32 mult, u32 shift, u64 offset */
	PCP_TRACEDAT_OPT_STRINGS = 15,
	/* v7: u64 offsets of the metadata sections of the same ids, in this order */
	PCP_TRACEDAT_OPT_HEADER_INFO = 16,
	PCP_TRACEDAT_OPT_FTRACE_EVENTS = 17,
	PCP_TRACEDAT_OPT_EVENT_FORMATS = 18,
	PCP_TRACEDAT_OPT_KALLSYMS = 19,
	PCP_TRACEDAT_OPT_PRINTK = 20,
	PCP_TRACEDAT_OPT_CMDLINES = 21,
	PCP_TRACEDAT_OPT_BUFFER_TEXT = 22,  /* a latency buffer */
};

/* v7 section ids: a section has the id of the option that locates it; options sections are 0. */
enum pcp_tracedat_section {
	PCP_TRACEDAT_SEC_OPTIONS = PCP_TRACEDAT_OPT_DONE,
	PCP_TRACEDAT_SEC_FLYRECORD = PCP_TRACEDAT_OPT_BUFFER,
	PCP_TRACEDAT_SEC_STRINGS = PCP_TRACEDAT_OPT_STRINGS,
	PCP_TRACEDAT_SEC_HEADER_INFO = PCP_TRACEDAT_OPT_HEADER_INFO,
	PCP_TRACEDAT_SEC_FTRACE_EVENTS = PCP_TRACEDAT_OPT_FTRACE_EVENTS,
	PCP_TRACEDAT_SEC_EVENT_FORMATS = PCP_TRACEDAT_OPT_EVENT_FORMATS,
	PCP_TRACEDAT_SEC_KALLSYMS = PCP_TRACEDAT_OPT_KALLSYMS,
	PCP_TRACEDAT_SEC_PRINTK = PCP_TRACEDAT_OPT_PRINTK,
	PCP_TRACEDAT_SEC_CMDLINES = PCP_TRACEDAT_OPT_CMDLINES,
};

/* v7 section header flags. */
#define PCP_TRACEDAT_SEC_FLAG_COMPRESSED 1u

#endif
