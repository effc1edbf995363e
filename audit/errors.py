"""The base error of the audit subsystem."""

from __future__ import annotations


class AuditError(Exception):
    """An audit record could not be made, signed, stored or verified.

    ``remediation`` says what the user can do about it.
    """

    def __init__(self, message: str, remediation: str = "") -> None:
        super().__init__(message)
        self.remediation = remediation
