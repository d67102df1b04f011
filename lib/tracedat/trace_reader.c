/* Trace reader: checks a trace.dat's declared layout against the file, then merges the
 * records of all CPUs (of every buffer with data) in timestamp order.
 *
 * Why our own layout walk: libtracecmd 3.1.6 reads a truncated file without complaint
 * (trace-cmd report prints nothing), and mmap()ing a v6 CPU section past EOF would SIGBUS.
 * So before libtracecmd touches the file we walk the headers (man 5 trace-cmd.dat.v6 / v7)
 * and check that every declared section and per-CPU data block lies inside the file. The walk
 * also collects the CPU sections for the direct path.
 *
 * Two iteration paths, the same records (tests/test_fast_reader.c):
 * - direct (lib/tracedat/ringbuf_decode.c): kbuffer over the mapped or decompressed pages, no
 *   allocation per record; used whenever the file has nothing only libtracecmd reproduces
 *   (timestamp-shifting options, latency buffers, compressed options, partial pages).
 *   libtracecmd then only reads the headers (tracecmd_open_head): for a v7 compressed file it
 *   would otherwise decompress every CPU into a temporary file at open. It reads them from a
 *   copy without the kallsyms text, which is parsed at the first address lookup
 *   (kallsyms_lazy.c); the libtracecmd path parses the file itself, kallsyms included.
 * - libtracecmd: our merge over tracecmd_read_data() per CPU (one record read ahead per CPU;
 *   one malloc/free per record inside the library); a linear scan over the CPUs with data.
 *   Measured before the direct path (2,366,279 records, 2 CPUs): v6 0.23-0.26 s, v7 zstd
 *   0.51 s, about the bare tracecmd_iterate_events loop; bench/RESULTS.md has the direct path. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <trace-cmd/trace-cmd.h>
#include <zstd.h>
#include "tracedat/cpustat.h"
#include "common/error.h"
#include "common/io.h"
#include "tracedat/kallsyms_lazy.h"
#include "tracedat/ringbuf_decode.h"
#include "tracedat/trace_reader.h"
#include "tracedat/tracedat_format.h"
#include "tracedat/tracedat_probe.h"

#define MAX_SECTIONS 4096     /* guards a cyclic v7 options chain */
#define MAX_CPUS 65536
#define MAX_COUNT 1000000     /* event formats, systems: far above any real kernel */

/* Exported by libtracecmd 3.1.6 but declared only in its private header. */
bool tracecmd_compress_is_supported(const char *name, const char *version);

/* ---- layout check ---- */

/* One CPU's data as the layout walk found it, for the direct reader. */
struct cpu_sec {
	uint32_t rank;             /* 0: top buffer, 1 + i: instance i (libtracecmd's order) */
	uint32_t cpu;
	uint64_t offset, size;
	uint32_t page;             /* compressed: every chunk checked to hold whole pages of it */
};

/* A CPUSTAT option's values and the buffer it belongs to (see collect_cpustat). */
struct cpustat_opt {
	char owner[64];            /* buffer name as the file spells it, "" = top */
	int cpu;                   /* its "CPU: N" line, -1 if none */
	struct pcp_cpustat st;
};

/* What the direct reader needs beyond the public layout. */
struct walk {
	struct cpu_sec *secs;
	size_t nr, cap;
	struct pcp_trace_buffer *bufs;   /* every buffer in file order; bufs[i].rank below */
	uint32_t *buf_rank;
	size_t nr_bufs, cap_bufs;
	struct cpustat_opt *stats;
	size_t nr_stats, cap_stats;
	char stat_owner[64];       /* the buffer the next CPUSTAT belongs to */
	uint32_t page_size;        /* the file header's */
	uint32_t nr_instances;     /* named buffers seen so far */
	uint32_t rank;             /* of the buffer being walked */
	const char *no_direct;     /* why only libtracecmd reproduces this file, NULL if not */
	int no_libtracecmd;        /* compressed with an algorithm libtracecmd lacks */
	struct pcp_ksyms_loc ksyms;   /* where the kallsyms libtracecmd would parse is */
};

struct ck {
	int fd;
	struct stat id;            /* the file's identity, for verified_* */
	uint64_t size;
	int big_endian;
	uint32_t page_size;        /* the file header's */
	uint32_t buf_page;         /* of the buffer being walked (v7 buffer option) */
	char *errbuf;
	size_t errlen;
	struct pcp_tracedat_layout *lay;
	struct walk *w;            /* NULL: layout check only */
};

/* Checks that passed, remembered per thread inside a scope (pcp_tracedat_verified_scope): an
 * analysis walks the same file twice (the buffer choice, then the reader) and the expensive
 * parts of a walk, the compressed metadata sections (a pcprecord trace's 5 MB kallsyms
 * decompressed and scanned) and the chunk tables of compressed CPU data (a read of the whole
 * file), were 40-80 ms of a 1.6 s analysis. A part is skipped only for the same file unchanged
 * (device, inode, size, modification and change times) and the same byte range, and only
 * within one scope: file times can be as coarse as a clock tick, so a file rewritten in place
 * (a fuzzer's input) is never taken for the one checked by an earlier analysis. */
enum verified_part { VERIFIED_META, VERIFIED_CHUNKS };

struct verified {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim, ctim;
	int part;
	uint64_t off, len, aux;
};

#define NR_VERIFIED 16
static _Thread_local struct verified verified[NR_VERIFIED];
static _Thread_local unsigned nr_verified, next_verified;
static _Thread_local int verified_scope;

void pcp_tracedat_verified_scope(int on)
{
	verified_scope = on;
	nr_verified = next_verified = 0;
}

static int verified_same(const struct verified *v, const struct ck *c, int part, uint64_t off,
			 uint64_t len, uint64_t aux)
{
	return v->dev == c->id.st_dev && v->ino == c->id.st_ino && v->size == c->id.st_size &&
	       v->mtim.tv_sec == c->id.st_mtim.tv_sec && v->mtim.tv_nsec == c->id.st_mtim.tv_nsec &&
	       v->ctim.tv_sec == c->id.st_ctim.tv_sec && v->ctim.tv_nsec == c->id.st_ctim.tv_nsec &&
	       v->part == part && v->off == off && v->len == len && v->aux == aux;
}

static int was_verified(const struct ck *c, int part, uint64_t off, uint64_t len, uint64_t aux)
{
	if (!verified_scope)
		return 0;
	for (unsigned i = 0; i < nr_verified; i++)
		if (verified_same(&verified[i], c, part, off, len, aux))
			return 1;
	return 0;
}

static void mark_verified(const struct ck *c, int part, uint64_t off, uint64_t len, uint64_t aux)
{
	if (!verified_scope || was_verified(c, part, off, len, aux))
		return;
	verified[next_verified] = (struct verified){ .dev = c->id.st_dev, .ino = c->id.st_ino,
		.size = c->id.st_size, .mtim = c->id.st_mtim, .ctim = c->id.st_ctim, .part = part,
		.off = off, .len = len, .aux = aux };
	next_verified = (next_verified + 1) % NR_VERIFIED;
	if (nr_verified < NR_VERIFIED)
		nr_verified++;
}

/* Options after which libtracecmd shifts timestamps (DATE, OFFSET, TIME_SHIFT) or reads a
 * latency buffer (BUFFER_TEXT): the direct reader leaves those files to it. TSC2NSEC is
 * applied by the direct reader too (tsc2nsec_option). */
static void note_option(struct ck *c, uint64_t id)
{
	if (!c->w)
		return;
	if (id == PCP_TRACEDAT_OPT_DATE || id == PCP_TRACEDAT_OPT_OFFSET ||
	    id == PCP_TRACEDAT_OPT_TIME_SHIFT)
		c->w->no_direct = "its options shift or scale timestamps";
	else if (id == PCP_TRACEDAT_OPT_BUFFER_TEXT)
		c->w->no_direct = "it has a latency buffer";
}

static int fail(struct ck *c, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int rd_at(struct ck *c, uint64_t off, void *buf, size_t n, const char *what);

static int begin_buffer(struct ck *c, const char *name)
{
	struct walk *w = c->w;

	if (!w)
		return PCP_OK;
	w->rank = name[0] ? ++w->nr_instances : 0;
	if (w->nr_bufs == w->cap_bufs) {
		size_t cap = w->cap_bufs ? w->cap_bufs * 2 : 4;
		struct pcp_trace_buffer *b = realloc(w->bufs, cap * sizeof(*b));
		uint32_t *r = b ? realloc(w->buf_rank, cap * sizeof(*r)) : NULL;
		if (b)
			w->bufs = b;
		if (!r)
			return fail(c, PCP_ERR_NOMEM, "out of memory");
		w->buf_rank = r;
		w->cap_bufs = cap;
	}
	memset(&w->bufs[w->nr_bufs], 0, sizeof(w->bufs[0]));
	snprintf(w->bufs[w->nr_bufs].name, sizeof(w->bufs[0].name), "%s", name[0] ? name : PCP_TOP_BUFFER);
	w->bufs[w->nr_bufs].top = !name[0];
	w->buf_rank[w->nr_bufs++] = w->rank;
	return PCP_OK;
}

/* A CPUSTAT option: the text of one CPU's per_cpu/cpuN/stats, or trace-cmd's
 * "Buffer: NAME" line that says the CPUSTATs after it belong to instance NAME (trace-cmd
 * writes the top buffer's first, without a marker: tracecmd/trace-record.c add_buffer_stat). */
static int collect_cpustat(struct ck *c, uint64_t off, uint64_t size)
{
	struct walk *w = c->w;
	char text[4096], *p;
	size_t n = size < sizeof(text) - 1 ? (size_t)size : sizeof(text) - 1;
	int err;

	if (!w || !n)
		return PCP_OK;
	if ((err = rd_at(c, off, text, n, "CPU stats option")))
		return err;
	text[n] = '\0';
	for (p = text; *p == '\n' || *p == ' '; p++)
		;
	if (!strncmp(p, "Buffer: ", 8)) {
		p += 8;
		n = strcspn(p, "\n");
		snprintf(w->stat_owner, sizeof(w->stat_owner), "%.*s", (int)(n < 63 ? n : 63), p);
		return PCP_OK;
	}
	if (w->nr_stats == w->cap_stats) {
		size_t cap = w->cap_stats ? w->cap_stats * 2 : 8;
		struct cpustat_opt *s = realloc(w->stats, cap * sizeof(*s));
		if (!s)
			return fail(c, PCP_ERR_NOMEM, "out of memory");
		w->stats = s;
		w->cap_stats = cap;
	}
	memcpy(w->stats[w->nr_stats].owner, w->stat_owner, sizeof(w->stat_owner));
	w->stats[w->nr_stats].cpu = pcp_cpustat_parse(text, &w->stats[w->nr_stats].st);
	w->nr_stats++;
	return PCP_OK;
}

static int fail(struct ck *c, int err, const char *fmt, ...)
{
	va_list ap;

	if (c->errbuf && c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->errbuf, c->errlen, fmt, ap);
		va_end(ap);
	}
	return err;
}

static int rd_at(struct ck *c, uint64_t off, void *buf, size_t n, const char *what)
{
	int err;

	if (off > c->size || n > c->size - off)
		return fail(c, PCP_ERR_TRUNCATED, "file ends inside the %s (needs byte %llu, has %llu)",
			    what, (unsigned long long)(off + n), (unsigned long long)c->size);
	err = pcp_io_pread_all(c->fd, buf, n, off);
	if (err == PCP_ERR_IO)
		return fail(c, err, "read error: %s", strerror(errno));
	if (err == PCP_ERR_TRUNCATED)
		return fail(c, err, "file ends inside the %s", what);
	return err;
}

static uint64_t decode(const struct ck *c, const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[c->big_endian ? n - 1 - i : i] << (8 * i);
	return v;
}

static int rd_num(struct ck *c, uint64_t off, int n, uint64_t *v, const char *what)
{
	unsigned char b[8];
	int err = rd_at(c, off, b, (size_t)n, what);
	if (err)
		return err;
	*v = decode(c, b, n);
	return PCP_OK;
}

/* A NUL-terminated string at off, at most max-1 characters. *len excludes the NUL. */
static int rd_str(struct ck *c, uint64_t off, char *buf, size_t max, size_t *len, const char *what)
{
	size_t n = max;
	char *nul;
	int err;

	if (off >= c->size)
		return fail(c, PCP_ERR_TRUNCATED, "file ends before the %s", what);
	if (n > c->size - off)
		n = (size_t)(c->size - off);
	err = rd_at(c, off, buf, n, what);
	if (err)
		return err;
	nul = memchr(buf, 0, n);
	if (!nul) {
		if (n < max)
			return fail(c, PCP_ERR_TRUNCATED, "file ends inside the %s", what);
		return fail(c, PCP_ERR_CORRUPT, "the %s is not a terminated string", what);
	}
	*len = (size_t)(nul - buf);
	/* names, versions, clocks: printable in every real file, and they reach messages */
	for (size_t i = 0; i < *len; i++)
		if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] >= 0x7f)
			return fail(c, PCP_ERR_CORRUPT, "the %s is not printable text", what);
	return PCP_OK;
}

/* Skip a string of any length (event system names). */
static int skip_str(struct ck *c, uint64_t *off, const char *what)
{
	char buf[256];
	size_t len;
	int err = rd_str(c, *off, buf, sizeof(buf), &len, what);
	if (err)
		return err;
	*off += len + 1;
	return PCP_OK;
}

/* ---- text the libraries parse: checked first (libtraceevent 1.7.1 overflows its buffers on
 * a printk line without ' : "', crashes on damaged event format text) ---- */

enum text_kind { TEXT_FORMAT, TEXT_FIELDS, TEXT_PRINTK, TEXT_PLAIN, TEXT_ANY };

#define MAX_TEXT (64u << 20)   /* one format, kallsyms or printk blob */

/* A field line: "\tfield:TYPE NAME;\toffset:N;\tsize:N;..." */
static int field_line_ok(const char *l, size_t n)
{
	char line[512];
	const char *o, *z;
	unsigned long v;
	char *end;

	if (n >= sizeof(line))
		return 0;
	memcpy(line, l, n);
	line[n] = '\0';
	if (!(o = strstr(line, ";\toffset:")) || !(z = strstr(line, ";\tsize:")) || z < o)
		return 0;
	v = strtoul(o + 9, &end, 10);
	if (end == o + 9 || *end != ';' || v > 65535)
		return 0;
	v = strtoul(z + 7, &end, 10);
	return end != z + 7 && *end == ';' && v <= 65535;
}

/* 0 or the reason the text is refused. */
static const char *text_problem(const char *t, size_t n, enum text_kind kind)
{
	size_t i = 0, line_no = 0;
	int seen_fmt = 0;

	if (kind == TEXT_ANY)
		return NULL;
	/* one NUL at the end is tolerated (some writers terminate the text) */
	if (n && t[n - 1] == '\0')
		n--;
	for (size_t k = 0; k < n; k++) {
		unsigned char ch = (unsigned char)t[k];
		if (ch < 0x20 && ch != '\n' && ch != '\t')
			return "control characters";
		/* libtraceevent's format tokenizer crashes on bytes beyond ASCII; kernels write none */
		if (ch >= 0x7f && (kind == TEXT_FORMAT || kind == TEXT_FIELDS))
			return "bytes beyond ASCII";
	}
	if (kind == TEXT_PLAIN)
		return NULL;
	while (i < n) {
		const char *l = t + i, *nl = memchr(l, '\n', n - i);
		size_t len = nl ? (size_t)(nl - l) : n - i;

		i += len + 1;
		line_no++;
		if (kind == TEXT_PRINTK) {
			/* 0xADDR : "format" */
			const char *sep = len > 5 ? memmem(l, len, " : \"", 4) : NULL;
			if (!len)
				continue;
			if (len < 2 || l[0] != '0' || l[1] != 'x' || !sep || l[len - 1] != '"' ||
			    l + len - 1 == sep + 3)
				return "a line that is not '0xADDRESS : \"format\"'";
			continue;
		}
		if (len >= 6 && !memcmp(l, "\tfield", 6)) {
			if (!field_line_ok(l, len))
				return "a field line without offset and size";
			continue;
		}
		if (kind == TEXT_FIELDS)
			continue;
		if (line_no == 1 && (len < 7 || memcmp(l, "name: ", 6)))
			return "no 'name:' line first";
		if (line_no == 2 && (len < 5 || memcmp(l, "ID: ", 4) || strspn(l + 4, "0123456789") != len - 4))
			return "no 'ID:' line second";
		if (len >= 11 && !memcmp(l, "print fmt: ", 11)) {
			/* parentheses shallow: libtraceevent recurses on them (real kernels have print
			 * fmts with an unclosed quote: ext4) */
			int depth = 0, quoted = 0;
			for (size_t k = 11; k < len; k++) {
				if (quoted) {
					if (l[k] == '\\')
						k++;
					else if (l[k] == '"')
						quoted = 0;
				} else if (l[k] == '"') {
					quoted = 1;
				} else if (l[k] == '(') {
					if (++depth > 32)
						return "a print fmt nested too deep";
				} else if (l[k] == ')') {
					depth--;
				}
			}
			seen_fmt = 1;
		}
	}
	if (kind == TEXT_FORMAT && !seen_fmt)
		return "no 'print fmt:' line";
	return NULL;
}

static int check_text(struct ck *c, const char *t, size_t n, enum text_kind kind, const char *what)
{
	const char *why = text_problem(t, n, kind);

	if (why)
		return fail(c, PCP_ERR_CORRUPT, "damaged %s text (%s)", what, why);
	return PCP_OK;
}

/* The blob at off (length field n bytes, already checked to lie in the file) as text. */
static int check_blob_text(struct ck *c, uint64_t off, int n, uint64_t len, enum text_kind kind, const char *what)
{
	char *buf;
	int err;

	if (kind == TEXT_ANY || !len)
		return PCP_OK;
	if (len > MAX_TEXT)
		return fail(c, PCP_ERR_CORRUPT, "the %s is implausibly large", what);
	if (!(buf = malloc((size_t)len)))
		return fail(c, PCP_ERR_NOMEM, "out of memory");
	err = rd_at(c, off + (uint64_t)n, buf, (size_t)len, what);
	if (!err)
		err = check_text(c, buf, (size_t)len, kind, what);
	free(buf);
	return err;
}

/* In-memory walk of a v7 metadata section: a length-prefixed text blob at *p. */
static int mem_blob(struct ck *c, const char *b, size_t n, size_t *p, int lenw, enum text_kind kind,
		    const char *what)
{
	uint64_t len;

	if (n - *p < (size_t)lenw)
		return fail(c, PCP_ERR_CORRUPT, "damaged %s section", what);
	len = decode(c, (const unsigned char *)b + *p, lenw);
	*p += (size_t)lenw;
	if (len > n - *p)
		return fail(c, PCP_ERR_CORRUPT, "damaged %s section (a text runs past it)", what);
	if (check_text(c, b + *p, (size_t)len, kind, what))
		return PCP_ERR_CORRUPT;
	*p += (size_t)len;
	return PCP_OK;
}

static int mem_str(struct ck *c, const char *b, size_t n, size_t *p, const char *what)
{
	const char *nul = memchr(b + *p, 0, n - *p);

	if (!nul)
		return fail(c, PCP_ERR_CORRUPT, "damaged %s section", what);
	*p = (size_t)(nul - b) + 1;
	return PCP_OK;
}

static int mem_u32(struct ck *c, const char *b, size_t n, size_t *p, uint64_t *v, const char *what)
{
	if (n - *p < 4)
		return fail(c, PCP_ERR_CORRUPT, "damaged %s section", what);
	*v = decode(c, (const unsigned char *)b + *p, 4);
	*p += 4;
	return PCP_OK;
}

/* The text inside a v7 metadata section (header info .. command lines, libtracecmd's parse of each, see man 5
 * trace-cmd.dat.v7), decompressed first if it is compressed. */
static int v7_meta_text(struct ck *c, uint64_t id, uint64_t off, uint64_t size, uint64_t flags)
{
	static const char *const names[] = { "header info", "ftrace formats", "event formats", "kallsyms",
					     "printk formats", "command lines" };
	const char *what = names[id - PCP_TRACEDAT_SEC_HEADER_INFO];
	char *raw = NULL, *b = NULL;
	size_t n = 0, p = 0;
	uint64_t cnt = 0, m = 0;   /* set by mem_u32 before use; gcc -O3 cannot see it */
	int err = PCP_OK;

	if (id == PCP_TRACEDAT_SEC_CMDLINES)
		return PCP_OK;   /* command lines: any bytes (comm names) */
	if (was_verified(c, VERIFIED_META, off, size, id << 8 | flags))
		return PCP_OK;
	if (size > 4 * (uint64_t)MAX_TEXT)
		return fail(c, PCP_ERR_CORRUPT, "the %s section is implausibly large", what);
	if (flags & PCP_TRACEDAT_SEC_FLAG_COMPRESSED) {
		uint64_t csize, usize;
		if (strcmp(c->lay->compression, "zstd"))
			return PCP_OK;   /* libtracecmd cannot read it: refused before it is asked */
		if (size < 8 || (err = rd_num(c, off, 4, &csize, what)) || (err = rd_num(c, off + 4, 4, &usize, what)))
			return err ? err : fail(c, PCP_ERR_CORRUPT, "damaged compressed %s section", what);
		if (csize > size - 8 || usize > 4 * (uint64_t)MAX_TEXT)
			return fail(c, PCP_ERR_CORRUPT, "damaged compressed %s section", what);
		if (!(raw = malloc(csize ? (size_t)csize : 1)) || !(b = malloc(usize ? (size_t)usize : 1))) {
			err = fail(c, PCP_ERR_NOMEM, "out of memory");
			goto out;
		}
		if ((err = rd_at(c, off + 8, raw, (size_t)csize, what)))
			goto out;
		n = ZSTD_decompress(b, (size_t)usize, raw, (size_t)csize);
		if (ZSTD_isError(n) || n != usize) {
			err = fail(c, PCP_ERR_CORRUPT, "the compressed %s section does not decompress", what);
			goto out;
		}
	} else {
		if (!(b = malloc(size ? (size_t)size : 1))) {
			err = fail(c, PCP_ERR_NOMEM, "out of memory");
			goto out;
		}
		if ((err = rd_at(c, off, b, (size_t)size, what)))
			goto out;
		n = (size_t)size;
	}
	switch (id) {
	case PCP_TRACEDAT_SEC_HEADER_INFO:   /* "header_page\0" size text "header_event\0" size text */
		if (n < sizeof(PCP_TRACEDAT_TAG_HEADER_PAGE) ||
		    memcmp(b, PCP_TRACEDAT_TAG_HEADER_PAGE, sizeof(PCP_TRACEDAT_TAG_HEADER_PAGE))) {
			err = fail(c, PCP_ERR_CORRUPT, "damaged header info section");
			break;
		}
		p = sizeof(PCP_TRACEDAT_TAG_HEADER_PAGE);
		err = mem_blob(c, b, n, &p, 8, TEXT_FIELDS, "header page");
		break;
	case PCP_TRACEDAT_SEC_FTRACE_EVENTS:
		if ((err = mem_u32(c, b, n, &p, &cnt, what)))
			break;
		for (uint64_t i = 0; i < cnt && !err; i++)
			err = mem_blob(c, b, n, &p, 8, TEXT_FORMAT, "ftrace event format");
		break;
	case PCP_TRACEDAT_SEC_EVENT_FORMATS:
		if ((err = mem_u32(c, b, n, &p, &cnt, what)))
			break;
		for (uint64_t i = 0; i < cnt && !err; i++) {
			if ((err = mem_str(c, b, n, &p, what)) || (err = mem_u32(c, b, n, &p, &m, what)))
				break;
			for (uint64_t j = 0; j < m && !err; j++)
				err = mem_blob(c, b, n, &p, 8, TEXT_FORMAT, "event format");
		}
		break;
	case PCP_TRACEDAT_SEC_KALLSYMS:
		err = mem_blob(c, b, n, &p, 4, TEXT_PLAIN, what);
		break;
	case PCP_TRACEDAT_SEC_PRINTK:
		err = mem_blob(c, b, n, &p, 4, TEXT_PRINTK, what);
		break;
	}
	if (!err)
		mark_verified(c, VERIFIED_META, off, size, id << 8 | flags);
out:
	free(raw);
	free(b);
	return err;
}

/* off += size of a blob whose length field is n bytes; the blob must lie in the file. */
static int text_blob(struct ck *c, uint64_t *off, int n, enum text_kind kind, const char *what)
{
	uint64_t len;
	int err = rd_num(c, *off, n, &len, what);
	if (err)
		return err;
	if (len <= c->size && len <= c->size - *off - (uint64_t)n &&
	    (err = check_blob_text(c, *off, n, len, kind, what)))
		return err;
	*off += (uint64_t)n;
	if (len > (1ULL << 40))
		return fail(c, PCP_ERR_CORRUPT, "the %s declares an implausible size", what);
	if (len > c->size - *off)
		return fail(c, PCP_ERR_TRUNCATED, "file ends inside the %s (declared %llu bytes at %llu, file has %llu)",
			    what, (unsigned long long)len, (unsigned long long)*off, (unsigned long long)c->size);
	*off += len;
	return PCP_OK;
}

static int skip_blob(struct ck *c, uint64_t *off, int n, const char *what)
{
	return text_blob(c, off, n, TEXT_ANY, what);
}

/* A chunk header's two sizes at p, through a read-ahead buffer of CHUNK_RA bytes (recorded
 * chunks are a few KB: two 4-byte preads per chunk were thousands of syscalls per check); a
 * header the buffer cannot hold whole (the file's end) is read as before, for its message. */
#define CHUNK_RA (256u << 10)

struct chunk_ra {
	unsigned char *buf;
	uint64_t off;
	size_t len;
};

static int rd_chunk_header(struct ck *c, struct chunk_ra *ra, uint64_t p, uint64_t *csize, uint64_t *usize)
{
	int err;

	if (p > c->size || c->size - p < 8)
		return (err = rd_num(c, p, 4, csize, "compressed CPU data")) ? err
			: rd_num(c, p + 4, 4, usize, "compressed CPU data");
	if (p < ra->off || p - ra->off + 8 > ra->len) {
		size_t n = c->size - p < CHUNK_RA ? (size_t)(c->size - p) : CHUNK_RA;

		if (!ra->buf && !(ra->buf = malloc(CHUNK_RA)))
			return fail(c, PCP_ERR_NOMEM, "out of memory");
		ra->len = 0;
		if ((err = rd_at(c, p, ra->buf, n, "compressed CPU data")))
			return err;
		ra->off = p;
		ra->len = n;
	}
	*csize = decode(c, ra->buf + (p - ra->off), 4);
	*usize = decode(c, ra->buf + (p - ra->off) + 4, 4);
	return PCP_OK;
}

static int check_cpu_data(struct ck *c, const char *buffer, uint64_t cpu, uint64_t off, uint64_t size)
{
	struct pcp_tracedat_layout *l = c->lay;

	if (cpu >= MAX_CPUS)
		return fail(c, PCP_ERR_CORRUPT, "CPU id %llu in buffer '%s' is out of range",
			    (unsigned long long)cpu, buffer);
	if (size && (off > c->size || size > c->size - off))
		return fail(c, PCP_ERR_TRUNCATED,
			    "CPU %llu data of buffer '%s' is declared at bytes %llu..%llu, the file has %llu",
			    (unsigned long long)cpu, buffer, (unsigned long long)off,
			    (unsigned long long)(off + size), (unsigned long long)c->size);
	/* libtracecmd 3.1.6 loops forever in tracecmd_peek_data() on a partial last page and
	 * prints "mmap: Invalid argument" for an offset that is not page aligned; trace-cmd only
	 * writes whole, aligned pages. */
	if (size && (!l->compression[0] || !strcmp(l->compression, "none")) &&
	    (off % c->buf_page || size % c->buf_page))
		return fail(c, PCP_ERR_CORRUPT, "CPU %llu data of buffer '%s' is not whole %u-byte pages (bytes %llu..%llu)",
			    (unsigned long long)cpu, buffer, c->buf_page, (unsigned long long)off,
			    (unsigned long long)(off + size));
	if (size && l->file_version == 7 && l->compression[0] && strcmp(l->compression, "none")) {
		/* Compressed CPU data: a chunk table (count, then size/uncompressed size + data per
		 * chunk). libtracecmd 3.1.6 crashes (tracecmd_close on a half-built handle) when it
		 * cannot load this table, so it must be whole before libtracecmd sees it. */
		/* the declared size counts the chunks, not the 4-byte count before them */
		uint64_t count, p = off + 4, end = off + 4 + size;
		struct chunk_ra ra = { 0 };
		int err;

		if (was_verified(c, VERIFIED_CHUNKS, off, size, c->buf_page))
			goto checked;
		if ((err = rd_num(c, off, 4, &count, "compressed CPU data")))
			return err;
		if (count > size / 8)
			return fail(c, PCP_ERR_CORRUPT, "CPU %llu data of buffer '%s': damaged chunk table",
				    (unsigned long long)cpu, buffer);
		for (uint64_t i = 0; i < count; i++) {
			uint64_t csize = 0, usize = 0;
			if (p + 8 > end || (err = rd_chunk_header(c, &ra, p, &csize, &usize)) ||
			    csize > end - p - 8 || usize == 0 || usize > (1u << 30) || usize % c->buf_page) {
				free(ra.buf);
				/* a chunk running past the file is a cut, anywhere else damage */
				return err ? err : fail(c, p + 8 + csize > c->size ? PCP_ERR_TRUNCATED : PCP_ERR_CORRUPT,
							"CPU %llu data of buffer '%s': damaged or cut chunk %llu",
							(unsigned long long)cpu, buffer, (unsigned long long)i);
			}
			p += 8 + csize;
		}
		free(ra.buf);
		mark_verified(c, VERIFIED_CHUNKS, off, size, c->buf_page);
	}
checked:
	if (c->w && size) {
		struct walk *w = c->w;
		if (w->nr == w->cap) {
			size_t cap = w->cap ? w->cap * 2 : 16;
			struct cpu_sec *n = realloc(w->secs, cap * sizeof(*n));
			if (!n)
				return fail(c, PCP_ERR_NOMEM, "out of memory");
			w->secs = n;
			w->cap = cap;
		}
		w->secs[w->nr++] = (struct cpu_sec){ .rank = w->rank, .cpu = (uint32_t)cpu, .offset = off,
						      .size = size, .page = c->buf_page };
	}
	if (c->w && c->w->nr_bufs) {
		struct pcp_trace_buffer *b = &c->w->bufs[c->w->nr_bufs - 1];
		if (cpu + 1 > b->nr_cpus)
			b->nr_cpus = (uint32_t)(cpu + 1);
		if (size) {
			b->nr_cpu_sections++;
			b->data_bytes += size;
		}
	}
	if (cpu + 1 > l->nr_cpus)
		l->nr_cpus = (uint32_t)(cpu + 1);
	l->nr_cpu_sections++;
	l->data_bytes += size;
	return PCP_OK;
}

/* TSC2NSEC: u32 multiplier, u32 shift, u64 offset in the file's byte order. libtracecmd
 * ignores one shorter than 16 bytes and applies (ts * mult) >> shift; a shift above 32 would be
 * undefined behaviour in its conversion, so such a file is refused before it gets there. */
static int tsc2nsec_option(struct ck *c, uint64_t off, uint64_t size)
{
	uint64_t mult, shift, offset;
	int err;

	if (size < 16)
		return PCP_OK;
	if ((err = rd_num(c, off, 4, &mult, "TSC2NSEC option")) ||
	    (err = rd_num(c, off + 4, 4, &shift, "TSC2NSEC option")) ||
	    (err = rd_num(c, off + 8, 8, &offset, "TSC2NSEC option")))
		return err;
	if (mult && shift > 32)
		return fail(c, PCP_ERR_CORRUPT, "TSC2NSEC option with shift %llu (at most 32)",
			    (unsigned long long)shift);
	c->lay->tsc2nsec_mult = (uint32_t)mult;
	c->lay->tsc2nsec_shift = (uint32_t)shift;
	c->lay->tsc2nsec_offset = offset;
	return PCP_OK;
}

static void set_clock(struct ck *c, const char *text, size_t len)
{
	/* TRACECLOCK holds the trace_clock file: "[local] global ..."; keep the selected one. */
	const char *lb = memchr(text, '[', len), *rb;
	size_t n;

	if (lb && (rb = memchr(lb, ']', len - (size_t)(lb - text)))) {
		text = lb + 1;
		len = (size_t)(rb - lb - 1);
	}
	while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
		len--;
	n = len < sizeof(c->lay->trace_clock) - 1 ? len : sizeof(c->lay->trace_clock) - 1;
	memcpy(c->lay->trace_clock, text, n);
	c->lay->trace_clock[n] = '\0';
	/* it reaches the report, the JSON (UTF-8 only) and the database as is */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)c->lay->trace_clock[i] < 0x20 || (unsigned char)c->lay->trace_clock[i] >= 0x7f)
			c->lay->trace_clock[i] = '?';
}

/* v6 flyrecord block: "flyrecord\0" then per CPU (offset, size). */
static int v6_flyrecord(struct ck *c, uint64_t off, uint32_t cpus, const char *buffer, int tag_read)
{
	char tag[sizeof(PCP_TRACEDAT_TAG_FLYRECORD)];
	int err;

	if (!tag_read) {
		err = rd_at(c, off, tag, sizeof(tag), "buffer header");
		if (err)
			return err;
		if (!memcmp(tag, PCP_TRACEDAT_TAG_LATENCY, sizeof(tag))) {
			if (c->w)
				c->w->no_direct = "it has a latency buffer";
			return PCP_OK;
		}
		if (memcmp(tag, PCP_TRACEDAT_TAG_FLYRECORD, sizeof(tag)))
			return fail(c, PCP_ERR_CORRUPT, "buffer '%s' has no flyrecord header", buffer);
		off += sizeof(tag);
	}
	c->lay->nr_buffers++;
	if ((err = begin_buffer(c, buffer)))
		return err;
	c->buf_page = c->page_size;
	for (uint32_t cpu = 0; cpu < cpus; cpu++) {
		uint64_t doff, dsize;
		if ((err = rd_num(c, off, 8, &doff, "CPU data table")) ||
		    (err = rd_num(c, off + 8, 8, &dsize, "CPU data table")))
			return err;
		off += 16;
		if ((err = check_cpu_data(c, buffer, cpu, doff, dsize)))
			return err;
	}
	return PCP_OK;
}

/* v6 header blocks up to the CPU count: header page and event, ftrace and event formats,
 * kallsyms, printk formats, saved command lines. *off moves past them. */
static int v6_headers(struct ck *c, uint64_t *off, uint64_t *cpus)
{
	char tag[sizeof(PCP_TRACEDAT_TAG_HEADER_EVENT)];
	uint64_t n, m;
	int err;

	if ((err = rd_at(c, *off, tag, sizeof(PCP_TRACEDAT_TAG_HEADER_PAGE), "header page")))
		return err;
	if (memcmp(tag, PCP_TRACEDAT_TAG_HEADER_PAGE, sizeof(PCP_TRACEDAT_TAG_HEADER_PAGE)))
		return fail(c, PCP_ERR_CORRUPT, "missing header_page");
	*off += sizeof(PCP_TRACEDAT_TAG_HEADER_PAGE);
	if ((err = text_blob(c, off, 8, TEXT_FIELDS, "header page")))
		return err;
	if ((err = rd_at(c, *off, tag, sizeof(PCP_TRACEDAT_TAG_HEADER_EVENT), "header event")))
		return err;
	if (memcmp(tag, PCP_TRACEDAT_TAG_HEADER_EVENT, sizeof(PCP_TRACEDAT_TAG_HEADER_EVENT)))
		return fail(c, PCP_ERR_CORRUPT, "missing header_event");
	*off += sizeof(PCP_TRACEDAT_TAG_HEADER_EVENT);
	if ((err = skip_blob(c, off, 8, "header event")))
		return err;
	if ((err = rd_num(c, *off, 4, &n, "ftrace event formats")))
		return err;
	*off += 4;
	if (n > MAX_COUNT)
		return fail(c, PCP_ERR_CORRUPT, "implausible ftrace format count %llu", (unsigned long long)n);
	for (uint64_t i = 0; i < n; i++)
		if ((err = text_blob(c, off, 8, TEXT_FORMAT, "ftrace event format")))
			return err;
	if ((err = rd_num(c, *off, 4, &n, "event formats")))
		return err;
	*off += 4;
	if (n > MAX_COUNT)
		return fail(c, PCP_ERR_CORRUPT, "implausible event system count %llu", (unsigned long long)n);
	for (uint64_t i = 0; i < n; i++) {
		if ((err = skip_str(c, off, "event formats")) ||
		    (err = rd_num(c, *off, 4, &m, "event formats")))
			return err;
		*off += 4;
		if (m > MAX_COUNT)
			return fail(c, PCP_ERR_CORRUPT, "implausible event count %llu", (unsigned long long)m);
		for (uint64_t j = 0; j < m; j++)
			if ((err = text_blob(c, off, 8, TEXT_FORMAT, "event format")))
				return err;
	}
	if (c->w)
		c->w->ksyms = (struct pcp_ksyms_loc){ .where = PCP_KSYMS_PLAIN, .off = *off,
						      .big_endian = c->big_endian };
	if ((err = text_blob(c, off, 4, TEXT_PLAIN, "kallsyms")) ||
	    (err = text_blob(c, off, 4, TEXT_PRINTK, "printk formats")) ||
	    (err = skip_blob(c, off, 8, "saved command lines")) ||
	    (err = rd_num(c, *off, 4, cpus, "CPU count")))
		return err;
	*off += 4;
	if (*cpus > MAX_CPUS)
		return fail(c, PCP_ERR_CORRUPT, "implausible CPU count %llu", (unsigned long long)*cpus);
	return PCP_OK;
}

/* The instances a v6 file's BUFFER options name: where each one's flyrecord block is. */
struct v6_buffers {
	uint64_t offsets[256];
	char names[256][64];       /* for messages only */
	unsigned nr;
};

/* The v6 options block (after its tag) up to DONE; *off moves past it. */
static int v6_options(struct ck *c, uint64_t *off, struct v6_buffers *bufs)
{
	char name[256];
	uint64_t id, size, v;
	int err;

	for (;;) {
		if ((err = rd_num(c, *off, 2, &id, "options")))
			return err;
		*off += 2;
		if (id == PCP_TRACEDAT_OPT_DONE)
			return PCP_OK;
		if ((err = rd_num(c, *off, 4, &size, "options")))
			return err;
		*off += 4;
		if (size > c->size - *off)
			return fail(c, PCP_ERR_TRUNCATED, "file ends inside the options");
		note_option(c, id);
		if (id == PCP_TRACEDAT_OPT_BUFFER && size >= 9 && bufs->nr < 256) {   /* offset, name */
			size_t len;
			if ((err = rd_num(c, *off, 8, &bufs->offsets[bufs->nr], "buffer option")) ||
			    (err = rd_str(c, *off + 8, name, sizeof(name), &len, "buffer name")))
				return err;
			snprintf(bufs->names[bufs->nr], sizeof(bufs->names[0]), "%.63s", name);
			bufs->nr++;
		} else if (id == PCP_TRACEDAT_OPT_CPUSTAT) {
			if ((err = collect_cpustat(c, *off, size)))
				return err;
		} else if (id == PCP_TRACEDAT_OPT_TRACECLOCK && size > 0 && size < sizeof(name)) {
			if ((err = rd_at(c, *off, name, size, "trace clock option")))
				return err;
			set_clock(c, name, strnlen(name, size));
		} else if (id == PCP_TRACEDAT_OPT_TSC2NSEC && (err = tsc2nsec_option(c, *off, size))) {
			return err;
		} else if (id == PCP_TRACEDAT_OPT_CPUCOUNT && size == 4) {
			if ((err = rd_num(c, *off, 4, &v, "CPU count option")))
				return err;
			if (v > MAX_CPUS)
				return fail(c, PCP_ERR_CORRUPT, "implausible CPU count %llu", (unsigned long long)v);
			if (v > c->lay->nr_cpus)
				c->lay->nr_cpus = (uint32_t)v;
		}
		*off += size;
	}
}

/* Version 6: headers, the optional options block, then the top buffer's flyrecord (or latency)
 * block and the blocks of the instances the options named. */
static int check_v6(struct ck *c, uint64_t off)
{
	char tag[sizeof(PCP_TRACEDAT_TAG_OPTIONS)];
	struct v6_buffers bufs;
	uint64_t cpus;
	int err;

	bufs.nr = 0;
	if ((err = v6_headers(c, &off, &cpus)))
		return err;
	c->lay->nr_cpus = (uint32_t)cpus;
	if ((err = rd_at(c, off, tag, sizeof(PCP_TRACEDAT_TAG_OPTIONS), "options header")))
		return err;
	off += sizeof(PCP_TRACEDAT_TAG_OPTIONS);
	if (!memcmp(tag, PCP_TRACEDAT_TAG_OPTIONS, sizeof(PCP_TRACEDAT_TAG_OPTIONS))) {
		if ((err = v6_options(c, &off, &bufs)))
			return err;
		if ((err = rd_at(c, off, tag, sizeof(PCP_TRACEDAT_TAG_FLYRECORD), "data header")))
			return err;
		off += sizeof(PCP_TRACEDAT_TAG_FLYRECORD);
	}
	if (!memcmp(tag, PCP_TRACEDAT_TAG_FLYRECORD, sizeof(PCP_TRACEDAT_TAG_FLYRECORD))) {
		if ((err = v6_flyrecord(c, off, (uint32_t)cpus, "", 1)))
			return err;
	} else if (memcmp(tag, PCP_TRACEDAT_TAG_LATENCY, sizeof(PCP_TRACEDAT_TAG_LATENCY))) {
		return fail(c, PCP_ERR_CORRUPT, "unknown data section type");
	} else if (c->w) {
		c->w->no_direct = "it is a latency trace";
	}
	for (unsigned i = 0; i < bufs.nr; i++)
		if ((err = v6_flyrecord(c, bufs.offsets[i], (uint32_t)cpus, bufs.names[i], 0)))
			return err;
	return PCP_OK;
}

/* A v7 section header (id, flags, string id, size) at off; the section must lie in the file. */
static int v7_section(struct ck *c, uint64_t off, const char *what, uint64_t *id, uint64_t *flags, uint64_t *size)
{
	unsigned char h[16];
	int err = rd_at(c, off, h, sizeof(h), what);
	if (err)
		return err;
	*id = decode(c, h, 2);
	*flags = decode(c, h + 2, 2);
	*size = decode(c, h + 8, 8);
	if (*size > (1ULL << 40))
		return fail(c, PCP_ERR_CORRUPT, "the %s at %llu declares an implausible size", what,
			    (unsigned long long)off);
	if (*size > c->size - off - 16)
		return fail(c, PCP_ERR_TRUNCATED, "file ends inside the %s (declared %llu bytes at %llu, file has %llu)",
			    what, (unsigned long long)*size, (unsigned long long)(off + 16),
			    (unsigned long long)c->size);
	return PCP_OK;
}

static int v7_buffer_option(struct ck *c, uint64_t off, uint64_t size)
{
	uint64_t end = off + size, boff, id, flags, ssize, cnt, v;
	char name[64], clock[64];
	size_t len;
	int err;

	if (size < 8 + 2 + 8)
		return fail(c, PCP_ERR_CORRUPT, "buffer option too short");
	if ((err = rd_num(c, off, 8, &boff, "buffer option")))
		return err;
	off += 8;
	if ((err = rd_str(c, off, name, sizeof(name), &len, "buffer name")))
		return err;
	off += len + 1;
	if ((err = rd_str(c, off, clock, sizeof(clock), &len, "buffer clock")))
		return err;
	off += len + 1;
	if (!c->lay->trace_clock[0] || !c->lay->nr_cpu_sections)
		set_clock(c, clock, len);
	if (off + 8 > end)
		return fail(c, PCP_ERR_CORRUPT, "buffer option too short");
	if ((err = rd_num(c, off + 4, 4, &cnt, "buffer option")))
		return err;
	if (c->w) {
		uint64_t bpage;
		if ((err = rd_num(c, off, 4, &bpage, "buffer option")))
			return err;
		if (bpage != c->w->page_size)
			c->w->no_direct = "a buffer's page size differs from the file's";
	}
	if ((err = rd_num(c, off, 4, &v, "buffer option")))
		return err;
	if (v < 4096 || v > (1u << 24) || (v & (v - 1)))
		return fail(c, PCP_ERR_CORRUPT, "buffer '%s' declares an implausible page size %llu", name,
			    (unsigned long long)v);
	c->buf_page = (uint32_t)v;
	off += 8;
	if (cnt > MAX_CPUS || off + cnt * 20 > end)
		return fail(c, PCP_ERR_CORRUPT, "buffer '%s' declares %llu CPUs in a %llu-byte option",
			    name, (unsigned long long)cnt, (unsigned long long)size);
	if ((err = v7_section(c, boff, "flyrecord section", &id, &flags, &ssize)))
		return err;
	c->lay->nr_buffers++;
	if ((err = begin_buffer(c, name)))
		return err;
	for (uint64_t i = 0; i < cnt; i++, off += 20) {
		uint64_t cpu, doff, dsize;
		if ((err = rd_num(c, off, 4, &cpu, "buffer option")) ||
		    (err = rd_num(c, off + 4, 8, &doff, "buffer option")) ||
		    (err = rd_num(c, off + 12, 8, &dsize, "buffer option")) ||
		    (err = check_cpu_data(c, name, cpu, doff, dsize)))
			return err;
	}
	return PCP_OK;
}

/* The options of one uncompressed v7 options section, bytes p..end; *next gets its DONE
 * option's offset of the next options section (0: none, also when DONE is missing). */
static int v7_options(struct ck *c, uint64_t p, uint64_t end, uint64_t *next)
{
	uint64_t v;
	int err;

	while (p < end) {
		uint64_t oid, osize;
		if (end - p < 6)
			return fail(c, PCP_ERR_CORRUPT, "options section ends inside an option");
		if ((err = rd_num(c, p, 2, &oid, "options")) || (err = rd_num(c, p + 2, 4, &osize, "options")))
			return err;
		p += 6;
		if (osize > end - p)
			return fail(c, PCP_ERR_CORRUPT, "option %llu overruns its section", (unsigned long long)oid);
		note_option(c, oid);
		if (oid == PCP_TRACEDAT_OPT_DONE) {   /* offset of the next options section */
			if (osize < 8)
				return fail(c, PCP_ERR_CORRUPT, "short DONE option");
			return rd_num(c, p, 8, next, "options");
		} else if (oid == PCP_TRACEDAT_OPT_BUFFER) {
			if ((err = v7_buffer_option(c, p, osize)))
				return err;
		} else if (oid == PCP_TRACEDAT_OPT_CPUSTAT) {
			if ((err = collect_cpustat(c, p, osize)))
				return err;
		} else if (oid == PCP_TRACEDAT_OPT_TRACECLOCK && osize > 0 && osize < 128) {
			char text[128];
			if ((err = rd_at(c, p, text, osize, "trace clock option")))
				return err;
			if (!c->lay->trace_clock[0])
				set_clock(c, text, strnlen(text, osize));
		} else if (oid == PCP_TRACEDAT_OPT_TSC2NSEC && (err = tsc2nsec_option(c, p, osize))) {
			return err;
		} else if (oid == PCP_TRACEDAT_OPT_CPUCOUNT && osize == 4) {
			if ((err = rd_num(c, p, 4, &v, "CPU count option")))
				return err;
			if (v > MAX_CPUS)
				return fail(c, PCP_ERR_CORRUPT, "implausible CPU count %llu", (unsigned long long)v);
			if (v > c->lay->nr_cpus)
				c->lay->nr_cpus = (uint32_t)v;
		} else if (oid >= PCP_TRACEDAT_OPT_HEADER_INFO && oid <= PCP_TRACEDAT_OPT_CMDLINES &&
			   osize == 8) {   /* offsets of the metadata sections */
			uint64_t soff, sid, sflags, ssize;
			if ((err = rd_num(c, p, 8, &soff, "options")) ||
			    (err = v7_section(c, soff, "metadata section", &sid, &sflags, &ssize)))
				return err;
			if (sid != oid)
				return fail(c, PCP_ERR_CORRUPT, "section at %llu has id %llu, expected %llu",
					    (unsigned long long)soff, (unsigned long long)sid,
					    (unsigned long long)oid);
			if ((err = v7_meta_text(c, sid, soff + 16, ssize, sflags)))
				return err;
			/* libtracecmd reads the last section an id names */
			if (sid == PCP_TRACEDAT_SEC_KALLSYMS && c->w)
				c->w->ksyms = (struct pcp_ksyms_loc){
					.where = !(sflags & PCP_TRACEDAT_SEC_FLAG_COMPRESSED) ? PCP_KSYMS_PLAIN :
						 !strcmp(c->lay->compression, "zstd") ? PCP_KSYMS_ZSTD :
											 PCP_KSYMS_UNSUPPORTED,
					.off = soff + 16, .size = ssize, .section = soff,
					.big_endian = c->big_endian };
		}
		p += osize;
	}
	return PCP_OK;
}

static int check_v7(struct ck *c, uint64_t off)
{
	char name[32], ver[32];
	size_t len;
	uint64_t next;
	int err;

	if ((err = rd_str(c, off, name, sizeof(name), &len, "compression header")))
		return err;
	off += len + 1;
	if ((err = rd_str(c, off, ver, sizeof(ver), &len, "compression header")))
		return err;
	off += len + 1;
	snprintf(c->lay->compression, sizeof(c->lay->compression), "%s", name);
	if (c->w && name[0] && strcmp(name, "none") && !tracecmd_compress_is_supported(name, ver))
		c->w->no_libtracecmd = 1;
	if ((err = rd_num(c, off, 8, &next, "options offset")))
		return err;
	if (!next)
		return fail(c, PCP_ERR_CORRUPT, "no options section");
	uint64_t options_seen[MAX_SECTIONS];
	for (int n = 0; next; n++) {
		uint64_t id, flags, size, p, end;

		/* A chain that comes back to a section it passed is a loop: said at the first
		 * repeat, not after MAX_SECTIONS walks of its options (2 s on a 17 KB file). */
		for (int k = 0; k < n && n < MAX_SECTIONS; k++)
			if (options_seen[k] == next)
				return fail(c, PCP_ERR_CORRUPT, "options sections form a loop");
		if (n >= MAX_SECTIONS)
			return fail(c, PCP_ERR_CORRUPT, "options sections form a loop");
		options_seen[n] = next;
		if ((err = v7_section(c, next, "options section", &id, &flags, &size)))
			return err;
		if (id != PCP_TRACEDAT_SEC_OPTIONS)
			return fail(c, PCP_ERR_CORRUPT, "section at %llu is not an options section",
				    (unsigned long long)next);
		if (flags & PCP_TRACEDAT_SEC_FLAG_COMPRESSED) {   /* libtracecmd will check the rest */
			c->lay->options_compressed = 1;
			if (c->w)
				c->w->no_direct = "its options are compressed";
			break;
		}
		p = next + 16;
		end = p + size;
		next = 0;
		/* trace-cmd writes a STRINGS section right after an options section; it is
		 * not referenced by any option, so check it here (a cut at the file's end lands in it). */
		if (end < c->size) {
			uint64_t sid, sflags, ssize;
			if ((err = rd_num(c, end, 2, &sid, "strings section")))
				return err;
			if (sid == PCP_TRACEDAT_SEC_STRINGS && (err = v7_section(c, end, "strings section", &sid, &sflags, &ssize)))
				return err;
		}
		if ((err = v7_options(c, p, end, &next)))
			return err;
	}
	return PCP_OK;
}

static int check_file(const char *path, struct pcp_tracedat_layout *out, struct walk *w,
		      char *errbuf, size_t errlen)
{
	struct pcp_tracedat_layout lay;
	struct ck c = { .fd = -1, .errbuf = errbuf, .errlen = errlen, .lay = &lay, .w = w };
	unsigned char head[PCP_TRACEDAT_MAGIC_LEN], b[2];
	char ver[16];
	size_t len;
	uint64_t page_size;
	struct stat st;
	int err;

	memset(&lay, 0, sizeof(lay));
	if (errbuf && errlen)
		errbuf[0] = '\0';
	/* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below. */
	c.fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (c.fd < 0)
		return fail(&c, PCP_ERR_NOFILE, "cannot open: %s", strerror(errno));
	if (fstat(c.fd, &st) < 0) {
		err = fail(&c, PCP_ERR_IO, "cannot stat: %s", strerror(errno));
		goto out;
	}
	c.id = st;
	if (S_ISDIR(st.st_mode)) {
		err = fail(&c, PCP_ERR_NOFILE, "is a directory");
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {   /* FIFO, device, socket: may block or never end */
		err = fail(&c, PCP_ERR_NOFILE, "not a regular file");
		goto out;
	}
	c.size = (uint64_t)st.st_size;
	lay.file_size = c.size;
	if (c.size == 0) {
		err = fail(&c, PCP_ERR_EMPTY, "file is empty");
		goto out;
	}
	len = c.size < sizeof(head) ? (size_t)c.size : sizeof(head);
	if ((err = rd_at(&c, 0, head, len, "file header")))
		goto out;
	if (memcmp(head, PCP_TRACEDAT_MAGIC, len)) {
		err = fail(&c, PCP_ERR_NOT_TRACE, "not a trace.dat file (bad magic)");
		goto out;
	}
	if (len < sizeof(head)) {
		err = fail(&c, PCP_ERR_TRUNCATED, "file ends inside the file header");
		goto out;
	}
	if ((err = rd_str(&c, PCP_TRACEDAT_MAGIC_LEN, ver, sizeof(ver), &len, "version string")))
		goto out;
	lay.file_version = atoi(ver);
	if (lay.file_version != 6 && lay.file_version != 7) {
		err = fail(&c, PCP_ERR_CORRUPT, "unsupported trace.dat version '%s'", ver);
		goto out;
	}
	uint64_t off = PCP_TRACEDAT_MAGIC_LEN + len + 1;
	if ((err = rd_at(&c, off, b, 2, "file header")))
		goto out;
	if (b[0] > 1 || (b[1] != 4 && b[1] != 8)) {
		err = fail(&c, PCP_ERR_CORRUPT, "bad endianness or long size in the file header");
		goto out;
	}
	c.big_endian = b[0];
	off += 2;
	if ((err = rd_num(&c, off, 4, &page_size, "file header")))
		goto out;
	/* No Linux architecture has pages under 4 KiB; libtracecmd mmaps whole pages. */
	if (page_size < 4096 || page_size > (1u << 24) || (page_size & (page_size - 1))) {
		err = fail(&c, PCP_ERR_CORRUPT, "implausible page size %llu", (unsigned long long)page_size);
		goto out;
	}
	if (w)
		w->page_size = (uint32_t)page_size;
	c.page_size = c.buf_page = (uint32_t)page_size;
	off += 4;
	err = lay.file_version == 6 ? check_v6(&c, off) : check_v7(&c, off);
out:
	if (c.fd >= 0)
		close(c.fd);
	if (!err && out)
		*out = lay;
	return err;
}

int pcp_tracedat_check(const char *path, struct pcp_tracedat_layout *out, char *errbuf, size_t errlen)
{
	return check_file(path, out, NULL, errbuf, errlen);
}

/* ---- buffers ---- */

static void walk_release(struct walk *w)
{
	free(w->secs);
	pcp_trace_buffers_free(w->bufs, w->nr_bufs);
	free(w->buf_rank);
	free(w->stats);
	memset(w, 0, sizeof(*w));
}

/* Gives each buffer its CPUs' stats: a CPUSTAT names its CPU ("CPU: N", trace-cmd) or is the
 * next CPU of its buffer (pcprecord writes them in CPU order without that line). */
static int attach_cpustats(struct walk *w)
{
	for (size_t i = 0; i < w->nr_bufs; i++) {
		struct pcp_trace_buffer *b = &w->bufs[i];
		uint32_t pos = 0;

		b->cpustat = calloc(b->nr_cpus ? b->nr_cpus : 1, sizeof(*b->cpustat));
		if (!b->cpustat)
			return PCP_ERR_NOMEM;
		for (size_t k = 0; k < w->nr_stats; k++) {
			const struct cpustat_opt *o = &w->stats[k];
			uint32_t cpu;

			if (b->top ? o->owner[0] != '\0' : strcmp(o->owner, b->name))
				continue;
			cpu = o->cpu >= 0 ? (uint32_t)o->cpu : pos;
			pos++;
			if (cpu < b->nr_cpus)
				b->cpustat[cpu] = o->st;
		}
	}
	return PCP_OK;
}

void pcp_trace_buffers_free(struct pcp_trace_buffer *b, size_t nr)
{
	for (size_t i = 0; b && i < nr; i++)
		free(b[i].cpustat);
	free(b);
}

const struct pcp_trace_buffer *pcp_trace_buffer_find(const struct pcp_trace_buffer *b, size_t nr,
						      const char *name)
{
	for (size_t i = 0; i < nr; i++)
		if (b[i].top ? !strcmp(name, PCP_TOP_BUFFER) : !strcmp(name, b[i].name))
			return &b[i];
	return NULL;
}

void pcp_trace_buffer_names(const struct pcp_trace_buffer *b, size_t nr, int with_data_only,
			    char *buf, size_t len)
{
	size_t used = 0;

	if (!len)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < nr; i++) {
		int n;

		if (with_data_only && !b[i].nr_cpu_sections)
			continue;
		n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", b[i].name);
		if (n < 0 || (size_t)n >= len - used) {
			if (len > 4)
				strcpy(buf + len - 4, "...");
			return;
		}
		used += (size_t)n;
	}
}

int pcp_tracedat_buffers(const char *path, struct pcp_trace_buffer **out, size_t *nr,
			 char *errbuf, size_t errlen)
{
	struct walk w = { 0 };
	int err = check_file(path, NULL, &w, errbuf, errlen);

	*out = NULL;
	*nr = 0;
	if (!err && attach_cpustats(&w))
		err = pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "out of memory");
	if (!err) {
		*out = w.bufs;
		*nr = w.nr_bufs;
		w.bufs = NULL;
		w.nr_bufs = 0;
	}
	walk_release(&w);
	return err;
}

/* ---- header copy without kallsyms (kallsyms_lazy.c) ---- */

/* A file whose records the direct path will read and whose kallsyms we can read ourselves. */
static int lazy_kallsyms_possible(const struct walk *w)
{
	return !w->no_direct && !w->no_libtracecmd &&
	       (w->ksyms.where == PCP_KSYMS_PLAIN || w->ksyms.where == PCP_KSYMS_ZSTD);
}

/* The memfd copy of path's headers without its kallsyms text (fd -1 when the file does not
 * qualify or no copy could be made: libtracecmd then parses the file itself). */
static void header_copy(const char *path, const struct walk *w, uint64_t file_size, int *fd)
{
	struct pcp_ksyms_hole *holes;
	int src;

	*fd = -1;
	if (!lazy_kallsyms_possible(w) || !(holes = calloc(w->nr + 1, sizeof(*holes))))
		return;
	for (size_t i = 0; i < w->nr; i++)
		holes[i] = (struct pcp_ksyms_hole){ w->secs[i].offset, w->secs[i].size };
	if ((src = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		if (pcp_ksyms_header_copy(src, file_size, &w->ksyms, holes, w->nr, fd))
			*fd = -1;
		close(src);
	}
	free(holes);
	/* libtracecmd opens it by name: without /proc, it parses the file itself */
	if (*fd >= 0) {
		char name[64];
		snprintf(name, sizeof(name), "/proc/self/fd/%d", *fd);
		if (access(name, R_OK)) {
			close(*fd);
			*fd = -1;
		}
	}
}

int pcp_tracedat_header_copy(const char *path, int *fd)
{
	struct pcp_tracedat_layout lay;
	struct walk w = { 0 };
	int err = check_file(path, &lay, &w, NULL, 0);

	*fd = -1;
	if (!err)
		header_copy(path, &w, lay.file_size, fd);
	walk_release(&w);
	return err;
}

/* ---- reader ---- */

struct stream {
	struct tracecmd_input *handle;
	int index;                 /* CPU index inside handle */
	struct tep_record *head;   /* read ahead (ours), handed out by pcp_reader_next() */
};

struct pcp_reader {
	struct pcp_tracedat_layout layout;
	struct tracecmd_input *top;
	struct pcp_ksyms *ksyms;   /* top's kallsyms, loaded at the first lookup; NULL: at open */
	/* direct path (ringbuf_decode); params and sections kept for pcp_reader_rewind() */
	struct pcp_rbdec *direct;
	struct pcp_rbdec_params direct_params;
	struct pcp_rbdec_section *direct_secs;
	size_t nr_direct_secs;
	int fd;
	/* libtracecmd path */
	struct tracecmd_input **instances;
	int nr_instances;
	struct stream *streams;
	int nr_streams;
	struct tep_record *current;
	struct pcp_trace_buffer *bufs;   /* the file's buffers */
	size_t nr_bufs;
	long chosen;                     /* index into bufs, -1: all buffers */
	uint64_t records;
	uint64_t *missed_known, *missed_unknown;   /* per CPU */
};

static void add_streams(struct pcp_reader *r, struct tracecmd_input *h)
{
	/* read_data returns NULL for an index past the handle's CPUs or a CPU without data */
	for (uint32_t i = 0; i < r->layout.nr_cpus; i++) {
		struct tep_record *rec = tracecmd_read_data(h, (int)i);
		if (!rec)
			continue;
		r->streams[r->nr_streams++] = (struct stream){ .handle = h, .index = (int)i, .head = rec };
	}
}

static int sec_order(const void *pa, const void *pb)
{
	const struct cpu_sec *a = pa, *b = pb;

	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	return a->cpu < b->cpu ? -1 : a->cpu > b->cpu;
}

/* The direct path, if it reproduces libtracecmd for this file. PCP_ERR_MODE (why in errbuf):
 * use libtracecmd; other errors: the data is damaged. */
static int open_direct(struct pcp_reader *r, const char *path, struct walk *w, char *errbuf, size_t errlen)
{
	struct tep_handle *tep = tracecmd_get_tep(r->top);
	struct pcp_rbdec_params p = { 0 };
	struct pcp_rbdec_section *secs;
	int err;

	if (w->no_direct)
		return pcp_errorf(errbuf, errlen, PCP_ERR_MODE, "%s", w->no_direct);
	if (tep_get_header_timestamp_size(tep) != 8)
		return pcp_errorf(errbuf, errlen, PCP_ERR_MODE, "its page timestamps are not 8 bytes");
	if (w->nr > 1)
		qsort(w->secs, w->nr, sizeof(*w->secs), sec_order);
	for (size_t i = 1; i < w->nr; i++)
		if (!sec_order(&w->secs[i - 1], &w->secs[i]))
			return pcp_errorf(errbuf, errlen, PCP_ERR_MODE, "a buffer declares a CPU twice");
	secs = calloc(w->nr ? w->nr : 1, sizeof(*secs));
	if (!secs)
		return pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < w->nr; i++)
		secs[i] = (struct pcp_rbdec_section){ .cpu = w->secs[i].cpu, .offset = w->secs[i].offset,
						       .size = w->secs[i].size };
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		free(secs);
		return pcp_errorf(errbuf, errlen, PCP_ERR_NOFILE, "%s", strerror(errno));
	}
	p.fd = r->fd;
	p.file_size = r->layout.file_size;
	p.page_size = w->page_size;
	p.long_size = tep_get_header_page_size(tep);   /* libtracecmd's long_size */
	p.big_endian = tep_is_file_bigendian(tep);
	p.old_format = tep_is_old_format(tep);
	p.compression = r->layout.file_version == 7 ? r->layout.compression : NULL;
	p.tsc2nsec_mult = r->layout.tsc2nsec_mult;
	p.tsc2nsec_shift = r->layout.tsc2nsec_shift;
	/* The walk checked every chunk for whole pages (check_cpu_data): the decoder's own scan
	 * of the chunk tables, a read of the whole compressed file, only when it checked them for
	 * another page size. */
	p.chunks_checked = 1;
	for (size_t i = 0; i < w->nr; i++)
		if (w->secs[i].page != w->page_size)
			p.chunks_checked = 0;
	err = pcp_rbdec_open(&p, secs, w->nr, &r->direct, errbuf, errlen);
	if (err) {
		free(secs);
		return err;
	}
	r->direct_params = p;
	r->direct_secs = secs;
	r->nr_direct_secs = w->nr;
	return PCP_OK;
}

/* What libtracecmd parsed from the headers, checked before any of it is used: a damaged
 * header_page leaves zero sizes that make libtracecmd crash later (in
 * tracecmd_buffer_instance_handle), and an event declared twice would count twice under one
 * name. */
static int check_headers(struct tep_handle *tep, uint32_t page_size, char *errbuf, size_t errlen)
{
	struct tep_event **ev;
	int sub = tep_get_sub_buffer_size(tep), ls = tep_get_header_page_size(tep);

	if (tep_get_header_timestamp_size(tep) != 8 || (ls != 4 && ls != 8) ||
	    (!tep_is_old_format(tep) && (sub <= 0 || (uint32_t)sub > page_size)))
		return pcp_errorf(errbuf, errlen, PCP_ERR_CORRUPT,
				  "damaged header_page format (timestamp, commit or data field)");
	ev = tep_list_events(tep, TEP_EVENT_SORT_ID);
	for (int i = 0; ev && ev[i]; i++) {
		if (ev[i]->id < 0 || ev[i]->id > 0xffff)
			return pcp_errorf(errbuf, errlen, PCP_ERR_CORRUPT, "event %s:%s has an implausible id %d",
					  ev[i]->system, ev[i]->name, ev[i]->id);
		if (i && ev[i]->id == ev[i - 1]->id)
			return pcp_errorf(errbuf, errlen, PCP_ERR_CORRUPT, "two event formats have the id %d",
					  ev[i]->id);
	}
	ev = tep_list_events(tep, TEP_EVENT_SORT_SYSTEM);
	/* a file with no event format at all gives a list of only its NULL end */
	for (int i = 1; ev && ev[0] && ev[i]; i++)
		if (!strcmp(ev[i]->system, ev[i - 1]->system) && !strcmp(ev[i]->name, ev[i - 1]->name))
			return pcp_errorf(errbuf, errlen, PCP_ERR_CORRUPT, "event %s:%s is declared twice",
					  ev[i]->system, ev[i]->name);
	return PCP_OK;
}

int pcp_reader_set_decoding(struct pcp_reader *r, unsigned workers, int helper, int rewind,
			    char *errbuf, size_t errlen)
{
	helper = helper && !workers;
	if (!r->direct) {
		/* the libtracecmd path decodes on its own */
		return rewind ? pcp_reader_rewind(r, errbuf, errlen) : PCP_OK;
	}
	if (r->direct_params.workers == workers && r->direct_params.helper == helper && !rewind)
		return PCP_OK;
	r->direct_params.workers = workers;
	r->direct_params.helper = helper;
	return pcp_reader_rewind(r, errbuf, errlen);
}

int pcp_reader_help(void *reader)
{
	struct pcp_reader *r = reader;

	return pcp_rbdec_help(r->direct);
}

void pcp_reader_help_loop(void *reader)
{
	struct pcp_reader *r = reader;

	pcp_rbdec_help_loop(r->direct);
}

void pcp_reader_help_stop(struct pcp_reader *r)
{
	pcp_rbdec_help_stop(r->direct);
}

/* Whether the trace has events whose addresses are looked up: percpu call sites and kernel
 * stacks. */
static int resolves_addresses(const struct pcp_reader *r)
{
	struct tep_handle *tep = r->top ? tracecmd_get_tep(r->top) : NULL;

	return r->ksyms && tep && (tep_find_event_by_name(tep, "percpu", "percpu_alloc_percpu") ||
				   tep_find_event_by_name(tep, "ftrace", "kernel_stack"));
}

void pcp_reader_preload_kallsyms(struct pcp_reader *r)
{
	if (resolves_addresses(r))
		pcp_ksyms_preload(r->ksyms);
}

void pcp_reader_load_kallsyms(struct pcp_reader *r)
{
	if (resolves_addresses(r))
		pcp_ksyms_load_now(r->ksyms);
}

int pcp_reader_rewind(struct pcp_reader *r, char *errbuf, size_t errlen)
{
	int err;

	if (!r->direct)
		return pcp_errorf(errbuf, errlen, PCP_ERR_MODE, "only the direct path rewinds");
	pcp_rbdec_close(r->direct);
	r->direct = NULL;
	r->direct_params.chunks_checked = 1;   /* the first open checked them */
	err = pcp_rbdec_open(&r->direct_params, r->direct_secs, r->nr_direct_secs, &r->direct, errbuf,
			     errlen);
	if (err)
		return err;
	r->records = 0;
	memset(r->missed_known, 0, (r->layout.nr_cpus + 1) * sizeof(uint64_t));
	memset(r->missed_unknown, 0, (r->layout.nr_cpus + 1) * sizeof(uint64_t));
	return PCP_OK;
}

/* Keeps only the chosen buffer's CPU sections for the direct path. */
static int choose_buffer(struct pcp_reader *r, struct walk *w, const char *buffer, char *errbuf,
			 size_t errlen)
{
	const struct pcp_trace_buffer *b = pcp_trace_buffer_find(w->bufs, w->nr_bufs, buffer);
	uint32_t rank;
	size_t n = 0;

	if (!b) {
		char names[256];

		pcp_trace_buffer_names(w->bufs, w->nr_bufs, 0, names, sizeof(names));
		return pcp_errorf(errbuf, errlen, PCP_ERR_MODE, "no buffer '%s' in the file (it has: %s)",
				  buffer, names[0] ? names : "none");
	}
	r->chosen = b - w->bufs;
	rank = w->buf_rank[r->chosen];
	for (size_t i = 0; i < w->nr; i++)
		if (w->secs[i].rank == rank)
			w->secs[n++] = w->secs[i];
	w->nr = n;
	return PCP_OK;
}

int pcp_reader_open_path(const char *path, enum pcp_reader_path how, struct pcp_reader **out,
			 char *errbuf, size_t errlen)
{
	return pcp_reader_open_buffer(path, how, NULL, out, errbuf, errlen);
}

/* libtraceevent's format parser keeps its tokenizer state and a scratch buffer in globals
 * (ThreadSanitizer caught two `compare -j` analyses opening at once): the opening and closing of
 * libtracecmd handles are serialized across threads; reading records is not. */
static pthread_mutex_t libtrace_lock = PTHREAD_MUTEX_INITIALIZER;

static int open_buffer(const char *path, enum pcp_reader_path how, const char *buffer,
		       struct pcp_reader **out, char *errbuf, size_t errlen);

int pcp_reader_open_buffer(const char *path, enum pcp_reader_path how, const char *buffer,
			   struct pcp_reader **out, char *errbuf, size_t errlen)
{
	int err;

	pthread_mutex_lock(&libtrace_lock);
	err = open_buffer(path, how, buffer, out, errbuf, errlen);
	pthread_mutex_unlock(&libtrace_lock);
	return err;
}

static void reader_close(struct pcp_reader *r);

void pcp_reader_close(struct pcp_reader *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&libtrace_lock);
	reader_close(r);
	pthread_mutex_unlock(&libtrace_lock);
}

static int open_buffer(const char *path, enum pcp_reader_path how, const char *buffer,
		       struct pcp_reader **out, char *errbuf, size_t errlen)
{
	struct pcp_reader *r;
	struct walk w = { 0 };
	char copy_path[64];
	int copy_fd = -1;
	int err;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "out of memory");
	r->fd = -1;
	r->chosen = -1;
	err = check_file(path, &r->layout, &w, errbuf, errlen);
	/* before choose_buffer: every buffer's ring-buffer data is left out of the copy */
	if (!err && how != PCP_READER_LIBTRACECMD)
		header_copy(path, &w, r->layout.file_size, &copy_fd);
	if (!err && attach_cpustats(&w))
		err = pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "out of memory");
	if (!err && buffer)
		err = choose_buffer(r, &w, buffer, errbuf, errlen);
	if (err)
		goto fail;
	r->bufs = w.bufs;
	r->nr_bufs = w.nr_bufs;
	w.bufs = NULL;
	w.nr_bufs = 0;

	/* libtracecmd cannot even read the headers of a file compressed with an algorithm it
	 * lacks (and leaks its handle trying): refuse it first. */
	if (w.no_libtracecmd) {
		err = pcp_errorf(errbuf, errlen, PCP_ERR_CORRUPT,
				 "libtracecmd cannot read it (%s compression; supported: see trace-cmd list -c)",
				 r->layout.compression);
		goto fail;
	}
	/* Our one-line rule: the libraries say nothing on stderr. */
	tracecmd_set_loglevel(TEP_LOG_NONE);
	tep_set_loglevel(TEP_LOG_NONE);
	/* Headers only (formats, kallsyms, cmdlines): the CPU data is opened below, by one path. */
	/* libtraceevent's format parser has crashes of its own: a child tries it first, on the
	 * bytes libtracecmd will parse here (the header copy without kallsyms where there is one) */
	if (copy_fd >= 0) {
		snprintf(copy_path, sizeof(copy_path), "/proc/self/fd/%d", copy_fd);
		if ((err = pcp_tracedat_probe_copy(path, copy_fd, errbuf, errlen)))
			goto fail;
		r->top = tracecmd_open_head(copy_path, TRACECMD_FL_LOAD_NO_PLUGINS |
							       TRACECMD_FL_LOAD_NO_SYSTEM_PLUGINS);
		close(copy_fd);
		copy_fd = -1;
		if (r->top && (err = pcp_ksyms_attach(tracecmd_get_tep(r->top), path, &w.ksyms, &r->ksyms))) {
			err = pcp_errorf(errbuf, errlen, err, err == PCP_ERR_NOMEM ? "out of memory" :
								 "cannot open it again: %s", strerror(errno));
			goto fail;
		}
	} else {
		if ((err = pcp_tracedat_probe_headers(path, errbuf, errlen)))
			goto fail;
		r->top = tracecmd_open_head(path, TRACECMD_FL_LOAD_NO_PLUGINS | TRACECMD_FL_LOAD_NO_SYSTEM_PLUGINS);
	}
	if (r->top && (err = check_headers(tracecmd_get_tep(r->top), w.page_size, errbuf, errlen)))
		goto fail;
	r->missed_known = calloc(r->layout.nr_cpus + 1, sizeof(uint64_t));
	r->missed_unknown = calloc(r->layout.nr_cpus + 1, sizeof(uint64_t));
	if (!r->missed_known || !r->missed_unknown) {
		err = pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "out of memory");
		goto fail;
	}
	if (r->top && how != PCP_READER_LIBTRACECMD) {
		char why[200] = "";

		err = open_direct(r, path, &w, why, sizeof(why));
		if (!err)
			goto done;
		if (err != PCP_ERR_MODE || how == PCP_READER_DIRECT) {
			pcp_errorf(errbuf, errlen, err, "%s", why);
			goto fail;
		}
		err = PCP_OK;
		if (r->ksyms) {
			/* libtracecmd reads the records: it needs the file itself, kallsyms and all */
			tracecmd_close(r->top);
			pcp_ksyms_free(r->ksyms);
			r->ksyms = NULL;
			if ((err = pcp_tracedat_probe_headers(path, errbuf, errlen)))
				goto fail;
			r->top = tracecmd_open_head(path, TRACECMD_FL_LOAD_NO_PLUGINS |
								  TRACECMD_FL_LOAD_NO_SYSTEM_PLUGINS);
			if (r->top && (err = check_headers(tracecmd_get_tep(r->top), w.page_size, errbuf, errlen)))
				goto fail;
		}
	}
	if (r->top && tracecmd_init_data(r->top) < 0) {
		/* libtracecmd 3.1.6 leaves a half-made handle that tracecmd_close() crashes on:
		 * leaked on purpose (our checks are meant to keep us from getting here). */
		r->top = NULL;
	}
	if (!r->top) {
		if (r->layout.compression[0] && strcmp(r->layout.compression, "none"))
			err = pcp_errorf(errbuf, errlen, PCP_ERR_CORRUPT,
					 "libtracecmd cannot read it (%s compression; supported: see trace-cmd list -c)",
					 r->layout.compression);
		else
			err = pcp_errorf(errbuf, errlen, PCP_ERR_CORRUPT, "libtracecmd cannot read its headers");
		goto fail;
	}
	r->nr_instances = tracecmd_buffer_instances(r->top);
	if (r->nr_instances < 0)
		r->nr_instances = 0;
	r->instances = calloc((size_t)r->nr_instances + 1, sizeof(*r->instances));
	r->streams = calloc(((size_t)r->nr_instances + 1) * (r->layout.nr_cpus + 1), sizeof(*r->streams));
	if (!r->instances || !r->streams) {
		err = pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "out of memory");
		goto fail;
	}
	if (r->chosen < 0 || r->bufs[r->chosen].top)
		add_streams(r, r->top);
	for (int i = 0; i < r->nr_instances; i++) {
		const char *name = tracecmd_buffer_instance_name(r->top, i);

		/* a chosen instance: only its handle, found by name */
		if (r->chosen >= 0 && (r->bufs[r->chosen].top || !name || strcmp(name, r->bufs[r->chosen].name)))
			continue;
		r->instances[i] = tracecmd_buffer_instance_handle(r->top, i);
		if (!r->instances[i]) {
			err = pcp_errorf(errbuf, errlen, PCP_ERR_CORRUPT, "libtracecmd cannot read a buffer instance");
			goto fail;
		}
		add_streams(r, r->instances[i]);
	}
done:
	walk_release(&w);
	*out = r;
	return PCP_OK;
fail:
	if (copy_fd >= 0)
		close(copy_fd);
	walk_release(&w);
	reader_close(r);
	return err;
}

const struct pcp_trace_buffer *pcp_reader_buffer(const struct pcp_reader *r)
{
	return r->chosen >= 0 ? &r->bufs[r->chosen] : NULL;
}

int pcp_reader_open(const char *path, struct pcp_reader **out, char *errbuf, size_t errlen)
{
	return pcp_reader_open_path(path, PCP_READER_AUTO, out, errbuf, errlen);
}

static void reader_close(struct pcp_reader *r)
{
	if (!r)
		return;
	pcp_rbdec_close(r->direct);
	free(r->direct_secs);
	if (r->fd >= 0)
		close(r->fd);
	if (r->current)
		tracecmd_free_record(r->current);
	for (int i = 0; r->streams && i < r->nr_streams; i++)
		if (r->streams[i].head)
			tracecmd_free_record(r->streams[i].head);
	if (r->instances)
		for (int i = 0; i < r->nr_instances; i++)
			if (r->instances[i])
				tracecmd_close(r->instances[i]);
	if (r->top)
		tracecmd_close(r->top);
	pcp_ksyms_free(r->ksyms);   /* after top's tep, whose resolver it is */
	free(r->instances);
	free(r->streams);
	free(r->missed_known);
	free(r->missed_unknown);
	pcp_trace_buffers_free(r->bufs, r->nr_bufs);
	free(r);
}

int pcp_reader_ksyms_status(const struct pcp_reader *r)
{
	return pcp_ksyms_status(r->ksyms);
}

struct tep_handle *pcp_reader_tep(const struct pcp_reader *r)
{
	return tracecmd_get_tep(r->top);
}

const struct pcp_tracedat_layout *pcp_reader_layout(const struct pcp_reader *r)
{
	return &r->layout;
}

int pcp_reader_direct(const struct pcp_reader *r)
{
	return r->direct != NULL;
}

int pcp_reader_status(const struct pcp_reader *r, char *errbuf, size_t errlen)
{
	return r->direct ? pcp_rbdec_status(r->direct, errbuf, errlen) : PCP_OK;
}

static struct tep_record *libtracecmd_next(struct pcp_reader *r)
{
	struct stream *s, *best = NULL;
	struct tep_record *rec;

	if (r->current) {
		tracecmd_free_record(r->current);
		r->current = NULL;
	}
	/* Linear scan: a handful of CPUs; strict '<' keeps ties in CPU order. */
	for (s = r->streams; s < r->streams + r->nr_streams; s++)
		if (s->head && (!best || s->head->ts < best->head->ts))
			best = s;
	if (!best)
		return NULL;
	rec = best->head;
	best->head = tracecmd_read_data(best->handle, best->index);
	r->current = rec;
	return rec;
}

struct tep_record *pcp_reader_next(struct pcp_reader *r)
{
	struct tep_record *rec = r->direct ? pcp_rbdec_next(r->direct) : libtracecmd_next(r);

	if (!rec)
		return NULL;
	r->records++;
	if (rec->missed_events && rec->cpu >= 0 && (uint32_t)rec->cpu < r->layout.nr_cpus) {
		if (rec->missed_events > 0)
			r->missed_known[rec->cpu] += (uint64_t)rec->missed_events;
		else
			r->missed_unknown[rec->cpu]++;
	}
	return rec;
}

uint64_t pcp_reader_records(const struct pcp_reader *r)
{
	return r->records;
}

void pcp_reader_missed(const struct pcp_reader *r, uint32_t cpu, uint64_t *known, uint64_t *unknown_marks)
{
	int in = cpu < r->layout.nr_cpus;
	if (known)
		*known = in ? r->missed_known[cpu] : 0;
	if (unknown_marks)
		*unknown_marks = in ? r->missed_unknown[cpu] : 0;
}
