"""The one HTTP client for addresses a user typed: CalDAV servers, video-app webhooks.

A user-supplied URL must not reach Parley's own network (server-side request forgery):
loopback, private, link-local (cloud metadata at 169.254.169.254), multicast, reserved and
unspecified addresses are refused. The check runs on every request, redirects included
(each hop goes through the adapter again), twice: on the resolved addresses before
connecting, for a clear message, and on the address the socket actually connected to, so
a DNS name that changes its answer in between (DNS rebinding) is still caught.

Self-hosted CalDAV on a private network is allowed by listing its networks in
OUTBOUND_ALLOWED_NETWORKS (comma separated CIDRs); the default allows none. Proxies from
the environment are ignored: the guard must see the real destination.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import requests
from flask import current_app, has_app_context
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

DEFAULT_TIMEOUT = 10.0
MAX_REDIRECTS = 5

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedDestination(requests.exceptions.ConnectionError):
    """The URL points at an address Parley does not call (a requests error, so every
    caller's existing `except requests.RequestException` handles it)."""


def allowed_networks() -> tuple[Network, ...]:
    """OUTBOUND_ALLOWED_NETWORKS of the current app, parsed."""
    raw = current_app.config.get("OUTBOUND_ALLOWED_NETWORKS", "") if has_app_context() else ""
    return parse_networks(raw)


def parse_networks(raw: str) -> tuple[Network, ...]:
    """"10.0.0.0/8, 127.0.0.1" -> networks; raises ValueError on a malformed entry."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False)
                 for part in (raw or "").split(",") if part.strip())


def _refused(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (not address.is_global or address.is_multicast or address.is_reserved
            or address.is_loopback or address.is_link_local or address.is_private
            or address.is_unspecified)


def check_address(address: str, allowed: tuple[Network, ...]) -> None:
    """Raise RefusedDestination unless address (an IP literal) may be called."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if any(ip in network for network in allowed):
        return
    if _refused(ip):
        raise RefusedDestination(f"refused destination address {ip}")


def check_url(url: str, allowed: tuple[Network, ...] | None = None) -> None:
    """Raise RefusedDestination unless url is http(s) and every address its host resolves
    to may be called. Numeric forms (`0x7f000001`, `127.1`) resolve like any other name."""
    allowed = allowed_networks() if allowed is None else allowed
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedDestination("only http and https addresses are called")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError, UnicodeError) as exc:
        raise requests.exceptions.ConnectionError("the server's name did not resolve") from exc
    for info in infos:
        check_address(info[4][0], allowed)


def _guarded(connection_cls):
    class Guarded(connection_cls):
        allowed: tuple[Network, ...] = ()

        def _new_conn(self):
            sock = super()._new_conn()
            try:
                check_address(sock.getpeername()[0], self.allowed)
            except RefusedDestination:
                sock.close()
                raise
            return sock

    return Guarded


class GuardedAdapter(HTTPAdapter):
    """Checks each request's URL before sending and each new socket's peer after it
    connects; applies a default timeout."""

    def __init__(self, allowed: tuple[Network, ...], timeout: float):
        self.allowed, self.timeout = allowed, timeout
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        allowed = self.allowed
        http_conn = type("GuardedHTTPConnection", (_guarded(HTTPConnection),),
                         {"allowed": allowed})
        https_conn = type("GuardedHTTPSConnection", (_guarded(HTTPSConnection),),
                          {"allowed": allowed})
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
            "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,),
                          {"ConnectionCls": https_conn}),
        }

    def send(self, request, **kwargs):
        check_url(request.url, self.allowed)
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        kwargs["proxies"] = {}
        try:
            return super().send(request, **kwargs)
        except requests.exceptions.ConnectionError as exc:
            refused = _refusal_in(exc)
            if refused is not None:
                raise RefusedDestination(str(refused)) from exc
            raise


def _refusal_in(exc: BaseException) -> RefusedDestination | None:
    """The socket-level refusal that urllib3 wrapped in its own errors, if any."""
    todo: list[BaseException] = [exc]
    for _ in range(20):  # a short chain; the bound guards against a cycle
        if not todo:
            break
        current = todo.pop()
        if isinstance(current, RefusedDestination):
            return current
        todo += [a for a in getattr(current, "args", ()) if isinstance(a, BaseException)]
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]
    return None


def session(timeout: float = DEFAULT_TIMEOUT) -> requests.Session:
    """A requests session that only reaches permitted addresses (see the module docstring)."""
    s = requests.Session()
    s.trust_env = False  # no proxy or .netrc from the environment
    s.max_redirects = MAX_REDIRECTS
    adapter = GuardedAdapter(allowed_networks(), timeout)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    return s


def request(method: str, url: str, **kwargs) -> requests.Response:
    """One guarded request (a new session each time: the calls are rare)."""
    with session(kwargs.pop("timeout", None) or DEFAULT_TIMEOUT) as s:
        return s.request(method, url, **kwargs)
