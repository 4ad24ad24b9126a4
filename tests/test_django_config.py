"""`mailcheck config --settings MODULE`: the settings Django resolved, the same checks as the
.env path, and a warning for every value the .env file gives differently."""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ENV_FIXTURES, Run, RunCli
from support.django_site import SETTINGS_FIXTURES

from interview_mailcheck.checks.django import same_value

pytest_plugins = ["support.django_fixtures"]  # demo_db, process_state, site
pytestmark = pytest.mark.usefixtures("process_state")

GOOD_ENV = ENV_FIXTURES / "good_gmail_587.env"
DJANGO_VERSION = "{}.{}".format(*__import__("django").VERSION[:2])
Project = Callable[..., Path]


@pytest.fixture
def project(tmp_path: Path, request: pytest.FixtureRequest) -> Project:
    """A folder holding a copy of a settings module from tests/fixtures/django/settings (under
    a name of its own: Python imports a module once per process) and, optionally, a .env."""

    def make(settings: str, env_text: str | None = None, name: str | None = None) -> Path:
        module = name or settings
        shutil.copy(SETTINGS_FIXTURES / f"{settings}.py", tmp_path / f"{module}.py")
        if env_text is not None:
            (tmp_path / ".env").write_text(env_text, encoding="utf-8")
        request.addfinalizer(lambda: sys.modules.pop(module, None))
        return tmp_path

    return make


def settings_ids(result: Run) -> list[str]:
    """The ids of a --settings run, less the note Django 6.1 adds to every project still on
    the EMAIL_* settings (mailers.I002, tested in test_mailers.py)."""
    return [rule_id for rule_id in result.ids() if rule_id != "mailers.I002"]


def warned(result_json: dict[str, object]) -> dict[str, dict[str, object]]:
    findings = result_json["findings"]
    assert isinstance(findings, list)
    return {f["subject"]: f for f in findings if f["id"] == "django.W001"}


def test_env_says_smtp_but_settings_never_load_it(run_cli: RunCli, project: Project) -> None:
    folder = project("never_loads_env", GOOD_ENV.read_text())
    result = run_cli("config", "--settings", "never_loads_env", "--pythonpath", folder, "--json")
    assert (result.exit_code, result.stderr) == (1, "")
    document = result.json()
    assert "config.E001" in settings_ids(result)  # Django runs the console backend
    differing = warned(document)
    assert sorted(differing) == [
        "DEFAULT_FROM_EMAIL",
        "EMAIL_BACKEND",
        "EMAIL_HOST",
        "EMAIL_HOST_PASSWORD",
        "EMAIL_HOST_USER",
        "EMAIL_TIMEOUT",
    ]
    env = folder / ".env"
    backend = differing["EMAIL_BACKEND"]
    assert backend["message"] == (
        f"EMAIL_BACKEND is 'django.core.mail.backends.smtp.EmailBackend' in {env} line 4, but "
        "Django resolved 'django.core.mail.backends.console.EmailBackend' (set by never_loads_env)"
    )
    assert backend["level"] == "warning"
    timeout = differing["EMAIL_TIMEOUT"]
    assert timeout["message"] == (
        f"EMAIL_TIMEOUT is '10' in {env} line 12, but Django resolved None (Django's default: "
        "the settings module does not set it)"
    )
    assert timeout["hint"] == (
        "settings.py never sets EMAIL_TIMEOUT: call load_dotenv() in settings.py and add "
        "EMAIL_TIMEOUT = os.environ.get('EMAIL_TIMEOUT') (with the right type)"
    )
    assert timeout["evidence"] == {
        "file": "'10'",
        "django": "None",
        "django_type": "NoneType",
        "set_by": "Django default",
    }
    # The password: only whether it is set and its length, on both sides.
    assert differing["EMAIL_HOST_PASSWORD"]["evidence"]["file"] == "set (19 characters)"
    assert differing["EMAIL_HOST_PASSWORD"]["evidence"]["django"] == "set but empty"
    assert document["settings"][0] == {
        "name": "EMAIL_BACKEND",
        "value": "'django.core.mail.backends.console.EmailBackend'",
        "source": "never_loads_env",
    }


def test_text_headline_names_module_and_file(run_cli: RunCli, project: Project) -> None:
    folder = project("never_loads_env", GOOD_ENV.read_text())
    result = run_cli("config", "--settings", "never_loads_env", "--pythonpath", folder)
    first = result.stdout.splitlines()[0]
    assert first == (
        f"mailcheck config: settings resolved by Django {DJANGO_VERSION} from never_loads_env "
        f"({folder / 'never_loads_env.py'}), compared with {folder / '.env'}; no EMAIL_HOST"
    )
    assert "! django.W001  EMAIL_BACKEND is 'django.core.mail.backends.smtp.EmailBackend'" in (
        result.stdout
    )


def test_settings_that_load_env_agree_with_it(run_cli: RunCli, project: Project) -> None:
    folder = project("loads_env", GOOD_ENV.read_text())
    result = run_cli("config", "--settings", "loads_env", "--pythonpath", folder, "--json")
    assert (result.exit_code, settings_ids(result)) == (0, [])
    rows = {row["name"]: (row["value"], row["source"]) for row in result.json()["settings"]}
    assert rows == {
        "EMAIL_BACKEND": ("'django.core.mail.backends.smtp.EmailBackend'", "loads_env"),
        "EMAIL_HOST": ("'smtp.gmail.com'", "loads_env"),
        "EMAIL_PORT": ("587", "loads_env"),  # an int: no quotes
        "EMAIL_USE_TLS": ("True", "loads_env"),
        "EMAIL_USE_SSL": ("False", "loads_env"),
        "EMAIL_HOST_USER": ("'hiring.team@gmail.com'", "loads_env"),
        "EMAIL_HOST_PASSWORD": ("set (19 characters)", "loads_env"),
        "DEFAULT_FROM_EMAIL": ("'Hiring Team <hiring.team@gmail.com>'", "loads_env"),
        "SERVER_EMAIL": ("'root@localhost'", "Django default"),
        "EMAIL_TIMEOUT": ("10", "loads_env"),
    }


def test_pythonpath_and_env_file_default_to_the_current_folder(
    run_cli: RunCli, project: Project, clean_environment: Path
) -> None:
    project("loads_env", GOOD_ENV.read_text())  # conftest made tmp_path the current folder
    result = run_cli("config", "--settings", "loads_env")
    assert result.exit_code == 0
    assert f"compared with {Path.cwd() / '.env'};" in result.stdout.splitlines()[0]


def test_mailcheck_env_file_names_the_file_compared(
    run_cli: RunCli, project: Project, tmp_path: Path
) -> None:
    folder = project("never_loads_env", name="never_loads_env_var")  # no .env beside it
    elsewhere = tmp_path / "elsewhere.env"
    elsewhere.write_text(GOOD_ENV.read_text())
    result = run_cli(
        "config",
        "--settings",
        "never_loads_env_var",
        "--pythonpath",
        folder,
        "--json",
        env={"MAILCHECK_ENV_FILE": str(elsewhere)},
    )
    assert str(elsewhere) in warned(result.json())["EMAIL_BACKEND"]["message"]
    alone = run_cli("config", "--settings", "never_loads_env_var", "--pythonpath", folder, "--json")
    assert warned(alone.json()) == {}  # nothing to compare with


def test_hard_coded_value_wins_over_the_file(run_cli: RunCli, project: Project) -> None:
    folder = project("hard_coded", GOOD_ENV.read_text())
    result = run_cli("config", "--settings", "hard_coded", "--pythonpath", folder, "--json")
    differing = warned(result.json())
    assert sorted(differing) == ["EMAIL_HOST"]
    assert differing["EMAIL_HOST"]["message"].endswith(
        "but Django resolved 'smtp.office365.com' (set by hard_coded)"
    )
    assert differing["EMAIL_HOST"]["hint"] == (
        "Make settings.py read EMAIL_HOST from the environment after load_dotenv()"
    )
    # And the settings Django runs with are the ones judged.
    text = run_cli("config", "--settings", "hard_coded", "--pythonpath", folder)
    assert "; smtp.office365.com:587 with STARTTLS (Microsoft 365" in text.stdout.splitlines()[0]


def test_the_environment_wins_over_the_file(
    run_cli: RunCli, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = project("loads_env", GOOD_ENV.read_text(), name="loads_env_shadowed")
    monkeypatch.setenv("EMAIL_PORT", "465")
    result = run_cli("config", "--settings", "loads_env_shadowed", "--pythonpath", folder, "--json")
    differing = warned(result.json())
    assert sorted(differing) == ["EMAIL_PORT"]
    assert differing["EMAIL_PORT"]["message"].endswith(
        "but Django resolved 465 (from the process environment, which load_dotenv() does not "
        "override)"
    )
    assert "config.E007" in settings_ids(result)  # 465 with STARTTLS: what Django will really do


def test_uncast_strings_are_kept_as_django_holds_them(run_cli: RunCli, project: Project) -> None:
    folder = project("strings_uncast", GOOD_ENV.read_text())
    result = run_cli("config", "--settings", "strings_uncast", "--pythonpath", folder, "--json")
    rows = {row["name"]: row["value"] for row in result.json()["settings"]}
    assert (rows["EMAIL_PORT"], rows["EMAIL_USE_TLS"], rows["EMAIL_USE_SSL"]) == (
        "'587'",
        "'True'",
        "'False'",  # a non-empty string: Django will treat it as true
    )
    assert warned(result.json()) == {}


def test_resolved_values_keep_their_python_types(project: Project) -> None:
    from interview_mailcheck.adapters.django_settings import resolve_mail_settings

    folder = project("strings_uncast", GOOD_ENV.read_text(), name="strings_uncast_types")
    resolved = resolve_mail_settings("strings_uncast_types", folder)
    assert resolved.values["EMAIL_USE_SSL"] == "False"
    assert resolved.values["EMAIL_TIMEOUT"] == "10"
    assert resolved.module == "strings_uncast_types"
    assert resolved.file == str(folder / "strings_uncast_types.py")
    assert "SERVER_EMAIL" not in resolved.overridden
    assert resolved.values["SERVER_EMAIL"] == "root@localhost"


def test_django_defaults_are_judged_like_unset_variables(
    run_cli: RunCli, project: Project, tmp_path: Path
) -> None:
    folder = project("minimal")
    django = run_cli("config", "--settings", "minimal", "--pythonpath", folder, "--json")
    empty = tmp_path / "empty.env"
    empty.write_text("")
    env_path = run_cli("config", "--env-file", empty, "--json")
    assert (
        settings_ids(django)
        == env_path.ids()
        == sorted(["config.I002", "config.E003", "config.I003", "config.W003", "config.I004"])
    )
    assert "compared with" not in django.stdout  # no .env: nothing to compare, no I005


# EMAIL_URL is not a Django setting: only a loader in settings.py (env.email_url()) turns it
# into EMAIL_* values, which env_values.py does not do, so those files have no Django twin.
# In the others, a value no cast can read stays a string in Django, where the type checks
# (django.E001-E003) say what Django makes of it: test_uncastable_values covers them.
UNCASTABLE = {"boolean_typo", "port_not_integer", "stray_quotes_and_spaces"}
ENV_CASES = sorted(
    p
    for p in ENV_FIXTURES.glob("*.env")
    if not p.stem.startswith("email_url") and p.stem not in UNCASTABLE
)


@pytest.mark.parametrize("env_file", ENV_CASES, ids=[path.stem for path in ENV_CASES])
def test_same_findings_as_the_env_path(
    run_cli: RunCli, project: Project, monkeypatch: pytest.MonkeyPatch, env_file: Path
) -> None:
    """Django holding exactly the file's strings: the same checks, the same findings."""
    module = "env_values_" + re.sub(r"\W", "_", env_file.stem)
    folder = project("env_values", name=module)
    monkeypatch.setenv("MAILCHECK_TEST_ENV_FILE", str(env_file))
    from_env = run_cli("config", "--env-file", env_file, "--json")
    from_django = run_cli(
        "config", "--settings", module, "--pythonpath", folder, "--env-file", env_file, "--json"
    )
    assert from_django.exit_code == from_env.exit_code
    assert settings_ids(from_django) == from_env.ids()


def test_named_env_file_must_exist(run_cli: RunCli, project: Project, tmp_path: Path) -> None:
    folder = project("minimal", name="minimal_named")
    result = run_cli(
        "config",
        "--settings",
        "minimal_named",
        "--pythonpath",
        folder,
        "--env-file",
        tmp_path / "gone.env",
    )
    assert result.exit_code == 2
    assert result.stderr == f"mailcheck: error: env file not found: {tmp_path / 'gone.env'}\n"


SENTINEL_DJANGO = "Sentinel-Django-Pa55-4kq"
SENTINEL_FILE = "Sentinel-File-Pa55-7zt"


@pytest.mark.parametrize("mode", [[], ["-v"], ["--json"], ["--json", "-v"]], ids=" ".join)
def test_passwords_never_printed(
    run_cli: RunCli, project: Project, tmp_path: Path, mode: list[str]
) -> None:
    own_env = GOOD_ENV.read_text().replace("abcd efgh ijkl mnop", SENTINEL_DJANGO)
    folder = project("loads_env", own_env, name="loads_env_secret")
    compared = tmp_path / "other.env"
    compared.write_text(GOOD_ENV.read_text().replace("abcd efgh ijkl mnop", SENTINEL_FILE))
    result = run_cli(
        "config",
        "--settings",
        "loads_env_secret",
        "--pythonpath",
        folder,
        "--env-file",
        compared,
        *mode,
    )
    assert result.exit_code == 0
    assert "EMAIL_HOST_PASSWORD" in result.stdout  # the difference is reported...
    for secret in (SENTINEL_DJANGO, SENTINEL_FILE):
        assert secret not in result.stdout and secret not in result.stderr  # ...not the values


@pytest.mark.parametrize(
    ("text", "value", "same"),
    [
        ("587", 587, True),
        (" 587 ", 587, True),
        ("587", "587", True),
        ("0587", "587", False),
        ("True", True, True),
        ("yes", True, True),
        ("False", True, False),
        ("False", "False", True),
        ("", None, True),
        (None, None, True),
        ("10", None, False),
        ("10", 10.0, True),
        ("ten", 10, False),
        ("a@b.io", "a@b.io", True),
        ("a@b.io ", "a@b.io", False),
        ("('x',)", ("x",), True),
    ],
)
def test_same_value(text: str | None, value: object, same: bool) -> None:
    assert same_value(text, value) is same


@pytest.mark.parametrize(
    ("case", "django_ids"),
    [
        ("boolean_typo", ["django.E001"]),
        ("port_not_integer", ["config.E004", "django.E003"]),
        ("stray_quotes_and_spaces", ["config.E025", "config.E025", "django.E003"]),
    ],
)
def test_uncastable_values(
    case: str,
    django_ids: list[str],
    run_cli: RunCli,
    project: Project,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A string Django holds is judged as Django reads it: 'Ture' switches TLS on."""
    env_file = ENV_FIXTURES / f"{case}.env"
    module = "env_values_" + case
    folder = project("env_values", name=module)
    monkeypatch.setenv("MAILCHECK_TEST_ENV_FILE", str(env_file))
    result = run_cli(
        "config", "--settings", module, "--pythonpath", folder, "--env-file", env_file, "--json"
    )
    assert result.exit_code == 1
    assert settings_ids(result) == sorted(django_ids)


def test_os_getenv_without_casts(run_cli: RunCli, project: Project) -> None:
    """The classic: the string 'False' switches SSL on, next to TLS: Django would raise."""
    folder = project("strings_uncast", GOOD_ENV.read_text(), name="strings_uncast_judged")
    result = run_cli(
        "config", "--settings", "strings_uncast_judged", "--pythonpath", folder, "--json"
    )
    assert result.exit_code == 1
    assert settings_ids(result) == [
        "config.E006",  # TLS and SSL both on, as Django reads them
        "django.E001",  # EMAIL_USE_SSL = 'False', read as True
        "django.E002",  # EMAIL_TIMEOUT = '10': socket.settimeout() raises TypeError
        "django.W002",  # EMAIL_PORT = '587': works by luck
        "django.W003",  # EMAIL_USE_TLS = 'True': works by luck
    ]
    findings = {f["id"]: f for f in result.json()["findings"]}
    assert findings["django.E001"]["message"] == (
        "EMAIL_USE_SSL is the string 'False' (str): Django reads it as True (switched on)"
    )
    assert "env.bool('EMAIL_USE_SSL')" in findings["django.E001"]["hint"]
    assert "int(os.getenv('EMAIL_TIMEOUT'" in findings["django.E002"]["hint"]


def test_django_environ_email_url_settings(run_cli: RunCli, project: Project) -> None:
    """A real settings.py with env.email_url(): Django holds the URL's values, typed."""
    env_text = (
        "EMAIL_URL=smtp+ssl://hiring.team%40gmail.com:abcdefghijklmnop@smtp.gmail.com:465\n"
        "DEFAULT_FROM_EMAIL=hiring.team@gmail.com\n"
    )
    folder = project("email_url_environ", env_text)
    result = run_cli("config", "--settings", "email_url_environ", "--pythonpath", folder, "--json")
    assert (result.exit_code, settings_ids(result)) == (0, [])
    rows = {row["name"]: row["value"] for row in result.json()["settings"]}
    assert rows["EMAIL_HOST"] == "'smtp.gmail.com'"
    assert rows["EMAIL_PORT"] == "465"  # an int, as django-environ cast it
    assert rows["EMAIL_USE_SSL"] == "True"
    assert rows["EMAIL_HOST_USER"] == "'hiring.team@gmail.com'"
    assert rows["EMAIL_HOST_PASSWORD"] == "set (16 characters)"
    assert "abcdefghijklmnop" not in result.stdout
