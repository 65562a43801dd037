"""Durable local state: atomic writes, the journal of handled files, the instance lock and the outbox."""
