"""Google result pages as a browser gets them (GET {base_url}/search?q=...&hl=...&gl=...), for `google_browser`.

The markup follows Google's 2026 pages (realdata/google_serp_html: the mobile "iran war status" page with
an AI Overview, and the desktop result blocks): the overview is a block whose ARIA heading says "AI
Overview", its header carries the hidden "could not generate" notices every real page carries, its text is
a paragraph and a list with source chips (buttons, no links), its sources are a carousel of links
(``role=list``), and a "Show more AI Overview" button sits under it. Organic results are ``div.MjjYud``
blocks in ``#rso`` whose link holds an ``h3``.

What a browser sees happen, as on Google: the overview arrives after the page (an inline script inserts it
with setTimeout), and "Show more" loads the rest of its sources (they are not in the page before the
click). The page references nothing outside the simulator: a browser loading it never leaves 127.0.0.1.

Some prompts get no overview (a fixed share, by a hash of the prompt). Test variants, chosen by a word in
the query (like tests/hostile_server.py): ``consent`` (the consent wall), ``captcha`` (the reCAPTCHA
"unusual traffic" page, HTTP 429), ``sorry`` (a redirect to /sorry/index, which serves that page),
``slowoverview`` (the overview after 1.5 s), ``nooverview``, ``notgenerated`` (the overview block says it
could not be generated), ``showmore`` (an overview that always hides sources behind "Show more").
No DEMO: the offline demo runs where no browser exists.
"""

from __future__ import annotations

import hashlib
import json
from html import escape
from urllib.parse import parse_qsl, quote_plus, urlsplit

from probes.simulator.scenario import Page, SimulatedAnswer, domain_of

BASE_SUFFIX = ""  # the probe's base_url is http://127.0.0.1:PORT/google_browser, like https://www.google.com

SEARCH = "/search"
SORRY = "/sorry/index"
OVERVIEW_DELAY_MS = 300
SLOW_OVERVIEW_DELAY_MS = 1500
VISIBLE_SOURCES = 2  # sources shown before "Show more"; the rest are loaded by it
ORGANIC_RESULTS = 6


def handles(path: str) -> bool:
    return path in (SEARCH, SORRY)


def prompt_of(path: str, body: dict) -> str:
    if path.endswith(SORRY):  # the /sorry/ page carries the search it interrupted in `continue`
        query = dict(parse_qsl(urlsplit(str(body.get("continue") or "")).query))
        return str(query.get("q") or "")
    return str(body.get("q") or "")


def model_of(path: str, body: dict) -> str:
    return "google-ai-mode" if str(body.get("udm") or "") == "50" else "google"


def earlier_call(path: str, body: dict) -> tuple[str, int] | None:
    """The /sorry/ page a search redirected to is the same call, not a new one."""
    return (prompt_of(path, body), 0) if path.endswith(SORRY) else None


def words_of(prompt: str) -> set[str]:
    return {word.strip("?？.,!").lower() for word in prompt.split()}


def has_overview(prompt: str) -> bool:
    """Whether the page for `prompt` shows an AI Overview: about three prompts in four, by a hash."""
    words = words_of(prompt)
    if "nooverview" in words:
        return False
    if words & {"slowoverview", "showmore", "notgenerated"}:
        return True
    return hashlib.sha256(prompt.encode()).digest()[0] % 4 != 0


def overview_sources(answer: SimulatedAnswer) -> list[tuple[str, str]]:
    """The overview's sources in first-cited order, one per page; with `showmore`, a neutral page is added
    so that some are always hidden."""
    sources: dict[str, str] = {}
    for segment in answer.segments:
        for url, title in segment.sources:
            sources.setdefault(url, title)
    if "showmore" in words_of(answer.prompt):
        for url, title in answer.scenario.neutral_pages:
            if len(sources) > VISIBLE_SOURCES:
                break
            sources.setdefault(url, title)
    return list(sources.items())


def render(answer: SimulatedAnswer) -> Page:
    return render_request(answer, SEARCH, {"q": answer.prompt})


def render_request(answer: SimulatedAnswer, path: str, body: dict) -> Page:
    prompt = answer.prompt
    words = words_of(prompt)
    if path.endswith(SORRY):
        return Page(sorry_page(str(body.get("continue") or "")).encode(), status=429)
    if "consent" in words:
        return Page(consent_page(path).encode())
    if "captcha" in words:
        return Page(sorry_page(_search_url(path, prompt)).encode(), status=429)
    if "sorry" in words:
        return Page(redirect_page(path[: -len(SEARCH)] + SORRY + "?continue="
                                  + quote_plus(_search_url(path, prompt))).encode())
    return Page(result_page(answer, body).encode())


def _search_url(path: str, prompt: str) -> str:
    return f"{path}?q={quote_plus(prompt)}"


# --- the result page ------------------------------------------------------------------------------------


def result_page(answer: SimulatedAnswer, body: dict) -> str:
    prompt = answer.prompt
    language = str(body.get("hl") or "en")
    overview = ""
    if has_overview(prompt):
        delay = SLOW_OVERVIEW_DELAY_MS if "slowoverview" in words_of(prompt) else OVERVIEW_DELAY_MS
        overview = _late_overview(answer, delay)
    return f"""<!doctype html><html lang="{escape(language)}"><head><meta charset="utf-8">
<meta content="width=device-width,initial-scale=1" name="viewport"><title>{escape(prompt)} - Google Search</title>
<style>.YWpX0d{{color:#70757a}}.Jzkafd{{cursor:pointer;padding:8px;border:1px solid #dadce0;border-radius:18px}}</style>
</head><body class="srp" id="gsr"><div class="main" id="main"><div class="e9EfHf" id="cnt">
<div class="GyAeWb" id="rcnt"><div class="s6JM6d" id="center_col"><div class="eqAnXb" id="gevUs"><div id="topstuff"></div>
<div id="search"><div><h1 class="bNg8Rb">Search Results</h1>
<div class="dURPMd" data-async-context="query:{escape(quote_plus(prompt))}" id="rso">
<div class="MjjYud" id="aiov">{overview}</div>
{"".join(_organic(answer))}
</div></div></div></div><div id="botstuff"></div></div></div></div></div></body></html>"""


def _site_name(url: str) -> str:
    return domain_of(url).split(".")[0].capitalize()


def _chip(sources: list[tuple[str, str]]) -> str:
    """An inline source chip: a button naming the first source's site ("+n" more), no link (as on Google)."""
    more = f" (+{len(sources) - 1})" if len(sources) > 1 else ""
    name = escape(_site_name(sources[0][0]))
    return (f'<span class="WBgIic notranslate"><span class="NMq1me"><button tabindex="0" '
            f'aria-label="{name}{more} - View related links" class="vDOt8c oy7Apc qu4n2c">'
            f'<div class="S9OuHf"><span class="dNwgB"><span class="QNca8b">{name}</span>'
            f'<span class="OkUHJe">{escape(more.strip(" ()"))}</span></span></div></button></span></span>')


def _source_item(url: str, title: str) -> str:
    """One card of the overview's source carousel (`role=listitem`): a link with the title and the site."""
    return (f'<div class="hNFxu OUwxKd cOzHge iaqvce" role="listitem"><div class="FGrhcd"><div class="s2SjDb EbZA4c '
            f'r5Zck"><div class="FTqHDe"><a class="gQWhZ Q9iar ZdDZqe bliT4d" href="{escape(url)}"><div class="r5kJsc">'
            f'<div class="hvNmuf"><div class="UAXhpe" style="-webkit-line-clamp: 4">{escape(title)}</div></div>'
            f'<div class="MrMhg"><div class="mCDezf"><div class="b8Mgaf PKWBtd"><div class="qBL1zf pIkGKc">'
            f'{escape(_site_name(url))}</div></div></div></div></div></a></div></div></div></div>')


def overview_html(answer: SimulatedAnswer) -> tuple[str, str]:
    """The overview block as the page shows it first, and the source cards "Show more" loads into it."""
    words = words_of(answer.prompt)
    segments = answer.segments
    sources = overview_sources(answer)
    shown, more = sources[:VISIBLE_SOURCES], sources[VISIBLE_SOURCES:]
    not_generated = "notgenerated" in words
    notice_style = "" if not_generated else ' style="display:none"'
    header = (f'<div jsname="txosbe" class="OZ9ddf WAUd4"><div class="heWuVc"><div class="nk9vdc GYaNDc">'
              f'<span jsname="lGsj1" class="YWpX0d" style="display:none"><span>An AI Overview is not available for '
              f'this search</span></span><span jsname="L1sC6e" class="YWpX0d"{notice_style}><span>Can\'t generate '
              f'an AI overview right now. Try again later.</span></span><div jsname="cUzNTd" class="Fzsovc" '
              f'aria-level="2" role="heading">AI Overview</div></div></div></div>')
    if not_generated:
        return f'<div class="IV6Smb" jscontroller="jlnAEb">{header}</div>', ""
    first = segments[0]
    paragraph = (f'<div class="n6owBd awi2gc"><span data-subtree="aimfl,mfl">{escape(first.sentence)}</span>'
                 f'{_chip(first.sources) if first.sources else ""}</div>')
    items = "".join(f'<li class="Z1qcYe"><span class="T286Pc">{escape(s.sentence)}</span>'
                    f'{_chip(s.sources) if s.sources else ""}</li>' for s in segments[1:])
    listing = f'<div class="WYczDe"><ul class="KsbFXc U6u95">{items}</ul></div>' if items else ""
    tray = (f'<div class="WYczDe"><div class="Q9iar bliT4d KfKEse xRMEde"><div class="mDVg1e"><div class="mKNCte NyIrK">'
            f'<div class="NqAAOb LNSaYe"><div class="nYToQd JcgT8d vJquzb" role="list" jsname="Xj2aue">'
            f'{"".join(_source_item(url, title) for url, title in shown)}</div></div></div></div></div></div>')
    block = (f'<div class="IV6Smb" jscontroller="jlnAEb"><div class="h7Tj7e" jsname="V3qe9d" '
             f'style="max-height:630px;overflow:clip">{header}<div data-hveid="CAYQEg"><div class="LT6XE">'
             f'<div jsname="dvXlsc" class="pOOWX" data-rl="en"><section><div class="mZJni Dn7Fzd">{paragraph}{tray}'
             f'{listing}</div></section></div></div></div></div><div class="lACQkd"><div class="zNsLfb" '
             f'style="left:0"><div jsname="rPRdsc" class="Jzkafd" aria-label="Show more AI Overview" role="button" '
             f'tabindex="0" aria-expanded="false"><div class="niO4u VDgVie SlP8xc"><span>Show more</span></div>'
             f'</div></div></div></div>')
    return block, "".join(_source_item(url, title) for url, title in more)


def _script_json(value: str) -> str:
    """A JS string literal safe inside <script> (no "</" to end it early)."""
    return json.dumps(value).replace("</", "<\\/")


def _late_overview(answer: SimulatedAnswer, delay_ms: int) -> str:
    """A script that inserts the overview after `delay_ms`, and makes its "Show more" button load the rest of
    the sources; it removes itself, so a snapshot holds each piece of the overview once."""
    block, more = overview_html(answer)
    return f"""<script>(function(){{var me=document.currentScript,block={_script_json(block)},more={_script_json(more)};
setTimeout(function(){{var slot=document.getElementById("aiov");slot.innerHTML=block;me.remove();
var button=slot.querySelector('[jsname="rPRdsc"]');if(!button)return;
button.addEventListener("click",function(){{if(button.getAttribute("aria-expanded")==="true")return;
button.setAttribute("aria-expanded","true");slot.querySelector('[jsname="V3qe9d"]').style.maxHeight="none";
setTimeout(function(){{slot.querySelector('[role="list"]').insertAdjacentHTML("beforeend",more);
button.parentNode.parentNode.style.display="none";}},150);}});}},{delay_ms});}})();</script>"""


def organic_pages(answer: SimulatedAnswer) -> list[tuple[str, str]]:
    """The organic results for the prompt: the scenario's pages in an order fixed by the prompt."""
    scenario = answer.scenario
    pages = [*scenario.brand.pages, *(page for site in scenario.competitors for page in site.pages),
             *scenario.neutral_pages]
    digest = hashlib.sha256(f"{scenario.seed}|{answer.prompt}".encode()).digest()
    order = sorted(range(len(pages)), key=lambda i: digest[i % len(digest)] ^ i)
    return [pages[i] for i in order[:ORGANIC_RESULTS]]


def _organic(answer: SimulatedAnswer) -> list[str]:
    blocks = []
    for url, title in organic_pages(answer):
        host = urlsplit(url)
        crumbs = " › ".join(part for part in host.path.split("/") if part)[:40]
        blocks.append(
            f'<div class="MjjYud"><div class="g Ww4FFb vt6azd tF2Cxc asEBEc" lang="en"><div class="N54PNb BToiNc '
            f'cvP2Ce"><div class="kb0PBd cvP2Ce A9Y9g jGGQ5e" data-snf="x5WNvb"><div class="yuRUbf"><div><span>'
            f'<a jsname="UWckNb" href="{escape(url)}"><br><h3 class="LC20lb MBeuO DKV0Md">{escape(title)}</h3>'
            f'<div class="notranslate HGLrXd NJjxre iUh30 ojE3Fb"><div class="q0vns"><div class="CA5RN"><div>'
            f'<span class="VuuXrf">{escape(_site_name(url))}</span></div><div class="byrV5b"><cite class="qLRx3b '
            f'tjvcx GvPZzd cHaqb" role="text">{escape(f"{host.scheme}://{host.netloc}")}<span class="ylgVCe ob9lvb" '
            f'role="text"> › {escape(crumbs)}</span></cite></div></div></div></div></a></span></div></div></div>'
            f'<div class="kb0PBd cvP2Ce A9Y9g" data-snf="nke7rc" data-sncf="1"><div class="VwiC3b yXK7lf lVm3ye '
            f'r025kc hJNv6b Hdw6tb" style="-webkit-line-clamp:2"><span>{escape(title)}: specifications, '
            f'certificates and lead times for {escape(answer.prompt)}.</span></div></div></div></div></div>')
    return blocks


# --- pages that stand between a client and its results ----------------------------------------------


def consent_page(path: str) -> str:
    """Google's consent wall (consent.google.com, "Before you continue to Google"), forms posting to it."""
    return """<!doctype html><html lang="en" dir="ltr"><head><meta charset="utf-8">
<title>Before you continue to Google</title></head><body><div class="KxvlWc"><div class="Hc5Bdd">
<h1 class="I90TVb" id="S3BnEe">Before you continue to Google</h1>
<div class="yS1nld">We use <a href="https://policies.google.com/technologies/cookies?hl=en">cookies</a> and data to
deliver and maintain Google services, track outages and protect against spam, fraud and abuse.</div>
<div class="VtwTSb"><form action="https://consent.google.com/save" method="POST"><input type="hidden" name="gl" value="DE">
<input type="hidden" name="set_eom" value="true"><div class="lssxud"><button class="tHlp8d" aria-label="Reject all">
Reject all</button></div></form><form action="https://consent.google.com/save" method="POST">
<input type="hidden" name="set_eom" value="false"><div class="lssxud"><button class="tHlp8d" aria-label="Accept all">
Accept all</button></div></form></div></div></div></body></html>"""


def sorry_page(continue_url: str) -> str:
    """Google's "unusual traffic" page (/sorry/index) with its reCAPTCHA form, modelled on
    realdata/google_serp_html/google_sorry_unusual_traffic_blocked.html (its scripts and iframes left out:
    a browser loading this page stays on 127.0.0.1)."""
    url = escape(continue_url)
    return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN"><html><head>
<meta http-equiv="content-type" content="text/html; charset=utf-8"><meta name="viewport" content="initial-scale=1">
<title>{url}</title></head><body style="font-family: arial, sans-serif; background-color: #fff; color: #000;">
<div style="max-width:400px;"><hr noshade size="1" style="color:#ccc; background-color:#ccc;"><br>
<form id="captcha-form" action="index" method="post"><div id="recaptcha" class="g-recaptcha"
data-sitekey="6LdLLIMbAAAAAIl-KLj9p1ePhM-4LCCDbjtJLqRO" data-callback="submitCallback" data-s="SIMULATED"></div>
<input type="hidden" name="q" value="SIMULATED_TOKEN"><input type="hidden" name="continue" value="{url}"></form>
<hr noshade size="1" style="color:#ccc; background-color:#ccc;"><div style="font-size:13px;"><b>About this page</b>
<br><br>Our systems have detected unusual traffic from your computer network.  This page checks to see if it's really
you sending the requests, and not a robot.<br><br><div style="font-size:13px; line-break: anywhere;">
IP address: 127.0.0.1<br>URL: {url}<br></div></div></div></body></html>"""


def redirect_page(location: str) -> str:
    """Where Google answers a search with a redirect to /sorry/: the browser follows it."""
    where = escape(location)
    return (f'<!doctype html><html><head><meta http-equiv="refresh" content="0; url={where}"><title>302 Moved</title>'
            f'</head><body><h1>302 Moved</h1>The document has moved <a href="{where}">here</a>.</body></html>')
