"""Run by test_interrupt.py as a subprocess: a long transfer, stopped by
SIGINT (Ctrl-C) from the parent. Prints READY once bytes move, then
INTERRUPTED and USABLE/UNUSABLE after KeyboardInterrupt."""

import os
import sys
import time

import psftp as pysftp

env = dict(line.split("=", 1) for line in open(os.environ["PSFTP_TEST_ENV"]).read().splitlines() if "=" in line)
direction, remote, local = sys.argv[1:4]
cn = pysftp.CnOpts(knownhosts=env["PSFTP_TEST_KNOWN_HOSTS"])
sftp = pysftp.Connection(env["PSFTP_TEST_HOST"], username=env["PSFTP_TEST_USER"],
                         password=env["PSFTP_TEST_PASSWORD"], port=int(env["PSFTP_TEST_PORT"]), cnopts=cn)
ready = [False]


def slow(done: int, total: int) -> None:
    if not ready[0]:
        ready[0] = True
        print("READY", flush=True)
    time.sleep(0.002)  # a slow consumer: 1 GiB would take minutes


try:
    if direction == "get":
        sftp.get(remote, local, callback=slow)
    else:
        sftp.put(local, remote, callback=slow)
    print("FINISHED", flush=True)
except KeyboardInterrupt:
    print("INTERRUPTED", flush=True)
    try:
        sftp.listdir("/")
        print("USABLE", flush=True)
    except pysftp.Error as e:
        print("UNUSABLE", type(e).__name__, flush=True)
