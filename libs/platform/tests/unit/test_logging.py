import io
import json

from pm_platform.correlation import bind_correlation_id, reset_correlation_id
from pm_platform.logging import Redactor, configure_logging, logger

PLANTED = {
    "password": "hunter2-very-secret",
    "jwt": "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxMjM0NTYifQ.c2lnbmF0dXJlLXZhbHVl",
    "bearer": "ya29.a0AfH6SMBx-plain-access-token",
    "dsn_password": "db-pass-0123456789",
    "known": "master-key-value-ABCDEFGH",
}


def test_redactor_removes_secret_shapes_and_known_values():
    redact = Redactor([PLANTED["known"]])
    text = (
        f"login password={PLANTED['password']} token {PLANTED['jwt']} "
        f"Authorization: Bearer {PLANTED['bearer']} "
        f"dsn postgresql://pm_auth:{PLANTED['dsn_password']}@127.0.0.1/db key {PLANTED['known']} "
        '{"refresh_token": "rt-value-123456789", "client_secret": "cs-value-987654321"}'
    )
    out = redact(text)
    for secret in [*PLANTED.values(), "rt-value-123456789", "cs-value-987654321"]:
        assert secret not in out
    assert "login" in out and "127.0.0.1/db" in out


def test_json_lines_carry_service_and_correlation_id_and_no_secrets():
    stream = io.StringIO()
    configure_logging("auth", "INFO", json_lines=True, secrets=[PLANTED["known"]], stream=stream)
    token = bind_correlation_id("corr-123")
    try:
        logger.info("linking with access_token={} and {}", PLANTED["bearer"], PLANTED["known"])
        logger.bind(headers={"Authorization": f"Bearer {PLANTED['bearer']}"}).warning("upstream said no")
    finally:
        reset_correlation_id(token)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["service"] for line in lines] == ["auth", "auth"]
    assert [line["correlation_id"] for line in lines] == ["corr-123", "corr-123"]
    assert all(secret not in stream.getvalue() for secret in PLANTED.values())


def test_text_lines_for_development():
    stream = io.StringIO()
    configure_logging("playlist", "DEBUG", json_lines=False, stream=stream)
    logger.debug("hello {}", "world")
    assert "playlist" in stream.getvalue() and "hello world" in stream.getvalue()


def test_secrets_in_structured_extra_are_redacted_and_the_line_stays_json():
    stream = io.StringIO()
    configure_logging("auth", "INFO", json_lines=True, stream=stream)
    logger.bind(
        refresh_token="SECRETVALUE123",
        request={
            "headers": {"Authorization": "Bearer abcdefgh12345"},
            "url": 'https://x/?access_token=abc"}',
        },
        attempt=3,
    ).info("refreshing")
    line = json.loads(stream.getvalue())
    assert line["extra"]["refresh_token"] == "[REDACTED]"
    assert line["extra"]["request"]["headers"]["Authorization"] == "[REDACTED]"
    assert line["extra"]["attempt"] == 3
    assert "SECRETVALUE123" not in stream.getvalue()
    assert "abcdefgh12345" not in stream.getvalue()


def test_exceptions_carry_a_redacted_traceback():
    stream = io.StringIO()
    configure_logging("auth", "INFO", json_lines=True, stream=stream)
    try:
        raise ValueError("password=hunter2-very-secret rejected")
    except ValueError:
        logger.exception("failed")
    line = json.loads(stream.getvalue())
    assert line["error"].startswith("ValueError")
    assert "test_logging.py" in line["traceback"]
    assert "hunter2-very-secret" not in stream.getvalue()
