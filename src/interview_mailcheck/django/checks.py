"""mailcheck's offline email checks as Django system checks, tag `mailcheck`.

Registered when the app is ready (apps.py); the check imports the rest of mailcheck only when
it runs, so a project that never runs its checks pays for nothing but this module.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, register

TAG = "mailcheck"


@register(TAG)  # type: ignore[untyped-decorator]  # Django is untyped here
def email_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The email settings Django runs with, judged as `mailcheck config --settings` judges
    them (without the .env comparison); never touches the network or the database, and reads
    no file but a client certificate set in EMAIL_SSL_CERTFILE / EMAIL_SSL_KEYFILE."""
    from interview_mailcheck.django.messages import email_settings_messages

    return email_settings_messages()
