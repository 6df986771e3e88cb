"""The packaging files still point at files that exist (the full .deb build is too slow for CI, so
a renamed icon or module would otherwise surface only at release time), and agree with each other."""

from __future__ import annotations

import ast
import configparser
import re
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
APP_ID = "io.github.photoseek.PhotoSeek"


def _spec_paths() -> list[Path]:
    """Every `ROOT / "a" / "b"` in the PyInstaller spec, as a path."""
    tree = ast.parse((PACKAGING / "photoseek.spec").read_text())
    paths = []
    for node in ast.walk(tree):
        parts: list[str] = []
        while isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and isinstance(node.right, ast.Constant):
            parts.insert(0, node.right.value)
            node = node.left
        if parts and isinstance(node, ast.Name) and node.id == "ROOT":
            paths.append(ROOT.joinpath(*parts))
    return paths


def _script_paths() -> list[Path]:
    """The repository files build-deb.sh copies or runs (`packaging/...`, `resources/...`), with
    the app id and icon sizes filled in."""
    text = (PACKAGING / "build-deb.sh").read_text().replace("$APP_ID", APP_ID)
    found = re.findall(r"(?<![\w/$])((?:packaging|resources)/[\w./-]+\w)", text)
    return [ROOT / p for p in dict.fromkeys(found)]


def test_the_spec_references_files_that_exist():
    paths = _spec_paths()
    assert ROOT / "packaging" / "photoseek_launcher.py" in paths  # the parse finds them
    assert [p for p in paths if not p.exists()] == []


def test_the_build_script_references_files_that_exist():
    paths = _script_paths()
    assert PACKAGING / "photoseek.spec" in paths and PACKAGING / "licences.py" in paths
    assert [p for p in paths if not p.exists()] == []


def test_the_spec_leaves_out_torch_and_the_gpl_heif_wheel():
    tree = ast.parse((PACKAGING / "photoseek.spec").read_text())
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "Analysis")
    excludes = next(ast.literal_eval(k.value) for k in call.keywords if k.arg == "excludes")
    assert {"torch", "torchvision", "open_clip", "nvidia", "pillow_heif"} <= set(excludes)


def test_the_desktop_entry_runs_what_the_package_installs():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # keys are case-sensitive
    entry.read(PACKAGING / f"{APP_ID}.desktop")
    desktop = entry["Desktop Entry"]
    script = (PACKAGING / "build-deb.sh").read_text()
    command = desktop["Exec"].split()[0]
    assert f"usr/bin/{command}" in script and desktop["Exec"].endswith("%F")  # files: "Open with"
    assert f"scalable/apps/{desktop['Icon']}.svg" in script and f"/{desktop['Icon']}.png" in script
    assert {"image/jpeg", "image/png", "image/heic", "image/heif", "image/webp", "image/tiff"} <= set(
        desktop["MimeType"].strip(";").split(";")
    )


def test_the_metainfo_launches_the_desktop_entry():
    component = ET.parse(PACKAGING / f"{APP_ID}.metainfo.xml").getroot()
    assert component.findtext("id") == APP_ID
    assert component.findtext("launchable") == f"{APP_ID}.desktop"
    assert (PACKAGING / component.findtext("launchable")).exists()


def test_the_smoke_test_times_windows_to_the_hundredth():
    # `xdotool search --sync` polls every 0.5 s, and an Xvfb that resets when its last client leaves
    # refuses the next window for a moment: both made the start-up figures coarse or flaky
    script = (PACKAGING / "smoke-test.sh").read_text()
    assert "xdotool search --sync" not in script
    xvfb = next(line for line in script.splitlines() if line.strip().startswith("Xvfb "))
    assert "-noreset" in xvfb
