"""The NATS side of cluster mode: one connection, the streams and buckets it needs, and
`persist`, which retries a JetStream call through the moments a cluster has no leader.

A JetStream cluster answers "no responders" or times out while a stream elects a leader (a
node was killed, or the stream was just created); those are waits, not failures, for a service
that must not lose a file. Everything else is raised.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.kv import KeyValue

from wats_converter.cluster.settings import ClusterConfig

log = logging.getLogger(__name__)
T = TypeVar("T")
PRIORITIES = range(10, 0, -1)  # the converters' priority 1-10, most urgent first
TRANSIENT: tuple[type[BaseException], ...] = (
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.OutboundBufferLimitError,
    nats.js.errors.NoStreamResponseError,
    nats.js.errors.ServiceUnavailableError,
    asyncio.TimeoutError,
)
RETRY_MAX_S = 2.0
IN_PROCESS = 10158  # "duplicate message id is in process": another node publishes it right now


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, TRANSIENT):
        return True
    # some APIError subclasses (KeyNotFoundError) are raised without an err_code
    return getattr(exc, "err_code", None) == IN_PROCESS


def raise_if_cancelling() -> None:
    """Re-raise a cancellation that a library turned into one of its own errors: a retry loop
    that took it for a NATS hiccup would keep a stopping node running for ever."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def persist(what: str, call: Callable[[], Awaitable[T]], attempts: int = 0) -> T:
    """`await call()`, again after a short wait while the cluster cannot answer (for ever when
    `attempts` is 0)."""
    delay, tried = 0.05, 0
    while True:
        try:
            return await call()
        except Exception as exc:
            raise_if_cancelling()
            if not _transient(exc):
                raise
            tried += 1
            if attempts and tried >= attempts:
                raise
            if tried in (3, 30) or tried % 300 == 0:
                log.warning("NATS cannot %s yet (%s); retrying", what, type(exc).__name__)
            await asyncio.sleep(delay)
            delay = min(RETRY_MAX_S, delay * 2)


@dataclass
class JetStream:
    """The connection and the cluster's shared state: the work stream (one consumer per
    priority), the handled, claims and nodes buckets."""

    nc: Client
    js: JetStreamContext
    handled: KeyValue
    claims: KeyValue
    nodes: KeyValue
    consumers: dict[int, JetStreamContext.PullSubscription]

    async def close(self) -> None:
        await self.nc.close()


def subject(cfg: ClusterConfig, priority: int) -> str:
    return f"{cfg.subject_prefix}.p{priority}"


async def connect(cfg: ClusterConfig) -> JetStream:
    """Connect, then create (or adopt) the streams, buckets and consumers; waits for a leader."""
    nc = await nats.connect(
        servers=list(cfg.servers),
        error_cb=_connection_error,
        disconnected_cb=_disconnected,
        reconnected_cb=_reconnected,
        name=f"wats-converter {cfg.node}",
        user_credentials=str(cfg.credentials) if cfg.credentials else None,
        token=cfg.token,
        max_reconnect_attempts=-1,  # a node keeps trying; its files wait on the shared storage
        reconnect_time_wait=0.5,
        connect_timeout=5,
    )
    js = nc.jetstream(timeout=5)
    await persist("create the work stream", lambda: _work_stream(js, cfg))
    handled, claims, nodes = [
        await persist(f"create bucket {name}", partial(_bucket, js, cfg, name, ttl))
        for name, ttl in (
            (cfg.handled_bucket, cfg.handled_ttl_s),
            (cfg.claims_bucket, cfg.ack_wait_s),
            (cfg.nodes_bucket, cfg.node_ttl_s),
        )
    ]
    consumers = {
        p: await persist(f"bind consumer p{p}", partial(_consumer, js, cfg, p)) for p in PRIORITIES
    }
    return JetStream(nc, js, handled, claims, nodes, consumers)


async def _connection_error(exc: Exception) -> None:
    # the client reconnects on its own; a line, not a traceback, per failed attempt
    log.warning("NATS connection: %s: %s", type(exc).__name__, exc)


async def _disconnected() -> None:
    log.warning("NATS connection lost; reconnecting (files wait on the shared storage)")


async def _reconnected() -> None:
    log.info("NATS connection restored")


async def _work_stream(js: JetStreamContext, cfg: ClusterConfig) -> None:
    config = StreamConfig(
        name=cfg.work_stream,
        subjects=[f"{cfg.subject_prefix}.>"],
        retention=RetentionPolicy.WORK_QUEUE,  # an acknowledged item is gone
        storage=StorageType.FILE,
        num_replicas=cfg.replicas,
        duplicate_window=cfg.duplicate_window_s,
        max_age=cfg.work_max_age_s,
    )
    try:
        await js.add_stream(config)
    except nats.js.errors.BadRequestError:
        await js.update_stream(config)  # created by another node, maybe with other settings


async def _bucket(js: JetStreamContext, cfg: ClusterConfig, name: str, ttl: float) -> KeyValue:
    try:
        return await js.key_value(name)
    except nats.js.errors.BucketNotFoundError:
        config = KeyValueConfig(bucket=name, ttl=ttl, replicas=cfg.replicas, history=1)
        return await js.create_key_value(config)


async def _consumer(
    js: JetStreamContext, cfg: ClusterConfig, priority: int
) -> JetStreamContext.PullSubscription:
    durable = f"{cfg.work_stream}_p{priority}"
    config = ConsumerConfig(
        durable_name=durable,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=cfg.ack_wait_s,
        max_deliver=-1,  # a file is never given up by the queue: the pipeline decides its fate
        filter_subject=subject(cfg, priority),
        max_ack_pending=-1,
    )
    return await js.pull_subscribe(
        subject(cfg, priority), durable=durable, stream=cfg.work_stream, config=config
    )
