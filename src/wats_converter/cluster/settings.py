"""The `cluster:` section of the config: where the NATS servers are and how this node takes part.

Plain settings only (no NATS import), so single-machine configs validate without the client.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")  # valid in a stream, bucket, KV key and folder name


class ClusterConfig(BaseModel):
    """Cluster mode; every node of one cluster uses the same streams, buckets and converters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    servers: tuple[str, ...] = Field(min_length=1)
    """NATS URLs (`nats://host:4222`); the client fails over between them."""
    credentials: Path | None = None
    """A NATS `.creds` file (user JWT and NKey seed), if the servers require one."""
    token: str | None = Field(default=None, repr=False)
    node: str = Field(default_factory=lambda: socket.gethostname().split(".")[0])
    """This node's name: unique in the cluster; names its pending folder and status entry."""
    work_stream: str = "WATS_WORK"
    subject_prefix: str = "wats.work"
    handled_bucket: str = "wats_handled"
    claims_bucket: str = "wats_claims"
    nodes_bucket: str = "wats_nodes"
    replicas: int = Field(default=3, ge=1, le=5)
    ack_wait_s: float = Field(default=60.0, gt=0)
    """A node that stops confirming a file for this long is taken as dead: the file goes to
    another node. Nodes renew their claim every third of it while they convert."""
    duplicate_window_s: float = Field(default=24 * 3600.0, gt=0)
    """Repeated scans of a file within this time add no second work item. Keep it longer than
    the longest time a file waits in the backlog."""
    handled_ttl_s: float = Field(default=30 * 24 * 3600.0, gt=0)
    """How long a handled file's identity is remembered (KEEP files are not converted again)."""
    work_max_age_s: float = Field(default=30 * 24 * 3600.0, gt=0)
    """Retention of the work stream: an item no node took within this time is dropped."""
    heartbeat_s: float = Field(default=2.0, gt=0)
    node_ttl_s: float = Field(default=15.0, gt=0)
    """A node silent this long is dead: its pending reports are adopted by a live node."""
    stale_temp_s: float = Field(default=600.0, gt=0)
    """Temp files in the shared output folders older than this are an interrupted write."""

    @field_validator("node", "work_stream", "handled_bucket", "claims_bucket", "nodes_bucket")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME_RE.match(value):
            raise ValueError(f"{value!r}: use letters, digits, '-' and '_' only")
        return value
