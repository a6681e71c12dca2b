/*
 * Copyright (c) 2025-2026, the n2 developers
 * prefault.c
 *		Faults an array's pages in on another thread, just ahead of the thread
 *		filling it.  Pure C.
 *
 * The build copies every vector of the table into one array as the scan reads
 * it.  Each new page of that array is a fault the kernel must clear first,
 * and on virtual machines whose host backs guest memory lazily that clearing
 * runs at a few hundred MB/s: half of a 784-d table's scan.  While the scan
 * runs, the graph's threads have not started, so a thread of its own can take
 * those faults on an idle CPU.  It stays a bounded distance ahead of the
 * writer, so a scan that ends far short of the array's capacity (the planner
 * overestimated the rows) has not committed memory it never uses.
 * MADV_POPULATE_WRITE (Linux 5.14) faults pages in writable without writing
 * them, so whatever the writer already stored stays as it is.
 */
#include "prefault.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* Faulted per call: a huge page, so that stopping never waits long. */
#define PREFAULT_CHUNK ((size_t) 2 * 1024 * 1024)

struct N2Prefault
{
	char	   *start;			/* first whole page of the array */
	char	   *end;			/* end of its last whole page */
	char	   *base;			/* the array, for the writer's progress */
	size_t		ahead;
	atomic_size_t done;
	atomic_bool stop;
	pthread_t	thread;
};

#ifdef MADV_POPULATE_WRITE
static void *
prefault_main(void *arg)
{
	N2Prefault *pf = arg;
	char	   *pos = pf->start;

	while (pos < pf->end && !atomic_load(&pf->stop))
	{
		size_t		done = atomic_load_explicit(&pf->done, memory_order_relaxed);
		size_t		n = (size_t) (pf->end - pos);

		if (n > PREFAULT_CHUNK)
			n = PREFAULT_CHUNK;
		if ((size_t) (pos - pf->base) >= done + pf->ahead)
		{
			struct timespec ms = {0, 1000 * 1000};

			nanosleep(&ms, NULL);
			continue;
		}
		/* a kernel without the advice says EINVAL: the writer faults alone */
		if (madvise(pos, n, MADV_POPULATE_WRITE) != 0)
			break;
		pos += n;
	}
	return NULL;
}
#endif

N2Prefault *
n2_prefault_start(void *base, size_t len, size_t ahead)
{
#ifdef MADV_POPULATE_WRITE
	long		pagesize = sysconf(_SC_PAGESIZE);
	uintptr_t	page = pagesize > 0 ? (uintptr_t) pagesize : 4096;
	uintptr_t	start = ((uintptr_t) base + page - 1) & ~(page - 1);
	uintptr_t	end = ((uintptr_t) base + len) & ~(page - 1);
	N2Prefault *pf;
	sigset_t	all,
				old;
	int			err;

	if (end <= start)
		return NULL;
	pf = malloc(sizeof(N2Prefault));
	if (pf == NULL)
		return NULL;
	pf->start = (char *) start;
	pf->end = (char *) end;
	pf->base = base;
	pf->ahead = ahead;
	atomic_init(&pf->done, 0);
	atomic_init(&pf->stop, false);

	/* The thread inherits the mask: signals stay with the caller's thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&pf->thread, NULL, prefault_main, pf);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != 0)
	{
		free(pf);
		return NULL;
	}
	return pf;
#else
	return NULL;
#endif
}

void
n2_prefault_progress(N2Prefault *pf, size_t done)
{
	if (pf != NULL)
		atomic_store_explicit(&pf->done, done, memory_order_relaxed);
}

void
n2_prefault_stop(N2Prefault *pf)
{
	if (pf == NULL)
		return;
	atomic_store(&pf->stop, true);
	pthread_join(pf->thread, NULL);
	free(pf);
}
