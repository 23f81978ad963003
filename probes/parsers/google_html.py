"""Parser for Google result pages as a browser shows them (kind ``google_browser``).

Input: a `RawResult` whose parts are the HTML page before expanding the AI Overview (``before``,
text/html), optionally the page after clicking "Show more" (``after``) and a screenshot (image/png,
ignored); bare bytes are one saved page (``citewatch parse --kind google_browser page.html``). Output: a
`probes.base.Answer`.

Google's markup changes often and its class names are generated, so this parser leans on what pages
keep saying rather than how they are styled (see realdata/FORMATS.md, "Google result pages"):

- The AI Overview is found by its heading *text* (`google_words.OVERVIEW_HEADINGS`, several languages),
  shown (not inside ``display:none``); its block is the nearest ancestor of the heading that holds the
  overview's content. Its text is what follows the heading there, in reading order; buttons (source
  chips, "Show more", "Dive deeper in AI Mode"), ARIA carousels (``role=list``) and hidden parts are
  left out. Its sources are its outbound links in page order (the sources tray and carousel keep
  Google's own order), one per page. The overview is read from the most complete snapshot (``after``
  when present); sources already in ``before`` are visible, those only in ``after`` were revealed by
  "Show more" (visible=False). Links written in the overview's prose tie their text to the source
  (spans).
- Every page carries the "could not generate" notices hidden in the overview header: only a shown one
  makes the observation NO_ANSWER.
- Organic results are links holding a heading (``h3`` in the 2019–2024 and basic pages, an ARIA heading
  in 2026 mobile pages), numbered in page order from 1; ads (``/aclk``, ``googleadservices``, the ad
  containers), Google's own pages, and links inside the overview or a SERP feature block (Videos, Top
  stories, People also ask...) are not counted. Google's basic no-script page wraps links as
  ``/url?q=<target>``: they are unwrapped.
- SERP features come from their headings' text and a few long-lived markers (``related-question-pair``,
  ``pla-unit``, ``kp-wholepage``, ad containers), each named once in page order.
- An AI Mode page (``udm=50`` in the page's own search form) is its answer: the text and its sources.
- A consent interstitial, a CAPTCHA or the "unusual traffic" /sorry/ page is BLOCKED with the reason,
  never "no AI Overview"; empty or non-HTML bytes raise ParseError.

Speed: the page is parsed once with lxml (libxml2); the short text nodes that can be labels are
collected in one XPath pass and the rest is read from the few containers they point at. Ids come from
libxml2's id table, markers from one read of the class attributes (concatenated in C where the page has
no results list), snippets from the attributes of a result's own few elements, result links' URLs
without urlsplit where their shape allows; Python walks only a result's own few elements. What lxml
charges for shapes the code: children and ancestors are walked by getnext()/getparent() (an iterator
object costs more than the few elements a result walks), attribute names are given as bytes, string
tests are made in Python on what one XPath walk returns rather than in XPath predicates, and whitespace
is collapsed without a split where there is none to collapse. bs4 only finds a declared encoding where
the bytes are not UTF-8. See bench/google_html_parser.py.

Pure: lxml, bs4's encoding detector, `probes.base`, `probes.parsers.common`.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from bs4.dammit import EncodingDetector
from lxml import etree

from citewatch.errors import ParseError
from citewatch.raw import RawPart, RawResult, as_result
from citewatch.status import BLOCKED, NO_ANSWER, OK
from probes.base import (
    ADS,
    AI_MODE,
    AI_OVERVIEW,
    FEATURED_SNIPPET,
    IMAGES,
    KNOWLEDGE_PANEL,
    LOCAL_PACK,
    PEOPLE_ALSO_ASK,
    SHOPPING,
    Answer,
    Citation,
    OrganicResult,
)
from probes.parsers.common import SourceList, citation_key
from probes.parsers.google_words import (
    AI_MODE_HEADINGS,
    FEATURE_HEADINGS,
    NOT_GENERATED,
    OTHER_BLOCK_HEADINGS,
    OVERVIEW_HEADINGS,
    QUERY_ECHOES,
    SPONSORED_LABELS,
    normalized,
)

# Bump when the output for the same raw page changes, so old observations can be found and re-parsed.
PARSER_VERSION = 1

BEFORE = "before"
AFTER = "after"

# --- reading the bytes ------------------------------------------------------------------------------

_HTML_START = re.compile(rb"<(?:!doctype\s+html|html|head|body)\b", re.IGNORECASE)
_LIBXML = {}  # encoding -> etree.HTMLParser (reused: building one per page costs more than it saves)


def _html_parser(encoding: str) -> etree.HTMLParser:
    parser = _LIBXML.get(encoding)
    if parser is None:
        parser = _LIBXML[encoding] = etree.HTMLParser(encoding=encoding, remove_comments=True, remove_pis=True,
                                                      no_network=True, recover=True, huge_tree=True,
                                                      collect_ids=True)  # `_first_with_id` reads that table
    return parser


_UTF8_DECODER = codecs.getincrementaldecoder("utf-8")
_UTF8_CHUNK = 8192


def _is_utf8(data: bytes) -> bool:
    """Whether the bytes are valid UTF-8. A large page is decoded a few KB at a time (the decoder carries a
    character cut at a chunk's end over to the next): the same answer as one decode, in less time, as no
    megabyte-long string is built."""
    if data.isascii():
        return True
    try:
        if len(data) < 8 * _UTF8_CHUNK:
            data.decode("utf-8")
        else:
            decode = _UTF8_DECODER().decode
            view = memoryview(data)
            for start in range(0, len(data), _UTF8_CHUNK):
                decode(view[start:start + _UTF8_CHUNK])
            decode(b"", True)  # (a character left unfinished at the end is an error)
    except UnicodeDecodeError:
        return False
    return True


def _encoding(data: bytes) -> str:
    """UTF-8 where the bytes are (every page a browser saves today); else the page's declared charset.

    The declaration is read first (a regex over the first 2 KB, a few µs): a page declaring UTF-8 is read
    as UTF-8 whether its bytes are or not, so only other pages have their bytes checked (a decode of the
    whole page, about 0.4 ms a MB)."""
    declared = EncodingDetector.find_declared_encoding(data[:16384], is_html=True)
    if declared == "utf-8" or _is_utf8(data):
        return "utf-8"
    return declared or "windows-1252"


def _document(data: Any, what: str) -> etree._Element:
    """The root of an HTML page; ParseError for what is no page (empty, binary, JSON, plain text)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ParseError(f"expected the {what} as bytes, got {type(data).__name__}")
    data = bytes(data)
    if not data or data.isspace():  # (no copy of the page, unlike strip())
        raise ParseError(f"empty {what}: expected a Google result page (HTML)")
    if data.find(b"\x00", 0, 4096) != -1 or _HTML_START.search(data, 0, 65536) is None:  # (no copy of the head)
        start = data[:60].decode("utf-8", "replace").strip()
        raise ParseError(f"the {what} is not an HTML page; starts with {start!r}")
    try:
        root = etree.fromstring(data, _html_parser(_encoding(data)))
    except (etree.ParserError, etree.XMLSyntaxError, ValueError, LookupError) as exc:
        raise ParseError(f"the {what} could not be read as HTML ({exc.__class__.__name__}: {exc})") from exc
    if root is None or not isinstance(root.tag, str):
        raise ParseError(f"the {what} holds no HTML document")
    return root


_BY_ID = etree.XPath("id($name)")
_WITH_ID = etree.XPath("//*[@id=$name]")


def _first_with_id(root: etree._Element, name: str) -> etree._Element | None:
    """The first element in page order whose id is `name`.

    libxml2 files the ids it parses in a table (lxml's collect_ids), which answers without walking the
    tree. The table also files `<a name=...>` and keeps only the first of duplicates, so an entry that is
    not an `id="name"` sends us on the walk."""
    found = _BY_ID(root, name=name)
    if not found:
        return None
    if found[0].get("id") == name:
        return found[0]
    walked = _WITH_ID(root, name=name)
    return walked[0] if walked else None


# --- what a page says -------------------------------------------------------------------------------

# The texts that can be labels: those outside scripts and styles (the long texts of scripts stay in libxml2).
# Labels are short (under 160 characters), tested in Python, where a string's length costs nothing: in XPath,
# string-length copies each text (a third of this walk's time). One predicate with `or` tests each text's
# parent once; `/descendant::` is `//` without its node() step, a quarter faster.
_LABEL_TEXTS = etree.XPath("//body/descendant::text()[not(parent::script or parent::style)]")
# The same texts with those of scripts and styles: the parent test costs a third of the walk, and Google's basic
# page has little script (pages with a results list hold far more, as text: there the test is made in C).
_BODY_TEXTS = etree.XPath("//body/descendant::text()")
_LABEL_LENGTH = 160
_HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "img", "input", "textarea", "select",
                        "button", "iframe", "object", "canvas", "video", "audio", "g-img"})
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)


def _hides(style: str) -> bool:
    """Whether a style attribute hides its element (`_HIDDEN_STYLE`). The regex search (a third of a µs) is
    made only where the lower-cased style holds "none" or "dden": every text it matches does, as no letter
    but N, O, E, D matches n, o, e, d without regard to case (not so for i and s, which match ı and ſ)."""
    lowered = style.lower()
    return ("none" in lowered or "dden" in lowered) and _HIDDEN_STYLE.search(style) is not None


_FEATURE_OF_LABEL = {label: feature for feature, labels in FEATURE_HEADINGS.items() for label in labels}

# What each label means, in one table (one lookup per text of the page); where a text is in several
# lists, the first kind named here wins.
_OVERVIEW, _NOT_GENERATED, _AI_MODE, _FEATURE, _SPONSORED, _OTHER_BLOCK = range(6)
_LABEL_KIND: dict[str, int] = {}
for _kind, _words in ((_OVERVIEW, OVERVIEW_HEADINGS), (_NOT_GENERATED, NOT_GENERATED), (_AI_MODE, AI_MODE_HEADINGS),
                      (_FEATURE, tuple(_FEATURE_OF_LABEL)), (_SPONSORED, SPONSORED_LABELS),
                      (_OTHER_BLOCK, OTHER_BLOCK_HEADINGS)):
    for _label in _words:
        _LABEL_KIND.setdefault(_label, _kind)


def _hidden(element: etree._Element) -> bool:
    """Whether the element or an ancestor is hidden from the reader (display:none, hidden, aria-hidden)."""
    node: etree._Element | None = element
    while node is not None:
        if node.get("hidden") is not None or node.get("aria-hidden") == "true":
            return True
        style = node.get("style")
        if style and _hides(style):
            return True
        node = node.getparent()
    return False


def _is_heading(element: etree._Element) -> bool:
    return element.tag in _HEADING_TAGS or element.get("role") == "heading" or element.get("aria-level") is not None


def _heading_of(element: etree._Element) -> etree._Element | None:
    """The heading a label's text sits in: the element itself or one of its two nearest ancestors."""
    node: etree._Element | None = element
    for _ in range(3):
        if node is None:
            return None
        if _is_heading(node):
            return node
        node = node.getparent()
    return None


def _in_link(element: etree._Element) -> bool:
    return next(element.iterancestors("a"), None) is not None


@dataclass
class _Labels:
    """The label-like texts of a page, each with the element holding it, in page order."""

    overview: list[etree._Element] = field(default_factory=list)
    ai_mode: list[etree._Element] = field(default_factory=list)
    not_generated: list[etree._Element] = field(default_factory=list)
    features: list[tuple[str, etree._Element]] = field(default_factory=list)
    sponsored: list[etree._Element] = field(default_factory=list)
    other_blocks: list[etree._Element] = field(default_factory=list)  # headings of blocks that are no results


# The first word of each label: a text whose first word is none of these is no label. (The first word of
# normalized(text) is the text's first word, lower-cased: lower() makes no space and takes none away, and
# what it makes of a letter depends on nothing past the space after its word.)
_LABEL_FIRST_WORDS = frozenset(label.split()[0] for label in _LABEL_KIND)


def _labels(root: etree._Element, scripts_in_python: bool) -> _Labels:
    """The page's labels. `scripts_in_python`: read the texts of scripts and styles too (`_BODY_TEXTS`), and
    leave out those found to be labels here (few texts get that far)."""
    labels = _Labels()
    kind_of = _LABEL_KIND.get
    first_words = _LABEL_FIRST_WORDS
    for text in (_BODY_TEXTS if scripts_in_python else _LABEL_TEXTS)(root):
        if len(text) >= _LABEL_LENGTH:
            continue
        # Most texts are sentences, links, numbers: their first word (split once) tells them apart, at a
        # quarter of the cost of normalizing the whole text.
        first = text.split(None, 1)
        if not first or first[0].lower() not in first_words:
            continue
        words = " ".join(text.split()).lower()  # normalized(text), inlined
        kind = kind_of(words)
        if kind is None:
            continue
        parent = text.getparent()  # (for a tail, lxml gives the element it follows)
        if parent is None:
            continue
        if scripts_in_python:
            holder = parent.getparent() if text.is_tail else parent
            if holder is not None and holder.tag in ("script", "style"):
                continue
        if kind == _OVERVIEW:
            labels.overview.append(parent)
        elif kind == _NOT_GENERATED:
            labels.not_generated.append(parent)
        elif kind == _AI_MODE:
            labels.ai_mode.append(parent)
        elif kind == _SPONSORED:
            labels.sponsored.append(parent)
        else:  # a feature's or another block's heading
            heading = _heading_of(parent)
            if heading is not None and not _in_link(heading):
                if kind == _FEATURE:
                    labels.features.append((_FEATURE_OF_LABEL[words], heading))
                else:
                    labels.other_blocks.append(heading)
    return labels


def _text_of(element: etree._Element) -> str:
    """The element's readable text (scripts, styles and hidden parts left out), whitespace collapsed."""
    pieces: list[str] = []
    _collect_text(element, pieces)
    return _collapsed(" ".join(pieces))


def _collapsed(text: str) -> str:
    """`" ".join(text.split())`, without the split (a word object for each word) where each whitespace
    character stands alone between words and is a space or a no-break space, as in most titles and snippets:
    then it is the text with its no-break spaces made spaces. (A printable text holds no whitespace but the
    space: every other whitespace character is a control or a separator.)"""
    plain = text.replace("\xa0", " ")
    if plain.isprintable() and "  " not in plain and plain[:1] != " " and plain[-1:] != " ":
        return plain
    return " ".join(text.split())


def _collect_text(element: etree._Element, pieces: list[str]) -> None:
    """`_inline_pieces` into a list: a plain recursion, without a generator at each level of the tree."""
    tag = element.tag
    if tag in _SKIP_TAGS or not isinstance(tag, str):
        return
    # (attribute names as bytes: lxml then skips encoding the name, a third of the time of a get())
    style = element.get(b"style")
    if element.get(b"aria-hidden") == "true" or (style and _hides(style)):
        return
    text = element.text
    if text:
        pieces.append(text)
    # The children by getnext(), not an iterator: lxml builds an iterator object for each element walked (a
    # third of this walk's time); a leaf, the most common element under a title or snippet, needs neither.
    if len(element):
        child: etree._Element | None = element[0]
        while child is not None:
            _collect_text(child, pieces)
            tail = child.tail
            if tail:
                pieces.append(tail)
            child = child.getnext()


def _inline_pieces(element: etree._Element) -> Iterator[str]:
    if element.tag in _SKIP_TAGS or not isinstance(element.tag, str):
        return
    style = element.get("style")
    if element.get("aria-hidden") == "true" or (style and _hides(style)):
        return
    if element.text:
        yield element.text
    for child in element:
        yield from _inline_pieces(child)
        if child.tail:
            yield child.tail


# --- blocked pages ----------------------------------------------------------------------------------

_RECAPTCHA = etree.XPath("//script[contains(@src, 'recaptcha')] | //iframe[contains(@src, 'recaptcha')]"
                         " | //*[contains(concat(' ', @class, ' '), ' g-recaptcha ')]")
_CONSENT_FORM = etree.XPath("//form[contains(@action, 'consent.google.')]")
_RESULT_IDS = ("rso", "search", "center_col", "main")
_UNUSUAL_TRAFFIC = "unusual traffic"
_CONSENT_TITLES = ("before you continue", "bevor sie fortfahren", "avant d'accéder", "antes de continuar",
                   "在继续操作之前", "続行する前に", "innan du fortsätter")


def _has_captcha_form(forms: list[etree._Element]) -> bool:
    return any(form.get("id") == "captcha-form" or "/sorry/" in (form.get("action") or "") for form in forms)


def _has_ai_mode_form(forms: list[etree._Element]) -> bool:
    """Whether a form holds the field udm=50 (AI Mode): `//form//input[@name='udm' and @value='50']`, read from
    the page's few forms."""
    return any(field.get("name") == "udm" and field.get("value") == "50"
               for form in forms for field in form.iter("input"))


# Normal pages mention "/sorry/" in their scripts: only these signs send a page to the closer look.
_BLOCK_SIGNS = (b"captcha", b"consent.google.")  # "captcha-form", "recaptcha"; the unusual-traffic page has both


def _blocked_reason(root: etree._Element, data: bytes, forms: list[etree._Element]) -> str | None:
    """Why this page is no result page: Google's unusual-traffic page, a CAPTCHA or its consent page.

    A page with a results list, no CAPTCHA form and no consent title is a result page, whatever else it
    holds (the ids are looked up, not walked for). Otherwise the bytes are searched (about 0.5 ms a MB): a
    page showing none of the signs is not read for them."""
    title_element = root.find("head/title")
    title = normalized(title_element.text or "") if title_element is not None else ""
    if "/sorry/" in title:
        return "Google's unusual-traffic page (/sorry/)"
    captcha_form = _has_captcha_form(forms)
    consent_title = any(title.startswith(t) for t in _CONSENT_TITLES)
    has_results = any(_first_with_id(root, name) is not None for name in _RESULT_IDS)
    if has_results and not captcha_form and not consent_title:
        return None
    if not any(sign in data for sign in _BLOCK_SIGNS):
        return None
    body = root.find("body")
    if captcha_form:
        if body is not None and _UNUSUAL_TRAFFIC in normalized(_text_of(body)):
            return "Google's unusual-traffic page (/sorry/): CAPTCHA"
        return "Google's CAPTCHA page (/sorry/)"
    consent = bool(_CONSENT_FORM(root)) and consent_title
    if has_results:
        return "Google's consent page (consent.google.com, \"Before you continue\")" if consent else None
    if _RECAPTCHA(root):
        return "a CAPTCHA page (reCAPTCHA)"
    if consent or _CONSENT_FORM(root) or any(title.startswith(t) for t in _CONSENT_TITLES):
        return "Google's consent page (consent.google.com, \"Before you continue\")"
    if body is not None and _UNUSUAL_TRAFFIC in normalized(_text_of(body))[:2000]:
        return "Google's unusual-traffic page"
    return None


# --- links ------------------------------------------------------------------------------------------

_GOOGLE_HOST = re.compile(r"^(?:www\.)?google\.[a-z.]{2,6}$|^(?:accounts|support|policies|maps|consent|myactivity|"
                          r"webcache|translate|lens|search|adservice|news)\.google(?:usercontent)?\.[a-z.]{2,6}$|"
                          r"(?:^|\.)googleadservices\.com$|(?:^|\.)gstatic\.com$|(?:^|\.)doubleclick\.net$|"
                          r"^webcache\.googleusercontent\.com$|^search\.app\.goo\.gl$")


def _is_google_host(host: str) -> bool:
    # Every host _GOOGLE_HOST knows holds one of these words: testing them first spares nearly every host the
    # regex search, which tries the alternatives at each position of the host.
    return ("goo" in host or "gstatic" in host or "doubleclick" in host) and _GOOGLE_HOST.search(host) is not None


# The two shapes nearly every result link has, read without urlsplit and parse_qs (which cost more than
# the rest of a result): an http(s) URL whose host is only letters, digits, dots and dashes (no port, user
# or IPv6 address), and Google's "/url?" wrapper. Others, and any with a tab or newline (urlsplit drops
# those), take the general path; both give the same answer.
_PLAIN_URL = re.compile(r"https?://([A-Za-z0-9.-]+)(/[^?#]*)?(?=[?#]|\Z)")


def _target(href: str | None) -> str | None:
    """The page a result link leads to: `/url?q=` and `/url?url=` unwrapped; None for Google's own links,
    ads, in-page and script links."""
    if not href:
        return None
    href = href.strip()
    if "/aclk" in href or "googleadservices" in href:
        return None
    if "\t" not in href and "\n" not in href and "\r" not in href:
        if href.startswith("/url?"):
            wrapped = _first_q(href) if href.startswith("/url?q=") else None
            if wrapped is not None and "%" not in wrapped and "+" not in wrapped:
                # The URL as it stands in `href` (nothing to unquote): it holds no ad sign, tab or newline
                # either, so of `_target(wrapped)` only the plain-URL test is left to make.
                if not wrapped.startswith(("http://", "https://")):
                    return None
                url = wrapped.strip()
                plain = _PLAIN_URL.match(url)
                if plain is not None and plain.group(2) != "/url":
                    return None if _is_google_host(plain.group(1).lower()) else url
                return _target(wrapped)
            if wrapped is not None:
                wrapped = unquote(wrapped.replace("+", " "))
            else:
                wrapped = _wrapped_url(href[5:].partition("#")[0])
            return _target(wrapped) if wrapped and wrapped.startswith(("http://", "https://")) else None
        plain = _PLAIN_URL.match(href)
        if plain is not None and plain.group(2) != "/url":
            return None if _is_google_host(plain.group(1).lower()) else href
    try:
        parts = urlsplit(href)
        host = (parts.hostname or "").lower()
    except ValueError:  # "https://[bad": no URL a reader could follow
        return None
    if parts.path == "/url" and (not host or _GOOGLE_HOST.match(host)):
        query = parse_qs(parts.query)
        wrapped = (query.get("q") or query.get("url") or [None])[0]
        return _target(wrapped) if wrapped and wrapped.startswith(("http://", "https://")) else None
    if parts.scheme not in ("http", "https") or not host:
        return None
    if _is_google_host(host):
        return None
    return href


def _first_q(href: str) -> str | None:
    """For Google's usual wrapper, "/url?q=<URL>&...": the value of its first parameter, q, as it stands (not
    unquoted), read in place (no split of the query); None where that value is blank (then `_wrapped_url`
    reads the query). `_wrapped_url` gives the value unquoted, "+" as space."""
    end = href.find("&", 7)  # the pair ends at the next "&", the query at a "#"
    if end == -1:
        end = len(href)
    at = href.find("#", 7, end)
    if at != -1:
        end = at
    return href[7:end] or None


def _wrapped_url(query: str) -> str | None:
    """What `parse_qs(query)` gives as the first "q", else the first "url" (blank values are skipped, names
    and values unquoted with "+" as space), without building the whole mapping."""
    url_value = None
    for pair in query.split("&"):
        name, equals, value = pair.partition("=")
        if not equals or not value:
            continue
        if "%" in name or "+" in name:
            name = unquote(name.replace("+", " "))
        if name == "q":
            return unquote(value.replace("+", " "))
        if name == "url" and url_value is None:
            url_value = value
    return None if url_value is None else unquote(url_value.replace("+", " "))


# --- the overview -----------------------------------------------------------------------------------

_BLOCK_TAGS = frozenset({"div", "p", "section", "article", "header", "footer", "aside", "main", "nav", "blockquote",
                         "pre", "figure", "figcaption", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6",
                         "ul", "ol", "li", "table", "tr", "form", "fieldset", "details", "summary", "hr"})
_LIST_TAGS = frozenset({"ul", "ol", "table", "dl"})
_SKIP_IN_OVERVIEW = frozenset({"button", "h1", "script", "style", "noscript", "template", "svg", "img", "input",
                               "textarea", "select", "iframe", "canvas", "video", "audio"})
_SKIP_ROLES = frozenset({"button", "alert", "dialog", "menu", "tooltip", "progressbar"})
_SPACES = re.compile(r"\s+")


class _TextWriter:
    """Writes an overview as Answer.text wants it: paragraphs and headings are blocks, the items of a list
    (rows of a table) lines of its block, blocks separated by a blank line; and where its links' text is."""

    def __init__(self) -> None:
        self.blocks: list[list[str]] = []
        self.line = ""
        self.line_links: list[tuple[int, int, int]] = []  # (link number, start, end) within self.line
        self.list_depth = 0
        self.list_block: list[str] | None = None
        self.link_places: dict[int, tuple[int, int, int, int]] = {}  # link number -> block, line, start, end

    def write(self, text: str) -> None:
        piece = _SPACES.sub(" ", text)
        if not self.line or self.line.endswith(" "):
            piece = piece.lstrip(" ")
        self.line += piece

    def link(self, number: int, text: str) -> None:
        self.write(" " if text[:1].isspace() else "")
        start = len(self.line)
        self.write(text.strip())
        end = len(self.line)
        self.write(" " if text[-1:].isspace() else "")
        if end > start:
            self.line_links.append((number, start, end))

    def end_line(self) -> None:
        line = self.line.rstrip(" ")
        links, self.line, self.line_links = self.line_links, "", []
        if not line:
            return
        if self.list_depth:
            if self.list_block is None:
                self.list_block = []
                self.blocks.append(self.list_block)
            block = self.list_block
        else:
            block = []
            self.blocks.append(block)
        block.append(line)
        for number, start, end in links:
            self.link_places[number] = (len(self.blocks) - 1, len(block) - 1, start, min(end, len(line)))

    def open_list(self) -> None:
        self.end_line()
        if not self.list_depth:
            self.list_block = None
        self.list_depth += 1

    def close_list(self) -> None:
        self.end_line()
        self.list_depth -= 1
        if not self.list_depth:
            self.list_block = None

    def text_and_spans(self) -> tuple[str, dict[int, tuple[int, int]]]:
        self.end_line()
        starts: list[list[int]] = []
        offset = 0
        for block in self.blocks:
            line_starts = []
            for line in block:
                line_starts.append(offset)
                offset += len(line) + 1  # the newline after a line
            starts.append(line_starts)
            offset += 1  # the second newline after a block
        spans = {number: (starts[b][li] + s, starts[b][li] + e) for number, (b, li, s, e) in self.link_places.items()}
        return "\n\n".join("\n".join(block) for block in self.blocks), spans


@dataclass
class _Overview:
    text: str
    sources: list[tuple[str, str | None, tuple[int, int] | None]]  # url, title, span of text, in page order


def _read_overview(block: etree._Element, heading: etree._Element | None) -> _Overview:
    """What `block` holds after `heading`, in reading order: the text, and every outbound link (source
    tiles and carousels, the sources tray, links in the prose) in page order."""
    writer = _TextWriter()
    links: list[tuple[str, str | None, bool]] = []  # url, title, written in the prose
    started = heading is None

    def walk(element: etree._Element, in_carousel: bool) -> None:
        nonlocal started
        tag = element.tag
        if not isinstance(tag, str) or tag in ("script", "style", "noscript", "template", "svg"):
            return
        if element is heading:
            started = True
            return
        style = element.get("style")
        if element.get("hidden") is not None or (style and _hides(style)):
            return
        if not started:
            for child in element:
                walk(child, in_carousel)
            return
        role = element.get("role")
        if tag == "a":
            url = _target(element.get("href"))
            if url is not None:
                if in_carousel or _link_is_tile(element):
                    links.append((url, _tile_title(element), False))
                    return
                number = len(links)
                links.append((url, _text_of(element) or None, True))
                writer.link(number, "".join(_inline_pieces(element)))
                return
        if tag in _SKIP_IN_OVERVIEW or role in _SKIP_ROLES or element.get("aria-hidden") == "true":
            for anchor in element.iter("a"):  # controls hold no prose, but may hold a source's link
                url = _target(anchor.get("href"))
                if url is not None and not _hidden(anchor):
                    links.append((url, _tile_title(anchor), False))
            return
        if role == "heading" and normalized(_text_of(element)).startswith(QUERY_ECHOES):  # "You said: <query>"
            return
        if in_carousel or (role == "list" and tag not in _LIST_TAGS):  # a carousel of tiles: sources, no prose
            for child in element:
                walk(child, True)
            return
        is_block = tag in _BLOCK_TAGS or tag == "br"
        is_list = tag in _LIST_TAGS
        if is_list:
            writer.open_list()
        elif is_block:
            writer.end_line()
        if element.text:
            writer.write(element.text)
        for child in element:
            walk(child, False)
            if child.tail and started:
                writer.write(child.tail)
        if is_list:
            writer.close_list()
        elif is_block:
            writer.end_line()
        if tag in ("td", "th"):
            writer.write(" | ")

    walk(block, False)
    text, spans = writer.text_and_spans()
    text = text.replace(" | \n", "\n")
    text = text.removesuffix(" |")
    sources = [(url, title, spans.get(number) if prose else None)
               for number, (url, title, prose) in enumerate(links)]
    return _Overview(text=text, sources=sources)


def _link_is_tile(anchor: etree._Element) -> bool:
    """A link drawn as a card (a source or news tile) rather than written in a sentence."""
    return any(isinstance(child.tag, str) and child.tag in _BLOCK_TAGS for child in anchor.iterdescendants())


def _tile_title(anchor: etree._Element) -> str | None:
    label = (anchor.get("aria-label") or "").strip()
    if label and label.lower() != "undefined":
        return label
    for element in anchor.iterdescendants():
        if isinstance(element.tag, str) and _is_heading(element):
            text = _text_of(element)
            if text:
                return text
    for piece in _inline_pieces(anchor):  # the first text a card shows is its title
        text = " ".join(piece.split())
        if text:
            return text
    return None


class _Classes:
    """Every class attribute of a page, read once for the markers and the parts holding no results.

    libxml2 reads attribute nodes (`//@class`) much faster than it tests elements' attributes
    (`//*[contains(@class, ...)]` copies the value for every test, about 2 µs an element for seven names).
    The values are joined into one text, searched with str.find (far faster than a regex alternation);
    where a match falls tells whose value it is in.

    A page with a results list (#rso) nearly always holds a marker: there the values are read at once, as
    smart strings that know their elements (`elements_wanted`). Elsewhere (Google's basic page) libxml2 first
    concatenates them (EXSLT str:concat, in C: no Python object for each value or its element): a name
    absent from the concatenation is in no value, and the values are read only once a name is found in it."""

    _ALL = etree.XPath("//@class")  # smart strings: each knows its element
    _CONCATENATED = etree.XPath("str:concat(//@class)", namespaces={"str": "http://exslt.org/strings"},
                                smart_strings=False)

    def __init__(self, root: etree._Element, elements_wanted: bool) -> None:
        self._root = root
        self.values: list[Any] | None = None
        self.joined = ""
        self._concatenated: str | None = None
        self._absent: set[str] = set()  # names found in no value (each text searched once)
        if elements_wanted:
            self._read()
        else:
            self._concatenated = self._CONCATENATED(root)

    def _read(self) -> None:
        self.values = self._ALL(self._root)
        self.joined = "\x00".join(self.values)  # libxml2 values hold no NUL: no match spans two values

    def containing(self, names: tuple[str, ...]) -> list[etree._Element]:
        """The elements whose class value holds one of `names` (as a substring), in page order."""
        if self.values is None:
            concatenated = self._concatenated or ""
            if all(name in self._absent or name not in concatenated for name in names):
                self._absent.update(names)
                return []
            self._read()
        assert self.values is not None
        starts: list[int] = []
        for name in names:
            at = self.joined.find(name)
            while at != -1:
                starts.append(at)
                at = self.joined.find(name, at + 1)
        if not starts:
            return []
        # a match is in the value numbered by the separators before it (counted once over the text, in C)
        indices: list[int] = []
        index = position = 0
        for at in sorted(starts):
            index += self.joined.count("\x00", position, at)
            position = at
            if not indices or indices[-1] != index:
                indices.append(index)
        return [self.values[index].getparent() for index in indices]


# --- the page ---------------------------------------------------------------------------------------

# (`descendant::` is `.//` without its node() step: a third faster; a node-set compared with a string, one
# string test an attribute, rather than a predicate evaluated for every element)
_RESULT_LINKS = etree.XPath("descendant::a[@href][descendant::h3 or descendant::*/@role = 'heading']")
# Markers are found from attribute nodes (`//@id[...]`, `//@data-initq`, `_Classes`), which libxml2 reads
# far faster than it tests elements' attributes; the exact checks are made in Python on the few elements
# found (`_marker_feature`).
_MARKER_IDS = ("tads", "tadsb", "bottomads", "tvcap", "imagebox_bigimages", "iur", "lu_map", "rhs")
_QUESTIONS = etree.XPath("//@data-initq")
_MARKER_CLASSES = ("related-question-pair", "pla-unit", "commercial-unit", "kp-wholepage", "kp-blk", "xpdopen",
                   "VkpGBb")
_AD_IDS = frozenset({"tads", "tadsb", "bottomads", "tvcap"})
_OUTSIDE_RESULTS_IDS = frozenset({"rhs", "botstuff", "tads", "tadsb", "bottomads", "tvcap", "searchform", "hdr",
                                  "top_nav", "appbar", "foot", "footcnt", "fbar", "sfooter"})
_OUTSIDE_RESULTS_CLASSES = ("commercial-unit", "pla-unit", "uEierd")
# The marker ids and the ids of parts holding no results, from one walk over the id attributes (page order;
# another walk, for data-text-ad, would cost more than it saves on large pages). The names are tested in
# Python: twenty string tests in the XPath cost two to four times the walk.
_IDS = etree.XPath("//@id")
_MARKED_ID_NAMES = frozenset({*_MARKER_IDS, *_OUTSIDE_RESULTS_IDS})


def _class_marked(classes: _Classes, root: etree._Element) -> list[etree._Element]:
    """Elements whose class holds a marker (page order), then those holding a People-also-ask question."""
    marked = classes.containing(_MARKER_CLASSES)
    questions = [value.getparent() for value in _QUESTIONS(root)]
    if questions:
        seen = set(marked)
        marked += [element for element in questions if element not in seen]
    return marked


def _feature_markers(root: etree._Element, classes: _Classes, data: bytes, marked_ids: list[Any],
                     ad_link: etree._Element | None) -> list[tuple[etree._Element, str]]:
    """Elements whose markup (not words) says which SERP feature they are, with that feature: the outermost
    of nested ones, id markers first (an id marker inside a class-marked element is kept)."""
    ids = (value.getparent() for value in marked_ids if value in _MARKER_IDS)
    by_id = [(e, f) for e in ids if (f := _marker_feature(e)) is not None]
    by_class = [(e, f) for e in _class_marked(classes, root) if (f := _marker_feature(e)) is not None]
    id_marked = {element for element, _ in by_id}
    marked = id_marked | {element for element, _ in by_class}
    # (their order within each kind does not matter: features are sorted by page order)
    found = [(e, f) for e, f in by_id if not any(a in id_marked for a in e.iterancestors())]
    found += [(e, f) for e, f in by_class if not any(a in marked for a in e.iterancestors())]
    # (the bytes are searched only once a link is found; the answer is the same as searching them first)
    if ad_link is not None and (b"/aclk" in data or b"googleadservices" in data):
        found.append((ad_link, ADS))
    return found


def _forms_and_ad_link(root: etree._Element) -> tuple[list[etree._Element], etree._Element | None]:
    """The page's forms, and its first link to an ad (/aclk, googleadservices), in one walk: iter() filters
    by tag in C, faster than an XPath walk, which tests every element in turn."""
    forms: list[etree._Element] = []
    ad_link = None
    for element in root.iter("form", "a"):
        if element.tag == "form":
            forms.append(element)
        elif ad_link is None:
            href = element.get(b"href")  # (the name as bytes: see _collect_text)
            if href is not None and ("/aclk" in href or "googleadservices" in href):
                ad_link = element
    return forms, ad_link


def _page_order(element: etree._Element) -> tuple[int, ...]:
    """Where an element is in page order: the child indices from the root down to it (sortable)."""
    path = []
    node = element
    parent = node.getparent()
    while parent is not None:
        path.append(parent.index(node))
        node, parent = parent, parent.getparent()
    return tuple(reversed(path))


def _marker_feature(element: etree._Element) -> str | None:
    classes = f" {element.get('class') or ''} "
    element_id = element.get("id") or ""
    if element_id in _AD_IDS:
        return ADS if element.find(".//a[@href]") is not None else None
    if " related-question-pair " in classes or element.get("data-initq") is not None:
        return PEOPLE_ALSO_ASK
    if "pla-unit" in classes or "commercial-unit" in classes:
        return SHOPPING
    if element_id in ("imagebox_bigimages", "iur"):
        return IMAGES
    if " xpdopen " in classes:
        return FEATURED_SNIPPET if _FEATURED(element) else None
    if element_id == "lu_map" or " VkpGBb " in classes:
        return LOCAL_PACK
    if element_id == "rhs":
        return KNOWLEDGE_PANEL if element.find(".//*[@data-attrid]") is not None else None
    if " kp-wholepage " in classes or " kp-blk " in classes:
        return KNOWLEDGE_PANEL
    return None


_FEATURED = etree.XPath(".//*[contains(@class, 'c2xzTb')]")


class _Page:
    """One result page, read once."""

    def __init__(self, data: Any, what: str) -> None:
        self.root = _document(data, what)
        self.data = bytes(data)
        forms, ad_link = _forms_and_ad_link(self.root)
        self.blocked = _blocked_reason(self.root, self.data, forms)
        if self.blocked is not None:  # no result page: nothing more is read from it
            return
        rso = _first_with_id(self.root, "rso")
        # (pages with a results list carry long scripts; Google's basic page, without one, little)
        self.labels = _labels(self.root, scripts_in_python=rso is None)
        self.results_root = rso if rso is not None else self.root
        self.candidates = [a for a in _RESULT_LINKS(self.results_root)]
        self.overview_heading, self.overview_block, self.question_overview = self._find_overview()
        self.ai_mode = self.overview_block is None and _has_ai_mode_form(forms)
        self.classes = _Classes(self.root, elements_wanted=rso is not None)
        # (organic() reads them too)
        self.marked_ids = [value for value in _IDS(self.root) if value in _MARKED_ID_NAMES]
        self.markers = _feature_markers(self.root, self.classes, self.data, self.marked_ids, ad_link)

    # overview ----------------------------------------------------------------------------------------

    def _find_overview(self) -> tuple[etree._Element | None, etree._Element | None, bool]:
        """The overview's heading and block; and whether an overview answered a People-also-ask question."""
        in_question = False
        for heading in self.labels.overview:
            if _hidden(heading):
                continue
            if any("related-question-pair" in (a.get("class") or "") for a in heading.iterancestors()):
                in_question = True
                continue
            block = self._block_of(heading)
            if block is not None:
                return heading, block, in_question
        return None, None, in_question

    def _block_of(self, heading: etree._Element) -> etree._Element | None:
        """The highest ancestor of the heading that holds no organic result and no other feature's heading
        (the overview's own block, sources tray included); None when nothing visible follows the heading."""
        marked: set[etree._Element] = set()
        for element in [*self.candidates, *(h for _, h in self.labels.features)]:
            marked.update(element.iterancestors())
        block = heading
        for ancestor in heading.iterancestors():
            if ancestor in marked or ancestor.tag in ("body", "html") or ancestor is self.results_root or (
                    ancestor.get("id") in ("search", "center_col", "rcnt", "main", "res")):
                break
            block = ancestor
        return block if block is not heading else heading.getparent()

    def overview(self) -> _Overview | None:
        if self.overview_block is not None:
            return _read_overview(self.overview_block, self.overview_heading)
        if self.ai_mode:
            return _read_overview(self._ai_mode_block(), self._ai_mode_heading())
        return None

    def _ai_mode_heading(self) -> etree._Element | None:
        shown = [h for h in self.labels.ai_mode if not _hidden(h)]
        return shown[0] if shown else None

    def _ai_mode_block(self) -> etree._Element:
        for xpath in ("//*[@data-subtree='aimc']", "//*[@id='rcnt']", "//*[@id='main']", "//body"):
            found = self.root.xpath(xpath)
            if found:
                return found[0]
        return self.root

    def not_generated(self) -> bool:
        return any(not _hidden(element) for element in self.labels.not_generated)

    # organic ------------------------------------------------------------------------------------------

    def organic(self) -> list[OrganicResult]:
        # the parts whose links are no results: a set, so that a link's ancestors are checked in one C call
        outside = self._feature_blocks()
        outside.update(value.getparent() for value in self.marked_ids if value in _OUTSIDE_RESULTS_IDS)
        outside.update(self.classes.containing(_OUTSIDE_RESULTS_CLASSES))
        links_under, chain = _ancestry(self.candidates, outside)
        results: list[OrganicResult] = []
        seen: set[str] = set()
        for anchor in self.candidates:
            url = _target(anchor.get(b"href"))
            if url is None:  # (as are ad links by their href: /aclk, googleadservices)
                continue
            rewritten = anchor.get(b"data-rw")
            if rewritten is not None and "aclk" in rewritten:  # an ad
                continue
            parent = anchor.getparent()
            if parent is not None and chain[parent] & _EXCLUDED:
                continue
            key = citation_key(url)
            if key in seen:
                continue
            seen.add(key)
            results.append(OrganicResult(rank=len(results) + 1, url=url, title=_result_title(anchor),
                                         snippet=_snippet(anchor, links_under, chain)))
        return results

    def _feature_blocks(self) -> set[etree._Element]:
        """Blocks whose links are no organic results: the overview's and each SERP feature's (the block
        under the results list holding its heading)."""
        blocks: set[etree._Element] = set()
        if self.overview_block is not None:
            blocks.add(self.overview_block)
        for _, heading in self.labels.features:
            blocks.add(self._top_block(heading))
        for element, feature in self.markers:
            # a knowledge panel can hold the official site's result, which Google counts
            if element.tag != "a" and feature != KNOWLEDGE_PANEL:
                blocks.add(self._top_block(element))
        for heading in self.labels.other_blocks:
            blocks.add(self._top_block(heading))
        return blocks

    def _top_block(self, element: etree._Element) -> etree._Element:
        """The child of the results list that holds `element` (the element itself outside it)."""
        block = element
        for ancestor in element.iterancestors():
            if ancestor is self.results_root:
                return block
            block = ancestor
        return element

    # features -----------------------------------------------------------------------------------------

    def features(self, overview_shown: bool) -> list[str]:
        found: list[tuple[tuple[int, ...], str]] = []
        if self.ai_mode:
            found.append(((-1,), AI_MODE))
        if overview_shown and self.overview_heading is not None:
            found.append((_page_order(self.overview_heading), AI_OVERVIEW))
        if self.question_overview:
            found.append(((1 << 30,), "ai_overview_question"))
        for feature, heading in self.labels.features:
            if not _hidden(heading):
                found.append((_page_order(heading), feature))
        for element, feature in self.markers:
            found.append((_page_order(element), feature))
        for label in self.labels.sponsored:
            heading = _heading_of(label)
            if heading is not None and not _hidden(heading):
                found.append((_page_order(heading), ADS))
        names: list[str] = []
        for _, name in sorted(found, key=lambda pair: pair[0]):
            if name not in names:
                names.append(name)
        return names


def _first_h3(element: etree._Element) -> etree._Element | None:
    """`next(element.iterdescendants("h3"), None)`, by getnext() (lxml's iterator, with its tag matcher, costs
    more than the few elements between a result link and its title)."""
    child: etree._Element | None = element[0] if len(element) else None
    while child is not None:
        if child.tag == "h3":
            return child
        if len(child):
            found = _first_h3(child)
            if found is not None:
                return found
        child = child.getnext()
    return None


_EXCLUDED, _IN_LINK = 1, 2  # `_ancestry`'s answers, as bits of an int (no tuple for each ancestor)


def _ancestry(candidates: list[etree._Element], outside: set[etree._Element]
              ) -> tuple[dict[etree._Element, int], dict[etree._Element, int]]:
    """One walk up from each result link, by getparent() (no iterator object for each link), for two answers
    about their ancestors:

    - how many of the links each holds, counted up to 2 ("more than one" is all `_snippet` asks): a walk
      stops at the first ancestor already holding two, as its ancestors do too;
    - for each, whether it or one of its own ancestors is a part whose links are no results (`outside`) or
      a text ad's container (data-text-ad) (`_EXCLUDED`), and whether one is a link (`_IN_LINK`). The
      ancestors a walk is the first to reach are the nearest ones (an ancestor reached before has had its
      own ancestors reached too): they are judged from the top down, from the answer for the first ancestor
      reached before, so that every ancestor of every link is judged once."""
    links_under: dict[etree._Element, int] = {}
    known: dict[etree._Element, int] = {}
    for candidate in candidates:
        new: list[etree._Element] = []
        node = candidate.getparent()
        while node is not None and node not in links_under:
            links_under[node] = 1
            new.append(node)
            node = node.getparent()
        flags = known[node] if node is not None else 0
        while node is not None:
            if links_under[node] > 1:
                break
            links_under[node] = 2
            node = node.getparent()
        for node in reversed(new):  # from the highest ancestor not reached before down to the parent
            if node in outside or node.get(b"data-text-ad") is not None:
                flags |= _EXCLUDED
            if node.tag == "a":
                flags |= _IN_LINK
            known[node] = flags
    return links_under, known


def _result_title(anchor: etree._Element) -> str | None:
    heading = _first_h3(anchor)
    if heading is not None:
        return _text_of(heading) or None
    for element in anchor.iterdescendants():
        if isinstance(element.tag, str) and element.get("role") == "heading":
            return _text_of(element) or None
    return None


def _snippet(anchor: etree._Element, links_under: dict[etree._Element, int],
             chain: dict[etree._Element, int]) -> str | None:
    """The text Google shows under a result's title: the snippet block nearest the link (at most 7 levels up),
    within its result (no ancestor holding another result's link), not in a link. `links_under`, `chain`:
    `_ancestry`'s answers for the link's ancestors."""
    block = None
    node = anchor.getparent()
    for _ in range(7):
        if node is None or links_under.get(node, 0) > 1:
            break
        block = node
        node = node.getparent()
    if block is None:
        return None
    if chain[block] & _IN_LINK:  # the block or an ancestor is a link: everything below it is in the link
        return None
    return _first_snippet(block)


def _first_snippet(element: etree._Element) -> str | None:
    """The text of the first of the element's descendants (page order) that is one of Google's snippet
    containers (data-sncf="1", or a class holding VwiC3b, s3v9rd (basic page), or just "st") and holds text;
    none below a link (`_snippet` has made sure no link holds `element`). Read from the attributes of the
    few elements before it in its result, whose links (the result's title) are not walked: a page-wide index
    of the containers costs more than all these searches on a page of 100 results."""
    child: etree._Element | None = element[0] if len(element) else None
    while child is not None:  # (by getnext(), as in _collect_text)
        tag = child.tag
        if isinstance(tag, str):
            classes = child.get(b"class")  # (names as bytes: see _collect_text)
            if (classes is not None and ("VwiC3b" in classes or "s3v9rd" in classes or classes == "st")) or (
                    child.get(b"data-sncf") == "1"):
                text = _text_of(child)
                if text:
                    return text
            if tag != "a" and len(child):
                text = _first_snippet(child)
                if text is not None:
                    return text
        child = child.getnext()
    return None


# --- the parser -------------------------------------------------------------------------------------


def recognizes(body: dict[str, Any]) -> bool:
    """A result page is HTML, never a JSON payload: no decoded JSON body is this kind's."""
    return False


_PAGE_MARKERS = re.compile(rb"id=\"?(?:rso|search|captcha-form)\b|action=\"?(?:https?://www\.google\.[a-z.]+)?/search"
                           rb"|consent\.google\.|google\.[a-z.]+/sorry/|<title>[^<]*google", re.IGNORECASE)


def recognizes_page(raw: bytes) -> bool:
    """Whether bytes look like a Google result, /sorry/ or consent page (for `citewatch parse` without --kind)."""
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        return False
    head = bytes(raw[:2_000_000])
    return _HTML_START.search(head[:65536]) is not None and _PAGE_MARKERS.search(head) is not None


def _html_parts(result: RawResult) -> tuple[RawPart, RawPart | None]:
    pages = [part for part in result.parts if part.is_text]
    if not pages:
        raise ParseError("the result holds no HTML page (only images)")
    before = result.part(BEFORE)
    after = result.part(AFTER)
    if before is None or not before.is_text:
        before = next((p for p in pages if p.name != AFTER), pages[0])
    if after is not None and (after is before or not after.is_text):
        after = None
    return before, after


def parse(raw: RawResult | bytes) -> Answer:
    """Parse a Google result page (before and, when present, after "Show more") into an `Answer`."""
    try:
        result = as_result(raw)
    except TypeError as exc:
        raise ParseError(str(exc)) from exc
    before_part, after_part = _html_parts(result)
    before = _Page(before_part.data, f"page ({before_part.name})")
    if before.blocked is not None:
        return Answer(text="", status=BLOCKED, status_reason=before.blocked)
    after = _expanded(after_part)

    read_from = after if after is not None and (after.overview_block is not None or after.ai_mode) else before
    overview = read_from.overview()
    citations: list[Citation] = []
    text = ""
    if overview is not None:
        text = overview.text
        shown_first = None
        if read_from is after:
            first = before.overview()
            shown_first = {citation_key(url) for url, _, _ in first.sources} if first is not None else set()
        sources = SourceList()
        tray: dict[str, int] = {}  # the tray's (carousel's) own order ranks the sources; prose-only links follow
        for url, title, span in overview.sources:
            if span is None:
                tray.setdefault(citation_key(url), len(tray))
            visible = shown_first is None or citation_key(url) in shown_first
            sources.cite(url, title=title, span=span, visible=visible)
        citations = sources.citations(listed_rank=lambda url: tray.get(citation_key(url)))
    shown = bool(text.strip()) or bool(citations)
    features = before.features(shown)
    if read_from is after and shown and AI_OVERVIEW not in features and not after.ai_mode:
        features.insert(0, AI_OVERVIEW)
    status, reason = OK, None
    if not text.strip() and (before.not_generated() or (after is not None and after.not_generated())):
        status, reason = NO_ANSWER, "Google says an AI Overview could not be generated for this search"
    return Answer(text=text, citations=citations, organic=before.organic(), features=features, status=status,
                  status_reason=reason)


def _expanded(part: RawPart | None) -> _Page | None:
    """The page after "Show more", when it is one: a broken or blocked second snapshot leaves the first."""
    if part is None:
        return None
    try:
        page = _Page(part.data, f"page ({part.name})")
    except ParseError:
        return None
    return page if page.blocked is None else None
