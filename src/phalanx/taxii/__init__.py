"""TAXII 2.1 (OASIS): the standard API through which members' tools pull and push intelligence.

    from phalanx.taxii import create_taxii_app
    app = Mount("/taxii2", app=create_taxii_app(node))   # phalanx.web.create_app does this

Every endpoint of the specification, with the sharing policy applied by the service layer; see docs/taxii.md.
"""

from ._app import ROOT, allowed_methods, create_taxii_app, error_response, no_taxii_endpoint
from ._media import STIX, TAXII

__all__ = ["ROOT", "STIX", "TAXII", "allowed_methods", "create_taxii_app", "error_response", "no_taxii_endpoint"]
