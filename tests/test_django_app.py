"""mailcheck's Django app: `manage.py check` reports the offline config checks (tag mailcheck),
from the settings Django is configured with, as `mailcheck config --settings` judges them.

Real projects: a copy of the example project with the app in INSTALLED_APPS, run as a user runs
it (`python manage.py check`, with this interpreter); and, in-process, every env fixture held by
a settings module, to show that the system checks and `config --settings` say the same.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest
from conftest import ENV_FIXTURES, RunCli
from support.django_site import APP, SETTINGS_FIXTURES, manage, run_in, site_with_app

pytest_plugins = ["support.django_fixtures"]  # demo_db, process_state, site

ISSUE = re.compile(r"^(?P<obj>.+?): \((?P<id>mailcheck\.[^)]+)\) (?P<msg>.*)$")
SMTP_ENV = {
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "EMAIL_HOST": "smtp.gmail.com",
    "EMAIL_PORT": "587",
    "EMAIL_USE_TLS": "True",
    "EMAIL_HOST_USER": "hiring.team@gmail.com",
    "EMAIL_HOST_PASSWORD": "abcd efgh ijkl mnop",
    "DEFAULT_FROM_EMAIL": "Hiring Team <hiring.team@gmail.com>",
}


def issues(output: str) -> list[tuple[str, str]]:
    """(obj, id) of every mailcheck message in `manage.py check`'s output, in order."""
    return [(m["obj"], m["id"]) for line in output.splitlines() if (m := ISSUE.match(line))]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return site_with_app(tmp_path_factory.mktemp("app") / "site")


def test_check_reports_the_settings_with_their_ids_and_hints(project: Path) -> None:
    """The example's fallbacks, with no .env: the console backend, no host, no From."""
    completed = manage(project, "check")
    assert (completed.returncode, completed.stdout) == (1, "")
    assert issues(completed.stderr) == [
        ("DEFAULT_FROM_EMAIL", "mailcheck.config.E013"),
        ("EMAIL_BACKEND", "mailcheck.config.E001"),
        ("EMAIL_HOST", "mailcheck.config.E003"),
    ]
    lines = completed.stderr.splitlines()
    assert lines[0] == "SystemCheckError: System check identified some issues:"
    at = lines.index(
        "EMAIL_BACKEND: (mailcheck.config.E001) EMAIL_BACKEND is the console backend, which "
        "prints each message to the console: no invitation leaves the app"
    )
    assert lines[at + 1] == "\tHINT: Set EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend"
    assert lines[-1] == "System check identified 3 issues (0 silenced)."


def test_with_debug_on_an_error_is_a_warning(tmp_path: Path) -> None:
    """A developer's settings (DEBUG on) with the console backend on purpose: runserver and
    migrate still start; --fail-level WARNING still fails on it."""
    folder = site_with_app(tmp_path / "site", debug=True)
    completed = manage(folder, "check")
    assert completed.returncode == 0
    assert issues(completed.stderr) == [
        ("DEFAULT_FROM_EMAIL", "mailcheck.config.E013"),
        ("EMAIL_BACKEND", "mailcheck.config.E001"),
        ("EMAIL_HOST", "mailcheck.config.E003"),
    ]
    assert "ERRORS:" not in completed.stderr and "WARNINGS:" in completed.stderr
    assert (
        "\tHINT: Set EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend (an error with "
        "DEBUG off; a warning here, as DEBUG is on)"
    ) in completed.stderr.splitlines()
    assert manage(folder, "check", "--fail-level", "WARNING").returncode == 1
    plan = manage(folder, "migrate", "--plan")
    assert (plan.returncode, "SystemCheckError" in plan.stderr) == (0, False)
    production = site_with_app(tmp_path / "production")  # DEBUG off: the same errors stop it
    stopped = manage(production, "migrate", "--plan")
    assert (stopped.returncode, "SystemCheckError" in stopped.stderr) == (1, True)


def test_a_good_configuration_passes(project: Path) -> None:
    completed = manage(project, "check", "--fail-level", "WARNING", env=SMTP_ENV)
    assert completed.returncode == 0
    assert completed.stdout == "System check identified no issues (0 silenced).\n"
    assert completed.stderr == ""


def test_fail_level_error_passes_warnings_and_fail_level_warning_does_not(project: Path) -> None:
    """Gmail with what looks like the account password: a warning (config.W006)."""
    env = {**SMTP_ENV, "EMAIL_HOST_PASSWORD": "Summer-2024-pw"}
    for level, expected in (("ERROR", 0), ("WARNING", 1)):
        completed = manage(project, "check", "--fail-level", level, env=env)
        assert completed.returncode == expected
        assert issues(completed.stderr) == [("EMAIL_HOST_PASSWORD", "mailcheck.config.W006")]
        assert "WARNINGS:" in completed.stderr
        assert "Summer-2024-pw" not in completed.stdout + completed.stderr
    assert manage(project, "check", env=env).returncode == 0  # Django's default: ERROR


def test_manage_py_test_judges_the_projects_backend_not_the_test_runners(project: Path) -> None:
    """Django's test runner swaps in the locmem backend before it runs the system checks: the
    checks judge the backend the project set, so a healthy project's tests run."""
    healthy = manage(project, "test", env=SMTP_ENV)
    assert healthy.returncode == 0
    assert "System check identified no issues (0 silenced)." in healthy.stdout
    unset = {k: v for k, v in SMTP_ENV.items() if k != "EMAIL_BACKEND"}
    console = manage(project, "test", env=unset)
    assert console.returncode == 1
    assert issues(console.stderr) == [("EMAIL_BACKEND", "mailcheck.config.E001")]
    assert "EMAIL_BACKEND is the console backend" in console.stderr  # the example's fallback
    assert "locmem" not in console.stderr


def test_tag_mailcheck_runs_mailcheck_alone(tmp_path: Path) -> None:
    """CACHES without a default is Django's own caches.E001: the tags keep the two apart."""
    folder = site_with_app(tmp_path / "site", "CACHES = {}\n")
    everything = manage(folder, "check")
    assert "(caches.E001)" in everything.stderr
    assert issues(everything.stderr)
    ours = manage(folder, "check", "--tag", "mailcheck")
    assert ours.returncode == 1
    assert "(caches.E001)" not in ours.stderr
    assert issues(ours.stderr) == issues(everything.stderr)
    theirs = manage(folder, "check", "--tag", "caches")
    assert "(caches.E001)" in theirs.stderr
    assert issues(theirs.stderr) == []


def test_a_setting_of_the_wrong_type_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    folder = site_with_app(tmp_path / "site", 'EMAIL_PORT = "abc"\n')
    completed = manage(folder, "check", "--tag", "mailcheck", env=SMTP_ENV)
    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr
    assert issues(completed.stderr) == [
        ("EMAIL_PORT", "mailcheck.config.E004"),
        ("EMAIL_PORT", "mailcheck.django.E003"),
    ]
    assert (
        "EMAIL_PORT: (mailcheck.django.E003) EMAIL_PORT is 'abc' (str): smtplib cannot connect "
        "to it" in completed.stderr
    )


def test_the_password_is_never_printed(tmp_path: Path) -> None:
    """DEFAULT_FROM_EMAIL holding the password: the finding that quotes it shows the mask."""
    folder = site_with_app(tmp_path / "site", "DEFAULT_FROM_EMAIL = EMAIL_HOST_PASSWORD\n")
    password = "Pa55-w0rd-Sentinel-8qz"
    completed = manage(folder, "check", env={**SMTP_ENV, "EMAIL_HOST_PASSWORD": password})
    assert completed.returncode == 1
    assert ("DEFAULT_FROM_EMAIL", "mailcheck.config.E013") in issues(completed.stderr)
    assert "DEFAULT_FROM_EMAIL='********' is not a valid email address" in completed.stderr
    assert password not in completed.stdout + completed.stderr


def test_a_failure_of_mailcheck_is_one_warning_never_an_exception(tmp_path: Path) -> None:
    """A value whose repr() raises reaches code of mailcheck's that cannot cope: the check says
    so in a warning, and runserver or migrate would still start."""
    extra = (
        "class Unprintable:\n"
        "    def __repr__(self):\n"
        '        raise RuntimeError("no repr")\n\n\n'
        "EMAIL_HOST = Unprintable()\n"
    )
    folder = site_with_app(tmp_path / "site", extra)
    completed = manage(folder, "check")
    assert completed.returncode == 0
    assert "Traceback" not in completed.stderr
    assert issues(completed.stderr) == [("?", "mailcheck.W001")]
    assert (
        "?: (mailcheck.W001) mailcheck could not check the email settings: internal error "
        "(RuntimeError: no repr); this is a bug in mailcheck" in completed.stderr
    )
    assert manage(folder, "check", "--fail-level", "WARNING").returncode == 1


START_UP = """
import sys
import django
from django.core import checks

django.setup()
loaded = sorted(m for m in sys.modules if m.startswith("interview_mailcheck"))
print(loaded)
print("interview_mailcheck" in django.__file__, hasattr(django, "setup"))
found = checks.run_checks(tags=["mailcheck"])
print(len([m for m in sys.modules if m.startswith("interview_mailcheck")]) > len(loaded))
print(sorted(m.id for m in found))
"""


def test_start_up_imports_only_the_app_and_its_check(project: Path) -> None:
    """Django's start-up imports the package, apps.py and checks.py; the rest of mailcheck only
    when the checks run. `django` is Django, not interview_mailcheck.django."""
    completed = run_in(
        project, "-c", START_UP, env={"DJANGO_SETTINGS_MODULE": "interview_site.with_mailcheck"}
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == [
        repr(
            [
                "interview_mailcheck",
                "interview_mailcheck.django",
                "interview_mailcheck.django.apps",
                "interview_mailcheck.django.checks",
            ]
        ),
        "False True",  # `import django` is Django's package, not interview_mailcheck.django
        "True",
        repr(["mailcheck.config.E001", "mailcheck.config.E003", "mailcheck.config.E013"]),
    ]


def test_django_admin_with_the_app_in_a_plain_settings_module(tmp_path: Path) -> None:
    """No manage.py: `python -m django check --settings ... --pythonpath ...`."""
    (tmp_path / "plain_settings.py").write_text(
        f'SECRET_KEY = "x"\nINSTALLED_APPS = [{APP!r}]\nEMAIL_TIMEOUT = 10\n'
    )
    completed = run_in(
        tmp_path,
        "-m",
        "django",
        "check",
        "--tag",
        "mailcheck",
        "--settings",
        "plain_settings",
        "--pythonpath",
        str(tmp_path),
    )
    # Django's defaults: the SMTP backend, no host, port 25, from webmaster@localhost.
    assert issues(completed.stderr) == [
        ("EMAIL_HOST", "mailcheck.config.E003"),
        ("DEFAULT_FROM_EMAIL", "mailcheck.config.W003"),
        ("EMAIL_BACKEND", "mailcheck.config.I002"),
        ("EMAIL_PORT", "mailcheck.config.I003"),
    ]
    assert "INFOS:\nEMAIL_BACKEND: (mailcheck.config.I002)" in completed.stderr
    assert completed.returncode == 1


# --- The same analysis as `mailcheck config --settings` ---------------------------------------

ENV_CASES = sorted(p for p in ENV_FIXTURES.glob("*.env") if not p.stem.startswith("email_url"))


@pytest.mark.usefixtures("process_state")
@pytest.mark.parametrize("env_file", ENV_CASES, ids=[path.stem for path in ENV_CASES])
def test_the_system_check_says_what_config_settings_says(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env_file: Path
) -> None:
    """Each env fixture held by a settings module (cast as django-environ casts): the system
    check's messages are `config --settings`'s findings, id for id, level for level."""
    from django.conf import Settings

    from interview_mailcheck.adapters.django_settings import quiet_email_deprecations
    from interview_mailcheck.commands.config import analyse_configured
    from interview_mailcheck.django.messages import message

    module = "app_env_values_" + re.sub(r"\W", "_", env_file.stem)
    shutil.copy(SETTINGS_FIXTURES / "env_values.py", tmp_path / f"{module}.py")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("MAILCHECK_TEST_ENV_FILE", str(env_file))
    monkeypatch.delitem(sys.modules, module, raising=False)
    cli = run_cli("config", "--settings", module, "--pythonpath", tmp_path, "--json")
    with quiet_email_deprecations():  # Django 6.1 warns as the project's settings are built
        configured = Settings(module)
    messages = [message(f) for f in analyse_configured(configured).findings]
    expected = [
        (f"mailcheck.{f['id']}", f["level"], f["subject"], f["message"], f["hint"])
        for f in cli.json()["findings"]
        if f["id"] != "mailers.I002"  # Django 6.1's migration note: config --settings alone
    ]
    levels = {40: "error", 30: "warning", 20: "info"}
    got = [(m.id, levels[m.level], m.obj, m.msg, m.hint or "") for m in messages]
    assert got == expected
