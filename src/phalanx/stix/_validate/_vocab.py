"""STIX 2.1 type names, enumerations (closed: unknown value is an error) and open vocabularies (section 10:
unknown value is only a warning).

Values are copied from STIX 2.1 OS section 10 (vocabularies) and the enumerations of sections 6 and 7.
"""

from __future__ import annotations

__all__ = [
    "ACCOUNT_TYPE_OV",
    "ATTACK_MOTIVATION_OV",
    "ATTACK_RESOURCE_LEVEL_OV",
    "ENCRYPTION_ALGORITHM_ENUM",
    "EXTENSION_TYPE_ENUM",
    "GROUPING_CONTEXT_OV",
    "HASH_ALGORITHM_OV",
    "IDENTITY_CLASS_OV",
    "IMPLEMENTATION_LANGUAGE_OV",
    "INDICATOR_TYPE_OV",
    "INDUSTRY_SECTOR_OV",
    "INFRASTRUCTURE_TYPE_OV",
    "MALWARE_CAPABILITIES_OV",
    "MALWARE_RESULT_OV",
    "MALWARE_TYPE_OV",
    "MARKING_DEFINITION_TYPE_OV",
    "META_TYPES",
    "NETWORK_SOCKET_ADDRESS_FAMILY_ENUM",
    "NETWORK_SOCKET_TYPE_ENUM",
    "OPINION_ENUM",
    "PATTERN_TYPE_OV",
    "PREDEFINED_EXTENSIONS",
    "PROCESSOR_ARCHITECTURE_OV",
    "REGION_OV",
    "REPORT_TYPE_OV",
    "RESERVED_PROPERTIES",
    "RESERVED_TYPES",
    "SCO_TYPES",
    "SDO_TYPES",
    "SRO_TYPES",
    "STANDARD_TYPES",
    "THREAT_ACTOR_ROLE_OV",
    "THREAT_ACTOR_SOPHISTICATION_OV",
    "THREAT_ACTOR_TYPE_OV",
    "TLP1_LEVELS",
    "TLP2_LEVELS",
    "TOOL_TYPE_OV",
    "WINDOWS_INTEGRITY_LEVEL_ENUM",
    "WINDOWS_PEBINARY_TYPE_OV",
    "WINDOWS_REGISTRY_DATATYPE_ENUM",
    "WINDOWS_SERVICE_START_TYPE_ENUM",
    "WINDOWS_SERVICE_STATUS_ENUM",
    "WINDOWS_SERVICE_TYPE_ENUM",
]

SDO_TYPES = frozenset({
    "attack-pattern", "campaign", "course-of-action", "grouping", "identity", "incident", "indicator",
    "infrastructure", "intrusion-set", "location", "malware", "malware-analysis", "note", "observed-data",
    "opinion", "report", "threat-actor", "tool", "vulnerability",
})
SRO_TYPES = frozenset({"relationship", "sighting"})
SCO_TYPES = frozenset({
    "artifact", "autonomous-system", "directory", "domain-name", "email-addr", "email-message", "file",
    "ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic", "process", "software", "url",
    "user-account", "windows-registry-key", "x509-certificate",
})
META_TYPES = frozenset({"marking-definition", "extension-definition", "language-content"})
STANDARD_TYPES = SDO_TYPES | SRO_TYPES | SCO_TYPES | META_TYPES | {"bundle"}

# Names the spec reserves (3.1, 11.1): no object may use them.
RESERVED_TYPES = frozenset({"action"})
RESERVED_PROPERTIES = frozenset({"severity", "action", "username", "phone_numbers"})

# Predefined cyber-observable extensions (section 6) and the SCO type each one belongs to.
PREDEFINED_EXTENSIONS: dict[str, str] = {
    "archive-ext": "file",
    "ntfs-ext": "file",
    "pdf-ext": "file",
    "raster-image-ext": "file",
    "windows-pebinary-ext": "file",
    "http-request-ext": "network-traffic",
    "icmp-ext": "network-traffic",
    "socket-ext": "network-traffic",
    "tcp-ext": "network-traffic",
    "windows-process-ext": "process",
    "windows-service-ext": "process",
    "unix-account-ext": "user-account",
}

# --- enumerations (closed) ---------------------------------------------------------------------------------
OPINION_ENUM = frozenset({"strongly-disagree", "disagree", "neutral", "agree", "strongly-agree"})
EXTENSION_TYPE_ENUM = frozenset({
    "new-sdo", "new-sco", "new-sro", "property-extension", "toplevel-property-extension",
})
ENCRYPTION_ALGORITHM_ENUM = frozenset({"AES-256-GCM", "ChaCha20-Poly1305", "mime-type-indicated"})
NETWORK_SOCKET_ADDRESS_FAMILY_ENUM = frozenset({
    "AF_UNSPEC", "AF_INET", "AF_IPX", "AF_APPLETALK", "AF_NETBIOS", "AF_INET6", "AF_IRDA", "AF_BTH",
})
NETWORK_SOCKET_TYPE_ENUM = frozenset({"SOCK_STREAM", "SOCK_DGRAM", "SOCK_RAW", "SOCK_RDM", "SOCK_SEQPACKET"})
WINDOWS_INTEGRITY_LEVEL_ENUM = frozenset({"low", "medium", "high", "system"})
WINDOWS_REGISTRY_DATATYPE_ENUM = frozenset({
    "REG_NONE", "REG_SZ", "REG_EXPAND_SZ", "REG_BINARY", "REG_DWORD", "REG_DWORD_BIG_ENDIAN",
    "REG_DWORD_LITTLE_ENDIAN", "REG_LINK", "REG_MULTI_SZ", "REG_RESOURCE_LIST",
    "REG_FULL_RESOURCE_DESCRIPTION", "REG_RESOURCE_REQUIREMENTS_LIST", "REG_QWORD", "REG_INVALID_TYPE",
})
WINDOWS_SERVICE_START_TYPE_ENUM = frozenset({
    "SERVICE_AUTO_START", "SERVICE_BOOT_START", "SERVICE_DEMAND_START", "SERVICE_DISABLED",
    "SERVICE_SYSTEM_ALERT",
})
WINDOWS_SERVICE_TYPE_ENUM = frozenset({
    "SERVICE_KERNEL_DRIVER", "SERVICE_FILE_SYSTEM_DRIVER", "SERVICE_WIN32_OWN_PROCESS",
    "SERVICE_WIN32_SHARE_PROCESS",
})
WINDOWS_SERVICE_STATUS_ENUM = frozenset({
    "SERVICE_CONTINUE_PENDING", "SERVICE_PAUSE_PENDING", "SERVICE_PAUSED", "SERVICE_RUNNING",
    "SERVICE_START_PENDING", "SERVICE_STOP_PENDING", "SERVICE_STOPPED",
})
TLP1_LEVELS = frozenset({"white", "green", "amber", "red"})
TLP2_LEVELS = frozenset({"clear", "green", "amber", "amber+strict", "red"})

# --- open vocabularies -------------------------------------------------------------------------------------
ACCOUNT_TYPE_OV = frozenset({
    "facebook", "ldap", "nis", "openid", "radius", "skype", "tacacs", "twitter", "unix", "windows-local",
    "windows-domain",
})
ATTACK_MOTIVATION_OV = frozenset({
    "accidental", "coercion", "dominance", "ideology", "notoriety", "organizational-gain", "personal-gain",
    "personal-satisfaction", "revenge", "unpredictable",
})
ATTACK_RESOURCE_LEVEL_OV = frozenset({"individual", "club", "contest", "team", "organization", "government"})
GROUPING_CONTEXT_OV = frozenset({"suspicious-activity", "malware-analysis", "unspecified"})
HASH_ALGORITHM_OV = frozenset({"MD5", "SHA-1", "SHA-256", "SHA-512", "SHA3-256", "SHA3-512", "SSDEEP", "TLSH"})
IDENTITY_CLASS_OV = frozenset({"individual", "group", "system", "organization", "class", "unknown"})
IMPLEMENTATION_LANGUAGE_OV = frozenset({
    "applescript", "bash", "c", "c++", "c#", "go", "java", "javascript", "lua", "objective-c", "perl", "php",
    "powershell", "python", "ruby", "scala", "swift", "typescript", "visual-basic", "x86-32", "x86-64",
})
INDICATOR_TYPE_OV = frozenset({
    "anomalous-activity", "anonymization", "benign", "compromised", "malicious-activity", "attribution",
    "unknown",
})
INDUSTRY_SECTOR_OV = frozenset({
    "agriculture", "aerospace", "automotive", "chemical", "commercial", "communications", "construction",
    "defense", "education", "energy", "entertainment", "financial-services", "government",
    "emergency-services", "government-local", "government-national", "government-public-services",
    "government-regional", "healthcare", "hospitality-leisure", "infrastructure", "dams", "nuclear", "water",
    "insurance", "manufacturing", "mining", "non-profit", "pharmaceuticals", "retail", "technology",
    "telecommunications", "transportation", "utilities",
})
INFRASTRUCTURE_TYPE_OV = frozenset({
    "amplification", "anonymization", "botnet", "command-and-control", "control-system", "exfiltration",
    "firewall", "hosting-malware", "hosting-target-lists", "phishing", "reconnaissance", "routers-switches",
    "staging", "workstation", "unknown",
})
MALWARE_CAPABILITIES_OV = frozenset({
    "accesses-remote-machines", "anti-debugging", "anti-disassembly", "anti-emulation",
    "anti-memory-forensics", "anti-sandbox", "anti-vm", "captures-input-peripherals",
    "captures-output-peripherals", "captures-system-state-data", "cleans-traces-of-infection",
    "commits-fraud", "communicates-with-c2", "compromises-data-availability", "compromises-data-integrity",
    "compromises-system-availability", "controls-local-machine", "degrades-security-software",
    "degrades-system-updates", "determines-c2-server", "emails-spam", "escalates-privileges", "evades-av",
    "exfiltrates-data", "fingerprints-host", "hides-artifacts", "hides-executing-code", "infects-files",
    "infects-remote-machines", "installs-other-components", "persists-after-system-reboot",
    "prevents-artifact-access", "prevents-artifact-deletion", "probes-network-environment",
    "self-modifies", "steals-authentication-credentials", "violates-system-operational-integrity",
})
MALWARE_RESULT_OV = frozenset({"malicious", "suspicious", "benign", "unknown"})
MALWARE_TYPE_OV = frozenset({
    "adware", "backdoor", "bot", "bootkit", "ddos", "downloader", "dropper", "exploit-kit", "keylogger",
    "ransomware", "remote-access-trojan", "resource-exploitation", "rogue-security-software", "rootkit",
    "screen-capture", "spyware", "trojan", "unknown", "virus", "webshell", "wiper", "worm",
})
MARKING_DEFINITION_TYPE_OV = frozenset({"statement", "tlp"})
PATTERN_TYPE_OV = frozenset({"stix", "pcre", "sigma", "snort", "suricata", "yara"})
PROCESSOR_ARCHITECTURE_OV = frozenset({"alpha", "arm", "ia-64", "mips", "powerpc", "sparc", "x86", "x86-64"})
REGION_OV = frozenset({
    "africa", "eastern-africa", "middle-africa", "northern-africa", "southern-africa", "western-africa",
    "americas", "latin-america-caribbean", "south-america", "caribbean", "central-america",
    "northern-america", "asia", "central-asia", "eastern-asia", "southern-asia", "south-eastern-asia",
    "western-asia", "europe", "eastern-europe", "northern-europe", "southern-europe", "western-europe",
    "oceania", "australia-new-zealand", "melanesia", "micronesia", "polynesia", "antarctica",
})
REPORT_TYPE_OV = frozenset({
    "attack-pattern", "campaign", "identity", "indicator", "intrusion-set", "malware", "observed-data",
    "threat-actor", "threat-report", "tool", "vulnerability",
})
THREAT_ACTOR_ROLE_OV = frozenset({
    "agent", "director", "independent", "infrastructure-architect", "infrastructure-operator",
    "malware-author", "sponsor",
})
THREAT_ACTOR_SOPHISTICATION_OV = frozenset({
    "none", "minimal", "intermediate", "advanced", "expert", "innovator", "strategic",
})
THREAT_ACTOR_TYPE_OV = frozenset({
    "activist", "competitor", "crime-syndicate", "criminal", "hacker", "insider-accidental",
    "insider-disgruntled", "nation-state", "sensationalist", "spy", "terrorist", "unknown",
})
TOOL_TYPE_OV = frozenset({
    "denial-of-service", "exploitation", "information-gathering", "network-capture",
    "credential-exploitation", "remote-access", "vulnerability-scanning", "unknown",
})
WINDOWS_PEBINARY_TYPE_OV = frozenset({"exe", "dll", "sys"})
