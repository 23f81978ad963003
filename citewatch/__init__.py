"""What every citewatch package shares: the error tree, the status vocabulary and the identity of a page URL.

`monitor`, `probes` and `storage` all import this package and it imports none of
them, nor any third-party library, so each can be loaded without the others.
"""
