/* xs_json_string: the one JSON string writer every --json output uses. */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "xstate/json.h"

/* What xs_json_string prints for s. */
static char *json_of(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	xs_json_string(f, s);
	fclose(f);
	return buf;
}

static void check(const char *in, const char *want, const char *what)
{
	char *got = json_of(in);

	tap_ok(got && !strcmp(got, want), "%s: %s", what, got ? got : "(no output)");
	free(got);
}

int main(void)
{
	tap_plan_lazy();
	check("plain", "\"plain\"", "plain text quoted");
	check("a\"b\\c", "\"a\\\"b\\\\c\"", "quote and backslash escaped");
	check("l1\nl2\tx", "\"l1\\nl2\\tx\"", "newline and tab as \\n \\t");
	check("\x01\x1f", "\"\\u0001\\u001f\"", "other control characters as \\u00XX");
	check("\xc3\xa9", "\"\xc3\xa9\"", "UTF-8 bytes pass through");
	check(NULL, "\"\"", "NULL prints an empty string");
	return tap_done();
}
