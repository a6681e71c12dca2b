/*
 * Copyright (c) 2025-2026, the n2 developers
 * hugepage.c
 *		Transparent huge pages for the build's arrays.  Pure C.
 *
 * A graph build reads vectors and neighbour lists at random across hundreds
 * of megabytes.  On 4 kB pages nearly every such read also misses the TLB and
 * walks the page tables; on 2 MB pages the whole set fits the TLB.  Debian's
 * kernels give huge pages only to memory that asks for them
 * (transparent_hugepage=madvise), so the arrays ask before they are first
 * written.  Advice that the kernel refuses or lacks changes nothing but speed.
 */
#include "hugepage.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_PAGE ((uintptr_t) 2 * 1024 * 1024)

void
n2_advise_huge(void *ptr, size_t len)
{
#ifdef MADV_HUGEPAGE
	uintptr_t	start = ((uintptr_t) ptr + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	uintptr_t	end = ((uintptr_t) ptr + len) & ~(HUGE_PAGE - 1);

	/* Only whole huge pages inside the array; its own mapping covers them. */
	if (end > start)
		(void) madvise((void *) start, end - start, MADV_HUGEPAGE);
#endif
}

/*
 * calloc, advised before it is cleared: calloc's own clearing could fault the
 * pages in at 4 kB first.
 */
void *
n2_calloc_huge(size_t count, size_t size)
{
	void	   *ptr;

	if (size != 0 && count > SIZE_MAX / size)
		return NULL;
	ptr = malloc(count * size);
	if (ptr != NULL)
	{
		n2_advise_huge(ptr, count * size);
		memset(ptr, 0, count * size);
	}
	return ptr;
}
