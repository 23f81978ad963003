"""AI referral traffic and AI crawler activity from a site's own access logs (issue 12).

The pure layer, no database, CLI or network:
- `formats`: `make_parser(name, **options) -> LineParser`, `detect_format(lines)`, `Hit`, `MalformedLine`
  (text formats there; W3C in `formats_w3c`, AWS in `formats_aws`, JSON lines in `formats_json`);
- `classify`: `Classifier` (AI referral sources, AI bots with purpose, IP-range verification, page views,
  other bots), `VisitCounter`, `load_bot_ranges`;
- `ga4`: `read_ga4_csv` for GA4 exploration/report CSV exports.
On them: `scan` (the fast first pass over text logs, in worker processes), `ingest` (files, storage),
`summary` and `tables` (the figures), `service` (the commands' work).
"""
