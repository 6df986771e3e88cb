#!/usr/bin/env bash
# Build photoseek_<version>_amd64.deb from a frozen (PyInstaller, one-folder) build, in one command:
#
#     packaging/build-deb.sh                 # -> dist/photoseek_<version>_amd64.deb
#     packaging/build-deb.sh --reuse         # keep build/dist/PhotoSeek from an earlier run
#     packaging/smoke-test.sh                # then: install it, open the window, index, uninstall
#
# PHOTOSEEK_DEB_EXPORT_URL=https://.../{model}.tar.gz bakes where the installed app fetches its
# model's ONNX export on first run (the `photoseek export-model --archive` file, published with the
# release); the user's own PHOTOSEEK_MODEL_EXPORT_URL still wins. Without it, the app asks for one.
#
# PyInstaller, pi-heif and opencv-python-headless go into a throwaway venv (build/venv, seeing the
# system's packages), never into the app's dependencies. Needs python3 with the app's
# dependencies, dpkg-deb, and ldconfig/dpkg for the licences of copied system libraries.
# What goes where and why: packaging/README.md.
set -euo pipefail
umask 022
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${PHOTOSEEK_BUILD_DIR:-$ROOT/build}
OUT=${PHOTOSEEK_DEB_DIR:-$ROOT/dist}
PYTHON=${PYTHON:-python3}
APP_ID=io.github.photoseek.PhotoSeek
REUSE=0
[[ "${1:-}" == "--reuse" ]] && REUSE=1
cd "$ROOT"
VERSION=$("$PYTHON" -c 'import app; print(app.__version__)')  # pyproject: version = attr app.__version__
VENV=$BUILD/venv
FROZEN=$BUILD/dist/PhotoSeek
STAGE=$BUILD/deb/photoseek_${VERSION}_amd64
DEB=$OUT/photoseek_${VERSION}_amd64.deb

# Qt's xcb platform plugin and what Qt itself loads from the system (the PySide6 wheel bundles Qt,
# not X11, OpenGL, fonts or D-Bus). Checked by smoke-test.sh: it reports libraries left unresolved.
DEPENDS="libc6 (>= 2.28), libglib2.0-0, libfontconfig1, libfreetype6, libdbus-1-3, libegl1, libgl1, \
libopengl0, libx11-6, libx11-xcb1, libxcb1, libxcb-cursor0, libxcb-glx0, libxcb-icccm4, libxcb-image0, \
libxcb-keysyms1, libxcb-randr0, libxcb-render0, libxcb-render-util0, libxcb-shape0, libxcb-shm0, \
libxcb-sync1, libxcb-xfixes0, libxcb-xkb1, libxkbcommon0, libxkbcommon-x11-0, libgomp1"
RECOMMENDS="libwayland-client0, libwayland-cursor0, libwayland-egl1, xdg-utils"
SUGGESTS="libgtk-3-0"  # Qt's GTK platform theme (native file dialogs on GNOME); optional plugin

step() { printf '\n== %s\n' "$*"; }

build_venv() {
    step "build venv ($VENV)"
    if [[ ! -x $VENV/bin/python ]]; then
        "$PYTHON" -m venv --system-site-packages "$VENV"
    fi
    # the same cv2 as the system's opencv-python, without its Qt 5 and FFmpeg (photoseek.spec)
    local cv
    cv=$("$PYTHON" -c 'from importlib.metadata import version; print(version("opencv-python"))' 2>/dev/null || true)
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check pyinstaller pi-heif \
        "opencv-python-headless${cv:+==$cv}"
}

freeze() {
    step "PyInstaller (one folder: $FROZEN)"
    # --clean: PyInstaller's cache judges a module unchanged by its time stamp, which a file put
    # back by git (stash, checkout) can fool into bundling the old code
    "$VENV/bin/python" -m PyInstaller --noconfirm --clean --log-level WARN \
        --distpath "$BUILD/dist" --workpath "$BUILD/pyi" packaging/photoseek.spec
}

check_frozen() {
    # the size target rests on these staying out (photoseek.spec)
    local unwanted
    unwanted=$(find "$FROZEN/_internal" -maxdepth 1 \( -iname 'torch*' -o -iname 'nvidia*' -o -iname 'open_clip*' \
        -o -iname 'pillow_heif*' -o -iname 'libx265*' \) -print)
    if [[ -n $unwanted ]]; then
        echo "the frozen build bundles what it must not (size, GPL):" >&2
        echo "$unwanted" >&2
        exit 1
    fi
}

lay_out() {
    step "package tree ($STAGE)"
    rm -rf "$STAGE"
    mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
        "$STAGE/usr/share/metainfo" "$STAGE/usr/share/doc/photoseek"
    cp -a "$FROZEN" "$STAGE/opt/photoseek"
    # Wrappers rather than symlinks: the frozen executable finds _internal next to its real path
    # either way, and `photoseek-gui FILE` must open the window even for a file named like a command.
    local url=""  # (single-quoted in the wrapper: the URL holds {model}, which sh would expand)
    [[ -n "${PHOTOSEEK_DEB_EXPORT_URL:-}" ]] &&
        url="[ -n \"\$PHOTOSEEK_MODEL_EXPORT_URL\" ] || PHOTOSEEK_MODEL_EXPORT_URL='$PHOTOSEEK_DEB_EXPORT_URL'\nexport PHOTOSEEK_MODEL_EXPORT_URL\n"
    printf '#!/bin/sh\n%bexec /opt/photoseek/PhotoSeek "$@"\n' "$url" >"$STAGE/usr/bin/photoseek"
    printf '#!/bin/sh\n%bexec /opt/photoseek/PhotoSeek gui "$@"\n' "$url" >"$STAGE/usr/bin/photoseek-gui"
    chmod 755 "$STAGE/usr/bin/photoseek" "$STAGE/usr/bin/photoseek-gui"
    install -m644 "packaging/$APP_ID.desktop" "$STAGE/usr/share/applications/$APP_ID.desktop"
    install -m644 "packaging/$APP_ID.metainfo.xml" "$STAGE/usr/share/metainfo/$APP_ID.metainfo.xml"
    lay_out_icons
}

lay_out_icons() {
    local size dir
    install -Dm644 resources/photoseek.svg "$STAGE/usr/share/icons/hicolor/scalable/apps/photoseek.svg"
    for size in 16 24 32 48 64 128 256 512; do
        dir=$STAGE/usr/share/icons/hicolor/${size}x${size}/apps
        mkdir -p "$dir"
        QT_QPA_PLATFORM=offscreen "$PYTHON" packaging/render_icon.py --size "$size" --out "$dir/photoseek.png" >/dev/null
    done
}

write_docs() {
    step "licences (/usr/share/doc/photoseek)"
    local doc=$STAGE/usr/share/doc/photoseek
    "$VENV/bin/python" packaging/licences.py "$FROZEN" "$doc" --version "$VERSION" --toc "$BUILD/pyi/photoseek/PYZ-00.toc"
    printf 'photoseek (%s) stable; urgency=medium\n\n  * Release %s.\n\n -- The PhotoSeek developers <photoseek@users.noreply.github.com>  %s\n' \
        "$VERSION" "$VERSION" "$(date -R)" | gzip -9n >"$doc/changelog.gz"
}

write_control() {
    local size
    size=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
    cat >"$STAGE/DEBIAN/control" <<EOF
Package: photoseek
Version: $VERSION
Architecture: amd64
Maintainer: The PhotoSeek developers <photoseek@users.noreply.github.com>
Installed-Size: $size
Depends: $DEPENDS
Recommends: $RECOMMENDS
Suggests: $SUGGESTS
Section: graphics
Priority: optional
Homepage: https://github.com/photoseek/photoseek
Description: photo organizer whose search understands what is in the pictures
 PhotoSeek finds your photos by describing them ("dog on a beach") or by
 example, with a CLIP model that runs on your computer: no tags, uploads or
 account. It reads JPEG, PNG, HEIC/HEIF, WebP and TIFF, indexes large
 libraries in the background and reads the text inside photos.
 .
 This package is a self-contained build (Python, Qt and the libraries it uses
 under /opt/photoseek).
EOF
}

build_deb() {
    step "dpkg-deb ($DEB)"
    mkdir -p "$OUT"
    # xz: the smallest download (minutes on 2 cores); PHOTOSEEK_DEB_COMPRESSION=zstd for quick tries
    dpkg-deb --build --root-owner-group -Z"${PHOTOSEEK_DEB_COMPRESSION:-xz}" "$STAGE" "$DEB"
    echo "installed size: $(($(du -sk --exclude=DEBIAN "$STAGE" | cut -f1) / 1024)) MiB; .deb: $(($(stat -c %s "$DEB") / 1048576)) MiB"
}

if [[ $REUSE == 0 || ! -x $FROZEN/PhotoSeek ]]; then
    build_venv
    freeze
fi
check_frozen
lay_out
write_docs
write_control
build_deb
