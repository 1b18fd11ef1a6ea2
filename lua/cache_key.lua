-- The MPI/CUDA cache key, shared by the uv-hpc modulefile and the Lmod hooks.
--
-- uvmod pastes this text after the generated `local site = {...}` table of both files
-- (uvmod/render/lua.py), so the modulefile and the hook compute the key with the same code.
-- uvmod/cachekey.py (`uvmod key`), tcl/cache_key.tcl and sh/uvmod-key.sh are its twins:
-- tests/test_cache_key.py runs one table of generated cases through all four, so keep the rule
-- below in step with them (docs/design.md#cache-key).
--
-- The key: the full names (`name/version`) of the loaded modules that are named in
-- `cache_key.modules` or hold one of `cache_key.families`, sorted, joined with ",";
-- "" when there are none.

-- Byte order, not Lua's `<`: string comparison in Lua goes through strcoll(), which depends on
-- the locale, and the key must be the same string whatever LANG the user has (Python's sorted()
-- and `LC_ALL=C sort` use byte order too).
local function bytes_less(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = a:byte(i), b:byte(i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

-- Whether the module with full name `full` is the module `name`: "mpich/4.1.2" and "mpich" are
-- "mpich"; "mpich-ext/1.0" is not. Only full names are compared (not Lmod's short name) because
-- LOADEDMODULES, which `uvmod key` reads outside Lmod, holds nothing else.
local function is_module(full, name)
  return full == name or full:sub(1, #name + 1) == name .. "/"
end

-- spec: site.cache_key; loaded: full names of the loaded modules; family_members: the names of
-- the modules that hold one of spec.families (Lmod records a family by the module's short name).
local function compute_cache_key(spec, loaded, family_members)
  local names = {}
  for _, name in ipairs(spec.modules) do names[#names + 1] = name end
  for _, name in ipairs(family_members) do names[#names + 1] = name end
  local picked, seen = {}, {}
  for _, full in ipairs(loaded) do
    for _, name in ipairs(names) do
      if not seen[full] and is_module(full, name) then
        seen[full] = true
        picked[#picked + 1] = full
      end
    end
  end
  table.sort(picked, bytes_less)
  return table.concat(picked, ",")
end
