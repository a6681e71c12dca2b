/*
 * Copyright (c) 2025-2026, the n2 developers
 * test_hugepage.c
 *		Huge-page advice: arrays stay zeroed and intact, sizes that overflow
 *		fail, and where the kernel gives transparent huge pages on advice, an
 *		advised array gets them.
 */
#include <stdbool.h>
#include <string.h>

#include "hugepage.h"
#include "unit.h"

#define MB ((size_t) 1024 * 1024)

/* The kernel's THP mode: "always", "madvise" or "never" ("" if unknown). */
static void
thp_mode(char *mode, size_t len)
{
	FILE	   *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	char		line[128] = "";
	char	   *open,
			   *close;

	mode[0] = '\0';
	if (f == NULL)
		return;
	if (fgets(line, sizeof(line), f) != NULL &&
		(open = strchr(line, '[')) != NULL &&
		(close = strchr(open, ']')) != NULL && (size_t) (close - open) < len)
	{
		memcpy(mode, open + 1, close - open - 1);
		mode[close - open - 1] = '\0';
	}
	fclose(f);
}

/* AnonHugePages of the mapping that holds ptr, in kB; -1 if not found. */
static long
huge_kb(const void *ptr)
{
	FILE	   *f = fopen("/proc/self/smaps", "r");
	char		line[512];
	bool		inside = false;
	long		kb = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
	{
		unsigned long lo,
					hi;

		/* a mapping's header starts with its address; its fields with a name */
		if (!(line[0] >= 'A' && line[0] <= 'Z') &&
			sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			inside = (uintptr_t) ptr >= lo && (uintptr_t) ptr < hi;
		else if (inside && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return inside ? kb : -1;
}

int
main(void)
{
	size_t		len = 16 * MB;
	unsigned char *a = n2_calloc_huge(len / 8, 8);
	unsigned char small[100];
	char		mode[16];
	bool		zero = true;
	long		kb;

	CHECK(a != NULL, "16 MB");
	for (size_t i = 0; a != NULL && i < len; i++)
		zero &= a[i] == 0;
	CHECK(zero, "n2_calloc_huge clears");
	for (size_t i = 0; a != NULL && i < len; i += 4096)
		a[i] = (unsigned char) i;

	thp_mode(mode, sizeof(mode));
	kb = huge_kb(a + len / 2);
	printf("transparent huge pages: [%s], the array's mapping has %ld kB of them\n",
		   mode, kb);
	if (strcmp(mode, "always") == 0 || strcmp(mode, "madvise") == 0)
		CHECK(kb >= 2048, "THP [%s] but %ld kB of huge pages", mode, kb);
	free(a);

	CHECK(n2_calloc_huge(SIZE_MAX / 2, 4) == NULL, "overflowing size");

	/* advice on memory too small or unaligned for a huge page changes nothing */
	for (int i = 0; i < 100; i++)
		small[i] = (unsigned char) i;
	n2_advise_huge(small + 1, sizeof(small) - 1);
	zero = true;
	for (int i = 0; i < 100; i++)
		zero &= small[i] == (unsigned char) i;
	CHECK(zero, "small advised array intact");
	UNIT_DONE();
}
