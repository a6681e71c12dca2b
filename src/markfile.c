/*
 * Copyright (c) 2025-2026, the n2 developers
 * markfile.c
 *		Arrays of 64-bit words that may not fit a memory budget: their pages
 *		in a temporary file, behind a cache that stays within it.
 *
 * VACUUM's reachability check keeps a few bits per index line pointer and a
 * word per index page (vacuum.c).  They usually fit maintenance_work_mem and
 * never reach the file.  When they do not, the cache evicts pages in clock
 * order, writing the changed ones out, and reads them back when they are
 * needed again; a page never written reads as zeros.  The walk's accesses
 * are mostly sequential sweeps and links between nearby pages of the
 * index, so a cache of a fraction of the marks keeps most of them in
 * memory.  The file goes away with the transaction, also on error.
 */
#include "postgres.h"

#include "storage/buffile.h"
#include "utils/hsearch.h"

#include "n2.h"

#define MARK_PAGE_WORDS	(BLCKSZ / sizeof(uint64))

typedef struct MarkPage
{
	uint64		key;			/* map << 48 | page number: the hash key */
	int32		frame;			/* in the cache, or -1 */
	int32		fileblock;		/* written to the file there, or -1 */
} MarkPage;

struct N2MarkFile
{
	HTAB	   *pages;
	uint64	  **frames;			/* up to nframes pages, allocated as needed */
	MarkPage  **owner;			/* per frame, the page it holds */
	bool	   *dirty;
	bool	   *used;			/* referenced since the clock hand passed */
	int			nframes;
	int			nloaded;
	int			hand;
	MarkPage   *last;			/* the page of the last access */
	BufFile    *file;
	int32		nfileblocks;
	int64		nwrites;
	int64		nreads;
};

N2MarkFile *
n2_mark_file_create(Size budget)
{
	N2MarkFile *mf = palloc0(sizeof(N2MarkFile));
	HASHCTL		ctl;

	mf->nframes = (int) Max(budget / BLCKSZ, 2);
	mf->frames = palloc0(sizeof(uint64 *) * mf->nframes);
	mf->owner = palloc0(sizeof(MarkPage *) * mf->nframes);
	mf->dirty = palloc0(sizeof(bool) * mf->nframes);
	mf->used = palloc0(sizeof(bool) * mf->nframes);
	ctl.keysize = sizeof(uint64);
	ctl.entrysize = sizeof(MarkPage);
	ctl.hcxt = CurrentMemoryContext;
	mf->pages = hash_create("n2 mark pages", 1024, &ctl,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	return mf;
}

/* A frame for a new page: a free one, or the clock's victim, written out. */
static int
free_frame(N2MarkFile *mf)
{
	MarkPage   *victim;
	int			frame;

	if (mf->nloaded < mf->nframes)
	{
		mf->frames[mf->nloaded] = palloc(BLCKSZ);
		return mf->nloaded++;
	}
	while (mf->used[mf->hand])
	{
		mf->used[mf->hand] = false;
		mf->hand = (mf->hand + 1) % mf->nframes;
	}
	frame = mf->hand;
	mf->hand = (mf->hand + 1) % mf->nframes;
	victim = mf->owner[frame];
	if (mf->dirty[frame])
	{
		if (mf->file == NULL)
			mf->file = BufFileCreateTemp(false);
		if (victim->fileblock < 0)
			victim->fileblock = mf->nfileblocks++;
		if (BufFileSeekBlock(mf->file, victim->fileblock) != 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not seek to block %d of a temporary file",
							victim->fileblock)));
		BufFileWrite(mf->file, mf->frames[frame], BLCKSZ);
		mf->nwrites++;
	}
	victim->frame = -1;
	if (mf->last == victim)
		mf->last = NULL;
	return frame;
}

uint64 *
n2_mark_file_word(N2MarkFile *mf, int map, uint64 word, bool dirty)
{
	uint64		key = ((uint64) map << 48) | (word / MARK_PAGE_WORDS);
	MarkPage   *page = mf->last;

	if (page == NULL || page->key != key)
	{
		bool		found;

		page = hash_search(mf->pages, &key, HASH_ENTER, &found);
		if (!found)
		{
			page->frame = -1;
			page->fileblock = -1;
		}
		if (page->frame < 0)
		{
			int			frame = free_frame(mf);
			uint64	   *words = mf->frames[frame];

			if (page->fileblock < 0)
				memset(words, 0, BLCKSZ);
			else
			{
				if (BufFileSeekBlock(mf->file, page->fileblock) != 0 ||
					BufFileRead(mf->file, words, BLCKSZ) != BLCKSZ)
					ereport(ERROR,
							(errcode_for_file_access(),
							 errmsg("could not read block %d of a temporary file",
									page->fileblock)));
				mf->nreads++;
			}
			page->frame = frame;
			mf->owner[frame] = page;
			mf->dirty[frame] = false;
		}
		mf->last = page;
	}
	mf->used[page->frame] = true;
	if (dirty)
		mf->dirty[page->frame] = true;
	return mf->frames[page->frame] + word % MARK_PAGE_WORDS;
}

/* The same, as N2ReachMarks wants it. */
uint64_t *
n2_mark_file_reach_word(void *ctx, int map, uint64_t word, bool dirty)
{
	return n2_mark_file_word((N2MarkFile *) ctx, map, word, dirty);
}

void
n2_mark_file_stats(const N2MarkFile *mf, int64 *writes, int64 *reads)
{
	*writes = mf->nwrites;
	*reads = mf->nreads;
}

void
n2_mark_file_close(N2MarkFile *mf)
{
	if (mf->file != NULL)
		BufFileClose(mf->file);
	hash_destroy(mf->pages);
	for (int i = 0; i < mf->nloaded; i++)
		pfree(mf->frames[i]);
	pfree(mf->frames);
	pfree(mf->owner);
	pfree(mf->dirty);
	pfree(mf->used);
	pfree(mf);
}
