/*
 * Copyright (c) 2025-2026, the n2 developers
 * synth.c
 *		Synthetic clustered vectors that look like text embeddings, with
 *		their exact ground truth; no download, the same files for the same
 *		arguments on every machine.
 *
 * usage: synth OUTDIR N DIM NQ [seed=S] [clusters=C] [k=K]
 *
 * Writes OUTDIR/base.fvecs (N rows), query.fvecs (NQ rows drawn the same
 * way, none of them in base), groundtruth.ivecs (the K nearest base rows of
 * each query by Euclidean distance, ties by lower id) and
 * groundtruth_distances.fvecs (their distances), the layout bench/run.sh
 * reads as DATASET=custom.
 *
 * The model: C topics whose sizes fall off like 1 / rank^0.8; a topic is a
 * centre plus 16 directions of its own with decaying spreads, so each
 * cluster is a flattened ellipsoid; every coordinate is scaled by a global
 * spectrum that decays with the dimension index (real embeddings spend most
 * of their variance in few directions); isotropic noise on top; finally
 * normalised to unit length, as embedding models return them.  Ground
 * truth: all distances in float with the core's kernel, the best K + 32
 * recomputed in double and sorted.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "distance.h"

#define NDIRS 16
#define SLACK 32

typedef struct Rng
{
	uint64_t	s;
} Rng;

/* splitmix64: small, fast, and the same everywhere. */
static uint64_t
rng_next(Rng *r)
{
	uint64_t	z = (r->s += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static double
rng_uniform(Rng *r)
{
	return ((rng_next(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static double
rng_gauss(Rng *r)
{
	return sqrt(-2.0 * log(rng_uniform(r))) * cos(2.0 * M_PI * rng_uniform(r));
}

static void
die(const char *msg, const char *arg)
{
	fprintf(stderr, "synth: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
	exit(1);
}

typedef struct Model
{
	int			dim;
	int			clusters;
	float	   *spectrum;		/* dim */
	float	   *centres;		/* clusters * dim */
	float	   *dirs;			/* clusters * NDIRS * dim */
	double	   *cumweight;		/* clusters */
} Model;

static void
model_init(Model *m, int dim, int clusters, Rng *r)
{
	double		total = 0;

	m->dim = dim;
	m->clusters = clusters;
	m->spectrum = malloc(sizeof(float) * dim);
	m->centres = malloc(sizeof(float) * (size_t) clusters * dim);
	m->dirs = malloc(sizeof(float) * (size_t) clusters * NDIRS * dim);
	m->cumweight = malloc(sizeof(double) * clusters);
	if (!m->spectrum || !m->centres || !m->dirs || !m->cumweight)
		die("out of memory", NULL);
	for (int j = 0; j < dim; j++)
		m->spectrum[j] = (float) (1.0 / sqrt(1.0 + j / 24.0));
	for (size_t i = 0; i < (size_t) clusters * dim; i++)
		m->centres[i] = (float) rng_gauss(r);
	for (size_t i = 0; i < (size_t) clusters * NDIRS * dim; i++)
		m->dirs[i] = (float) rng_gauss(r);
	for (int c = 0; c < clusters; c++)
	{
		total += 1.0 / pow(c + 1.0, 0.8);
		m->cumweight[c] = total;
	}
	for (int c = 0; c < clusters; c++)
		m->cumweight[c] /= total;
}

static void
model_draw(const Model *m, Rng *r, float *out)
{
	double		u = rng_uniform(r);
	int			lo = 0,
				hi = m->clusters - 1;
	const float *centre;
	double		norm = 0;

	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (m->cumweight[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	centre = m->centres + (size_t) lo * m->dim;
	for (int j = 0; j < m->dim; j++)
		out[j] = centre[j] + 0.15f * (float) rng_gauss(r);
	for (int k = 0; k < NDIRS; k++)
	{
		const float *d = m->dirs + ((size_t) lo * NDIRS + k) * m->dim;
		float		w = (float) (rng_gauss(r) * 0.9 / (1.0 + k * 0.35));

		for (int j = 0; j < m->dim; j++)
			out[j] += w * d[j];
	}
	for (int j = 0; j < m->dim; j++)
	{
		out[j] *= m->spectrum[j];
		norm += (double) out[j] * out[j];
	}
	norm = sqrt(norm);
	for (int j = 0; j < m->dim; j++)
		out[j] = (float) (out[j] / norm);
}

static FILE *
open_out(const char *dir, const char *name)
{
	char		path[4096];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL)
		die("cannot write", path);
	return f;
}

static void
write_row(FILE *f, const void *row, int dim)
{
	int32_t		d = dim;

	if (fwrite(&d, sizeof(d), 1, f) != 1 || fwrite(row, 4, dim, f) != (size_t) dim)
		die("write failed", NULL);
}

typedef struct Hit
{
	double		dist;
	int32_t		id;
} Hit;

static int
hit_cmp(const void *a, const void *b)
{
	const Hit  *x = a,
			   *y = b;

	if (x->dist != y->dist)
		return x->dist < y->dist ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

/* Max-heap on (dist, id) of the best n so far. */
static void
heap_offer(Hit *h, int *n, int cap, Hit e)
{
	int			i;

	if (*n == cap)
	{
		if (hit_cmp(&e, &h[0]) >= 0)
			return;
		i = 0;
		for (;;)
		{
			int			c = 2 * i + 1;

			if (c >= cap)
				break;
			if (c + 1 < cap && hit_cmp(&h[c + 1], &h[c]) > 0)
				c++;
			if (hit_cmp(&h[c], &e) <= 0)
				break;
			h[i] = h[c];
			i = c;
		}
		h[i] = e;
		return;
	}
	i = (*n)++;
	while (i > 0 && hit_cmp(&h[(i - 1) / 2], &e) < 0)
	{
		h[i] = h[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h[i] = e;
}

int
main(int argc, char **argv)
{
	const char *dir;
	long		n,
				nq;
	int			dim,
				k = 100,
				clusters = 0;
	uint64_t	seed = 20260;
	Model		m;
	Rng			r;
	float	   *base,
			   *query;
	FILE	   *fb,
			   *fq,
			   *fg,
			   *fd;
	Hit		   *heap;
	float	   *gd;
	int32_t    *gi;

	if (argc < 5)
	{
		fprintf(stderr, "usage: %s OUTDIR N DIM NQ [seed=S] [clusters=C] [k=K]\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	n = atol(argv[2]);
	dim = atoi(argv[3]);
	nq = atol(argv[4]);
	for (int i = 5; i < argc; i++)
	{
		if (strncmp(argv[i], "seed=", 5) == 0)
			seed = strtoull(argv[i] + 5, NULL, 10);
		else if (strncmp(argv[i], "clusters=", 9) == 0)
			clusters = atoi(argv[i] + 9);
		else if (strncmp(argv[i], "k=", 2) == 0)
			k = atoi(argv[i] + 2);
		else
			die("unknown option", argv[i]);
	}
	if (clusters <= 0)
		clusters = n / 1000 > 50 ? (int) (n / 1000) : 50;
	if (n < 1 || dim < 1 || dim > 16000 || nq < 1 || k < 1 || k > n)
		die("bad arguments", NULL);

	n2_distance_init();
	r.s = seed;
	model_init(&m, dim, clusters, &r);
	base = malloc(sizeof(float) * (size_t) n * dim);
	query = malloc(sizeof(float) * (size_t) nq * dim);
	heap = malloc(sizeof(Hit) * (k + SLACK));
	gd = malloc(sizeof(float) * k);
	gi = malloc(sizeof(int32_t) * k);
	if (!base || !query || !heap || !gd || !gi)
		die("out of memory", NULL);

	fb = open_out(dir, "base.fvecs");
	for (long i = 0; i < n; i++)
	{
		model_draw(&m, &r, base + (size_t) i * dim);
		write_row(fb, base + (size_t) i * dim, dim);
	}
	fclose(fb);
	fq = open_out(dir, "query.fvecs");
	for (long i = 0; i < nq; i++)
	{
		model_draw(&m, &r, query + (size_t) i * dim);
		write_row(fq, query + (size_t) i * dim, dim);
	}
	fclose(fq);

	fg = open_out(dir, "groundtruth.ivecs");
	fd = open_out(dir, "groundtruth_distances.fvecs");
	for (long qi = 0; qi < nq; qi++)
	{
		const float *q = query + (size_t) qi * dim;
		int			nh = 0;
		int			cap = k + SLACK < n ? k + SLACK : (int) n;

		for (long i = 0; i < n; i++)
		{
			Hit			e = {n2_kernels.l2sq(base + (size_t) i * dim, q, dim), (int32_t) i};

			heap_offer(heap, &nh, cap, e);
		}
		/* the float screen keeps a margin; the order comes from doubles */
		for (int h = 0; h < nh; h++)
		{
			const float *b = base + (size_t) heap[h].id * dim;
			double		s = 0;

			for (int j = 0; j < dim; j++)
				s += ((double) q[j] - b[j]) * ((double) q[j] - b[j]);
			heap[h].dist = sqrt(s);
		}
		qsort(heap, nh, sizeof(Hit), hit_cmp);
		for (int h = 0; h < k; h++)
		{
			gi[h] = heap[h].id;
			gd[h] = (float) heap[h].dist;
		}
		write_row(fg, gi, k);
		write_row(fd, gd, k);
	}
	fclose(fg);
	fclose(fd);
	printf("synth: %ld x %d base, %ld queries, %d clusters, seed %llu, k %d -> %s\n",
		   n, dim, nq, clusters, (unsigned long long) seed, k, dir);
	return 0;
}
