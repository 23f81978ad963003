"""citewatch: AI search visibility monitor."""

__version__ = "0.1.0"
