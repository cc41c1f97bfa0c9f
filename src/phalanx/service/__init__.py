"""The service layer: the only place where the store, the directory and the policy meet.

    >>> from phalanx.config import Settings
    >>> from phalanx.service import Node
    >>> node = Node.open(Settings(database_url="memory://"), upgrade=True)
    >>> org = node.admin.add_organization("ACME CERT")
    >>> node.close()

Every producer (CLI import, HTTP, later TAXII, federation, feeds) calls ``node.ingest``; every reader calls
``node.reader``; administration goes through ``node.admin``.
"""

from ._admin import Admin
from ._ingest import Ingest, to_row
from ._node import Node
from ._read import Reader
from ._results import IngestSummary, ObjectResult

__all__ = ["Admin", "Ingest", "IngestSummary", "Node", "ObjectResult", "Reader", "to_row"]
