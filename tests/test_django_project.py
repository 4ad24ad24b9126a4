"""Loading the user's project: a second model layout from [tool.mailcheck], and every way the
loading can fail (exit 2, one line, never a traceback)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import RunCli
from support.django_site import (
    EXAMPLE,
    HIRING_SITE,
    SITE_ARGS,
)

from interview_mailcheck.adapters.pyproject import read_tool_table
from interview_mailcheck.errors import InputError
from interview_mailcheck.interviews import (
    DEFAULT_LINK_TEMPLATE,
    INTERVIEW_FIELDS,
    SESSION_FIELDS,
    ToolTable,
    resolve_layout,
)

pytest_plugins = ["support.django_fixtures"]  # demo_db, process_state, site
LOAD_DATA = """
import django
from django.core.management import call_command

django.setup()
call_command("migrate", verbosity=0)
call_command("loaddata", "bookings", verbosity=0)
"""


def clean_environment() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("EMAIL_", "MAILCHECK_", "DJANGO_")) and k != "INTERVIEW_SITE_DB"
    }


def mailcheck(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        [sys.executable, "-m", "interview_mailcheck", *args],
        cwd=cwd,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    print(f"$ mailcheck {' '.join(args)}\nexit: {completed.returncode}")
    print(f"--- stdout\n{completed.stdout}--- stderr\n{completed.stderr}---")
    return completed


@pytest.fixture(scope="module")
def hiring_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the second project with its database loaded from a Django fixture file."""
    folder = tmp_path_factory.mktemp("hiring") / "hiring_site"
    shutil.copytree(HIRING_SITE, folder, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
    subprocess.run(
        [sys.executable, "-c", LOAD_DATA],
        cwd=folder,
        env={**clean_environment(), "DJANGO_SETTINGS_MODULE": "hiring_site.settings"},
        check=True,
        capture_output=True,
        timeout=120,
    )
    return folder


# --- A second layout, configured in pyproject.toml ---------------------------------------------


def test_second_layout_sessions(hiring_site: Path) -> None:
    """Bookings and rooms, integer keys, a nullable email: no option on the command line."""
    completed = mailcheck("sessions", "--no-dns", "--json", cwd=hiring_site)
    assert (completed.returncode, completed.stderr) == (1, "")
    document = json.loads(completed.stdout)
    assert document["summary"] == {"errors": 3, "warnings": 1, "infos": 0, "checked": 5}
    found = sorted((f["interview_id"], f["id"], f["subject"]) for f in document["findings"])
    assert found == [
        ("2", "session.E002", "room_code"),
        ("2", "session.W005", "starts"),
        ("3", "session.E003", "room_code"),
        ("4", "session.E006", "Room.invitee"),  # NULL in the database
    ]
    # Booking 5: ' Pat.Quinn@Initech.example ' and 'pat.quinn@initech.example' are one address.


def test_second_layout_session_in_the_apps_time_zone(hiring_site: Path) -> None:
    completed = mailcheck("session", "1", "--no-dns", "--json", cwd=hiring_site)
    assert completed.returncode == 0
    document = json.loads(completed.stdout)
    assert document["findings"] == []  # https, on a public host, with the key
    assert {row["item"]: row["value"] for row in document["interview"]} == {
        "interview": "1 (hiring.Booking)",
        "session_key": "R1",
        "InterviewSession": "found (hiring.Room)",
        "candidate": "Ines Duarte",
        "candidate email": "ines@initech.example",
        "session email": "ines@initech.example",
        "job": "SRE at Initech",
        # USE_TZ = False: the stored time is New York's; 09:30 EST is 20:00 in India.
        "scheduled (America/New_York)": "Mon 04 Mar 2030, 09:30 EST",
        "scheduled (IST)": "Mon 04 Mar 2030, 20:00 IST",
        "coding language": "go",
        "link": "https://hiring.example.org/room/R1?booking=1",
    }


def test_second_layout_window_and_malformed_id(hiring_site: Path) -> None:
    window = mailcheck(
        "sessions", "--since", "2030-03-05", "--until", "2030-03-06", "--no-dns", cwd=hiring_site
    )
    assert window.returncode == 1
    assert window.stdout.startswith("mailcheck sessions: 2 interviews from 2030-03-05 until")
    malformed = mailcheck("session", "abc", "--no-dns", "--json", cwd=hiring_site)
    assert (malformed.returncode, malformed.stderr) == (1, "")
    assert [f["id"] for f in json.loads(malformed.stdout)["findings"]] == ["session.E001"]


def test_options_override_the_pyproject_layout(hiring_site: Path) -> None:
    completed = mailcheck(
        "session",
        "4",
        "--field",
        "session.candidate-email=language",
        "--no-dns",
        "--json",
        cwd=hiring_site,
    )
    (finding,) = json.loads(completed.stdout)["findings"]
    assert finding["id"] == "session.E007"
    assert finding["message"] == "the session's candidate email 'rust' is not a valid address"


def test_example_project_runs_from_its_own_folder(demo_db: Path) -> None:
    """examples/interview_site/pyproject.toml names the settings: no option needed."""
    environment = {**clean_environment(), "INTERVIEW_SITE_DB": str(demo_db)}
    completed = subprocess.run(
        [sys.executable, "-m", "interview_mailcheck", "sessions", "--no-dns", "--json"],
        cwd=EXAMPLE,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 1
    assert json.loads(completed.stdout)["summary"]["checked"] == 6
    assert completed.stderr == ""


# --- The layout, from defaults, pyproject.toml and options --------------------------------------


def test_layout_defaults_are_the_apps_names() -> None:
    layout = resolve_layout(ToolTable(None))
    assert layout.interview_model == "interviews.Interview"
    assert layout.session_model == "interview_app.InterviewSession"
    assert dict(layout.interview_fields) == dict(INTERVIEW_FIELDS)
    assert layout.interview_path("candidate-name") == "candidate__full_name"
    assert dict(layout.session_fields) == dict(SESSION_FIELDS)
    assert layout.link_template == DEFAULT_LINK_TEMPLATE


def test_layout_options_win_over_pyproject() -> None:
    tool = ToolTable(
        Path("pyproject.toml"),
        {
            "link-template": "https://a.example/{session_key}",
            "interview": {"model": "a.Booking", "session-key": "code"},
            "session": {"model": "a.Room", "candidate-email": ""},
        },
    )
    layout = resolve_layout(
        tool, interview_model="b.Meeting", fields=["interview.session-key=room__code"]
    )
    assert (layout.interview_model, layout.session_model) == ("b.Meeting", "a.Room")
    assert layout.interview_path("session-key") == "room__code"
    assert layout.session_path("candidate-email") == ""  # not in this app
    assert layout.link_template == "https://a.example/{session_key}"
    assert resolve_layout(tool, link_template="https://c.example/{interview_id}").link_template == (
        "https://c.example/{interview_id}"
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"sesion": {}}, "unknown key 'sesion'"),
        ({"interview": "x"}, "`interview` must be a table"),
        ({"interview": {"candidate_email": "x"}}, "unknown interview field 'candidate_email'"),
        ({"session": {"model": 3}}, "model must be a string"),
        ({"link-template": "https://x/{slot}"}, "unknown placeholder {slot}"),
    ],
)
def test_layout_errors_name_the_entry(table: dict[str, object], message: str) -> None:
    with pytest.raises(InputError) as caught:
        resolve_layout(ToolTable(Path("/srv/app/pyproject.toml"), table))
    assert message in str(caught.value)


def test_pyproject_is_found_in_a_parent_folder(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.mailcheck]\nsettings = "site.settings"\n')
    (tmp_path / "src" / "deep").mkdir(parents=True)
    tool = read_tool_table(tmp_path / "src" / "deep")
    assert (tool.path, tool.table) == (tmp_path / "pyproject.toml", {"settings": "site.settings"})


def test_pyproject_without_the_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "app"\n')
    assert read_tool_table(tmp_path).table == {}


def test_invalid_pyproject_is_a_usage_error(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.mailcheck\n")
    result = run_cli("sessions", "--pythonpath", tmp_path)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith(f"mailcheck: error: {tmp_path / 'pyproject.toml'} is not valid")
    assert len(result.stderr.splitlines()) == 1


# --- Loading the project: each failure is one line, exit 2 -------------------------------------


@pytest.mark.usefixtures("process_state")
def test_no_settings_module_anywhere(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    result = run_cli("sessions")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "mailcheck: error: no Django settings module: pass --settings MODULE (e.g. "
        "mysite.settings), set DJANGO_SETTINGS_MODULE, or set `settings` in [tool.mailcheck] "
        "of pyproject.toml\n"
    )


@pytest.mark.usefixtures("process_state")
@pytest.mark.parametrize("command", [["sessions"], ["session", "x"], ["config"]])
def test_settings_module_that_does_not_exist(
    run_cli: RunCli, tmp_path: Path, command: list[str]
) -> None:
    result = run_cli(*command, "--settings", "mysite.settingz", "--pythonpath", tmp_path)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "mailcheck: error: settings module 'mysite.settingz' cannot be imported: no module named "
        f"'mysite' in {tmp_path} or on the Python path (pass --pythonpath with the folder that "
        "holds manage.py)\n"
    )


@pytest.mark.usefixtures("process_state")
@pytest.mark.parametrize("command", [["sessions"], ["config"]])
def test_settings_module_that_raises(run_cli: RunCli, tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "raising_settings.py").write_text(
        'import os\n\nSECRET_KEY = os.environ["SITE_SECRET_KEY"]\n'
    )
    result = run_cli(*command, "--settings", "raising_settings", "--pythonpath", tmp_path)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "mailcheck: error: settings module 'raising_settings' cannot be imported: KeyError: "
        "'SITE_SECRET_KEY' (raising_settings.py line 3)\n"
    )


@pytest.mark.usefixtures("process_state")
def test_settings_module_with_a_syntax_error(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "typo_settings.py").write_text('SECRET_KEY = "x"\nEMAIL_PORT = 587)\n')
    result = run_cli("config", "--settings", "typo_settings", "--pythonpath", tmp_path)
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "mailcheck: error: settings module 'typo_settings' cannot be imported: SyntaxError: "
    )
    assert result.stderr.endswith("(typo_settings.py line 2)\n")


@pytest.mark.usefixtures("process_state")
def test_settings_with_an_app_that_is_not_installed(run_cli: RunCli, tmp_path: Path) -> None:
    """A fresh process: Django can only be set up once per process."""
    (tmp_path / "broken_apps.py").write_text('SECRET_KEY = "x"\nINSTALLED_APPS = ["no_such_app"]\n')
    completed = subprocess.run(
        [sys.executable, "-m", "interview_mailcheck", "sessions", "--settings", "broken_apps"],
        cwd=tmp_path,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (completed.returncode, completed.stdout) == (2, "")
    assert completed.stderr == (
        "mailcheck: error: django.setup() failed with settings 'broken_apps': "
        "ModuleNotFoundError: No module named 'no_such_app'\n"
    )


@pytest.mark.usefixtures("process_state")
@pytest.mark.parametrize(
    "command",
    [["sessions", *SITE_ARGS], ["session", "x", *SITE_ARGS], ["config", *SITE_ARGS]],
    ids=["sessions", "session", "config"],
)
def test_django_not_installed(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setitem(sys.modules, "django", None)  # `import django` raises ImportError
    result = run_cli(*command)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "mailcheck: error: Django is not installed in this environment: pip install "
        "'interview-mailcheck[django]' (in the app's virtual environment)\n"
    )


def test_pythonpath_that_is_not_a_folder(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("sessions", "--settings", "x.settings", "--pythonpath", tmp_path / "none")
    assert result.exit_code == 2
    assert result.stderr == f"mailcheck: error: --pythonpath is not a folder: {tmp_path / 'none'}\n"


@pytest.mark.usefixtures("site")
def test_another_settings_module_in_the_same_process(run_cli: RunCli, tmp_path: Path) -> None:
    """Only reachable in-process (tests, embedding): Django cannot be set up twice."""
    (tmp_path / "other_settings.py").write_text('SECRET_KEY = "x"\n')
    result = run_cli("sessions", "--settings", "other_settings", "--pythonpath", tmp_path)
    assert result.exit_code == 2
    assert "Django is already set up with settings 'interview_site.settings'" in result.stderr


def test_config_does_not_import_django(tmp_path: Path) -> None:
    """`mailcheck config` without --settings stays as quick as before: no Django, no HTTP."""
    probe = (
        "import sys\n"
        "from interview_mailcheck.cli import main\n"
        "sys.argv = ['mailcheck', 'config', '--env-file', sys.argv[1]]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "loaded = [m for m in ('django', 'urllib.request', 'tomllib', 'interview_mailcheck.adapters"
        ".django') if m in sys.modules]\n"
        "sys.stderr.write(repr(loaded))\n"
    )
    env_file = tmp_path / ".env"
    env_file.write_text("EMAIL_HOST=smtp.gmail.com\n")
    completed = subprocess.run(
        [sys.executable, "-c", probe, str(env_file)],
        cwd=tmp_path,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.stdout.startswith("mailcheck config:")
    assert completed.stderr == "[]"


# --- The read-only switch each backend gets ------------------------------------------------------


def test_sqlite_file_is_opened_with_mode_ro(tmp_path: Path) -> None:
    from interview_mailcheck.adapters.django import read_only_changes

    path = tmp_path / "my db.sqlite3"
    changes = read_only_changes("sqlite", {"NAME": str(path), "OPTIONS": {"timeout": 5}})
    assert changes == {"NAME": path.as_uri() + "?mode=ro", "OPTIONS": {"timeout": 5}}
    assert "%20" in changes["NAME"]  # the URI quotes the space


@pytest.mark.parametrize(
    ("name", "uri"),
    [
        ("file:app.db", "file:app.db?mode=ro"),
        ("file:app.db?cache=shared", "file:app.db?cache=shared&mode=ro"),
        ("file:app.db?mode=ro", "file:app.db?mode=ro"),
    ],
)
def test_sqlite_uri_gets_mode_ro(name: str, uri: str) -> None:
    from interview_mailcheck.adapters.django import read_only_changes

    assert read_only_changes("sqlite", {"NAME": name, "OPTIONS": {}})["NAME"] == uri


def test_sqlite_write_lock_transaction_mode_is_dropped() -> None:
    """Django 5.1's transaction_mode IMMEDIATE would ask a read-only file for a write lock."""
    from interview_mailcheck.adapters.django import read_only_changes

    settings = {"NAME": "/srv/app/db.sqlite3", "OPTIONS": {"transaction_mode": "IMMEDIATE"}}
    assert read_only_changes("sqlite", settings)["OPTIONS"] == {}
    assert settings["OPTIONS"] == {"transaction_mode": "IMMEDIATE"}  # the app's dict untouched


def test_sqlite_in_memory_is_left_alone() -> None:
    from interview_mailcheck.adapters.django import read_only_changes

    assert read_only_changes("sqlite", {"NAME": ":memory:", "OPTIONS": {}}) == {}


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, {"options": "-c default_transaction_read_only=on", "connect_timeout": 10}),
        (
            {"options": "-c search_path=app", "sslmode": "require", "connect_timeout": "3"},
            {
                "options": "-c search_path=app -c default_transaction_read_only=on",
                "sslmode": "require",
                "connect_timeout": 3,
            },
        ),
    ],
)
def test_postgresql_sessions_default_to_read_only(
    options: dict[str, str], expected: dict[str, str]
) -> None:
    from interview_mailcheck.adapters.django import read_only_changes

    changes = read_only_changes("postgresql", {"NAME": "app", "OPTIONS": options})
    assert changes == {"OPTIONS": expected}


@pytest.mark.parametrize(
    ("configured", "given", "expected"),
    [
        (None, None, 10),  # libpq alone would wait forever
        ("5", None, 5),
        (7, None, 7),
        ("0", None, 10),  # 0 is "forever" to libpq: mailcheck keeps its bound
        ("-1", None, 10),
        ("9000", None, 10),  # over --timeout's own bound of 600 s
        ("soon", None, 10),
        ("5", 3.0, 3),  # --timeout wins
        (None, 0.5, 2),  # libpq's minimum is 2 s
        (None, 2.5, 3),  # whole seconds, rounded up
    ],
)
def test_postgresql_connect_timeout(configured: object, given: float | None, expected: int) -> None:
    from interview_mailcheck.adapters.django import connect_timeout

    assert connect_timeout(configured, given) == expected


def test_other_backends_rely_on_the_rollback() -> None:
    from interview_mailcheck.adapters.django import describe_database, read_only_changes

    settings = {"NAME": "app", "HOST": "db.internal", "OPTIONS": {}}
    assert read_only_changes("mysql", settings) == {}
    assert describe_database("mysql", settings) == "mysql database 'app' on db.internal"
