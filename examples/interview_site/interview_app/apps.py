from django.apps import AppConfig


class InterviewAppConfig(AppConfig):
    name = "interview_app"
