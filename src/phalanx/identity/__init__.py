"""Organizations, communities, collections, users and API keys; and who is calling (``Actor``).

    >>> from phalanx.identity import Role, issue_api_key
    >>> key, record = issue_api_key("identity--0b6e9ba8-8c41-4a4b-9f3a-4c5b0f3f7c11", Role.READER, now=0)
    >>> key.startswith("phx_" + record.key_id)
    True
"""

from ..errors import WeakPassword
from ._directory import Directory
from ._factory import InvalidName, new_collection, new_community, new_organization, new_user
from ._keys import MAX_KEY_DAYS, Actor, InvalidExpiry, authenticate, check_key, issue_api_key
from ._model import ApiKeyRecord, Collection, Community, Organization, Role, User
from ._passwords import (
    MAX_PASSWORD_CHARS,
    MIN_PASSWORD_CHARS,
    check_password,
    hash_password,
    needs_rehash,
    verify_password,
)

__all__ = [
    "MAX_KEY_DAYS",
    "MAX_PASSWORD_CHARS",
    "MIN_PASSWORD_CHARS",
    "Actor",
    "ApiKeyRecord",
    "Collection",
    "Community",
    "Directory",
    "InvalidExpiry",
    "InvalidName",
    "Organization",
    "Role",
    "User",
    "WeakPassword",
    "authenticate",
    "check_key",
    "check_password",
    "hash_password",
    "issue_api_key",
    "needs_rehash",
    "new_collection",
    "new_community",
    "new_organization",
    "new_user",
    "verify_password",
]
