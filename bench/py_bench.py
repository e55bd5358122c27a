"""py_bench: one benchmark operation through a Python SFTP client, for the
Python-level comparison (bench/.venv):

    python py_bench.py --client psftp-py|paramiko|asyncssh OP ARGS...
                       --port P --user U --key KEY --known-hosts FILE
                       [--cipher NAME]

OP and the JSON on stdout are those of psftp_bench.c and pysftp_bench.py:
connect N | get R L | put L R | get_r R L | put_r L R | walktree R. Timing
starts before the connect (imports and interpreter start are excluded).

- psftp-py: the psftp Python package (`import psftp as pysftp`), pysftp's
  calls unchanged (get_r/put_r with their default 4 connections).
- paramiko: paramiko's SFTPClient as its users write it (SSHClient with the
  known_hosts file, get/put, recursion by hand, one file after another).
- asyncssh: asyncssh's SFTP client with its defaults (get/put with
  recurse=True, which pipeline requests within a file).

Trees land where pysftp puts them (get_r at reparent(localdir, remotedir);
put_r copies the contents into remotepath), so the harness checks every
client the same way.
"""

import argparse
import json
import os
import resource
import stat
import sys
import time
import warnings

warnings.simplefilter("ignore")


def rss():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def reparent(newparent, oldpath):
    return os.path.join(newparent, "." + oldpath) if oldpath.startswith("/") \
        else os.path.join(newparent, oldpath)


class Counts:
    def __init__(self):
        self.files = self.dirs = self.others = 0

    def cb(self, kind):
        def f(_path):
            setattr(self, kind, getattr(self, kind) + 1)
        return f


# ----------------------------------------------------------------- psftp-py
def run_psftp(a, op, args, counts):
    import psftp as pysftp

    cnopts = pysftp.CnOpts(knownhosts=a.known_hosts)
    if a.cipher:
        cnopts.ciphers = (a.cipher,)

    def connect():
        return pysftp.Connection(a.host, username=a.user, private_key=a.key, port=a.port,
                                 cnopts=cnopts)

    def do(c):
        if op == "get":
            c.get(args[0], args[1])
        elif op == "put":
            c.put(args[0], args[1], confirm=True)
        elif op == "get_r":
            c.get_r(args[0], args[1])
        elif op == "put_r":
            c.put_r(args[0], args[1], confirm=True)
        elif op == "walktree":
            c.walktree(args[0], counts.cb("files"), counts.cb("dirs"), counts.cb("others"))
        elif op == "connect":
            c.pwd
        return list(c.active_ciphers)

    return connect, do, lambda c: c.close()


# ----------------------------------------------------------------- paramiko
def run_paramiko(a, op, args, counts):
    import paramiko

    def connect():
        client = paramiko.SSHClient()
        client.load_host_keys(a.known_hosts)
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        disabled = None
        if a.cipher:
            every = paramiko.Transport._preferred_ciphers
            disabled = {"ciphers": [x for x in every if x != a.cipher]}
        client.connect(a.host, port=a.port, username=a.user, key_filename=a.key,
                       look_for_keys=False, allow_agent=False, disabled_algorithms=disabled)
        return client, client.open_sftp()

    def get_r(sftp, remote, local):
        os.makedirs(local, exist_ok=True)
        for e in sftp.listdir_attr(remote):
            r, l = f"{remote}/{e.filename}", os.path.join(local, e.filename)
            if stat.S_ISDIR(e.st_mode):
                get_r(sftp, r, l)
            elif stat.S_ISREG(e.st_mode):
                sftp.get(r, l)

    def put_r(sftp, local, remote):
        for name in sorted(os.listdir(local)):
            l, r = os.path.join(local, name), f"{remote}/{name}"
            if os.path.isdir(l):
                try:
                    sftp.mkdir(r)
                except OSError:
                    pass
                put_r(sftp, l, r)
            else:
                sftp.put(l, r, confirm=True)

    def walk(sftp, path):
        for e in sftp.listdir_attr(path):
            p = f"{path}/{e.filename}"
            if stat.S_ISDIR(e.st_mode):
                counts.dirs += 1
                walk(sftp, p)
            elif stat.S_ISREG(e.st_mode):
                counts.files += 1
            else:
                counts.others += 1

    def do(cs):
        client, sftp = cs
        if op == "get":
            sftp.get(args[0], args[1])
        elif op == "put":
            sftp.put(args[0], args[1], confirm=True)
        elif op == "get_r":
            get_r(sftp, args[0], reparent(args[1], args[0]))
        elif op == "put_r":
            put_r(sftp, args[0], args[1])
        elif op == "walktree":
            walk(sftp, args[0])
        elif op == "connect":
            sftp.normalize(".")
        t = client.get_transport()
        return [t.local_cipher, t.remote_cipher]

    def close(cs):
        cs[1].close()
        cs[0].close()

    return connect, do, close


# ----------------------------------------------------------------- asyncssh
def run_asyncssh(a, op, args, counts):
    import asyncio

    import asyncssh

    loop = asyncio.new_event_loop()

    async def aconnect():
        kw = {"encryption_algs": [a.cipher]} if a.cipher else {}
        conn = await asyncssh.connect(a.host, port=a.port, username=a.user,
                                      client_keys=[a.key], known_hosts=a.known_hosts,
                                      agent_path=None, **kw)
        return conn, await conn.start_sftp_client()

    async def walk(sftp, path):
        async for e in sftp.scandir(path):
            if e.filename in (".", ".."):
                continue
            p = f"{path}/{e.filename}"
            t = e.attrs.type
            if t == asyncssh.FILEXFER_TYPE_DIRECTORY:
                counts.dirs += 1
                await walk(sftp, p)
            elif t == asyncssh.FILEXFER_TYPE_REGULAR:
                counts.files += 1
            else:
                counts.others += 1

    async def ado(cs):
        conn, sftp = cs
        if op == "get":
            await sftp.get(args[0], args[1])
        elif op == "put":
            await sftp.put(args[0], args[1])
            await sftp.stat(args[1])  # confirm, as the others do
        elif op == "get_r":
            dest = reparent(args[1], args[0])
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            await sftp.get(args[0], dest, recurse=True)
        elif op == "put_r":
            names = [os.path.join(args[0], n) for n in sorted(os.listdir(args[0]))]
            await sftp.put(names, args[1], recurse=True)
        elif op == "walktree":
            await walk(sftp, args[0])
        elif op == "connect":
            await sftp.realpath(".")
        return [conn.get_extra_info("send_cipher"), conn.get_extra_info("recv_cipher")]

    async def aclose(cs):
        cs[1].exit()
        cs[0].close()
        await cs[0].wait_closed()

    return (lambda: loop.run_until_complete(aconnect()),
            lambda cs: loop.run_until_complete(ado(cs)),
            lambda cs: loop.run_until_complete(aclose(cs)))


CLIENTS = {"psftp-py": run_psftp, "paramiko": run_paramiko, "asyncssh": run_asyncssh}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--client", required=True, choices=sorted(CLIENTS))
    ap.add_argument("op")
    ap.add_argument("args", nargs="*")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--known-hosts", required=True)
    ap.add_argument("--cipher")
    a = ap.parse_args()
    counts = Counts()
    args = a.args[1:] if a.op == "connect" else a.args
    connect, do, close = CLIENTS[a.client](a, a.op, args, counts)

    if a.op == "connect":
        times = []
        for _ in range(int(a.args[0])):
            t0 = time.monotonic()
            c = connect()
            do(c)
            close(c)
            times.append(time.monotonic() - t0)
        print(json.dumps({"op": "connect", "connect_seconds": times, "seconds": sum(times),
                          "maxrss_kib": rss()}))
        return 0

    t0 = time.monotonic()
    c = connect()
    t1 = time.monotonic()
    cipher = do(c)
    t2 = time.monotonic()
    close(c)
    t3 = time.monotonic()
    print(json.dumps({
        "op": a.op, "seconds": t3 - t0, "op_seconds": t2 - t1, "connect_seconds": [t1 - t0],
        "entries": counts.files + counts.dirs + counts.others, "files": counts.files,
        "dirs": counts.dirs, "maxrss_kib": rss(), "cipher": cipher,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
