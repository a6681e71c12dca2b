/*
 * Copyright (c) 2025-2026, the n2 developers
 * storage.c
 *		Vector codes on pages: float4 (the vector itself), float16 and sq8
 *		(core/quantize.c), the code header compact codes carry, distances on
 *		codes and the lower bounds scans report, and sq8's trained ranges.
 *
 * Compact codes are lossy, so a scan on them reports for each row a lower
 * bound of its true distance and asks the executor to recheck
 * (xs_recheckorderby): the executor computes the exact distance from the
 * heap row and returns rows in exact order (see scan.c).  The bound needs,
 * per vector, how far the code is from it: N2CodeHeader, written when the
 * element is formed.
 *
 * sq8's ranges are trained by CREATE INDEX over the rows it holds in memory
 * and kept in a chain of N2_TUPLE_QUANT tuples named by the metapage (8
 * bytes a dimension: about a thousand dimensions a tuple).  Rows inserted
 * later are coded with them, values outside clamped (the code header's
 * error then says how far).  An index built empty is trained by its first
 * insert, from that one vector: a crude range, so such an index should be
 * rebuilt once it holds data (n2_storage_report_training says so).
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "access/generic_xlog.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"

#include "n2.h"

const char *
n2_storage_name(N2Storage storage)
{
	switch (storage)
	{
		case N2_STORAGE_FLOAT16:
			return "float16";
		case N2_STORAGE_SQ8:
			return "sq8";
		default:
			return "float4";
	}
}

/* Whether the index holds vectors exactly (distances on it are exact). */
bool
n2_storage_is_exact(const N2Params *p)
{
	return p->storage == N2_STORAGE_FLOAT4;
}

bool
n2_storage_needs_training(const N2Params *p)
{
	return p->storage == N2_STORAGE_SQ8 && p->sq8_lo == NULL;
}

/*
 * sq8 ranges learned from fewer distinct vectors than this are likely to
 * clamp later rows, which the codes then tell apart less well: CREATE INDEX and the
 * insert that trains an index built empty say so, as pgvector's ivfflat
 * does of lists built from little data.
 */
#define N2_SQ8_FEW_ROWS 100

void
n2_storage_report_training(Relation index, const N2Params *p, int64 nrows)
{
	if (p->storage != N2_STORAGE_SQ8 || nrows >= N2_SQ8_FEW_ROWS)
		return;
	ereport(NOTICE,
			(nrows == 0 ?
			 errmsg("n2 index \"%s\" will learn its sq8 ranges from the first row inserted",
					RelationGetRelationName(index)) :
			 errmsg_plural("n2 index \"%s\" learned its sq8 ranges from %lld distinct vector",
						   "n2 index \"%s\" learned its sq8 ranges from %lld distinct vectors",
						   nrows, RelationGetRelationName(index),
						   (long long) nrows),
			 errdetail("Values outside those ranges are clamped to their ends, and rows whose values are clamped are found less reliably."),
			 errhint("REINDEX the index once the table holds representative data.")));
}

static Size
header_bytes(const N2Params *p)
{
	return p->storage == N2_STORAGE_FLOAT4 ? 0 : sizeof(N2CodeHeader);
}

/* Codes dimensions start .. start + n - 1 of vec (vec + start onwards). */
static void
encode_dims(const N2Params *p, const float *vec, int start, int n, char *out)
{
	switch (p->storage)
	{
		case N2_STORAGE_FLOAT16:
			n2_f16_encode(vec + start, (uint16_t *) out, n);
			break;
		case N2_STORAGE_SQ8:
			if (p->sq8_lo == NULL)
				elog(ERROR, "sq8 code formed before the quantizer was trained");
			n2_sq8_encode(vec + start, p->sq8_lo + start, p->sq8_step + start,
						  (uint8_t *) out, n);
			break;
		default:
			memcpy(out, vec + start, sizeof(float) * n);
			break;
	}
}

/* Decodes the code of dimensions start .. start + n - 1 into out[0 .. n). */
static void
decode_dims(const N2Params *p, const char *code, int start, int n, float *out)
{
	switch (p->storage)
	{
		case N2_STORAGE_FLOAT16:
			n2_f16_decode((const uint16_t *) code, out, n);
			break;
		case N2_STORAGE_SQ8:
			if (p->sq8_lo == NULL)
				elog(ERROR, "sq8 code read before the quantizer was trained");
			n2_sq8_decode((const uint8_t *) code, p->sq8_lo + start,
						  p->sq8_step + start, out, n);
			break;
		default:
			memcpy(out, code, sizeof(float) * n);
			break;
	}
}

/*
 * The float next to f towards +infinity (up) or -infinity, as nextafterf
 * gives it for a finite f or one infinity stepping towards the other, without
 * a call: the scan takes a step at every other node it visits.
 */
static inline float
float_step(float f, bool up)
{
	uint32		bits;

	if (f == 0.0f)
		return up ? FLT_TRUE_MIN : -FLT_TRUE_MIN;
	memcpy(&bits, &f, sizeof(bits));
	bits = (f > 0.0f) == up ? bits + 1 : bits - 1;
	memcpy(&f, &bits, sizeof(f));
	return f;
}

/* The least float not below x. */
static inline float
float_up(double x)
{
	float		f = (float) x;

	return (double) f < x ? float_step(f, true) : f;
}

/* The greatest float not above x. */
static inline float
float_down(double x)
{
	float		f = (float) x;

	return (double) f > x ? float_step(f, false) : f;
}

/*
 * float_down for x >= 0 (or NaN), without a branch: a scan takes it at every
 * node, and whether the float rounded up is a coin toss.
 */
static inline float
float_down_nonneg(double x)
{
	float		f = (float) x;
	uint32		bits;

	memcpy(&bits, &f, sizeof(bits));
	bits -= (double) f > x;
	memcpy(&f, &bits, sizeof(f));
	return f;
}

/*
 * Writes an element's code of vec: for compact storage the header (the
 * whole vector's coding error and norm), then the first ninline dimensions.
 */
void
n2_encode_element_code(const N2Params *p, const float *vec, int ninline,
					   char *out)
{
	N2CodeHeader h;
	char	   *code;
	float	   *back;
	double		err = 0.0;
	double		norm = 0.0;

	if (p->storage == N2_STORAGE_FLOAT4)
	{
		encode_dims(p, vec, 0, ninline, out);
		return;
	}
	code = palloc(n2_chunk_code_bytes(p, p->dims));
	back = palloc(sizeof(float) * p->dims);
	encode_dims(p, vec, 0, p->dims, code);
	decode_dims(p, code, 0, p->dims, back);
	for (int i = 0; i < p->dims; i++)
	{
		double		d = (double) vec[i] - (double) back[i];

		err += d * d;
		norm += (double) vec[i] * (double) vec[i];
	}
	h.err = float_up(sqrt(err) * (1.0 + 1e-9));
	h.norm = float_up(sqrt(norm) * (1.0 + 1e-9));
	memcpy(out, &h, sizeof(h));
	memcpy(out + sizeof(h), code, n2_chunk_code_bytes(p, ninline));
	pfree(code);
	pfree(back);
}

/*
 * vec as n2_read_vector returns an element holding it (the decoded code on
 * compact storage), palloc'd.
 */
float *
n2_storage_stored_form(const N2Params *p, const float *vec)
{
	float	   *out = palloc(sizeof(float) * p->dims);
	char	   *code;

	if (p->storage == N2_STORAGE_FLOAT4)
	{
		memcpy(out, vec, sizeof(float) * p->dims);
		return out;
	}
	code = palloc(n2_chunk_code_bytes(p, p->dims));
	encode_dims(p, vec, 0, p->dims, code);
	decode_dims(p, code, 0, p->dims, out);
	pfree(code);
	return out;
}

void
n2_encode_chunk_code(const N2Params *p, const float *vec, int start, int n,
					 char *out)
{
	encode_dims(p, vec, start, n, out);
}

/* Decodes an element's inline dimensions into out[0 .. ninline). */
void
n2_decode_element_code(const N2Params *p, N2ElementTuple et, float *out)
{
	decode_dims(p, N2ElementCode(et) + header_bytes(p), 0, et->ninline, out);
}

/* Decodes a vector chunk that continues a vector at dimension start. */
void
n2_decode_chunk_code(const N2Params *p, N2VectorChunk vc, int start,
					 float *out)
{
	int			n = Min(vc->ndims, p->dims - start);

	decode_dims(p, N2VectorChunkCode(vc), start, n, out);
}

/* The index's distance from pg->query to a code held whole in et. */
static float
code_distance(const N2PageGraph *pg, const char *code)
{
	const N2Params *p = pg->params;
	bool		l2 = p->metric == N2_METRIC_L2;
	float		raw;

	if (p->storage == N2_STORAGE_FLOAT16)
		raw = l2 ? n2_code_kernels.f16_l2sq(pg->query, (const uint16_t *) code, p->dims) :
			n2_code_kernels.f16_dot(pg->query, (const uint16_t *) code, p->dims);
	else
		raw = l2 ? n2_code_kernels.sq8_l2sq(pg->query, p->sq8_lo, p->sq8_step,
											(const uint8_t *) code, p->dims) :
			n2_code_kernels.sq8_dot(pg->query, p->sq8_lo, p->sq8_step,
									(const uint8_t *) code, p->dims);
	switch (p->metric)
	{
		case N2_METRIC_L2:
			return raw;
		case N2_METRIC_ANGULAR:
			return 1.0f - raw;
		default:
			return -raw;
	}
}

/* The distance from pg->query to the element's vector as stored. */
static inline float
stored_distance(N2PageGraph *pg, N2ElementTuple et)
{
	const N2Params *p = pg->params;

	/* no kernel reads codes for L1: it decodes them */
	if (p->storage == N2_STORAGE_FLOAT4 || et->ninline < p->dims ||
		p->metric == N2_METRIC_L1)
		return n2_metric_distance(p->metric, n2_element_vector(pg, et),
								  pg->query, p->dims);
	return code_distance(pg, N2ElementCode(et) + sizeof(N2CodeHeader));
}

/*
 * The distances from pg->query that stored_distance gives an element
 * holding v, whose stored form (n2_storage_stored_form) is stored: on that,
 * and on compact storage on its code too (which it uses when the code is
 * inline).  Returns how many (1 or 2).  An
 * insert finds an element with its own vector at one of these exactly,
 * where a longer vector under dot, or float rounding under cosine, can put
 * others nearer and itself above 0.
 */
int
n2_storage_self_distances(N2PageGraph *pg, const float *v, const float *stored,
						  float *out)
{
	const N2Params *p = pg->params;
	int			n = 0;

	out[n++] = n2_metric_distance(p->metric, stored, pg->query, p->dims);
	if (p->storage != N2_STORAGE_FLOAT4 && p->metric != N2_METRIC_L1)
	{
		char	   *code = palloc(sizeof(N2CodeHeader) + n2_chunk_code_bytes(p, p->dims));

		n2_encode_element_code(p, v, p->dims, code);
		out[n++] = code_distance(pg, code + sizeof(N2CodeHeader));
		pfree(code);
	}
	return n;
}

/*
 * The distance from pg->query to the element's vector as the index orders
 * by (squared for L2).  On compact codes it is computed on the code, and a
 * scan (pg->lower_bounds) gets a lower bound of the operator's distance
 * instead, in the same form, so that the walk yields rows in the order of
 * the bounds it reports.
 */
float
n2_element_distance(N2PageGraph *pg, N2ElementTuple et)
{
	const N2Params *p = pg->params;
	const char *code = N2ElementCode(et);
	float		d;
	N2CodeHeader h;
	double		lb;

	if (!pg->lower_bounds || p->storage == N2_STORAGE_FLOAT4)
		return stored_distance(pg, et);
	memcpy(&h, code, sizeof(h));
	code += sizeof(N2CodeHeader);

	/*
	 * A scan's common case, L2 on a code held whole, calls its kernel with
	 * the bound's metric a constant: a scan takes a few hundred per query.
	 */
	if (p->metric == N2_METRIC_L2 && et->ninline == p->dims)
	{
		d = p->storage == N2_STORAGE_FLOAT16 ?
			n2_code_kernels.f16_l2sq(pg->query, (const uint16_t *) code, p->dims) :
			n2_code_kernels.sq8_l2sq(pg->query, p->sq8_lo, p->sq8_step,
									 (const uint8_t *) code, p->dims);
		lb = n2_code_lower_bound(N2_METRIC_L2, d, h.err, h.norm, pg->qnorm,
								 p->dims);
		return float_down_nonneg(lb * lb * (1.0 - 1e-9));
	}
	d = stored_distance(pg, et);
	lb = n2_code_lower_bound(p->metric, d, h.err, h.norm, pg->qnorm, p->dims);
	if (p->metric == N2_METRIC_L2)
		return float_down_nonneg(lb * lb * (1.0 - 1e-9));
	return float_down(lb);
}

/*
 * On compact codes, an upper bound of the operator's distance from pg->query
 * to the element's vector (as the operator returns it: L2 not squared).
 */
double
n2_element_upper_bound(N2PageGraph *pg, N2ElementTuple et)
{
	const N2Params *p = pg->params;
	float		d = stored_distance(pg, et);
	N2CodeHeader h;

	Assert(p->storage != N2_STORAGE_FLOAT4);
	memcpy(&h, N2ElementCode(et), sizeof(h));
	return n2_code_upper_bound(p->metric, d, h.err, h.norm, pg->qnorm, p->dims);
}

/*
 * Whether the element ref names holds v (as the index stores it): the row
 * then joins it.  A compact element qualifies only with the same code and
 * header, so that its error bound covers every row it holds.
 */
bool
n2_storage_same_vector(N2PageGraph *pg, N2Ref ref, const float *v)
{
	const N2Params *p = pg->params;
	N2ElementTuple et;
	N2CodeHeader stored;
	N2CodeHeader mine;
	float	   *have;
	float	   *want;
	char	   *code;
	bool		same;

	if (p->storage == N2_STORAGE_FLOAT4)
	{
		float	   *w = n2_read_vector(pg, ref);

		return w != NULL && memcmp(w, v, sizeof(float) * p->dims) == 0;
	}
	have = palloc(sizeof(float) * p->dims);
	n2_page_graph_read(pg, n2_ref_block(ref));
	LockBuffer(pg->buf, BUFFER_LOCK_SHARE);
	et = n2_page_graph_element(pg, ref);
	if (et == NULL || (et->flags & N2_ELEMENT_DELETED))
	{
		LockBuffer(pg->buf, BUFFER_LOCK_UNLOCK);
		return false;
	}
	memcpy(&stored, N2ElementCode(et), sizeof(stored));
	memcpy(have, n2_element_vector(pg, et), sizeof(float) * p->dims);
	LockBuffer(pg->buf, BUFFER_LOCK_UNLOCK);

	code = palloc(n2_code_bytes(p, p->dims));
	want = palloc(sizeof(float) * p->dims);
	n2_encode_element_code(p, v, p->dims, code);
	memcpy(&mine, code, sizeof(mine));
	decode_dims(p, code + sizeof(N2CodeHeader), 0, p->dims, want);
	same = memcmp(&stored, &mine, sizeof(mine)) == 0 &&
		memcmp(have, want, sizeof(float) * p->dims) == 0;
	pfree(code);
	pfree(want);
	pfree(have);
	return same;
}

/* Ranges over no vectors yet, for dims dimensions, in CurrentMemoryContext. */
void
n2_ranges_init(N2Ranges *r, int dims)
{
	r->n = 0;
	r->dims = dims;
	r->vmin = palloc(sizeof(float) * dims);
	r->vmax = palloc(sizeof(float) * dims);
	r->integral = palloc(sizeof(bool) * dims);
	for (int d = 0; d < dims; d++)
	{
		r->vmin[d] = INFINITY;
		r->vmax[d] = -INFINITY;
	}
	memset(r->integral, true, sizeof(bool) * dims);
}

/* Adds v to the ranges; returns whether all its values are integers. */
bool
n2_ranges_add(N2Ranges *r, const float *v)
{
	r->n++;
	return n2_sq8_observe(v, r->vmin, r->vmax, r->integral, r->dims);
}

void
n2_ranges_free(N2Ranges *r)
{
	pfree(r->vmin);
	pfree(r->vmax);
	pfree(r->integral);
	r->vmin = r->vmax = NULL;
	r->integral = NULL;
}

/*
 * Trains sq8's ranges on the vectors r has seen (as stored: normalised for
 * angular): each dimension's minimum and maximum.  One vector alone (the
 * first insert into an index built empty) says little about the spread: it
 * gets a range symmetric around zero, twice its largest magnitude wide each
 * way.  Returns whether the codes of these vectors are the vectors exactly:
 * every dimension constant, or integers at most 255 apart (coded with step
 * 1).
 */
bool
n2_storage_train_ranges(N2Params *p, const N2Ranges *r)
{
	int			dims = p->dims;
	bool		exact = false;
	float	   *vmin;
	float	   *vmax;
	float	   *lo;
	float	   *step;

	if (p->storage != N2_STORAGE_SQ8 || r->n == 0 || dims == 0)
		return false;
	Assert(r->dims == dims);
	lo = palloc(sizeof(float) * dims);
	step = palloc(sizeof(float) * dims);
	if (r->n == 1)
	{
		float		a = 0.0f;

		vmin = palloc(sizeof(float) * dims);
		vmax = palloc(sizeof(float) * dims);
		for (int d = 0; d < dims; d++)
			a = Max(a, fabsf(r->vmin[d]));
		a = a > 0.0f ? 2.0f * a : 1.0f;
		for (int d = 0; d < dims; d++)
		{
			vmin[d] = -a;
			vmax[d] = a;
		}
		n2_sq8_ranges(vmin, vmax, NULL, lo, step, dims);
		pfree(vmin);
		pfree(vmax);
	}
	else
	{
		n2_sq8_ranges(r->vmin, r->vmax, r->integral, lo, step, dims);
		exact = true;
		for (int d = 0; d < dims && exact; d++)
			exact = r->vmin[d] == r->vmax[d] ||
				(r->integral[d] && step[d] == 1.0f);
	}
	p->sq8_lo = lo;
	p->sq8_step = step;
	return exact;
}

/* n2_storage_train_ranges over n vectors. */
bool
n2_storage_train(N2Params *p, const float *vectors, int64 n)
{
	N2Ranges	r;
	bool		exact;

	if (p->storage != N2_STORAGE_SQ8 || n == 0 || p->dims == 0)
		return false;
	n2_ranges_init(&r, p->dims);
	for (int64 i = 0; i < n; i++)
		n2_ranges_add(&r, vectors + i * p->dims);
	exact = n2_storage_train_ranges(p, &r);
	n2_ranges_free(&r);
	return exact;
}

static int
quant_chunk_dims(void)
{
	return (int) ((N2_MAX_TUPLE_SIZE - N2_QUANT_CHUNK_HEADER) / (2 * sizeof(float)));
}

/*
 * The smallest quantizer tuple an index with parameters p writes (its last,
 * holding what is left of the dimensions), or 0 when it writes none.
 */
Size
n2_storage_smallest_tuple(const N2Params *p)
{
	int			per = quant_chunk_dims();
	int			last;

	if (p->storage != N2_STORAGE_SQ8 || p->dims <= 0)
		return 0;
	last = p->dims - (p->dims - 1) / per * per;
	return N2_QUANT_CHUNK_HEADER + 2 * sizeof(float) * last;
}

/*
 * Writes sq8's trained ranges (a chain of quantizer tuples, last first so
 * each can point at the next) and names the chain in the metapage.  The
 * caller excludes other writers of the metapage's entry fields: CREATE
 * INDEX, or the first insert under N2_LOCK_INSERT_ENTRY.
 */
void
n2_storage_write(Relation index, const N2Params *p)
{
	int			per = quant_chunk_dims();
	int			nchunks = (p->dims + per - 1) / per;
	N2QuantChunk qc = palloc(N2_MAX_TUPLE_SIZE);
	ItemPointerData head;
	GenericXLogState *state;
	Buffer		buf;

	if (p->storage != N2_STORAGE_SQ8 || p->sq8_lo == NULL)
		return;
	ItemPointerSetInvalid(&head);
	for (int i = nchunks - 1; i >= 0; i--)
	{
		int			start = i * per;
		int			n = Min(per, p->dims - start);
		Size		size = N2_QUANT_CHUNK_HEADER + 2 * sizeof(float) * n;

		memset(qc, 0, size);
		qc->type = N2_TUPLE_QUANT;
		qc->ndims = (uint16) n;
		qc->start = (uint16) start;
		qc->next = head;
		memcpy(N2QuantChunkFloats(qc), p->sq8_lo + start, sizeof(float) * n);
		memcpy(N2QuantChunkFloats(qc) + n, p->sq8_step + start, sizeof(float) * n);
		n2_place_tuple(index, qc, size, &head);
	}
	pfree(qc);

	state = GenericXLogStart(index);
	buf = ReadBuffer(index, N2_METAPAGE_BLKNO);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	N2PageGetMeta(GenericXLogRegisterBuffer(state, buf, 0))->quant = head;
	GenericXLogFinish(state);
	UnlockReleaseBuffer(buf);
}

static void
quant_corrupted(Relation index, ItemPointer tid)
{
	ereport(ERROR,
			(errcode(ERRCODE_INDEX_CORRUPTED),
			 errmsg("n2 index \"%s\" has a broken quantizer chain at (%u,%u)",
					RelationGetRelationName(index),
					ItemPointerGetBlockNumber(tid),
					ItemPointerGetOffsetNumber(tid))));
}

/*
 * Reads sq8's ranges into p (palloc'd), when the metapage names them.  The
 * chain never changes once the metapage names it.
 */
void
n2_storage_load(Relation index, const N2MetaPageData *meta, N2Params *p)
{
	float	   *lo;
	float	   *step;
	int			have = 0;
	ItemPointerData next = meta->quant;

	p->sq8_lo = NULL;
	p->sq8_step = NULL;
	if (p->storage != N2_STORAGE_SQ8 || !ItemPointerIsValid(&next) ||
		p->dims <= 0)
		return;
	lo = palloc(sizeof(float) * p->dims);
	step = palloc(sizeof(float) * p->dims);
	while (have < p->dims)
	{
		Buffer		buf;
		N2QuantChunk qc;

		if (!ItemPointerIsValid(&next))
			quant_corrupted(index, &next);
		buf = ReadBuffer(index, ItemPointerGetBlockNumber(&next));
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		qc = n2_page_tuple(BufferGetPage(buf), ItemPointerGetOffsetNumber(&next),
						   N2_TUPLE_QUANT);
		if (qc == NULL || qc->start != have || qc->ndims == 0 ||
			qc->ndims > p->dims - have)
		{
			UnlockReleaseBuffer(buf);
			quant_corrupted(index, &next);
		}
		memcpy(lo + have, N2QuantChunkFloats(qc), sizeof(float) * qc->ndims);
		memcpy(step + have, N2QuantChunkFloats(qc) + qc->ndims,
			   sizeof(float) * qc->ndims);
		have += qc->ndims;
		next = qc->next;
		UnlockReleaseBuffer(buf);
	}
	p->sq8_lo = lo;
	p->sq8_step = step;
}
