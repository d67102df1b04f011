/* Dropping root for a workload: identity and environment looked up first, switched after fork. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "common/error.h"
#include "record/run_as_user.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

extern char **environ;

static const char *const replaced_vars[] = { "HOME", "SHELL", "USER", "LOGNAME" };
#define NR_REPLACED (sizeof(replaced_vars) / sizeof(replaced_vars[0]))

static int is_replaced(const char *entry)
{
	for (size_t i = 0; i < NR_REPLACED; i++) {
		size_t n = strlen(replaced_vars[i]);

		if (!strncmp(entry, replaced_vars[i], n) && entry[n] == '=')
			return 1;
	}
	return 0;
}

static char *env_entry(const char *name, const char *value)
{
	size_t len = strlen(name) + strlen(value) + 2;
	char *e = malloc(len);

	if (e)
		snprintf(e, len, "%s=%s", name, value);
	return e;
}

/* runuser -u: the caller's environment with HOME, SHELL, USER and LOGNAME of the user. */
static char **user_environment(const struct passwd *pw)
{
	const char *values[NR_REPLACED] = {
		pw->pw_dir && *pw->pw_dir ? pw->pw_dir : "/",
		pw->pw_shell && *pw->pw_shell ? pw->pw_shell : "/bin/sh", /* as login(1) */
		pw->pw_name, pw->pw_name,
	};
	size_t n = 0, k = 0;
	char **envp;

	for (char **e = environ; e && *e; e++)
		n++;
	envp = calloc(n + NR_REPLACED + 1, sizeof(*envp));
	if (!envp)
		return NULL;
	for (char **e = environ; e && *e; e++) {
		if (is_replaced(*e))
			continue;
		if (!(envp[k++] = strdup(*e)))
			goto fail;
	}
	for (size_t i = 0; i < NR_REPLACED; i++)
		if (!(envp[k++] = env_entry(replaced_vars[i], values[i])))
			goto fail;
	return envp;
fail:
	for (size_t i = 0; i < k; i++)
		free(envp[i]);
	free(envp);
	return NULL;
}

static int lookup(const char *user, struct passwd *pw, char **buf, char *errbuf, size_t errlen)
{
	long size = sysconf(_SC_GETPW_R_SIZE_MAX);
	struct passwd *found = NULL;
	int rc;

	if (size < 1024)
		size = 1024;
	for (;;) {
		char *end;
		unsigned long id;

		free(*buf);
		if (!(*buf = malloc((size_t)size)))
			return pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "%s",
					  pcp_strerror(PCP_ERR_NOMEM));
		rc = getpwnam_r(user, pw, *buf, (size_t)size, &found);
		errno = 0;
		id = strtoul(user, &end, 10);
		if (rc == 0 && !found && *user && !*end && !errno && id <= (uid_t)-2)
			rc = getpwuid_r((uid_t)id, pw, *buf, (size_t)size, &found);
		if (rc != ERANGE || size > (1L << 24))
			break;
		size *= 2;
	}
	/* getpwnam_r reports "no such user" as 0 with no result, or (some NSS modules) ENOENT,
	 * ESRCH, EBADF or EPERM: all mean the name is not known. */
	if (!found && (rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM))
		return pcp_errorf(errbuf, errlen, PCP_ERR_USAGE, "--user %s: no such user", user);
	if (!found)
		return pcp_errorf(errbuf, errlen, PCP_ERR_IO, "--user %s: cannot look the user up: %s",
				  user, strerror(rc));
	return PCP_OK;
}

int pcp_run_as_user_prepare(const char *user, struct pcp_run_as_user *out, char *errbuf,
			    size_t errlen)
{
	struct passwd pw;
	struct rlimit rl;
	char *buf = NULL;
	int err, n = 16;

	memset(out, 0, sizeof(*out));
	err = lookup(user, &pw, &buf, errbuf, errlen);
	if (err)
		goto fail;
	out->uid = pw.pw_uid;
	out->gid = pw.pw_gid;
	if (!(out->name = strdup(pw.pw_name)))
		goto nomem;
	/* getgrouplist says how many it needs when the array is too small. */
	for (;;) {
		int got = n;
		gid_t *g = realloc(out->groups, (size_t)n * sizeof(*g));

		if (!g)
			goto nomem;
		out->groups = g;
		if (getgrouplist(pw.pw_name, pw.pw_gid, out->groups, &got) >= 0) {
			out->nr_groups = got;
			break;
		}
		if (got <= n || got > 65536) {
			err = pcp_errorf(errbuf, errlen, PCP_ERR_IO,
					 "--user %s: cannot list the user's groups", user);
			goto fail;
		}
		n = got;
	}
	if (!(out->envp = user_environment(&pw)))
		goto nomem;
	out->max_fd = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
				      rl.rlim_cur < 65536
			      ? (int)rl.rlim_cur - 1
			      : 65535;
	free(buf);
	return PCP_OK;
nomem:
	err = pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "%s", pcp_strerror(PCP_ERR_NOMEM));
fail:
	free(buf);
	pcp_run_as_user_release(out);
	return err;
}

void pcp_run_as_user_release(struct pcp_run_as_user *u)
{
	if (!u)
		return;
	for (char **e = u->envp; e && *e; e++)
		free(*e);
	free(u->envp);
	free(u->groups);
	free(u->name);
	memset(u, 0, sizeof(*u));
}

static int fail_at(struct pcp_exec_failure *f, int step, int err)
{
	f->step = step;
	f->err = err;
	return -1;
}

/* Root's descriptors (tracefs files libtracefs opened, the invoker's extra descriptors) must
 * not reach the workload: the kernel checks permissions at open, not at use. */
static int close_inherited_fds(const struct pcp_run_as_user *u, struct pcp_exec_failure *f)
{
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return 0;
	/* kernels before 5.11: one descriptor at a time */
	for (int fd = 3; fd <= u->max_fd; fd++)
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 && errno != EBADF)
			return fail_at(f, PCP_EXEC_STEP_CLOSE_FDS, errno);
	return 0;
}

/* The order is forced: setgroups and setgid need root, which setuid gives up for good. */
static int switch_identity(const struct pcp_run_as_user *u, struct pcp_exec_failure *f)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	int n;

	if (close_inherited_fds(u, f))
		return -1;
	if (setgroups((size_t)u->nr_groups, u->groups) < 0)
		return fail_at(f, PCP_EXEC_STEP_SETGROUPS, errno);
	if (setresgid(u->gid, u->gid, u->gid) < 0)
		return fail_at(f, PCP_EXEC_STEP_SETGID, errno);
	if (setresuid(u->uid, u->uid, u->uid) < 0)
		return fail_at(f, PCP_EXEC_STEP_SETUID, errno);
	/* Trust nothing: read the ids back, and a non-root user must not get root back. */
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return fail_at(f, PCP_EXEC_STEP_VERIFY, errno);
	n = getgroups(0, NULL);
	if (ru != u->uid || eu != u->uid || su != u->uid || rg != u->gid || eg != u->gid ||
	    sg != u->gid || n != u->nr_groups)
		return fail_at(f, PCP_EXEC_STEP_VERIFY, EPERM);
	if (u->uid != 0 && (setresuid(0, 0, 0) == 0 || seteuid(0) == 0))
		return fail_at(f, PCP_EXEC_STEP_VERIFY, EPERM);
	return 0;
}

void pcp_exec_as_user(const struct pcp_run_as_user *u, char *const argv[],
		      struct pcp_exec_failure *f)
{
	if (u) {
		if (switch_identity(u, f))
			return;
		execvpe(argv[0], argv, u->envp);
	} else {
		execvp(argv[0], argv);
	}
	fail_at(f, PCP_EXEC_STEP_EXEC, errno);
}

const char *pcp_exec_step_name(int step)
{
	switch (step) {
	case PCP_EXEC_STEP_EXEC: return "exec";
	case PCP_EXEC_STEP_CLOSE_FDS: return "closing inherited descriptors";
	case PCP_EXEC_STEP_SETGROUPS: return "setgroups";
	case PCP_EXEC_STEP_SETGID: return "setgid";
	case PCP_EXEC_STEP_SETUID: return "setuid";
	case PCP_EXEC_STEP_VERIFY: return "checking the new identity";
	default: return "unknown step";
	}
}
