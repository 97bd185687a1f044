-- Mixed traffic for bench/soak.py (a wrk 4 script; wrk runs it with LuaJIT, one Lua state per thread).
--
-- wrk -s bench/soak.lua URL -- POOL_FILE CLIENT_KEY MODERATOR_KEY RUN_TAG REPEATED MIX
--   POOL_FILE      one comment per line, each a JSON string (with its quotes)
--   REPEATED       the first REPEATED comments of the pool are sent again and again (cache hits once
--                  seen); the others seed new comments, made unique with RUN_TAG, the thread and a counter
--   MIX            percentages "check,batch,lookup,feedback,hit": the share of each request type, and the
--                  share of comments (single or in a batch) taken from the repeated ones
--
-- Request types: check (POST /v1/comments/check), batch (POST /v1/comments/check-batch, 10 to 100
-- comments), lookup (GET /v1/verdicts/{id}, moderator key) and feedback (POST /v1/verdicts/{id}/feedback,
-- moderator key), on ids this thread got back from checks. Each request carries an X-Request-ID naming its
-- type, which the service echoes: that is how a response is matched to its request, its type and its
-- send time (for latency per type). done() prints lines starting with "SOAK" for bench/soak.py.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } soak_timespec;
  int clock_gettime(int clock, soak_timespec *ts);
]]
local ts = ffi.new("soak_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

-- main state: the threads, so that done() can collect their counts
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

-- thread state
local pool, repeated, tag = {}, 0, ""
local share = {}
local client_headers, moderator_headers
local ids, ids_max, ids_n, ids_next = {}, 5000, 0, 1
local sent_at, kind_of = {}, {}
local counter, seq = 0, 0
-- Globals, for done() to read with thread:get(), which copies flat tables only (a nested one crashes wrk 4.1):
counts = {}    -- "kind status" / "sent kind" / "cached kind true|false" / "stored kind false" / "item_error" -> n
latencies = {} -- "kind bucket" -> n, buckets 1% wide: bucket b holds latencies up to 1.01^(b+1) microseconds;
               -- "kind max" -> the largest latency
local LOG_STEP = math.log(1.01)

local function bump(key, n)
  counts[key] = (counts[key] or 0) + (n or 1)
end

function init(args)
  for line in io.lines(args[1]) do
    if line ~= "" then pool[#pool + 1] = line end
  end
  client_headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. args[2]}
  moderator_headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. args[3]}
  tag = args[4]
  repeated = tonumber(args[5])
  local mix = {}
  for n in string.gmatch(args[6], "%d+") do mix[#mix + 1] = tonumber(n) end
  share = {check = mix[1], batch = mix[1] + mix[2], lookup = mix[1] + mix[2] + mix[3], hit = mix[5]}
  math.randomseed(tid * 7919 + os.time())
end

local function comment()
  if math.random(100) <= share.hit then
    return pool[math.random(repeated)]
  end
  counter = counter + 1
  local seed = pool[math.random(repeated + 1, #pool)]
  return string.sub(seed, 1, -2) .. " #" .. tag .. "-" .. tid .. "-" .. counter .. '"'
end

local function headers_for(base, kind)
  seq = seq + 1
  local rid = kind .. "-" .. tid .. "-" .. seq
  local h = {}
  for k, v in pairs(base) do h[k] = v end
  h["X-Request-ID"] = rid
  sent_at[rid] = now_us()
  kind_of[rid] = kind
  bump("sent " .. kind)
  return h
end

function request()
  local r = math.random(100)
  if ids_n == 0 and r > share.batch then
    r = 1 -- no verdict id yet: check first
  end
  if r <= share.check then
    local body = '{"content": ' .. comment() .. ', "author": "soak", "comment_id": "c' .. seq .. '"}'
    return wrk.format("POST", "/v1/comments/check", headers_for(client_headers, "check"), body)
  elseif r <= share.batch then
    local items = {}
    for i = 1, math.random(10, 100) do
      items[i] = '{"content": ' .. comment() .. ', "author": "soak"}'
    end
    local body = '{"comments": [' .. table.concat(items, ", ") .. "]}"
    return wrk.format("POST", "/v1/comments/check-batch", headers_for(client_headers, "batch"), body)
  end
  local id = ids[math.random(ids_n)]
  if r <= share.lookup then
    return wrk.format("GET", "/v1/verdicts/" .. id, headers_for(moderator_headers, "lookup"), nil)
  end
  local label = math.random(2) == 1 and "spam" or "ham"
  local body = '{"label": "' .. label .. '", "moderator": "soak", "note": "soak test"}'
  return wrk.format("POST", "/v1/verdicts/" .. id .. "/feedback", headers_for(moderator_headers, "feedback"), body)
end

local function keep_id(id)
  ids[ids_next] = id
  ids_next = ids_next % ids_max + 1
  if ids_n < ids_max then ids_n = ids_n + 1 end
end

function response(status, headers, body)
  local rid = headers["X-Request-ID"] or headers["x-request-id"]
  local kind = rid and kind_of[rid] or "unknown"
  if rid and sent_at[rid] then
    local us = math.max(now_us() - sent_at[rid], 1)
    local key = kind .. " " .. math.floor(math.log(us) / LOG_STEP)
    latencies[key] = (latencies[key] or 0) + 1
    if us > (latencies[kind .. " max"] or 0) then latencies[kind .. " max"] = us end
    sent_at[rid], kind_of[rid] = nil, nil
  end
  bump(kind .. " " .. status)
  if status == 200 and (kind == "check" or kind == "batch") then
    for id in string.gmatch(body, '"id": "(%w+)", "cached"') do keep_id(id) end
    for cached in string.gmatch(body, '"cached": (%a+)') do bump("cached " .. kind .. " " .. cached) end
    for _ in string.gmatch(body, '"stored": false') do bump("stored " .. kind .. " false") end
    if kind == "batch" then
      for _ in string.gmatch(body, '{"error": ') do bump("item_error") end
    end
  end
end

local function percentile(buckets, n, p)
  local want, seen = math.ceil(n * p / 100), 0
  for _, b in ipairs(buckets) do
    seen = seen + b[2]
    if seen >= want then return math.exp((b[1] + 1) * LOG_STEP) end
  end
  return 0
end

function done(summary, latency, requests)
  local total, merged, top = {}, {}, {}
  for _, thread in ipairs(threads) do
    for k, v in pairs(thread:get("counts")) do total[k] = (total[k] or 0) + v end
    for k, v in pairs(thread:get("latencies")) do
      local kind, rest = string.match(k, "^(%S+) (%S+)$")
      if rest == "max" then
        top[kind] = math.max(top[kind] or 0, v)
      else
        merged[kind] = merged[kind] or {}
        merged[kind][tonumber(rest)] = (merged[kind][tonumber(rest)] or 0) + v
      end
    end
  end
  for k, v in pairs(total) do io.write(string.format("SOAK count %s %d\n", k, v)) end
  for kind, by_bucket in pairs(merged) do
    local buckets, n = {}, 0
    for b, c in pairs(by_bucket) do
      buckets[#buckets + 1] = {b, c}
      n = n + c
    end
    table.sort(buckets, function(x, y) return x[1] < y[1] end)
    io.write(string.format("SOAK latency %s %d %.0f %.0f %.0f %.0f\n", kind, n, percentile(buckets, n, 50),
      percentile(buckets, n, 99), percentile(buckets, n, 99.9), top[kind]))
  end
  local e = summary.errors
  io.write(string.format("SOAK errors connect=%d read=%d write=%d status=%d timeout=%d\n",
    e.connect, e.read, e.write, e.status, e.timeout))
end
