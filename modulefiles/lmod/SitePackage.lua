-- uvmod-generated: written by uvmod 0.1.0 build-modulefiles; do not edit.
-- Regenerate it from the site configuration instead.
-- Lmod loads the first SitePackage.lua on LMOD_PACKAGE_PATH (utils.lua,
-- initialize_lmod); a site with its own SitePackage.lua adds the line below to it.
dofile("/opt/uvmod/lmod/uvmod_hooks.lua")
