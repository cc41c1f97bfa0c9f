"""Publishing from a form, in the service layer: values read into patterns, drafts into STIX, the audience decided by
the policy, and sharing all of it or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from phalanx.config import Settings
from phalanx.errors import InvalidRecipients, NotFound, PermissionDenied
from phalanx.identity import Actor, Role
from phalanx.pattern import parse
from phalanx.service import Draft, Node
from phalanx.service._publish import MAX_VALUES, InvalidDraft, read_values
from phalanx.stix import Mode, StixObject, Tlp
from tests.support import World


@pytest.mark.parametrize(("text", "kind", "pattern"), [
    ("198.51.100.7", "ipv4-addr", "[ipv4-addr:value = '198.51.100.7']"),
    (" 198.51.100.7/32 ", "ipv4-addr", "[ipv4-addr:value = '198.51.100.7']"),
    ("198.51.100.9/24", "ipv4-addr", "[ipv4-addr:value ISSUBSET '198.51.100.0/24']"),
    ("2001:DB8::1", "ipv6-addr", "[ipv6-addr:value = '2001:db8::1']"),
    ("2001:db8::/48", "ipv6-addr", "[ipv6-addr:value ISSUBSET '2001:db8::/48']"),
    ("Evil.Example.", "domain-name", "[domain-name:value = 'evil.example']"),
    ("evil(.)example", "domain-name", "[domain-name:value = 'evil.example']"),
    ("evil[dot]example", "domain-name", "[domain-name:value = 'evil.example']"),
    ("http://evil.example/a'b\\c", "url", "[url:value = 'http://evil.example/a\\'b\\\\c']"),
    ("hXXp://evil[.]example/x", "url", "[url:value = 'http://evil.example/x']"),
    ("someone[@]evil.example", "email-addr", "[email-addr:value = 'someone@evil.example']"),
    ("00:1A:2b:3c:4d:5e", "mac-addr", "[mac-addr:value = '00:1a:2b:3c:4d:5e']"),
    ("D41D8CD98F00B204E9800998ECF8427E", "md5", "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']"),
    ("da39a3ee5e6b4b0d3255bfef95601890afd80709", "sha1",
     "[file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']"),
    ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256",
     "[file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']"),
    ("a" * 128, "sha512", f"[file:hashes.'SHA-512' = '{'a' * 128}']"),
])
def test_a_value_becomes_the_pattern_that_alerts_on_it(text: str, kind: str, pattern: str) -> None:
    found = read_values(text)
    assert found.problems == ()
    [value] = found.values
    assert (value.kind, value.pattern, value.line, value.text) == (kind, pattern, 1, text.strip())
    assert parse(value.pattern).text == pattern  # the parser reads it back


def test_lines_that_are_not_values_are_named_and_repeats_kept_once() -> None:
    found = read_values("\n198.51.100.7\nhello world\n\n198.51.100.7/32\nftp\n" + "x" * 100)
    assert [v.line for v in found.values] == [2]
    assert found.problems == (
        "line 3: 'hello world' is not an IP address or block, domain, URL, e-mail address or file hash",
        "line 6: 'ftp' is not an IP address or block, domain, URL, e-mail address or file hash",
        f"line 7: '{'x' * 79}…' is not an IP address or block, domain, URL, e-mail address or file hash",
    )


def test_too_many_values_is_a_problem() -> None:
    found = read_values("\n".join(f"10.0.{i // 256}.{i % 256}" for i in range(MAX_VALUES + 1)))
    assert len(found.values) == MAX_VALUES
    assert found.problems == (f"line {MAX_VALUES + 1}: more than {MAX_VALUES} values; share longer lists with "
                              "'phalanx import'",)


def test_a_draft_is_valid_stix_and_checks_its_fields() -> None:
    values = read_values("198.51.100.7\nevil.example").values
    objects = Draft("report", values, name="Wave", description="# md", report_types=("malware",)).objects(
        "identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", Tlp.RED, now=1_767_225_600_000_000)
    for data in objects:
        assert StixObject.from_dict(data, mode=Mode.STRICT).type in ("indicator", "report")
        assert data["object_marking_refs"] == [Tlp.RED.value]
    report = objects[-1]
    assert report["object_refs"] == [o["id"] for o in objects[:-1]]
    assert report["published"] == report["created"] == "2026-01-01T00:00:00.000000Z"
    with pytest.raises(InvalidDraft) as caught:
        Draft("indicator", values, confidence=101)
    assert caught.value.field == "confidence"
    with pytest.raises(InvalidDraft) as caught:
        Draft("report", values, name=" ")
    assert caught.value.field == "name"
    with pytest.raises(InvalidDraft) as caught:
        Draft("indicator", ())
    assert caught.value.field == "values"


def test_the_audience_is_the_policys_answer_for_each_organization(world: World) -> None:
    publishing = world.node.publishing
    green = publishing.audience(world.contributor, "isac", Tlp.GREEN)
    assert set(green.organizations) == {world.acme.id, world.globex.id}  # not the outsider
    red = publishing.audience(world.contributor, "isac", Tlp.RED, organizations=["Globex"])
    assert [str(s) for s in red.seers] == [
        "ACME CERT — your organization contributed it",
        "Globex — TLP:RED: your organization is among the named recipients",
        "The node's administrators — node administrators see everything",
    ]
    with pytest.raises(InvalidRecipients):
        publishing.audience(world.contributor, "isac", Tlp.RED, organizations=["Outsider Inc"])
    with pytest.raises(PermissionDenied):
        publishing.audience(world.reader, "isac", Tlp.GREEN)
    world.node.admin.add_community("other")  # to non-members, its collection does not exist (as for the API)
    for ask in (lambda: publishing.audience(world.contributor, "other", Tlp.GREEN),
                lambda: publishing.publish(world.contributor, "other", Draft("indicator", read_values("a.example")
                                                                             .values), Tlp.GREEN)):
        with pytest.raises(NotFound) as caught:
            ask()
        assert caught.value.message == "no collection 'other'"


def test_publishing_shares_all_or_nothing(world: World) -> None:
    node = world.node
    values = read_values("198.51.100.7\nevil.example").values
    published = node.publishing.publish(world.contributor, "isac", Draft("report", values, name="r"), Tlp.AMBER)
    assert published.stored and published.lead.startswith("report--")
    assert node.backend.store.stats().objects == 3
    node.admin.add_collection("reports only", community="isac", types=("report",))
    refused = node.publishing.publish(world.contributor, "reports only", Draft("report", values, name="r"),
                                      Tlp.AMBER)
    assert not refused.stored
    assert [r.detail.split(":")[0] for r in refused.results] == ["filtered", "filtered", "not stored"]
    assert len(refused.refusals) == 2
    assert node.backend.store.stats().objects == 3  # the report was not stored without its indicators
    with pytest.raises(PermissionDenied):
        node.publishing.publish(Actor(world.globex.id, Role.READER), "isac", Draft("indicator", values), Tlp.GREEN)


def test_a_value_on_a_warning_list_stops_the_whole_share_when_the_node_refuses_them(tmp_path: Path) -> None:
    node = Node.open(Settings(database_url="memory://", home=tmp_path, warninglists="refuse"), upgrade=True)
    try:
        node.admin.add_community("isac")
        acme = node.admin.add_organization("ACME CERT")
        node.admin.join("isac", acme.id)
        values = read_values("evil.example\n10.1.2.3").values
        refused = node.publishing.publish(Actor(acme.id, Role.CONTRIBUTOR), "isac", Draft("indicator", values),
                                          Tlp.GREEN)
        assert not refused.stored
        [reason] = refused.refusals
        assert "10.1.2.3" in reason.detail and "warning list" in reason.detail
        assert node.backend.store.stats().objects == 0  # not evil.example either
    finally:
        node.close()
