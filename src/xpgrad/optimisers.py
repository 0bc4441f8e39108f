"""``xpgrad.optimisers``: Descent, Momentum, Adam, setup and update (see ``api/optimisers.py``)."""

from .api.optimisers import Adam, Descent, Leaf, Momentum, setup, update

__all__ = ["Descent", "Momentum", "Adam", "Leaf", "setup", "update"]
