"""Weak Ed25519 public keys: encodings a signer could publish to make signatures meaningless.

A public key A whose point has small order (1, 2, 4 or 8: the identity and the other torsion points) lets
"signatures" be made without any secret, R = identity and S = 0 among them, and lets its holder deny what it
signed; a non-canonical encoding (y >= p) is a second name for a point. Both are refused when a key is published.

The arithmetic is that of RFC 8032, section 5.1 (p = 2^255 - 19, d = -121665/121666, extended coordinates),
used only for this check: signing and verifying are the ``cryptography`` package's.
"""

from __future__ import annotations

__all__ = ["is_weak"]

P = 2**255 - 19
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)

Point = tuple[int, int, int, int]  # extended coordinates (X, Y, Z, T), x = X/Z, y = Y/Z, x*y = T/Z


def _add(a: Point, b: Point) -> Point:
    """Point addition (RFC 8032, section 5.1.4)."""
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    a_ = (y1 - x1) * (y2 - x2) % P
    b_ = (y1 + x1) * (y2 + x2) % P
    c = 2 * t1 * t2 * D % P
    d = 2 * z1 * z2 % P
    e, f, g, h = b_ - a_, d - c, d + c, b_ + a_
    return e * f % P, g * h % P, f * g % P, e * h % P


def _decode(encoded: bytes) -> Point | None:
    """Point decoding (RFC 8032, section 5.1.3); None for an encoding that is not a point or not canonical."""
    if len(encoded) != 32:
        return None
    y = int.from_bytes(encoded, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= P:  # 1. a non-canonical y
        return None
    # 2. x^2 = (y^2 - 1) / (d y^2 + 1)
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    # 3. the square root, if there is one
    if v * x * x % P == (-u) % P:
        x = x * SQRT_M1 % P
    elif v * x * x % P != u:
        return None
    # 4. the sign of x
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = P - x
    return x, y, 1, x * y % P


def is_weak(encoded: bytes) -> bool:
    """True for an encoding that is no point, a non-canonical one, or a point of small order ([8]A = identity)."""
    point = _decode(encoded)
    if point is None:
        return True
    for _ in range(3):
        point = _add(point, point)
    x, y, z, _ = point
    return x % P == 0 and (y - z) % P == 0
