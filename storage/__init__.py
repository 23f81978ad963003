"""Storage: SQLModel tables, engines and sessions, the repository (the only code that queries), migrations."""
