# n2: PostgreSQL extension built with PGXS.
#
# Sources are picked up by wildcard so that adding a file needs no edit here:
#   src/*.c        PostgreSQL layer (type, access method callbacks, WAL)
#   src/core/*.c   pure C core (no PostgreSQL headers), also unit-tested alone
#   src/sql/*.sql  pieces of the extension script, concatenated in name order
#   src/sql/versions/  the full scripts of earlier versions, frozen, and the
#                  update scripts between versions
#   sql/*.sql      pg_regress tests, t/*.pl TAP tests, specs/*.spec isolation

EXTENSION = n2
# The version being built is the control file's default_version.
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'$$/\1/p" $(EXTENSION).control)
MODULE_big = n2

CORE_SRCS = $(sort $(wildcard src/core/*.c))
PG_SRCS = $(sort $(wildcard src/*.c))
OBJS = $(PG_SRCS:.c=.o) $(CORE_SRCS:.c=.o)

DATA_built = $(EXTENSION)--$(EXTVERSION).sql
DATA = $(sort $(wildcard src/sql/versions/$(EXTENSION)--*.sql))
EXTRA_CLEAN = test/unit/build

REGRESS = $(sort $(basename $(notdir $(wildcard sql/*.sql))))
REGRESS_OPTS = --inputdir=. --load-extension=$(EXTENSION)
ISOLATION = $(sort $(basename $(notdir $(wildcard specs/*.spec))))
ISOLATION_OPTS = --load-extension=$(EXTENSION)
TAP_TESTS = 1

PG_CONFIG ?= pg_config

# No LLVM bitcode: it would need clang-14 on every build machine and the JIT
# gains nothing from inlining our distance kernels.
override with_llvm = no

PG_CFLAGS = -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare -Wno-missing-field-initializers -Wno-clobbered
SHLIB_LINK = -lpthread -lm -Wl,-Bsymbolic

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks no header dependencies: rebuild everything when a header changes,
# so that no object keeps an old page layout.
$(OBJS): $(wildcard src/*.h src/core/*.h)

# SIMD kernels get their instruction sets per file; the dispatcher picks one at
# run time, so the library still loads on any x86-64.
src/core/distance_avx2.o: CFLAGS += -mavx2 -mfma
src/core/distance_avx512.o: CFLAGS += -mavx512f -mavx2 -mfma
src/core/code_avx2.o: CFLAGS += -mavx2 -mfma -mf16c
src/core/code_avx512.o: CFLAGS += -mavx512f -mavx512bw -mavx2 -mfma -mf16c

$(EXTENSION)--$(EXTVERSION).sql: $(sort $(wildcard src/sql/*.sql))
	cat $^ > $@

# Core unit tests: built with plain cc, no PostgreSQL, run by `make unittest`.
UNIT_CC ?= cc
UNIT_CFLAGS = -std=gnu11 -O2 -g -Wall -Wextra -Wno-unused-parameter -Isrc/core
UNIT_TESTS = $(patsubst test/unit/%.c,test/unit/build/%,$(filter-out test/unit/unit.c,$(wildcard test/unit/test_*.c)))
UNIT_CORE_OBJS = $(patsubst src/core/%.c,test/unit/build/core/%.o,$(CORE_SRCS))

test/unit/build/core/%.o: src/core/%.c $(wildcard src/core/*.h)
	@mkdir -p $(dir $@)
	$(UNIT_CC) $(UNIT_CFLAGS) -c $< -o $@
test/unit/build/core/distance_avx2.o: UNIT_CFLAGS += -mavx2 -mfma
test/unit/build/core/distance_avx512.o: UNIT_CFLAGS += -mavx512f -mavx2 -mfma
test/unit/build/core/code_avx2.o: UNIT_CFLAGS += -mavx2 -mfma -mf16c
test/unit/build/core/code_avx512.o: UNIT_CFLAGS += -mavx512f -mavx512bw -mavx2 -mfma -mf16c

test/unit/build/%: test/unit/%.c $(wildcard test/unit/*.h) $(UNIT_CORE_OBJS)
	@mkdir -p $(dir $@)
	$(UNIT_CC) $(UNIT_CFLAGS) -Itest/unit $< $(UNIT_CORE_OBJS) -o $@ -lpthread -lm

# Runs every unit program, even after a failure, and lists the failures at the
# end; the datasets are in $(N2_DATA_DIR) (the environment's, else ../shared/data).
N2_DATA_DIR ?= $(abspath ../shared/data)

.PHONY: unittest
unittest: $(UNIT_TESTS) src/pagegraph.o src/core/build.o
	@failed=; \
	for t in $(UNIT_TESTS); do \
		echo "== $$t"; \
		N2_DATA_DIR='$(N2_DATA_DIR)' $$t || failed="$$failed $$t"; \
	done; \
	echo "== test/unit/prefetch.sh"; \
	test/unit/prefetch.sh src/pagegraph.o distances_batch 5 \
		src/pagegraph.o graph_distances 4 \
		src/core/build.o graph_distances 4 \
		test/unit/build/core/build.o graph_distances 4 || failed="$$failed prefetch.sh"; \
	if [ -n "$$failed" ]; then echo "unit tests FAILED:$$failed"; exit 1; fi; \
	echo "unit tests: all $(words $(UNIT_TESTS)) passed"

# TAP tests share helpers in t/ (t/N2Test.pm).
PROVE_FLAGS += -I ./t

# Micro-benchmarks and tools built against the core alone.
bench/build/%: bench/%.c $(wildcard bench/*.h) $(UNIT_CORE_OBJS)
	@mkdir -p $(dir $@)
	$(UNIT_CC) $(UNIT_CFLAGS) -O3 $< $(UNIT_CORE_OBJS) -o $@ -lpthread -lm

.PHONY: bench-kernels
bench-kernels: bench/build/kernels
	bench/build/kernels

# ---- bench: benchmark suite, see bench/run.sh ----
# make bench DATASET=bigann10k|fashion-mnist [SETTINGS='m=16,...;m=16,...'] [EF='10 32 64'] [ROUNDS=3] [PIN=same|split|off]
#            [COMPRESSION=lz4] [TOAST_TUPLE_TARGET=8160]
# Runs as root: builds, installs this tree into a private copy of PostgreSQL,
# starts a throwaway cluster from it, writes
# bench/results/<dataset>-<timestamp>/ (results.md, results.csv, recall_qps.png).
DATASET ?= bigann10k
BENCH_PG_INCLUDEDIR := $(shell $(PG_CONFIG) --includedir)
BENCH_PG_LIBDIR := $(shell $(PG_CONFIG) --libdir)

bench/build/n2bench: bench/n2bench.c bench/vecs.h bench/graphfile.h bench/score.h
	@mkdir -p $(dir $@)
	$(UNIT_CC) -std=gnu11 -O2 -g -Wall -Wextra -Wno-unused-parameter -I$(BENCH_PG_INCLUDEDIR) $< -o $@ -L$(BENCH_PG_LIBDIR) -lpq -lm

.PHONY: bench
bench: all bench/build/n2bench bench/build/core_bench
	DATASET='$(DATASET)' SETTINGS='$(SETTINGS)' EF='$(EF)' NQ='$(NQ)' ROUNDS='$(ROUNDS)' MINTIME='$(MINTIME)' PIN='$(PIN)' \
		COMPRESSION='$(COMPRESSION)' TOAST_TUPLE_TARGET='$(TOAST_TUPLE_TARGET)' bench/run.sh

# make bench-callgrind [DATASET=bigann10k] [EF=20] [NQ=100]: instructions and
# simulated cache misses per query of the scan, repeatable (bench/callgrind.sh).
.PHONY: bench-callgrind
bench-callgrind: all bench/build/n2bench
	DATASET='$(DATASET)' EF='$(EF)' NQ='$(NQ)' bench/callgrind.sh

# make bench-vacuum [DATASET=bigann10k|fashion-mnist|synth] [DELETES='5 5 30']:
# DELETE and VACUUM rounds, n2 against pgvector in one cluster (bench/vacuum.sh).
.PHONY: bench-vacuum
bench-vacuum: all bench/build/n2bench
	DATASET='$(DATASET)' DELETES='$(DELETES)' EF='$(EF)' NQ='$(NQ)' bench/vacuum.sh
# ---- end bench ----

# ---- fuzz: libFuzzer target for the vector text parser and binary receive ----
# make fuzz [FUZZ_SECONDS=60]   (clang-14 + libclang-rt-14-dev; not part of CI)
# Builds test/fuzz/build/fuzz_vector from src/vector.c + backend stubs
# (test/fuzz/pg_stubs.c) and runs it on test/fuzz/build/corpus (seeded from
# test/fuzz/seeds).  See test/fuzz/README.md.
FUZZ_CC ?= clang-14
FUZZ_SECONDS ?= 60
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS = -g -O1 -std=gnu11 -w $(FUZZ_SAN) -fsanitize=fuzzer-no-link -Isrc -Itest/fuzz -I$(shell $(PG_CONFIG) --includedir-server)
FUZZ_SRCS = src/vector.c src/core/distance.c test/fuzz/pg_stubs.c test/fuzz/unused_stubs.c test/fuzz/fuzz_vector.c
FUZZ_OBJS = $(patsubst %.c,test/fuzz/build/%.o,$(notdir $(FUZZ_SRCS))) test/fuzz/build/distance_avx2.o test/fuzz/build/distance_avx512.o

test/fuzz/build/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@
test/fuzz/build/%.o: src/core/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@
test/fuzz/build/%.o: test/fuzz/%.c test/fuzz/fuzz.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@
test/fuzz/build/distance_avx2.o: FUZZ_CFLAGS += -mavx2 -mfma
test/fuzz/build/distance_avx512.o: FUZZ_CFLAGS += -mavx512f -mavx2 -mfma

test/fuzz/build/fuzz_vector: $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer $^ -o $@ -L$(shell $(PG_CONFIG) --pkglibdir) -lpgcommon -lpgport -lm

.PHONY: fuzz
fuzz: test/fuzz/build/fuzz_vector
	@mkdir -p test/fuzz/build/corpus
	cp -n test/fuzz/seeds/* test/fuzz/build/corpus/ 2>/dev/null || true
	test/fuzz/build/fuzz_vector -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -print_final_stats=1 test/fuzz/build/corpus
# ---- end fuzz ----
