"""Enrichment of parsed answers: the real site behind redirect links decides domain, owner and type."""

from __future__ import annotations

from monitor.analysis import EntitySpec
from monitor.enrich import Tracking, citation_records
from probes.base import Answer, Citation

TRACKING = Tracking((EntitySpec("Hengda Valve", "brand", (), ("hengdavalve.com",)),
                     EntitySpec("Apex Flow Controls", "competitor", (), ("apexflow.com",))))
REDIRECT = "https://vertexaisearch.cloud.google.com/grounding-api-redirect/AbC{}"


def test_gemini_redirects_are_judged_by_the_site_in_their_title() -> None:
    answer = Answer(text="x", citations=[
        Citation(REDIRECT.format(1), 1, "hengdavalve.com"),
        Citation(REDIRECT.format(2), 2, "youtube.com"),
        Citation(REDIRECT.format(3), 3, "Some page title"),
    ])
    hengda, video, unknown = citation_records(answer, TRACKING)
    assert (hengda.url, hengda.owner, hengda.domain, hengda.normalized_url) == (
        REDIRECT.format(1), "Hengda Valve", "hengdavalve.com", "https://hengdavalve.com/")
    assert (video.content_type, video.domain, video.owner) == ("video", "youtube.com", None)
    assert (unknown.domain, unknown.owner) == ("google.com", None)


def test_google_url_redirects_are_unwrapped() -> None:
    answer = Answer(text="x", citations=[
        Citation("https://www.google.com/url?q=https://blog.apexflow.com/valves?utm_source=x&sa=U", 1, None)])
    (record,) = citation_records(answer, TRACKING)
    assert (record.owner, record.domain, record.content_type) == ("Apex Flow Controls", "apexflow.com", "blog_post")
    assert record.normalized_url == "https://blog.apexflow.com/valves"
