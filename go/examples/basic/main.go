// Command basic is N2's Go "Basic Usage" example on PostgreSQL: 1000 random
// 3-d vectors, Build, SaveModel, SearchByVector. Only the constructor differs
// from N2's example (plus opening the connection it takes).
//
// The connection comes from DATABASE_URL if set, else from the standard
// PostgreSQL environment (PGHOST, PGPORT, PGUSER, PGDATABASE, ...). The
// database needs `CREATE EXTENSION n2`. The model is left behind as table
// basic_usage (index basic_usage_n2), saved as "test.ann" too.
package main

import (
	"context"
	"fmt"
	"math/rand"
	"os"

	"github.com/jackc/pgx/v4"

	"n2"
)

func main() {
	conn, err := pgx.Connect(context.Background(), os.Getenv("DATABASE_URL"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "connect:", err)
		os.Exit(1)
	}
	defer conn.Close(context.Background())

	f := 3
	t, err := n2.NewHnswIndex(conn, "basic_usage", f, "angular") // N2: t := n2.NewHnswIndex(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for i := 0; i < 1000; i++ {
		item := make([]float32, 0, f)
		for x := 0; x < f; x++ {
			item = append(item, rand.Float32())
		}
		t.AddData(item)
	}
	t.Build(5, 10, 4, 10, 3.5, "heuristic", "skip")
	t.PrintConfigs()
	t.SaveModel("test.ann")
	var result []int
	var distance []float32
	t.SearchByVector([]float32{2, 1, 0}, 1000, -1, &result, &distance)
	fmt.Println(result)
	fmt.Println(distance)

	// N2's binding reports nothing; here every call returns an error, which
	// the lines above discard exactly as N2's example does. Checked (SaveModel
	// fails if Build did):
	if err := t.SaveModel("test.ann"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := t.SearchByVector([]float32{2, 1, 0}, 10, -1, &result, &distance); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("10 nearest:", result)
}
