"""Run by test_interrupt.py as a subprocess: a long transfer, stopped by
SIGINT (Ctrl-C) from the parent. Prints READY once bytes move, then
INTERRUPTED and USABLE/UNUSABLE after KeyboardInterrupt."""

import os
import signal
import sys
import time

import psftp as pysftp

# A shell without job control starts background children with SIGINT
# ignored, and Python then keeps it ignored: take Python's Ctrl-C handler
# back, as in an interactive program.
signal.signal(signal.SIGINT, signal.default_int_handler)

env = dict(line.split("=", 1) for line in open(os.environ["PSFTP_TEST_ENV"]).read().splitlines() if "=" in line)
direction, remote, local, grace = sys.argv[1:5]
# How long a stop request may take before the connection is interrupted:
# long for the test of the cooperative stop (a loaded machine must not turn
# it into an interrupt), the default for the stalled link.
pysftp._calls.CANCEL_GRACE = float(grace)
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
