#include "lib/str.h"
#include "lib/test.h"

#include <stdlib.h>

TEST_DEFINE_COUNTERS;

int main(void)
{
	str_t s = STR_INIT;
	CHECK_STR(str_c(&s), "");
	str_append(&s, "a");
	str_printf(&s, "%d-%s", 42, "x");
	str_append_c(&s, '!');
	CHECK_STR(str_c(&s), "a42-x!");
	CHECK_INT(s.len, 6);
	for (int i = 0; i < 1000; i++)
		str_append(&s, "0123456789");
	CHECK_INT(s.len, 10006);
	str_truncate(&s, 3);
	CHECK_STR(str_c(&s), "a42");
	char *p = str_steal(&s);
	CHECK_STR(p, "a42");
	CHECK(s.data == NULL && s.len == 0);
	free(p);
	str_free(&s);
	return test_summary("str");
}
