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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#if defined(__x86_64__) && defined(__SSE2__)
#include <emmintrin.h>
#endif
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

/* Decode threads (params.workers > 0): each stream's blocks are decoded ahead into a ring of
 * batches; a batch is one block (a compressed chunk, or a smaller mapped window) and the
 * records found in it. */
#define MT_WINDOW (256u << 10)  /* mapped bytes per batch (uncompressed) */
#define MT_RING 4               /* batches per stream decoded ahead (at least, chunk mode) */
/* Chunk mode (-j 2's helper) keeps up to CHUNK_AHEAD_BYTES of decompressed chunks ahead over
 * all streams, MT_RING to MT_RING_CHUNKS per stream, as chunks of trace-cmd's size
 * (CHUNK_PAGES pages) take. The helper is a model thread that decompresses only while its own
 * feed is empty, and then sleeps until half its feed is queued (event_feed.c: 4 batches of
 * 4,096 events); the merge must not run out of chunks meanwhile, or it decompresses them itself
 * on the busier core. 16,384 events of ~32 bytes are ~512 KB of pages; 4 chunks per stream
 * (2 streams: 320 KB) ran out, and the analysis thread spent 22 % of its samples in zstd
 * (rec15.dat at -j 2: 0.61x the -j 1 wall with 4, 0.54x with 16; rd15.dat 0.86x -> 0.71x;
 * bench/RESULTS.md, stop 28). Twice the need, for streams the merge takes unevenly. */
#define CHUNK_AHEAD_BYTES (2u << 20)
#define CHUNK_PAGES 10
#define MT_RING_CHUNKS 16
/* With many CPUs every stream's batches are resident at once (the merge needs each one's
 * head): MT_RING_MANY per stream above MT_MANY_STREAMS streams (the decode threads then keep
 * one batch ahead instead of three; at 512 CPUs of 40 KB chunks, ~80 MB instead of ~160). */
#define MT_MANY_STREAMS 64
#define MT_RING_MANY 2

enum { COMP_NONE, COMP_ZSTD, COMP_ZLIB };

/* Compressed data is read READ_AHEAD bytes at a time (several chunks: recorded chunks are a
 * few KB, and two small preads per chunk were most of the reading's kernel time), each
 * chunk decompressed from the buffer in place. Never past the CPU's own section, and less per
 * CPU on machines with many: READ_AHEAD_BUDGET over all of them, at least READ_AHEAD_MIN each
 * (a 6 MB trace of 256 CPUs held 64 MB of read-ahead buffers, mostly other CPUs' bytes). */
#define READ_AHEAD (256u << 10)
#define READ_AHEAD_MIN (32u << 10)
#define READ_AHEAD_BUDGET (16u << 20)

/* Decompression state: the decoder's own (one thread), or each decode thread's. */
struct zdec {
	ZSTD_DCtx *zctx;
};

/* A read-ahead buffer over the file: bytes [off, off + len) of it; reads ahead at most size
 * bytes and not past limit (the section's end), except what a read asks for itself. */
struct rdbuf {
	char *buf;
	size_t cap, len;
	uint64_t off;
	uint64_t limit;
	size_t size;
};

/* One record as the decode thread found it: what advance() puts in the tep_record. */
struct mt_rec {
	const char *data;
	unsigned long long ts;
	uint32_t offset, size, record_size;
	int missed;
};

struct mt_batch {
	struct mt_rec *recs;
	size_t n, recs_bytes;
	void *map;                  /* this batch's window (uncompressed) */
	size_t map_len;
	char *ubuf;                 /* this batch's chunk (compressed) */
	size_t ubuf_cap;
	size_t ulen;                /* chunk mode: the chunk's bytes in ubuf (no records) */
	int end;                    /* the stream ends after these records */
	int err;                    /* ... with this error (msg) */
	char msg[200];
};

struct mt_worker;

struct stream {
	/* the merging thread's side */
	struct tep_record rec;      /* the head record, handed out as is */
	struct pcp_rbdec *d;
	uint32_t order;             /* section index: the tie-break */
	uint32_t cpu;
	int err;                    /* the error that ended the stream (advance() < 0) */
	char msg[200];
	/* decode threads: the ring (ring[head], count of them ready, guarded by the worker's
	 * lock) and the batch being handed out */
	struct mt_worker *w;
	struct mt_batch *ring;
	size_t head, tail, count;
	int done;                   /* the decode thread has queued the last batch */
	int filling;                /* a thread is filling ring[tail] (helper mode: two may try) */
	struct mt_batch *cur;
	size_t ri;
	/* the decoding side (the decode thread's, when there are decode threads): on another
	 * cache line than the merging side's, which the merge writes per record */
	_Alignas(64) struct kbuffer *kbuf;
	struct zdec *z;
	int block_only;             /* a decode thread's walk (in chunk mode the merging
				     * thread's): the block's pages only */
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
	struct rdbuf ra;            /* compressed bytes read ahead */
};

struct mt_worker {
	struct pcp_rbdec *d;
	pthread_t thread;
	int started;
	struct zdec z;
	/* private buffers a block is decompressed and walked in, then streamed to the batch
	 * (mt_fill) */
	char *scratch;
	size_t scratch_cap;
	struct mt_rec *recs;
	size_t recs_cap;
	size_t first, step;         /* its streams: first, first + step, ... */
	pthread_mutex_t lock;
	pthread_cond_t space;       /* a batch was released, or stop */
	pthread_cond_t ready;       /* a batch was queued */
	int waiting;                /* the decode thread sleeps on space */
	int stop;
	int helper;                 /* no thread of its own: pcp_rbdec_help() and the merging
				     * thread fill the batches (params.helper) */
	int help_stop;              /* pcp_rbdec_help_loop() returns */
};

struct pcp_rbdec {
	struct pcp_rbdec_params p;
	int comp;
	int swap;                   /* byte order not the host's, or the pre-2.6.31 page format:
				     * the kbuffer walks every page */
	uint32_t header_len;        /* page header: u64 timestamp + long commit */
	size_t sys_page;
	uint64_t window;            /* mapped bytes per block (uncompressed) */
	struct stream *streams;
	size_t nr_streams, nr_alloc;
	struct stream **heap;       /* min-heap on (rec.ts, order) */
	size_t heap_n;
	int pending;                /* heap[0]'s record was handed out: advance it first */
	int err;
	char msg[200];
	struct zdec z;              /* one thread: shared by all streams */
	struct mt_worker *workers;
	size_t nr_workers;
	unsigned ring;              /* batches per stream: MT_RING, MT_RING_MANY, or (chunk mode)
				     * up to MT_RING_CHUNKS */
	/* Helper mode on compressed data: a batch is a decompressed chunk only, and the merging
	 * thread walks it itself as one thread does (advance_chunks). The decompression is what
	 * costs (zstd: 27 % of a -j 1 run); the walk done on the filling side, its 32 bytes per
	 * record handed over and copied again per record, cost more at -j 2 than the walk saved
	 * (rec15.dat, stop 24: advance_mt and the fill's walk +450 perf samples against -j 1's
	 * walk of ~200). */
	int chunk_mode;
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

/* n bytes of the file at off, from the read-ahead buffer (refilled from off when they are not
 * all in it); NULL with *err on a read error or the end of the file. */
static const char *rd_ahead(struct rdbuf *ra, int fd, uint64_t file_size, uint64_t off, size_t n, int *err)
{
	size_t len;

	if (off >= ra->off && off - ra->off <= ra->len && n <= ra->len - (off - ra->off))
		return ra->buf + (off - ra->off);
	if (off > file_size || n > file_size - off) {
		*err = PCP_ERR_TRUNCATED;
		return NULL;
	}
	len = ra->size;
	if (off < ra->limit && len > ra->limit - off)
		len = (size_t)(ra->limit - off);
	if (len < n)
		len = n;
	if (len > file_size - off)
		len = (size_t)(file_size - off);
	ra->len = 0;
	if ((*err = grow(&ra->buf, &ra->cap, len)) || (*err = pcp_io_pread_all(fd, ra->buf, len, off)))
		return NULL;
	ra->off = off;
	ra->len = len;
	return ra->buf;
}

/* The stream's next compressed chunk, decompressed with z into *ubuf (grown to fit): 1 loaded
 * (*len bytes), 0 no chunk left, < 0 error (*err and msg). It reads and advances only the
 * stream's chunk position and read-ahead buffer, so that in chunk mode one thread may load the
 * next chunk while another walks the one before (errors go to the caller's *err and msg). */
static int load_chunk(struct stream *s, struct zdec *z, char **ubuf, size_t *cap, size_t *len,
		      int *err_out, char *msg, size_t msglen)
{
	struct pcp_rbdec *d = s->d;
	const unsigned char *h;
	const char *zdata;
	uint64_t csize, usize;
	int err = PCP_OK;

	if (!s->chunks_left)
		return 0;
	if (!(h = (const unsigned char *)rd_ahead(&s->ra, d->p.fd, d->p.file_size, s->chunk_off, 8, &err))) {
		*err_out = pcp_errorf(msg, msglen, err, err == PCP_ERR_NOMEM ? "out of memory"
				      : "cannot read a chunk header of CPU %u", s->cpu);
		return -1;
	}
	csize = get_num(d, h, 4);
	usize = get_num(d, h + 4, 4);
	if (!usize || usize % d->p.page_size || csize > d->p.file_size - s->chunk_off - 8) {
		*err_out = pcp_errorf(msg, msglen, PCP_ERR_CORRUPT, "CPU %u: damaged chunk header at byte %llu",
				      s->cpu, (unsigned long long)s->chunk_off);
		return -1;
	}
	if (grow(ubuf, cap, (size_t)usize)) {
		*err_out = pcp_errorf(msg, msglen, PCP_ERR_NOMEM, "out of memory");
		return -1;
	}
	if (!(zdata = rd_ahead(&s->ra, d->p.fd, d->p.file_size, s->chunk_off + 8, (size_t)csize, &err))) {
		*err_out = pcp_errorf(msg, msglen, err, err == PCP_ERR_NOMEM ? "out of memory"
				      : "cannot read a chunk of CPU %u", s->cpu);
		return -1;
	}
	if (d->comp == COMP_ZSTD) {
		size_t got = ZSTD_decompressDCtx(z->zctx, *ubuf, (size_t)usize, zdata, (size_t)csize);
		err = ZSTD_isError(got) || got != usize;
	} else {
		uLongf got = (uLongf)usize;
		err = uncompress((Bytef *)*ubuf, &got, (const Bytef *)zdata, (uLong)csize) != Z_OK ||
		      got != usize;
	}
	if (err) {
		*err_out = pcp_errorf(msg, msglen, PCP_ERR_CORRUPT,
				      "CPU %u: compressed chunk at byte %llu does not decompress to its %llu declared bytes",
				      s->cpu, (unsigned long long)s->chunk_off, (unsigned long long)usize);
		return -1;
	}
	s->chunk_off += 8 + csize;
	s->chunks_left--;
	*len = (size_t)usize;
	return 1;
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
		if (len > d->window && len > d->p.page_size)
			len = d->window > d->p.page_size ? d->window : d->p.page_size;
		moff = s->next_off & ~(uint64_t)(d->sys_page - 1);
		delta = (size_t)(s->next_off - moff);
		s->map = mmap(NULL, delta + len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, d->p.fd, (off_t)moff);
		if (s->map == MAP_FAILED) {
			s->map = NULL;
			s->err = pcp_errorf(s->msg, sizeof(s->msg), PCP_ERR_IO, "cannot map CPU %u data: %s",
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
		size_t len;
		int r = load_chunk(s, s->z, &s->ubuf, &s->ubuf_cap, &len, &s->err, s->msg, sizeof(s->msg));

		if (r <= 0)
			return r;
		s->buf = s->ubuf;
		s->buf_len = len;
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
	s->err = pcp_errorf(s->msg, sizeof(s->msg), PCP_ERR_CORRUPT, "CPU %u: %s", s->cpu, what);
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
			int r = s->block_only ? 0 : next_block(s);
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

/* Walks s to its next record (s->ts, curr, index, next, lost say which). 1 done, 0 end of
 * stream (of the block, for a decode thread), < 0 error (s->err). */
static inline int walk_next(struct stream *s)
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
	return 1;
}

static inline unsigned long long walk_ts(const struct stream *s)
{
	return s->d->p.tsc2nsec_mult ? tsc_to_ns(s->ts, s->d->p.tsc2nsec_mult, s->d->p.tsc2nsec_shift) : s->ts;
}

/* One thread: makes s->rec the stream's next record. 1 done, 0 end of stream, < 0 error. */
static int advance_serial(struct stream *s)
{
	int r = walk_next(s);

	if (r <= 0)
		return r;
	s->rec.ts = walk_ts(s);
	s->rec.data = (void *)(s->data + s->index);
	s->rec.size = (int)(s->next - s->index);
	s->rec.offset = s->curr;
	s->rec.record_size = (int)(s->next - s->curr);
	s->rec.missed_events = s->curr ? 0 : s->lost;
	return 1;
}

/* ---- decode threads ----
 * Each decode thread owns a fixed set of streams (every nr_workers-th) and, for each, fills
 * the free batches of its ring in stream order: loads the next block into the batch (its own
 * mapping or chunk buffer) and walks it (s->block_only: the walk ends with the block). The
 * merging thread takes the batches in the same order, so it sees the very records, marks and
 * errors (after the records before them) one thread would. Nothing is allocated per record:
 * a batch's record array grows to the largest block and is reused. In chunk mode (helper mode
 * on compressed data, pcp_rbdec.chunk_mode) a batch is the decompressed chunk alone and the
 * merging thread walks it (advance_chunks): the same records, marks and errors again, since
 * the walk is one thread's and a chunk that fails to load ends the stream after the chunks
 * before it. */

/* Copies n bytes to dst (16-byte aligned, as malloc's) with non-temporal stores: the lines
 * go to memory without being read first. The batches are read on the merging thread's core;
 * a plain store to a line that core read one ring turn earlier must first take the line back
 * from its cache, and those stalls cost the decode thread more than decompressing (zstd's
 * time +70 % at -j 2 on this 2-core VM, bench/RESULTS.md). The caller fences (mt_publish). */
static void stream_copy(void *dst, const void *src, size_t n)
{
#if defined(__x86_64__) && defined(__SSE2__)
	char *d = dst;
	const char *s = src;
	size_t i = 0;

	if (!((uintptr_t)d & 15))
		for (; i + 16 <= n; i += 16)
			_mm_stream_si128((__m128i *)(d + i), _mm_loadu_si128((const __m128i *)(s + i)));
	memcpy(d + i, s + i, n - i);
#else
	memcpy(dst, src, n);
#endif
}

/* The batch's stores visible before the batch is queued (after non-temporal stores a lock is
 * not enough on x86). */
static inline void mt_publish(void)
{
#if defined(__x86_64__) && defined(__SSE2__)
	_mm_sfence();
#endif
}

/* The merging thread's own fill (helper mode): the block into the batch's buffers, the
 * records into its array. */
static void mt_fill_local(struct stream *s, struct mt_batch *b)
{
	size_t n = 0, cap = b->recs_bytes / sizeof(*b->recs);
	int r;

	b->n = 0;
	b->end = 0;
	b->err = 0;
	if (b->map) {
		munmap(b->map, b->map_len);
		b->map = NULL;
	}
	s->z = &s->d->z;
	s->map = NULL;
	s->ubuf = b->ubuf;
	s->ubuf_cap = b->ubuf_cap;
	r = next_block(s);
	b->map = s->map;
	b->map_len = s->map_len;
	b->ubuf = s->ubuf;
	b->ubuf_cap = s->ubuf_cap;
	s->map = NULL;
	s->ubuf = NULL;
	s->ubuf_cap = 0;
	if (r <= 0)
		goto ended;
	s->buf_pos = 0;
	s->page = NULL;
	while ((r = walk_next(s)) > 0) {
		struct mt_rec *o;

		if (n == cap) {
			char *recs = (char *)b->recs;
			size_t bytes = b->recs_bytes;

			cap = cap ? cap * 2 : 1024;
			if (grow(&recs, &bytes, cap * sizeof(*b->recs))) {
				s->err = pcp_errorf(s->msg, sizeof(s->msg), PCP_ERR_NOMEM, "out of memory");
				r = -1;
				break;
			}
			b->recs = (struct mt_rec *)recs;
			b->recs_bytes = bytes;
		}
		o = &b->recs[n++];
		o->ts = walk_ts(s);
		o->data = s->data + s->index;
		o->size = s->next - s->index;
		o->offset = s->curr;
		o->record_size = s->next - s->curr;
		o->missed = s->curr ? 0 : s->lost;
	}
	b->n = n;
	if (r == 0)
		return;
ended:
	b->end = 1;
	if (r < 0) {
		b->err = s->err;
		memcpy(b->msg, s->msg, sizeof(b->msg));
	}
}

/* Chunk mode: the stream's next chunk into b, decompressed only (the merging thread walks
 * it). remote: decompressed in the worker's private buffer and streamed to the batch, as
 * mt_fill does with its blocks. */
static void mt_fill_chunk(struct stream *s, struct mt_batch *b, int remote)
{
	struct mt_worker *w = s->w;
	size_t len = 0;
	int r;

	b->n = 0;
	b->end = 0;
	b->err = 0;
	b->ulen = 0;
	if (!remote) {
		r = load_chunk(s, &s->d->z, &b->ubuf, &b->ubuf_cap, &len, &b->err, b->msg, sizeof(b->msg));
	} else {
		r = load_chunk(s, &w->z, &w->scratch, &w->scratch_cap, &len, &b->err, b->msg, sizeof(b->msg));
		if (r > 0 && grow(&b->ubuf, &b->ubuf_cap, len)) {
			b->err = pcp_errorf(b->msg, sizeof(b->msg), PCP_ERR_NOMEM, "out of memory");
			r = -1;
		} else if (r > 0) {
			stream_copy(b->ubuf, w->scratch, len);
		}
	}
	if (r > 0) {
		b->ulen = len;
		return;
	}
	b->end = 1;   /* no chunk left (err 0), or the error the walk meets after the chunks before */
}

/* Decodes the stream's next block into b. remote (a thread other than the merging one):
 * loaded and walked in the worker's private buffers, then streamed to the batch
 * (stream_copy), the records' data pointers moved with it; otherwise (the merging thread fills
 * its own batch, helper mode) straight into the batch, read back from this core's cache. */
static void mt_fill(struct stream *s, struct mt_batch *b, int remote)
{
	struct mt_worker *w = s->w;
	size_t n = 0;
	int r;

	if (s->d->chunk_mode) {
		mt_fill_chunk(s, b, remote);
		return;
	}
	if (!remote) {
		mt_fill_local(s, b);
		return;
	}
	s->z = &w->z;

	b->n = 0;
	b->end = 0;
	b->err = 0;
	/* an uncompressed window is the batch's own mapping (page cache, only read); the old one
	 * is unmapped here, now that the merging thread has released the batch */
	if (b->map) {
		munmap(b->map, b->map_len);
		b->map = NULL;
	}
	s->map = NULL;
	s->ubuf = w->scratch;
	s->ubuf_cap = w->scratch_cap;
	r = next_block(s);
	b->map = s->map;
	b->map_len = s->map_len;
	w->scratch = s->ubuf;
	w->scratch_cap = s->ubuf_cap;
	s->map = NULL;
	s->ubuf = NULL;
	s->ubuf_cap = 0;
	if (r <= 0)
		goto ended;
	s->buf_pos = 0;
	s->page = NULL;
	while ((r = walk_next(s)) > 0) {
		struct mt_rec *o;

		if (n == w->recs_cap) {
			size_t cap = w->recs_cap ? w->recs_cap * 2 : 1024;
			struct mt_rec *nr = realloc(w->recs, cap * sizeof(*nr));

			if (!nr) {
				s->err = pcp_errorf(s->msg, sizeof(s->msg), PCP_ERR_NOMEM, "out of memory");
				r = -1;
				break;
			}
			w->recs = nr;
			w->recs_cap = cap;
		}
		o = &w->recs[n++];
		o->ts = walk_ts(s);
		o->data = s->data + s->index;
		o->size = s->next - s->index;
		o->offset = s->curr;
		o->record_size = s->next - s->curr;
		o->missed = s->curr ? 0 : s->lost;
	}
	/* the records found, also those before an error */
	if (n) {
		int moved = !b->map;   /* compressed: the records point into the scratch buffer */
		char *recs = (char *)b->recs;
		int err = grow(&recs, &b->recs_bytes, n * sizeof(*b->recs));

		b->recs = (struct mt_rec *)recs;
		if (err || (moved && grow(&b->ubuf, &b->ubuf_cap, s->buf_len))) {
			s->err = pcp_errorf(s->msg, sizeof(s->msg), PCP_ERR_NOMEM, "out of memory");
			n = 0;
			r = -1;
		} else {
			if (moved) {
				for (size_t i = 0; i < n; i++)
					w->recs[i].data = b->ubuf + (w->recs[i].data - w->scratch);
				stream_copy(b->ubuf, w->scratch, s->buf_len);
			}
			stream_copy(b->recs, w->recs, n * sizeof(*b->recs));
		}
	}
	b->n = n;
	if (r == 0)
		return;   /* the block ended: more may follow */
ended:
	b->end = 1;
	if (r < 0) {
		b->err = s->err;
		memcpy(b->msg, s->msg, sizeof(b->msg));
	}
}

/* The worker's stream with the fewest batches ready that has room and nobody filling it (the
 * merge waits on it soonest), or NULL. Called with w->lock held. */
static struct stream *mt_pick(struct mt_worker *w)
{
	struct pcp_rbdec *d = w->d;
	struct stream *best = NULL;

	for (size_t i = w->first; i < d->nr_streams; i += w->step) {
		struct stream *s = &d->streams[i];
		if (!s->done && !s->filling && s->count < d->ring && (!best || s->count < best->count))
			best = s;
	}
	return best;
}

/* Fills s's next batch and queues it. Called with the worker's lock held, which it drops while
 * decoding; s->filling keeps a second filler off the stream meanwhile. */
static void mt_fill_next(struct stream *s, int remote)
{
	struct mt_worker *w = s->w;
	struct mt_batch *b = &s->ring[s->tail];

	s->filling = 1;
	pthread_mutex_unlock(&w->lock);
	mt_fill(s, b, remote);
	if (remote)
		mt_publish();
	pthread_mutex_lock(&w->lock);
	s->filling = 0;
	s->tail = (s->tail + 1) % s->d->ring;
	s->count++;
	s->done = b->end;
	/* helper mode: the merging thread may wait on another stream's batch */
	if (w->helper)
		pthread_cond_broadcast(&w->ready);
	else
		pthread_cond_signal(&w->ready);
}

static void *mt_main(void *arg)
{
	struct mt_worker *w = arg;
	struct pcp_rbdec *d = w->d;

	pthread_setname_np(pthread_self(), "pcp-decode");   /* perf --sort comm, top -H */
	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct stream *best = NULL;

		if (w->stop)
			break;
		/* the stream with the fewest batches ready: the merge waits on it soonest */
		best = mt_pick(w);
		if (!best) {
			int all_done = 1;
			for (size_t i = w->first; i < d->nr_streams; i += w->step)
				all_done &= d->streams[i].done;
			if (all_done)
				break;
			w->waiting = 1;
			pthread_cond_wait(&w->space, &w->lock);
			w->waiting = 0;
			continue;
		}
		mt_fill_next(best, 1);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static struct mt_worker *helper_worker(struct pcp_rbdec *d)
{
	return d && d->nr_workers == 1 && d->workers[0].helper ? &d->workers[0] : NULL;
}

void pcp_rbdec_help_loop(struct pcp_rbdec *d)
{
	struct mt_worker *w = helper_worker(d);

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	while (!w->help_stop) {
		struct stream *best = mt_pick(w);

		if (best) {
			mt_fill_next(best, 1);
			continue;
		}
		/* every ring full or ended: advance_mt wakes us when one is half empty */
		w->waiting = 1;
		pthread_cond_wait(&w->space, &w->lock);
		w->waiting = 0;
	}
	pthread_mutex_unlock(&w->lock);
}

void pcp_rbdec_help_stop(struct pcp_rbdec *d)
{
	struct mt_worker *w = helper_worker(d);

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->help_stop = 1;
	pthread_cond_broadcast(&w->space);
	pthread_mutex_unlock(&w->lock);
}

int pcp_rbdec_help(struct pcp_rbdec *d)
{
	struct mt_worker *w = helper_worker(d);
	struct stream *best;

	if (!w)
		return 0;
	pthread_mutex_lock(&w->lock);
	best = mt_pick(w);
	if (best)
		mt_fill_next(best, 1);
	pthread_mutex_unlock(&w->lock);
	return best != NULL;
}

/* Releases the stream's current batch (its records are no longer referenced) and makes the
 * next one current: in helper mode the merging thread fills it itself when nobody is on it,
 * or fills another stream's meanwhile rather than wait. */
static struct mt_batch *next_batch(struct stream *s)
{
	struct mt_batch *b = s->cur;

	pthread_mutex_lock(&s->w->lock);
	if (b) {
		s->head = (s->head + 1) % s->d->ring;
		s->count--;
		/* Wake a sleeping decode thread only when this ring is half empty: it then refills
		 * several batches per wake-up. Waking it per batch cost a context switch per
		 * ~1,000 records on each side (17,800 switches in a 14.6 M record run), more than
		 * the decoding itself on a virtual machine. */
		if (s->w->waiting && s->count <= s->d->ring / 2)
			pthread_cond_signal(&s->w->space);
	}
	while (!s->count) {
		struct stream *other;

		if (s->w->helper && !s->filling && !s->done)
			mt_fill_next(s, 0);
		else if (s->w->helper && (other = mt_pick(s->w)))
			mt_fill_next(other, 0);   /* work the merge needs later, instead of a wait */
		else
			pthread_cond_wait(&s->w->ready, &s->w->lock);
	}
	s->cur = &s->ring[s->head];
	pthread_mutex_unlock(&s->w->lock);
	return s->cur;
}

/* The stream ends with batch b, its last: 0, or -1 with b's error made the stream's. */
static int batch_end(struct stream *s, const struct mt_batch *b)
{
	if (!b->err)
		return 0;
	s->err = b->err;
	memcpy(s->msg, b->msg, sizeof(s->msg));
	return -1;
}

/* Chunk mode: makes s->rec the stream's next record, walking its chunks as one thread does
 * (s->block_only: the walk stops at the end of each). */
static int advance_chunks(struct stream *s)
{
	for (;;) {
		struct mt_batch *b = s->cur;
		int r = b ? advance_serial(s) : 0;

		if (r != 0)
			return r;
		if (b && b->end)
			return batch_end(s, b);
		b = next_batch(s);
		s->buf = b->ubuf;
		s->buf_len = b->ulen;
		s->buf_pos = 0;
		s->page = NULL;
	}
}

/* Decode threads: makes s->rec the stream's next record from its batches. */
static int advance_mt(struct stream *s)
{
	for (;;) {
		struct mt_batch *b = s->cur;

		if (b && s->ri < b->n) {
			const struct mt_rec *o = &b->recs[s->ri++];

			s->rec.ts = o->ts;
			s->rec.data = (void *)o->data;
			s->rec.size = (int)o->size;
			s->rec.offset = o->offset;
			s->rec.record_size = (int)o->record_size;
			s->rec.missed_events = o->missed;
			return 1;
		}
		if (b && b->end)
			return batch_end(s, b);
		next_batch(s);
		s->ri = 0;
	}
}

/* Makes s->rec the stream's next record. 1 done, 0 end of stream, < 0 error (s->err). */
static inline int advance(struct stream *s)
{
	if (!s->w)
		return advance_serial(s);
	return s->d->chunk_mode ? advance_chunks(s) : advance_mt(s);
}

static void mt_stop(struct pcp_rbdec *d)
{
	for (size_t i = 0; i < d->nr_workers; i++) {
		struct mt_worker *w = &d->workers[i];

		if (!w->started)
			continue;
		pthread_mutex_lock(&w->lock);
		w->stop = 1;
		pthread_cond_signal(&w->space);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->thread, NULL);
		w->started = 0;
	}
}

/* Starts the decode threads (nothing is decoded by the caller's thread afterwards); helper:
 * one worker without a thread, filled by pcp_rbdec_help() and by the merging thread. */
static int mt_start(struct pcp_rbdec *d, size_t nr, int helper, char *errbuf, size_t errlen)
{
	if (nr > d->nr_streams)
		nr = d->nr_streams;
	if (!nr)
		return PCP_OK;
	d->workers = calloc(nr, sizeof(*d->workers));
	if (!d->workers)
		return pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "out of memory");
	d->nr_workers = nr;
	d->ring = d->nr_streams > MT_MANY_STREAMS ? MT_RING_MANY : MT_RING;
	d->chunk_mode = helper && d->comp != COMP_NONE;
	if (d->chunk_mode && d->nr_streams <= MT_MANY_STREAMS) {
		uint64_t fit = CHUNK_AHEAD_BYTES / ((uint64_t)d->nr_streams * d->p.page_size * CHUNK_PAGES + 1);

		d->ring = fit > MT_RING_CHUNKS ? MT_RING_CHUNKS : fit > MT_RING ? (unsigned)fit : MT_RING;
	}
	for (size_t i = 0; i < nr; i++) {
		struct mt_worker *w = &d->workers[i];

		w->d = d;
		w->first = i;
		w->step = nr;
		w->helper = helper;
		pthread_mutex_init(&w->lock, NULL);
		pthread_cond_init(&w->space, NULL);
		pthread_cond_init(&w->ready, NULL);
		if (d->comp == COMP_ZSTD && !(w->z.zctx = ZSTD_createDCtx()))
			return pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < d->nr_streams; i++) {
		struct stream *s = &d->streams[i];

		s->w = &d->workers[i % nr];
		s->z = &s->w->z;
		s->block_only = 1;
		if (!(s->ring = calloc(d->ring, sizeof(*s->ring))))
			return pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < nr && !helper; i++) {
		int e = pthread_create(&d->workers[i].thread, NULL, mt_main, &d->workers[i]);

		if (e)
			return pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "cannot start a decode thread: %s",
					  strerror(e));
		d->workers[i].started = 1;
	}
	return PCP_OK;
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
	d->window = p->workers || p->helper ? MT_WINDOW : MAP_WINDOW;
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
	if (d->comp == COMP_ZSTD && !(d->z.zctx = ZSTD_createDCtx())) {
		err = pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "out of memory");
		goto fail;
	}
	/* cache-line aligned: the decoding half of a stream is a line of its own (_Alignas) */
	d->streams = aligned_alloc(_Alignof(struct stream), (n ? n : 1) * sizeof(*d->streams));
	if (d->streams)
		memset(d->streams, 0, (n ? n : 1) * sizeof(*d->streams));
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
		s->z = &d->z;
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
			const unsigned char *h;
			uint64_t off = secs[i].offset + 4, count;

			s->ra.limit = secs[i].offset + secs[i].size;
			s->ra.size = READ_AHEAD_BUDGET / n;
			if (s->ra.size > READ_AHEAD)
				s->ra.size = READ_AHEAD;
			if (s->ra.size < READ_AHEAD_MIN)
				s->ra.size = READ_AHEAD_MIN;
			if (!(h = (const unsigned char *)rd_ahead(&s->ra, p->fd, p->file_size, secs[i].offset, 4, &err))) {
				pcp_errorf(errbuf, errlen, err, "cannot read CPU %u's chunk table", secs[i].cpu);
				goto fail;
			}
			count = get_num(d, h, 4);
			s->chunk_off = off;
			s->chunks_left = (uint32_t)count;
			/* a reopen of the same file (rewind): its chunks were checked already; the scan
			 * reads the whole compressed file */
			for (uint64_t c = 0; c < count && !p->chunks_checked; c++) {
				if (!(h = (const unsigned char *)rd_ahead(&s->ra, p->fd, p->file_size, off, 8, &err))) {
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
	if ((p->workers || p->helper) &&
	    (err = mt_start(d, p->workers ? p->workers : 1, !p->workers, errbuf, errlen)))
		goto fail;
	for (size_t i = 0; i < d->nr_streams; i++) {
		int r = advance(&d->streams[i]);
		if (r < 0) {
			err = pcp_errorf(errbuf, errlen, d->streams[i].err, "%s", d->streams[i].msg);
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
	mt_stop(d);
	for (size_t i = 0; d->streams && i < d->nr_alloc; i++) {
		struct stream *s = &d->streams[i];
		if (!s->d)
			break;
		if (s->map)
			munmap(s->map, s->map_len);
		if (s->kbuf)
			kbuffer_free(s->kbuf);
		free(s->ubuf);
		free(s->ra.buf);
		for (size_t k = 0; s->ring && k < d->ring; k++) {
			if (s->ring[k].map)
				munmap(s->ring[k].map, s->ring[k].map_len);
			free(s->ring[k].ubuf);
			free(s->ring[k].recs);
		}
		free(s->ring);
	}
	for (size_t i = 0; i < d->nr_workers; i++) {
		struct mt_worker *w = &d->workers[i];

		if (!w->d)
			continue;
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->space);
		pthread_cond_destroy(&w->ready);
		ZSTD_freeDCtx(w->z.zctx);
		free(w->scratch);
		free(w->recs);
	}
	free(d->workers);
	ZSTD_freeDCtx(d->z.zctx);
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
			d->err = h[0]->err;
			memcpy(d->msg, h[0]->msg, sizeof(d->msg));
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
