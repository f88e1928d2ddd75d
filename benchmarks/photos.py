"""``configs/dcgan_folder.yaml`` on real photographs: crops of the two photos scikit-learn ships.

Cuts ``--crops`` square crops (side drawn from 96 px to the photo's height, position drawn, half of
them mirrored) of ``china.jpg`` and ``flower.jpg`` (``sklearn.datasets.load_sample_images``) into
JPEG files in a scratch folder, then trains ``lightning-gan fit --config configs/dcgan_folder.yaml
--data.init_args.root FOLDER`` on them in a fresh process, as a user would, for ``--iterations``
(validating every ``--every``). The folder datamodule decodes each crop once into its uint8 cache
and resizes it to 64×64. ``--base-channels`` overrides the width of both DCGAN networks (the
config's is 64; each halving cuts a step's work about four times). The last sample grid is written
to ``benchmarks/images/photos_fake.png`` and 64 training crops as the datamodule delivers them to
``benchmarks/images/photos_real.png``; the table replaces the ``photos`` section of
docs/benchmarks.md.

    python benchmarks/photos.py                                        # 3000 iterations
    python benchmarks/photos.py --iterations 500 --base-channels 32    # a quick look

The last line reads ``seconds S``: the fit's wall-clock time, start-up included.
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch
from fit_runs import fit_config
from PIL import Image
from report import Table, write_section
from sklearn.datasets import load_sample_images

from lightning_gan.data.folder import decode_image
from lightning_gan.images import make_grid, to_uint8

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "dcgan_folder.yaml"
IMAGES = REPO / "benchmarks" / "images"
NAMES = ("china", "flower")
SMALLEST = 96  # px: a crop's smallest side, 1.5× the 64 px it is resized to
MIN_CROPS = 80  # 64 for the real grid; 5 % of 80 held out leaves one training batch of 64


def cut_crops(folder: Path, n: int, seed: int) -> list[Path]:
    """Write ``n`` square JPEG crops of scikit-learn's sample photos into ``folder``.

    Crops alternate between the photos (``(427, 640, 3)`` uint8 each); a crop's side is uniform in
    ``[96, 427]`` px, its position uniform over the photo, and it is mirrored left-right with
    probability 1/2.

    Returns:
        The files written, in order.
    """
    photos = load_sample_images().images
    rng = np.random.default_rng(seed)
    paths = []
    for index in range(n):
        photo = photos[index % len(photos)]
        height, width = photo.shape[:2]
        side = int(rng.integers(SMALLEST, min(height, width) + 1))
        top, left = int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))
        crop = photo[top : top + side, left : left + side]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        path = folder / f"{NAMES[index % len(photos)]}_{index:05d}.jpg"
        Image.fromarray(np.ascontiguousarray(crop)).save(path, quality=95)
        paths.append(path)
    return paths


def save_real_grid(paths: list[Path], target: Path, n: int = 64) -> None:
    """The first ``n`` crops as the datamodule decodes them (64×64 RGB), as an 8-wide grid PNG."""
    images = torch.from_numpy(np.stack([decode_image(path, 64, 3) for path in paths[:n]]))  # (n, 3, 64, 64)
    grid = make_grid(images.float() / 127.5 - 1.0, nrow=8)  # the [-1, 1] range G emits
    target.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(to_uint8(grid)).save(target)


def main() -> None:
    """Cut the crops, train on them, print the table and write it to docs/benchmarks.md."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--crops", type=int, default=3000, help="crops cut from the two photos")
    parser.add_argument("--iterations", type=int, default=3000, help="G updates")
    parser.add_argument("--every", type=int, default=1000, help="iterations between validations")
    parser.add_argument("--base-channels", type=int, default=64, help="DCGAN width of G and D")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if min(args.iterations, args.every, args.base_channels) < 1 or args.crops < MIN_CROPS:
        parser.error(
            f"--crops must be at least {MIN_CROPS} (64 for the real grid, and a training batch of 64 "
            "after the datamodule holds 5 % out for validation); --iterations, --every and "
            f"--base-channels at least 1; got {args.crops}, {args.iterations}, {args.every}, "
            f"{args.base_channels}"
        )
    width = args.base_channels
    overrides = [
        f"--model.init_args.max_iterations={args.iterations}",
        f"--trainer.val_check_interval={args.every}",
        f"--model.init_args.generator.init_args.base_channels={width}",
        f"--model.init_args.discriminator.init_args.base_channels={width}",
    ]
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch, "photos")
        folder.mkdir()
        paths = cut_crops(folder, args.crops, args.seed)
        save_real_grid(paths, IMAGES / "photos_real.png")
        values, seconds = fit_config(
            CONFIG,
            args.seed,
            threads=torch.get_num_threads(),
            keep_grid=IMAGES / "photos_fake.png",
            overrides=[f"--data.init_args.root={folder}", *overrides],
        )
    iterations = int(values.pop("iteration"))
    table = Table()
    table.print(
        f"`{CONFIG.relative_to(REPO)}` on {args.crops} crops of scikit-learn's china.jpg and "
        f"flower.jpg (64×64 RGB), base_channels {width}, seed {args.seed}"
    )
    table.print(f"{'iterations':>10} {'seconds':>8} {'s/iteration':>12}  last validation")
    last = "  ".join(f"{key}={value:.3f}" for key, value in values.items())
    table.print(f"{iterations:>10} {seconds:>8.0f} {seconds / iterations:>12.3f}  {last}")
    table.print("grids: benchmarks/images/photos_fake.png (G, last validation), photos_real.png (data)")
    write_section("photos", table.lines)
    print(f"seconds {seconds:.0f}")


if __name__ == "__main__":
    main()
