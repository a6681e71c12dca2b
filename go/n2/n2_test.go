package n2

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgconn"
	"github.com/jackc/pgx/v4"
	"github.com/jackc/pgx/v4/pgxpool"
)

// These tests run against the PostgreSQL server named by the usual PG*
// environment variables (scripts/test-go.sh sets them for a throwaway
// cluster). Without PGHOST or PGDATABASE set, the database tests are
// skipped; with them set, a failure to connect is a failure.

var (
	testPool *pgxpool.Pool
	dbSkip   string
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	ctx := context.Background()
	if os.Getenv("PGHOST") == "" && os.Getenv("PGDATABASE") == "" {
		dbSkip = "PGHOST/PGDATABASE not set: no database to test against"
		return m.Run()
	}
	cfg, err := pgxpool.ParseConfig("")
	if err != nil {
		fmt.Fprintln(os.Stderr, "n2 tests: bad PG* environment:", err)
		return 1
	}
	cfg.MaxConns = 6
	testPool, err = pgxpool.ConnectConfig(ctx, cfg)
	if err == nil {
		err = testPool.Ping(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "n2 tests: cannot connect:", err)
		return 1
	}
	defer testPool.Close()
	if _, err := testPool.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS n2"); err != nil {
		fmt.Fprintln(os.Stderr, "n2 tests: CREATE EXTENSION n2:", err)
		return 1
	}
	return m.Run()
}

func pool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	if testPool == nil {
		t.Skip(dbSkip)
	}
	return testPool
}

func singleConn(t *testing.T) *pgx.Conn {
	t.Helper()
	pool(t)
	c, err := pgx.Connect(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// dropModel removes a test model when the test ends.
func dropModel(t *testing.T, names ...string) {
	t.Helper()
	p := pool(t)
	drop := func() {
		for _, n := range names {
			_, _ = p.Exec(context.Background(), "DROP TABLE IF EXISTS "+ident(n))
		}
	}
	drop()
	t.Cleanup(drop)
}

func randVecs(rng *rand.Rand, n, dim int) [][]float32 {
	out := make([][]float32, n)
	for i := range out {
		v := make([]float32, dim)
		for j := range v {
			v[j] = float32(rng.NormFloat64())
		}
		out[i] = v
	}
	return out
}

// goDistance computes N2's distance in float64.
func goDistance(metric string, a, b []float32) float64 {
	var dot, na, nb, l2 float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		dot += x * y
		na += x * x
		nb += y * y
		l2 += (x - y) * (x - y)
	}
	switch metric {
	case L2:
		return l2
	case Dot:
		return dot
	default:
		return 1 - dot/math.Sqrt(na*nb)
	}
}

// closer orders distances as the metric does (dot: larger product first).
func closer(metric string, a, b float64) bool {
	if metric == Dot {
		return a > b
	}
	return a < b
}

// bruteForce returns the exact k nearest ids and their distances.
func bruteForce(metric string, data [][]float32, q []float32, k int) ([]int, []float64) {
	ids := make([]int, len(data))
	ds := make([]float64, len(data))
	for i := range data {
		ids[i] = i
		ds[i] = goDistance(metric, data[i], q)
	}
	sort.SliceStable(ids, func(a, b int) bool { return closer(metric, ds[ids[a]], ds[ids[b]]) })
	if k > len(ids) {
		k = len(ids)
	}
	out := make([]float64, k)
	for i := 0; i < k; i++ {
		out[i] = ds[ids[i]]
	}
	return ids[:k], out
}

// sqlExact is the exact scan on the server (no index), same distance kernel.
func sqlExact(t *testing.T, name, metric string, q []float32, k int) []int {
	t.Helper()
	ctx := context.Background()
	var ids []int
	err := pool(t).BeginFunc(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off"); err != nil {
			return err
		}
		op := operator(metric)
		rows, err := tx.Query(ctx, fmt.Sprintf("SELECT id FROM %s ORDER BY embedding %s $1 LIMIT $2", ident(name), op), Vector(q), k)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, int(id))
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// checkExact checks a search result against the exact answer: same ids in
// the same order as the server's exact scan, and distances as N2 reports
// them, agreeing with a float64 brute force.
func checkExact(t *testing.T, name, metric string, data [][]float32, q []float32, k int, ids []int, ds []float32) {
	t.Helper()
	want := sqlExact(t, name, metric, q, k)
	if !equalInts(ids, want) {
		t.Fatalf("%s: index order %v, exact scan %v", metric, ids, want)
	}
	if len(ds) != len(ids) {
		t.Fatalf("%d distances for %d ids", len(ds), len(ids))
	}
	_, bf := bruteForce(metric, data, q, k)
	for i, id := range ids {
		exact := goDistance(metric, data[id], q)
		if math.Abs(float64(ds[i])-exact) > 1e-4*math.Max(1, math.Abs(exact)) {
			t.Fatalf("%s: id %d distance %v, computed %v", metric, id, ds[i], exact)
		}
		if math.Abs(exact-bf[i]) > 1e-4*math.Max(1, math.Abs(bf[i])) {
			t.Fatalf("%s: rank %d has distance %v, brute force %v", metric, i, exact, bf[i])
		}
		if i > 0 && closer(metric, float64(ds[i]), float64(ds[i-1])) {
			t.Fatalf("%s: distances out of order: %v", metric, ds)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// buildModel creates, fills and builds a model over conn.
func buildModel(t *testing.T, conn Conn, name, metric string, data [][]float32) *HnswIndex {
	t.Helper()
	dropModel(t, name)
	idx, err := NewHnswIndex(conn, name, len(data[0]), metric)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range data {
		if err := idx.AddData(v); err != nil {
			t.Fatal(err)
		}
	}
	if err := idx.Build(12, 24, 100, 2, -1, "heuristic", "skip"); err != nil {
		t.Fatal(err)
	}
	return idx
}

var metrics = []string{Angular, L2, Dot}

func TestBasicUsage(t *testing.T) {
	p := pool(t)
	dropModel(t, "gotest_basic", "gotest_basic.ann")
	f := 3
	tt, err := NewHnswIndex(p, "gotest_basic", f, "angular")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	var data [][]float32
	for i := 0; i < 1000; i++ {
		item := make([]float32, 0, f)
		for x := 0; x < f; x++ {
			item = append(item, rng.Float32())
		}
		data = append(data, item)
		if err := tt.AddData(item); err != nil {
			t.Fatal(err)
		}
	}
	if err := tt.Build(5, 10, 4, 10, 3.5, "heuristic", "skip"); err != nil {
		t.Fatal(err)
	}
	var cfg bytes.Buffer
	if err := tt.WriteConfigs(&cfg); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"dim: 3", "metric: angular", "items: 1000", "m: 5", "max_m0: 10", "ef_construction: 4"} {
		if !strings.Contains(cfg.String(), want) {
			t.Errorf("PrintConfigs output lacks %q:\n%s", want, cfg.String())
		}
	}
	if err := tt.SaveModel("gotest_basic.ann"); err != nil {
		t.Fatal(err)
	}
	var result []int
	var distance []float32
	if err := tt.SearchByVector([]float32{2, 1, 0}, 1000, -1, &result, &distance); err != nil {
		t.Fatal(err)
	}
	if len(result) == 0 || len(result) != len(distance) {
		t.Fatalf("%d results, %d distances", len(result), len(distance))
	}
	seen := map[int]bool{}
	for i, id := range result {
		if id < 0 || id >= 1000 || seen[id] {
			t.Fatalf("bad or repeated id %d in %v", id, result)
		}
		seen[id] = true
		if i > 0 && distance[i] < distance[i-1] {
			t.Fatalf("distances not ascending at %d: %v", i, distance[:i+1])
		}
		if d := goDistance(Angular, data[id], []float32{2, 1, 0}); math.Abs(d-float64(distance[i])) > 1e-4 {
			t.Fatalf("id %d: distance %v, computed %v", id, distance[i], d)
		}
	}
	t.Logf("Basic Usage: %d results, nearest %v at %v", len(result), result[0], distance[0])
	// N2's optional distances: the four-argument form works too.
	var only []int
	if err := tt.SearchByVector([]float32{2, 1, 0}, 5, -1, &only); err != nil || len(only) != 5 {
		t.Fatalf("4-argument SearchByVector: %v %v", only, err)
	}
}

func TestIdsAreInsertionOrder(t *testing.T) {
	p := pool(t)
	data := randVecs(rand.New(rand.NewSource(2)), 200, 4)
	idx := buildModel(t, p, "gotest_ids", L2, data)
	var lo, hi, n int64
	if err := p.QueryRow(context.Background(), "SELECT min(id), max(id), count(*) FROM gotest_ids").Scan(&lo, &hi, &n); err != nil {
		t.Fatal(err)
	}
	if lo != 0 || hi != 199 || n != 200 || idx.NumItems() != 200 {
		t.Fatalf("ids %d..%d, %d rows, NumItems %d", lo, hi, n, idx.NumItems())
	}
	for _, i := range []int{0, 1, 57, 199} {
		var res []int
		var ds []float32
		if err := idx.SearchByVector(data[i], 1, -1, &res, &ds); err != nil {
			t.Fatal(err)
		}
		if len(res) != 1 || res[0] != i || ds[0] != 0 {
			t.Fatalf("vector %d found as %v at %v", i, res, ds)
		}
	}
}

func TestMetricsMatchExactScan(t *testing.T) {
	p := pool(t)
	for _, metric := range metrics {
		metric := metric
		t.Run(metric, func(t *testing.T) {
			rng := rand.New(rand.NewSource(3))
			data := randVecs(rng, 500, 8)
			name := "gotest_exact_" + strings.ToLower(metric)
			idx := buildModel(t, p, name, metric, data)
			if idx.Metric() != metric {
				t.Fatalf("Metric() = %q", idx.Metric())
			}
			for qi, q := range randVecs(rng, 20, 8) {
				var ids []int
				var ds []float32
				k := 10
				if err := idx.SearchByVector(q, k, 200, &ids, &ds); err != nil {
					t.Fatal(err)
				}
				if len(ids) != k {
					t.Fatalf("query %d: %d results, want %d", qi, len(ids), k)
				}
				checkExact(t, name, metric, data, q, k, ids, ds)
			}
		})
	}
}

func TestSearchUsesIndex(t *testing.T) {
	p := pool(t)
	data := randVecs(rand.New(rand.NewSource(4)), 100, 4)
	buildModel(t, p, "gotest_plan", Angular, data)
	ctx := context.Background()
	var plan []string
	err := p.BeginFunc(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT set_config('enable_seqscan', 'off', true)"); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "EXPLAIN SELECT id, embedding <=> $1 FROM gotest_plan ORDER BY embedding <=> $1 LIMIT 5", Vector(data[0]))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				return err
			}
			plan = append(plan, line)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(plan, "\n"), "gotest_plan_n2") {
		t.Fatalf("search does not use the n2 index:\n%s", strings.Join(plan, "\n"))
	}
}

func TestSearchById(t *testing.T) {
	p := pool(t)
	for _, metric := range metrics {
		metric := metric
		t.Run(metric, func(t *testing.T) {
			data := randVecs(rand.New(rand.NewSource(5)), 300, 6)
			name := "gotest_byid_" + strings.ToLower(metric)
			idx := buildModel(t, p, name, metric, data)
			for _, id := range []int{0, 7, 150, 299} {
				var ids []int
				var ds []float32
				if err := idx.SearchById(id, 10, 300, &ids, &ds); err != nil {
					t.Fatal(err)
				}
				if len(ids) != 10 {
					t.Fatalf("id %d: %d results", id, len(ids))
				}
				if metric != Dot && (ids[0] != id || math.Abs(float64(ds[0])) > 1e-5) {
					t.Fatalf("%s: SearchById(%d) starts with %d at %v", metric, id, ids[0], ds[0])
				}
				checkExact(t, name, metric, data, data[id], 10, ids, ds)
				// Same as searching by the item's vector.
				var byVec []int
				if err := idx.SearchByVector(data[id], 10, 300, &byVec); err != nil {
					t.Fatal(err)
				}
				if !equalInts(ids, byVec) {
					t.Fatalf("SearchById %v != SearchByVector %v", ids, byVec)
				}
			}
		})
	}
}

func TestBatchEqualsSequential(t *testing.T) {
	p := pool(t)
	for _, metric := range metrics {
		metric := metric
		t.Run(metric, func(t *testing.T) {
			rng := rand.New(rand.NewSource(6))
			data := randVecs(rng, 400, 5)
			idx := buildModel(t, p, "gotest_batch_"+strings.ToLower(metric), metric, data)
			qs := randVecs(rng, 25, 5)
			qs = append(qs, data[3]) // an exact hit among them
			var bIds [][]int
			var bDs [][]float32
			if err := idx.BatchSearchByVectors(qs, 7, 100, &bIds, &bDs); err != nil {
				t.Fatal(err)
			}
			if len(bIds) != len(qs) || len(bDs) != len(qs) {
				t.Fatalf("%d/%d result lists for %d queries", len(bIds), len(bDs), len(qs))
			}
			for i, q := range qs {
				var ids []int
				var ds []float32
				if err := idx.SearchByVector(q, 7, 100, &ids, &ds); err != nil {
					t.Fatal(err)
				}
				if !equalInts(ids, bIds[i]) {
					t.Fatalf("query %d: batch %v, sequential %v", i, bIds[i], ids)
				}
				for j := range ds {
					if ds[j] != bDs[i][j] {
						t.Fatalf("query %d: batch distances %v, sequential %v", i, bDs[i], ds)
					}
				}
			}
			// Empty batch and k = 0.
			if err := idx.BatchSearchByVectors(nil, 7, -1, &bIds); err != nil || len(bIds) != 0 {
				t.Fatalf("empty batch: %v %v", bIds, err)
			}
			if err := idx.BatchSearchByVectors(qs[:2], 0, -1, &bIds); err != nil || len(bIds) != 2 || len(bIds[0]) != 0 {
				t.Fatalf("k=0 batch: %v %v", bIds, err)
			}
		})
	}
}

func TestEfSearch(t *testing.T) {
	c := singleConn(t)
	rng := rand.New(rand.NewSource(7))
	data := randVecs(rng, 300, 8)
	idx := buildModel(t, c, "gotest_ef", L2, data)
	q := randVecs(rng, 1, 8)[0]
	for _, ef := range []int{-1, 0, 10, 40, 1000} {
		var ids []int
		if err := idx.SearchByVector(q, 10, ef, &ids); err != nil {
			t.Fatalf("ef %d: %v", ef, err)
		}
		if len(ids) != 10 {
			t.Fatalf("ef %d: %d results", ef, len(ids))
		}
	}
	// A large ef gives the exact answer; so does N2's default (-1: 50 * k).
	var ids []int
	var ds []float32
	for _, ef := range []int{1000, -1} {
		if err := idx.SearchByVector(q, 10, ef, &ids, &ds); err != nil {
			t.Fatal(err)
		}
		checkExact(t, "gotest_ef", L2, data, q, 10, ids, ds)
	}
	// Out of the server's range: its error. (A fresh connection, to check
	// that the setting is range-checked there too.)
	fresh, err := LoadHnswIndex(singleConn(t), "gotest_ef")
	if err != nil {
		t.Fatal(err)
	}
	err = fresh.SearchByVector(q, 10, 1000000, &ids)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		t.Fatalf("ef_search 1000000: want a PostgreSQL error, got %v", err)
	}
	t.Logf("ef_search 1000000: %v", err)
	// k beyond the ef bound still gets N2's default (capped) and k results.
	if err := idx.SearchByVector(q, 300, -1, &ids); err != nil || len(ids) != 300 {
		t.Fatalf("k=300: %d results, %v", len(ids), err)
	}
	// The settings were transaction-local: nothing leaks into the session.
	if err := idx.SearchByVector(q, 3, 77, &ids); err != nil {
		t.Fatal(err)
	}
	var ef, seq string
	if err := c.QueryRow(context.Background(),
		"SELECT coalesce(current_setting('n2.ef_search', true), ''), current_setting('enable_seqscan')").Scan(&ef, &seq); err != nil {
		t.Fatal(err)
	}
	if ef == "77" || seq != "on" {
		t.Fatalf("settings leaked into the session: n2.ef_search=%q enable_seqscan=%q", ef, seq)
	}
}

func TestConcurrentSearches(t *testing.T) {
	p := pool(t)
	rng := rand.New(rand.NewSource(8))
	data := randVecs(rng, 400, 8)
	idx := buildModel(t, p, "gotest_conc", Angular, data)
	qs := randVecs(rng, 40, 8)
	want := make([][]int, len(qs))
	for i, q := range qs {
		if err := idx.SearchByVector(q, 5, 100, &want[i]); err != nil {
			t.Fatal(err)
		}
	}
	run := func(t *testing.T, idx *HnswIndex) {
		const workers = 8
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for r := 0; r < 3; r++ {
					for i := range qs {
						i := (i + w*5) % len(qs)
						var got []int
						var err error
						switch (i + r) % 3 {
						case 0:
							err = idx.SearchByVector(qs[i], 5, 100, &got)
						case 1:
							var b [][]int
							err = idx.BatchSearchByVectors(qs[i:i+1], 5, 100, &b)
							if err == nil {
								got = b[0]
							}
						default:
							err = idx.SearchByVectorContext(context.Background(), qs[i], 5, 100, &got)
						}
						if err != nil {
							errs <- err
							return
						}
						if !equalInts(got, want[i]) {
							errs <- fmt.Errorf("worker %d query %d: %v, want %v", w, i, got, want[i])
							return
						}
					}
				}
			}(w)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
	t.Run("pool", func(t *testing.T) { run(t, idx) })
	t.Run("single-conn", func(t *testing.T) {
		shared, err := LoadHnswIndex(singleConn(t), "gotest_conc")
		if err != nil {
			t.Fatal(err)
		}
		run(t, shared)
	})
}

func TestSaveLoadUnload(t *testing.T) {
	p := pool(t)
	ctx := context.Background()
	rng := rand.New(rand.NewSource(9))
	data := randVecs(rng, 250, 6)
	dropModel(t, "gotest_save", "gotest_save copy")
	idx, err := NewHnswIndex(p, "gotest_save", 6, "dot")
	if err != nil {
		t.Fatal(err)
	}
	if err := idx.AddData(data[0]); err != nil {
		t.Fatal(err)
	}
	if err := idx.SaveModel(""); err == nil {
		t.Fatal("SaveModel before Build succeeded")
	}
	for _, v := range data[1:] {
		if err := idx.AddData(v); err != nil {
			t.Fatal(err)
		}
	}
	if err := idx.Build(8, 16, 64, -1, -1, "", ""); err != nil {
		t.Fatal(err)
	}
	if err := idx.SaveModel(""); err != nil {
		t.Fatal(err)
	}
	if err := idx.SaveModel("gotest_save"); err != nil {
		t.Fatal(err)
	}
	if err := idx.SaveModel("gotest_save copy"); err != nil {
		t.Fatal(err)
	}
	// Saving again replaces the snapshot.
	if err := idx.SaveModel("gotest_save copy"); err != nil {
		t.Fatal(err)
	}
	q := randVecs(rng, 1, 6)[0]
	var want []int
	if err := idx.SearchByVector(q, 8, 250, &want); err != nil {
		t.Fatal(err)
	}

	// A snapshot: discovered dimension, metric and build options; same results.
	snap, err := LoadHnswIndex(singleConn(t), "gotest_save copy")
	if err != nil {
		t.Fatal(err)
	}
	if snap.Dim() != 6 || snap.Metric() != Dot || snap.NumItems() != 250 || snap.Name() != "gotest_save copy" {
		t.Fatalf("loaded dim %d metric %q items %d name %q", snap.Dim(), snap.Metric(), snap.NumItems(), snap.Name())
	}
	var relopts []string
	if err := p.QueryRow(ctx, `SELECT reloptions FROM pg_class WHERE oid = to_regclass('"gotest_save copy_n2"')`).Scan(&relopts); err != nil {
		t.Fatal(err)
	}
	if strings.Join(relopts, ",") != "m=8,max_m0=16,ef_construction=64" {
		t.Fatalf("snapshot index options %v", relopts)
	}
	var got []int
	var ds []float32
	if err := snap.SearchByVector(q, 8, 250, &got, &ds); err != nil {
		t.Fatal(err)
	}
	if !equalInts(got, want) {
		t.Fatalf("snapshot %v, original %v", got, want)
	}
	checkExact(t, "gotest_save copy", Dot, data, q, 8, got, ds)
	// The snapshot is independent of the original. (The new item is q scaled
	// up, so that it is q's nearest item by inner product.)
	big := make([]float32, len(q))
	for i := range q {
		big[i] = 100 * q[i]
	}
	if err := idx.AddData(big); err != nil {
		t.Fatal(err)
	}
	if err := idx.Flush(); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := p.QueryRow(ctx, `SELECT count(*) FROM "gotest_save copy"`).Scan(&n); err != nil || n != 250 {
		t.Fatalf("snapshot has %d rows (%v), want 250", n, err)
	}

	// Unload: detached, nothing dropped; LoadModel re-attaches and AddData
	// continues the ids.
	if err := idx.UnloadModel(); err != nil {
		t.Fatal(err)
	}
	if err := idx.SearchByVector(q, 3, -1, &got); !errors.Is(err, ErrNotLoaded) {
		t.Fatalf("search after UnloadModel: %v", err)
	}
	if err := idx.AddData(q); !errors.Is(err, ErrNotLoaded) {
		t.Fatalf("AddData after UnloadModel: %v", err)
	}
	if err := p.QueryRow(ctx, `SELECT count(*) FROM gotest_save`).Scan(&n); err != nil || n != 251 {
		t.Fatalf("model has %d rows after UnloadModel (%v), want 251", n, err)
	}
	if err := idx.LoadModel("gotest_save"); err != nil {
		t.Fatal(err)
	}
	if idx.NumItems() != 251 {
		t.Fatalf("NumItems after LoadModel = %d", idx.NumItems())
	}
	if err := idx.SearchByVector(q, 1, -1, &got, &ds); err != nil || got[0] != 250 {
		t.Fatalf("item added after Build not found: %v %v", got, err)
	}
	if err := idx.LoadModel("gotest_save copy", true); err != nil {
		t.Fatal(err)
	}
	if idx.Name() != "gotest_save copy" {
		t.Fatalf("Name() = %q", idx.Name())
	}

	// Shape mismatch, missing model, non-model table.
	other, _ := NewHnswIndex(p, "gotest_other", 5, "dot")
	if err := other.LoadModel("gotest_save"); err == nil || !strings.Contains(err.Error(), "dimension") {
		t.Fatalf("LoadModel with wrong dimension: %v", err)
	}
	if err := other.LoadModel("gotest_no_such_model"); err == nil {
		t.Fatal("LoadModel of a missing model succeeded")
	}
	dropModel(t, "gotest_plain")
	if _, err := p.Exec(ctx, "CREATE TABLE gotest_plain (id bigint, embedding vector(5))"); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadHnswIndex(p, "gotest_plain"); err == nil || !strings.Contains(err.Error(), "not an n2 model") {
		t.Fatalf("LoadHnswIndex of a plain table: %v", err)
	}
	clobber, _ := NewHnswIndex(p, "gotest_plain", 5, "L2")
	if err := clobber.AddData(make([]float32, 5)); err != nil {
		t.Fatal(err)
	}
	if err := clobber.Flush(); err == nil || !strings.Contains(err.Error(), "not an n2 model") {
		t.Fatalf("NewHnswIndex over a plain table: %v", err)
	}
	if err := p.QueryRow(ctx, "SELECT count(*) FROM gotest_plain").Scan(&n); err != nil {
		t.Fatalf("plain table damaged: %v", err)
	}
}

func TestNewReplacesModel(t *testing.T) {
	p := pool(t)
	data := randVecs(rand.New(rand.NewSource(10)), 50, 3)
	buildModel(t, p, "gotest_replace", L2, data)
	idx, err := NewHnswIndex(p, "gotest_replace", 4, "angular")
	if err != nil {
		t.Fatal(err)
	}
	// Nothing is touched until the first write.
	var n int
	if err := p.QueryRow(context.Background(), "SELECT count(*) FROM gotest_replace").Scan(&n); err != nil || n != 50 {
		t.Fatalf("model changed before any write: %d %v", n, err)
	}
	if err := idx.AddData([]float32{1, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	if err := idx.Build(-1, -1, -1, -1, -1, "", ""); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadHnswIndex(p, "gotest_replace")
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Dim() != 4 || loaded.Metric() != Angular || loaded.NumItems() != 1 {
		t.Fatalf("replaced model: dim %d metric %s items %d", loaded.Dim(), loaded.Metric(), loaded.NumItems())
	}
}

func TestBatchedAddData(t *testing.T) {
	p := pool(t)
	ctx := context.Background()
	dropModel(t, "gotest_copy")
	idx, err := NewHnswIndex(p, "gotest_copy", 2, "L2")
	if err != nil {
		t.Fatal(err)
	}
	idx.BatchSize = 100
	for i := 0; i < 250; i++ {
		if err := idx.AddData([]float32{float32(i), 1}); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := p.QueryRow(ctx, "SELECT count(*) FROM gotest_copy").Scan(&n); err != nil || n != 200 {
		t.Fatalf("%d rows after 250 AddData with BatchSize 100 (%v), want 200", n, err)
	}
	if err := idx.Flush(); err != nil {
		t.Fatal(err)
	}
	var sum int64
	if err := p.QueryRow(ctx, "SELECT count(*), sum(id) FROM gotest_copy WHERE embedding = ('[' || id || ',1]')::vector").Scan(&n, &sum); err != nil {
		t.Fatal(err)
	}
	if n != 250 || sum != 249*250/2 {
		t.Fatalf("rows do not carry their insertion-order ids: %d rows, id sum %d", n, sum)
	}
	// A batch the server rejects (NaN) fails as a whole with the server's
	// message; ids restart at its first id.
	_ = idx.AddData([]float32{1, 2})
	_ = idx.AddData([]float32{float32(math.NaN()), 2})
	err = idx.Flush()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		t.Fatalf("flush of a NaN row: %v", err)
	}
	t.Logf("NaN row: %v", err)
	if idx.NumItems() != 250 {
		t.Fatalf("NumItems %d after failed flush, want 250", idx.NumItems())
	}
	if err := idx.AddData([]float32{7, 7}); err != nil {
		t.Fatal(err)
	}
	if err := idx.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := p.QueryRow(ctx, "SELECT count(*), max(id) FROM gotest_copy").Scan(&n, &sum); err != nil || n != 251 || sum != 250 {
		t.Fatalf("after recovery: %d rows, max id %d (%v)", n, sum, err)
	}
}

func TestErrors(t *testing.T) {
	p := pool(t)
	if _, err := NewHnswIndex(p, "gotest_err", 3, "cosine"); err == nil {
		t.Error("unknown metric accepted")
	}
	if _, err := NewHnswIndex(p, "gotest_err", 0, "L2"); err == nil {
		t.Error("dimension 0 accepted")
	}
	if _, err := NewHnswIndex(p, "", 3, "L2"); err == nil {
		t.Error("empty name accepted")
	}
	if _, err := NewHnswIndex(p, strings.Repeat("n", 61), 3, "L2"); err == nil {
		t.Error("over-long name accepted")
	}
	if _, err := NewHnswIndex(nil, "gotest_err", 3, "L2"); err == nil {
		t.Error("nil connection accepted")
	}
	fresh, _ := NewHnswIndex(p, "gotest_err_fresh", 3, "L2")
	var ids []int
	if err := fresh.SearchByVector([]float32{1, 2, 3}, 1, -1, &ids); err == nil {
		t.Error("search of a never-written model succeeded")
	}

	data := randVecs(rand.New(rand.NewSource(11)), 50, 3)
	idx := buildModel(t, p, "gotest_err", L2, data)
	if err := idx.AddData([]float32{1, 2}); err == nil || !strings.Contains(err.Error(), "expected 3 dimensions, not 2") {
		t.Errorf("AddData of wrong dimension: %v", err)
	}
	expectPgError := func(what string, err error) {
		t.Helper()
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) {
			t.Errorf("%s: want a PostgreSQL error, got %v", what, err)
			return
		}
		t.Logf("%s: %v", what, err)
	}
	expectPgError("SearchByVector of wrong dimension", idx.SearchByVector([]float32{1, 2}, 3, -1, &ids))
	var b [][]int
	expectPgError("BatchSearchByVectors with one wrong dimension",
		idx.BatchSearchByVectors([][]float32{{1, 2, 3}, {1, 2, 3, 4}}, 3, -1, &b))
	expectPgError("Build with a bad neighbor_selecting", idx.Build(-1, -1, -1, -1, -1, "bogus", ""))
	expectPgError("Build with a bad graph_merging", idx.Build(-1, -1, -1, -1, -1, "", "bogus"))
	expectPgError("SearchByVector with NaN", idx.SearchByVector([]float32{1, float32(math.NaN()), 3}, 3, -1, &ids))
	if err := idx.SearchById(12345, 3, -1, &ids); err == nil || !strings.Contains(err.Error(), "no item with id 12345") {
		t.Errorf("SearchById of a missing id: %v", err)
	}
	// The index is still usable after the errors (and the failed rebuilds
	// left the earlier index in place).
	var ds []float32
	if err := idx.SearchById(3, 5, 100, &ids, &ds); err != nil || ids[0] != 3 {
		t.Fatalf("after errors: %v %v", ids, err)
	}
	checkExact(t, "gotest_err", L2, data, data[3], 5, ids, ds)
	// k <= 0 gives no results, not an error, as in N2.
	if err := idx.SearchByVector(data[0], 0, -1, &ids); err != nil || len(ids) != 0 {
		t.Errorf("k = 0: %v %v", ids, err)
	}
}

func TestContextCancel(t *testing.T) {
	p := pool(t)
	data := randVecs(rand.New(rand.NewSource(12)), 50, 3)
	idx := buildModel(t, p, "gotest_ctx", Angular, data)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var ids []int
	if err := idx.SearchByVectorContext(ctx, data[0], 3, -1, &ids); err == nil {
		t.Fatal("search with a cancelled context succeeded")
	}
	if err := idx.SearchByVector(data[0], 3, -1, &ids); err != nil || ids[0] != 0 {
		t.Fatalf("after a cancelled search: %v %v", ids, err)
	}
}
