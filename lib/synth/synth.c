/* Synthetic trace builder: script + tracefs formats -> ring-buffer pages -> trace.dat. */
#include "synth/synth.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <traceevent/event-parse.h>

#include "common/error.h"
#include "common/io.h"
#include "tracedat/ringbuf_encode.h"
#include "tracedat/tracedat.h"

#define SYNTH_MAX_CPUS 4096

struct synth_format {
	char *file;          /* file name in the formats directory */
	char *system;
	char *text;
	size_t len;
	struct tep_event *event;
	struct tep_format_field *common_type;
	size_t record_size;  /* bytes of a record: end of its last field */
	int used;
};

struct synth_cpu {
	struct pcp_rbenc *enc;
	struct pcp_tdw *w;
	int cpu;
	uint64_t lost;       /* known lost events */
	int lost_unknown;
};

struct synth {
	const struct pcp_synth_opts *o;
	char *msg;
	size_t msglen;

	struct tep_handle *tep;
	char *header_page, *header_event;
	size_t header_page_len, header_event_len;
	unsigned int page_size;
	int long_size;
	struct synth_format *formats;
	size_t nr_formats;

	int nr_cpus;
	int only_used;
	char clock[32];             /* "clock" statement; "" = local */
	uint32_t tsc_mult, tsc_shift;   /* "tsc2nsec" statement; mult 0 = none */
	struct synth_cpu *cpus;
	char *cmdlines;
	size_t cmdlines_len, cmdlines_cap;
	unsigned char *record;
	size_t record_cap;
	struct pcp_synth_stats stats;
};

static int fail(struct synth *s, int err, const char *fmt, ...)
{
	va_list ap;

	if (s->msg && s->msglen) {
		va_start(ap, fmt);
		vsnprintf(s->msg, s->msglen, fmt, ap);
		va_end(ap);
	}
	return err;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);
	return ls >= lx && !strcmp(s + ls - lx, suffix);
}

static int format_filter(const struct dirent *d)
{
	return d->d_name[0] != '.' && ends_with(d->d_name, ".format");
}

static int load_headers(struct synth *s)
{
	char *path;
	int err;

	if (asprintf(&path, "%s/header_page", s->o->formats_dir) < 0)
		return PCP_ERR_NOMEM;
	err = pcp_io_read_file(path, &s->header_page, &s->header_page_len);
	if (!err && tep_parse_header_page(s->tep, s->header_page, s->header_page_len,
					  (int)sizeof(long)))
		err = PCP_ERR_CORRUPT;
	if (err) {
		err = fail(s, err, "%s: %s", path,
			   err == PCP_ERR_CORRUPT ? "cannot parse header_page" : pcp_strerror(err));
		free(path);
		return err;
	}
	free(path);
	s->long_size = tep_get_header_page_size(s->tep);
	s->page_size = (unsigned int)tep_get_sub_buffer_size(s->tep);
	if ((s->long_size != 4 && s->long_size != 8) || s->page_size < 64)
		return fail(s, PCP_ERR_CORRUPT, "%s/header_page: unusable commit or data field",
			    s->o->formats_dir);

	if (asprintf(&path, "%s/header_event", s->o->formats_dir) < 0)
		return PCP_ERR_NOMEM;
	err = pcp_io_read_file(path, &s->header_event, &s->header_event_len);
	if (!err && !s->header_event_len)
		err = PCP_ERR_EMPTY;
	if (err)
		err = fail(s, err, "%s: %s", path, pcp_strerror(err));
	free(path);
	return err;
}

static int load_format(struct synth *s, const char *file, struct synth_format *f)
{
	const char *dot = strchr(file, '.');
	size_t name_len;
	char *path, *name;
	int err;

	memset(f, 0, sizeof(*f));
	f->file = strdup(file);
	if (!f->file)
		return PCP_ERR_NOMEM;
	name_len = strlen(file) - strlen(".format") - (size_t)(dot - file) - 1;
	if (dot == file || name_len == 0 || name_len > strlen(file))
		return fail(s, PCP_ERR_USAGE, "%s/%s: name is not <system>.<event>.format",
			    s->o->formats_dir, file);
	f->system = strndup(file, (size_t)(dot - file));
	name = strndup(dot + 1, name_len);
	if (asprintf(&path, "%s/%s", s->o->formats_dir, file) < 0)
		path = NULL;
	if (!f->system || !name || !path) {
		free(name);
		free(path);
		return PCP_ERR_NOMEM;
	}
	err = pcp_io_read_file(path, &f->text, &f->len);
	if (err) {
		err = fail(s, err, "%s: %s", path, pcp_strerror(err));
	} else if (tep_parse_event(s->tep, f->text, f->len, f->system)) {
		err = fail(s, PCP_ERR_CORRUPT, "%s: libtraceevent cannot parse this format", path);
	} else {
		f->event = tep_find_event_by_name(s->tep, f->system, name);
		if (!f->event)
			err = fail(s, PCP_ERR_CORRUPT, "%s: file name does not match the event's name",
				   path);
	}
	if (!err) {
		struct tep_format_field *fields[2] = { f->event->format.common_fields,
						       f->event->format.fields };
		for (int i = 0; i < 2; i++)
			for (struct tep_format_field *fl = fields[i]; fl; fl = fl->next)
				if ((size_t)(fl->offset + fl->size) > f->record_size)
					f->record_size = (size_t)(fl->offset + fl->size);
		f->common_type = tep_find_common_field(f->event, "common_type");
		if (!f->common_type || f->record_size == 0)
			err = fail(s, PCP_ERR_CORRUPT, "%s: no common_type field", path);
	}
	free(name);
	free(path);
	return err;
}

static int load_formats(struct synth *s)
{
	struct dirent **names = NULL;
	int n, err = PCP_OK;

	err = load_headers(s);
	if (err)
		return err;
	n = scandir(s->o->formats_dir, &names, format_filter, alphasort);
	if (n < 0)
		return fail(s, errno == ENOENT ? PCP_ERR_NOFILE : PCP_ERR_IO, "%s: %s",
			    s->o->formats_dir, strerror(errno));
	s->formats = calloc(n ? (size_t)n : 1, sizeof(*s->formats));
	if (!s->formats)
		err = PCP_ERR_NOMEM;
	for (int i = 0; i < n; i++) {
		if (!err) {
			err = load_format(s, names[i]->d_name, &s->formats[i]);
			s->nr_formats = (size_t)i + 1;
		}
		free(names[i]);
	}
	free(names);
	if (!err && n == 0)
		err = fail(s, PCP_ERR_USAGE, "%s: no <system>.<event>.format file",
			   s->o->formats_dir);
	return err;
}

static struct synth_format *find_format(struct synth *s, const char *sys_event)
{
	const char *colon = strchr(sys_event, ':');
	size_t sys_len;

	if (!colon)
		return NULL;
	sys_len = (size_t)(colon - sys_event);
	for (size_t i = 0; i < s->nr_formats; i++) {
		struct synth_format *f = &s->formats[i];
		if (strlen(f->system) == sys_len && !strncmp(f->system, sys_event, sys_len) &&
		    !strcmp(f->event->name, colon + 1))
			return f;
	}
	return NULL;
}

/* Parses a decimal (optionally negative) or 0x-hex integer; 0 on success. */
static int parse_int(const char *text, long long *sv, unsigned long long *uv, int *negative)
{
	char *end;

	*sv = 0;
	*uv = 0;
	*negative = 0;
	errno = 0;
	if (text[0] == '-') {
		*sv = strtoll(text, &end, 10);
		*negative = 1;
		*uv = (unsigned long long)*sv;
	} else {
		int hex = text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
		if (!(hex ? text[2] : text[0]))
			return -1;
		*uv = strtoull(text, &end, hex ? 16 : 10);
		*negative = 0;
		*sv = (long long)*uv;
		if (text[0] == '+')
			return -1;
	}
	return errno || *end || end == text ? -1 : 0;
}

static int set_field(struct synth *s, const char *where, struct synth_format *f, char *assign)
{
	char *eq = strchr(assign, '=');
	struct tep_format_field *field;
	unsigned char *dst;
	long long sv;
	unsigned long long uv;
	int negative;

	if (!eq || eq == assign)
		return fail(s, PCP_ERR_USAGE, "%s: expected field=value, got '%s'", where, assign);
	*eq = 0;
	field = tep_find_any_field(f->event, assign);
	if (!field)
		return fail(s, PCP_ERR_USAGE, "%s: %s:%s has no field '%s'", where, f->system,
			    f->event->name, assign);
	if (field == f->common_type)
		return fail(s, PCP_ERR_USAGE, "%s: common_type is set from the format's ID", where);
	dst = s->record + field->offset;
	if (field->flags & TEP_FIELD_IS_DYNAMIC)
		return fail(s, PCP_ERR_USAGE, "%s: field '%s' is dynamic (not supported)", where,
			    assign);
	if (field->flags & TEP_FIELD_IS_ARRAY) {
		size_t vlen = strlen(eq + 1);
		if (field->elementsize != 1 || vlen >= (size_t)field->size)
			return fail(s, PCP_ERR_USAGE,
				    "%s: field '%s' is an array: only strings shorter than %d fit",
				    where, assign, field->size);
		memcpy(dst, eq + 1, vlen);
		return PCP_OK;
	}
	if (parse_int(eq + 1, &sv, &uv, &negative))
		return fail(s, PCP_ERR_USAGE, "%s: '%s' is not a decimal or 0x-hex integer", where,
			    eq + 1);
	switch (field->size) {
	case 1:
	case 2:
	case 4: {
		int bits = field->size * 8;
		if (negative ? sv < -(1ll << (bits - 1)) : uv > (1ull << bits) - 1)
			return fail(s, PCP_ERR_USAGE, "%s: %s does not fit field '%s' (%d bytes)",
				    where, eq + 1, assign, field->size);
		if (field->size == 1) {
			uint8_t v = (uint8_t)uv;
			memcpy(dst, &v, 1);
		} else if (field->size == 2) {
			uint16_t v = (uint16_t)uv;
			memcpy(dst, &v, 2);
		} else {
			uint32_t v = (uint32_t)uv;
			memcpy(dst, &v, 4);
		}
		break;
	}
	case 8: {
		uint64_t v = uv;
		memcpy(dst, &v, 8);
		break;
	}
	default:
		return fail(s, PCP_ERR_USAGE, "%s: field '%s' has size %d (not an integer)", where,
			    assign, field->size);
	}
	return PCP_OK;
}

static int append_cmdline(struct synth *s, const char *pid, const char *name)
{
	size_t need = strlen(pid) + strlen(name) + 3;

	if (s->cmdlines_len + need > s->cmdlines_cap) {
		size_t cap = (s->cmdlines_cap + need) * 2;
		char *nb = realloc(s->cmdlines, cap);
		if (!nb)
			return PCP_ERR_NOMEM;
		s->cmdlines = nb;
		s->cmdlines_cap = cap;
	}
	s->cmdlines_len += (size_t)sprintf(s->cmdlines + s->cmdlines_len, "%s %s\n", pid, name);
	return PCP_OK;
}

#define MAX_TOKENS 64

/* Splits line (comments stripped) into whitespace-separated tokens; returns their number. */
static int tokenize(char *line, char **tok)
{
	char *hash = strchr(line, '#');
	int n = 0;

	if (hash)
		*hash = 0;
	for (char *p = strtok(line, " \t\r\n"); p; p = strtok(NULL, " \t\r\n")) {
		if (n == MAX_TOKENS)
			return -1;
		tok[n++] = p;
	}
	return n;
}

static int parse_cpu(const char *text, int *cpu)
{
	long long sv;
	unsigned long long uv;
	int neg;

	*cpu = 0;
	if (parse_int(text, &sv, &uv, &neg) || neg || uv >= SYNTH_MAX_CPUS)
		return -1;
	*cpu = (int)uv;
	return 0;
}

/* Pass 1: CPU count and the formats directive; reports syntax errors early. */
static int scan_script(struct synth *s, FILE *f)
{
	char *line = NULL, *tok[MAX_TOKENS], where[512];
	size_t cap = 0;
	unsigned long lineno = 0;
	int max_cpu = -1, declared = 0, err = PCP_OK;

	while (!err && getline(&line, &cap, f) >= 0) {
		int n, cpu;
		lineno++;
		snprintf(where, sizeof(where), "%s:%lu", s->o->script_path, lineno);
		n = tokenize(line, tok);
		if (n < 0)
			err = fail(s, PCP_ERR_USAGE, "%s: too many fields", where);
		else if (n == 0)
			continue;
		else if (!strcmp(tok[0], "cpus")) {
			long long sv;
			unsigned long long uv;
			int neg;
			if (n != 2 || parse_int(tok[1], &sv, &uv, &neg) || neg || uv < 1 ||
			    uv > SYNTH_MAX_CPUS)
				err = fail(s, PCP_ERR_USAGE, "%s: expected 'cpus <1..%d>'", where,
					   SYNTH_MAX_CPUS);
			else if (declared && (int)uv != s->nr_cpus)
				err = fail(s, PCP_ERR_USAGE, "%s: cpus declared twice", where);
			else {
				declared = 1;
				s->nr_cpus = (int)uv;
			}
		} else if (!strcmp(tok[0], "formats")) {
			if (n != 2 || (strcmp(tok[1], "all") && strcmp(tok[1], "used")))
				err = fail(s, PCP_ERR_USAGE, "%s: expected 'formats all|used'", where);
			else if (!strcmp(tok[1], "used"))
				s->only_used = 1;
		} else if (!strcmp(tok[0], "clock")) {
			if (n != 2 || strlen(tok[1]) >= sizeof(s->clock))
				err = fail(s, PCP_ERR_USAGE, "%s: expected 'clock <name>'", where);
			else
				snprintf(s->clock, sizeof(s->clock), "%s", tok[1]);
		} else if (!strcmp(tok[0], "tsc2nsec")) {
			long long sv;
			unsigned long long m, sh;
			int neg;
			if (n != 3 || parse_int(tok[1], &sv, &m, &neg) || neg || !m || m > UINT32_MAX ||
			    parse_int(tok[2], &sv, &sh, &neg) || neg || sh > 32)
				err = fail(s, PCP_ERR_USAGE, "%s: expected 'tsc2nsec <mult 1..2^32-1> <shift 0..32>'",
					   where);
			else {
				s->tsc_mult = (uint32_t)m;
				s->tsc_shift = (uint32_t)sh;
			}
		} else if (!strcmp(tok[0], "comm")) {
			if (n < 3)
				err = fail(s, PCP_ERR_USAGE, "%s: expected 'comm <pid> <name>'", where);
		} else if (!strcmp(tok[0], "missed")) {
			if (n != 3 || parse_cpu(tok[1], &cpu))
				err = fail(s, PCP_ERR_USAGE, "%s: expected 'missed <cpu> <count>'",
					   where);
			else if (cpu > max_cpu)
				max_cpu = cpu;
		} else {
			if (n < 3 || parse_cpu(tok[1], &cpu) || !strchr(tok[2], ':'))
				err = fail(s, PCP_ERR_USAGE,
					   "%s: expected '<ts_ns> <cpu> <system>:<event> field=value...'",
					   where);
			else if (cpu > max_cpu)
				max_cpu = cpu;
		}
	}
	free(line);
	if (err)
		return err;
	if (ferror(f))
		return fail(s, PCP_ERR_IO, "%s: read error", s->o->script_path);
	if (!declared)
		s->nr_cpus = max_cpu + 1 > 0 ? max_cpu + 1 : 1;
	else if (max_cpu >= s->nr_cpus)
		return fail(s, PCP_ERR_USAGE, "%s: CPU %d used but 'cpus %d' declared",
			    s->o->script_path, max_cpu, s->nr_cpus);
	return PCP_OK;
}

static int flush_page(void *ctx, const void *page, size_t page_size)
{
	struct synth_cpu *c = ctx;

	(void)page_size;
	return pcp_tdw_add_cpu_page(c->w, c->cpu, page);
}

static int do_event(struct synth *s, const char *where, char **tok, int n)
{
	struct synth_format *f = find_format(s, tok[2]);
	struct synth_cpu *c;
	long long sv;
	unsigned long long ts;
	int neg, cpu, err;

	if (!f)
		return fail(s, PCP_ERR_USAGE, "%s: no format file for event %s", where, tok[2]);
	if (parse_int(tok[0], &sv, &ts, &neg) || neg)
		return fail(s, PCP_ERR_USAGE, "%s: bad timestamp '%s'", where, tok[0]);
	parse_cpu(tok[1], &cpu); /* checked by the scan */
	memset(s->record, 0, f->record_size);
	{
		unsigned long long id = (unsigned long long)f->event->id;
		unsigned char *dst = s->record + f->common_type->offset;
		if (f->common_type->size == 2) {
			uint16_t v = (uint16_t)id;
			memcpy(dst, &v, 2);
		} else if (f->common_type->size == 4) {
			uint32_t v = (uint32_t)id;
			memcpy(dst, &v, 4);
		} else {
			return fail(s, PCP_ERR_CORRUPT, "%s: common_type of %s has size %d", where,
				    f->file, f->common_type->size);
		}
	}
	for (int i = 3; i < n; i++) {
		err = set_field(s, where, f, tok[i]);
		if (err)
			return err;
	}
	c = &s->cpus[cpu];
	err = pcp_rbenc_add(c->enc, ts, s->record, f->record_size);
	if (err == PCP_ERR_USAGE)
		return fail(s, err, "%s: timestamp %llu is before the previous event on CPU %d",
			    where, ts, cpu);
	if (err)
		return fail(s, err, "%s: %s", s->o->out_path, pcp_strerror(err));
	f->used = 1;
	s->stats.events++;
	return PCP_OK;
}

/* Pass 2: encode events and marks, collect comm lines. */
static int run_script(struct synth *s, FILE *f)
{
	char *line = NULL, *tok[MAX_TOKENS], where[512];
	size_t cap = 0;
	unsigned long lineno = 0;
	int err = PCP_OK;

	while (!err && getline(&line, &cap, f) >= 0) {
		int n;
		lineno++;
		snprintf(where, sizeof(where), "%s:%lu", s->o->script_path, lineno);
		n = tokenize(line, tok);
		if (n <= 0 || !strcmp(tok[0], "cpus") || !strcmp(tok[0], "formats") ||
		    !strcmp(tok[0], "clock") || !strcmp(tok[0], "tsc2nsec"))
			continue;
		if (!strcmp(tok[0], "comm")) {
			long long sv;
			unsigned long long uv;
			int neg;
			if (parse_int(tok[1], &sv, &uv, &neg) || neg || uv > INT32_MAX) {
				err = fail(s, PCP_ERR_USAGE, "%s: bad pid '%s'", where, tok[1]);
				break;
			}
			/* The name is the rest of the line; words keep one space between them. */
			for (int i = 3; i < n; i++) {
				memmove(tok[2] + strlen(tok[2]) + 1, tok[i], strlen(tok[i]) + 1);
				tok[2][strlen(tok[2])] = ' ';
			}
			err = append_cmdline(s, tok[1], tok[2]);
		} else if (!strcmp(tok[0], "missed")) {
			long long count;
			unsigned long long uv;
			int neg, cpu;
			parse_cpu(tok[1], &cpu);
			if (parse_int(tok[2], &count, &uv, &neg) || count == 0 ||
			    (neg && count != -1) || (!neg && uv > INT64_MAX)) {
				err = fail(s, PCP_ERR_USAGE, "%s: missed count must be > 0 or -1",
					   where);
				break;
			}
			err = pcp_rbenc_mark_missed(s->cpus[cpu].enc, count);
			if (err) {
				err = fail(s, err, "%s: %s", s->o->out_path, pcp_strerror(err));
				break;
			}
			if (count < 0)
				s->cpus[cpu].lost_unknown = 1;
			else
				s->cpus[cpu].lost += (uint64_t)count;
			s->stats.missed_marks++;
		} else {
			err = do_event(s, where, tok, n);
		}
	}
	free(line);
	if (!err && ferror(f))
		err = fail(s, PCP_ERR_IO, "%s: read error", s->o->script_path);
	return err;
}

static int add_metadata(struct synth *s, struct pcp_tdw *w)
{
	int err;

	err = pcp_tdw_set_header_page(w, s->header_page, s->header_page_len);
	if (!err)
		err = pcp_tdw_set_header_event(w, s->header_event, s->header_event_len);
	for (size_t i = 0; !err && i < s->nr_formats; i++) {
		struct synth_format *f = &s->formats[i];
		if (s->only_used && !f->used)
			continue;
		err = pcp_tdw_add_event_format(w, f->system, f->text, f->len);
	}
	if (!err)
		err = pcp_tdw_set_cmdlines(w, s->cmdlines ? s->cmdlines : "", s->cmdlines_len);
	if (!err)
		err = pcp_tdw_set_trace_clock(w, s->clock[0] ? s->clock : "local");
	if (!err && s->tsc_mult)
		err = pcp_tdw_set_tsc2nsec(w, s->tsc_mult, s->tsc_shift, 0);
	if (!err)
		err = pcp_tdw_set_version(w, "pcpsynth");
	for (int c = 0; !err && c < s->nr_cpus; c++) {
		char stat[256];
		/* As tracefs per_cpu/cpuN/stats reads after the buffer was fully consumed. */
		snprintf(stat, sizeof(stat),
			 "CPU: %d\nentries: 0\noverrun: %" PRIu64 "\ncommit overrun: 0\nbytes: 0\n"
			 "dropped events: 0\nread events: %" PRIu64 "\n",
			 c, s->cpus[c].lost, pcp_rbenc_events(s->cpus[c].enc));
		err = pcp_tdw_add_cpustat(w, stat);
	}
	return err;
}

static void synth_free(struct synth *s)
{
	if (s->cpus)
		for (int c = 0; c < s->nr_cpus; c++)
			pcp_rbenc_destroy(s->cpus[c].enc);
	free(s->cpus);
	for (size_t i = 0; i < s->nr_formats; i++) {
		free(s->formats[i].file);
		free(s->formats[i].system);
		free(s->formats[i].text);
	}
	free(s->formats);
	free(s->header_page);
	free(s->header_event);
	free(s->cmdlines);
	free(s->record);
	if (s->tep)
		tep_free(s->tep);
}

int pcp_synth_build(const struct pcp_synth_opts *o, struct pcp_synth_stats *stats, char *msg,
		    size_t msglen)
{
	struct synth s = { .o = o, .msg = msg, .msglen = msglen };
	struct pcp_tdw_params params = { 0 };
	struct pcp_tdw *w = NULL;
	FILE *f = NULL;
	int err;

	if (msg && msglen)
		msg[0] = 0;
	if (!o || !o->formats_dir || !o->script_path || !o->out_path)
		return fail(&s, PCP_ERR_USAGE, "pcp_synth_build: missing argument");
	s.only_used = o->only_used_formats;
	s.tep = tep_alloc();
	if (!s.tep)
		return PCP_ERR_NOMEM;
	err = load_formats(&s);
	if (err)
		goto out;
	for (size_t i = 0; i < s.nr_formats; i++)
		if (s.formats[i].record_size > s.record_cap)
			s.record_cap = s.formats[i].record_size;
	s.record = calloc(1, s.record_cap);
	if (!s.record) {
		err = PCP_ERR_NOMEM;
		goto out;
	}

	f = fopen(o->script_path, "r");
	if (!f) {
		err = fail(&s, errno == ENOENT ? PCP_ERR_NOFILE : PCP_ERR_IO, "%s: %s",
			   o->script_path, strerror(errno));
		goto out;
	}
	err = scan_script(&s, f);
	if (err)
		goto out;
	if (fseek(f, 0, SEEK_SET)) {
		err = fail(&s, PCP_ERR_IO, "%s: cannot read it twice (not a regular file?)",
			   o->script_path);
		goto out;
	}

	params.nr_cpus = s.nr_cpus;
	params.page_size = s.page_size;
	params.long_size = s.long_size;
	params.file_version = o->file_version;
	params.compression = o->compression;
	err = pcp_tdw_create(o->out_path, &params, &w);
	if (err) {
		err = fail(&s, err, "%s: cannot create: %s", o->out_path, strerror(errno));
		goto out;
	}
	s.cpus = calloc((size_t)s.nr_cpus, sizeof(*s.cpus));
	if (!s.cpus) {
		err = PCP_ERR_NOMEM;
		goto out;
	}
	for (int c = 0; c < s.nr_cpus; c++) {
		s.cpus[c].w = w;
		s.cpus[c].cpu = c;
		err = pcp_rbenc_create(s.page_size, s.long_size, flush_page, &s.cpus[c],
				       &s.cpus[c].enc);
		if (err)
			goto out;
	}

	err = run_script(&s, f);
	for (int c = 0; !err && c < s.nr_cpus; c++) {
		if (pcp_rbenc_missed_pending(s.cpus[c].enc))
			err = fail(&s, PCP_ERR_USAGE,
				   "%s: 'missed' on CPU %d is not followed by an event on that CPU",
				   o->script_path, c);
		else if ((err = pcp_rbenc_flush(s.cpus[c].enc)))
			err = fail(&s, err, "%s: %s", o->out_path, pcp_strerror(err));
		else
			s.stats.pages += pcp_rbenc_pages(s.cpus[c].enc);
	}
	if (!err) {
		err = add_metadata(&s, w);
		if (err)
			err = fail(&s, err, "%s: %s", o->out_path, pcp_strerror(err));
	}
	if (!err) {
		err = pcp_tdw_commit(w);
		w = NULL;
		if (err)
			err = fail(&s, err, "%s: cannot write: %s", o->out_path,
				   err == PCP_ERR_IO ? strerror(errno) : pcp_strerror(err));
	}
	s.stats.nr_cpus = s.nr_cpus;
	if (!err && stats)
		*stats = s.stats;
out:
	if (f)
		fclose(f);
	pcp_tdw_abort(w);
	synth_free(&s);
	return err;
}
