wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local tag = ""
local n = 0
setup = function(thread) thread:set("tag", tostring(math.random(1, 1e9)) .. "-" .. tostring(os.time())) end
init = function(args) tag = wrk.thread:get("tag") or tostring(math.random(1, 1e9)) end
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, '{"customer":{"name":"Load ' .. n .. '","email":"l' .. tag .. '-' .. n .. '@example.com"}}')
end
