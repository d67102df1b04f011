/* The time histograms the models share (round trips, PCP residency): a log2 histogram for the
 * tables and a fine one for percentiles. Inline: they are on the per-event path. */
#ifndef PCPTRACE_HISTOGRAM_H
#define PCPTRACE_HISTOGRAM_H

#include <stdint.h>

/* Log2 histogram (round_trip_hist and its kind): index 0 is r = 0, index k+1 is [2^k, 2^(k+1)). */
#define LOG2_BUCKETS 65

/* Fine histogram for percentiles: values below 64 have one bucket each (exact); above, each
 * log2 major bucket [2^m, 2^(m+1)) is split into 64 linear sub-buckets of width 2^(m-6).
 * A sub-bucket [lo, lo + w) has lo >= 64 w, so any value in it is within w/lo < 1/64 of any
 * other: the relative error of a reported percentile is below 1/64. */
#define FINE_SUB_BITS 6
#define FINE_SUB (1u << FINE_SUB_BITS)
#define FINE_BUCKETS (FINE_SUB + (64 - FINE_SUB_BITS) * FINE_SUB)

static inline unsigned log2_index(uint64_t r)
{
	return r ? 64u - (unsigned)__builtin_clzll(r) : 0;
}

static inline unsigned fine_index(uint64_t r)
{
	unsigned major;

	if (r < FINE_SUB)
		return (unsigned)r;
	major = 63u - (unsigned)__builtin_clzll(r);     /* >= FINE_SUB_BITS */
	return FINE_SUB + (major - FINE_SUB_BITS) * FINE_SUB +
	       (unsigned)((r >> (major - FINE_SUB_BITS)) & (FINE_SUB - 1));
}

/* The largest value of fine bucket idx (reported: never below the exact percentile). */
static inline uint64_t fine_bucket_last(unsigned idx)
{
	unsigned major, sub;
	uint64_t width;

	if (idx < FINE_SUB)
		return idx;
	major = (idx - FINE_SUB) / FINE_SUB + FINE_SUB_BITS;
	sub = (idx - FINE_SUB) % FINE_SUB;
	width = UINT64_C(1) << (major - FINE_SUB_BITS);
	return (UINT64_C(1) << major) + sub * width + (width - 1);
}

#endif
