"""The auth service's problems: its expected failures, each a domain error that carries its HTTP status.

Raised by the use cases (and by the handlers' parsing); the chassis renders each as problem+json.
"""

from __future__ import annotations

from pm_platform.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Problem,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)


class InvalidCredentials(Unauthorized):
    code, title = "invalid-credentials", "E-mail or password is wrong"


class SessionRevoked(Unauthorized):
    code, title = "session-revoked", "The session has ended"


class InvalidRefreshToken(Unauthorized):
    code, title = "invalid-refresh-token", "The refresh token is not valid"


class RefreshTokenReused(Unauthorized):
    code, title = "refresh-token-reused", "The refresh token was already used; the session is revoked"


class TooManyAttempts(TooManyRequests):
    """Too many password attempts on one account (usecases/throttle.py); carries Retry-After."""

    code, title = "too-many-attempts", "Too many password attempts for this account"


class WrongPassword(Forbidden):
    code, title = "wrong-password", "The password is wrong"


class EmailTaken(Conflict):
    code, title = "email-taken", "An account with this e-mail address exists"


class WeakPassword(ValidationFailed):
    code, title = "weak-password", "The password does not meet the policy"


class InvalidEmailProblem(ValidationFailed):
    code, title = "invalid-email", "Not a valid e-mail address"


class UnknownProvider(NotFound):
    code, title = "unknown-provider", "No such provider"


class ProviderNotConfigured(Problem):
    status, code, title = 503, "provider-not-configured", "This provider is not configured on this server"


class LinkNotFound(NotFound):
    code, title = "link-not-found", "No linked account for this provider"


class ReconsentRequired(Conflict):
    code, title = "reconsent-required", "The provider refused the refresh; the user must link again"


class InvalidState(Problem):
    status, code, title = 400, "invalid-state", "Unknown OAuth state"


class StateAlreadyUsed(Problem):
    status, code, title = 400, "state-already-used", "This OAuth state was already used"


class StateExpired(Problem):
    status, code, title = 400, "state-expired", "This OAuth state has expired"


class InvalidReturnTo(ValidationFailed):
    code, title = "invalid-return-to", "return_to must be a path here or an allowed origin"


class StateNotBound(Problem):
    status, code, title = 400, "state-not-bound", "This link attempt was started in another browser"


class AttemptNotFound(NotFound):
    code, title = "attempt-not-found", "No such link attempt"


class AttemptAlreadyStarted(Conflict):
    code, title = "attempt-already-started", "This link attempt was already opened; start again"
