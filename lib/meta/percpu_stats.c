/* Parser of the /sys/kernel/debug/percpu_stats text. The layout (mm/percpu-stats.c):
 *   Percpu Memory Statistics
 *   Allocation Info:            then dashes, then "  key : value" lines, blank line
 *   Global Stats:               same
 *   Per Chunk Stats:            dashes, then per chunk a "Chunk..." header and key lines
 * Anything else is damage: the caller reports PCP_ERR_BAD_META instead of guessing. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "common/error.h"
#include "meta/percpu_stats.h"

enum parse_state { ST_TITLE, ST_BEFORE_ALLOC, ST_ALLOC, ST_GLOBAL, ST_CHUNKS, ST_CHUNK };

struct builder {
	struct pcp_percpu_stats *s;
	size_t cap_entries, cap_chunks;
	size_t section_start;       /* first entry of the current section or chunk */
};

static int push_entry(struct builder *b, enum pcp_percpu_stats_section sec, int32_t chunk,
		      const char *key, size_t key_len, int64_t value)
{
	struct pcp_percpu_stats *s = b->s;

	for (size_t i = b->section_start; i < s->nr_entries; i++)
		if (strlen(s->entries[i].key) == key_len && !memcmp(s->entries[i].key, key, key_len))
			return PCP_ERR_BAD_META; /* duplicate key */
	if (s->nr_entries == b->cap_entries) {
		size_t cap = b->cap_entries ? 2 * b->cap_entries : 64;
		void *p = realloc(s->entries, cap * sizeof(*s->entries));
		if (!p)
			return PCP_ERR_NOMEM;
		s->entries = p;
		b->cap_entries = cap;
	}
	struct pcp_percpu_stats_entry *e = &s->entries[s->nr_entries++];
	memset(e, 0, sizeof(*e));
	e->section = sec;
	e->chunk = chunk;
	memcpy(e->key, key, key_len);
	e->value = value;
	return PCP_OK;
}

static int push_chunk(struct builder *b, const char *label, size_t label_len)
{
	struct pcp_percpu_stats *s = b->s;

	if (s->nr_chunks == b->cap_chunks) {
		size_t cap = b->cap_chunks ? 2 * b->cap_chunks : 8;
		void *p = realloc(s->chunks, cap * sizeof(*s->chunks));
		if (!p)
			return PCP_ERR_NOMEM;
		s->chunks = p;
		b->cap_chunks = cap;
	}
	struct pcp_percpu_stats_chunk *c = &s->chunks[s->nr_chunks++];
	memset(c, 0, sizeof(*c));
	if (label_len >= sizeof(c->label))
		label_len = sizeof(c->label) - 1;
	memcpy(c->label, label, label_len);
	b->section_start = s->nr_entries;
	return PCP_OK;
}

/* "  key   :   -123  " -> key, value. 0 on success, -1 if the line has another shape. */
static int parse_kv(const char *l, size_t n, const char **key, size_t *key_len, int64_t *value)
{
	size_t i = 0;

	if (n == 0 || (l[0] != ' ' && l[0] != '\t'))
		return -1;
	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	size_t k0 = i;
	while (i < n && (isalnum((unsigned char)l[i]) || l[i] == '_'))
		i++;
	if (i == k0 || i - k0 >= sizeof(((struct pcp_percpu_stats_entry *)0)->key))
		return -1;
	*key = l + k0;
	*key_len = i - k0;
	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	if (i >= n || l[i] != ':')
		return -1;
	i++;
	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	char num[32];
	size_t v0 = i;
	if (i < n && (l[i] == '-' || l[i] == '+'))
		i++;
	size_t d0 = i;
	while (i < n && isdigit((unsigned char)l[i]))
		i++;
	if (i == d0 || i - v0 >= sizeof(num))
		return -1;
	memcpy(num, l + v0, i - v0);
	num[i - v0] = '\0';
	while (i < n && (l[i] == ' ' || l[i] == '\t' || l[i] == '\r'))
		i++;
	if (i != n)
		return -1;
	errno = 0;
	long long v = strtoll(num, NULL, 10);
	if (errno == ERANGE)
		return -1;
	*value = v;
	return 0;
}

static int line_is(const char *l, size_t n, const char *word)
{
	size_t w = strlen(word);
	while (n > 0 && (l[n - 1] == ' ' || l[n - 1] == '\r'))
		n--;
	return n == w && !memcmp(l, word, w);
}

static int line_is_dashes(const char *l, size_t n)
{
	size_t d = 0;
	for (size_t i = 0; i < n; i++) {
		if (l[i] == '-')
			d++;
		else if (l[i] != ' ' && l[i] != '\r')
			return 0;
	}
	return d > 0;
}

static int line_is_blank(const char *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isspace((unsigned char)l[i]))
			return 0;
	return 1;
}

/* The chunk just closed must carry the same keys, in the same order, as chunk 0. */
static int check_chunk_keys(const struct pcp_percpu_stats *s, size_t start)
{
	size_t first = 0, first_n = 0, n = s->nr_entries - start;

	while (first < s->nr_entries && s->entries[first].section != PCP_PSTATS_CHUNK)
		first++;
	for (size_t i = first; i < s->nr_entries && s->entries[i].section == PCP_PSTATS_CHUNK &&
	     s->entries[i].chunk == 0; i++)
		first_n++;
	if (n == 0 || n != first_n)
		return PCP_ERR_BAD_META;
	for (size_t i = 0; i < n; i++)
		if (strcmp(s->entries[first + i].key, s->entries[start + i].key) != 0)
			return PCP_ERR_BAD_META;
	return PCP_OK;
}

static int parse_all(struct builder *b, const char *text, size_t len)
{
	enum parse_state st = ST_TITLE;
	size_t pos = 0;
	int rc;

	if (memchr(text, '\0', len))
		return PCP_ERR_BAD_META;
	while (pos < len) {
		const char *l = text + pos;
		const char *nl = memchr(l, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - l) : len - pos;
		pos += n + (nl ? 1 : 0);

		if (line_is_blank(l, n))
			continue;
		if (line_is_dashes(l, n)) {
			if (st == ST_TITLE || st == ST_BEFORE_ALLOC || st == ST_CHUNK)
				return PCP_ERR_BAD_META;
			continue;
		}
		switch (st) {
		case ST_TITLE:
			if (!line_is(l, n, "Percpu Memory Statistics"))
				return PCP_ERR_BAD_META;
			st = ST_BEFORE_ALLOC;
			continue;
		case ST_BEFORE_ALLOC:
			if (!line_is(l, n, "Allocation Info:"))
				return PCP_ERR_BAD_META;
			st = ST_ALLOC;
			b->section_start = b->s->nr_entries;
			continue;
		case ST_ALLOC:
			if (line_is(l, n, "Global Stats:")) {
				if (b->s->nr_entries == b->section_start)
					return PCP_ERR_BAD_META;
				st = ST_GLOBAL;
				b->section_start = b->s->nr_entries;
				continue;
			}
			break;
		case ST_GLOBAL:
			if (line_is(l, n, "Per Chunk Stats:")) {
				st = ST_CHUNKS;
				continue;
			}
			break;
		case ST_CHUNKS:
		case ST_CHUNK:
			if (n >= 5 && !memcmp(l, "Chunk", 5)) {
				if (st == ST_CHUNK && (rc = check_chunk_keys(b->s, b->section_start)))
					return rc;
				size_t i = 5;
				while (i < n && (l[i] == ':' || l[i] == ' '))
					i++;
				size_t e = n;
				while (e > i && (l[e - 1] == ' ' || l[e - 1] == '\r'))
					e--;
				if ((rc = push_chunk(b, l + i, e - i)))
					return rc;
				st = ST_CHUNK;
				continue;
			}
			if (st == ST_CHUNKS)
				return PCP_ERR_BAD_META;
			break;
		}
		/* A key line of the current section. */
		const char *key;
		size_t key_len;
		int64_t value;
		if (parse_kv(l, n, &key, &key_len, &value))
			return PCP_ERR_BAD_META;
		enum pcp_percpu_stats_section sec = st == ST_ALLOC ? PCP_PSTATS_ALLOC_INFO :
			st == ST_GLOBAL ? PCP_PSTATS_GLOBAL : PCP_PSTATS_CHUNK;
		int32_t chunk = sec == PCP_PSTATS_CHUNK ? (int32_t)b->s->nr_chunks - 1 : -1;
		if ((rc = push_entry(b, sec, chunk, key, key_len, value)))
			return rc;
	}
	if (st != ST_CHUNK)
		return PCP_ERR_BAD_META;
	if ((rc = check_chunk_keys(b->s, b->section_start)))
		return rc;
	int64_t v;
	if (!pcp_percpu_stats_get(b->s, PCP_PSTATS_GLOBAL, -1, "nr_alloc", &v) ||
	    !pcp_percpu_stats_get(b->s, PCP_PSTATS_GLOBAL, -1, "nr_dealloc", &v))
		return PCP_ERR_BAD_META;
	/* The kernel prints every chunk it counts (plus a reserved one it may not count) under
	 * one lock: fewer listed chunks means the text was cut at a chunk boundary. */
	if (pcp_percpu_stats_get(b->s, PCP_PSTATS_GLOBAL, -1, "nr_chunks", &v) &&
	    (v < 0 || (uint64_t)v > b->s->nr_chunks))
		return PCP_ERR_BAD_META;
	return PCP_OK;
}

int pcp_percpu_stats_parse(const char *text, size_t len, struct pcp_percpu_stats **out)
{
	struct builder b = {0};
	int rc;

	*out = NULL;
	if (!text)
		return PCP_ERR_BAD_META;
	b.s = calloc(1, sizeof(*b.s));
	if (!b.s)
		return PCP_ERR_NOMEM;
	rc = parse_all(&b, text, len);
	if (rc) {
		pcp_percpu_stats_free(b.s);
		return rc;
	}
	*out = b.s;
	return PCP_OK;
}

void pcp_percpu_stats_free(struct pcp_percpu_stats *s)
{
	if (!s)
		return;
	free(s->entries);
	free(s->chunks);
	free(s);
}

int pcp_percpu_stats_get(const struct pcp_percpu_stats *s, enum pcp_percpu_stats_section section,
			 int32_t chunk, const char *key, int64_t *value)
{
	for (size_t i = 0; i < s->nr_entries; i++) {
		const struct pcp_percpu_stats_entry *e = &s->entries[i];
		if (e->section != section || (section == PCP_PSTATS_CHUNK && e->chunk != chunk))
			continue;
		if (!strcmp(e->key, key)) {
			*value = e->value;
			return 1;
		}
	}
	return 0;
}
