/*
 * Copyright (c) 2025-2026, the n2 developers
 * kernels.c
 *		Micro-benchmark of the distance kernels, per variant, kernel and dim.
 *
 * One query against a small set of base vectors that stays in the L2 cache,
 * as in a graph search where the hot neighbourhood is cached: this measures
 * the kernels, not memory bandwidth.  Prints a markdown table; each cell is
 * GFLOP/s and, in parentheses, millions of distance calls a second.  Counts
 * are 3 flops an element for l2sq (sub, mul, add), 2 for dot, 6 for
 * dot_norms.  Best of several runs, to shed noise from other processes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "distance.h"

#define WORKING_SET_BYTES (256 * 1024)
#define RUNS 5
#define RUN_SECONDS 0.05

typedef enum Kernel
{
	K_L2SQ,
	K_DOT,
	K_DOT_NORMS,
	K_COUNT
} Kernel;

static const char *const kernel_names[K_COUNT] = {"l2sq", "dot", "dot_norms"};
static const int kernel_flops[K_COUNT] = {3, 2, 6};
static const int dims[] = {128, 784, 1536, 3072};

static volatile float sink;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* One pass of the query against every base vector. */
static void
pass(const N2Kernels *k, Kernel kernel, const float *query,
	 const float *base, int nbase, int dim)
{
	float		acc = 0.0f;

	for (int j = 0; j < nbase; j++)
	{
		const float *v = base + (size_t) j * dim;
		float		ab;
		float		aa;
		float		bb;

		switch (kernel)
		{
			case K_L2SQ:
				acc += k->l2sq(query, v, dim);
				break;
			case K_DOT:
				acc += k->dot(query, v, dim);
				break;
			case K_DOT_NORMS:
				k->dot_norms(query, v, dim, &ab, &aa, &bb);
				acc += ab + aa + bb;
				break;
			default:
				break;
		}
	}
	sink += acc;
}

/* Distance calls a second, best of RUNS timed runs. */
static double
calls_per_second(const N2Kernels *k, Kernel kernel, int dim)
{
	int			nbase = WORKING_SET_BYTES / (int) (dim * sizeof(float));
	float	   *query;
	float	   *base;
	double		best = 0.0;

	if (nbase < 8)
		nbase = 8;
	query = malloc(dim * sizeof(float));
	base = malloc((size_t) nbase * dim * sizeof(float));
	if (query == NULL || base == NULL)
	{
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	srand(42);
	for (int i = 0; i < dim; i++)
		query[i] = (float) rand() / RAND_MAX - 0.5f;
	for (size_t i = 0; i < (size_t) nbase * dim; i++)
		base[i] = (float) rand() / RAND_MAX - 0.5f;

	/* Warm the caches and let the clock settle. */
	for (int i = 0; i < 100; i++)
		pass(k, kernel, query, base, nbase, dim);

	for (int run = 0; run < RUNS; run++)
	{
		long		calls = 0;
		double		start = now();
		double		elapsed;

		do
		{
			for (int i = 0; i < 16; i++)
				pass(k, kernel, query, base, nbase, dim);
			calls += 16L * nbase;
			elapsed = now() - start;
		} while (elapsed < RUN_SECONDS);

		if (calls / elapsed > best)
			best = calls / elapsed;
	}

	free(query);
	free(base);
	return best;
}

int
main(void)
{
	const N2Kernels *variants[N2_SIMD_COUNT];

	n2_distance_init();
	for (int s = 0; s < N2_SIMD_COUNT; s++)
		variants[s] = n2_kernels_for((N2Simd) s);

	printf("Distance kernels, GFLOP/s (millions of calls/s); "
		   "%d KiB working set; active variant: %s\n\n",
		   WORKING_SET_BYTES / 1024, n2_simd_name(n2_simd_active()));
	printf("| kernel | dim |");
	for (int s = 0; s < N2_SIMD_COUNT; s++)
		printf(" %s |", n2_simd_name((N2Simd) s));
	printf(" best / scalar |\n|---|---:|");
	for (int s = 0; s < N2_SIMD_COUNT; s++)
		printf("---:|");
	printf("---:|\n");

	for (int kernel = 0; kernel < K_COUNT; kernel++)
	{
		for (size_t d = 0; d < sizeof(dims) / sizeof(dims[0]); d++)
		{
			double		scalar = 0.0;
			double		best = 0.0;

			printf("| %s | %d |", kernel_names[kernel], dims[d]);
			for (int s = 0; s < N2_SIMD_COUNT; s++)
			{
				double		cps;

				if (variants[s] == NULL)
				{
					printf(" n/a |");
					continue;
				}
				cps = calls_per_second(variants[s], (Kernel) kernel, dims[d]);
				if (s == N2_SIMD_SCALAR)
					scalar = cps;
				if (cps > best)
					best = cps;
				printf(" %.1f (%.2f) |",
					   cps * dims[d] * kernel_flops[kernel] * 1e-9, cps * 1e-6);
				fflush(stdout);
			}
			printf(" %.1fx |\n", best / scalar);
		}
	}
	return 0;
}
