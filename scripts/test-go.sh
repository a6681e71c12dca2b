#!/usr/bin/env bash
# scripts/test-go.sh -- vet, build and test the Go package (go/n2) and its
# examples (go/examples) against a running PostgreSQL that has n2 installed.
#
#   PGHOST=/tmp/sock PGPORT=5432 PGUSER=postgres PGDATABASE=test scripts/test-go.sh
#
# The server is the one the standard PG* variables name (scripts/test.sh
# exports them for its throwaway cluster); the tests CREATE EXTENSION n2 if
# needed and drop the gotest_* tables they make. Without PGHOST/PGDATABASE the
# database tests are skipped (only the unit tests run).
#
# Go and pgx come from Debian alone: golang-go and
# golang-github-jackc-pgx-v4-dev (which pulls pgconn, pgtype, pgproto3, ...
# into /usr/share/gocode/src). Run as root, the script installs them if they
# are missing (unless N2_SKIP_APT=1); otherwise it fails, saying what to
# install. No module proxy is used: the build runs in GOPATH mode with
# GOPATH=<private dir>:/usr/share/gocode, the package copied to
# <private dir>/src/n2 (its import path is "n2", as N2's own Go binding's) and
# the examples to <private dir>/src/n2examples/.
#
# Environment knobs:
#   N2_SKIP_APT=1        never run apt-get
#   N2_GO_TEST_FLAGS     extra `go test` flags, e.g. '-run TestErrors' (always
#                        -v -count=1, and -race where cgo and a C compiler work)
#   N2_GO_RUN_EXAMPLE=0  only build the examples, do not run basic
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
GOSRC=/usr/share/gocode/src

say() { printf '==> %s\n' "$*"; }
die() { printf 'test-go.sh: ERROR: %s\n' "$*" >&2; exit 1; }

have_deps() {
	command -v go >/dev/null 2>&1 &&
		[ -f "$GOSRC/github.com/jackc/pgx/v4/conn.go" ] &&
		[ -f "$GOSRC/github.com/jackc/pgx/v4/pgxpool/pool.go" ]
}

if ! have_deps; then
	if [ "$(id -u)" = 0 ] && [ "${N2_SKIP_APT:-0}" != 1 ]; then
		say "installing golang-go and golang-github-jackc-pgx-v4-dev (apt-get)"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq >/dev/null || true
		apt-get install -y -qq golang-go golang-github-jackc-pgx-v4-dev >/dev/null ||
			die "apt-get install golang-go golang-github-jackc-pgx-v4-dev failed"
	fi
fi
command -v go >/dev/null 2>&1 ||
	die "go not found: install Debian's golang-go (apt-get install golang-go)"
[ -f "$GOSRC/github.com/jackc/pgx/v4/conn.go" ] ||
	die "pgx v4 not found in $GOSRC: install Debian's golang-github-jackc-pgx-v4-dev"
[ -f "$GOSRC/github.com/jackc/pgx/v4/pgxpool/pool.go" ] ||
	die "pgxpool missing from $GOSRC/github.com/jackc/pgx/v4 (golang-github-jackc-pgx-v4-dev incomplete?)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/n2-go.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/gopath/src/n2examples"
cp -R "$REPO/go/n2" "$WORK/gopath/src/n2"
for d in "$REPO"/go/examples/*/; do
	[ -d "$d" ] && cp -R "$d" "$WORK/gopath/src/n2examples/"
done

export GO111MODULE=off GOFLAGS= GOPROXY=off GOTOOLCHAIN=local
export GOPATH="$WORK/gopath:/usr/share/gocode"
# A build cache that survives runs (pgx compiles once) and is ours to write.
if [ -z "${GOCACHE:-}" ]; then
	GOCACHE="${TMPDIR:-/tmp}/n2-go-cache-$(id -u)"
	export GOCACHE
fi
mkdir -p "$GOCACHE"
cd "$WORK/gopath/src"

say "$(go version); GOPATH=$GOPATH"
say "database: host=${PGHOST:-(default)} port=${PGPORT:-(default)} user=${PGUSER:-(default)} db=${PGDATABASE:-(default)}"

EXAMPLES=()
for d in n2examples/*/; do
	[ -d "$d" ] && EXAMPLES+=("${d%/}")
done

say "go vet n2 ${EXAMPLES[*]}"
go vet n2 "${EXAMPLES[@]}"

say "go build examples"
mkdir -p "$WORK/bin"
for e in "${EXAMPLES[@]}"; do
	go build -o "$WORK/bin/$(basename "$e")" "$e"
done

# -race needs cgo and a C compiler; use it when it works.
RACE=
if CGO_ENABLED=1 go build -race -o /dev/null n2 >/dev/null 2>&1; then RACE=-race; fi
say "go test -v -count=1 $RACE ${N2_GO_TEST_FLAGS:-} n2"
# shellcheck disable=SC2086
go test -v -count=1 -timeout 15m $RACE ${N2_GO_TEST_FLAGS:-} n2

if [ "${N2_GO_RUN_EXAMPLE:-1}" = 1 ] && [ -x "$WORK/bin/basic" ] &&
	{ [ -n "${PGHOST:-}" ] || [ -n "${PGDATABASE:-}" ]; }; then
	say "running examples/basic (N2's Basic Usage)"
	"$WORK/bin/basic" >"$WORK/basic.out" || { cat "$WORK/basic.out"; die "examples/basic failed"; }
	cut -c1-200 "$WORK/basic.out"
	grep -q '^10 nearest: \[' "$WORK/basic.out" || die "examples/basic printed no results"
	psql -X -q -c 'DROP TABLE IF EXISTS basic_usage, "test.ann"' >/dev/null 2>&1 || true
fi
say "Go tests passed"
