"""The stages of one file's way through the service, one module each, in flow order.

```
watch folder
  │  watcher.py       FileWatcher: file-system events, a latency hint only
  │  scanner.py       Scanner: the startup scan, then periodic ones: the truth (scan policy)
  ▼                   each file routed to a converter by converters/registry.py
work_queue.py         WorkQueue: priority, then arrival; each path once; delayed files apart
  ▼
worker_pool.py        WorkerPool: ready? -> convert -> deliver -> post-process, per file
  │  readiness.py     settled? (Settling), room on the pending disk? (DiskSpace)
  │  isolation_gate.py  a suspect file's conversion runs alone
  │  attempt_starts.py  the attempts of conversions starting together: one journal commit
  │  failure_filing.py  what a failed or unclaimed file's `.error` says; given up after attempts
  │  runners.py       ThreadRunner / ProcessRunner (worker_process.py): where converters run
  │  conversion.py    converter -> station defaults -> per-unit ids -> finalized reports
  ▼
delivery.py           Delivery: POST now, or into the outbox (storage/outbox.py) and retried
  │  concurrency.py   how many POSTs may be in flight (AdaptiveLimit), the hand-over (HandOff)
  │  retry_schedule.py  backoff of pending reports;  id_locks.py: one task per report id
  │  server_gate.py   the outage gate, the pause and its probe
  │  rejection.py     a report the server refused: to its error folder, with its `.error`
  ▼
post_process.py       PostProcessor: DELETE | MOVE | ZIP | KEEP, once the reports are safe
error_folder.py       quarantine: the file (or report) and its `.error`, when it cannot go on
```

The stages know nothing of each other's construction: `service.py` builds and wires them.
Durable local state is in `storage/`, the converters and their routing in `converters/`.
"""
