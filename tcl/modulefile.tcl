# Body of the uv-hpc Environment Modules modulefile.
#
# uvmod writes the `#%Module` cookie and a generated `set uvmod_site [dict create ...]` command
# (the data table of uvmod/render/table.py, spelled by uvmod/render/tcl.py), then
# tcl/cache_key.tcl, and this text follows unchanged, so this file is real Tcl that `tclsh`
# checks on its own. Everything site-specific is data in `uvmod_site`; the logic is the same for
# every site and mirrors lua/modulefile.lua line for line: same variables, same arch detection,
# same `${VAR:-default}` expansion, same cache key.
#
# Only modulefile(5) commands and plain Tcl 8.5 are used. Nothing is written to stdout: the
# module command's stdout is eval'ed by the shell.

namespace eval ::uvmod {}

# The value of an environment variable, "" when unset (the callers treat both alike, as the
# shell's `${VAR:-default}` does).
proc ::uvmod::getenv {name} {
    if {[info exists ::env($name)]} {
        return $::env($name)
    }
    return ""
}

proc ::uvmod::unloading {} {
    # `module-info mode unload` is also true for `remove` (modulefile(5), module-info).
    return [module-info mode unload]
}

# A message for the user, on load only: `module unload` and `module show` stay quiet, as
# LmodMessage does under Lmod. stderr, because stdout is eval'ed.
proc ::uvmod::say {text} {
    if {[module-info mode load]} {
        puts stderr "[dict get $::uvmod_site name]: $text"
    }
}

# Expand a path template: a list of parts, each a dict tagged by `kind`: {kind text text S},
# {kind arch}, {kind env name NAME} and {kind env name NAME default PARTS} (shell
# `${NAME:-default}`: empty counts as unset). A `${NAME}` without default that is unset fails the
# load with an error of code UVMOD, which the body turns into a clean abort. Only the load:
# unloading must always work (the value of a setenv does not matter then), and `module
# display`, `help`, `whatis` and `avail` show the template itself.
proc ::uvmod::expand {parts arch what} {
    set out ""
    foreach part $parts {
        switch -exact -- [dict get $part kind] {
            text {
                append out [dict get $part text]
            }
            arch {
                append out $arch
            }
            env {
                set name [dict get $part name]
                set value [getenv $name]
                if {$value eq ""} {
                    if {[dict exists $part default]} {
                        set value [expand [dict get $part default] $arch $what]
                    } elseif {[module-info mode load]} {
                        error "[dict get $::uvmod_site name]: $what needs \$$name, which is not\
                            set; set it or ask your administrator" {} UVMOD
                    } elseif {[unloading]} {
                        return ""
                    } else {
                        set value "\${$name}"
                    }
                }
                append out $value
            }
            default {
                error "uvmod: unknown template part '$part'"
            }
        }
    }
    return $out
}

# The CPU features on the first "flags" (x86-64) or "Features" (aarch64) line of a cpuinfo
# file, stored in the variable named `flagsVar` as a dict used as a set (all cores list the
# same; reading one line keeps a 128-core dump cheap). Returns 0 when the file cannot be read or
# has no such line.
proc ::uvmod::cpu_flags {path flagsVar} {
    upvar 1 $flagsVar flags
    if {[catch {open $path r} channel]} {
        return 0
    }
    set found 0
    while {[gets $channel line] >= 0} {
        if {[regexp {^(?:[Ff]lags|Features)\s*:\s*(.*)$} $line -> list]} {
            set flags [dict create]
            foreach flag [regexp -all -inline {\S+} $list] {
                dict set flags $flag 1
            }
            set found 1
            break
        }
    }
    close $channel
    return $found
}

# The machine type (`uname -m`): the override variable (tests, or a site whose kernel reports
# another), else Tcl's own uname(2) result, which forks nothing.
proc ::uvmod::machine_type {} {
    set value [string trim [getenv [dict get $::uvmod_site arch machine_override_variable]]]
    if {$value ne ""} {
        return $value
    }
    return $::tcl_platform(machine)
}

proc ::uvmod::known_arch {name} {
    foreach rule [dict get $::uvmod_site arch rules] {
        if {[dict get $rule arch] eq $name} {
            return 1
        }
    }
    return 0
}

# An override variable first (RSNT_ARCH on the Alliance clusters), then the first rule whose
# machine type (if it names one) and cpuinfo flags all match, then the last (least capable)
# architecture (docs/design.md#node-types).
proc ::uvmod::detect_arch {machine} {
    set spec [dict get $::uvmod_site arch]
    set fallback [dict get [lindex [dict get $spec rules] end] arch]
    foreach var [dict get $spec override_variables] {
        set value [getenv $var]
        if {$value ne ""} {
            set value [string trim $value]
            if {[known_arch $value]} {
                return $value
            }
            say "\$$var=$value is not a known architecture; using $fallback"
            return $fallback
        }
    }
    # Unset means /proc/cpuinfo; set but empty is an unreadable path, as in the Lua body.
    set cpuinfo_var [dict get $spec cpuinfo_variable]
    if {[info exists ::env($cpuinfo_var)]} {
        set path $::env($cpuinfo_var)
    } else {
        set path /proc/cpuinfo
    }
    if {![cpu_flags $path flags]} {
        say "cannot read CPU flags from $path; using $fallback"
        return $fallback
    }
    foreach rule [dict get $spec rules] {
        set ok [expr {[dict get $rule machine] eq "" || [dict get $rule machine] eq $machine}]
        foreach flag [dict get $rule flags] {
            if {!$ok} {
                break
            }
            if {![dict exists $flags $flag]} {
                set ok 0
            }
        }
        if {$ok} {
            return [dict get $rule arch]
        }
    }
    return $fallback
}

# The loaded modules that make up the cache key (::uvmod::compute_cache_key, tcl/cache_key.tcl):
# full names from LOADEDMODULES (what `uvmod key` reads too), and a family's module through
# MODULES_FAMILY_<NAME>, which Environment Modules 5 sets to the short name of the module that
# declared `family NAME` (modulefile(5), family).
proc ::uvmod::key_modules {spec} {
    set members {}
    foreach family [dict get $spec families] {
        set member [getenv [dict get $spec modules_family_prefix][string toupper $family]]
        if {$member ne ""} {
            lappend members $member
        }
    }
    return [compute_cache_key $spec [split [getenv LOADEDMODULES] :] $members]
}

# Whether this is Environment Modules 5.2 or later, whose automated module handling reloads a
# module when one of its requirements is unloaded or switched, and which has
# `prereq --optional` (added in 5.2; older versions reject or misread the option). Lmod sets
# $ModuleTool to "Lmod" when it reads a Tcl modulefile, and has no such reload.
proc ::uvmod::follows_requirements {} {
    if {![info exists ::ModuleTool] || $::ModuleTool ne "Modules"} {
        return 0
    }
    # Development builds report versions such as "5.3.0-dev+12": compare the numeric part.
    if {![info exists ::ModuleToolVersion]
            || ![regexp {^[0-9]+(\.[0-9]+)*} $::ModuleToolVersion version]} {
        return 0
    }
    return [expr {[package vcompare $version 5.2] >= 0}]
}

# Set the key variable and its source, and tie uv-hpc to the modules the key came from.
proc ::uvmod::cache_key {} {
    set spec [dict get $::uvmod_site cache_key]
    set variable [dict get $spec variable]
    set source_variable [dict get $spec source_variable]
    if {[unloading]} {
        # setenv is reversed on unload: the variable is unset whatever value is passed.
        setenv $variable ""
        setenv $source_variable ""
        return
    }
    set modules [key_modules $spec]
    if {[follows_requirements]} {
        foreach full $modules {
            # An optional requirement on each module the key came from: unloading or switching
            # it makes Environment Modules print "Reloading dependent: uv-hpc" and evaluate this
            # file again, which recomputes the key. `prereq --optional` of a module that is not
            # loaded *loads* it (Requirement Load), hence the `is-loaded` guard; a module loaded
            # after uv-hpc is therefore not followed and the key goes stale until uv-hpc is
            # reloaded (docs/admin-guide.md, "Environment Modules (Tcl)").
            if {[is-loaded $full]} {
                prereq --optional $full
            }
        }
    }
    if {[llength $modules] == 0} {
        # No key is an unset variable, not an empty one (the same single spelling as on Lmod).
        unsetenv $variable
    } else {
        setenv $variable [join $modules ,]
    }
    # "load": computed by the modulefile when it was last evaluated. `uvmod key` compares it
    # with LOADEDMODULES to tell a stale key (an MPI module loaded after uv-hpc).
    setenv $source_variable [dict get $spec source_load]
}

# Whether Environment Modules only reads the declarations (whatis, family, conflict): `module
# whatis`, `search` and `apropos` ("whatis") and `module help` ("help"). Detecting the arch there
# reads cpuinfo for nothing, and the paths are not shown, so the body skips both. It cannot stop
# early: `return` or `continue` in the body would also skip ModulesHelp, which Environment
# Modules calls after it. ("scan", for `module avail setenv:NAME`, needs the setenv calls:
# docs/design.md#environment-modules.)
proc ::uvmod::declarations_only {} {
    return [expr {[module-info mode whatis] || [module-info mode help]}]
}

proc ModulesHelp {} {
    puts stderr [dict get $::uvmod_site help]
}

foreach uvmod_line [dict get $uvmod_site whatis] {
    module-whatis $uvmod_line
}

# Only one uv-hpc at a time: two wrappers on PATH would hide each other. `family` (Environment
# Modules >= 5.1) also sets MODULES_FAMILY_UV like Lmod's LMOD_FAMILY_UV; `conflict` on the own
# name covers older versions and another version of uv-hpc. Environment Modules refuses the
# second load instead of swapping (Lmod swaps): the user runs `module switch`.
if {[info commands family] ne ""} {
    family [dict get $uvmod_site family]
}
conflict [dict get $uvmod_site name]

# On unload, remove exactly what load added even if the override or cpuinfo changed since.
set uvmod_arch ""
set uvmod_machine ""
if {[::uvmod::unloading]} {
    set uvmod_arch [::uvmod::getenv [dict get $uvmod_site arch variable]]
    set uvmod_machine [::uvmod::getenv [dict get $uvmod_site arch machine_variable]]
}
if {![::uvmod::declarations_only]} {
    if {$uvmod_machine eq ""} {
        set uvmod_machine [::uvmod::machine_type]
    }
    if {$uvmod_arch eq ""} {
        set uvmod_arch [::uvmod::detect_arch $uvmod_machine]
    }
    # For the wrapper's environment identity, read once here rather than forked on every call.
    setenv [dict get $uvmod_site arch machine_variable] $uvmod_machine
}

if {![::uvmod::declarations_only] && [catch {
    foreach uvmod_action [dict get $uvmod_site actions] {
        set uvmod_value [::uvmod::expand [dict get $uvmod_action value] $uvmod_arch \
            [dict get $uvmod_action name]]
        switch -exact -- [dict get $uvmod_action op] {
            setenv {
                setenv [dict get $uvmod_action name] $uvmod_value
            }
            prepend_path {
                prepend-path [dict get $uvmod_action name] $uvmod_value
            }
        }
    }
    ::uvmod::cache_key
} uvmod_message uvmod_options]} {
    if {[lindex [dict get $uvmod_options -errorcode] 0] ne "UVMOD"} {
        return -options $uvmod_options $uvmod_message
    }
    # `break` at the top level aborts the evaluation: nothing of this load is applied and the
    # module command fails with "Module evaluation aborted" (modulefile(5), break).
    puts stderr $uvmod_message
    # Environment Modules 5.2 tells a `break` from an error by an empty errorInfo, which the
    # catch above has just filled: without this it prints the error again with a Tcl traceback.
    set ::errorInfo ""
    break
}
