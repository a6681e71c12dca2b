/*
 * Copyright (c) 2025-2026, the n2 developers
 * test_distance.c
 *		Distance kernels: every variant this CPU runs against a double
 *		precision reference, dispatch and the N2_SIMD cap, cosine, normalise.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "distance_internal.h"
#include "unit.h"

#define MAX_DIM 2100
#define MAX_OFFSET 3

/* Generous for float sums over a few thousand terms, tight enough to catch
 * a lost or doubled element. */
#define REL_TOL 1e-4
#define ABS_TOL 1e-6

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

/* xorshift64*: fixed seed, so every run checks the same data. */
static float
rand_float(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (float) ((double) ((rng_state * 0x2545F4914F6CDD1Dull) >> 11) /
					9007199254740992.0 * 2.0 - 1.0);
}

static void
fill_random(float *v, int n)
{
	for (int i = 0; i < n; i++)
		v[i] = rand_float();
}

/*
 * Reference values in double, with the sum of absolute terms as the scale
 * for the tolerance: for a dot product with cancellation, an error relative
 * to the result itself could be arbitrarily large.
 */
typedef struct Ref
{
	double		l2sq;
	double		l1;
	double		dot;
	double		aa;
	double		bb;
	double		l2sq_scale;
	double		dot_scale;
} Ref;

static Ref
reference(const float *a, const float *b, int dim)
{
	Ref			r = {0};

	for (int i = 0; i < dim; i++)
	{
		double		d = (double) a[i] - (double) b[i];
		double		p = (double) a[i] * (double) b[i];

		r.l2sq += d * d;
		r.l1 += fabs(d);
		r.dot += p;
		r.dot_scale += fabs(p);
		r.aa += (double) a[i] * (double) a[i];
		r.bb += (double) b[i] * (double) b[i];
	}
	r.l2sq_scale = r.l2sq;
	return r;
}

static bool
close_to(double got, double want, double scale)
{
	return fabs(got - want) <= REL_TOL * scale + ABS_TOL;
}

static int
check_variant_at(const N2Kernels *k, const float *a, const float *b, int dim,
				 const char *where)
{
	Ref			r = reference(a, b, dim);
	float		l2 = k->l2sq(a, b, dim);
	float		dot = k->dot(a, b, dim);
	float		l1 = k->l1(a, b, dim);
	float		ab;
	float		aa;
	float		bb;
	int			failures = 0;

	k->dot_norms(a, b, dim, &ab, &aa, &bb);

#define CHECK_CLOSE(got, want, scale) \
	do { \
		bool		ok_ = close_to((got), (want), (scale)); \
		CHECK(ok_, "%s %s dim %d: %.9g vs %.9g", k->name, where, dim, \
			  (double) (got), (want)); \
		failures += !ok_; \
	} while (0)

	CHECK_CLOSE(l2, r.l2sq, r.l2sq_scale);
	CHECK_CLOSE(l1, r.l1, r.l1);
	CHECK_CLOSE(dot, r.dot, r.dot_scale);
	CHECK_CLOSE(ab, r.dot, r.dot_scale);
	CHECK_CLOSE(aa, r.aa, r.aa);
	CHECK_CLOSE(bb, r.bb, r.bb);

#undef CHECK_CLOSE

	return failures;
}

/*
 * Every dim from 1 to MAX_DIM covers every tail length and every mix of
 * unrolled, single-vector and masked steps; the offsets make the pointers
 * misaligned for both 32- and 64-byte loads, a and b differently.
 */
static void
test_accuracy(const N2Kernels *k)
{
	float	   *abuf = aligned_alloc(64, (MAX_DIM + 16) * sizeof(float));
	float	   *bbuf = aligned_alloc(64, (MAX_DIM + 16) * sizeof(float));
	int			failures = 0;

	fill_random(abuf, MAX_DIM + 16);
	fill_random(bbuf, MAX_DIM + 16);

	for (int dim = 1; dim <= MAX_DIM && failures < 20; dim++)
	{
		for (int off = 0; off <= MAX_OFFSET; off++)
		{
			int			boff = (off + 1) % (MAX_OFFSET + 1);

			failures += check_variant_at(k, abuf + off, bbuf + boff, dim,
										 "unaligned");
		}
	}

	/* dim 0 is empty: every sum is zero. */
	{
		float		ab = 1.0f;
		float		aa = 1.0f;
		float		bb = 1.0f;

		k->dot_norms(abuf, bbuf, 0, &ab, &aa, &bb);
		CHECK(k->l2sq(abuf, bbuf, 0) == 0.0f && k->dot(abuf, bbuf, 0) == 0.0f &&
			  k->l1(abuf, bbuf, 0) == 0.0f &&
			  ab == 0.0f && aa == 0.0f && bb == 0.0f, "%s: dim 0", k->name);
	}

	free(abuf);
	free(bbuf);
}

/* A float array of n elements whose last one ends at an unmapped page. */
static float *
map_against_guard(int n, void **base, size_t *len)
{
	size_t		page = (size_t) sysconf(_SC_PAGESIZE);
	size_t		data = ((n * sizeof(float) + page - 1) / page) * page;
	char	   *p;

	*len = data + page;
	p = mmap(NULL, *len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
	{
		perror("mmap");
		exit(2);
	}
	if (mprotect(p + data, page, PROT_NONE) != 0)
	{
		perror("mprotect");
		exit(2);
	}
	*base = p;
	return (float *) (p + data) - n;
}

/*
 * Vectors that end right at an unmapped page: any read past the last
 * element (a full-width load for the tail) would crash the test.
 */
static void
test_no_overread(const N2Kernels *k)
{
	void	   *abase;
	void	   *bbase;
	size_t		alen;
	size_t		blen;
	float	   *aend = map_against_guard(MAX_DIM, &abase, &alen);
	float	   *bend = map_against_guard(MAX_DIM, &bbase, &blen);
	int			failures = 0;

	fill_random(aend, MAX_DIM);
	fill_random(bend, MAX_DIM);
	for (int dim = 1; dim <= MAX_DIM && failures < 20; dim++)
		failures += check_variant_at(k, aend + MAX_DIM - dim,
									 bend + MAX_DIM - dim, dim, "at page end");

	munmap(abase, alen);
	munmap(bbase, blen);
}

/* The same inputs give bit-identical results: the order is fixed. */
static void
test_deterministic(const N2Kernels *k)
{
	float		a[1000];
	float		b[1000];
	bool		same = true;

	fill_random(a, 1000);
	fill_random(b, 1000);
	for (int dim = 1; dim <= 1000; dim += 37)
	{
		float		l2 = k->l2sq(a, b, dim);
		float		dot = k->dot(a, b, dim);
		float		ab;
		float		aa;
		float		bb;

		for (int rep = 0; rep < 3; rep++)
		{
			k->dot_norms(a, b, dim, &ab, &aa, &bb);
			same &= memcmp(&l2, &(float) {k->l2sq(a, b, dim)}, sizeof(float)) == 0;
			same &= memcmp(&dot, &(float) {k->dot(a, b, dim)}, sizeof(float)) == 0;
		}
	}
	CHECK(same, "%s: repeated calls differ", k->name);
}

static N2Simd
best_available(void)
{
	N2Simd		best = N2_SIMD_SCALAR;

	for (int s = 0; s < N2_SIMD_COUNT; s++)
		if (n2_kernels_for((N2Simd) s) != NULL)
			best = (N2Simd) s;
	return best;
}

static N2Simd
best_at_most(N2Simd cap)
{
	for (int s = cap; s > N2_SIMD_SCALAR; s--)
		if (n2_kernels_for((N2Simd) s) != NULL)
			return (N2Simd) s;
	return N2_SIMD_SCALAR;
}

/* n2_distance_init() in a fresh child process, with N2_SIMD set to cap. */
static int
active_in_child(const char *cap)
{
	pid_t		pid = fork();
	int			status;

	if (pid < 0)
	{
		perror("fork");
		exit(2);
	}
	if (pid == 0)
	{
		if (cap)
			setenv("N2_SIMD", cap, 1);
		else
			unsetenv("N2_SIMD");
		n2_distance_init();
		n2_distance_init();
		_exit((int) n2_simd_active());
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void
test_dispatch(void)
{
	N2Simd		best = best_available();

	CHECK(n2_kernels_for(N2_SIMD_SCALAR) == &n2_kernels_scalar, "scalar always available");
	CHECK(n2_kernels_for(N2_SIMD_COUNT) == NULL, "out of range variant");
	CHECK(strcmp(n2_simd_name(N2_SIMD_AVX2), "avx2") == 0, "name");
	CHECK(strcmp(n2_simd_name(N2_SIMD_COUNT), "unknown") == 0, "unknown name");

#if defined(__x86_64__)
	__builtin_cpu_init();
	CHECK((n2_kernels_for(N2_SIMD_AVX2) != NULL) ==
		  (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")),
		  "avx2 availability matches the CPU");
	CHECK((n2_kernels_for(N2_SIMD_AVX512) != NULL) ==
		  (__builtin_cpu_supports("avx512f") != 0),
		  "avx512 availability matches the CPU");
#endif

	CHECK(n2_simd_choose(NULL) == best, "no cap: best");
	CHECK(n2_simd_choose("bogus") == best, "unknown cap ignored");
	CHECK(n2_simd_choose("scalar") == N2_SIMD_SCALAR, "cap scalar");
	CHECK(n2_simd_choose("avx2") == best_at_most(N2_SIMD_AVX2), "cap avx2");
	CHECK(n2_simd_choose("AVX512") == best_at_most(N2_SIMD_AVX512), "cap AVX512");

	CHECK(active_in_child(NULL) == (int) best, "init without N2_SIMD picks %s",
		  n2_simd_name(best));
	CHECK(active_in_child("scalar") == N2_SIMD_SCALAR, "N2_SIMD=scalar");
	CHECK(active_in_child("avx2") == (int) best_at_most(N2_SIMD_AVX2), "N2_SIMD=avx2");
	CHECK(active_in_child("avx512") == (int) best_at_most(N2_SIMD_AVX512), "N2_SIMD=avx512");

	/* Here, in the parent, the default choice; a second call changes nothing. */
	unsetenv("N2_SIMD");
	n2_distance_init();
	setenv("N2_SIMD", "scalar", 1);
	n2_distance_init();
	unsetenv("N2_SIMD");
	CHECK(n2_simd_active() == best, "picked %s, best is %s",
		  n2_simd_name(n2_simd_active()), n2_simd_name(best));
	CHECK(n2_kernels.l2sq == n2_kernels_for(best)->l2sq &&
		  n2_kernels.dot == n2_kernels_for(best)->dot &&
		  n2_kernels.dot_norms == n2_kernels_for(best)->dot_norms,
		  "n2_kernels is the %s table", n2_simd_name(best));
}

static void
test_cosine(void)
{
	enum
	{
		D = 1536
	};
	static float a[D];
	static float b[D];
	static float z[D];
	float		d;

	fill_random(a, D);
	for (int i = 0; i < D; i++)
		b[i] = a[i];
	CHECK(n2_cosine_distance(a, b, D) == 0.0f, "identical: %g", n2_cosine_distance(a, b, D));

	for (int i = 0; i < D; i++)
		b[i] = 3.0f * a[i];
	d = n2_cosine_distance(a, b, D);
	CHECK(d >= 0.0f && d < 1e-6f, "scaled copy: %g", d);

	for (int i = 0; i < D; i++)
		b[i] = -a[i];
	d = n2_cosine_distance(a, b, D);
	CHECK(d == 2.0f, "opposite: %.9g", d);

	memset(b, 0, sizeof(b));
	memset(z, 0, sizeof(z));
	z[0] = 1.0f;
	b[1] = 5.0f;
	CHECK(n2_cosine_distance(z, b, D) == 1.0f, "axes orthogonal");

	/* b minus its projection on a, in double. */
	{
		double		ab = 0.0;
		double		aa = 0.0;

		fill_random(b, D);
		for (int i = 0; i < D; i++)
		{
			ab += (double) a[i] * b[i];
			aa += (double) a[i] * a[i];
		}
		for (int i = 0; i < D; i++)
			b[i] = (float) (b[i] - ab / aa * a[i]);
		d = n2_cosine_distance(a, b, D);
		CHECK(fabs(d - 1.0) < 1e-5, "random orthogonal: %.9g", d);
	}

	memset(z, 0, sizeof(z));
	CHECK(n2_cosine_distance(a, z, D) == 1.0f, "zero b");
	CHECK(n2_cosine_distance(z, a, D) == 1.0f, "zero a");
	CHECK(n2_cosine_distance(z, z, D) == 1.0f, "both zero");
	CHECK(n2_cosine_distance(z, z, 1) == 1.0f, "both zero, dim 1");

	/* Beyond the range of the float sums, but not of the vectors. */
	for (int i = 0; i < D; i++)
	{
		b[i] = a[i] * 1e30f;
		z[i] = a[i] * 1e-30f;
	}
	d = n2_cosine_distance(a, b, D);
	CHECK(d >= 0.0f && d < 1e-6f, "huge components: %g", d);
	d = n2_cosine_distance(a, z, D);
	CHECK(d >= 0.0f && d < 1e-6f, "tiny components: %g", d);
	d = n2_cosine_distance(b, z, D);
	CHECK(d >= 0.0f && d < 1e-6f, "huge against tiny: %g", d);

	/* Random pairs: in range and close to the double value. */
	for (int dim = 1; dim <= 300; dim++)
	{
		Ref			r;
		double		want;

		fill_random(a, dim);
		fill_random(b, dim);
		r = reference(a, b, dim);
		want = 1.0 - r.dot / sqrt(r.aa * r.bb);
		d = n2_cosine_distance(a, b, dim);
		CHECK(d >= 0.0f && d <= 2.0f && fabs(d - want) < 1e-5,
			  "random dim %d: %.9g vs %.9g", dim, d, want);
	}
}

static void
test_normalize(void)
{
	enum
	{
		D = 1000
	};
	static float v[D];
	static float orig[D];
	double		norm;
	double		want = 0.0;
	double		len = 0.0;
	double		err = 0.0;

	fill_random(orig, D);
	memcpy(v, orig, sizeof(v));
	for (int i = 0; i < D; i++)
		want += (double) orig[i] * orig[i];
	want = sqrt(want);

	norm = n2_normalize(v, D);
	for (int i = 0; i < D; i++)
	{
		len += (double) v[i] * v[i];
		err = fmax(err, fabs(v[i] * norm - orig[i]));
	}
	CHECK(fabs(norm - want) <= 1e-12 * want, "norm %.17g vs %.17g", norm, want);
	CHECK(fabs(len - 1.0) < 1e-6, "unit length: %.17g", len);
	CHECK(err < 1e-6, "direction kept: max error %g", err);

	/* Components whose squares overflow float still normalise. */
	for (int i = 0; i < D; i++)
		v[i] = orig[i] * 1e30f;
	norm = n2_normalize(v, D);
	len = 0.0;
	for (int i = 0; i < D; i++)
		len += (double) v[i] * v[i];
	CHECK(fabs(norm / (want * 1e30) - 1.0) < 1e-6 && fabs(len - 1.0) < 1e-6,
		  "huge vector: norm %g, length %g", norm, len);

	memset(v, 0, sizeof(v));
	norm = n2_normalize(v, D);
	{
		bool		zero = true;

		for (int i = 0; i < D; i++)
			zero &= v[i] == 0.0f && !signbit(v[i]);
		CHECK(norm == 0.0 && zero, "zero vector unchanged, norm %g", norm);
	}

	/* After normalising, the angular metric agrees with cosine distance. */
	{
		static float a[D];
		static float b[D];
		float		cos_d;
		float		metric_d;

		fill_random(a, D);
		fill_random(b, D);
		cos_d = n2_cosine_distance(a, b, D);
		n2_normalize(a, D);
		n2_normalize(b, D);
		metric_d = n2_metric_distance(N2_METRIC_ANGULAR, a, b, D);
		CHECK(fabs(cos_d - metric_d) < 1e-5, "angular %.9g vs cosine %.9g",
			  metric_d, cos_d);
	}
}

int
main(void)
{
	N2Kernels	saved;

	/* Child processes first: they must start with dispatch not yet done. */
	test_dispatch();

	printf("variants tested:");
	saved = n2_kernels;
	for (int s = 0; s < N2_SIMD_COUNT; s++)
	{
		const N2Kernels *k = n2_kernels_for((N2Simd) s);

		if (k == NULL)
		{
			printf(" [%s: not available]", n2_simd_name((N2Simd) s));
			continue;
		}
		printf(" %s", k->name);
		fflush(stdout);
		test_accuracy(k);
		test_no_overread(k);
		test_deterministic(k);

		/* Cosine and normalise through each variant's dot_norms and dot. */
		n2_kernels = *k;
		test_cosine();
		test_normalize();
	}
	n2_kernels = saved;
	printf(" (active: %s)\n", n2_simd_name(n2_simd_active()));

	UNIT_DONE();
}
