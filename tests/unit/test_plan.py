"""The plan loader: every shape of valid plan, every rule at its exact line, hostile files."""

from __future__ import annotations

import hashlib
import os
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from runner import plan as plan_module
from runner.errors import PlanError, PlanProblem
from runner.model import DiscoverAll, Plan, Target
from runner.plan import describe, load_plan

DATA = Path(__file__).resolve().parent.parent / "data" / "plans"

FED_A = "5d1113b25a115342acc2d1aa"
FED_B = "6e2224c36b226453bdd3e2bb"
IDP_1 = "32b6e34b3d91647abb20e7b8"
IDP_2 = "32b6e34b3d91647abb20e7b9"
IDP_3 = "32b6e34b3d91647abb20e7ba"


def write(tmp_path: Path, text: str, name: str = "plan.yaml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def load(tmp_path: Path, text: str, **kwargs: int) -> Plan:
    return load_plan(write(tmp_path, text), **kwargs)


def problems(tmp_path: Path, text: str, **kwargs: int) -> list[str]:
    """The problems of an invalid plan as ``LINE: message`` (the path checked and removed)."""
    path = write(tmp_path, text)
    with pytest.raises(PlanError) as caught:
        load_plan(path, **kwargs)
    out = []
    for p in caught.value.problems:
        assert p.path == path
        out.append(f"{p.line}: {p.message}")
    assert str(caught.value) == "\n".join(str(p) for p in caught.value.problems)
    return out


def one_problem(tmp_path: Path, text: str, **kwargs: int) -> str:
    found = problems(tmp_path, text, **kwargs)
    assert len(found) == 1, found
    return found[0]


def plan_with_target(target: str) -> str:
    """A valid plan around one target given as the YAML of its mapping (lines 3 on)."""
    body = textwrap.indent(textwrap.dedent(target).strip(), "    ")
    return "version: 1\ntargets:\n  -\n" + body + "\n"


# --- valid plans ---------------------------------------------------------------------------


def test_the_spec_example_loads_entries_settings_and_sha256() -> None:
    path = str(DATA / "spec_example.yaml")
    plan = load_plan(path)
    assert plan.path == path
    assert plan.sha256 == hashlib.sha256(Path(path).read_bytes()).hexdigest()
    assert plan.entries == (
        Target(FED_A, IDP_1, "okta-prod"),
        Target(FED_A, IDP_2, None),
        Target(FED_A, IDP_3, None),
        DiscoverAll(FED_B, None, 14),
    )
    assert [e.line for e in plan.entries] == [9, 13, 13, 14]
    assert plan.settings == {
        "concurrency": 8,
        "rate": 5,
        "max_attempts": 5,
        "timeout": 30,
        "api_version": "2023-11-15",
    }
    assert isinstance(plan.settings["concurrency"], int)
    assert isinstance(plan.settings["rate"], float)
    assert isinstance(plan.settings["timeout"], float)
    assert plan.warnings == ()
    assert plan.needs_discovery


def test_minimal_plan_has_no_settings(tmp_path: Path) -> None:
    plan = load(
        tmp_path,
        f"""\
        version: 1
        targets:
          - federationSettingsId: {FED_A}
            identityProviderId: {IDP_1}
        """,
    )
    assert plan.entries == (Target(FED_A, IDP_1),)
    assert plan.entries[0].line == 3
    assert plan.settings == {}
    assert not plan.needs_discovery


def test_only_the_settings_present_are_returned(tmp_path: Path) -> None:
    plan = load(
        tmp_path,
        f"""\
        version: 1
        settings:
          rate: 0
          timeout: 0.5
          apiVersion: 2024-08-05
        targets:
          - {{federationSettingsId: {FED_A}, identityProviderId: {IDP_1}}}
        """,
    )
    # An unquoted date is its text, never a datetime.date.
    assert plan.settings == {"rate": 0.0, "timeout": 0.5, "api_version": "2024-08-05"}
    assert type(plan.settings["api_version"]) is str


def test_empty_settings_mean_none(tmp_path: Path) -> None:
    plan = load(
        tmp_path,
        f"""\
        version: 1
        settings:
        targets:
          - {{federationSettingsId: {FED_A}, identityProviderId: {IDP_1}}}
        """,
    )
    assert plan.settings == {}


def test_unquoted_all_digit_ids_are_their_text(tmp_path: Path) -> None:
    plan = load(
        tmp_path,
        """\
        version: 1
        targets:
          - federationSettingsId: 012345678901234567890123
            identityProviderId: 123456789012345678901234
          - federationSettingsId: 012345678901234567890123
            identityProviderIds: [000000000000000000000001, 100000000000000000000000]
        """,
    )
    assert [t.key for t in plan.explicit_targets()] == [
        ("012345678901234567890123", "123456789012345678901234"),
        ("012345678901234567890123", "000000000000000000000001"),
        ("012345678901234567890123", "100000000000000000000000"),
    ]


def test_identity_provider_ids_expand_with_the_line_of_each_id(tmp_path: Path) -> None:
    plan = load(
        tmp_path,
        f"""\
        version: 1
        targets:
          - federationSettingsId: {FED_A}
            label: batch
            identityProviderIds:
              - {IDP_1}
              - "{IDP_2}"
              - '{IDP_3}'
        """,
    )
    assert plan.entries == (
        Target(FED_A, IDP_1, "batch"),
        Target(FED_A, IDP_2, "batch"),
        Target(FED_A, IDP_3, "batch"),
    )
    assert [e.line for e in plan.entries] == [6, 7, 8]


def test_labels_are_text_or_null(tmp_path: Path) -> None:
    plan = load(
        tmp_path,
        f"""\
        version: 1
        targets:
          - {{federationSettingsId: {FED_A}, identityProviderId: {IDP_1}, label: null}}
          - {{federationSettingsId: {FED_A}, identityProviderId: {IDP_2}, label: "null"}}
          - {{federationSettingsId: {FED_A}, identityProviderId: {IDP_3}, label: 42}}
          - {{federationSettingsId: {FED_B}, identityProviderId: {IDP_1}, label: }}
          - federationSettingsId: {FED_B}
            identityProviderId: {IDP_2}
            label: okta prod  # a comment is not part of it
        """,
    )
    assert [e.label for e in plan.entries] == [None, "null", "42", None, "okta prod"]


def test_discovery_entries_keep_their_place_and_label(tmp_path: Path) -> None:
    plan = load(
        tmp_path,
        f"""\
        version: 1
        targets:
          - federationSettingsId: {FED_B}
            identityProviders: all
            label: everything
          - federationSettingsId: {FED_A}
            identityProviderId: {IDP_1}
          - federationSettingsId: {FED_A}
            identityProviders: "all"
        """,
    )
    assert plan.entries == (
        DiscoverAll(FED_B, "everything", 3),
        Target(FED_A, IDP_1),
        DiscoverAll(FED_A, None, 8),
    )


def test_byte_order_mark_and_crlf_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    text = f"version: 1\r\ntargets:\r\n  - federationSettingsId: {FED_A}\r\n"
    text += f"    identityProviderId: {IDP_1}\r\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    plan = load_plan(str(path))
    assert plan.entries == (Target(FED_A, IDP_1),)
    assert plan.entries[0].line == 3
    assert plan.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_path_is_used_verbatim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "version: 2\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PlanError) as caught:
        load_plan("./plan.yaml")
    assert str(caught.value).startswith("./plan.yaml:1: unsupported plan version 2")


# --- duplicates ----------------------------------------------------------------------------


def test_a_pair_listed_twice_is_kept_once_with_its_first_label(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""\
        version: 1
        targets:
          - federationSettingsId: {FED_A}
            identityProviderId: {IDP_1}
            label: first
          - federationSettingsId: {FED_A}
            identityProviderIds: [{IDP_2}, {IDP_1}]
            label: second
          - federationSettingsId: {FED_B}
            identityProviderId: {IDP_1}
          - federationSettingsId: {FED_A}
            identityProviderIds:
              - {IDP_2}
        """,
    )
    plan = load_plan(path)
    assert plan.entries == (
        Target(FED_A, IDP_1, "first"),
        Target(FED_A, IDP_2, "second"),
        Target(FED_B, IDP_1),
    )
    assert plan.warnings == (
        f"{path}:7: {FED_A}/{IDP_1} is listed more than once (first at line 3); "
        "it is revoked once, at its first position",
        f"{path}:13: {FED_A}/{IDP_2} is listed more than once (first at line 7); "
        "it is revoked once, at its first position",
    )
    assert describe(plan).endswith("in 2 federations; 2 duplicates dropped")


def test_a_federation_discovered_twice_is_discovered_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""\
        version: 1
        targets:
          - {{federationSettingsId: {FED_A}, identityProviders: all, label: one}}
          - {{federationSettingsId: {FED_A}, identityProviders: all, label: two}}
        """,
    )
    plan = load_plan(path)
    assert plan.entries == (DiscoverAll(FED_A, "one", 3),)
    assert len(plan.warnings) == 1
    assert plan.warnings[0].startswith(f"{path}:4: federation {FED_A} is already listed")
    assert "at line 3" in plan.warnings[0]


# --- the rules, with their lines -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("targets: []\n", "1: missing key 'version'"),
        ("version: 2\n", "1: unsupported plan version 2: this runner reads 1"),
        ('version: "1"\n', "1: version must be the number 1, not the text '1'"),
        ("version: true\n", "1: version must be the number 1, not the boolean true"),
        ("version: 1.0\n", "1: version must be the number 1, not '1.0'"),
        ("version:\n", "1: version must be the number 1, not nothing"),
    ],
)
def test_version_must_be_the_number_1(tmp_path: Path, text: str, expected: str) -> None:
    body = f"{text}targets:\n  - {{federationSettingsId: {FED_A}, identityProviderId: {IDP_1}}}\n"
    if text.startswith("targets"):
        body = text
    found = problems(tmp_path, body)
    assert any(p.startswith(expected) for p in found), found


@pytest.mark.parametrize(
    ("targets", "expected"),
    [
        ("", "1: missing key 'targets' (the list of targets to revoke)"),
        ("targets: []\n", "2: targets is empty: a plan revokes at least one target"),
        ("targets:\n", "2: targets must be a list of targets, not nothing"),
        ("targets: {a: 1}\n", "2: targets must be a list of targets, not a mapping"),
        (
            "targets:\n  - just-text\n",
            "3: a target must be a mapping with 'federationSettingsId' and one of "
            "'identityProviderId', 'identityProviderIds' or 'identityProviders: all', "
            "not 'just-text'",
        ),
    ],
)
def test_targets_must_be_a_non_empty_list_of_mappings(
    tmp_path: Path, targets: str, expected: str
) -> None:
    assert one_problem(tmp_path, "version: 1\n" + targets) == expected


def test_the_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    assert one_problem(tmp_path, "- version: 1\n") == (
        "1: the plan must be a mapping with 'version' and 'targets', not a list"
    )


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (f"identityProviderId: {IDP_1}", "4: target has no 'federationSettingsId'"),
        (
            f"federationSettingsId: {FED_A}\nlabel: x",
            "4: target needs one of 'identityProviderId', 'identityProviderIds' or "
            "'identityProviders: all'",
        ),
        (
            f"federationSettingsId: {FED_A}\nidentityProviderId: {IDP_1}\n"
            f"identityProviderIds: [{IDP_2}]",
            "6: target has both 'identityProviderId' and 'identityProviderIds': give exactly one",
        ),
        (
            f"federationSettingsId: {FED_A}\nidentityProviders: all\nidentityProviderId: {IDP_1}",
            "6: target has both 'identityProviders' and 'identityProviderId': give exactly one",
        ),
        (
            f"federationSettingsId: {FED_A}\nidentityProviders: some",
            "5: 'identityProviders' can only be 'all', not 'some' "
            "(to list IdPs, use 'identityProviderIds')",
        ),
        (
            f"federationSettingsId: {FED_A}\nidentityProviderIds: []",
            "5: 'identityProviderIds' is empty: list at least one id",
        ),
        (
            f"federationSettingsId: {FED_A}\nidentityProviderIds: {IDP_1}",
            f"5: 'identityProviderIds' must be a list of ids, not '{IDP_1}' "
            "(for one id, use 'identityProviderId')",
        ),
        (
            f"federationSettingsId: {FED_A}\nidentityProviderId: {IDP_1}\nlabel: [a]",
            "6: label must be text, not a list",
        ),
        (
            f"federationSettingsId: {FED_A}\nidentityProviderId: {IDP_1}\nlable: x",
            "6: unknown key 'lable' (did you mean 'label'?)",
        ),
        (
            f"federationSettingsId: {FED_A}\nidentityProviderId: {IDP_1}\n"
            f"identityProviderId: {IDP_2}",
            "6: duplicate key 'identityProviderId' (first at line 5)",
        ),
    ],
)
def test_target_rules(tmp_path: Path, target: str, expected: str) -> None:
    assert one_problem(tmp_path, plan_with_target(target)) == expected


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("32B6E34B3D91647ABB20E7B8", "'32B6E34B3D91647ABB20E7B8'"),
        ("32b6e34b3d91647abb20e7b", "'32b6e34b3d91647abb20e7b'"),
        ("32b6e34b3d91647abb20e7b8a", "'32b6e34b3d91647abb20e7b8a'"),
        ("32b6e34b3d91647abb20e7g8", "'32b6e34b3d91647abb20e7g8'"),
        ('"32b6e34b3d91647abb20e7b8 "', "the text '32b6e34b3d91647abb20e7b8 '"),
        (
            "１２３４５６７８９０１２３４５６７８９０１２３４",
            "'１２３４５６７８９０１２３４５６７８９０１２３４'",
        ),
        ("", "nothing"),
        ("~", "null (~)"),
        ("[a]", "a list"),
    ],
)
def test_ids_are_exactly_24_lowercase_hex(tmp_path: Path, value: str, shown: str) -> None:
    target = f"federationSettingsId: {value}\nidentityProviderId: {IDP_1}"
    assert one_problem(tmp_path, plan_with_target(target)) == (
        f"4: federationSettingsId must be 24 lowercase hex characters, not {shown}"
    )
    target = f"federationSettingsId: {FED_A}\nidentityProviderIds:\n  - {IDP_1}\n  - {value}"
    assert one_problem(tmp_path, plan_with_target(target)) == (
        f"7: each of 'identityProviderIds' must be 24 lowercase hex characters, not {shown}"
    )


def test_an_id_with_a_trailing_newline_is_refused(tmp_path: Path) -> None:
    target = f"federationSettingsId: {FED_A}\nidentityProviderId: |\n  {IDP_1}"
    assert one_problem(tmp_path, plan_with_target(target)).startswith(
        "5: identityProviderId must be 24 lowercase hex characters, not the text"
    )


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("concurrency: 0", "settings.concurrency must be between 1 and 1024, not 0"),
        ("concurrency: 1025", "settings.concurrency must be between 1 and 1024, not 1025"),
        ("concurrency: 2.5", "settings.concurrency must be a whole number, not 2.5"),
        ('concurrency: "8"', "settings.concurrency must be a whole number, not the text '8'"),
        ("concurrency: true", "settings.concurrency must be a whole number, not the boolean true"),
        ("rate: -1", "settings.rate must be at least 0, not -1"),
        ("rate: .nan", "settings.rate must be a number, not '.nan'"),
        ("rate: 1e999", "settings.rate must be at least 0, not 1e999"),
        ("rate: off", "settings.rate must be a number, not the boolean off"),
        ("maxAttempts: 101", "settings.maxAttempts must be between 1 and 100, not 101"),
        ("maxAttempts: 0", "settings.maxAttempts must be between 1 and 100, not 0"),
        ("timeout: 0", "settings.timeout must be more than 0 and at most 3600, not 0"),
        ("timeout: 3601", "settings.timeout must be more than 0 and at most 3600, not 3601"),
        ("timeout: [1]", "settings.timeout must be a number, not a list"),
        (
            "concurrency: " + "9" * 40,
            "settings.concurrency is out of range",
        ),
        (
            "apiVersion: 2023-11",
            "settings.apiVersion must be a date like 2023-11-15, not '2023-11'",
        ),
        ("maxAttempt: 3", "unknown key 'maxAttempt' (did you mean 'maxAttempts'?)"),
        ("Timeout: 3", "unknown key 'Timeout' (did you mean 'timeout'?)"),
    ],
)
def test_settings_rules(tmp_path: Path, setting: str, expected: str) -> None:
    text = f"version: 1\nsettings:\n  {setting}\ntargets: [{{federationSettingsId: {FED_A}, "
    text += f"identityProviderId: {IDP_1}}}]\n"
    assert one_problem(tmp_path, text) == f"3: {expected}"


def test_boundary_settings_are_accepted(tmp_path: Path) -> None:
    plan = load(
        tmp_path,
        f"""\
        version: 1
        settings: {{concurrency: 1024, rate: 0.25, maxAttempts: 100, timeout: 3600}}
        targets: [{{federationSettingsId: {FED_A}, identityProviderId: {IDP_1}}}]
        """,
    )
    assert plan.settings == {
        "concurrency": 1024,
        "rate": 0.25,
        "max_attempts": 100,
        "timeout": 3600.0,
    }


def test_settings_must_be_a_mapping(tmp_path: Path) -> None:
    text = f"version: 1\nsettings: [1]\ntargets: [{{federationSettingsId: {FED_A}, "
    text += f"identityProviderId: {IDP_1}}}]\n"
    assert one_problem(tmp_path, text) == "2: settings must be a mapping, not a list"


def test_unknown_top_level_key_and_duplicate_key_at_second_occurrence(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        f"""\
        version: 1
        target:
          - {{federationSettingsId: {FED_A}, identityProviderId: {IDP_1}}}
        targets:
          - {{federationSettingsId: {FED_A}, identityProviderId: {IDP_1}}}
        targets:
          - {{federationSettingsId: {FED_B}, identityProviderId: {IDP_1}}}
        """,
    )
    assert found == [
        "2: unknown key 'target' (did you mean 'targets'?)",
        "6: duplicate key 'targets' (first at line 4)",
    ]


def test_a_key_far_from_any_known_one_lists_the_known_ones(tmp_path: Path) -> None:
    text = "version: 1\nzzz: 1\n"
    text += f"targets: [{{federationSettingsId: {FED_A}, identityProviderId: {IDP_1}}}]\n"
    assert one_problem(tmp_path, text) == (
        "2: unknown key 'zzz' (expected one of: version, settings, targets)"
    )


def test_a_misspelt_id_key_is_named_and_its_target_is_incomplete(tmp_path: Path) -> None:
    target = f"federationSettingsId: {FED_A}\nidentityProviderID: {IDP_1}"
    assert problems(tmp_path, plan_with_target(target)) == [
        "4: target needs one of 'identityProviderId', 'identityProviderIds' or "
        "'identityProviders: all'",
        "5: unknown key 'identityProviderID' (did you mean 'identityProviderId'?)",
    ]


def test_a_list_as_a_key_is_refused(tmp_path: Path) -> None:
    text = f"version: 1\n? [a]\n: b\ntargets: [{{federationSettingsId: {FED_A}, "
    text += f"identityProviderId: {IDP_1}}}]\n"
    assert one_problem(tmp_path, text) == "2: a key must be text, not a list or mapping"


def test_every_problem_of_a_file_is_reported_in_line_order(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        f"""\
        version: 1
        settings:
          concurrency: 0
          clientSecret: do-not-print
        targets:
          - federationSettingsId: {FED_A.upper()}
            identityProviderID: {IDP_1}
          - federationSettingsId: {FED_A}
            identityProviderId: {IDP_1}
            identityProviderId: {IDP_2}
          - identityProviders: all
          - federationSettingsId: {FED_B}
            identityProviderIds: [{IDP_1}, nope]
        """,
    )
    assert [p.split(":", 1)[0] for p in found] == ["3", "4", "6", "6", "7", "10", "11", "13"]
    assert found[0] == "3: settings.concurrency must be between 1 and 1024, not 0"
    assert found[1].startswith("4: key 'clientSecret' looks like a credential")
    assert found[2].startswith("6: federationSettingsId must be 24 lowercase hex")
    assert found[3].startswith("6: target needs one of")
    assert found[4].startswith("7: unknown key 'identityProviderID'")
    assert found[5] == "10: duplicate key 'identityProviderId' (first at line 9)"
    assert found[6] == "11: target has no 'federationSettingsId'"
    assert found[7].startswith("13: each of 'identityProviderIds' must be 24 lowercase hex")
    assert all("do-not-print" not in p for p in found)


# --- credentials ---------------------------------------------------------------------------

SECRET = "s3cr3t-V4LUE-that-must-never-be-printed"


@pytest.mark.parametrize(
    "key",
    [
        "clientSecret",
        "client_secret",
        "secret",
        "privateKey",
        "private_key",
        "PRIVATE-KEY",
        "password",
        "passwd",
        "token",
        "apiKey",
        "accessToken",
        "MONGODB_ATLAS_PRIVATE_API_KEY",
    ],
)
@pytest.mark.parametrize("where", ["top", "settings", "target", "nested"])
def test_credential_keys_are_refused_without_their_value(
    tmp_path: Path, key: str, where: str
) -> None:
    target = f"{{federationSettingsId: {FED_A}, identityProviderId: {IDP_1}}}"
    lines = {
        "top": [f"{key}: {SECRET}", "version: 1", f"targets: [{target}]"],
        "settings": ["version: 1", "settings:", f"  {key}: {SECRET}", f"targets: [{target}]"],
        "target": [
            "version: 1",
            "targets:",
            f"  - federationSettingsId: {FED_A}",
            f"    identityProviderId: {IDP_1}",
            f"    {key}: '{SECRET}'",
        ],
        "nested": [
            "version: 1",
            "extra:",
            "  - a:",
            f"      {key}: {SECRET}",
            f"targets: [{target}]",
        ],
    }[where]
    path = write(tmp_path, "\n".join(lines) + "\n")
    line = next(i for i, text in enumerate(lines, 1) if key in text)
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    assert SECRET not in str(caught.value)
    assert (
        PlanProblem(
            path,
            line,
            f"key '{key}' looks like a credential: credentials never go in a plan "
            "(set them in the environment); the plan is refused",
        )
        in caught.value.problems
    )


def test_a_credential_under_a_block_value_is_not_echoed(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        f"""\
        version: 1
        password: |
          {SECRET}
        targets: [{{federationSettingsId: {FED_A}, identityProviderId: {IDP_1}}}]
        """,
    )
    assert len(found) == 1
    assert found[0].startswith("2: key 'password' looks like a credential")
    assert SECRET not in found[0]


# --- file-level problems -------------------------------------------------------------------


def test_a_missing_file(tmp_path: Path) -> None:
    path = str(tmp_path / "nope.yaml")
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    assert caught.value.problems == [
        PlanProblem(path, None, "cannot read the plan file: no such file")
    ]
    assert str(caught.value) == f"{path}: cannot read the plan file: no such file"


def test_a_directory(tmp_path: Path) -> None:
    with pytest.raises(PlanError) as caught:
        load_plan(str(tmp_path))
    assert caught.value.problems == [
        PlanProblem(str(tmp_path), None, "is a directory, not a plan file")
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\n")
    os.chmod(path, 0)
    with pytest.raises(PlanError, match="permission denied"):
        load_plan(path)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_bytes(b"version: 1\ntargets:\n  - label: caf\xe9\n")
    with pytest.raises(PlanError) as caught:
        load_plan(str(path))
    assert caught.value.problems == [
        PlanProblem(str(path), 3, "not UTF-8 text: byte 0xe9 cannot be decoded")
    ]


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_an_empty_plan(tmp_path: Path, text: str) -> None:
    assert one_problem(tmp_path, text) == (
        "None: the plan is empty: it needs 'version: 1' and 'targets'"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: 1\ntargets: [\n", "3: YAML syntax error: did not find expected node content"),
        ("version: 1\n\ttargets: []\n", "2: YAML syntax error: found a tab character"),
        ("version: 1\na: 'x\n", "3: YAML syntax error: found unexpected end of stream"),
        (
            "version: 1\n x: 1\n",
            "2: YAML syntax error: mapping values are not allowed in this context",
        ),
        ("version: 1\nlabel: \x07\n", "2: YAML syntax error: U+0007 is not allowed in YAML text"),
    ],
)
def test_yaml_syntax_errors_carry_the_line_libyaml_reports(
    tmp_path: Path, text: str, expected: str
) -> None:
    found = one_problem(tmp_path, text)
    assert found.startswith(expected), found


def test_more_than_one_document_is_refused(tmp_path: Path) -> None:
    target = f"targets: [{{federationSettingsId: {FED_A}, identityProviderId: {IDP_1}}}]"
    assert one_problem(tmp_path, f"version: 1\n{target}\n---\nversion: 1\n{target}\n") == (
        "3: a second YAML document starts here; a plan is one document"
    )


def test_the_size_limit_is_checked_to_the_byte(tmp_path: Path) -> None:
    text = (
        f"version: 1\ntargets: [{{federationSettingsId: {FED_A}, identityProviderId: {IDP_1}}}]\n"
    )
    size = len(text.encode())
    assert load(tmp_path, text, max_bytes=size).entries == (Target(FED_A, IDP_1),)
    assert one_problem(tmp_path, text, max_bytes=size - 1) == (
        f"None: the plan file is {size:,} bytes; the limit is {size - 1:,} bytes"
    )


def test_the_size_limit_applies_to_what_is_not_a_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    pid = os.fork()
    if pid == 0:  # the writer: more than the limit, then gone
        try:
            with open(fifo, "wb") as f:
                f.write(b"#" * 5000)
        finally:
            os._exit(0)
    try:
        with pytest.raises(PlanError) as caught:
            load_plan(str(fifo), max_bytes=1000)
    finally:
        os.waitpid(pid, 0)
    assert [p.message for p in caught.value.problems] == [
        "the plan file is larger than the limit of 1,000 bytes"
    ]


def test_the_target_limit_counts_targets_after_expansion_and_dedupe(tmp_path: Path) -> None:
    text = f"""\
        version: 1
        targets:
          - federationSettingsId: {FED_A}
            identityProviderIds: [{IDP_1}, {IDP_2}, {IDP_1}]
          - federationSettingsId: {FED_B}
            identityProviders: all
          - federationSettingsId: {FED_A}
            identityProviderIds:
              - {IDP_2}
              - {IDP_3}
        """
    assert len(load(tmp_path, text, max_targets=3).explicit_targets()) == 3
    assert one_problem(tmp_path, text, max_targets=2) == (
        "10: more than 2 targets: the limit is 2 per plan"
    )


# --- hostile files -------------------------------------------------------------------------

BILLION_LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(9)
)


def _refused_quickly(path: str, bound: float = 5.0) -> PlanError:
    started = time.monotonic()
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    assert time.monotonic() - started < bound
    return caught.value


@pytest.fixture(params=["libyaml", "pure-python"])
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with libyaml's parser and again with PyYAML's own (used where libyaml is not)."""
    if request.param == "libyaml":
        if not hasattr(yaml, "CSafeLoader"):
            pytest.skip("PyYAML without libyaml")
        monkeypatch.setattr(plan_module, "_LOADER", yaml.CSafeLoader)
    else:
        monkeypatch.setattr(plan_module, "_LOADER", yaml.SafeLoader)
    return str(request.param)


def test_the_default_loader_is_libyaml_when_available() -> None:
    if hasattr(yaml, "CSafeLoader"):
        assert plan_module._LOADER is yaml.CSafeLoader


@pytest.mark.timeout(30)
def test_an_alias_bomb_is_refused_at_its_first_anchor(tmp_path: Path, loader: str) -> None:
    error = _refused_quickly(write(tmp_path, BILLION_LAUGHS))
    assert error.problems[0] == PlanProblem(
        str(tmp_path / "plan.yaml"),
        1,
        "anchor &a is not allowed: a plan uses no anchors or aliases (& and *)",
    )
    assert sum("alias *" in p.message for p in error.problems) == 81


def test_an_alias_in_a_valid_looking_plan_is_refused(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        f"""\
        version: 1
        targets:
          - federationSettingsId: &fed {FED_A}
            identityProviderId: {IDP_1}
          - federationSettingsId: *fed
            identityProviderId: {IDP_2}
        """,
    )
    assert found == [
        "3: anchor &fed is not allowed: a plan uses no anchors or aliases (& and *)",
        "5: alias *fed is not allowed: a plan uses no anchors or aliases (& and *)",
    ]


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        "- " * 100_000 + "x\n",
        "version: 1\ntargets: " + "{a: " * 100_000,
        "version: 1\ntargets:\n" + "".join(" " * i + "- \n" for i in range(0, 3_000, 2)),
    ],
    ids=["flow-lists", "block-lists", "flow-mappings", "indented-lists"],
)
def test_deep_nesting_is_refused_quickly(tmp_path: Path, loader: str, text: str) -> None:
    error = _refused_quickly(write(tmp_path, text))
    assert len(error.problems) == 1
    message = error.problems[0].message
    assert "nested more than 64 levels deep" in message or "maximum nesting depth" in message


@pytest.mark.timeout(30)
def test_a_12_mib_file_is_refused_without_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with open(path, "wb") as f:
        f.write(b"version: 1\ntargets:\n")
        f.write(b"  - [" * (12 * 1024 * 1024 // 5))
    error = _refused_quickly(str(path), bound=2.0)
    assert [(p.line, p.message) for p in error.problems] == [
        (None, "the plan file is 12 MiB; the limit is 10 MiB")
    ]


def test_python_tags_never_construct_anything(tmp_path: Path, loader: str) -> None:
    marker = tmp_path / "constructed"
    text = f"!!python/object/apply:os.system ['touch {marker}']\n"
    found = problems(tmp_path, "version: 1\nx: " + text)
    assert "2: tag !!python/object/apply:os.system is not allowed: a plan uses no tags (!)" in found
    assert not marker.exists()


def test_every_tag_is_refused(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        f"""\
        version: !!int 1
        targets:
          - federationSettingsId: !!str {FED_A}
            identityProviderId: !custom {IDP_1}
        """,
    )
    assert [p for p in found if "tag" in p] == [
        "1: tag !!int is not allowed: a plan uses no tags (!)",
        "3: tag !!str is not allowed: a plan uses no tags (!)",
        "4: tag !custom is not allowed: a plan uses no tags (!)",
    ]


def test_the_pure_python_parser_reads_the_same_plan(tmp_path: Path, loader: str) -> None:
    plan = load_plan(str(DATA / "spec_example.yaml"))
    assert len(plan.entries) == 4
    assert plan.settings["api_version"] == "2023-11-15"


def test_reader_errors_have_the_right_line_with_either_parser(tmp_path: Path, loader: str) -> None:
    assert one_problem(tmp_path, "version: 1\nlabel: ééé\nx: \x00\n").startswith(
        "3: YAML syntax error: U+0000 is not allowed"
    )


# --- size and speed ------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_a_100000_target_plan_loads(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    lines = ["version: 1", "targets:"]
    for i in range(100_000):
        lines.append(f"  - federationSettingsId: {i % 40:024x}")
        lines.append(f"    identityProviderId: {i:024x}")
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size <= 10 * 1024 * 1024
    started = time.monotonic()
    plan = load_plan(str(path))
    elapsed = time.monotonic() - started
    assert len(plan.entries) == 100_000
    assert plan.entries[-1] == Target(f"{99_999 % 40:024x}", f"{99_999:024x}")
    assert plan.entries[-1].line == 200_001
    # Generous: about 2 s on a loaded 2-core machine.
    assert elapsed < 20


# --- describe ------------------------------------------------------------------------------


def test_describe(tmp_path: Path) -> None:
    plan = load_plan(str(DATA / "spec_example.yaml"))
    assert describe(plan) == (
        f"{DATA / 'spec_example.yaml'}: valid: 3 IdPs listed plus every OIDC IdP of "
        "1 federation (found at run time), in 2 federations"
    )
    single = load(
        tmp_path,
        f"version: 1\ntargets: [{{federationSettingsId: {FED_A}, identityProviderId: {IDP_1}}}]\n",
    )
    assert describe(single) == f"{tmp_path / 'plan.yaml'}: valid: 1 IdP listed, in 1 federation"
    discover = load(
        tmp_path,
        f"version: 1\ntargets: [{{federationSettingsId: {FED_A}, identityProviders: all}}]\n",
    )
    assert describe(discover) == (
        f"{tmp_path / 'plan.yaml'}: valid: every OIDC IdP of 1 federation (found at run time), "
        "in 1 federation"
    )
