"""Organizations, communities, collections, users and API keys; and who is calling (``Actor``).

    >>> from phalanx.identity import Role, issue_api_key
    >>> key, record = issue_api_key("identity--0b6e9ba8-8c41-4a4b-9f3a-4c5b0f3f7c11", Role.READER, now=0)
    >>> key.startswith("phx_" + record.key_id)
    True
"""

from ._directory import Directory
from ._factory import InvalidName, new_collection, new_community, new_organization, new_user
from ._keys import MAX_KEY_DAYS, Actor, InvalidExpiry, authenticate, issue_api_key
from ._model import ApiKeyRecord, Collection, Community, Organization, Role, User

__all__ = [
    "MAX_KEY_DAYS",
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
    "authenticate",
    "issue_api_key",
    "new_collection",
    "new_community",
    "new_organization",
    "new_user",
]
