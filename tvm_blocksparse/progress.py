"""Progress of long steps (import, passes, build, bucket compiles, tuning): INFO records on the
``tvm_blocksparse`` logger, and the caller's callable too where one is given.

A library user sees them with ``logging.basicConfig(level=logging.INFO)``; the CLI prints them
on stderr. Nothing here prints by itself: a quiet process stays quiet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

logger = logging.getLogger("tvm_blocksparse")


def reporter(progress: Callable[[str], None] | None = None) -> Callable[[str], None]:
    """``say(msg)`` for one call of a long step: ``logger.info(msg)``, then ``progress(msg)``
    when ``progress`` is given (e.g. a progress bar's ``set_description``)."""

    def say(msg: str) -> None:
        logger.info(msg)
        if progress is not None:
            progress(msg)

    return say
