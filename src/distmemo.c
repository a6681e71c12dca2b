/*
 * Copyright (c) 2025-2026, the n2 developers
 * distmemo.c
 *		Remembers the exact distances of stored vectors while a lossy n2 scan
 *		runs, so the executor decompresses each row's vector once, not twice.
 *
 * A scan of compact codes returns lower bounds, and the executor rechecks
 * each row with the operator on the heap row (n2_gettuple sets
 * xs_recheckorderby).  Then, for the rows it returns, it evaluates the same
 * expression again for the target list: the planner hook's n2_index_distance
 * has no exact distance from such a scan to hand over.  Both calls read the
 * row's vector, and one stored compressed or out of line (vectors of more
 * than about 500 dimensions are, by default) costs more to read than the
 * distance costs to compute: about 40 % of a fashion-mnist query at sq8.
 *
 * The operators are pure functions, so the second call may return what the
 * first computed for the same bytes: the same function, the same query bytes,
 * and the same stored bytes of the row's vector (a compressed datum, or an
 * out-of-line pointer, which names the same immutable TOAST value for as long
 * as a snapshot that reads it lives).  The memo holds the last
 * N2_MEMO_SLOTS such results and is only kept while some lossy scan runs.
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "fmgr.h"
#include "utils/memutils.h"

#include "distmemo.h"

#define N2_MEMO_SLOTS 64

typedef struct MemoSlot
{
	Oid			fn;
	uint32		hash;
	Size		len;
	char	   *key;			/* the row vector's stored bytes */
	double		dist;
}			MemoSlot;

static int	memo_users = 0;
static MemoryContext memo_cxt = NULL;
static char *memo_query = NULL;
static Size memo_query_len = 0;
static MemoSlot memo[N2_MEMO_SLOTS];
static int	memo_next = 0;

/* the key get hashed, for the put that follows a miss in the same call */
static const void *hashed_key = NULL;
static Size hashed_len = 0;
static uint32 hashed_value = 0;

static void
memo_clear(void)
{
	if (memo_cxt != NULL)
		MemoryContextReset(memo_cxt);
	memset(memo, 0, sizeof(memo));
	hashed_key = NULL;
	memo_query = NULL;
	memo_query_len = 0;
	memo_next = 0;
}

void
n2_distance_memo_acquire(void)
{
	if (memo_cxt == NULL)
		memo_cxt = AllocSetContextCreate(TopMemoryContext, "n2 distance memo",
										 ALLOCSET_SMALL_SIZES);
	memo_users++;
}

void
n2_distance_memo_release(void)
{
	Assert(memo_users > 0);
	if (--memo_users == 0)
		memo_clear();
}

/*
 * The row vector's stored bytes when they are worth remembering (compressed
 * or out of line), else NULL.
 */
static struct varlena *
memo_key(FunctionCallInfo fcinfo, Size *len)
{
	struct varlena *a;

	if (memo_users == 0 || fcinfo->flinfo == NULL ||
		!OidIsValid(fcinfo->flinfo->fn_oid))
		return NULL;
	a = (struct varlena *) DatumGetPointer(PG_GETARG_DATUM(0));
	if (!VARATT_IS_COMPRESSED(a) && !VARATT_IS_EXTERNAL_ONDISK(a))
		return NULL;
	*len = VARSIZE_ANY(a);
	return a;
}

static bool
same_query(FunctionCallInfo fcinfo)
{
	struct varlena *b = (struct varlena *) DatumGetPointer(PG_GETARG_DATUM(1));

	return memo_query != NULL && VARSIZE_ANY(b) == memo_query_len &&
		memcmp(b, memo_query, memo_query_len) == 0;
}

bool
n2_distance_memo_get(FunctionCallInfo fcinfo, double *dist)
{
	Size		len;
	struct varlena *a = memo_key(fcinfo, &len);
	uint32		hash;

	if (a == NULL || !same_query(fcinfo))
		return false;
	hash = hash_bytes((const unsigned char *) a, (int) len);
	hashed_key = a;
	hashed_len = len;
	hashed_value = hash;
	for (int i = 0; i < N2_MEMO_SLOTS; i++)
	{
		MemoSlot   *s = &memo[i];

		if (s->key != NULL && s->hash == hash && s->len == len &&
			s->fn == fcinfo->flinfo->fn_oid && memcmp(s->key, a, len) == 0)
		{
			*dist = s->dist;
			return true;
		}
	}
	return false;
}

void
n2_distance_memo_put(FunctionCallInfo fcinfo, double dist)
{
	Size		len;
	struct varlena *a = memo_key(fcinfo, &len);
	MemoSlot   *s;

	if (a == NULL)
		return;
	if (!same_query(fcinfo))
	{
		struct varlena *b = (struct varlena *) DatumGetPointer(PG_GETARG_DATUM(1));

		memo_clear();
		memo_query_len = VARSIZE_ANY(b);
		memo_query = MemoryContextAlloc(memo_cxt, memo_query_len);
		memcpy(memo_query, b, memo_query_len);
	}
	s = &memo[memo_next];
	memo_next = (memo_next + 1) % N2_MEMO_SLOTS;
	if (s->key != NULL)
		pfree(s->key);
	s->key = MemoryContextAlloc(memo_cxt, len);
	memcpy(s->key, a, len);
	s->len = len;
	s->hash = a == hashed_key && len == hashed_len ? hashed_value :
		hash_bytes((const unsigned char *) a, (int) len);
	hashed_key = NULL;
	s->fn = fcinfo->flinfo->fn_oid;
	s->dist = dist;
}
