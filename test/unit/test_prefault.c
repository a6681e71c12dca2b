/*
 * Copyright (c) 2025-2026, the n2 developers
 * test_prefault.c
 *		The prefault thread: it faults pages in up to its distance ahead of the
 *		writer's progress and no further, follows the progress, leaves what
 *		the writer stored as it was, and stops when told.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "prefault.h"
#include "unit.h"

#define MB ((size_t) 1024 * 1024)

static size_t page;

/* Pages of [p, p + len) the kernel has given memory. */
static size_t
resident_pages(unsigned char *p, size_t len)
{
	size_t		n = len / page;
	unsigned char *vec = malloc(n);
	size_t		count = 0;

	if (vec == NULL || mincore(p, len, vec) != 0)
	{
		free(vec);
		return (size_t) -1;
	}
	for (size_t i = 0; i < n; i++)
		count += vec[i] & 1;
	free(vec);
	return count;
}

/* Waits up to 10 s for all of [p, p + len) to be resident. */
static bool
wait_resident(unsigned char *p, size_t len)
{
	struct timespec ms = {0, 1000 * 1000};

	for (int i = 0; i < 10000; i++)
	{
		if (resident_pages(p, len) == len / page)
			return true;
		nanosleep(&ms, NULL);
	}
	return false;
}

int
main(void)
{
	size_t		len = 64 * MB;
	unsigned char *a;
	N2Prefault *pf;
	struct timespec wait = {0, 50 * 1000 * 1000};
	bool		intact = true;
	bool		zero = true;
	unsigned char probe[1];

	page = (size_t) sysconf(_SC_PAGESIZE);
	a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	CHECK(a != MAP_FAILED, "mmap 64 MB");
	if (a == MAP_FAILED)
		UNIT_DONE();

	/* the kernel must offer the advice: without it the test proves nothing */
	CHECK(madvise(a + len - page, page, MADV_POPULATE_WRITE) == 0,
		  "MADV_POPULATE_WRITE: %s", strerror(errno));
	CHECK(mincore(a + len - page, page, probe) == 0 && (probe[0] & 1),
		  "the advice faults a page in");
	CHECK(munmap(a + len - page, page) == 0, "unmap the probe page");
	len -= page;

	/* the writer has filled the first 3 MB, in part; the thread goes 16 MB on */
	for (size_t i = 0; i < 3 * MB; i += 512)
		a[i] = (unsigned char) (i / 512 + 1);
	pf = n2_prefault_start(a, len, 16 * MB);
	CHECK(pf != NULL, "started");
	CHECK(wait_resident(a, 16 * MB), "the first 16 MB faulted in: %zu pages",
		  resident_pages(a, 16 * MB));
	nanosleep(&wait, NULL);
	CHECK(resident_pages(a + 16 * MB, 32 * MB) == 0,
		  "nothing past the distance ahead: %zu pages",
		  resident_pages(a + 16 * MB, 32 * MB));

	/* progress moves the window: everything up to the end */
	n2_prefault_progress(pf, len - 16 * MB);
	CHECK(wait_resident(a, len - len % page), "the rest faulted in");
	n2_prefault_stop(pf);

	for (size_t i = 0; i < 3 * MB; i++)
		intact &= a[i] == (i % 512 == 0 ? (unsigned char) (i / 512 + 1) : 0);
	CHECK(intact, "what the writer stored is unchanged");
	for (size_t i = 3 * MB; i < len; i++)
		zero &= a[i] == 0;
	CHECK(zero, "faulted-in pages read as zero");
	munmap(a, len);

	/* stopping at once, far short of a large region, returns promptly */
	len = 1024 * MB;
	a = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK(a != MAP_FAILED, "mmap 1 GB");
	if (a != MAP_FAILED)
	{
		pf = n2_prefault_start(a, len, 8 * MB);
		CHECK(pf != NULL, "started on 1 GB");
		n2_prefault_stop(pf);
		CHECK(resident_pages(a, len) <= (8 * MB + 2 * MB) / page,
			  "stopped within its distance: %zu pages", resident_pages(a, len));
		munmap(a, len);
	}

	/* less than a page: no thread, and stopping none is a no-op */
	CHECK(n2_prefault_start(probe, 1, MB) == NULL, "no whole page");
	n2_prefault_stop(NULL);
	n2_prefault_progress(NULL, 0);

	UNIT_DONE();
}
