"""Filing a report the server refused (400, 413, ...) in its converter's error folder: the
body as `<id>.json` with a `.error` naming its source, taken out of the outbox in one step.

A refused report is refused again, so it is not retried; only a failure to file it (the
error folder cannot be written) leaves it in the outbox, for delivery to try again.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from wats_converter.errors import ReportRejected, StorageError
from wats_converter.logs import FileOutcome
from wats_converter.pipeline.error_folder import quarantine
from wats_converter.pipeline.retry_schedule import PendingReport
from wats_converter.storage.outbox import Outbox

log = logging.getLogger(__name__)
REJECTED_HINT = (
    "The server refused this report and will refuse it again. Fix the source file or the "
    "converter, then drop the file in again (or `errors requeue`)."
)


async def file_rejected(outbox: Outbox, item: PendingReport, exc: ReportRejected) -> Path | None:
    """Move the refused report from `outbox` to its error folder, off the event loop; None
    if that cannot be done now (it stays in the outbox)."""
    try:
        info = item.rejection(exc, REJECTED_HINT)
        moved = await outbox.take_out(
            item.report_id,
            functools.partial(
                quarantine, folder=item.error_folder, info=info, name=f"{item.report_id}.json"
            ),
        )
    except (OSError, StorageError) as err:
        log.error(
            "report %s rejected (%s) but cannot move it to %s: %s; it stays in %s",
            item.report_id,
            exc,
            item.error_folder,
            err,
            outbox.folder,
        )
        return None
    log.error(
        "report %s rejected by the server: %s -> %s",
        item.report_id,
        exc,
        moved,
        extra=item.log_fields(FileOutcome.REJECTED),
    )
    return moved
