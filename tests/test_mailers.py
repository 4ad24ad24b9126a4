"""Django 6.1's MAILERS, on real settings modules resolved by the installed Django: every mailer
checked, its findings in the words of MAILERS, --mailer choosing the one walked, the EMAIL_*
settings on 6.1 (the migration), MAILERS on a Django that ignores it, and the messages quoted
from Django checked against what Django raises. CI runs this module on Django 4.2, 5.2 and 6.1."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import django
import pytest
import trustme
from conftest import Run, RunCli
from support.django_site import SETTINGS_FIXTURES

from interview_mailcheck.loopback import LoopbackSMTP

pytest_plugins = ["support.django_fixtures"]
pytestmark = pytest.mark.usefixtures("process_state")

VERSION = "{}.{}".format(*django.VERSION[:2])
READS_MAILERS = django.VERSION >= (6, 1)
needs_61 = pytest.mark.skipif(not READS_MAILERS, reason="MAILERS is read from Django 6.1")
before_61 = pytest.mark.skipif(READS_MAILERS, reason="Django 6.1 reads MAILERS")
Project = Callable[..., Path]
BULK_SECRET = "SG.bulk-secret-key-value"


@pytest.fixture
def project(tmp_path: Path, request: pytest.FixtureRequest) -> Project:
    """A folder holding a copy of a settings module of tests/fixtures/django/settings."""

    def make(settings: str, text: str | None = None) -> Path:
        target = tmp_path / f"{settings}.py"
        if text is None:
            shutil.copy(SETTINGS_FIXTURES / f"{settings}.py", target)
        else:
            target.write_text(text, encoding="utf-8")
        request.addfinalizer(lambda: sys.modules.pop(settings, None))
        return tmp_path

    return make


def config(run_cli: RunCli, folder: Path, module: str, *extra: str) -> Run:
    return run_cli("config", "--settings", module, "--pythonpath", folder, "--json", *extra)


def lines(result: Run, prefix: str = "") -> list[str]:
    return [line for line in result.findings() if line.startswith(prefix)]


# --- Django 6.1 ----------------------------------------------------------------------------------


@needs_61
def test_two_mailers_one_broken(run_cli: RunCli, project: Project) -> None:
    folder = project("mailers_two")
    result = config(run_cli, folder, "mailers_two")
    assert (result.exit_code, result.stderr) == (1, "")
    bulk = "MAILERS['bulk']['OPTIONS']"
    assert lines(result, "mailers.") == [
        "mailers.W001 warning MAILERS['bulk']['HOST']: MAILERS['bulk']['HOST'] is set, but Django "
        "reads only BACKEND and OPTIONS of a mailer (OPTIONS 'host'?)",
        f"mailers.E005 error {bulk}['user']: {bulk}['user']: "
        "django.core.mail.backends.smtp.EmailBackend takes no option 'user': Django 6.1 raises "
        "\"Unknown options 'user'.\" when the mailer is used",
        f"mailers.E003 error {bulk}['host']: {bulk}['host'] is not set: Django 6.1 raises "
        "\"OPTIONS must define 'host'.\" when the mailer is used (EMAIL_HOST's default, "
        "localhost, does not apply)",
    ]
    assert (
        f"django.W002 warning {bulk}['port']: {bulk}['port'] is the string '587' (str): it "
        "works only because the socket layer accepts a numeric string"
    ) in result.findings()
    by_id = {f["id"]: f for f in result.json()["findings"]}
    assert by_id["mailers.E005"]["hint"] == "Write 'username' instead of 'user'"
    assert by_id["config.E010"]["mailer"] == "bulk"  # a finding about one mailer names it
    # the 'default' mailer is sound: no finding names it
    assert not [f for f in result.json()["findings"] if "'default'" in f["subject"]]


@needs_61
def test_the_headline_and_settings_table_speak_mailers(run_cli: RunCli, project: Project) -> None:
    folder = project("mailers_two")
    text = run_cli("config", "--settings", "mailers_two", "--pythonpath", folder, "-v")
    assert text.stdout.splitlines()[0] == (
        f"mailcheck config: settings resolved by Django {VERSION} from mailers_two "
        f"({folder / 'mailers_two.py'}); MAILERS['default']: smtp.gmail.com:587 with STARTTLS "
        "(Gmail / Google Workspace)"
    )
    rows = {
        row["name"]: row["value"]
        for row in config(run_cli, folder, "mailers_two").json()["settings"]
    }
    assert rows["MAILERS['default']['OPTIONS']['host']"] == "'smtp.gmail.com'"
    assert rows["MAILERS['default']['OPTIONS']['password']"] == "set (16 characters)"
    assert rows["MAILERS['bulk']['OPTIONS']['password']"] == "set (24 characters)"


@needs_61
@pytest.mark.parametrize("mode", ["text", "-v", "--json", "github", "junit"])
def test_a_password_in_options_is_a_secret(
    mode: str, run_cli: RunCli, project: Project, tmp_path: Path
) -> None:
    folder = project("mailers_two")
    extra = {
        "text": [],
        "-v": ["-v"],
        "--json": ["--json"],
        "github": ["--format", "github"],
        "junit": ["--format", "junit"],
    }[mode]
    result = run_cli("config", "--settings", "mailers_two", "--pythonpath", folder, *extra)
    assert result.stdout  # a report was written
    for text in (result.stdout, result.stderr):
        assert BULK_SECRET not in text and "abcdefghijklmnop" not in text


@needs_61
def test_mailers_beside_deprecated_settings_refuse_to_start(
    run_cli: RunCli, project: Project
) -> None:
    folder = project("mailers_with_email_host")
    result = config(run_cli, folder, "mailers_with_email_host")
    assert result.exit_code == 1
    assert lines(result, "mailers.E007") == [
        "mailers.E007 error MAILERS: settings.py sets MAILERS and EMAIL_HOST: Django 6.1 refuses "
        "to start (ImproperlyConfigured: Deprecated email settings are not allowed when MAILERS "
        "is defined: EMAIL_HOST.)"
    ]


@needs_61
def test_no_default_a_mailer_not_a_dict_and_the_port_from_the_mode(
    run_cli: RunCli, project: Project
) -> None:
    folder = project("mailers_no_default")
    result = config(run_cli, folder, "mailers_no_default")
    assert lines(result, "mailers.") == [
        "mailers.I001 info MAILERS['transactional']['OPTIONS']['port']: "
        "MAILERS['transactional']['OPTIONS']['port'] is not set: Django 6.1 uses 465 (use_ssl)",
        "mailers.E001 error MAILERS['broken']: MAILERS['broken'] is a str, not a dict with "
        "BACKEND and OPTIONS",
        "mailers.E002 error MAILERS: MAILERS defines 'transactional', 'broken' but no 'default': "
        "send_mail() without using= fails",
    ]
    # no default: the first mailer is the one described (and walked)
    text = run_cli("config", "--settings", "mailers_no_default", "--pythonpath", folder)
    assert text.stdout.splitlines()[0].endswith(
        "; MAILERS['transactional']: smtp.gmail.com:465 with implicit TLS (Gmail / Google "
        "Workspace)"
    )


@needs_61
def test_email_settings_on_61_get_the_mailers_they_become(
    run_cli: RunCli, project: Project
) -> None:
    folder = project("email_settings_plain")
    result = config(run_cli, folder, "email_settings_plain")
    assert (result.exit_code, result.stderr) == (0, "")  # no deprecation warning printed
    assert lines(result) == [
        "mailers.I002 info MAILERS: Django 6.1 builds the 'default' mailer from the deprecated "
        "EMAIL_* settings (removed in Django 2028): the same in MAILERS is MAILERS = {'default': "
        "{'BACKEND': 'django.core.mail.backends.smtp.EmailBackend', 'OPTIONS': {'host': "
        "'smtp.gmail.com', 'port': 587, 'username': 'hiring.team@gmail.com', 'password': "
        "os.environ['EMAIL_HOST_PASSWORD'], 'use_tls': True, 'timeout': 10}}}"
    ]


@needs_61
def test_mailer_chooses_the_mailer_described(run_cli: RunCli, project: Project) -> None:
    folder = project("mailers_two")
    bulk = run_cli(
        "config", "--settings", "mailers_two", "--pythonpath", folder, "--mailer", "bulk"
    )
    assert bulk.stdout.splitlines()[0].endswith("; MAILERS['bulk']: no EMAIL_HOST")
    unknown = run_cli(
        "config", "--settings", "mailers_two", "--pythonpath", folder, "--mailer", "nope"
    )
    assert (unknown.exit_code, unknown.stdout) == (2, "")
    assert unknown.stderr == (
        "mailcheck: error: --mailer 'nope': MAILERS has no such mailer (it defines 'default', "
        "'bulk')\n"
    )


@needs_61
def test_send_test_walks_the_mailer(
    run_cli: RunCli, project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    user, password = "hiring.team@acme-hiring.io", "mailer-password"
    with LoopbackSMTP("starttls", users={user: password}, ca=ca) as smtp:
        folder = project(
            "mailers_local",
            "SECRET_KEY = 'test-only'\n"
            f"DEFAULT_FROM_EMAIL = {user!r}\n"
            "MAILERS = {'default': {'OPTIONS': {'host': 'localhost', "
            f"'port': {smtp.port}, 'use_tls': True, 'username': {user!r}, "
            f"'password': {password!r}, 'timeout': 3}}}}}}\n",
        )
        result = run_cli(
            "send-test", "--settings", "mailers_local", "--pythonpath", folder, "--login-only",
            "--json",
        )  # fmt: skip
        assert smtp.login_attempts == [user]
    assert result.exit_code == 0
    assert (
        "smtp.I001 info MAILERS['default']['OPTIONS']['host']: localhost resolves to 127.0.0.1"
        in result.findings()
    )
    assert password not in result.stdout


@needs_61
def test_the_messages_quoted_are_what_django_raises(tmp_path: Path) -> None:
    """Each mailer built by Django 6.1 itself: the errors mailcheck quotes, word for word."""
    script = (
        "import json, django\n"
        "from django.conf import settings\n"
        "settings.configure(MAILERS={\n"
        "  'user': {'OPTIONS': {'host': 'h', 'user': 'x'}},\n"
        "  'nohost': {'OPTIONS': {'use_tls': True}},\n"
        "  'both': {'OPTIONS': {'host': 'h', 'use_tls': True, 'use_ssl': True}},\n"
        "  'alias': {'OPTIONS': {'host': 'h', 'alias': 'x'}},\n"
        "  'port': {'OPTIONS': {'host': 'h', 'use_ssl': True}},\n"
        "})\n"
        "django.setup()\n"
        "from django.core import mail\n"
        "out = {}\n"
        "for alias in ('user', 'nohost', 'both', 'alias'):\n"
        "    try:\n"
        "        mail.mailers[alias]\n"
        "    except Exception as error:\n"
        "        out[alias] = str(error)\n"
        "out['port'] = mail.mailers['port'].port\n"
        "print(json.dumps(out))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EMAIL_", "DJANGO"))}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    raised = json.loads(done.stdout)
    assert "Unknown options 'user'." in raised["user"]
    assert "OPTIONS must define 'host'." in raised["nohost"]
    assert "The 'use_ssl' and 'use_tls' OPTIONS are incompatible." in raised["both"]
    assert "OPTIONS must not define 'alias'." in raised["alias"]
    assert raised["port"] == 465


# --- Before Django 6.1 -------------------------------------------------------------------------


@before_61
def test_mailers_on_an_older_django_are_ignored(run_cli: RunCli, project: Project) -> None:
    folder = project("mailers_two")
    result = config(run_cli, folder, "mailers_two")
    assert lines(result, "mailers.") == [
        f"mailers.W002 warning MAILERS: settings.py defines MAILERS, but Django {VERSION} "
        "ignores it (it is read from Django 6.1): mail goes by the EMAIL_* settings, checked "
        "here instead"
    ]
    assert "config.E003" in result.ids()  # EMAIL_HOST: what this Django sends with
    chosen = run_cli(
        "config", "--settings", "mailers_two", "--pythonpath", folder, "--mailer", "default"
    )
    assert chosen.exit_code == 2
    assert chosen.stderr == (
        f"mailcheck: error: --mailer 'default': Django {VERSION} ignores MAILERS (it is read "
        "from Django 6.1)\n"
    )


@before_61
def test_email_settings_before_61_need_no_migration(run_cli: RunCli, project: Project) -> None:
    folder = project("email_settings_plain")
    result = config(run_cli, folder, "email_settings_plain")
    assert (result.exit_code, result.ids()) == (0, [])


def test_mailer_needs_settings(run_cli: RunCli) -> None:
    result = run_cli("config", "--mailer", "default")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "mailcheck: error: --mailer names one of Django's MAILERS: it needs --settings MODULE\n"
    )


@needs_61
def test_a_client_certificate_in_options_is_the_same_trap(
    run_cli: RunCli, project: Project, tmp_path: Path
) -> None:
    client = trustme.CA().issue_cert("app.acme-hiring.io")
    client.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "client.pem"))
    folder = project(
        "mailers_client_cert",
        "SECRET_KEY = 'test-only'\n"
        "DEFAULT_FROM_EMAIL = 'hiring.team@gmail.com'\n"
        "MAILERS = {'default': {'OPTIONS': {'host': 'smtp.gmail.com', 'use_tls': True, "
        "'username': 'hiring.team@gmail.com', 'password': 'abcdefghijklmnop', 'timeout': 10, "
        f"'ssl_certfile': {str(tmp_path / 'client.pem')!r}}}}}}}\n",
    )
    result = config(run_cli, folder, "mailers_client_cert")
    place = "MAILERS['default']['OPTIONS']['ssl_certfile']"
    assert lines(result, "config.E026") == [
        f"config.E026 error {place}: {place} is set: Django's SMTP backend then builds its TLS "
        "context as ssl.SSLContext(PROTOCOL_TLS_CLIENT) with the client certificate and no CA "
        "certificates, so the server's certificate never verifies"
    ]
