"""AWS load balancer access logs: ALB (`alb`) and classic ELB (`elb`).

Neither logs a referrer: AI referrals there are found by `utm_source` only. The client is written
'address:port' (the port is dropped). A line whose status is '-' or whose request is '- - - ' records a
connection that never became an HTTP exchange (TCP listeners, idle timeouts): `parse` returns None.
ALB lines carry the requested host in `domain_name` (and in the request's absolute URL).
"""

from __future__ import annotations

import re

from monitor.traffic.base import (
    Hit,
    LineParser,
    MalformedLine,
    iso_time,
    split_request,
    status_of,
)

_AGENT = r'"((?:[^"\\]|\\.)*)"'
# type time elb client:port target:port t1 t2 t3 elb_status target_status rx tx "request" "agent" cipher proto
# target_group "trace" "domain" ...
_ALB = re.compile(r'(\S+) (\S+) \S+ (\S+) \S+ \S+ \S+ \S+ (\S+) \S+ \S+ \S+ "([^"]*)" ' + _AGENT
                  + r'(?: \S+ \S+ \S+ "[^"]*" "([^"]*)")?')
# time elb client:port backend:port t1 t2 t3 elb_status backend_status rx tx "request" "agent" cipher proto
_ELB = re.compile(r'(\S+) \S+ (\S+) \S+ \S+ \S+ \S+ (\S+) \S+ \S+ \S+ "([^"]*)"(?: ' + _AGENT + ")?")


def _address(client_port: str) -> str:
    if client_port == "-":
        return ""
    address, colon, port = client_port.rpartition(":")
    return address.strip("[]") if colon and port.isdigit() else client_port


def _host(request: str) -> str:
    """The host of an absolute request URL ('GET https://www.example.com:443/p HTTP/1.1')."""
    start = request.find("://")
    if start < 0:
        return ""
    start += 3
    end = len(request)
    for stop in ("/", " ", "?"):
        i = request.find(stop, start)
        if 0 <= i < end:
            end = i
    return request[start:end].split(":")[0].lower()


class _AwsParser(LineParser):
    _regex: re.Pattern[str]

    def _hit(self, time: str, client: str, status: str, request: str, agent: str | None,
             host: str | None) -> Hit | None:
        if status == "-" or request.strip("- ") == "":
            return None
        method, path, query = split_request(request)
        return Hit(iso_time(time), _address(client), method, path, query, status_of(status), "",
                   "" if agent in (None, "-") else agent, (host if host and host != "-" else _host(request)))

    def parse(self, line: str) -> Hit | None:
        m = self._regex.match(line)
        if m is None and not line.strip():
            return None
        if m is None:
            raise MalformedLine("truncated line" if line.count('"') % 2 else f"not an {self.name} line")
        return self._from(m.groups())

    def _from(self, g: tuple) -> Hit | None:
        raise NotImplementedError


class AlbParser(_AwsParser):
    name = "alb"
    _regex = _ALB

    def _from(self, g: tuple) -> Hit | None:
        return self._hit(g[1], g[2], g[3], g[4], g[5], g[6])


class ElbParser(_AwsParser):
    name = "elb"
    _regex = _ELB

    def _from(self, g: tuple) -> Hit | None:
        return self._hit(g[0], g[1], g[2], g[3], g[4], None)
