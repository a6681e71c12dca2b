# shellcheck shell=bash
# scripts/lib.sh -- shell functions shared by scripts/test.sh and scripts/demo.sh.
# Source it; it does not change shell options itself (the callers use set -euo pipefail).

N2_PGVER=15
# N2_PG_BINDIR may name another (relocated) PostgreSQL 15 installation.
N2_PG_BINDIR=${N2_PG_BINDIR:-/usr/lib/postgresql/$N2_PGVER/bin}
N2_PG_CONFIG=$N2_PG_BINDIR/pg_config

# Debian packages needed to build n2 and run every test suite (perl: prove, Test::More;
# tar, runuser (util-linux) and coreutils are essential packages, always present;
# liblz4-dev libzstd-dev libkrb5-dev: building Citus for the citus suite).
N2_APT_PACKAGES=(
	postgresql-$N2_PGVER postgresql-server-dev-$N2_PGVER postgresql-client-$N2_PGVER
	libipc-run-perl perl build-essential
	golang-go golang-github-jackc-pgx-v4-dev
	liblz4-dev libzstd-dev libkrb5-dev
)

n2_ts() { date +%H:%M:%S; }
log() { printf '\n==> [%s] %s\n' "$(n2_ts)" "$*"; }
info() { printf '    %s\n' "$*"; }
warn() { printf '!!! %s\n' "$*" >&2; }
die() { printf '\nFATAL: %s\n' "$*" >&2; exit 1; }

n2_need_root() {
	[ "$(id -u)" -eq 0 ] ||
		die "run as root$(command -v sudo >/dev/null 2>&1 && echo " (sudo $0)"): it installs packages and runs PostgreSQL as the postgres user"
}

# apt-get update + install of the given packages (default: N2_APT_PACKAGES);
# skipped with N2_SKIP_APT=1. --no-upgrade: packages already installed are left alone.
n2_install_deps() {
	local pkgs=("$@")
	[ ${#pkgs[@]} -gt 0 ] || pkgs=("${N2_APT_PACKAGES[@]}")
	if [ "${N2_SKIP_APT:-0}" = 1 ]; then
		log "N2_SKIP_APT=1: not running apt-get (checking tools only)"
		return 0
	fi
	log "apt-get update && apt-get install ${pkgs[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q </dev/null || die "apt-get update failed"
	apt-get install -y -q --no-install-recommends --no-upgrade "${pkgs[@]}" </dev/null \
		|| die "apt-get install failed"
}

# Fail loudly if a tool the build or the tests need is missing.
# Usage: n2_check_tools [go]
n2_check_tools() {
	local missing=() t
	[ -x "$N2_PG_CONFIG" ] || missing+=("$N2_PG_CONFIG (postgresql-server-dev-$N2_PGVER)")
	for t in initdb pg_ctl postgres psql; do
		[ -x "$N2_PG_BINDIR/$t" ] || missing+=("$N2_PG_BINDIR/$t (postgresql-$N2_PGVER)")
	done
	for t in make cc perl tar runuser; do
		command -v "$t" >/dev/null 2>&1 || missing+=("$t")
	done
	id postgres >/dev/null 2>&1 || missing+=("OS user postgres (postgresql-common)")
	if [ "${1:-}" = tests ]; then
		local pgxs_dir
		pgxs_dir=$(dirname "$("$N2_PG_CONFIG" --pgxs 2>/dev/null)")/../..
		[ -x "$pgxs_dir/src/test/regress/pg_regress" ] || missing+=("pg_regress (postgresql-server-dev-$N2_PGVER)")
		[ -x "$pgxs_dir/src/test/isolation/pg_isolation_regress" ] || missing+=("pg_isolation_regress (postgresql-server-dev-$N2_PGVER)")
		[ -f "$pgxs_dir/src/test/perl/PostgreSQL/Test/Cluster.pm" ] || missing+=("PostgreSQL::Test::Cluster (postgresql-server-dev-$N2_PGVER)")
		[ -x /usr/bin/prove ] || missing+=("/usr/bin/prove (perl)")
		perl -MIPC::Run -e1 >/dev/null 2>&1 || missing+=("perl IPC::Run (libipc-run-perl)")
		perl -MTest::More -e1 >/dev/null 2>&1 || missing+=("perl Test::More (perl)")
		grep -Eq '^enable_tap_tests[[:space:]]*=[[:space:]]*yes' "$pgxs_dir/src/Makefile.global" \
			|| missing+=("PGXS built without --enable-tap-tests")
	fi
	if [ "${2:-}" = go ]; then
		command -v go >/dev/null 2>&1 || missing+=("go (golang-go)")
		[ -d /usr/share/gocode/src/github.com/jackc/pgx ] || missing+=("pgx v4 (golang-github-jackc-pgx-v4-dev)")
	fi
	[ ${#missing[@]} -eq 0 ] || die "missing dependencies: ${missing[*]}"
}

# Run a command as the postgres OS user with a controlled environment.
# Extra VAR=value words may precede the command (they are passed to env).
n2_as_pg() {
	runuser -u postgres -- env \
		PATH="$N2_PG_BINDIR:/usr/local/bin:/usr/bin:/bin" \
		HOME="${N2_PG_HOME:-/var/lib/postgresql}" LANG=C.UTF-8 LC_ALL=C.UTF-8 \
		"$@"
}

# Copy the source tree (without .git and build outputs) into $2 (a new dir),
# and make ../shared beside it point to the checkout's ../shared.
n2_copy_tree() {
	local src=$1 dst=$2
	mkdir -p "$dst"
	tar -C "$src" --exclude=./.git --exclude=./tmp_check --exclude=./results \
		--exclude=./output_iso --exclude=./log --exclude='*.o' --exclude='*.so' \
		--exclude=./test/unit/build --exclude=./bench/build -cf - . | tar -C "$dst" -xf -
	if [ -d "$src/../shared" ]; then
		ln -sfn "$(cd "$src/../shared" && pwd -P)" "$(dirname "$dst")/shared"
	fi
}

# Build in $1 (as postgres, which owns it) and `make install` as root.
n2_build_install() {
	local dir=$1
	log "build ($dir)"
	n2_as_pg make -C "$dir" -j"$(nproc)" PG_CONFIG="$N2_PG_CONFIG" </dev/null \
		|| die "build failed"
	log "make install"
	make -C "$dir" install PG_CONFIG="$N2_PG_CONFIG" </dev/null || die "make install failed"
}

# Print the first free TCP port at or above $1 on 127.0.0.1.
n2_free_port() {
	local p=${1:-54990} last=$(( ${1:-54990} + 200 ))
	while [ "$p" -lt "$last" ]; do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"; return 0
		fi
		p=$((p + 1))
	done
	die "no free TCP port in ${1:-54990}..$last"
}

# Create and start a throwaway cluster.
# n2_cluster_start BASEDIR PORT [EXTRA_CONF_FILE]; sets N2_PGDATA, N2_PGSOCK, N2_PGLOG.
n2_cluster_start() {
	local base=$1 port=$2 extra=${3:-}
	N2_PGDATA=$base/data N2_PGSOCK=$base/sock N2_PGLOG=$base/server.log
	mkdir -p "$N2_PGSOCK"
	chown postgres: "$base" "$N2_PGSOCK"
	chmod 700 "$N2_PGSOCK"
	log "initdb + start cluster (port $port, socket dir $N2_PGSOCK)"
	n2_as_pg initdb -D "$N2_PGDATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$base/initdb.log" 2>&1 \
		|| { cat "$base/initdb.log"; die "initdb failed"; }
	cat >>"$N2_PGDATA/postgresql.conf" <<-EOF
		# n2 throwaway cluster
		port = $port
		listen_addresses = '127.0.0.1'
		unix_socket_directories = '$N2_PGSOCK'
		fsync = off
		shared_buffers = 256MB
		maintenance_work_mem = 512MB
		max_prepared_transactions = 10
		log_min_messages = warning
	EOF
	if [ -n "$extra" ] && [ -s "$extra" ]; then
		info "extra server settings: $(tr '\n' ' ' <"$extra")"
		cat "$extra" >>"$N2_PGDATA/postgresql.conf"
	fi
	n2_as_pg pg_ctl -D "$N2_PGDATA" -l "$N2_PGLOG" -w -t 120 start >/dev/null \
		|| { tail -n 50 "$N2_PGLOG" 2>/dev/null; die "cluster failed to start"; }
}

n2_cluster_stop() {
	if [ -n "${N2_PGDATA:-}" ] && [ -f "$N2_PGDATA/postmaster.pid" ]; then
		n2_as_pg pg_ctl -D "$N2_PGDATA" -m fast -w -t 60 stop >/dev/null 2>&1 \
			|| n2_as_pg pg_ctl -D "$N2_PGDATA" -m immediate -w stop >/dev/null 2>&1 || true
	fi
}

# Turn "a=1; b='x'" or one setting per line into a postgresql.conf fragment on stdout.
n2_conf_fragment() {
	printf '%s\n' "$1" | tr ';' '\n' | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' | grep -v '^$' || true
}
