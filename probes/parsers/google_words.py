"""Words Google writes on its result pages, by language: how a parser (and the browser probe, which waits and
clicks by them) recognises an AI Overview, its "Show more" control, its "could not generate" notice and the
headings of the other SERP features, without relying on class names, which change often. Lower-case,
compared after whitespace is collapsed (`normalized`)."""

from __future__ import annotations

# The heading of an AI Overview block.
OVERVIEW_HEADINGS: tuple[str, ...] = (
    "ai overview",  # en
    "ai 概览",  # zh-CN
    "ai 摘要",  # zh-TW
    "ai-übersicht", "übersicht mit ki",  # de
    "aperçu ia", "aperçu de l'ia", "aperçu de l’ia", "aperçus ia", "aperçu généré par l'ia",  # fr
    "resumen creado con ia", "vista creada con ia", "resumen de ia", "resumen de ia generado",  # es
    "ai による概要",  # ja
    "ai-översikt",  # sv
    "panoramica ai", "panoramica creata con l'ia",  # it
    "visão geral criada por ia",  # pt
    "ai 개요",  # ko
)

# The heading of an AI Mode page's answer (udm=50).
AI_MODE_HEADINGS: tuple[str, ...] = ("ai mode", "ai 模式", "ki-modus", "mode ia", "modo ia", "ai モード")

# How an AI Mode page repeats the question above its answer (not part of the answer).
QUERY_ECHOES: tuple[str, ...] = ("you said", "您说", "你说", "du hast gesagt", "vous avez dit", "has dicho", "あなた:")

# The control that reveals the rest of an overview (and its hidden sources).
SHOW_MORE_LABELS: tuple[str, ...] = (
    "show more", "show more ai overview",
    "显示更多", "展开更多", "顯示更多",
    "mehr anzeigen", "afficher plus", "plus", "mostrar más", "もっと見る", "さらに表示",
)

# What a page says where an overview was asked for but could not be written (an observation with no answer).
# Google keeps these in every page's overview header, hidden: only a visible one counts.
NOT_GENERATED: tuple[str, ...] = (
    "an ai overview is not available for this search",
    "ai overview is not available for this search",
    "can't generate an ai overview right now. try again later.",
    "can't generate an ai overview right now",
    "can't generate an ai overview",
    "couldn't generate an ai overview",
    "无法针对此搜索生成 ai 概览",
    "目前无法生成 ai 概览。请稍后重试。",
    "für diese suche ist keine übersicht mit ki verfügbar",
    "für diese suche ist keine ai-übersicht verfügbar",
    "aucun aperçu ia n'est disponible pour cette recherche",
    "no hay un resumen creado con ia disponible para esta búsqueda",
    "この検索では ai による概要を利用できません",
)

# Headings of the other SERP features, by feature name (probes.base); exact headings, not substrings.
FEATURE_HEADINGS: dict[str, tuple[str, ...]] = {
    "people_also_ask": ("people also ask", "相关问题", "其他人还问了以下问题", "ähnliche fragen", "autres questions posées",
                        "más preguntas", "他の人はこちらも質問", "andra frågar också", "relaterade frågor"),
    "video": ("videos", "short videos", "视频", "短视频", "videos ansehen", "vidéos", "vídeos", "動画", "videor"),
    "images": ("images", "图片", "bilder", "imágenes", "画像"),
    "top_stories": ("top stories", "news", "热门新闻", "schlagzeilen", "à la une", "noticias destacadas",
                    "トップニュース", "huvudnyheter"),
    "local_pack": ("places", "businesses", "地点", "orte", "lieux", "sitios", "場所", "platser"),
    "shopping": ("popular products", "shopping", "products", "sponsored products", "beliebte produkte",
                 "produits populaires", "productos populares"),
    "featured_snippet": ("featured snippet from the web", "about featured snippets"),
    "knowledge_panel": ("knowledge result",),
}

# Headings of blocks whose links are not organic results, though no feature this project names.
OTHER_BLOCK_HEADINGS: tuple[str, ...] = (
    "explore brands", "buying guide", "things to know", "perspectives", "discussions and forums",
    "what people are saying", "from sources across the web", "related searches", "people also search for",
    "refine this search", "latest posts", "find results on",
)

# Labels of ad blocks.
SPONSORED_LABELS: tuple[str, ...] = ("sponsored", "ad", "ads", "sponsored results", "赞助商广告", "广告",
                                     "gesponsert", "anzeige", "sponsorisé", "annonce", "patrocinado", "スポンサー",
                                     "sponsrad", "annons")


def normalized(text: str) -> str:
    """Text as the tables above hold it: lower-case, whitespace collapsed, ends trimmed.

    str.split() splits on exactly the characters `\\s` matches in a str pattern (str.isspace), and is
    several times faster than re.sub + strip on the thousands of short texts a page holds."""
    return " ".join(text.split()).lower()
