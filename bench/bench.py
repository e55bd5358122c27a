#!/usr/bin/env python3
"""psftp benchmark harness: psftp vs OpenSSH sftp vs pysftp, same server, same run.

Run it through bench/run.sh, which builds what this needs. Standard library
only (it runs on the system python3; pysftp runs in bench/.venv).

What is timed, for every client: one session, from the start of the connect
to the end of the close (connect + authenticate + operation + close).
  psftp    bench/psftp_bench.c times itself (C API, in process);
  pysftp   bench/pysftp_bench.py times itself (interpreter start and imports
           excluded);
  OpenSSH  `sftp -b BATCH`, timed from outside (process start to exit).
The clients take turns within each repetition (the order rotates), each
result is checked (sizes and bytes compared with the source, entry counts)
before it counts, and medians are reported.
"""
import argparse
import glob
import hashlib
import json
import os
import platform
import pwd
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
PSFTP_BENCH = os.path.join(BENCH, "build", "psftp_bench")
GOSFTP_BENCH = os.path.join(BENCH, "build", "gosftp_bench")
RELAY = os.path.join(BENCH, "build", "relay")
VENV_PY = os.path.join(BENCH, ".venv", "bin", "python")
PYSFTP_BENCH = os.path.join(BENCH, "pysftp_bench.py")
SSHD_SH = os.path.join(ROOT, "tests", "fixture", "sshd.sh")
MATRIX_SH = os.path.join(ROOT, "tests", "servers", "matrix.sh")

CLIENTS = ["psftp", "openssh", "pysftp"]
# The Python-level comparison, same run: the psftp Python package against
# the Python clients a Python user would pick (bench/py_bench.py).
PY_BENCH = os.path.join(BENCH, "py_bench.py")
PY_CLIENTS = ["psftp-py", "paramiko", "asyncssh"]
# Peers tuned as power users tune them (issue 20; settings in
# bench/README.md, "The clients"): rclone, lftp, a Go pkg/sftp client.
PEERS = ["rclone", "lftp", "gosftp"]
# psftp forced to the draft's 32 KiB requests (psftp_cnopts_set_max_request_size):
# the `servers` workload's baseline for servers that announce no limits.
PSFTP_32K = "psftp-32k"
ALL_CLIENTS = CLIENTS + PEERS + PY_CLIENTS + [PSFTP_32K]
LABEL = {"psftp": "psftp", "openssh": "OpenSSH sftp", "pysftp": "pysftp",
         "psftp-py": "psftp (Python)", "paramiko": "paramiko", "asyncssh": "asyncssh",
         "rclone": "rclone", "lftp": "lftp", "gosftp": "Go pkg/sftp",
         PSFTP_32K: "psftp, 32 KiB requests"}
# The best settings found for each peer on this machine (bench/README.md
# says how they were chosen).
RCLONE_STREAMS = 4        # --multi-thread-streams (downloads of one file)
RCLONE_CHUNK = "255Ki"    # --sftp-chunk-size (OpenSSH takes up to 255 KiB)
RCLONE_CONCURRENCY = 64   # --sftp-concurrency (requests in flight per file)
RCLONE_TRANSFERS = 32     # --transfers / --checkers (trees)
LFTP_PGET = 4             # pget -n
LFTP_PARALLEL = 16        # mirror --parallel
LFTP_IN_FLIGHT = 64       # sftp:max-packets-in-flight
LFTP_READ = 261120        # sftp:size-read (255 KiB); size-write stays 32 KiB:
                          # lftp 4.9.2's put stalls with larger writes
GO_REQUESTS = 64          # MaxConcurrentRequestsPerFile
GO_PACKET = 261120        # MaxPacketUnchecked (255 KiB, what OpenSSH takes)
GO_WORKERS = 64           # files at once in trees
GCM = "aes128-gcm@openssh.com"
CHACHA = "chacha20-poly1305@openssh.com"
SHORT = {GCM: "aes128-gcm", CHACHA: "chacha20-poly1305"}
# paramiko 3.5 (and so pysftp) has no chacha20-poly1305@openssh.com.
PYSFTP_CIPHERS = {GCM}
# rclone 1.60 has no cipher option: Go's x/crypto picks aes128-gcm first.
CIPHERS_OF = {"pysftp": PYSFTP_CIPHERS, "paramiko": PYSFTP_CIPHERS, "rclone": {GCM}}


def clients_for(cipher, base=CLIENTS, extra=PEERS + PY_CLIENTS):
    """The clients of a case: `base` plus the peers and the Python-level
    ones, each only where it has the cipher."""
    return [c for c in list(base) + list(extra) if cipher in CIPHERS_OF.get(c, {cipher})]


WORKLOADS = ["big", "tree", "walktree", "connect", "servers", "big-rtt", "tree-rtt",
             "big-rtt100", "trees", "trees-rtt"]


FULL = dict(big_bytes=1 << 30, tree_dirs=20, tree_files_per_dir=100, file_bytes=4096,
            walk_dirs=100, walk_files_per_dir=99, connects=10, reps=3, slow_reps=1,
            relay_test_bytes=1 << 30, timeout=1800, server_bytes=64 << 20,
            trees_sizes=[2000, 20000], trees_file_bytes=1024, trees_per_dir=100)
QUICK = dict(big_bytes=32 << 20, tree_dirs=5, tree_files_per_dir=20, file_bytes=4096,
             walk_dirs=10, walk_files_per_dir=99, connects=3, reps=1, slow_reps=1,
             relay_test_bytes=64 << 20, timeout=150, server_bytes=4 << 20,
            trees_sizes=[100, 200], trees_file_bytes=1024, trees_per_dir=100)


# Where a --quick run includes the peers (gcm only): enough to check that
# each of their commands works, and quick stays quick.
QUICK_PEER_WORKLOADS = ("big", "big-rtt100", "trees", "trees-rtt")


class RunError(Exception):
    pass


def log(msg=""):
    print(msg, flush=True)


def human_bytes(n):
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} B"


def run_cmd(cmd, timeout, **kw):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired as e:
        raise RunError(f"timed out after {timeout} s: {' '.join(cmd[:3])} ...") from e


class Bench:
    def __init__(self, args):
        self.args = args
        self.cfg = dict(QUICK if args.quick else FULL)
        if args.reps:
            self.cfg["reps"] = args.reps
        if args.slow_reps:
            self.cfg["slow_reps"] = args.slow_reps
        self.rtt_ms = args.rtt_ms
        if args.big_bytes:
            self.cfg["big_bytes"] = args.big_bytes
        if args.tree_sizes:
            self.cfg["trees_sizes"] = [int(x) for x in args.tree_sizes.split(",")]
        self.relays = {}  # rtt ms -> (process, port, known_hosts file)
        names = {"gcm": GCM, "chacha": CHACHA}
        self.ciphers = [names[c.strip()] for c in args.ciphers.split(",")]
        self.skip_clients = set(PY_CLIENTS) if args.no_python else set()
        self.errors = []
        self.cases = []
        self.sshd_dir = None
        self.work = None
        self.remote_abs = None
        self.run_no = 0
        self.matrix_dir = None

    # ---------------------------------------------------------------- setup
    def setup(self):
        self.work = tempfile.mkdtemp(prefix="psftp-bench.", dir="/tmp")
        os.chmod(self.work, 0o755)  # sshd reads authorized_keys as the test user
        self.sshd_dir = os.path.join(self.work, "sshd")
        out = run_cmd(["bash", SSHD_SH, "start", self.sshd_dir], 60)
        if out.returncode != 0:
            raise RunError("sshd.sh start failed:\n" + out.stdout + out.stderr)
        env = {}
        with open(os.path.join(self.sshd_dir, "env")) as f:
            for line in f:
                k, _, v = line.strip().partition("=")
                env[k] = v
        self.port = int(env["PSFTP_TEST_PORT"])
        self.user = env["PSFTP_TEST_USER"]
        self.home = env["PSFTP_TEST_HOME"]
        # pysftp 0.2.9 loads only RSA (or DSS) keys from a path: every client
        # uses the same RSA key so that authentication costs the same.
        self.key = os.path.join(self.sshd_dir, "id_rsa_pem")
        self.known_hosts = os.path.join(self.sshd_dir, "known_hosts")
        # pysftp looks the host key up under the bare host name, never
        # "[host]:port": give it the bare-name file (still checked).
        self.known_hosts_bare = os.path.join(self.sshd_dir, "known_hosts_port22_only")
        pw = pwd.getpwnam(self.user)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        self.remote_rel = f"psftp-bench-{os.getpid()}"
        self.remote_abs = os.path.join(self.home, self.remote_rel)
        os.makedirs(self.remote_abs)
        os.chown(self.remote_abs, self.uid, self.gid)
        log(f"sshd on 127.0.0.1:{self.port}; work dir {self.work}; remote dir ~/{self.remote_rel}")

    def remote_mkdir(self, rel):
        p = os.path.join(self.remote_abs, rel)
        os.makedirs(p, exist_ok=True)
        while True:  # chown what makedirs made, up to remote_abs
            os.chown(p, self.uid, self.gid)
            if os.path.dirname(p) == self.remote_abs or p == self.remote_abs:
                break
            p = os.path.dirname(p)
        return os.path.join(self.remote_abs, rel)

    def chown_tree(self, top):
        for dirpath, dirnames, filenames in os.walk(top):
            os.chown(dirpath, self.uid, self.gid)
            for n in filenames:
                os.chown(os.path.join(dirpath, n), self.uid, self.gid)

    def start_relay(self, rtt_ms):
        """A relay adding `rtt_ms` of round trip in front of the sshd."""
        if rtt_ms in self.relays:
            return
        # The relay's lifetime bounds it even if this harness dies.
        lifetime = 7200 if not self.args.quick else 600
        proc = subprocess.Popen(
            [RELAY, "serve", "0", str(self.port), str(rtt_ms // 2), str(lifetime)],
            stdout=subprocess.PIPE, text=True)
        port = int(proc.stdout.readline().strip())
        kh = os.path.join(self.work, f"known_hosts_relay{rtt_ms}")
        with open(self.known_hosts) as f, open(kh, "w") as g:
            g.write(f.read().replace(f"[127.0.0.1]:{self.port}", f"[127.0.0.1]:{port}"))
        self.relays[rtt_ms] = (proc, port, kh)
        log(f"latency relay on 127.0.0.1:{port} -> {self.port}, {rtt_ms // 2} ms each way")

    def endpoint(self, rtt_ms):
        """(port, known_hosts) of the sshd, through the relay of `rtt_ms`
        (0: directly)."""
        if not rtt_ms:
            return self.port, self.known_hosts
        return self.relays[rtt_ms][1], self.relays[rtt_ms][2]

    def relay_selftest(self, rtt_ms):
        n = self.cfg["relay_test_bytes"]
        out = run_cmd([RELAY, "selftest", str(rtt_ms // 2), str(n)], 300)
        if out.returncode != 0:
            raise RunError("relay selftest failed: " + out.stderr)
        r = json.loads(out.stdout)
        log(f"relay alone ({human_bytes(n)} each way): round trip {r['rtt_seconds'] * 1000:.1f} ms, "
            f"up {r['up_mb_s']:.0f} MB/s, down {r['down_mb_s']:.0f} MB/s")
        return r

    def cleanup(self):
        if self.matrix_dir:
            subprocess.run(["bash", MATRIX_SH, "stop", self.matrix_dir], capture_output=True)
        for proc, _port, _kh in self.relays.values():
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self.sshd_dir:
            subprocess.run(["bash", SSHD_SH, "stop", self.sshd_dir], capture_output=True)
        if self.remote_abs and os.path.isdir(self.remote_abs):
            shutil.rmtree(self.remote_abs, ignore_errors=True)
        if self.work:
            shutil.rmtree(self.work, ignore_errors=True)

    # ---------------------------------------------------------------- data
    def make_big(self):
        path = os.path.join(self.work, "big.bin")
        if os.path.exists(path):
            return
        n = self.cfg["big_bytes"]
        log(f"creating a {human_bytes(n)} random file")
        with open(path, "wb") as f:
            left = n
            while left:
                k = min(left, 8 << 20)
                f.write(os.urandom(k))
                left -= k
        os.chmod(path, 0o644)
        remote = os.path.join(self.remote_abs, "big.bin")
        try:  # the server reads the same bytes: a hard link saves 1 GiB of disk
            os.link(path, remote)
        except OSError:
            shutil.copyfile(path, remote)
            os.chown(remote, self.uid, self.gid)
        self.remote_mkdir("up")
        os.makedirs(os.path.join(self.work, "dl"), exist_ok=True)

    def make_tree(self):
        src = os.path.join(self.work, "src", "tree")
        if os.path.exists(src):
            return
        d, f, b = self.cfg["tree_dirs"], self.cfg["tree_files_per_dir"], self.cfg["file_bytes"]
        log(f"creating a tree of {d * f} files of {human_bytes(b)} in {d} directories")
        for i in range(d):
            dd = os.path.join(src, f"d{i:02d}")
            os.makedirs(dd)
            for j in range(f):
                with open(os.path.join(dd, f"f{j:04d}.bin"), "wb") as fh:
                    fh.write(os.urandom(b))
        os.chmod(os.path.join(self.work, "src"), 0o755)
        remote = os.path.join(self.remote_abs, "tree")
        shutil.copytree(src, remote)
        self.chown_tree(remote)

    def make_walk(self):
        top = os.path.join(self.remote_abs, "walk")
        if os.path.exists(top):
            return
        d, f = self.cfg["walk_dirs"], self.cfg["walk_files_per_dir"]
        log(f"creating a remote tree of {d} directories x {f} empty files ({d + d * f} entries)")
        for i in range(d):
            dd = os.path.join(top, f"w{i:03d}")
            os.makedirs(dd)
            for j in range(f):
                open(os.path.join(dd, f"e{j:04d}"), "wb").close()
        self.chown_tree(top)

    # ---------------------------------------------------------------- clients
    def client_cmd(self, client, op, argv, cipher, via_relay, server=None):
        port, kh = self.endpoint(via_relay)
        if client in PEERS:
            return self.peer_cmd(client, op, argv, cipher, port, kh, server)
        if client in ("psftp", PSFTP_32K):
            if server:
                port, kh = server["port"], server["known_hosts"]
            cap = ["--max-request", "32768"] if client == PSFTP_32K else []
            return [PSFTP_BENCH, op, *argv, "--port", str(port),
                    "--user", server["user"] if server else self.user,
                    "--key", server["key"] if server else self.key,
                    "--known-hosts", kh, "--cipher", cipher, *cap]
        if client == "pysftp":
            return [VENV_PY, PYSFTP_BENCH, op, *argv, "--port", str(port), "--user", self.user,
                    "--key", self.key, "--known-hosts", self.known_hosts_bare,
                    "--cipher", cipher]
        if client in PY_CLIENTS:
            return [VENV_PY, PY_BENCH, "--client", client, op, *argv, "--port", str(port),
                    "--user", self.user, "--key", self.key, "--known-hosts", kh,
                    "--cipher", cipher]
        raise ValueError(client)

    def ssh_options(self, kh, key, cipher):
        """What OpenSSH's sftp and lftp's ssh are given: no config, the key,
        a checked host key, the cipher."""
        return ["-F", "/dev/null",
                "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                "-o", f"UserKnownHostsFile={kh}", "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-i", key,
                "-o", f"Ciphers={cipher}"]

    def peer_cmd(self, client, op, argv, cipher, port, kh, server=None):
        """rclone, lftp or the Go pkg/sftp client, with the settings at the
        top of this file. get_r FROM TO and put_r FROM TO copy the contents
        of FROM into TO; remote paths are relative to the login directory."""
        user, key = self.user, self.key
        if server:
            port, kh, user, key = server["port"], server["known_hosts"], server["user"], server["key"]
        src, dst = argv
        if client == "gosftp":
            return [GOSFTP_BENCH, op, src, dst, "-port", str(port), "-user", user, "-key", key,
                    "-known-hosts", kh, "-cipher", cipher, "-requests", str(GO_REQUESTS),
                    "-packet", str(GO_PACKET), "-workers", str(GO_WORKERS)]
        if client == "rclone":
            # On-the-fly remote: no config file; no remote md5sum/sha1sum
            # commands (psftp checks sizes, not hashes) and no SETSTAT of
            # the mtime after each file (psftp_bench does not preserve it).
            remote = (f":sftp,host=127.0.0.1,port={port},user={user},key_file={key},"
                      f"known_hosts_file={kh},disable_hashcheck=true,shell_type=none,"
                      f"set_modtime=false,chunk_size={RCLONE_CHUNK},"
                      f"concurrency={RCLONE_CONCURRENCY}:")
            if op in ("get", "get_r"):
                src = remote + src
            else:
                dst = remote + dst
            verb = "copyto" if op in ("get", "put") else "copy"
            return ["rclone", verb, src, dst, "-q", "--config", "/dev/null",
                    "--multi-thread-streams", str(RCLONE_STREAMS), "--multi-thread-cutoff", "1Mi",
                    "--transfers", str(RCLONE_TRANSFERS), "--checkers", str(RCLONE_TRANSFERS),
                    "--no-check-dest", "--retries", "1", "--low-level-retries", "1"]
        if client == "lftp":
            ssh = " ".join(["ssh", "-a", "-x", *self.ssh_options(kh, key, cipher)])
            verb = {"get": f"pget -n {LFTP_PGET} {src} -o {dst}", "put": f"put {src} -o {dst}",
                    "get_r": f"mirror --parallel={LFTP_PARALLEL} {src} {dst}",
                    "put_r": f"mirror -R --parallel={LFTP_PARALLEL} {src} {dst}"}[op]
            script = (f"set sftp:connect-program '{ssh}'; "
                      f"set sftp:max-packets-in-flight {LFTP_IN_FLIGHT}; "
                      f"set sftp:size-read {LFTP_READ}; set cmd:fail-exit yes; "
                      f"set net:max-retries 1; set net:timeout 60; "
                      f"open -u {user}, -p {port} sftp://127.0.0.1; {verb}")
            return ["lftp", "-c", script]
        raise ValueError(client)

    def sftp_cmd(self, batch, cipher, via_relay, server=None):
        port, kh = self.endpoint(via_relay)
        key, user = self.key, self.user
        if server:
            port, kh, key, user = server["port"], server["known_hosts"], server["key"], server["user"]
        return ["sftp", "-q", "-b", batch, *self.ssh_options(kh, key, cipher),
                "-P", str(port), f"{user}@127.0.0.1"]

    def run_one(self, client, op, argv, cipher, via_relay, sftp_batch=None, server=None):
        """One timed session (against `server`, a matrix server, when
        given). Returns the client's result dict, with `cpu_seconds`: user +
        system time of the client process and the children it waited for
        (sftp's ssh; lftp's ssh only if lftp reaps it)."""
        os.sync()  # write-back of the previous run is not charged to this one
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        r = self.run_client(client, op, argv, cipher, via_relay, sftp_batch, server)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        r["cpu_seconds"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return r

    def run_client(self, client, op, argv, cipher, via_relay, sftp_batch, server):
        timeout = self.cfg["timeout"]
        if client == "openssh":
            batch = os.path.join(self.work, "batch")
            with open(batch, "w") as f:
                f.write(sftp_batch + "\n")
            cmd = self.sftp_cmd(batch, cipher, via_relay, server)
            t0 = time.monotonic()
            out = run_cmd(cmd, timeout)
            dt = time.monotonic() - t0
            if out.returncode != 0:
                raise RunError(f"sftp exited {out.returncode}: {out.stderr.strip()[-500:]}")
            return {"seconds": dt}
        cmd = self.client_cmd(client, op, argv, cipher, via_relay, server)
        if client in ("rclone", "lftp"):  # timed from outside, like sftp
            t0 = time.monotonic()
            out = run_cmd(cmd, timeout)
            dt = time.monotonic() - t0
            if out.returncode != 0:
                raise RunError(f"{client} exited {out.returncode}: {out.stderr.strip()[-500:]}")
            return {"seconds": dt}
        # The psftp package from the source tree, on the release library.
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "bindings", "python"),
                   PSFTP_LIB=os.path.join(ROOT, "target", "release", "libpsftp.so"))
        out = run_cmd(cmd, timeout, env=env)
        if out.returncode != 0:
            raise RunError(f"{client} exited {out.returncode}: {out.stderr.strip()[-800:]}")
        try:
            return json.loads(out.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError) as e:
            raise RunError(f"{client}: no result in output {out.stdout[-300:]!r}") from e

    # ---------------------------------------------------------------- checks
    @staticmethod
    def same_file(a, b):
        if not os.path.isfile(b):
            raise RunError(f"missing after transfer: {b}")
        sa, sb = os.path.getsize(a), os.path.getsize(b)
        if sa != sb:
            raise RunError(f"wrong size: {b} has {sb} bytes, expected {sa}")
        if subprocess.run(["cmp", "-s", a, b]).returncode != 0:
            raise RunError(f"wrong bytes: {b} differs from {a}")

    @staticmethod
    def same_tree(a, b):
        if not os.path.isdir(b):
            raise RunError(f"missing after transfer: {b}")
        out = subprocess.run(["diff", "-rq", a, b], capture_output=True, text=True)
        if out.returncode != 0:
            raise RunError(f"tree differs: {out.stdout[:500]}{out.stderr[:200]}")

    # ---------------------------------------------------------------- cases
    def reps_for(self, workload, client):
        if workload == "tree-rtt" and client not in ["psftp", "psftp-py"] + PEERS:
            return min(self.cfg["slow_reps"], self.cfg["reps"])
        return self.cfg["reps"]

    def run_case(self, case, prepare, run, verify):
        """Alternate the clients over the repetitions of one case."""
        if self.args.quick and not (case["workload"] in QUICK_PEER_WORKLOADS
                                    and case["cipher"] == GCM):
            # A quick run (CI) checks each peer once per workload kind.
            case["clients"] = [c for c in case["clients"] if c not in PEERS]
        log(f"\n== {case['title']}  (load average {os.getloadavg()[0]:.2f})")
        case["loadavg_start"] = os.getloadavg()
        clients = case["clients"]
        reps = {c: self.reps_for(case["workload"], c) for c in clients}
        case["reps"] = reps
        runs = {c: [] for c in clients}
        for rep in range(max(reps.values())):
            order = clients[rep % len(clients):] + clients[:rep % len(clients)]
            for c in order:
                if rep >= reps[c] or c in case.get("failed", {}):
                    continue
                prepare(c)
                try:
                    r = run(c)
                    verify(c, r)
                except RunError as e:
                    msg = f"{case['title']}, {LABEL[c]}: {e}"
                    log(f"   ERROR {msg}")
                    self.errors.append(msg)
                    case.setdefault("failed", {})[c] = str(e)
                    continue
                runs[c].append(r)
                extra = ""
                if "maxrss_kib" in r and c == "psftp":
                    extra = f", peak RSS {r['maxrss_kib'] / 1024:.1f} MiB"
                log(f"   rep {rep + 1} {LABEL[c]:>12}: {r['seconds']:.3f} s"
                    f"{rate_text(case, r['seconds'])}{extra}")
        case["runs"] = runs
        case["median_seconds"] = {c: statistics.median([r["seconds"] for r in runs[c]])
                                  for c in clients if runs[c]}
        case["loadavg_end"] = os.getloadavg()
        # The operation alone (connect excluded), where the client can tell:
        # psftp and pysftp time themselves; OpenSSH sftp cannot be split.
        ops = {c: statistics.median([r["op_seconds"] for r in runs[c]])
               for c in ("psftp", "pysftp") if runs.get(c) and "op_seconds" in runs[c][0]}
        if ops:
            case["median_op_seconds"] = ops
        if "psftp" in runs and runs["psftp"] and "maxrss_kib" in runs["psftp"][0]:
            case["psftp_peak_rss_kib"] = max(r["maxrss_kib"] for r in runs["psftp"])
        self.cases.append(case)

    def big_cases(self, via_relay, workload=None, ciphers=(GCM, CHACHA), base=CLIENTS,
                  extra=PEERS + PY_CLIENTS):
        """get and put of the big file; `via_relay`: 0 (loopback) or the
        round trip in ms the relay adds."""
        self.make_big()
        if via_relay:
            self.start_relay(via_relay)
        n = self.cfg["big_bytes"]
        local = os.path.join(self.work, "big.bin")
        dl = os.path.join(self.work, "dl", "big.bin")
        remote_src = f"{self.remote_rel}/big.bin"
        remote_dst_rel = f"{self.remote_rel}/up/big.bin"
        remote_dst = os.path.join(self.remote_abs, "up", "big.bin")
        where = f"{via_relay} ms RTT" if via_relay else "loopback"
        for cipher in [c for c in ciphers if c in self.ciphers]:
            for op in ("get", "put"):
                clients = [c for c in clients_for(cipher, base, extra)
                           if c not in self.skip_clients]
                case = {"workload": workload or ("big-rtt" if via_relay else "big"), "op": op,
                        "cipher": cipher, "rtt_ms": via_relay,
                        "bytes": n, "clients": clients,
                        "title": f"{op} {human_bytes(n)}, {SHORT[cipher]}, {where}"}
                if cipher not in PYSFTP_CIPHERS:
                    case["note"] = ("pysftp: paramiko 3.5 has no chacha20-poly1305; rclone 1.60 "
                                    "has no cipher option (it negotiates aes128-gcm)")
                target = dl if op == "get" else remote_dst

                def prepare(_c, target=target):
                    if os.path.exists(target):
                        os.unlink(target)

                def run(c, op=op, cipher=cipher):
                    if op == "get":
                        return self.run_one(c, "get", [remote_src, dl], cipher, via_relay,
                                            f"get {remote_src} {dl}")
                    return self.run_one(c, "put", [local, remote_dst_rel], cipher, via_relay,
                                        f"put {local} {remote_dst_rel}")

                def verify(_c, _r, target=target):
                    self.same_file(local, target)
                    os.unlink(target)

                self.run_case(case, prepare, run, verify)

    def tree_cases(self, via_relay):
        self.make_tree()
        if via_relay:
            self.start_relay(via_relay)
        d, f, b = self.cfg["tree_dirs"], self.cfg["tree_files_per_dir"], self.cfg["file_bytes"]
        src = os.path.join(self.work, "src", "tree")
        remote_src = f"{self.remote_rel}/tree"
        where = f"{via_relay} ms RTT" if via_relay else "loopback"
        tag = "rtt" if via_relay else "lo"
        # Every run writes into a new directory and nothing is deleted until
        # the end of the whole run: on ext4, creating thousands of files
        # right after deleting thousands (the previous repetition's copy)
        # costs several times more system time in open(O_CREAT), which made
        # every repetition after the first up to 7x slower (for all clients,
        # psftp's 4 parallel connections most).
        for op in ("get_r", "put_r"):
            sftp_op = "get -r" if op == "get_r" else "put -r"
            case = {"workload": "tree-rtt" if via_relay else "tree", "op": op, "cipher": GCM,
                    "rtt_ms": via_relay, "files": d * f,
                    "bytes": d * f * b,
                    "clients": [c for c in clients_for(GCM) if c not in self.skip_clients],
                    "title": f"{op} {d * f} files x {human_bytes(b)} in {d} dirs, "
                             f"{SHORT[GCM]}, {where}",
                    "note": f"OpenSSH: sftp {sftp_op}; psftp: its default connections"}
            dest = {}

            def prepare(c, op=op, dest=dest):
                self.run_no += 1
                name = f"{op}-{tag}-{self.run_no}-{c}"
                if op == "get_r":
                    dest["local"] = os.path.join(self.work, "dl_tree", name)
                    os.makedirs(dest["local"])
                else:
                    dest["rel"] = f"{self.remote_rel}/up_tree/{name}"
                    dest["abs"] = self.remote_mkdir(f"up_tree/{name}")

            def run(c, op=op, dest=dest):
                if op == "get_r":
                    return self.run_one(c, "get_r", [remote_src, dest["local"]], GCM, via_relay,
                                        f"get -r {remote_src} {dest['local']}")
                return self.run_one(c, "put_r", [src, dest["rel"]], GCM, via_relay,
                                    f"put -r {src} {dest['rel']}")

            def verify(c, _r, op=op, dest=dest):
                # pysftp's get_r lands at reparent(localdir, remotedir), and so
                # does psftp's; sftp's get -r / put -r add the last name.
                # The peers copy the contents of the source into the target.
                if op == "get_r":
                    got = (os.path.join(dest["local"], "tree") if c == "openssh"
                           else dest["local"] if c in PEERS
                           else os.path.join(dest["local"], remote_src))
                else:
                    got = os.path.join(dest["abs"], "tree") if c == "openssh" else dest["abs"]
                self.same_tree(src, got)

            self.run_case(case, prepare, run, verify)

    def make_trees_src(self, n):
        """n files of trees_file_bytes, trees_per_dir per directory, locally
        and (a copy) on the server; made once per size."""
        per, b = self.cfg["trees_per_dir"], self.cfg["trees_file_bytes"]
        name = f"trees{n}"
        src = os.path.join(self.work, "src", name)
        if not os.path.exists(src):
            log(f"creating a tree of {n:,} files of {human_bytes(b)}, {per} per directory")
            for i in range(n):
                if i % per == 0:
                    dd = os.path.join(src, f"d{i // per:04d}")
                    os.makedirs(dd)
                with open(os.path.join(dd, f"f{i % per:03d}.bin"), "wb") as fh:
                    fh.write(os.urandom(b))
            os.chmod(os.path.join(self.work, "src"), 0o755)
            remote = os.path.join(self.remote_abs, name)
            shutil.copytree(src, remote)
            self.chown_tree(remote)
        return src, f"{self.remote_rel}/{name}"

    def trees_cases(self, via_relay):
        """get_r and put_r of trees of 1 KiB files, 100 per directory, at
        each size of trees_sizes: psftp and the peers (and OpenSSH on
        loopback), an untimed warm-up run of psftp first, every copy into a
        fresh directory, the copies of a case deleted when it ends."""
        if via_relay:
            self.start_relay(via_relay)
        where = f"{via_relay} ms RTT" if via_relay else "loopback"
        base = ["psftp"] if via_relay else ["psftp", "openssh"]
        workload = "trees-rtt" if via_relay else "trees"
        sizes = self.cfg["trees_sizes"]
        if self.args.quick and via_relay:
            sizes = sizes[:1]  # quick: the commands work; no scaling to see
        for n in sizes:
            src, remote_src = self.make_trees_src(n)
            b = self.cfg["trees_file_bytes"]
            for op in ("get_r", "put_r"):
                case = {"workload": workload, "op": op, "cipher": GCM, "rtt_ms": via_relay,
                        "files": n, "bytes": n * b, "clients": base + PEERS,
                        "title": f"{op} {n:,} files x {human_bytes(b)}, {where}",
                        "note": "trees: fresh directories, an untimed psftp warm-up run first"}
                dest = {}
                made = []

                def prepare(c, op=op, dest=dest, made=made):
                    self.run_no += 1
                    name = f"{op}-{workload}-{self.run_no}-{c}"
                    if op == "get_r":
                        dest["local"] = os.path.join(self.work, "dl_tree", name)
                        os.makedirs(dest["local"])
                        made.append(dest["local"])
                    else:
                        dest["rel"] = f"{self.remote_rel}/up_tree/{name}"
                        dest["abs"] = self.remote_mkdir(f"up_tree/{name}")
                        made.append(dest["abs"])

                def run(c, op=op, dest=dest, src=src, remote_src=remote_src):
                    if op == "get_r":
                        return self.run_one(c, "get_r", [remote_src, dest["local"]], GCM,
                                            via_relay, f"get -r {remote_src} {dest['local']}")
                    return self.run_one(c, "put_r", [src, dest["rel"]], GCM, via_relay,
                                        f"put -r {src} {dest['rel']}")

                def verify(c, _r, op=op, dest=dest, src=src, remote_src=remote_src):
                    last = os.path.basename(remote_src)
                    if op == "get_r":
                        got = (os.path.join(dest["local"], last) if c == "openssh"
                               else dest["local"] if c in PEERS
                               else os.path.join(dest["local"], remote_src))
                    else:
                        got = os.path.join(dest["abs"], last) if c == "openssh" else dest["abs"]
                    self.same_tree(src, got)

                log(f"   warm-up (untimed): psftp {op} {n:,} files")
                prepare("psftp")
                try:
                    verify("psftp", run("psftp"))
                except RunError as e:
                    self.errors.append(f"warm-up {case['title']}: {e}")
                self.run_case(case, prepare, run, verify)
                for d in made:
                    shutil.rmtree(d, ignore_errors=True)
                os.sync()

    def start_matrix(self):
        """The servers of the test matrix (tests/servers/matrix.sh): the
        env of each, by name."""
        self.matrix_dir = os.path.join(self.work, "matrix")
        out = run_cmd(["bash", MATRIX_SH, "start", self.matrix_dir], 1200)
        if out.returncode != 0:
            raise RunError("matrix.sh start failed:\n" + out.stdout[-2000:] + out.stderr[-2000:])
        names = run_cmd(["bash", MATRIX_SH, "names"], 30).stdout.split()
        servers = {}
        for name in names:
            env = {}
            with open(os.path.join(self.matrix_dir, f"{name}.env")) as f:
                for line in f:
                    k, _, v = line.strip().partition("=")
                    env[k] = v[1:-1] if len(v) >= 2 and v[0] == v[-1] == "'" else v
            servers[name] = {"name": name, "version": env["PSFTP_TEST_SERVER_VERSION"],
                             "port": int(env["PSFTP_TEST_PORT"]), "user": env["PSFTP_TEST_USER"],
                             "key": env["PSFTP_TEST_KEY"],
                             "known_hosts": env["PSFTP_TEST_KNOWN_HOSTS"],
                             "root": env["PSFTP_TEST_ROOT"],
                             "remote_root": env["PSFTP_TEST_REMOTE_ROOT"].rstrip("/")}
            log(f"{name}: {servers[name]['version']} on 127.0.0.1:{servers[name]['port']}")
        return servers

    def server_cases(self):
        """get and put of one file (64 MiB; quick 4 MiB) against each server
        of the test matrix: psftp and OpenSSH's sftp, the same key and
        cipher (every server there speaks aes128-gcm@openssh.com)."""
        servers = self.start_matrix()
        n = self.cfg["server_bytes"]
        local = os.path.join(self.work, "server-src.bin")
        with open(local, "wb") as f:
            f.write(os.urandom(n))
        os.chmod(local, 0o644)
        dl = os.path.join(self.work, "server-dl.bin")
        for srv in servers.values():
            st = os.stat(srv["root"])
            served_src = os.path.join(srv["root"], "bench-src.bin")
            shutil.copyfile(local, served_src)
            os.chown(served_src, st.st_uid, st.st_gid)
            remote_src = f"{srv['remote_root']}/bench-src.bin"
            remote_dst = f"{srv['remote_root']}/bench-up.bin"
            served_dst = os.path.join(srv["root"], "bench-up.bin")
            for op in ("get", "put"):
                case = {"workload": "servers", "server": srv["name"],
                        "server_version": srv["version"], "op": op, "cipher": GCM, "rtt_ms": 0,
                        "bytes": n, "clients": ["psftp", PSFTP_32K, "openssh"],
                        "title": f"{op} {human_bytes(n)}, {srv['version']}, {SHORT[GCM]}, loopback",
                        "note": "servers: the test matrix's (tests/servers/matrix.sh); "
                                "pysftp is not run there (it loads only RSA keys from a path)"}
                target = dl if op == "get" else served_dst

                def prepare(_c, target=target):
                    if os.path.exists(target):
                        os.unlink(target)

                def run(c, op=op, srv=srv, remote_src=remote_src, remote_dst=remote_dst):
                    if op == "get":
                        return self.run_one(c, "get", [remote_src, dl], GCM, False,
                                            f"get {remote_src} {dl}", server=srv)
                    return self.run_one(c, "put", [local, remote_dst], GCM, False,
                                        f"put {local} {remote_dst}", server=srv)

                def verify(_c, _r, target=target):
                    self.same_file(local, target)
                    os.unlink(target)

                self.run_case(case, prepare, run, verify)
            os.unlink(served_src)

    def walk_case(self):
        self.make_walk()
        d, f = self.cfg["walk_dirs"], self.cfg["walk_files_per_dir"]
        entries = d + d * f
        remote = f"{self.remote_rel}/walk"
        case = {"workload": "walktree", "op": "walktree", "cipher": GCM, "rtt_ms": 0,
                "entries": entries,
                # The peers have no walktree of their own (rclone lsf -R,
                # lftp find would be listings, not the same walk).
                "clients": clients_for(GCM, ["psftp", "pysftp"], PY_CLIENTS),
                "title": f"walktree {entries} entries ({d} dirs), {SHORT[GCM]}, loopback",
                "note": "OpenSSH sftp has no recursive listing"}

        def verify(c, r):
            if r.get("entries") != entries or r.get("dirs") != d:
                raise RunError(f"walktree saw {r.get('entries')} entries "
                               f"({r.get('dirs')} dirs), expected {entries} ({d} dirs)")

        self.run_case(case, lambda c: None,
                      lambda c: self.run_one(c, "walktree", [remote], GCM, False), verify)

    def connect_case(self):
        n = self.cfg["connects"]
        case = {"workload": "connect", "op": "connect", "cipher": GCM, "rtt_ms": 0,
                "connects": n, "clients": clients_for(GCM, extra=PY_CLIENTS),
                "title": f"connect + authenticate (RSA key) + pwd + close, x{n}, "
                         f"{SHORT[GCM]}, loopback",
                "note": "seconds: median of single connections; OpenSSH: one sftp process each"}

        def run(c):
            if c != "openssh":
                r = self.run_one(c, "connect", [str(n)], GCM, False)
                r["all_seconds"] = r["connect_seconds"]
                r["seconds"] = statistics.median(r["connect_seconds"])
                return r
            times = [self.run_one(c, "connect", [], GCM, False, "pwd")["seconds"]
                     for _ in range(n)]
            return {"all_seconds": times, "seconds": statistics.median(times)}

        def verify(c, r):
            if len(r["all_seconds"]) != n:
                raise RunError(f"{len(r['all_seconds'])} connections, expected {n}")

        self.run_case(case, lambda c: None, run, verify)


# -------------------------------------------------------------------- report
def ratio(case, other, base="psftp"):
    m = case.get("median_seconds", {})
    if base in m and other in m:
        return m[other] / m[base]
    return None


def rate_text(case, s):
    if case.get("files"):
        return f" ({case['files'] / s:,.0f} files/s, {case['bytes'] / s / 1e6:.2f} MB/s)"
    if case.get("bytes"):
        return f" ({case['bytes'] / s / 1e6:.1f} MB/s)"
    if case.get("entries"):
        return f" ({case['entries'] / s:,.0f} entries/s)"
    return ""


def cell(case, c):
    m = case.get("median_seconds", {})
    if c not in case["clients"]:
        return "n/a"
    if c not in m:
        return "failed"
    s = m[c]
    reps = len(case["runs"][c])
    rate = rate_text(case, s)
    star = "" if reps == max(case["reps"].values()) else f" [{reps} rep]"
    return f"{s:.3f} s{rate}{star}"


def fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}x"


QUICK_NOTE = ("Quick run: small sizes, every transfer verified; no verdicts on the targets "
              "(a full run gives them).")


def table(cases):
    lines = ["| workload | psftp | OpenSSH sftp | pysftp | psftp/OpenSSH | psftp/pysftp | psftp peak RSS |",
             "|---|---|---|---|---|---|---|"]
    for c in cases:
        rss = c.get("psftp_peak_rss_kib")
        lines.append(f"| {c['title']} | {cell(c, 'psftp')} | {cell(c, 'openssh')} | "
                     f"{cell(c, 'pysftp')} | {fmt_ratio(ratio(c, 'openssh'))} | "
                     f"{fmt_ratio(ratio(c, 'pysftp'))} | "
                     f"{'-' if rss is None else f'{rss / 1024:.1f} MiB'} |")
    return "\n".join(lines)


def servers_table(cases):
    """The servers workload: psftp with the request size it picks for each
    server against psftp forced to 32 KiB requests, and OpenSSH's sftp."""
    cols = ["psftp", PSFTP_32K, "openssh"]
    lines = ["| workload | " + " | ".join(LABEL[c] for c in cols)
             + " | psftp / 32 KiB requests | psftp / OpenSSH sftp |",
             "|---|" + "---|" * (len(cols) + 2)]
    for c in cases:
        if c["workload"] != "servers":
            continue
        lines.append(f"| {c['title']} | " + " | ".join(cell(c, x) for x in cols)
                     + f" | {fmt_ratio(ratio(c, PSFTP_32K))} | {fmt_ratio(ratio(c, 'openssh'))} |")
    return "\n".join(lines)


# Issue 20: against the servers without limits@openssh.com that take larger
# requests, psftp's own request size must beat 32 KiB requests by 2x.
LARGE_REQUEST_SERVERS = ("pkgsftp-server", "pkgsftp-request", "proftpd")


def best_peer(case):
    """The fastest peer of a case (rclone, lftp, Go pkg/sftp) and psftp's
    ratio to it."""
    m = case.get("median_seconds", {})
    got = [(m[p], p) for p in PEERS if p in m]
    if not got or "psftp" not in m:
        return None, None
    s, p = min(got)
    return p, s / m["psftp"]


def peers_table(cases):
    """psftp against the tuned peers, with the client CPU of each."""
    cols = ["psftp"] + PEERS + ["openssh"]
    lines = ["| workload | " + " | ".join(LABEL[c] for c in cols) + " | psftp / best peer |",
             "|---|" + "---|" * (len(cols) + 1)]
    for c in cases:
        if not any(p in c["clients"] for p in PEERS):
            continue
        p, r = best_peer(c)
        best = "-" if p is None else f"{fmt_ratio(r)} ({LABEL[p]})"
        lines.append(f"| {c['title']} | " + " | ".join(cell(c, x) for x in cols) + f" | {best} |")
    return "\n".join(lines)


def cpu_per_gib(case, client):
    runs = case.get("runs", {}).get(client)
    if not runs or "cpu_seconds" not in runs[0] or not case.get("bytes"):
        return None
    return statistics.median(r["cpu_seconds"] for r in runs) * (1 << 30) / case["bytes"]


def cpu_table(cases):
    """Client CPU (user + system of the client process) per GiB moved."""
    cols = ["psftp", "openssh"] + PEERS
    lines = ["| workload | " + " | ".join(LABEL[c] for c in cols) + " |",
             "|---|" + "---|" * len(cols)]
    for c in cases:
        if c["workload"] not in ("big", "big-rtt", "big-rtt100") or c.get("files"):
            continue
        vals = [cpu_per_gib(c, x) for x in cols]
        lines.append(f"| {c['title']} | " + " | ".join(
            "-" if v is None else f"{v:.2f} s" for v in vals) + " |")
    return "\n".join(lines)


def scaling_table(cases):
    """trees: seconds per 1,000 files at each size, and the growth from the
    smallest size to the largest (1.00 = linear)."""
    lines = ["| trees | client | " + "files: s per 1,000 files | growth (largest / smallest) |",
             "|---|---|---|---|"]
    groups = {}
    for c in cases:
        if c["workload"] in ("trees", "trees-rtt"):
            groups.setdefault((c["workload"], c["op"], c["rtt_ms"]), []).append(c)
    for (w, op, rtt), cs in groups.items():
        cs.sort(key=lambda c: c["files"])
        for cl in cs[0]["clients"]:
            pts = [(c["files"], c["median_seconds"][cl]) for c in cs
                   if cl in c.get("median_seconds", {})]
            if not pts:
                continue
            per = [f"{n:,}: {1000 * s / n:.3f} s" for n, s in pts]
            growth = (pts[-1][1] / pts[-1][0]) / (pts[0][1] / pts[0][0]) if len(pts) > 1 else None
            where = f"{rtt} ms RTT" if rtt else "loopback"
            lines.append(f"| {op}, {where} | {LABEL[cl]} | {'; '.join(per)} | "
                         f"{'-' if growth is None else f'{growth:.2f}'} |")
    return "\n".join(lines)


def py_table(cases):
    """The Python-level comparison: the psftp package against pysftp,
    paramiko and asyncssh (ratios above 1 mean the psftp package is
    faster)."""
    others = ["pysftp", "paramiko", "asyncssh"]
    lines = ["| workload | psftp (Python) | " + " | ".join(LABEL[o] for o in others) + " | "
             + " | ".join(f"vs {LABEL[o]}" for o in others) + " |",
             "|---|" + "---|" * (1 + 2 * len(others))]
    for c in cases:
        if "psftp-py" not in c["clients"]:
            continue
        lines.append(f"| {c['title']} | {cell(c, 'psftp-py')} | "
                     + " | ".join(cell(c, o) for o in others) + " | "
                     + " | ".join(fmt_ratio(ratio(c, o, "psftp-py")) for o in others) + " |")
    return "\n".join(lines)


def targets(cases, rtt_ms):
    """Evaluate the issue's targets on this run's ratios."""
    out = []

    def add(target, case, other, need):
        r = ratio(case, other)
        out.append({"target": target, "case": case["title"], "versus": other, "need": need,
                    "ratio": r, "result": "n/a" if r is None else ("PASS" if r >= need else "MISS")})

    for c in cases:
        w = c["workload"]
        if w == "big":
            add("1 GiB loopback >= 1.0x OpenSSH, same cipher", c, "openssh", 1.0)
            if "pysftp" in c["clients"]:
                add("1 GiB loopback >= 2x pysftp", c, "pysftp", 2.0)
        elif w == "big-rtt":
            add(f"1 GiB {rtt_ms} ms RTT >= 1.5x OpenSSH", c, "openssh", 1.5)
        elif w == "tree-rtt":
            add(f"2,000 files {rtt_ms} ms RTT >= 10x OpenSSH -r", c, "openssh", 10.0)
            add(f"2,000 files {rtt_ms} ms RTT >= 10x pysftp", c, "pysftp", 10.0)
        elif w == "tree":
            add("2,000 files loopback >= 2x OpenSSH", c, "openssh", 2.0)
        elif w == "walktree":
            add("walktree >= 5x pysftp", c, "pysftp", 5.0)
    out += targets_20(cases)
    big = [c for c in cases if c["workload"] in ("big", "big-rtt", "big-rtt100")
           and c.get("psftp_peak_rss_kib")]
    if big:
        peak = max(c["psftp_peak_rss_kib"] for c in big)
        where = " and ".join(sorted({f"{c['rtt_ms']} ms RTT" if c["rtt_ms"] else "loopback"
                                     for c in big}))
        out.append({"target": "psftp peak RSS during 1 GiB < 64 MiB", "case": f"all 1 GiB runs ({where})",
                    "versus": None, "need": 64 * 1024, "peak_rss_kib": peak,
                    "result": "PASS" if peak < 64 * 1024 else "MISS"})
    return out


def targets_20(cases):
    """Issue 20's targets, on this run's numbers."""
    out = []
    loop = {(c["op"], c["cipher"]): c for c in cases if c["workload"] == "big"}

    def verdict(ok):
        return "n/a" if ok is None else ("PASS" if ok else "MISS")

    def psftp_s(c):
        return c.get("median_seconds", {}).get("psftp")

    for c in cases:
        w, key = c["workload"], (c["op"], c["cipher"])
        if w in ("big-rtt", "big-rtt100") and key in loop and psftp_s(c) and psftp_s(loop[key]):
            share = psftp_s(loop[key]) / psftp_s(c)
            need = 0.8 if w == "big-rtt" else 0.6
            out.append({"target": f">= {need:.0%} of psftp's loopback rate", "case": c["title"],
                        "versus": "psftp loopback", "need": need, "ratio": share,
                        "result": verdict(share >= need)})
        if w in ("big-rtt", "trees", "trees-rtt"):
            p, r = best_peer(c)
            need = 2.0 if w == "big-rtt" else 3.0
            if p:
                out.append({"target": f">= {need:g}x the best tuned peer", "case": c["title"],
                            "versus": p, "need": need, "ratio": r, "result": verdict(r >= need)})
        if w == "big-rtt100":
            r = ratio(c, "openssh")
            out.append({"target": ">= 5x OpenSSH at 100 ms", "case": c["title"],
                        "versus": "openssh", "need": 5.0, "ratio": r,
                        "result": verdict(None if r is None else r >= 5.0)})
        if w == "servers" and c["server"] in LARGE_REQUEST_SERVERS:
            r = ratio(c, PSFTP_32K)
            out.append({"target": ">= 2x psftp with 32 KiB requests", "case": c["title"],
                        "versus": PSFTP_32K, "need": 2.0, "ratio": r,
                        "result": verdict(None if r is None else r >= 2.0)})
        if w == "big" and c["cipher"] == GCM:
            v = cpu_per_gib(c, "psftp")
            if v is not None:
                out.append({"target": "client CPU <= 0.4 s per GiB", "case": c["title"],
                            "versus": None, "need": 0.4, "cpu_s_per_gib": v,
                            "result": verdict(v <= 0.4)})
        if w in ("trees", "trees-rtt") and c.get("psftp_peak_rss_kib"):
            peak = c["psftp_peak_rss_kib"]
            out.append({"target": "psftp peak RSS < 64 MiB", "case": c["title"], "versus": None,
                        "need": 64 * 1024, "peak_rss_kib": peak,
                        "result": verdict(peak < 64 * 1024)})
    return out


def verdicts(cases, rtt_ms, quick):
    """The targets' verdicts, none for a quick run: its small sizes are not
    the targets' workloads, so it checks correctness only."""
    return [] if quick else targets(cases, rtt_ms)


def targets_table(ts):
    lines = ["| target | case | measured | result |", "|---|---|---|---|"]
    for t in ts:
        if "peak_rss_kib" in t:
            m = f"{t['peak_rss_kib'] / 1024:.1f} MiB"
        elif "cpu_s_per_gib" in t:
            m = f"{t['cpu_s_per_gib']:.2f} s/GiB (need <= {t['need']:g})"
        else:
            m = fmt_ratio(t["ratio"]) + f" (need {t['need']:g}x)"
        lines.append(f"| {t['target']} | {t['case']} | {m} | {t['result']} |")
    return "\n".join(lines)


def svg_chart(cases, meta, path):
    """Grouped horizontal bars, one group per case, each bar scaled to the
    fastest client of its own row, labelled with the absolute value."""
    colors = {"psftp": "#1f77b4", "openssh": "#7f7f7f", "pysftp": "#ff7f0e",
              "rclone": "#9467bd", "lftp": "#8c564b", "gosftp": "#bcbd22",
              "psftp-py": "#17becf", "paramiko": "#d62728", "asyncssh": "#2ca02c",
              PSFTP_32K: "#aec7e8"}
    bar_h, gap, label_w, bar_w, right = 14, 14, 330, 330, 200
    rows = [c for c in cases if c.get("median_seconds")]
    height = 86 + 16 + sum(len(c["clients"]) * bar_h + gap + 16 for c in rows) + 30
    width = label_w + bar_w + right
    esc = lambda s: s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
         f'font-family="DejaVu Sans, Arial, sans-serif" font-size="11">',
         f'<rect width="{width}" height="{height}" fill="white"/>',
         f'<text x="10" y="20" font-size="14" font-weight="bold">psftp vs OpenSSH sftp vs pysftp '
         f'(higher is faster; bars scaled per row)</text>',
         f'<text x="10" y="38" fill="#444">{esc(meta[0])}</text>',
         f'<text x="10" y="54" fill="#444">{esc(meta[1])}</text>']
    x, ly = 10, 64
    for c in [cl for cl in ALL_CLIENTS if any(cl in r["clients"] for r in cases)]:
        if x + 110 > width:  # the legend wraps
            x, ly = 10, ly + 16
        o.append(f'<rect x="{x}" y="{ly}" width="12" height="12" fill="{colors[c]}"/>'
                 f'<text x="{x + 16}" y="{ly + 10}">{LABEL[c]}</text>')
        x += 110
    y = ly + 28
    for c in rows:
        o.append(f'<text x="10" y="{y + 10}" font-weight="bold">{esc(c["title"])}</text>')
        y += 16
        med = c["median_seconds"]

        def rate(cl):
            s = med[cl]
            if c.get("files"):
                return c["files"] / s, f"{c['files'] / s:,.0f} files/s ({s:.2f} s)"
            if c.get("bytes"):
                return c["bytes"] / s / 1e6, f"{c['bytes'] / s / 1e6:.1f} MB/s ({s:.2f} s)"
            if c.get("entries"):
                return c["entries"] / s, f"{c['entries'] / s:,.0f} entries/s ({s:.2f} s)"
            return 1 / s, f"{1 / s:.1f} /s ({s * 1000:.0f} ms)"

        best = max(rate(cl)[0] for cl in med)
        for cl in c["clients"]:
            if cl in med:
                v, text = rate(cl)
                w = max(1.0, bar_w * v / best)
                o.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h - 2}" '
                         f'fill="{colors[cl]}"/>')
                o.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 10}">{esc(text)}</text>')
            else:
                why = "n/a" if cl not in c["clients"] else "failed"
                o.append(f'<text x="{label_w + 4}" y="{y + 10}" fill="#a00">{why}</text>')
            o.append(f'<text x="{label_w - 6}" y="{y + 10}" text-anchor="end" fill="#444">'
                     f'{LABEL[cl]}</text>')
            y += bar_h
        y += gap
    o.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(o) + "\n")


def versions():
    def first_line(cmd, stderr=False):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            return ((out.stderr if stderr else out.stdout).strip().splitlines() or [""])[0]
        except (OSError, subprocess.TimeoutExpired):
            return None

    v = {}
    out = subprocess.run([PSFTP_BENCH, "version"], capture_output=True, text=True)
    v["psftp"] = json.loads(out.stdout)["psftp_version"] if out.returncode == 0 else None
    heads = glob.glob(os.path.join(ROOT, "target", "release", "build", "libssh2-sys-*", "out",
                                   "include", "libssh2.h"))
    for h in heads:
        m = re.search(r'#define LIBSSH2_VERSION\s+"([^"]+)"', open(h).read())
        if m:
            v["libssh2 (bundled by libssh2-sys)"] = m.group(1)
    v["git commit"] = first_line(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
    v["OpenSSH (sftp, sshd, sftp-server)"] = first_line(["ssh", "-V"], stderr=True)
    out = subprocess.run([VENV_PY, "-c", "import sys, importlib.metadata as m; print(sys.version.split()[0]);"
                          "[print(p, m.version(p)) for p in ('pysftp','paramiko','cryptography','asyncssh')]"],
                         capture_output=True, text=True)
    lines = out.stdout.split("\n")
    v["python (pysftp venv)"] = lines[0]
    for line in lines[1:]:
        if line.strip():
            k, val = line.split()
            v[k] = val
    v["rclone"] = first_line(["rclone", "version"])
    v["lftp"] = first_line(["lftp", "--version"])
    v["Go pkg/sftp (bench/gosftp)"] = next(
        (line.split()[1] for line in open(os.path.join(BENCH, "gosftp", "go.mod"))
         if "github.com/pkg/sftp" in line), None)
    v["go"] = first_line(["go", "version"])
    v["rustc"] = first_line(["rustc", "-V"])
    v["gcc"] = first_line(["gcc", "--version"])
    return v


def machine():
    model = None
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) // 1024} MiB"
    except OSError:
        pass
    fs = None
    try:
        out = subprocess.run(["findmnt", "-no", "FSTYPE,OPTIONS", "-T", "/tmp"],
                             capture_output=True, text=True, timeout=10)
        fs = out.stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        pass
    return {"cores": os.cpu_count(), "cpu": model, "memory": mem, "filesystem (/tmp)": fs,
            "kernel": platform.release(), "hostname_hash":
                hashlib.sha256(platform.node().encode()).hexdigest()[:8]}


def report(result, out_dir, echo=False):
    """Table, targets, chart.svg and table.md from a results dict (also
    used by --render to redo them from a saved results.json)."""
    cases, ts, info = result["cases"], result["targets"], result
    quick = result["mode"].startswith("quick")
    load_start, load_end = result["loadavg_start"], result["loadavg_end"]
    loads = [load_start[0], load_end[0]] + [x for c in cases
                                            for x in (c["loadavg_start"][0], c["loadavg_end"][0])]
    peak = max(loads)
    tbl = table(cases)
    ptbl = py_table(cases)
    peer_tbl, cpu_tbl, scale_tbl = peers_table(cases), cpu_table(cases), scaling_table(cases)
    srv_tbl = servers_table(cases)
    ttbl = QUICK_NOTE if quick else targets_table(ts)
    opl = [f"- {c['title']}: operation alone (connect excluded) psftp "
           f"{c['median_op_seconds']['psftp']:.3f} s, pysftp {c['median_op_seconds']['pysftp']:.3f} s, "
           f"psftp/pysftp {c['median_op_seconds']['pysftp'] / c['median_op_seconds']['psftp']:.2f}x"
           for c in cases if c["workload"] == "walktree"
           and len(c.get("median_op_seconds", {})) == 2]
    ttbl += ("\n\n" + "\n".join(opl)) if opl else ""
    load_text = (f"load average (1 min) {load_start[0]:.2f} at start, {load_end[0]:.2f} at end, "
                 f"up to {peak:.2f} between workloads")
    if echo:
        log("\n" + tbl + "\n")
        log("Tuned peers (rclone, lftp, Go pkg/sftp):")
        log(peer_tbl + "\n")
        log("Client CPU (user + system) per GiB:")
        log(cpu_tbl + "\n")
        if any(c["workload"] == "servers" for c in cases):
            log("Other servers, psftp's request size vs 32 KiB requests:")
            log(srv_tbl + "\n")
        if any(c["workload"].startswith("trees") for c in cases):
            log("Trees, time per 1,000 files by size:")
            log(scale_tbl + "\n")
        log("Python level (the psftp package vs pysftp, paramiko, asyncssh):")
        log(ptbl + "\n")
        log(ttbl if quick else "Targets:\n" + ttbl)
        log(f"\n{load_text}; {info['machine']['cores']} cores; "
            f"run took {result['seconds_total']:.0f} s")
    v = info["versions"]
    meta = (f"{result['date']}, {result['mode']}, {info['machine']['cores']} cores, "
            f"{load_text}",
            f"psftp {v.get('psftp')}, "
            f"{(v.get('OpenSSH (sftp, sshd, sftp-server)') or '').split(',')[0]}, "
            f"pysftp {v.get('pysftp')} / paramiko {v.get('paramiko')}; "
            f"loopback sshd; RTT via bench/relay.rs; one session timed per run")
    svg_chart(cases, meta, os.path.join(out_dir, "chart.svg"))
    relay_test = result.get("relay_selftest")
    with open(os.path.join(out_dir, "table.md"), "w") as f:
        f.write(f"Run {result['date']} ({result['mode']}); {load_text}; "
                f"{info['machine']['cores']} cores ({info['machine']['cpu']}); "
                f"took {result['seconds_total']:.0f} s.\n\n"
                "Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()) +
                f"\n\n{tbl}\n\n### Tuned peers\n\n{peer_tbl}\n\n"
                f"### Client CPU (user + system) per GiB\n\n{cpu_tbl}\n\n"
                f"### Other servers: psftp's request size vs 32 KiB requests\n\n{srv_tbl}\n\n"
                f"### Trees: time per 1,000 files by size\n\n{scale_tbl}\n\n"
                f"### Python level\n\n{ptbl}\n\n{ttbl}\n")
        if relay_test:
            f.write(f"\nRelay alone: round trip {relay_test['rtt_seconds'] * 1000:.1f} ms, "
                    f"{relay_test['up_mb_s']:.0f} MB/s up, {relay_test['down_mb_s']:.0f} MB/s down.\n")
        for n in result.get("notes", []):
            f.write(f"\n- {n}")
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description="psftp vs OpenSSH sftp vs pysftp (see bench/README.md)")
    ap.add_argument("--quick", action="store_true", help="small sizes, 1 repetition (smoke test)")
    ap.add_argument("--only", default="", help="comma-separated workloads: " + ",".join(WORKLOADS)
                    + " (also: rtt = big-rtt,tree-rtt)")
    ap.add_argument("--reps", type=int, default=0, help="repetitions per client (default 3, quick 1)")
    ap.add_argument("--slow-reps", type=int, default=0,
                    help="repetitions of OpenSSH and pysftp on tree-rtt (default 1)")
    ap.add_argument("--rtt-ms", type=int, default=20, help="round trip added by the relay")
    ap.add_argument("--out", default="", help="results directory (default bench/results, "
                    "quick: bench/results/tmp/quick)")
    ap.add_argument("--render", metavar="RESULTS_JSON",
                    help="only redo table.md and chart.svg from a saved results.json "
                         "(next to it, or in --out)")
    ap.add_argument("--ciphers", default="gcm,chacha", choices=["gcm,chacha", "gcm", "chacha"],
                    help="ciphers of the big workloads (default gcm,chacha)")
    ap.add_argument("--no-python", action="store_true",
                    help="leave out the Python-level clients (psftp package, paramiko, asyncssh)")
    ap.add_argument("--big-bytes", type=int, default=0,
                    help="size of the big file (default 1 GiB, quick 32 MiB)")
    ap.add_argument("--tree-sizes", default="",
                    help="file counts of the trees workloads (default 2000,20000; "
                         "quick 100,200), e.g. 2000,20000,200000")
    args = ap.parse_args()
    if args.render:
        with open(args.render) as f:
            result = json.load(f)
        # Verdicts follow the current target rules; the measurements stay.
        result["targets"] = verdicts(result["cases"], result.get("rtt_ms", args.rtt_ms),
                                     result["mode"].startswith("quick"))
        report(result, args.out or os.path.dirname(os.path.abspath(args.render)), echo=True)
        return 0

    only = [w.strip() for w in args.only.split(",") if w.strip()]
    if "rtt" in only:
        only = [w for w in only if w != "rtt"] + ["big-rtt", "tree-rtt"]
    for w in only:
        if w not in WORKLOADS:
            ap.error(f"unknown workload {w!r}; choose from {', '.join(WORKLOADS)}")
    todo = only or WORKLOADS
    # A quick run never overwrites the committed results of a full run.
    default_out = os.path.join(BENCH, "results", *(["tmp", "quick"] if args.quick else []))
    out_dir = args.out or default_out
    os.makedirs(out_dir, exist_ok=True)

    b = Bench(args)
    started = time.monotonic()
    load_start = os.getloadavg()
    info = {"machine": machine(), "versions": versions()}
    log(f"machine: {info['machine']['cores']} cores, {info['machine']['cpu']}; "
        f"load average {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}")
    log("reps: " + (f"{b.cfg['reps']} per client; OpenSSH and pysftp on tree-rtt: "
                    f"{min(b.cfg['slow_reps'], b.cfg['reps'])}"))
    relay_test = None
    try:
        b.setup()
        if any("-rtt" in w for w in todo):
            relay_test = b.relay_selftest(args.rtt_ms)
        if "connect" in todo:
            b.connect_case()
        if "big" in todo:
            b.big_cases(0)
        if "tree" in todo:
            b.tree_cases(0)
        if "walktree" in todo:
            b.walk_case()
        if "servers" in todo:
            b.server_cases()
        if "big-rtt" in todo:
            b.big_cases(args.rtt_ms)
        if "tree-rtt" in todo:
            b.tree_cases(args.rtt_ms)
        if "big-rtt100" in todo:
            # gcm only; OpenSSH's sftp and the peers (the Python clients
            # would take minutes per run at 100 ms).
            b.big_cases(100, "big-rtt100", ciphers=(GCM,), extra=PEERS,
                        base=["psftp", "openssh"])
        if "trees" in todo:
            b.trees_cases(0)
        if "trees-rtt" in todo:
            b.trees_cases(args.rtt_ms)
    except RunError as e:
        b.errors.append(str(e))
        log(f"ERROR {e}")
    except KeyboardInterrupt:
        b.errors.append("interrupted")
    finally:
        b.cleanup()
    elapsed = time.monotonic() - started
    load_end = os.getloadavg()

    mode = "quick (small sizes: correctness only, no targets)" if args.quick else "full"
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = {
        "date": stamp, "mode": mode, "seconds_total": elapsed,
        "loadavg_start": load_start, "loadavg_end": load_end,
        "timing": "one session per run: connect + authenticate + operation + close; "
                  "medians over repetitions; clients alternate",
        "reps": {"default": b.cfg["reps"], "tree-rtt OpenSSH and pysftp":
                 min(b.cfg["slow_reps"], b.cfg["reps"])},
        "config": b.cfg, "rtt_ms": args.rtt_ms, "relay_selftest": relay_test,
        "cases": b.cases, "targets": verdicts(b.cases, args.rtt_ms, args.quick), "errors": b.errors,
        "notes": sorted({c["note"] for c in b.cases if c.get("note")}), **info,
    }
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(result, f, indent=1)
    report(result, out_dir, echo=True)
    log(f"results: {out_dir}/results.json, chart.svg, table.md")
    # Every run counted here was verified (bytes, sizes, trees, counts).
    verified = sum(len(runs) for c in b.cases for runs in c.get("runs", {}).values())
    log(f"bench: {verified} passed, {len(b.errors)} failed")
    if b.errors:
        log(f"\n{len(b.errors)} error(s):")
        for e in b.errors:
            log(f"  {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
