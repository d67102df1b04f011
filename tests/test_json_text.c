/* Text of any bytes as a JSON string (lib/common/json_text.c): valid UTF-8 is kept as it is,
 * each byte that does not start a valid sequence becomes U+FFFD (a task may name itself with
 * any bytes: a --json run on such a trace ended in "out of memory", exit 70; fuzzer find). */
#include <check.h>
#include <string.h>
#include "common/json_text.h"
#include "check_helpers.h"

static void ck_text(const char *in, const char *want)
{
	json_t *j = pcp_json_text(in);

	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(j), want);
	json_decref(j);
}

START_TEST(valid_kept_invalid_replaced)
{
	json_t *j = pcp_json_text(NULL);

	ck_assert(json_is_null(j));
	json_decref(j);
	ck_text("", "");
	ck_text("kworker/1:2", "kworker/1:2");
	ck_text("caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e");
	ck_text("pcpload\x8a" "1300", "pcpload\xef\xbf\xbd" "1300");          /* a lone continuation */
	ck_text("a\xc0\x80z", "a\xef\xbf\xbd\xef\xbf\xbdz");                     /* overlong NUL */
	ck_text("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");        /* a surrogate */
	ck_text("\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* > U+10FFFF */
	ck_text("x\xe2\x82", "x\xef\xbf\xbd\xef\xbf\xbd");                       /* cut at the end */
	ck_text("\xff\xfe", "\xef\xbf\xbd\xef\xbf\xbd");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("json_text");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, valid_kept_invalid_replaced);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run_suite(suite());
}
