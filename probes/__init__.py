"""Probes: one module per engine kind (network I/O only) with pure parsers in `probes.parsers`."""
