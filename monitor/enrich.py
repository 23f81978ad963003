"""Turn a parsed `Answer` into storage records: URL normalization, ownership, content type, mentions.

Pure: the same answer and config always give the same records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from monitor.analysis import (
    ContentRule,
    DomainClassRule,
    EntitySpec,
    classify_domain,
    classify_url,
    domain_rules_from_config,
    find_mentions,
    host_of,
    normalize_url,
    owner_of,
    registrable_domain,
    rules_from_config,
    source_url,
)
from monitor.analysis.visibility import visibility_scores
from probes.base import Answer
from storage.records import CitationRecord, MentionRecord, OrganicRecord

if TYPE_CHECKING:
    from monitor.config import Config


@dataclass(frozen=True)
class Tracking:
    """What the analysis needs from config: who is tracked and how URLs are classified."""

    entities: tuple[EntitySpec, ...]
    rules: tuple[ContentRule, ...] = ()
    domain_rules: tuple[DomainClassRule, ...] = ()

    @classmethod
    def from_config(cls, config: Config) -> Tracking:
        entities = tuple(
            EntitySpec(
                name=e.name,
                kind="brand" if e is config.brand else "competitor",
                aliases=tuple(e.aliases),
                domains=tuple(e.domains),
                people=tuple(e.people),
                titles=tuple(e.titles),
            )
            for e in config.entities
        )
        rules = tuple(rules_from_config(r.model_dump(exclude_none=True) for r in config.content_types))
        domain_rules = tuple(domain_rules_from_config(r.as_rule() for r in config.domain_classes))
        return cls(entities, rules, domain_rules)

    def kind_of(self, owner: str | None) -> str | None:
        return next((e.kind for e in self.entities if e.name == owner), None)

    def content_type(self, url: str, site: str, title: str | None) -> str:
        """A page's content type. `site` is the URL naming the real site (`url` itself, or a redirect's
        target, or only the domain a redirect's title names)."""
        # a redirect whose title names only a domain says nothing of the page's path (a redirect to a
        # real homepage is taken as host-only too: rare, and it then falls to the host's type)
        path_known = host_of(site) == host_of(url) or not site.endswith("/")
        return classify_url(site, self.rules, title, path_known)

    def classify(self, url: str, site: str, title: str | None, owner: str | None) -> tuple[str, str]:
        """A cited page's content type and its domain's class."""
        content_type = self.content_type(url, site, title)
        return content_type, classify_domain(site, self.kind_of(owner), self.domain_rules, content_type)


def citation_records(answer: Answer, tracking: Tracking) -> list[CitationRecord]:
    """Citations keep the URL the engine gave; domain, owner, content type and page identity come from
    the real site behind it (Gemini's redirect links name it only in the title)."""
    visibility = _visibility(answer)
    records = []
    for index, c in enumerate(answer.citations):
        site = source_url(c.url, c.title)
        owner = owner_of(site, tracking.entities)
        content_type, domain_class = tracking.classify(c.url, site, c.title, owner)
        records.append(CitationRecord(
            position=c.position,
            url=c.url,
            normalized_url=normalize_url(site),
            domain=registrable_domain(site),
            title=c.title,
            visible=c.visible,
            cited=c.cited,
            origin=c.origin,
            owner=owner,
            content_type=content_type,
            spans=list(c.spans),
            visibility=visibility.get(index),
            domain_class=domain_class,
        ))
    return records


def _visibility(answer: Answer) -> dict[int, float]:
    """Visibility by citation index, for cited sources, where the engine ties any source to text."""
    cited = {index: c.spans for index, c in enumerate(answer.citations) if c.cited}
    if not any(cited.values()):
        return {}
    return visibility_scores(answer.text, cited)


def mention_records(answer: Answer, entities: Sequence[EntitySpec]) -> list[MentionRecord]:
    if not answer.text:
        return []
    return [
        MentionRecord(entity=m.entity, alias=m.alias, count=m.count, first_offset=m.first_offset, rank=m.rank,
                      third=m.third)
        for m in find_mentions(answer.text, entities)
    ]


def organic_records(answer: Answer, tracking: Tracking) -> list[OrganicRecord]:
    records = []
    for o in answer.organic:
        site = source_url(o.url, o.title)
        records.append(OrganicRecord(rank=o.rank, url=o.url, domain=registrable_domain(site),
                                     owner=owner_of(site, tracking.entities), title=o.title, snippet=o.snippet,
                                     content_type=tracking.content_type(o.url, site, o.title)))
    return records
