wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, '{"customer":{"id":"' .. math.random(1, 20000) .. '","name":"Renamed ' .. n .. '"},"updateMask":"name"}')
end
