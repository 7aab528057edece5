from __future__ import annotations

from pathlib import Path

import pytest

from pm_devstack.errors import DevstackError
from pm_devstack.services_file import load_services


def test_a_bad_services_file_is_a_stack_error(tmp_path: Path) -> None:
    (tmp_path / "services.yaml").write_text("services: {}\n")
    with pytest.raises(DevstackError, match="must be a list"):
        load_services(tmp_path / "services.yaml")
    with pytest.raises(DevstackError, match="cannot read"):
        load_services(tmp_path / "nope.yaml")
