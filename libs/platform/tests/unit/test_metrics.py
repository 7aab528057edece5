"""What a service's /metrics carries besides its own series: the process's (the memory alert reads
``process_resident_memory_bytes``, deploy/observability/alerts.yml; Linux, where it reads /proc)."""

from __future__ import annotations

from pm_platform.metrics import Metrics


def test_a_service_exposes_its_resident_memory() -> None:
    text = Metrics("demo").render().decode()
    line = next(x for x in text.splitlines() if x.startswith("process_resident_memory_bytes "))
    assert float(line.split()[1]) > 1_000_000  # a Python process holds megabytes
    assert "process_cpu_seconds_total" in text
