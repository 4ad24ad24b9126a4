"""Fetching the interview link for `--check-link`, with urllib (the only HTTP client used).

Never raises for a network problem: the outcome is a status, or no status and a reason.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from dataclasses import dataclass

from interview_mailcheck import __version__

TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class LinkStatus:
    url: str
    status: int | None
    """The final HTTP status after redirects; None when no answer came."""
    reason: str
    final_url: str | None = None

    def describe(self) -> str:
        if self.status is None:
            return f"no answer: {self.reason}"
        moved = f" (after redirects, at {self.final_url})" if self.final_url != self.url else ""
        return f"{self.status} {self.reason}{moved}".strip()


def fetch(url: str, timeout: float = TIMEOUT_SECONDS) -> LinkStatus:
    """GET the link as a browser would (following redirects) and report the status."""
    request = urllib.request.Request(
        url, method="GET", headers={"User-Agent": f"mailcheck/{__version__} (--check-link)"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return LinkStatus(url, response.status, str(response.reason), response.url)
    except urllib.error.HTTPError as error:
        return LinkStatus(url, error.code, str(error.reason), error.url)
    except urllib.error.URLError as error:
        reason = error.reason
        text = reason.strerror if isinstance(reason, OSError) and reason.strerror else str(reason)
        return LinkStatus(url, None, text)
    except TimeoutError:
        return LinkStatus(url, None, f"timed out after {timeout:g} s")
    except (OSError, http.client.HTTPException, ValueError) as error:
        return LinkStatus(url, None, str(error) or type(error).__name__)
