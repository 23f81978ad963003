"""Words Google writes on its result pages, by language: how a parser (and the browser probe, which waits and
clicks by them) recognises an AI Overview, its "Show more" control and its "could not generate" notice
without relying on class names, which change often. Lower-case, compared after whitespace is collapsed."""

from __future__ import annotations

# The heading of an AI Overview block.
OVERVIEW_HEADINGS: tuple[str, ...] = (
    "ai overview",  # en
    "ai 概览",  # zh-CN
    "ai 摘要",  # zh-TW
    "übersicht mit ki",  # de
    "aperçu ia", "aperçu de l'ia", "aperçus ia",  # fr
    "resumen creado con ia", "vista creada con ia", "resumen de ia",  # es
    "ai による概要",  # ja
)

# The control that reveals the rest of an overview (and its hidden sources).
SHOW_MORE_LABELS: tuple[str, ...] = (
    "show more", "show more ai overview",
    "显示更多", "展开更多", "顯示更多",
    "mehr anzeigen", "afficher plus", "plus", "mostrar más", "もっと見る", "さらに表示",
)

# What a page says where an overview was asked for but could not be written (an observation with no answer).
NOT_GENERATED: tuple[str, ...] = (
    "an ai overview is not available for this search",
    "ai overview is not available for this search",
    "can't generate an ai overview",
    "couldn't generate an ai overview",
    "无法针对此搜索生成 ai 概览",
    "für diese suche ist keine übersicht mit ki verfügbar",
)
