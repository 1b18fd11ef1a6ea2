# The MPI/CUDA cache key for the Environment Modules modulefile.
#
# uvmod pastes this text after the generated `set uvmod_site [dict create ...]` command and
# before tcl/modulefile.tcl (uvmod/render/tcl.py), as lua/cache_key.lua is pasted into the Lmod
# files. uvmod/cachekey.py, lua/cache_key.lua and sh/uvmod-key.sh are its twins:
# tests/test_cache_key.py runs one table of generated cases through all four, so keep the rule
# below in step with them (docs/design.md#cache-key).
#
# The key: the full names (`name/version`) of the loaded modules that are named in
# `cache_key.modules` or hold one of `cache_key.families`, sorted, joined with ","; "" when
# there are none. Pure Tcl 8.5: no module command, no environment.

namespace eval ::uvmod {}

# Whether the module with full name `full` is the module `name`: "mpich/4.1.2" and "mpich" are
# "mpich"; "mpich-ext/1.0" is not. Plain string comparisons: a name is never a pattern.
proc ::uvmod::is_module {full name} {
    return [expr {$full eq $name || [string first "$name/" $full] == 0}]
}

# spec: the cache_key dict of uvmod_site; loaded: the full names of the loaded modules;
# members: the names of the modules that hold one of the spec's families. Returns the key's
# modules as a sorted list, each once (the modulefile joins them with ",").
proc ::uvmod::compute_cache_key {spec loaded members} {
    set names [dict get $spec modules]
    foreach member $members {
        lappend names $member
    }
    set picked {}
    foreach full $loaded {
        if {$full eq "" || $full in $picked} {
            continue
        }
        foreach name $names {
            if {[is_module $full $name]} {
                lappend picked $full
                break
            }
        }
    }
    # `lsort -ascii` compares code points, which for UTF-8 is byte order: the same order as
    # Lua's bytes_less, Python's sorted() and `LC_ALL=C sort`, whatever the locale.
    return [lsort -ascii $picked]
}
