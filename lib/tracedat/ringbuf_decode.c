/* Direct ring-buffer reader (ringbuf_decode.h).
 *
 * Why: libtracecmd allocates (and frees) a tep_record per event, keeps page reference lists,
 * and for v7 compressed files decompresses every CPU into a temporary file at open. Here the
 * pages are mapped or decompressed by us, the kbuffer reads each page header (timestamp,
 * commit, missed events, first event), the entries after it are walked inline exactly as
 * kbuffer's __next_event does (the five kbuffer calls per event through the PLT and its
 * function-pointer byte readers were 40% of the reading time), and the merge is a heap of
 * streams whose head record is refreshed in place.
 *
 * Sameness with libtracecmd 3.1.x (lib/trace-cmd/trace-input.c): pages start at the section
 * offset and follow every page_size bytes; a page whose commit exceeds the page is an error
 * there too (it stops the CPU silently; here it is PCP_ERR_CORRUPT); the timestamp is the
 * kbuffer one (the caller refuses files whose options make libtracecmd shift or scale it);
 * compressed data is the concatenation of its chunks' uncompressed bytes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#include <event-parse.h>
#include <kbuffer.h>
#include "common/error.h"
#include "common/io.h"
#include "tracedat/ringbuf_decode.h"

#define MAP_WINDOW (4u << 20)   /* bytes of uncompressed data mapped per stream at a time */
/* The page header's commit word, as kbuffer-parse.c reads it. */
#define COMMIT_MASK ((1u << 27) - 1)
#define MISSED_EVENTS (1ULL << 31)
#define MISSED_STORED (1ULL << 30)

enum { COMP_NONE, COMP_ZSTD, COMP_ZLIB };

struct stream {
	struct tep_record rec;      /* the head record, handed out as is */
	struct kbuffer *kbuf;
	struct pcp_rbdec *d;
	uint32_t order;             /* section index: the tie-break */
	uint32_t cpu;
	const char *page;           /* the page loaded in kbuf */
	const char *data;           /* page + header: where event offsets count from */
	/* the page walk, as struct kbuffer keeps it: offsets from data */
	uint32_t curr, index, next, size;
	unsigned long long ts;
	int lost;                   /* the page's missed-events mark */
	int use_kbuffer;            /* the kbuffer walks the rest of this page */
	const char *buf;            /* pages of the current window or chunk */
	size_t buf_len, buf_pos;
	/* uncompressed: file range still to map, the current mapping */
	uint64_t next_off, end_off;
	void *map;
	size_t map_len;
	/* compressed: the next chunk header, chunks left, the chunk's uncompressed bytes */
	uint64_t chunk_off;
	uint32_t chunks_left;
	char *ubuf;
	size_t ubuf_cap;
};

struct pcp_rbdec {
	struct pcp_rbdec_params p;
	int comp;
	int swap;                   /* byte order not the host's, or the pre-2.6.31 page format:
				     * the kbuffer walks every page */
	uint32_t header_len;        /* page header: u64 timestamp + long commit */
	size_t sys_page;
	struct stream *streams;
	size_t nr_streams, nr_alloc;
	struct stream **heap;       /* min-heap on (rec.ts, order) */
	size_t heap_n;
	int pending;                /* heap[0]'s record was handed out: advance it first */
	int err;
	char msg[200];
	char *zbuf;                 /* one compressed chunk, shared by all streams */
	size_t zbuf_cap;
	ZSTD_DCtx *zctx;
};

static uint64_t get_num(const struct pcp_rbdec *d, const unsigned char *b, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v |= (uint64_t)b[d->p.big_endian ? n - 1 - i : i] << (8 * i);
	return v;
}

static int grow(char **buf, size_t *cap, size_t need)
{
	char *n;

	if (need <= *cap)
		return PCP_OK;
	n = realloc(*buf, need);
	if (!n)
		return PCP_ERR_NOMEM;
	*buf = n;
	*cap = need;
	return PCP_OK;
}

/* Next window (uncompressed) or chunk (compressed) of s into s->buf. 1 loaded, 0 end, < 0 error. */
static int next_block(struct stream *s)
{
	struct pcp_rbdec *d = s->d;

	if (d->comp == COMP_NONE) {
		uint64_t moff, len;
		size_t delta;

		if (s->map) {
			munmap(s->map, s->map_len);
			s->map = NULL;
		}
		if (s->next_off >= s->end_off)
			return 0;
		len = s->end_off - s->next_off;
		/* whole pages per window: both are powers of two */
		if (len > MAP_WINDOW && len > d->p.page_size)
			len = MAP_WINDOW > d->p.page_size ? MAP_WINDOW : d->p.page_size;
		moff = s->next_off & ~(uint64_t)(d->sys_page - 1);
		delta = (size_t)(s->next_off - moff);
		s->map = mmap(NULL, delta + len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, d->p.fd, (off_t)moff);
		if (s->map == MAP_FAILED) {
			s->map = NULL;
			d->err = pcp_errorf(d->msg, sizeof(d->msg), PCP_ERR_IO, "cannot map CPU %u data: %s",
					 s->cpu, strerror(errno));
			return -1;
		}
		s->map_len = delta + len;
		s->buf = (const char *)s->map + delta;
		s->buf_len = (size_t)len;
		s->buf_pos = 0;
		s->next_off += len;
		return 1;
	} else {
		unsigned char h[8];
		uint64_t csize, usize;
		int err;

		if (!s->chunks_left)
			return 0;
		if ((err = pcp_io_pread_all(d->p.fd, h, 8, s->chunk_off))) {
			d->err = pcp_errorf(d->msg, sizeof(d->msg), err, "cannot read a chunk header of CPU %u", s->cpu);
			return -1;
		}
		csize = get_num(d, h, 4);
		usize = get_num(d, h + 4, 4);
		if (!usize || usize % d->p.page_size || csize > d->p.file_size - s->chunk_off - 8) {
			d->err = pcp_errorf(d->msg, sizeof(d->msg), PCP_ERR_CORRUPT,
					 "CPU %u: damaged chunk header at byte %llu", s->cpu,
					 (unsigned long long)s->chunk_off);
			return -1;
		}
		if (grow(&d->zbuf, &d->zbuf_cap, (size_t)csize) || grow(&s->ubuf, &s->ubuf_cap, (size_t)usize)) {
			d->err = pcp_errorf(d->msg, sizeof(d->msg), PCP_ERR_NOMEM, "out of memory");
			return -1;
		}
		if ((err = pcp_io_pread_all(d->p.fd, d->zbuf, (size_t)csize, s->chunk_off + 8))) {
			d->err = pcp_errorf(d->msg, sizeof(d->msg), err, "cannot read a chunk of CPU %u", s->cpu);
			return -1;
		}
		if (d->comp == COMP_ZSTD) {
			size_t got = ZSTD_decompressDCtx(d->zctx, s->ubuf, (size_t)usize, d->zbuf, (size_t)csize);
			err = ZSTD_isError(got) || got != usize;
		} else {
			uLongf got = (uLongf)usize;
			err = uncompress((Bytef *)s->ubuf, &got, (const Bytef *)d->zbuf, (uLong)csize) != Z_OK ||
			      got != usize;
		}
		if (err) {
			d->err = pcp_errorf(d->msg, sizeof(d->msg), PCP_ERR_CORRUPT,
					 "CPU %u: compressed chunk at byte %llu does not decompress to its %llu declared bytes",
					 s->cpu, (unsigned long long)s->chunk_off, (unsigned long long)usize);
			return -1;
		}
		s->chunk_off += 8 + csize;
		s->chunks_left--;
		s->buf = s->ubuf;
		s->buf_len = (size_t)usize;
		s->buf_pos = 0;
		return 1;
	}
}

/* TSC cycles to ns exactly as libtracecmd's timestamp_calc() (mul_u64_u32_shr: the low and high
 * 32 bits multiplied separately, so no 128-bit product), so that both paths give equal records.
 * shift <= 32 (checked by the reader). */
static inline unsigned long long tsc_to_ns(unsigned long long ts, uint32_t mult, uint32_t shift)
{
	unsigned long long lo = ts & 0xffffffffULL, hi = ts >> 32;
	unsigned long long ns = (lo * mult) >> shift;

	if (hi)
		ns += (hi * mult) << (32 - shift);
	return ns;
}

static int corrupt_page(struct stream *s, const char *what)
{
	s->d->err = pcp_errorf(s->d->msg, sizeof(s->d->msg), PCP_ERR_CORRUPT, "CPU %u: %s", s->cpu, what);
	s->page = NULL;
	return -1;
}

/* The current event of the kbuffer (the one kbuffer_read_event returns) into s->rec and the
 * walker's state. */
static int take_kbuffer_event(struct stream *s, void *data, unsigned long long ts)
{
	s->curr = (uint32_t)kbuffer_curr_index(s->kbuf);
	s->index = (uint32_t)((const char *)data - s->data);
	s->next = s->index + (uint32_t)kbuffer_event_size(s->kbuf);
	s->ts = ts;
	return 1;
}

/* Loads the stream's next page into the kbuffer and onto its first event. 1 an event, 0 the
 * stream ended, < 0 error. */
static int next_page(struct stream *s)
{
	struct pcp_rbdec *d = s->d;
	unsigned long long ts;
	void *data;

	for (;;) {
		if (s->buf_pos >= s->buf_len) {
			int r = next_block(s);
			if (r <= 0) {
				s->page = NULL;
				return r;
			}
		}
		s->page = s->buf + s->buf_pos;
		s->buf_pos += d->p.page_size;
		s->data = s->page + d->header_len;
		/* The kbuffer reads the page header (timestamp, commit, lost events) and finds the
		 * first event, trusting the commit: it reads the stored missed count after the
		 * committed data. So the commit is checked against the page first. */
		{
			uint64_t commit = get_num(d, (const unsigned char *)s->page + 8, d->p.long_size);
			uint64_t need = (commit & COMMIT_MASK) +
					((commit & MISSED_EVENTS) && (commit & MISSED_STORED) ? (uint64_t)d->p.long_size : 0);
			if (need > d->p.page_size - d->header_len)
				return corrupt_page(s, "a ring-buffer page declares more data than the page holds");
		}
		kbuffer_load_subbuffer(s->kbuf, (void *)s->page);
		s->size = (uint32_t)kbuffer_subbuffer_size(s->kbuf);
		s->lost = kbuffer_missed_events(s->kbuf);   /* valid while curr is 0 */
		s->use_kbuffer = d->swap;
		if ((data = kbuffer_read_event(s->kbuf, &ts)))
			return take_kbuffer_event(s, data, ts);
	}
}

/* Steps to the next data event of the page, as libtraceevent's __next_event/update_pointers
 * do (kbuffer-parse.c) for the entries a kernel writes: data (type_len 0..28), padding (29),
 * time extend (30). An absolute time stamp (31) or a byte-swapped file: the kbuffer takes the
 * rest of the page. 1 an event, 0 the page ended, < 0 error. */
static int next_in_page(struct stream *s)
{
	const uint32_t room = s->d->p.page_size - s->d->header_len;

	if (s->use_kbuffer) {
		unsigned long long ts;
		void *data = kbuffer_next_event(s->kbuf, &ts);

		return data ? take_kbuffer_event(s, data, ts) : 0;
	}
	for (;;) {
		const char *p;
		uint32_t tlt, type_len, w;

		s->curr = s->next;
		if (s->next >= s->size)
			return 0;
		if (s->curr + 8 > room)
			return corrupt_page(s, "a ring-buffer event header runs past its page");
		p = s->data + s->curr;
		memcpy(&tlt, p, 4);
		type_len = tlt & 31;
		switch (type_len) {
		case KBUFFER_TYPE_PADDING:
			memcpy(&w, p + 4, 4);
			s->ts += tlt >> 5;
			s->index = s->curr + 4;
			s->next = s->index + w;
			continue;
		case KBUFFER_TYPE_TIME_EXTEND:
			memcpy(&w, p + 4, 4);
			s->ts += ((unsigned long long)w << TS_SHIFT) + (tlt >> 5);
			s->index = s->next = s->curr + 8;
			continue;
		case KBUFFER_TYPE_TIME_STAMP: {
			/* Sync the kbuffer on the event after this entry and let it go on. */
			unsigned long long ts;
			void *data = kbuffer_read_at_offset(s->kbuf, (int)(s->curr + s->d->header_len + 1), &ts);

			s->use_kbuffer = 1;
			return data ? take_kbuffer_event(s, data, ts) : 0;
		}
		case 0:
			memcpy(&w, p + 4, 4);
			s->ts += tlt >> 5;
			s->index = s->curr + 8;
			s->next = s->index + (((w - 4) + 3) & ~3u);
			return 1;
		default:
			s->ts += tlt >> 5;
			s->index = s->curr + 4;
			s->next = s->index + type_len * 4;
			return 1;
		}
	}
}

/* Makes s->rec the stream's next record. 1 done, 0 end of stream, < 0 error (d->err). */
static int advance(struct stream *s)
{
	int r = s->page ? next_in_page(s) : 0;

	while (r == 0) {
		r = next_page(s);
		if (r <= 0)
			return r;
	}
	if (r < 0)
		return r;
	if (s->next > s->d->p.page_size - s->d->header_len || s->next < s->index)
		return corrupt_page(s, "an event runs past its ring-buffer page");
	s->rec.ts = s->d->p.tsc2nsec_mult ? tsc_to_ns(s->ts, s->d->p.tsc2nsec_mult, s->d->p.tsc2nsec_shift)
					  : s->ts;
	s->rec.data = (void *)(s->data + s->index);
	s->rec.size = (int)(s->next - s->index);
	s->rec.offset = s->curr;
	s->rec.record_size = (int)(s->next - s->curr);
	s->rec.missed_events = s->curr ? 0 : s->lost;
	return 1;
}

static inline int before(const struct stream *a, const struct stream *b)
{
	return a->rec.ts < b->rec.ts || (a->rec.ts == b->rec.ts && a->order < b->order);
}

static void sift_down(struct pcp_rbdec *d, size_t i)
{
	struct stream **h = d->heap, *x = h[i];
	size_t n = d->heap_n;

	for (;;) {
		size_t l = 2 * i + 1, m;
		if (l >= n)
			break;
		m = l + 1 < n && before(h[l + 1], h[l]) ? l + 1 : l;
		if (!before(h[m], x))
			break;
		h[i] = h[m];
		i = m;
	}
	h[i] = x;
}

int pcp_rbdec_open(const struct pcp_rbdec_params *p, const struct pcp_rbdec_section *secs, size_t n,
		   struct pcp_rbdec **out, char *errbuf, size_t errlen)
{
	struct pcp_rbdec *d;
	enum kbuffer_long_size ls;
	int err = PCP_OK;

	*out = NULL;
	if (p->page_size < 64 || (p->page_size & (p->page_size - 1)))
		return pcp_errorf(errbuf, errlen, PCP_ERR_MODE, "page size %u", p->page_size);
	if (p->long_size != 4 && p->long_size != 8)
		return pcp_errorf(errbuf, errlen, PCP_ERR_MODE, "long size %d", p->long_size);
	d = calloc(1, sizeof(*d));
	if (!d)
		return pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "out of memory");
	d->p = *p;
	d->p.compression = NULL;
	d->sys_page = (size_t)sysconf(_SC_PAGESIZE);
	d->header_len = 8 + (uint32_t)p->long_size;
	d->swap = (!p->big_endian) != (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) || p->old_format;
	if (!p->compression || !p->compression[0] || !strcmp(p->compression, "none"))
		d->comp = COMP_NONE;
	else if (!strcmp(p->compression, "zstd"))
		d->comp = COMP_ZSTD;
	else if (!strcmp(p->compression, "zlib"))
		d->comp = COMP_ZLIB;
	else {
		err = pcp_errorf(errbuf, errlen, PCP_ERR_MODE, "%s compression", p->compression);
		goto fail;
	}
	if (d->comp == COMP_ZSTD && !(d->zctx = ZSTD_createDCtx())) {
		err = pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "out of memory");
		goto fail;
	}
	d->streams = calloc(n ? n : 1, sizeof(*d->streams));
	d->heap = calloc(n ? n : 1, sizeof(*d->heap));
	d->nr_alloc = n;
	if (!d->streams || !d->heap) {
		err = pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "out of memory");
		goto fail;
	}
	ls = p->long_size == 8 ? KBUFFER_LSIZE_8 : KBUFFER_LSIZE_4;
	for (size_t i = 0; i < n; i++) {
		struct stream *s = &d->streams[d->nr_streams];

		if (!secs[i].size)
			continue;
		s->d = d;
		s->order = (uint32_t)i;
		s->cpu = secs[i].cpu;
		s->rec.cpu = (int)secs[i].cpu;
		s->rec.ref_count = 1;
		if (d->comp == COMP_NONE) {
			/* libtracecmd refuses unaligned pages and reads a partial last page past the
			 * section: leave both to it. */
			if (secs[i].offset % p->page_size || secs[i].size % p->page_size) {
				err = pcp_errorf(errbuf, errlen, PCP_ERR_MODE, "CPU %u data is not whole aligned pages",
					      secs[i].cpu);
				goto fail;
			}
			s->next_off = secs[i].offset;
			s->end_off = secs[i].offset + secs[i].size;
		} else {
			/* Every chunk must hold whole pages (trace-cmd writes them so); the layout check
			 * has verified that the table lies in the file. */
			unsigned char h[8];
			uint64_t off = secs[i].offset + 4, count;

			if ((err = pcp_io_pread_all(p->fd, h, 4, secs[i].offset))) {
				pcp_errorf(errbuf, errlen, err, "cannot read CPU %u's chunk table", secs[i].cpu);
				goto fail;
			}
			count = get_num(d, h, 4);
			s->chunk_off = off;
			s->chunks_left = (uint32_t)count;
			for (uint64_t c = 0; c < count; c++) {
				if ((err = pcp_io_pread_all(p->fd, h, 8, off))) {
					pcp_errorf(errbuf, errlen, err, "cannot read CPU %u's chunk table", secs[i].cpu);
					goto fail;
				}
				if (get_num(d, h + 4, 4) % p->page_size) {
					err = pcp_errorf(errbuf, errlen, PCP_ERR_MODE, "CPU %u: a chunk of partial pages",
						      secs[i].cpu);
					goto fail;
				}
				off += 8 + get_num(d, h, 4);
			}
		}
		if (!(s->kbuf = kbuffer_alloc(ls, p->big_endian ? KBUFFER_ENDIAN_BIG : KBUFFER_ENDIAN_LITTLE))) {
			err = pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "out of memory");
			goto fail;
		}
		if (p->old_format)
			kbuffer_set_old_format(s->kbuf);
		d->nr_streams++;
	}
	for (size_t i = 0; i < d->nr_streams; i++) {
		int r = advance(&d->streams[i]);
		if (r < 0) {
			err = pcp_errorf(errbuf, errlen, d->err, "%s", d->msg);
			goto fail;
		}
		if (r > 0)
			d->heap[d->heap_n++] = &d->streams[i];
	}
	for (size_t i = d->heap_n / 2; i-- > 0;)
		sift_down(d, i);
	*out = d;
	return PCP_OK;
fail:
	pcp_rbdec_close(d);
	return err;
}

void pcp_rbdec_close(struct pcp_rbdec *d)
{
	if (!d)
		return;
	for (size_t i = 0; d->streams && i < d->nr_alloc; i++) {
		struct stream *s = &d->streams[i];
		if (!s->d)
			break;
		if (s->map)
			munmap(s->map, s->map_len);
		if (s->kbuf)
			kbuffer_free(s->kbuf);
		free(s->ubuf);
	}
	ZSTD_freeDCtx(d->zctx);
	free(d->zbuf);
	free(d->streams);
	free(d->heap);
	free(d);
}

struct tep_record *pcp_rbdec_next(struct pcp_rbdec *d)
{
	if (d->pending) {
		struct stream **h = d->heap;
		int r = advance(h[0]);

		d->pending = 0;
		if (r < 0) {
			d->heap_n = 0;
			return NULL;
		}
		if (r == 0)
			h[0] = h[--d->heap_n];
		/* Mostly the same CPU stays first for a while: one compare with each child. */
		if (d->heap_n > 1 && (before(h[1], h[0]) || (d->heap_n > 2 && before(h[2], h[0]))))
			sift_down(d, 0);
	}
	if (!d->heap_n)
		return NULL;
	d->pending = 1;
	return &d->heap[0]->rec;
}

int pcp_rbdec_status(const struct pcp_rbdec *d, char *errbuf, size_t errlen)
{
	if (d->err)
		return pcp_errorf(errbuf, errlen, d->err, "%s", d->msg);
	return PCP_OK;
}
