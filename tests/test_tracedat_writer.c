/*
 * Unit tests of the ring-buffer page encoder (decoded back with libtraceevent's kbuffer) and of
 * the trace.dat writer (read back with libtracecmd), including the "never a partial output"
 * guarantees. Formats come from tests/fixtures/formats (PCP_SOURCE_DIR, set by ctest).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <trace-cmd/trace-cmd.h>
#include <traceevent/event-parse.h>
#include <traceevent/kbuffer.h>

#include "common/error.h"
#include "tracedat/ringbuf_encode.h"
#include "synth/synth.h"
#include "tracedat/tracedat.h"
#include "check_helpers.h"

#define PAGE 4096

/* ---- helpers ---------------------------------------------------------------------------- */

struct pages {
	unsigned char *v;
	size_t nr;
};

static int collect_page(void *ctx, const void *page, size_t page_size)
{
	struct pages *p = ctx;
	unsigned char *nv = realloc(p->v, (p->nr + 1) * page_size);
	if (!nv)
		return PCP_ERR_NOMEM;
	p->v = nv;
	memcpy(p->v + p->nr * page_size, page, page_size);
	p->nr++;
	return PCP_OK;
}

static struct kbuffer *new_kbuf(void)
{
	struct kbuffer *kb = kbuffer_alloc(sizeof(long) == 8 ? KBUFFER_LSIZE_8 : KBUFFER_LSIZE_4,
					   KBUFFER_ENDIAN_SAME_AS_HOST);
	ck_assert_ptr_nonnull(kb);
	return kb;
}

static char tmpdir[256];

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_tdw.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

/* Number of entries in tmpdir (to prove nothing is left behind). */
static int dir_entries(void)
{
	return check_dir_entries(tmpdir);
}

static void remove_tmpdir(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char path[512];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(tmpdir);
}

static char *read_fixture(const char *name, size_t *len)
{
	return check_read_fixture(".", "formats", name, len);
}

/* A record of kmem:mm_page_pcpu_drain (id 651) / refill (3001): pfn@8, order@16, mt@20. */
static void make_pcpu_record(unsigned char *rec, uint16_t id, int pid, uint64_t pfn,
			     uint32_t order, int32_t mt)
{
	memset(rec, 0, 24);
	memcpy(rec, &id, 2);
	memcpy(rec + 4, &pid, 4);
	memcpy(rec + 8, &pfn, 8);
	memcpy(rec + 16, &order, 4);
	memcpy(rec + 20, &mt, 4);
}

static void add_formats(struct pcp_tdw *w)
{
	static const char *names[] = { "kmem.mm_page_pcpu_drain.format",
				       "kmem.mm_page_pcpu_refill.format",
				       "kmem.mm_page_pcpu_refill_zone_locked.format" };
	size_t len;
	char *t;

	t = read_fixture("header_page", &len);
	ck_assert_int_eq(pcp_tdw_set_header_page(w, t, len), PCP_OK);
	free(t);
	t = read_fixture("header_event", &len);
	ck_assert_int_eq(pcp_tdw_set_header_event(w, t, len), PCP_OK);
	free(t);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		t = read_fixture(names[i], &len);
		ck_assert_int_eq(pcp_tdw_add_event_format(w, "kmem", t, len), PCP_OK);
		free(t);
	}
}

/* ---- encoder ---------------------------------------------------------------------------- */

START_TEST(encode_small_events_and_time_extend)
{
	struct pages p = { 0 };
	struct pcp_rbenc *e;
	unsigned char rec[24];
	const uint64_t ts[] = { 1000, 1000, 1001, 1001 + (1u << 27) - 1, 1001 + 2 * (1ull << 27),
				5000000000000ull, 5000000000000ull + (1ull << 27) };
	const size_t n = sizeof(ts) / sizeof(ts[0]);
	struct kbuffer *kb = new_kbuf();
	unsigned long long got_ts;
	void *data;

	ck_assert_int_eq(pcp_rbenc_create(PAGE, sizeof(long), collect_page, &p, &e), PCP_OK);
	for (size_t i = 0; i < n; i++) {
		make_pcpu_record(rec, 651, 7, 0x1000 + i, (uint32_t)i, -1);
		ck_assert_int_eq(pcp_rbenc_add(e, ts[i], rec, sizeof(rec)), PCP_OK);
	}
	ck_assert_int_eq(pcp_rbenc_flush(e), PCP_OK);
	ck_assert_uint_eq(p.nr, 1);
	ck_assert_uint_eq(pcp_rbenc_events(e), n);

	ck_assert_int_eq(kbuffer_load_subbuffer(kb, p.v), 0);
	ck_assert_int_eq(kbuffer_missed_events(kb), 0);
	data = kbuffer_read_event(kb, &got_ts);
	for (size_t i = 0; i < n; i++) {
		uint64_t pfn;
		ck_assert_ptr_nonnull(data);
		ck_assert_uint_eq(got_ts, ts[i]);
		ck_assert_int_eq(kbuffer_event_size(kb), 24);
		memcpy(&pfn, (unsigned char *)data + 8, 8);
		ck_assert_uint_eq(pfn, 0x1000 + i);
		data = kbuffer_next_event(kb, &got_ts);
	}
	ck_assert_ptr_null(data);
	kbuffer_free(kb);
	pcp_rbenc_destroy(e);
	free(p.v);
}
END_TEST

START_TEST(encode_large_event_uses_length_word)
{
	struct pages p = { 0 };
	struct pcp_rbenc *e;
	unsigned char rec[150];
	struct kbuffer *kb = new_kbuf();
	unsigned long long ts;
	unsigned char *data;

	for (size_t i = 0; i < sizeof(rec); i++)
		rec[i] = (unsigned char)i;
	ck_assert_int_eq(pcp_rbenc_create(PAGE, sizeof(long), collect_page, &p, &e), PCP_OK);
	ck_assert_int_eq(pcp_rbenc_add(e, 42, rec, sizeof(rec)), PCP_OK);
	ck_assert_int_eq(pcp_rbenc_add(e, 43, rec, 113), PCP_OK);
	ck_assert_int_eq(pcp_rbenc_flush(e), PCP_OK);
	ck_assert_int_eq(kbuffer_load_subbuffer(kb, p.v), 0);
	data = kbuffer_read_event(kb, &ts);
	ck_assert_uint_eq(ts, 42);
	ck_assert_int_ge(kbuffer_event_size(kb), 150);
	ck_assert_mem_eq(data, rec, sizeof(rec));
	data = kbuffer_next_event(kb, &ts);
	ck_assert_uint_eq(ts, 43);
	ck_assert_int_eq(kbuffer_event_size(kb), 116);
	ck_assert_mem_eq(data, rec, 113);
	ck_assert_ptr_null(kbuffer_next_event(kb, &ts));
	kbuffer_free(kb);
	pcp_rbenc_destroy(e);
	free(p.v);
}
END_TEST

START_TEST(encode_spills_over_pages_and_marks_missed)
{
	struct pages p = { 0 };
	struct pcp_rbenc *e;
	unsigned char rec[24];
	struct kbuffer *kb = new_kbuf();
	unsigned long long ts;
	uint64_t total = 0, next_pfn = 0;

	ck_assert_int_eq(pcp_rbenc_create(PAGE, sizeof(long), collect_page, &p, &e), PCP_OK);
	for (int i = 0; i < 1000; i++) {
		if (i == 500)
			ck_assert_int_eq(pcp_rbenc_mark_missed(e, 1234), PCP_OK);
		if (i == 700) {
			ck_assert_int_eq(pcp_rbenc_mark_missed(e, 3), PCP_OK);
			ck_assert_int_eq(pcp_rbenc_mark_missed(e, -1), PCP_OK);
		}
		make_pcpu_record(rec, 651, 0, (uint64_t)i, 0, 0);
		ck_assert_int_eq(pcp_rbenc_add(e, 100 + (uint64_t)i * 10, rec, sizeof(rec)), PCP_OK);
	}
	ck_assert_int_eq(pcp_rbenc_flush(e), PCP_OK);
	ck_assert_uint_gt(p.nr, 6);
	ck_assert_uint_eq(pcp_rbenc_pages(e), p.nr);

	for (size_t pg = 0; pg < p.nr; pg++) {
		void *data;
		ck_assert_int_eq(kbuffer_load_subbuffer(kb, p.v + pg * PAGE), 0);
		data = kbuffer_read_event(kb, &ts);
		ck_assert_ptr_nonnull(data);
		if (next_pfn == 500)
			ck_assert_int_eq(kbuffer_missed_events(kb), 1234);
		else if (next_pfn == 700)
			ck_assert_int_eq(kbuffer_missed_events(kb), -1);
		else
			ck_assert_int_eq(kbuffer_missed_events(kb), 0);
		for (; data; data = kbuffer_next_event(kb, &ts)) {
			uint64_t pfn;
			memcpy(&pfn, (unsigned char *)data + 8, 8);
			ck_assert_uint_eq(pfn, next_pfn);
			ck_assert_uint_eq(ts, 100 + next_pfn * 10);
			next_pfn++;
			total++;
		}
	}
	ck_assert_uint_eq(total, 1000);
	kbuffer_free(kb);
	pcp_rbenc_destroy(e);
	free(p.v);
}
END_TEST

START_TEST(encode_rejects_bad_input)
{
	struct pages p = { 0 };
	struct pcp_rbenc *e;
	unsigned char big[PAGE];

	memset(big, 0, sizeof(big));
	ck_assert_int_eq(pcp_rbenc_create(PAGE, 3, collect_page, &p, &e), PCP_ERR_USAGE);
	ck_assert_ptr_null(e);
	ck_assert_int_eq(pcp_rbenc_create(PAGE, sizeof(long), collect_page, &p, &e), PCP_OK);
	ck_assert_int_eq(pcp_rbenc_add(e, 10, big, 24), PCP_OK);
	ck_assert_int_eq(pcp_rbenc_add(e, 9, big, 24), PCP_ERR_USAGE);
	ck_assert_int_eq(pcp_rbenc_add(e, 11, big, sizeof(big)), PCP_ERR_USAGE);
	ck_assert_int_eq(pcp_rbenc_add(e, 11, big, 0), PCP_ERR_USAGE);
	ck_assert_int_eq(pcp_rbenc_mark_missed(e, 0), PCP_ERR_USAGE);
	pcp_rbenc_destroy(e);
	free(p.v);
}
END_TEST

/* ---- writer ----------------------------------------------------------------------------- */

struct writer_ctx {
	struct pcp_tdw *w;
	int cpu;
};

static int page_to_writer(void *ctx, const void *page, size_t page_size)
{
	struct writer_ctx *c = ctx;
	(void)page_size;
	return pcp_tdw_add_cpu_page(c->w, c->cpu, page);
}

/* Reads path back with libtracecmd: per CPU, events must be pfn = cpu * 100000 + i, ts =
 * 1e9 + i * step (+ cpu); cpu 1 carries a stored missed count of 77 on its record 300. */
static void check_readback(const char *path, int nr_cpus, int per_cpu, uint64_t step)
{
	struct tracecmd_input *h = tracecmd_open(path, TRACECMD_FL_LOAD_NO_PLUGINS);
	struct tep_handle *tep;
	struct tep_event *drain;
	struct tep_format_field *pfn_field;

	ck_assert_msg(h != NULL, "libtracecmd cannot open %s", path);
	tep = tracecmd_get_tep(h);
	ck_assert_int_eq(tep_get_cpus(tep), nr_cpus);
	drain = tep_find_event_by_name(tep, "kmem", "mm_page_pcpu_drain");
	ck_assert_ptr_nonnull(drain);
	ck_assert_ptr_nonnull(tep_find_event_by_name(tep, "kmem", "mm_page_pcpu_refill_zone_locked"));
	pfn_field = tep_find_field(drain, "pfn");
	ck_assert_ptr_nonnull(pfn_field);
	for (int cpu = 0; cpu < nr_cpus; cpu++) {
		struct tep_record *r = tracecmd_read_cpu_first(h, cpu);
		int i = 0;
		for (; r; r = tracecmd_read_data(h, cpu), i++) {
			unsigned long long pfn;
			ck_assert_int_eq(tep_data_type(tep, r), drain->id);
			ck_assert_int_eq(tep_read_number_field(pfn_field, r->data, &pfn), 0);
			ck_assert_uint_eq(pfn, (uint64_t)cpu * 100000 + (uint64_t)i);
			ck_assert_uint_eq(r->ts, 1000000000ull + (uint64_t)i * step + (uint64_t)cpu);
			ck_assert_int_eq(r->cpu, cpu);
			if (cpu == 1 && i == 300)
				ck_assert_int_eq(r->missed_events, 77);
			else
				ck_assert_int_eq(r->missed_events, 0);
			tracecmd_free_record(r);
		}
		ck_assert_int_eq(i, cpu == nr_cpus - 1 ? 0 : per_cpu);
	}
	tracecmd_close(h);
}

/* Encodes the events check_readback() expects into CPUs 0 .. nr_cpus - 2 (last one empty). */
static void encode_cpu(struct pcp_rbenc *e, int cpu, int per_cpu, uint64_t step)
{
	unsigned char rec[24];

	for (int i = 0; i < per_cpu; i++) {
		if (cpu == 1 && i == 300)
			ck_assert_int_eq(pcp_rbenc_mark_missed(e, 77), PCP_OK);
		make_pcpu_record(rec, 651, 10 + cpu, (uint64_t)cpu * 100000 + (uint64_t)i, 0, 1);
		ck_assert_int_eq(pcp_rbenc_add(e, 1000000000ull + (uint64_t)i * step + (uint64_t)cpu,
					       rec, sizeof(rec)),
				 PCP_OK);
	}
	ck_assert_int_eq(pcp_rbenc_flush(e), PCP_OK);
}

START_TEST(writer_pages_round_trip_through_libtracecmd)
{
	struct pcp_tdw_params params = { .nr_cpus = 3, .page_size = PAGE, .long_size = 0 };
	struct pcp_tdw *w;
	char path[512];
	const uint64_t step = 200000000; /* 200 ms > 2^27 ns: every delta needs a time extend */

	make_tmpdir();
	snprintf(path, sizeof(path), "%s/out.dat", tmpdir);
	ck_assert_int_eq(pcp_tdw_create(path, &params, &w), PCP_OK);
	ck_assert_uint_eq(pcp_tdw_page_size(w), PAGE);
	ck_assert_int_eq(pcp_tdw_long_size(w), (int)sizeof(long));
	add_formats(w);
	ck_assert_int_eq(pcp_tdw_set_cmdlines(w, "10 cpu0task\n11 cpu1task\n", 24), PCP_OK);
	ck_assert_int_eq(pcp_tdw_set_trace_clock(w, "[local] global counter\n"), PCP_OK);
	ck_assert_int_eq(pcp_tdw_set_uname(w, "Linux test 6.18 x86_64"), PCP_OK);
	ck_assert_int_eq(pcp_tdw_add_cpustat(w, "CPU: 0\nentries: 1000\n"), PCP_OK);
	ck_assert_int_eq(pcp_tdw_set_kallsyms(w, "ffffffff81000000 T _stext\n", 26), PCP_OK);
	for (int cpu = 0; cpu < 2; cpu++) {
		struct writer_ctx c = { w, cpu };
		struct pcp_rbenc *e;
		ck_assert_int_eq(pcp_rbenc_create(PAGE, sizeof(long), page_to_writer, &c, &e), PCP_OK);
		encode_cpu(e, cpu, 1000, step);
		pcp_rbenc_destroy(e);
	}
	/* Nothing at the target until commit. */
	ck_assert_int_ne(access(path, F_OK), 0);
	ck_assert_int_eq(pcp_tdw_commit(w), PCP_OK);
	ck_assert_int_eq(dir_entries(), 1);
	check_readback(path, 3, 1000, step);
	remove_tmpdir();
}
END_TEST

START_TEST(writer_copies_cpu_data_fds)
{
	struct pcp_tdw_params params = { .nr_cpus = 3, .page_size = PAGE };
	struct pcp_tdw *w;
	char path[512], fdpath[512];
	int fds[2];

	make_tmpdir();
	snprintf(path, sizeof(path), "%s/fd.dat", tmpdir);
	for (int cpu = 0; cpu < 2; cpu++) {
		struct pages p = { 0 };
		struct pcp_rbenc *e;
		snprintf(fdpath, sizeof(fdpath), "%s/cpu%d.raw", tmpdir, cpu);
		fds[cpu] = open(fdpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
		ck_assert_int_ge(fds[cpu], 0);
		unlink(fdpath);
		ck_assert_int_eq(pcp_rbenc_create(PAGE, sizeof(long), collect_page, &p, &e), PCP_OK);
		encode_cpu(e, cpu, 3000, 1000);
		ck_assert_int_eq(write(fds[cpu], p.v, p.nr * PAGE), (ssize_t)(p.nr * PAGE));
		pcp_rbenc_destroy(e);
		free(p.v);
	}
	ck_assert_int_eq(pcp_tdw_create(path, &params, &w), PCP_OK);
	add_formats(w);
	ck_assert_int_eq(pcp_tdw_set_cpu_data_fd(w, 0, fds[0]), PCP_OK);
	ck_assert_int_eq(pcp_tdw_set_cpu_data_fd(w, 1, fds[1]), PCP_OK);
	ck_assert_int_eq(pcp_tdw_set_cpu_data_fd(w, 3, fds[1]), PCP_ERR_USAGE);
	ck_assert_int_eq(pcp_tdw_commit(w), PCP_OK);
	check_readback(path, 3, 3000, 1000);
	ck_assert_int_eq(dir_entries(), 1);
	close(fds[0]);
	close(fds[1]);
	remove_tmpdir();
}
END_TEST

START_TEST(writer_failures_leave_nothing)
{
	struct pcp_tdw_params params = { .nr_cpus = 2, .page_size = PAGE };
	struct pcp_tdw *w;
	char path[512], fdpath[512];
	unsigned char page[PAGE];
	int fd;
	FILE *f;
	char buf[16] = { 0 };

	memset(page, 0, sizeof(page));
	make_tmpdir();
	snprintf(path, sizeof(path), "%s/out.dat", tmpdir);

	/* Abort after writing pages: no output, no temporary file. */
	ck_assert_int_eq(pcp_tdw_create(path, &params, &w), PCP_OK);
	add_formats(w);
	ck_assert_int_eq(pcp_tdw_add_cpu_page(w, 0, page), PCP_OK);
	ck_assert_int_eq(pcp_tdw_set_cpu_data_fd(w, 0, 0), PCP_ERR_USAGE);
	ck_assert_int_eq(pcp_tdw_add_cpu_page(w, 2, page), PCP_ERR_USAGE);
	pcp_tdw_abort(w);
	ck_assert_int_eq(dir_entries(), 0);

	/* An existing output survives a failed commit (missing header texts). */
	f = fopen(path, "w");
	fputs("OLD", f);
	fclose(f);
	ck_assert_int_eq(pcp_tdw_create(path, &params, &w), PCP_OK);
	ck_assert_int_eq(pcp_tdw_commit(w), PCP_ERR_USAGE);
	ck_assert_int_eq(dir_entries(), 1);

	/* CPU data that is not whole pages is refused, the old output stays. */
	snprintf(fdpath, sizeof(fdpath), "%s/cpu.raw", tmpdir);
	fd = open(fdpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	unlink(fdpath);
	ck_assert_int_eq(write(fd, page, 100), 100);
	ck_assert_int_eq(pcp_tdw_create(path, &params, &w), PCP_OK);
	add_formats(w);
	ck_assert_int_eq(pcp_tdw_set_cpu_data_fd(w, 1, fd), PCP_OK);
	ck_assert_int_eq(pcp_tdw_commit(w), PCP_ERR_CORRUPT);
	close(fd);
	ck_assert_int_eq(dir_entries(), 1);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	ck_assert_str_eq(buf, "OLD");

	/* Bad parameters and a missing directory. */
	params.nr_cpus = 0;
	ck_assert_int_eq(pcp_tdw_create(path, &params, &w), PCP_ERR_USAGE);
	ck_assert_ptr_null(w);
	params.nr_cpus = 1;
	params.long_size = 5;
	ck_assert_int_eq(pcp_tdw_create(path, &params, &w), PCP_ERR_USAGE);
	params.long_size = 0;
	snprintf(path, sizeof(path), "%s/no/such/dir/out.dat", tmpdir);
	ck_assert_int_eq(pcp_tdw_create(path, &params, &w), PCP_ERR_IO);
	ck_assert_ptr_null(w);
	ck_assert_int_eq(dir_entries(), 1);
	remove_tmpdir();
}
END_TEST

/* ---- synth library ---------------------------------------------------------------------- */

START_TEST(synth_reports_script_line)
{
	const char *src = getenv("PCP_SOURCE_DIR");
	char formats[512], script[512], out[512], msg[512];
	struct pcp_synth_opts o = { 0 };
	struct pcp_synth_stats st;
	FILE *f;

	make_tmpdir();
	snprintf(formats, sizeof(formats), "%s/tests/fixtures/formats", src ? src : ".");
	snprintf(script, sizeof(script), "%s/s.synth", tmpdir);
	snprintf(out, sizeof(out), "%s/s.dat", tmpdir);
	o.formats_dir = formats;
	o.script_path = script;
	o.out_path = out;

	f = fopen(script, "w");
	fputs("cpus 2\ncomm 9 x\n5 1 kmem:mm_page_pcpu_refill pfn=0x10 order=1\n"
	      "missed 1 4\n6 1 kmem:mm_page_pcpu_drain pfn=16 order=1 migratetype=-1\n", f);
	fclose(f);
	ck_assert_int_eq(pcp_synth_build(&o, &st, msg, sizeof(msg)), PCP_OK);
	ck_assert_int_eq(st.nr_cpus, 2);
	ck_assert_uint_eq(st.events, 2);
	ck_assert_uint_eq(st.pages, 2);
	ck_assert_uint_eq(st.missed_marks, 1);
	ck_assert_int_eq(dir_entries(), 2);

	f = fopen(script, "w");
	fputs("# comment\n\n5 0 kmem:mm_page_pcpu_refill pfn=0x10 order=x\n", f);
	fclose(f);
	ck_assert_int_eq(pcp_synth_build(&o, &st, msg, sizeof(msg)), PCP_ERR_USAGE);
	ck_assert_msg(strstr(msg, "s.synth:3: 'x' is not") != NULL, "message: %s", msg);
	ck_assert_int_eq(dir_entries(), 2);
	remove_tmpdir();
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("tracedat_writer");
	TCase *enc = tcase_create("encoder");
	TCase *wr = tcase_create("writer");

	tcase_add_test(enc, encode_small_events_and_time_extend);
	tcase_add_test(enc, encode_large_event_uses_length_word);
	tcase_add_test(enc, encode_spills_over_pages_and_marks_missed);
	tcase_add_test(enc, encode_rejects_bad_input);
	tcase_add_test(wr, writer_pages_round_trip_through_libtracecmd);
	tcase_add_test(wr, writer_copies_cpu_data_fds);
	tcase_add_test(wr, writer_failures_leave_nothing);
	tcase_add_test(wr, synth_reports_script_line);
	tcase_set_timeout(wr, 60);
	suite_add_tcase(s, enc);
	suite_add_tcase(s, wr);
	return s;
}

int main(void)
{
	return check_run_suite(suite());
}
