"""Domain errors carry the SPEC's error shape: a stable code, a detail, and the field at fault.

Services raise them; the API turns them into `{"code", "detail", "field"}` with their status.
"""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, detail: str, *, code: str | None = None, field: str = ""):
        super().__init__(detail)
        self.detail = detail
        self.code = code or type(self).code
        self.field = field

    def extra(self) -> dict:
        """Keys an error adds to the shape, after code, detail and field (none by default)."""
        return {}

    def as_dict(self) -> dict:
        return {"code": self.code, "detail": self.detail, "field": self.field, **self.extra()}


class InvalidInput(DomainError):
    status = 400
    code = "invalid"


class NotAllowed(DomainError):
    status = 403
    code = "permission_denied"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Refused(DomainError):
    """A well-formed request the license, the consent or the rules do not allow."""

    status = 422
    code = "refused"


class ConsentConflictRefused(Refused):
    """An approval of terms that ask for more than the twin's consent in force; `conflicts` lists
    each one ({right, value, detail}) so that the parties see what to change."""

    code = "consent_conflict"

    def __init__(self, detail: str, *, conflicts: list[dict[str, str]]):
        super().__init__(detail, field="")
        self.conflicts = conflicts

    def extra(self) -> dict:
        return {"conflicts": self.conflicts}
