"""`citewatch serve`: the read-only web view (Starlette on uvicorn)."""

from monitor.web.settings import DEFAULT_TOKEN_ENV, serve_settings

__all__ = ["DEFAULT_TOKEN_ENV", "make_app", "serve_settings"]


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    # make_app loads Starlette and the database layer: only a caller that serves pays for it
    if name == "make_app":
        from monitor.web.app import make_app

        return make_app
    raise AttributeError(name)
