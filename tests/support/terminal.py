"""Running mailcheck under a real pseudo-terminal, of a width the test chooses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_on_terminal(args: list[str], columns: int, env: dict[str, str], cwd: Path) -> str:
    """`mailcheck ARGS` under a real pseudo-terminal of `columns` columns."""
    import fcntl
    import pty
    import struct
    import termios

    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS")}
    environment.update(env, TERM="xterm-256color")
    process = subprocess.Popen(
        [sys.executable, "-m", "interview_mailcheck", *args],
        stdout=terminal,
        stderr=terminal,
        stdin=terminal,
        cwd=cwd,
        env=environment,
    )
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=60)
    os.close(controller)
    return b"".join(chunks).decode("utf-8", "replace")
