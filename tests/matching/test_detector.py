"""The detector: the latest version of each indicator, what cannot be matched set aside with the reason."""

from __future__ import annotations

from typing import Any

from phalanx.matching._detector import Detector
from phalanx.matching._extract import Record
from phalanx.matching._kinds import KINDS
from tests.matching.test_matching import indicator


def hits(detector: Detector, kind: str, value: str, at: int = 1_790_000_000_000_000) -> list[str]:
    return sorted(m.indicator.id[:20] for m in detector.match([Record(1, KINDS[kind], value, "", at)]))


def ind(n: int, pattern: str, **extra: Any) -> dict[str, Any]:
    return indicator(n, pattern, **extra)


def test_patterns_it_cannot_match_are_set_aside_with_the_reason_and_the_rest_goes_on() -> None:
    detector = Detector()
    assert detector.offer(ind(1, "[ipv4-addr:value IN ('45.137.21.9', 5)]")) is False  # IN mixing types
    assert detector.offer(ind(2, "[ipv4-addr:value = '45.137.21.9'")) is False  # does not parse
    assert detector.offer(ind(3, "[ipv4-addr:value = '45.137.21.9']")) is True
    assert set(detector.refused) == {ind(1, "")["id"], ind(2, "")["id"]}
    assert "position" in detector.refused[ind(2, "")["id"]]
    assert hits(detector, "ipv4", "45.137.21.9") == [ind(3, "")["id"][:20]]
    # a later version that can be matched takes the place of one that could not
    assert detector.offer(ind(1, "[ipv4-addr:value = '45.137.21.8']", modified="2026-02-01T00:00:00.000Z"))
    assert ind(1, "")["id"] not in detector.refused and len(detector) == 2


def test_only_the_latest_version_counts_whatever_order_versions_arrive_in() -> None:
    detector = Detector()
    assert detector.offer(ind(1, "[domain-name:value = 'b.example']", modified="2026-03-01T00:00:00.000Z"))
    assert not detector.offer(ind(1, "[domain-name:value = 'a.example']", modified="2026-02-01T00:00:00.000Z"))
    assert hits(detector, "domain", "a.example") == [] and len(hits(detector, "domain", "b.example")) == 1
    assert detector.offer(ind(1, "[domain-name:value = 'b.example']", modified="2026-04-01T00:00:00.000Z",
                              revoked=True))
    assert hits(detector, "domain", "b.example") == [] and len(detector) == 0
    assert not detector.offer({"type": "malware", "id": "malware--1", "modified": "2026-01-01T00:00:00Z"})
    assert not detector.offer(ind(5, "rule x { condition: true }", pattern_type="yara"))


def test_a_plain_hash_meets_every_spelling_patterns_give_it() -> None:
    detector = Detector()
    digest = "a3cca2b2aa1e3b5b3b5aad99a8529074"
    detector.offer_many([ind(1, f"[file:hashes.MD5 = '{digest}']"), ind(2, f"[file:hashes.md5 = '{digest.upper()}']"),
                         ind(3, f"[file:hashes.'SHA-256' = '{digest}']")])
    assert len(hits(detector, "md5", digest)) == 2 and len(hits(detector, "md5", digest.upper())) == 2
