"""Write the licences of everything a frozen build bundles: a Debian `copyright` file (machine-readable
format 1.0) and the licence texts, for /usr/share/doc/photoseek/.

    python packaging/licences.py BUNDLE DOC_DIR       # run with the Python that built the bundle

BUNDLE is the one-folder build (dist/PhotoSeek). A Python distribution counts as bundled when one of
its top-level files or folders is in BUNDLE/_internal; its licence files come from its installed
dist-info (and the package's own notice files, as ONNX Runtime's ThirdPartyNotices). Shared libraries
PyInstaller copied from the build system are traced to their Debian packages, whose copyright files
are copied. Native libraries inside wheels that their dist-info does not cover are named in EXTRA.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

DOC = "/usr/share/doc/photoseek"
NOTICE = re.compile(r"(licen[cs]e|copying|notice|authors|thirdparty|copyright)", re.I)

# Bundled code whose licence its Python package's metadata does not say, by the folder it sits in.
EXTRA = {
    "pi_heif.libs": (
        "libheif, libde265 (HEIF/HEVC decoders; decoder-only build, no x265 encoder)",
        "LGPL-3.0-or-later",
        "/usr/share/common-licenses/LGPL-3 /usr/share/common-licenses/GPL-3",  # (the LGPL-3 adds to the GPL-3)
    ),
    "rapidocr_onnxruntime/models": (
        "PaddleOCR PP-OCRv4 detection/recognition and PP-OCR v2 direction models",
        "Apache-2.0",
        "/usr/share/common-licenses/Apache-2.0",
    ),
}


@dataclass
class Bundled:
    name: str
    version: str
    licence: str
    files: list[str]  # bundle paths (under /opt/photoseek) this distribution provides
    texts: list[Path] = field(default_factory=list)


# Old-style metadata names -> the short names of the copyright format (SPDX)
SHORT_NAMES = {
    "Apache 2.0": "Apache-2.0",
    "Apache Software License": "Apache-2.0",
    "MIT License": "MIT",
    "PSFL": "PSF-2.0",
}


def licence_of(dist: metadata.Distribution) -> str:
    """The SPDX expression if the metadata has one, else the License field, else the classifiers."""
    meta = dist.metadata
    expression = meta.get("License-Expression")
    if expression:
        return expression.strip()
    text = (meta.get("License") or "").strip()
    if text and "\n" not in text and len(text) < 80:
        return SHORT_NAMES.get(text, text)
    classifiers = [c.split("::")[-1].strip() for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    return " or ".join(SHORT_NAMES.get(c, c) for c in classifiers) or "see the licence files"


def top_levels(dist: metadata.Distribution) -> set[str]:
    return {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}


def bundled_distributions(internal: Path, archived: set[str]) -> list[Bundled]:
    """The distributions with files in the bundle: folders and libraries under _internal, or
    pure-Python modules in the executable's archive (`archived`: their top-level names)."""
    present = {p.name for p in internal.iterdir()}
    present |= {p.name.split(".")[0] for p in internal.iterdir() if p.suffix == ".so"}
    seen, found = set(), []
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if not name or name.lower() in seen:
            continue
        ours = sorted(t for t in top_levels(dist) if t in present and _provides(dist, t))
        ours += [f"(archive) {t}" for t in sorted(top_levels(dist) & archived) if t not in present]
        if not ours:
            continue
        seen.add(name.lower())
        texts = [Path(str(dist.locate_file(f))) for f in dist.files or [] if _is_notice(str(f))]
        found.append(Bundled(name, dist.version, licence_of(dist), ours, [t for t in texts if t.is_file()]))
    return sorted(found, key=lambda b: b.name.lower())


def _provides(dist: metadata.Distribution, top: str) -> bool:
    """Whether the bundle's `top` comes from `dist`: two distributions may install the same package
    (opencv-python and opencv-python-headless both give cv2); the one imported is the one bundled."""
    if top.endswith(".dist-info"):
        return False
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.origin or not Path(spec.origin).is_absolute():
        return True  # not a module (a .libs folder): its files are the distribution's
    return Path(spec.origin).resolve().is_relative_to(Path(str(dist.locate_file(top))).resolve().parent)


def _is_notice(path: str) -> bool:
    name = Path(path).name
    if name.endswith((".py", ".pyc", ".so", ".pyi", ".h")) or path.endswith("RECORD"):
        return False
    return bool(NOTICE.search(name)) or "/licenses/" in path or "/LICENSES/" in path


def system_libraries(internal: Path) -> dict[str, list[str]]:
    """Debian package -> the shared libraries at the bundle's top it provides (copied by PyInstaller)."""
    packages: dict[str, list[str]] = {}
    cache = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    for lib in sorted(p.name for p in internal.glob("*.so*")):
        match = re.search(rf"^\s*{re.escape(lib)} .*=> (\S+)$", cache, re.M)
        if not match:
            continue
        owner = subprocess.run(["dpkg", "-S", match.group(1)], capture_output=True, text=True)
        if owner.returncode == 0:
            package = owner.stdout.split(":")[0]
            packages.setdefault(package, []).append(lib)
    return packages


def write(bundle: Path, doc: Path, version: str, archived: set[str]) -> None:
    internal = bundle / "_internal"
    licences = doc / "licences"
    licences.mkdir(parents=True, exist_ok=True)
    stanzas = [_header(), _own(version)]
    for b in bundled_distributions(internal, archived):
        target = licences / f"{b.name}-{b.version}"
        for text in b.texts:
            target.mkdir(exist_ok=True)
            shutil.copy(text, target / text.name)
        stanzas.append(_stanza(b, target if target.exists() else None))
    for folder, (what, licence, text) in EXTRA.items():
        if (internal / folder).exists():
            # PyInstaller also copies a wheel's .libs next to the executable, under the same name
            copies = sorted(p.name for p in (internal / folder).glob("*.so*") if (internal / p.name).exists())
            stanzas.append(_extra([f"{folder}/*", *copies], what, licence, text))
    for package, libs in system_libraries(internal).items():
        source = Path("/usr/share/doc") / package / "copyright"
        if source.exists():
            shutil.copy(source, licences / f"debian-{package}.copyright")
        stanzas.append(_debian(package, libs))
    stanzas += [_python(), MIT]
    (doc / "copyright").write_text("\n\n".join(stanzas) + "\n")


def _header() -> str:
    return (
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
        "Upstream-Name: PhotoSeek\n"
        "Comment: A frozen (PyInstaller) build: /opt/photoseek bundles Python and the libraries below.\n"
        f" Their licence texts are in {DOC}/licences/. LGPL libraries (Qt, libheif, libde265) are\n"
        " separate shared objects under /opt/photoseek/_internal and can be replaced. A library\n"
        " named lib*-HASH.so* at the top of _internal is a copy of the one in a wheel's .libs folder\n"
        " (numpy.libs, faiss_cpu.libs, ...) and under that wheel's licence."
    )


def _own(version: str) -> str:
    return (
        "Files: *\n"
        "Copyright: The PhotoSeek developers\n"
        "License: MIT\n"
        f"Comment: PhotoSeek {version} (pyproject.toml: license = MIT). The AppStream metadata\n"
        " (usr/share/metainfo) is CC0-1.0."
    )


MIT = """License: MIT
 Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
 associated documentation files (the "Software"), to deal in the Software without restriction,
 including without limitation the rights to use, copy, modify, merge, publish, distribute,
 sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
 furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in all copies or
 substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
 NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
 NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES
 OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
 CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE."""


def _stanza(b: Bundled, texts: Path | None) -> str:
    files = " ".join(_pattern(f) for f in b.files if not f.startswith("(archive)"))
    archived = [f.split()[-1] for f in b.files if f.startswith("(archive)")]
    where = f"{DOC}/licences/{texts.name}/" if texts else _common_licences(b.licence)
    comment = f"\nComment: Python modules {', '.join(archived)} inside opt/photoseek/PhotoSeek" if archived else ""
    return (
        f"Files: {files or 'opt/photoseek/PhotoSeek'}\n"
        f"Copyright: the {b.name} authors ({b.name} {b.version}){comment}\n"
        f"License: {_one_line(b.licence)}\n Full text: {where}"
    )


# Debian's copies of licence texts (base-files), for distributions whose wheels carry none (PySide6).
COMMON = {
    "LGPL-3.0": "LGPL-3 GPL-3",
    "GPL-2.0": "GPL-2",
    "GPL-3.0": "GPL-3",
    "Apache": "Apache-2.0",
    "MPL-2.0": "MPL-2.0",
}


def _common_licences(licence: str) -> str:
    names = dict.fromkeys(n for key, value in COMMON.items() if key in licence for n in value.split())
    return " ".join(f"/usr/share/common-licenses/{n}" for n in names) or "its upstream project"


def _pattern(name: str) -> str:
    return f"opt/photoseek/_internal/{name}" + ("" if ".so" in name else "/*")


def _extra(files: list[str], what: str, licence: str, text: str) -> str:
    where = " ".join(f"opt/photoseek/_internal/{f}" for f in files)
    return f"Files: {where}\nCopyright: the authors of {what}\nLicense: {licence}\n Full text: {text}"


def _debian(package: str, libs: list[str]) -> str:
    files = " ".join(f"opt/photoseek/_internal/{lib}" for lib in libs)
    return (
        f"Files: {files}\nCopyright: see the Debian package {package}\n"
        f"License: see-debian-copyright\n Copied from Debian's {package}; its copyright file:\n"
        f" {DOC}/licences/debian-{package}.copyright"
    )


def _python() -> str:
    return (
        f"Files: opt/photoseek/_internal/libpython* opt/photoseek/_internal/python3* "
        f"opt/photoseek/_internal/base_library.zip\n"
        f"Copyright: Python Software Foundation (Python {sys.version.split()[0]})\n"
        "License: PSF-2.0\n https://docs.python.org/3/license.html"
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("doc", type=Path)
    parser.add_argument("--version", default="")
    parser.add_argument("--toc", type=Path, help="PyInstaller's PYZ-00.toc: the modules in the archive")
    args = parser.parse_args()
    archived = set(re.findall(r"\('([A-Za-z0-9_]+)[.',]", args.toc.read_text())) if args.toc else set()
    write(args.bundle, args.doc, args.version, archived)
    print(f"wrote {args.doc / 'copyright'}")


if __name__ == "__main__":
    main()
