"""Where a Google search is made, as the search APIs spell it: country names by ISO 3166-1 alpha-2 code
(SerpApi's `location` and DataForSEO's `location_name` end with them), and the Chinese variants Google tells
apart. Kept to the countries our users sell to; a code the table lacks is left to the caller."""

from __future__ import annotations

from probes.base import Locale

# Country names as Google's geotargets (and so SerpApi's `location`) spell them, by ISO 3166-1 alpha-2 code.
COUNTRY_NAMES = {
    "us": "United States", "gb": "United Kingdom", "uk": "United Kingdom", "ca": "Canada", "au": "Australia",
    "nz": "New Zealand", "ie": "Ireland", "de": "Germany", "fr": "France", "es": "Spain", "it": "Italy",
    "pt": "Portugal", "nl": "Netherlands", "be": "Belgium", "ch": "Switzerland", "at": "Austria", "se": "Sweden",
    "no": "Norway", "dk": "Denmark", "fi": "Finland", "pl": "Poland", "cz": "Czechia", "gr": "Greece",
    "hu": "Hungary", "ro": "Romania", "ua": "Ukraine", "tr": "Turkey", "ru": "Russia", "il": "Israel",
    "ae": "United Arab Emirates", "sa": "Saudi Arabia", "eg": "Egypt", "za": "South Africa", "ng": "Nigeria",
    "ke": "Kenya", "in": "India", "pk": "Pakistan", "bd": "Bangladesh", "cn": "China", "hk": "Hong Kong",
    "tw": "Taiwan", "jp": "Japan", "kr": "South Korea", "sg": "Singapore", "my": "Malaysia", "th": "Thailand",
    "vn": "Vietnam", "id": "Indonesia", "ph": "Philippines", "br": "Brazil", "mx": "Mexico", "ar": "Argentina",
    "cl": "Chile", "co": "Colombia", "pe": "Peru",
}


def chinese_region(locale: Locale) -> str | None:
    """"CN" or "TW" where the locale is Chinese in a country Google serves a variant of (Hong Kong reads
    traditional characters); None otherwise."""
    language = (locale.language or "").strip().lower().replace("_", "-")
    country = (locale.country or "").strip().lower()
    if language != "zh" or country not in ("cn", "tw", "hk"):
        return None
    return "CN" if country == "cn" else "TW"
