"""pysftp_bench: one benchmark operation through pysftp 0.2.9 (bench/.venv).

    python pysftp_bench.py OP ARGS... --port P --user U --key RSA_KEY
                           --known-hosts FILE [--cipher NAME]

OP is connect N | get R L | put L R | get_r R L | put_r L R | walktree R,
as for psftp_bench.c, and so is the JSON printed on stdout. Timing starts
before pysftp.Connection() (imports and interpreter start are excluded).

pysftp 0.2.9 looks the host key up under the bare host name (never
"[host]:port") and loads only RSA/DSS keys from a path; the harness hands
it a known_hosts file with the bare name and the RSA key, and uses the same
RSA key for the other clients.
"""
import argparse
import json
import resource
import sys
import time
import warnings

warnings.simplefilter("ignore")
import pysftp  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("op")
    ap.add_argument("args", nargs="*")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--known-hosts", required=True)
    ap.add_argument("--cipher")
    a = ap.parse_args()

    cnopts = pysftp.CnOpts(knownhosts=a.known_hosts)
    if a.cipher:
        cnopts.ciphers = (a.cipher,)

    def connect():
        return pysftp.Connection(a.host, username=a.user, private_key=a.key,
                                 port=a.port, cnopts=cnopts)

    def rss():
        # VmHWM, as psftp_bench.c: ru_maxrss keeps the forking parent's peak.
        try:
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    if a.op == "connect":
        times = []
        for _ in range(int(a.args[0])):
            t0 = time.monotonic()
            c = connect()
            c.pwd  # opens the SFTP channel (pysftp does it lazily): one round trip
            c.close()
            times.append(time.monotonic() - t0)
        print(json.dumps({"op": "connect", "connect_seconds": times,
                          "seconds": sum(times), "maxrss_kib": rss()}))
        return 0

    counts = {"files": 0, "dirs": 0, "others": 0}

    def counter(kind):
        def cb(_path):
            counts[kind] += 1
        return cb

    t0 = time.monotonic()
    c = connect()
    t1 = time.monotonic()
    if a.op == "get":
        c.get(a.args[0], a.args[1])
    elif a.op == "put":
        c.put(a.args[0], a.args[1], confirm=True)
    elif a.op == "get_r":
        c.get_r(a.args[0], a.args[1])
    elif a.op == "put_r":
        c.put_r(a.args[0], a.args[1], confirm=True)
    elif a.op == "walktree":
        c.walktree(a.args[0], counter("files"), counter("dirs"),
                   counter("others"))
    else:
        print("unknown op " + a.op, file=sys.stderr)
        return 2
    t2 = time.monotonic()
    cipher = c.active_ciphers
    c.close()
    t3 = time.monotonic()
    print(json.dumps({
        "op": a.op, "seconds": t3 - t0, "op_seconds": t2 - t1,
        "connect_seconds": [t1 - t0],
        "entries": counts["files"] + counts["dirs"] + counts["others"],
        "files": counts["files"], "dirs": counts["dirs"], "maxrss_kib": rss(),
        "cipher": list(cipher),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
