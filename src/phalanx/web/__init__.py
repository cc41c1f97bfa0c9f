"""The HTTP face of a node (an ASGI app): health, and a JSON read of objects for API-key holders.

    >>> from phalanx.web import create_app
"""

from ._app import create_app

__all__ = ["create_app"]
