-- wrk script of perf/soak.mjs: keep-alive GETs rotating over the soak's files, every
-- fourth one a single range of the 1 MiB file (206). Any status but 200/206 is counted by
-- wrk as "Non-2xx or 3xx responses" and fails the soak.
local paths = { "/4k.bin", "/64k.bin", "/1m.bin", "/index.html" }
local n = 0
request = function()
  n = n + 1
  if n % 4 == 0 then
    local a = (n * 7919) % 1000000
    return wrk.format("GET", "/1m.bin", { ["Range"] = "bytes=" .. a .. "-" .. (a + 4095) })
  end
  return wrk.format("GET", paths[(n % #paths) + 1])
end
