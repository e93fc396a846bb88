import { createHash } from 'node:crypto';

/**
 * One event-loop turn of a gateway in one round trip (RateLimiter gathers it): the in-flight slots
 * its finished responses free, then its decisions. Each decision covers both token buckets of its
 * caller (token-bucket.ts, mirrored line for line) and the in-flight cap, atomically, so that two
 * gateways can never both take the last token; decisions are taken in order, so two requests of
 * one caller in a batch see each other's spending.
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
 *          flight. (One key and four commands per decision: slots in a sorted set took two more.)
 * ARGV     1 slot lifetime (ms), 2 clock ('' = TIME), 3 n; then seven per decision: minute
 *          capacity, minute window (ms), hour capacity, hour window (ms), cost (1: spend one token
 *          of each bucket and take a slot; 0: look, write nothing), in-flight cap, slot ('' = none);
 *          then the slots to free, one per key after the n-th
 * Returns  per decision {allowed 1|0, refusal (0 none, 1 minute, 2 hour, 3 concurrency),
 *           thousandths of a token left in the minute and in the hour bucket (floored), now (ms),
 *           requests in flight (below the cap this may count slots that expired but were not
 *           pruned yet)}
 */
export const RATE_LIMIT_LUA = `
local life, n = tonumber(ARGV[1]), tonumber(ARGV[3])
local freed = 3 + 7 * n - n
for j = n + 1, #KEYS do redis.call('HDEL', KEYS[j], ARGV[freed + j]) end
local out = {}
if n == 0 then return out end
local now
if ARGV[2] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[2])
end
for i = 1, n do
  local key, a = KEYS[i], 3 + (i - 1) * 7
  local mcap, mwin = tonumber(ARGV[a + 1]) * 1000, tonumber(ARGV[a + 2])
  local hcap, hwin = tonumber(ARGV[a + 3]) * 1000, tonumber(ARGV[a + 4])
  local cost = tonumber(ARGV[a + 5])
  local cap, slot = tonumber(ARGV[a + 6]), ARGV[a + 7]
  local units = cost * 1000
  local m, h, at = mcap, hcap, now
  local s = redis.call('HMGET', key, 'm', 'h', 't')
  local inflight = redis.call('HLEN', key)
  if s[3] then
    inflight = inflight - 3
    m, h, at = tonumber(s[1]), tonumber(s[2]), tonumber(s[3])
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
  -- Expired slots are pruned only where they matter: at the cap, and for a look (which reports them).
  if inflight > 0 and (slot == '' or inflight >= cap) then
    local fields = redis.call('HGETALL', key)
    for j = 1, #fields, 2 do
      local f = fields[j]
      if f ~= 'm' and f ~= 'h' and f ~= 't' and tonumber(fields[j + 1]) <= now then
        inflight = inflight - 1
        if slot ~= '' then redis.call('HDEL', key, f) end
      end
    end
  end
  if slot ~= '' and refusal == 0 and inflight >= cap then refusal = 3 end
  if refusal == 0 and cost > 0 then
    m, h = math.floor(m - units), math.floor(h - units)
    -- The hash lives until both buckets are full again, and at least as long as this slot.
    local full = math.max((mcap - m) * mwin / mcap, (hcap - h) * hwin / hcap)
    local ttl = math.max(math.ceil(full + at - now) + 1000, life)
    if slot ~= '' then
      redis.call('HSET', key, 'm', m, 'h', h, 't', at, slot, now + life)
      inflight = inflight + 1
    else
      redis.call('HSET', key, 'm', m, 'h', h, 't', at)
    end
    redis.call('PEXPIRE', key, ttl)
  end
  local allowed = 0
  if refusal == 0 then allowed = 1 end
  out[i] = {allowed, refusal, math.floor(m), math.floor(h), now, inflight}
end
return out
`;

export const RATE_LIMIT_SHA = createHash('sha1').update(RATE_LIMIT_LUA).digest('hex');

/** The script's answer, as ioredis hands it over. */
export type RateLimitReply = [
  allowed: number,
  refusal: number,
  minuteMilliTokens: number,
  hourMilliTokens: number,
  now: number,
  inFlight: number,
];

export const REFUSAL_NONE = 0;
export const REFUSAL_MINUTE = 1;
export const REFUSAL_HOUR = 2;
export const REFUSAL_CONCURRENCY = 3;
