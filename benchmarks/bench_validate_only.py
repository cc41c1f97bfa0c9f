"""How long ``validate`` takes on a typical indicator (no parsing): python benchmarks/bench_validate_only.py"""

from __future__ import annotations

import time

import orjson

from phalanx.stix._validate import validate

INDICATOR = orjson.loads(b"""{
  "type": "indicator", "spec_version": "2.1", "id": "indicator--33fe3b22-0201-47cf-85d0-97c02164528d",
  "created_by_ref": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff",
  "created": "2014-05-08T09:00:00.000Z", "modified": "2014-05-08T09:00:00.000Z",
  "name": "IP Address for known C2 channel", "description": "Test description C2 channel.",
  "indicator_types": ["malicious-activity"],
  "pattern": "[ipv4-addr:value = '10.0.0.0']", "pattern_type": "stix",
  "valid_from": "2014-05-08T09:00:00.000000Z", "confidence": 80, "labels": ["c2"],
  "object_marking_refs": ["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"],
  "kill_chain_phases": [{"kill_chain_name": "lockheed-martin-cyber-kill-chain", "phase_name": "delivery"}],
  "external_references": [{"source_name": "feed", "url": "https://example.com/c2/10.0.0.0"}]
}""")


def main(n: int = 200_000) -> None:
    for strict in (True, False):
        assert validate(INDICATOR, strict=strict) == [], validate(INDICATOR, strict=strict)
        start = time.perf_counter()
        for _ in range(n):
            validate(INDICATOR, strict=strict)
        per = (time.perf_counter() - start) / n
        print(f"validate(strict={strict}): {per * 1e6:.2f} µs per indicator, {1 / per:,.0f}/s")
    raw = orjson.dumps(INDICATOR)
    start = time.perf_counter()
    for _ in range(n):
        validate(orjson.loads(raw), strict=True)
    per = (time.perf_counter() - start) / n
    print(f"orjson.loads + validate: {per * 1e6:.2f} µs per indicator, {1 / per:,.0f}/s")


if __name__ == "__main__":
    main()
