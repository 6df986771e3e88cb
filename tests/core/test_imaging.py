import numpy as np
import pytest
from PIL import Image

from app.core.ingest import imaging
from helpers import devdata
from pictures import decoy_first_heif, xmp_packet


def _photo(w=640, h=480, seed=0):
    """A photo-like picture: smooth gradients plus a distinct block, so rotations are visible."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    arr = np.stack([x * 255 // w, y * 255 // h, np.full_like(x, 90)], -1).astype(np.uint8)
    arr[: h // 3, : w // 4] = (250, 20, 20)  # a red block in the top-left corner
    arr = np.clip(arr + rng.integers(-8, 8, arr.shape), 0, 255).astype(np.uint8)
    return Image.fromarray(arr, "RGB")


def test_large_jpeg_is_draft_decoded_but_keeps_enough_pixels(tmp_path):
    path = tmp_path / "big.jpg"
    _photo(4000, 3000).save(path, quality=90)
    d = imaging.decode(path, min_side=224, thumb_size=320)
    assert (d.width, d.height) == (4000, 3000)
    assert min(d.image.size) >= 224 and max(d.image.size) >= 320
    assert max(d.image.size) < 4000 // 4  # shrunk while decoding, not after


def test_exif_rotated_jpeg_comes_out_upright(tmp_path):
    upright = _photo(480, 640)  # portrait as the person saw it
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # landscape pixels, as the sensor wrote them
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    path = tmp_path / "rotated.jpg"
    stored.save(path, quality=95, exif=exif.tobytes())
    d = imaging.decode(path, min_side=224, thumb_size=320)
    assert (d.width, d.height) == (480, 640)
    assert d.image.size[0] < d.image.size[1]
    # The red block is back in the top-left corner.
    px = d.image.resize((48, 64)).getpixel((2, 2))
    assert px[0] > 200 and px[1] < 80


@pytest.mark.parametrize("mode", ["CMYK", "I;16", "LA", "P", "RGBA", "L"])
def test_odd_modes_convert_to_rgb_without_losing_the_picture(tmp_path, mode):
    src = _photo(300, 300)
    if mode == "I;16":
        arr = np.asarray(src.convert("L"), dtype=np.uint16) * 257
        im = Image.fromarray(arr)
        path = tmp_path / "img.png"
    elif mode == "CMYK":
        im, path = src.convert("CMYK"), tmp_path / "img.jpg"
    else:
        im, path = src.convert(mode), tmp_path / "img.png"
    im.save(path)
    d = imaging.decode(path, min_side=64, thumb_size=64)
    assert d.image.mode == "RGB"
    grey = np.asarray(d.image.convert("L"), dtype=np.float32)
    expected = np.asarray(src.convert("L").resize(d.image.size), dtype=np.float32)
    assert abs(grey.mean() - expected.mean()) < 20  # not black, not clipped white


def test_heic_decodes(tmp_path):
    pillow_heif = pytest.importorskip("pillow_heif")
    path = tmp_path / "phone.heic"
    pillow_heif.from_pillow(_photo(400, 300)).save(path, quality=80)
    d = imaging.decode(path, min_side=64, thumb_size=128)
    assert d.format in ("heif", "heic") and (d.width, d.height) == (400, 300)


def test_a_phone_heic_is_decoded_from_its_embedded_thumbnail_when_that_is_big_enough(tmp_path):
    pillow_heif = pytest.importorskip("pillow_heif")
    photo = _photo(2000, 1500)
    path = tmp_path / "phone.heic"
    pillow_heif.from_pillow(photo).save(path, quality=80, thumbnails=[320])
    d = imaging.decode(path, min_side=224, thumb_size=256)
    assert (d.width, d.height) == (2000, 1500)  # the photo's own size is what the catalog keeps
    assert d.image.size == (320, 240)  # the 12 MP decode was skipped
    same = np.asarray(photo.resize(d.image.size, Image.Resampling.BOX), dtype=np.float32)
    assert np.abs(np.asarray(d.image, dtype=np.float32) - same).mean() < 12  # the same picture
    too_small = imaging.decode(path, min_side=300, thumb_size=400)  # the thumbnail would not do
    assert min(too_small.image.size) >= 300


def _difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute pixel difference, `b` resized to `a`'s size."""
    b = b.convert("RGB").resize(a.size, Image.Resampling.BOX)
    return float(np.abs(np.asarray(a.convert("RGB"), np.float32) - np.asarray(b, np.float32)).mean())


def test_a_heif_is_read_from_its_primary_image_not_its_first(tmp_path):
    pytest.importorskip("pillow_heif")
    path = tmp_path / "burst.heic"
    primary = decoy_first_heif(path, (480, 640))
    d = imaging.decode(path, min_side=224, thumb_size=256)
    assert (d.width, d.height) == (480, 640)  # the decoy is 640 x 480
    assert _difference(d.image, primary) < 6


def test_a_heifs_embedded_thumbnail_is_its_primary_images(tmp_path):
    pytest.importorskip("pillow_heif")
    path = tmp_path / "burst.heic"
    primary = decoy_first_heif(path, (960, 1280), thumbnails=(320,))
    d = imaging.decode(path, min_side=224, thumb_size=256)
    assert d.image.size == (240, 320) and (d.width, d.height) == (960, 1280)  # the thumbnail
    assert _difference(d.image, primary) < 8


def test_devdata_heif_of_three_images_is_read_from_its_primary():
    pillow_heif = pytest.importorskip("pillow_heif")
    path = devdata("odd_files", "heic") / "zPug_3.heic"
    heif = pillow_heif.open_heif(path)
    assert heif.primary_index != 0  # the file this test is about
    primary = heif[heif.primary_index].to_pillow()
    d = imaging.decode(path)
    assert d.image.size == primary.size and _difference(d.image, primary) < 1
    assert _difference(d.image, heif[0].to_pillow()) > 20  # the first image is another picture


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("empty.jpg", b"", "empty"),
        ("notes.jpg", b"these are not the pixels you are looking for\n" * 20, "not an image"),
    ],
)
def test_unusable_files_give_a_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(imaging.ImageError, match=reason):
        imaging.decode(path)


def test_truncated_jpeg_is_refused_with_a_reason(tmp_path):
    path = tmp_path / "cut.jpg"
    _photo(800, 600).save(path, quality=90)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(imaging.ImageError, match="truncated|damaged|cannot decode"):
        imaging.decode(path)


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    Image.new("1", (12000, 12000)).save(path)  # 144 MP, a few KB on disk
    assert path.stat().st_size < 100_000
    with pytest.raises(imaging.ImageError, match="not a photo: .* decompression bomb"):
        imaging.decode(path, max_pixels=50_000_000)


def test_thumbnail_is_written_once_with_the_short_side_requested(tmp_path):
    d = imaging.decode(_save(tmp_path, _photo(1600, 1200)), min_side=256, thumb_size=256)
    dest = imaging.thumbnail_path(tmp_path / "thumbs", "ab" * 16)
    imaging.save_thumbnail(d.image, dest, 256)
    with Image.open(dest) as t:
        assert t.size == (341, 256)  # the grid's centre square keeps all 256 px
    assert not list(dest.parent.glob("*.tmp"))
    imaging.save_thumbnail(_photo(800, 600), dest, 128)  # already there: kept as it is
    with Image.open(dest) as t:
        assert t.size == (341, 256)

    panorama = imaging.thumbnail_path(tmp_path / "thumbs", "cd" * 16)
    imaging.save_thumbnail(_photo(4000, 500), panorama, 256)
    with Image.open(panorama) as t:
        assert t.size == (1024, 128)  # a long side of at most four times the size asked


def _save(tmp_path, im):
    path = tmp_path / "p.jpg"
    im.save(path)
    return path


def test_every_odd_devdata_file_decodes_or_gives_a_reason():
    folder = devdata("odd_files")
    outcomes = {}
    for path in sorted(folder.rglob("*")):
        if path.is_dir() or path.suffix.lower() in (".md", ".csv"):
            continue
        try:
            d = imaging.decode(path)
            assert d.image.mode == "RGB" and min(d.image.size) > 0
            outcomes[path.name] = "ok"
        except imaging.ImageError as e:
            assert str(e)
            outcomes[path.name] = str(e)
    assert outcomes["empty.heic"].startswith("empty file")
    assert outcomes["arrow.heic"] == "ok" and outcomes["pil_sample_cmyk.jpg"] == "ok"
    assert len(outcomes) >= 45


def test_devdata_orientation_files_all_come_out_the_same_way_up():
    folder = devdata("odd_files", "exif_orientation")
    reference = np.asarray(imaging.decode(folder / "hopper.jpg", 64, 64).image.resize((32, 32)), dtype=np.float32)
    for n in range(2, 9):
        got = np.asarray(
            imaging.decode(folder / f"hopper_orientation_{n}.jpg", 64, 64).image.resize((32, 32)), dtype=np.float32
        )
        assert np.abs(got - reference).mean() < 25, f"orientation {n}"


def test_read_metadata_of_a_camera_photo():
    meta = imaging.read_metadata(devdata("odd_files", "exif_gps") / "DSCN0010.jpg")
    assert meta["camera"].startswith("NIKON")
    assert meta["taken_at"] == "2008-10-22T16:28:39"
    lat, lon = meta["gps"]
    assert abs(lat - 43.4674) < 1e-3 and abs(lon - 11.8851) < 1e-3


# -- capture dates -----------------------------------------------------------------------------


def _exif(original: str | None = None, offset: str | None = None, modified: str | None = None) -> bytes:
    exif = Image.Exif()
    if modified:
        exif[0x0132] = modified
    if original:
        exif.get_ifd(0x8769)[0x9003] = original
    if offset:
        exif.get_ifd(0x8769)[0x9011] = offset
    return exif.tobytes()


def _png_text(path, key, value):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text(key, value)
    _photo(64, 48).save(path, pnginfo=info)


def _heif(path, **metadata):
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.from_pillow(_photo(64, 48)).save(path, quality=80, **metadata)


DATED = {
    "xmp_only.jpg": (
        lambda p: _photo(64, 48).save(p, xmp=xmp_packet(xmp_CreateDate="2010-07-03T18:30:05")),
        "2010-07-03T18:30:05",
        "XMP",
    ),
    "xmp_utc.jpg": (
        lambda p: _photo(64, 48).save(p, xmp=xmp_packet(xmp_CreateDate="2011-09-23T11:42:46.25Z")),
        "2011-09-23T11:42:46+00:00",
        "XMP",
    ),
    # the order of preference within XMP: exif:DateTimeOriginal, photoshop:DateCreated, xmp:CreateDate
    "xmp_many.jpg": (
        lambda p: _photo(64, 48).save(
            p,
            xmp=xmp_packet(
                xmp_CreateDate="2012-01-01T00:00:00",
                photoshop_DateCreated="2011-02-03",
                exif_DateTimeOriginal="2009-04-05T06:07:08-05:00",
            ),
        ),
        "2009-04-05T06:07:08-05:00",
        "XMP",
    ),
    "xmp_day.jpg": (
        lambda p: _photo(64, 48).save(p, xmp=xmp_packet(photoshop_DateCreated="2011-02-03")),
        "2011-02-03T00:00:00",
        "XMP",
    ),
    # EXIF's capture date wins over XMP's; XMP's over EXIF's DateTime (when the file was changed)
    "exif_and_xmp.jpg": (
        lambda p: _photo(64, 48).save(
            p, exif=_exif("2015:06:07 08:09:10", "+02:00"), xmp=xmp_packet(xmp_CreateDate="2001-01-01T00:00:00")
        ),
        "2015-06-07T08:09:10+02:00",
        "EXIF",
    ),
    "edited.jpg": (
        lambda p: _photo(64, 48).save(
            p, exif=_exif(modified="2020:01:01 00:00:00"), xmp=xmp_packet(xmp_CreateDate="2010-10-10T10:10:10")
        ),
        "2010-10-10T10:10:10",
        "XMP",
    ),
    "modified_only.jpg": (
        lambda p: _photo(64, 48).save(p, exif=_exif(modified="2020:01:02 03:04:05")),
        "2020-01-02T03:04:05",
        "EXIF",
    ),
    "rfc1123.png": (
        lambda p: _png_text(p, "Creation Time", "Sat, 12 Jun 2010 10:00:00 GMT"),
        "2010-06-12T10:00:00+00:00",
        "PNG text",
    ),
    "exif_style.png": (
        lambda p: _png_text(p, "Creation Time", "2009:08:04 10:35:03"),
        "2009-08-04T10:35:03",
        "PNG text",
    ),
    "xmp.png": (
        lambda p: _photo(64, 48).save(p, pnginfo=_png_xmp(xmp_packet(xmp_CreateDate="2008-03-04T05:06:07"))),
        "2008-03-04T05:06:07",
        "XMP",
    ),
    "xmp.heic": (
        lambda p: _heif(p, xmp=xmp_packet(xmp_CreateDate="2010-11-12T13:14:15+01:00")),
        "2010-11-12T13:14:15+01:00",
        "XMP",
    ),
    "exif.heic": (
        lambda p: _heif(p, exif=_exif("2011:01:02 03:04:05", "-05:00"), xmp=xmp_packet(xmp_CreateDate="2016-01-01")),
        "2011-01-02T03:04:05-05:00",
        "EXIF",
    ),
    "undated.png": (lambda p: _png_text(p, "Creation Time", "sometime last summer"), None, None),
}


def _png_xmp(packet: bytes):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", packet.decode())
    return info


@pytest.mark.parametrize("name", DATED)
def test_capture_dates_are_read_from_exif_xmp_iptc_and_png_text_and_say_where(tmp_path, name):
    make, taken_at, source = DATED[name]
    path = tmp_path / name
    make(path)
    d = imaging.decode(path)
    assert (d.taken_at, d.taken_from) == (taken_at, source)
    meta = imaging.read_metadata(path)  # the Properties view reads the same
    assert (meta["taken_at"], meta["taken_from"]) == (taken_at, source)


def test_devdata_dates_outside_exif_are_found():
    folder = devdata("odd_files")
    found = {
        name: imaging.decode(folder / name, 64, 64)
        for name in ("broken/image01980.jpg", "formats/app13-multiple.jpg", "heic/L_exif_xmp_iptc.heic")
    }
    got = {name: (d.taken_at, d.taken_from) for name, d in found.items()}
    assert got == {
        "broken/image01980.jpg": ("2011-09-23T11:42:46+00:00", "XMP"),  # its EXIF is broken
        "formats/app13-multiple.jpg": ("2019-10-14T15:00:20+00:00", "IPTC"),
        "heic/L_exif_xmp_iptc.heic": ("2020-09-14T11:09:34-05:00", "EXIF"),  # with OffsetTimeOriginal
    }
