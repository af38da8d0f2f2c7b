"""Offramp: an anonymous forum with honest outcome statistics."""

__version__ = "0.1.0"
