/* Percpu allocator analysis (issue 4): parser of percpu:* events, model, percpu_stats text.
 * Owned by the percpu work; these declarations are the seam the rest of the library uses. */
#ifndef PCPTRACE_PERCPU_H
#define PCPTRACE_PERCPU_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>
#include <sqlite3.h>
#include "pcptrace/event.h"

struct tep_handle;
struct tep_record;

/* Resolves percpu:* event ids and field handles once per trace. */
struct pcp_percpu_parser;
int pcp_percpu_parser_new(struct tep_handle *tep, struct pcp_percpu_parser **out);
void pcp_percpu_parser_free(struct pcp_percpu_parser *p);
/* 1 if the trace carries any percpu:* event format. */
int pcp_percpu_parser_present(const struct pcp_percpu_parser *p);
/* If event_id is a percpu event, fill ev (kind + percpu payload) and return its kind;
 * otherwise return PCP_EV_OTHER and leave ev alone. Hot path. */
int pcp_percpu_decode(const struct pcp_percpu_parser *p, struct tep_record *rec, int event_id,
		      struct pcp_event *ev);

struct pcp_percpu_results; /* opaque: read it through the functions below */
struct pcp_percpu_model;
int pcp_percpu_model_new(struct pcp_percpu_model **out);
void pcp_percpu_model_event(struct pcp_percpu_model *m, const struct pcp_event *ev);
/* tep resolves call sites to symbols (function+0xoff, as trace-cmd report prints). */
int pcp_percpu_model_finish(struct pcp_percpu_model *m, struct tep_handle *tep,
			    struct pcp_percpu_results **out);
void pcp_percpu_model_free(struct pcp_percpu_model *m);
void pcp_percpu_results_free(struct pcp_percpu_results *r);

/* Writes the percpu_* tables and metrics rows into an open database whose schema exists.
 * meta (may be NULL) is the recorder's snapshot JSON: its percpu_stats text goes to the
 * percpu_stats table and the consistency check to trace_info. lossy: the trace lost events. */
int pcp_percpu_store(sqlite3 *db, const struct pcp_percpu_results *r, json_t *meta, int lossy);
void pcp_percpu_report_text(FILE *out, const struct pcp_percpu_results *r);
/* Adds a "percpu" member to the analysis JSON object. */
int pcp_percpu_report_json(json_t *root, const struct pcp_percpu_results *r);

#endif
