-- Runs a generated modulefile outside Lmod: the Lmod functions it calls are recorded and printed
-- as NUL-separated records, so property tests can check thousands of configs quickly. Real Lmod
-- loads a sample of them too (tests/test_properties.py). The records are named as those of
-- tests/support/tclstub.tcl: `abort` for a load the modulefile stops (LmodError), `error` for a
-- Lua error.
local path = arg[1]
local out = {}
local aborted = false
local function record(...)
  local parts = { ... }
  for i = 1, #parts do parts[i] = tostring(parts[i]) end
  out[#out + 1] = table.concat(parts, "\0")
end
local env = setmetatable({
  setenv = function(name, value) record("setenv", name, value) end,
  unsetenv = function(name) record("unsetenv", name) end,
  prepend_path = function(name, value) record("prepend_path", name, value) end,
  help = function(text) record("help", text) end,
  whatis = function(text) record("whatis", text) end,
  family = function(name) record("family", name) end,
  mode = function() return "load" end,
  LmodMessage = function(text) io.stderr:write(text, "\n") end,
  LmodError = function(text) aborted = true; record("abort", text); error("LmodError") end,
  loaded_modules = function() return {} end,
  isloaded = function() return false end,
  capture = function(cmd) local h = io.popen(cmd); local v = h:read("*a"); h:close(); return v end,
}, { __index = _G })
local chunk = assert(loadfile(path, "t", env))
local ok, message = pcall(chunk)
if not ok and not aborted then record("error", message) end
io.write(table.concat(out, "\0\0"))
