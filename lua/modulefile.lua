-- Body of the uv-hpc Lmod modulefile.
--
-- uvmod prepends a generated `local site = {...}` table (the data table of uvmod/render/table.py,
-- spelled by uvmod/render/lua.py) and lua/cache_key.lua, and this text follows unchanged, so
-- this file is real Lua that `luac -p` checks on its own.
-- Everything site-specific is data in `site`; the logic here is the same for every site.
-- Only functions of Lmod's modulefile sandbox are used (os.getenv, io.open, string.*).

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

-- Expand a path template: a list of parts tagged by `kind`: {kind="text", text=S},
-- {kind="env", name=NAME, default={...}} (shell `${NAME:-default}` semantics: empty counts as
-- unset) and {kind="arch"}.
-- A ${NAME} without default that is unset only fails `module load`: unloading must always
-- work (the value of a setenv does not matter then), and `module show`, `help`, `whatis` and
-- `spider` (and a spider cache built by an admin without $SCRATCH) show the template itself.
local function expand(parts, arch, what)
  local out = {}
  for _, part in ipairs(parts) do
    if part.kind == "text" then
      out[#out + 1] = part.text
    elseif part.kind == "arch" then
      out[#out + 1] = arch
    else
      local value = os.getenv(part.name)
      if value == nil or value == "" then
        if part.default ~= nil then
          value = expand(part.default, arch, what)
        elseif mode() == "load" then
          LmodError(site.name .. ": " .. what .. " needs $" .. part.name ..
                    ", which is not set; set it or ask your administrator")
          return ""
        elseif mode() == "unload" then
          return ""
        else
          value = "${" .. part.name .. "}"
        end
      end
      out[#out + 1] = value
    end
  end
  return table.concat(out)
end

-- The set of CPU features on the first "flags" (x86-64) or "Features" (aarch64) line of a
-- cpuinfo file (all cores list the same; reading one line keeps a 128-core dump cheap). nil when
-- the file cannot be read or has no such line.
local function cpu_flags(path)
  local f = io.open(path, "r")
  if f == nil then return nil end
  local flags = nil
  for line in f:lines() do
    local list = line:match("^[Ff]lags%s*:%s*(.*)$") or line:match("^Features%s*:%s*(.*)$")
    if list then
      flags = {}
      for flag in list:gmatch("%S+") do flags[flag] = true end
      break
    end
  end
  f:close()
  return flags
end

-- The machine type (`uname -m`): the override variable (tests, or a site whose kernel reports
-- another), else /proc/sys/kernel/arch (Linux 6.1 and later: no process), else `uname -m`.
local function machine_type()
  local value = os.getenv(site.arch.machine_override_variable)
  if value ~= nil and value ~= "" then return trim(value) end
  local f = io.open("/proc/sys/kernel/arch", "r")
  if f ~= nil then
    value = f:read("*l")
    f:close()
    if value ~= nil and value ~= "" then return trim(value) end
  end
  return trim(capture("uname -m") or "")
end

local function known_arch(name)
  for _, rule in ipairs(site.arch.rules) do
    if rule.arch == name then return true end
  end
  return false
end

local function say(text)
  -- LmodMessage writes to stderr: stdout is eval'ed by the shell and must stay clean.
  if mode() == "load" then LmodMessage(site.name .. ": " .. text) end
end

-- An override variable first (RSNT_ARCH on the Alliance clusters), then the first rule whose
-- machine type (if it names one) and cpuinfo flags all match, then the last (least capable)
-- architecture (docs/design.md#node-types).
local function detect_arch(machine)
  local fallback = site.arch.rules[#site.arch.rules].arch
  for _, var in ipairs(site.arch.override_variables) do
    local value = os.getenv(var)
    if value ~= nil and value ~= "" then
      value = trim(value)
      if known_arch(value) then return value end
      say("$" .. var .. "=" .. value .. " is not a known architecture; using " .. fallback)
      return fallback
    end
  end
  local path = os.getenv(site.arch.cpuinfo_variable) or "/proc/cpuinfo"
  local flags = cpu_flags(path)
  if flags == nil then
    say("cannot read CPU flags from " .. path .. "; using " .. fallback)
    return fallback
  end
  for _, rule in ipairs(site.arch.rules) do
    local ok = rule.machine == "" or rule.machine == machine
    for _, flag in ipairs(rule.flags) do
      if not ok then break end
      if not flags[flag] then ok = false end
    end
    if ok then return rule.arch end
  end
  return fallback
end

help(site.help)
for _, line in ipairs(site.whatis) do whatis(line) end
family(site.family)

-- Where Lmod only reads declarations, do no more than it needs. `module help` and `whatis`
-- (modes "help" and "whatis") and the re-evaluation of every loaded module after an unload
-- ("dependencyCk", which looks for depends_on/prereq only) need nothing below. `module spider`,
-- `avail` and update_lmod_system_cache_files ("spider") record the PATH entries for Lmod's
-- reverse map: only the settings that need neither the arch nor the environment are made there.
-- Detecting the arch would read cpuinfo for nothing (the node running the spider or `help` is not
-- the one that loads), and the paths would be the cron job's or the template, not the user's
-- (docs/design.md#lmod-87-re-evaluation).
local mode_now = mode()
if mode_now == "help" or mode_now == "whatis" or mode_now == "dependencyCk" then return end
local spider = mode_now == "spider"

local function is_literal(parts)
  for _, part in ipairs(parts) do
    if part.kind ~= "text" then return false end
  end
  return true
end

-- On unload, remove exactly what load added even if the override or cpuinfo changed since.
local arch = nil
local machine = nil
if mode() == "unload" then
  arch = os.getenv(site.arch.variable)
  machine = os.getenv(site.arch.machine_variable)
end
if not spider then
  if machine == nil or machine == "" then machine = machine_type() end
  if arch == nil or arch == "" then arch = detect_arch(machine) end
  -- For the wrapper's environment identity, read once here rather than forked on every call.
  setenv(site.arch.machine_variable, machine)
end

for _, action in ipairs(site.actions) do
  if not spider or is_literal(action.value) then
    local value = expand(action.value, arch, action.name)
    if action.op == "setenv" then
      setenv(action.name, value)
    elseif action.op == "prepend_path" then
      prepend_path(action.name, value)
    end
  end
end
if spider then return end

-- The MPI/CUDA cache key as it is now (compute_cache_key: lua/cache_key.lua, pasted above).
-- This is only right until the next `module swap`: Lmod does not re-evaluate uv-hpc when an MPI
-- module changes under it. The finalize hook (lua/uvmod_hooks.lua) recomputes the key after every
-- module command and overwrites it with source "hook"; without the hook the source stays "load"
-- and `uvmod key` tells a stale key by comparing it with LOADEDMODULES.
local function family_members(families)
  local members = {}
  for _, fam in ipairs(families) do
    -- Lmod exports the short name of the module holding a family as LMOD_FAMILY_<NAME>
    -- (MT.lua, setfamily); os.getenv sees values set earlier in the same command too.
    local member = os.getenv(site.cache_key.lmod_family_prefix .. fam:upper())
    if member ~= nil and member ~= "" then members[#members + 1] = member end
  end
  return members
end

local function loaded_full_names()
  local names = {}
  for _, entry in ipairs(loaded_modules()) do names[#names + 1] = entry.fullName end
  return names
end

local key_spec = site.cache_key
if mode() == "unload" then
  -- setenv is reversed on unload: the variable is unset whatever value is passed.
  setenv(key_spec.variable, "")
  setenv(key_spec.source_variable, "")
else
  local key = compute_cache_key(key_spec, loaded_full_names(), family_members(key_spec.families))
  -- No key is an unset variable, not an empty one: the wrapper tests `${VAR:+set}` either way,
  -- but an unset variable is what `module unload` leaves too, so "no key" has a single spelling.
  if key == "" then
    unsetenv(key_spec.variable)
  else
    setenv(key_spec.variable, key)
  end
  setenv(key_spec.source_variable, key_spec.source_load)
end
