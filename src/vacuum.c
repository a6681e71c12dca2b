/*
 * vacuum.c
 *		VACUUM: remove dead heap TIDs from elements and their TID chains.
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"

#include "n2.h"

/* Removes dead TIDs from tids[0..*n) in place; returns how many it removed. */
static int
filter_tids(ItemPointerData *tids, int n, int *remaining,
			IndexBulkDeleteCallback callback, void *callback_state)
{
	int			kept = 0;

	for (int i = 0; i < n; i++)
	{
		if (!callback(&tids[i], callback_state))
			tids[kept++] = tids[i];
	}
	for (int i = kept; i < n; i++)
		ItemPointerSetInvalid(&tids[i]);
	*remaining = kept;
	return n - kept;
}

IndexBulkDeleteResult *
n2_bulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
			  IndexBulkDeleteCallback callback, void *callback_state)
{
	Relation	index = info->index;
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);

	if (stats == NULL)
		stats = palloc0(sizeof(IndexBulkDeleteResult));

	for (BlockNumber blkno = N2_METAPAGE_BLKNO + 1; blkno < nblocks; blkno++)
	{
		Buffer		buf;
		Page		page;
		GenericXLogState *state;
		OffsetNumber maxoff;
		bool		changed = false;

		vacuum_delay_point();
		buf = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL,
								 info->strategy);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		state = GenericXLogStart(index);
		page = GenericXLogRegisterBuffer(state, buf, 0);
		maxoff = PageGetMaxOffsetNumber(page);
		for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
		{
			ItemId		iid = PageGetItemId(page, off);
			char	   *tuple;
			int			remaining;

			if (!ItemIdIsNormal(iid))
				continue;
			tuple = PageGetItem(page, iid);
			if (tuple[0] == N2_TUPLE_ELEMENT)
			{
				N2ElementTuple et = (N2ElementTuple) tuple;
				int			removed = filter_tids(et->heaptids, et->ntids, &remaining,
												  callback, callback_state);

				if (removed > 0)
				{
					et->ntids = (uint8) remaining;
					stats->tuples_removed += removed;
					changed = true;
				}
				stats->num_index_tuples += remaining;
			}
			else if (tuple[0] == N2_TUPLE_TIDS)
			{
				N2TidChunk tc = (N2TidChunk) tuple;
				int			removed = filter_tids(tc->tids, tc->ntids, &remaining,
												  callback, callback_state);

				if (removed > 0)
				{
					tc->ntids = (uint16) remaining;
					stats->tuples_removed += removed;
					changed = true;
				}
				stats->num_index_tuples += remaining;
			}
		}
		if (changed)
			GenericXLogFinish(state);
		else
			GenericXLogAbort(state);
		UnlockReleaseBuffer(buf);
	}
	stats->num_pages = nblocks;
	return stats;
}

IndexBulkDeleteResult *
n2_vacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
	if (info->analyze_only)
		return stats;
	if (stats == NULL)
	{
		/* no bulkdelete pass ran: count what is there */
		stats = palloc0(sizeof(IndexBulkDeleteResult));
		stats->num_index_tuples = info->num_heap_tuples;
		stats->estimated_count = info->estimated_count;
	}
	stats->num_pages = RelationGetNumberOfBlocks(info->index);
	return stats;
}
