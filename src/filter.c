/*
 * Copyright (c) 2025-2026, the n2 developers
 * filter.c
 *		Filter columns: every column of an n2 index after the vector is a
 *		filter key.  Element tuples store the keys of their rows (rows share
 *		an element only when their vectors and keys are equal), and scans
 *		evaluate their index conditions on those keys, with no heap fetch.
 *
 * Key encoding (the keys part of an element tuple, keylen bytes): for each
 * filter column in order, a tag byte (0: NULL, 1: a value) and, after a
 * value tag, the value, unaligned:
 *
 *	int2, int4, int8	int64, 8 bytes (native byte order)
 *	bool				1 byte, 0 or 1
 *	uuid				16 bytes
 *	text				uint16 length, then the bytes (no varlena header)
 *	int4[], int8[]		uint16 count, then count int64
 *	text[]				uint16 count, then each element as text is stored
 *
 * NULL array elements are not stored: no operator matches them.  Text is
 * compared bytewise, which is equality for the deterministic collations
 * n2_check_columns allows.  A row whose keys exceed N2_MAX_KEYLEN is refused
 * at insert, so keys are exact and scans never recheck them.
 */
#include "postgres.h"

#include "access/stratnum.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/pg_locale.h"
#include "utils/rel.h"
#include "utils/uuid.h"

#include "filter.h"
#include "n2.h"

typedef enum N2KeyKind
{
	N2_KEY_NONE = 0,
	N2_KEY_INT,
	N2_KEY_BOOL,
	N2_KEY_UUID,
	N2_KEY_TEXT,
	N2_KEY_INT_ARRAY,
	N2_KEY_TEXT_ARRAY
} N2KeyKind;

#define N2_KEY_NULL		0
#define N2_KEY_VALUE	1

/* IS NULL and IS NOT NULL: scan keys without an operator (filterplan.c) */
#define N2_STRATEGY_IS_NULL		(N2_FILTER_STRATEGIES + 1)
#define N2_STRATEGY_NOT_NULL	(N2_FILTER_STRATEGIES + 2)

/* One index condition: column, strategy and the values it compares with. */
typedef struct N2FilterKey
{
	int			col;			/* filter column, 0-based after the vector */
	N2KeyKind	kind;
	int			strategy;
	int			nvals;			/* values (several for = ANY(array)) */
	const char **vals;			/* each in the stored encoding, unprefixed */
	int		   *lens;
} N2FilterKey;

struct N2KeyFilter
{
	int			ncols;			/* filter columns of the index */
	N2KeyKind  *kinds;
	int			nkeys;
	N2FilterKey *keys;

	/*
	 * When every column up to the last one tested has a fixed width, where
	 * each one's tag is while none of them is NULL: keys are then tested
	 * without walking them (a key directory pass tests every element's).
	 */
	int		   *tag_at;			/* NULL when not */
	int			last_col;
	int			fixed_len;		/* bytes up to the last tested value's end */
};

static N2KeyKind
key_kind(Oid typid)
{
	switch (typid)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
			return N2_KEY_INT;
		case BOOLOID:
			return N2_KEY_BOOL;
		case UUIDOID:
			return N2_KEY_UUID;
		case TEXTOID:
		case VARCHAROID:		/* text's operators and operator class */
			return N2_KEY_TEXT;
		case INT2ARRAYOID:
		case INT4ARRAYOID:
		case INT8ARRAYOID:
			return N2_KEY_INT_ARRAY;
		case TEXTARRAYOID:
			return N2_KEY_TEXT_ARRAY;
		default:
			return N2_KEY_NONE;
	}
}

static N2KeyKind
column_kind(Relation index, int col)
{
	return key_kind(TupleDescAttr(RelationGetDescr(index), col + 1)->atttypid);
}

/*
 * CREATE INDEX: the first column is the vector (its operator class names a
 * metric), every other one a filter column of a type keys can hold.
 */
void
n2_check_columns(Relation index)
{
	TupleDesc	desc = RelationGetDescr(index);
	int			natts = IndexRelationGetNumberOfKeyAttributes(index);

	if (!OidIsValid(index_getprocid(index, 1, 1)))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the first column of n2 index \"%s\" must be a vector, not type %s",
						RelationGetRelationName(index),
						format_type_be(TupleDescAttr(desc, 0)->atttypid)),
				 errhint("Put the vector column first and the filter columns after it.")));
	for (int i = 1; i < natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (key_kind(att->atttypid) == N2_KEY_NONE ||
			OidIsValid(index_getprocid(index, i + 1, 1)))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("n2 index \"%s\" cannot filter on column \"%s\" of type %s",
							RelationGetRelationName(index), NameStr(att->attname),
							format_type_be(att->atttypid)),
					 errhint("Filter columns may be smallint, integer, bigint, boolean, text, varchar, uuid, smallint[], integer[], bigint[] or text[].")));
		if ((key_kind(att->atttypid) == N2_KEY_TEXT ||
			 key_kind(att->atttypid) == N2_KEY_TEXT_ARRAY) &&
			OidIsValid(att->attcollation) &&
			!get_collation_isdeterministic(att->attcollation))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("n2 index \"%s\" cannot filter on column \"%s\" with a nondeterministic collation",
							RelationGetRelationName(index), NameStr(att->attname))));
	}
}

static void
put_uint16(StringInfo s, int v)
{
	uint16		u = (uint16) v;

	appendBinaryStringInfo(s, (char *) &u, sizeof(u));
}

static void
put_int64(StringInfo s, int64 v)
{
	appendBinaryStringInfo(s, (char *) &v, sizeof(v));
}

static int64
int_datum(Datum d, Oid typid)
{
	switch (typid)
	{
		case INT2OID:
			return DatumGetInt16(d);
		case INT4OID:
			return DatumGetInt32(d);
		default:
			return DatumGetInt64(d);
	}
}

/* A text value's bytes; checked against the key limit by the caller. */
static void
put_text(StringInfo s, Datum d)
{
	text	   *t = (text *) PG_DETOAST_DATUM_PACKED(d);
	Size		len = VARSIZE_ANY_EXHDR(t);

	if (len > N2_MAX_KEYLEN)
		len = N2_MAX_KEYLEN + 1;	/* the total is refused anyway */
	put_uint16(s, (int) len);
	appendBinaryStringInfo(s, VARDATA_ANY(t), len);
}

static void
deconstruct(ArrayType *a, Datum **elems, bool **nulls, int *n)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;

	get_typlenbyvalalign(ARR_ELEMTYPE(a), &typlen, &typbyval, &typalign);
	deconstruct_array(a, ARR_ELEMTYPE(a), typlen, typbyval, typalign,
					  elems, nulls, n);
}

static void
put_array(StringInfo s, N2KeyKind kind, Datum d)
{
	ArrayType  *a = DatumGetArrayTypeP(d);
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			count = 0;

	deconstruct(a, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
		count += !nulls[i];
	if (count > PG_UINT16_MAX)
		count = PG_UINT16_MAX;	/* far beyond the key limit: refused */
	put_uint16(s, count);
	for (int i = 0; i < n && count > 0 && s->len <= N2_MAX_KEYLEN; i++)
	{
		if (nulls[i])
			continue;
		if (kind == N2_KEY_INT_ARRAY)
			put_int64(s, int_datum(elems[i], ARR_ELEMTYPE(a)));
		else
			put_text(s, elems[i]);
	}
}

/*
 * The keys of a row (NULL for an index without filter columns), palloc'd;
 * refuses a row whose keys would exceed N2_MAX_KEYLEN.
 */
char *
n2_form_keys(Relation index, Datum *values, bool *isnull, int *keylen)
{
	TupleDesc	desc = RelationGetDescr(index);
	int			natts = IndexRelationGetNumberOfKeyAttributes(index);
	StringInfoData s;

	*keylen = 0;
	if (natts <= 1)
		return NULL;
	initStringInfo(&s);
	for (int i = 1; i < natts && s.len <= N2_MAX_KEYLEN; i++)
	{
		Oid			typid = TupleDescAttr(desc, i)->atttypid;
		N2KeyKind	kind = key_kind(typid);
		char		tag = isnull[i] ? N2_KEY_NULL : N2_KEY_VALUE;

		appendBinaryStringInfo(&s, &tag, 1);
		if (isnull[i])
			continue;
		switch (kind)
		{
			case N2_KEY_INT:
				put_int64(&s, int_datum(values[i], typid));
				break;
			case N2_KEY_BOOL:
				{
					char		b = DatumGetBool(values[i]) ? 1 : 0;

					appendBinaryStringInfo(&s, &b, 1);
				}
				break;
			case N2_KEY_UUID:
				appendBinaryStringInfo(&s, (char *) DatumGetUUIDP(values[i])->data,
									   UUID_LEN);
				break;
			case N2_KEY_TEXT:
				put_text(&s, values[i]);
				break;
			case N2_KEY_INT_ARRAY:
			case N2_KEY_TEXT_ARRAY:
				put_array(&s, kind, values[i]);
				break;
			default:
				n2_check_columns(index);	/* raises the error */
				elog(ERROR, "unexpected filter column type %u", typid);
		}
	}
	if (s.len > N2_MAX_KEYLEN)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("filter values of a row exceed the n2 limit of %d bytes in index \"%s\"",
						N2_MAX_KEYLEN, RelationGetRelationName(index)),
				 errdetail("Each column takes 1 byte, and its value: text its bytes plus 2, an integer 8, a boolean 1, a uuid 16, an array 2 plus 8 per integer element or its bytes plus 2 per text element."),
				 errhint("Index a shorter value, such as a hash or a code of the text.")));
	*keylen = s.len;
	return s.data;
}

static uint16
get_uint16(const char *p)
{
	uint16		u;

	memcpy(&u, p, sizeof(u));
	return u;
}

static int64
get_int64(const char *p)
{
	int64		v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * The end of the value of the given kind at p (after its tag), or NULL if
 * it would pass end.
 */
static const char *
skip_value(N2KeyKind kind, const char *p, const char *end)
{
	int			n;

	switch (kind)
	{
		case N2_KEY_INT:
			return end - p >= 8 ? p + 8 : NULL;
		case N2_KEY_BOOL:
			return end - p >= 1 ? p + 1 : NULL;
		case N2_KEY_UUID:
			return end - p >= UUID_LEN ? p + UUID_LEN : NULL;
		case N2_KEY_TEXT:
			if (end - p < 2)
				return NULL;
			n = get_uint16(p);
			return end - p - 2 >= n ? p + 2 + n : NULL;
		case N2_KEY_INT_ARRAY:
			if (end - p < 2)
				return NULL;
			n = get_uint16(p);
			return end - p - 2 >= (Size) n * 8 ? p + 2 + (Size) n * 8 : NULL;
		case N2_KEY_TEXT_ARRAY:
			if (end - p < 2)
				return NULL;
			n = get_uint16(p);
			p += 2;
			for (int i = 0; i < n && p != NULL; i++)
				p = skip_value(N2_KEY_TEXT, p, end);
			return p;
		default:
			return NULL;
	}
}

/* What is wrong with an element's keys, or NULL when they are well formed. */
const char *
n2_keys_problem(Relation index, const char *keys, int keylen)
{
	int			natts = IndexRelationGetNumberOfKeyAttributes(index);
	const char *p = keys;
	const char *end = keys + keylen;

	if (natts <= 1)
		return keylen == 0 ? NULL : "element has filter keys but the index has no filter column";
	if (keylen > N2_MAX_KEYLEN)
		return "element's filter keys exceed the key limit";
	for (int i = 0; i < natts - 1; i++)
	{
		N2KeyKind	kind = column_kind(index, i);

		if (p >= end)
			return "element's filter keys are truncated";
		if (*p == N2_KEY_NULL)
		{
			p++;
			continue;
		}
		if (*p != N2_KEY_VALUE)
			return "element's filter keys have an unknown tag";
		p = skip_value(kind, p + 1, end);
		if (p == NULL)
			return "element's filter keys are truncated";
		if (kind == N2_KEY_BOOL && (uint8) p[-1] > 1)
			return "element's filter keys hold a boolean that is neither 0 nor 1";
	}
	return p == end ? NULL : "element's filter keys are longer than its columns";
}

/* One query value in the stored encoding, palloc'd. */
static void
encode_value(N2KeyKind kind, Datum d, Oid typid, const char **val, int *len)
{
	StringInfoData s;

	initStringInfo(&s);
	switch (kind)
	{
		case N2_KEY_INT:
		case N2_KEY_INT_ARRAY:
			put_int64(&s, int_datum(d, typid));
			break;
		case N2_KEY_BOOL:
			{
				char		b = DatumGetBool(d) ? 1 : 0;

				appendBinaryStringInfo(&s, &b, 1);
			}
			break;
		case N2_KEY_UUID:
			appendBinaryStringInfo(&s, (char *) DatumGetUUIDP(d)->data, UUID_LEN);
			break;
		default:
			{
				text	   *t = (text *) PG_DETOAST_DATUM_PACKED(d);

				appendBinaryStringInfo(&s, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
			}
			break;
	}
	*val = s.data;
	*len = s.len;
}

/* Adds the non-null elements of an array argument as the key's values. */
static bool
add_array_values(N2FilterKey *k, Datum d, bool nulls_fail)
{
	ArrayType  *a = DatumGetArrayTypeP(d);
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	deconstruct(a, &elems, &nulls, &n);
	k->vals = palloc(sizeof(char *) * Max(n, 1));
	k->lens = palloc(sizeof(int) * Max(n, 1));
	k->nvals = 0;
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
		{
			if (nulls_fail)
				return false;
			continue;
		}
		encode_value(k->kind, elems[i], ARR_ELEMTYPE(a), &k->vals[k->nvals],
					 &k->lens[k->nvals]);
		k->nvals++;
	}
	return true;
}

/* The width of a value of a fixed-width kind, else 0. */
static int
fixed_width(N2KeyKind kind)
{
	switch (kind)
	{
		case N2_KEY_INT:
			return 8;
		case N2_KEY_BOOL:
			return 1;
		case N2_KEY_UUID:
			return UUID_LEN;
		default:
			return 0;
	}
}

/* Sets up f->tag_at when the columns up to the last tested are fixed-width. */
static void
prepare_fixed(N2KeyFilter *f)
{
	int			at = 0;

	f->last_col = 0;
	for (int i = 0; i < f->nkeys; i++)
		f->last_col = Max(f->last_col, f->keys[i].col);
	for (int i = 0; i <= f->last_col; i++)
	{
		if (fixed_width(f->kinds[i]) == 0)
			return;
	}
	f->tag_at = palloc(sizeof(int) * (f->last_col + 1));
	for (int i = 0; i <= f->last_col; i++)
	{
		f->tag_at[i] = at;
		at += 1 + fixed_width(f->kinds[i]);
	}
	f->fixed_len = at;
}

/*
 * Compiles a scan's index conditions on filter columns; NULL when none
 * restricts anything.  *never is set when no row can match (a NULL
 * argument, = ANY of an empty array, ...).
 */
N2KeyFilter *
n2_filter_prepare(Relation index, ScanKey keys, int nkeys, bool *never)
{
	N2KeyFilter *f = palloc0(sizeof(N2KeyFilter));

	*never = false;
	f->ncols = IndexRelationGetNumberOfKeyAttributes(index) - 1;
	f->kinds = palloc(sizeof(N2KeyKind) * Max(f->ncols, 1));
	for (int i = 0; i < f->ncols; i++)
		f->kinds[i] = column_kind(index, i);
	f->keys = palloc(sizeof(N2FilterKey) * Max(nkeys, 1));
	for (int i = 0; i < nkeys; i++)
	{
		ScanKey		sk = &keys[i];
		N2FilterKey *k = &f->keys[f->nkeys];

		if (sk->sk_attno >= 2 && sk->sk_attno <= f->ncols + 1 &&
			(sk->sk_flags & (SK_SEARCHNULL | SK_SEARCHNOTNULL)))
		{
			k->col = sk->sk_attno - 2;
			k->kind = f->kinds[k->col];
			k->strategy = (sk->sk_flags & SK_SEARCHNULL) ?
				N2_STRATEGY_IS_NULL : N2_STRATEGY_NOT_NULL;
			k->nvals = 0;
			f->nkeys++;
			continue;
		}
		if (sk->sk_attno < 2 || sk->sk_attno > f->ncols + 1 ||
			sk->sk_strategy < 1 || sk->sk_strategy > N2_FILTER_STRATEGIES)
			elog(ERROR, "n2 scan key on column %d with strategy %d is not supported",
				 sk->sk_attno, sk->sk_strategy);
		if (sk->sk_flags & SK_ISNULL)
		{
			*never = true;
			return f;
		}
		k->col = sk->sk_attno - 2;
		k->kind = f->kinds[k->col];
		k->strategy = sk->sk_strategy;
		if (k->kind == N2_KEY_INT_ARRAY || k->kind == N2_KEY_TEXT_ARRAY)
		{
			if (sk->sk_flags & SK_SEARCHARRAY)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("n2 cannot evaluate ANY over an array of label sets")));
			/* @> with a NULL element contains nothing; && ignores NULLs */
			if (!add_array_values(k, sk->sk_argument,
								  k->strategy == N2_STRATEGY_CONTAINS))
			{
				*never = true;
				return f;
			}

			/*
			 * @> of the empty set stays a key with no values: every array
			 * contains it, a NULL does not.
			 */
			if (k->strategy == N2_STRATEGY_OVERLAP && k->nvals == 0)
			{
				*never = true;
				return f;
			}
		}
		else if (sk->sk_flags & SK_SEARCHARRAY)
		{
			add_array_values(k, sk->sk_argument, false);
			if (k->nvals == 0)
			{
				*never = true;
				return f;
			}
		}
		else
		{
			k->vals = palloc(sizeof(char *));
			k->lens = palloc(sizeof(int));
			k->nvals = 1;
			encode_value(k->kind, sk->sk_argument,
						 OidIsValid(sk->sk_subtype) ? sk->sk_subtype : INT8OID,
						 &k->vals[0], &k->lens[0]);
		}
		f->nkeys++;
	}
	if (f->nkeys == 0)
		return NULL;
	prepare_fixed(f);
	return f;
}

/* Whether a scalar stored value (in the stored encoding) passes one value. */
static bool
scalar_passes(const N2FilterKey *k, const char *v, int vlen, int j)
{
	int			cmp;

	if (k->kind == N2_KEY_INT)
	{
		int64		a = get_int64(v);
		int64		b = get_int64(k->vals[j]);

		cmp = a < b ? -1 : a > b ? 1 : 0;
	}
	else
		cmp = (vlen == k->lens[j] && memcmp(v, k->vals[j], vlen) == 0) ? 0 : 1;
	switch (k->strategy)
	{
		case N2_STRATEGY_LT:
			return cmp < 0;
		case N2_STRATEGY_LE:
			return cmp <= 0;
		case N2_STRATEGY_EQ:
			return cmp == 0;
		case N2_STRATEGY_GE:
			return cmp >= 0;
		case N2_STRATEGY_GT:
			return cmp > 0;
		case N2_STRATEGY_NE:
			return cmp != 0;
		default:
			return false;
	}
}

/* Whether the stored array at p (count, then elements) holds value j. */
static bool
array_holds(const N2FilterKey *k, const char *p, int j)
{
	int			n = get_uint16(p);

	p += 2;
	for (int i = 0; i < n; i++)
	{
		if (k->kind == N2_KEY_INT_ARRAY)
		{
			if (memcmp(p, k->vals[j], 8) == 0)
				return true;
			p += 8;
		}
		else
		{
			int			len = get_uint16(p);

			if (len == k->lens[j] && memcmp(p + 2, k->vals[j], len) == 0)
				return true;
			p += 2 + len;
		}
	}
	return false;
}

/* Whether a column's stored value p (NULL for a NULL) passes key k. */
static bool
key_passes(const N2FilterKey *k, const char *p)
{
	if (k->strategy == N2_STRATEGY_IS_NULL)
		return p == NULL;
	if (k->strategy == N2_STRATEGY_NOT_NULL)
		return p != NULL;
	if (p == NULL)
		return false;
	if (k->kind == N2_KEY_INT_ARRAY || k->kind == N2_KEY_TEXT_ARRAY)
	{
		bool		all = k->strategy == N2_STRATEGY_CONTAINS;

		for (int j = 0; j < k->nvals; j++)
		{
			if (array_holds(k, p, j) != all)
				return !all;
		}
		return all;
	}
	else
	{
		const char *v = p;
		int			vlen;

		switch (k->kind)
		{
			case N2_KEY_INT:
				vlen = 8;
				break;
			case N2_KEY_BOOL:
				vlen = 1;
				break;
			case N2_KEY_UUID:
				vlen = UUID_LEN;
				break;
			default:
				vlen = get_uint16(p);
				v = p + 2;
				break;
		}
		for (int j = 0; j < k->nvals; j++)
		{
			if (scalar_passes(k, v, vlen, j))
				return true;
		}
		return false;
	}
}

/*
 * Whether keys (an element's, as n2_form_keys wrote them) satisfy every
 * condition of f.  A NULL key satisfies only IS NULL; malformed keys match
 * nothing.
 */
bool
n2_filter_match(const N2KeyFilter *f, const char *keys, int keylen)
{
	const char *cols[INDEX_MAX_KEYS];
	const char *p = keys;
	const char *end = keys + keylen;

	if (f == NULL || f->nkeys == 0)
		return true;
	if (f->tag_at != NULL && keylen >= f->fixed_len)
	{
		bool		fixed = true;

		for (int i = 0; i <= f->last_col && fixed; i++)
			fixed = keys[f->tag_at[i]] == N2_KEY_VALUE;
		if (fixed)
		{
			for (int i = 0; i < f->nkeys; i++)
			{
				if (!key_passes(&f->keys[i], keys + f->tag_at[f->keys[i].col] + 1))
					return false;
			}
			return true;
		}
	}
	for (int i = 0; i < f->ncols; i++)
	{
		if (p >= end)
			return false;
		if (*p == N2_KEY_NULL)
		{
			cols[i] = NULL;
			p++;
			continue;
		}
		cols[i] = p + 1;
		p = skip_value(f->kinds[i], p + 1, end);
		if (p == NULL)
			return false;
	}
	for (int i = 0; i < f->nkeys; i++)
	{
		if (!key_passes(&f->keys[i], cols[f->keys[i].col]))
			return false;
	}
	return true;
}
