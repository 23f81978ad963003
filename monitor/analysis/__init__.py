"""Pure analysis of answers: URLs, ownership, mentions, content types,
domain classes, sentences. No network, database or notification imports here."""

from .content_types import (
    CONTENT_TYPES,
    LEGACY_CONTENT_TYPES,
    ContentRule,
    classify_url,
    rules_from_config,
)
from .domain_classes import (
    DOMAIN_CLASSES,
    DomainClassRule,
    classify_domain,
    domain_rules_from_config,
)
from .mentions import MentionHit, find_mentions
from .ownership import EntitySpec, owner_of, source_url
from .sentences import split_sentences, word_count
from .urls import host_of, normalize_url, registrable_domain

__all__ = [
    "CONTENT_TYPES",
    "DOMAIN_CLASSES",
    "LEGACY_CONTENT_TYPES",
    "ContentRule",
    "DomainClassRule",
    "EntitySpec",
    "MentionHit",
    "classify_domain",
    "classify_url",
    "domain_rules_from_config",
    "find_mentions",
    "host_of",
    "normalize_url",
    "owner_of",
    "registrable_domain",
    "rules_from_config",
    "source_url",
    "split_sentences",
    "word_count",
]
