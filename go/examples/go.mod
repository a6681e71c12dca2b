// Examples for the n2 Go package (see ../n2). scripts/test-go.sh builds them
// in GOPATH mode; in module mode run `go mod tidy` here first.
module n2examples

go 1.19

require n2 v0.0.0

replace n2 => ../n2
