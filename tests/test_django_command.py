"""`manage.py mailcheck ...`: every mailcheck command inside the project, with its settings: the
same output and exit status as the console script given the same settings module.

A copy of the example project with the app installed, on the demo database, run as a user runs
it (`python manage.py ...`, this interpreter), next to `mailcheck ... --settings MODULE` in the
same folder with the same environment.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import trustme
from support.django_site import (
    APP_SETTINGS,
    EXAMPLE,
    HEALTHY,
    NO_EMAIL,
    SETTINGS,
    console,
    manage,
    run_in,
    site_with_app,
    without_durations,
)

from interview_mailcheck.loopback import LoopbackSMTP

pytest_plugins = ["support.django_fixtures"]  # demo_db, process_state, site

USER, PASSWORD = "hiring.team@acme-hiring.io", "correct-horse-battery-9"
CANDIDATE = "asha.rao@candidates.test"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return site_with_app(tmp_path_factory.mktemp("command") / "site")


@pytest.fixture
def database(demo_db: Path) -> dict[str, str]:
    return {"INTERVIEW_SITE_DB": str(demo_db)}


def same(ours: subprocess.CompletedProcess[str], theirs: subprocess.CompletedProcess[str]) -> None:
    assert ours.returncode == theirs.returncode
    assert ours.stderr == theirs.stderr
    if ours.stdout.startswith("{"):
        assert without_durations(json.loads(ours.stdout)) == without_durations(
            json.loads(theirs.stdout)
        )
    else:
        assert ours.stdout == theirs.stdout


CASES = {
    # name: (the arguments, the exit status)
    "config": (["config"], 1),
    "config-json": (["config", "--json"], 1),
    "config-verbose": (["config", "-v"], 1),
    "session-healthy": (["session", HEALTHY, "--no-dns"], 0),
    "session-no-email": (["session", NO_EMAIL, "--json", "--no-dns"], 1),
    "session-unknown": (["session", "6f1c2a3e-9999-4c8e-9a51-2b7d3e4f5a60", "--no-dns"], 1),
    "sessions": (["sessions", "--json", "--no-dns"], 1),
    "doctor": (["doctor", "--skip", "dns", "--skip", "send-test", "--json"], 1),
    "explain": (["explain", "config.E001"], 0),
    "explain-django-id": (["explain", "mailcheck.config.E001"], 0),
    "checks": (["checks", "--tag", "django"], 0),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_same_as_the_console_script(project: Path, database: dict[str, str], case: str) -> None:
    args, status = CASES[case]
    ours = manage(project, "mailcheck", *args, env=database)
    settings = ["--settings", APP_SETTINGS] if args[0] in ("config", "session", "sessions") else []
    theirs = console(project, args[0], *settings, *args[1:], env=database)
    assert ours.returncode == status
    same(ours, theirs)


def test_config_names_the_projects_settings_and_compares_its_env_file(tmp_path: Path) -> None:
    """No --settings: the module this project runs with; the .env beside manage.py compared."""
    folder = site_with_app(tmp_path / "site")
    (folder / ".env").write_text("EMAIL_HOST=smtp.gmail.com\n")
    ours = manage(folder, "mailcheck", "config", "--json")
    document = json.loads(ours.stdout)
    assert document["command"] == "config"
    warned = [f["subject"] for f in document["findings"] if f["id"] == "django.W001"]
    assert warned == []  # settings.py loads this .env: Django holds what it says
    (folder / "interview_site" / "with_mailcheck.py").write_text(
        (folder / "interview_site" / "with_mailcheck.py").read_text() + 'EMAIL_HOST = ""\n'
    )
    ours = manage(folder, "mailcheck", "config", "--json")
    warned = [f["subject"] for f in json.loads(ours.stdout)["findings"] if f["id"] == "django.W001"]
    assert warned == ["EMAIL_HOST"]
    same(ours, console(folder, "config", "--settings", APP_SETTINGS, "--json"))


def test_an_explicit_settings_module_is_djangos_too(tmp_path: Path) -> None:
    """--settings is one of Django's own options: manage.py sets Django up with it, and
    mailcheck checks the same module."""
    folder = site_with_app(tmp_path / "site")
    other = "interview_site.other_mailcheck"
    (folder / "interview_site" / "other_mailcheck.py").write_text(
        "from interview_site.with_mailcheck import *  # noqa: F403\n\n"
        'EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"\n'
    )
    ours = manage(folder, "mailcheck", "config", "--settings", other)
    assert ours.returncode == 1
    version = "{}.{}".format(*__import__("django").VERSION[:2])
    assert ours.stdout.startswith(
        f"mailcheck config: settings resolved by Django {version} from {other} "
    )
    assert "config.E001" not in ours.stdout
    same(ours, console(folder, "config", "--settings", other))


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def smtp_environment(server: LoopbackSMTP, password: str = PASSWORD) -> dict[str, str]:
    """The example's settings read these from the environment (its .env, in the app)."""
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "localhost",
        "EMAIL_PORT": str(server.port),
        "EMAIL_USE_TLS": "True",
        "EMAIL_HOST_USER": USER,
        "EMAIL_HOST_PASSWORD": password,
        "DEFAULT_FROM_EMAIL": f"Hiring <{USER}>",
        "SSL_CERT_FILE": server.ca_file(),
    }


def steps(completed: subprocess.CompletedProcess[str]) -> list[tuple[str, str]]:
    document = json.loads(completed.stdout)
    return [(s["step"], s["status"]) for s in document["steps"]] + [
        (f["id"], f["subject"]) for f in document["findings"]
    ]


def test_send_test_through_a_loopback_server(project: Path, ca: trustme.CA) -> None:
    with LoopbackSMTP("starttls", users={USER: PASSWORD}, ca=ca) as server:
        env = smtp_environment(server)
        ours = manage(project, "mailcheck", "send-test", "--to", CANDIDATE, "--json", env=env)
        assert ours.returncode == 0
        document = json.loads(ours.stdout)
        assert "smtp.I008" in [f["id"] for f in document["findings"]]
        assert [message.recipients for message in server.messages] == [[CANDIDATE]]
        theirs = console(
            project, "send-test", "--settings", APP_SETTINGS, "--to", CANDIDATE, "--json", env=env
        )
        # Each message has its own token and queue id: the same steps and findings.
        assert (ours.returncode, ours.stderr) == (theirs.returncode, theirs.stderr)
        assert steps(ours) == steps(theirs)
        assert len(server.messages) == 2
        assert PASSWORD not in ours.stdout + ours.stderr


def test_send_test_with_the_wrong_password(project: Path, ca: trustme.CA) -> None:
    with LoopbackSMTP("starttls", users={USER: PASSWORD}, ca=ca) as server:
        env = smtp_environment(server, "the-account-password")
        ours = manage(project, "mailcheck", "send-test", "--login-only", "-v", env=env)
        theirs = console(
            project, "send-test", "--settings", APP_SETTINGS, "--login-only", "-v", env=env
        )
    assert (ours.returncode, theirs.returncode) == (1, 1)
    assert "smtp.E012" in ours.stdout
    assert "the-account-password" not in ours.stdout + ours.stderr
    assert ours.stderr == theirs.stderr == ""


# --- Usage errors and help -----------------------------------------------------------------


def test_a_usage_error_is_one_line_and_exit_2(project: Path) -> None:
    completed = manage(project, "mailcheck", "config", "--bogus")
    assert (completed.returncode, completed.stdout) == (2, "")
    assert completed.stderr.count("\n") == 1
    assert completed.stderr.startswith("mailcheck: error: no such option: --bogus")
    assert completed.stderr.endswith("(see `manage.py mailcheck config --help`)\n")
    unknown = manage(project, "mailcheck", "nosuch")
    assert (unknown.returncode, unknown.stdout) == (2, "")
    assert unknown.stderr.startswith("mailcheck: error: no such command 'nosuch'")
    assert unknown.stderr.count("\n") == 1


def test_an_unreadable_input_is_exit_2(project: Path) -> None:
    completed = manage(project, "mailcheck", "config", "--env-file", "gone.env")
    assert (completed.returncode, completed.stdout) == (2, "")
    assert completed.stderr == "mailcheck: error: env file not found: gone.env\n"


def test_help_is_mailchecks(project: Path) -> None:
    through_help = manage(project, "help", "mailcheck")
    through_option = manage(project, "mailcheck", "--help")
    assert through_help.returncode == through_option.returncode == 0
    assert through_help.stdout == through_option.stdout
    assert through_help.stdout.startswith("Usage: manage.py mailcheck [OPTIONS] COMMAND [ARGS]...")
    assert "send-test" in through_help.stdout
    config = manage(project, "mailcheck", "config", "--help")
    assert config.returncode == 0
    assert config.stdout.startswith("Usage: manage.py mailcheck config [OPTIONS]")
    assert "--env-file" in config.stdout
    listed = manage(project, "help")
    # Listed under the last part of the app's name, [django], next to Django's own commands.
    assert "\n    mailcheck\n" in listed.stdout


def test_no_command_prints_the_help_and_exits_2_as_the_console_script(project: Path) -> None:
    ours = manage(project, "mailcheck")
    assert (ours.returncode, ours.stdout) == (2, "")
    assert ours.stderr.startswith("Usage: manage.py mailcheck [OPTIONS] COMMAND [ARGS]...")
    assert console(project).returncode == 2


def test_json_stdout_is_only_the_document(project: Path, database: dict[str, str]) -> None:
    for args in (["config", "--json"], ["sessions", "--json", "--no-dns"], ["checks", "--json"]):
        completed = manage(project, "mailcheck", *args, env=database)
        json.loads(completed.stdout)
        assert completed.stdout.lstrip()[:1] in "{["
        assert completed.stderr == ""


CALL_COMMAND = """
import io
import django
from django.core.management import CommandError, call_command

django.setup()
out = io.StringIO()
call_command("mailcheck", "explain", "config.E001", stdout=out)
print(out.getvalue().splitlines()[0])
try:
    call_command("mailcheck", "config", "--json", stdout=io.StringIO())
except CommandError as error:
    print(error.returncode, error)
"""


def test_call_command(project: Path) -> None:
    completed = run_in(project, "-c", CALL_COMMAND, env={"DJANGO_SETTINGS_MODULE": APP_SETTINGS})
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == [
        "config.E001 (error): EMAIL_BACKEND does not send mail",
        "1 mailcheck exited with status 1",
    ]


# --- Django already set up: mailcheck's own loading takes it as it is ------------------------


@pytest.mark.usefixtures("site")
def test_loading_a_project_already_set_up(run_cli: Any) -> None:
    """The site fixture has set Django up in this process, as manage.py has when it runs the
    command: loading the same settings again sets nothing up twice and raises nothing."""
    from django.apps import apps
    from django.conf import settings

    from interview_mailcheck.adapters.django import load_project
    from interview_mailcheck.adapters.django_settings import (
        configured_mail_settings,
        resolve_mail_settings,
    )

    wrapped = settings._wrapped
    project = load_project(SETTINGS, EXAMPLE)
    assert (project.settings_module, apps.ready, settings._wrapped) == (SETTINGS, True, wrapped)
    configured, resolved = (
        configured_mail_settings(settings),
        resolve_mail_settings(SETTINGS, EXAMPLE),
    )
    assert configured == resolved._replace(file=configured.file)
    assert configured.file == resolved.file
    for args in (
        ["config", "--settings", SETTINGS],
        ["sessions", "--settings", SETTINGS, "--no-dns"],
    ):
        result = run_cli(*args, "--pythonpath", EXAMPLE, "--json")
        assert result.exit_code == 1
        assert result.stderr == ""
    assert settings._wrapped is wrapped


def warning_lines(completed: subprocess.CompletedProcess[str]) -> list[str]:
    """The warnings printed, sorted (Django warns over a set: its order changes per process)."""
    return sorted(line for line in completed.stderr.splitlines() if "Warning: " in line)


def test_djangos_deprecation_warnings_are_not_mailchecks(
    project: Path, database: dict[str, str]
) -> None:
    """Django 6.1 warns (RemovedInDjango2028Warning, shown with PYTHONWARNINGS=always) for each
    EMAIL_* setting a settings module sets or a reader reads. The console script reads them all
    and prints none; manage.py prints those of Django's own start-up, no more with mailcheck
    (on Django 4.2 and 5.2 there are none at all)."""
    env = {**database, "PYTHONWARNINGS": "always"}
    for args in (
        ["config", "--settings", APP_SETTINGS, "--json"],
        ["session", HEALTHY, "--settings", APP_SETTINGS, "--no-dns"],
        ["sessions", "--json", "--no-dns"],
        ["doctor", "--skip", "dns", "--skip", "send-test"],
    ):
        assert console(project, *args, env=env).stderr == ""
    djangos = warning_lines(manage(project, "help", env=env))
    assert warning_lines(manage(project, "mailcheck", "config", "--json", env=env)) == djangos
    assert warning_lines(manage(project, "mailcheck", "sessions", "--no-dns", env=env)) == djangos
    assert warning_lines(manage(project, "check", "--tag", "mailcheck", env=env)) == djangos
