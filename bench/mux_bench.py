#!/usr/bin/env python3
"""One connection, many calls (issue 18): psftp's multiplexed connection
against the alternatives, side by side in one run.

  stat latency on a connection busy with a big get, loopback and over the
  latency relay (bench/relay.rs), and on the idle connection for reference;
  8 threads of mixed calls (stat, listdir, 4 MiB get and put) on one
  connection against the same on 8 connections.

With --baseline-lib DIR (a libpsftp.so built from an earlier commit) the
same program runs against that library too, in the same run, so the
before and after are side by side. Run through bench/run.sh --only mux
(which builds bench/mux_bench.c), or directly after building it:

    python3 bench/mux_bench.py [--quick] [--reps N] [--baseline-lib DIR]

Uses bench.py's fixture (a fresh sshd account, the relay) and cleans up.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench as B  # noqa: E402

MUX_BENCH = os.path.join(B.BENCH, "build", "mux_bench")
MIB = 1 << 20


def run(b, argv, via_relay, lib=None, timeout=1800):
    port, kh = b.endpoint(b.rtt_ms if via_relay else 0)
    env = dict(os.environ)
    if lib:
        env["LD_LIBRARY_PATH"] = lib
    cmd = [MUX_BENCH] + argv + ["--port", str(port), "--user", b.user, "--key", b.key,
                                "--known-hosts", kh, "--cipher", B.GCM]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if out.returncode != 0:
        raise B.RunError(f"{' '.join(cmd)} failed: {out.stderr.strip()}")
    return json.loads(out.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--reps", type=int, default=0)
    ap.add_argument("--rtt-ms", type=int, default=20)
    ap.add_argument("--baseline-lib", default="",
                    help="directory of a libpsftp.so from before, run side by side")
    ap.add_argument("--out", default="")
    ap.add_argument("--big-bytes", type=int, default=0,
                    help="size of the busy get (default bench.py's: 1 GiB, quick 32 MiB)")
    args = ap.parse_args()
    bargs = argparse.Namespace(quick=args.quick, reps=args.reps, slow_reps=0,
                               rtt_ms=args.rtt_ms, out="", only="", parallelism=4,
                               big_bytes=args.big_bytes, tree_sizes="", ciphers="gcm",
                               no_python=True)
    b = B.Bench(bargs)
    reps = args.reps or (1 if args.quick else 3)
    libs = [("now", None)]
    if args.baseline_lib:
        libs.append(("baseline", os.path.abspath(args.baseline_lib)))
    # mux_bench has a RUNPATH (not an RPATH) to this tree's library, which
    # LD_LIBRARY_PATH overrides for the baseline runs.
    results = {"stat_busy": [], "mixed": []}
    try:
        b.setup()
        b.make_big()
        big_remote = os.path.join(b.remote_abs, "big.bin")
        probe = os.path.join(b.remote_abs, "probe")
        with open(probe, "wb") as f:
            f.write(b"probe\n")
        os.chown(probe, b.uid, b.gid)
        mix_r = b.remote_mkdir("mix")
        os.makedirs(os.path.join(mix_r, "out"), exist_ok=True)
        os.chown(os.path.join(mix_r, "out"), b.uid, b.gid)
        mix_l = os.path.join(b.work, "mix")
        os.makedirs(mix_l, exist_ok=True)
        with open(os.path.join(mix_l, "src"), "wb") as f:
            f.write(os.urandom(4 * MIB))
        shutil.copyfile(os.path.join(mix_l, "src"), os.path.join(mix_r, "src"))
        os.chown(os.path.join(mix_r, "src"), b.uid, b.gid)
        dl = os.path.join(b.work, "dl", "big.bin")
        b.start_relay(args.rtt_ms)
        for rep in range(reps):
            for via_relay in (False, True):
                for name, lib in libs:
                    r = run(b, ["stat_busy", big_remote, dl, probe], via_relay, lib)
                    if os.path.getsize(dl) != os.path.getsize(big_remote):
                        raise B.RunError("the busy get's file has the wrong size")
                    os.remove(dl)
                    r.update(lib=name, rtt_ms=args.rtt_ms if via_relay else 0, rep=rep)
                    results["stat_busy"].append(r)
                    B.log(f"stat on a busy connection ({name}, rtt {r['rtt_ms']} ms): "
                          f"idle {r['idle_stat_p50'] * 1e3:.1f} ms, busy p50 "
                          f"{r['busy_stat_p50'] * 1e3:.1f} ms p95 {r['busy_stat_p95'] * 1e3:.1f} "
                          f"ms max {r['busy_stat_max'] * 1e3:.1f} ms over {r['busy_stats']} stats; "
                          f"get {r['get_bytes'] / r['get_seconds'] / 1e6:.0f} MB/s")
            for name, lib in libs:
                for conns in (1, 8):
                    rounds = "2" if args.quick else "6"
                    r = run(b, ["mixed", mix_r, mix_l, "--threads", "8", "--conns", str(conns),
                                "--rounds", rounds], False, lib)
                    shutil.rmtree(os.path.join(mix_r, "out"))
                    os.makedirs(os.path.join(mix_r, "out"))
                    os.chown(os.path.join(mix_r, "out"), b.uid, b.gid)
                    r.update(lib=name, rep=rep)
                    results["mixed"].append(r)
                    B.log(f"8 threads mixed on {conns} connection(s) ({name}): "
                          f"{r['mb_per_s']:.0f} MB/s, {r['seconds']:.2f} s")
    finally:
        b.cleanup()
    lines = ["| measure | " + " | ".join(n for n, _ in libs) + " |",
             "|---|" + "---|" * len(libs)]

    def med(kind, key, **where):
        v = [r[key] for r in results[kind] if all(r.get(k) == w for k, w in where.items())]
        return statistics.median(v) if v else float("nan")

    for rtt in (0, args.rtt_ms):
        where = "loopback" if rtt == 0 else f"{rtt} ms RTT"
        for key, label in (("idle_stat_p50", "stat, idle connection, p50"),
                           ("busy_stat_p50", "stat during a big get, p50"),
                           ("busy_stat_p95", "stat during a big get, p95"),
                           ("busy_stat_max", "stat during a big get, max")):
            cells = [f"{med('stat_busy', key, lib=n, rtt_ms=rtt) * 1e3:.1f} ms" for n, _ in libs]
            lines.append(f"| {label}, {where} | " + " | ".join(cells) + " |")
    for conns in (1, 8):
        cells = [f"{med('mixed', 'mb_per_s', lib=n, conns=conns):.0f} MB/s" for n, _ in libs]
        lines.append(f"| 8 threads mixed (stat, listdir, 4 MiB get+put) on {conns} connection(s) | "
                     + " | ".join(cells) + " |")
    for n, _ in libs:
        one, eight = med("mixed", "mb_per_s", lib=n, conns=1), med("mixed", "mb_per_s", lib=n, conns=8)
        lines.append(f"| one connection / eight ({n}) | {one / eight * 100:.0f}% |" + " |" * (len(libs) - 1))
    table = "\n".join(lines)
    print(table)
    out = args.out or os.path.join(B.BENCH, "results", "tmp" if args.quick else "", "mux")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "mux.json"), "w") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(out, "mux.md"), "w") as f:
        f.write(table + "\n")
    B.log(f"results in {out}")


if __name__ == "__main__":
    main()
