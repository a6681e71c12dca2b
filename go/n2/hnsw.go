package n2

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgconn"
	"github.com/jackc/pgx/v4"
	"github.com/jackc/pgx/v4/pgxpool"
)

// Conn is what an HnswIndex needs from PostgreSQL. *pgx.Conn,
// *pgxpool.Pool and pgx.Tx all satisfy it.
type Conn interface {
	Exec(ctx context.Context, sql string, args ...interface{}) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...interface{}) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...interface{}) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
	CopyFrom(ctx context.Context, tableName pgx.Identifier, columnNames []string, rowSrc pgx.CopyFromSource) (int64, error)
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Metric names, as N2 spells them.
const (
	Angular = "angular"
	L2      = "L2"
	Dot     = "dot"
)

// DefaultBatchSize is the number of pending AddData rows that triggers a COPY.
const DefaultBatchSize = 10000

// maxNameLen keeps NAME_n2 within PostgreSQL's 63-byte identifier limit.
const maxNameLen = 60

// commentPrefix marks a table as an n2 model created by this package.
const commentPrefix = "n2 model "

// ErrNotLoaded is returned by operations on an HnswIndex after UnloadModel.
var ErrNotLoaded = errors.New("n2: no model loaded (UnloadModel was called; use LoadModel)")

// HnswIndex is an N2 HNSW index kept in PostgreSQL. See the package
// documentation for how it is stored. Its methods are safe for concurrent
// use.
type HnswIndex struct {
	conn   Conn
	shared bool       // conn is not safe for concurrent use: serialise it
	connMu sync.Mutex // held around every use of conn when shared

	// BatchSize is the number of pending AddData rows that triggers a COPY
	// (DefaultBatchSize when zero or negative). Set it before use.
	BatchSize int

	mu       sync.Mutex // guards everything below
	name     string
	dim      int
	metric   string
	attached bool  // false after UnloadModel
	created  bool  // the table is known to exist (ours or loaded)
	nextID   int64 // id the next AddData row gets
	pending  []Vector
	pendFrom int64 // id of pending[0]

	maxEf int // upper bound of n2.ef_search on the server, once known
}

type modelMeta struct {
	Dim    int    `json:"dim"`
	Metric string `json:"metric"`
}

// NewHnswIndex returns a new, empty index named name over conn, for vectors of
// dimension dim compared with metric "angular" (N2's default, also chosen by
// ""), "L2" (or "euclidean") or "dot". Metric names are matched without
// regard to case.
//
// Nothing is written to the database until the first AddData flush, Build or
// SaveModel; that write replaces an existing n2 model of the same name.
func NewHnswIndex(conn Conn, name string, dim int, metric string) (*HnswIndex, error) {
	if conn == nil {
		return nil, errors.New("n2: NewHnswIndex: nil connection")
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	if dim <= 0 || dim > maxDim {
		return nil, fmt.Errorf("n2: NewHnswIndex: dimension %d out of range 1..%d", dim, maxDim)
	}
	m, err := normalizeMetric(metric)
	if err != nil {
		return nil, err
	}
	idx := newIndex(conn)
	idx.name, idx.dim, idx.metric, idx.attached = name, dim, m, true
	return idx, nil
}

// LoadHnswIndex attaches to the existing n2 model name, discovering its
// dimension and metric. It is NewHnswIndex followed by LoadModel for callers
// who do not know the dimension and metric.
func LoadHnswIndex(conn Conn, name string) (*HnswIndex, error) {
	if conn == nil {
		return nil, errors.New("n2: LoadHnswIndex: nil connection")
	}
	idx := newIndex(conn)
	if err := idx.load(context.Background(), name, false); err != nil {
		return nil, err
	}
	return idx, nil
}

func newIndex(conn Conn) *HnswIndex {
	_, pooled := conn.(*pgxpool.Pool)
	return &HnswIndex{conn: conn, shared: !pooled}
}

// Name returns the name of the model the index is attached to.
func (idx *HnswIndex) Name() string { idx.mu.Lock(); defer idx.mu.Unlock(); return idx.name }

// Dim returns the vector dimension.
func (idx *HnswIndex) Dim() int { idx.mu.Lock(); defer idx.mu.Unlock(); return idx.dim }

// Metric returns the metric, spelled as N2 does: "angular", "L2" or "dot".
func (idx *HnswIndex) Metric() string { idx.mu.Lock(); defer idx.mu.Unlock(); return idx.metric }

// NumItems returns the number of items added so far (flushed or pending),
// i.e. the id the next AddData row will get.
func (idx *HnswIndex) NumItems() int { idx.mu.Lock(); defer idx.mu.Unlock(); return int(idx.nextID) }

// AddData adds vector v; its id is the number of items added before it.
// Rows are buffered and sent with COPY in batches (see BatchSize), so an
// error returned here may come from the flush of earlier rows.
func (idx *HnswIndex) AddData(v []float32) error {
	return idx.AddDataContext(context.Background(), v)
}

// AddDataContext is AddData with a context for a flush it triggers.
func (idx *HnswIndex) AddDataContext(ctx context.Context, v []float32) error {
	idx.mu.Lock()
	defer idx.mu.Unlock()
	if !idx.attached {
		return ErrNotLoaded
	}
	if len(v) != idx.dim {
		return fmt.Errorf("n2: AddData: expected %d dimensions, not %d", idx.dim, len(v))
	}
	if len(idx.pending) == 0 {
		idx.pendFrom = idx.nextID
	}
	idx.pending = append(idx.pending, append(Vector(nil), v...))
	idx.nextID++
	bs := idx.BatchSize
	if bs <= 0 {
		bs = DefaultBatchSize
	}
	if len(idx.pending) >= bs {
		return idx.flushLocked(ctx)
	}
	return nil
}

// Flush sends pending AddData rows to the database.
func (idx *HnswIndex) Flush() error {
	return idx.FlushContext(context.Background())
}

// FlushContext is Flush with a context.
func (idx *HnswIndex) FlushContext(ctx context.Context) error {
	idx.mu.Lock()
	defer idx.mu.Unlock()
	if !idx.attached {
		return ErrNotLoaded
	}
	return idx.flushLocked(ctx)
}

// Build builds the HNSW graph: CREATE INDEX NAME_n2 ON NAME USING n2 ... WITH
// (m, max_m0, ef_construction, n_threads, mult, neighbor_selecting,
// graph_merging), replacing an earlier build. As in N2, a value of -1 (or
// any value <= 0, or "" for the strings) leaves that option at its default:
// M 12, MaxM0 24, efConstruction 100, mult 1/ln(M), neighborSelecting
// "heuristic", graphMerging "skip". Invalid values are reported by
// PostgreSQL.
func (idx *HnswIndex) Build(M, MaxM0, efConstruction, nThreads int, mult float32, neighborSelecting, graphMerging string) error {
	return idx.BuildContext(context.Background(), M, MaxM0, efConstruction, nThreads, mult, neighborSelecting, graphMerging)
}

// BuildContext is Build with a context.
func (idx *HnswIndex) BuildContext(ctx context.Context, M, MaxM0, efConstruction, nThreads int, mult float32, neighborSelecting, graphMerging string) error {
	var opts []string
	addInt := func(k string, v int) {
		if v > 0 {
			opts = append(opts, k+" = "+strconv.Itoa(v))
		}
	}
	addInt("m", M)
	addInt("max_m0", MaxM0)
	addInt("ef_construction", efConstruction)
	addInt("n_threads", nThreads)
	if mult > 0 {
		opts = append(opts, "mult = "+strconv.FormatFloat(float64(mult), 'g', -1, 32))
	}
	if neighborSelecting != "" {
		opts = append(opts, "neighbor_selecting = "+quoteLiteral(neighborSelecting))
	}
	if graphMerging != "" {
		opts = append(opts, "graph_merging = "+quoteLiteral(graphMerging))
	}

	idx.mu.Lock()
	defer idx.mu.Unlock()
	if !idx.attached {
		return ErrNotLoaded
	}
	if err := idx.flushLocked(ctx); err != nil {
		return err
	}
	if err := idx.ensureTableLocked(ctx); err != nil {
		return err
	}
	if err := idx.buildIndex(ctx, idx.name, idx.metric, opts); err != nil {
		return fmt.Errorf("n2: Build: %w", err)
	}
	return nil
}

// buildIndex (re)creates name_n2 on table name and refreshes statistics.
func (idx *HnswIndex) buildIndex(ctx context.Context, name, metric string, opts []string) error {
	tbl := ident(name)
	ix := ident(name + "_n2")
	sql := fmt.Sprintf("CREATE INDEX %s ON %s USING n2 (embedding %s)", ix, tbl, opclass(metric))
	if len(opts) > 0 {
		sql += " WITH (" + strings.Join(opts, ", ") + ")"
	}
	return idx.withConn(func(c Conn) error {
		err := inTx(ctx, c, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "DROP INDEX IF EXISTS "+ix); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, sql)
			return err
		})
		if err != nil {
			return err
		}
		_, err = c.Exec(ctx, "ANALYZE "+tbl)
		return err
	})
}

// SaveModel persists the model. The index already lives in PostgreSQL, so
// with fname "" or the index's own name it flushes pending rows and checks
// that the index has been built. With another name it saves a snapshot, as
// N2 writes a file: a new model fname (table and index, same build options)
// holding the current items, replacing an earlier n2 model of that name.
// The HnswIndex stays attached to its own model; LoadModel(fname) attaches to
// the snapshot.
func (idx *HnswIndex) SaveModel(fname string) error {
	return idx.SaveModelContext(context.Background(), fname)
}

// SaveModelContext is SaveModel with a context.
func (idx *HnswIndex) SaveModelContext(ctx context.Context, fname string) error {
	idx.mu.Lock()
	defer idx.mu.Unlock()
	if !idx.attached {
		return ErrNotLoaded
	}
	if err := idx.flushLocked(ctx); err != nil {
		return err
	}
	if err := idx.ensureTableLocked(ctx); err != nil {
		return err
	}
	var relopts []string
	var built bool
	err := idx.withConn(func(c Conn) error {
		return c.QueryRow(ctx,
			"SELECT true, coalesce(reloptions, '{}') FROM pg_class WHERE oid = to_regclass($1)",
			ident(idx.name+"_n2")).Scan(&built, &relopts)
	})
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("n2: SaveModel: %w", err)
	}
	if !built {
		return fmt.Errorf("n2: SaveModel: index %q has not been built (call Build first)", idx.name+"_n2")
	}
	if fname == "" || fname == idx.name {
		return nil
	}
	if err := checkName(fname); err != nil {
		return err
	}
	opts := make([]string, 0, len(relopts))
	for _, o := range relopts {
		k, v, ok := strings.Cut(o, "=")
		if !ok {
			continue
		}
		opts = append(opts, k+" = "+quoteLiteral(v))
	}
	err = idx.withConn(func(c Conn) error {
		return inTx(ctx, c, func(tx pgx.Tx) error {
			if err := createModelTable(ctx, tx, fname, idx.dim, idx.metric); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, fmt.Sprintf("INSERT INTO %s (id, embedding) SELECT id, embedding FROM %s ORDER BY id",
				ident(fname), ident(idx.name)))
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("n2: SaveModel: %w", err)
	}
	if err := idx.buildIndex(ctx, fname, idx.metric, opts); err != nil {
		return fmt.Errorf("n2: SaveModel: %w", err)
	}
	return nil
}

// LoadModel attaches the index to the existing n2 model fname (saved by
// SaveModel or built by another HnswIndex, in any process). Pending rows of
// the current model are flushed first. The model's dimension and metric must
// match this index's; LoadHnswIndex discovers them instead. useMmap is
// accepted for N2 compatibility and ignored: PostgreSQL's buffer cache plays
// that part.
func (idx *HnswIndex) LoadModel(fname string, useMmap ...bool) error {
	return idx.LoadModelContext(context.Background(), fname)
}

// LoadModelContext is LoadModel with a context.
func (idx *HnswIndex) LoadModelContext(ctx context.Context, fname string) error {
	return idx.load(ctx, fname, true)
}

func (idx *HnswIndex) load(ctx context.Context, fname string, checkShape bool) error {
	if err := checkName(fname); err != nil {
		return err
	}
	idx.mu.Lock()
	defer idx.mu.Unlock()
	if idx.attached {
		if err := idx.flushLocked(ctx); err != nil {
			return err
		}
	}
	var meta *modelMeta
	var next int64
	err := idx.withConn(func(c Conn) error {
		var err error
		meta, err = readMeta(ctx, c, fname)
		if err != nil {
			return err
		}
		if meta == nil {
			return fmt.Errorf("relation %q does not exist", fname)
		}
		return c.QueryRow(ctx, "SELECT coalesce(max(id) + 1, 0) FROM "+ident(fname)).Scan(&next)
	})
	if err != nil {
		return fmt.Errorf("n2: LoadModel: %w", err)
	}
	if checkShape && (meta.Dim != idx.dim || meta.Metric != idx.metric) {
		return fmt.Errorf("n2: LoadModel: model %q has dimension %d and metric %q, this index %d and %q",
			fname, meta.Dim, meta.Metric, idx.dim, idx.metric)
	}
	idx.name, idx.dim, idx.metric = fname, meta.Dim, meta.Metric
	idx.attached, idx.created = true, true
	idx.nextID, idx.pending = next, nil
	return nil
}

// UnloadModel flushes pending rows and detaches the index from its model
// (nothing is dropped: the model stays in the database). Until the next
// LoadModel, other methods return ErrNotLoaded.
func (idx *HnswIndex) UnloadModel() error {
	idx.mu.Lock()
	defer idx.mu.Unlock()
	if !idx.attached {
		return nil
	}
	err := idx.flushLocked(context.Background())
	idx.attached = false
	return err
}

// PrintConfigs prints the model's configuration (name, dimension, metric,
// items, index build options) to standard output, like N2's PrintConfigs.
func (idx *HnswIndex) PrintConfigs() error {
	return idx.WriteConfigs(os.Stdout)
}

// WriteConfigs writes what PrintConfigs prints to w.
func (idx *HnswIndex) WriteConfigs(w io.Writer) error {
	ctx := context.Background()
	idx.mu.Lock()
	defer idx.mu.Unlock()
	if !idx.attached {
		return ErrNotLoaded
	}
	var relopts []string
	built := false
	if idx.created {
		err := idx.withConn(func(c Conn) error {
			return c.QueryRow(ctx,
				"SELECT true, coalesce(reloptions, '{}') FROM pg_class WHERE oid = to_regclass($1)",
				ident(idx.name+"_n2")).Scan(&built, &relopts)
		})
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("n2: PrintConfigs: %w", err)
		}
	}
	fmt.Fprintf(w, "model: %s\ndim: %d\nmetric: %s\nitems: %d\n", idx.name, idx.dim, idx.metric, idx.nextID)
	if !built {
		fmt.Fprintf(w, "index: not built\n")
		return nil
	}
	fmt.Fprintf(w, "index: %s_n2\n", idx.name)
	if len(relopts) == 0 {
		fmt.Fprintf(w, "options: (all defaults)\n")
	}
	for _, o := range relopts {
		k, v, _ := strings.Cut(o, "=")
		fmt.Fprintf(w, "%s: %s\n", k, v)
	}
	return nil
}

// SearchByVector finds the k items nearest to v, writing their ids to
// *result and, if distances is given, their distances (N2's conventions, see
// the package documentation) to *distances. efSearch > 0 sets n2.ef_search
// for this search; -1 (any negative value) means N2's default, 50 * k
// (capped at the server's maximum for n2.ef_search, 1000); 0 leaves the
// session's n2.ef_search as it is. Like N2's binding the distances argument
// is optional.
func (idx *HnswIndex) SearchByVector(v []float32, k, efSearch int, result *[]int, distances ...*[]float32) error {
	return idx.SearchByVectorContext(context.Background(), v, k, efSearch, result, distances...)
}

// SearchByVectorContext is SearchByVector with a context.
func (idx *HnswIndex) SearchByVectorContext(ctx context.Context, v []float32, k, efSearch int, result *[]int, distances ...*[]float32) error {
	name, metric, err := idx.prepareSearch(ctx)
	if err != nil {
		return fmt.Errorf("n2: SearchByVector: %w", err)
	}
	op := operator(metric)
	tbl := ident(name)
	sql := fmt.Sprintf("SELECT id, embedding %s $1 FROM %s ORDER BY embedding %s $1 LIMIT $2", op, tbl, op)
	var ids []int
	var ds []float32
	if k > 0 {
		ids, ds, err = idx.runSearch(ctx, k, efSearch, metric, sql, Vector(v), int64(k))
		if err != nil {
			return fmt.Errorf("n2: SearchByVector: %w", err)
		}
	}
	deliver(ids, ds, result, distances)
	return nil
}

// SearchById finds the k items nearest to item id (the item itself
// included, normally first for "angular" and "L2"). Arguments as for
// SearchByVector. An id that does not exist is an error.
func (idx *HnswIndex) SearchById(id, k, efSearch int, result *[]int, distances ...*[]float32) error {
	return idx.SearchByIdContext(context.Background(), id, k, efSearch, result, distances...)
}

// SearchByIdContext is SearchById with a context.
func (idx *HnswIndex) SearchByIdContext(ctx context.Context, id, k, efSearch int, result *[]int, distances ...*[]float32) error {
	name, metric, err := idx.prepareSearch(ctx)
	if err != nil {
		return fmt.Errorf("n2: SearchById: %w", err)
	}
	op := operator(metric)
	tbl := ident(name)
	// The query vector is an uncorrelated sub-select, so it becomes an
	// InitPlan parameter the index scan can order by. The WHERE is a
	// one-time filter: nothing is scanned for a missing id.
	q := fmt.Sprintf("(SELECT embedding FROM %s WHERE id = $1)", tbl)
	sql := fmt.Sprintf("SELECT id, embedding %s %s FROM %s WHERE %s IS NOT NULL ORDER BY embedding %s %s LIMIT $2",
		op, q, tbl, q, op, q)
	var ids []int
	var ds []float32
	if k > 0 {
		ids, ds, err = idx.runSearch(ctx, k, efSearch, metric, sql, int64(id), int64(k))
		if err != nil {
			return fmt.Errorf("n2: SearchById: %w", err)
		}
		if len(ids) == 0 {
			var exists bool
			err = idx.withConn(func(c Conn) error {
				return c.QueryRow(ctx, fmt.Sprintf("SELECT EXISTS (SELECT 1 FROM %s WHERE id = $1)", tbl), int64(id)).Scan(&exists)
			})
			if err != nil {
				return fmt.Errorf("n2: SearchById: %w", err)
			}
			if !exists {
				return fmt.Errorf("n2: SearchById: no item with id %d", id)
			}
		}
	}
	deliver(ids, ds, result, distances)
	return nil
}

// BatchSearchByVectors runs SearchByVector for every vector of vs in one
// statement and one round trip. (*results)[i] and (*distances)[i] are the
// results for vs[i], the same as SearchByVector(vs[i], ...) gives.
func (idx *HnswIndex) BatchSearchByVectors(vs [][]float32, k, efSearch int, results *[][]int, distances ...*[][]float32) error {
	return idx.BatchSearchByVectorsContext(context.Background(), vs, k, efSearch, results, distances...)
}

// BatchSearchByVectorsContext is BatchSearchByVectors with a context.
func (idx *HnswIndex) BatchSearchByVectorsContext(ctx context.Context, vs [][]float32, k, efSearch int, results *[][]int, distances ...*[][]float32) error {
	name, metric, err := idx.prepareSearch(ctx)
	if err != nil {
		return fmt.Errorf("n2: BatchSearchByVectors: %w", err)
	}
	allIds := make([][]int, len(vs))
	allDs := make([][]float32, len(vs))
	if k > 0 && len(vs) > 0 {
		op := operator(metric)
		tbl := ident(name)
		sql := fmt.Sprintf(`SELECT q.ord, r.id, r.d
FROM unnest($1::vector[]) WITH ORDINALITY AS q(v, ord)
CROSS JOIN LATERAL (SELECT id, embedding %s q.v AS d FROM %s ORDER BY embedding %s q.v LIMIT $2) r`, op, tbl, op)
		type hit struct {
			id int
			d  float64
		}
		groups := make([][]hit, len(vs))
		err = idx.search(ctx, k, efSearch, sql, []interface{}{vectorArrayText(vs), int64(k)}, func(rows pgx.Rows) error {
			var ord, id int64
			var d float64
			if err := rows.Scan(&ord, &id, &d); err != nil {
				return err
			}
			if ord < 1 || int(ord) > len(vs) {
				return fmt.Errorf("unexpected query ordinal %d", ord)
			}
			groups[ord-1] = append(groups[ord-1], hit{int(id), d})
			return nil
		})
		if err != nil {
			return fmt.Errorf("n2: BatchSearchByVectors: %w", err)
		}
		for i, g := range groups {
			// Rows arrive grouped and ordered; a stable sort keeps it so
			// whatever plan the server chose.
			sort.SliceStable(g, func(a, b int) bool { return g[a].d < g[b].d })
			ids := make([]int, len(g))
			ds := make([]float32, len(g))
			for j, h := range g {
				ids[j], ds[j] = h.id, toN2Distance(metric, h.d)
			}
			allIds[i], allDs[i] = ids, ds
		}
	}
	if results != nil {
		*results = allIds
	}
	for _, d := range distances {
		if d != nil {
			*d = allDs
		}
	}
	return nil
}

// prepareSearch flushes pending rows and returns the model to search.
func (idx *HnswIndex) prepareSearch(ctx context.Context) (string, string, error) {
	idx.mu.Lock()
	defer idx.mu.Unlock()
	if !idx.attached {
		return "", "", ErrNotLoaded
	}
	if err := idx.flushLocked(ctx); err != nil {
		return "", "", err
	}
	if !idx.created {
		return "", "", fmt.Errorf("model %q is empty (add data and Build first)", idx.name)
	}
	return idx.name, idx.metric, nil
}

// runSearch runs a query returning (id, sql distance) rows in order.
func (idx *HnswIndex) runSearch(ctx context.Context, k, efSearch int, metric, sql string, args ...interface{}) ([]int, []float32, error) {
	var ids []int
	var ds []float32
	err := idx.search(ctx, k, efSearch, sql, args, func(rows pgx.Rows) error {
		var id int64
		var d float64
		if err := rows.Scan(&id, &d); err != nil {
			return err
		}
		ids = append(ids, int(id))
		ds = append(ds, toN2Distance(metric, d))
		return nil
	})
	return ids, ds, err
}

// search sends, in one batch (one round trip, one implicit transaction), the
// transaction-local settings and the query, and hands each row to scan.
func (idx *HnswIndex) search(ctx context.Context, k, efSearch int, sql string, args []interface{}, scan func(pgx.Rows) error) error {
	if efSearch < 0 {
		// N2's default: 50 * k, within the server's bound for n2.ef_search.
		maxEf, err := idx.maxEfSearch(ctx)
		if err != nil {
			return err
		}
		efSearch = maxEf
		if k <= maxEf/50 {
			efSearch = 50 * k
		}
	}
	b := &pgx.Batch{}
	// jit off: a kNN query with a LIMIT never gains from JIT compilation,
	// which the disabled seq scan's huge cost estimate would otherwise
	// trigger whenever the index is not usable (e.g. not built yet).
	const settings = "SELECT set_config('enable_seqscan', 'off', true), set_config('jit', 'off', true)"
	if efSearch > 0 {
		// The vector literal is coerced when the statement is parsed, which
		// loads the n2 library in a fresh session, so n2.ef_search is a
		// real, range-checked setting by the time set_config runs.
		b.Queue(settings+", set_config('n2.ef_search', $1, true), '[0]'::vector IS NOT NULL", strconv.Itoa(efSearch))
	} else {
		b.Queue(settings)
	}
	b.Queue(sql, args...)
	return idx.withConn(func(c Conn) error {
		br := c.SendBatch(ctx, b)
		if _, err := br.Exec(); err != nil {
			br.Close()
			return err
		}
		rows, err := br.Query()
		if err != nil {
			br.Close()
			return err
		}
		for rows.Next() {
			if err := scan(rows); err != nil {
				rows.Close()
				br.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			br.Close()
			return err
		}
		return br.Close()
	})
}

// fallbackMaxEf bounds N2's default ef_search if the server does not say.
const fallbackMaxEf = 1000

// maxEfSearch returns the server's upper bound for n2.ef_search (queried
// once; the vector literal loads the n2 library so that the setting exists).
func (idx *HnswIndex) maxEfSearch(ctx context.Context) (int, error) {
	idx.mu.Lock()
	m := idx.maxEf
	idx.mu.Unlock()
	if m > 0 {
		return m, nil
	}
	var max *int32
	err := idx.withConn(func(c Conn) error {
		return c.QueryRow(ctx, "SELECT (SELECT max_val::int FROM pg_settings WHERE name = 'n2.ef_search') "+
			"WHERE '[0]'::vector IS NOT NULL").Scan(&max)
	})
	if err != nil {
		return 0, err
	}
	m = fallbackMaxEf
	if max != nil && *max > 0 {
		m = int(*max)
	}
	idx.mu.Lock()
	idx.maxEf = m
	idx.mu.Unlock()
	return m, nil
}

// flushLocked COPYs pending rows into the table. On failure the batch is
// dropped and ids restart at its first id. Caller holds idx.mu.
func (idx *HnswIndex) flushLocked(ctx context.Context) error {
	if len(idx.pending) == 0 {
		return nil
	}
	rows, from := idx.pending, idx.pendFrom
	idx.pending = nil
	if err := idx.ensureTableLocked(ctx); err != nil {
		idx.nextID = from
		return err
	}
	err := idx.withConn(func(c Conn) error {
		_, err := c.CopyFrom(ctx, pgx.Identifier{idx.name}, []string{"id", "embedding"},
			pgx.CopyFromSlice(len(rows), func(i int) ([]interface{}, error) {
				return []interface{}{from + int64(i), rows[i]}, nil
			}))
		return err
	})
	if err != nil {
		idx.nextID = from
		return fmt.Errorf("n2: AddData: flushing ids %d..%d: %w", from, from+int64(len(rows))-1, err)
	}
	return nil
}

// ensureTableLocked creates the model's table on first write. Caller holds
// idx.mu.
func (idx *HnswIndex) ensureTableLocked(ctx context.Context) error {
	if idx.created {
		return nil
	}
	err := idx.withConn(func(c Conn) error {
		return inTx(ctx, c, func(tx pgx.Tx) error {
			return createModelTable(ctx, tx, idx.name, idx.dim, idx.metric)
		})
	})
	if err != nil {
		return fmt.Errorf("n2: creating model %q: %w", idx.name, err)
	}
	idx.created = true
	return nil
}

// createModelTable creates the table of model name, replacing an existing
// n2 model (never any other table).
func createModelTable(ctx context.Context, tx pgx.Tx, name string, dim int, metric string) error {
	var relkind string
	var comment *string
	err := tx.QueryRow(ctx,
		"SELECT relkind::text, obj_description(oid, 'pg_class') FROM pg_class WHERE oid = to_regclass($1)",
		ident(name)).Scan(&relkind, &comment)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return err
	default:
		if relkind != "r" || comment == nil || !strings.HasPrefix(*comment, commentPrefix) {
			return fmt.Errorf("relation %q already exists and is not an n2 model; not replacing it", name)
		}
		if _, err := tx.Exec(ctx, "DROP TABLE "+ident(name)); err != nil {
			return err
		}
	}
	tbl := ident(name)
	if _, err := tx.Exec(ctx, fmt.Sprintf(
		"CREATE TABLE %s (id bigint PRIMARY KEY, embedding vector(%d) NOT NULL)", tbl, dim)); err != nil {
		return err
	}
	meta, _ := json.Marshal(modelMeta{Dim: dim, Metric: metric})
	_, err = tx.Exec(ctx, fmt.Sprintf("COMMENT ON TABLE %s IS %s", tbl, quoteLiteral(commentPrefix+string(meta))))
	return err
}

// readMeta reads the model metadata of table name; nil if it does not exist.
func readMeta(ctx context.Context, c Conn, name string) (*modelMeta, error) {
	var comment *string
	err := c.QueryRow(ctx,
		"SELECT obj_description(oid, 'pg_class') FROM pg_class WHERE oid = to_regclass($1) AND relkind = 'r'",
		ident(name)).Scan(&comment)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if comment == nil || !strings.HasPrefix(*comment, commentPrefix) {
		return nil, fmt.Errorf("relation %q is not an n2 model", name)
	}
	var m modelMeta
	if err := json.Unmarshal([]byte(strings.TrimPrefix(*comment, commentPrefix)), &m); err != nil {
		return nil, fmt.Errorf("relation %q: unreadable n2 model comment: %v", name, err)
	}
	metric, err := normalizeMetric(m.Metric)
	if err != nil || m.Dim <= 0 {
		return nil, fmt.Errorf("relation %q: bad n2 model comment %q", name, *comment)
	}
	m.Metric = metric
	return &m, nil
}

// withConn runs f with the connection, serialised if it is not a pool.
func (idx *HnswIndex) withConn(f func(Conn) error) error {
	if idx.shared {
		idx.connMu.Lock()
		defer idx.connMu.Unlock()
	}
	return f(idx.conn)
}

// inTx runs f in a transaction (a savepoint when c is already a pgx.Tx).
func inTx(ctx context.Context, c Conn, f func(pgx.Tx) error) error {
	tx, err := c.Begin(ctx)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback(ctx)
		return err
	}
	return tx.Commit(ctx)
}

func deliver(ids []int, ds []float32, result *[]int, distances []*[]float32) {
	if ids == nil {
		ids = []int{}
		ds = []float32{}
	}
	if result != nil {
		*result = ids
	}
	for _, d := range distances {
		if d != nil {
			*d = ds
		}
	}
}

// toN2Distance converts what the SQL operator returns to N2's distance.
func toN2Distance(metric string, d float64) float32 {
	switch metric {
	case L2:
		return float32(d * d) // <-> is Euclidean; N2 reports it squared
	case Dot:
		return float32(-d) // <#> is the negative inner product
	default:
		return float32(d) // <=> is 1 - cos, as N2's angular
	}
}

func operator(metric string) string {
	switch metric {
	case L2:
		return "<->"
	case Dot:
		return "<#>"
	default:
		return "<=>"
	}
}

func opclass(metric string) string {
	switch metric {
	case L2:
		return "vector_l2_ops"
	case Dot:
		return "vector_dot_ops"
	default:
		return "vector_angular_ops"
	}
}

func normalizeMetric(m string) (string, error) {
	switch strings.ToLower(m) {
	case "", "angular":
		return Angular, nil
	case "l2", "euclidean":
		return L2, nil
	case "dot":
		return Dot, nil
	}
	return "", fmt.Errorf("n2: unknown metric %q (want \"angular\", \"L2\" or \"dot\")", m)
}

func checkName(name string) error {
	if name == "" {
		return errors.New("n2: empty model name")
	}
	if len(name) > maxNameLen {
		return fmt.Errorf("n2: model name %q longer than %d bytes", name, maxNameLen)
	}
	if strings.IndexByte(name, 0) >= 0 {
		return fmt.Errorf("n2: model name %q contains a NUL byte", name)
	}
	return nil
}

// ident quotes one SQL identifier.
func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// quoteLiteral quotes a string as an SQL literal, like quote_literal().
func quoteLiteral(s string) string {
	q := "'" + strings.ReplaceAll(s, "'", "''") + "'"
	if strings.Contains(s, `\`) {
		q = "E" + strings.ReplaceAll(q, `\`, `\\`)
	}
	return q
}
