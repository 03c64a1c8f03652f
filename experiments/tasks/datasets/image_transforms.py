"""Image transforms written here because torchvision is not usable: CIFAR batch augmentation and ImageNet crops.

Randomness always comes from an explicit generator (a ``torch.Generator`` for batches, a ``numpy`` Generator for
single images), never from global state, so a run is reproducible from its seed.
"""

import math

import numpy as np
import torch
from PIL import Image

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def pad_crop_flip(images: torch.Tensor, generator: torch.Generator, padding: int, fill: torch.Tensor) -> torch.Tensor:
    """Random crop after padding each side by ``padding`` pixels, then a horizontal flip with probability 1/2.

    ``images``: (N, C, H, W); ``fill``: (C,) value of the padded border (the normalised value of a black pixel, so
    the result equals padding the raw image with zeros before normalising).
    """
    count, channels, height, width = images.shape
    padded = fill.view(1, channels, 1, 1).expand(count, channels, height + 2 * padding, width + 2 * padding).clone()
    padded[:, :, padding : padding + height, padding : padding + width] = images
    top = torch.randint(0, 2 * padding + 1, (count,), generator=generator)
    left = torch.randint(0, 2 * padding + 1, (count,), generator=generator)
    flip = torch.rand(count, generator=generator) < 0.5
    rows = top[:, None] + torch.arange(height)
    columns = torch.arange(width).expand(count, width)
    columns = torch.where(flip[:, None], columns.flip(1), columns) + left[:, None]
    return padded[
        torch.arange(count)[:, None, None, None],
        torch.arange(channels)[None, :, None, None],
        rows[:, None, :, None],
        columns[:, None, None, :],
    ]


def random_resized_crop(
    image: Image.Image, rng: np.random.Generator, size: int, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)
) -> Image.Image:
    """Inception-style crop (torchvision's ``RandomResizedCrop`` algorithm): a random area fraction in ``scale``
    and aspect ratio in ``ratio`` (log-uniform), 10 attempts, else a centre crop clamped to ``ratio``; resized to
    ``size`` x ``size`` bilinearly."""
    width, height = image.size
    area = width * height
    for _ in range(10):
        target_area = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1])))
        crop_width = round(math.sqrt(target_area * aspect))
        crop_height = round(math.sqrt(target_area / aspect))
        if 0 < crop_width <= width and 0 < crop_height <= height:
            left = int(rng.integers(0, width - crop_width + 1))
            top = int(rng.integers(0, height - crop_height + 1))
            break
    else:
        aspect = width / height
        if aspect < ratio[0]:
            crop_width, crop_height = width, round(width / ratio[0])
        elif aspect > ratio[1]:
            crop_width, crop_height = round(height * ratio[1]), height
        else:
            crop_width, crop_height = width, height
        left, top = (width - crop_width) // 2, (height - crop_height) // 2
    box = (left, top, left + crop_width, top + crop_height)
    return image.resize((size, size), Image.BILINEAR, box=box)


def resize_center_crop(image: Image.Image, resize: int, crop: int) -> Image.Image:
    """Resize the shorter side to ``resize`` (bilinear), then take the central ``crop`` x ``crop`` square."""
    width, height = image.size
    factor = resize / min(width, height)
    new_width, new_height = max(crop, round(width * factor)), max(crop, round(height * factor))
    image = image.resize((new_width, new_height), Image.BILINEAR)
    left, top = (new_width - crop) // 2, (new_height - crop) // 2
    return image.crop((left, top, left + crop, top + crop))


def to_normalised_tensor(image: Image.Image, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> torch.Tensor:
    """RGB PIL image -> float (3, H, W) tensor, scaled to [0, 1] then normalised per channel."""
    pixels = torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0).permute(2, 0, 1)
    return (pixels - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)
