#!/usr/bin/env bash
# scripts/pgvector.sh -- pgvector for the tests that run n2 beside it.
#
#   scripts/pgvector.sh install [PG_CONFIG]
#       Builds pgvector from ../shared/anchors/pgvector-e48241b.tar.gz and installs
#       it into the PostgreSQL of PG_CONFIG (default: N2_PG_BINDIR's,
#       /usr/lib/postgresql/15/bin). Skipped when that installation already has this
#       build (the tarball's checksum is recorded beside vector.so).
#
# Environment: N2_PGVECTOR_TARBALL (default <repo>/../shared/anchors/pgvector-e48241b.tar.gz),
# N2_PGVECTOR_JOBS (make -j, default nproc).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
# shellcheck source=scripts/lib.sh
. "$REPO/scripts/lib.sh"

pgvector_install() {
	local pg_config=${1:-$N2_PG_CONFIG}
	local tarball=${N2_PGVECTOR_TARBALL:-$REPO/../shared/anchors/pgvector-e48241b.tar.gz}
	local pkglibdir sharedir stamp sum build
	[ -x "$pg_config" ] || die "no pg_config at $pg_config"
	"$pg_config" --version | grep -q ' 15\.' || die "$pg_config is not PostgreSQL 15: $("$pg_config" --version)"
	[ -r "$tarball" ] || die "pgvector source not found: $tarball (set N2_PGVECTOR_TARBALL)"
	pkglibdir=$("$pg_config" --pkglibdir)
	sharedir=$("$pg_config" --sharedir)
	sum=$(sha256sum "$tarball" | cut -d' ' -f1)
	stamp=$pkglibdir/vector.so.n2-source
	if [ -f "$pkglibdir/vector.so" ] && [ -f "$sharedir/extension/vector.control" ] &&
		[ "$(cat "$stamp" 2>/dev/null)" = "$sum" ]; then
		log "pgvector from $(basename "$tarball") already installed in $pkglibdir"
		return 0
	fi
	build=$(mktemp -d /tmp/n2-pgvector-build.XXXXXX)
	BUILD_DIR=$build
	log "build pgvector from $tarball ($build)"
	tar -xzf "$tarball" -C "$build"
	[ -f "$build/pgvector/Makefile" ] || die "$tarball has no pgvector/Makefile"
	# No -march=native: the library must load on any machine that shares the install.
	make -C "$build/pgvector" -j"${N2_PGVECTOR_JOBS:-$(nproc)}" PG_CONFIG="$pg_config" OPTFLAGS= \
		with_llvm=no >"$build/make.log" 2>&1 \
		|| { grep -E 'error|Error' "$build/make.log" | head -n 30; die "pgvector build failed"; }
	make -C "$build/pgvector" install PG_CONFIG="$pg_config" with_llvm=no >"$build/install.log" 2>&1 \
		|| { tail -n 30 "$build/install.log"; die "pgvector make install failed"; }
	[ -f "$pkglibdir/vector.so" ] && [ -f "$sharedir/extension/vector.control" ] \
		|| die "pgvector installed, but $pkglibdir/vector.so or its control file is missing"
	echo "$sum" >"$stamp"
	log "pgvector installed into $pkglibdir"
}

BUILD_DIR=
trap '[ -z "$BUILD_DIR" ] || rm -rf "$BUILD_DIR"' EXIT

case "${1:-}" in
install) n2_need_root; pgvector_install "${2:-}" ;;
-h | --help | "") sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
*) die "unknown command: $1 (see --help)" ;;
esac
