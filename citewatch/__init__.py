"""What every citewatch package shares: the error tree (`errors`), the status vocabulary (`status`), the
identity of a page URL (`urls`) and the abbreviations that do not end a sentence (`abbreviations`).

`monitor`, `probes` and `storage` all import this package and it imports none of
them, nor any third-party library, so each can be loaded without the others.
"""
