"""Cluster mode: several wats-converter nodes share watch folders on shared storage through a
NATS JetStream cluster (docs/cluster.md). Chosen by a `cluster:` section in the config; without
one, nothing here is imported and NATS is not needed."""
