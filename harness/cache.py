"""Where the harness keeps what it downloads or derives once (model weights, ML-IAP exports,
model metadata). Never inside an installed package; the first rule that applies:

1. ``$HARNESS_CACHE``;
2. ``potentials/.cache`` of the source checkout the harness is imported from (an editable
   install), when that ``potentials/`` is writable: where the cache has always been in a
   checkout (git-ignored);
3. the user cache directory (platformdirs: ``~/.cache/harness`` on Linux, or
   ``$XDG_CACHE_HOME/harness``), shared by every project of the user.
"""

from __future__ import annotations

import os
from pathlib import Path

APP = "harness"


def cache_root() -> Path:
    """The cache folder by the rules above (not created)."""
    env = os.environ.get("HARNESS_CACHE")
    if env:
        return Path(env).expanduser().resolve()  # absolute: job scripts change directory
    from .config.project import checkout_root

    checkout = checkout_root()
    if checkout is not None and os.access(checkout / "potentials", os.W_OK):
        return checkout / "potentials" / ".cache"
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP, appauthor=False))


def cache_dir(*parts: str) -> Path:
    """The cache folder (created), or a sub-folder of it.

    Parameters
    ----------
    *parts
        Sub-folder names below the cache root (``"mliap"``, ``"metadata"``).

    Returns
    -------
    Path
        The existing folder.
    """
    path = cache_root().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
