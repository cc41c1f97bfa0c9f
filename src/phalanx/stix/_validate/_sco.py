"""STIX Cyber-observable Objects (section 6) and their predefined extensions."""

from __future__ import annotations

__all__ = ["SCO_SPECS"]

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from ._common import SCO_COMMON, SCO_REQUIRED, TypeSpec, at_least_one, extensions, not_both, order, requires
from ._rules import (
    BINARY,
    BOOLEAN,
    DICTIONARY,
    HASHES,
    HEX,
    INTEGER,
    NON_NEGATIVE_INTEGER,
    STRING,
    STRING_LIST,
    TIMESTAMP,
    URL,
    Check,
    Ctx,
    ObjectRule,
    Shape,
    Table,
    check_fields,
    describe,
    enum,
    float_range,
    int_range,
    list_of,
    open_vocab,
    ref,
    refs,
    shaped,
)
from ._vocab import (
    ACCOUNT_TYPE_OV,
    ENCRYPTION_ALGORITHM_ENUM,
    NETWORK_SOCKET_ADDRESS_FAMILY_ENUM,
    NETWORK_SOCKET_TYPE_ENUM,
    SCO_TYPES,
    WINDOWS_INTEGRITY_LEVEL_ENUM,
    WINDOWS_PEBINARY_TYPE_OV,
    WINDOWS_REGISTRY_DATATYPE_ENUM,
    WINDOWS_SERVICE_START_TYPE_ENUM,
    WINDOWS_SERVICE_STATUS_ENUM,
    WINDOWS_SERVICE_TYPE_ENUM,
)


def sco(
    props: Mapping[str, Check],
    required: tuple[str, ...] = (),
    rules: tuple[ObjectRule, ...] = (),
    exts: Mapping[str, Check] | None = None,
) -> TypeSpec:
    table = {**SCO_COMMON, **props}
    if exts:
        table["extensions"] = extensions(exts)
    return TypeSpec("sco", table, SCO_REQUIRED | frozenset(required), rules)


def _sub(table: Table, required: tuple[str, ...], what: str) -> Check:
    """A checker for a JSON object with a fixed table of properties (a predefined extension or sub-type)."""

    def check(value: Any, path: str, ctx: Ctx) -> None:
        check_fields(value, path, ctx, table, required, what)

    return shaped(check, Shape("object", table=table, required=required))


def _one(types: str, what: str) -> Check:
    return ref(frozenset(types.split()), what)


def _many(types: str, what: str) -> Check:
    return refs(frozenset(types.split()), what)


# --- values with a format ----------------------------------------------------------------------------------

_MAC_RE = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}")


def _ip(version: int) -> Check:
    def check(value: Any, path: str, ctx: Ctx) -> None:
        if type(value) is not str:
            ctx.error(path, "property-type", f"is {describe(value)}; expected an IPv{version} address or CIDR")
            return
        try:
            network = ipaddress.ip_network(value, strict=False)
        except ValueError:
            network = None
        if network is None or network.version != version:
            ctx.error(path, "value-format", f"is {describe(value)}; expected an IPv{version} address or CIDR")

    return check


def _mac(value: Any, path: str, ctx: Ctx) -> None:
    if type(value) is not str:
        ctx.error(path, "property-type", f"is {describe(value)}; expected a MAC address")
    elif _MAC_RE.fullmatch(value) is None:
        ctx.error(path, "value-format",
                  f"is {describe(value)}; a MAC address MUST be colon-delimited lowercase hex: 00:00:5e:00:53:af")


# --- object rules -----------------------------------------------------------------------------------------


def _any_own_property(what: str) -> ObjectRule:
    def rule(obj: Mapping[str, Any], ctx: Ctx) -> None:
        for name in obj:
            if name not in SCO_COMMON or name == "extensions":
                return
        ctx.error("", "required-one-of", f"a {what} object MUST have at least one property of its own")

    return rule


def _multipart(obj: Mapping[str, Any], ctx: Ctx) -> None:
    multipart = obj.get("is_multipart")
    if multipart is True and "body" in obj:
        ctx.error("body", "email-multipart", "is_multipart is true, so body MUST NOT be present (use body_multipart)")
    if multipart is False and "body_multipart" in obj:
        ctx.error("body_multipart", "email-multipart", "is_multipart is false, so body_multipart MUST NOT be present")


def _active_has_no_end(obj: Mapping[str, Any], ctx: Ctx) -> None:
    if obj.get("is_active") is True and "end" in obj:
        ctx.error("end", "dependent-property", "is_active is true, so end MUST NOT be present")


def _mime_part(value: Any, path: str, ctx: Ctx) -> None:
    if check_fields(value, path, ctx, _MIME_PART, (), "a MIME part") and (
        ("body" in value) == ("body_raw_ref" in value)
    ):
        ctx.error(path, "required-one-of", "a MIME part MUST have exactly one of body and body_raw_ref")


_MIME_PART: Table = {
    "body": STRING, "body_raw_ref": _one("artifact file", "an artifact or file"),
    "content_type": STRING, "content_disposition": STRING,
}

shaped(_mime_part, Shape("object", table=_MIME_PART))

_PORT = int_range(0, 65535)
_ADDRESS = _one("ipv4-addr ipv6-addr mac-addr domain-name", "an IP, MAC address or domain name")

# --- predefined extensions (section 6.x.2+) --------------------------------------------------------------

_FILE_EXTS: dict[str, Check] = {
    "archive-ext": _sub(
        {"contains_refs": _many("file directory", "a file or directory"), "comment": STRING},
        ("contains_refs",), "archive-ext"),
    "ntfs-ext": _sub(
        {"sid": STRING, "alternate_data_streams": list_of(_sub(
            {"name": STRING, "hashes": HASHES, "size": NON_NEGATIVE_INTEGER}, ("name",), "an alternate data stream"),
            "alternate data streams")},
        (), "ntfs-ext"),
    "pdf-ext": _sub(
        {"version": STRING, "is_optimized": BOOLEAN, "document_info_dict": DICTIONARY, "pdfid0": STRING,
         "pdfid1": STRING}, (), "pdf-ext"),
    "raster-image-ext": _sub(
        {"image_height": INTEGER, "image_width": INTEGER, "bits_per_pixel": INTEGER, "exif_tags": DICTIONARY},
        (), "raster-image-ext"),
    "windows-pebinary-ext": _sub(
        {"pe_type": open_vocab(WINDOWS_PEBINARY_TYPE_OV, "windows-pebinary-type-ov"), "imphash": STRING,
         "machine_hex": HEX, "number_of_sections": NON_NEGATIVE_INTEGER, "time_date_stamp": TIMESTAMP,
         "pointer_to_symbol_table_hex": HEX, "number_of_symbols": NON_NEGATIVE_INTEGER,
         "size_of_optional_header": NON_NEGATIVE_INTEGER, "characteristics_hex": HEX,
         "file_header_hashes": HASHES, "optional_header": DICTIONARY,
         "sections": list_of(_sub(
             {"name": STRING, "size": NON_NEGATIVE_INTEGER, "entropy": float_range(None, None), "hashes": HASHES},
             ("name",), "a windows-pe-section"), "windows-pe-sections")},
        ("pe_type",), "windows-pebinary-ext"),
}

_NETWORK_EXTS: dict[str, Check] = {
    "http-request-ext": _sub(
        {"request_method": STRING, "request_value": STRING, "request_version": STRING,
         "request_header": DICTIONARY, "message_body_length": NON_NEGATIVE_INTEGER,
         "message_body_data_ref": _one("artifact", "an artifact")},
        ("request_method", "request_value"), "http-request-ext"),
    "icmp-ext": _sub({"icmp_type_hex": HEX, "icmp_code_hex": HEX}, ("icmp_type_hex", "icmp_code_hex"), "icmp-ext"),
    "socket-ext": _sub(
        {"address_family": enum(NETWORK_SOCKET_ADDRESS_FAMILY_ENUM, "network-socket-address-family-enum"),
         "is_blocking": BOOLEAN, "is_listening": BOOLEAN, "options": DICTIONARY,
         "socket_type": enum(NETWORK_SOCKET_TYPE_ENUM, "network-socket-type-enum"),
         "socket_descriptor": NON_NEGATIVE_INTEGER, "socket_handle": INTEGER},
        ("address_family",), "socket-ext"),
    "tcp-ext": _sub({"src_flags_hex": HEX, "dst_flags_hex": HEX}, (), "tcp-ext"),
}

_PROCESS_EXTS: dict[str, Check] = {
    "windows-process-ext": _sub(
        {"aslr_enabled": BOOLEAN, "dep_enabled": BOOLEAN, "priority": STRING, "owner_sid": STRING,
         "window_title": STRING, "startup_info": DICTIONARY,
         "integrity_level": enum(WINDOWS_INTEGRITY_LEVEL_ENUM, "windows-integrity-level-enum")},
        (), "windows-process-ext"),
    "windows-service-ext": _sub(
        {"service_name": STRING, "descriptions": STRING_LIST, "display_name": STRING, "group_name": STRING,
         "start_type": enum(WINDOWS_SERVICE_START_TYPE_ENUM, "windows-service-start-type-enum"),
         "service_dll_refs": _many("file", "a file"),
         "service_type": enum(WINDOWS_SERVICE_TYPE_ENUM, "windows-service-type-enum"),
         "service_status": enum(WINDOWS_SERVICE_STATUS_ENUM, "windows-service-status-enum")},
        (), "windows-service-ext"),
}

_USER_EXTS: dict[str, Check] = {
    "unix-account-ext": _sub(
        {"gid": INTEGER, "groups": STRING_LIST, "home_dir": STRING, "shell": STRING}, (), "unix-account-ext"),
}

_X509_V3_STRINGS = (
    "basic_constraints", "name_constraints", "policy_constraints", "key_usage", "extended_key_usage",
    "subject_key_identifier", "authority_key_identifier", "subject_alternative_name", "issuer_alternative_name",
    "subject_directory_attributes", "crl_distribution_points", "inhibit_any_policy", "certificate_policies",
    "policy_mappings",
)
_X509_V3: Table = dict.fromkeys(_X509_V3_STRINGS, STRING) | {
    "private_key_usage_period_not_before": TIMESTAMP, "private_key_usage_period_not_after": TIMESTAMP,
}

_FILE_TIMES = {"ctime": TIMESTAMP, "mtime": TIMESTAMP, "atime": TIMESTAMP}
_ALL_SCOS = refs(SCO_TYPES, "a cyber-observable object")

SCO_SPECS: dict[str, TypeSpec] = {
    "artifact": sco(
        {"mime_type": STRING, "payload_bin": BINARY, "url": URL, "hashes": HASHES,
         "encryption_algorithm": enum(ENCRYPTION_ALGORITHM_ENUM, "encryption-algorithm-enum"),
         "decryption_key": STRING},
        (), (not_both("payload_bin", "url"), requires("url", "hashes"),
             requires("decryption_key", "encryption_algorithm"))),
    "autonomous-system": sco({"number": NON_NEGATIVE_INTEGER, "name": STRING, "rir": STRING}, ("number",)),
    "directory": sco(
        {"path": STRING, "path_enc": STRING, **_FILE_TIMES,
         "contains_refs": _many("file directory", "a file or directory")}, ("path",)),
    "domain-name": sco(
        {"value": STRING, "resolves_to_refs": _many("ipv4-addr ipv6-addr domain-name", "an IP address or domain")},
        ("value",)),
    "email-addr": sco(
        {"value": STRING, "display_name": STRING, "belongs_to_ref": _one("user-account", "a user-account")},
        ("value",)),
    "email-message": sco(
        {"is_multipart": BOOLEAN, "date": TIMESTAMP, "content_type": STRING,
         "from_ref": _one("email-addr", "an email-addr"), "sender_ref": _one("email-addr", "an email-addr"),
         "to_refs": _many("email-addr", "an email-addr"), "cc_refs": _many("email-addr", "an email-addr"),
         "bcc_refs": _many("email-addr", "an email-addr"), "message_id": STRING, "subject": STRING,
         "received_lines": STRING_LIST, "additional_header_fields": DICTIONARY, "body": STRING,
         "body_multipart": list_of(_mime_part, "MIME parts"),
         "raw_email_ref": _one("artifact", "an artifact")},
        ("is_multipart",), (_multipart,)),
    "file": sco(
        {"hashes": HASHES, "size": NON_NEGATIVE_INTEGER, "name": STRING, "name_enc": STRING,
         "magic_number_hex": HEX, "mime_type": STRING, **_FILE_TIMES,
         "parent_directory_ref": _one("directory", "a directory"), "contains_refs": _ALL_SCOS,
         "content_ref": _one("artifact", "an artifact")},
        (), (at_least_one("hashes", "name"),), _FILE_EXTS),
    "ipv4-addr": sco(
        {"value": _ip(4), "resolves_to_refs": _many("mac-addr", "a mac-addr"),
         "belongs_to_refs": _many("autonomous-system", "an autonomous-system")}, ("value",)),
    "ipv6-addr": sco(
        {"value": _ip(6), "resolves_to_refs": _many("mac-addr", "a mac-addr"),
         "belongs_to_refs": _many("autonomous-system", "an autonomous-system")}, ("value",)),
    "mac-addr": sco({"value": _mac}, ("value",)),
    "mutex": sco({"name": STRING}, ("name",)),
    "network-traffic": sco(
        {"start": TIMESTAMP, "end": TIMESTAMP, "is_active": BOOLEAN, "src_ref": _ADDRESS, "dst_ref": _ADDRESS,
         "src_port": _PORT, "dst_port": _PORT, "protocols": STRING_LIST,
         "src_byte_count": NON_NEGATIVE_INTEGER, "dst_byte_count": NON_NEGATIVE_INTEGER,
         "src_packets": NON_NEGATIVE_INTEGER, "dst_packets": NON_NEGATIVE_INTEGER, "ipfix": DICTIONARY,
         "src_payload_ref": _one("artifact", "an artifact"), "dst_payload_ref": _one("artifact", "an artifact"),
         "encapsulates_refs": _many("network-traffic", "a network-traffic"),
         "encapsulated_by_ref": _one("network-traffic", "a network-traffic")},
        ("protocols",),
        (at_least_one("src_ref", "dst_ref"), order("start", "end", strictly=False), _active_has_no_end),
        _NETWORK_EXTS),
    "process": sco(
        {"is_hidden": BOOLEAN, "pid": INTEGER, "created_time": TIMESTAMP, "cwd": STRING, "command_line": STRING,
         "environment_variables": DICTIONARY,
         "opened_connection_refs": _many("network-traffic", "a network-traffic"),
         "creator_user_ref": _one("user-account", "a user-account"), "image_ref": _one("file", "a file"),
         "parent_ref": _one("process", "a process"), "child_refs": _many("process", "a process")},
        (), (_any_own_property("process"),), _PROCESS_EXTS),
    "software": sco(
        {"name": STRING, "cpe": STRING, "swid": STRING, "languages": STRING_LIST, "vendor": STRING,
         "version": STRING}, ("name",)),
    "url": sco({"value": STRING}, ("value",)),
    "user-account": sco(
        {"user_id": STRING, "credential": STRING, "account_login": STRING,
         "account_type": open_vocab(ACCOUNT_TYPE_OV, "account-type-ov"), "display_name": STRING,
         "is_service_account": BOOLEAN, "is_privileged": BOOLEAN, "can_escalate_privs": BOOLEAN,
         "is_disabled": BOOLEAN, "account_created": TIMESTAMP, "account_expires": TIMESTAMP,
         "credential_last_changed": TIMESTAMP, "account_first_login": TIMESTAMP,
         "account_last_login": TIMESTAMP},
        (), (_any_own_property("user-account"),), _USER_EXTS),
    "windows-registry-key": sco(
        {"key": STRING, "values": list_of(_sub(
            {"name": STRING, "data": STRING,
             "data_type": enum(WINDOWS_REGISTRY_DATATYPE_ENUM, "windows-registry-datatype-enum")},
            (), "a windows-registry-value"), "windows registry values"),
         "modified_time": TIMESTAMP, "creator_user_ref": _one("user-account", "a user-account"),
         "number_of_subkeys": NON_NEGATIVE_INTEGER},
        (), (_any_own_property("windows-registry-key"),)),
    "x509-certificate": sco(
        {"is_self_signed": BOOLEAN, "hashes": HASHES, "version": STRING, "serial_number": STRING,
         "signature_algorithm": STRING, "issuer": STRING, "validity_not_before": TIMESTAMP,
         "validity_not_after": TIMESTAMP, "subject": STRING, "subject_public_key_algorithm": STRING,
         "subject_public_key_modulus": STRING, "subject_public_key_exponent": INTEGER,
         "x509_v3_extensions": _sub(_X509_V3, (), "x509-v3-extensions")},
        (), (_any_own_property("x509-certificate"),
             order("validity_not_before", "validity_not_after", strictly=False))),
}
