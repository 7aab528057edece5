import time
import uuid

import jwt
import pytest

from pm_platform.errors import Forbidden, Unauthorized
from pm_platform.identity import (
    Identity,
    service_credential,
    sign_identity,
    verify_identity,
)

TOKEN = "service-token-for-tests-0123456789"


def test_round_trip():
    who = Identity(uuid.uuid4(), uuid.uuid4())
    assert verify_identity(sign_identity(who, TOKEN), TOKEN) == who


def test_rejects_other_key_expired_and_forged_assertions():
    who = Identity(uuid.uuid4(), uuid.uuid4())
    with pytest.raises(Unauthorized):
        verify_identity(sign_identity(who, "another-deployment-token-xyz"), TOKEN)
    with pytest.raises(Unauthorized):
        verify_identity(sign_identity(who, TOKEN, now=time.time() - 600), TOKEN)
    unsigned = jwt.encode({"sub": str(who.user_id), "sid": str(who.session_id)}, key=None, algorithm="none")
    with pytest.raises(Unauthorized):
        verify_identity(unsigned, TOKEN)
    with pytest.raises(Unauthorized):
        verify_identity("garbage", TOKEN)


def test_service_credential_is_derived_not_the_token():
    credential = service_credential(TOKEN)
    assert TOKEN not in credential
    assert credential.startswith("Service ")
    assert credential == service_credential(TOKEN)
    assert credential != service_credential(TOKEN + "x")
    assert Forbidden.status == 403
