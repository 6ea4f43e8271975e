"""Network rules shared by the API, the launcher and the workers: what counts as loopback, and
whether a URL's host is on an operator's allow-list.

``is_loopback`` is the project's one loopback rule: local mode is allowed only on a loopback
bind address, and only in local mode may a callback or a source use plain ``http`` (to a
loopback host, for a receiver or file server on the same machine).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only: ``localhost``, any address of 127.0.0.0/8
    (IPv4-mapped too) or ``::1``. Square brackets of an IPv6 URL host are ignored."""
    host = host.strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    """Whether ``host`` is on the allow-list: an exact (case-insensitive) name or address, or a
    ``*.example.com`` entry matching any subdomain of example.com (not example.com itself)."""
    host = host.strip("[]").lower().rstrip(".")
    for entry in allowed:
        entry = entry.strip().strip("[]").lower().rstrip(".")
        if not entry:
            continue
        if entry.startswith("*."):
            if host.endswith(entry[1:]) and len(host) > len(entry) - 1:
                return True
        elif host == entry:
            return True
    return False


def remote_host_problem(
    scheme: str, host: str, allowed_hosts: Sequence[str], variable: str, *, local_mode: bool
) -> str | None:
    """Why the API or a worker may not talk to ``host`` over ``scheme`` (``None`` when it may):
    ``https`` to a host of ``allowed_hosts`` (the setting ``variable`` names), plain ``http``
    only to a loopback host in local mode. The rule of callback URLs and source URIs alike."""
    if scheme == "http" and not (local_mode and is_loopback(host)):
        return "expected https (plain http only to a loopback host in local mode)"
    if not host_allowed(host, allowed_hosts):
        return f"host {host!r} is not in {variable}"
    return None
