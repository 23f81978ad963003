"""Pure parsers: raw payload bytes -> `probes.base.Answer`. No network, database or notification imports."""
