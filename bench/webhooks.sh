#!/usr/bin/env bash
# bench/webhooks.sh: the cost of webhooks on create (issue 3). In one verifyd (fresh data dir
# under build/bench, full durability) it measures, BENCH_RUNS times, alternating:
#   create_plain  POST create in an account without webhook endpoints
#   create_hook   POST create in an account with one wildcard endpoint whose receiver runs on
#                 this machine and answers 200: bench/baseline.c, which counts the POSTs (a
#                 receiver in C takes next to no CPU from verifyd on the two shared cores)
# then the create -> arrival latency: BENCH_PROBE sequential creates in a third account whose
# endpoint is bench/webhook_receiver.mjs (Node), which times each create's response against its
# created event's arrival.
# Targets: create_hook req/s >= 0.8 x create_plain (same run), median latency < 20 ms. It also
# checks that every event of the hook runs reached the receiver.
#
# Exit status: 0 when every measurement completed (targets are reported as PASS/FAIL); non-zero
# on any error. Environment: BENCH_RUNS [3] BENCH_DURATION [10s] BENCH_THREADS [2]
# BENCH_CONNECTIONS [64] BENCH_PROBE [200] BENCH_VERIFYD [build/verifyd].
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${BENCH_RUNS:-3}
DURATION=${BENCH_DURATION:-10s}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-64}
PROBE=${BENCH_PROBE:-200}
VERIFYD=${BENCH_VERIFYD:-build/verifyd}
KEY_PLAIN=sk_test_bench_plain
KEY_HOOK=sk_test_bench_hook
KEY_PROBE=sk_test_bench_probe

log() { echo "bench/webhooks: $*" >&2; }
die() {
    echo "bench/webhooks: error: $*" >&2
    exit 1
}
command -v wrk >/dev/null || die "wrk not found: run scripts/deps.sh bench"
command -v node >/dev/null || die "node not found"
[ -x "$VERIFYD" ] || die "$VERIFYD not found: build it with make"

mkdir -p build/bench
WORK=$(mktemp -d "$PWD/build/bench/webhooks.XXXXXX")
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    [ -n "${BENCH_KEEP:-}" ] && cp "$WORK"/*.log build/bench/ 2>/dev/null; rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    local p i
    for ((i = 0; i < 100; i++)); do
        p=$((10000 + RANDOM % 22000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    die "no free port found"
}

# wait_http URL: until it answers at all (any status), 15 s at most.
wait_http() {
    local i
    for ((i = 0; i < 150; i++)); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)" != 000 ] && return 0
        sleep 0.1
    done
    die "$1 did not answer within 15 s"
}

VPORT=$(free_port)
"$VERIFYD" --listen "127.0.0.1:$VPORT" --data-dir "$WORK/data" --log-level warn \
    >"$WORK/verifyd.log" 2>&1 &
PIDS+=($!)
RPORT=$(free_port)
node bench/webhook_receiver.mjs "$RPORT" >"$WORK/receiver.log" 2>&1 &
PIDS+=($!)
mkdir -p build/bench
read -ra mhd < <(pkg-config --cflags --libs libmicrohttpd)
cc -O2 -Wall -Wextra -Werror -o build/bench/baseline bench/baseline.c "${mhd[@]}" ||
    die "cannot build bench/baseline.c"
CPORT=$(free_port)
build/bench/baseline "$CPORT" >"$WORK/c-receiver.log" 2>&1 &
PIDS+=($!)
V=http://127.0.0.1:$VPORT
R=http://127.0.0.1:$RPORT
C=http://127.0.0.1:$CPORT
wait_http "$V/v1/events"
wait_http "$R/count"
wait_http "$C/count"

curl -sf -u "$KEY_HOOK:" "$V/v1/webhook_endpoints" -d "url=$C/hook" \
    -d 'enabled_events[]=*' >/dev/null || die "cannot create the webhook endpoint"
curl -sf -u "$KEY_PROBE:" "$V/v1/webhook_endpoints" -d "url=$R/hook" \
    -d 'enabled_events[]=*' >/dev/null || die "cannot create the probe's webhook endpoint"
log "verifyd on $V, receivers on $C (throughput) and $R (latency probe)"

count() { curl -sf "$C/count" | sed 's/.*"count":\([0-9]*\).*/\1/'; }

# wrk_create KEY DURATION: prints req/s and the number of requests.
wrk_create() {
    local out line requests duration_us errs
    out=$(BENCH_METHOD=POST BENCH_BODY="type=document&metadata[n]=1" \
        BENCH_CTYPE=application/x-www-form-urlencoded BENCH_AUTH=$1 \
        wrk -t"$THREADS" -c"$CONNS" -d"$2" --timeout 10s -s bench/wrk/scenario.lua \
        "$V/v1/identity/verification_sessions" 2>&1) || die "wrk failed: $out"
    line=$(grep '^BENCH_RESULT ' <<<"$out") || die "no BENCH_RESULT from wrk: $out"
    requests=$(sed 's/.* requests=\([0-9]*\).*/\1/' <<<"$line")
    duration_us=$(sed 's/.* duration_us=\([0-9]*\).*/\1/' <<<"$line")
    errs=$(sed 's/.* status_errors=\([0-9]*\) connect_errors=\([0-9]*\) read_errors=\([0-9]*\) write_errors=\([0-9]*\) timeouts=\([0-9]*\).*/\1 \2 \3 \4 \5/' <<<"$line")
    [ "$errs" = "0 0 0 0 0" ] || die "errors during a create run (status connect read write timeout): $errs"
    awk -v r="$requests" -v d="$duration_us" 'BEGIN { printf "%.0f %d\n", r * 1e6 / d, r }'
}

median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

log "warm-up"
wrk_create "$KEY_PLAIN" 2s >/dev/null
wrk_create "$KEY_HOOK" 2s >/dev/null

plain=() hook=() ratio=() lat=() p90=()
printf '%-5s %12s %12s %7s %12s %10s %10s\n' run "plain req/s" "hook req/s" ratio "delivered" "lat p50" "lat p90"
for ((run = 1; run <= RUNS; run++)); do
    read -r p _ < <(wrk_create "$KEY_PLAIN" "$DURATION")
    before=$(count)
    read -r hk hn < <(wrk_create "$KEY_HOOK" "$DURATION")
    # Every event of the hook run must reach the receiver (the outbox drains in the background).
    t0=$(date +%s%N)
    for ((i = 0; i < 600; i++)); do
        [ $(($(count) - before)) -ge "$hn" ] && break
        sleep 0.1
    done
    got=$(($(count) - before))
    [ "$got" -ge "$hn" ] || die "only $got of $hn events reached the receiver within 60 s"
    drain_ms=$((($(date +%s%N) - t0) / 1000000))
    probe=$(curl -sf "$R/probe?url=$V&key=$KEY_PROBE&n=$PROBE") || die "latency probe failed"
    l50=$(sed 's/.*"median_ms":\([0-9.]*\).*/\1/' <<<"$probe")
    l90=$(sed 's/.*"p90_ms":\([0-9.]*\).*/\1/' <<<"$probe")
    missing=$(sed 's/.*"missing":\([0-9]*\).*/\1/' <<<"$probe")
    [ "$missing" = 0 ] || die "latency probe: $missing events did not arrive within 5 s"
    r=$(awk -v a="$hk" -v b="$p" 'BEGIN { printf "%.3f", a / b }')
    plain+=("$p") hook+=("$hk") ratio+=("$r") lat+=("$l50") p90+=("$l90")
    printf '%-5s %12s %12s %7s %12s %10s %10s\n' "$run" "$p" "$hk" "$r" \
        "$got (+${drain_ms}ms)" "$(printf '%.2fms' "$l50")" "$(printf '%.2fms' "$l90")"
done

mr=$(median "${ratio[@]}")
ml=$(median "${lat[@]}")
echo
echo "medians of $RUNS run(s): plain $(median "${plain[@]}") req/s, hook $(median "${hook[@]}") req/s"
res() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN { ok = (op == ">=") ? v >= t : v < t; print ok ? "PASS" : "FAIL" }'; }
printf '  create with a wildcard endpoint / without: %s (target >= 0.8) %s\n' "$mr" "$(res "$mr" 0.8 '>=')"
printf '  create response -> receiver arrival, median: %.2f ms (target < 20 ms) %s\n' "$ml" "$(res "$ml" 20 '<')"
