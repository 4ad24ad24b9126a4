"""Django's settings, read as Django resolves them: from a settings module (`--settings`, with
django.conf.Settings and no django.setup()) or from the Django configured in this process
(`manage.py check`), with MAILERS and the Django version; and the guard every piece of the
user's code runs under (a settings module, the apps' ready(), their models).

Part of the Django adapter (adapters/django.py loads the project and reads its rows): Django is
imported only inside functions, and what the user's code raises becomes an InputError.
"""

from __future__ import annotations

import importlib
import sys
import traceback
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from types import ModuleType
from typing import Any

from interview_mailcheck import secrets
from interview_mailcheck.errors import InputError
from interview_mailcheck.settings import MAIL_SETTINGS, DjangoResolved

DJANGO_MISSING = (
    "Django is not installed in this environment: pip install 'interview-mailcheck[django]' "
    "(in the app's virtual environment)"
)


def _import_django() -> ModuleType:
    try:
        import django
    except ImportError:
        raise InputError(DJANGO_MISSING) from None
    module: ModuleType = django
    return module


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _where_raised(error: BaseException, folder: Path) -> str:
    """' (settings.py line 12)': the last frame of the user's code, if any."""
    if isinstance(error, SyntaxError) and error.filename:
        return f" ({Path(error.filename).name} line {error.lineno})"
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if frame.filename.startswith(str(folder))
    ]
    if not frames:
        return ""
    return f" ({Path(frames[-1].filename).name} line {frames[-1].lineno})"


def _add_to_path(pythonpath: Path) -> Path:
    folder = pythonpath.resolve()
    if not folder.is_dir():
        raise InputError(f"--pythonpath is not a folder: {pythonpath}")
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    return folder


@contextmanager
def user_code(
    what: str, folder: Path, let_through: tuple[type[BaseException], ...] = ()
) -> Iterator[None]:
    """The user's code runs here (a settings module, the apps' ready(), their models).

    What it prints goes to stderr, never into the one document mailcheck writes on stdout; and
    whatever it raises, SystemExit and KeyboardInterrupt included, becomes an InputError (exit
    2) naming `what` and the exception's type, with its message masked (errors.py).
    """
    try:
        with redirect_stdout(sys.stderr):
            yield
    except BaseException as error:  # the user's code may raise anything
        if isinstance(error, (InputError, *let_through)):
            raise
        raise InputError(f"{what}: {_one_line(error)}{_where_raised(error, folder)}") from None


def _import_settings(module: str, pythonpath: Path) -> ModuleType:
    """Import the settings module ourselves first, so that any failure names it."""
    folder = _add_to_path(pythonpath)
    try:
        with user_code(f"settings module {module!r} cannot be imported", folder, (ImportError,)):
            return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name and (module == error.name or module.startswith(error.name + ".")):
            raise InputError(
                f"settings module {module!r} cannot be imported: no module named {error.name!r} "
                f"in {folder} or on the Python path (pass --pythonpath with the folder that "
                "holds manage.py)"
            ) from None
        raise InputError(
            f"settings module {module!r} cannot be imported: "
            f"{_one_line(error)}{_where_raised(error, folder)}"
        ) from None


# --- Settings, as Django resolves them ------------------------------------------------------


def resolve_mail_settings(module: str, pythonpath: Path) -> DjangoResolved:
    """The email settings Django resolves from `module` (its defaults for what it leaves out),
    with MAILERS when the module defines it, and the Django version that reads them.

    Built with django.conf.Settings, the object `django.conf.settings` wraps, without
    django.setup(): the apps and the database play no part in these values. Django 6.1's
    deprecation warnings about the EMAIL_* settings are not printed (a finding says it, once);
    its refusal of MAILERS beside them (ImproperlyConfigured) is a finding too, and the values
    are then the module's own.
    """
    django = _import_django()
    loaded = _import_settings(module, pythonpath)
    from django.conf import Settings, global_settings
    from django.core.exceptions import ImproperlyConfigured

    refused = ""
    folder = pythonpath.resolve()
    with user_code(f"settings module {module!r} is not valid", folder), quiet_email_deprecations():
        try:
            resolved: Any = Settings(module)
        except ImproperlyConfigured as error:
            if "not allowed when MAILERS" not in str(error):
                raise
            refused = _one_line(error)
    if not refused:
        return mail_settings_of(resolved, module, getattr(loaded, "__file__", None))
    # Django refused to start: the values as the module writes them, over Django's defaults.
    own = {name for name in vars(loaded) if name.isupper()}
    values = {
        name: getattr(loaded, name, getattr(global_settings, name, None)) for name in MAIL_SETTINGS
    }
    secrets.current().add_all(settings_secrets(loaded))
    return DjangoResolved(
        module=module,
        file=getattr(loaded, "__file__", None),
        values=values,
        overridden=frozenset(name for name in MAIL_SETTINGS if name in own),
        django_version=_version(django),
        mailers=getattr(loaded, "MAILERS", None),
        has_mailers=hasattr(loaded, "MAILERS"),
        refused=refused,
    )


def _version(django: Any) -> tuple[int, int]:
    return (int(django.VERSION[0]), int(django.VERSION[1]))


def mail_settings_of(resolved: Any, module: str, file: str | None) -> DjangoResolved:
    """The email settings held by a Django settings object (django.conf.Settings, or what
    `django.conf.settings` wraps), with MAILERS and the Django version; its secrets remembered
    first."""
    secrets.current().add_all(settings_secrets(resolved))
    return DjangoResolved(
        module=module,
        file=file,
        values={name: getattr(resolved, name, None) for name in MAIL_SETTINGS},
        overridden=frozenset(name for name in MAIL_SETTINGS if resolved.is_overridden(name)),
        django_version=_version(_import_django()),
        mailers=getattr(resolved, "MAILERS", None),
        has_mailers=hasattr(resolved, "MAILERS"),
    )


def configured_mail_settings(settings: Any) -> DjangoResolved:
    """The email settings of the Django configured in this process (`django.conf.settings`:
    manage.py check), read from the object it wraps as resolve_mail_settings() reads one."""
    if not getattr(settings, "configured", True):
        raise InputError("Django's settings are not configured in this process")
    wrapped = getattr(settings, "_wrapped", settings)
    module = getattr(wrapped, "SETTINGS_MODULE", None) or "settings.configure()"
    loaded = sys.modules.get(module)
    with quiet_email_deprecations():
        resolved = mail_settings_of(wrapped, module, getattr(loaded, "__file__", None))
    # Django's test runner swaps in the locmem backend before it runs the system checks
    # (setup_test_environment): judge the backend the project set.
    test_state = getattr(sys.modules.get("django.test.utils"), "_TestState", None)
    saved: Any = getattr(test_state, "saved_data", None)
    if hasattr(saved, "mailers"):  # Django 6.1: every mailer swapped for locmem
        resolved = resolved._replace(mailers=saved.mailers)
    if hasattr(saved, "email_backend"):
        return resolved._replace(values={**resolved.values, "EMAIL_BACKEND": saved.email_backend})
    return resolved


@contextmanager
def quiet_email_deprecations() -> Iterator[None]:
    """Django 6.1 warns (RemovedInDjango2028Warning) for each EMAIL_* setting a module sets or
    a reader reads: not mailcheck's output."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"The EMAIL_\w+ setting is deprecated")
        yield


def settings_secrets(settings: Any) -> list[object]:
    """Every password Django's resolved settings hold: the email password, each database's,
    each mailer's (Django 6.1's MAILERS), and SECRET_KEY."""
    found: list[object] = [
        _setting(settings, "EMAIL_HOST_PASSWORD"),
        _setting(settings, "SECRET_KEY"),
    ]
    for name, key in (("DATABASES", "PASSWORD"), ("MAILERS", "OPTIONS")):
        entries = _setting(settings, name)
        if not isinstance(entries, Mapping):
            continue
        for entry in entries.values():
            if not isinstance(entry, Mapping):
                continue
            value = entry.get(key)
            found.append(value.get("password") if isinstance(value, Mapping) else value)
    return found


def _setting(settings: Any, name: str) -> object:
    """A setting, or None: Django 6.1 raises for EMAIL_* settings when MAILERS is defined."""
    try:
        return getattr(settings, name, None)
    except Exception:  # AttributeError, ImproperlyConfigured: the setting is not there to read
        return None


# --- The project, set up --------------------------------------------------------------------
