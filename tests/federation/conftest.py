from tests.federation.sites import sites

__all__ = ["sites"]
