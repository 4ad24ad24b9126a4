"""Arbitrary .env text never crashes `mailcheck config`: it exits 0, 1 or 2, with no traceback."""

from __future__ import annotations

import tempfile
from pathlib import Path

from conftest import invoke
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from interview_mailcheck.settings import MAIL_SETTINGS

KEYS = st.sampled_from([*MAIL_SETTINGS, "OTHER", "export EMAIL_HOST", "'EMAIL_PORT'", ""])
VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["True", "Ture", "587", "465", "-1", "smtp.gmail.com", '"', "'", " #", "${X}"]),
)
LINES = st.one_of(
    st.builds(lambda k, v: f"{k}={v}", KEYS, VALUES),
    st.text(max_size=60),
)
ENV_TEXT = st.lists(LINES, max_size=12).map("\n".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=ENV_TEXT, as_json=st.booleans())
def test_config_on_arbitrary_env_text(text: str, as_json: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        env_file = Path(folder) / ".env"
        env_file.write_text(text, encoding="utf-8", errors="surrogatepass")
        result = invoke(["config", "--env-file", str(env_file), *(["--json"] if as_json else [])])
    assert result.exception is None, result.exception
    assert result.exit_code in (0, 1, 2)
    assert "Traceback" not in result.stderr
    if result.exit_code in (0, 1):
        assert result.stdout
    if as_json and result.exit_code in (0, 1):
        assert result.json()["command"] == "config"


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=200))
def test_config_on_arbitrary_bytes(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        env_file = Path(folder) / ".env"
        env_file.write_bytes(data)
        result = invoke(["config", "--env-file", str(env_file)])
    assert result.exception is None, result.exception
    assert result.exit_code in (0, 1, 2)
