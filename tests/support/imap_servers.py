"""Fixtures of real IMAP servers behind one interface (support.imap_peers.MailServer), loaded
through `pytest_plugins = ["support.imap_fixtures", "support.imap_servers"]`.

`imap_server` is parametrized over Dovecot (support.imap) and the loopback IMAP server of
`mailcheck demo` (interview_mailcheck.loopback_imap): one test shows that the client works
against both, and that the loopback server behaves like Dovecot for what the client uses.
`imap_server_named` is the same without SPECIAL-USE (the spam folder is "Spam").
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.imap import PASSWORD, USER
from support.imap_peers import MailServer, _DovecotServer, _LoopbackServer


def _start(request: pytest.FixtureRequest, kind: str, special_use: bool) -> Iterator[MailServer]:
    if kind == "dovecot":
        start = request.getfixturevalue("start_dovecot")
        yield _DovecotServer(start(special_use=special_use))
        return
    from interview_mailcheck.loopback_imap import LoopbackIMAP

    with LoopbackIMAP({USER: PASSWORD}, special_use=special_use) as server:
        yield _LoopbackServer(server)


@pytest.fixture(params=["dovecot", "loopback"])
def imap_server(request: pytest.FixtureRequest) -> Iterator[MailServer]:
    """Dovecot, then the loopback server, each with SPECIAL-USE folders (Junk is \\Junk)."""
    yield from _start(request, str(request.param), True)


@pytest.fixture(params=["dovecot", "loopback"])
def imap_server_named(request: pytest.FixtureRequest) -> Iterator[MailServer]:
    """Dovecot, then the loopback server, without SPECIAL-USE: the spam folder is "Spam"."""
    yield from _start(request, str(request.param), False)
