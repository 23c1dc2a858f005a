"""Shared by the media tests: image builders, multipart bodies, waiting for a condition (sync and async)."""

from __future__ import annotations

import io
import os
import struct
import sys
import time
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from PIL import Image

BIN = Path(sys.executable).parent


def jpeg(
    width: int = 640, height: int = 480, color: tuple[int, int, int] = (200, 30, 30), noise: bool = False
) -> bytes:
    """A real JPEG; `noise` makes it incompressible (about 1 MB at 1000x700)."""
    image = (
        Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
        if noise
        else Image.new("RGB", (width, height), color)
    )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def png(width: int = 320, height: int = 240, color: tuple[int, int, int, int] = (10, 120, 200, 255)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), color).save(out, "PNG")
    return out.getvalue()


def webp(width: int = 300, height: int = 300) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (5, 200, 5)).save(out, "WEBP")
    return out.getvalue()


def gif(width: int = 100, height: int = 50) -> bytes:
    out = io.BytesIO()
    Image.new("P", (width, height), 3).save(out, "GIF")
    return out.getvalue()


def png_bomb(width: int = 20000, height: int = 20000) -> bytes:
    """A valid 1-bit PNG of width x height px that compresses to ~50 KB (400 M pixels once decoded)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\0" + b"\0" * ((width + 7) // 8)
    pixels = zlib.compress(row * height, 9)
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def multipart(data: bytes, filename: str = "photo.jpg", content_type: str = "image/jpeg") -> dict[str, Any]:
    return {"files": {"file": (filename, data, content_type)}}


def wait_for(condition: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


async def eventually(condition: Callable[[], Awaitable[Any]], timeout_s: float, what: str) -> Any:
    """Await `condition()` until it is truthy (the async client's tests must not block the loop)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}")
        await anyio.sleep(0.05)
