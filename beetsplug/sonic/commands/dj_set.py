"""``beet set POOL_QUERY``: an N-track set along an energy curve (see setbuild.py)."""

from .setbuild import make_set as make
from .setbuild import run_set as run

__all__ = ["make", "run"]
