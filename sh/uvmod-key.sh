# shellcheck shell=sh
# The cache-key check for POSIX sh, for the uv wrapper to call on every run.
#
# Functions only: the wrapper's build pastes this text in front of its phases (sh/uv-phases.sh),
# the way lua/cache_key.lua is pasted into the modulefile. uvmod/cachekey.py, lua/cache_key.lua
# and tcl/cache_key.tcl are its twins: tests/test_cache_key.py runs one table of generated cases
# through all four (docs/design.md#cache-key). uvmod_key_current repeats the comparison of
# `uvmod key` (uvmod/cachekey.py, KeyStatus.stale) with builtins only, no sort, no subprocess:
#
#   uvmod_key_current KEY LOADED NAMES FAMILY_VARS
#     KEY          the value of the key variable, "" when unset
#     LOADED       $LOADEDMODULES: colon-separated full names of the loaded modules
#     NAMES        space-separated [cache_key].modules
#     FAMILY_VARS  space-separated names of the variables holding the module of each family of
#                  [cache_key].families: LMOD_FAMILY_<NAME> and MODULES_FAMILY_<NAME>
#   Exit status 0 when KEY lists exactly the loaded modules that belong in the key, 1 when it
#   is stale (the fix: `module reload uv-hpc`, or the site installs the Lmod hook).
#
# KEY is compared as a set: every loaded module that belongs in the key is in KEY, and KEY has
# no other entry (same count). uvmod writes keys sorted, so a set match is an exact match for any
# key uvmod wrote. A loaded module belongs in the key when its full name is one of the names or
# starts with one of them followed by "/" (lua/cache_key.lua, is_module).
#
#   uvmod_key_compute LOADED NAMES FAMILY_VARS
#     Sets uvmod_key_result to the key the loaded modules give now: the matching full names,
#     sorted in byte order (LC_ALL=C sort, as lua/cache_key.lua sorts), joined with ",". It runs
#     one `sort` process, so the wrapper calls it only when uvmod_key_current said "stale".
#
# Every variable starts with _uk_; IFS and the noglob option are restored before returning
# (module names are split with globbing off: a name is never a pattern).

# The loaded full names that belong in the key, one per line in LOADEDMODULES order and each
# once, into _uk_list, and their number into _uk_matched. Shared by the two functions below.
_uvmod_key_matches() {
  _uk_loaded=$1
  _uk_names=$2
  _uk_famvars=$3
  _uk_ifs_set=${IFS+x}
  _uk_ifs=${IFS-}
  case $- in
    *f*) _uk_noglob=x ;;
    *) _uk_noglob= ; set -f ;;
  esac
  IFS=' '
  for _uk_var in $_uk_famvars; do
    eval "_uk_member=\${$_uk_var-}"
    if [ -n "$_uk_member" ]; then _uk_names="$_uk_names $_uk_member"; fi
  done
  _uk_list=
  _uk_matched=0
  IFS=:
  for _uk_full in $_uk_loaded; do
    IFS=' '
    # A module listed twice counts once, as in the other three implementations.
    case "
$_uk_list" in
      *"
$_uk_full
"*) continue ;;
    esac
    for _uk_name in $_uk_names; do
      case $_uk_full in
        "$_uk_name" | "$_uk_name"/*)
          _uk_list="$_uk_list$_uk_full
"
          _uk_matched=$((_uk_matched + 1))
          break ;;
      esac
    done
  done
  if [ -n "$_uk_ifs_set" ]; then IFS=$_uk_ifs; else unset IFS; fi
  if [ -z "$_uk_noglob" ]; then set +f; fi
}

uvmod_key_compute() {
  _uvmod_key_matches "$1" "$2" "$3"
  uvmod_key_result=
  if [ -n "$_uk_list" ]; then
    # Joined in a loop over the sorted lines; IFS is set to a newline for it and restored.
    _uk_sorted=$(printf '%s' "$_uk_list" | LC_ALL=C sort -u)
    while [ -n "$_uk_sorted" ]; do
      _uk_line=${_uk_sorted%%"
"*}
      uvmod_key_result=$uvmod_key_result${uvmod_key_result:+,}$_uk_line
      case $_uk_sorted in
        *"
"*) _uk_sorted=${_uk_sorted#*"
"} ;;
        *) _uk_sorted= ;;
      esac
    done
  fi
}

uvmod_key_current() {
  _uvmod_key_matches "$2" "$3" "$4"
  _uk_key=$1
  _uk_status=0
  # Every matching loaded module is in KEY...
  _uk_rest=$_uk_list
  while [ -n "$_uk_rest" ]; do
    _uk_full=${_uk_rest%%"
"*}
    _uk_rest=${_uk_rest#*"
"}
    case ,$_uk_key, in
      *",$_uk_full,"*) ;;
      *) _uk_status=1 ;;
    esac
  done
  # ...and KEY has no other entry (same count).
  _uk_parts=0
  _uk_rest=$_uk_key
  while [ -n "$_uk_rest" ]; do
    _uk_parts=$((_uk_parts + 1))
    case $_uk_rest in
      *,*) _uk_rest=${_uk_rest#*,} ;;
      *) _uk_rest= ;;
    esac
  done
  if [ "$_uk_parts" -ne "$_uk_matched" ]; then _uk_status=1; fi
  return "$_uk_status"
}
