"""Backward compatibility between two versions of one published JSON Schema.

A change is breaking when an event valid under the new schema could fail a consumer written against
the old one, or an old event could fail the new schema: a property removed or renamed, a property
newly required, a type changed or narrowed, an enum value removed. Adding an optional property is not
breaking. A breaking change needs a new schema version (a new file), never an edit of a published one.

Adding an optional property is safe only because every reader is tolerant: the payload models ignore
properties they do not know (``extra="ignore"``), so a consumer still on the old version handles an
event from a newer producer during a rolling upgrade instead of dead-lettering it. Producers cannot
slip an unknown property in: mypy (the pydantic plugin with ``init_forbid_extra``) refuses unknown
keyword arguments, and the registry's examples are checked against the published schemas.
"""

from __future__ import annotations

from typing import Any


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return dict(root.get("$defs", {}).get(ref.removeprefix("#/$defs/"), {}))
    return schema


def _types(schema: dict[str, Any]) -> set[str]:
    if "type" in schema:
        kind = schema["type"]
        return set(kind) if isinstance(kind, list) else {kind}
    if "anyOf" in schema:
        found: set[str] = set()
        for option in schema["anyOf"]:
            found |= _types(option) or {"$ref"}
        return found
    return set()


def breaking_changes(
    old: dict[str, Any],
    new: dict[str, Any],
    old_root: dict[str, Any] | None = None,
    new_root: dict[str, Any] | None = None,
    path: str = "",
) -> list[str]:
    old_root = old_root or old
    new_root = new_root or new
    old = _resolve(old, old_root)
    new = _resolve(new, new_root)
    problems: list[str] = []
    where = path or "(root)"
    old_types, new_types = _types(old), _types(new)
    if old_types and new_types and not old_types <= new_types:
        problems.append(f"{where}: type {sorted(old_types)} became {sorted(new_types)}")
    if "enum" in old and "enum" in new and not set(old["enum"]) <= set(new["enum"]):
        problems.append(f"{where}: enum values removed: {sorted(set(old['enum']) - set(new['enum']))}")
    if "const" in old and old.get("const") != new.get("const"):
        problems.append(f"{where}: constant changed")
    old_props: dict[str, Any] = old.get("properties", {})
    new_props: dict[str, Any] = new.get("properties", {})
    for name in old_props:
        if name not in new_props:
            problems.append(f"{path}.{name}: property removed")
        else:
            problems.extend(
                breaking_changes(old_props[name], new_props[name], old_root, new_root, f"{path}.{name}")
            )
    newly_required = set(new.get("required", [])) - set(old.get("required", []))
    for name in sorted(newly_required):
        problems.append(f"{path}.{name}: property became required")
    if old.get("additionalProperties") is not False and new.get("additionalProperties") is False and path:
        problems.append(f"{where}: additional properties no longer allowed")
    for option_key in ("anyOf",):
        for old_option in old.get(option_key, []):
            old_option = _resolve(old_option, old_root)
            if "properties" not in old_option:
                continue
            matches = [
                _resolve(o, new_root)
                for o in new.get(option_key, [])
                if "properties" in _resolve(o, new_root)
            ]
            if matches:
                problems.extend(breaking_changes(old_option, matches[0], old_root, new_root, path))
    return problems
