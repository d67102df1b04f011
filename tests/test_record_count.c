/* The recorder's event count (lib/record/event_count.c) on ring-buffer pages a kernel recorded:
 * every fixture trace's pages that hold records, copied per CPU into spool files as pcprecord
 * spools them, counted by the recorder, against libtracecmd's own records of the same file
 * (events per CPU and per type, missed-event marks, events at or after a mark in time). */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event-parse.h>
#include <trace-cmd/trace-cmd.h>
#include "common/error.h"
#include "record/event_count.h"
#include "check_helpers.h"

#define MAX_CPUS 64

static char *const names[] = {
	"kmem:mm_page_pcpu_refill", "kmem:mm_page_pcpu_drain", "kmem:mm_page_alloc_zone_locked", "percpu:percpu_alloc_percpu",
	"percpu:percpu_free_percpu", "nosuch:event",
};
#define NR_NAMES (sizeof(names) / sizeof(names[0]))

static char tmpdir[] = "/tmp/pcp_record_count_test.XXXXXX";

/* What libtracecmd says about the file, and the spools made from its pages. */
struct expected {
	int nr_cpus;
	struct pcp_rec_spool spools[MAX_CPUS];
	struct pcp_record_cpu cpus[MAX_CPUS];      /* recorded, events, missed_* */
	uint64_t counts[NR_NAMES + 1], since[NR_NAMES + 1];
	uint64_t mark_ns, total, missed;
};

static size_t slot_by_name(struct tep_handle *tep, struct tep_record *rec)
{
	struct tep_event *e = tep_find_event(tep, tep_data_type(tep, rec));
	char full[256];

	if (!e)
		return NR_NAMES;
	snprintf(full, sizeof(full), "%s:%s", e->system, e->name);
	for (size_t k = 0; k < NR_NAMES; k++)
		if (!strcmp(names[k], full))
			return k;
	return NR_NAMES;
}

/* One CPU's records: counted, and their pages appended to a spool (the file's bytes). */
static void expect_cpu(struct tracecmd_input *h, int fd, int cpu, unsigned int ps,
		       struct expected *x, FILE *marks)
{
	struct tep_handle *tep = tracecmd_get_tep(h);
	struct pcp_rec_spool *sp = &x->spools[cpu];
	unsigned long long last_page = ~0ULL;
	struct tep_record *rec;
	char *page = malloc(ps);
	char path[128];

	ck_assert_ptr_nonnull(page);
	snprintf(path, sizeof(path), "%s/spool%d", tmpdir, cpu);
	sp->fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(sp->fd, 0);
	unlink(path);
	while ((rec = tracecmd_read_data(h, cpu))) {
		unsigned long long page_off = rec->offset & ~(unsigned long long)(ps - 1);

		if (page_off != last_page) {
			ck_assert_int_eq(pread(fd, page, ps, (off_t)page_off), (ssize_t)ps);
			/* the file's bytes at the record's offset are its page: data uncompressed */
			ck_assert_ptr_nonnull(memmem(page, ps, rec->data, (size_t)rec->size));
			ck_assert_int_eq(write(sp->fd, page, ps), (ssize_t)ps);
			sp->bytes += ps;
			last_page = page_off;
		}
		x->cpus[cpu].recorded = 1;
		x->cpus[cpu].events++;
		x->total++;
		if (rec->missed_events > 0) {
			x->cpus[cpu].missed_in_file += (uint64_t)rec->missed_events;
			x->missed += (uint64_t)rec->missed_events;
		} else if (rec->missed_events < 0) {
			x->cpus[cpu].missed_unknown++;
			x->missed++;
		}
		x->counts[slot_by_name(tep, rec)]++;
		fprintf(marks, "%llu %zu\n", rec->ts, slot_by_name(tep, rec));
		tracecmd_free_record(rec);
	}
	free(page);
}

static int cmp_ull(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

/* The mark: the median record time; since[]: records at or after it. */
static void expect_since(FILE *marks, struct expected *x)
{
	unsigned long long *ts = calloc(x->total ? x->total : 1, sizeof(*ts)), t;
	unsigned long long *sorted = calloc(x->total ? x->total : 1, sizeof(*sorted));
	size_t *slot = calloc(x->total ? x->total : 1, sizeof(*slot)), s, n = 0, i;

	ck_assert(ts && sorted && slot);
	rewind(marks);
	while (n < x->total && fscanf(marks, "%llu %zu", &t, &s) == 2) {
		ts[n] = t;
		slot[n++] = s;
	}
	ck_assert_uint_eq(n, x->total);
	memcpy(sorted, ts, n * sizeof(*ts));
	qsort(sorted, n, sizeof(*sorted), cmp_ull);
	x->mark_ns = n ? sorted[n / 2] : 0;
	for (i = 0; i < n; i++)
		if (x->mark_ns && ts[i] >= x->mark_ns)
			x->since[slot[i]]++;
	free(ts);
	free(sorted);
	free(slot);
}

static void walk_and_compare(const char *what, const struct expected *x, struct tep_handle *tep,
			     unsigned int ps)
{
	struct pcp_rec_count_query q = { .tep = tep, .events = names, .nr_events = NR_NAMES,
					 .page_size = ps, .mark_ns = x->mark_ns };
	struct pcp_record_cpu cpus[MAX_CPUS];
	uint64_t counts[NR_NAMES + 1] = { 0 }, since[NR_NAMES + 1] = { 0 };
	struct pcp_rec_tally t = { counts, since };
	char err[256] = "";
	int rc;

	memset(cpus, 0, sizeof(cpus));
	for (int c = 0; c < x->nr_cpus; c++)
		cpus[c].recorded = x->cpus[c].recorded;
	rc = pcp_rec_count_spools(&q, x->spools, cpus, x->nr_cpus, &t, err, sizeof(err));
	ck_assert_msg(rc == PCP_OK, "%s: %s", what, err);
	for (int c = 0; c < x->nr_cpus; c++) {
		ck_assert_msg(cpus[c].events == x->cpus[c].events, "%s CPU %d: %llu events, libtracecmd %llu",
			      what, c, (unsigned long long)cpus[c].events,
			      (unsigned long long)x->cpus[c].events);
		ck_assert_uint_eq(cpus[c].missed_in_file, x->cpus[c].missed_in_file);
		ck_assert_uint_eq(cpus[c].missed_unknown, x->cpus[c].missed_unknown);
	}
	for (size_t k = 0; k <= NR_NAMES; k++) {
		ck_assert_msg(counts[k] == x->counts[k], "%s %s: %llu, libtracecmd %llu", what,
			      k < NR_NAMES ? names[k] : "(other)", (unsigned long long)counts[k],
			      (unsigned long long)x->counts[k]);
		ck_assert_uint_eq(since[k], x->since[k]);
	}
}

/* A v6 file's header: magic (10 bytes), "6\0", endian, long size, page size (u32, host order
 * for these fixtures: recorded on x86). v6 data sections are the kernel's pages at file
 * offsets, which is what lets the test copy them. */
static unsigned int v6_page_size(int fd)
{
	unsigned char h[18];
	uint32_t ps;

	ck_assert_int_eq(pread(fd, h, sizeof(h), 0), (ssize_t)sizeof(h));
	ck_assert_msg(h[10] == '6' && h[11] == 0, "not a v6 trace.dat");
	memcpy(&ps, h + 14, 4);
	ck_assert_uint_eq(ps & (ps - 1), 0);
	return ps;
}

/* Returns the records counted. */
static uint64_t check_fixture(const char *path, uint64_t *missed)
{
	struct tracecmd_input *top = tracecmd_open(path, TRACECMD_FL_LOAD_NO_PLUGINS), *h;
	struct expected *x = calloc(1, sizeof(*x));
	struct tep_handle *tep;
	FILE *marks = tmpfile();
	unsigned int ps;
	uint64_t total;
	int fd = open(path, O_RDONLY);

	ck_assert_msg(top != NULL, "%s: libtracecmd cannot open it", path);
	/* recorded into an instance (trace-cmd extract -B): the data is the instance's */
	h = tracecmd_buffer_instances(top) ? tracecmd_buffer_instance_handle(top, 0) : top;
	ck_assert_ptr_nonnull(h);
	ck_assert(x && marks && fd >= 0);
	ps = v6_page_size(fd);
	tep = tracecmd_get_tep(h);
	x->nr_cpus = tep_get_cpus(tep);
	ck_assert_int_le(x->nr_cpus, MAX_CPUS);
	for (int c = 0; c < MAX_CPUS; c++)
		x->spools[c].fd = -1;
	for (int c = 0; c < x->nr_cpus; c++)
		expect_cpu(h, fd, c, ps, x, marks);
	expect_since(marks, x);
	walk_and_compare(path, x, tep, ps);
	total = x->total;
	*missed = x->missed;
	for (int c = 0; c < x->nr_cpus; c++)
		if (x->spools[c].fd >= 0)
			close(x->spools[c].fd);
	fclose(marks);
	close(fd);
	free(x);
	if (h != top)
		tracecmd_close(h);
	tracecmd_close(top);
	return total;
}

static const char *unxz(const char *name)
{
	static char path[512];
	char cmd[2560];

	snprintf(path, sizeof(path), "%s/%.*s", tmpdir, (int)(strlen(name) - 3), name);
	snprintf(cmd, sizeof(cmd), "xz -dc '%s' > '%s'", check_fixture_path(".", NULL, name), path);
	ck_assert_int_eq(system(cmd), 0);
	return path;
}

/* trace-cmd convert's v6 copy of a v7 fixture (its data is compressed: no pages at offsets).
 * The pages are the recorded ones, decompressed. */
static const char *as_v6(const char *name)
{
	static char path[512];
	char cmd[2560];

	snprintf(path, sizeof(path), "%s/%s.v6", tmpdir, name);
	snprintf(cmd, sizeof(cmd), "trace-cmd convert --file-version 6 -i '%s' -o '%s' >/dev/null 2>&1",
		 check_fixture_path(".", NULL, name), path);
	ck_assert_msg(system(cmd) == 0, "trace-cmd convert failed (scripts/setup.sh installs trace-cmd)");
	return path;
}

/* Recorded with a small buffer in overwrite mode: 19111 events overwritten, marked on the
 * pages after them (trace-cmd report counts the same). */
START_TEST(counts_with_missed_events)
{
	uint64_t missed = 0, n = check_fixture(as_v6("overrun.dat"), &missed);

	ck_assert_uint_eq(n, 306);
	ck_assert_uint_eq(missed, 9831 + 9280);
}
END_TEST

/* Recorded in no-overwrite mode: events dropped by the kernel leave no marks in the pages. */
START_TEST(counts_dropped)
{
	uint64_t missed = 0, n = check_fixture(unxz("dropped-v6.dat.xz"), &missed);

	ck_assert_uint_eq(n, 1921 + 2465);
	ck_assert_uint_eq(missed, 0);
}
END_TEST

START_TEST(counts_fallback_refills)
{
	uint64_t missed = 0, n = check_fixture(unxz("fallback-v6.dat.xz"), &missed);

	ck_assert_uint_gt(n, 1000);
}
END_TEST

/* Recorded on a kernel with the seed patch's native refill events, one and two nodes. */
START_TEST(counts_native_lab)
{
	static const char *const files[] = { "lab-1node.dat.xz", "lab-2node.dat.xz",
					     "lab-2node-zones.dat.xz", "fallback-zones.dat.xz",
					     "lab-1node-lifecycle.dat.xz", "lab-2node-lifecycle.dat.xz" };
	uint64_t all = 0, missed = 0;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		all += check_fixture(unxz(files[i]), &missed);
	ck_assert_uint_gt(all, 1000);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("record_count");
	TCase *tc = tcase_create("count");
	SRunner *sr;
	int failed;

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	tcase_add_test(tc, counts_with_missed_events);
	tcase_add_test(tc, counts_dropped);
	tcase_add_test(tc, counts_fallback_refills);
	tcase_add_test(tc, counts_native_lab);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	rmdir(tmpdir);
	return failed ? 1 : 0;
}
