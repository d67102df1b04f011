/* Dropping root for a workload (lib/run_as_user.c). Expected identities come from the password
 * database via getpwnam(3), the reference the tool itself would be checked against with id(1).
 * The switch tests need root (they are skipped otherwise). */
#include <check.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common/error.h"
#include "record/run_as_user.h"
#include "check_helpers.h"

static const char *env_value(char **envp, const char *name, int *count)
{
	size_t n = strlen(name);
	const char *v = NULL;

	*count = 0;
	for (; envp && *envp; envp++)
		if (!strncmp(*envp, name, n) && (*envp)[n] == '=') {
			v = *envp + n + 1;
			++*count;
		}
	return v;
}

START_TEST(lookup_and_environment)
{
	struct pcp_run_as_user u;
	struct passwd *pw = getpwnam("nobody");
	char err[200] = "";
	int count;

	ck_assert_ptr_nonnull(pw);
	setenv("HOME", "/root-home-of-the-caller", 1);
	setenv("PCPT_KEPT", "yes", 1);
	ck_assert_int_eq(pcp_run_as_user_prepare("nobody", &u, err, sizeof(err)), PCP_OK);
	ck_assert_uint_eq(u.uid, pw->pw_uid);
	ck_assert_uint_eq(u.gid, pw->pw_gid);
	ck_assert_int_ge(u.nr_groups, 1); /* getgrouplist always lists the primary group */
	ck_assert_str_eq(env_value(u.envp, "HOME", &count), pw->pw_dir);
	ck_assert_int_eq(count, 1);
	ck_assert_str_eq(env_value(u.envp, "USER", &count), "nobody");
	ck_assert_int_eq(count, 1);
	ck_assert_str_eq(env_value(u.envp, "LOGNAME", &count), "nobody");
	ck_assert_str_eq(env_value(u.envp, "SHELL", &count), pw->pw_shell);
	ck_assert_str_eq(env_value(u.envp, "PCPT_KEPT", &count), "yes");
	pcp_run_as_user_release(&u);

	/* a numeric uid with a password entry names that user */
	ck_assert_int_eq(pcp_run_as_user_prepare("65534", &u, err, sizeof(err)),
			 getpwuid(65534) ? PCP_OK : PCP_ERR_USAGE);
	pcp_run_as_user_release(&u);

	ck_assert_int_eq(pcp_run_as_user_prepare("pcpt-no-such-user", &u, err, sizeof(err)),
			 PCP_ERR_USAGE);
	ck_assert_str_eq(err, "--user pcpt-no-such-user: no such user");
	ck_assert_ptr_null(u.envp);
}
END_TEST

/* A child that cannot switch reports the step and never runs the command. */
START_TEST(switch_failure_does_not_exec)
{
	struct pcp_run_as_user u;
	char err[200];
	int p[2], status;
	pid_t pid;

	if (geteuid() != 0)
		return; /* needs root to drop to nobody first */
	ck_assert_int_eq(pcp_run_as_user_prepare("root", &u, err, sizeof(err)), PCP_OK);
	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		struct pcp_exec_failure f = { -1, 0 };
		char *argv[] = { "/bin/sh", "-c", "exit 0", NULL };

		/* no longer root: becoming root again must fail at the first step */
		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(2);
		pcp_exec_as_user(&u, argv, &f);
		if (write(p[1], &f, sizeof(f)) != sizeof(f))
			_exit(3);
		_exit(126);
	}
	close(p[1]);
	{
		struct pcp_exec_failure f;

		ck_assert_int_eq(read(p[0], &f, sizeof(f)), sizeof(f));
		ck_assert_int_eq(f.step, PCP_EXEC_STEP_SETGROUPS);
		ck_assert_int_eq(f.err, EPERM);
		ck_assert_str_eq(pcp_exec_step_name(f.step), "setgroups");
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 126);
	close(p[0]);
	pcp_run_as_user_release(&u);
}
END_TEST

/* Root to nobody: ids and groups as the password database says, root not regained. */
START_TEST(switch_to_nobody)
{
	struct pcp_run_as_user u;
	char err[200];
	int status;
	pid_t pid;

	if (geteuid() != 0)
		return;
	ck_assert_int_eq(pcp_run_as_user_prepare("nobody", &u, err, sizeof(err)), PCP_OK);
	pid = fork();
	if (pid == 0) {
		char cmd[256];
		char *argv[] = { "/bin/sh", "-c", cmd, NULL };
		struct pcp_exec_failure f;

		/* the shell exits 0 only when id(1) agrees and root's files stay closed to it */
		snprintf(cmd, sizeof(cmd),
			 "[ \"$(id -u)\" = %u ] && [ \"$(id -g)\" = %u ] && [ \"$(id -G)\" = \"$(id -G nobody)\" ]"
			 " && ! cat /proc/1/environ >/dev/null 2>&1",
			 (unsigned)u.uid, (unsigned)u.gid);
		pcp_exec_as_user(&u, argv, &f);
		_exit(100 + f.step);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	pcp_run_as_user_release(&u);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("run_as_user");
	TCase *tc = tcase_create("run_as_user");

	tcase_add_test(tc, lookup_and_environment);
	tcase_add_test(tc, switch_failure_does_not_exec);
	tcase_add_test(tc, switch_to_nobody);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
