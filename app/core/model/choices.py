"""What a model's first run measured, remembered per model id in the data dir: later runs skip
the measuring (the int8-against-float32 check of the image tower, the short-text check of the
text tower), which costs a float32 tower in memory and seconds at every start."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from ..tempfiles import temp_beside

log = logging.getLogger(__name__)


class ModelChoices:
    """One small JSON file: {model id: {name: value}}."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def get(self, model_id: str) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # none yet, or damaged: measure again
            return {}
        found = data.get(model_id) if isinstance(data, dict) else None
        return found if isinstance(found, dict) else {}

    def remember(self, model_id: str, **values) -> None:
        """Add `values` to the model's record (atomically; a failure only costs a measurement later)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            data = data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            data = {}
        data[model_id] = {**(data.get(model_id) or {}), **values}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = temp_beside(self.path)
            Path(tmp).write_text(json.dumps(data, indent=1), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as e:
            log.info("cannot remember the choices for %s: %s", model_id, e)
