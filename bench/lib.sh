# shellcheck shell=bash
# bench/lib.sh -- what bench/run.sh and bench/callgrind.sh share: the data sets and
# the throwaway cluster.  Source it after scripts/lib.sh; it sets no shell options.

# bench_dataset NAME: sets BASE, QUERY, GT, GT_DIST, NQ (unless set) and the
# pgvector targets T_BUILD, T_SIZE_MB, T_QPS, T_RECALL (empty for custom sets).
bench_dataset() {
	local data=${DATA_DIR:-$root/../shared/data} d
	case $1 in
	bigann10k)
		d=$data/bigann10k-128-euclidean
		BASE=$d/base_disjoint.fvecs QUERY=$d/query.fvecs
		GT=$d/groundtruth_disjoint.ivecs GT_DIST=$d/groundtruth_disjoint_distances.fvecs
		NQ=${NQ:-100}
		# pgvector 0.8.6, m=16, ef_construction=64, same machine class
		T_BUILD=1.74 T_SIZE_MB=7.9 T_QPS=2714 T_RECALL=0.973 ;;
	fashion-mnist)
		d=$data/fashion-mnist-784-euclidean
		BASE=$d/base.fvecs QUERY=$d/query.fvecs
		GT=$d/groundtruth.ivecs GT_DIST=$d/groundtruth_distances.fvecs
		NQ=${NQ:-1000}
		T_BUILD=24.5 T_SIZE_MB=234 T_QPS=1628 T_RECALL=0.970 ;;
	custom)
		: "${BASE:?BASE=base.fvecs needed}" "${QUERY:?QUERY=query.fvecs needed}"
		: "${GT_DIST:?GT_DIST=groundtruth_distances.fvecs needed}" "${GT:?GT=groundtruth.ivecs needed}"
		NQ=${NQ:-0} T_BUILD= T_SIZE_MB= T_QPS= T_RECALL= ;;
	*) die "unknown DATASET '$1' (bigann10k, fashion-mnist, custom)" ;;
	esac
	for d in "$BASE" "$QUERY" "$GT" "$GT_DIST"; do [ -r "$d" ] || die "missing data file $d"; done
}

# bench_cluster_start WORK SHARED_BUFFERS FIRST_PORT: a throwaway cluster in WORK
# (a new folder) running this tree's n2; sets N2_PGPORT and what n2_cluster_start sets.
#
# It runs from a private PostgreSQL root: copies of the server's bin, lib and share
# folders with this tree's n2 installed into it (make install DESTDIR=).  PostgreSQL
# finds lib and share relative to its binary, so the cluster runs exactly this
# build, whatever else is installed meanwhile, and nothing is installed system-wide.
bench_cluster_start() {
	local work=$1 pgroot=$1/pg d
	chmod 755 "$work"
	cat >"$work/extra.conf" <<-EOF
		shared_buffers = $2
		maintenance_work_mem = 2GB
		work_mem = 64MB
		jit = off
		synchronous_commit = off
		max_wal_size = 8GB
		checkpoint_timeout = 1h
	EOF
	for d in "$("$N2_PG_CONFIG" --bindir)" "$("$N2_PG_CONFIG" --pkglibdir)" "$("$N2_PG_CONFIG" --sharedir)"; do
		mkdir -p "$pgroot$d"
		cp -a "$d/." "$pgroot$d/"
	done
	log "install n2 from $root into $pgroot"
	make -C "$root" install DESTDIR="$pgroot" PG_CONFIG="$N2_PG_CONFIG" >"$work/install.log" 2>&1 \
		|| { tail -n 30 "$work/install.log"; die "make install DESTDIR=$pgroot failed"; }
	N2_PG_BINDIR=$pgroot$("$N2_PG_CONFIG" --bindir)
	N2_PGPORT=$(n2_free_port "$3")
	n2_cluster_start "$work" "$N2_PGPORT" "$work/extra.conf"
}

# bench_pgvector_build TARBALL WORK LOG: unpacks pgvector into WORK and builds it
# against N2_PG_CONFIG (output appended to LOG); sets pgv_src.
bench_pgvector_build() {
	log "build pgvector from $1"
	tar -xzf "$1" -C "$2"
	pgv_src=$2/$(tar -tzf "$1" | awk -F/ 'NR == 1 { print $1 }')
	make -C "$pgv_src" PG_CONFIG="$N2_PG_CONFIG" >>"$3" 2>&1 ||
		die "pgvector build failed (see $3)"
}

# bench_pgvector_install PGROOT LOG: installs the pgvector bench_pgvector_build
# built into a private PostgreSQL root (bench_cluster_start's WORK/pg).
bench_pgvector_install() {
	make -C "$pgv_src" install PG_CONFIG="$N2_PG_CONFIG" DESTDIR="$1" >>"$2" 2>&1 ||
		die "pgvector install failed (see $2)"
}
