"""``beet path A B``: from one track to another through the sound space (see setbuild.py)."""

from .setbuild import make_path as make
from .setbuild import run_path as run

__all__ = ["make", "run"]
