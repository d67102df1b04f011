/* kallsyms loaded when the first address is resolved, not at open.
 *
 * Why: a pcprecord trace carries the whole /proc/kallsyms (122k symbols, 5.4 MB here) and
 * libtracecmd 3.1.6 parses it in tracecmd_open_head() (tep_parse_kallsyms: one malloc and
 * strdup per symbol), with no open flag to skip it; the header-check child
 * (tracedat_probe.c) parsed it a second time. Most analyses never resolve an address (only
 * kernel stacks and percpu call sites do), and on a 1 s pcprecord trace the two parses were
 * about 60 % of the run's CPU time (bench/RESULTS.md).
 *
 * How: on the direct path libtracecmd only parses headers, so it is handed a sparse memfd copy
 * of the file with the same offsets (v6's are absolute, v7's sections are found by offset)
 * where the kallsyms text reads as empty and the ring-buffer data are holes; the child checks
 * that same copy. The kallsyms text is read from the real file and parsed, by our own code
 * (pcp_ksyms_map_parse, the rules of tep_parse_kallsyms), into a map of our own the first time
 * tep's function resolver is asked; lookups then answer from it as libtraceevent's own map
 * would: the same entries in the same order (its list is newest first and qsort'ed by
 * address; equal addresses keep that order, as glibc's merge sort does) and the same binary
 * search (glibc's bsearch with libtraceevent's func_bcmp, over count entries and an end
 * entry of address 0).
 *
 * Why not libtraceevent's own map in a private tep, as before: a sscanf per line, a malloc and
 * strdup per symbol and the map built from the list at the first lookup were 72-87 of the
 * 100-115 ms a 122k-symbol load took; now the parse and sort take 22-23 ms (the read of the
 * text, ~24 ms, is the same; measured on rec15.dat). Names point into the text, kept with
 * the map; lines of the form the kernel writes skip sscanf (fast_line), others go through it. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <traceevent/event-parse.h>
#include <zstd.h>
#include "common/error.h"
#include "common/io.h"
#include "tracedat/kallsyms_lazy.h"

#define MAX_KALLSYMS (256u << 20)   /* the walk refuses texts above 64 MB */

/* One function as libtraceevent's struct func_map holds it; order: its place in the list
 * libtraceevent would build (newest first), the tie-break of the sort by address. */
struct pcp_ksym {
	uint64_t addr;
	const char *name;
	uint32_t order;
};

struct pcp_ksyms_map {
	struct pcp_ksym *syms;      /* sorted, then an end entry of address 0 */
	size_t n;
	char *text;                 /* the names point into it */
};

struct pcp_ksyms {
	pthread_mutex_t lock;
	struct pcp_ksyms_map *map;  /* the kallsyms' functions, once loaded */
	int fd;                     /* the trace, opened at attach: a file replaced later is not read */
	struct pcp_ksyms_loc loc;
	int loaded;
	int asked;                  /* an address was looked up: only then does err count */
	int err;
	pthread_t preload;          /* pcp_ksyms_preload's thread, joined at free */
	int preloading;
};

static uint32_t get_u32(const unsigned char *p, int big_endian)
{
	return big_endian ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
			  : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* What sscanf(line, "%16llx %c %n%*s%n%*1[\t][%n%*s%n", ...) gives, for the lines the
 * kernel writes: "ADDR T NAME" or "ADDR T NAME\t[MOD]", ADDR 1 to 16 hex digits (no sign, no
 * 0x), one space either side of the type. 1 when the line has that form (the results set as
 * sscanf would set them), 0 when it is anything else: sscanf itself decides then. */
static int fast_line(const char *line, unsigned long long *addr, char *type, int *name_at,
		     int *name_end, int *mod_at, int *mod_end)
{
	unsigned long long a = 0;
	int i = 0, v;

	if (line[0] == '0' && (line[1] == 'x' || line[1] == 'X'))
		return 0;
	while (i < 16 && (v = hex_value(line[i])) >= 0) {
		a = a << 4 | (unsigned)v;
		i++;
	}
	if (!i || line[i] != ' ' || !line[i + 1] || is_space(line[i + 1]) || line[i + 2] != ' ' ||
	    !line[i + 3] || is_space(line[i + 3]))
		return 0;
	*addr = a;
	*type = line[i + 1];
	*name_at = i + 3;
	for (i += 3; line[i] && !is_space(line[i]); i++)
		;
	*name_end = i;
	*mod_at = *mod_end = 0;
	if (line[i] == '\t' && line[i + 1] == '[') {
		if (!line[i + 2] || is_space(line[i + 2]))
			return 0;
		*mod_at = i + 2;
		for (i += 2; line[i] && !is_space(line[i]); i++)
			;
		*mod_end = i;
	}
	return 1;
}

/* libtraceevent's list is newest first and qsort'ed by address with glibc's merge sort, so
 * equal addresses end up newest first: order counts down from the last registered. */
static int ksym_order(const void *pa, const void *pb)
{
	const struct pcp_ksym *a = pa, *b = pb;

	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	return a->order > b->order ? -1 : a->order < b->order;
}

void pcp_ksyms_map_free(struct pcp_ksyms_map *m)
{
	if (!m)
		return;
	free(m->syms);
	free(m->text);
	free(m);
}

struct pcp_ksyms_map *pcp_ksyms_map_parse(char *text)
{
	struct pcp_ksyms_map *m = calloc(1, sizeof(*m));
	size_t cap = 0;
	char *save = NULL;

	if (!m) {
		free(text);
		return NULL;
	}
	m->text = text;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long addr;
		int name_at = 0, name_end = 0, mod_at = 0, mod_end = 0, n = 2;
		char type;

		if (!fast_line(line, &addr, &type, &name_at, &name_end, &mod_at, &mod_end)) {
			errno = 0;
			n = sscanf(line, "%16llx %c %n%*s%n%*1[\t][%n%*s%n", &addr, &type, &name_at,
				   &name_end, &mod_at, &mod_end);
			if (errno || n != 2 || !name_end)
				break;   /* as tep_parse_kallsyms: what came before stays */
		}
		/* arm's '$a' mapping symbols, x86-64's per-CPU offsets reported as absolute */
		if (line[name_at] == '$' || type == 'A' || type == 'a')
			continue;
		line[name_end] = '\0';
		if (mod_end)
			line[mod_end - 1] = '\0';   /* the ']' (the module name is not kept: lookups
						     * through a resolver report none) */
		if (m->n + 1 >= cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			struct pcp_ksym *ns = realloc(m->syms, ncap * sizeof(*ns));

			if (!ns)
				break;   /* as a failed tep_register_function: fewer functions */
			m->syms = ns;
			cap = ncap;
		}
		m->syms[m->n] = (struct pcp_ksym){ .addr = addr, .name = line + name_at,
						   .order = (uint32_t)m->n };
		m->n++;
	}
	if (m->n)
		qsort(m->syms, m->n, sizeof(*m->syms), ksym_order);
	if (m->syms)
		m->syms[m->n] = (struct pcp_ksym){ 0 };   /* func_map_init's end entry */
	return m;
}

/* libtraceevent's func_bcmp: key inside [p, next) or on p. */
static int ksym_bcmp(uint64_t key, const struct pcp_ksym *p)
{
	if (key == p->addr || (key > p->addr && key < p[1].addr))
		return 0;
	return key < p->addr ? -1 : 1;
}

const char *pcp_ksyms_map_find(const struct pcp_ksyms_map *m, uint64_t addr, uint64_t *start)
{
	size_t l = 0, u = m ? m->n : 0;

	/* glibc's bsearch, step for step: with equal addresses which entry answers depends on it */
	while (l < u) {
		size_t idx = (l + u) / 2;
		int c = ksym_bcmp(addr, &m->syms[idx]);

		if (c < 0) {
			u = idx;
		} else if (c > 0) {
			l = idx + 1;
		} else {
			if (start)
				*start = m->syms[idx].addr;
			return m->syms[idx].name;
		}
	}
	return NULL;
}

/* The text libtracecmd's read_proc_kallsyms() would hand tep_parse_kallsyms(), malloc'ed. */
static int read_text(const struct pcp_ksyms_loc *loc, int fd, char **out)
{
	unsigned char *sec = NULL, *raw = NULL;
	unsigned char len4[4];
	uint32_t len;
	char *text;
	int err;

	*out = NULL;
	if (loc->where == PCP_KSYMS_ZSTD) {
		uint32_t csize, usize;
		size_t n;

		if (loc->size < 8 || loc->size > MAX_KALLSYMS || !(raw = malloc((size_t)loc->size)))
			return loc->size < 8 || loc->size > MAX_KALLSYMS ? PCP_ERR_CORRUPT : PCP_ERR_NOMEM;
		if ((err = pcp_io_pread_all(fd, raw, (size_t)loc->size, (off_t)loc->off)))
			goto out;
		csize = get_u32(raw, loc->big_endian);
		usize = get_u32(raw + 4, loc->big_endian);
		err = PCP_ERR_CORRUPT;
		if (csize > loc->size - 8 || usize < 4 || usize > MAX_KALLSYMS)
			goto out;
		/* the text is the section after its length: moved down in place, not copied into a
		 * second buffer of the same size */
		err = PCP_ERR_NOMEM;
		if (!(sec = malloc((size_t)usize + 1)))
			goto out;
		n = ZSTD_decompress(sec, usize, raw + 8, csize);
		err = PCP_ERR_CORRUPT;
		if (ZSTD_isError(n) || n != usize)
			goto out;
		len = get_u32(sec, loc->big_endian);
		if (len > usize - 4)
			goto out;
		memmove(sec, sec + 4, len);
		text = (char *)sec;
		sec = NULL;
	} else {
		if ((err = pcp_io_pread_all(fd, len4, 4, (off_t)loc->off)))
			goto out;
		len = get_u32(len4, loc->big_endian);
		err = PCP_ERR_CORRUPT;
		if (len > MAX_KALLSYMS)
			goto out;
		err = PCP_ERR_NOMEM;
		if (!(text = malloc((size_t)len + 1)))
			goto out;
		if ((err = pcp_io_pread_all(fd, text, len, (off_t)loc->off + 4))) {
			free(text);
			goto out;
		}
	}
	text[len] = '\0';
	*out = text;
	err = PCP_OK;
out:
	free(raw);
	free(sec);
	return err;
}

static int load(struct pcp_ksyms *k)
{
	char *text = NULL;
	int err = PCP_OK;

	if ((k->loc.where == PCP_KSYMS_PLAIN || k->loc.where == PCP_KSYMS_ZSTD) &&
	    (err = read_text(&k->loc, k->fd, &text)))
		return err;
	if (!text && !(text = strdup("")))
		return PCP_ERR_NOMEM;
	return (k->map = pcp_ksyms_map_parse(text)) ? PCP_OK : PCP_ERR_NOMEM;
}

static char *resolve(void *priv, unsigned long long *addrp, char **modp)
{
	struct pcp_ksyms *k = priv;
	const char *fn = NULL;
	uint64_t start = 0;

	pthread_mutex_lock(&k->lock);
	k->asked = 1;
	if (!k->loaded) {
		k->loaded = 1;
		k->err = load(k);
	}
	if (k->map && (fn = pcp_ksyms_map_find(k->map, *addrp, &start)))
		*addrp = start;
	pthread_mutex_unlock(&k->lock);
	*modp = NULL;
	return (char *)fn;
}

int pcp_ksyms_attach(struct tep_handle *tep, const char *path, const struct pcp_ksyms_loc *loc,
		     struct pcp_ksyms **out)
{
	struct pcp_ksyms *k = calloc(1, sizeof(*k));

	*out = NULL;
	if (!k)
		return PCP_ERR_NOMEM;
	if ((k->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		free(k);
		return PCP_ERR_NOFILE;
	}
	k->loc = *loc;
	pthread_mutex_init(&k->lock, NULL);
	if (tep_set_function_resolver(tep, resolve, k)) {
		pcp_ksyms_free(k);
		return PCP_ERR_NOMEM;
	}
	*out = k;
	return PCP_OK;
}

void pcp_ksyms_load_now(struct pcp_ksyms *k)
{
	if (!k)
		return;
	pthread_mutex_lock(&k->lock);
	if (!k->loaded) {
		k->loaded = 1;
		k->err = load(k);
	}
	pthread_mutex_unlock(&k->lock);
}

static void *preload_main(void *arg)
{
	pthread_setname_np(pthread_self(), "pcp-kallsyms");   /* perf --sort comm, top -H */
	pcp_ksyms_load_now(arg);
	return NULL;
}

void pcp_ksyms_preload(struct pcp_ksyms *k)
{
	if (!k || k->preloading || k->loaded)
		return;
	/* no thread (out of resources): the first lookup loads it, as without preload */
	k->preloading = !pthread_create(&k->preload, NULL, preload_main, k);
}

void pcp_ksyms_free(struct pcp_ksyms *k)
{
	if (!k)
		return;
	if (k->preloading)
		pthread_join(k->preload, NULL);
	pcp_ksyms_map_free(k->map);
	close(k->fd);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

int pcp_ksyms_status(struct pcp_ksyms *k)
{
	int err;

	if (!k)
		return PCP_OK;
	/* a preload that failed is no error of an analysis that never looked an address up:
	 * the results are those of the lazy load at any -j */
	pthread_mutex_lock(&k->lock);
	err = k->asked ? k->err : PCP_OK;
	pthread_mutex_unlock(&k->lock);
	return err;
}

static int hole_order(const void *pa, const void *pb)
{
	const struct pcp_ksyms_hole *a = pa, *b = pb;

	return a->off < b->off ? -1 : a->off > b->off;
}

static int copy_range(int src, int dst, uint64_t off, uint64_t end, char *buf, size_t cap)
{
	while (off < end) {
		size_t n = end - off < cap ? (size_t)(end - off) : cap;
		int err = pcp_io_pread_all(src, buf, n, (off_t)off);
		if (err)
			return err;
		if (pwrite(dst, buf, n, (off_t)off) != (ssize_t)n)
			return PCP_ERR_IO;
		off += n;
	}
	return PCP_OK;
}

int pcp_ksyms_header_copy(int src_fd, uint64_t file_size, const struct pcp_ksyms_loc *loc,
			  const struct pcp_ksyms_hole *holes, size_t nr_holes, int *out_fd)
{
	struct pcp_ksyms_hole *h = calloc(nr_holes + 1, sizeof(*h));
	size_t cap = 1u << 20, n = nr_holes;
	char *buf = malloc(cap);
	uint64_t at = 0;
	int fd = -1, err = PCP_ERR_NOMEM;

	*out_fd = -1;
	if (!h || !buf)
		goto out;
	memcpy(h, holes, nr_holes * sizeof(*h));
	if (loc->where == PCP_KSYMS_PLAIN) {
		unsigned char len4[4];
		if ((err = pcp_io_pread_all(src_fd, len4, 4, (off_t)loc->off)))
			goto out;
		h[n++] = (struct pcp_ksyms_hole){ loc->off + 4, get_u32(len4, loc->big_endian) };
	} else if (loc->where == PCP_KSYMS_ZSTD) {
		h[n++] = (struct pcp_ksyms_hole){ loc->off, loc->size };
	}
	qsort(h, n, sizeof(*h), hole_order);
	err = PCP_ERR_IO;
	if ((fd = memfd_create("pcptrace-headers", MFD_CLOEXEC)) < 0 || ftruncate(fd, (off_t)file_size))
		goto out;
	for (size_t i = 0; i <= n; i++) {
		uint64_t end = i < n ? h[i].off : file_size;
		if (end > file_size)
			end = file_size;
		if (end > at && (err = copy_range(src_fd, fd, at, end, buf, cap)))
			goto out;
		if (i < n && h[i].off + h[i].size > at)
			at = h[i].off + h[i].size < h[i].off ? file_size : h[i].off + h[i].size;
	}
	if (loc->where == PCP_KSYMS_ZSTD) {
		/* the section's flags without "compressed", then a kallsyms of length 0 */
		unsigned char flags[2], zero[4] = { 0 };
		if ((err = pcp_io_pread_all(fd, flags, 2, (off_t)loc->section + 2)))
			goto out;
		flags[loc->big_endian ? 1 : 0] &= (unsigned char)~1u;
		err = PCP_ERR_IO;
		if (pwrite(fd, flags, 2, (off_t)loc->section + 2) != 2 ||
		    pwrite(fd, zero, 4, (off_t)loc->off) != 4)
			goto out;
	}
	err = PCP_OK;
	*out_fd = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	free(h);
	free(buf);
	return err;
}
