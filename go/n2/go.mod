// The package's import path is "n2", as with N2's own Go binding, so code
// written for N2 keeps its import line. scripts/test-go.sh builds it in GOPATH
// mode from Debian's packages (golang-go, golang-github-jackc-pgx-v4-dev);
// with network access, module mode works too: run `go mod tidy` here first.
module n2

go 1.19

require github.com/jackc/pgx/v4 v4.15.0
