#!/usr/bin/env python3
"""Times two whole commands in interleaved pairs and prints the ratio A / B.

    scripts/pairs.py [-n PAIRS] [--warmup RUNS] [--timeout SECONDS] \
        --vs 'COMMAND B' -- COMMAND A ...

Each command is started directly (no shell), its output thrown away, and
timed from just before the spawn to just after it is reaped. The pairs run
A B, B A, A B, ... so that neither command always runs first, and the ratio
is taken pair by pair: the machine's speed drifts, and a ratio of two runs
made side by side survives the drift where two separate medians do not.
Printed: each command's median wall time (with min and max) and median CPU
time (user + system, the kernel's accounting), then the median of the
per-pair ratios with its quartiles.

A run that exits non-zero stops the benchmark: a command that fails fast is
not a fast command. A run that outlives --timeout (default 60 s) is killed
and stops it too, so a hung command cannot hang the benchmark. Python's
standard library only.
"""

import argparse
import os
import select
import shlex
import signal
import statistics
import sys
import time


def run(argv, devnull, timeout):
    """One run of `argv`: (wall ms, cpu ms)."""
    start = time.perf_counter_ns()
    pid = os.posix_spawnp(
        argv[0],
        argv,
        os.environ,
        file_actions=[
            (os.POSIX_SPAWN_DUP2, devnull, 0),
            (os.POSIX_SPAWN_DUP2, devnull, 1),
            (os.POSIX_SPAWN_DUP2, devnull, 2),
        ],
    )
    pidfd = os.pidfd_open(pid)
    try:
        ready, _, _ = select.select([pidfd], [], [], timeout)
        if not ready:
            os.kill(pid, signal.SIGKILL)
            os.wait4(pid, 0)
            sys.exit(f"pairs: {shlex.join(argv)} ran longer than {timeout} s; killed")
        _, status, usage = os.wait4(pid, 0)
    finally:
        os.close(pidfd)
    wall = (time.perf_counter_ns() - start) / 1e6
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"pairs: {shlex.join(argv)} exited with {code}")
    return wall, (usage.ru_utime + usage.ru_stime) * 1e3


def main():
    parser = argparse.ArgumentParser(
        description="Time two whole commands in interleaved pairs.",
        usage="%(prog)s [-n PAIRS] [--warmup RUNS] [--timeout S] --vs 'B ...' -- A ...",
    )
    parser.add_argument("-n", "--pairs", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=5, help="uncounted runs of each")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per run")
    parser.add_argument("--vs", required=True, help="command B, split as a shell splits words")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="command A")
    args = parser.parse_args()
    a = args.command[1:] if args.command[:1] == ["--"] else args.command
    b = shlex.split(args.vs)
    if not a or not b:
        parser.error("both commands are needed: --vs 'B ...' -- A ...")
    if args.pairs < 4:
        parser.error("at least 4 pairs are needed for quartiles")

    devnull = os.open(os.devnull, os.O_RDWR)
    for _ in range(args.warmup):
        run(a, devnull, args.timeout)
        run(b, devnull, args.timeout)
    runs = {"A": [], "B": []}
    ratios = []
    for k in range(args.pairs):
        if k % 2 == 0:
            ra = run(a, devnull, args.timeout)
            rb = run(b, devnull, args.timeout)
        else:
            rb = run(b, devnull, args.timeout)
            ra = run(a, devnull, args.timeout)
        runs["A"].append(ra)
        runs["B"].append(rb)
        ratios.append(ra[0] / rb[0])

    print(f"{args.pairs} pairs after {args.warmup} warm-up runs of each")
    for name, argv in (("A", a), ("B", b)):
        walls = [wall for wall, _ in runs[name]]
        cpu = statistics.median(c for _, c in runs[name])
        print(
            f"{name}: wall {statistics.median(walls):.3f} ms "
            f"(min {min(walls):.3f}, max {max(walls):.3f}), cpu {cpu:.3f} ms  {shlex.join(argv)}"
        )
    low, _, high = statistics.quantiles(ratios, n=4)
    print(f"A / B: {statistics.median(ratios):.3f} (quartiles {low:.3f}-{high:.3f})")


if __name__ == "__main__":
    main()
