"""mailcheck inside a Django project: add "interview_mailcheck.django" to INSTALLED_APPS.

Then `manage.py check` (and runserver, migrate, every command that runs the system checks)
reports mailcheck's offline checks of the email settings Django runs with, tagged `mailcheck`
(checks.py), and `manage.py mailcheck ...` runs any mailcheck command inside the project
(management/commands/mailcheck.py).

Django's start-up imports this package, apps.py and checks.py, and nothing else of mailcheck:
the checks import the rest when they run. Imports here are absolute (`import django` is Django,
never this package).
"""
