"""Properties of the plan loader on arbitrary input: a Plan or a PlanError, nothing else, fast."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.errors import PlanError
from runner.model import Target
from runner.plan import load_plan

FUZZ = settings(
    max_examples=300,
    deadline=5000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

_counter = itertools.count()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def check(folder: Path, data: bytes) -> None:
    """Load ``data``; it must give a Plan or a PlanError whose problems all point into the file."""
    path = folder / f"plan-{next(_counter)}.yaml"
    path.write_bytes(data)
    try:
        plan = load_plan(str(path))
    except PlanError as e:
        assert e.problems, "a PlanError without problems"
        text = data.decode("utf-8", "replace")
        # splitlines() knows more line breaks than YAML does: an upper bound for any line.
        last = len(text.splitlines()) + 1
        for p in e.problems:
            assert p.path == str(path)
            assert p.message
            assert p.line is None or 1 <= p.line <= last, (p, last)
    else:
        assert plan.entries
        assert len(plan.sha256) == 64
    finally:
        path.unlink()


@pytest.mark.timeout(120)
@FUZZ
@given(st.binary(max_size=2000))
def test_any_bytes(folder: Path, data: bytes) -> None:
    check(folder, data)


FED = "5d1113b25a115342acc2d1aa"
IDP = "32b6e34b3d91647abb20e7b8"
FRAGMENTS = [
    "version: 1",
    "version: 2",
    "settings:",
    "targets:",
    "- ",
    "  ",
    "    ",
    f"federationSettingsId: {FED}",
    f"identityProviderId: {IDP}",
    f"identityProviderIds: [{IDP}, {IDP}]",
    "identityProviderIds:",
    f"- {IDP}",
    "identityProviders: all",
    "label: x",
    "label:",
    "concurrency: 8",
    "rate: 0",
    "timeout: -1",
    "apiVersion: 2023-11-15",
    "clientSecret: hunter2",
    "&a ",
    "*a",
    "!!python/object:os.system ",
    "---",
    "...",
    "? ",
    ": ",
    "[",
    "]",
    "{",
    "}",
    ", ",
    "'",
    '"',
    "|",
    ">",
    "#",
    "\t",
    "\n",
    "%YAML 1.1",
    "~",
    "null",
    "true",
    "0x1",
    "1e3",
    "\x00",
    "é",
    "\ufeff",
]


@pytest.mark.timeout(120)
@FUZZ
@given(st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=5), max_size=60))
def test_yaml_ish_text(folder: Path, parts: list[str]) -> None:
    check(folder, "".join(parts).encode("utf-8", "surrogatepass"))


@pytest.mark.timeout(120)
@FUZZ
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("\n".join))
def test_yaml_ish_lines(folder: Path, text: str) -> None:
    check(folder, text.encode())


# What YAML allows raw inside double quotes without folding it (no controls, no line separators).
LABEL_CHARS = st.characters(
    codec="utf-8",
    exclude_categories=["Cc", "Cs", "Zl", "Zp"],
    exclude_characters="\ufeff\ufffe\uffff",
)
hex24 = st.text("0123456789abcdef", min_size=24, max_size=24)


@pytest.mark.timeout(120)
@FUZZ
@given(
    st.lists(
        st.tuples(
            st.sampled_from([FED, "6e2224c36b226453bdd3e2bb"]),
            st.lists(st.sampled_from([IDP, "0" * 24, "1" * 24]) | hex24, min_size=1, max_size=3),
            st.none() | st.text(LABEL_CHARS, max_size=30),
            st.booleans(),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_generated_valid_plans_load_to_their_targets(
    folder: Path, targets: list[tuple[str, list[str], str | None, bool]]
) -> None:
    """A plan written from data loads back to that data, deduplicated, in order."""
    lines = ["version: 1", "targets:"]
    expected: dict[tuple[str, str], str | None] = {}
    for fed, idps, label, as_list in targets:
        # A JSON string is a YAML double-quoted scalar.
        lines.append(f"  - federationSettingsId: {fed}")
        if label is not None:
            lines.append(f"    label: {json.dumps(label, ensure_ascii=False)}")
        if as_list or len(idps) > 1:
            lines.append("    identityProviderIds:")
            lines.extend(f"      - {idp}" for idp in idps)
        else:
            lines.append(f"    identityProviderId: {idps[0]}")
        for idp in idps:
            expected.setdefault((fed, idp), label)
    path = folder / f"plan-{next(_counter)}.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        plan = load_plan(str(path))
    finally:
        path.unlink()
    assert [(t.key, t.label) for t in plan.explicit_targets()] == list(expected.items())
    assert all(isinstance(e, Target) for e in plan.entries)
    listed = sum(len(idps) for _, idps, _, _ in targets)
    assert len(plan.warnings) == listed - len(expected)


@pytest.mark.timeout(120)
@FUZZ
@given(
    st.sampled_from(["clientSecret", "private_key", "password", "apiKey", "accessToken"]),
    st.text("abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=12, max_size=40),
    st.integers(min_value=0, max_value=2),
)
def test_a_credential_value_never_appears_in_the_error(
    folder: Path, key: str, secret: str, where: int
) -> None:
    lines = [
        "version: 1",
        "targets:",
        f"  - federationSettingsId: {FED}",
        f"    identityProviderId: {IDP}",
    ]
    lines.insert([0, 1, 4][where], f"{'    ' if where == 2 else ''}{key}: {secret}")
    path = folder / f"plan-{next(_counter)}.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        with pytest.raises(PlanError) as caught:
            load_plan(str(path))
    finally:
        path.unlink()
    assert secret not in str(caught.value)
    assert any(key in p.message for p in caught.value.problems)
