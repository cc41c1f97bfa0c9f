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
from ._correlation import Carrying, Correlation, ObjectCorrelation, ReportedBy, ValueCorrelation
from ._delete import Deletion
from ._ingest import Ingest, Sharing, to_row
from ._metrics import CommunityInfo, Contributions, Member, Metrics, OrganizationMetrics, Reach
from ._neighbourhood import Edge, GraphNode, Neighbourhood
from ._node import Node
from ._overview import FeedFilter, FeedPage, Overview
from ._publish import Audience, Draft, Published, Publishing, Seer
from ._read import CollectionAccess, Explanation, Reader
from ._results import IngestSummary, ObjectResult
from ._sightings import SightingReport, Sightings
from ._submissions import StatusView, Submissions

__all__ = [
    "Admin",
    "Audience",
    "Carrying",
    "CollectionAccess",
    "CommunityInfo",
    "Contributions",
    "Correlation",
    "Deletion",
    "Draft",
    "Edge",
    "Explanation",
    "FeedFilter",
    "FeedPage",
    "GraphNode",
    "Ingest",
    "IngestSummary",
    "Member",
    "Metrics",
    "Neighbourhood",
    "Node",
    "ObjectCorrelation",
    "ObjectResult",
    "OrganizationMetrics",
    "Overview",
    "Published",
    "Publishing",
    "Reach",
    "Reader",
    "ReportedBy",
    "Seer",
    "Sharing",
    "SightingReport",
    "Sightings",
    "StatusView",
    "Submissions",
    "ValueCorrelation",
    "to_row",
]
