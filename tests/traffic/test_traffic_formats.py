"""Log formats: our fixtures (tests/traffic/fixtures/, the same 40 requests written in every format: one AI
referral per source, utm-tagged visits, AI bots from published and foreign addresses, ordinary traffic),
the real samples in ../shared/realdata/access_logs/ read in place (skipped where absent), detection,
malformed lines and time zones."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.traffic.formats import FORMATS, MalformedLine, detect_format, make_parser
from tests.conftest import realdata

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
NGINX_FORMAT = ('$host $remote_addr [$time_iso8601] "$request_method $request_uri" $status "$http_referer" '
                '"$http_user_agent" $request_time')
JSONL_FIELDS = {"time": "@t", "client": "addr", "method": "req.verb", "uri": "req.url", "status": "code",
                "referrer": "ref", "user_agent": "req.ua", "host": "vhost"}

# file, format, options, has_referrer, has_user_agent
CASES = [
    ("combined.log", "combined", {}, True, True),
    ("common.log", "common", {}, False, False),
    ("vhost_combined.log", "vhost_combined", {}, True, True),
    ("nginx_custom.log", "nginx", {"log_format": NGINX_FORMAT}, True, True),
    ("iis.log", "iis", {}, True, True),
    ("cloudfront.log", "cloudfront", {}, True, True),
    ("alb.log", "alb", {}, False, True),
    ("elb.log", "elb", {}, False, True),
    ("caddy.log", "caddy", {}, True, True),
    ("traefik.log", "traefik", {}, True, True),
    ("cloudflare.log", "cloudflare", {}, True, True),
    ("custom.jsonl", "jsonl", {"fields": JSONL_FIELDS}, True, True),
]


def parse_file(path: Path, name: str, **options: object) -> list:
    parser = make_parser(name, **options)
    hits = []
    for line in path.read_text(encoding="utf-8").splitlines():
        hit = parser.parse(line)
        if hit is not None:
            hits.append(hit)
    return hits


@pytest.mark.parametrize(("file", "name", "options", "has_referrer", "has_agent"), CASES, ids=[c[0] for c in CASES])
def test_every_fixture_request_is_read_with_its_time_in_utc(file, name, options, has_referrer, has_agent) -> None:
    hits = parse_file(FIXTURES / file, name, **options)
    assert len(hits) == len(EXPECTED)
    for hit, expected in zip(hits, EXPECTED):
        assert abs(hit.time - datetime.fromisoformat(expected["time"])) < timedelta(seconds=1)  # some log fractions
        assert hit.time.tzinfo is not None and hit.time.utcoffset().total_seconds() == 0
        assert hit.client == expected["client"]
        assert (hit.path, hit.query) == (expected["path"], expected["query"])
        assert hit.method == "GET" and hit.status == 200
        assert hit.referrer == (expected["referrer"] if has_referrer else "")
        if has_agent:
            assert hit.user_agent.startswith(("Mozilla/5.0", "CCBot", "meta-externalagent"))
        if name not in ("combined", "common", "iis"):  # these layouts log no host
            assert hit.host == "www.hengda-valve.example"


def test_the_fixture_times_cross_midnight_in_several_zones() -> None:
    text = (FIXTURES / "combined.log").read_text(encoding="utf-8")
    assert {"-0700", "+0530", "+0800", "+0000"} <= {z for z in ("-0700", "+0530", "+0800", "+0000") if z in text}
    days = {h.time.date() for h in parse_file(FIXTURES / "combined.log", "combined")}
    assert len(days) == 2  # 23:40 UTC plus 40 minutes, whatever the local offsets said


@pytest.mark.parametrize(("file", "name", "options"), [(c[0], c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_detect_format_names_each_fixture(file, name, options) -> None:
    lines = (FIXTURES / file).read_text(encoding="utf-8").splitlines()[:20]
    detected = detect_format(lines)
    if name == "nginx":
        assert detected is None  # a custom layout must be named in the config
    else:
        assert detected == name


def test_cloudfront_user_agent_is_decoded_twice_and_host_is_the_site() -> None:
    hits = parse_file(FIXTURES / "cloudfront.log", "cloudfront")
    assert hits[0].user_agent.startswith("Mozilla/5.0 (Windows NT 10.0; Win64; x64)")
    assert "%" not in hits[0].user_agent
    assert hits[0].host == "www.hengda-valve.example"  # x-host-header, not the cloudfront.net domain
    assert hits[-1].content_type == "text/css"


def test_iis_plus_signs_become_spaces() -> None:
    hit = parse_file(FIXTURES / "iis.log", "iis")[0]
    assert hit.user_agent.startswith("Mozilla/5.0 (Windows NT 10.0;")


def test_cloudflare_reads_all_three_timestamp_encodings() -> None:
    lines = (FIXTURES / "cloudflare.log").read_text(encoding="utf-8").splitlines()[:3]
    stamps = [json.loads(line)["EdgeStartTimestamp"] for line in lines]
    assert isinstance(stamps[0], str) and stamps[1] < 10**11 < stamps[2]
    parser = make_parser("cloudflare")
    assert [parser.parse(line).time for line in lines] == [datetime.fromisoformat(e["time"]) for e in EXPECTED[:3]]


def test_every_format_name_makes_a_parser() -> None:
    for name in FORMATS:
        options = {"log_format": NGINX_FORMAT} if name == "nginx" else {}
        assert make_parser(name, **options).parse("") is None


def test_unknown_format_and_option_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown log format"):
        make_parser("apache2")
    with pytest.raises(ValueError, match="unknown log format option"):
        make_parser("combined", logformat="x")
    with pytest.raises(ValueError, match="nginx"):
        make_parser("nginx")
    with pytest.raises(ValueError, match="jsonl fields"):
        make_parser("jsonl", fields={"agent": "ua"})


# --- time zones and the fast paths ------------------------------------------------------------------------


def test_mixed_time_zones_convert_to_the_same_utc_instant() -> None:
    parser = make_parser("combined")
    line = '1.2.3.4 - - [{}] "GET / HTTP/1.1" 200 1 "-" "ua"'
    times = {parser.parse(line.format(t)).time for t in
             ("10/Oct/2000:13:55:36 -0700", "10/Oct/2000:20:55:36 +0000", "11/Oct/2000:02:25:36 +0530",
              "10/Oct/2000:09:55:36 -1100")}
    assert times == {datetime(2000, 10, 10, 20, 55, 36, tzinfo=UTC)}


def test_year_and_month_boundaries_in_local_time() -> None:
    parser = make_parser("combined")
    hit = parser.parse('1.2.3.4 - - [31/Dec/2025:23:30:00 -0100] "GET / HTTP/1.1" 200 1 "-" "ua"')
    assert hit.time == datetime(2026, 1, 1, 0, 30, tzinfo=UTC)
    hit = parser.parse('1.2.3.4 - - [01/Mar/2024:00:10:00 +0100] "GET / HTTP/1.1" 200 1 "-" "ua"')
    assert hit.time == datetime(2024, 2, 29, 23, 10, tzinfo=UTC)


def test_quick_fields_then_from_fields_equals_parse() -> None:
    parser = make_parser("combined")
    for line in (FIXTURES / "combined.log").read_text(encoding="utf-8").splitlines():
        fields = parser.quick_fields(line)
        assert fields is not None
        assert parser.from_fields(fields) == make_parser("combined").parse(line)


def test_escaped_quotes_and_odd_requests_take_the_exact_path() -> None:
    parser = make_parser("combined")
    hit = parser.parse(r'1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET /a?b=\"c\" HTTP/1.1" 200 1 "https://claude.ai/" '
                       r'"Mozilla \"quoted\" agent"')
    assert (hit.path, hit.query, hit.referrer) == ("/a", r'b=\"c\"', "https://claude.ai/")
    hit = parser.parse('1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "\\x16\\x03\\x01" 400 0 "-" "-"')
    assert (hit.method, hit.path, hit.status, hit.user_agent) == ("", "", 400, "")
    hit = parser.parse('1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET http://example.com/p?q=1 HTTP/1.1" 200 1 "-" "-"')
    assert (hit.path, hit.query) == ("/p", "q=1")


def test_a_combined_parser_reads_a_common_line() -> None:
    hit = make_parser("combined").parse('1.2.3.4 - bob [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 301 -')
    assert (hit.status, hit.referrer, hit.user_agent) == (301, "", "")


def test_nginx_log_format_with_time_local_and_uri_args() -> None:
    parser = make_parser("nginx", log_format='$remote_addr - $remote_user [$time_local] "$request_method $uri?$args '
                                             '$server_protocol" $status $body_bytes_sent "$http_referer" '
                                             '"$http_user_agent" "$http_x_forwarded_for"')
    hit = parser.parse('9.9.9.9 - - [10/Oct/2000:13:55:36 -0700] "GET /x?utm_source=chatgpt.com HTTP/1.1" 200 5 '
                       '"-" "Mozilla/5.0" "-"')
    assert (hit.client, hit.path, hit.query, hit.time.hour) == ("9.9.9.9", "/x", "utm_source=chatgpt.com", 20)


# --- malformed lines ---------------------------------------------------------------------------------------

GOOD = '1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET /a HTTP/1.1" 200 1234 "https://chatgpt.com/" "Mozilla/5.0 (X11)"'


@pytest.mark.parametrize(("line", "reason"), [
    (GOOD[:90], "truncated"),
    (GOOD.replace('" 200 ', '" 2x0 '), "bad status"),
    (GOOD.replace("10/Oct/2000", "10/Okt/2000"), "bad date"),
    (GOOD.replace("13:55:36", "25:55:36"), "bad date"),
    (GOOD.replace("10/Oct", "32/Oct"), "bad date"),
    ("\x00\x01\x02binary\ufffd\ufffd garbage", "binary"),
    ("hello world", "not a combined line"),
])
def test_malformed_combined_lines_say_why(line: str, reason: str) -> None:
    with pytest.raises(MalformedLine, match=reason):
        make_parser("combined").parse(line)


def test_quick_fields_rejects_what_parse_rejects() -> None:
    parser = make_parser("combined")
    assert parser.quick_fields(GOOD[:90]) is None
    assert parser.quick_fields("garbage") is None


@pytest.mark.parametrize(("name", "line", "reason"), [
    ("caddy", '{"ts": 1703373474.8, "request": {"uri": "/"', "truncated"),
    ("traefik", "not json at all", "not JSON"),
    ("cloudflare", ('{"ClientIP": "1.2.3.4", "ClientRequestURI": "/", "EdgeResponseStatus": 200, '
                    '"EdgeStartTimestamp": "yesterday"}'), "bad date"),
    ("jsonl", '{"time": "2026-01-01T00:00:00Z", "uri": "/", "status": "OK"}', "bad status"),
    ("jsonl", '{"time": "2026-01-01T00:00:00Z", "status": 200}', "missing uri"),
    ("alb", ('https 2020-01-01T00:55:04.127531Z app/my-alb/abcdef 1.2.3.4:2817 10.0.0.1:80 0.001 0.102 0.000 200 200 '
             '225 24950 "GET https://www.example.com:443/p HTTP/1.1" "Mozilla'), "truncated"),
])
def test_malformed_lines_in_other_formats(name: str, line: str, reason: str) -> None:
    with pytest.raises(MalformedLine, match=reason):
        make_parser(name).parse(line)


def test_w3c_lines_are_malformed_when_cut_or_before_fields() -> None:
    parser = make_parser("w3c")
    with pytest.raises(MalformedLine, match="#Fields"):
        parser.parse("2026-01-01 00:00:00 1.2.3.4 GET / 200")
    parser.parse("#Fields: date time c-ip cs-method cs-uri-stem sc-status")
    with pytest.raises(MalformedLine, match="truncated"):
        parser.parse("2026-01-01 00:00:00 1.2.3.4 GET")
    with pytest.raises(MalformedLine, match="bad status"):
        parser.parse("2026-01-01 00:00:00 1.2.3.4 GET / abc")
    assert parser.parse("2026-01-01 00:00:00 1.2.3.4 GET / 200").client == "1.2.3.4"


def test_w3c_field_list_can_change_mid_file() -> None:
    parser = make_parser("iis")
    parser.parse("#Fields: date time c-ip cs-uri-stem sc-status")
    assert parser.parse("2026-01-01 10:00:00 1.1.1.1 /a 200").path == "/a"
    parser.parse("#Fields: date time cs-uri-stem sc-status c-ip")
    assert parser.parse("2026-01-01 10:00:00 /b 404 2.2.2.2").client == "2.2.2.2"


# --- the real samples (../shared/realdata/access_logs/, read in place) -------------------------------------

REAL = {  # file: (format, options, hits, malformed lines)
    "elastic_apache_logs_semicomplete_2015_head39.log": ("combined", {}, 39, 0),
    "issue_ai_crawler_claudebot_leafapp-pr1556.log": ("combined", {}, 4, 0),
    "issue_ai_crawler_claudebot_nginx-bad-bot-blocker-579.log": ("combined", {}, 4, 0),
    "issue_ai_crawler_gptbot_nginx-bad-bot-blocker-530.log": ("combined", {}, 4, 0),
    "issue_vhost_custom_format_bingbot_goaccess-1543.log": (
        "nginx", {"log_format": '$host $request_id - $remote_user [$time_local] "$request" $status '
                                '$body_bytes_sent "$http_referer" "$http_user_agent"'}, 3, 0),
    "matomo_alb.log": ("alb", {}, 1, 0),
    "matomo_amazon_cloudfront_web.log": ("cloudfront", {}, 1, 0),
    "matomo_caddy_json.log": ("caddy", {}, 3, 0),
    "matomo_common_vhost.log": ("vhost_combined", {}, 1, 0),
    "matomo_elb.log": ("elb", {}, 1, 1),  # its comment line is not a log line; its TCP line is no request
    "matomo_iis.log": ("iis", {}, 1, 0),
    "matomo_incapsula_w3c.log": ("w3c", {}, 1, 0),  # the second request got no response: not a request
    "matomo_logs_to_tests.log": ("combined", {}, 4, 1),  # a '#' comment line
    "matomo_ncsa_extended.log": ("combined", {}, 1, 0),
    "matomo_nginx_json.log": ("jsonl", {}, 2, 0),
    "matomo_traefik_json.log": ("traefik", {}, 1, 0),
}
DETECTED = {**{name: spec[0] for name, spec in REAL.items()},
            "issue_vhost_custom_format_bingbot_goaccess-1543.log": "vhost_combined"}


def real_lines(name: str) -> list[str]:
    return (realdata("access_logs") / name).read_text(encoding="utf-8", errors="replace").splitlines()


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_sample_parses_with_its_format(name: str) -> None:
    fmt, options, hits_expected, malformed_expected = REAL[name]
    parser = make_parser(fmt, **options)
    hits, malformed = [], 0
    for line in real_lines(name):
        try:
            hit = parser.parse(line)
        except MalformedLine:
            malformed += 1
            continue
        if hit is not None:
            hits.append(hit)
    assert (len(hits), malformed) == (hits_expected, malformed_expected)
    for hit in hits:
        assert hit.time.tzinfo is not None and hit.status >= 100 and hit.path.startswith("/")


@pytest.mark.parametrize("name", sorted(REAL))
def test_detect_format_on_real_samples(name: str) -> None:
    assert detect_format(real_lines(name)[:20]) == DETECTED[name]


def test_real_gptbot_sample_mixed_offsets_to_utc() -> None:
    sample = real_lines("issue_ai_crawler_gptbot_nginx-bad-bot-blocker-530.log")
    hits = [make_parser("combined").parse(line) for line in sample]
    assert hits[0].time == datetime(2023, 8, 4, 13, 25, 54, tzinfo=UTC)  # 09:25:54 -0400
    assert hits[1].time == datetime(2023, 8, 7, 18, 2, 7, tzinfo=UTC)
    assert hits[0].status == 301


def test_real_cloudfront_and_traefik_details() -> None:
    cloudfront = make_parser("cloudfront")
    hits = [h for h in map(cloudfront.parse, real_lines("matomo_amazon_cloudfront_web.log")) if h]
    assert hits[0].user_agent.startswith("Mozilla/5.0 (Windows; U; Windows NT 6.1; de-DE)")
    assert hits[0].host == "example.com"
    traefik = make_parser("traefik").parse(real_lines("matomo_traefik_json.log")[0])
    assert (traefik.path, traefik.query, traefik.referrer) == ("/my/app/auth", "id=1234&user=dude", "www.example.com")


def test_real_vhost_sample_as_nginx_keeps_the_host_and_no_client() -> None:
    fmt, options, _, _ = REAL["issue_vhost_custom_format_bingbot_goaccess-1543.log"]
    hit = make_parser(fmt, **options).parse(real_lines("issue_vhost_custom_format_bingbot_goaccess-1543.log")[1])
    assert (hit.host, hit.client, hit.path, hit.status) == ("goenhanced.com", "", "/robots.txt", 404)
