"""The broken corpus (tests/stix/broken/cases.json): each case breaks exactly one rule of a valid object, and
validate() refuses it in strict mode with exactly that rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from phalanx.stix._validate import RULES, validate

BROKEN = Path(__file__).resolve().parent / "broken"
CASES: list[dict[str, Any]] = json.loads((BROKEN / "cases.json").read_text(encoding="utf-8"))
BASES: dict[str, dict[str, Any]] = json.loads((BROKEN / "valid-bases.json").read_text(encoding="utf-8"))

# Custom content is refused in strict mode only; tolerant mode accepts it with a warning.
CUSTOM_CONTENT_RULES = {"custom-property", "custom-type", "custom-extension"}


@pytest.mark.parametrize("name", sorted(BASES))
@pytest.mark.parametrize("strict", [True, False])
def test_base_object_is_clean(name: str, strict: bool) -> None:
    assert validate(BASES[name], strict=strict) == []


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_broken_case_is_refused_with_its_rule(case: dict[str, Any]) -> None:
    violations = validate(case["object"], strict=True)
    errors = {v.rule for v in violations if v.severity == "error"}
    assert errors == {case["rule"]}, [str(v) for v in violations]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_broken_case_in_tolerant_mode(case: dict[str, Any]) -> None:
    violations = validate(case["object"], strict=False)
    errors = {v.rule for v in violations if v.severity == "error"}
    if case["rule"] in CUSTOM_CONTENT_RULES:
        assert errors == set(), [str(v) for v in violations]
    else:
        assert errors == {case["rule"]}, [str(v) for v in violations]


def test_corpus_names_are_unique_and_rules_known() -> None:
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names))
    assert {c["rule"] for c in CASES} <= set(RULES)


def test_every_must_rule_has_a_broken_case() -> None:
    covered = {c["rule"] for c in CASES}
    # Rules that are only warnings, or that cannot be produced by one broken property of a valid object.
    not_errors = {"deprecated", "deterministic-id", "identifier-case", "open-vocab", "validator-bug",
                  }
    assert set(RULES) - not_errors - covered == set()
