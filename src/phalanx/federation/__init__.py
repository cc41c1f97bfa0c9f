"""Federation: nodes run by different organizations exchange objects with no center.

A node follows a peer (``Federation.add``; ``phalanx peer add``): for each collection, TAXII 2.1 for catch-up
and the live stream for low latency (``PeerLink``), everything checked on the way in (the peer's signatures and
log: ``_ingress``; then the sharing policy and the store's versioning rules, as for any member).
"""

from ._client import LiveStream, Page, PeerClient
from ._federation import PEER_ORG_PREFIX, Federation, PeerStatus
from ._link import PeerLink

__all__ = ["PEER_ORG_PREFIX", "Federation", "LiveStream", "Page", "PeerClient", "PeerLink", "PeerStatus"]
