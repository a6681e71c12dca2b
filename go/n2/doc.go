// Package n2 is N2's Go interface (HnswIndex) with PostgreSQL underneath.
//
// It mirrors the API of N2's Go binding — NewHnswIndex, AddData, Build,
// SaveModel, LoadModel, UnloadModel, SearchByVector, SearchById — so that
// code written against N2 runs with only the constructor changed. Instead of
// an in-process graph the index is a table plus an `n2` index access method
// index in PostgreSQL, reached through a pgx v4 connection or pool:
//
//	conn, _ := pgx.Connect(ctx, "")                        // PG* environment
//	t, err := n2.NewHnswIndex(conn, "items", 3, "angular") // was n2.NewHnswIndex(3)
//	t.AddData([]float32{1, 2, 3})
//	t.Build(5, 10, 4, 10, 3.5, "heuristic", "skip")
//	var result []int
//	var distances []float32
//	t.SearchByVector([]float32{2, 1, 0}, 10, -1, &result, &distances)
//
// # Storage
//
// An HnswIndex named NAME owns the table NAME (id bigint primary key,
// embedding vector(dim) not null) and the index NAME_n2 on it, created with
// CREATE INDEX ... USING n2. The table carries a comment recording the
// dimension and metric, so LoadModel(NAME) / LoadHnswIndex can re-attach it
// from any connection, process or replica. NAME is one SQL identifier, used
// as given (case and dots included) and resolved through search_path; at most
// 60 bytes so that NAME_n2 fits.
//
// The table is created lazily, by the first write (the first flush of
// AddData rows, Build or SaveModel). Like N2, where a new HnswIndex starts
// empty and saving overwrites a file, that first write replaces an existing
// n2 model table of the same name. A table that is not an n2 model is never
// dropped: the write fails instead. Use LoadModel or LoadHnswIndex to keep
// and reuse an existing model.
//
// # Ids
//
// Ids are the insertion order, as in N2: the i-th vector given to AddData of
// a new index has id i (0-based). After LoadModel, AddData continues at
// max(id)+1. One writer per model is assumed (as with an N2 index); a second
// writer's rows collide on the primary key and are reported as an error.
//
// # Distances
//
// Distances are reported the way N2 reports them, whatever the SQL operator
// returns:
//
//	"angular"  1 − cos(u, v)        (SQL: u <=> v)
//	"L2"       squared Euclidean    (SQL: (u <-> v)², since <-> is not squared)
//	"dot"      the inner product u·v (SQL: −(u <#> v)); larger is closer,
//	           so results come in decreasing order of the product
//
// # Batching and errors
//
// AddData buffers rows (checking the dimension at once, because a buffered
// row's server error would only surface later) and sends them with COPY when
// BatchSize rows are pending, or at the next Flush, Build, SaveModel, search
// or UnloadModel. A failed flush drops the whole pending batch and returns
// the error; ids restart at the first id of the dropped batch.
//
// Every method reports failure as an error. Errors from PostgreSQL keep the
// server's message and wrap a *pgconn.PgError (use errors.As to read its
// Code); the server enforces vector dimensions in searches, option values in
// Build, and so on. N2's binding has no error results; code written for it
// still compiles, since Go lets a call discard its results.
//
// # Searching
//
// Each search is one round trip: a pgx batch (one implicit transaction) that
// sets n2.ef_search for that transaction only (efSearch > 0: that value;
// -1: N2's default, 50 * k, capped at the server's maximum of 1000; 0: the
// session's n2.ef_search, as SET by the caller or the server default), sets
// enable_seqscan off for that transaction so the HNSW graph is used even on
// small tables, as in N2 (and jit off, useless for a LIMIT k query), and
// runs the kNN query. BatchSearchByVectors runs
// many queries in one statement (a LATERAL join over unnest).
//
// # Concurrency
//
// With a *pgxpool.Pool an HnswIndex may be searched from many goroutines at
// once, each search on its own pooled connection. With a single *pgx.Conn
// or a pgx.Tx (not safe for concurrent use) the HnswIndex serialises its use
// of the connection, so sharing it between goroutines is still safe.
package n2
