"""The quality rule on uploaded images: "at least N uploaded images of at least W px" (long side)."""

from __future__ import annotations

from typing import Any

UPLOADED_IMAGES = "uploaded_images"
"""The rule's field, and the products column the triggers of migration 0006 keep (one entry per image)."""
IMAGE_TOO_SMALL = "image too small"


def _long_side(image: Any) -> int:
    if not isinstance(image, dict):
        return 0
    return max(int(image.get("width") or 0), int(image.get("height") or 0))


def uploaded_images_missing(images: Any, min_count: int | None, min_width: int | None) -> str | None:
    """None when at least `min_count` (default 1) uploaded images have a long side of `min_width` px or more;
    otherwise `uploaded_images` when there are too few images at all, `image too small` when there are enough
    but too few of them are large enough."""
    entries = images if isinstance(images, list) else []
    needed = max(min_count or 1, 1)
    large = [image for image in entries if _long_side(image) >= (min_width or 1)]
    if len(large) >= needed:
        return None
    return IMAGE_TOO_SMALL if len(entries) >= needed else UPLOADED_IMAGES
