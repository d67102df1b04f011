/* STUB until the analyzer front end lands. */
#include <stdio.h>
int main(void)
{
	fprintf(stderr, "pcpanalyze: not built yet\n");
	return 125;
}
