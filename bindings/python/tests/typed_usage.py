"""A typed program against psftp, checked by mypy --strict in test.sh: the
pysftp cookbook, plus the keywords beyond pysftp. Not run by pytest."""

from __future__ import annotations

import io
import socket
from typing import List, Optional, Tuple

import psftp as pysftp


def cookbook(host: str, user: str, password: str, port: int, known_hosts: str) -> List[str]:
    cnopts = pysftp.CnOpts(knownhosts=known_hosts)
    cnopts.log = False
    cnopts.compression = True
    cnopts.ciphers = ["aes128-gcm@openssh.com"]
    with pysftp.Connection(host, username=user, password=password, port=port, cnopts=cnopts) as sftp:
        with sftp.cd("public"):
            attrs: pysftp.SFTPAttributes = sftp.put("/my/local/filename", preserve_mtime=True)
            size: int = attrs.st_size or 0
            sftp.get("remote_file", callback=lambda done, total: None)
        sftp.chmod("readme.txt", 644)
        mode: int = pysftp.st_mode_to_int(sftp.stat("readme.txt").st_mode or 0)
        sftp.get_r("public", "local-backup", preserve_mtime=True, parallelism=8,
                   exclude=["*.tmp"], on_error="continue",
                   progress=lambda p: print(p.files_done, p.files_total))
        buf = io.BytesIO()
        n: int = sftp.getfo("remote_file", buf)
        with sftp.open("remote_file", "rb") as f:
            head: bytes = f.read(10)
            line = f.readline()
        lines: List[bytes] = sftp.execute("ls")
        names: List[str] = [a.filename for a in sftp.listdir_attr()]
        key: pysftp.HostKey = sftp.remote_server_key
        print(size, mode, n, head, line, lines, key.get_name(), sftp.pwd, sftp.timeout)
        return names + list(pysftp.path_advance("./pub/example"))


def routes(sock: socket.socket, key: bytes, otp: str) -> str:
    """Issue 16: ssh_config, jump hosts, a ProxyCommand, a socket, a key
    from memory, keyboard-interactive."""
    cnopts = pysftp.CnOpts(ssh_config=True, proxy_jump="ops@bastion:2222")
    cnopts.proxy_command = None
    cnopts.ssh_config = "~/.ssh/config.d/work"
    report: str = cnopts.ssh_config_report("prod-db")

    def answer(req: pysftp.KeyboardInteractiveRequest) -> Optional[List[str]]:
        port: int = req.port
        if (req.user, req.host, port) == ("ops", "bastion", 2222):
            return None  # nothing to answer for the jump host
        prompts: List[Tuple[str, bool]] = req.prompts
        if len(prompts) == 1 and "code" in prompts[0][0].lower():
            return [otp]
        return []  # the password answers the rest

    handler: pysftp.KeyboardInteractive = answer
    with pysftp.Connection("prod-db", cnopts=cnopts, sock=sock, private_key_data=key,
                           private_key_pass="secret", keyboard_interactive=handler) as sftp:
        return report + sftp.pwd
