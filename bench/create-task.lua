-- wrk script: POST /api/tasks as one of 100 users, each with its own dev token.
-- usage: TOKENS_FILE=/tmp/tokens wrk -t2 -c32 -d15s -s bench/create-task.lua http://127.0.0.1:8000
local tokens = {}
local counter = 0

function init(args)
  local path = os.getenv("TOKENS_FILE") or "/tmp/taskfleet-tokens"
  for line in io.lines(path) do
    tokens[#tokens + 1] = line
  end
end

function request()
  counter = counter + 1
  local token = tokens[(counter % #tokens) + 1]
  local body = '{"title":"a task title","description":"some description","priority":"high","tags":["work","home"]}'
  return wrk.format("POST", "/api/tasks", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, body)
end

function done(summary, latency, requests)
  io.write(string.format("non-2xx or errors: %d\n", summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
  io.write(string.format("p50 %.2f ms, p99 %.2f ms\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
