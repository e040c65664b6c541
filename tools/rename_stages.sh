#!/usr/bin/env bash
# Rename the two stage packages whose names the public functions shadow
# (issue #20): hdrpipe.validate() / hdrpipe.conform() stay the documented
# functions, the packages behind them become
#
#   hdrpipe/validate/ -> hdrpipe/validation/  (checks, profiles, Report: the
#                                              validation stage, as a noun)
#   hdrpipe/conform/  -> hdrpipe/resample/    (rates, timecode, retime, optical
#                                              flow, reformat: resampling in time
#                                              and space, the blocks the engine's
#                                              conform streams frames through)
#
# Mechanical and idempotent: `git mv`, then substitutions that only touch
# references to the packages (paths, module paths, imports, quoted module
# names, relative imports resolved by the file's depth), never the functions
# (`hdrpipe.validate(`, prose "`hdrpipe.conform` is the function"), the CLI
# commands (`hdrpipe conform`, hdrpipe/cli/conform.py, hdrpipe.cli.conform) or
# the test folders (tests/validate/, tests/conform/). Re-run it after merging
# other branches; it prints what still mentions the old packages.
#
# Usage: tools/rename_stages.sh   (from the top of a clean checkout)
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

TREES=(hdrpipe tests bench fixtures docs ocio_configs tools)
TOP_FILES=(README.md pyproject.toml Makefile)

rename() {
    local old=$1 new=$2
    if [ -d "hdrpipe/$old" ]; then
        if [ -e "hdrpipe/$new" ]; then
            echo "hdrpipe/$new exists already; move what is left of hdrpipe/$old by hand" >&2
            exit 1
        fi
        git mv "hdrpipe/$old" "hdrpipe/$new"
    fi
    # Text files tracked by git, except this script.
    mapfile -t files < <(git ls-files -- "${TREES[@]}" "${TOP_FILES[@]}" |
        grep -E '\.(py|md|toml|txt|cfg|ini|sh)$|^Makefile$' |
        grep -v '^tools/rename_stages\.sh$')
    [ ${#files[@]} -gt 0 ] || return 0
    # Absolute references, any file.
    sed -i -E \
        -e "s#hdrpipe/${old}\\b#hdrpipe/${new}#g" \
        -e "s#hdrpipe\.${old}\.([A-Za-z_])#hdrpipe.${new}.\1#g" \
        -e "s#(from|import) hdrpipe\.${old}([ ,;]|\$)#\1 hdrpipe.${new}\2#g" \
        -e "s#([\"'])hdrpipe\.${old}([\"'])#\1hdrpipe.${new}\2#g" \
        "${files[@]}"
    # Package-relative paths: the layout drawn in README ("hdrpipe/  ...
    # validate/  color/") and comments such as "the rule in conform/timecode.py"
    # (a bare folder name after a space or parenthesis; tests/conform/ is not).
    sed -i -E "s#(^|[[:space:](\`])${old}/([[:space:]]|\$|[A-Za-z_])#\1${new}/\2#g" "${files[@]}"
    # Relative imports, by the importing module's depth under hdrpipe/.
    local f rel depth dots
    for f in "${files[@]}"; do
        case $f in hdrpipe/*.py) ;; *) continue ;; esac
        rel=${f#hdrpipe/}
        depth=$(awk -F/ '{print NF}' <<<"$rel") # 1: hdrpipe/x.py, 2: hdrpipe/a/x.py
        dots=$(printf '%*s' "$depth" '' | tr ' ' '.')
        dots=${dots//./\\.}
        sed -i -E "s#^([[:space:]]*)from ${dots}${old}([. ])#\1from ${dots//\\/}${new}\2#" "$f"
    done
}

rename validate validation
rename conform resample

# Import blocks sorted again for the new names (ruff's isort rules only).
ruff=.venv/bin/ruff
[ -x "$ruff" ] || ruff=ruff
"$ruff" check --select I --fix --quiet hdrpipe ocio_configs tests fixtures bench || true
"$ruff" format --quiet hdrpipe ocio_configs tests fixtures bench

echo "left to check by hand (references that may mean the old packages):" >&2
git grep -nE "hdrpipe[./](validate|conform)\b|(^|[[:space:]])(validate|conform)/" -- "${TREES[@]}" "${TOP_FILES[@]}" |
    grep -vE "hdrpipe\.(validate|conform)\(|hdrpipe (validate|conform)\b" |
    grep -v '^tools/rename_stages\.sh:' >&2 || true
