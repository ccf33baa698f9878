#!/usr/bin/env bash
# Photos that are not in the repository, for the refinement benchmark (`bench/refine.sh purr`): taken from the
# scikit-image wheel (pip download, no install) and resized with Pillow (Lanczos) to 256 px on the longest side,
# so that purrmitive and gvpie see the same pixels. Nothing here is committed.
#
#   hubble_deep_field  NASA, Hubble eXtreme Deep Field: public domain
#   retina             Mikael Häggström, fundus photograph: CC0
#   ihc                immunohistochemistry, Center for Microscopy and Molecular Imaging: no known copyright restrictions
#   motorcycle_left    Middlebury 2014 stereo benchmark (Scharstein et al.): research data, licence not stated, so
#                      only measured here, never copied into the repository
#   camera             a grey photograph (Lav Varshney), CC0 as scikit-image's data README states; kept grey, as RGB
#   coins              Greek coins from Pompeii (Brooklyn Museum), no known copyright restrictions per the same README
#   brick grass gravel moon page clock_motion cell microaneurysms color horse text
#                      the rest of the wheel's photographs and pictures (issue 14's 21-photo table), under the terms
#                      scikit-image's data README states for each; only measured here, never copied into the repository
#
# Usage: bench/extra_photos.sh OUTDIR   (needs pip and Pillow: pip install pillow)
set -euo pipefail
OUT=${1:?usage: bench/extra_photos.sh OUTDIR}
mkdir -p "$OUT"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
pip download scikit-image --no-deps -q -d "$WORK" >&2
python3 - "$WORK" "$OUT" <<'PY'
import glob, sys, zipfile
from PIL import Image
work, out = sys.argv[1], sys.argv[2]
wheel = zipfile.ZipFile(glob.glob(f"{work}/scikit_image-*.whl")[0])
for name in ["hubble_deep_field.jpg", "retina.jpg", "ihc.png", "motorcycle_left.png", "camera.png", "coins.png",
             "brick.png", "grass.png", "gravel.png", "moon.png", "page.png", "clock_motion.png", "cell.png",
             "microaneurysms.png", "color.png", "horse.png", "text.png"]:
    with wheel.open(f"skimage/data/{name}") as f:
        im = Image.open(f).convert("RGB")
    w, h = im.size
    s = 256 / max(w, h)
    im = im.resize((max(1, round(w * s)), max(1, round(h * s))), Image.LANCZOS)
    im.save(f"{out}/{name.rsplit('.', 1)[0]}.png")
    print(f"{out}/{name.rsplit('.', 1)[0]}.png", im.size)
PY
