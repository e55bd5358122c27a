#!/usr/bin/env python3
"""asyncssh's SFTP server serving one directory, for psftp's server matrix.

    asyncssh_server.py ROOT HOST_KEY AUTHORIZED_KEYS USER PORT_FILE

Listens on a free 127.0.0.1 port and writes it to PORT_FILE. USER logs in
with the password in $PSFTP_SERVER_PASSWORD (kept off the command line) or
with a key of AUTHORIZED_KEYS. The SFTP server is asyncssh.SFTPServer
chrooted to ROOT: ROOT is "/" for the client. Nothing is changed in
asyncssh's behaviour: it is the server as its users run it.
"""
import asyncio
import hmac
import os
import sys

import asyncssh


def main():
    root, host_key, authorized_keys, user, port_file = sys.argv[1:6]
    password = os.environ.get("PSFTP_SERVER_PASSWORD", "")
    if not password:
        sys.exit("asyncssh_server.py: $PSFTP_SERVER_PASSWORD is not set")

    class Server(asyncssh.SSHServer):
        def begin_auth(self, username):
            return True  # always authenticate, even a valid user

        def password_auth_supported(self):
            return True

        def validate_password(self, username, given):
            return username == user and hmac.compare_digest(given.encode(), password.encode())

    def sftp_factory(chan):
        return asyncssh.SFTPServer(chan, chroot=root)

    async def serve():
        server = await asyncssh.listen(
            "127.0.0.1", 0, server_factory=Server, server_host_keys=[host_key],
            authorized_client_keys=authorized_keys, sftp_factory=sftp_factory,
            allow_scp=False, server_version="psftp_matrix")
        port = server.sockets[0].getsockname()[1]
        with open(port_file + ".tmp", "w") as f:
            f.write(f"{port}\n")
        os.rename(port_file + ".tmp", port_file)
        print(f"asyncssh {asyncssh.__version__} serving {root} on 127.0.0.1:{port}", flush=True)
        await server.wait_closed()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
