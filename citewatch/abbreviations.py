"""Words whose period ends the word, not the sentence: "St. Louis", "Apex Inc. and", "U.S. data", "Jan. 2026".

One list for the parsers' cited spans (`probes.parsers.markers`) and the analysis' sentences
(`monitor.analysis.sentences`), so that both cut answer text at the same places. A change here changes
the spans of both Perplexity parsers: bump their PARSER_VERSION.
"""

from __future__ import annotations

# Lowercase, without the final period. "etc." is left out: it ends sentences more often than not.
ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr",  # people
    "st", "mt",  # places
    "inc", "ltd", "co", "corp", "dept", "est",  # organisations
    "vs", "no", "fig", "approx",  # references
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",  # months
    "e.g", "i.e", "u.s", "u.k", "u.s.a",  # dotted
})
