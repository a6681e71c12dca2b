/*
 * Copyright (c) 2025-2026, the n2 developers
 * info.c
 *		n2_index_info(regclass): what an index holds and how it was built.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "utils/lsyscache.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/builtins.h"
#include "utils/rel.h"

#include "n2.h"

static const char *
metric_name(N2Metric metric)
{
	switch (metric)
	{
		case N2_METRIC_L2:
			return "L2";
		case N2_METRIC_ANGULAR:
			return "angular";
		case N2_METRIC_L1:
			return "L1";
		default:
			return "dot";
	}
}

/* Opens an index, checking that it is an n2 index. */
Relation
n2_open_index(Oid relid)
{
	Relation	index = try_relation_open(relid, AccessShareLock);

	if (index == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (index->rd_indam == NULL || index->rd_indam->ambuild != n2_build ||
		(index->rd_rel->relkind != RELKIND_INDEX &&
		 index->rd_rel->relkind != RELKIND_PARTITIONED_INDEX))
	{
		relation_close(index, AccessShareLock);
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an n2 index", get_rel_name(relid))));
	}
	if (index->rd_rel->relkind == RELKIND_PARTITIONED_INDEX)
	{
		relation_close(index, AccessShareLock);
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is a partitioned n2 index", get_rel_name(relid)),
				 errdetail("A partitioned index holds no graph: the indexes of its partitions do."),
				 errhint("Call the function on those, which pg_partition_tree('%s') lists.",
						 get_rel_name(relid))));
	}
	return index;
}

PG_FUNCTION_INFO_V1(n2_index_info);
Datum
n2_index_info(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Relation	index = n2_open_index(relid);
	N2MetaPageData meta;
	N2Params	p;
	TupleDesc	tupdesc;
	BlockNumber nblocks;
	int64		nelements = 0;
	int64		ndeleted = 0;
	int64		nheaptids = 0;
	int64		deg_sum = 0;
	int			deg_min = -1;
	int			deg_max = 0;
	int			levels = 0;
	int64		elem_bytes = 0;
	ItemPointerData *links;
	Datum		values[24];
	bool		nulls[24] = {0};
	BlockNumber limit;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	n2_read_meta(index, &meta);
	n2_params_from_meta(index, &meta, &p);
	links = palloc(sizeof(ItemPointerData) * p.max_m0);
	nblocks = RelationGetNumberOfBlocks(index);

	for (BlockNumber blkno = N2_METAPAGE_BLKNO + 1; blkno < nblocks; blkno++)
	{
		Buffer		buf = ReadBuffer(index, blkno);
		Page		page;
		OffsetNumber off = InvalidOffsetNumber;
		char	   *tuple;

		CHECK_FOR_INTERRUPTS();
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		while ((tuple = n2_page_next_tuple(page, &off)) != NULL)
		{
			Size		bytes = ItemIdGetLength(PageGetItemId(page, off)) + sizeof(ItemIdData);

			if (tuple[0] == N2_TUPLE_ELEMENT)
			{
				N2ElementTuple et = (N2ElementTuple) tuple;
				int			deg = 0;

				if (et->flags & N2_ELEMENT_DELETED)
				{
					ndeleted++;
					continue;
				}
				nelements++;
				elem_bytes += bytes;
				nheaptids += et->ntids;
				levels = Max(levels, et->level + 1);
				n2_links_read(&p, et, 0, p.max_m0, links);
				while (deg < p.max_m0 && ItemPointerIsValid(&links[deg]))
					deg++;
				deg_sum += deg;
				deg_min = deg_min < 0 ? deg : Min(deg_min, deg);
				deg_max = Max(deg_max, deg);
			}
			else if (tuple[0] == N2_TUPLE_TIDS)
				nheaptids += ((N2TidChunk) tuple)->ntids;
			else if (tuple[0] == N2_TUPLE_VECTOR)
				elem_bytes += bytes;
		}
		UnlockReleaseBuffer(buf);
	}

	values[0] = Int64GetDatum(nelements);
	values[1] = Int64GetDatum(nheaptids);
	values[2] = Int64GetDatum(ndeleted);
	values[3] = Int32GetDatum(levels);
	values[4] = Int32GetDatum(meta.max_level);
	nulls[4] = meta.max_level < 0;
	values[5] = Int32GetDatum(Max(deg_min, 0));
	values[6] = Float8GetDatum(nelements > 0 ? (double) deg_sum / nelements : 0);
	values[7] = Int32GetDatum(deg_max);
	values[8] = Int64GetDatum(nblocks);
	values[9] = Int64GetDatum((int64) nblocks * BLCKSZ);
	values[10] = Int32GetDatum(p.dims);
	values[11] = CStringGetTextDatum(metric_name(p.metric));
	values[12] = Int32GetDatum(p.m);
	values[13] = Int32GetDatum(p.max_m0);
	values[14] = Int32GetDatum(p.ef_construction);
	values[15] = Float8GetDatum(p.mult);
	values[16] = CStringGetTextDatum(p.select == N2_SELECT_NAIVE ? "naive" : "heuristic");
	values[17] = CStringGetTextDatum(p.merge_level0 ? "merge_level0" : "skip");
	values[18] = Int32GetDatum(meta.version);
	values[19] = Float8GetDatum(nelements > 0 ? (double) elem_bytes / nelements : 0);
	values[20] = CStringGetTextDatum(n2_storage_name(p.storage));
	values[21] = CStringGetTextDatum(n2_keep_pruned_name(p.select));
	values[22] = Int32GetDatum(p.link_bytes);
	limit = n2_link_block_limit(p.link_bytes, p.link_offset_bits);
	values[23] = Int64GetDatum((int64) limit);
	nulls[23] = limit == InvalidBlockNumber;

	relation_close(index, AccessShareLock);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
