"""Durable local state: atomic writes, the handled-files journal, the instance lock, the outbox."""
