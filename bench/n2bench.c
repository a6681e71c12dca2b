/*
 * Copyright (c) 2025-2026, the n2 developers
 * n2bench.c
 *		libpq client of the benchmark suite (bench/run.sh drives it).
 *
 * The server is taken from the usual libpq environment (PGHOST, PGPORT,
 * PGUSER, PGDATABASE).  Every subcommand prints machine-readable CSV lines
 * on stdout, first field the record kind; commentary goes to stderr.
 * N2BENCH_SETUP, when set, is SQL run on every connection first (e.g.
 * "SET n2.iterative_scan = off").  N2BENCH_PIN places the client and its
 * backend for the timed subcommands (search, exact, floor): "same" on one
 * CPU, "split" on two, unset or "off" wherever the scheduler puts them.  On a
 * VM a round trip between two CPUs wakes the other one through the host,
 * which can cost more than the query: left free, the scheduler picks one or
 * the other per connection and the rates split in two.
 *
 *   n2bench load  base.fvecs query.fvecs NQ
 *       (re)creates items(id int4, v vector(d)) by binary COPY, id = 0-based
 *       row number of base.fvecs, and queries(i int4, v vector(d)) with the
 *       first NQ queries (for the LATERAL batch statement); VACUUM ANALYZE.
 *       How items stores v can be set before the COPY: N2BENCH_COMPRESSION
 *       (pglz, lz4: ALTER COLUMN v SET COMPRESSION) and N2BENCH_TOAST_TARGET
 *       (the toast_tuple_target of items, in bytes).
 *       -> load,<rows>,<dim>,<seconds>,<compression of v, '' when none>,
 *          <average stored bytes of v>,<heap bytes of items>
 *   n2bench build 'm=16, max_m0=32, ...'
 *       drops and creates items_v_idx USING n2 WITH (...), timing CREATE
 *       INDEX; measures the backend's peak memory: resets its high-water mark
 *       (/proc/<pid>/clear_refs, needs root) and reads VmHWM afterwards.
 *       -> build,<seconds>,<index bytes>,<VmHWM kB>,<VmRSS before kB>,
 *          <RssAnon after kB>,<levels>,<level-0 degree avg>,<m>,<max_m0>,
 *          <ef_construction>,<neighbor_selecting>,<graph_merging>,
 *          <backend CPU seconds, all build threads>
 *   n2bench search base.fvecs query.fvecs gtdist.fvecs NQ MINTIME EF...
 *       for each ef: recall@10 (tie-aware, from the client's own exact
 *       distances of the returned ids), QPS of a prepared statement over this
 *       single connection (binary parameter and result), in passes over the
 *       NQ queries until MINTIME seconds, median pass rate; then QPS of one LATERAL statement over the NQ rows
 *       of queries, timed from the client (one round trip; median of the
 *       repetitions within MINTIME), and its recall.
 *       The backend's CPU time (/proc/<pid>/schedstat) per query is reported
 *       too: unlike the rates it barely moves when other work shares the CPUs.
 *       -> search,<ef>,<recall>,<qps>,<batch qps>,<batch recall>,
 *          <backend CPU us/query, single>,<backend CPU us/query, batch>
 *   n2bench exact base.fvecs query.fvecs gtdist.fvecs N
 *       the same prepared statement with index scans off (and no parallel
 *       workers): exact sequential scan over N queries.
 *       -> exact,<n>,<ms per query>,<recall>
 *   n2bench graph OUT
 *       writes the graph of items_v_idx (n2_index_graph) to OUT in the form
 *       core_bench reads (graphfile.h), nodes numbered by items.id.
 *       -> graph,<nodes>,<lists>,<links>
 *
 * N2BENCH_AM=hnsw runs load, build and search against pgvector instead (the
 * vector extension, USING hnsw, hnsw.ef_search), in a database without n2:
 * the same data, queries and scoring, so recall curves compare directly.
 * Its build line has the index size and times only (the n2_index_info
 * fields are empty).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <math.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "graphfile.h"
#include "score.h"
#include "vecs.h"

#define K 10


static PGconn *conn;

/* Against pgvector (N2BENCH_AM=hnsw) rather than n2. */
static bool
am_is_pgvector(void)
{
	const char *am = getenv("N2BENCH_AM");

	return am != NULL && strcmp(am, "hnsw") == 0;
}

static const char *
ef_guc(void)
{
	return am_is_pgvector() ? "hnsw.ef_search" : "n2.ef_search";
}

static void
die(const char *fmt, const char *arg)
{
	fprintf(stderr, "n2bench: ");
	fprintf(stderr, fmt, arg ? arg : "");
	fprintf(stderr, "\n");
	exit(1);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void
read_fvecs(const char *path, Vecs *v)
{
	const char *err = vecs_read(path, v);

	if (err)
	{
		fprintf(stderr, "n2bench: %s: %s\n", path, err);
		exit(1);
	}
}

static PGresult *
exec_ok(const char *sql)
{
	PGresult   *r = PQexec(conn, sql);

	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
	{
		fprintf(stderr, "n2bench: %s\n  in: %s\n", PQerrorMessage(conn), sql);
		exit(1);
	}
	return r;
}

static void
exec_cmd(const char *sql)
{
	PQclear(exec_ok(sql));
}

/*
 * Pins this client and the backend with pid as N2BENCH_PIN says (needs the
 * right to set another user's affinity: root).
 */
static void
pin_backend(int pid)
{
	const char *how = getenv("N2BENCH_PIN");
	cpu_set_t	allowed,
				one;
	int			cpus[2],
				n = 0;

	if (how == NULL || *how == '\0' || strcmp(how, "off") == 0)
		return;
	if (strcmp(how, "same") != 0 && strcmp(how, "split") != 0)
		die("N2BENCH_PIN must be same, split or off, not %s", how);
	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0)
		die("sched_getaffinity failed%s", NULL);
	for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &allowed))
			cpus[n++] = c;
	if (strcmp(how, "split") == 0 && n < 2)
		die("N2BENCH_PIN=split needs two CPUs%s", NULL);
	CPU_ZERO(&one);
	CPU_SET(cpus[0], &one);
	if (sched_setaffinity(0, sizeof(one), &one) != 0)
		die("cannot pin the client%s", NULL);
	if (strcmp(how, "split") == 0)
	{
		CPU_ZERO(&one);
		CPU_SET(cpus[1], &one);
	}
	if (sched_setaffinity(pid, sizeof(one), &one) != 0)
		die("cannot pin the backend (run as root, or N2BENCH_PIN=off)%s", NULL);
}

static void
connect_db(void)
{
	conn = PQconnectdb("");
	if (PQstatus(conn) != CONNECTION_OK)
		die("connection failed: %s", PQerrorMessage(conn));
	exec_cmd("SET client_min_messages = warning");
	if (getenv("N2BENCH_SETUP") && *getenv("N2BENCH_SETUP"))
		exec_cmd(getenv("N2BENCH_SETUP"));
}

/* vector binary format: int16 dim, int16 unused, dim float4, big endian. */
static int
vector_binary(const float *x, int dim, char *buf)
{
	uint16_t	h[2] = {htons((uint16_t) dim), 0};

	memcpy(buf, h, 4);
	for (int i = 0; i < dim; i++)
	{
		uint32_t	u;

		memcpy(&u, &x[i], 4);
		u = htonl(u);
		memcpy(buf + 4 + 4 * i, &u, 4);
	}
	return 4 + 4 * dim;
}

static void
put_u16(char **p, uint16_t v)
{
	v = htons(v);
	memcpy(*p, &v, 2);
	*p += 2;
}

static void
put_u32(char **p, uint32_t v)
{
	v = htonl(v);
	memcpy(*p, &v, 4);
	*p += 4;
}

/* COPY table FROM STDIN (FORMAT binary): rows (int4 id, vector). */
static void
copy_vectors(const char *table, const Vecs *v, int n)
{
	char		sql[128];
	size_t		rowlen = 2 + 4 + 4 + 4 + 4 + 4 * (size_t) v->dim;
	char	   *buf = malloc(rowlen * 256 + 32);
	char	   *p;
	PGresult   *r;

	snprintf(sql, sizeof(sql), "COPY %s FROM STDIN (FORMAT binary)", table);
	r = PQexec(conn, sql);
	if (PQresultStatus(r) != PGRES_COPY_IN)
		die("COPY failed: %s", PQerrorMessage(conn));
	PQclear(r);

	p = buf;
	memcpy(p, "PGCOPY\n\377\r\n\0", 11);
	p += 11;
	put_u32(&p, 0);
	put_u32(&p, 0);
	for (int i = 0; i < n; i++)
	{
		put_u16(&p, 2);
		put_u32(&p, 4);
		put_u32(&p, (uint32_t) i);
		put_u32(&p, 4 + 4 * v->dim);
		p += vector_binary(v->data + (size_t) i * v->dim, v->dim, p);
		if (i % 256 == 255 || i == n - 1)
		{
			if (i == n - 1)
				put_u16(&p, 0xFFFF);
			if (PQputCopyData(conn, buf, (int) (p - buf)) != 1)
				die("COPY data: %s", PQerrorMessage(conn));
			p = buf;
		}
	}
	if (PQputCopyEnd(conn, NULL) != 1)
		die("COPY end: %s", PQerrorMessage(conn));
	r = PQgetResult(conn);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		die("COPY failed: %s", PQerrorMessage(conn));
	PQclear(r);
	free(buf);
}

static int
cmd_load(int argc, char **argv)
{
	Vecs		base,
				query;
	int			nq;
	char		sql[256];
	double		t0;
	PGresult   *r;

	if (argc != 3)
		die("usage: n2bench load base.fvecs query.fvecs NQ%s", NULL);
	read_fvecs(argv[0], &base);
	read_fvecs(argv[1], &query);
	nq = atoi(argv[2]);
	if (nq <= 0 || nq > query.n)
		nq = query.n;
	connect_db();
	exec_cmd(am_is_pgvector() ? "CREATE EXTENSION IF NOT EXISTS vector" :
			 "CREATE EXTENSION IF NOT EXISTS n2");
	exec_cmd("DROP TABLE IF EXISTS items, queries");
	snprintf(sql, sizeof(sql), "CREATE TABLE items (id int4, v vector(%d))", base.dim);
	exec_cmd(sql);
	if (getenv("N2BENCH_COMPRESSION") && *getenv("N2BENCH_COMPRESSION"))
	{
		snprintf(sql, sizeof(sql), "ALTER TABLE items ALTER COLUMN v SET COMPRESSION %s",
				 getenv("N2BENCH_COMPRESSION"));
		exec_cmd(sql);
	}
	if (getenv("N2BENCH_TOAST_TARGET") && *getenv("N2BENCH_TOAST_TARGET"))
	{
		snprintf(sql, sizeof(sql), "ALTER TABLE items SET (toast_tuple_target = %d)",
				 atoi(getenv("N2BENCH_TOAST_TARGET")));
		exec_cmd(sql);
	}
	snprintf(sql, sizeof(sql), "CREATE TABLE queries (i int4, v vector(%d))", base.dim);
	exec_cmd(sql);
	t0 = now();
	copy_vectors("items", &base, base.n);
	copy_vectors("queries", &query, nq);
	exec_cmd("VACUUM ANALYZE items");
	exec_cmd("VACUUM ANALYZE queries");
	t0 = now() - t0;

	/* What the executor detoasts for each row it returns. */
	r = exec_ok("SELECT coalesce(max(pg_column_compression(v)), ''), "
				"round(avg(pg_column_size(v))), pg_relation_size('items') FROM items");
	printf("load,%d,%d,%.3f,%s,%s,%s\n", base.n, base.dim, t0,
		   PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2));
	PQclear(r);
	return 0;
}

/* Reads "Key:   value kB" from /proc/<pid>/status. */
static long
proc_status_kb(int pid, const char *key)
{
	char		path[64],
				line[256];
	FILE	   *f;
	long		v = -1;
	size_t		klen = strlen(key);

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, klen) == 0 && line[klen] == ':')
		{
			v = atol(line + klen + 1);
			break;
		}
	fclose(f);
	return v;
}

/* CPU seconds (user + system) of the whole process, all threads, or -1. */
static double
proc_cpu_s(int pid)
{
	char		path[64],
				line[1024];
	FILE	   *f;
	char	   *p;
	unsigned long long ut,
				st;
	double		v = -1;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if (fgets(line, sizeof(line), f) && (p = strrchr(line, ')')) != NULL &&
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			   &ut, &st) == 2)
		v = (double) (ut + st) / sysconf(_SC_CLK_TCK);
	fclose(f);
	return v;
}

static int
cmd_build(int argc, char **argv)
{
	PGresult   *r;
	char		sql[1024],
				path[64];
	int			pid;
	long		rss0,
				hwm,
				anon;
	double		t0,
				secs,
				cpu0;
	FILE	   *f;

	if (argc != 1)
		die("usage: n2bench build 'options'%s", NULL);
	connect_db();
	exec_cmd("DROP INDEX IF EXISTS items_v_idx");
	exec_cmd("CHECKPOINT");
	r = exec_ok("SELECT pg_backend_pid()");
	pid = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);

	/* Peak RSS from here on: reset the backend's high-water mark. */
	snprintf(path, sizeof(path), "/proc/%d/clear_refs", pid);
	if ((f = fopen(path, "w")) != NULL)
	{
		fputs("5", f);
		fclose(f);
	}
	else
		fprintf(stderr, "n2bench: cannot reset VmHWM of backend %d (not root?)\n", pid);
	rss0 = proc_status_kb(pid, "VmRSS");

	snprintf(sql, sizeof(sql),
			 "CREATE INDEX items_v_idx ON items USING %s (v vector_l2_ops) WITH (%s)",
			 am_is_pgvector() ? "hnsw" : "n2", argv[0]);
	cpu0 = proc_cpu_s(pid);
	t0 = now();
	exec_cmd(sql);
	secs = now() - t0;
	cpu0 = cpu0 < 0 ? -1 : proc_cpu_s(pid) - cpu0;
	hwm = proc_status_kb(pid, "VmHWM");
	anon = proc_status_kb(pid, "RssAnon");

	if (am_is_pgvector())
		r = exec_ok("SELECT pg_relation_size('items_v_idx'), '', '', '', '', '', '', ''");
	else
		r = exec_ok("SELECT pg_relation_size('items_v_idx'), levels, "
					"round(level0_degree_avg::numeric, 2), m, max_m0, ef_construction, "
					"neighbor_selecting, graph_merging FROM n2_index_info('items_v_idx')");
	printf("build,%.3f,%s,%ld,%ld,%ld", secs, PQgetvalue(r, 0, 0), hwm, rss0, anon);
	for (int i = 1; i < 8; i++)
		printf(",%s", PQgetvalue(r, 0, i));
	printf(",%.2f\n", cpu0);
	PQclear(r);
	return 0;
}

#define MAXPASS 100000

/* Nanoseconds the process has run on a CPU (/proc/<pid>/schedstat), or -1. */
static double
proc_cpu_ns(int pid)
{
	char		path[64];
	FILE	   *f;
	double		ns = -1;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", pid);
	if ((f = fopen(path, "r")) != NULL)
	{
		if (fscanf(f, "%lf", &ns) != 1)
			ns = -1;
		fclose(f);
	}
	return ns;
}

typedef struct SearchCtx
{
	int			backend_pid;
	Vecs		base,
				query,
				gtdist;
	int			nq;
	Oid			vector_oid;
	char	   *param;			/* binary parameter buffers, nq of them */
	int			paramlen;
} SearchCtx;

static void
search_setup(SearchCtx *c, char **argv, int nq)
{
	PGresult   *r;

	read_fvecs(argv[0], &c->base);
	read_fvecs(argv[1], &c->query);
	read_fvecs(argv[2], &c->gtdist);
	if (c->query.dim != c->base.dim || c->gtdist.n < c->query.n || c->gtdist.dim < K)
		die("inconsistent input shapes%s", NULL);
	c->nq = (nq <= 0 || nq > c->query.n) ? c->query.n : nq;
	connect_db();
	r = exec_ok("SELECT 'vector'::regtype::oid, pg_backend_pid()");
	c->vector_oid = (Oid) strtoul(PQgetvalue(r, 0, 0), NULL, 10);
	c->backend_pid = atoi(PQgetvalue(r, 0, 1));
	pin_backend(c->backend_pid);
	PQclear(r);
	c->paramlen = 4 + 4 * c->base.dim;
	c->param = malloc((size_t) c->paramlen * c->nq);
	for (int i = 0; i < c->nq; i++)
		vector_binary(c->query.data + (size_t) i * c->query.dim, c->query.dim,
					  c->param + (size_t) i * c->paramlen);
	r = PQprepare(conn, "knn", "SELECT id FROM items ORDER BY v <-> $1 LIMIT 10",
				  1, &c->vector_oid);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		die("prepare: %s", PQerrorMessage(conn));
	PQclear(r);
}

/* Tie-aware hit: the row is no farther than the k-th true neighbour. */
static int
is_hit(const SearchCtx *c, int qi, int id)
{
	return score_hit(&c->base, &c->gtdist, K,
					 c->query.data + (size_t) qi * c->query.dim, qi, id);
}

static int
result_id(PGresult *r, int row, int col)
{
	uint32_t	u;

	memcpy(&u, PQgetvalue(r, row, col), 4);
	return (int) ntohl(u);
}

/* One query through the prepared statement; returns hits, or -1 untallied. */
static int
run_one(const SearchCtx *c, int qi, int tally)
{
	const char *values[1] = {c->param + (size_t) qi * c->paramlen};
	int			lengths[1] = {c->paramlen};
	int			formats[1] = {1};
	PGresult   *r = PQexecPrepared(conn, "knn", 1, values, lengths, formats, 1);
	int			hits = 0;

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		die("query: %s", PQerrorMessage(conn));
	if (tally)
		for (int i = 0; i < PQntuples(r); i++)
			hits += is_hit(c, qi, result_id(r, i, 0));
	PQclear(r);
	return hits;
}

static int
cmd_search(int argc, char **argv)
{
	SearchCtx	c;
	double		mintime;
	double	   *rates = malloc(sizeof(double) * MAXPASS);
	char		sql[512];
	PGresult   *r;

	if (argc < 6)
		die("usage: n2bench search base query gtdist NQ MINTIME EF...%s", NULL);
	search_setup(&c, argv, atoi(argv[3]));
	mintime = atof(argv[4]);

	/* Warm up: one pass at the largest ef reads the graph into the buffers. */
	snprintf(sql, sizeof(sql), "SET %s = %d", ef_guc(), atoi(argv[argc - 1]));
	exec_cmd(sql);
	for (int qi = 0; qi < c.nq; qi++)
		run_one(&c, qi, 0);

	for (int e = 5; e < argc; e++)
	{
		int			ef = atoi(argv[e]);
		long		hits = 0,
					bhits = 0,
					brows = 0;
		double		t0,
					el,
					qps,
					bqps,
					cpu0,
					cpu_us,
					bcpu_us;
		long		done = 0;
		int			reps = 0;

		snprintf(sql, sizeof(sql), "SET %s = %d", ef_guc(), ef);
		exec_cmd(sql);

		/*
		 * Passes over all queries until mintime; the rate reported is the
		 * median pass, which shrugs off other work on a busy machine.
		 */
		cpu0 = proc_cpu_ns(c.backend_pid);
		t0 = now();
		do
		{
			double		p0 = now();

			for (int qi = 0; qi < c.nq; qi++)
			{
				int			h = run_one(&c, qi, reps == 0);

				if (reps == 0)
					hits += h;
			}
			rates[reps++] = c.nq / (now() - p0);
			done += c.nq;
			el = now() - t0;
		} while (el < mintime && reps < MAXPASS);
		qps = score_median(rates, reps);
		cpu_us = (proc_cpu_ns(c.backend_pid) - cpu0) / 1000.0 / done;

		/* One LATERAL statement over all queries, server side. */
		reps = 0;
		cpu0 = proc_cpu_ns(c.backend_pid);
		t0 = now();
		do
		{
			double		p0 = now();

			r = exec_ok("SELECT q.i, x.id FROM queries q CROSS JOIN LATERAL "
						"(SELECT id FROM items ORDER BY items.v <-> q.v LIMIT 10) x");
			rates[reps] = c.nq / (now() - p0);
			if (reps == 0)
			{
				brows = PQntuples(r);
				for (int i = 0; i < brows; i++)
					bhits += is_hit(&c, atoi(PQgetvalue(r, i, 0)),
									atoi(PQgetvalue(r, i, 1)));
			}
			PQclear(r);
			reps++;
			el = now() - t0;
		} while (el < mintime && reps < MAXPASS);
		bqps = score_median(rates, reps);
		bcpu_us = (proc_cpu_ns(c.backend_pid) - cpu0) / 1000.0 / ((double) c.nq * reps);
		if (cpu0 < 0)
			cpu_us = bcpu_us = -1;

		printf("search,%d,%.4f,%.1f,%.1f,%.4f,%.1f,%.1f\n", ef,
			   (double) hits / ((double) c.nq * K), qps, bqps,
			   (double) bhits / ((double) c.nq * K), cpu_us, bcpu_us);
		fflush(stdout);
	}
	return 0;
}

static int
cmd_exact(int argc, char **argv)
{
	SearchCtx	c;
	long		hits = 0;
	double		t0,
				el;

	if (argc != 4)
		die("usage: n2bench exact base query gtdist N%s", NULL);
	search_setup(&c, argv, atoi(argv[3]));
	exec_cmd("SET enable_indexscan = off");
	exec_cmd("SET enable_bitmapscan = off");
	exec_cmd("SET max_parallel_workers_per_gather = 0");
	run_one(&c, 0, 0);			/* warm the heap into the buffers */
	t0 = now();
	for (int qi = 0; qi < c.nq; qi++)
		hits += run_one(&c, qi, 1);
	el = now() - t0;
	printf("exact,%d,%.3f,%.4f\n", c.nq, el * 1000 / c.nq,
		   (double) hits / ((double) c.nq * K));
	return 0;
}

/*
 * PostgreSQL's own floor for the k-NN query's shape: a prepared statement
 * returning 10 rows through a btree (index scan, 10 heap fetches, the same
 * protocol round trip), with no vector work at all.  No SQL k-NN query can
 * beat it, so core/SQL can at best reach core QPS / floor QPS.
 */
static int
cmd_floor(int argc, char **argv)
{
	double		mintime;
	double	   *rates = malloc(sizeof(double) * MAXPASS);
	int			nq,
				nrows,
				pid,
				reps = 0;
	long		done = 0;
	double		t0,
				cpu0;
	PGresult   *r;
	Oid			int4_oid = 23;

	if (argc != 2)
		die("usage: n2bench floor NQ MINTIME%s", NULL);
	/* NQ 0 (a data set with no default query count) times 100 */
	nq = atoi(argv[0]) > 0 ? atoi(argv[0]) : 100;
	mintime = atof(argv[1]);
	connect_db();
	exec_cmd("CREATE INDEX IF NOT EXISTS items_id_btree ON items (id)");
	exec_cmd("ANALYZE items");
	r = exec_ok("SELECT count(*), pg_backend_pid() FROM items");
	nrows = atoi(PQgetvalue(r, 0, 0));
	pid = atoi(PQgetvalue(r, 0, 1));
	pin_backend(pid);
	PQclear(r);
	r = PQprepare(conn, "floor", "SELECT id FROM items WHERE id >= $1 ORDER BY id LIMIT 10",
				  1, &int4_oid);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		die("prepare: %s", PQerrorMessage(conn));
	PQclear(r);

	cpu0 = proc_cpu_ns(pid);
	t0 = now();
	do
	{
		double		p0 = now();

		for (int qi = 0; qi < nq; qi++)
		{
			char		start[16];
			const char *values[1] = {start};

			snprintf(start, sizeof(start), "%d",
					 (int) (((unsigned) qi * 2654435761u) % (unsigned) (nrows > 10 ? nrows - 10 : 1)));
			r = PQexecPrepared(conn, "floor", 1, values, NULL, NULL, 1);
			if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 10)
				die("floor query: %s", PQerrorMessage(conn));
			PQclear(r);
		}
		rates[reps++] = nq / (now() - p0);
		done += nq;
	} while (now() - t0 < mintime && reps < MAXPASS);
	printf("floor,%.1f,%.1f\n", score_median(rates, reps),
		   cpu0 < 0 ? -1 : (proc_cpu_ns(pid) - cpu0) / 1000.0 / done);
	exec_cmd("DROP INDEX items_id_btree");
	return 0;
}

/* A heap or index TID as one sortable key. */
typedef struct TidId
{
	uint64_t	tid;
	int32_t		id;
} TidId;

static int
cmp_tidid(const void *a, const void *b)
{
	uint64_t	x = ((const TidId *) a)->tid;
	uint64_t	y = ((const TidId *) b)->tid;

	return x < y ? -1 : x > y;
}

/* "(block,offset)" as a key; the end of what was read goes to *end. */
static uint64_t
parse_tid(const char *s, const char **end)
{
	unsigned	blk,
				off;
	int			used;

	if (sscanf(s, "(%u,%u)%n", &blk, &off, &used) != 2)
		die("bad tid '%s'", s);
	if (end)
		*end = s + used;
	return ((uint64_t) blk << 16) | off;
}

/* The id a TID maps to, or -1. */
static int32_t
tid_lookup(const TidId *map, long n, uint64_t tid)
{
	TidId		key = {tid, 0};
	const TidId *hit = bsearch(&key, map, n, sizeof(TidId), cmp_tidid);

	return hit ? hit->id : -1;
}

static void
put_i32(FILE *f, int32_t v)
{
	if (fwrite(&v, sizeof(v), 1, f) != 1)
		die("write failed%s", NULL);
}

/*
 * The index's graph with every element named by the items.id of its first
 * heap row, so that core_bench finds its vector in base.fvecs.
 */
static int
cmd_graph(int argc, char **argv)
{
	PGresult   *r,
			   *g;
	TidId	   *rows,
			   *elems;
	long		nrows,
				ngraph,
				nelems = 0,
				nlinks = 0;
	int32_t		nodes,
				entry = -1,
				entry_level = -1;
	int			m,
				max_m0;
	uint8_t    *levels;
	int32_t    *ids;
	FILE	   *f;

	if (argc != 1)
		die("usage: n2bench graph OUT%s", NULL);
	connect_db();
	r = exec_ok("SELECT ctid, id FROM items");
	nrows = PQntuples(r);
	rows = malloc(sizeof(TidId) * (nrows + 1));
	nodes = 0;
	for (long i = 0; i < nrows; i++)
	{
		rows[i].tid = parse_tid(PQgetvalue(r, i, 0), NULL);
		rows[i].id = atoi(PQgetvalue(r, i, 1));
		if (rows[i].id < 0)
			die("negative items.id%s", NULL);
		if (rows[i].id >= nodes)
			nodes = rows[i].id + 1;
	}
	PQclear(r);
	qsort(rows, nrows, sizeof(TidId), cmp_tidid);

	r = exec_ok("SELECT m, max_m0 FROM n2_index_info('items_v_idx')");
	m = atoi(PQgetvalue(r, 0, 0));
	max_m0 = atoi(PQgetvalue(r, 0, 1));
	PQclear(r);

	g = exec_ok("SELECT element, level, is_entry, heap_tids[1], neighbors "
				"FROM n2_index_graph('items_v_idx')");
	ngraph = PQntuples(g);
	elems = malloc(sizeof(TidId) * (ngraph + 1));
	levels = calloc(nodes > 0 ? nodes : 1, 1);
	for (long i = 0; i < ngraph; i++)
	{
		int			level = atoi(PQgetvalue(g, i, 1));
		int32_t		id = tid_lookup(rows, nrows, parse_tid(PQgetvalue(g, i, 3), NULL));

		if (id < 0)
			die("element %s names no row of items", PQgetvalue(g, i, 0));
		if (level > levels[id])
			levels[id] = (uint8_t) level;
		if (PQgetvalue(g, i, 2)[0] == 't' && level > entry_level)
		{
			entry = id;
			entry_level = level;
		}
		if (level == 0)
		{
			elems[nelems].tid = parse_tid(PQgetvalue(g, i, 0), NULL);
			elems[nelems++].id = id;
		}
	}
	qsort(elems, nelems, sizeof(TidId), cmp_tidid);
	if (entry < 0)
		die("the index has no entry point%s", NULL);

	if ((f = fopen(argv[0], "wb")) == NULL)
		die("cannot write %s", argv[0]);
	put_i32(f, GRAPHFILE_MAGIC);
	put_i32(f, GRAPHFILE_VERSION);
	put_i32(f, nodes);
	put_i32(f, m);
	put_i32(f, max_m0);
	put_i32(f, entry);
	put_i32(f, entry_level);
	if (fwrite(levels, 1, nodes, f) != (size_t) nodes)
		die("write failed%s", NULL);
	ids = malloc(sizeof(int32_t) * (max_m0 > m ? max_m0 : m));
	for (long i = 0; i < ngraph; i++)
	{
		const char *s = PQgetvalue(g, i, 4);
		int			n = 0;

		while ((s = strchr(s, '(')) != NULL)
		{
			int32_t		id = tid_lookup(elems, nelems, parse_tid(s, &s));

			if (id < 0)
				die("a link names no live element: %s", PQgetvalue(g, i, 0));
			if (n == (max_m0 > m ? max_m0 : m))
				die("a list longer than max_m0: %s", PQgetvalue(g, i, 0));
			ids[n++] = id;
		}
		put_i32(f, tid_lookup(rows, nrows, parse_tid(PQgetvalue(g, i, 3), NULL)));
		put_i32(f, atoi(PQgetvalue(g, i, 1)));
		put_i32(f, n);
		if (n > 0 && fwrite(ids, sizeof(int32_t), n, f) != (size_t) n)
			die("write failed%s", NULL);
		nlinks += n;
	}
	if (fclose(f) != 0)
		die("write failed%s", NULL);
	PQclear(g);
	printf("graph,%d,%ld,%ld\n", nodes, ngraph, nlinks);
	return 0;
}

int
main(int argc, char **argv)
{
	int			rc;

	if (argc < 2)
	{
		fprintf(stderr, "usage: n2bench load|build|search|floor|exact|graph ...\n");
		return 2;
	}
	if (strcmp(argv[1], "load") == 0)
		rc = cmd_load(argc - 2, argv + 2);
	else if (strcmp(argv[1], "build") == 0)
		rc = cmd_build(argc - 2, argv + 2);
	else if (strcmp(argv[1], "search") == 0)
		rc = cmd_search(argc - 2, argv + 2);
	else if (strcmp(argv[1], "floor") == 0)
		rc = cmd_floor(argc - 2, argv + 2);
	else if (strcmp(argv[1], "exact") == 0)
		rc = cmd_exact(argc - 2, argv + 2);
	else if (strcmp(argv[1], "graph") == 0)
		rc = cmd_graph(argc - 2, argv + 2);
	else
		die("unknown subcommand %s", argv[1]);
	if (conn)
		PQfinish(conn);
	return rc;
}
