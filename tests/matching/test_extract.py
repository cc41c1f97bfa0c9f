"""Extractors: observables out of real log formats, one record per observable, bad lines counted not fatal."""

from __future__ import annotations

import json

import pytest

from phalanx.errors import InvalidParameter
from phalanx.matching._extract import Stats, extractor, guess_format, micros_of, parse_fields
from phalanx.matching._kinds import KINDS, detect, kind_named, normalize


def lines(text: str) -> list[bytes]:
    return [line.encode() for line in text.splitlines()]


def found(fmt: str, text: str, fields: tuple[str, ...] = (), name: str = "") -> list[tuple[int, str, str, str]]:
    stats = Stats()
    return [(r.line, r.kind.name if r.kind else "-", r.value, r.field)
            for r in extractor(fmt, parse_fields(fields), name=name)(lines(text), stats)]


@pytest.mark.parametrize(("text", "kind"), [
    ("198.51.100.7", "ipv4"), ("2001:db8::1", "ipv6"), ("::1", "ipv6"), ("evil.example.com", "domain"),
    ("EVIL.Example.COM.", "domain"), ("xn--bcher-kva.example", "domain"), ("http://evil.example/a?b=c", "url"),
    ("hxxp://evil.example/", None), ("http://evil[.]example/", None), ("alice@example.org", "email"),
    ("d41d8cd98f00b204e9800998ecf8427e", "md5"), ("da39a3ee5e6b4b0d3255bfef95601890afd80709", "sha1"),
    ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256"),
    ("hello", None), ("1.2.3", None), ("999.1.1.1", None), ("", None), ("not a domain.com", None), ("exe.", None),
    ("198.51.100.0/24", None), ("-bad-.example", None),
])
def test_kinds_are_detected_conservatively(text: str, kind: str | None) -> None:
    detected = detect(text)
    assert (detected.name if detected else None) == kind


def test_values_are_normalized_the_way_patterns_are_written() -> None:
    assert normalize(KINDS["domain"], "EVIL.Example.COM.") == "evil.example.com"
    assert normalize(KINDS["ipv6"], "2001:0db8:0000::0001") == "2001:db8::1"
    assert normalize(KINDS["sha256"], " ABC ") == "ABC"
    assert kind_named("ip") is None and kind_named("domain-name") is KINDS["domain"]
    with pytest.raises(KeyError):
        kind_named("mac")


def test_json_lines_with_named_fields_and_without() -> None:
    text = "\n".join([
        json.dumps({"ts": 1700000000.5, "src": "10.0.0.1", "dst": {"ip": "198.51.100.7"}, "q": "evil.example"}),
        "not json",
        json.dumps({"ts": "2026-11-29T12:00:00Z", "src": "10.0.0.2", "dst": {"ip": "203.0.113.9"}, "n": 5}),
        "",
        json.dumps([1, 2]),
    ])
    assert found("jsonl", text, ("dst.ip=ipv4",)) == [(1, "ipv4", "198.51.100.7", "dst.ip"),
                                                      (3, "ipv4", "203.0.113.9", "dst.ip")]
    assert found("jsonl", text) == [(1, "ipv4", "10.0.0.1", "src"), (1, "ipv4", "198.51.100.7", "dst.ip"),
                                    (1, "domain", "evil.example", "q"), (3, "ipv4", "10.0.0.2", "src"),
                                    (3, "ipv4", "203.0.113.9", "dst.ip")]
    stats = Stats()
    records = list(extractor("jsonl")(lines(text), stats))
    assert records[0].time == 1_700_000_000_500_000 and records[3].time == micros_of("2026-11-29T12:00:00+00:00")
    assert (stats.lines, stats.unreadable, stats.records) == (5, 2, 5)
    assert stats.first_problem is not None and stats.first_problem.startswith("line 2: not JSON")


ZEEK_CONN = """#separator \\x09
#set_separator\t,
#empty_field\t(empty)
#unset_field\t-
#path\tconn
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto
#types\ttime\tstring\taddr\tport\taddr\tport\tenum
1700000000.000001\tC1\t10.0.0.5\t50000\t198.51.100.7\t443\ttcp
1700000001.000000\tC2\t10.0.0.5\t50001\t2001:db8::99\t80\ttcp
"""

ZEEK_DNS = """#separator \\x09
#path\tdns
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tquery\tanswers
1700000000.1\tC3\t10.0.0.5\t5353\t10.0.0.1\t53\tevil.example\t198.51.100.7,cname.evil.example
1700000000.2\tC4\t10.0.0.5\t5353\t10.0.0.1\t53\t-\t-
"""

ZEEK_HTTP = """#separator \\x09
#path\thttp
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\thost\turi\treferrer
1700000000.3\tC5\t10.0.0.5\t50002\t198.51.100.8\t80\tevil.example\t/gate.php?id=1\t-
"""


def test_zeek_conn_dns_and_http_logs() -> None:
    assert found("zeek", ZEEK_CONN) == [(8, "ipv4", "10.0.0.5", "id.orig_h"), (8, "ipv4", "198.51.100.7", "id.resp_h"),
                                        (9, "ipv4", "10.0.0.5", "id.orig_h"), (9, "ipv6", "2001:db8::99", "id.resp_h")]
    assert [r[1:3] for r in found("zeek", ZEEK_DNS)] == [
        ("ipv4", "10.0.0.5"), ("ipv4", "10.0.0.1"), ("domain", "evil.example"), ("ipv4", "198.51.100.7"),
        ("domain", "cname.evil.example"), ("ipv4", "10.0.0.5"), ("ipv4", "10.0.0.1")]
    assert ("url", "http://evil.example/gate.php?id=1") in [r[1:3] for r in found("zeek", ZEEK_HTTP)]
    assert ("domain", "evil.example") in [r[1:3] for r in found("zeek", ZEEK_HTTP)]


def test_zeek_json_logs() -> None:
    text = json.dumps({"_path": "dns", "ts": 1700000000.1, "id.orig_h": "10.0.0.5", "query": "evil.example",
                       "answers": ["198.51.100.7"]})
    assert [r[1:4] for r in found("zeek", text)] == [("ipv4", "10.0.0.5", "id.orig_h"),
                                                     ("domain", "evil.example", "query"),
                                                     ("ipv4", "198.51.100.7", "answers")]


def test_csv_named_columns_detected_cells_and_a_missing_column() -> None:
    text = "time,src,dst,note\n2026-11-29T12:00:00Z,10.0.0.1,evil.example,\"hello, world\"\n"
    assert found("csv", text, ("dst=domain",)) == [(2, "domain", "evil.example", "dst")]
    assert found("csv", text) == [(2, "ipv4", "10.0.0.1", "src"), (2, "domain", "evil.example", "dst")]
    with pytest.raises(InvalidParameter, match="no column 'dest'"):
        found("csv", text, ("dest",))


def test_plain_lists_count_what_is_not_an_observable() -> None:
    stats = Stats()
    records = list(extractor("text")(lines("# a list\n198.51.100.7\nhello there\nevil.example\n"), stats))
    assert [(r.line, r.value) for r in records] == [(2, "198.51.100.7"), (4, "evil.example")]
    assert stats.unreadable == 1


def test_stix_observed_data_in_a_bundle_and_as_json_lines() -> None:
    sco = {"type": "ipv4-addr", "spec_version": "2.1", "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd",
           "value": "198.51.100.7"}
    observed = {"type": "observed-data", "spec_version": "2.1",
                "id": "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf", "created": "2026-11-29T12:00:00Z",
                "modified": "2026-11-29T12:00:00Z", "first_observed": "2026-11-29T12:00:00Z",
                "last_observed": "2026-11-29T12:00:00Z", "number_observed": 1, "object_refs": [sco["id"]]}
    bundle = json.dumps({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
                         "objects": [observed, sco]}, indent=2)
    for text in (bundle, json.dumps(observed) + "\n" + json.dumps(sco), json.dumps(sco) + "\n" + json.dumps(observed)):
        records = list(extractor("stix")(lines(text), Stats()))
        assert len(records) == 1
        assert records[0].value == observed["id"] and records[0].objects == (observed, sco)


def test_formats_are_guessed_from_the_name_and_the_first_bytes() -> None:
    assert guess_format("conn.log", b"") == "zeek"
    assert guess_format("x.log", b"#separator \\x09\n") == "zeek"
    assert guess_format("x.json", b'{"_path":"dns"}') == "zeek"
    assert guess_format("x.json", b'{"type": "bundle", "objects": [{"type": "observed-data"}]}') == "stix"
    assert guess_format("x.json", b'{"src": "1.2.3.4"}') == "jsonl"
    assert guess_format("x.csv", b"a,b\n") == "csv"
    assert guess_format("iocs.txt", b"1.2.3.4\n") == "text"


def test_bad_field_options_say_what_to_write() -> None:
    with pytest.raises(InvalidParameter, match="not a kind"):
        parse_fields(["src=mac"])
    with pytest.raises(InvalidParameter, match="names no field"):
        parse_fields(["=ipv4"])
