"""What changed in a resource, leaf by leaf, as a reviewer reads it (issue 38).

A plan gives each resource's whole value before and after. Shown whole, a nested block or a
list hides its one changed leaf among the unchanged ones (and cut to a width, behind them);
here each change is named by its path, unchanged siblings left out:

    cors_configuration[0].allow_origins: + "https://beta.lego-moc.com"
    default_route_settings[0].throttling_rate_limit: 50 → 80
    policy.Statement[ReadImages].Action: + "s3:PutObject"

- Nested blocks and maps are followed key by key; lists of blocks index by index.
- Lists of plain values (Terraform's sets, most of them) are compared as sets: each value added
  or removed, or the order when only that changed.
- A string that holds JSON (policy documents, a dashboard's body) is followed as its JSON; a
  policy document (it has `Statement`) statement by statement, matched by `Sid` (by position
  where a statement has none): statements added or removed whole, and of a changed one each
  action, resource and principal added or removed, and each condition value changed.
- A value Terraform marks sensitive is masked, whatever its depth; a value only known after the
  apply says so.
- A long string is shown from shortly before its first difference, never cut before it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SENSITIVE = "(sensitive)"
UNKNOWN = "(known after apply)"
ABSENT = "(none)"
# A long string is shown from this many characters before its first difference ...
CONTEXT_BEFORE = 30
# ... to this many after it.
CONTEXT_AFTER = 90
# Policy statement fields that are lists of values (compared as sets).
_STATEMENT_SETS = ("Action", "NotAction", "Resource", "NotResource")

Equal = Callable[[Any, Any], bool]


@dataclass(frozen=True)
class AttributeChange:
    """One changed leaf: its path and its values as shown (JSON, masked or folded)."""

    name: str
    before: str
    after: str
    #: "changed" (before → after), "added" (+ after) or "removed" (- before).
    kind: str = "changed"

    def text(self) -> str:
        if self.kind == "added":
            return f"`{self.name}`: + {self.after}"
        if self.kind == "removed":
            return f"`{self.name}`: - {self.before}"
        return f"`{self.name}`: {self.before} → {self.after}"


def _equal(a: Any, b: Any) -> bool:
    return bool(a == b)


def show(value: Any) -> str:
    if value is None:
        return "null"
    return json.dumps(value, sort_keys=True, separators=(", ", ": "), ensure_ascii=False)


def _window(before: str, after: str) -> tuple[str, str]:
    """Two long strings shown from shortly before their first difference."""
    first = next(
        (i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b),
        min(len(before), len(after)),
    )
    start = max(0, first - CONTEXT_BEFORE)

    def cut(text: str) -> str:
        end = first + CONTEXT_AFTER
        shown = ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")
        return json.dumps(shown, ensure_ascii=False)

    return cut(before), cut(after)


def _scalar(path: str, before: Any, after: Any) -> AttributeChange:
    if (
        isinstance(before, str)
        and isinstance(after, str)
        and max(len(before), len(after)) > CONTEXT_BEFORE + CONTEXT_AFTER
    ):
        return AttributeChange(path, *_window(before, after))
    return AttributeChange(path, show(before), show(after))


def _json_of(value: Any) -> Any:
    """The JSON a string holds (an object or a list), else None."""
    if not isinstance(value, str) or value[:1] not in ("{", "["):
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, (dict, list)) else None


def _marked(marks: Any) -> bool:
    if isinstance(marks, dict):
        return any(_marked(v) for v in marks.values())
    if isinstance(marks, list):
        return any(_marked(v) for v in marks)
    return bool(marks)


def _sub(marks: Any, key: str | int) -> Any:
    """The marks (sensitive, unknown) of a key or an index inside `marks`."""
    if isinstance(marks, dict) and isinstance(key, str):
        return marks.get(key)
    if isinstance(marks, list) and isinstance(key, int) and key < len(marks):
        return marks[key]
    return marks if isinstance(marks, bool) else None


@dataclass(frozen=True)
class _Marks:
    sensitive: Any = None
    unknown: Any = None

    def at(self, key: str | int) -> _Marks:
        return _Marks(_sub(self.sensitive, key), _sub(self.unknown, key))


def leaf_changes(
    path: str, before: Any, after: Any, marks: _Marks | None = None, equal: Equal = _equal
) -> list[AttributeChange]:
    """Each changed leaf under `path` (see the module's docstring)."""
    marks = marks or _Marks()
    masked = _masked(path, before, after, marks, equal)
    if masked is not None:
        return masked
    parsed = _parsed_json(before, after)
    if parsed is not None:
        if _is_policy(parsed[0]) or _is_policy(parsed[1]):
            return policy_changes(path, parsed[0], parsed[1], equal)
        return leaf_changes(path, parsed[0], parsed[1], _Marks(), equal)
    if _both(before, after, dict):
        return _dict_changes(path, before or {}, after or {}, marks, equal)
    if _both(before, after, list):
        return _list_changes(path, before or [], after or [], marks, equal)
    return [_scalar(path, before, after)]


def _masked(
    path: str, before: Any, after: Any, marks: _Marks, equal: Equal
) -> list[AttributeChange] | None:
    """What a sensitive, unknown or unchanged value shows (None: look inside it)."""
    if marks.sensitive is True:
        return [] if equal(before, after) else [AttributeChange(path, SENSITIVE, SENSITIVE)]
    if marks.unknown is True:
        return [AttributeChange(path, ABSENT if before is None else show(before), UNKNOWN)]
    if equal(before, after) and not _marked(marks.unknown):
        return []
    if _marked(marks.sensitive) and not isinstance(before or after, (dict, list)):
        return [AttributeChange(path, SENSITIVE, SENSITIVE)]
    return None


def _parsed_json(before: Any, after: Any) -> tuple[Any, Any] | None:
    """The JSON both strings hold (or one, the other empty), else None."""
    parsed = _json_of(before), _json_of(after)
    if any(p is not None for p in parsed) and all(
        p is not None or v in (None, "") for p, v in zip(parsed, (before, after), strict=True)
    ):
        return parsed
    return None


def _both(before: Any, after: Any, kind: type) -> bool:
    """Both of `kind` (or absent), one at least present."""
    return (isinstance(before, kind) or isinstance(after, kind)) and all(
        v is None or isinstance(v, kind) for v in (before, after)
    )


def _dict_changes(
    path: str, before: dict[str, Any], after: dict[str, Any], marks: _Marks, equal: Equal
) -> list[AttributeChange]:
    found = []
    for key in sorted(set(before) | set(after)):
        inner = f"{path}.{key}" if path else key
        sub = marks.at(key)
        if key not in before and not _marked(sub.unknown):
            if _marked(sub.sensitive):
                found.append(AttributeChange(inner, ABSENT, SENSITIVE))
            elif after[key] is not None and not isinstance(after[key], (dict, list)):
                found.append(AttributeChange(inner, ABSENT, show(after[key])))
            else:
                found += leaf_changes(inner, None, after[key], sub, equal)
            continue
        found += leaf_changes(inner, before.get(key), after.get(key), sub, equal)
    return found


def _is_plain(items: list[Any]) -> bool:
    return all(not isinstance(i, (dict, list)) for i in items)


def _list_changes(
    path: str, before: list[Any], after: list[Any], marks: _Marks, equal: Equal
) -> list[AttributeChange]:
    if _is_plain(before) and _is_plain(after) and not _marked(marks.unknown):
        if _marked(marks.sensitive):
            return [AttributeChange(path, SENSITIVE, SENSITIVE)]
        return set_changes(path, before, after)
    found = []
    for index in range(max(len(before), len(after))):
        inner = f"{path}[{index}]"
        if index >= len(before):
            found.append(AttributeChange(inner, "", show(after[index]), "added"))
        elif index >= len(after):
            found.append(AttributeChange(inner, show(before[index]), "", "removed"))
        else:
            found += leaf_changes(inner, before[index], after[index], marks.at(index), equal)
    return found


def set_changes(path: str, before: list[Any], after: list[Any]) -> list[AttributeChange]:
    """Plain values compared as a set: each removed, each added; or the order, if only it
    changed."""
    removed = [v for v in before if v not in after]
    added = [v for v in after if v not in before]
    if not removed and not added:
        if before == after:
            return []
        return [AttributeChange(f"{path} (order)", show(before), show(after))]
    return [AttributeChange(path, show(v), "", "removed") for v in removed] + [
        AttributeChange(path, "", show(v), "added") for v in added
    ]


# ---- policy documents ------------------------------------------------------------------------
def _is_policy(document: Any) -> bool:
    return isinstance(document, dict) and "Statement" in document


def _statements(document: Any) -> list[dict[str, Any]]:
    if not isinstance(document, dict):
        return []
    found = document.get("Statement") or []
    return [found] if isinstance(found, dict) else [s for s in found if isinstance(s, dict)]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _matched(
    before: list[dict[str, Any]], after: list[dict[str, Any]]
) -> list[tuple[str, dict[str, Any] | None, dict[str, Any] | None]]:
    """(label, before, after) of each statement: matched by Sid, else by position among the
    statements without one."""
    by_sid = {s["Sid"]: s for s in after if s.get("Sid")}
    unnamed_after = [s for s in after if not s.get("Sid")]
    pairs: list[tuple[str, dict[str, Any] | None, dict[str, Any] | None]] = []
    unnamed_before = []
    for statement in before:
        sid = statement.get("Sid")
        if sid:
            pairs.append((sid, statement, by_sid.pop(sid, None)))
        else:
            unnamed_before.append(statement)
    for index in range(max(len(unnamed_before), len(unnamed_after))):
        old = unnamed_before[index] if index < len(unnamed_before) else None
        new = unnamed_after[index] if index < len(unnamed_after) else None
        pairs.append((str(index), old, new))
    pairs += [(sid, None, statement) for sid, statement in by_sid.items()]
    return pairs


def policy_changes(
    path: str, before: Any, after: Any, equal: Equal = _equal
) -> list[AttributeChange]:
    """A policy document's changes, statement by statement."""
    found = []
    others = {k: v for k, v in (before or {}).items() if k != "Statement"}
    others_after = {k: v for k, v in (after or {}).items() if k != "Statement"}
    found += _dict_changes(path, others, others_after, _Marks(), equal)
    for label, old, new in _matched(_statements(before), _statements(after)):
        at = f"{path}.Statement[{label}]"
        if old is None and new is not None:
            found.append(AttributeChange(at, "", show(new), "added"))
        elif new is None and old is not None:
            found.append(AttributeChange(at, show(old), "", "removed"))
        elif old is not None and new is not None and not equal(old, new):
            found += _statement_changes(at, old, new, equal)
    return found


def _statement_changes(
    at: str, old: dict[str, Any], new: dict[str, Any], equal: Equal
) -> list[AttributeChange]:
    found = []
    for key in sorted(set(old) | set(new)):
        if key in _STATEMENT_SETS:
            found += set_changes(f"{at}.{key}", _as_list(old.get(key)), _as_list(new.get(key)))
        elif key == "Principal" and _both(old.get(key), new.get(key), dict):
            old_principal, new_principal = old.get(key) or {}, new.get(key) or {}
            for kind in sorted(set(old_principal) | set(new_principal)):
                found += set_changes(
                    f"{at}.Principal.{kind}",
                    _as_list(old_principal.get(kind)),
                    _as_list(new_principal.get(kind)),
                )
        else:
            found += leaf_changes(f"{at}.{key}", old.get(key), new.get(key), _Marks(), equal)
    return found


def resource_leaf_changes(
    change: dict[str, Any],
    *,
    equal: Equal = _equal,
    considered: set[str] | None = None,
) -> tuple[AttributeChange, ...]:
    """Every changed leaf of one resource's planned change (`terraform show -json`'s `change`:
    before, after, after_unknown, before_sensitive, after_sensitive), limited to the top-level
    attributes `considered` if named. `tags_all` (the provider's merge of tags and the default
    tags) is left out where `tags` changed: tags alone says it."""
    before = dict(change.get("before") or {})
    after = dict(change.get("after") or {})
    unknown = change.get("after_unknown") or {}
    for key in unknown if isinstance(unknown, dict) else {}:
        after.setdefault(key, None)
    if considered is not None:
        before, after = _only(before, considered), _only(after, considered)
    sensitive = _merge_marks(change.get("before_sensitive"), change.get("after_sensitive"))
    return _without_tags_all(_dict_changes("", before, after, _Marks(sensitive, unknown), equal))


def _only(values: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k in keys}


def _under(change: AttributeChange, attribute: str) -> bool:
    return change.name == attribute or change.name.startswith(attribute + ".")


def _without_tags_all(found: list[AttributeChange]) -> tuple[AttributeChange, ...]:
    if any(_under(a, "tags") for a in found):
        return tuple(a for a in found if not _under(a, "tags_all"))
    return tuple(found)


def _merge_marks(a: Any, b: Any) -> Any:
    """Sensitive where either side marks it."""
    if a is True or b is True:
        return True
    if isinstance(a, dict) or isinstance(b, dict):
        a, b = a if isinstance(a, dict) else {}, b if isinstance(b, dict) else {}
        return {k: _merge_marks(a.get(k), b.get(k)) for k in set(a) | set(b)}
    if isinstance(a, list) or isinstance(b, list):
        return _merge_lists(a if isinstance(a, list) else [], b if isinstance(b, list) else [])
    return bool(a or b)


def _merge_lists(a: list[Any], b: list[Any]) -> list[Any]:
    return [
        _merge_marks(a[i] if i < len(a) else None, b[i] if i < len(b) else None)
        for i in range(max(len(a), len(b)))
    ]
