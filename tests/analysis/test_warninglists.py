"""MISP warning lists (``phalanx.analysis.WarningLists``): lookups per list type, ``matching_attributes``, the
values a pattern alerts on, agreement with pymispwarninglists' own search, laziness, and ingest (warn, refuse,
off) through the real service."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
import textwrap
from dataclasses import replace
from itertools import islice
from typing import Any

import pytest
from starlette.testclient import TestClient

from phalanx.analysis import ListedValue, WarningHit, WarningLists, flags_for, warning_flags
from phalanx.analysis._lookups import compile_pcre, parse_ip
from phalanx.analysis._paths import kinds_of, parse_path
from phalanx.config import Settings
from phalanx.errors import ConfigError
from phalanx.identity import Actor, Role
from phalanx.pattern import (
    STAR,
    BoolComparison,
    Comparison,
    Compound,
    Constant,
    ConstantKind,
    ObjectPath,
    Observation,
    Op,
    Pattern,
    Qualified,
    Within,
    parse,
)
from phalanx.service._screening import Screening
from phalanx.stix import StixObject, parse_document
from phalanx.web import create_app
from tests.support import INDICATOR, ROOT, World, bundle, make_world

IPS = ["ip-src", "ip-dst", "domain|ip"]
NAMES = ["domain", "hostname", "url", "domain|ip"]

SMALL = [
    {"name": "Private", "type": "cidr", "matching_attributes": IPS,
     "list": ["10.0.0.0/8", "192.168.1.7", "fd00::/8", "2001:db8::1/128", "172.16.5.9/12", "not an address"]},
    {"name": "Resolvers", "type": "cidr", "matching_attributes": ["ip-dst"], "list": ["8.8.8.8", "10.1.0.0/16"]},
    {"name": "Top sites", "type": "hostname", "matching_attributes": NAMES,
     "list": ["example.com", ".dyn.example", "Upper.Example", "trailing.example."]},
    {"name": "Exact names", "type": "string", "matching_attributes": ["domain", "hostname", "url"],
     "list": ["exact.example", ".wild.example", "HTTPS://Page.example/x"]},
    {"name": "Benign hashes", "type": "string", "matching_attributes": ["md5", "sha256"],
     "list": ["d41d8cd98f00b204e9800998ecf8427e", "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"]},
    {"name": "Sandboxes", "type": "substring", "matching_attributes": ["domain", "hostname", "url"],
     "list": ["any.run", "sandbox.example"]},
    {"name": "Disposable mail", "type": "substring", "matching_attributes": ["email-src", "email-dst"],
     "list": ["mailinator.com"]},
    {"name": "Contact mail", "type": "regex", "matching_attributes": ["email-src", "email-dst"],
     "list": ["/^(abuse|noc)\\@.*$/i", "/((unclosed/"]},
    {"name": "Everything", "type": "string", "list": ["anything-goes"]},
]


@pytest.fixture(scope="module")
def small() -> WarningLists:
    return WarningLists.from_lists(SMALL)


def names(hits: tuple[WarningHit, ...]) -> list[str]:
    return [hit.name for hit in hits]


# -- lookups, per list type ---------------------------------------------------------------------------------------

def test_cidr_lists_hold_addresses_and_networks(small: WarningLists) -> None:
    assert names(small.check("ip-src", "10.200.3.4")) == ["Private"]
    assert names(small.check("ip-dst", "10.1.3.4")) == ["Private", "Resolvers"]
    assert names(small.check("ip-dst", "192.168.1.7")) == ["Private"]
    assert small.check("ip-dst", "192.168.1.8") == ()
    assert names(small.check("ip-dst", "172.31.255.255")) == ["Private"]  # '172.16.5.9/12': host bits cleared
    assert small.check("ip-dst", "172.32.0.0") == ()
    assert names(small.check("ip-src", "FD12::1")) == ["Private"]
    assert names(small.check("ip-src", "2001:db8::1")) == ["Private"] and small.check("ip-src", "2001:db8::2") == ()
    # Networks: held by a listed one, or holding a listed address.
    assert names(small.check("ip-dst", "10.9.0.0/16")) == ["Private"]
    assert names(small.check("ip-dst", "8.0.0.0/8")) == ["Resolvers"]
    assert names(small.check("ip-dst", "0.0.0.0/0")) == ["Private", "Resolvers"]
    assert small.check("ip-dst", "11.0.0.0/8") == ()
    assert small.check("ip-dst", "not an address") == ()  # a list's unreadable entry matches nothing


def test_hostname_lists_hold_names_and_their_subdomains(small: WarningLists) -> None:
    for value in ("example.com", "www.example.com", "a.b.example.com", "EXAMPLE.COM.", "upper.example",
                  "x.trailing.example"):
        assert names(small.check("domain", value)) == ["Top sites"], value
    assert names(small.check("domain", "dyn.example")) == ["Top sites"]  # '.dyn.example' is the domain and below
    assert names(small.check("hostname", "host.dyn.example")) == ["Top sites"]
    for value in ("notexample.com", "example.com.evil", "example", "com"):
        assert small.check("domain", value) == (), value
    # A URL's host, with or without a scheme, user, port.
    for url in ("http://www.example.com/x", "https://user@example.com:8443/?q", "example.com/path",
                "HTTP://WWW.EXAMPLE.COM"):
        assert names(small.check("url", url)) == ["Top sites"], url
    assert small.check("url", "http://evil.test/example.com") == ()


def test_string_lists_are_exact_and_hashes_ignore_case(small: WarningLists) -> None:
    assert names(small.check("domain", "exact.example")) == ["Exact names"]
    assert small.check("domain", "www.exact.example") == ()
    assert small.check("domain", "wild.example") == ()  # '.wild.example' is matched exactly, as MISP does
    assert names(small.check("url", "https://page.example/x")) == ["Exact names"]
    assert names(small.check("url", "http://exact.example/any/path")) == ["Exact names"]  # a URL's host too
    assert names(small.check("md5", "D41D8CD98F00B204E9800998ECF8427E")) == ["Benign hashes"]
    assert names(small.check("sha256", " e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 ")) \
        == ["Benign hashes"]
    assert small.check("sha1", "d41d8cd98f00b204e9800998ecf8427e") == ()  # not a matching attribute
    blank = WarningLists.from_lists([{"name": "Blank", "type": "substring", "list": ["", " "]}])
    assert blank.check("domain", "example.com") == () and blank.check("domain", "  ") == ()


def test_substring_and_regex_lists(small: WarningLists) -> None:
    assert names(small.check("url", "https://app.ANY.RUN/tasks/1")) == ["Sandboxes"]
    assert names(small.check("domain", "x.sandbox.example.org")) == ["Sandboxes"]
    assert names(small.check("email-src", "bob@mailinator.com")) == ["Disposable mail"]
    assert names(small.check("email-dst", "Abuse@mailinator.com")) == ["Disposable mail", "Contact mail"]
    assert names(small.check("email-dst", "NOC@corp.example")) == ["Contact mail"]
    assert small.check("email-dst", "bob@corp.example") == ()
    assert compile_pcre("/((unclosed/") is None  # an entry re cannot read is left out
    pattern = compile_pcre("/^a+$/ig")
    assert pattern is not None and pattern.search("AAA")


def test_matching_attributes_decide_which_lists_apply(small: WarningLists) -> None:
    assert small.check("domain", "10.1.2.3") == ()  # cidr lists are for addresses only
    assert small.check("ip-src", "example.com") == ()
    assert names(small.check("ip-src", "10.1.2.3")) == ["Private"]  # 'Resolvers' is for ip-dst only
    assert names(small.check("md5", "anything-goes")) == ["Everything"]  # no matching_attributes: every type
    assert names(small.check("ipv4-addr:value", "10.1.2.3")) == ["Private", "Resolvers"]


def test_stix_paths_map_to_misp_attribute_types(small: WarningLists) -> None:
    assert kinds_of(parse_path("ipv4-addr:value")) == {"ip-src", "ip-dst"}
    assert kinds_of(parse_path("domain-name:value")) == {"domain", "hostname"}
    assert kinds_of(parse_path("url:value")) == {"url", "uri"}
    assert kinds_of(parse_path("file:hashes.'SHA-256'")) == {"sha256"}
    assert kinds_of(parse_path("file:hashes.MD5")) == {"md5"}
    assert kinds_of(parse_path("artifact:hashes.'SHA-1'")) == {"sha1"}
    assert kinds_of(parse_path("x509-certificate:hashes.'SHA-256'")) == {"x509-fingerprint-sha256"}
    assert kinds_of(parse_path("email-message:to_refs[*].value")) == {"email-dst"}
    assert kinds_of(parse_path("email-message:from_ref.value")) == {"email-src"}
    assert kinds_of(parse_path("network-traffic:dst_ref.value")) == {"ip-dst", "domain", "hostname"}
    assert kinds_of(parse_path("file:name")) == set()
    assert kinds_of(parse_path("file:hashes.TLSH")) == set()
    # A reference on both sides is checked as what its value is.
    assert names(small.check("network-traffic:dst_ref.value", "10.1.0.1")) == ["Private", "Resolvers"]
    assert names(small.check("network-traffic:dst_ref.value", "www.example.com")) == ["Top sites"]
    assert names(small.check("network-traffic:src_ref.value", "10.1.0.1")) == ["Private"]
    assert names(small.check("file:hashes.'SHA-256'", "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B"
                                                       "7852B855")) == ["Benign hashes"]
    assert small.check("file:name", "example.com") == ()
    assert small.check(ObjectPath("domain-name", ("value",)), "example.com") == small.check("domain", "example.com")
    for bad in ("", "ipv4-addr", "ipv4-addr:", ":value", "file:hashes..x", "file:hashes'x'", "file:[0]"):
        with pytest.raises(ValueError, match="not a STIX object path"):
            parse_path(bad)
    assert parse_path("email-message:to_refs[2].value").steps == ("to_refs", 2, "value")
    assert parse_path("file:hashes.'SHA\\'x'").steps == ("hashes", "SHA'x")
    assert parse_path("email-message:to_refs[*].value").steps == ("to_refs", STAR, "value")


def test_ip_parsing() -> None:
    assert parse_ip("198.51.100.7") == (4, 0xC6336407, 32)
    assert parse_ip("198.51.100.7/24") == (4, 0xC6336400, 24)
    assert parse_ip("::1") == (6, 1, 128)
    for bad in ("1.2.3", "1.2.3.4/33", "1.2.3.4/x", "::1/129", "example.com", "1.2.3.4\x00", "1.2.3.4/٣"):
        assert parse_ip(bad) is None, bad


def test_malformed_lists_are_refused_with_the_cause() -> None:
    with pytest.raises(ConfigError, match="not a MISP warning list"):
        WarningLists.from_lists([{"name": "x", "type": "fuzzy", "list": []}])
    with pytest.raises(ConfigError, match="'list' must be a list of strings"):
        WarningLists.from_lists([{"name": "x", "type": "string", "list": [1]}])
    with pytest.raises(ConfigError, match="matching_attributes"):
        WarningLists.from_lists([{"name": "x", "type": "string", "list": [], "matching_attributes": "domain"}])


def test_a_directory_without_lists_is_a_config_error(tmp_path: Any) -> None:
    lists = WarningLists.from_directory(tmp_path)
    with pytest.raises(ConfigError, match="no MISP warning lists"):
        lists.check("domain", "example.com")


def test_a_directory_of_lists_is_read_from_its_files(tmp_path: Any) -> None:
    for data in SMALL:
        folder = tmp_path / "lists" / str(data["name"]).replace(" ", "-")
        folder.mkdir(parents=True)
        (folder / "list.json").write_text(json.dumps(data, sort_keys=True, indent=2))
    # A list bigger than the tail read, with its metadata at the end (as in the MISP repository).
    big = {"name": "Big", "type": "string", "matching_attributes": ["domain"],
           "list": [f"host{i}.example" for i in range(2000)], "description": "many", "version": 1}
    (tmp_path / "lists" / "big").mkdir()
    (tmp_path / "lists" / "big" / "list.json").write_text(json.dumps(big, sort_keys=True, indent=2))
    lists = WarningLists.from_directory(tmp_path)
    assert lists.loaded_lists() == ()
    assert names(lists.check("domain", "host1999.example")) == ["Big"]
    assert names(lists.check("ip-dst", "10.1.0.1")) == ["Private", "Resolvers"]
    assert set(lists.names()) == {d["name"] for d in SMALL} | {"Big"}


# -- the values a pattern alerts on ------------------------------------------------------------------------------

def _eq(path: str, value: str, op: Op = Op.EQ, negated: bool = False) -> Comparison:
    return Comparison(parse_path(path), op, Constant(ConstantKind.STRING, value), negated)


def test_flags_name_the_lists_of_any_alerting_value(small: WarningLists) -> None:
    # Hand-built trees: ANY value the pattern alerts on counts, however deep it stands.
    tree = Compound("FOLLOWEDBY", (
        Observation(_eq("domain-name:value", "evil.test")),
        Qualified(Observation(BoolComparison("AND", (
            _eq("ipv4-addr:value", "198.51.100.1"),
            Comparison(parse_path("ipv4-addr:value"), Op.IN,
                       (Constant(ConstantKind.STRING, "203.0.113.9"), Constant(ConstantKind.STRING, "10.0.0.1"))),
        ))), Within(60)),
    ))
    pattern = Pattern("(hand-built)", tree)
    assert small.flags(pattern) == ("Private",)
    assert flags_for(pattern, small) == ("Private",)
    assert small.listed(pattern) == (ListedValue(parse_path("ipv4-addr:value"), "10.0.0.1",
                                                 (WarningHit("Private", "cidr"),)),)
    # Negated comparisons and operators that name no value do not flag.
    for comparison in (_eq("domain-name:value", "example.com", negated=True),
                       _eq("domain-name:value", "example.com", Op.NE),
                       _eq("domain-name:value", "%example.com", Op.LIKE),
                       _eq("domain-name:value", "example\\.com", Op.MATCHES)):
        assert small.flags(Pattern("", Observation(comparison))) == (), comparison
    assert small.flags(Pattern("", Observation(_eq("ipv4-addr:value", "10.0.0.0/24", Op.ISSUBSET)))) == ("Private",)
    hexed = Comparison(parse_path("file:hashes.MD5"), Op.EQ,
                       Constant(ConstantKind.HEX, bytes.fromhex("d41d8cd98f00b204e9800998ecf8427e")))
    assert small.flags(Pattern("", Observation(hexed))) == ("Benign hashes",)


def test_flags_of_parsed_patterns(small: WarningLists) -> None:
    cases = {
        "[domain-name:value = 'www.example.com']": ("Top sites",),
        "[url:value = 'http://evil.test/'] OR [ipv4-addr:value = '10.1.2.3']": ("Private", "Resolvers"),
        "[ipv4-addr:value IN ('198.51.100.1', '192.168.1.7')] REPEATS 2 TIMES": ("Private",),
        "[network-traffic:dst_ref.value = '8.8.8.8' AND network-traffic:dst_port = 53]": ("Resolvers",),
        "[email-message:from_ref.value = 'abuse@mailinator.com']": ("Disposable mail", "Contact mail"),
        "[domain-name:value = 'evil.test'] AND [domain-name:value = 'example.com']": ("Top sites",),
        "[domain-name:value != 'example.com']": (),
        "[ipv4-addr:value NOT IN ('10.0.0.1')]": (),
        "[file:name = 'example.com']": (),
    }
    for text, expected in cases.items():
        assert small.flags(parse(text)) == expected, text


# -- the real lists -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def shipped() -> WarningLists:
    return WarningLists.load()


def test_the_shipped_lists_know_the_classic_false_positives(shipped: WarningLists) -> None:
    assert WarningLists.load() is shipped  # one per process
    assert len(shipped.names()) == 119
    assert "List of RFC 1918 CIDR blocks" in names(shipped.check("ipv4-addr:value", "192.168.10.1"))
    assert "List of known IPv4 public DNS resolvers" in names(shipped.check("ipv4-addr:value", "8.8.8.8"))
    assert "List of known IPv6 public DNS resolvers" in names(shipped.check("ipv6-addr:value", "2001:4860:4860::8888"))
    assert "Top 1,000,000 most-used sites from Tranco" in names(shipped.check("domain-name:value", "google.com"))
    assert "Top 1,000,000 most-used sites from Tranco" in names(shipped.check("domain-name:value", "a.b.github.io"))
    assert "List of RFC 6761 Special-Use Domain Names" in names(shipped.check("domain-name:value", "example.com"))
    assert "List of hashes for EICAR test virus" in names(
        shipped.check("file:hashes.MD5", "44D88612FEA8A8F36DE82E1278ABB02F"))
    assert "List of known hashes for empty files" in names(
        shipped.check("file:hashes.'SHA-256'", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"))
    assert "Common contact e-mail addresses" in names(shipped.check("email-addr:value", "abuse@example.org"))
    assert shipped.check("ipv4-addr:value", "196.38.48.121") == ()  # a Maltrail value: not benign
    assert shipped.check("domain-name:value", "eamdomai.com") == ()
    pattern = parse("[domain-name:value = 'google.com'] OR [domain-name:value = 'eamdomai.com']")
    assert "Top 1,000,000 most-used sites from Tranco" in shipped.flags(pattern)
    assert warning_flags(pattern) == shipped.flags(pattern)


def _maltrail(per_kind: int) -> dict[str, list[str]]:
    """The first ``per_kind`` Maltrail values of each kind (domain-name, ipv4-addr, url)."""
    from tests.support import shared_data
    shared_data("indicators", "maltrail", "maltrail-trails-static.tar.gz")
    from benchmarks._corpus import classify, trails
    found: dict[str, dict[str, None]] = {"domain-name": {}, "ipv4-addr": {}, "url": {}}
    for _, _, trail in trails():
        kind = classify(trail)
        if kind is not None and len(found[kind[0]]) < per_kind:
            found[kind[0]][kind[1]] = None
            if all(len(values) >= per_kind for values in found.values()):
                break
    return {kind: list(values) for kind, values in found.items()}


def _host(url: str) -> str:
    from urllib.parse import urlsplit
    return urlsplit(url).hostname or ""


@pytest.mark.slow
def test_agrees_with_pymispwarninglists(shipped: WarningLists) -> None:
    """Differential: our check against pymispwarninglists' own ``search`` (``slow_search``: the type-aware one),
    over real Maltrail values, values taken from every list, and the classic false positives.

    Deliberate differences, applied to the reference's input or output rather than hidden:
    1. A list applies only to the MISP types in its ``matching_attributes`` (pymispwarninglists' ``search``
       ignores them): the reference's hits are filtered by the type checked.
    2. Entries and values are compared in lower case, and hostname entries lose their leading dot
       (``.duckdns.org`` also lists ``duckdns.org``, as MISP's server does): the reference gets lists so
       normalized, and lower-case values.
    3. A URL is also checked by its host against ``string`` lists: the reference's string-list hits for the
       host are added.
    4. ``regex`` lists are ours alone (pymispwarninglists never matches them); networks as values too. Both are
       tested above.
    Hostname and cidr lists are handed to the reference cut down to the entries that can match some tested value
    (a label suffix of a tested host; a network, per the standard library's ``ipaddress``, holding a tested
    address; a substring of the tested values): the others cannot match, and the reference would scan every
    entry of such a list per value, and take minutes to compile 110,000 networks.
    """
    pymisp = pytest.importorskip("pymispwarninglists")
    raw = []
    for folder in sorted((shipped_root() / "lists").iterdir()):
        raw.append(json.loads((folder / "list.json").read_text(encoding="utf-8")))
    assert [d["name"] for d in raw] == list(shipped.names())

    values: list[tuple[str, str]] = []
    maltrail = _maltrail(1500)
    values += [("domain", v.lower()) for v in maltrail["domain-name"]]
    values += [("ip-dst", v) for v in maltrail["ipv4-addr"] if "/" not in v]
    values += [("url", ("http://" + v if "://" not in v else v).lower()) for v in maltrail["url"]
               if not v.startswith("/")]
    values += [("ip-dst", v) for v in ("10.1.2.3", "172.16.0.1", "192.168.1.1", "8.8.8.8", "1.1.1.1", "9.9.9.9",
                                       "127.0.0.1", "169.254.1.1", "2001:4860:4860::8888", "fe80::1", "::1")]
    values += [("domain", v) for v in ("google.com", "www.google.com", "mail.google.com", "github.io",
                                       "user.github.io", "x.duckdns.org", "duckdns.org", "example.com", "com")]
    values += [("md5", "44d88612fea8a8f36de82e1278abb02f"), ("md5", "d41d8cd98f00b204e9800998ecf8427e"),
               ("sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709")]
    for data in raw:  # values taken from the lists themselves: every 997th entry, at most 40 per list
        kinds = [k for k in data["matching_attributes"] if k in ("ip-dst", "domain", "url", "md5", "sha1",
                                                                  "sha256", "email-src")]
        for entry in islice(data["list"][::997], 40):
            entry = entry.strip().lower()
            for kind in kinds[:1]:
                if data["type"] == "cidr":
                    values.append((kind, entry.split("/")[0]))
                elif data["type"] == "hostname":
                    values += [(kind, entry.strip(".")), (kind, "sub." + entry.strip("."))]
                elif data["type"] == "substring":
                    values.append((kind, ("bob@x" if kind.startswith("email") else "x") + entry))
                elif data["type"] == "string" and not entry.startswith("."):
                    values.append((kind, entry if kind != "url" else "http://" + entry + "/"))

    hosts = {_host(v) if kind == "url" else v for kind, v in values if kind in ("domain", "url")}
    suffixes = {".".join(h.split(".")[i:]) for h in hosts for i in range(h.count(".") + 1)}
    addresses = [ipaddress.ip_address(v) for kind, v in values if kind == "ip-dst" and parse_ip(v) is not None]
    supernets = {str(ipaddress.ip_network(f"{a}/{length}", strict=False)) for a in addresses
                 for length in range(a.max_prefixlen + 1)}
    everything = "\n".join(v for _, v in values) + "\n" + "\n".join(_host(v) for k, v in values if k == "url")
    adjusted = []
    for data in raw:
        entries = [e.strip().lower() for e in data["list"]]
        if data["type"] == "hostname":
            entries = [e.strip(".") for e in entries if e.strip(".") in suffixes]
        elif data["type"] == "cidr":
            entries = [e for e in entries if str(ipaddress.ip_network(e)) in supernets]
        elif data["type"] == "substring":
            entries = [e for e in entries if e in everything]
        if entries:  # a list left empty holds none of the values: the reference need not search it
            adjusted.append(dict(data, list=entries))
    kinds = {kind for kind, _ in values}
    # One reference per type checked, holding only the lists that apply to it (the filter of difference 1,
    # applied before the search rather than after: the same result, sooner).
    reference = {kind: pymisp.WarningLists(slow_search=True, lists=[
        d for d in adjusted if kind in d["matching_attributes"] and d["type"] != "regex"]) for kind in kinds}

    def expected(kind: str, value: str) -> set[str]:
        found = set(reference[kind].search(value))
        if kind == "url":
            found |= {wl for wl in reference[kind].search(_host(value)) if wl.type == "string"}
        return {wl.name for wl in found}

    disagreements = []
    for kind, value in dict.fromkeys(values):
        ours = {hit.name for hit in shipped.check(kind, value) if hit.list_type != "regex"}
        if ours != expected(kind, value):
            disagreements.append((kind, value, sorted(ours ^ expected(kind, value))))
    assert len(values) > 4000
    assert sum(1 for kind, v in values if shipped.check(kind, v)) > 1000  # the list-derived values do hit
    assert not disagreements, disagreements[:20]


def shipped_root() -> Any:
    from importlib.util import find_spec
    spec = find_spec("pymispwarninglists")
    assert spec is not None and spec.submodule_search_locations
    from pathlib import Path
    return Path(spec.submodule_search_locations[0]) / "data" / "misp-warninglists"


# -- laziness ----------------------------------------------------------------------------------------------------

def test_nothing_is_read_at_import_nor_before_the_first_indicator() -> None:
    """In a fresh process: importing everything, opening a node and ingesting non-indicators reads no list;
    the first indicator reads only the lists its values' types need; pymispwarninglists is never imported."""
    script = textwrap.dedent("""
        import json, sys, time
        import phalanx.analysis, phalanx.service, phalanx.cli
        from phalanx.analysis import WarningLists
        from phalanx.config import Settings
        from tests.support import INDICATOR, bundle, make_world
        lists = WarningLists.load()
        report = {"after_import": list(lists.loaded_lists())}
        world = make_world(Settings(database_url="memory://"))
        identity = {"type": "identity", "spec_version": "2.1", "id": "identity--6f2d1c2e-7b7e-4c55-9a57-2d6c5e1f9b21",
                    "created": "2020-01-01T00:00:00Z", "modified": "2020-01-01T00:00:00Z", "name": "x"}
        world.node.ingest.document(world.contributor, "isac", bundle(identity))
        report["after_identity"] = list(lists.loaded_lists())
        ip = dict(INDICATOR, pattern="[ipv4-addr:value = '10.0.0.1']")
        started = time.perf_counter()
        results = world.node.ingest.document(world.contributor, "isac", bundle(ip))
        report["seconds"] = time.perf_counter() - started
        report["warnings"] = list(results[0].warnings)
        report["after_ip"] = list(lists.loaded_lists())
        report["pymisp"] = "pymispwarninglists" in sys.modules
        world.node.close()
        print(json.dumps(report))
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["after_import"] == [] and report["after_identity"] == []
    assert "RFC 1918" in report["warnings"][0]
    assert "List of RFC 1918 CIDR blocks" in report["after_ip"]
    assert not any("Tranco" in name or "crux" in name or "benign files" in name for name in report["after_ip"])
    assert not report["pymisp"]


# -- ingest through the real service ----------------------------------------------------------------------------

GOOGLE = dict(INDICATOR, id="indicator--0f3c8c1b-0cce-4b0c-8b5e-0c1f9a55d6aa",
              pattern="[domain-name:value = 'google.com'] OR [domain-name:value = 'eamdomai.com']")
PRIVATE = dict(INDICATOR, id="indicator--1f3c8c1b-0cce-4b0c-8b5e-0c1f9a55d6aa",
               pattern="[ipv4-addr:value = '10.0.0.1']")


def _world(mode: str) -> World:
    return make_world(Settings(database_url="memory://", warninglists=mode))


def test_warn_accepts_with_a_warning_naming_the_lists() -> None:
    world = _world("warn")
    try:
        results = world.node.ingest.document(world.contributor, "isac", bundle(GOOGLE, INDICATOR, PRIVATE))
        assert [(r.outcome, r.detail) for r in results] == [("accepted", "added")] * 3
        (warning,) = [w for w in results[0].warnings if "warning-list" in w]
        assert "'google.com' (domain-name:value) is on the MISP warning lists" in warning
        assert " more: usually benign" in warning and "eamdomai" not in warning
        assert not any("warning-list" in w for w in results[1].warnings)
        assert "List of RFC 1918 CIDR blocks" in " ".join(results[2].warnings)
        # Duplicates are told again; the stored object is the object as sent.
        again = world.node.ingest.document(world.contributor, "isac", bundle(PRIVATE))
        assert again[0].detail == "duplicate" and "RFC 1918" in " ".join(again[0].warnings)
        stored = world.node.backend.store.get(str(PRIVATE["id"]))
        assert json.loads(stored.canonical)["pattern"] == PRIVATE["pattern"]
        # A revocation is never flagged (it stops the indicator).
        revoked = dict(PRIVATE, modified="2017-01-01T00:00:00.000Z", revoked=True)
        (result,) = world.node.ingest.document(world.contributor, "isac", bundle(revoked))
        assert result.outcome == "accepted" and not any("warning-list" in w for w in result.warnings)
    finally:
        world.node.close()


def test_refuse_refuses_with_the_list_and_what_to_do() -> None:
    world = _world("refuse")
    try:
        results = world.node.ingest.document(world.contributor, "isac", bundle(GOOGLE, INDICATOR, PRIVATE))
        assert [r.outcome for r in results] == ["refused", "accepted", "refused"]
        detail = results[2].detail
        assert detail.startswith("warning list: '10.0.0.1' (ipv4-addr:value) is on")
        assert "List of RFC 1918 CIDR blocks" in detail and "warninglists = 'warn'" in detail
        assert results[2].id == PRIVATE["id"]
        assert world.node.backend.store.stats().versions == 1
        # A stream (phalanx import) refuses them too, and counts them.
        summary = world.node.ingest.stream(world.contributor, "isac", parse_document(bundle(GOOGLE, PRIVATE)))
        assert (summary.accepted, summary.refused, summary.flagged) == (0, 2, 2)
        assert "RFC 1918" in summary.refusals[1].detail
    finally:
        world.node.close()


def test_objects_relayed_by_a_peer_are_only_warned_about() -> None:
    world = _world("refuse")
    try:
        sharing = world.node.ingest.authorize(world.contributor, "isac")
        relayed = replace(sharing, check=lambda obj: obj)  # as federation does: the peer's keys check them
        results = world.node.ingest.parsed(relayed, parse_document(bundle(PRIVATE)))
        assert results[0].outcome == "accepted" and "RFC 1918" in " ".join(results[0].warnings)
    finally:
        world.node.close()
    # A peer's own role is enough, however its objects arrive.
    batch, flagged = Screening("refuse").batch(Actor(str(INDICATOR["id"]), Role.PEER),
                                               list(enumerate(parse_document(bundle(PRIVATE)))))
    (_, item), = batch
    assert flagged == 1 and isinstance(item, StixObject) and item.warnings[-1].rule == "warning-list"


def test_off_checks_nothing() -> None:
    world = _world("off")
    try:
        results = world.node.ingest.document(world.contributor, "isac", bundle(GOOGLE, PRIVATE))
        assert [r.outcome for r in results] == ["accepted", "accepted"]
        assert not any("warning-list" in w for r in results for w in r.warnings)
        summary = world.node.ingest.stream(world.contributor, "isac", parse_document(bundle(GOOGLE)))
        assert summary.flagged == 0
    finally:
        world.node.close()


def test_the_api_shows_the_warning() -> None:
    world = _world("warn")
    try:
        secret, _ = world.node.admin.create_key(world.acme.id, Role.CONTRIBUTOR)
        with TestClient(create_app(world.node), base_url="http://phalanx.test") as client:
            response = client.post("/api/v1/collections/isac/objects", content=bundle(PRIVATE),
                                   headers={"Authorization": f"Bearer {secret}"})
        assert response.status_code == 200, response.text
        (result,) = response.json()["results"]
        assert result["outcome"] == "accepted" and "RFC 1918" in " ".join(result["warnings"])
    finally:
        world.node.close()


def test_the_setting_is_read_and_checked() -> None:
    assert Settings().warninglists == "warn"
    assert Settings.load(env={"PHALANX_WARNINGLISTS": "Refuse"}).warninglists == "refuse"
    with pytest.raises(ConfigError, match="PHALANX_WARNINGLISTS"):
        Settings.load(env={"PHALANX_WARNINGLISTS": "block"})


def test_phalanx_import_counts_the_flagged_indicators(tmp_path: Any) -> None:
    from click.testing import CliRunner

    from phalanx.cli import cli

    def run(*args: str) -> Any:
        return CliRunner().invoke(cli, ["--home", str(tmp_path / "node"), *args], catch_exceptions=False)

    for args in (("init",), ("community", "add", "isac"), ("org", "add", "ACME CERT"),
                 ("community", "join", "isac", "ACME CERT")):
        assert run(*args).exit_code == 0
    source = tmp_path / "in.json"
    source.write_bytes(bundle(GOOGLE, INDICATOR, PRIVATE))
    result = run("import", "--org", "ACME CERT", str(source))
    assert result.exit_code == 0, result.output
    assert "3 accepted (3 new), 0 refused" in result.stdout
    assert "2 indicator(s) alert on values MISP warning lists name as usually benign" in result.stdout


def test_the_usage_example_runs() -> None:
    import doctest

    import phalanx.analysis

    assert doctest.testmod(phalanx.analysis).failed == 0
