/* STUB until the recorder (issue 3) lands. */
#include <stdio.h>
int main(void)
{
	fprintf(stderr, "pcprecord: not built yet\n");
	return 125;
}
