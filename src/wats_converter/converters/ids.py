"""Report ids that stay the same when the same unit is converted again.

The server overwrites a report posted again under the same id, so a deterministic id turns every
re-send (after a crash, a lost answer, a re-dropped file, a log that grew) into an overwrite
instead of a duplicate. A converter whose file carries an id (TestStand `ReportInfo ID`, ATML
`TestResults@uuid`) sets `report.id` from it. A converter whose file holds several units, or
grows while the tester works, derives each unit's id from what identifies that unit with
`unit_id`, never from the whole file's content, so the id of unit 3 does not change when unit 4
is appended.
"""

from __future__ import annotations

import uuid

# Fixed namespace for report ids: changing it would re-identify every report ever converted.
REPORT_ID_NAMESPACE = uuid.UUID("6c7f3c1e-2f0a-5b1e-9d3a-8e4b2a7c5f10")


def unit_id(converter_name: str, *parts: object) -> uuid.UUID:
    """A deterministic report id from the converter's name and what identifies one unit.

    Pass what tells this unit apart from every other unit the converter could ever read, for
    example `unit_id(self.display_name, serial, start.isoformat(), index_in_file)`. The same
    parts always give the same id; any other parts give another.
    """
    key = "\x00".join([converter_name, *(str(p) for p in parts)])
    return uuid.uuid5(REPORT_ID_NAMESPACE, key)
