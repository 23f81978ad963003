"""One error tree for citewatch; the CLI turns these into messages and exit codes.

    CitewatchError
    ├── ConfigError        bad or missing config.yaml / environment (exit 2)
    ├── StorageError       database unreachable or schema problem (exit 3)
    └── UsageError         bad command-line input, e.g. a malformed date (exit 2)

Probe and parser failures are not errors of the program: they are recorded as
observations with status `error` (see `probes.base.ProbeError`, `ParseError`).
"""


class CitewatchError(Exception):
    exit_code = 1


class ConfigError(CitewatchError):
    exit_code = 2

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []

    def __str__(self) -> str:
        head = super().__str__()
        return "\n".join([head, *("  - " + p for p in self.problems)])


class StorageError(CitewatchError):
    exit_code = 3


class UsageError(CitewatchError):
    exit_code = 2
