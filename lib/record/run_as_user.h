/*
 * Running a command as another user (pcprecord --user; any tool that starts a workload): the
 * caller keeps root for tracefs, the command gets the user's uid, gid and supplementary groups
 * and an environment as `runuser -u USER` sets it: HOME, SHELL, USER and LOGNAME from the
 * password database, everything else (PATH included) and the working directory kept. File
 * descriptors above 2 are closed at exec (as sudo does), so nothing root opened reaches it.
 *
 * Order: pcp_run_as_user_prepare() in the parent (looks everything up: nothing after fork
 * needs the password database or allocates) → fork → pcp_exec_as_user() in the child, which
 * returns only on failure → pcp_run_as_user_release().
 */
#ifndef PCPTRACE_RUN_AS_USER_H
#define PCPTRACE_RUN_AS_USER_H

#include <stddef.h>
#include <sys/types.h>

struct pcp_run_as_user {
	char *name;              /* as in the password database */
	uid_t uid;
	gid_t gid;               /* primary group */
	gid_t *groups;           /* supplementary groups, as initgroups() would set them */
	int nr_groups;
	char **envp;             /* environment for the command (NULL-terminated) */
	int max_fd;              /* highest descriptor to mark close-on-exec without close_range */
};

/* The steps of pcp_exec_as_user(), in the order they are taken. */
enum pcp_exec_step {
	PCP_EXEC_STEP_EXEC = 0,  /* execvp itself: the command cannot be run */
	PCP_EXEC_STEP_CLOSE_FDS,
	PCP_EXEC_STEP_SETGROUPS,
	PCP_EXEC_STEP_SETGID,
	PCP_EXEC_STEP_SETUID,
	PCP_EXEC_STEP_VERIFY,    /* ids read back differ, or root could be regained */
};

/* What the child reports through its error pipe when it cannot run the command. */
struct pcp_exec_failure {
	int step;                /* enum pcp_exec_step */
	int err;                 /* errno of that step */
};

/* Looks up user (a name, or a numeric uid that has a password entry) and prepares the
 * identity and environment. PCP_ERR_USAGE when there is no such user (nothing else done),
 * PCP_ERR_NOMEM, PCP_ERR_IO when the lookup itself fails; one-line reason in errbuf. */
int pcp_run_as_user_prepare(const char *user, struct pcp_run_as_user *out, char *errbuf,
			    size_t errlen);

void pcp_run_as_user_release(struct pcp_run_as_user *u);

/*
 * In a forked child: with u, marks descriptors above 2 close-on-exec, then setgroups, setgid,
 * setuid (in that order: groups and gid can only be changed while still root), reads the ids
 * back and checks that root cannot be regained; then execvp(argv[0], argv) with u's
 * environment. Without u (NULL), only execvp. Returns only on failure, with the step and errno
 * in *f; the command has not been started and the caller must _exit(). Async-signal-safe calls
 * only (no allocation): safe after fork in a threaded process.
 */
void pcp_exec_as_user(const struct pcp_run_as_user *u, char *const argv[],
		      struct pcp_exec_failure *f);

/* "setgid", "exec", ...: for the caller's one-line message. */
const char *pcp_exec_step_name(int step);

#endif
