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
 *
 * The query is the same for every row a scan rechecks, but when it comes
 * from a table (a LATERAL batch's query column) it is stored compressed or
 * out of line too, and each call would decompress it again.  So while a
 * lossy scan runs, the query argument's detoasted value is kept with its
 * stored bytes, for the next call given the same bytes.
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
	Size		cap;			/* allocated bytes of key, reused */
	char	   *key;			/* the row vector's stored bytes */
	double		dist;
} MemoSlot;

static int	memo_users = 0;
static MemoryContext memo_cxt = NULL;
static char *memo_query = NULL;
static Size memo_query_len = 0;
static MemoSlot memo[N2_MEMO_SLOTS];
static int	memo_next = 0;

/* the last stored query argument and its detoasted value (query_cxt) */
static MemoryContext query_cxt = NULL;
static char *query_stored = NULL;
static Size query_stored_len = 0;
static struct varlena *query_value = NULL;

/*
 * What a get that missed learned of its arguments, for the put that follows
 * in the same call: the key's hash, and that the query is the memo's.
 */
static const void *missed_key = NULL;
static Size missed_len = 0;
static uint32 missed_hash = 0;

static void
memo_clear(void)
{
	if (memo_cxt != NULL)
		MemoryContextReset(memo_cxt);
	memset(memo, 0, sizeof(memo));
	missed_key = NULL;
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
	if (query_cxt == NULL)
		query_cxt = AllocSetContextCreate(TopMemoryContext, "n2 distance query",
										  ALLOCSET_SMALL_SIZES);
	memo_users++;
}

static void
query_clear(void)
{
	if (query_cxt != NULL)
		MemoryContextReset(query_cxt);
	query_stored = NULL;
	query_stored_len = 0;
	query_value = NULL;
}

void
n2_distance_memo_release(void)
{
	Assert(memo_users > 0);
	if (--memo_users == 0)
	{
		memo_clear();
		query_clear();
	}
}

/*
 * Argument argno, the query, detoasted: while a lossy scan runs, the value
 * kept for the same stored bytes, else a new one (kept if it was compressed
 * or out of line).
 */
struct varlena *
n2_distance_memo_query(FunctionCallInfo fcinfo, int argno)
{
	struct varlena *b = (struct varlena *) DatumGetPointer(PG_GETARG_DATUM(argno));
	Size		len;
	MemoryContext oldcxt;

	if (memo_users == 0 ||
		(!VARATT_IS_COMPRESSED(b) && !VARATT_IS_EXTERNAL_ONDISK(b)))
		return PG_DETOAST_DATUM(PG_GETARG_DATUM(argno));
	len = VARSIZE_ANY(b);
	if (query_value != NULL && len == query_stored_len &&
		memcmp(b, query_stored, len) == 0)
		return query_value;
	query_clear();
	oldcxt = MemoryContextSwitchTo(query_cxt);
	query_value = PG_DETOAST_DATUM(PG_GETARG_DATUM(argno));
	query_stored = palloc(len);
	memcpy(query_stored, b, len);
	query_stored_len = len;
	MemoryContextSwitchTo(oldcxt);
	return query_value;
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

	missed_key = NULL;
	if (a == NULL || !same_query(fcinfo))
		return false;
	hash = hash_bytes((const unsigned char *) a, (int) len);
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
	missed_key = a;
	missed_len = len;
	missed_hash = hash;
	return false;
}

void
n2_distance_memo_put(FunctionCallInfo fcinfo, double dist)
{
	Size		len;
	struct varlena *a = memo_key(fcinfo, &len);
	bool		after_miss = a != NULL && a == missed_key && len == missed_len;
	MemoSlot   *s;

	missed_key = NULL;
	if (a == NULL)
		return;
	if (!after_miss && !same_query(fcinfo))
	{
		struct varlena *b = (struct varlena *) DatumGetPointer(PG_GETARG_DATUM(1));

		memo_clear();
		memo_query_len = VARSIZE_ANY(b);
		memo_query = MemoryContextAlloc(memo_cxt, memo_query_len);
		memcpy(memo_query, b, memo_query_len);
	}
	s = &memo[memo_next];
	memo_next = (memo_next + 1) % N2_MEMO_SLOTS;
	if (s->cap < len)
	{
		if (s->key != NULL)
			pfree(s->key);
		s->key = MemoryContextAlloc(memo_cxt, len);
		s->cap = len;
	}
	memcpy(s->key, a, len);
	s->len = len;
	s->hash = after_miss ? missed_hash :
		hash_bytes((const unsigned char *) a, (int) len);
	s->fn = fcinfo->flinfo->fn_oid;
	s->dist = dist;
}
