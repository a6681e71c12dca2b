/*
 * Copyright (c) 2025-2026, the n2 developers
 * test_quantize.c
 *		SQ8: quantizer round trip, the SQ8 kernels of every variant against a
 *		double reference, and graphs built over codes against graphs built
 *		over floats (bigann10k and a synthetic set that does not quantize
 *		exactly).
 */
#include <float.h>
#include <string.h>

#include "dataset.h"
#include "distance_internal.h"

#define K 10
#define DATASET "bigann10k-128-euclidean"
#define BIGANN_ROUNDS 3

/* xorshift64*: reproducible test data. */
static uint64_t rng_state = 88172645463325252ULL;

static uint64_t
rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

/* Uniform in [0, 1). */
static double
rng_uniform(void)
{
	return (double) (rng_next() >> 11) * (1.0 / 9007199254740992.0);
}

static double
rng_gaussian(void)
{
	double		u = rng_uniform() + 1e-300;

	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * rng_uniform());
}

static void
test_roundtrip(void)
{
	enum
	{
		DIM = 37, N = 500
	};
	float		mins[DIM],
				maxs[DIM];
	float	   *v = malloc(sizeof(float) * N * DIM);
	float		back[DIM];
	uint8_t		code[DIM];
	N2Quantizer q;
	double		worst = 0;
	int			bad = 0;

	/* Ranges of very different widths, one constant dimension. */
	for (int d = 0; d < DIM; d++)
	{
		double		width = d == 5 ? 0.0 : pow(10.0, (d % 9) - 4);
		double		centre = (rng_uniform() - 0.5) * 100.0;

		for (int i = 0; i < N; i++)
			v[i * DIM + d] = (float) (centre + (rng_uniform() - 0.5) * width);
	}
	for (int d = 0; d < DIM; d++)
	{
		mins[d] = FLT_MAX;
		maxs[d] = -FLT_MAX;
		for (int i = 0; i < N; i++)
		{
			mins[d] = fminf(mins[d], v[i * DIM + d]);
			maxs[d] = fmaxf(maxs[d], v[i * DIM + d]);
		}
	}
	CHECK(n2_quantizer_fit(&q, mins, maxs, DIM) == 0, "fit");
	CHECK(q.scale[5] == 0.0f && q.offset[5] == mins[5], "constant dimension");

	for (int i = 0; i < N; i++)
	{
		n2_quantize(&q, v + i * DIM, code);
		n2_dequantize(&q, code, back);
		for (int d = 0; d < DIM; d++)
		{
			/* Half a step, plus float rounding of the value itself. */
			double		err = fabs((double) back[d] - v[i * DIM + d]);
			double		bound = q.scale[d] * 0.5 * (1 + 1e-4) +
				fabs(v[i * DIM + d]) * 4 * FLT_EPSILON;

			bad += err > bound;
			worst = fmax(worst, err / bound);
		}
	}
	CHECK(bad == 0, "%d values off by more than half a step", bad);
	printf("  round trip: worst error %.3f of its bound\n", worst);

	/* Ends map to the end codes; beyond them, clamped; NaN to 0. */
	memcpy(back, mins, sizeof(back));
	n2_quantize(&q, back, code);
	bad = 0;
	for (int d = 0; d < DIM; d++)
		bad += code[d] != 0;
	memcpy(back, maxs, sizeof(back));
	n2_quantize(&q, back, code);
	for (int d = 0; d < DIM; d++)
		bad += code[d] != (d == 5 ? 0 : 255);
	CHECK(bad == 0, "range ends map to 0 and 255");
	for (int d = 0; d < DIM; d++)
		back[d] = d % 3 == 0 ? mins[d] - 1e6f : d % 3 == 1 ? maxs[d] + 1e6f : NAN;
	n2_quantize(&q, back, code);
	bad = 0;
	for (int d = 0; d < DIM; d++)
		bad += code[d] != (d % 3 == 1 && d != 5 ? 255 : 0);
	CHECK(bad == 0, "out of range clamped, NaN to 0");
	n2_quantizer_free(&q);

	/* A range too wide for float subtraction still gets a finite scale. */
	mins[0] = -FLT_MAX;
	maxs[0] = FLT_MAX;
	CHECK(n2_quantizer_fit(&q, mins, maxs, 1) == 0 && isfinite(q.scale[0]) &&
		  q.scale[0] > 0, "full float range");
	back[0] = FLT_MAX;
	n2_quantize(&q, back, code);
	CHECK(code[0] == 255, "FLT_MAX codes to 255");
	n2_quantizer_free(&q);
	free(v);
}

/*
 * Each SQ8 kernel against double sums over the dequantized values, at every
 * dim in 1..300 and off any alignment.  The tolerance is relative to the sum
 * of absolute terms, which bounds float accumulation error in any order.
 */
static void
test_kernels(const N2Kernels *k)
{
	enum
	{
		MAXDIM = 300
	};
	uint8_t    *abuf = malloc(MAXDIM + 1);
	uint8_t    *bbuf = malloc(MAXDIM + 1);
	float	   *offbuf = malloc(sizeof(float) * (MAXDIM + 1));
	float	   *scalebuf = malloc(sizeof(float) * (MAXDIM + 1));
	float	   *vbuf = malloc(sizeof(float) * (MAXDIM + 1));
	uint8_t    *a = abuf + 1;
	uint8_t    *b = bbuf + 1;
	float	   *off = offbuf + 1;
	float	   *scale = scalebuf + 1;
	float	   *v = vbuf + 1;
	int			bad[4] = {0};

	for (int dim = 1; dim <= MAXDIM; dim++)
	{
		double		l2 = 0,
					dot = 0,
					dotabs = 0,
					fl2 = 0,
					fdot = 0,
					fdotabs = 0;
		float		r;

		for (int i = 0; i < dim; i++)
		{
			double		x,
						y;

			a[i] = (uint8_t) rng_next();
			b[i] = (uint8_t) rng_next();
			off[i] = (float) ((rng_uniform() - 0.5) * 4);
			scale[i] = (float) (rng_uniform() * 0.05);
			v[i] = (float) ((rng_uniform() - 0.5) * 8);
			x = (double) off[i] + (double) scale[i] * a[i];
			y = (double) off[i] + (double) scale[i] * b[i];
			l2 += (x - y) * (x - y);
			dot += x * y;
			dotabs += fabs(x * y);
			fl2 += (v[i] - y) * (v[i] - y);
			fdot += v[i] * y;
			fdotabs += fabs(v[i] * y);
		}
		r = k->sq8_l2sq(a, b, scale, dim);
		bad[0] += fabs(r - l2) > 1e-5 * l2 + 1e-30;
		r = k->sq8_dot(a, b, off, scale, dim);
		bad[1] += fabs(r - dot) > 1e-5 * dotabs + 1e-30;
		r = k->sq8_l2sq_float(v, b, off, scale, dim);
		bad[2] += fabs(r - fl2) > 1e-5 * fl2 + 1e-30;
		r = k->sq8_dot_float(v, b, off, scale, dim);
		bad[3] += fabs(r - fdot) > 1e-5 * fdotabs + 1e-30;
	}
	CHECK(bad[0] == 0, "%s sq8_l2sq: %d dims off", k->name, bad[0]);
	CHECK(bad[1] == 0, "%s sq8_dot: %d dims off", k->name, bad[1]);
	CHECK(bad[2] == 0, "%s sq8_l2sq_float: %d dims off", k->name, bad[2]);
	CHECK(bad[3] == 0, "%s sq8_dot_float: %d dims off", k->name, bad[3]);

	/* Zero scale: every code stands for the offset. */
	for (int i = 0; i < 19; i++)
	{
		scale[i] = 0;
		off[i] = 0.5f;
	}
	CHECK(k->sq8_l2sq(a, b, scale, 19) == 0.0f &&
		  fabsf(k->sq8_dot(a, b, off, scale, 19) - 19 * 0.25f) < 1e-5f,
		  "%s zero scale", k->name);
	free(abuf);
	free(bbuf);
	free(offbuf);
	free(scalebuf);
	free(vbuf);
}

/* Per-dimension min and max of n vectors, fitted into q. */
static void
fit(N2Quantizer *q, const float *vecs, int n, int dim)
{
	float	   *mins = malloc(sizeof(float) * dim);
	float	   *maxs = malloc(sizeof(float) * dim);

	for (int d = 0; d < dim; d++)
	{
		mins[d] = FLT_MAX;
		maxs[d] = -FLT_MAX;
	}
	for (int i = 0; i < n; i++)
	{
		for (int d = 0; d < dim; d++)
		{
			mins[d] = fminf(mins[d], vecs[(size_t) i * dim + d]);
			maxs[d] = fmaxf(maxs[d], vecs[(size_t) i * dim + d]);
		}
	}
	CHECK(n2_quantizer_fit(q, mins, maxs, dim) == 0, "fit");
	free(mins);
	free(maxs);
}

static N2GraphParams
params(N2Metric metric, int dim)
{
	N2GraphParams p = {0};

	p.metric = metric;
	p.dim = dim;
	p.m = 12;
	p.max_m0 = 24;
	p.ef_construction = 100;
	p.mult = 1.0 / log(12.0);
	p.select = N2_SELECT_HEURISTIC;
	p.seed = 42;
	return p;
}

typedef struct Built
{
	N2Graph		f;				/* over floats */
	N2Graph		c;				/* over codes */
	N2Graph		view;			/* c's links, f's vectors */
	N2Quantizer q;
	uint8_t    *codes;
	double		ftime;
	double		ctime;
} Built;

/*
 * Builds vecs both ways with the same levels (drawn from the float vectors,
 * as the index build does), threads threads.
 */
static void
build_both(Built *bt, const N2GraphParams *p, const float *vecs, int n,
		   int threads)
{
	uint8_t    *levels = draw_levels(vecs, n, p->dim, p);
	N2BuildOptions o = {threads, false};
	double		t0;

	fit(&bt->q, vecs, n, p->dim);
	bt->codes = malloc((size_t) n * p->dim);
	for (int i = 0; i < n; i++)
		n2_quantize(&bt->q, vecs + (size_t) i * p->dim, bt->codes + (size_t) i * p->dim);

	CHECK(n2_graph_init(&bt->f, p, vecs, n, levels) == 0, "init float");
	t0 = now();
	CHECK(n2_build_graph(&bt->f, &o) == N2_BUILD_DONE, "float build");
	bt->ftime = now() - t0;

	CHECK(n2_graph_init_sq8(&bt->c, p, bt->codes, &bt->q, n, levels) == 0, "init sq8");
	CHECK(bt->c.vectors == NULL && bt->c.codes == bt->codes, "sq8 graph fields");
	t0 = now();
	CHECK(n2_build_graph(&bt->c, &o) == N2_BUILD_DONE, "sq8 build");
	bt->ctime = now() - t0;

	bt->view = bt->c;
	bt->view.vectors = vecs;
	bt->view.codes = NULL;
	bt->view.quant = NULL;
	printf("  %d x %d, %d threads: build float %.2f s, sq8 %.2f s (%.2fx)\n",
		   n, p->dim, threads, bt->ftime, bt->ctime, bt->ctime / bt->ftime);
	free(levels);
}

static void
free_both(Built *bt)
{
	n2_graph_free(&bt->f);
	n2_graph_free(&bt->c);
	n2_quantizer_free(&bt->q);
	free(bt->codes);
}

/* Links the SQ8 build made, searched on floats, lose at most 0.01 recall. */
static void
compare(const char *what, double rf, double rc, double rv, int ef)
{
	printf("  %s recall@10 ef %d: float %.3f, sq8 searched on codes %.3f, "
		   "sq8 links on floats %.3f\n", what, ef, rf, rc, rv);
	CHECK(rv >= rf - 0.01, "%s ef %d: sq8 links %.3f vs float %.3f", what, ef, rv, rf);
	CHECK(rc >= rf - 0.05, "%s ef %d: sq8 on codes %.3f vs float %.3f", what, ef, rc, rf);
}

static void
test_bigann(void)
{
	Vecs		base,
				query,
				gtdist;
	N2GraphParams p;
	Built		bt;
	N2Graph		c1,
				c2;
	uint8_t    *levels;
	N2BuildOptions o1 = {1, false};
	uint64_t	words;
	static const int efs[2] = {16, 64};
	double		rf[2] = {0},
				rc[2] = {0},
				rv[2] = {0};

	CHECK(read_vecs(DATASET, "base_disjoint.fvecs", &base), "base_disjoint.fvecs");
	CHECK(read_vecs(DATASET, "query.fvecs", &query), "query.fvecs");
	CHECK(read_vecs(DATASET, "groundtruth_disjoint_distances.fvecs", &gtdist),
		  "groundtruth_disjoint_distances.fvecs");
	if (unit_failed > 0)
		return;
	p = params(N2_METRIC_L2, base.dim);

	/*
	 * Two threads make every build a little different, by about half a
	 * point of recall at ef 16 on 100 queries: average a few builds, so the
	 * comparison measures quantization rather than scheduling.
	 */
	for (int round = 0; round < BIGANN_ROUNDS; round++)
	{
		if (round > 0)
			free_both(&bt);
		build_both(&bt, &p, base.data, base.n, 2);
		for (int e = 0; e < 2; e++)
		{
			rf[e] += recall_l2(&bt.f, base.data, &query, &gtdist, K, efs[e]) / BIGANN_ROUNDS;
			rc[e] += recall_l2(&bt.c, base.data, &query, &gtdist, K, efs[e]) / BIGANN_ROUNDS;
			rv[e] += recall_l2(&bt.view, base.data, &query, &gtdist, K, efs[e]) / BIGANN_ROUNDS;
		}
	}
	for (int e = 0; e < 2; e++)
		compare("bigann", rf[e], rc[e], rv[e], efs[e]);

	/* Memory accounting follows the representation. */
	CHECK(n2_graph_memory(&p, base.n, bt.f.levels, N2_VECTORS_FLOAT) -
		  n2_graph_memory(&p, base.n, bt.f.levels, N2_VECTORS_SQ8) ==
		  (size_t) base.n * base.dim * 3 - n2_quantizer_memory(base.dim),
		  "memory: floats vs codes");
	{
		double		exact = n2_graph_memory(&p, base.n, bt.f.levels, N2_VECTORS_SQ8);
		double		est = n2_graph_memory(&p, base.n, NULL, N2_VECTORS_SQ8);

		CHECK(fabs(est - exact) < 0.02 * exact, "estimate without levels %.0f vs %.0f",
			  est, exact);
	}
	free_both(&bt);

	/* One thread over codes is deterministic, as over floats. */
	levels = draw_levels(base.data, 3000, base.dim, &p);
	fit(&bt.q, base.data, 3000, base.dim);
	bt.codes = malloc((size_t) 3000 * base.dim);
	for (int i = 0; i < 3000; i++)
		n2_quantize(&bt.q, (float *) base.data + (size_t) i * base.dim,
					bt.codes + (size_t) i * base.dim);
	CHECK(n2_graph_init_sq8(&c1, &p, bt.codes, &bt.q, 3000, levels) == 0 &&
		  n2_build_graph(&c1, &o1) == N2_BUILD_DONE, "sq8 1-thread build");
	CHECK(n2_graph_init_sq8(&c2, &p, bt.codes, &bt.q, 3000, levels) == 0 &&
		  n2_build_graph(&c2, &o1) == N2_BUILD_DONE, "second sq8 1-thread build");
	words = c1.upper_start[c1.n - 1] + (uint64_t) c1.levels[c1.n - 1] * (1 + p.m);
	CHECK(c1.entry == c2.entry &&
		  memcmp(c1.links0, c2.links0, sizeof(uint32_t) * c1.n * (1 + p.max_m0)) == 0 &&
		  memcmp(c1.upper, c2.upper, sizeof(uint32_t) * words) == 0,
		  "1-thread sq8 builds are identical");
	n2_graph_free(&c1);
	n2_graph_free(&c2);
	n2_quantizer_free(&bt.q);
	free(bt.codes);
	free(levels);
	free(base.data);
	free(query.data);
	free(gtdist.data);
}

/*
 * Gaussian data of intrinsic dimension LATENT embedded in DIM, per-dimension
 * scales spread over two orders of magnitude, plus noise: quantization
 * error is now well above zero, unlike bigann's small integers.
 */
static float *
synthetic(int n, int dim, int latent, const float *basis, const float *scales)
{
	float	   *v = malloc(sizeof(float) * n * dim);
	double	   *z = malloc(sizeof(double) * latent);

	for (int i = 0; i < n; i++)
	{
		for (int j = 0; j < latent; j++)
			z[j] = rng_gaussian();
		for (int d = 0; d < dim; d++)
		{
			double		x = 0.1 * rng_gaussian();

			for (int j = 0; j < latent; j++)
				x += basis[j * dim + d] * z[j];
			v[(size_t) i * dim + d] = (float) (x * scales[d]);
		}
	}
	free(z);
	return v;
}

/* Brute-force tie-aware recall on a metric, through the graph's search. */
static double
recall_exact(const N2Graph *g, N2Metric metric, const float *base,
			 const float *queries, int nq, const float *kth, int ef)
{
	N2Search	s;
	N2Candidate out[K];
	int			dim = g->params.dim;
	double		hits = 0;

	n2_search_init(&s, g->n, ef, g->params.max_m0, false);
	for (int qi = 0; qi < nq; qi++)
	{
		const float *q = queries + (size_t) qi * dim;
		int			n = n2_graph_search(g, &s, q, K, ef, out);

		for (int i = 0; i < n; i++)
			hits += n2_metric_distance(metric, q, base + out[i].ref * dim, dim) <=
				kth[qi] + 1e-5f * fabsf(kth[qi]);
	}
	n2_search_free(&s);
	return hits / ((double) nq * K);
}

static void
test_synthetic(N2Metric metric, const char *what)
{
	enum
	{
		N = 10000, NQ = 500, DIM = 100, LATENT = 12
	};
	float	   *basis = malloc(sizeof(float) * LATENT * DIM);
	float		scales[DIM];
	float	   *base;
	float	   *queries;
	float	   *kth = malloc(sizeof(float) * NQ);
	N2Candidate *all = malloc(sizeof(N2Candidate) * N);
	N2GraphParams p = params(metric, DIM);
	Built		bt;
	double		err = 0,
				spread = 0;
	uint8_t		code[DIM];
	float		back[DIM];

	for (int i = 0; i < LATENT * DIM; i++)
		basis[i] = (float) (rng_gaussian() / sqrt(LATENT));
	for (int d = 0; d < DIM; d++)
		scales[d] = (float) pow(10.0, 2.0 * rng_uniform() - 1.0);
	base = synthetic(N, DIM, LATENT, basis, scales);
	queries = synthetic(NQ, DIM, LATENT, basis, scales);
	if (metric == N2_METRIC_ANGULAR)
	{
		for (int i = 0; i < N; i++)
			n2_normalize(base + (size_t) i * DIM, DIM);
		for (int i = 0; i < NQ; i++)
			n2_normalize(queries + (size_t) i * DIM, DIM);
	}
	for (int qi = 0; qi < NQ; qi++)
	{
		for (int j = 0; j < N; j++)
		{
			all[j].ref = j;
			all[j].dist = n2_metric_distance(metric, queries + (size_t) qi * DIM,
											 base + (size_t) j * DIM, DIM);
		}
		n2_candidates_sort(all, N);
		kth[qi] = all[K - 1].dist;
	}

	build_both(&bt, &p, base, N, 2);

	/* Lossy indeed: mean squared error against the mean squared norm. */
	for (int i = 0; i < N; i++)
	{
		n2_quantize(&bt.q, base + (size_t) i * DIM, code);
		n2_dequantize(&bt.q, code, back);
		err += n2_kernels.l2sq(back, base + (size_t) i * DIM, DIM);
		spread += n2_kernels.dot(base + (size_t) i * DIM, base + (size_t) i * DIM, DIM);
	}
	printf("  %s: relative quantization error %.2e\n", what, err / spread);
	CHECK(err / spread > 1e-6, "%s: quantization is lossy", what);

	for (int ef = 16; ef <= 64; ef *= 4)
		compare(what, recall_exact(&bt.f, metric, base, queries, NQ, kth, ef),
				recall_exact(&bt.c, metric, base, queries, NQ, kth, ef),
				recall_exact(&bt.view, metric, base, queries, NQ, kth, ef), ef);
	free_both(&bt);
	free(basis);
	free(base);
	free(queries);
	free(kth);
	free(all);
}

int
main(void)
{
	n2_distance_init();
	printf("  simd %s\n", n2_simd_name(n2_simd_active()));
	test_roundtrip();
	for (int s = 0; s < N2_SIMD_COUNT; s++)
	{
		const N2Kernels *k = n2_kernels_for((N2Simd) s);

		if (k != NULL)
		{
			printf("  kernels: %s\n", k->name);
			test_kernels(k);
		}
	}
	test_bigann();
	test_synthetic(N2_METRIC_L2, "synthetic l2");
	test_synthetic(N2_METRIC_ANGULAR, "synthetic angular");
	UNIT_DONE();
}
