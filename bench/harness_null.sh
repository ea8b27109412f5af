#!/bin/sh
# The harness's own overhead: the null SUT completes every sample at once, so
# Offline samples/s is what the load generator itself sustains (target: >= 1 M/s;
# MLPerf LoadGen's own benchmark reaches 0.5-2.5 M/s). Usage: bench/harness_null.sh [build-dir]
set -e
WAFER=${1:-build}/wafer
for i in 1 2 3; do
  "$WAFER" bench --sut null --scenario Offline --min-queries 10000000 --duration-ms 0 --json |
    grep '"samples_per_s"'
done
# Virtual time: a million Server queries on a device model (100 us + 10 us/sample, batches of 8).
/usr/bin/time -f "1M virtual Server queries: %e s wall" "$WAFER" bench --sut device --service-us 100,10 \
  --max-batch 8 --scenario Server --target-qps 40000 --min-queries 1000000 --duration-ms 0 --json >/dev/null
