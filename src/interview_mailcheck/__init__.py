"""interview-mailcheck: will the interview invitation emails go out, and if not, why."""

__version__ = "0.1.0"
