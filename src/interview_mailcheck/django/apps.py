"""The app's configuration: Django finds it here when INSTALLED_APPS names the package."""

from __future__ import annotations

from django.apps import AppConfig


class MailcheckConfig(AppConfig):  # type: ignore[misc]  # Django is untyped here
    name = "interview_mailcheck.django"
    label = "mailcheck"
    verbose_name = "mailcheck"

    def ready(self) -> None:
        # Registers the system checks; they import the rest of mailcheck only when they run.
        from interview_mailcheck.django import checks  # noqa: F401
