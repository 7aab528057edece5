"""Playlist Manager's native local stack: PostgreSQL, Redis, Kafka, SeaweedFS and the services, no Docker.

Entry points: ``python -m pm_devstack`` (the CLI), :mod:`pm_devstack.stack` (connection details and
service environments for tests and tools) and the reusable server classes in
:mod:`pm_devstack.kafka`, :mod:`pm_devstack.redis`, :mod:`pm_devstack.postgres`, :mod:`pm_devstack.s3`.
"""
