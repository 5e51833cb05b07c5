#!/usr/bin/env bash
# bench/run.sh: throughput and latency of verifyd on loopback, as ratios to a minimal server on
# the same HTTP library (bench/baseline.c) measured in the same run. See bench/README.md.
#
# It builds build/bench/baseline, starts it and build/verifyd (fresh data dir) on free loopback
# ports, seeds BENCH_SESSIONS sessions in one account through the API (bench/seed.mjs), then
# runs every scenario BENCH_RUNS times with wrk and prints a table per run and a table of medians
# with ratios and targets. Results also go to build/bench/results-<timestamp>.json.
#
# Exit status: 0 when every measurement completed, whether or not targets were met (they are
# reported as PASS/FAIL); non-zero on any error (a server that does not start, a failed seed, any
# response with status >= 400 or any socket error during a measurement).
#
# Environment (defaults in brackets):
#   BENCH_RUNS [3]  BENCH_DURATION [10s]  BENCH_WARMUP [2s, 0 for none]
#   BENCH_THREADS [2]  BENCH_CONNECTIONS [64]  BENCH_SESSIONS [100000]
#   BENCH_SCENARIOS ["baseline retrieve list create"]
#   BENCH_ONLY_BASELINE [0]  1: measure the baseline alone (no verifyd, no seeding)
#   BENCH_VERIFYD [build/verifyd]  BENCH_VERIFYD_ARGS: extra arguments for verifyd
#
# Adding a scenario: write a function scenario_NAME that sets the S_* variables (see
# scenario_retrieve), optionally setup_NAME (run once after seeding, before the first run; it may
# start extra servers with start_server and register them in PORT[...]), and add NAME to
# BENCH_SCENARIOS or to the default list below.
set -euo pipefail

cd "$(dirname "$0")/.."

RUNS=${BENCH_RUNS:-3}
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-64}
SESSIONS=${BENCH_SESSIONS:-100000}
ONLY_BASELINE=${BENCH_ONLY_BASELINE:-0}
VERIFYD=${BENCH_VERIFYD:-build/verifyd}
read -r -a VERIFYD_EXTRA <<<"${BENCH_VERIFYD_ARGS:-}"
if [ "$ONLY_BASELINE" = 1 ]; then
    SCENARIOS=${BENCH_SCENARIOS:-baseline}
else
    SCENARIOS=${BENCH_SCENARIOS:-baseline retrieve list create}
fi
read -r -a SCENARIOS <<<"$SCENARIOS"

KEY=sk_test_bench
OUT=build/bench
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS=$OUT/results-$STAMP.json
RAW=$OUT/raw-$STAMP # wrk's full output of every measurement, for reading by hand

log() { echo "bench: $*" >&2; }
die() {
    echo "bench: error: $*" >&2
    exit 1
}

# ---------------------------------------------------------------------------------------------
# Processes and temporary files: everything started is recorded here and undone on exit.

declare -a PIDS=()
declare -A PORT=()  # server name -> port
declare -A LOGF=()  # server name -> log file
declare -A SPID=()  # server name -> pid
# The data dir lives under build/, not in /tmp: /tmp may be a tmpfs, where fdatasync costs
# nothing and "full durability" would not be measured.
mkdir -p build/bench
WORK=$(mktemp -d "$PWD/build/bench/work.XXXXXX")

CHILD="" # the load generator running now, if any

# run_child OUTFILE CMD...: runs CMD with stdout and stderr to OUTFILE and waits for it. It runs
# in the background so that a signal to this script ends it at once (bash defers traps until a
# foreground command ends), and cleanup() stops it.
run_child() {
    local outfile=$1 rc=0
    shift
    "$@" >"$outfile" 2>&1 &
    CHILD=$!
    wait "$CHILD" || rc=$?
    CHILD=""
    return "$rc"
}

cleanup() {
    local pid i
    if [ -n "$CHILD" ]; then
        kill "$CHILD" 2>/dev/null || true
        wait "$CHILD" 2>/dev/null || true
    fi
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        # Give each server 5 s to stop cleanly, then stop it hard.
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    # Keep the servers' logs next to wrk's output; the data dir goes.
    if [ -d "$RAW" ]; then cp "$WORK"/*.log "$RAW"/ 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A port on 127.0.0.1 that nothing listens on now. Servers are started one after another and
# waited for, so two of ours never get the same one.
free_port() {
    local p i
    for ((i = 0; i < 100; i++)); do
        p=$((10000 + RANDOM % 22000)) # below the ephemeral range
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    die "no free port found"
}

# start_server NAME PORT READY_PATH CMD...: starts CMD in the background with its output in a log,
# then waits up to 15 s until GET READY_PATH answers 200 (with the bench key).
start_server() {
    local name=$1 port=$2 ready=$3 pid code i
    shift 3
    LOGF[$name]=$WORK/$name.log
    "$@" >"${LOGF[$name]}" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    SPID[$name]=$pid
    PORT[$name]=$port
    for ((i = 0; i < 150; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "${LOGF[$name]}" >&2 || true
            die "$name exited during startup: $*"
        fi
        code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" \
            "http://127.0.0.1:$port$ready" || true)
        [ "$code" = 200 ] && return 0
        sleep 0.1
    done
    tail -n 20 "${LOGF[$name]}" >&2 || true
    die "$name did not answer 200 on $ready within 15 s (last status $code)"
}

# ---------------------------------------------------------------------------------------------
# Scenarios. Each sets:
#   S_SERVER  the server (a key of PORT) that wrk targets
#   S_METHOD S_PATH S_BODY S_CTYPE S_AUTH   the request, identical for every request of the run
#   S_REF     the scenario whose median requests/s this one's is divided by ("" for none)
#   S_TARGET  the minimum ratio to S_REF ("" to report the ratio without a target)
#   S_DESC    one line for the tables

SESSION_ID="" # set by seeding

s_defaults() {
    S_SERVER=verifyd S_METHOD=GET S_PATH=/ S_BODY="" S_CTYPE="" S_AUTH=$KEY
    S_REF=baseline S_TARGET="" S_DESC=""
}
scenario_baseline() {
    s_defaults
    S_SERVER=baseline S_AUTH="" S_REF="" S_DESC="baseline: fixed 1.2 KB JSON"
}
scenario_retrieve() {
    s_defaults
    S_PATH=/v1/identity/verification_sessions/$SESSION_ID
    S_TARGET=0.5 S_DESC="GET one session"
}
scenario_list() {
    s_defaults
    S_PATH="/v1/identity/verification_sessions?limit=10"
    S_TARGET=0.2 S_DESC="GET list, limit=10, ${SESSIONS} stored"
}
scenario_create() {
    s_defaults
    S_METHOD=POST S_PATH=/v1/identity/verification_sessions
    S_BODY="type=document&metadata[n]=1" S_CTYPE=application/x-www-form-urlencoded
    S_TARGET=0.15 S_DESC="POST create (full durability)"
}

# ---------------------------------------------------------------------------------------------
# Measurement.

# run_wrk NAME DURATION LABEL: runs scenario NAME once; sets R_RPS R_P50 R_P99 R_REQ. Any
# response with status >= 400 or any socket error is fatal.
run_wrk() {
    local name=$1 dur=$2 label=$3 out line kv
    "scenario_$name"
    local url="http://127.0.0.1:${PORT[$S_SERVER]}$S_PATH"
    local raw=$RAW/$label-$name.txt
    check_servers "the previous measurement"
    BENCH_METHOD=$S_METHOD BENCH_BODY=$S_BODY BENCH_CTYPE=$S_CTYPE BENCH_AUTH=$S_AUTH \
        run_child "$raw" wrk -t"$THREADS" -c"$CONNS" -d"$dur" --timeout 10s --latency \
        -s bench/wrk/scenario.lua "$url" || {
        cat "$raw" >&2
        die "wrk failed on $name ($url)"
    }
    check_servers "$label $name"
    out=$(<"$raw")
    line=$(grep '^BENCH_RESULT ' <<<"$out") || {
        echo "$out" >&2
        die "no BENCH_RESULT line from wrk on $name"
    }
    local requests=0 duration_us=0 p50_us=0 p99_us=0 status_errors=0 connect_errors=0
    local read_errors=0 write_errors=0 timeouts=0
    for kv in ${line#BENCH_RESULT }; do
        case ${kv%%=*} in
        requests | duration_us | p50_us | p99_us | status_errors | connect_errors | \
            read_errors | write_errors | timeouts) printf -v "${kv%%=*}" '%s' "${kv#*=}" ;;
        esac
    done
    if [ "$status_errors" -ne 0 ]; then
        echo "$out" >&2
        log "one such response:"
        curl -s -i -X "$S_METHOD" ${S_AUTH:+-H "Authorization: Bearer $S_AUTH"} \
            ${S_CTYPE:+-H "Content-Type: $S_CTYPE"} ${S_BODY:+--data-raw "$S_BODY"} "$url" |
            head -c 1000 >&2 || true
        echo >&2
        die "$name: $status_errors of $requests responses had a status >= 400"
    fi
    if [ $((connect_errors + read_errors + write_errors + timeouts)) -ne 0 ]; then
        echo "$out" >&2
        die "$name: socket errors: connect $connect_errors, read $read_errors," \
            "write $write_errors, timeout $timeouts"
    fi
    if [ "$requests" -eq 0 ] || [ "$duration_us" -eq 0 ]; then
        die "$name: no requests completed"
    fi
    R_REQ=$requests
    R_RPS=$(awk -v r="$requests" -v d="$duration_us" 'BEGIN { printf "%.0f", r * 1e6 / d }')
    R_P50=$p50_us
    R_P99=$p99_us
}

# Fails if a server has exited (e.g. crashed under load), with the end of its log.
check_servers() {
    local name rc
    for name in "${!SPID[@]}"; do
        kill -0 "${SPID[$name]}" 2>/dev/null && continue
        rc=0
        wait "${SPID[$name]}" || rc=$?
        tail -n 30 "${LOGF[$name]}" >&2 || true
        [ "$rc" -gt 128 ] && die "$name died during $1 (signal $((rc - 128)))"
        die "$name exited during $1 (status $rc)"
    done
}

# Percent of the machine's CPU time spent busy over one second, from /proc/stat. The bench
# shares 2 cores between client and server, so anything else running skews every figure.
cpu_busy() {
    local a b
    a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat)
    sleep 1
    b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ");
        busy = y[1] - x[1]; all = busy + y[2] - x[2];
        printf "%.0f", (all > 0 ? 100 * busy / all : 0) }'
}

median() {
    printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 }
        END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.0f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }

# ---------------------------------------------------------------------------------------------
# Setup.

command -v wrk >/dev/null || die "wrk not found: run scripts/deps.sh bench"
command -v curl >/dev/null || die "curl not found: run scripts/deps.sh bench"
mkdir -p "$OUT" "$RAW"

BUSY_BEFORE=$(cpu_busy)
if [ "$BUSY_BEFORE" -gt 10 ]; then
    log "warning: the machine is ${BUSY_BEFORE}% busy before the bench starts; figures will be"
    log "         low and noisy (ratios less so). Top CPU users now:"
    ps -eo pcpu,pid,comm --sort=-pcpu | head -n 6 >&2
fi

# Libraries after the source: Debian links with --as-needed.
read -r -a mhd_cflags <<<"$(pkg-config --cflags libmicrohttpd)"
read -r -a mhd_libs <<<"$(pkg-config --libs libmicrohttpd)"
cc -O2 -Wall -Wextra -Werror "${mhd_cflags[@]}" -o "$OUT/baseline" bench/baseline.c "${mhd_libs[@]}"

port=$(free_port)
start_server baseline "$port" / "$OUT/baseline" "$port"
log "baseline on 127.0.0.1:$port"

SEED_JSON='null'
if [ "$ONLY_BASELINE" != 1 ]; then
    [ -x "$VERIFYD" ] || die "$VERIFYD not found: build it with make"
    command -v node >/dev/null || die "node not found: run scripts/deps.sh bench"
    mkdir -p "$WORK/data"
    fstype=$(stat -f -c %T "$WORK/data")
    case $fstype in tmpfs | ramfs) log "warning: data dir on $fstype: create is not durable" ;; esac
    port=$(free_port)
    start_server verifyd "$port" "/v1/identity/verification_sessions?limit=1" \
        "$VERIFYD" --listen "127.0.0.1:$port" --data-dir "$WORK/data" --log-level warn \
        "${VERIFYD_EXTRA[@]}"
    log "verifyd on 127.0.0.1:$port, data in $WORK/data"

    log "seeding $SESSIONS sessions in one account ..."
    run_child "$WORK/seed.json" node bench/seed.mjs "http://127.0.0.1:$port" "$KEY" \
        "$SESSIONS" "$CONNS" || {
        cat "$WORK/seed.json" >&2
        check_servers seeding
        die "seeding failed"
    }
    seed=$(grep '^{' "$WORK/seed.json" | tail -n 1)
    SESSION_ID=$(sed -n 's/.*"first_id":"\([^"]*\)".*/\1/p' <<<"$seed")
    [ -n "$SESSION_ID" ] || die "seeding returned no session id: $seed"
    SEED_JSON=$seed
    log "seeded: $seed"
fi

for name in "${SCENARIOS[@]}"; do
    declare -F "scenario_$name" >/dev/null || die "unknown scenario '$name'"
    ! declare -F "setup_$name" >/dev/null || "setup_$name"
done

if [ "$WARMUP" != 0 ]; then
    log "warm-up, $WARMUP per scenario"
    for name in "${SCENARIOS[@]}"; do run_wrk "$name" "$WARMUP" warmup; done
fi

# ---------------------------------------------------------------------------------------------
# Runs.

declare -A RPS=() P50=() P99=() REQ=()
run_row() { printf '%-10s %-38s %10s %9s %9s\n' "$@"; }

for ((run = 1; run <= RUNS; run++)); do
    echo
    echo "run $run/$RUNS: wrk -t$THREADS -c$CONNS -d$DURATION, loopback"
    run_row scenario "" "req/s" "p50 ms" "p99 ms"
    for name in "${SCENARIOS[@]}"; do
        run_wrk "$name" "$DURATION" "run$run"
        RPS[$name,$run]=$R_RPS P50[$name,$run]=$R_P50 P99[$name,$run]=$R_P99
        REQ[$name,$run]=$R_REQ
        run_row "$name" "$S_DESC" "$R_RPS" "$(ms "$R_P50")" "$(ms "$R_P99")"
    done
done

# ---------------------------------------------------------------------------------------------
# Medians, ratios, targets.

declare -A MRPS=() MP50=() MP99=()
for name in "${SCENARIOS[@]}"; do
    r=() a=() b=()
    for ((run = 1; run <= RUNS; run++)); do
        r+=("${RPS[$name,$run]}") a+=("${P50[$name,$run]}") b+=("${P99[$name,$run]}")
    done
    MRPS[$name]=$(median "${r[@]}") MP50[$name]=$(median "${a[@]}")
    MP99[$name]=$(median "${b[@]}")
done

echo
echo "medians of $RUNS run(s); ratio = req/s / req/s of the reference scenario"
median_row() { printf '%-10s %-38s %10s %9s %9s %7s %9s  %s\n' "$@"; }
median_row scenario "" "req/s" "p50 ms" "p99 ms" ratio target result
missed=0
medians_json=""
for name in "${SCENARIOS[@]}"; do
    "scenario_$name"
    ratio="" result="" ratio_json=null target_json=null pass_json=null
    if [ -n "$S_REF" ] && [ -n "${MRPS[$S_REF]:-}" ]; then
        ratio=$(awk -v a="${MRPS[$name]}" -v b="${MRPS[$S_REF]}" 'BEGIN { printf "%.3f", a / b }')
        ratio_json=$ratio
        if [ -n "$S_TARGET" ]; then
            target_json=$S_TARGET
            if awk -v r="$ratio" -v t="$S_TARGET" 'BEGIN { exit !(r >= t) }'; then
                result=PASS pass_json=true
            else
                result=FAIL pass_json=false missed=$((missed + 1))
            fi
        fi
    fi
    median_row "$name" "$S_DESC" "${MRPS[$name]}" "$(ms "${MP50[$name]}")" \
        "$(ms "${MP99[$name]}")" "${ratio:--}" "${S_TARGET:+>= $S_TARGET}" "$result"

    runs_json=""
    for ((run = 1; run <= RUNS; run++)); do
        runs_json+="${runs_json:+, }{\"rps\": ${RPS[$name,$run]}, \"p50_us\": ${P50[$name,$run]},"
        runs_json+=" \"p99_us\": ${P99[$name,$run]}, \"requests\": ${REQ[$name,$run]}}"
    done
    medians_json+="${medians_json:+,}
    \"$name\": {\"description\": \"$S_DESC\", \"method\": \"$S_METHOD\","
    medians_json+=" \"path\": \"$S_PATH\", \"reference\": \"$S_REF\","
    medians_json+=" \"rps\": ${MRPS[$name]}, \"p50_us\": ${MP50[$name]},"
    medians_json+=" \"p99_us\": ${MP99[$name]}, \"ratio\": $ratio_json,"
    medians_json+=" \"target\": $target_json, \"pass\": $pass_json, \"runs\": [$runs_json]}"
done

cat >"$RESULTS" <<EOF
{
  "timestamp": "$STAMP",
  "machine": {"cores": $(nproc), "kernel": "$(uname -r)",
              "libmicrohttpd": "$(pkg-config --modversion libmicrohttpd)",
              "wrk": "$(wrk -v 2>&1 | head -n 1 | awk '{ print $2 }')"},
  "config": {"runs": $RUNS, "duration": "$DURATION", "warmup": "$WARMUP", "threads": $THREADS,
             "connections": $CONNS, "sessions": $SESSIONS, "only_baseline": $ONLY_BASELINE,
             "verifyd_args": "${BENCH_VERIFYD_ARGS:-}"},
  "cpu_busy_before_percent": $BUSY_BEFORE,
  "seed": $SEED_JSON,
  "scenarios": {$medians_json
  }
}
EOF
echo
[ "$missed" -eq 0 ] || echo "$missed target(s) missed"
echo "results: $RESULTS (wrk output: $RAW/)"

# Webhooks (issue 3): create with a wildcard endpoint and a local receiver against create without,
# and the create -> arrival latency, in its own servers (bench/webhooks.sh). BENCH_WEBHOOKS=0
# skips it.
if [ "${BENCH_WEBHOOKS:-1}" = 1 ] && [ "$ONLY_BASELINE" != 1 ]; then
    echo
    BENCH_VERIFYD=$VERIFYD bench/webhooks.sh || die "bench/webhooks.sh failed"
fi
