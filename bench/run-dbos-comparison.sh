#!/usr/bin/env bash
# The durable workflow host beside DBOS Transact (TypeScript SDK, bench/dbos) on one throwaway
# PostgreSQL 15 cluster with the server's durable defaults (fsync, synchronous_commit and
# full_page_writes on), removed afterwards, also on failure or interrupt. bench/README.md, "Host
# vs DBOS Transact", says what each side runs and counts.
#
#     bench/run-dbos-comparison.sh [BUILD_DIR] [--n1 N] [--n64 N] [--repeats R] [--state-kb K]
#                                  [--pool P]
#
# BUILD_DIR defaults to build/default. One workflow on either side: a start, three steps that
# each checkpoint a K KB state, a completion: five transactions, three of them step
# checkpoints. Both run N workflows with 1, then 64, in flight, R times, alternating sides; the
# table gives the median of the R runs. "checkpoints/s" counts all five writes per workflow on
# both sides (step checkpoints are 3/5 of it). Each run measures its own timed window on the
# server: transaction ids used (subtransactions included) and WAL bytes per workflow. CPU per
# workflow, client (the bench process) and server (every process of the cluster, exited backends
# included), is measured around the whole process, so it includes each side's setup (schema
# creation; DBOS's launch and 100 warm-up workflows): a few per cent at these N.
#
# Connection pools: each side's default unless --pool P gives both P: the durable store's
# pg_store_settings::max_connections (8) and DBOS's systemDatabasePoolSize (10). On 2 vCPUs a
# pool of 64 is slower than 8-16 for both (bench/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/default
if [[ $# -gt 0 && $1 != --* ]]; then
    build=$1
    shift
fi
n1=2000
n64=6000
repeats=3
state_kb=4
durable_pool=8
dbos_pool=10
while [[ $# -gt 0 ]]; do
    case $1 in
        --n1) n1=$2; shift 2 ;;
        --n64) n64=$2; shift 2 ;;
        --repeats) repeats=$2; shift 2 ;;
        --state-kb) state_kb=$2; shift 2 ;;
        --pool) durable_pool=$2; dbos_pool=$2; shift 2 ;;
        *) echo "run-dbos-comparison: unknown argument '$1'" >&2; exit 2 ;;
    esac
done

bench=$build/bench/host/durable-host-bench
if [[ ! -x $bench ]]; then
    echo "run-dbos-comparison: building $bench" >&2
    cmake --build "$build" --target durable-host-bench >&2
fi
if [[ ! -d bench/dbos/node_modules/@dbos-inc/dbos-sdk ]]; then
    echo "run-dbos-comparison: npm ci in bench/dbos" >&2
    (cd bench/dbos && npm ci --no-audit --no-fund >&2)
fi

cluster=""
work=$(mktemp -d /tmp/dbos-cmp.XXXXXX)
stop() {
    if [[ -n $cluster ]]; then
        bash tests/pg/stop_cluster.sh "$cluster" || true
        cluster=""
    fi
    rm -rf "$work"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# The store's pool and DBOS's pool open up to 64 connections each.
exports=$(DURABLE_PG_SERVER_OPTIONS="-c max_connections=200" bash tests/pg/start_cluster.sh)
eval "$exports"
cluster=$DURABLE_PG_CLUSTER
psql_() { psql -X -q -At -h 127.0.0.1 -p "$PGPORT" -U "$PGUSER" "$@"; }
postmaster=$(head -1 "$cluster/data/postmaster.pid")
# CPU seconds used so far by the cluster: its live processes, plus the exited children the
# postmaster has reaped (cutime, cstime).
server_cpu() {
    sleep 0.3  # lets the postmaster reap the backends of a process that just ended
    local total=0 pid f
    for pid in $postmaster $(ps -o pid= --ppid "$postmaster"); do
        f=$(cut -d')' -f2- "/proc/$pid/stat" 2>/dev/null) || continue
        if [[ $pid == "$postmaster" ]]; then
            total=$((total + $(awk '{ print $12 + $13 + $14 + $15 }' <<<"$f")))
        else
            total=$((total + $(awk '{ print $12 + $13 }' <<<"$f")))
        fi
    done
    echo "$total"
}
ticks=$(getconf CLK_TCK)

# One line per run: side concurrency workflows/s xids/workflow wal-bytes/workflow
#                   client-cpu-ms/workflow server-cpu-ms/workflow
results=$work/results
: >"$results"

run_durable() {  # concurrency instances run-number
    local c=$1 n=$2 db=durable_r$3_c$1 out s0 s1
    psql_ -d postgres -c "create database $db"
    s0=$(server_cpu)
    out=$(/usr/bin/time -f '%U %S' -o "$work/time" "$bench" --stores pg --pg "host=127.0.0.1 port=$PGPORT user=$PGUSER dbname=$db" --instances "$n" \
        --concurrency "$c" --state-kb "$state_kb" --pg-pool "$durable_pool" --parallel-starts --host-only --pg-marks bench_marks)
    s1=$(server_cpu)
    echo "$out" | sed 's/^/  /' >&2
    local wfs marks
    wfs=$(echo "$out" | awk '$1 == "pg" { print $2 }')
    marks=$(psql_ -d "$db" -F ' ' -c "select a.next_xid - b.next_xid - 1, a.wal_bytes - b.wal_bytes
        from bench_marks a, bench_marks b where a.label = 'after' and b.label = 'before'")
    echo "durable $c $wfs $(awk -v n="$n" '{ printf "%.2f %.0f", $1 / n, $2 / n }' <<<"$marks") $(cpu_per_workflow "$n" "$s0" "$s1")" >>"$results"
}

cpu_per_workflow() {  # instances server-cpu-before server-cpu-after; reads $work/time
    awk -v n="$1" -v s="$(($3 - $2))" -v t="$ticks" '{ printf "%.3f %.3f", ($1 + $2) * 1000 / n, s * 1000 / t / n }' "$work/time"
}

run_dbos() {  # concurrency instances run-number
    local c=$1 n=$2 db=dbos_r$3_c$1 out s0 s1
    # A fresh database each run, as durable's side gets (DBOS creates and migrates it at launch).
    s0=$(server_cpu)
    out=$(cd bench/dbos && /usr/bin/time -f '%U %S' -o "$work/time" node --no-deprecation bench.js --url "postgres://$PGUSER@127.0.0.1:$PGPORT/$db" \
        --instances "$n" --concurrency "$c" --state-kb "$state_kb" --pool "$dbos_pool")
    s1=$(server_cpu)
    echo "  $out" >&2
    echo "$(node -e '
        const r = JSON.parse(process.argv[1]);
        console.log(`dbos ${r.concurrency} ${r.workflowsPerSecond.toFixed(1)} ${r.writeTransactionsPerWorkflow.toFixed(2)} ${r.walBytesPerWorkflow.toFixed(0)}`);
    ' "$out") $(cpu_per_workflow "$n" "$s0" "$s1")" >>"$results"
}

dbos_version=$(node -p 'require("./bench/dbos/node_modules/@dbos-inc/dbos-sdk/package.json").version' 2>/dev/null ||
    sed -n 's/.*"version": "\(.*\)".*/\1/p' bench/dbos/node_modules/@dbos-inc/dbos-sdk/package.json | head -1)
echo "run-dbos-comparison: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); PostgreSQL $(psql_ -d postgres -c 'show server_version'), fsync $(psql_ -d postgres -c 'show fsync'), synchronous_commit $(psql_ -d postgres -c 'show synchronous_commit'); node $(node --version), DBOS SDK $dbos_version; $state_kb KB states; $n1 workflows at 1, $n64 at 64; $repeats runs each; pools: durable $durable_pool, DBOS $dbos_pool connections" >&2

for ((r = 1; r <= repeats; ++r)); do
    for c in 1 64; do
        n=$n1
        [[ $c -eq 64 ]] && n=$n64
        # Alternate which side goes first, so neither always meets the warmer (or more bloated) server.
        if ((r % 2)); then
            echo "run $r, $c in flight: durable" >&2; run_durable "$c" "$n" "$r"
            echo "run $r, $c in flight: dbos" >&2; run_dbos "$c" "$n" "$r"
        else
            echo "run $r, $c in flight: dbos" >&2; run_dbos "$c" "$n" "$r"
            echo "run $r, $c in flight: durable" >&2; run_durable "$c" "$n" "$r"
        fi
    done
done
echo "run-dbos-comparison: load after $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# The table: medians of the runs; checkpoints/s = 5 x workflows/s on both sides.
awk -v state_kb="$state_kb" '
    function median(list,    n, a, i, j, t) {
        n = split(list, a, " ")
        for (i = 1; i <= n; ++i) for (j = i + 1; j <= n; ++j) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    { key = $1 " " $2; wfs[key] = wfs[key] " " $3; xid[key] = xid[key] " " $4; wal[key] = wal[key] " " $5; all[key] = all[key] " " int($3 + 0.5)
      ccpu[key] = ccpu[key] " " $6; scpu[key] = scpu[key] " " $7 }
    END {
        printf "\n%s KB states, median of runs (all runs: workflows/s)\n\n", state_kb
        printf "| in flight | durable workflows/s | DBOS workflows/s | durable checkpoints/s | DBOS checkpoints/s | durable / DBOS | durable xids, WAL per workflow | DBOS xids, WAL per workflow | runs durable; DBOS |\n"
        printf "|---|---|---|---|---|---|---|---|---|\n"
        for (c = 1; c <= 64; c += 63) {
            d = median(wfs["durable " c]); b = median(wfs["dbos " c])
            printf "| %d | %.0f | %.0f | %.0f | %.0f | **%.2f x** | %s, %.1f KB | %s, %.1f KB | %s; %s |\n", c, d, b, 5 * d, 5 * b, d / b,
                median(xid["durable " c]), median(wal["durable " c]) / 1024, median(xid["dbos " c]), median(wal["dbos " c]) / 1024,
                substr(all["durable " c], 2), substr(all["dbos " c], 2)
        }
        printf "\nCPU per workflow, ms (whole process, medians): client (host bench / node) and server (PostgreSQL)\n\n"
        printf "| in flight | durable client | durable server | DBOS client | DBOS server |\n|---|---|---|---|---|\n"
        for (c = 1; c <= 64; c += 63)
            printf "| %d | %.3f | %.3f | %.3f | %.3f |\n", c, median(ccpu["durable " c]), median(scpu["durable " c]),
                median(ccpu["dbos " c]), median(scpu["dbos " c])
    }' "$results"
