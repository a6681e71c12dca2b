#!/usr/bin/env bash
# scripts/stress040.sh -- t/040's pgbench storm, repeated, against a running
# cluster, checking after each round that the index holds every live row.
#
#   PGHOST=/tmp/sock PGPORT=55101 PGUSER=postgres ITERS=20 scripts/stress040.sh
#
# The cluster needs n2 installed and, in database postgres, a superuser (the
# checks read heap pages with pageinspect, and DUPS uses a pause point);
# autovacuum off keeps the rounds alike.  The table "pool" (id, embedding),
# the bigann10k vectors, is loaded from $N2_DATA_DIR (default ../shared/data)
# if missing.  Each round rebuilds "items" (pool rows 0 .. 2999) with an n2
# index, runs pgbench (INSERT / UPDATE / DELETE / k-NN SELECT / a rolled-back
# insert+delete, as t/040) for SECS seconds while a psql VACUUMs in a loop,
# then prints one line:
#   verify     n2_verify's problems
#   miss40, miss1000   rows a k-NN query at their own vector (k = rows with
#              that vector) does not return, at ef_search 40 / 1000
#   lost       live rows whose ctid no live element's chain holds (heap-only
#              tuples, reached through their HOT chain's root, excepted)
#   dup        heap TIDs held twice
#   info       after two VACUUM (INDEX_CLEANUP on): n2_index_info's heap_tids
#              / elements / deleted, and the TIDs the live elements' chains
#              hold (chains=), which must both equal rows
#   dupelem    vectors held by more than one live element / those elements
#   extra      TIDs left in the index that name no live row
# and on anything wrong writes what the index holds for the rows involved to
# $OUT/fail.<round>.<pid> (STOP_ON_FAIL=1: stop there, the state kept).
#
# Knobs: ITERS, SECS, CLIENTS (4), M and M0 (8, 16), POOL (inserted and
# updated vectors: pool rows POOLBASE .. POOLBASE + POOL - 1; 10000 and 0 as
# t/040; a few hundred make most inserts join an existing element), VACSLEEP
# (0.2 s between VACUUMs), DUPS (give the first DUPS vectors of that range two
# elements each before the storm: an insert held at the pause point
# insert-placed while another inserts the same vector, which cannot find it;
# since inserts of one vector take turns, the second waits and joins, and
# DUPS makes none),
# B (the PostgreSQL bin directory).
set -uo pipefail
ITERS=${ITERS:-20} SECS=${SECS:-20} POOL=${POOL:-10000} M=${M:-8} M0=${M0:-16}
VACSLEEP=${VACSLEEP:-0.2} PB=${POOLBASE:-0} CLIENTS=${CLIENTS:-4} DUPS=${DUPS:-0}
OUT=${OUT:-/tmp/n2-stress040}
B=${B:-$(pg_config --bindir)}
DATA=${N2_DATA_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/../shared/data}
mkdir -p "$OUT"
P() { "$B/psql" -X -q -At -v ON_ERROR_STOP=1 "$@" postgres; }

P -c "CREATE EXTENSION IF NOT EXISTS n2; CREATE EXTENSION IF NOT EXISTS pageinspect" || exit 1
if [ "$(P -c "SELECT to_regclass('pool') IS NULL")" = t ]; then
	perl -e 'open(my $fh, "<:raw", $ARGV[0]) or die "$ARGV[0]: $!"; my $i = 0;
		while (read($fh, my $h, 4)) { my $d = unpack("l<", $h); read($fh, my $b, 4 * $d);
			print "$i\t[" . join(",", unpack("f<*", $b)) . "]\n"; $i++ }' \
		"$DATA/bigann10k-128-euclidean/base.fvecs" >"$OUT/pool.tsv" || exit 1
	P -c "CREATE TABLE pool (id int PRIMARY KEY, embedding vector(128))" \
		-c "\\copy pool FROM '$OUT/pool.tsv'" || exit 1
fi

S=$OUT/scripts
mkdir -p "$S"
cat >"$S/ins.sql" <<SQL
\set r random($PB, $((PB + POOL - 1)))
INSERT INTO items (embedding) SELECT embedding FROM pool WHERE id = :r;
SQL
cat >"$S/upd.sql" <<SQL
\set r random(0, 2999)
\set s random($PB, $((PB + POOL - 1)))
UPDATE items SET embedding = p.embedding FROM pool p
WHERE items.id = :r AND p.id = :s AND items.embedding <> p.embedding;
SQL
cat >"$S/del.sql" <<'SQL'
\set r random(0, 2999)
\set s random(100000, 100000 + 2000)
DELETE FROM items WHERE id = :r OR id = :s;
SQL
cat >"$S/sel.sql" <<'SQL'
\set r random(0, 9999)
SELECT id FROM items ORDER BY embedding <-> (SELECT embedding FROM pool WHERE id = :r) LIMIT 10;
SQL
cat >"$S/txn.sql" <<SQL
\set r random($PB, $((PB + POOL - 1)))
BEGIN;
INSERT INTO items (embedding) SELECT embedding FROM pool WHERE id = :r;
DELETE FROM items WHERE id = (SELECT max(id) FROM items WHERE id >= 100000);
SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> (SELECT embedding FROM pool WHERE id = :r) LIMIT 20) s;
ROLLBACK;
SQL

# rows of items a k-NN query at their own vector misses, at ef_search $1
self_knn() {
	P -c "SET enable_seqscan = off; SET n2.ef_search = $1;
	WITH d AS (SELECT id, embedding, count(*) OVER (PARTITION BY embedding) AS n FROM items)
	SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM d
	WHERE d.id NOT IN (SELECT j.id FROM items j ORDER BY j.embedding <-> d.embedding LIMIT d.n)"
}

# g: the heap TIDs the live elements hold; hp: every heap line pointer
snapshot() {
	P -c "SET client_min_messages = warning; DROP TABLE IF EXISTS g, hp;
		CREATE TABLE g AS SELECT element, unnest(heap_tids) AS t FROM n2_index_graph('items_idx') WHERE level = 0;
		CREATE TABLE hp AS SELECT ('(' || p || ',' || lp || ')')::tid AS t, h.*
		FROM generate_series(0, pg_relation_size('items') / 8192 - 1) p,
			heap_page_items(get_raw_page('items', p::int)) h"
}

for it in $(seq 1 "$ITERS"); do
	P <<SQL || exit 1
SET client_min_messages = warning;
DROP TABLE IF EXISTS items; DROP SEQUENCE IF EXISTS item_ids;
CREATE TABLE items (id int PRIMARY KEY, embedding vector(128));
INSERT INTO items SELECT id, embedding FROM pool WHERE id < 3000;
CREATE SEQUENCE item_ids START 100000;
ALTER TABLE items ALTER id SET DEFAULT nextval('item_ids');
CREATE INDEX items_idx ON items USING n2 (embedding vector_l2_ops) WITH (m = $M, max_m0 = $M0, ef_construction = 64);
SQL
	for ((d = 0; d < DUPS; d += 10)); do
		P -c "SELECT pg_advisory_lock(28210), pg_sleep(1.5), pg_advisory_unlock(28210)" >/dev/null &
		pids=($!)
		sleep 0.3
		for k in $(seq "$d" $((d + 9))); do
			P -c "SET n2.pause_at = 'insert-placed'; INSERT INTO items (embedding) SELECT embedding FROM pool WHERE id = $((PB + k))" &
			pids+=($!)
		done
		sleep 0.5
		for k in $(seq "$d" $((d + 9))); do
			P -c "INSERT INTO items (embedding) SELECT embedding FROM pool WHERE id = $((PB + k))" &
			pids+=($!)
		done
		wait "${pids[@]}"
	done

	n=$(awk "BEGIN { print int($SECS / ($VACSLEEP + 0.05)) + 5 }")
	{
		echo "SET client_min_messages = warning;"
		for _ in $(seq 1 "$n"); do echo "VACUUM items; SELECT pg_sleep($VACSLEEP);"; done
	} | P >/dev/null 2>"$OUT/vac.err" &
	vac=$!
	"$B/pgbench" -n -c "$CLIENTS" -j 2 -T "$SECS" -f "$S/ins.sql@4" -f "$S/upd.sql@2" \
		-f "$S/del.sql@3" -f "$S/sel.sql@4" -f "$S/txn.sql@1" postgres >"$OUT/pgbench.out" 2>&1
	kill "$vac" 2>/dev/null
	wait "$vac" 2>/dev/null

	rows=$(P -c "SELECT count(*) FROM items")
	ver=$(P -c "SELECT count(*) FROM n2_verify('items_idx')")
	miss=$(self_knn 1000)
	m40=$(self_knn 40)
	miss40=$(echo "$m40" | tr ',' '\n' | grep -c .)
	snapshot
	lost=$(P -c "SELECT count(*) || ':' || coalesce(string_agg(id || '@' || ctid, ',' ORDER BY id), '')
		FROM items WHERE ctid NOT IN (SELECT t FROM g)
		AND ctid NOT IN (SELECT t FROM hp WHERE t_infomask2 & 32768 <> 0)")
	dup=$(P -c "SELECT count(*) FROM (SELECT t FROM g GROUP BY t HAVING count(*) > 1) x")
	dupel=$(P -c "SELECT count(*) || '/' || coalesce(sum(n), 0) FROM
		(SELECT i.embedding, count(DISTINCT g.element) n FROM g JOIN items i ON i.ctid = g.t
		 GROUP BY i.embedding HAVING count(DISTINCT g.element) > 1) x")
	if [ -n "$miss" ] || [ "${lost%%:*}" != 0 ] || [ "$ver" != 0 ] || [ "$dup" != 0 ]; then
		f=$OUT/fail.$it.$$
		{
			echo "miss1000=$miss lost=$lost"
			P -c "SELECT * FROM n2_verify('items_idx')"
			for id in ${miss//,/ }; do
				echo "== row $id: ctid, the elements holding it, every element holding a row with its vector"
				P -c "SELECT id, ctid, xmin, xmax FROM items WHERE id = $id"
				P -c "SELECT element FROM g WHERE t = (SELECT ctid FROM items WHERE id = $id)"
				P -c "SELECT g.element, count(*) FROM g JOIN items i ON i.ctid = g.t
					WHERE i.embedding = (SELECT embedding FROM items WHERE id = $id) GROUP BY 1"
				P -c "SELECT count(*) FROM items WHERE embedding = (SELECT embedding FROM items WHERE id = $id)"
				echo "-- the k-NN query's rows: distance, element"
				P -c "SET enable_seqscan = off; SET n2.ef_search = 1000;
					SELECT j.id, j.ctid, j.embedding <-> (SELECT embedding FROM items WHERE id = $id),
						(SELECT element FROM g WHERE g.t = j.ctid LIMIT 1)
					FROM items j ORDER BY j.embedding <-> (SELECT embedding FROM items WHERE id = $id)
					LIMIT (SELECT count(*) + 3 FROM items WHERE embedding = (SELECT embedding FROM items WHERE id = $id))"
			done
			echo "-- lost rows"
			P -c "SELECT id, ctid FROM items WHERE ctid NOT IN (SELECT t FROM g)
				AND ctid NOT IN (SELECT t FROM hp WHERE t_infomask2 & 32768 <> 0)" | head -20
			echo "-- TIDs held twice"
			P -c "SELECT t, array_agg(element) FROM g GROUP BY t HAVING count(*) > 1" | head -20
		} >"$f" 2>&1
	fi

	P -c "VACUUM (INDEX_CLEANUP on) items" -c "VACUUM (INDEX_CLEANUP on) items"
	info=$(P -c "SELECT heap_tids || '/' || elements || '/' || deleted FROM n2_index_info('items_idx')")
	snapshot
	chains=$(P -c "SELECT count(*) FROM g")
	# not a live row's ctid, nor a HOT chain's root (a redirect)
	extra=$(P -c "SELECT count(*) FROM g WHERE t NOT IN (SELECT ctid FROM items)
		AND t NOT IN (SELECT t FROM hp WHERE lp_flags = 2)")
	tx=$(grep -o 'transactions actually processed: [0-9]*' "$OUT/pgbench.out" | grep -o '[0-9]*$')
	echo "$(date +%T) round $it: rows=$rows tx=$tx verify=$ver miss40=$miss40 miss1000=[$miss]" \
		"lost=[$lost] dup=$dup info=$info chains=$chains dupelem=$dupel extra=$extra"
	if [ "$extra" != 0 ]; then
		P -c "SELECT g.element, g.t, hp.lp_flags, hp.t_xmin, hp.t_xmax FROM g LEFT JOIN hp USING (t)
			WHERE g.t NOT IN (SELECT ctid FROM items) AND g.t NOT IN (SELECT t FROM hp WHERE lp_flags = 2)
			LIMIT 40" >"$OUT/extra.$it.$$"
		echo "   extra TIDs -> $OUT/extra.$it.$$"
	fi
	if [ -e "${f:-}" ] || [ "$chains" != "$rows" ] || [ "${info%%/*}" != "$rows" ]; then
		echo "   FAILED${f:+ -> $f}"
		[ -n "${STOP_ON_FAIL:-}" ] && exit 2
	fi
	f=
done
