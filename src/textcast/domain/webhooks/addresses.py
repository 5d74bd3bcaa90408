"""Where a webhook may post: `http(s)` URLs whose host is a public address (SSRF guard).

Checked when a subscription is saved, and again at every attempt against the addresses the
name resolves to then (a name may be pointed at an internal address later); the attempt then
connects to the address that was checked, not to a second resolution of the name.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from textcast.domain.errors import FieldProblem, InvalidInput

MAX_URL_LENGTH = 2000

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class ForbiddenAddress(Exception):
    """The URL's host is, or resolves to, an address webhooks may not reach."""


class Unresolvable(ForbiddenAddress):
    """The URL's host name does not resolve (now: at send time, maybe a passing DNS failure,
    so a delivery is retried)."""


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    scheme: str
    host: str
    """As written in the URL (the `Host` header and, for https, the TLS server name)."""
    port: int


def read_url(url: str, *, field: str = "url") -> Target:
    """A webhook URL's parts, or `InvalidInput` naming what is wrong with it."""

    def refuse(message: str) -> InvalidInput:
        return InvalidInput([FieldProblem(field, message, url[:200])])

    url = url.strip()
    if not url:
        raise refuse("enter the URL textcast should post events to")
    if len(url) > MAX_URL_LENGTH:
        raise refuse(f"at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise refuse(f"not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise refuse("must start with https:// (or http://)")
    if not parts.hostname:
        raise refuse("has no host name")
    if parts.username or parts.password:
        raise refuse(
            "must not carry a user name or password: the signature (webhook-signature) "
            "is how the receiver knows the request is ours"
        )
    if parts.fragment:
        raise refuse("must not have a #fragment")
    default = 443 if parts.scheme == "https" else 80
    return Target(url, parts.scheme, parts.hostname, port or default)


def is_public(address: IPAddress) -> bool:
    """Reachable on the internet: not loopback, link-local, private, shared (CGNAT),
    multicast, reserved or unspecified. An IPv4 address mapped into IPv6 is judged as IPv4."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def resolve(target: Target, *, allow_private: bool) -> list[IPAddress]:
    """The addresses the target's host stands for, all of them allowed; `ForbiddenAddress`
    when one is not (or the name does not resolve)."""
    try:
        literal = ipaddress.ip_address(target.host)
    except ValueError:
        try:
            found = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise Unresolvable(f"{target.host} does not resolve ({exc})") from None
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in found))
    else:
        addresses = [literal]
    if not addresses:
        raise Unresolvable(f"{target.host} does not resolve")
    if not allow_private:
        for address in addresses:
            if not is_public(address):
                raise ForbiddenAddress(
                    f"{target.host} is {address}, a loopback, link-local or private address: "
                    "webhooks go to public addresses only (WEBHOOK_ALLOW_PRIVATE=true allows "
                    "them)"
                )
    return addresses


def check_url(url: str, *, allow_private: bool, field: str = "url") -> Target:
    """A URL a subscription may be saved with: well formed, and its host resolves to
    allowed addresses now; `InvalidInput` naming the problem otherwise."""
    target = read_url(url, field=field)
    try:
        resolve(target, allow_private=allow_private)
    except ForbiddenAddress as exc:
        raise InvalidInput([FieldProblem(field, str(exc), url[:200])]) from None
    return target
