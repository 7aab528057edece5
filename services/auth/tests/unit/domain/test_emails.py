"""E-mail addresses: one address, one account."""

import pytest

from pm_auth.domain.emails import InvalidEmail, normalise_email


@pytest.mark.parametrize(
    ("raw", "normal"),
    [("Alice@Example.COM", "alice@example.com"), ("  bob@example.org ", "bob@example.org")],
)
def test_emails_are_normalised(raw, normal):
    assert normalise_email(raw) == normal


@pytest.mark.parametrize(
    "raw", ["", "no-at-sign", "a@", "@example.com", "a b@example.com", "a@" + "x" * 260 + ".com"]
)
def test_invalid_emails(raw):
    with pytest.raises(InvalidEmail):
        normalise_email(raw)
