"""Spotify's ``fields`` filter: ``items(added_at,track(name,album(name))),next``.

Supports the documented grammar: comma-separated names, nested selections in parentheses
(applied to objects and to every element of arrays) and ``!`` exclusions at any level.
"""

from __future__ import annotations

from typing import Any

Selection = dict[str, "Selection | None"]


class FieldsSyntaxError(ValueError):
    pass


def parse_fields(spec: str) -> tuple[Selection, set[str]]:
    """Parse into (included names with sub-selections, excluded names) at the top level."""
    sel, excl, pos = _parse(spec.replace(" ", ""), 0)
    if pos != len(spec.replace(" ", "")):
        raise FieldsSyntaxError(f"unexpected ')' at {pos}")
    return sel, excl


def _parse(s: str, i: int) -> tuple[Selection, set[str], int]:
    sel: Selection = {}
    excl: set[str] = set()
    while i < len(s) and s[i] != ")":
        neg = s[i] == "!"
        if neg:
            i += 1
        j = i
        while j < len(s) and s[j] not in ",()":
            j += 1
        name = s[i:j]
        if not name:
            raise FieldsSyntaxError(f"empty field name at {i}")
        sub: Selection | None = None
        if j < len(s) and s[j] == "(":
            inner, inner_excl, j = _parse(s, j + 1)
            if j >= len(s) or s[j] != ")":
                raise FieldsSyntaxError("unbalanced parentheses")
            j += 1
            sub = inner if inner else None
            if inner_excl:
                sub = {**(sub or {}), "!": None, **{"!" + e: None for e in inner_excl}}
        if neg:
            excl.add(name)
        else:
            sel[name] = sub
        i = j
        if i < len(s) and s[i] == ",":
            i += 1
    return sel, excl, i


def apply_fields(value: Any, sel: Selection, excl: set[str]) -> Any:
    if isinstance(value, list):
        return [apply_fields(v, sel, excl) for v in value]
    if not isinstance(value, dict):
        return value
    if not sel:
        return {k: v for k, v in value.items() if k not in excl}
    out = {}
    for name, sub in sel.items():
        if name in value:
            if sub is None:
                out[name] = value[name]
            else:
                inner_excl = {k[1:] for k in sub if k.startswith("!") and len(k) > 1}
                inner_sel: Selection = {k: v for k, v in sub.items() if not k.startswith("!")}
                out[name] = apply_fields(value[name], inner_sel, inner_excl)
    return out


def filter_fields(value: Any, spec: str | None) -> Any:
    if not spec:
        return value
    sel, excl = parse_fields(spec)
    return apply_fields(value, sel, excl)
