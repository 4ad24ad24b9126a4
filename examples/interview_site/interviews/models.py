"""Candidates, jobs and interviews, as the app stores them."""

import uuid

from django.db import models


class Candidate(models.Model):
    full_name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)

    def __str__(self) -> str:
        return self.full_name


class Job(models.Model):
    title = models.CharField(max_length=200)
    company_name = models.CharField(max_length=200)

    def __str__(self) -> str:
        return f"{self.title} at {self.company_name}"


class Interview(models.Model):
    """One interview. Booking a slot creates an InterviewSession and stores its key here."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="interviews")
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="interviews")
    started_at = models.DateTimeField(null=True, blank=True, db_index=True)
    session_key = models.CharField(max_length=64, blank=True, default="", db_index=True)

    def __str__(self) -> str:
        return f"{self.candidate} for {self.job}"
