"""The plan file: YAML bytes -> a validated ``Plan``, or ``PlanError`` with every problem found.

Why YAML events rather than ``yaml.safe_load`` or ``yaml.compose``:

- ids and ``apiVersion`` are the text written in the file: a constructed document would turn an
  unquoted all-digit id into an int and an unquoted ``2023-11-15`` into a date, and a scalar
  event's ``value`` is the source text;
- anchors, aliases and tags are refused as they are read, so nothing is ever expanded (a
  "billion laughs" file costs what its bytes cost) and no object is ever constructed;
- composing 100,000 targets (a 10 MB plan) into PyYAML nodes takes 7-10 s (node and mark
  objects for every scalar, and the garbage collector walking them again and again); reading
  the events into the small tree below and checking it takes about 2 s, half of it libyaml.

libyaml (``CSafeLoader``) refuses nesting deeper than 1000 levels itself; the tree is built with
an explicit stack, so even the pure-Python fallback parser cannot hit ``RecursionError``.
"""

from __future__ import annotations

import contextlib
import difflib
import gc
import hashlib
import math
import os
import re
import stat
from collections.abc import Iterable, Iterator
from typing import Any, Final

import yaml

from runner.errors import PlanError, PlanProblem
from runner.model import (
    API_VERSION_RE,
    HEX24,
    SETTINGS_KEYS,
    DiscoverAll,
    Plan,
    PlanEntry,
    Target,
)

__all__ = ["MAX_PLAN_BYTES", "MAX_TARGETS", "describe", "load_plan"]

MAX_PLAN_BYTES: Final = 10 * 1024 * 1024
MAX_TARGETS: Final = 100_000

# The C loader when PyYAML was built with libyaml: fast, and it caps nesting depth itself.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# A plan is four levels deep; anything far deeper is not a plan (and the pure-Python parser has
# no depth limit of its own).
_MAX_DEPTH: Final = 64

_TOP_KEYS: Final = ("version", "settings", "targets")
_FED: Final = "federationSettingsId"
_IDP: Final = "identityProviderId"
_IDPS: Final = "identityProviderIds"
_ALL: Final = "identityProviders"
_LABEL: Final = "label"
_TARGET_KEYS: Final = (_FED, _IDP, _IDPS, _ALL, _LABEL)
_TARGET_KEY_SET: Final = frozenset(_TARGET_KEYS)
_CHOICES: Final = (_IDP, _IDPS, _ALL)

# Matched against a key lowercased with everything but letters and digits removed, so
# client_secret, Client-Secret and clientSecret are all caught.
_CREDENTIAL_WORDS: Final = (
    "secret",
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "privatekey",
    "apikey",
    "token",
    "credential",
    "authorization",
    "bearer",
    "cookie",
)
_NOT_ALNUM: Final = re.compile(r"[^a-z0-9]+")

_NULLS: Final = frozenset({"", "~", "null", "Null", "NULL"})
_BOOLS: Final = frozenset(
    {
        *("yes", "Yes", "YES", "no", "No", "NO"),
        *("true", "True", "TRUE", "false", "False", "FALSE"),
        *("on", "On", "ON", "off", "Off", "OFF"),
    }
)
_INT_RE: Final = re.compile(r"[-+]?[0-9]+")
_FLOAT_RE: Final = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


# --- the tree read from YAML events ---------------------------------------------------------


class _Scalar:
    __slots__ = ("line", "plain", "value")

    def __init__(self, value: str, line: int, plain: bool) -> None:
        self.value = value
        self.line = line
        self.plain = plain


class _Seq:
    __slots__ = ("items", "line")

    def __init__(self, line: int) -> None:
        self.line = line
        self.items: list[_Node] = []


class _Map:
    """A mapping; ``entries`` keeps the first occurrence of each text key, in file order."""

    __slots__ = ("entries", "key", "key_line", "key_lines", "line", "want_key")

    def __init__(self, line: int) -> None:
        self.line = line
        self.entries: dict[str, _Node] = {}
        # Apart from ``entries`` because a dict of ints is no work for the garbage collector.
        self.key_lines: dict[str, int] = {}
        # Reading state: the key waiting for its value (None when the key is unusable).
        self.want_key = True
        self.key: str | None = None
        self.key_line = 0


class _Bad:
    """Stands for an alias: already reported, never followed."""

    __slots__ = ("line",)

    def __init__(self, line: int) -> None:
        self.line = line


_Node = _Scalar | _Seq | _Map | _Bad


class _Problems:
    def __init__(self, path: str) -> None:
        self.path = path
        self.items: list[PlanProblem] = []

    def add(self, line: int | None, message: str) -> None:
        self.items.append(PlanProblem(self.path, line, message))

    def wrong(self, node: _Node, message: str) -> None:
        """A value of the wrong kind; an alias was already reported where it was read."""
        if not isinstance(node, _Bad):
            self.add(node.line, message)

    def sorted(self) -> list[PlanProblem]:
        # Problems are found in two passes (reading, then checking); the reader wants file order.
        return sorted(self.items, key=lambda p: -1 if p.line is None else p.line)


# --- public API ------------------------------------------------------------------------------


def load_plan(
    path: str, *, max_bytes: int = MAX_PLAN_BYTES, max_targets: int = MAX_TARGETS
) -> Plan:
    """Read and check the plan at ``path``; raise ``PlanError`` listing every problem found.

    ``path`` is used verbatim in messages (``PLAN:LINE: message``). Explicit duplicate pairs are
    dropped (first position and label kept) with one warning each in ``Plan.warnings``.
    """
    problems = _Problems(path)
    data = _read_bytes(path, max_bytes, problems)
    text = _decode(data, problems) if data is not None else None
    if data is None or text is None:
        raise PlanError(problems.sorted())
    with _collector_paused():
        root = _read_tree(text, problems)
        if root is None:
            if not problems.items:
                problems.add(None, "the plan is empty: it needs 'version: 1' and 'targets'")
            raise PlanError(problems.sorted())
        entries, settings, warnings = _check_plan(root, problems, max_targets)
    if problems.items:
        raise PlanError(problems.sorted())
    return Plan(
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        entries=tuple(entries),
        settings=settings,
        warnings=tuple(warnings),
    )


def describe(plan: Plan) -> str:
    """The one-line summary ``revoke-runner validate`` prints."""
    listed = plan.explicit_targets()
    discover = [e for e in plan.entries if isinstance(e, DiscoverAll)]
    feds = {e.federation_settings_id for e in plan.entries}
    parts = [_count(len(listed), "IdP") + " listed"] if listed else []
    if discover:
        parts.append(f"every OIDC IdP of {_count(len(discover), 'federation')} (found at run time)")
    what = " plus ".join(parts)
    line = f"{plan.path}: valid: {what}, in {_count(len(feds), 'federation')}"
    if plan.warnings:
        line += f"; {_count(len(plan.warnings), 'duplicate')} dropped"
    return line


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while the plan is read.

    Reading makes hundreds of thousands of objects that all live until the Plan is built and
    that never form a cycle (aliases are refused; nodes do not point at their parents). The
    collector would walk them again and again as they pile up, for a third of the load time of
    a 100,000-target plan, and find nothing to free. Reference counting still frees everything.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# --- reading -----------------------------------------------------------------------------------


def _read_bytes(path: str, max_bytes: int, problems: _Problems) -> bytes | None:
    limit = _size(max_bytes)
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            if stat.S_ISDIR(st.st_mode):
                problems.add(None, "is a directory, not a plan file")
                return None
            # Refuse a large regular file before reading it; read at most one byte past the
            # limit from anything else (a pipe, a device) to know it is too large.
            if stat.S_ISREG(st.st_mode) and st.st_size > max_bytes:
                problems.add(None, f"the plan file is {_size(st.st_size)}; the limit is {limit}")
                return None
            data = f.read(max_bytes + 1)
    except FileNotFoundError:
        problems.add(None, "cannot read the plan file: no such file")
        return None
    except IsADirectoryError:
        problems.add(None, "is a directory, not a plan file")
        return None
    except PermissionError:
        problems.add(None, "cannot read the plan file: permission denied")
        return None
    except OSError as e:
        problems.add(None, f"cannot read the plan file: {e.strerror or type(e).__name__}")
        return None
    if len(data) > max_bytes:
        problems.add(None, f"the plan file is larger than the limit of {limit}")
        return None
    return data


def _decode(data: bytes, problems: _Problems) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        problems.add(line, f"not UTF-8 text: byte 0x{data[e.start]:02x} cannot be decoded")
        return None
    # A byte-order mark is allowed at the start of a YAML stream.
    return text[1:] if text.startswith("\ufeff") else text


def _read_tree(text: str, problems: _Problems) -> _Node | None:
    """The first YAML document as a tree; None after a syntax error or when there is none.

    Anchors, aliases, tags, non-text keys, duplicate keys and credential-looking keys are
    reported here, anywhere in the document.

    This loop runs once per YAML event (600,000 for a 100,000-target plan), hence the
    hand-inlined shape.
    """
    loader_class = _LOADER
    # The document's root goes into this list, so no step needs an "is there a parent" test.
    holder = _Seq(0)
    stack: list[_Seq | _Map] = [holder]
    top: _Seq | _Map = holder
    documents = 0
    scalar_event, alias_event = yaml.ScalarEvent, yaml.AliasEvent
    map_start, seq_start = yaml.MappingStartEvent, yaml.SequenceStartEvent
    map_end, seq_end = yaml.MappingEndEvent, yaml.SequenceEndEvent
    doc_start, stream_end = yaml.DocumentStartEvent, yaml.StreamEndEvent
    # Keys repeat on every target: judge each distinct key once.
    credential: dict[str, bool] = {}
    loader = None
    try:
        # The pure-Python loader checks the characters here already.
        loader = loader_class(text)
        while True:
            ev = loader.get_event()
            kind = type(ev)
            node: _Node
            if kind is scalar_event:
                if ev.anchor is not None or ev.tag is not None:
                    _refuse_decoration(ev, ev.start_mark.line + 1, problems)
                if isinstance(top, _Seq):
                    top.items.append(_Scalar(ev.value, ev.start_mark.line + 1, ev.implicit[0]))
                    continue
                if top.want_key:
                    # A text key: keep its text and line, no node.
                    top.want_key = False
                    key = ev.value
                    line = ev.start_mark.line + 1
                    refused = credential.get(key)
                    if refused is None:
                        refused = credential[key] = _is_credential(key)
                    if refused:
                        problems.add(line, _credential_message(key))
                        top.key = None
                    else:
                        top.key = key
                        top.key_line = line
                    continue
                # A text value: the commonest event of all, so attached right here.
                top.want_key = True
                pending = top.key
                if pending is None:
                    continue
                line = ev.start_mark.line + 1
                if pending in top.entries:
                    _duplicate(top, pending, problems)
                else:
                    top.entries[pending] = _Scalar(ev.value, line, ev.implicit[0])
                    top.key_lines[pending] = top.key_line
                continue
            elif kind is map_start or kind is seq_start:
                line = ev.start_mark.line + 1
                if ev.anchor is not None or ev.tag is not None:
                    _refuse_decoration(ev, line, problems)
                node = _Map(line) if kind is map_start else _Seq(line)
            elif kind is map_end or kind is seq_end:
                stack.pop()
                top = stack[-1]
                continue
            elif kind is alias_event:
                line = ev.start_mark.line + 1
                problems.add(
                    line,
                    f"alias *{_shorten(ev.anchor)} is not allowed: a plan uses no "
                    "anchors or aliases (& and *)",
                )
                node = _Bad(line)
            elif kind is doc_start:
                documents += 1
                if documents > 1:
                    problems.add(
                        ev.start_mark.line + 1,
                        "a second YAML document starts here; a plan is one document",
                    )
                    break
                continue
            elif kind is stream_end:
                break
            else:  # stream start, document end
                continue

            # A value (or a non-text key) for the mapping or list on top of the stack.
            if isinstance(top, _Seq):
                top.items.append(node)
            elif top.want_key:
                # A list, mapping or alias as a key (YAML's "? " syntax).
                top.want_key = False
                top.key = None
                if not isinstance(node, _Bad):
                    problems.add(node.line, "a key must be text, not a list or mapping")
            else:
                top.want_key = True
                pending = top.key
                if pending is not None:
                    if pending in top.entries:
                        _duplicate(top, pending, problems)
                    else:
                        top.entries[pending] = node
                        top.key_lines[pending] = top.key_line
            if isinstance(node, _Map | _Seq):
                stack.append(node)
                top = node
                if len(stack) > _MAX_DEPTH + 1:
                    # Stop here: the rest cannot be a plan, and the pure-Python scanner slows
                    # down with every level it has to track.
                    problems.add(
                        node.line, f"nested more than {_MAX_DEPTH} levels deep: not a plan"
                    )
                    return None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        message = f"YAML syntax error: {e.problem or e.context or 'invalid YAML'}"
        if e.context and e.problem:
            where = f" at line {e.context_mark.line + 1}" if e.context_mark is not None else ""
            message += f" ({e.context}{where})"
        problems.add(mark.line + 1 if mark is not None else None, message)
        return None
    except yaml.reader.ReaderError as e:
        line = _reader_error_line(
            text, e.position, counts_bytes=loader_class is not yaml.SafeLoader
        )
        problems.add(line, _reader_error_message(e))
        return None
    except yaml.YAMLError as e:
        problems.add(None, f"YAML syntax error ({type(e).__name__})")
        return None
    finally:
        if loader is not None:
            loader.dispose()
    return holder.items[0] if holder.items else None


def _duplicate(m: _Map, key: str, problems: _Problems) -> None:
    first = m.key_lines[key]
    problems.add(m.key_line, f"duplicate key {_show(key)} (first at line {first})")


def _credential_message(key: str) -> str:
    # Names the key, never its value.
    return (
        f"key {_show(key)} looks like a credential: credentials never go in a plan "
        "(set them in the environment); the plan is refused"
    )


def _refuse_decoration(ev: Any, line: int, problems: _Problems) -> None:
    if ev.anchor is not None:
        problems.add(
            line,
            f"anchor &{_shorten(ev.anchor)} is not allowed: a plan uses no anchors or "
            "aliases (& and *)",
        )
    if ev.tag is not None:
        tag = ev.tag.replace("tag:yaml.org,2002:", "!!", 1)
        problems.add(line, f"tag {_shorten(tag)} is not allowed: a plan uses no tags (!)")


def _reader_error_line(text: str, position: int, *, counts_bytes: bool) -> int:
    # libyaml counts UTF-8 bytes, the pure-Python reader characters.
    if counts_bytes:
        return text.encode("utf-8", "surrogatepass").count(b"\n", 0, position) + 1
    return text.count("\n", 0, position) + 1


def _reader_error_message(e: yaml.reader.ReaderError) -> str:
    char = e.character
    shown = f"U+{char:04X}" if isinstance(char, int) else "a character"
    return f"YAML syntax error: {shown} is not allowed in YAML text ({e.reason})"


def _is_credential(key: str) -> bool:
    flat = _NOT_ALNUM.sub("", key.lower())
    return any(word in flat for word in _CREDENTIAL_WORDS)


# --- checking --------------------------------------------------------------------------------


def _check_plan(
    root: _Node, problems: _Problems, max_targets: int
) -> tuple[list[PlanEntry], dict[str, Any], list[str]]:
    if not isinstance(root, _Map):
        problems.wrong(
            root,
            f"the plan must be a mapping with 'version' and 'targets', not {_kind(root)}",
        )
        return [], {}, []
    _check_keys(root, _TOP_KEYS, problems)
    _check_version(root, problems)
    settings = _check_settings(root, problems)
    entries, warnings = _check_targets(root, problems, max_targets)
    return entries, settings, warnings


def _check_keys(m: _Map, allowed: Iterable[str], problems: _Problems) -> None:
    allowed = tuple(allowed)
    for key in m.entries:
        if key not in allowed:
            problems.add(m.key_lines[key], f"unknown key {_show(key)}{_suggest(key, allowed)}")


def _suggest(key: str, allowed: tuple[str, ...]) -> str:
    if len(key) > 64:  # difflib is quadratic; a key that long is no typo
        return ""
    by_case = [a for a in allowed if a.lower() == key.lower()]
    close = by_case or difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f" (did you mean '{close[0]}'?)"
    return f" (expected one of: {', '.join(allowed)})"


def _check_version(root: _Map, problems: _Problems) -> None:
    node = root.entries.get("version")
    if node is None:
        problems.add(root.line, "missing key 'version' (this runner reads 'version: 1')")
        return
    if isinstance(node, _Scalar) and node.plain and _INT_RE.fullmatch(node.value):
        if len(node.value) < 20 and int(node.value) == 1:
            return
        problems.add(
            node.line, f"unsupported plan version {_shorten(node.value)}: this runner reads 1"
        )
        return
    problems.wrong(node, f"version must be the number 1, not {_kind(node)}")


def _check_settings(root: _Map, problems: _Problems) -> dict[str, Any]:
    node = root.entries.get("settings")
    if node is None:
        return {}
    if isinstance(node, _Scalar) and node.plain and node.value in _NULLS:
        return {}
    if not isinstance(node, _Map):
        problems.wrong(node, f"settings must be a mapping, not {_kind(node)}")
        return {}
    _check_keys(node, SETTINGS_KEYS.keys(), problems)
    out: dict[str, Any] = {}
    for key, field in SETTINGS_KEYS.items():
        entry = node.entries.get(key)
        if entry is None:
            continue
        value = _check_setting(key, entry, problems)
        if value is not None:
            out[field] = value
    return out


def _check_setting(key: str, node: _Node, problems: _Problems) -> int | float | str | None:
    if key == "apiVersion":
        if isinstance(node, _Scalar) and API_VERSION_RE.fullmatch(node.value):
            return node.value
        problems.wrong(
            node, f"settings.apiVersion must be a date like 2023-11-15, not {_kind(node)}"
        )
        return None
    if key == "concurrency":
        return _number(key, node, problems, whole=True, low=1, high=1024)
    if key == "maxAttempts":
        return _number(key, node, problems, whole=True, low=1, high=100)
    if key == "rate":
        return _number(key, node, problems, whole=False, low=0, high=None)
    if key == "timeout":
        return _number(key, node, problems, whole=False, low=0, high=3600, low_open=True)
    raise AssertionError(key)  # SETTINGS_KEYS gained a key this module does not check


def _number(
    key: str,
    node: _Node,
    problems: _Problems,
    *,
    whole: bool,
    low: float,
    high: float | None,
    low_open: bool = False,
) -> int | float | None:
    name = f"settings.{key}"
    wanted = "a whole number" if whole else "a number"
    text = node.value if isinstance(node, _Scalar) and node.plain else None
    if text is None or not _FLOAT_RE.fullmatch(text):
        problems.wrong(node, f"{name} must be {wanted}, not {_kind(node)}")
        return None
    if len(text) > 30:
        problems.add(node.line, f"{name} is out of range")
        return None
    if whole and not _INT_RE.fullmatch(text):
        problems.add(node.line, f"{name} must be {wanted}, not {text}")
        return None
    value: int | float = int(text) if whole else float(text)
    too_low = value <= low if low_open else value < low
    if not math.isfinite(value) or too_low or (high is not None and value > high):
        if high is None:
            bound = f"at least {low:g}"
        elif low_open:
            bound = f"more than {low:g} and at most {high:g}"
        else:
            bound = f"between {low:g} and {high:g}"
        problems.add(node.line, f"{name} must be {bound}, not {text}")
        return None
    return value


def _check_targets(
    root: _Map, problems: _Problems, max_targets: int
) -> tuple[list[PlanEntry], list[str]]:
    node = root.entries.get("targets")
    if node is None:
        problems.add(root.line, "missing key 'targets' (the list of targets to revoke)")
        return [], []
    if not isinstance(node, _Seq):
        problems.wrong(node, f"targets must be a list of targets, not {_kind(node)}")
        return [], []
    if not node.items:
        problems.add(node.line, "targets is empty: a plan revokes at least one target")
        return [], []

    path = problems.path
    entries: list[PlanEntry] = []
    warnings: list[str] = []
    first_line: dict[tuple[str, str], int] = {}
    first_all: dict[str, int] = {}
    explicit = 0

    def keep(fed: str, idp: str, label: str | None, line: int) -> None:
        nonlocal explicit
        pair = (fed, idp)
        first = first_line.get(pair)
        if first is not None:
            warnings.append(
                f"{path}:{line}: {fed}/{idp} is listed more than once (first at line "
                f"{first}); it is revoked once, at its first position"
            )
            return
        first_line[pair] = line
        explicit += 1
        if explicit == max_targets + 1:
            problems.add(
                line, f"more than {max_targets:,} targets: the limit is {max_targets:,} per plan"
            )
        entries.append(Target(fed, idp, label, line))

    hex24 = HEX24.fullmatch
    for item in node.items:
        if not isinstance(item, _Map):
            problems.wrong(
                item,
                f"a target must be a mapping with '{_FED}' and one of '{_IDP}', '{_IDPS}' or "
                f"'{_ALL}: all', not {_kind(item)}",
            )
            continue
        e = item.entries
        if not e.keys() <= _TARGET_KEY_SET:
            _check_keys(item, _TARGET_KEYS, problems)
        fed = _check_id(_FED, e.get(_FED), item, problems)
        label_node = e.get(_LABEL)
        label = None if label_node is None else _check_label(label_node, problems)
        one, many, every = e.get(_IDP), e.get(_IDPS), e.get(_ALL)
        if (one is not None) + (many is not None) + (every is not None) != 1:
            _check_choice(item, problems)

        if one is not None:
            if isinstance(one, _Scalar) and hex24(one.value):
                if fed is not None:
                    keep(fed, one.value, label, item.line)
            else:
                _check_id(_IDP, one, item, problems)
        if many is not None:
            for idp, line in _check_id_list(many, problems):
                if fed is not None:
                    keep(fed, idp, label, line)
        if every is not None:
            if not (isinstance(every, _Scalar) and every.value == "all"):
                problems.wrong(
                    every,
                    f"'{_ALL}' can only be 'all', not {_kind(every)} (to list IdPs, use '{_IDPS}')",
                )
            elif fed is None:
                pass
            elif fed in first_all:
                warnings.append(
                    f"{path}:{item.line}: federation {fed} is already listed with "
                    f"'{_ALL}: all' at line {first_all[fed]}; its IdPs are revoked once, "
                    "at that first position"
                )
            else:
                first_all[fed] = item.line
                entries.append(DiscoverAll(fed, label, item.line))
    return entries, warnings


def _check_choice(item: _Map, problems: _Problems) -> None:
    # In file order, so the one reported is the one written second.
    chosen = sorted((k for k in _CHOICES if k in item.entries), key=item.key_lines.__getitem__)
    if not chosen:
        problems.add(item.line, f"target needs one of '{_IDP}', '{_IDPS}' or '{_ALL}: all'")
    for extra in chosen[1:]:
        problems.add(
            item.key_lines[extra],
            f"target has both '{chosen[0]}' and '{extra}': give exactly one",
        )


def _check_id(key: str, node: _Node | None, item: _Map, problems: _Problems) -> str | None:
    if node is None:
        problems.add(item.line, f"target has no '{key}'")
        return None
    if isinstance(node, _Scalar) and HEX24.fullmatch(node.value):
        return node.value
    problems.wrong(node, f"{key} must be 24 lowercase hex characters, not {_kind(node)}")
    return None


def _check_id_list(node: _Node, problems: _Problems) -> list[tuple[str, int]]:
    if not isinstance(node, _Seq):
        problems.wrong(
            node,
            f"'{_IDPS}' must be a list of ids, not {_kind(node)} (for one id, use '{_IDP}')",
        )
        return []
    if not node.items:
        problems.add(node.line, f"'{_IDPS}' is empty: list at least one id")
        return []
    out: list[tuple[str, int]] = []
    hex24 = HEX24.fullmatch
    for item in node.items:
        if isinstance(item, _Scalar) and hex24(item.value):
            out.append((item.value, item.line))
        else:
            problems.wrong(
                item,
                f"each of '{_IDPS}' must be 24 lowercase hex characters, not {_kind(item)}",
            )
    return out


def _check_label(node: _Node | None, problems: _Problems) -> str | None:
    if node is None:
        return None
    if isinstance(node, _Scalar):
        if node.plain and node.value in _NULLS:
            return None
        return node.value
    problems.wrong(node, f"label must be text, not {_kind(node)}")
    return None


# --- wording ---------------------------------------------------------------------------------


def _kind(node: _Node) -> str:
    """What a node is, for messages: its text when it is a scalar, quoted when it was quoted."""
    if isinstance(node, _Map):
        return "a mapping"
    if isinstance(node, _Seq):
        return "a list"
    if isinstance(node, _Bad):
        return "an alias"
    if node.plain:
        if node.value in _NULLS:
            return "nothing" if node.value == "" else f"null ({node.value})"
        if node.value in _BOOLS:
            return f"the boolean {node.value}"
        return _show(node.value)
    return f"the text {_show(node.value)}" if node.value else "empty text"


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _show(text: str) -> str:
    short = _shorten(text)
    return f"'{short}'" if short.isprintable() else repr(short)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MiB".replace(".0 MiB", " MiB")
    return f"{n:,} bytes"
