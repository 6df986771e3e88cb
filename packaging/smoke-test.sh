#!/usr/bin/env bash
# Check the .deb as a user would, on this (Debian) machine, as root: install it with apt, open the
# window on a folder under Xvfb, "Open with" a photo, index and search from the command line,
# uninstall, and check nothing is left.
#
#     packaging/smoke-test.sh [DEB] [-- INDEX/SEARCH OPTIONS]
#     packaging/smoke-test.sh dist/photoseek_0.1.0_amd64.deb -- --model /tmp/tiny --pretrained /tmp/tiny/model.onnx
#
# The options after `--` go to `photoseek index` and `photoseek search` (a tiny model given on the
# command line); without them they use the configured default model. Set SMOKE_SOURCE_APP=DIR (a
# checkout whose `python3 -m app` runs) to time the window of the pip-installed app beside the
# packaged one. Uses display :96 and a throwaway HOME; prints what it does and a summary.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEB=${1:-$(ls "$ROOT"/dist/photoseek_*_amd64.deb 2>/dev/null | tail -1)}
shift || true
[[ "${1:-}" == "--" ]] && shift
MODEL_ARGS=("$@")
DISPLAY_NUM=:96
# the package's commands by their full paths: a pip-installed photoseek earlier on PATH would
# otherwise answer instead (a development machine has one)
PHOTOSEEK=/usr/bin/photoseek
PHOTOSEEK_GUI=/usr/bin/photoseek-gui
WORK=$(mktemp -d /tmp/photoseek-smoke.XXXXXX)
FAILED=0
declare -a SUMMARY

say() { printf '\n== %s\n' "$*"; }
result() {  # result NAME RC [DETAIL]
    local status=ok
    [[ $2 != 0 ]] && status="FAILED (rc=$2)" && FAILED=1
    SUMMARY+=("$(printf '%-34s %s %s' "$1" "$status" "${3:-}")")
}
cleanup() {
    [[ -n ${XVFB_PID:-} ]] && kill "$XVFB_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

[[ -f $DEB ]] || { echo "no .deb (build it: packaging/build-deb.sh)" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "run as root (apt-get install/remove)" >&2; exit 2; }

install_tools() {
    say "test tools (xvfb, xdotool)"
    local missing=()
    command -v Xvfb >/dev/null || missing+=(xvfb)
    command -v xdotool >/dev/null || missing+=(xdotool)
    command -v desktop-file-validate >/dev/null || missing+=(desktop-file-utils)
    if ((${#missing[@]})); then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

install_deb() {
    say "apt-get install $DEB"
    local t0=$SECONDS
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$(realpath "$DEB")" 2>&1 | tail -4
    result "apt-get install" "${PIPESTATUS[0]}" "($((SECONDS - t0)) s)"
    dpkg -s photoseek | grep -E '^(Version|Installed-Size):'
    echo ".deb: $(($(stat -c %s "$DEB") / 1048576)) MiB; /opt/photoseek: $(du -sm /opt/photoseek | cut -f1) MiB"
}

check_install() {
    say "installed files"
    ls -l "$PHOTOSEEK" "$PHOTOSEEK_GUI"
    [[ $(command -v photoseek) != "$PHOTOSEEK" ]] && echo "note: $(command -v photoseek) comes first on PATH"
    desktop-file-validate /usr/share/applications/io.github.photoseek.PhotoSeek.desktop
    result "desktop entry valid" $?
    grep -q io.github.photoseek.PhotoSeek.desktop /usr/share/applications/mimeinfo.cache 2>/dev/null
    result "image types: mimeinfo.cache" $?
    ls /usr/share/icons/hicolor/*/apps/photoseek.* | wc -l | xargs echo "icons:"
    # as the frozen app loads them: its bootloader puts _internal on the library path; Qt's GTK
    # theme plugin is optional (Suggests: libgtk-3-0), Qt skips it when GTK is missing
    local unresolved
    unresolved=$(find /opt/photoseek -name '*.so*' -type f ! -path '*/platformthemes/libqgtk3.so' \
        -exec env LD_LIBRARY_PATH=/opt/photoseek/_internal ldd {} + 2>/dev/null | grep 'not found' | sort -u)
    echo "${unresolved:-every shared library resolves}"
    [[ -z $unresolved ]]
    result "shared libraries resolve" $? "$(echo "$unresolved" | awk '{print $1}' | sort -u | tr '\n' ' ')"
}

make_photos() {
    say "a folder of photos ($WORK/photos)"
    mkdir -p "$WORK/photos"
    local c
    for c in red green blue yellow; do
        python3 -c "from PIL import Image; Image.new('RGB', (320, 240), '$c').save('$WORK/photos/$c.jpg')" 2>/dev/null ||
            convert -size 320x240 "xc:$c" "$WORK/photos/$c.jpg"
    done
    # a HEIC too, where this machine can write one (pillow-heif has the encoder; the package only decodes)
    python3 -c "import pillow_heif; from PIL import Image; pillow_heif.register_heif_opener(); \
Image.new('RGB', (320, 240), 'purple').save('$WORK/photos/purple.heic')" 2>/dev/null
    ls "$WORK/photos"
}

start_display() {
    # -noreset: by default Xvfb resets when its last client leaves, and refuses the next for a moment
    Xvfb "$DISPLAY_NUM" -noreset -screen 0 1280x800x24 -nolisten tcp >"$WORK/xvfb.log" 2>&1 &
    XVFB_PID=$!
    for _ in $(seq 50); do xdotool getmouselocation >/dev/null 2>&1 && break; sleep 0.1; done
}

wait_window() {  # wait_window TITLE_REGEX SECONDS: polled every 10 ms (xdotool's own --sync waits 0.5 s between looks)
    local deadline=$((SECONDS + $2))
    until xdotool search --onlyvisible --name "$1" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.01
    done
}

run_window() {  # run_window LABEL TITLE_REGEX COMMAND... : start, wait for the window, close it
    local label=$1 title=$2
    shift 2
    say "$label: $* (display $DISPLAY_NUM)"
    local start=$EPOCHREALTIME
    "$@" >"$WORK/$label.log" 2>&1 &
    local pid=$!
    if wait_window "$title" 90; then
        local took
        took=$(printf '%.2f' "$(echo "$EPOCHREALTIME - $start" | bc)")
        echo "window '$title' after $took s"
        result "$label" 0 "(window after $took s)"
    else
        tail -20 "$WORK/$label.log"
        result "$label" 1 "(no window titled '$title' in 90 s)"
    fi
    sleep 2  # let it read the folder: a crash after the first paint shows in its log
    kill -0 $pid 2>/dev/null
    result "$label still running" $?
    kill $pid 2>/dev/null
    wait $pid 2>/dev/null
    grep -iE "error|traceback|warning" "$WORK/$label.log" | head -10
}

gui_checks() {
    export DISPLAY=$DISPLAY_NUM HOME=$WORK/home XDG_RUNTIME_DIR=$WORK/run PHOTOSEEK_DATA_DIR=$WORK/data
    mkdir -p "$HOME" "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
    start_display
    run_window window '^PhotoSeek$' "$PHOTOSEEK_GUI" "$WORK/photos"
    run_window open-with '^green\.jpg' "$PHOTOSEEK_GUI" "$WORK/photos/green.jpg"
    if [[ -n ${SMOKE_SOURCE_APP:-} ]]; then
        PHOTOSEEK_DATA_DIR=$WORK/data-source run_window pip-installed-window '^PhotoSeek$' \
            env PYTHONPATH="$SMOKE_SOURCE_APP" python3 -m app gui "$WORK/photos"
    fi
}

cli_checks() {
    say "photoseek index ${MODEL_ARGS[*]} $WORK/photos"
    local t0=$SECONDS
    "$PHOTOSEEK" index "${MODEL_ARGS[@]}" "$WORK/photos" 2>&1 | tail -5
    result "photoseek index" "${PIPESTATUS[0]}" "($((SECONDS - t0)) s)"
    say "photoseek search ${MODEL_ARGS[*]} red"
    "$PHOTOSEEK" search "${MODEL_ARGS[@]}" red 2>&1 | tail -5
    result "photoseek search" "${PIPESTATUS[0]}"
    # the windows above catalogued and thumbnailed the folder (no model needed): all decoded?
    local doctor photos
    doctor=$("$PHOTOSEEK" doctor "${MODEL_ARGS[@]}" 2>&1)
    echo "$doctor" | grep -E '^ *(photos|skipped|embedded|model_status):'
    photos=$(find "$WORK/photos" -type f | wc -l)
    echo "$doctor" | grep -qE "^ *photos: $photos$" && echo "$doctor" | grep -qE '^ *skipped: 0$'
    result "every photo read ($photos, HEIC too)" $?
}

remove_deb() {
    say "apt-get remove photoseek"
    DEBIAN_FRONTEND=noninteractive apt-get remove -y photoseek 2>&1 | tail -2
    result "apt-get remove" "${PIPESTATUS[0]}"
    local left
    left=$(ls -d /opt/photoseek /usr/bin/photoseek /usr/bin/photoseek-gui \
        /usr/share/applications/io.github.photoseek.PhotoSeek.desktop 2>/dev/null)
    [[ -z $left ]]
    result "nothing left after removal" $? "$left"
}

install_tools
install_deb
check_install
make_photos
gui_checks
cli_checks
remove_deb
say "summary"
printf '%s\n' "${SUMMARY[@]}"
exit $FAILED
