"""Execution engines: streaming, partitioned (out of core), worker pools and Spark."""
