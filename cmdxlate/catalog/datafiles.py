"""The catalog's JSON files, read by plain path (``importlib.resources`` alone costs
more at start-up than every read a command makes)."""

from __future__ import annotations

import json
import os

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below
if TYPE_CHECKING:
    from typing import Any

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def read_json(*parts: str) -> Any:
    with open(os.path.join(DATA, *parts), "rb") as f:
        return json.loads(f.read())
