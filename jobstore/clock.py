"""The job store's time: Redis' own clock, or an injected one.

Leases, admission slots and worker heartbeats expire by the Redis server's clock (``TIME``), so
the API and workers on hosts with skewed clocks agree. A component built with a ``clock``
(a callable returning epoch seconds) uses that instead, in its Lua scripts and its reads
alike: tests make time pass by advancing it rather than by sleeping.

Scripts receive the injected time as their last argument (``''`` when there is none) and read
it through :data:`LUA_NOW`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import redis

Clock = Callable[[], float]
"""Epoch seconds now."""

LUA_NOW: Final = """
local clock_override = ARGV[#ARGV]
local function now()
  if clock_override ~= '' then return tonumber(clock_override) end
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
"""
"""A Lua ``now()``: the script's last argument when set, else the server's ``TIME``."""


def clock_argument(clock: Clock | None) -> str:
    """The last script argument that :data:`LUA_NOW` reads."""
    return "" if clock is None else f"{clock():.6f}"


def redis_now(client: redis.Redis, clock: Clock | None) -> float:
    """Epoch seconds now: ``clock()`` when injected, else the server's ``TIME``."""
    if clock is not None:
        return clock()
    seconds, micros = client.time()
    return int(seconds) + int(micros) / 1e6
