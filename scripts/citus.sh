#!/usr/bin/env bash
# scripts/citus.sh -- Citus for n2's scale-out tests: build it from the anchor tarball,
# and run a coordinator + 2 workers on this machine.
#
#   scripts/citus.sh install [PG_CONFIG]
#       Builds Citus 13.2.2 (the last release supporting PostgreSQL 15) from
#       ../shared/anchors/citus-13.2.2.tar.gz and installs it into the PostgreSQL
#       of PG_CONFIG (default: N2_PG_BINDIR's, /usr/lib/postgresql/15/bin).
#       Skipped when that installation already has this Citus version.
#   scripts/citus.sh start DIR [PORT]
#       initdb + start a coordinator (PORT) and 2 workers (PORT+1, PORT+2) under DIR
#       (a new folder), as the postgres user, listening on 127.0.0.1 and a private
#       socket folder DIR/sock, with shared_preload_libraries = 'citus'; creates the
#       extensions citus and n2 (both must be installed) in database postgres and adds
#       the workers. Prints how to connect.
#   scripts/citus.sh stop DIR
#       Stops the three servers of DIR (the folder is left in place).
#
# The patch: Citus's src/include/pg_version_compat.h defines a static
# have_createdb_privilege() for PostgreSQL 15, written when PostgreSQL 15 did not
# export that function. PostgreSQL 15.20 does (commands/dbcommands.h), and the two
# definitions clash. When the server headers declare it, the static copy is renamed
# (citus_pg15_have_createdb_privilege, then unused) so that Citus calls PostgreSQL's.
#
# Built --without-libcurl: a libcurl build of Citus reports anonymous usage statistics
# to a Citus server; test clusters should not phone home. Build dependencies (Debian):
# liblz4-dev libzstd-dev libkrb5-dev (scripts/lib.sh N2_APT_PACKAGES has them).
#
# Environment: N2_CITUS_TARBALL (default <repo>/../shared/anchors/citus-13.2.2.tar.gz),
# N2_CITUS_DESTDIR (install under this root, as make install DESTDIR=; the check for
# an existing installation looks there too), N2_CITUS_JOBS (make -j, default nproc).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
# shellcheck source=scripts/lib.sh
. "$REPO/scripts/lib.sh"

CITUS_VERSION=13.2.2

citus_install() {
	local pg_config=${1:-$N2_PG_CONFIG}
	local tarball=${N2_CITUS_TARBALL:-$REPO/../shared/anchors/citus-$CITUS_VERSION.tar.gz}
	local destdir=${N2_CITUS_DESTDIR:-}
	local pkglibdir incdir so build h
	[ -x "$pg_config" ] || die "no pg_config at $pg_config"
	"$pg_config" --version | grep -q ' 15\.' || die "$pg_config is not PostgreSQL 15: $("$pg_config" --version)"
	pkglibdir=$("$pg_config" --pkglibdir)
	incdir=$("$pg_config" --includedir-server)
	so=$destdir$pkglibdir/citus.so
	# citus_version() reports "Citus 13.2.2 on ..."; the string is in the library.
	if [ -f "$so" ] && grep -aq "Citus $CITUS_VERSION on" "$so"; then
		log "Citus $CITUS_VERSION already installed in $destdir$pkglibdir"
		return 0
	fi
	[ -r "$tarball" ] || die "Citus source not found: $tarball (set N2_CITUS_TARBALL)"
	for h in lz4.h zstd.h gssapi/gssapi.h; do
		[ -f "/usr/include/$h" ] || die "missing /usr/include/$h: apt-get install liblz4-dev libzstd-dev libkrb5-dev"
	done

	build=$(mktemp -d /tmp/n2-citus-build.XXXXXX)
	BUILD_DIR=$build
	log "build Citus $CITUS_VERSION from $tarball ($build)"
	tar -xzf "$tarball" -C "$build"
	[ -f "$build/citus/configure" ] || die "$tarball has no citus/configure"
	if grep -Eq '^extern bool have_createdb_privilege\(void\);' "$incdir/commands/dbcommands.h"; then
		info "PostgreSQL exports have_createdb_privilege(): renaming Citus's static copy"
		sed -i 's/^have_createdb_privilege(void)$/citus_pg15_have_createdb_privilege(void)/' \
			"$build/citus/src/include/pg_version_compat.h"
		grep -q '^citus_pg15_have_createdb_privilege(void)$' "$build/citus/src/include/pg_version_compat.h" \
			|| die "patching pg_version_compat.h failed: its have_createdb_privilege() is not where expected"
	fi
	(cd "$build/citus" && ./configure PG_CONFIG="$pg_config" --without-libcurl >"$build/configure.log" 2>&1) \
		|| { tail -n 30 "$build/configure.log"; die "Citus configure failed"; }
	make -C "$build/citus" -j"${N2_CITUS_JOBS:-$(nproc)}" >"$build/make.log" 2>&1 \
		|| { grep -E 'error|Error' "$build/make.log" | head -n 30; die "Citus build failed"; }
	make -C "$build/citus" install ${destdir:+DESTDIR="$destdir"} >"$build/install.log" 2>&1 \
		|| { tail -n 30 "$build/install.log"; die "Citus make install failed"; }
	grep -aq "Citus $CITUS_VERSION on" "$so" || die "Citus installed, but $so is not version $CITUS_VERSION"
	log "Citus $CITUS_VERSION installed into $destdir$pkglibdir"
}

BUILD_DIR=
trap '[ -z "$BUILD_DIR" ] || rm -rf "$BUILD_DIR"' EXIT

# The three servers of a cluster folder: name and port offset.
NODES=(coordinator:0 worker1:1 worker2:2)

citus_start() {
	local dir=$1 port=${2:-} sock name off p data
	[ -n "$dir" ] || die "usage: citus.sh start DIR [PORT]"
	[ ! -e "$dir" ] || die "$dir exists: give a new folder"
	[ -f "$("$N2_PG_CONFIG" --pkglibdir)/citus.so" ] || die "Citus is not installed: run scripts/citus.sh install"
	[ -f "$("$N2_PG_CONFIG" --sharedir)/extension/n2.control" ] || die "n2 is not installed: make install"
	[ -n "$port" ] || port=$(n2_free_port 55600)
	mkdir -p "$dir/sock"
	chown postgres: "$dir" "$dir/sock"
	chmod 700 "$dir/sock"
	sock=$dir/sock
	for n in "${NODES[@]}"; do
		name=${n%%:*} off=${n##*:} p=$((port + off)) data=$dir/$name
		log "initdb + start $name (port $p)"
		n2_as_pg initdb -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/$name.initdb.log" 2>&1 \
			|| { cat "$dir/$name.initdb.log"; die "initdb $name failed"; }
		cat >>"$data/postgresql.conf" <<-EOF
			# n2 + Citus throwaway cluster ($name)
			port = $p
			listen_addresses = '127.0.0.1'
			unix_socket_directories = '$sock'
			shared_preload_libraries = 'citus'
			citus.local_hostname = '127.0.0.1'
			fsync = off
			shared_buffers = 256MB
			maintenance_work_mem = 512MB
			max_prepared_transactions = 50
			wal_level = logical
			log_min_messages = warning
		EOF
		n2_as_pg pg_ctl -D "$data" -l "$dir/$name.log" -w -t 120 start >/dev/null \
			|| { tail -n 30 "$dir/$name.log"; die "$name failed to start"; }
	done
	local psql=(psql -X -q -v ON_ERROR_STOP=1 -h "$sock" -U postgres -d postgres)
	for n in "${NODES[@]}"; do
		n2_as_pg "${psql[@]}" -p $((port + ${n##*:})) -c 'CREATE EXTENSION citus' >/dev/null \
			|| die "CREATE EXTENSION citus failed on ${n%%:*}"
	done
	n2_as_pg "${psql[@]}" -p "$port" \
		-c "SELECT citus_set_coordinator_host('127.0.0.1', $port)" \
		-c "SELECT citus_add_node('127.0.0.1', $((port + 1)))" \
		-c "SELECT citus_add_node('127.0.0.1', $((port + 2)))" \
		-c 'CREATE EXTENSION n2' >/dev/null || die "wiring the cluster failed"
	log "coordinator + 2 workers running"
	info "connect:  runuser -u postgres -- psql -h $sock -p $port -d postgres"
	info "stop:     $0 stop $dir"
}

citus_stop() {
	local dir=$1 n data
	[ -n "$dir" ] || die "usage: citus.sh stop DIR"
	for n in "${NODES[@]}"; do
		data=$dir/${n%%:*}
		if [ -f "$data/postmaster.pid" ]; then
			n2_as_pg pg_ctl -D "$data" -m fast -w -t 60 stop >/dev/null \
				|| n2_as_pg pg_ctl -D "$data" -m immediate -w stop >/dev/null || true
		fi
	done
}

case "${1:-}" in
install) n2_need_root; citus_install "${2:-}" ;;
start) n2_need_root; citus_start "${2:-}" "${3:-}" ;;
stop) n2_need_root; citus_stop "${2:-}" ;;
-h | --help | "") sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
*) die "unknown command: $1 (see --help)" ;;
esac
