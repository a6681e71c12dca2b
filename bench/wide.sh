#!/usr/bin/env bash
# bench/wide.sh -- wide-vector benchmark: build time, index size and
# QPS / recall@10 over an n2.ef_search sweep for synthetic clustered sets of
# 1,536 and 3,072 dimensions; reports the QPS at the lowest ef reaching
# recall@10 >= 0.95.  A benchmark, not a test: it asserts nothing.
#
# Data (generated server-side, setseed): N rows, each one of 100 gaussian
# centres (sd 1) + 6 per-cluster gaussian directions (sd 0.2) with gaussian
# weights + one of 500 noise vectors (sd 0.05); NQ held-out queries drawn the
# same way.  Ground truth: exact sequential scan.  QPS: one backend, a plpgsql
# loop (plans cached, as a prepared statement) timed server-side with
# clock_timestamp(), after a warm-up pass; the buffer cache holds everything.
#
# Environment (all optional):
#   DIMS      dimension counts (default '1536 3072')
#   N         rows (default 20000)
#   NQ        queries (default 100)
#   EF        ef_search sweep (default '10 20 40 80 160')
#   WITH      index options (default 'm = 16, ef_construction = 64, n_threads = 2')
#   PASSES    timed passes over the NQ queries per ef (default 3; median taken)
#   BENCH_SERVER=1  use the server of the libpq environment (PGHOST, PGPORT, ...;
#             n2 must be installed there) instead of a throwaway cluster
#   OUT       markdown output file (default bench/results/wide-<timestamp>.md)
# The throwaway cluster uses the installed PostgreSQL 15 and n2 (make install
# first); as root it runs as the postgres user.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd -P)
DIMS=${DIMS:-1536 3072}
N=${N:-20000}
NQ=${NQ:-100}
EF=${EF:-10 20 40 80 160}
WITH=${WITH:-m = 16, ef_construction = 64, n_threads = 2}
PASSES=${PASSES:-3}
OUT=${OUT:-$here/results/wide-$(date +%Y%m%d-%H%M%S).md}
mkdir -p "$(dirname "$OUT")"

bindir=$(pg_config --bindir)
asuser=()
[ "$(id -u)" -ne 0 ] || asuser=(runuser -u postgres --)

cleanup() { :; }
if [ "${BENCH_SERVER:-}" != 1 ]; then
	tmp=$(mktemp -d /tmp/n2wide.XXXXXX)
	chmod 755 "$tmp"
	[ "$(id -u)" -ne 0 ] || chown postgres "$tmp"
	"${asuser[@]}" "$bindir/initdb" -D "$tmp/data" -A trust >/dev/null
	port=$((56000 + RANDOM % 2000))
	"${asuser[@]}" "$bindir/pg_ctl" -D "$tmp/data" -l "$tmp/log" -w \
		-o "-p $port -k $tmp -c listen_addresses='' -c shared_buffers=2GB -c maintenance_work_mem=2GB -c autovacuum=off -c max_wal_size=8GB -c checkpoint_timeout=1h -c jit=off" start >/dev/null
	cleanup() { "${asuser[@]}" "$bindir/pg_ctl" -D "$tmp/data" -m fast stop >/dev/null || true; rm -rf "$tmp"; }
	export PGHOST=$tmp PGPORT=$port PGDATABASE=postgres PGUSER=postgres
fi
trap cleanup EXIT

psql_() { "${asuser[@]}" env PGHOST="${PGHOST:-}" PGPORT="${PGPORT:-}" PGDATABASE="${PGDATABASE:-}" PGUSER="${PGUSER:-}" \
	psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

psql_ <<'SQL'
CREATE EXTENSION IF NOT EXISTS n2;
CREATE OR REPLACE FUNCTION wb_gvec(n int, s float8) RETURNS vector LANGUAGE sql VOLATILE AS
	$$ SELECT array_agg(s * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))::vector
	   FROM generate_series(1, n) $$;
CREATE OR REPLACE FUNCTION wb_gauss() RETURNS float8 LANGUAGE sql VOLATILE AS
	$$ SELECT sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) $$;
CREATE OR REPLACE FUNCTION wb_draw(d int) RETURNS vector LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	cl int := floor(random() * 100);
	nz int := floor(random() * 500);
	r vector;
	b record;
BEGIN
	SELECT v INTO r FROM wb_centres WHERE c = cl;
	FOR b IN SELECT v FROM wb_basis WHERE c = cl ORDER BY k LOOP
		r := r + b.v * array_fill(wb_gauss()::real, ARRAY[d])::vector;
	END LOOP;
	RETURN r + (SELECT v FROM wb_noise WHERE n = nz);
END $$;
-- one timed pass: every query once, k = 10; returns seconds and hits
-- (returned ids among the exact 10, ties at the 10th distance counted as hits)
CREATE OR REPLACE FUNCTION wb_pass(OUT secs float8, OUT hits bigint) LANGUAGE plpgsql AS $$
DECLARE
	q record;
	ids int[];
	t0 timestamptz;
	res int[][];
	i int := 0;
BEGIN
	hits := 0;
	CREATE TEMP TABLE IF NOT EXISTS wb_res (qid int, ids int[]);
	TRUNCATE wb_res;
	t0 := clock_timestamp();
	FOR q IN SELECT qid, v FROM wb_queries ORDER BY qid LOOP
		ids := ARRAY(SELECT id FROM wb_items ORDER BY v <-> q.v LIMIT 10);
		INSERT INTO wb_res VALUES (q.qid, ids);
	END LOOP;
	secs := extract(epoch FROM clock_timestamp() - t0);
	SELECT sum((SELECT count(*) FROM unnest(r.ids) x
				WHERE x = ANY (g.ids) OR
					  (SELECT i.v <-> qq.v FROM wb_items i, wb_queries qq
					   WHERE i.id = x AND qq.qid = r.qid) <= g.d10 * (1 + 1e-6)))
	INTO hits FROM wb_res r JOIN wb_gt g USING (qid);
END $$;
SQL

{
	echo "# n2 wide-vector benchmark"
	echo
	echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'),"
	echo "N = $N rows (synthetic clustered: 100 centres, 6-d blobs, noise), $NQ held-out queries, k = 10,"
	echo "index WITH ($WITH), PostgreSQL $(psql_ -c 'SHOW server_version'); QPS = one backend, plpgsql loop"
	echo "(cached plans), median of $PASSES passes after a warm-up, everything in shared_buffers."
	echo
} >"$OUT"

summary=""
for d in $DIMS; do
	echo "== $d dims: generating $N rows" >&2
	t=$(date +%s)
	psql_ <<SQL
SET max_parallel_workers_per_gather = 0;
DROP TABLE IF EXISTS wb_centres, wb_basis, wb_noise, wb_items, wb_queries, wb_gt;
SELECT setseed(0.4242);
CREATE TABLE wb_centres AS SELECT c, wb_gvec($d, 1) AS v FROM generate_series(0, 99) c;
CREATE TABLE wb_basis AS
	SELECT c, k, wb_gvec($d, 0.2) AS v FROM generate_series(0, 99) c, generate_series(0, 5) k;
CREATE INDEX ON wb_basis (c, k);
CREATE TABLE wb_noise AS SELECT n, wb_gvec($d, 0.05) AS v FROM generate_series(0, 499) n;
CREATE TABLE wb_items (id int PRIMARY KEY, v vector($d));
ALTER TABLE wb_items ALTER COLUMN v SET STORAGE EXTERNAL;
INSERT INTO wb_items SELECT i, wb_draw($d) FROM generate_series(1, $N) i;
CREATE TABLE wb_queries (qid int PRIMARY KEY, v vector($d));
INSERT INTO wb_queries SELECT q, wb_draw($d) FROM generate_series(1, $NQ) q;
VACUUM ANALYZE wb_items, wb_queries;
SQL
	echo "   generated in $(($(date +%s) - t))s; exact ground truth" >&2
	t=$(date +%s)
	psql_ <<'SQL'
SET enable_indexscan = off; SET enable_bitmapscan = off;
CREATE TABLE wb_gt AS
	SELECT q.qid, ARRAY(SELECT i.id FROM wb_items i ORDER BY i.v <-> q.v LIMIT 10) AS ids,
		   (SELECT i.v <-> q.v FROM wb_items i ORDER BY i.v <-> q.v OFFSET 9 LIMIT 1) AS d10
	FROM wb_queries q;
SQL
	exact_s=$(($(date +%s) - t))
	echo "   ground truth in ${exact_s}s; building" >&2
	build=$(psql_ <<SQL
CHECKPOINT;
SELECT extract(epoch FROM clock_timestamp()) \gset t_
CREATE INDEX wb_idx ON wb_items USING n2 (v vector_l2_ops) WITH ($WITH);
SELECT round((extract(epoch FROM clock_timestamp()) - :t_extract)::numeric, 1);
SQL
)
	size=$(psql_ -c "SELECT round(pg_relation_size('wb_idx') / 1048576.0, 1) || ' ' || (SELECT pages || ' ' || elements FROM n2_index_info('wb_idx'))")
	heap=$(psql_ -c "SELECT round(pg_total_relation_size('wb_items') / 1048576.0, 1)")
	read -r size_mb pages elements <<<"$size"
	echo "   build ${build}s, index ${size_mb} MB ($pages pages, $elements elements)" >&2
	{
		echo "## $d dimensions"
		echo
		echo "build: **${build} s**; index size: **${size_mb} MB** ($pages pages for $elements elements, $(awk "BEGIN{printf \"%.2f\", $pages/$elements}") pages per element); table with TOAST: ${heap} MB"
		echo
		echo "| n2.ef_search | recall@10 | QPS | ms/query |"
		echo "|---:|---:|---:|---:|"
	} >>"$OUT"
	best=""
	for ef in $EF; do
		line=$(psql_ <<SQL
SET enable_seqscan = off; SET n2.ef_search = $ef;
SELECT wb_pass();	-- warm-up
CREATE TEMP TABLE p AS SELECT (wb_pass()).* FROM generate_series(1, $PASSES);
SELECT round((percentile_cont(0.5) WITHIN GROUP (ORDER BY secs))::numeric, 4) || ' ' ||
	   round(max(hits)::numeric / ($NQ * 10), 4) FROM p;
SQL
)
		line=$(tail -n1 <<<"$line")
		read -r secs recall <<<"$line"
		qps=$(awk "BEGIN{printf \"%.0f\", $NQ/$secs}")
		ms=$(awk "BEGIN{printf \"%.2f\", 1000*$secs/$NQ}")
		echo "   ef $ef: recall $recall, $qps QPS" >&2
		echo "| $ef | $recall | $qps | $ms |" >>"$OUT"
		if [ -z "$best" ] && awk "BEGIN{exit !($recall >= 0.95)}"; then best="$qps QPS at ef_search $ef (recall $recall)"; fi
	done
	exact_qps=$(awk "BEGIN{printf \"%.1f\", $NQ/($exact_s > 0 ? $exact_s : 1)}")
	{
		echo
		echo "QPS at recall@10 >= 0.95: **${best:-not reached}**; exact scan (ground truth, 2 statements a query): about $exact_qps queries/s"
		echo
	} >>"$OUT"
	summary+="| $d | $build | $size_mb | ${best:-not reached} |"$'\n'
done

{
	echo "## summary"
	echo
	echo "| dims | build (s) | index (MB) | QPS at recall@10 >= 0.95 |"
	echo "|---:|---:|---:|---|"
	printf '%s' "$summary"
} >>"$OUT"
psql_ -c "DROP TABLE IF EXISTS wb_centres, wb_basis, wb_noise, wb_items, wb_queries, wb_gt" >/dev/null
cat "$OUT"
