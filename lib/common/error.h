/* One error list for the whole library; tools map codes to exit statuses. */
#ifndef PCPTRACE_ERROR_H
#define PCPTRACE_ERROR_H

#include <stddef.h>

/* enum pcp_err, pcp_strerror() and pcp_exit_code() are public: include/pcptrace.h. */
#include "pcptrace.h"

/* Formats a one-line reason into errbuf (if any) and returns err: for `return pcp_errorf(...)`. */
int pcp_errorf(char *errbuf, size_t errlen, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
