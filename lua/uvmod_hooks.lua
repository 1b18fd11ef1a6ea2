-- uvmod's Lmod hooks: keep the MPI/CUDA cache key equal to the loaded modules after every
-- module command.
--
-- uvmod prepends a generated `local site = {name=..., cache_key={...}}` table and the key
-- function of lua/cache_key.lua (compute_cache_key), and installs the result as
-- PREFIX/lmod/uvmod_hooks.lua. Lmod runs it either through PREFIX/lmod/SitePackage.lua
-- (LMOD_PACKAGE_PATH=PREFIX/lmod) or through one line in a site's own SitePackage.lua:
--     dofile("PREFIX/lmod/uvmod_hooks.lua")
--
-- Why a finalize hook: a key computed in the modulefile body goes stale on `module swap`,
-- because Lmod never re-evaluates uv-hpc when an MPI module changes under it. Lmod calls the
-- finalize hook once per command, after the command ran and after LOADEDMODULES was computed,
-- just before it prints the shell code (libexec/lmod, main: hook.apply("finalize", cmdName) comes
-- right before Shell:expand(varT)). So whatever the command was (load, unload, swap, family
-- autoswap, reload, purge, restore), the hook sees the final module table and the variables it
-- puts into varT are exported with the rest.
--
-- Rules the code below keeps:
-- * Never write to stdout: Lmod's stdout is eval'ed by the shell.
-- * Idempotent: the variable is only touched when its value has to change, so running the hook
--   twice (a SitePackage.lua and a dofile both loading this file) changes nothing.
-- * Only uv-hpc's business: while uv-hpc is not loaded the key and its source are removed and
--   nothing else is touched.

local hook     = require("Hook")
local FrameStk = require("FrameStk")
local Var      = require("Var")

-- What the shell holds for the two variables when this Lmod process started: this file runs
-- while Lmod reads SitePackage.lua, before the command evaluates any modulefile, so these are
-- the values the shell keeps for any variable that Lmod does not print this time.
local shell_value = {
  [site.cache_key.variable]        = os.getenv(site.cache_key.variable),
  [site.cache_key.source_variable] = os.getenv(site.cache_key.source_variable),
}

-- The value the shell will hold for `name` once it has evaluated Lmod's output (nil: unset).
-- Lmod prints an export or an unset for every entry of varT (BaseShell:expand over varT calls
-- Var:expand on each) and nothing for the other variables, which then keep shell_value.
-- Lmod's process environment (os.getenv) is not a substitute: Lmod 8.7.15 to 8.7.61 evaluate
-- every loaded modulefile again after an unload or a family autoswap, as a dependency check,
-- and there `setenv` writes the process environment without touching varT
-- (https://github.com/TACC/Lmod/issues/613; docs/design.md#lmod-87-re-evaluation).
local function exported(varT, name)
  local var = varT[name]
  if var == nil then return shell_value[name] end
  local value = var:expand()
  if value == false then return nil end
  return value
end

-- Make the shell hold `value` (nil: unset) for `name` after this command.
local function put(varT, name, value)
  if exported(varT, name) == value then return end
  local var = varT[name]
  if var == nil then
    var = Var:new(name)
    varT[name] = var
  end
  -- "unsetenv": Lmod 9 only removes the variable from its own process when told it is an
  -- unsetenv (Var.lua, M.unset(self, cmdName)); 8.6 ignores the argument and always does.
  if value == nil then var:unset("unsetenv") else var:set(value) end
end

local function uvmod_finalize()
  local frameStk = FrameStk:singleton()
  local mt       = frameStk:mt()
  local varT     = frameStk:varT()
  local spec     = site.cache_key
  if not mt:have(site.name, "active") then
    -- `module unload uv-hpc` already removed them (setenv is reversed on unload); this also
    -- clears values left behind when uv-hpc disappeared some other way.
    put(varT, spec.variable, nil)
    put(varT, spec.source_variable, nil)
    return
  end
  local loaded = {}
  for _, entry in ipairs(mt:list("fullName", "active")) do loaded[#loaded + 1] = entry.fullName end
  -- The module table keeps family -> short name of the module holding it (MT.lua, setfamily).
  local familyT = mt:getfamily() or {}
  local members = {}
  for _, fam in ipairs(spec.families) do
    if familyT[fam] then members[#members + 1] = familyT[fam] end
  end
  local key = compute_cache_key(spec, loaded, members)
  if key == "" then key = nil end
  put(varT, spec.variable, key)
  put(varT, spec.source_variable, spec.source_hook)
end

-- The functions already registered for hook `name`, from the table that Hook.lua keeps local
-- (`validT`): Lmod 8.6 has no getter, only register (which replaces) and apply. Returns the entry
-- (false: none; a function on Lmod < 8.7.35; a list of functions on 8.7.35+) and whether the
-- table was found at all.
local function registered(name)
  if type(debug) ~= "table" or type(debug.getupvalue) ~= "function" then return nil, false end
  local i = 1
  while true do
    local upname, value = debug.getupvalue(hook.apply, i)
    if upname == nil then return nil, false end
    if upname == "validT" and type(value) == "table" then return value[name], true end
    i = i + 1
  end
end

-- Register `fn` for hook `name` without dropping a function the site registered before.
local function add_hook(name, fn)
  local current, found = registered(name)
  if type(current) == "table" then
    -- Lmod 8.7.35+ keeps a list per hook; "append" runs the site's functions, then ours
    -- (Lmod docs, 170_hooks: "Registering Multiple Hook functions").
    hook.register(name, fn, "append")
  elseif type(current) == "function" then
    -- Lmod 8.6 keeps one function per hook and register() replaces it: call the site's first.
    local previous = current
    hook.register(name, function(...)
      local result = previous(...)
      fn(...)
      return result
    end)
  elseif found or not hook.exists(name) then
    hook.register(name, fn)
  else
    -- A hook is registered but cannot be seen (no debug library): replacing it would silently
    -- switch off the site's hook, so uvmod's stays off and says so (stderr, never stdout).
    -- The site can call the returned finalize function from its own hook instead.
    io.stderr:write("uvmod: the Lmod hook '" .. name .. "' is taken and cannot be chained; " ..
                    "call uvmod's finalize from it (see uvmod docs/admin-guide.md)\n")
  end
end

add_hook("finalize", uvmod_finalize)

return { finalize = uvmod_finalize }
