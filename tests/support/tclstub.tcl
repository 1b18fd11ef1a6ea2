# Runs a generated Tcl modulefile outside Environment Modules: the modulefile(5) commands it
# calls are recorded and printed one per line, fields separated by \x1f (the config model keeps
# control characters out of every value), so tests check the body and many configs quickly.
# Real modulecmd.tcl loads the same files in tests/test_envmodules_*.py.
#
# tclsh tclstub.tcl MODULEFILE MODE [MODULE_TOOL_VERSION]
# MODE is what `module-info mode` answers; a version makes $ModuleTool "Modules".
set ::calls {}
proc record {args} { lappend ::calls $args }
proc setenv {name value} { record setenv $name $value }
proc unsetenv {name} { record unsetenv $name }
proc prepend-path {name value} { record prepend-path $name $value }
proc module-whatis {text} { record whatis $text }
proc family {name} { record family $name }
proc conflict {args} { record conflict {*}$args }
proc prereq {args} { record prereq {*}$args }
proc is-loaded {name} {
    set loaded [expr {[info exists ::env(LOADEDMODULES)] ? $::env(LOADEDMODULES) : ""}]
    return [expr {$name in [split $loaded :]}]
}
proc module-info {what args} {
    if {[llength $args]} { return [expr {[lindex $args 0] eq $::mode}] }
    return $::mode
}
set ::mode [lindex $argv 1]
if {[lindex $argv 2] ne ""} {
    set ::ModuleTool Modules
    set ::ModuleToolVersion [lindex $argv 2]
}
# A `break` at the top level of the modulefile is how it aborts a load.
set code [catch {source -encoding utf-8 [lindex $argv 0]} message]
if {$code == 3} {
    record abort
} elseif {$code != 0} {
    record error $message
}
fconfigure stdout -encoding utf-8 -translation lf
foreach call $::calls { puts [join $call \x1f] }
