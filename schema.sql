-- pcptrace results database (pcpanalyze(1)), schema version 2 (2: an undefined metric or
-- rate is NULL, see docs/METRICS.md "Undefined values").
-- The store also sets PRAGMA user_version = 2 and trace_info.schema_version = '2'; readers
-- (compare, merge) refuse other versions. Metric definitions: docs/METRICS.md.
-- Counts are INTEGER, ratios and rates REAL. Kernel addresses and PFNs are 64-bit values
-- stored as SQLite's signed INTEGER (addresses >= 2^63 read back negative; printf('%x', col)
-- shows them in hex).

-- One row per fact about the trace and the analysis. Keys: trace_file, nr_cpus, first_ts_ns,
-- last_ts_ns, duration_ns, refill_source (native|fallback), lock_source
-- (native|inferred|none), events_total, events_lost, events_lost_unknown, lossy (0|1),
-- events_lost_source (missed_marks,cpustat_overrun,... or none), buffer (the trace buffer read),
-- schema_version, file_version, trace_clock (absent if unknown), time_base (ns|tsc2nsec|none)
-- and time_base_reason (only when none; duration_ns is then NULL), churn_window_ns, bucket_ns,
-- top_n, infer_gap_ns (auto|N), infer_gap_refill_ns / infer_gap_drain_ns / zone_map
-- (meta|none|n/a; only when locks are inferred), block_key (pfn|page_pointer), refill_flag
-- (field|derived; fallback mode only), pcptrace_version, filter (the analysis window and filter:
-- none, or e.g. "from=+1.500000000s to=@123.000000000s cpus=0-3 pid=17,42 comm=cc1"; compare
-- refuses runs whose filter differs) and, when filtered, window_from_ns / window_to_ns (trace
-- time, [from, to); to NULL when open; docs/METRICS.md "Windows and filters"); with percpu
-- events percpu_stats_check (checked|no_snapshots|lossy|filtered) and, when checked, percpu_stats_consistent, percpu_stats_nr_alloc_delta,
-- percpu_stats_nr_dealloc_delta, percpu_traced_allocs, percpu_traced_frees; with kernel stacks
-- stack_events, stacks_attributed, stacks_extra, stacks_unattributed, distinct_stacks; meta.<key> for the
-- members of <trace>.meta.json except snapshots (objects flattened: meta.a.b).
CREATE TABLE trace_info (
	key   TEXT PRIMARY KEY,
	value TEXT
);

-- Every event type present in the trace, analyzed or not, as system:name.
CREATE TABLE event_counts (
	event TEXT PRIMARY KEY,
	count INTEGER NOT NULL
);

-- One row per CPU the trace declares (0 .. nr_cpus-1), idle CPUs included.
CREATE TABLE cpu_flow (
	cpu           INTEGER PRIMARY KEY,
	refill_blocks INTEGER NOT NULL,
	refill_pages  INTEGER NOT NULL,
	drain_blocks  INTEGER NOT NULL,
	drain_pages   INTEGER NOT NULL,
	net_pages     INTEGER NOT NULL,   -- refill_pages - drain_pages
	refill_locks  INTEGER NOT NULL,   -- zone-lock acquisitions for refills (native or inferred)
	drain_locks   INTEGER NOT NULL,
	lost_events   INTEGER NOT NULL    -- known lost count on this CPU
);

-- Completed round trips (pairs) by the CPU of the refill and the CPU of the drain.
CREATE TABLE pair_matrix (
	refill_cpu INTEGER NOT NULL,
	drain_cpu  INTEGER NOT NULL,
	pairs      INTEGER NOT NULL,
	pages      INTEGER NOT NULL,
	PRIMARY KEY (refill_cpu, drain_cpu)
);

-- Round-trip times in log2 buckets [lo_ns, hi_ns); only non-empty buckets.
CREATE TABLE round_trip_hist (
	lo_ns INTEGER PRIMARY KEY,
	hi_ns INTEGER NOT NULL,
	pairs INTEGER NOT NULL,
	pages INTEGER NOT NULL
);

-- The top N PFNs (--top) by completed round trips. "order" is an SQL keyword: quote it.
-- With trace_info block_key = page_pointer (older kernels' formats) pfn is the block's struct
-- page pointer instead, not a PFN.
CREATE TABLE pfn_cycles (
	pfn               INTEGER PRIMARY KEY,
	"order"           INTEGER NOT NULL,   -- order of the PFN's latest refill
	cycles            INTEGER NOT NULL,
	cross_cpu_cycles  INTEGER NOT NULL,
	min_round_trip_ns INTEGER NOT NULL,
	max_round_trip_ns INTEGER NOT NULL
);

-- Zone-lock acquisitions per zone and kind. nid = zid = -1 when inferred (zone unknown).
CREATE TABLE zone_lock (
	nid             INTEGER NOT NULL,
	zid             INTEGER NOT NULL,
	kind            TEXT NOT NULL CHECK (kind IN ('refill', 'drain')),
	acquisitions    INTEGER NOT NULL,
	target_pages    INTEGER NOT NULL,
	moved_pages     INTEGER NOT NULL,
	per_second      REAL,                 -- NULL when undefined (no duration, no time base)
	peak_per_second REAL,                 -- busiest --bucket window, scaled to 1/s (NULL: no time base)
	PRIMARY KEY (nid, zid, kind)
);

-- Zone-lock hold time (docs/METRICS.md, "Zone-lock hold time") per zone and kind: an
-- acquisition holds the lock AT LEAST from its start (native: its *_zone_locked event; inferred:
-- its first block) to its last attributed block (the release itself is not traced).
-- Percentiles as round_trip_p50_ns (nearest rank, within 1/64 above); hold columns NULL when
-- no acquisition had a block or the trace has no time base.
CREATE TABLE zone_lock_hold (
	nid                    INTEGER NOT NULL,
	zid                    INTEGER NOT NULL,
	kind                   TEXT NOT NULL CHECK (kind IN ('refill', 'drain')),
	acquisitions           INTEGER NOT NULL,   -- as zone_lock.acquisitions
	empty_acquisitions     INTEGER NOT NULL,   -- no attributed block: no hold time
	hold_p50_ns            REAL,
	hold_p99_ns            REAL,
	hold_max_ns            REAL,
	lower_bound            INTEGER NOT NULL,   -- 1: inferred (starts at the first block, not
	                                           -- at the lock): a lower bound of the native figure
	batch                  INTEGER,            -- the zone's pageset batch (before snapshot; NULL:
	                                           -- no snapshot, zone unknown, CPUs disagree)
	at_batch_acquisitions  INTEGER,            -- acquisitions that moved >= batch pages (NULL
	                                           -- without batch)
	at_batch_share         REAL,               -- at_batch_acquisitions / acquisitions
	PRIMARY KEY (nid, zid, kind)
);

-- Hold times of the acquisitions with a block, all zones, per kind, log2 buckets [lo_ns, hi_ns)
-- as round_trip_hist; non-empty buckets only; no rows without a time base.
CREATE TABLE zone_lock_hold_hist (
	kind         TEXT NOT NULL CHECK (kind IN ('refill', 'drain')),
	lo_ns        INTEGER NOT NULL,
	hi_ns        INTEGER NOT NULL,
	acquisitions INTEGER NOT NULL,
	PRIMARY KEY (kind, lo_ns)
);

-- Pages attributed to each acquisition (all, also those without a block), all zones, per kind,
-- log2 buckets [lo_pages, hi_pages): [0, 1), [1, 2), [2, 4), ...; non-empty buckets only.
-- Against the pageset batch: zone_lock_hold.at_batch_share.
CREATE TABLE zone_lock_pages_hist (
	kind         TEXT NOT NULL CHECK (kind IN ('refill', 'drain')),
	lo_pages     INTEGER NOT NULL,
	hi_pages     INTEGER NOT NULL,
	acquisitions INTEGER NOT NULL,
	PRIMARY KEY (kind, lo_pages)
);

-- The --top N longest acquisitions (hold_ns desc, then ts_ns, cpu, kind; rank 1 = longest);
-- none without a time base. ts_ns: the acquisition's start (trace timestamp). pid: common_pid of
-- the start event (NULL: the trace has none); comm: that pid's name in the trace's cmdlines
-- ("<idle>" for 0, "<...>" when not saved).
CREATE TABLE zone_lock_longest (
	rank    INTEGER PRIMARY KEY,
	ts_ns   INTEGER NOT NULL,
	cpu     INTEGER NOT NULL,
	pid     INTEGER,
	comm    TEXT,
	kind    TEXT NOT NULL CHECK (kind IN ('refill', 'drain')),
	nid     INTEGER NOT NULL,
	zid     INTEGER NOT NULL,
	blocks  INTEGER NOT NULL,
	pages   INTEGER NOT NULL,
	hold_ns INTEGER NOT NULL
);

-- Per --bucket window (bucket_start_ns relative to first_ts_ns) and CPU; non-zero rows only.
CREATE TABLE timeline (
	bucket_start_ns INTEGER NOT NULL,
	cpu             INTEGER NOT NULL,
	refill_pages    INTEGER NOT NULL,
	drain_pages     INTEGER NOT NULL,
	refill_locks    INTEGER NOT NULL,
	drain_locks     INTEGER NOT NULL,
	PRIMARY KEY (bucket_start_ns, cpu)
);

-- Zone-lock acquisitions per --bucket window (bucket_start_ns as timeline's) and zone row of
-- zone_lock (nid = zid = -1: zone unknown, as there); non-zero rows only. Summed over the
-- buckets it gives zone_lock.acquisitions of the row (docs/METRICS.md "Zone lock over time").
CREATE TABLE zone_lock_timeline (
	bucket_start_ns INTEGER NOT NULL,
	nid             INTEGER NOT NULL,
	zid             INTEGER NOT NULL,
	kind            TEXT NOT NULL CHECK (kind IN ('refill', 'drain')),
	acquisitions    INTEGER NOT NULL,
	PRIMARY KEY (bucket_start_ns, nid, zid, kind)
);

-- Headline figures; better says which direction is good when two runs are compared.
CREATE TABLE metrics (
	name   TEXT PRIMARY KEY,
	value  REAL,                      -- NULL: undefined (0/0, no sample, no time base)
	unit   TEXT NOT NULL,
	better TEXT NOT NULL CHECK (better IN ('lower', 'higher', 'none'))
);

-- Percpu allocator (issue 4); written only when the trace has percpu:* events.
CREATE TABLE percpu_callsite (
	call_site          INTEGER PRIMARY KEY,
	symbol             TEXT,               -- function+0xoffset, as trace-cmd report prints
	allocs             INTEGER NOT NULL,
	frees              INTEGER NOT NULL,   -- attributed to the allocating call site (by ptr)
	fails              INTEGER NOT NULL,
	bytes_alloc        INTEGER NOT NULL,
	bytes_freed        INTEGER NOT NULL,
	outstanding_allocs INTEGER NOT NULL,
	outstanding_bytes  INTEGER NOT NULL,
	atomic_allocs      INTEGER NOT NULL
);

CREATE TABLE percpu_size_hist (
	lo_bytes INTEGER PRIMARY KEY,          -- log2 buckets [lo_bytes, hi_bytes)
	hi_bytes INTEGER NOT NULL,
	allocs   INTEGER NOT NULL
);

-- Allocations made during the trace and not freed by its end (leak candidates).
CREATE TABLE percpu_outstanding (
	ptr         INTEGER,
	call_site   INTEGER,
	size        INTEGER,
	bytes_alloc INTEGER,
	ts_ns       INTEGER
);

CREATE TABLE percpu_chunk (
	base_addr    INTEGER,
	created_ns   INTEGER,                  -- NULL when created before the trace
	destroyed_ns INTEGER,                  -- NULL when still alive at its end
	allocs       INTEGER,
	frees        INTEGER
);

CREATE TABLE percpu_fail (
	ts_ns     INTEGER,
	cpu       INTEGER,
	call_site INTEGER,                     -- 0 when the kernel's format lacks it
	size      INTEGER,
	align     INTEGER,
	reserved  INTEGER,
	is_atomic INTEGER
);

-- /sys/kernel/debug/percpu_stats before/after the recording; chunk -1 = global sections.
CREATE TABLE percpu_stats (
	snapshot TEXT NOT NULL,                -- 'before' or 'after'
	chunk    INTEGER NOT NULL,
	key      TEXT NOT NULL,
	value    TEXT
);

-- Percpu fragmentation (issue 16, docs/METRICS.md "Percpu fragmentation"): the before and after
-- percpu_stats snapshots side by side, one row per (chunk pairing, key); written only with both
-- snapshots. scope 'global' (chunk -1 both sides; keys nr_chunks, nr_max_chunks,
-- empty_pop_pages, nr_cur_alloc, nr_max_alloc) or the chunk's kind 'first', 'reserved',
-- 'dynamic' (keys free_bytes, contig_bytes, sum_frag, max_frag, empty_pop_pages, nr_alloc,
-- cur_min_alloc, cur_med_alloc, cur_max_alloc). status: 'matched' (the same chunk in both),
-- 'created' / 'destroyed' (during the run, from the trace's percpu_create_chunk /
-- percpu_destroy_chunk), 'unmatched' (dynamic chunks carry no identity in the text and the
-- trace did not settle it). pairing numbers the pairings of one analysis (0, 1, ...).
CREATE TABLE percpu_frag (
	pairing      INTEGER NOT NULL,
	scope        TEXT NOT NULL,
	status       TEXT NOT NULL,
	before_chunk INTEGER,                  -- percpu_stats.chunk in 'before'; NULL: not in it
	after_chunk  INTEGER,                  -- percpu_stats.chunk in 'after'; NULL: not in it
	base_addr    INTEGER,                  -- created chunks the trace identifies, else NULL
	key          TEXT NOT NULL,
	before       INTEGER,                  -- NULL when the chunk is not in that snapshot
	after        INTEGER,
	change       INTEGER                   -- after - before; NULL unless both
);

-- The run's own surviving allocations (percpu_outstanding) per chunk at the end of the trace
-- (issue 16). Offsets and *_bytes but bytes_alloc are in one CPU's unit (the events' off and
-- size); span = [lo_off, hi_off) from the lowest offset to the highest offset + size; a hole
-- is a maximal gap inside the span that no surviving allocation of the run covers (other
-- allocations or free space: the trace cannot tell which).
CREATE TABLE percpu_run_chunk (
	base_addr      INTEGER,
	created_ns     INTEGER,                -- the chunk's create event; NULL: before the trace
	allocs         INTEGER,
	unit_bytes     INTEGER,                -- sum of size
	bytes_alloc    INTEGER,                -- sum of bytes_alloc (every CPU)
	lo_off         INTEGER,
	hi_off         INTEGER,
	span_bytes     INTEGER,
	holes          INTEGER,
	hole_bytes     INTEGER,
	max_hole_bytes INTEGER
);

-- Recorder snapshots from <trace>.meta.json (pcprecord(1)): key/value sources such as
-- vmstat, one row per (snapshot, source, key); snapshot is 'before' or 'after'.
CREATE TABLE snapshot (
	snapshot TEXT NOT NULL,
	source   TEXT NOT NULL,
	key      TEXT NOT NULL,
	value    TEXT,
	PRIMARY KEY (snapshot, source, key)
);

-- Per-CPU pagesets of /proc/zoneinfo, before/after the recording (nid -1 if not given).
CREATE TABLE pcp_pageset (
	snapshot TEXT NOT NULL,
	nid      INTEGER NOT NULL,
	zone     TEXT NOT NULL,
	cpu      INTEGER NOT NULL,
	count    INTEGER,
	high     INTEGER,
	batch    INTEGER,
	high_min INTEGER,                      -- NULL when the kernel does not print it
	high_max INTEGER,
	PRIMARY KEY (snapshot, nid, zone, cpu)
);

-- Page lifecycle (issue 11; docs/METRICS.md "Lifecycle"): written only when the trace has
-- kmem:mm_page_alloc / kmem:mm_page_free records (pcprecord --lifecycle); empty otherwise.
-- Blocks unless a column says pages. trace_info then also holds lifecycle_* keys (totals).
-- One row per CPU the trace declares. Occupancy = pages on the CPU's PCP lists: a level when
-- the meta's before snapshot gave the start (trace_info lifecycle_occupancy = level), else a
-- change from 0 (= change).
CREATE TABLE lifecycle_cpu_flow (
	cpu                 INTEGER PRIMARY KEY,
	pcp_allocs          INTEGER NOT NULL,   -- mm_page_alloc on this CPU served from a PCP list
	buddy_allocs        INTEGER NOT NULL,   -- ... served by the buddy allocator directly
	unclassified_allocs INTEGER NOT NULL,   -- orders that cannot use a PCP list
	free_entries        INTEGER NOT NULL,   -- frees that put a block on this CPU's list
	buddy_frees         INTEGER NOT NULL,   -- frees of orders that go to the buddy allocator
	refill_blocks       INTEGER NOT NULL,
	refill_pages        INTEGER NOT NULL,
	drain_blocks        INTEGER NOT NULL,   -- drains run on this CPU
	drain_pages         INTEGER NOT NULL,
	unused_refills      INTEGER NOT NULL,   -- refilled here, drained with no alloc between
	remote_drains       INTEGER NOT NULL,   -- blocks of this CPU's lists drained by another CPU
	occ_start           INTEGER NOT NULL,
	occ_min             INTEGER NOT NULL,
	occ_mean            REAL,               -- time-weighted; NULL: no time base or duration
	occ_max             INTEGER NOT NULL,
	occ_end             INTEGER NOT NULL,
	snapshot_end        INTEGER,            -- after snapshot's count (NULL: none)
	end_diff            INTEGER             -- occ_end - snapshot_end (NULL: no after snapshot)
);

-- Residency on a PCP list per exit kind ('alloc': PCP-served alloc, 'drain'), stays with
-- entry and exit in the trace, log2 buckets [lo_ns, hi_ns) as round_trip_hist.
CREATE TABLE lifecycle_residency_hist (
	exit_kind TEXT NOT NULL CHECK (exit_kind IN ('alloc', 'drain')),
	lo_ns INTEGER NOT NULL,
	hi_ns INTEGER NOT NULL,
	stays INTEGER NOT NULL,
	pages INTEGER NOT NULL,
	PRIMARY KEY (exit_kind, lo_ns)
);

-- Occupancy per --bucket window (bucket_start_ns relative to the first record) and CPU, rows
-- only where the CPU's occupancy changed; a missing row kept the previous occ_end.
CREATE TABLE lifecycle_occupancy (
	bucket_start_ns INTEGER NOT NULL,
	cpu             INTEGER NOT NULL,
	changes         INTEGER NOT NULL,
	occ_min         INTEGER NOT NULL,   -- the level the bucket entered with included
	occ_max         INTEGER NOT NULL,
	occ_end         INTEGER NOT NULL,
	occ_mean        REAL,               -- NULL: empty part of the trace, or no time base
	PRIMARY KEY (bucket_start_ns, cpu)
);

-- Per task (the records' common_pid; -1: no such field), comm from the trace's cmdlines.
CREATE TABLE lifecycle_task (
	pid               INTEGER PRIMARY KEY,
	comm              TEXT,             -- NULL: the trace's cmdlines do not name the pid
	refill_blocks     INTEGER NOT NULL,
	refill_pages      INTEGER NOT NULL,
	drain_blocks      INTEGER NOT NULL,
	drain_pages       INTEGER NOT NULL,
	lock_acquisitions INTEGER NOT NULL, -- native refill/drain zone-lock events
	allocs            INTEGER NOT NULL,
	pcp_allocs        INTEGER NOT NULL,
	buddy_allocs      INTEGER NOT NULL,
	frees             INTEGER NOT NULL,
	free_entries      INTEGER NOT NULL
);

-- The refill -> drain round trips (pairing) split into phases: wait_before_alloc, in_use,
-- wait_between_uses (only with 2+ uses), wait_after_free; log2 buckets, split round trips only
-- (trace_info round_trips_split / _unused / _unsplit count them all).
CREATE TABLE round_trip_phase_hist (
	phase       TEXT NOT NULL CHECK (phase IN ('wait_before_alloc', 'in_use',
						  'wait_between_uses', 'wait_after_free')),
	lo_ns       INTEGER NOT NULL,
	hi_ns       INTEGER NOT NULL,
	round_trips INTEGER NOT NULL,
	PRIMARY KEY (phase, lo_ns)
);

-- Views for the usual questions.

-- Lock causes (pcprecord --stacks; docs/METRICS.md "Lock causes"): zone-lock acquisitions
-- (native or inferred, as zone_lock counts them) per zone, kind and cause. cause is one of the
-- rules' causes, 'other' (a stack no rule matches) or 'unsampled' (no stack was recorded for
-- the acquisition). Empty when the trace has no ftrace:kernel_stack record. pages: the pages
-- of the blocks the acquisition moved.
CREATE TABLE lock_cause (
	kind         TEXT NOT NULL CHECK (kind IN ('refill', 'drain')),
	nid          INTEGER NOT NULL,
	zid          INTEGER NOT NULL,
	cause        TEXT NOT NULL,
	acquisitions INTEGER NOT NULL,
	pages        INTEGER NOT NULL,
	PRIMARY KEY (kind, nid, zid, cause)
);

-- The --top most frequent stacks per kind and cause (rank 0 = most acquisitions), with the
-- task that hit them. folded: frame names, outermost first, ';' between them (FlameGraph's
-- folded format: SELECT comm || ';' || folded || ' ' || acquisitions FROM lock_cause_stack).
CREATE TABLE lock_cause_stack (
	kind         TEXT NOT NULL CHECK (kind IN ('refill', 'drain')),
	cause        TEXT NOT NULL,
	rank         INTEGER NOT NULL,
	comm         TEXT NOT NULL,
	pid          INTEGER NOT NULL,
	folded       TEXT NOT NULL,
	acquisitions INTEGER NOT NULL,
	pages        INTEGER NOT NULL,
	PRIMARY KEY (kind, cause, rank)
);

-- Hottest PFNs: most round trips first.
CREATE VIEW v_hot_pfns AS
SELECT pfn,
       CASE WHEN (SELECT value FROM trace_info WHERE key = 'block_key') = 'page_pointer'
            THEN NULL ELSE printf('0x%x', pfn) END AS pfn_hex,  -- NULL: no PFN (page pointers)
       "order", cycles, cross_cpu_cycles,
       round(1.0 * cross_cpu_cycles / cycles, 4) AS cross_cpu_ratio,
       min_round_trip_ns, max_round_trip_ns
FROM pfn_cycles
ORDER BY cycles DESC, pfn ASC;

-- Busiest CPU pairs: share of all pairs, cross-CPU flagged.
CREATE VIEW v_cpu_pairs AS
SELECT refill_cpu, drain_cpu, pairs, pages,
       refill_cpu != drain_cpu AS cross_cpu,
       round(1.0 * pairs / (SELECT sum(pairs) FROM pair_matrix), 4) AS share
FROM pair_matrix
ORDER BY pairs DESC, refill_cpu, drain_cpu;

-- Zone-lock rate per zone and kind, with pages moved per acquisition.
CREATE VIEW v_zone_lock_rate AS
SELECT nid, zid, kind, acquisitions, per_second, peak_per_second,
       CASE WHEN acquisitions > 0 THEN round(1.0 * moved_pages / acquisitions, 2) ELSE 0 END
           AS pages_per_acquisition,
       (SELECT value FROM trace_info WHERE key = 'lock_source') AS lock_source
FROM zone_lock
ORDER BY per_second DESC, nid, zid, kind;

-- Per-CPU imbalance: each CPU's refill/drain pages against the mean over all CPUs.
CREATE VIEW v_cpu_imbalance AS
SELECT cpu, refill_pages, drain_pages, net_pages,
       round(refill_pages / nullif((SELECT avg(refill_pages) FROM cpu_flow), 0), 4)
           AS refill_vs_mean,
       round(drain_pages / nullif((SELECT avg(drain_pages) FROM cpu_flow), 0), 4)
           AS drain_vs_mean,
       refill_locks, drain_locks, lost_events
FROM cpu_flow
ORDER BY cpu;

-- Percpu call sites holding the most memory at the end of the trace.
CREATE VIEW v_percpu_top_outstanding AS
SELECT printf('0x%x', call_site) AS call_site_hex, symbol, outstanding_allocs,
       outstanding_bytes, allocs, frees, fails
FROM percpu_callsite
ORDER BY outstanding_bytes DESC, allocs DESC;
