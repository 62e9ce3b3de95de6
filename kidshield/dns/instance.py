"""One kidshield per DNS address.

The DNS sockets are opened with ``SO_REUSEPORT`` so the processes of one instance can share a
port, but that would also let a second ``kidshield serve`` on the same address start silently
and take half the queries with its own policy. Each instance therefore holds a name in Linux's
abstract socket namespace for every address it answers on (released by the kernel when the
process ends, however it ends, and scoped like the ports themselves: per network namespace).
A second instance finds the name taken and stops with a clear message before it binds.
"""

from __future__ import annotations

import errno
import socket
import sys

from kidshield.errors import KidshieldError


class InstanceError(KidshieldError):
    pass


class InstanceLock:
    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._held: list[socket.socket] = []

    @staticmethod
    def supported() -> bool:
        return sys.platform.startswith("linux")

    def acquire(self, proto: str, host: str, port: int) -> None:
        """Claim ``proto host:port`` for this instance; InstanceError when another has it."""
        if not self.enabled or not self.supported() or port == 0:
            return
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(f"\0kidshield/{proto}/{host}/{port}")
        except OSError as exc:
            sock.close()
            if exc.errno == errno.EADDRINUSE:
                raise InstanceError(
                    f"cannot listen on {proto.upper()} {host}:{port}: another kidshield serve "
                    "already answers there. Run one instance per address (to use more cores, "
                    "one instance with --workers)."
                ) from None
            raise
        self._held.append(sock)

    def release(self) -> None:
        for sock in self._held:
            sock.close()
        self._held.clear()
