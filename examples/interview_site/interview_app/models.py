"""The live interview room a candidate opens from the invitation link."""

from django.db import models


class InterviewSession(models.Model):
    session_key = models.CharField(max_length=64, unique=True)
    candidate_email = models.EmailField(blank=True)
    coding_language = models.CharField(max_length=40, default="python")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.session_key
