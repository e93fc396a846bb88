import { createHash } from 'node:crypto';

/**
 * One batch of a gateway in one round trip (RateLimiter gathers it): the in-flight slots its
 * finished responses free, then its decisions. Each decision covers both token buckets of its
 * caller (token-bucket.ts, mirrored line for line) and the in-flight cap, atomically, so that two
 * gateways can never both take the last token; decisions are taken in order, so two requests of
 * one caller in a batch see each other's spending.
 *
 * A caller's hash is read once per batch and written once (HSET + PEXPIRE) however many of the
 * batch's decisions are theirs; the slots freed are deleted with one HDEL per caller. The answers
 * are those of the same decisions sent one by one (rate-limit-script.spec.ts checks that). Under
 * load a busy caller has many decisions in a batch: per decision the script then does arithmetic
 * only, instead of four commands.
 *
 * The clock is Redis's own (TIME): every gateway replica then refills the same buckets on the same
 * clock, and a replica whose clock is off can neither mint tokens (ahead) nor freeze a bucket
 * (behind). Redis 5+ replicates scripts by their effects, so TIME before writes is allowed. ARGV[2]
 * replaces it in tests only (rate-limit-script.spec.ts), where the edges need a clock we control;
 * the gateway always sends ''.
 *
 * KEYS     the n callers to decide for, then the callers whose slots are freed. A caller's hash:
 *          m and h, thousandths of a token in the minute and hour buckets (whole numbers, see
 *          token-bucket.ts), t the time they were computed at (ms); and one field per request in
 *          flight, its slot -> when it stops counting (ms), so that the slots of a gateway that
 *          crashed before freeing them expire by themselves. No hash: both buckets full, nothing in
 *          flight.
 * ARGV     1 slot lifetime (ms), 2 clock ('' = TIME), 3 n, 4 p: the number of policies; then six
 *          per policy: minute capacity, minute window (ms), hour capacity, hour window (ms), cost
 *          (1: spend one token of each bucket and take a slot; 0: look, write nothing), in-flight
 *          cap; then two per decision: its policy (1..p) and its slot ('' = none); then the slots
 *          to free, one per key after the n-th
 * Returns  six numbers per decision, flat: allowed 1|0, refusal (0 none, 1 minute, 2 hour,
 *          3 concurrency), thousandths of a token left in the minute and in the hour bucket
 *          (floored), now (ms), requests in flight (below the cap this may count slots that
 *          expired but were not pruned yet)
 */
export const RATE_LIMIT_LUA = `
local life, n, p = tonumber(ARGV[1]), tonumber(ARGV[3]), tonumber(ARGV[4])
local first = 4 + 6 * p
local freed = first + n
if #KEYS > n then
  local order, slots = {}, {}
  for j = n + 1, #KEYS do
    local key = KEYS[j]
    local list = slots[key]
    if not list then
      list = {}
      slots[key] = list
      order[#order + 1] = key
    end
    list[#list + 1] = ARGV[freed + j]
  end
  for _, key in ipairs(order) do redis.call('HDEL', key, unpack(slots[key])) end
end
local out = {}
if n == 0 then return out end
local now
if ARGV[2] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[2])
end
local policies = {}
for j = 1, p do
  local a = 4 + (j - 1) * 6
  policies[j] = {
    tonumber(ARGV[a + 1]) * 1000, tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]) * 1000,
    tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5]), tonumber(ARGV[a + 6])
  }
end
-- Per caller: the bucket state as the decisions so far left it (t nil: none, both full), its slots
-- in flight, the expired slots seen (nil: not looked for yet), and what is left to write.
local callers, order = {}, {}
for i = 1, n do
  local key, a = KEYS[i], first + (i - 1) * 2
  local pol = policies[tonumber(ARGV[a + 1])]
  local slot = ARGV[a + 2]
  local mcap, mwin, hcap, hwin, cost, cap = pol[1], pol[2], pol[3], pol[4], pol[5], pol[6]
  local c = callers[key]
  if not c then
    local s = redis.call('HMGET', key, 'm', 'h', 't')
    local inflight = redis.call('HLEN', key)
    c = {inflight = inflight, added = {}, write = false}
    if s[3] then
      c.inflight = inflight - 3
      c.m, c.h, c.t = tonumber(s[1]), tonumber(s[2]), tonumber(s[3])
    end
    callers[key] = c
    order[#order + 1] = key
  end
  local units = cost * 1000
  local m, h, at = mcap, hcap, now
  if c.t then
    m, h, at = c.m, c.h, c.t
    local elapsed = now - at
    if elapsed > 0 then
      m = math.min(mcap, m + elapsed * mcap / mwin)
      h = math.min(hcap, h + elapsed * hcap / hwin)
      at = now
    else
      m = math.min(mcap, m)
      h = math.min(hcap, h)
    end
  end
  local refusal = 0
  if m < units then
    refusal = 1
  elseif h < units then
    refusal = 2
  end
  local inflight = c.inflight
  -- Expired slots are pruned only where they matter: at the cap, and for a look (which reports
  -- them). The batch has one clock, so they are looked for once per caller.
  if inflight > 0 and (slot == '' or inflight >= cap) then
    if not c.expired then
      c.expired = {}
      local fields = redis.call('HGETALL', key)
      for j = 1, #fields, 2 do
        local f = fields[j]
        if f ~= 'm' and f ~= 'h' and f ~= 't' and tonumber(fields[j + 1]) <= now then
          c.expired[#c.expired + 1] = f
        end
      end
    end
    inflight = inflight - #c.expired
    if slot ~= '' and #c.expired > 0 then
      redis.call('HDEL', key, unpack(c.expired))
      c.inflight = inflight
      c.expired = {}
    end
  end
  if slot ~= '' and refusal == 0 and inflight >= cap then refusal = 3 end
  if refusal == 0 and cost > 0 then
    m, h = math.floor(m - units), math.floor(h - units)
    -- The hash lives until both buckets are full again, and at least as long as this slot.
    local full = math.max((mcap - m) * mwin / mcap, (hcap - h) * hwin / hcap)
    c.ttl = math.max(math.ceil(full + at - now) + 1000, life)
    c.m, c.h, c.t, c.write = m, h, at, true
    if slot ~= '' then
      c.added[#c.added + 1] = slot
      c.added[#c.added + 1] = now + life
      inflight = inflight + 1
      c.inflight = c.inflight + 1
    end
  end
  local allowed = 0
  if refusal == 0 then allowed = 1 end
  local o = (i - 1) * 6
  out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5], out[o + 6] =
    allowed, refusal, math.floor(m), math.floor(h), now, inflight
end
for _, key in ipairs(order) do
  local c = callers[key]
  if c.write then
    redis.call('HSET', key, 'm', c.m, 'h', c.h, 't', c.t, unpack(c.added))
    redis.call('PEXPIRE', key, c.ttl)
  end
end
return out
`;

export const RATE_LIMIT_SHA = createHash('sha1').update(RATE_LIMIT_LUA).digest('hex');

/**
 * The script's answer as ioredis hands it over: per decision, in order, REPLY_WIDTH numbers
 * (allowed, refusal, minute and hour thousandths of a token, now, in flight).
 */
export type RateLimitReplies = readonly number[];
export const REPLY_WIDTH = 6;

export const REFUSAL_NONE = 0;
export const REFUSAL_MINUTE = 1;
export const REFUSAL_HOUR = 2;
export const REFUSAL_CONCURRENCY = 3;
