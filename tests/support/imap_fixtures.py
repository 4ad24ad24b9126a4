"""The Dovecot fixtures, loaded by the IMAP test modules through
`pytest_plugins = ["support.imap_fixtures"]`: dovecot, dovecot_no_special_use, start_dovecot.

Each gives a `support.imap.Dovecot` started for one test (about 60 ms to start; to stop, about
10 ms, or 1 s when Dovecot's master waits for a process) with the account USER / PASSWORD of
support.imap. Without the dovecot binary the test is
skipped with the line that installs it, except under CI=true, where it fails instead (as does a
Dovecot that does not start, anywhere).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from support.imap import PASSWORD, USER, Dovecot, StartDovecot, require_dovecot


@pytest.fixture
def start_dovecot() -> Iterator[StartDovecot]:
    """Start a Dovecot with the given users and options (see `Dovecot`); all are stopped after
    the test. `start_dovecot()` alone gives the account USER / PASSWORD."""
    require_dovecot()
    started: list[Dovecot] = []

    def start(users: Mapping[str, str] | None = None, **options: Any) -> Dovecot:
        server = Dovecot(users or {USER: PASSWORD}, **options)
        started.append(server)
        return server.start()

    yield start
    for server in reversed(started):
        server.stop()


@pytest.fixture
def dovecot(start_dovecot: StartDovecot) -> Dovecot:
    """A Dovecot whose folders carry SPECIAL-USE attributes: Junk \\Junk, Sent, Trash, All Mail."""
    return start_dovecot()


@pytest.fixture
def dovecot_no_special_use(start_dovecot: StartDovecot) -> Dovecot:
    """A Dovecot without SPECIAL-USE: the spam folder is only named "Spam"."""
    return start_dovecot(special_use=False)
