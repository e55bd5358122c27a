"""A connection shared by threads; blocking calls release the GIL."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import List

import psftp as pysftp
from conftest import make_remote


def test_threads_share_one_connection(sftp: pysftp.Connection, rdir: str, tmp_path: Path) -> None:
    errors: List[BaseException] = []

    def work(i: int) -> None:
        try:
            data = os.urandom(200_000 + i)
            src = tmp_path / f"src{i}"
            src.write_bytes(data)
            for _ in range(3):
                sftp.put(str(src), f"{rdir}/f{i}")
                assert sftp.stat(f"{rdir}/f{i}").st_size == len(data)
                sftp.get(f"{rdir}/f{i}", str(tmp_path / f"back{i}"))
                assert (tmp_path / f"back{i}").read_bytes() == data
                assert f"f{i}" in sftp.listdir(rdir)
                with sftp.open(f"{rdir}/f{i}", "rb") as f:
                    assert f.read() == data
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(os.listdir(rdir)) == sorted(f"f{i}" for i in range(8))


def test_blocking_calls_release_the_gil(sftp: pysftp.Connection, rdir: str, tmp_path: Path) -> None:
    make_remote(f"{rdir}/big", b"\0" * 1, rdir)
    os.truncate(f"{rdir}/big", 512 * 1024 * 1024)
    count = [0]
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            count[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        time.sleep(0.05)
        results: List[int] = []

        def transfer() -> None:  # a non-main thread: the C call runs right here
            before = count[0]
            sftp.get(f"{rdir}/big", str(tmp_path / "big"))
            results.append(count[0] - before)

        worker = threading.Thread(target=transfer)
        worker.start()
        worker.join()
    finally:
        stop.set()
        t.join()
    # With the GIL held through the C call the spinning thread could not
    # run at all while the 512 MiB moved; released, it runs throughout.
    assert results[0] > 100_000, results
    assert os.path.getsize(tmp_path / "big") == 512 * 1024 * 1024
