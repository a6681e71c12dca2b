#!/usr/bin/env bash
# scripts/demo.sh -- set up n2 and show it working, in one command.
#
#   scripts/demo.sh [--keep]   (as root, e.g. in a fresh Debian 12 container)
#
# Installs the Debian packages needed (apt-get), builds and installs n2 (from a private
# copy of the tree: your checkout is never written to), starts a throwaway PostgreSQL 15
# cluster as the postgres user (data dir, socket dir and port private to this run, under
# /tmp), then:
#   CREATE EXTENSION n2; CREATE TABLE items (id int, embedding vector(d));
#   loads sample vectors: ../shared/data/bigann10k-128-euclidean/base.fvecs when present
#   (10,000 x 128), else N2_DEMO_ROWS (10,000) random 128-d vectors;
#   CREATE INDEX ON items USING n2 (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64);
#   EXPLAIN and run  SELECT id, embedding <-> q AS distance FROM items ORDER BY embedding <-> q LIMIT 5
#   (with the index, then exactly with a sequential scan, for comparison).
# Then it stops and removes the cluster; with --keep it leaves it running and prints how
# to connect and how to stop it.
#
# Environment: N2_SKIP_APT=1 (do not run apt-get), N2_DEMO_ROWS, N2_DATA_DIR,
# N2_PORT (first port to try, default 54980).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
# shellcheck source=scripts/lib.sh
. "$REPO/scripts/lib.sh"

KEEP=0
for a in "$@"; do
	case $a in
	--keep) KEEP=1 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument: $a (see --help)" ;;
	esac
done

WORK=
DONE=0
on_exit() {
	local rc=$?
	set +e
	if [ "$KEEP" = 1 ] && [ "$DONE" = 1 ]; then
		exit 0
	fi
	n2_cluster_stop
	[ -z "$WORK" ] || rm -rf "$WORK"
	if [ "$rc" -ne 0 ]; then
		printf '\ndemo FAILED (exit %d); the cluster was stopped and removed.\n' "$rc" >&2
	fi
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

n2_need_root
n2_install_deps postgresql-$N2_PGVER postgresql-server-dev-$N2_PGVER postgresql-client-$N2_PGVER \
	build-essential perl
n2_check_tools

WORK=$(mktemp -d /tmp/n2-demo.XXXXXX)
chmod 755 "$WORK"
n2_copy_tree "$REPO" "$WORK/n2"
chown -R postgres: "$WORK/n2"
n2_build_install "$WORK/n2"

PORT=$(n2_free_port "${N2_PORT:-54980}")
n2_cluster_start "$WORK/cluster" "$PORT"

PSQL=(psql -X -v ON_ERROR_STOP=1 -h "$N2_PGSOCK" -p "$PORT" -U postgres -d postgres)
sql() { n2_as_pg "${PSQL[@]}" "$@"; }
# Echo each statement, then run it.
run_sql() { n2_as_pg "${PSQL[@]}" -e "$@"; }
# Abbreviate long vector literals in echoed statements and plans: '[0,0,0,1,...]'.
shorten_vectors() {
	perl -pe 's/\[((?:[^],\[]+,){4})[^]\[]*\]/[$1...]/g; s/^-{60,}$/"-" x 60/e; s/^ {20,}(QUERY PLAN) +$/ $1/'
}

# ---------------------------------------------------------------- data
DATA=${N2_DATA_DIR:-$REPO/../shared/data}
BASE=$DATA/bigann10k-128-euclidean/base.fvecs
QUERY=$DATA/bigann10k-128-euclidean/query.fvecs

log "CREATE EXTENSION n2; CREATE TABLE items"
if [ -r "$BASE" ]; then
	DIM=$(perl -e 'open(F, "<:raw", $ARGV[0]) or die "$ARGV[0]: $!"; read(F, $b, 4) == 4 or die; print unpack("l<", $b)' "$BASE")
else
	DIM=128
fi
run_sql -c "CREATE EXTENSION n2" \
	-c "CREATE TABLE items (id int PRIMARY KEY, embedding vector($DIM))"

# Print the text form ([x,y,...]) of the vectors of an .fvecs file, one per line:
# fvecs_to_text FILE [LIMIT] [WITH_IDS]
fvecs_to_text() {
	perl -e '
		my ($path, $limit, $ids) = @ARGV;
		open(my $f, "<:raw", $path) or die "$path: $!";
		my ($n, $hdr, $buf) = (0);
		while ((!$limit || $n < $limit) && read($f, $hdr, 4) == 4) {
			my $d = unpack("l<", $hdr);
			read($f, $buf, 4 * $d) == 4 * $d or die "$path: truncated";
			print $ids ? "$n\t" : "", "[", join(",", unpack("f<$d", $buf)), "]\n";
			$n++;
		}' "$@"
}

if [ -r "$BASE" ]; then
	log "load $BASE (fvecs -> text -> COPY)"
	fvecs_to_text "$BASE" 0 1 | sql -c "COPY items (id, embedding) FROM STDIN"
	Q=$(fvecs_to_text "$QUERY" 1)
	QNOTE="query 0 of bigann10k (it is base row 0, so expect id 0 at distance 0 first)"
else
	ROWS=${N2_DEMO_ROWS:-10000}
	log "no $BASE: generating $ROWS random $DIM-d vectors"
	run_sql -c "INSERT INTO items
		SELECT i, array_agg(random()::real ORDER BY d)::vector($DIM)
		FROM generate_series(1, $ROWS) i, generate_series(1, $DIM) d GROUP BY i"
	Q=$(sql -Atc "SELECT array_agg(random()::real)::vector($DIM)::text FROM generate_series(1, $DIM)")
	QNOTE="a random vector"
fi
run_sql -c "ANALYZE items" -c "SELECT count(*) AS rows, pg_size_pretty(pg_table_size('items')) AS size FROM items"

# ---------------------------------------------------------------- index + queries
log "CREATE INDEX ... USING n2"
run_sql -c '\timing on' \
	-c "CREATE INDEX items_embedding_idx ON items USING n2 (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64)" \
	-c "SELECT pg_size_pretty(pg_relation_size('items_embedding_idx')) AS index_size"

log "similarity search; q = $QNOTE"
info "q = $Q" | shorten_vectors
QUERY_SQL="SELECT id, embedding <-> :'q' AS distance FROM items ORDER BY embedding <-> :'q' LIMIT 5"
run_sql -v q="$Q" <<EOF 2>&1 | shorten_vectors
SET n2.ef_search = 40;
EXPLAIN (COSTS OFF) $QUERY_SQL;
\\timing on
$QUERY_SQL;
\\timing off
-- the same query answered exactly (sequential scan + sort), for comparison
SET enable_indexscan = off;
EXPLAIN (COSTS OFF) $QUERY_SQL;
\\timing on
$QUERY_SQL;
EOF

DONE=1
if [ "$KEEP" = 1 ]; then
	log "cluster left running (--keep)"
	cat <<EOF
    connect:  psql -h 127.0.0.1 -p $PORT -U postgres postgres
              (or, as root: runuser -u postgres -- psql -h $N2_PGSOCK -p $PORT postgres)
    stop and remove:
              runuser -u postgres -- $N2_PG_BINDIR/pg_ctl -D $N2_PGDATA -m fast stop && rm -rf $WORK
EOF
else
	log "done; stopping and removing the cluster"
fi
