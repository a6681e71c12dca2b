#!/usr/bin/env bash
# scripts/test.sh -- run the whole n2 test suite on a Debian 12 machine.
#
#   scripts/test.sh            (as root, e.g. in a fresh Debian 12 container)
#
# As root it: installs the Debian packages it needs (apt-get), copies the source tree
# into a private work dir owned by postgres (your checkout is never written to), builds,
# `make install`s, runs `make unittest`, starts a throwaway PostgreSQL 15 cluster
# (private data dir, socket dir and port), and runs against it, as postgres:
#   regress    make installcheck  (pg_regress, sql/*.sql)
#   isolation  make installcheck  (pg_isolation_regress, specs/*.spec)
#   tap        make installcheck  (prove, t/*.pl; these create their own clusters;
#              set-up builds and installs pgvector first, scripts/pgvector.sh)
#   tapwal     the TAP files that write WAL paths of their own, with
#              wal_consistency_checking = all in every cluster (the others run in tap)
#   citus      make installcheck  (prove, test/citus/*.pl: a coordinator + 2 workers;
#              set-up builds and installs Citus first, scripts/citus.sh)
#   go         scripts/test-go.sh (if present), with PGHOST/PGPORT/PGUSER/PGDATABASE set
# The cluster is always stopped and the work dir removed. Failing diffs and logs are
# printed; the last line is "N passed, N failed" (suites); exit status is non-zero on
# any failure.
#
# Environment knobs:
#   N2_SKIP_APT=1          do not run apt-get (developer reruns); tools are still checked
#   N2_EXTRA_CONF='k=v;..' extra server settings (';' or newline separated) for the
#                          installcheck cluster and, via TEMP_CONFIG, every TAP cluster,
#                          e.g. N2_EXTRA_CONF='wal_consistency_checking=all'
#   N2_SUITES='unit tap'   run only these suites (default: unit regress isolation tap tapwal
#                          citus go; the TAP files are split between tap and tapwal:
#                          tapwal runs those that write WAL paths of their own, with
#                          wal_consistency_checking = all, and tap the others)
#   N2_PROVE_TESTS='t/010_x.pl'  run only these TAP files (in each of tap and tapwal)
#   N2_PROVE_JOBS=2        run TAP files in parallel (prove -j; default serial)
#   N2_DATA_DIR=/abs/path  the shared/data folder (default: <repo>/../shared/data)
#   N2_KEEP_WORK=1         keep the work dir (build tree, logs, diffs) for inspection
#   N2_PORT=54990          first port to try for the throwaway cluster
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
# shellcheck source=scripts/lib.sh
. "$REPO/scripts/lib.sh"

case "${1:-}" in
-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
"") ;;
*) die "unknown argument: $1 (see --help)" ;;
esac

SUITES=${N2_SUITES:-unit regress isolation tap tapwal citus go}
WORK=
PASSED=0 FAILED=0
RESULTS=()
SUMMARY_DONE=0
T_START=$SECONDS

want() { [[ " $SUITES " == *" $1 "* ]]; }
count_files() { # count_files 'glob' (no error if the folder does not exist)
	local n=0 f
	for f in $1; do [ -e "$f" ] && n=$((n + 1)); done
	echo "$n"
}
fmt_secs() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

summary() {
	SUMMARY_DONE=1
	printf '\n==> summary (total %s)\n' "$(fmt_secs $((SECONDS - T_START)))"
	local r
	for r in "${RESULTS[@]}"; do printf '    %s\n' "$r"; done
	printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
}

on_exit() {
	local rc=$?
	set +e
	n2_cluster_stop
	if [ "$SUMMARY_DONE" = 0 ]; then
		# died during set-up (dependencies, build, cluster): count it as a failure
		RESULTS+=("setup      FAILED (see FATAL above)")
		FAILED=$((FAILED + 1))
		summary
		[ "$rc" -ne 0 ] || rc=1
	fi
	if [ -n "$WORK" ] && [ -d "$WORK" ]; then
		if [ "${N2_KEEP_WORK:-0}" = 1 ]; then
			echo "work dir kept: $WORK"
		else
			rm -rf "$WORK"
		fi
	fi
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

record() { # record NAME STATUS SECONDS [NOTE]
	local name=$1 status=$2 secs=$3 note=${4:-}
	RESULTS+=("$(printf '%-10s %-7s %7s  %s' "$name" "$status" "$(fmt_secs "$secs")" "$note")")
	case $status in
	passed) PASSED=$((PASSED + 1)) ;;
	FAILED) FAILED=$((FAILED + 1)) ;;
	esac
}

show_file() { # show_file PATH [MAXLINES]
	local f=$1 max=${2:-400} n
	[ -f "$f" ] || return 0
	n=$(wc -l <"$f")
	printf -- '----- %s (%d lines%s) -----\n' "${f#"$WORK"/}" "$n" "$([ "$n" -gt "$max" ] && echo ", first $max")"
	head -n "$max" "$f"
	printf -- '----- end of %s -----\n' "${f#"$WORK"/}"
}

show_tail() { # show_tail PATH [LINES]
	local f=$1 lines=${2:-60}
	[ -f "$f" ] || return 0
	printf -- '----- tail -n %d %s -----\n' "$lines" "${f#"$WORK"/}"
	tail -n "$lines" "$f"
	printf -- '----- end -----\n'
}

# ---------------------------------------------------------------- set-up
n2_need_root
T=$SECONDS
n2_install_deps
HAVE_GO=0
if want go && [ -f "$REPO/scripts/test-go.sh" ]; then HAVE_GO=1; fi
n2_check_tools tests "$([ "$HAVE_GO" = 1 ] && echo go)"
T_DEPS=$((SECONDS - T))
info "dependencies ok ($(fmt_secs "$T_DEPS"))"

# Shared data (datasets for unit and TAP tests).
if [ -n "${N2_DATA_DIR:-}" ]; then
	[ -d "$N2_DATA_DIR" ] || die "N2_DATA_DIR=$N2_DATA_DIR is not a directory"
	DATA_SRC=$(cd "$N2_DATA_DIR" && pwd -P)
elif [ -d "$REPO/../shared/data" ]; then
	DATA_SRC=$(cd "$REPO/../shared/data" && pwd -P)
else
	die "no shared/data: expected $REPO/../shared/data (or set N2_DATA_DIR)"
fi
n2_as_pg test -r "$DATA_SRC/README.md" || die "$DATA_SRC is not readable by the postgres user"

WORK=$(mktemp -d /tmp/n2-test.XXXXXX)
chmod 755 "$WORK"
SRC=$WORK/n2
log "copy source tree to $SRC"
n2_copy_tree "$REPO" "$SRC"
rm -f "$WORK/shared"
mkdir -p "$WORK/shared"
ln -s "$DATA_SRC" "$WORK/shared/data" # ../shared/data beside the tree, as beside a checkout
chown -R postgres: "$SRC"
export N2_DATA_DIR="$WORK/shared/data"

EXTRA_CONF=$WORK/extra.conf
n2_conf_fragment "${N2_EXTRA_CONF:-}" >"$EXTRA_CONF"
chmod 644 "$EXTRA_CONF"

T=$SECONDS
n2_build_install "$SRC"
T_BUILD=$((SECONDS - T))
info "build + install ok ($(fmt_secs "$T_BUILD"))"

# Citus for the citus suite: built from ../shared/anchors once per installation.
T_CITUS=0
if want citus; then
	T=$SECONDS
	N2_PG_BINDIR=$N2_PG_BINDIR bash "$REPO/scripts/citus.sh" install "$N2_PG_CONFIG" </dev/null \
		|| die "building Citus failed (scripts/citus.sh install)"
	T_CITUS=$((SECONDS - T))
	info "Citus ok ($(fmt_secs "$T_CITUS"))"
fi

# pgvector for the TAP files that run n2 beside it (t/150_pgvector.pl): built from
# ../shared/anchors once per installation.
T_PGVECTOR=0
if want tap || want tapwal; then
	T=$SECONDS
	N2_PG_BINDIR=$N2_PG_BINDIR bash "$REPO/scripts/pgvector.sh" install "$N2_PG_CONFIG" </dev/null \
		|| die "building pgvector failed (scripts/pgvector.sh install)"
	T_PGVECTOR=$((SECONDS - T))
	info "pgvector ok ($(fmt_secs "$T_PGVECTOR"))"
fi

# ---------------------------------------------------------------- unit
if want unit; then
	log "suite unit: make unittest"
	T=$SECONDS
	if n2_as_pg N2_DATA_DIR="$N2_DATA_DIR" make -C "$SRC" unittest </dev/null; then
		n=$(count_files "$SRC/test/unit/test_*.c")
		if [ "$n" -eq 0 ]; then
			record unit empty $((SECONDS - T)) "no test/unit/test_*.c"
		else
			record unit passed $((SECONDS - T)) "$n programs"
		fi
	else
		record unit FAILED $((SECONDS - T))
	fi
fi

# ---------------------------------------------------------------- cluster
NEED_CLUSTER=0
for s in regress isolation go; do want $s && NEED_CLUSTER=1; done
if [ "$NEED_CLUSTER" = 1 ]; then
	PORT=$(n2_free_port "${N2_PORT:-54990}")
	n2_cluster_start "$WORK/cluster" "$PORT" "$EXTRA_CONF"
fi
PGENV=(PGHOST="${N2_PGSOCK:-}" PGPORT="${PORT:-}" PGUSER=postgres)
MAKEARGS=(PG_CONFIG="$N2_PG_CONFIG")

# ---------------------------------------------------------------- regress
if want regress; then
	n=$(count_files "$SRC/sql/*.sql")
	if [ "$n" -eq 0 ]; then
		log "suite regress: no sql/*.sql"
		record regress empty 0 "no sql/*.sql"
	else
		log "suite regress: make installcheck (pg_regress, $n tests)"
		T=$SECONDS
		if n2_as_pg "${PGENV[@]}" make -C "$SRC" installcheck "${MAKEARGS[@]}" ISOLATION= TAP_TESTS= </dev/null; then
			record regress passed $((SECONDS - T)) "$n tests"
		else
			record regress FAILED $((SECONDS - T)) "$n tests"
			show_file "$SRC/regression.diffs" 500
			show_tail "$N2_PGLOG" 40
		fi
	fi
fi

# ---------------------------------------------------------------- isolation
if want isolation; then
	n=$(count_files "$SRC/specs/*.spec")
	if [ "$n" -eq 0 ]; then
		log "suite isolation: no specs/*.spec"
		record isolation empty 0 "no specs/*.spec"
	else
		log "suite isolation: make installcheck (pg_isolation_regress, $n specs)"
		T=$SECONDS
		if n2_as_pg "${PGENV[@]}" make -C "$SRC" installcheck "${MAKEARGS[@]}" REGRESS= TAP_TESTS= </dev/null; then
			record isolation passed $((SECONDS - T)) "$n specs"
		else
			record isolation FAILED $((SECONDS - T)) "$n specs"
			show_file "$SRC/output_iso/regression.diffs" 500
			show_tail "$N2_PGLOG" 40
		fi
	fi
fi

# ---------------------------------------------------------------- tap
# tap_suite NAME CONF [GLOB]: the TAP files (GLOB, default t/*.pl, or N2_PROVE_TESTS),
# each cluster getting CONF's settings
tap_suite() {
	local name=$1 conf=$2 glob=${3:-}
	n=$(count_files "$SRC/${glob:-t/*.pl}")
	if [ "$n" -eq 0 ]; then
		log "suite $name: no ${glob:-t/*.pl}"
		record "$name" empty 0 "no ${glob:-t/*.pl}"
		return
	fi
	T=$SECONDS
	TAPARGS=()
	if [ -n "$glob" ]; then
		TAPARGS+=(PROVE_TESTS="$glob")
	elif [ -n "${N2_PROVE_TESTS:-}" ]; then
		TAPARGS+=(PROVE_TESTS="$N2_PROVE_TESTS")
		n=$(wc -w <<<"$N2_PROVE_TESTS")
	fi
	log "suite $name: make installcheck (prove, $n files)"
	TAPENV=(N2_DATA_DIR="$N2_DATA_DIR")
	[ ! -s "$conf" ] || TAPENV+=(TEMP_CONFIG="$conf")
	[ -z "${PG_TEST_TIMEOUT_DEFAULT:-}" ] || TAPENV+=(PG_TEST_TIMEOUT_DEFAULT="$PG_TEST_TIMEOUT_DEFAULT")
	[ -z "${N2_PROVE_JOBS:-}" ] || TAPENV+=(HARNESS_OPTIONS="j$N2_PROVE_JOBS")
	if n2_as_pg "${TAPENV[@]}" make -C "$SRC" installcheck "${MAKEARGS[@]}" REGRESS= ISOLATION= "${TAPARGS[@]}" \
		</dev/null 2>&1 | tee "$WORK/$name.out"; then
		record "$name" passed $((SECONDS - T)) "$n files"
	else
		record "$name" FAILED $((SECONDS - T)) "$n files"
		# failing files from prove's "Test Summary Report" (or "Dubious"/"Failed" lines)
		mapfile -t bad < <(grep -Eo '^(t|test/citus)/[^ ]+\.pl' "$WORK/$name.out" | sort -u |
			while read -r f; do
				if grep -Eq "^$f +\(Wstat|^$f \.+ *(Dubious|Failed|not ok)" "$WORK/$name.out"; then echo "$f"; fi
			done)
		logdir=$SRC/tmp_check/log
		if [ ${#bad[@]} -eq 0 ]; then
			# shellcheck disable=SC2086 # the glob is meant to expand
			mapfile -t bad < <(cd "$SRC" && ls ${glob:-t/*.pl})
		fi
		for f in "${bad[@]}"; do
			b=$(basename "$f" .pl)
			echo "!!! TAP failure: $f"
			show_tail "$logdir/regress_log_$b" 80
			for l in "$logdir/${b}_"*.log; do show_tail "$l" 40; done
		done
	fi
}

# Each TAP file runs once.  Those that write through WAL paths of their own
# (crash recovery, standbys, VACUUM, concurrent inserts, storage) run in
# tapwal, with every WAL record checked against the page it rebuilds on
# replay; a file there runs every assertion it would run in tap.  The
# toolkit's own test (t/000), recall on the data sets (t/010, t/080, t/170,
# t/171), build memory and cancels (t/110, t/120), the format check and
# extension updates (t/130, t/140) and the agreement with pgvector (t/151)
# write through the same paths as the others and test nothing of WAL
# themselves: they run in tap, unchecked.
NOWAL_RE='^t/(000|010|080|110|120|130|140|151|170|171)_'
tap_files() { # tap_files wal|nowal: the t/*.pl files of tapwal or of tap
	local f
	for f in "$SRC"/t/*.pl; do
		f=t/${f##*/}
		if [[ $f =~ $NOWAL_RE ]]; then
			[ "$1" = nowal ] && printf '%s ' "$f"
		else
			[ "$1" = wal ] && printf '%s ' "$f"
		fi
	done
	return 0
}

if want tap; then
	N2_PROVE_TESTS=${N2_PROVE_TESTS:-$(tap_files nowal)} tap_suite tap "$EXTRA_CONF"
fi

if want tapwal; then
	WALCONF=$WORK/walcheck.conf
	{ cat "$EXTRA_CONF"; echo "wal_consistency_checking = 'all'"; } >"$WALCONF"
	chmod 644 "$WALCONF"
	N2_PROVE_TESTS=${N2_PROVE_TESTS:-$(tap_files wal)} tap_suite tapwal "$WALCONF"
fi

# ---------------------------------------------------------------- citus
# n2 on a Citus coordinator + 2 workers (TAP, test/citus/*.pl).
if want citus; then
	tap_suite citus "$EXTRA_CONF" 'test/citus/*.pl'
fi

# ---------------------------------------------------------------- go
if want go; then
	if [ "$HAVE_GO" = 1 ]; then
		log "suite go: scripts/test-go.sh"
		T=$SECONDS
		n2_as_pg psql -X -q -h "$N2_PGSOCK" -p "$PORT" -U postgres -d postgres \
			-c 'CREATE DATABASE n2_go_test' >/dev/null || die "cannot create database n2_go_test"
		if (cd "$SRC" && env "${PGENV[@]}" PGDATABASE=n2_go_test N2_DATA_DIR="$N2_DATA_DIR" \
			PATH="$N2_PG_BINDIR:$PATH" bash scripts/test-go.sh </dev/null); then
			record go passed $((SECONDS - T))
		else
			record go FAILED $((SECONDS - T))
			show_tail "$N2_PGLOG" 40
		fi
	elif [ -d "$REPO/go" ]; then
		warn "go/ exists but scripts/test-go.sh does not: Go tests not run"
		record go missing 0 "go/ present, scripts/test-go.sh absent"
	fi
fi

info "timings: deps $(fmt_secs "$T_DEPS"), build+install $(fmt_secs "$T_BUILD"), Citus $(fmt_secs "$T_CITUS"), pgvector $(fmt_secs "$T_PGVECTOR")"
summary
[ "$FAILED" -eq 0 ]
