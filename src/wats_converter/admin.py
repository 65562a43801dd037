"""What the operator commands do (`errors ...`, `pending ...`, `init`): plain functions over the
folders of a config, usable with or without a running service."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from wats_converter.config import Config
from wats_converter.pipeline.error_folder import ERROR_SUFFIX, error_folders, read_error
from wats_converter.status import request_retry
from wats_converter.storage.durable import move_no_overwrite, write_private
from wats_converter.storage.outbox import OutboxEntry, body_path, put_back, queued_reports


@dataclass(frozen=True)
class FailedFile:
    path: Path
    detail: dict[str, object]

    @property
    def name(self) -> str:
        return self.path.name


def failed_files(config: Config) -> list[FailedFile]:
    """Every quarantined file with its `.error` detail, oldest first."""
    out = []
    for folder in error_folders(config):
        for error in folder.glob(f"*{ERROR_SUFFIX}"):
            target = error.with_name(error.name[: -len(ERROR_SUFFIX)])
            try:
                detail = read_error(error)
            except (OSError, ValueError):
                detail = {"exception": "unreadable .error file"}
            out.append(FailedFile(target, detail))
    return sorted(out, key=lambda f: str(f.detail.get("timestamp", "")))


def find_failed(config: Config, name: str) -> FailedFile:
    for failed in failed_files(config):
        if name in (failed.name, str(failed.path)):
            return failed
    raise LookupError(f"no file named {name!r} in the error folders; `errors list` shows them")


def requeue(config: Config, failed: FailedFile) -> Path:
    """Put a failed file back where it is processed again, and drop its `.error`.

    A report the server rejected goes back to the outbox (keeping its source, converter and
    this error folder); a source file goes back to the watch folder it came from (or the first
    converter's, if that is unknown).
    """
    report_id = failed.detail.get("report_id")
    if report_id:
        entry = OutboxEntry(
            str(report_id),
            source=str(failed.detail.get("source_folder") or ""),
            converter=str(failed.detail.get("converter") or ""),
            error_folder=str(failed.path.parent),
        )
        target = put_back(config.pending_folder, failed.path, entry)
        if config.state_dir.is_dir():  # a running service takes it up within a second
            request_retry(config.state_dir, entry.report_id)
    else:
        folder = Path(str(failed.detail.get("source_folder") or ""))
        if not folder.is_dir():
            folder = config.enabled_converters()[0].watch_folder
        target = move_no_overwrite(failed.path, folder)
        now = time.time()
        os.utime(target, (now, now))  # a fresh file: offered at once, judged as new
    failed.path.with_name(failed.path.name + ERROR_SUFFIX).unlink(missing_ok=True)
    return target


def pending_reports(config: Config) -> list[tuple[Path, float, dict[str, object]]]:
    """Pending reports (oldest first) with their age in seconds and a few header fields."""
    out = []
    for path in queued_reports(config.pending_folder):
        age = 0.0
        try:  # the running service may send and remove any of them while we look
            age = time.time() - path.stat().st_mtime
            doc = json.loads(path.read_bytes())
            header = {k: doc.get(k) for k in ("sn", "pn", "result", "machineName")}
        except FileNotFoundError:
            continue
        except (OSError, ValueError):
            header = {"sn": "(unreadable)"}
        out.append((path, age, header))
    return sorted(out, key=lambda item: -item[1])


def is_pending(config: Config, report_id: str) -> bool:
    """Whether a report with this id waits in the pending folder."""
    return body_path(config.pending_folder, report_id).exists()


STARTER_CONFIG = """\
# wats-converter configuration. Relative folders are relative to this file.
# Check it with:  wats-converter check-config --config {name}
# Run it with:    wats-converter run --config {name}

server:
  url: embedded                 # your WATS server, e.g. https://yourcompany.wats.com
  # token: <token from WATS Control Panel > Tokens>
  # token_env: WATS_TOKEN       # or read the token from this environment variable
  timeout_s: 60

station:
  name: {station}
  location: Unknown
  purpose: Production

pending_folder: data/pending    # converted reports waiting for the server: back this up
archive_folder: data/archive    # ZIP post-processing writes here
error_folder: data/error        # rejected reports (and files of converters without one)
max_workers: 4

health:                         # /health, /ready and Prometheus /metrics
  enabled: true
  host: 127.0.0.1               # loopback only; 0.0.0.0 lets a collector on the network scrape
  port: 9464

converters:
  - name: WSJF files
    class_name: WSJFConverter
    priority: 5
    watch_folder: data/watch
    patterns: ["*.json"]
    done_folder: data/done
    error_folder: data/error
    post_process_action: MOVE   # DELETE, MOVE, ZIP or KEEP

  - name: CSV files
    class_name: CSVConverter
    priority: 5
    watch_folder: data/watch
    patterns: ["*.csv"]
    done_folder: data/done
    error_folder: data/error
    post_process_action: MOVE
    settings: {{delimiter: ",", decimal: "."}}

  # NI TestStand reports: ATML and TestStand XML files may share one folder (each file goes
  # to the converter that recognises its root element; WSXF may join them)
  # - name: TestStand ATML
  #   class_name: ATMLConverter
  #   watch_folder: data/watch/teststand
  #   done_folder: data/done
  #   settings: {{timezone: Europe/Oslo, revision: A}}
  # - name: TestStand XML
  #   class_name: TestStandXMLConverter
  #   watch_folder: data/watch/teststand
  #   done_folder: data/done
  #   settings: {{timezone: Europe/Oslo, part_number: PCBA-100}}

  # In-circuit, flying-probe and boundary-scan testers (docs/converters/<name>.md): one folder
  # each, outside data/watch (the CSV entry there would claim SPEA logs too); local times are
  # read in `timezone`; fields the files lack come from settings
  # - name: Teradyne GR228X ICT
  #   class_name: GR228XConverter
  #   watch_folder: data/testers/gr228x
  #   done_folder: data/done
  #   settings: {{timezone: Europe/Oslo, revision: A}}
  # - name: Teradyne Spectrum ICT
  #   class_name: SpectrumConverter
  #   watch_folder: data/testers/spectrum
  #   done_folder: data/done
  #   settings: {{timezone: Europe/Oslo}}
  # - name: SPEA 3030 ICT
  #   class_name: SPEAConverter
  #   watch_folder: data/testers/spea
  #   post_process_action: KEEP   # the tester appends run after run to one file
  #   settings: {{timezone: Europe/Oslo, part_number: PCBA-100}}
  # - name: Takaya flying probe
  #   class_name: TakayaConverter
  #   watch_folder: data/testers/takaya
  #   done_folder: data/done
  #   settings: {{timezone: Europe/Oslo}}
  # - name: XJTAG boundary scan
  #   class_name: XJTAGConverter
  #   watch_folder: data/testers/xjtag
  #   done_folder: data/done
  #   settings: {{part_number: PCBA-100, revision: A}}

  # Your own converter: a module on PYTHONPATH and its class
  # - name: Line 3
  #   module_path: my_company.converters.line3
  #   class_name: Line3Converter
  #   enabled: false
  #   watch_folder: data/watch/line3
  #   post_process_action: ZIP
"""


def write_starter_config(path: Path, station: str) -> None:
    """Write the starter config, readable by its owner only (0600): the token goes in it."""
    if path.exists():
        raise FileExistsError(f"{path} exists; it was not changed")
    write_private(path, STARTER_CONFIG.format(name=path.name, station=station).encode())
