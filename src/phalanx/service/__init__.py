"""The service layer: the only place where the store, the directory and the policy meet.

    >>> from phalanx.config import Settings
    >>> from phalanx.service import Node
    >>> node = Node.open(Settings(database_url="memory://"), upgrade=True)
    >>> org = node.admin.add_organization("ACME CERT")
    >>> node.close()

Every producer (CLI import, HTTP, TAXII, later federation and feeds) calls ``node.ingest`` (or
``node.submissions``, which keeps a status record); every reader calls ``node.reader``; deleting goes through
``node.deletion``; administration through ``node.admin``.
"""

from ._admin import Admin
from ._delete import Deletion
from ._ingest import Ingest, Sharing, to_row
from ._node import Node
from ._read import CollectionAccess, Explanation, Reader
from ._results import IngestSummary, ObjectResult
from ._submissions import StatusView, Submissions

__all__ = [
    "Admin",
    "CollectionAccess",
    "Deletion",
    "Explanation",
    "Ingest",
    "IngestSummary",
    "Node",
    "ObjectResult",
    "Reader",
    "Sharing",
    "StatusView",
    "Submissions",
    "to_row",
]
