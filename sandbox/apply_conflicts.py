"""The ``409 Conflict`` of a server-side apply or update, as the field manager words it
(``merge.Conflicts`` through ``internal.NewConflictError``); ``sandbox.applying`` raises it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sandbox import fieldsets
from sandbox.wire import ApiError

if TYPE_CHECKING:
    from sandbox.applying import Entry
    from sandbox.fieldsets import Path


class Conflicts(Exception):
    def __init__(self, conflicts: list[tuple[Entry, Path]]) -> None:
        super().__init__(f"{len(conflicts)} conflicts")
        self.conflicts = conflicts

    def error(self) -> ApiError:
        """NewConflictError: 409 Conflict, one cause per field, as the API server words it."""
        conflicts = self.conflicts
        if len(conflicts) == 1:
            entry, path = conflicts[0]
            message = (
                f"Apply failed with 1 conflict: conflict with {entry.printed()}: {fieldsets.path_text(path)}"
            )
        else:
            lines = []
            for printed in sorted({json.dumps(list(e.key)): e for e, _ in conflicts}.items()):
                entry = printed[1]
                lines.append(f"conflicts with {entry.printed()}:")
                lines += [f"- {fieldsets.path_text(p)}" for e, p in conflicts if e.key == entry.key]
            message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
        error = ApiError(409, "Conflict", message)
        error.body["details"] = {
            "causes": [
                {
                    "reason": "FieldManagerConflict",
                    "message": f"conflict with {entry.printed()}",
                    "field": fieldsets.path_text(path),
                }
                for entry, path in conflicts
            ]
        }
        return error
