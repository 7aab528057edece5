"""Did the generated API tests reach every operation? `make test-api` runs this after schemathesis.

    python tests-e2e/api_coverage.py <record> proto/openapi.yaml

The record is what tests-e2e/schemathesis_hooks.py wrote in its ``after_call`` hook: one JSON object a
line with the request's ``method``, the operation's ``path`` template and the answer's ``status``.
Prints how each operation of the document was answered and exits 1 naming every operation that was
never answered with a success: a 2xx, or a 3xx the operation documents (a redirect that is its
success, e.g. the OAuth start and callback). An operation only ever answered 401, 403 or 404 is
named as such: the run never got past authentication or never had data to work on there.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Answers that say the request never reached the operation's logic: no (valid) credentials, or no data.
UNREACHED = frozenset({401, 403, 404})


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    path: str  # the template, as in the document
    documented: frozenset[int]  # the statuses the document lists (those given as numbers)

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def is_success(self, status: int) -> bool:
        return 200 <= status < 300 or (300 <= status < 400 and status in self.documented)


@dataclass(frozen=True)
class Record:
    method: str
    path: str
    status: int


@dataclass(frozen=True)
class Verdict:
    operation: Operation
    statuses: Counter[int]

    @property
    def successes(self) -> int:
        return sum(n for status, n in self.statuses.items() if self.operation.is_success(status))

    @property
    def problem(self) -> str | None:
        """Why this operation fails the run, or None."""
        if not self.statuses:
            return "never called"
        if set(self.statuses) <= UNREACHED:
            return f"only answered {_statuses(self.statuses)} (never got past authentication or had no data)"
        if not self.successes:
            return f"never answered with a success (only {_statuses(self.statuses)})"
        return None


def _statuses(statuses: Mapping[int, int]) -> str:
    return ", ".join(f"{status} x{n}" for status, n in sorted(statuses.items()))


def operations_of(document: Mapping[str, object]) -> list[Operation]:
    """Every operation of an OpenAPI document, in its order."""
    found = []
    paths = document.get("paths") or {}
    assert isinstance(paths, Mapping)
    for path, item in paths.items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            responses = operation.get("responses") or {}
            documented = frozenset(int(code) for code in responses if str(code).isdigit())
            found.append(Operation(method.upper(), str(path), documented))
    return found


def verdicts(records: Iterable[Record], operations: Iterable[Operation]) -> list[Verdict]:
    """How each operation was answered. Records of requests the document has no operation for (e.g. the
    fuzzer's probes with undocumented methods) are not counted."""
    by_key = {(op.method, op.path): Verdict(op, Counter()) for op in operations}
    for record in records:
        verdict = by_key.get((record.method.upper(), record.path))
        if verdict is not None:
            verdict.statuses[record.status] += 1
    return list(by_key.values())


def problems(records: Iterable[Record], operations: Iterable[Operation]) -> list[str]:
    """One line per operation that was never answered with a success (empty: every one was)."""
    return [f"{v.operation.label}: {v.problem}" for v in verdicts(records, operations) if v.problem]


def read_records(path: Path) -> list[Record]:
    records = []
    for line in path.read_text().splitlines():
        if line.strip():
            data = json.loads(line)
            records.append(Record(str(data["method"]), str(data["path"]), int(data["status"])))
    return records


def report(found: list[Verdict]) -> str:
    width = max((len(v.operation.label) for v in found), default=0)
    lines = [f"{'operation':<{width}}  success/calls  answers"]
    for v in found:
        total = sum(v.statuses.values())
        lines.append(f"{v.operation.label:<{width}}  {v.successes:>7}/{total:<5}  {_statuses(v.statuses)}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: api_coverage.py <record.jsonl> <openapi.yaml>", file=sys.stderr)
        return 2
    record_path, document_path = Path(argv[0]), Path(argv[1])
    if not record_path.exists():
        print(f"api coverage: no record at {record_path} (did the schemathesis hooks run?)", file=sys.stderr)
        return 1
    operations = operations_of(yaml.safe_load(document_path.read_text()))
    records = read_records(record_path)
    found = verdicts(records, operations)
    print(report(found))
    failing = problems(records, operations)
    if failing:
        print(f"\napi coverage: {len(failing)} operation(s) without a success answer:", file=sys.stderr)
        for line in failing:
            print(f"  - {line}", file=sys.stderr)
        return 1
    print(f"\napi coverage: every one of the {len(operations)} operations answered with a success")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
