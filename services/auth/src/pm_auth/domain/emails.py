"""E-mail addresses: syntax checked (no DNS), normalised to lower case so one address is one account."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

MAX_LENGTH = 254


class InvalidEmail(ValueError):
    pass


def normalise_email(value: str) -> str:
    """The canonical form of ``value`` or InvalidEmail. Pure: no deliverability (DNS) check."""
    value = value.strip()
    if not value or len(value) > MAX_LENGTH:
        raise InvalidEmail("not a valid e-mail address")
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(str(exc)) from None
    return result.normalized.lower()
