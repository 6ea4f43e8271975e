"""Lua scripts of the job records: every state transition is one atomic script.

Layout in Redis (``p`` is the prefix):

- ``p:job:<id>``: hash with the record's fields; ``''`` stands for ``None``.
- ``p:t:<tenant>:jobs``: zset of the tenant's job ids scored by a global sequence (newest has
  the highest score), and ``p:t:<tenant>:state:<state>`` the same per state.
- ``p:state:<state>``: zset of all job ids in a state (metrics).
- ``p:leases``: zset of running job ids scored by lease expiry (epoch seconds).
- ``p:seq``: the sequence counter.
- ``p:t:<tenant>:bytes``: hash job id -> bytes the job stores (``jobstore.storage``); it
  expires with the tenant's indexes, and entries of records that are gone stop counting.

Index entries of an expired record are removed lazily by the readers. Times come from the
Redis server clock (``TIME``), so API and workers on different hosts agree on lease expiry.
Every script takes ``ARGV[1]`` = prefix, ``ARGV[2]`` = job id, ``ARGV[3]`` = retention seconds,
and as its last argument the injected time of ``jobstore.clock`` (``''``: the server's clock).
"""

from __future__ import annotations

from jobstore.clock import LUA_NOW

_PRELUDE = (
    LUA_NOW
    + """
local p = ARGV[1]
local id = ARGV[2]
local retention = tonumber(ARGV[3])
local jk = p .. ':job:' .. id
local function fmt(t)
  return string.format('%.6f', t)
end
local function move(tenant, seq, from, to)
  redis.call('ZREM', p .. ':t:' .. tenant .. ':state:' .. from, id)
  redis.call('ZREM', p .. ':state:' .. from, id)
  redis.call('ZADD', p .. ':t:' .. tenant .. ':state:' .. to, seq, id)
  redis.call('ZADD', p .. ':state:' .. to, seq, id)
end
local function expire_indexes(tenant)
  redis.call('EXPIRE', p .. ':t:' .. tenant .. ':jobs', retention)
  redis.call('EXPIRE', p .. ':t:' .. tenant .. ':bytes', retention)
  for _, st in ipairs({'queued', 'running', 'succeeded', 'failed', 'cancelled'}) do
    redis.call('EXPIRE', p .. ':t:' .. tenant .. ':state:' .. st, retention)
  end
end
local function touch()
  redis.call('HINCRBY', jk, 'version', 1)
  redis.call('EXPIRE', jk, retention)
  expire_indexes(redis.call('HGET', jk, 'tenant'))
end
local function field(name)
  return redis.call('HGET', jk, name)
end
local function owned(worker)
  return field('state') == 'running' and field('worker_id') == worker
end
"""
)

_HOLDER_ONLY = (
    _PRELUDE
    + """
if not owned(ARGV[4]) then return 0 end
"""
)
"""The prelude and the guard of a script only the job's lease holder (worker id ARGV[4])
may run: anyone else gets 0 and changes nothing."""

_EXISTING = (
    _PRELUDE
    + """
if redis.call('EXISTS', jk) == 0 then return 'missing' end
local state = field('state')
"""
)
"""The prelude and the guard of a script on a record that must exist: ``missing`` when it
does not; its ``state`` read once."""

STORED_BYTES = """
local function stored_bytes(p, tenant)
  local key = p .. ':t:' .. tenant .. ':bytes'
  local entries = redis.call('HGETALL', key)
  local total = 0
  for i = 1, #entries, 2 do
    if redis.call('EXISTS', p .. ':job:' .. entries[i]) == 1 then
      total = total + tonumber(entries[i + 1])
    else
      redis.call('HDEL', key, entries[i])
    end
  end
  return total
end
"""
"""Bytes stored by the tenant's jobs whose record exists (deleted and expired ones drop out
here, in the same atomic step as any script that calls it); prunes the others."""

# ARGV[4..]: tenant, total, idempotency key, payload digest, idempotency ref, max in flight,
# bytes the job stores, the tenant's quota of stored bytes (-1: none), the job's kind
# (``audit`` or ``selfcheck``). Returns {'ok'},
# {'exists'}, {'busy'} or {'quota', bytes the tenant stores}.
CREATE = (
    _PRELUDE
    + STORED_BYTES
    + """
local tenant = ARGV[4]
local max_in_flight = tonumber(ARGV[9])
local job_bytes = tonumber(ARGV[10])
local max_bytes = tonumber(ARGV[11])
if redis.call('EXISTS', jk) == 1 then return {'exists'} end
if max_in_flight >= 0 then
  local count = 0
  for _, st in ipairs({'queued', 'running'}) do
    local ix = p .. ':t:' .. tenant .. ':state:' .. st
    for _, member in ipairs(redis.call('ZRANGE', ix, 0, -1)) do
      if redis.call('EXISTS', p .. ':job:' .. member) == 1 then
        count = count + 1
      else
        redis.call('ZREM', ix, member)
        redis.call('ZREM', p .. ':state:' .. st, member)
      end
    end
  end
  if count >= max_in_flight then return {'busy'} end
end
if max_bytes >= 0 then
  local used = stored_bytes(p, tenant)
  if used + job_bytes > max_bytes then return {'quota', used} end
end
local seq = redis.call('INCR', p .. ':seq')
redis.call('HSET', jk, 'id', id, 'tenant', tenant, 'state', 'queued', 'created_at', fmt(now()),
  'started_at', '', 'finished_at', '', 'done', 0, 'total', ARGV[5], 'error', '',
  'cancel_requested', 0, 'worker_id', '', 'lease_until', '', 'attempts', 0, 'version', 1,
  'seq', seq, 'idempotency_key', ARGV[6], 'payload_digest', ARGV[7], 'idem_ref', ARGV[8],
  'kind', ARGV[12] or 'audit')
redis.call('EXPIRE', jk, retention)
redis.call('ZADD', p .. ':t:' .. tenant .. ':jobs', seq, id)
redis.call('ZADD', p .. ':t:' .. tenant .. ':state:queued', seq, id)
redis.call('ZADD', p .. ':state:queued', seq, id)
redis.call('HSET', p .. ':t:' .. tenant .. ':bytes', id, job_bytes)
expire_indexes(tenant)
return {'ok'}
"""
)

# ARGV[4]: bytes the job stores now. Returns 1, or 0 when the record is gone.
SET_JOB_BYTES = (
    _PRELUDE
    + """
if redis.call('EXISTS', jk) == 0 then return 0 end
local tenant = field('tenant')
redis.call('HSET', p .. ':t:' .. tenant .. ':bytes', id, ARGV[4])
expire_indexes(tenant)
return 1
"""
)

# ARGV[1]: prefix, ARGV[2]: tenant. Returns the bytes the tenant's jobs store.
TENANT_BYTES = (
    STORED_BYTES
    + """
return stored_bytes(ARGV[1], ARGV[2])
"""
)

# ARGV[4]: worker id, ARGV[5]: lease seconds. Returns 1 when this worker now runs the job.
TRY_START = (
    _PRELUDE
    + """
if redis.call('EXISTS', jk) == 0 then return 0 end
local state = field('state')
local t = now()
if state == 'running' then
  local lease = tonumber(field('lease_until'))
  if lease ~= nil and lease > t then return 0 end
  redis.call('HINCRBY', jk, 'attempts', 1)
elseif state ~= 'queued' then
  return 0
end
local tenant = field('tenant')
local seq = field('seq')
if field('cancel_requested') == '1' then
  redis.call('HSET', jk, 'state', 'cancelled', 'finished_at', fmt(t), 'worker_id', '',
    'lease_until', '')
  redis.call('ZREM', p .. ':leases', id)
  move(tenant, seq, state, 'cancelled')
  touch()
  return 0
end
local until_ = t + tonumber(ARGV[5])
redis.call('HSET', jk, 'state', 'running', 'worker_id', ARGV[4], 'lease_until', fmt(until_))
if field('started_at') == '' then redis.call('HSET', jk, 'started_at', fmt(t)) end
redis.call('ZADD', p .. ':leases', until_, id)
move(tenant, seq, state, 'running')
touch()
return 1
"""
)

# ARGV[4]: worker id, ARGV[5]: lease seconds. The lease is not part of the representation,
# so the version is not bumped; the retention is. A cancel request does not stop renewals: the
# job is the worker's until it acknowledges the cancel (FINISH) or its lease truly expires.
RENEW_LEASE = (
    _HOLDER_ONLY
    + """
local until_ = now() + tonumber(ARGV[5])
redis.call('HSET', jk, 'lease_until', fmt(until_))
redis.call('ZADD', p .. ':leases', until_, id)
redis.call('EXPIRE', jk, retention)
return 1
"""
)

# ARGV[4]: worker id, ARGV[5]: done, ARGV[6]: total
SET_PROGRESS = (
    _HOLDER_ONLY
    + """
redis.call('HSET', jk, 'done', ARGV[5], 'total', ARGV[6])
touch()
return 1
"""
)

# ARGV[4]: worker id, ARGV[5]: final state (succeeded, failed, cancelled), ARGV[6]: error JSON
# A success means every pair was audited: done = total, even when the last progress update
# was lost (progress is best effort while Redis blips).
FINISH = (
    _HOLDER_ONLY
    + """
redis.call('HSET', jk, 'state', ARGV[5], 'finished_at', fmt(now()), 'error', ARGV[6],
  'lease_until', '')
if ARGV[5] == 'succeeded' then
  redis.call('HSET', jk, 'done', field('total'))
end
redis.call('ZREM', p .. ':leases', id)
move(field('tenant'), field('seq'), 'running', ARGV[5])
touch()
return 1
"""
)

# Returns 'missing', 'finished' or 'ok'.
REQUEST_CANCEL = (
    _EXISTING
    + """
if state == 'queued' then
  redis.call('HSET', jk, 'state', 'cancelled', 'finished_at', fmt(now()),
    'cancel_requested', 1)
  move(field('tenant'), field('seq'), 'queued', 'cancelled')
  touch()
elseif state == 'running' then
  if field('cancel_requested') ~= '1' then
    redis.call('HSET', jk, 'cancel_requested', 1)
    touch()
  end
elseif state ~= 'cancelled' then
  return 'finished'
end
return 'ok'
"""
)

# Running with an expired lease (its worker is gone): back to queued, or to cancelled when that
# was requested.
# Returns 1 when requeued: the caller sends the task again.
REQUEUE = (
    _PRELUDE
    + """
if redis.call('EXISTS', jk) == 0 then
  redis.call('ZREM', p .. ':leases', id)
  return 0
end
if field('state') ~= 'running' then return 0 end
local t = now()
local lease = tonumber(field('lease_until'))
if lease ~= nil and lease > t then return 0 end
redis.call('ZREM', p .. ':leases', id)
local target = 'queued'
if field('cancel_requested') == '1' then
  target = 'cancelled'
  redis.call('HSET', jk, 'finished_at', fmt(t))
else
  redis.call('HINCRBY', jk, 'attempts', 1)
end
redis.call('HSET', jk, 'state', target, 'worker_id', '', 'lease_until', '')
move(field('tenant'), field('seq'), 'running', target)
touch()
if target == 'queued' then return 1 end
return 0
"""
)

# ARGV[4]: '1' to delete even while running. Returns 'missing', 'running' or 'ok'.
DELETE = (
    _EXISTING
    + """
if state == 'running' and ARGV[4] ~= '1' then return 'running' end
local tenant = field('tenant')
local ref = field('idem_ref')
if ref ~= false and ref ~= '' and redis.call('HGET', ref, 'job_id') == id then
  redis.call('DEL', ref)
end
redis.call('DEL', jk)
redis.call('ZREM', p .. ':t:' .. tenant .. ':jobs', id)
redis.call('ZREM', p .. ':t:' .. tenant .. ':state:' .. state, id)
redis.call('ZREM', p .. ':state:' .. state, id)
redis.call('ZREM', p .. ':leases', id)
return 'ok'
"""
)

# ARGV[1]: the idempotency key's Redis name, ARGV[2]: payload digest, ARGV[3]: pending TTL,
# ARGV[4]: job key prefix (``p:job:``). Returns {state, job id or '', retry-after ms}.
IDEM_RESERVE = """
local k = ARGV[1]
if redis.call('EXISTS', k) == 1 then
  local job = redis.call('HGET', k, 'job_id') or ''
  if redis.call('HGET', k, 'digest') ~= ARGV[2] then return {'mismatch', job, 0} end
  if redis.call('HGET', k, 'state') == 'pending' then
    return {'in_progress', '', redis.call('PTTL', k)}
  end
  if redis.call('EXISTS', ARGV[4] .. job) == 1 then return {'replay', job, 0} end
end
redis.call('DEL', k)
redis.call('HSET', k, 'state', 'pending', 'digest', ARGV[2])
redis.call('PEXPIRE', k, ARGV[3])
return {'new', '', 0}
"""

# ARGV[1]: key name, ARGV[2]: job id, ARGV[3]: retention seconds
IDEM_COMPLETE = """
local k = ARGV[1]
if redis.call('HGET', ARGV[1], 'state') ~= 'pending' then return 0 end
redis.call('HSET', k, 'state', 'done', 'job_id', ARGV[2])
redis.call('EXPIRE', k, ARGV[3])
return 1
"""

# ARGV[1]: key name
IDEM_RELEASE = """
if redis.call('HGET', ARGV[1], 'state') == 'pending' then
  redis.call('DEL', ARGV[1])
  return 1
end
return 0
"""
