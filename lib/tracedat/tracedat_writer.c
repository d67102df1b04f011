/* trace.dat writer, version 6 (man 5 trace-cmd.dat.v6) or 7 (man 5 trace-cmd.dat.v7, optionally
 * zstd- or zlib-compressed); see tracedat.h. */
#include "tracedat/tracedat.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "common/error.h"
#include "common/io.h"
#include "output/outfile.h"
#include "tracedat/tracedat_format.h"

#define TDW_MAX_CPUS 4096
#define TDW_OUT_BUF (64 * 1024)
#define TDW_CHUNK_PAGES 10 /* pages per compressed CPU data chunk, as trace-cmd 3.1.6 */

enum { TDW_COMP_NONE, TDW_COMP_ZSTD, TDW_COMP_ZLIB };

struct tdw_blob {
	char *data;
	size_t len;
};

struct tdw_blobs {
	struct tdw_blob *v;
	size_t nr, cap;
};

struct tdw_system {
	char *name;
	struct tdw_blobs formats;
};

struct tdw_option {
	uint16_t id;
	struct tdw_blob data;
};

struct tdw_cpu {
	int ext_fd;          /* caller's fd of raw pages, or -1 */
	int own_fd;          /* our unlinked temporary file of pages, or -1 */
	uint64_t own_pages;
	uint64_t file_offset;
	uint64_t size;
};

struct pcp_tdw {
	struct pcp_outfile out;  /* the temporary file beside the target, renamed at commit */
	int out_open;            /* out holds a temporary file (to remove on abort) */
	char *dir;               /* the target's directory, for the unlinked page stores */
	unsigned int page_size;
	int long_size;
	int nr_cpus;
	int file_version;
	int comp;            /* TDW_COMP_*: version 7 compression */

	struct tdw_blob header_page, header_event, kallsyms, printk, cmdlines;
	struct tdw_blobs ftrace;
	struct tdw_system *systems;
	size_t nr_systems, cap_systems;
	struct tdw_option *options;
	size_t nr_options, cap_options;
	struct tdw_cpu *cpus;
};

/* Buffered sequential output that remembers the first error. */
struct tdw_out {
	int fd;
	int err;
	uint64_t offset;
	size_t n;
	unsigned char buf[TDW_OUT_BUF];
};

static void out_flush(struct tdw_out *o)
{
	if (!o->err && o->n)
		o->err = pcp_io_write_all(o->fd, o->buf, o->n);
	o->n = 0;
}

static void out_bytes(struct tdw_out *o, const void *data, size_t len)
{
	const unsigned char *p = data;

	o->offset += len;
	while (len && !o->err) {
		size_t room = sizeof(o->buf) - o->n;
		size_t chunk = len < room ? len : room;
		memcpy(o->buf + o->n, p, chunk);
		o->n += chunk;
		p += chunk;
		len -= chunk;
		if (o->n == sizeof(o->buf))
			out_flush(o);
	}
}

static void out_u16(struct tdw_out *o, uint16_t v) { out_bytes(o, &v, 2); }
static void out_u32(struct tdw_out *o, uint32_t v) { out_bytes(o, &v, 4); }
static void out_u64(struct tdw_out *o, uint64_t v) { out_bytes(o, &v, 8); }

static void out_zeros(struct tdw_out *o, uint64_t len)
{
	static const unsigned char zeros[4096];

	while (len) {
		size_t chunk = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
		out_bytes(o, zeros, chunk);
		len -= chunk;
	}
}

static int blob_set(struct tdw_blob *b, const void *data, size_t len)
{
	char *copy = malloc(len ? len : 1);

	if (!copy)
		return PCP_ERR_NOMEM;
	if (len)
		memcpy(copy, data, len);
	free(b->data);
	b->data = copy;
	b->len = len;
	return PCP_OK;
}

static int blobs_add(struct tdw_blobs *bs, const void *data, size_t len)
{
	if (bs->nr == bs->cap) {
		size_t cap = bs->cap ? bs->cap * 2 : 8;
		struct tdw_blob *v = realloc(bs->v, cap * sizeof(*v));
		if (!v)
			return PCP_ERR_NOMEM;
		bs->v = v;
		bs->cap = cap;
	}
	bs->v[bs->nr].data = NULL;
	bs->v[bs->nr].len = 0;
	if (blob_set(&bs->v[bs->nr], data, len))
		return PCP_ERR_NOMEM;
	bs->nr++;
	return PCP_OK;
}

static void blobs_free(struct tdw_blobs *bs)
{
	for (size_t i = 0; i < bs->nr; i++)
		free(bs->v[i].data);
	free(bs->v);
}

/* Frees w; removes its temporary file unless it was renamed into place. Keeps errno. */
static void tdw_free(struct pcp_tdw *w)
{
	int saved = errno;

	if (w->out_open)
		pcp_outfile_abort(&w->out);
	if (w->cpus) {
		for (int c = 0; c < w->nr_cpus; c++)
			if (w->cpus[c].own_fd >= 0)
				close(w->cpus[c].own_fd);
	}
	free(w->cpus);
	free(w->header_page.data);
	free(w->header_event.data);
	free(w->kallsyms.data);
	free(w->printk.data);
	free(w->cmdlines.data);
	blobs_free(&w->ftrace);
	for (size_t i = 0; i < w->nr_systems; i++) {
		free(w->systems[i].name);
		blobs_free(&w->systems[i].formats);
	}
	free(w->systems);
	for (size_t i = 0; i < w->nr_options; i++)
		free(w->options[i].data.data);
	free(w->options);
	free(w->dir);
	free(w);
	errno = saved;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

int pcp_tdw_create(const char *path, const struct pcp_tdw_params *p, struct pcp_tdw **out)
{
	struct pcp_tdw *w;
	long host_page = sysconf(_SC_PAGESIZE);
	char msg[256];
	int err = PCP_ERR_NOMEM;

	*out = NULL;
	if (!path || !*path || !p || p->nr_cpus < 1 || p->nr_cpus > TDW_MAX_CPUS ||
	    (p->long_size != 0 && p->long_size != 4 && p->long_size != 8))
		return PCP_ERR_USAGE;
	w = calloc(1, sizeof(*w));
	if (!w)
		return PCP_ERR_NOMEM;
	w->nr_cpus = p->nr_cpus;
	w->page_size = p->page_size ? p->page_size : (unsigned int)(host_page > 0 ? host_page : 4096);
	w->long_size = p->long_size ? p->long_size : (int)sizeof(long);
	w->file_version = p->file_version ? p->file_version : 6;
	if ((w->file_version != 6 && w->file_version != 7) ||
	    (p->compression && strcmp(p->compression, "none") &&
	     (w->file_version != 7 || (strcmp(p->compression, "zstd") && strcmp(p->compression, "zlib"))))) {
		err = PCP_ERR_USAGE;
		goto fail;
	}
	w->comp = !p->compression ? TDW_COMP_NONE
		  : !strcmp(p->compression, "zstd") ? TDW_COMP_ZSTD
		  : !strcmp(p->compression, "zlib") ? TDW_COMP_ZLIB : TDW_COMP_NONE;
	if (w->page_size < 64 || w->page_size > (1u << 27)) {
		err = PCP_ERR_USAGE;
		goto fail;
	}
	w->cpus = calloc((size_t)w->nr_cpus, sizeof(*w->cpus));
	w->dir = dir_of(path);
	if (!w->cpus || !w->dir)
		goto fail;
	for (int c = 0; c < w->nr_cpus; c++) {
		w->cpus[c].ext_fd = -1;
		w->cpus[c].own_fd = -1;
	}
	/* the cause is in errno; the one-line message is the caller's */
	if ((err = pcp_outfile_open(&w->out, path, msg, sizeof(msg))))
		goto fail;
	w->out_open = 1;
	*out = w;
	return PCP_OK;
fail:
	tdw_free(w);
	return err;
}

int pcp_tdw_parse_format(const char *name, struct pcp_tdw_params *p)
{
	if (!name || !p)
		return PCP_ERR_USAGE;
	if (!strcmp(name, "v6")) {
		p->file_version = 6;
		p->compression = NULL;
	} else if (!strcmp(name, "v7")) {
		p->file_version = 7;
		p->compression = "none";
	} else if (!strcmp(name, "v7-zstd")) {
		p->file_version = 7;
		p->compression = "zstd";
	} else if (!strcmp(name, "v7-zlib")) {
		p->file_version = 7;
		p->compression = "zlib";
	} else {
		return PCP_ERR_USAGE;
	}
	return PCP_OK;
}

int pcp_tdw_set_header_page(struct pcp_tdw *w, const char *text, size_t len)
{
	return text && len ? blob_set(&w->header_page, text, len) : PCP_ERR_USAGE;
}

int pcp_tdw_set_header_event(struct pcp_tdw *w, const char *text, size_t len)
{
	return text && len ? blob_set(&w->header_event, text, len) : PCP_ERR_USAGE;
}

int pcp_tdw_add_ftrace_format(struct pcp_tdw *w, const char *text, size_t len)
{
	return text && len ? blobs_add(&w->ftrace, text, len) : PCP_ERR_USAGE;
}

int pcp_tdw_add_event_format(struct pcp_tdw *w, const char *system, const char *text,
			     size_t len)
{
	struct tdw_system *s = NULL;

	if (!system || !*system || !text || !len)
		return PCP_ERR_USAGE;
	if (!strcmp(system, "ftrace"))
		return pcp_tdw_add_ftrace_format(w, text, len);
	for (size_t i = 0; i < w->nr_systems; i++)
		if (!strcmp(w->systems[i].name, system))
			s = &w->systems[i];
	if (!s) {
		if (w->nr_systems == w->cap_systems) {
			size_t cap = w->cap_systems ? w->cap_systems * 2 : 8;
			struct tdw_system *v = realloc(w->systems, cap * sizeof(*v));
			if (!v)
				return PCP_ERR_NOMEM;
			w->systems = v;
			w->cap_systems = cap;
		}
		s = &w->systems[w->nr_systems];
		memset(s, 0, sizeof(*s));
		s->name = strdup(system);
		if (!s->name)
			return PCP_ERR_NOMEM;
		w->nr_systems++;
	}
	return blobs_add(&s->formats, text, len);
}

int pcp_tdw_set_kallsyms(struct pcp_tdw *w, const char *text, size_t len)
{
	if (len > UINT32_MAX)
		return PCP_ERR_USAGE;
	return blob_set(&w->kallsyms, text, len);
}

int pcp_tdw_set_printk_formats(struct pcp_tdw *w, const char *text, size_t len)
{
	if (len > UINT32_MAX)
		return PCP_ERR_USAGE;
	return blob_set(&w->printk, text, len);
}

int pcp_tdw_set_cmdlines(struct pcp_tdw *w, const char *text, size_t len)
{
	return blob_set(&w->cmdlines, text, len);
}

int pcp_tdw_add_option(struct pcp_tdw *w, uint16_t id, const void *data, size_t len)
{
	struct tdw_option *o;

	if (id == PCP_TRACEDAT_OPT_DONE || len > UINT32_MAX || (len && !data))
		return PCP_ERR_USAGE;
	if (w->nr_options == w->cap_options) {
		size_t cap = w->cap_options ? w->cap_options * 2 : 8;
		struct tdw_option *v = realloc(w->options, cap * sizeof(*v));
		if (!v)
			return PCP_ERR_NOMEM;
		w->options = v;
		w->cap_options = cap;
	}
	o = &w->options[w->nr_options];
	o->id = id;
	o->data.data = NULL;
	o->data.len = 0;
	if (blob_set(&o->data, data, len))
		return PCP_ERR_NOMEM;
	w->nr_options++;
	return PCP_OK;
}

static int add_string_option(struct pcp_tdw *w, uint16_t id, const char *text)
{
	if (!text)
		return PCP_ERR_USAGE;
	return pcp_tdw_add_option(w, id, text, strlen(text) + 1);
}

int pcp_tdw_set_tsc2nsec(struct pcp_tdw *w, uint32_t mult, uint32_t shift, uint64_t offset)
{
	unsigned char data[16];

	if (!mult || shift > 32)
		return PCP_ERR_USAGE;
	memcpy(data, &mult, 4);
	memcpy(data + 4, &shift, 4);
	memcpy(data + 8, &offset, 8);
	return pcp_tdw_add_option(w, PCP_TRACEDAT_OPT_TSC2NSEC, data, sizeof(data));
}

int pcp_tdw_set_trace_clock(struct pcp_tdw *w, const char *clock)
{
	char *text;
	int err;

	if (!clock || !*clock)
		return PCP_ERR_USAGE;
	if (strchr(clock, '['))
		return add_string_option(w, PCP_TRACEDAT_OPT_TRACECLOCK, clock);
	/* libtracecmd takes the selected clock from between the brackets. */
	if (asprintf(&text, "[%s]\n", clock) < 0)
		return PCP_ERR_NOMEM;
	err = add_string_option(w, PCP_TRACEDAT_OPT_TRACECLOCK, text);
	free(text);
	return err;
}

int pcp_tdw_add_cpustat(struct pcp_tdw *w, const char *text)
{
	return add_string_option(w, PCP_TRACEDAT_OPT_CPUSTAT, text);
}

int pcp_tdw_set_uname(struct pcp_tdw *w, const char *text)
{
	return add_string_option(w, PCP_TRACEDAT_OPT_UNAME, text);
}

int pcp_tdw_set_version(struct pcp_tdw *w, const char *text)
{
	return add_string_option(w, PCP_TRACEDAT_OPT_VERSION, text);
}

int pcp_tdw_set_cpu_data_fd(struct pcp_tdw *w, int cpu, int fd)
{
	if (cpu < 0 || cpu >= w->nr_cpus || fd < 0 || w->cpus[cpu].own_fd >= 0)
		return PCP_ERR_USAGE;
	w->cpus[cpu].ext_fd = fd;
	return PCP_OK;
}

static int open_page_store(const struct pcp_tdw *w)
{
	char *templ;
	int fd;

	fd = open(w->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	/* Filesystems without O_TMPFILE: a named file, unlinked at once. */
	if (asprintf(&templ, "%s/.pcptdw.XXXXXX", w->dir) < 0)
		return -1;
	fd = mkostemp(templ, O_CLOEXEC);
	if (fd >= 0)
		unlink(templ);
	free(templ);
	return fd;
}

int pcp_tdw_add_cpu_page(struct pcp_tdw *w, int cpu, const void *page)
{
	struct tdw_cpu *c;
	int err;

	if (cpu < 0 || cpu >= w->nr_cpus || !page)
		return PCP_ERR_USAGE;
	c = &w->cpus[cpu];
	if (c->ext_fd >= 0)
		return PCP_ERR_USAGE;
	if (c->own_fd < 0) {
		c->own_fd = open_page_store(w);
		if (c->own_fd < 0)
			return PCP_ERR_IO;
	}
	err = pcp_io_write_all(c->own_fd, page, w->page_size);
	if (err)
		return err;
	c->own_pages++;
	return PCP_OK;
}

unsigned int pcp_tdw_page_size(const struct pcp_tdw *w)
{
	return w->page_size;
}

int pcp_tdw_long_size(const struct pcp_tdw *w)
{
	return w->long_size;
}

/* len bytes of a CPU's data file at off: a file that ends before them shrank while we read it. */
static int read_cpu_data(int fd, void *buf, size_t len, uint64_t off)
{
	int err = pcp_io_pread_all(fd, buf, len, off);

	if (err == PCP_ERR_TRUNCATED) {
		errno = EIO;
		err = PCP_ERR_IO;
	}
	return err;
}

/* Copies len bytes from src (offset 0) to dst at dst_off. */
static int copy_range(int src, int dst, uint64_t dst_off, uint64_t len)
{
	loff_t in_off = 0, out_off = (loff_t)dst_off;
	char *buf;
	int err = PCP_OK;

	while (len) {
		ssize_t r = copy_file_range(src, &in_off, dst, &out_off, len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break; /* unsupported here (or early EOF): fall back, which tells them apart */
		len -= (uint64_t)r;
	}
	if (!len)
		return PCP_OK;
	buf = malloc(TDW_OUT_BUF);
	if (!buf)
		return PCP_ERR_NOMEM;
	while (len && !err) {
		size_t chunk = len < TDW_OUT_BUF ? (size_t)len : TDW_OUT_BUF;
		err = read_cpu_data(src, buf, chunk, (uint64_t)in_off);
		if (!err)
			err = pcp_io_pwrite_all(dst, buf, chunk, (uint64_t)out_off);
		in_off += (loff_t)chunk;
		out_off += (loff_t)chunk;
		len -= chunk;
	}
	free(buf);
	return err;
}

static void write_blob64(struct tdw_out *o, const struct tdw_blob *b)
{
	out_u64(o, b->len);
	out_bytes(o, b->data, b->len);
}

static void write_blob32(struct tdw_out *o, const struct tdw_blob *b)
{
	out_u32(o, (uint32_t)b->len);
	out_bytes(o, b->data, b->len);
}

/* A new output stream at the start of the file, with the initial format written: magic (which
 * carries the version), endianness, long size and page size (trace-cmd.dat(5)). */
static struct tdw_out *out_begin(struct pcp_tdw *w, const char *magic, size_t len)
{
	struct tdw_out *o = malloc(sizeof(*o));
	unsigned char endian_long[2];

	if (!o)
		return NULL;
	o->fd = w->out.fd;
	o->err = PCP_OK;
	o->offset = 0;
	o->n = 0;
	out_bytes(o, magic, len);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	endian_long[0] = 1;
#else
	endian_long[0] = 0;
#endif
	endian_long[1] = (unsigned char)w->long_size;
	out_bytes(o, endian_long, 2);
	out_u32(o, w->page_size);
	return o;
}

static int write_v6(struct pcp_tdw *w)
{
	static const char magic[] = PCP_TRACEDAT_MAGIC "6";   /* with its NUL */
	struct tdw_out *o;
	uint64_t data_offset;
	int err;

	o = out_begin(w, magic, sizeof(magic));
	if (!o)
		return PCP_ERR_NOMEM;

	/* Header info. */
	out_bytes(o, PCP_TRACEDAT_TAG_HEADER_PAGE, sizeof(PCP_TRACEDAT_TAG_HEADER_PAGE));
	write_blob64(o, &w->header_page);
	out_bytes(o, PCP_TRACEDAT_TAG_HEADER_EVENT, sizeof(PCP_TRACEDAT_TAG_HEADER_EVENT));
	write_blob64(o, &w->header_event);

	/* Ftrace and event formats. */
	out_u32(o, (uint32_t)w->ftrace.nr);
	for (size_t i = 0; i < w->ftrace.nr; i++)
		write_blob64(o, &w->ftrace.v[i]);
	out_u32(o, (uint32_t)w->nr_systems);
	for (size_t i = 0; i < w->nr_systems; i++) {
		const struct tdw_system *s = &w->systems[i];
		out_bytes(o, s->name, strlen(s->name) + 1);
		out_u32(o, (uint32_t)s->formats.nr);
		for (size_t j = 0; j < s->formats.nr; j++)
			write_blob64(o, &s->formats.v[j]);
	}

	/* Kallsyms, printk formats, saved cmdlines. */
	write_blob32(o, &w->kallsyms);
	write_blob32(o, &w->printk);
	write_blob64(o, &w->cmdlines);

	/* CPU count, options, flyrecord table. */
	out_u32(o, (uint32_t)w->nr_cpus);
	out_bytes(o, PCP_TRACEDAT_TAG_OPTIONS, sizeof(PCP_TRACEDAT_TAG_OPTIONS));
	for (size_t i = 0; i < w->nr_options; i++) {
		out_u16(o, w->options[i].id);
		out_u32(o, (uint32_t)w->options[i].data.len);
		out_bytes(o, w->options[i].data.data, w->options[i].data.len);
	}
	out_u16(o, PCP_TRACEDAT_OPT_DONE);
	out_bytes(o, PCP_TRACEDAT_TAG_FLYRECORD, sizeof(PCP_TRACEDAT_TAG_FLYRECORD));

	/* CPU data starts page aligned after the table; each CPU's data is whole pages. */
	data_offset = o->offset + 16ull * (uint64_t)w->nr_cpus;
	data_offset = (data_offset + w->page_size - 1) / w->page_size * w->page_size;
	for (int c = 0; c < w->nr_cpus; c++) {
		struct tdw_cpu *cpu = &w->cpus[c];
		cpu->file_offset = data_offset;
		out_u64(o, cpu->file_offset);
		out_u64(o, cpu->size);
		data_offset += cpu->size;
	}
	out_zeros(o, w->cpus[0].file_offset - o->offset);
	out_flush(o);
	err = o->err;
	free(o);
	if (err)
		return err;

	for (int c = 0; c < w->nr_cpus; c++) {
		struct tdw_cpu *cpu = &w->cpus[c];
		int src = cpu->ext_fd >= 0 ? cpu->ext_fd : cpu->own_fd;
		if (!cpu->size)
			continue;
		err = copy_range(src, w->out.fd, cpu->file_offset, cpu->size);
		if (err)
			return err;
	}
	return PCP_OK;
}

/* ---- version 7 ---- */

/* Section descriptions: the strings section is this text, an id is an offset into it. */
static const char v7_strings[] = "headers\0ftrace events\0events format\0kallsyms\0printk\0"
				 "command lines\0options\0buffer flyrecord \0strings";
enum {
	V7_STR_HEADERS = 0, V7_STR_FTRACE = 8, V7_STR_EVENTS = 22, V7_STR_KALLSYMS = 36,
	V7_STR_PRINTK = 45, V7_STR_CMDLINES = 52, V7_STR_OPTIONS = 66, V7_STR_FLYRECORD = 74,
	V7_STR_STRINGS = 92,
};

/* A growing memory buffer that remembers running out of memory. */
struct tdw_mem {
	unsigned char *p;
	size_t n, cap;
	int err;
};

static void mem_bytes(struct tdw_mem *m, const void *data, size_t len)
{
	if (m->err || !len)
		return;
	if (m->n + len > m->cap) {
		size_t cap = m->cap ? m->cap : 4096;
		unsigned char *p;
		while (cap < m->n + len)
			cap *= 2;
		p = realloc(m->p, cap);
		if (!p) {
			m->err = PCP_ERR_NOMEM;
			return;
		}
		m->p = p;
		m->cap = cap;
	}
	memcpy(m->p + m->n, data, len);
	m->n += len;
}

static void mem_u32(struct tdw_mem *m, uint32_t v) { mem_bytes(m, &v, 4); }
static void mem_u64(struct tdw_mem *m, uint64_t v) { mem_bytes(m, &v, 8); }

static void mem_blob64(struct tdw_mem *m, const struct tdw_blob *b)
{
	mem_u64(m, b->len);
	mem_bytes(m, b->data, b->len);
}

static void mem_blob32(struct tdw_mem *m, const struct tdw_blob *b)
{
	mem_u32(m, (uint32_t)b->len);
	mem_bytes(m, b->data, b->len);
}

static void out_section_header(struct tdw_out *o, uint16_t id, uint16_t flags, uint32_t str,
			       uint64_t size)
{
	out_u16(o, id);
	out_u16(o, flags);
	out_u32(o, str);
	out_u64(o, size);
}

/* Upper bound of the compressed size of n bytes. */
static size_t comp_bound(const struct pcp_tdw *w, size_t n)
{
	return w->comp == TDW_COMP_ZSTD ? ZSTD_compressBound(n) : (size_t)compressBound((uLong)n);
}

/* One block compressed into z (comp_bound bytes) as trace-cmd's plugins do: a zstd frame at
 * the default level, or a zlib stream by compress2() at Z_BEST_COMPRESSION
 * (trace-compress-zlib.c). cctx: NULL or a zstd context to reuse. */
static int comp_block(const struct pcp_tdw *w, ZSTD_CCtx *cctx, void *z, size_t bound,
		      const void *in, size_t n, size_t *csize)
{
	if (w->comp == TDW_COMP_ZSTD) {
		size_t r = cctx ? ZSTD_compressCCtx(cctx, z, bound, in, n, ZSTD_CLEVEL_DEFAULT)
				: ZSTD_compress(z, bound, in, n, ZSTD_CLEVEL_DEFAULT);
		if (ZSTD_isError(r))
			return PCP_ERR_NOMEM; /* only for lack of memory with a bound-sized buffer */
		*csize = r;
	} else {
		uLongf got = (uLongf)bound;
		if (compress2(z, &got, in, (uLong)n, Z_BEST_COMPRESSION) != Z_OK)
			return PCP_ERR_NOMEM; /* likewise: Z_MEM_ERROR */
		*csize = (size_t)got;
	}
	return *csize > UINT32_MAX ? PCP_ERR_USAGE : PCP_OK;
}

/* One section holding m's bytes; compressed as one block (as trace-cmd does) when compressing. */
static int out_section(struct pcp_tdw *w, struct tdw_out *o, uint16_t id, uint32_t str,
		       const struct tdw_mem *m)
{
	size_t bound, csize;
	void *z;
	int err;

	if (m->err)
		return m->err;
	if (w->comp == TDW_COMP_NONE) {
		out_section_header(o, id, 0, str, m->n);
		out_bytes(o, m->p, m->n);
		return PCP_OK;
	}
	if (m->n > UINT32_MAX)
		return PCP_ERR_USAGE;
	bound = comp_bound(w, m->n);
	z = malloc(bound);
	if (!z)
		return PCP_ERR_NOMEM;
	if ((err = comp_block(w, NULL, z, bound, m->p, m->n, &csize))) {
		free(z);
		return err;
	}
	out_section_header(o, id, PCP_TRACEDAT_SEC_FLAG_COMPRESSED, str, 8 + (uint64_t)csize);
	out_u32(o, (uint32_t)csize);
	out_u32(o, (uint32_t)m->n);
	out_bytes(o, z, csize);
	free(z);
	return PCP_OK;
}

/*
 * Compresses len bytes of src (from offset 0) to dst at dst_off: a chunk count, then per chunk
 * of up to TDW_CHUNK_PAGES pages its compressed size, uncompressed size and compressed block.
 * *out_len gets the bytes after the count (what the BUFFER option declares).
 */
static int compress_cpu(struct pcp_tdw *w, ZSTD_CCtx *cctx, int src, int dst, uint64_t dst_off,
			uint64_t len, uint64_t *out_len)
{
	size_t chunk_max = (size_t)w->page_size * TDW_CHUNK_PAGES;
	size_t bound = comp_bound(w, chunk_max);
	unsigned char *in = malloc(chunk_max), *z = malloc(8 + bound);
	uint64_t in_off = 0, pos = dst_off + 4;
	uint32_t count = 0, v;
	int err = PCP_OK;

	if (!in || !z)
		err = PCP_ERR_NOMEM;
	while (!err && in_off < len) {
		size_t n = len - in_off < chunk_max ? (size_t)(len - in_off) : chunk_max;
		size_t csize;

		if ((err = read_cpu_data(src, in, n, in_off)))
			break;
		if ((err = comp_block(w, cctx, z + 8, bound, in, n, &csize)))
			break;
		v = (uint32_t)csize;
		memcpy(z, &v, 4);
		v = (uint32_t)n;
		memcpy(z + 4, &v, 4);
		if ((err = pcp_io_pwrite_all(dst, z, 8 + csize, pos)))
			break;
		pos += 8 + csize;
		in_off += n;
		count++;
	}
	if (!err)
		err = pcp_io_pwrite_all(dst, &count, 4, dst_off);
	free(in);
	free(z);
	*out_len = pos - dst_off - 4;
	return err;
}

/* The selected clock of the TRACECLOCK option ("[local] global" -> "local"); "local" if none. */
static int selected_clock(const struct pcp_tdw *w, char *buf, size_t len)
{
	snprintf(buf, len, "local");
	for (size_t i = 0; i < w->nr_options; i++) {
		const struct tdw_option *opt = &w->options[i];
		const char *open, *close;
		if (opt->id != PCP_TRACEDAT_OPT_TRACECLOCK || !opt->data.len)
			continue;
		open = memchr(opt->data.data, '[', opt->data.len);
		close = open ? memchr(open, ']', opt->data.len - (size_t)(open - opt->data.data)) : NULL;
		if (!open || !close || close == open + 1 || (size_t)(close - open) >= len)
			return PCP_ERR_USAGE;
		memcpy(buf, open + 1, (size_t)(close - open - 1));
		buf[close - open - 1] = 0;
	}
	return PCP_OK;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

/* Offsets write_v7 leaves as placeholders and patches once the data after them is written. */
struct v7_marks {
	uint64_t first_options_at;  /* file header field: offset of options section 1 */
	uint64_t options1;          /* options section 1 */
	uint64_t options2_done_at;  /* DONE of options section 2: offset of section 3 */
	uint64_t flyrecord;         /* the top buffer's flyrecord section header */
	uint64_t data_end;          /* end of the CPU data */
	uint64_t options3;          /* options section 3 (BUFFER) */
};

/* Number of metadata sections: header info .. command lines, consecutive ids. */
#define V7_NR_META (PCP_TRACEDAT_SEC_CMDLINES - PCP_TRACEDAT_SEC_HEADER_INFO + 1)

/* Initial format, compression header (name and library version, as the plugin registers them
 * with trace-cmd, or "none"), and a placeholder for the offset of the first options section. */
static void v7_file_header(struct pcp_tdw *w, struct tdw_out *o, struct v7_marks *mk)
{
	if (w->comp != TDW_COMP_NONE) {
		const char *ver = w->comp == TDW_COMP_ZSTD ? ZSTD_versionString() : zlibVersion();
		out_bytes(o, w->comp == TDW_COMP_ZSTD ? "zstd" : "zlib", 5);
		out_bytes(o, ver, strlen(ver) + 1);
	} else {
		out_bytes(o, "none\0", 6);
	}
	mk->first_options_at = o->offset;
	out_u64(o, 0);
}

/* The content of metadata section id, in m (emptied first). */
static void v7_meta_content(const struct pcp_tdw *w, int id, struct tdw_mem *m)
{
	m->n = 0;
	switch (id) {
	case PCP_TRACEDAT_SEC_HEADER_INFO:
		mem_bytes(m, PCP_TRACEDAT_TAG_HEADER_PAGE, sizeof(PCP_TRACEDAT_TAG_HEADER_PAGE));
		mem_blob64(m, &w->header_page);
		mem_bytes(m, PCP_TRACEDAT_TAG_HEADER_EVENT, sizeof(PCP_TRACEDAT_TAG_HEADER_EVENT));
		mem_blob64(m, &w->header_event);
		break;
	case PCP_TRACEDAT_SEC_FTRACE_EVENTS:
		mem_u32(m, (uint32_t)w->ftrace.nr);
		for (size_t i = 0; i < w->ftrace.nr; i++)
			mem_blob64(m, &w->ftrace.v[i]);
		break;
	case PCP_TRACEDAT_SEC_EVENT_FORMATS:
		mem_u32(m, (uint32_t)w->nr_systems);
		for (size_t i = 0; i < w->nr_systems; i++) {
			const struct tdw_system *s = &w->systems[i];
			mem_bytes(m, s->name, strlen(s->name) + 1);
			mem_u32(m, (uint32_t)s->formats.nr);
			for (size_t j = 0; j < s->formats.nr; j++)
				mem_blob64(m, &s->formats.v[j]);
		}
		break;
	case PCP_TRACEDAT_SEC_KALLSYMS:
		mem_blob32(m, &w->kallsyms);
		break;
	case PCP_TRACEDAT_SEC_PRINTK:
		mem_blob32(m, &w->printk);
		break;
	default:
		mem_blob64(m, &w->cmdlines);
		break;
	}
}

/* Header info, ftrace formats, event formats, kallsyms, printk formats, cmdlines; their
 * offsets in meta_off for the second options section. */
static int v7_meta_sections(struct pcp_tdw *w, struct tdw_out *o, struct tdw_mem *m,
			    uint64_t meta_off[V7_NR_META])
{
	static const uint32_t strs[V7_NR_META] = { V7_STR_HEADERS, V7_STR_FTRACE, V7_STR_EVENTS,
						   V7_STR_KALLSYMS, V7_STR_PRINTK, V7_STR_CMDLINES };
	int err = PCP_OK;

	for (int i = 0; i < V7_NR_META && !err; i++) {
		int id = PCP_TRACEDAT_SEC_HEADER_INFO + i;
		v7_meta_content(w, id, m);
		meta_off[i] = o->offset;
		err = out_section(w, o, (uint16_t)id, strs[i], m);
	}
	return err;
}

/* Options section 1: the added options, in order; DONE points to section 2 right after. */
static void v7_options_added(const struct pcp_tdw *w, struct tdw_out *o, struct v7_marks *mk)
{
	uint64_t size = 14;

	for (size_t i = 0; i < w->nr_options; i++)
		size += 6 + w->options[i].data.len;
	mk->options1 = o->offset;
	out_section_header(o, PCP_TRACEDAT_SEC_OPTIONS, 0, V7_STR_OPTIONS, size);
	for (size_t i = 0; i < w->nr_options; i++) {
		out_u16(o, w->options[i].id);
		out_u32(o, (uint32_t)w->options[i].data.len);
		out_bytes(o, w->options[i].data.data, w->options[i].data.len);
	}
	out_u16(o, PCP_TRACEDAT_OPT_DONE);
	out_u32(o, 8);
	out_u64(o, o->offset + 8);
}

/* Options section 2: where the metadata sections are, the CPU count; DONE patched later. */
static void v7_options_offsets(const struct pcp_tdw *w, struct tdw_out *o,
			       const uint64_t meta_off[V7_NR_META], struct v7_marks *mk)
{
	out_section_header(o, PCP_TRACEDAT_SEC_OPTIONS, 0, V7_STR_OPTIONS, V7_NR_META * 14 + 10 + 14);
	for (int i = 0; i < V7_NR_META; i++) {
		out_u16(o, (uint16_t)(PCP_TRACEDAT_SEC_HEADER_INFO + i));
		out_u32(o, 8);
		out_u64(o, meta_off[i]);
	}
	out_u16(o, PCP_TRACEDAT_OPT_CPUCOUNT);
	out_u32(o, 4);
	out_u32(o, (uint32_t)w->nr_cpus);
	out_u16(o, PCP_TRACEDAT_OPT_DONE);
	out_u32(o, 8);
	mk->options2_done_at = o->offset;
	out_u64(o, 0);
}

/* Explicit zeros (not a hole) in fd from *cur up to end. */
static int pad_zeros(int fd, uint64_t *cur, uint64_t end)
{
	static const unsigned char zeros[4096];
	int err = PCP_OK;

	while (!err && *cur < end) {
		uint64_t n = end - *cur < sizeof(zeros) ? end - *cur : sizeof(zeros);
		err = pcp_io_pwrite_all(fd, zeros, (size_t)n, *cur);
		*cur += n;
	}
	return err;
}

/* Each CPU's data from *cur on, page aligned (compressed: chunk table and chunks); CPUs
 * without data are left out. *cur ends after the last; *nr_with_data counts the CPUs written. */
static int v7_cpu_data(struct pcp_tdw *w, uint64_t *cur, uint32_t *nr_with_data)
{
	ZSTD_CCtx *cctx = NULL;
	int err = PCP_OK;

	if (w->comp == TDW_COMP_ZSTD && !(cctx = ZSTD_createCCtx()))
		return PCP_ERR_NOMEM;
	for (int c = 0; c < w->nr_cpus && !err; c++) {
		struct tdw_cpu *cpu = &w->cpus[c];
		int src = cpu->ext_fd >= 0 ? cpu->ext_fd : cpu->own_fd;
		if (!cpu->size)
			continue;
		(*nr_with_data)++;
		cpu->file_offset = align_up(*cur, w->page_size);
		err = pad_zeros(w->out.fd, cur, cpu->file_offset);
		if (!err && w->comp != TDW_COMP_NONE) {
			uint64_t len = cpu->size;
			err = compress_cpu(w, cctx, src, w->out.fd, cpu->file_offset, len, &cpu->size);
			*cur = cpu->file_offset + 4 + cpu->size;
		} else if (!err) {
			err = copy_range(src, w->out.fd, cpu->file_offset, cpu->size);
			*cur = cpu->file_offset + cpu->size;
		}
	}
	ZSTD_freeCCtx(cctx);
	return err;
}

/* Options section 3: the BUFFER option of the top buffer ("" name) with its clock, page size
 * and the CPUs with data; the last options section (DONE 0). */
static void v7_options_buffer(const struct pcp_tdw *w, struct tdw_out *o, const char *clock,
			      uint32_t nr_with_data, struct v7_marks *mk)
{
	uint32_t blen = 8 + 1 + (uint32_t)strlen(clock) + 1 + 4 + 4 + 20 * nr_with_data;

	mk->options3 = o->offset;
	out_section_header(o, PCP_TRACEDAT_SEC_OPTIONS, 0, V7_STR_OPTIONS, 6 + blen + 14);
	out_u16(o, PCP_TRACEDAT_OPT_BUFFER);
	out_u32(o, blen);
	out_u64(o, mk->flyrecord);
	out_bytes(o, "", 1);
	out_bytes(o, clock, strlen(clock) + 1);
	out_u32(o, w->page_size);
	out_u32(o, nr_with_data);
	for (int c = 0; c < w->nr_cpus; c++) {
		if (!w->cpus[c].size)
			continue;
		out_u32(o, (uint32_t)c);
		out_u64(o, w->cpus[c].file_offset);
		out_u64(o, w->cpus[c].size);
	}
	out_u16(o, PCP_TRACEDAT_OPT_DONE);
	out_u32(o, 8);
	out_u64(o, 0);
}

/* The offsets known only now: first options section, options section 3, flyrecord size. */
static int v7_patch(struct pcp_tdw *w, const struct v7_marks *mk)
{
	uint64_t fly_size = mk->data_end - (mk->flyrecord + 16);
	int err = pcp_io_pwrite_all(w->out.fd, &mk->options1, 8, mk->first_options_at);

	if (!err)
		err = pcp_io_pwrite_all(w->out.fd, &mk->options3, 8, mk->options2_done_at);
	if (!err)
		err = pcp_io_pwrite_all(w->out.fd, &fly_size, 8, mk->flyrecord + 8);
	return err;
}

/*
 * Version 7 in file order: header; metadata sections; options 1 (added options) and 2 (section
 * offsets, CPUCOUNT); the flyrecord section with the CPU data (written with pwrite beside the
 * buffered stream); options 3 (BUFFER); strings; then the placeholders are patched.
 */
static int write_v7(struct pcp_tdw *w)
{
	static const char magic[] = PCP_TRACEDAT_MAGIC "7";   /* with its NUL */
	struct tdw_out *o;
	struct tdw_mem m = { 0 };
	struct v7_marks mk = { 0 };
	uint64_t meta_off[V7_NR_META];
	uint32_t nr_with_data = 0;
	char clock[64];
	int err;

	if ((err = selected_clock(w, clock, sizeof(clock))))
		return err;
	o = out_begin(w, magic, sizeof(magic));
	if (!o)
		return PCP_ERR_NOMEM;
	v7_file_header(w, o, &mk);
	if ((err = v7_meta_sections(w, o, &m, meta_off)))
		goto out;
	v7_options_added(w, o, &mk);
	v7_options_offsets(w, o, meta_off, &mk);

	/* Flyrecord section header of the top buffer (size patched), padded to a page. */
	mk.flyrecord = o->offset;
	out_section_header(o, PCP_TRACEDAT_SEC_FLYRECORD, w->comp ? PCP_TRACEDAT_SEC_FLAG_COMPRESSED : 0,
			   V7_STR_FLYRECORD, 0);
	out_zeros(o, align_up(o->offset, w->page_size) - o->offset);
	out_flush(o);
	if ((err = o->err))
		goto out;
	mk.data_end = o->offset;
	if ((err = v7_cpu_data(w, &mk.data_end, &nr_with_data)))
		goto out;

	/* The buffered stream goes on after the CPU data. */
	if (lseek(w->out.fd, (off_t)mk.data_end, SEEK_SET) < 0) {
		err = PCP_ERR_IO;
		goto out;
	}
	o->offset = mk.data_end;
	v7_options_buffer(w, o, clock, nr_with_data, &mk);
	m.n = 0;
	mem_bytes(&m, v7_strings, sizeof(v7_strings));
	if ((err = out_section(w, o, PCP_TRACEDAT_SEC_STRINGS, V7_STR_STRINGS, &m)))
		goto out;
	out_flush(o);
	if (!(err = o->err))
		err = v7_patch(w, &mk);
out:
	free(m.p);
	free(o);
	return err;
}

static int measure_cpus(struct pcp_tdw *w)
{
	for (int c = 0; c < w->nr_cpus; c++) {
		struct tdw_cpu *cpu = &w->cpus[c];
		if (cpu->ext_fd >= 0) {
			struct stat st;
			if (fstat(cpu->ext_fd, &st) < 0)
				return PCP_ERR_IO;
			cpu->size = (uint64_t)st.st_size;
			if (cpu->size % w->page_size)
				return PCP_ERR_CORRUPT;
		} else {
			cpu->size = cpu->own_pages * w->page_size;
		}
	}
	return PCP_OK;
}

int pcp_tdw_commit(struct pcp_tdw *w)
{
	char msg[256];
	int err;

	if (!w)
		return PCP_ERR_USAGE;
	if (!w->header_page.data || !w->header_event.data) {
		pcp_tdw_abort(w);
		return PCP_ERR_USAGE;
	}
	err = measure_cpus(w);
	if (!err)
		err = w->file_version == 7 ? write_v7(w) : write_v6(w);
	if (!err)   /* fsync, rename, fsync of the directory; errno says why it failed */
		err = pcp_outfile_commit(&w->out, msg, sizeof(msg));
	tdw_free(w);   /* removes the temporary file if it is still there; keeps errno */
	return err;
}

void pcp_tdw_abort(struct pcp_tdw *w)
{
	if (w)
		tdw_free(w);
}
