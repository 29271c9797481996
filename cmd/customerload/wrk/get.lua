wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  return wrk.format(nil, nil, nil, '{"id":"' .. math.random(1, 20000) .. '"}')
end
